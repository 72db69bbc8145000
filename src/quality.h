/*
 * quality.h -- signal quality (SPEC 9): how well each signal, and the
 * health status, foretold the outcomes (account.churned / contracted /
 * renewed).  Pure: arrays in, a report out; no clock, no I/O.  The
 * backtest (backtest.c) feeds it the alerts a replay raised; the report
 * endpoint feeds it the stored alerts and daily scores.
 *
 * Days are UTC day numbers (window_day()).  Accounts are indexes
 * 0..naccounts into the caller's own list.
 *
 * Definitions (the README repeats them for users):
 *  - an outcome counts when its day lies in [since, until]; an account
 *    counts once per kind (its first outcome of that kind in the range);
 *  - a signal "fired for" an outcome on day D when one of its alerts on
 *    that account was firing on some day of [D - within, D]; its lead
 *    time is D minus the first such day (0..within);
 *  - recall = churned accounts fired for / churned accounts (likewise
 *    contracted);
 *  - fired = accounts with an alert of the signal firing on some day of
 *    [since - within, until] (alerts that start after the account's first
 *    churn -- in the range or before it -- are ignored: it is gone); of
 *    these, "then churned" = fired for a churn (of the range, or the last
 *    one before since), else "then contracted", else "then renewed"
 *    (likewise), else "no outcome yet"; precision = then churned / fired.
 *    Outcomes before since count only there: give them (from since -
 *    within on) so that an account that left before the range does not
 *    count as "no outcome";
 *  - base churn rate = churned accounts / naccounts; lift = precision /
 *    base rate;
 *  - the health rows are intervals of days whose status was yellow or
 *    red ("status not green") and red ("status red"), from the status
 *    series; green_30 / green_90 count churned accounts whose status 30
 *    and 90 days before the churn was green (known_30/90: had a status).
 */
#ifndef CW_QUALITY_H
#define CW_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alert.h"

/* Pseudo rows after the alert signals (alert.h's ids). */
#define QUALITY_NOT_GREEN	ALERT_NSIGNALS
#define QUALITY_RED		(ALERT_NSIGNALS + 1)
#define QUALITY_NROWS		(ALERT_NSIGNALS + 2)
#define QUALITY_OPEN		INT32_MAX	/* a fire still open */
#define QUALITY_WITHIN_MAX	400

enum quality_kind {
	QK_CHURNED,
	QK_CONTRACTED,
	QK_RENEWED,
	QK__COUNT
};

/* One alert: signal (alert.h id) firing on days [from, to]. */
struct quality_fire {
	uint32_t	 account;
	int		 signal;
	int32_t		 from;
	int32_t		 to;		/* QUALITY_OPEN: still firing */
};

/* The account's status (enum health_status) from day on. */
struct quality_status {
	uint32_t	 account;
	int32_t		 day;
	uint8_t		 status;
};

struct quality_outcome {
	uint32_t		 account;
	int32_t			 day;
	enum quality_kind	 kind;
};

struct quality_input {
	const struct quality_fire	*fires;
	size_t				 nfires;
	const struct quality_status	*statuses;	/* any order */
	size_t				 nstatuses;
	const struct quality_outcome	*outcomes;
	size_t				 noutcomes;
	size_t				 naccounts;	/* indexes */
	size_t				 population;	/* of the base churn
							 * rate; 0: naccounts */
	int32_t				 since, until;	/* days, inclusive */
	int				 within;	/* days, 1..400 */
};

struct quality_row {
	int		 signal;	/* alert.h id or QUALITY_* */
	unsigned	 churned;	/* churned accounts fired for */
	unsigned	 contracted;	/* contracted accounts fired for */
	unsigned	 fired;
	unsigned	 then_churned;
	unsigned	 then_contracted;
	unsigned	 then_renewed;
	unsigned	 no_outcome;
	int		 nleads;	/* = churned */
	double		 median_lead;	/* days; -1 when no lead */
	double		 precision;	/* -1 when fired == 0 */
	double		 lift;		/* -1 when undefined */
};

struct quality_report {
	int32_t			 since, until;
	int			 within;
	size_t			 accounts;
	unsigned		 outcomes[QK__COUNT];	/* accounts */
	double			 base_rate;	/* -1 when no accounts */
	unsigned		 green_30, known_30;
	unsigned		 green_90, known_90;
	/* Best leading first (quality_compute's order); signals that never
	 * fired last. */
	struct quality_row	 row[QUALITY_NROWS];
	size_t			 nrows;
};

/*
 * Compute the report of in into r.  0, or -1 when out of memory or when
 * an account index is >= naccounts (r is then undefined).
 */
int		 quality_compute(const struct quality_input *,
		    struct quality_report *r);

/*
 * Stored history as the report's query streams it (store_report_quality()):
 * row by row, accounts numbered 0..naccounts-1 by the query.  Each add
 * checks its values (a signal of alert.h other than the portfolio's, a
 * kind, a status of enum health_status) and returns 0, or -1 when one is
 * out of range or memory runs out (nothing added).  quality_build():
 * quality_compute() over what was added, with since, until and within
 * from p (its arrays are ignored); population is the accounts scored in
 * the range (each one that had an outcome or an alert counts too).
 * 0, or -1 (an account index >= naccounts, or out of memory).
 */
struct quality_builder {
	struct quality_fire	*fires;
	size_t			 nfires, capfires;
	struct quality_outcome	*outcomes;
	size_t			 noutcomes, capoutcomes;
	struct quality_status	*statuses;
	size_t			 nstatuses, capstatuses;
};

int		 quality_add_fire(struct quality_builder *, uint32_t account,
		    int signal, int32_t from, int32_t to);
int		 quality_add_outcome(struct quality_builder *,
		    uint32_t account, int kind, int32_t day);
int		 quality_add_status(struct quality_builder *, uint32_t account,
		    int32_t day, int status);
int		 quality_build(const struct quality_builder *,
		    size_t naccounts, uint64_t population,
		    const struct quality_input *p, struct quality_report *r);
void		 quality_builder_free(struct quality_builder *);

/* "login_absent", ..., "status not green", "status red". */
const char	*quality_row_name(int signal);
/* "churned", "contracted", "renewed". */
const char	*quality_kind_name(enum quality_kind);

/*
 * "3/7" when den < 20, "12/40 (30%)" otherwise, "-" when den is 0: small
 * counts are shown as counts.  Returns buf.
 */
char		*quality_ratio(unsigned num, unsigned den, char *buf,
		    size_t len);

/*
 * The report as text for people (an aligned table, one line per signal,
 * best leading first) or as a JSON object (a new reference).  Text: a
 * new string the caller frees.  NULL when out of memory.
 */
char		*quality_text(const struct quality_report *);
json_t		*quality_json(const struct quality_report *);

#endif
