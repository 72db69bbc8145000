/*
 * account.h -- the in-memory account table and account metadata
 * (SPEC 2.5): every account's metadata, rolling windows and evaluation
 * state.  Pure: no I/O; the caller passes the time.
 *
 * The table owns its accounts and an account owns its window.  Accounts
 * are never removed while the daemon runs; the dense array "all" gives the
 * sweep a stable order to walk in slices.
 */
#ifndef CW_ACCOUNT_H
#define CW_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "score.h"
#include "signal.h"
#include "window.h"

struct account;
struct cw_error;
struct cw_event;
struct skiplist;
struct skiplist_node;

#define ACCOUNT_SCORE_DAYS	8	/* daily scores kept: today .. -7 */

/*
 * Accounts fall into ACCOUNT_PARTS partitions by a hash of their id that
 * every process and release computes alike (CRC-32C): each partition has
 * its own snapshots and watermark, so that a node can load and replay one
 * partition at a time.  The number is part of the stored format: never
 * change it without a migration that rewrites snapshot_marks.
 */
#define ACCOUNT_PARTS		64
uint32_t	account_part(const char *id);

/* Append a to the growing array *v (*n used, *cap allocated); 0, or -1
 * when out of memory (nothing changed). */
int		account_vec_push(struct account ***v, size_t *n, size_t *cap,
		    struct account *a);
#define ACCOUNT_NO_SCORE	255

/*
 * The evaluation state of one signal that is active or was in the
 * previous evaluation (struct account's sigs[], by id).
 */
struct account_sig {
	uint32_t	 since;		/* unix seconds, when active */
	uint8_t		 id;		/* enum sig_id */
	uint8_t		 weight;	/* when active */
	uint8_t		 prev_weight;	/* when in prev_active */
};

/*
 * Ordered by size to leave no holes: with a million of them, every byte
 * here is a megabyte.
 */
struct account {
	char		*id;		/* stored after the struct */
	struct account	*next;		/* hash chain */
	char		*name;		/* metadata; NULL when unset, else */
	char		*plan;		/* in meta, one allocation */
	char		*segment;
	char		*owner;
	char		*slack_channel;
	char		*meta;
	int64_t		 onboarded_at;	/* us since epoch; 0 unset */
	int64_t		 renewal_at;
	union {				/* interned core features: */
		uint32_t	*p;	/* ncore > 2 */
		uint32_t	 in[2];	/* ncore <= 2, no allocation */
	}		 core;

	struct window	 w;

	/* Evaluation state: sigs[] holds active | prev_active. */
	struct account_sig *sigs;
	struct alert	*alerts;	/* open alerts (firing, resolving) */
	int64_t		 last_event_at;	/* when an event was last applied */
	int64_t		 settle_until;	/* us: no notification before (SPEC 5
					 * "Only true alerts"); 0 = none */

	/* The risk list's orders (account_table_rank). */
	int64_t		 ranked_renewal; /* renewal_at as in by_renewal */
	struct skiplist_node *by_score;	/* NULL: not ranked yet */
	struct skiplist_node *by_id;
	struct skiplist_node *by_renewal;

	int32_t		 seats;		/* -1 unset */
	int32_t		 score_day;
	int32_t		 first_day;	/* day of its earliest event, 0 none
					 * (data coverage, SPEC 4) */
	uint32_t	 active;	/* bit per enum sig_id */
	uint32_t	 prev_active;	/* before the last change */
	uint8_t		 scores[ACCOUNT_SCORE_DAYS]; /* [i] = day score_day - i */
	uint8_t		 ncore;
	uint8_t		 nsigs;
	uint8_t		 evaluated;
	uint8_t		 dirty;		/* queued for evaluation */
	uint8_t		 score;
	uint8_t		 prev_score;	/* before the last change */
	uint8_t		 nalerts;
	uint8_t		 score_dirty;	/* today's score not yet stored */
	uint8_t		 score_queued;	/* in the engine's score queue */
	uint8_t		 pending;	/* created by admission (limits.c),
					 * nothing applied yet: invisible */
	uint8_t		 first_dirty;	/* first_day not yet stored */
	uint8_t		 settling;	/* in the engine's settling list */
	uint8_t		 settle_meta;	/* settling only for metadata that
					 * came before any event */
	uint8_t		 snap_dirty;	/* changed since its last snapshot */
	uint8_t		 ranked_score;	/* score as ordered in by_score */
};

/*
 * Signal sig's since (unix seconds; 0 when not active), its weight when
 * active and its weight in the previous evaluation (0 when not in
 * prev_active).
 */
/* a's ncore interned core features. */
const uint32_t	*account_core(const struct account *);
uint32_t	account_since(const struct account *, int sig);
unsigned	account_weight(const struct account *, int sig);
unsigned	account_prev_weight(const struct account *, int sig);
/*
 * Set a's active and previous sets with since[], weight[] (by id, read
 * for the active bits) and prev_weight[] (for the prev_active bits);
 * 0, or -1 when out of memory (then since and the weights read 0).
 */
int		account_sigs_set(struct account *, uint32_t active,
		    uint32_t prev_active, const uint32_t *since,
		    const uint8_t *weight, const uint8_t *prev_weight);

struct account_member;

struct account_table {
	struct account	**buckets;
	size_t		  nbuckets;
	struct account_member **members;	/* Segment user -> account */
	size_t		  nmembers_buckets;
	size_t		  nmembers;
	struct account	**all;		/* in order of creation */
	size_t		  count;
	size_t		  cap;
	/*
	 * The evaluated accounts in the risk list's three orders: score
	 * (ranked_score) then id; id; renewal (ranked_renewal, soonest
	 * first, none last) then id.  Items are struct account *.
	 */
	struct skiplist	 *by_score;
	struct skiplist	 *by_id;
	struct skiplist	 *by_renewal;
	/*
	 * Data coverage (SPEC 4): the first day of data of each class (the
	 * signal categories), from the events heard and [coverage]; 0 =
	 * none.  Owned by the engine, read by account_evaluate().
	 */
	int32_t		  data_since[SIGCAT__COUNT];
};

struct account_table	*account_table_new(void);
void			 account_table_free(struct account_table *);
struct account		*account_find(const struct account_table *,
			    const char *id);
/* Find or create; NULL on allocation failure. */
struct account		*account_get(struct account_table *, const char *id);

/*
 * After a's evaluation: keep it in the table's orders (by_score, by_id,
 * by_renewal), O(log n) expected; an account joins them at its first
 * evaluation, and moves only when its score or renewal_at changed.  0, or
 * -1 when out of memory (a is missing from the orders until a later call
 * succeeds).  account_rank_cmp / account_id_cmp are the orders, for
 * probes (a struct account with ranked_score and id set) given to
 * skiplist_after().
 */
int			 account_table_rank(struct account_table *,
			    struct account *);
/*
 * account_table_rank() of v[0..n) at once, fast when v is in id order
 * (start-up); v is reordered.  0, or -1 when out of memory.
 */
int			 account_table_rank_all(struct account_table *,
			    struct account **v, size_t n);
int			 account_rank_cmp(const void *, const void *);
int			 account_id_cmp(const void *, const void *);
int			 account_renewal_cmp(const void *, const void *);

/*
 * Segment group membership: the account a user was last grouped with.
 * account_member_find returns NULL when the user was never grouped;
 * account_member_set copies both strings (0, or -1 on ENOMEM).
 */
const char		*account_member_find(const struct account_table *,
			    const char *user_id);
int			 account_member_set(struct account_table *,
			    const char *user_id, const char *account_id);

/*
 * Set metadata from the JSON object account_meta_decode() produced (or
 * the same shape from the database): present keys are set, null clears,
 * absent keys are kept.  0 or -1 (malformed JSON: nothing changed).
 */
int	account_meta_apply(struct account *, const char *json);

/* All of an account's metadata at once, as stored (the loader). */
struct account_meta {
	const char	*name, *plan, *segment, *owner, *slack_channel;
	int32_t		 seats;			/* -1 unset */
	int64_t		 onboarded_at, renewal_at;	/* us; 0 unset */
	const char	*const *core;		/* core features */
	const size_t	*core_len;
	size_t		 ncore;			/* at most 255 are kept */
};
int	account_meta_set(struct account *, const struct account_meta *);

/*
 * Evaluate a's signals at time now (us) on data coverage data_since
 * (account_table's; NULL = all covered).  Fills out[] with the active
 * signals (as signal_evaluate()) and returns their number; updates a's
 * active set, since times, score and daily score history.  *changed is
 * set when the active set or the score changed.
 */
int	account_evaluate(struct account *, const struct sig_config *,
	    const int32_t *data_since, int64_t now,
	    struct sig_result out[SIG__COUNT], int *changed);
/* The signal rules' view of a at now (account_evaluate's input). */
void	account_sig_input(const struct account *, const int32_t *data_since,
	    int64_t now, struct sig_account *out);

/*
 * Days until a's renewal_at (rounded up) when it lies within window (us)
 * after now, else -1 (no renewal_at, past, or further away).
 */
int	account_renewal_days(const struct account *, int64_t window,
	    int64_t now);

/* The previous active set as score items (for score_explain); returns n. */
size_t	account_prev_items(const struct account *,
	    struct score_item out[SIG__COUNT]);

/*
 * The open alert of signal on a, or NULL.  account_alert_add() appends a
 * copy (NULL on allocation failure); account_alert_remove() drops one.
 */
struct alert	*account_alert(struct account *, int signal);
struct alert	*account_alert_add(struct account *, const struct alert *);
void		 account_alert_remove(struct account *, struct alert *);

/*
 * The alert lifecycle of one account after an evaluation (SPEC 5), the
 * one implementation that the daemon (alerting.c) and the backtest
 * (backtest.c) share: steps the alert of every account signal and of
 * health_degraded (active while the status is not green, critical when
 * red) through alert_step() at now, given the active signals out[0..n)
 * of account_evaluate(), and escalates once for a renewal within
 * p->renewal_window.  For each alert whose state or notification
 * changed, calls ops->changed with the alert (a new one is added to a and
 * given the id ops->new_id returned first), the event to notify
 * (AE_NONE for a silent state change such as resolving), the signal's
 * result (NULL when inactive and for health_degraded) and its
 * explanation (valid during the call).  When changed returns 0 and the
 * alert is resolved, it is then removed from a.  Returns how many alerts
 * changed, or -1 when a new alert could not be added (out of memory: that
 * signal's alert is not raised this time; the others were stepped and
 * may have changed; the caller logs it).  Settling is the caller's: it does not call this while a
 * settles.
 */
struct account_alert_ops {
	uint64_t	(*new_id)(void *arg, int64_t now);
	int		(*changed)(void *arg, struct account *, struct alert *,
			    enum alert_event, const struct sig_result *r,
			    const char *explanation);
	void		*arg;
};
int	account_alerts_step(struct account *, const struct alert_policy *,
	    const struct sig_result *out, int n, int64_t now,
	    const struct account_alert_ops *);

/*
 * Data coverage (SPEC 4): the class (enum sig_category) of an event type
 * (enum cw_event_type), or -1 for types of no class (outcomes, ...); and
 * the first day of data of each class, out[c] = the earlier of heard[c]
 * (the first day an event of the class was heard; 0 none) and
 * coverage[c] ([coverage] CLASS = DATE; 0 none).
 */
int	account_event_class(int type);
void	account_data_since(const int32_t *heard, const int32_t *coverage,
	    int32_t *out);

/* Score of day (from the history), or -1 if unknown. */
int	account_score_on(const struct account *, int32_t day);
/* Record a stored daily score (recovery). */
void	account_score_restore(struct account *, int32_t day, int score);

/*
 * Validate an account id taken from a URL path: 1..CW_ACCOUNT_MAX bytes,
 * no control characters.  0 or -1 with err filled.
 */
int	account_id_valid(const char *id, struct cw_error *err);

/*
 * Decode a PUT /v1/accounts/{id} body.  Accepted keys: name, plan,
 * segment, owner, slack_channel (strings up to 256 bytes or null), seats
 * (a whole number >= 0 or null), onboarded_at, renewal_at (RFC 3339 or
 * null), core_features (array of up to 64 strings, or null).  Any other
 * key, or a wrong type, is an error.  On 0, *json is a new compact JSON
 * object with the same keys, dates normalised to UTC; the caller frees it.
 */
int	account_meta_decode(const char *body, size_t len, char **json,
	    struct cw_error *err);

#endif
