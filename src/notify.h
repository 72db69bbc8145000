/*
 * notify.h -- what an alert or a digest says, and the delivery rules
 * (SPEC 5, 2.3).  Pure: it builds message bodies (the webhook JSON, the
 * Slack incoming-webhook payload), signs them, paces them with a token
 * bucket and classifies delivery results; it never sends, stores or logs.
 *
 * Not here: the outbox rows and the HTTP requests (outbox.c), when an
 * alert fires (alert.c), the score and its decomposition (score.c).
 *
 * Every body is compact UTF-8 JSON in a stable key order, malloc'd; the
 * caller frees it with free().  Invalid UTF-8 in the strings given is
 * replaced with U+FFFD rather than failing the notification.
 */
#ifndef CW_NOTIFY_H
#define CW_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Slack's limits (Block Kit), in characters. */
#define NOTIFY_SLACK_MAX_BLOCKS	50
#define NOTIFY_SLACK_MAX_TEXT	3000	/* section, context, fallback */
#define NOTIFY_SLACK_MAX_HEADER	150
#define NOTIFY_SLACK_MAX_FIELD	2000
#define NOTIFY_SLACK_MAX_FIELDS	10

struct notify_account {
	const char	*id;		/* required */
	const char	*name;		/* NULL: the id is shown */
	const char	*owner;		/* NULL = unowned */
	const char	*segment;
	const char	*slack_channel;	/* wins over the receiver's channel */
};

struct notify_signal {
	const char	*name;		/* "ticket_repeat_team", ... */
	const char	*category;	/* "support", ... */
	int		 tier;		/* 1..3, 0 = none (JSON null) */
	const char	*severity;	/* "critical", "warning", "info" */
};

struct notify_health {
	int		 score;
	const char	*status;	/* "green", "yellow", "red" */
	const char	*decomposition;	/* "72 → 42: champion_left −30, ..." */
};

/*
 * Everything one alert notification shows.  The view only points: the
 * caller owns every string.  NULL is allowed for every string but kind,
 * account.id and signal.name.
 */
struct notify_view {
	const char		*kind;		/* "firing" | "resolved" */
	uint64_t		 alert_id;
	const char		*notification_id;
	const char		*fingerprint;	/* of (account, signal) */
	struct notify_account	 account;
	struct notify_signal	 signal;
	const char		*explanation;
	const char		*evidence_json;	/* JSON object text, NULL */
	struct notify_health	 health;
	int64_t			 started_at;	/* us since epoch, 0 = null */
	int64_t			 resolved_at;	/* us since epoch, 0 = null */
	const char		*play;		/* the suggested play */
	int			 repeat;	/* 1: a firing alert again */
	int			 escalated;	/* 1: the severity went up, or
						 * the renewal came near */
	int64_t			 renewal_at;	/* us; 0: not within the
						 * renewal window */
	int			 renewal_days;	/* days to renewal_at */
	/* Slack app (slack.h): where, which message, what happened. */
	const char		*channel;	/* NULL: the account's */
	const char		*message_ts;	/* set: update that message */
	const char		*status_note;	/* "Acknowledged by bob" */
	int			 acked;		/* no Acknowledge button */
};

/*
 * The webhook body of SPEC 5:
 *
 *	{"version":1,"alert_id":"42","status":"firing",
 *	 "account":{"id","name","owner","segment"},
 *	 "signal":{"name","category","tier","severity"},
 *	 "explanation","evidence":{...},
 *	 "health":{"score","status","decomposition"},
 *	 "started_at","resolved_at","play","fingerprint","notification_id",
 *	 "renewal":{"at","days"}}
 *
 * "renewal" only when renewal_at is set (the account renews within the
 * renewal window); the Slack payload then says "renews in N days".
 * alert_id is a decimal string, times are RFC 3339 (UTC, microseconds) or
 * null, NULL strings are null.  evidence is the parsed evidence_json; {}
 * when it is NULL, not an object or not JSON (the alert still goes out).
 * Returns NULL on a missing kind, account.id or signal.name, an unknown
 * kind, or no memory.  The caller frees.
 */
char	*notify_webhook_body(const struct notify_view *);

/*
 * A Slack incoming-webhook payload for the alert: "channel" (when the
 * account has a slack_channel), a fallback "text" and "blocks": a header,
 * the fields (account, signal, severity, health, owner, segment, started,
 * resolved), the explanation with its evidence, the score decomposition,
 * the suggested play and a context line (fingerprint, alert and
 * notification ids).  Within Slack's limits above: long texts are cut on a
 * character boundary and end in "…"; &, < and > in the strings given are
 * escaped (&amp; &lt; &gt;).  Returns NULL as notify_webhook_body() does.
 * The caller frees.
 */
char	*notify_slack_body(const struct notify_view *);

/*
 * A portfolio alert (SPEC 4, "Portfolio trends"): a key -- a risk phrase
 * class of voice_risk or a ticket category -- at many accounts.  It
 * belongs to no account.  The view only points; NULL is allowed for
 * every string but kind, key and key_kind.
 */
struct notify_portfolio_account {
	const char	*id;		/* required */
	const char	*name;		/* NULL: unknown */
	unsigned	 count;		/* notes, or distinct tickets */
};
struct notify_portfolio {
	const char		*kind;		/* "firing" | "resolved" */
	uint64_t		 alert_id;
	const char		*notification_id;
	const char		*fingerprint;	/* of (key, portfolio) */
	const char		*key;		/* "voice_risk:budget" */
	const char		*key_kind;	/* "voice_risk", ... */
	const char		*key_value;	/* "budget" */
	const char		*severity;
	const char		*explanation;
	const struct notify_portfolio_account *accounts;
	size_t			 naccounts;
	unsigned		 min_accounts;	/* the threshold */
	unsigned		 days;		/* the span */
	int64_t			 started_at;	/* us, 0 = null */
	int64_t			 resolved_at;
	const char		*play;
	int			 repeat;	/* a firing alert again */
	const char		*channel;	/* Slack app: where */
};

/*
 * The webhook body of a portfolio alert:
 *
 *	{"version":1,"type":"portfolio","alert_id":"42","status":"firing",
 *	 "key":"voice_risk:budget","kind":"voice_risk","value":"budget",
 *	 "signal":{"name":"portfolio","category":"portfolio","tier":null,
 *	  "severity"},"explanation",
 *	 "accounts":[{"id","name","count"}],
 *	 "evidence":{"accounts":6,"days":14,"threshold":5},
 *	 "started_at","resolved_at","play","fingerprint","notification_id"}
 *
 * and its Slack payload: a header, fields (signal, severity, key,
 * accounts, started, resolved), the explanation, the accounts one per
 * line (by name when known) as far as a section holds them, then "… and
 * N more", the play and a context line.  Both as notify_webhook_body()
 * and notify_slack_body() make theirs (limits, escaping, grouping).
 * NULL on a missing kind, key or key_kind, an account without an id, or
 * no memory.  The caller frees.
 */
char	*notify_portfolio_webhook(const struct notify_portfolio *);
char	*notify_portfolio_slack(const struct notify_portfolio *);

/* One account of a digest: its score, status and active signals. */
struct notify_digest_row {
	const char		*account_id;
	const char		*name;		/* NULL allowed */
	int			 score;
	const char		*status;	/* "green", "yellow", "red" */
	const char *const	*signals;	/* nsignals names */
	size_t			 nsignals;
};

/*
 * The morning digest of one owner (NULL = the unowned accounts) for date
 * ("2026-11-20", the receiver's local date), rows in the order given
 * (worst first).  The Slack payload shows at most
 * NOTIFY_DIGEST_SLACK_ROWS accounts and then "… and N more accounts";
 * the webhook body lists them all:
 *
 *	{"version":1,"type":"digest","owner":"alice"|null,"date":"...",
 *	 "accounts":[{"id","name","score","status","signals":[...]}]}
 *
 * Return NULL on a missing date or account_id, or no memory.  The caller
 * frees.
 */
#define NOTIFY_DIGEST_SLACK_ROWS	(NOTIFY_SLACK_MAX_BLOCKS - 3)
char	*notify_digest_slack(const char *owner, const char *date,
	    const struct notify_digest_row *, size_t n);
char	*notify_digest_webhook(const char *owner, const char *date,
	    const struct notify_digest_row *, size_t n);

/*
 * The five-minute risk check of one account (SPEC 5, the digest): what
 * changed since yesterday, the last touchpoint, the usage change, the
 * renewal and the latest risk note.  Strings are the caller's.
 */
struct notify_digest_check {
	const char *const	*new_signals;	/* active since yesterday */
	size_t			 nnew;
	const char *const	*resolved;	/* resolved since yesterday */
	size_t			 nresolved;
	int			 touch_days;	/* since the last touchpoint;
						 * -1: none */
	uint64_t		 logins_30d;	/* the last 30 days */
	uint64_t		 logins_prev_30d; /* the 30 days before */
	int			 renewal_days;	/* to renewal_at; -1: none
						 * ahead */
	const char		*note_phrase;	/* latest risk note's phrase,
						 * NULL: none */
	const char		*note_class;
	int			 note_days;	/* its age in days */
};

/*
 * The digests with the check of each row (checks[i] for rows[i]; NULL:
 * as notify_digest_slack() and notify_digest_webhook()).  Slack: each
 * account's section adds "Since yesterday: new ... · resolved ...",
 * "Last touchpoint: 12 days ago · Usage: 120 logins in 30 d, -40 % ·
 * Renews in 34 days" and "Risk note (3 days ago): budget"; the webhook
 * adds per account "check": {"new_signals", "resolved_signals",
 * "days_since_touchpoint", "usage": {"logins_30d", "logins_prev_30d",
 * "change_pct"}, "renewal_days", "risk_note": {"phrase", "class",
 * "days"}} (null where there is nothing).  change_pct is null when the
 * 30 days before had no login.  NULL as the others.
 */
char	*notify_digest_check_slack(const char *owner, const char *date,
	    const struct notify_digest_row *,
	    const struct notify_digest_check *, size_t n);
char	*notify_digest_check_webhook(const char *owner, const char *date,
	    const struct notify_digest_row *,
	    const struct notify_digest_check *, size_t n);

/*
 * Grouping (SPEC 5): many notifications bound for one receiver go as one
 * message that lists them.  The grouped message is a pure function of the
 * members' stored bodies (the outbox rows), so a restart that re-sends a
 * group renders it again from the same rows.
 *
 * notify_brief_parse() reads what a group lists from one member's body,
 * as notify_slack_body() or notify_webhook_body() made it: its rank
 * (critical before warning before info, then firing before resolved),
 * its signal, one mrkdwn line (the Slack fallback text, escaped, at most
 * NOTIFY_GROUP_LINE_MAX characters) and, for Slack, its channel (NULL:
 * the webhook's own).  Returns 0, or -1 when body is not one of ours or
 * memory runs out (the brief is then cleared).  notify_brief_clear()
 * frees the strings; it is a no-op on a zeroed brief.
 */
#define NOTIFY_GROUP_LINE_MAX	500
#define NOTIFY_GROUP_SLACK_ROWS	45	/* members listed in one message */
struct notify_brief {
	int		 rank;		/* 0 = worst */
	char		*signal;
	char		*line;		/* escaped mrkdwn, one line */
	char		*channel;	/* Slack "channel" or NULL */
};
int	 notify_brief_parse(const char *body, struct notify_brief *);
void	 notify_brief_clear(struct notify_brief *);

/*
 * The Slack payload for n >= 1 members (m[i] points to one brief each;
 * the array is not changed): "channel" from m[0], a fallback "text" with
 * the counts, and "blocks": a header, one section per member, worst first
 * (arrival order within a rank), for at most NOTIFY_GROUP_SLACK_ROWS, and
 * when some are left out a context line "… and 4,955 more: 3,900
 * seat_underuse, 1,055 no_touch" (by signal, most first).  At most 47
 * blocks, every text within Slack's limits.  NULL on no memory.  The
 * caller frees.
 */
char	*notify_group_slack(const struct notify_brief *const *m, size_t n);

/*
 * One line that sums the group up, for the fallback text and the log:
 * "300 notifications: 120 critical, 100 warning, 80 resolved".  NULL on
 * no memory.  The caller frees.
 */
char	*notify_group_summary(const struct notify_brief *const *m, size_t n);

/*
 * The webhook body for n >= 1 members: a JSON array of their bodies as
 * they are (each keeps its notification_id and fingerprint), in the order
 * given.  NULL on no memory.  The caller frees.
 */
char	*notify_group_webhook(const char *const *bodies, size_t n);

/*
 * When to group, per receiver (an Alertmanager group_wait that keeps the
 * live path): a window opens at the first notification and lasts wait;
 * the first max notifications of a window go at once, the rest are held
 * and go as one message when the window ends.  A window that held some
 * is followed at once by a window in which none goes at once (the burst
 * goes on), so a long burst is one message per wait; the first window
 * after a quiet one sends at once again.  wait 0: no grouping, everything
 * goes at once.  Times are microseconds of a monotonic clock.
 */
struct notify_group {
	int64_t		 wait;
	unsigned	 max;
	int64_t		 end;		/* of the open window; 0 = none */
	unsigned	 allow;		/* may go at once in this window */
	unsigned	 sent;		/* went at once in this window */
	int		 held;		/* this window held some */
};
void	 notify_group_init(struct notify_group *, int64_t wait,
	    unsigned max);
/* A notification is ready at now: 1 = send it at once, 0 = hold it. */
int	 notify_group_admit(struct notify_group *, int64_t now);
/*
 * When what is held must go (the end of the window), or 0 when nothing
 * is held.
 */
int64_t	 notify_group_due(const struct notify_group *);
/*
 * The window ended at now (the caller's timer, at or after
 * notify_group_due()): returns 1 when the held notifications go now (and
 * a window with nothing at once opens), 0 when nothing was held.
 */
int	 notify_group_close(struct notify_group *, int64_t now);

/*
 * The X-Churnwatch-Signature header value of SPEC 2.3 for body (len
 * bytes) sent at t (unix seconds):
 *
 *	t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
 *
 * Writes it NUL-terminated to out; NOTIFY_SIGNATURE_LEN bytes are
 * enough.  Returns 0, or -1 when out is too small or HMAC fails.
 */
#define NOTIFY_SIGNATURE_LEN	96
int	 notify_sign(const char *secret, const char *body, size_t len,
	    int64_t t, char *out, size_t outlen);

/*
 * Pacing per receiver: a token bucket that holds at most burst tokens and
 * gains rate tokens per second (Slack: 1/s, burst 3).  Times are
 * microseconds of a monotonic clock.  rate <= 0 means unpaced.
 */
struct notify_pace {
	double		 rate;		/* tokens per second */
	double		 burst;		/* capacity */
	double		 tokens;
	int64_t		 last;		/* when tokens was last refilled */
};

/* Starts full.  A burst of 0 is taken as 1. */
void	 notify_pace_init(struct notify_pace *, double rate, unsigned burst,
	    int64_t now);
/*
 * Returns 0 and takes a token if one is available at now; otherwise
 * returns the microseconds until one will be (> 0) and takes nothing.
 */
int64_t	 notify_pace_take(struct notify_pace *, int64_t now);

/*
 * The wait before retry number attempt (1, 2, ...), in microseconds:
 * 1 s, 2 s, 4 s, ... with the base capped at NOTIFY_BACKOFF_MAX (5 min),
 * then jittered by ±25 % from rnd (uniform over uint32_t): the result
 * lies in [0.75 base, 1.25 base).  An attempt below 1 counts as 1.
 */
#define NOTIFY_BACKOFF_MAX	(INT64_C(300) * 1000000)
int64_t	 notify_backoff(int attempt, uint32_t rnd);

enum notify_result {
	NOTIFY_OK,		/* 2xx: delivered */
	NOTIFY_RETRY,		/* transport error, timeout, 5xx, 408, 425 */
	NOTIFY_RETRY_AFTER,	/* 429: wait for Retry-After, then retry */
	NOTIFY_PERMANENT	/* other 4xx (Slack 404/410: channel gone) */
};

/*
 * Classify one delivery attempt: transport_error is non-zero when no HTTP
 * response came (connection refused, DNS, timeout, ...), http_status is
 * the response's status otherwise.  A status below 100 without a
 * transport error counts as a transport error; 1xx, 3xx and anything
 * unknown are permanent (a redirect is a configuration error).  Slack's
 * 404/410 are permanent like every other 4xx: is_slack does not change
 * the class, notify_gone() tells the receiver-level failure apart.
 */
enum notify_result notify_classify(long http_status, int transport_error,
	    int is_slack);

/*
 * 1 when a permanent failure means the receiver itself is gone (Slack's
 * 404/410: the channel or the webhook no longer exists) and should be
 * marked failed, not only this notification; 0 otherwise.
 */
int	 notify_gone(long http_status, int is_slack);

/*
 * The wait asked by a Retry-After header value, in microseconds from
 * now_us (unix microseconds): delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", and the obsolete RFC 850 and asctime
 * forms).  A date in the past is 0.  Returns -1 when value is NULL, empty
 * or invalid.  Not capped: the caller decides how long is too long.
 */
int64_t	 notify_retry_after(const char *value, int64_t now_us);

#endif
