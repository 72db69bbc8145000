/*
 * cwlimits.h -- admission against the bounds of [limits] (SPEC 6): before
 * anything of a request is acknowledged, would it make the daemon
 * remember more than it may?  Pure: the account table, the windows and
 * the intern table are read, and on admission written.
 *
 * The check-then-commit gap: a request's events reach the windows only
 * after their commit, so requests in flight would each see the same room
 * and together pass a bound.  Admission therefore reserves what counts
 * globally by creating it at once: the request's new accounts are added
 * to the table (flagged pending: invisible, never evaluated, until
 * something is applied to them) and its new names are interned.  The
 * next request counts them; a request whose commit then fails leaves
 * them behind, which errs on the side of refusing.  The per-account
 * bounds (contacts, records, users) and memberships are checked against
 * what is applied; requests in flight for one account can overshoot
 * them by what they carry (at most [server] max_events each, within
 * max_inflight_body_bytes) -- a bounded margin, not a leak.
 *
 * What was acknowledged is never refused: the spool's drain, a restart's
 * load and the apply after a commit add without asking.
 */
#ifndef CW_LIMITS_H
#define CW_LIMITS_H

#include <stddef.h>

struct account_table;
struct cw_error;
struct cw_event;
struct cw_limits;

/* What one request would add (any pointer may be NULL with its n 0). */
struct limits_request {
	const struct cw_event	*ev;		/* its valid events */
	size_t			 nev;
	const char *const	*accounts;	/* other account ids (PUT, */
	size_t			 naccounts;	/* Segment group) */
	const char *const	*members;	/* user ids it groups (Segment) */
	size_t			 nmembers;
	size_t			 backlog;	/* notifications queued now */
};

/*
 * 0: admitted; the new accounts exist (pending) and the new names are
 * interned.  -1: refused, nothing changed; *limit is the bound's config
 * key (the label of churnwatch_limit_reached_total) and err says what,
 * with code "limit_reached" (or "internal_error" without memory).
 * O(n log n) in the request's size, O(1) in the number of accounts.
 */
int	limits_admit(struct account_table *, const struct cw_limits *,
	    const struct limits_request *, const char **limit,
	    struct cw_error *err);

#endif
