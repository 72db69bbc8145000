/*
 * portfolio.h -- portfolio trends (SPEC 4, "Portfolio trends"): the same
 * risk phrase class of voice_risk, or the same ticket category, at many
 * accounts within a few days.  Pure: windows and "today" in, the keys and
 * the accounts that have them out; no clock, no I/O.
 *
 * A key is (kind, value): kind PF_VOICE_RISK with the interned phrase
 * class of a note (struct win_note cls), or PF_TICKET_CATEGORY with the
 * interned category of a ticket event.  Its name is "voice_risk:budget",
 * "ticket_category:billing" (portfolio_key_name()): the kind never holds
 * a ':', so the first one splits it.
 *
 * One pass: the caller adds every account once (portfolio_add(), from
 * the sweep that evaluates them all anyway), each add reads only that
 * account's notes and tickets, and a hash table from key to its list of
 * (account, count) collects them; portfolio_trends() then lists the keys.
 * Cost O(r log r) per account for its r records in the day range, memory
 * one small entry per (account, key) in that range: never a comparison
 * of accounts with each other.
 *
 * Not here: whether a key alerts (alert.c's state machine, alerting.c),
 * the thresholds' defaults ([portfolio], config.c).
 */
#ifndef CW_PORTFOLIO_H
#define CW_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

struct window;

enum portfolio_kind {
	PF_VOICE_RISK,		/* "voice_risk": a note's phrase class */
	PF_TICKET_CATEGORY,	/* "ticket_category": a ticket's category */
	PF__COUNT
};

/* "voice_risk", "ticket_category"; NULL if unknown. */
const char	*portfolio_kind_name(enum portfolio_kind);
/* The kind of "voice_risk:budget" (what precedes the first ':'), or -1. */
int		 portfolio_kind_parse(const char *key);

/* "voice_risk:budget" into out (truncated to outlen); returns out. */
#define PORTFOLIO_KEY_MAX	160
char		*portfolio_key_name(enum portfolio_kind, uint32_t value,
		    char *out, size_t outlen);

/* One account that has a key, and how often. */
struct portfolio_member {
	const char	*account_id;	/* the caller's string (see add) */
	unsigned	 count;		/* notes of the class; distinct
					 * tickets of the category */
};

struct portfolio_trend {
	enum portfolio_kind	 kind;
	uint32_t		 value;		/* interned */
	struct portfolio_member	*members;	/* by account_id (strcmp) */
	size_t			 nmembers;	/* distinct accounts */
	int			 settling;	/* one of them is settling */
};

struct portfolio;

struct portfolio	*portfolio_new(void);
void			 portfolio_free(struct portfolio *);

/*
 * Start a new pass over the days [today - days + 1, today] (days >= 1);
 * forgets the previous one.
 */
void	portfolio_begin(struct portfolio *, int32_t today, unsigned days);
/*
 * Add one account: the notes that matched a risk phrase (cls != 0) and
 * the ticket events with a category in the day range.  An account counts
 * once per key however many records it has; count is its notes of the
 * class, or its distinct tickets (ticket_id) with an event of the
 * category.  settling marks every key it has (SPEC 5: its alerts wait).
 * account_id is kept as a pointer: it must outlive the pass (accounts are
 * never freed while the daemon runs).  Add each account once per pass.
 * Returns 0, or -1 when memory runs out (the account then counts nowhere).
 */
int	portfolio_add(struct portfolio *, const char *account_id,
	    const struct window *, int settling);
/*
 * The keys seen at >= min_accounts distinct accounts (min_accounts 0
 * counts as 1), sorted by kind then value name, their members sorted by
 * account_id.  *out points into p until the next begin or free.  Returns
 * how many.  Calling it again with another minimum is allowed.
 */
size_t	portfolio_trends(struct portfolio *, unsigned min_accounts,
	    const struct portfolio_trend **out);

#endif
