/*
 * alert.h -- the alert state machine, routes and silences (SPEC 5, 2.6).
 * Pure: it takes values and the time and *returns* what happened (an
 * event to notify); it never stores or sends.  engine.c stores every
 * transition and notification in PostgreSQL (the outbox) and only then
 * does outbox.c send.
 *
 * An alert is keyed by (account, signal); the pseudo-signal
 * ALERT_HEALTH_DEGRADED is the alert for a worsening health status.
 * ALERT_PORTFOLIO is the one alert that belongs to no account: a trend
 * across accounts (SPEC 4, "Portfolio trends"), keyed by (portfolio key,
 * signal) instead (alerting.c, portfolio.h).
 */
#ifndef CW_ALERT_H
#define CW_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "signal.h"

#define ALERT_HEALTH_DEGRADED	SIG__COUNT	/* pseudo signal id */
#define ALERT_PORTFOLIO		(SIG__COUNT + 1)	/* no account's */
/* The signals an account's alerts are keyed by: all but portfolio. */
#define ALERT_NACCOUNT_SIGNALS	(SIG__COUNT + 1)
#define ALERT_NSIGNALS		(SIG__COUNT + 2)

enum alert_state {
	ALERT_FIRING,
	ALERT_RESOLVING,	/* inactive, waiting for resolve_after */
	ALERT_RESOLVED
};

/* What a step of the state machine asks to be notified. */
enum alert_event {
	AE_NONE,
	AE_FIRE,	/* a new alert fires */
	AE_REPEAT,	/* still firing, not acknowledged, repeat_interval */
	AE_ESCALATE,	/* still firing, severity went up */
	AE_RESOLVE	/* inactive for resolve_after: resolved */
};

struct alert {
	uint64_t		 id;		/* 0 until stored */
	int			 signal;	/* enum sig_id or ALERT_* pseudo */
	enum alert_state	 state;
	enum sig_severity	 severity;	/* highest since it fired */
	int64_t			 started_at;	/* us since epoch */
	int64_t			 inactive_since; /* RESOLVING: since when */
	int64_t			 resolved_at;
	int64_t			 last_notified;	/* last FIRE/REPEAT/ESCALATE */
	int64_t			 acked_at;	/* 0 = not acknowledged */
	/* The caller's bookkeeping (engine.c: its pending row). */
	uint32_t		 row_gen;
	uint32_t		 row_idx;
	uint8_t			 renewal;	/* escalated: renewal is near */
};

struct alert_policy {
	int64_t		 resolve_after;		/* us, default 1 h */
	int64_t		 repeat_interval;	/* us, default 7 d */
	/* Only true alerts (SPEC 5): an event older than backfill_age at
	 * receipt puts its account into settling for settle. */
	int64_t		 backfill_age;		/* us, default 1 h */
	int64_t		 settle;		/* us, default 60 s */
	int64_t		 renewal_window;	/* us, default 90 d */
};

/*
 * One step for one (account, signal): a is the current alert (state
 * ALERT_RESOLVED, all zero, when there is none); active/severity are the
 * signal's state now.  Updates a and returns the event to notify:
 *  - not firing (none or resolved) and active: a new alert, AE_FIRE
 *    (started_at = now, acked_at = 0; the caller gives it a new id);
 *  - firing and inactive: RESOLVING from now, AE_NONE;
 *  - resolving and active again: FIRING, the same alert, AE_NONE
 *    (flap damping) -- unless one of the two firing cases below is due
 *    in this same step;
 *  - resolving for resolve_after (now - inactive_since >=
 *    resolve_after): RESOLVED, resolved_at = now, AE_RESOLVE; with
 *    resolve_after 0 a firing alert resolves in the step it goes
 *    inactive;
 *  - firing, active, severity higher than a->severity (the highest since
 *    it fired; a drop is no event and is not recorded): AE_ESCALATE,
 *    acknowledged or not;
 *  - firing, active, not acknowledged, now - last_notified >=
 *    repeat_interval: AE_REPEAT.
 * FIRE, REPEAT and ESCALATE set last_notified = now.
 */
enum alert_event	alert_step(struct alert *, const struct alert_policy *,
			    int active, enum sig_severity, int64_t now);

const char	*alert_event_name(enum alert_event);	/* "fire", ... */
const char	*alert_state_name(enum alert_state);	/* "firing", ... */
int		 alert_state_parse(const char *);	/* -1 if unknown */
/* "login_absent", ..., "health_degraded", "portfolio". */
const char	*alert_signal_name(int signal);
int		 alert_signal_find(const char *);	/* -1 if unknown */
/* 1 when s is the category of a signal or pseudo signal, else 0. */
int		 alert_category_valid(const char *s);
/* The category of a signal, "health" for health_degraded, "portfolio"
 * for portfolio. */
const char	*alert_category_name(int signal);

/*
 * The stable fingerprint of (account, signal): 16 lower-case hex digits
 * of a 64-bit hash, the same across restarts and versions.  A portfolio
 * alert passes its key ("voice_risk:budget") as account_id.
 */
void		 alert_fingerprint(const char *account_id, int signal,
		    char out[17]);

/* ---- routes ---- */

/* What routes match on.  NULL fields never match a set matcher. */
struct alert_facts {
	const char	*category;	/* "support", ..., "health",
					 * "portfolio" */
	const char	*severity;	/* "info", "warning", "critical" */
	const char	*signal;
	const char	*segment;	/* the account's, or NULL */
	const char	*owner;
	const char	*renewal;	/* "true" within renewal_window of
					 * renewal_at, else "false" */
};

/* A [route:NAME] section; matchers NULL = any. */
struct alert_route {
	char		*name;
	char		*category;
	char		*severity;
	char		*signal;
	char		*segment;
	char		*owner;
	char		*renewal;	/* "true" / "false" */
	char		**receivers;	/* NULL-terminated, names */
	int		 cont;		/* continue = true */
};

/*
 * Routes in file order: the first match wins unless it has continue.
 * Fills out with the receiver names of every matching route (without
 * repeating a name, in route then list order), at most max; returns how
 * many.  A route without matchers matches everything; matchers compare
 * exactly.  The names point into routes.
 */
size_t		 alert_route(const struct alert_route *, size_t nroutes,
		    const struct alert_facts *, const char **out, size_t max);

/* ---- silences ---- */

struct alert_silence {
	uint64_t	 id;
	char		*account_id;	/* NULL = any */
	char		*signal;	/* NULL = any */
	char		*category;	/* NULL = any */
	int64_t		 until;		/* us */
	int		 expire_on_resolve;
	int64_t		 ended_at;	/* 0 while it may apply */
};

/*
 * 1 when s silences an alert with these facts at time now: every set
 * matcher equals (account_id, facts' signal and category), now < until,
 * and the silence has not ended (ended_at == 0).
 */
int		 alert_silenced(const struct alert_silence *,
		    const char *account_id, const struct alert_facts *,
		    int64_t now);

#endif
