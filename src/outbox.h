/*
 * outbox.h -- delivering notifications to Slack, webhooks and the log
 * (SPEC 5), asynchronously, on the libevent loop.
 *
 * outbox.c owns the HTTP side: libcurl's multi interface driven by
 * libevent, one FIFO queue per receiver, pacing (a token bucket per
 * receiver), retries with backoff and jitter, Retry-After, timeouts and
 * the receiver's failed state.  It does not own what a notification says
 * (notify.c builds the bodies), nor whether it was already sent: the
 * caller stores every notification before handing it over (the outbox
 * rows) and records the result reported by done().  Nothing here is
 * persistent: what is queued at outbox_free() is dropped without a done().
 *
 * Delivery rules, per receiver:
 *  - notifications go out in the order given, one request at a time (the
 *    next starts when the previous one has an outcome), so a retry keeps
 *    its place at the head of the queue and order is kept;
 *  - every request (retries too) takes a token from the receiver's bucket
 *    (rate per second, burst); queues grow, nothing is dropped;
 *  - transport errors, timeouts, 5xx, 408 and 425: retried after
 *    notify_backoff() (1 s, 2 s, 4 s ... 5 min, +-25 % jitter), forever;
 *  - 429: retried after Retry-After (at least 1 s, at most
 *    OUTBOX_RETRY_AFTER_MAX), or the backoff when the header is missing;
 *  - other 4xx, 1xx, 3xx: that notification fails (OUTBOX_FAILED);
 *  - Slack 404/410 (the webhook or channel is gone): the receiver is marked
 *    failed, logged once; its queued and future notifications fail at once
 *    until a reload gives it another url; other receivers go on;
 *  - 2xx: OUTBOX_SENT.  A notification reported SENT is never sent again.
 *
 * Grouping, per receiver (SPEC 5; the policy is notify_group_*() in
 * notify.h): with group_wait > 0, a window opens at the first
 * notification; the first group_max of a window are queued at once as
 * today (a quiet receiver keeps the sub-second path), the rest are held
 * and, when the window ends, queued as one message that lists them
 * (notify_group_slack(), notify_group_webhook(): a JSON array of the
 * members' bodies, split so that no array passes OUTBOX_GROUP_MAX_BYTES;
 * a log receiver logs a summary line, then each member's line).  A burst
 * that goes on is one message per window.  A Slack group holds members
 * for one channel only.  A group of one goes as itself.  The grouped
 * message is one request: pacing, retries, Retry-After and 404/410 apply
 * to it as a whole, and done() is called for each member with the
 * group's outcome and attempts, only once that outcome is known.  A
 * webhook group carries X-Churnwatch-Group-Size instead of
 * X-Churnwatch-Notification-Id (each element has its notification_id).
 *
 * Logs name the receiver, never its url (a Slack webhook url is a secret)
 * or its secret.
 */
#ifndef CW_OUTBOX_H
#define CW_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "receiver.h"

struct event_base;
struct outbox;

/* The rows of receiver.h: how to request and judge is the row's. */
enum outbox_kind {
	OUTBOX_SLACK = RECEIVER_SLACK,		/* Slack incoming webhook */
	OUTBOX_WEBHOOK = RECEIVER_WEBHOOK,	/* our JSON, maybe signed */
	OUTBOX_LOG = RECEIVER_LOG,		/* one log_info line */
	OUTBOX_SLACK_APP = RECEIVER_SLACK_APP,	/* Slack Web API */
	OUTBOX_SLACK_RESPONSE = RECEIVER_SLACK_RESPONSE	/* response_url */
};

#define OUTBOX_DEFAULT_TIMEOUT	10	/* seconds, for timeout_s = 0 */
#define OUTBOX_SLACK_RATE	1.0	/* messages/s, for rate = 0 */
#define OUTBOX_SLACK_BURST	3
#define OUTBOX_RETRY_AFTER_MAX	(INT64_C(3600) * 1000000)	/* us */
#define OUTBOX_GROUP_MAX_BYTES	1048576	/* a webhook array, [server] max_body_bytes */

struct outbox_receiver {
	const char		*name;		/* unique, non-empty */
	enum outbox_kind	 kind;
	const char		*url;		/* required but for OUTBOX_LOG */
	const char		*secret;	/* webhook: sign (NULL = unsigned);
						 * slack-app: the bot token */
	unsigned		 timeout_s;	/* per request; 0 = default */
	/*
	 * Pacing: messages per second and burst.  rate 0: the kind's
	 * default (Slack 1/s, burst 3; webhook and log unpaced);
	 * rate < 0: unpaced.  burst 0 is taken as 1.
	 */
	double			 rate;
	unsigned		 burst;
	/*
	 * Grouping: the window in us (0: no grouping) and how many of a
	 * window go at once (0: every one waits for the window's end).
	 */
	int64_t			 group_wait;
	unsigned		 group_max;
};

enum outbox_result {
	OUTBOX_SENT,		/* a 2xx answer (log: written) */
	OUTBOX_FAILED		/* permanent: will not be tried again */
};

struct outbox_ops {
	/*
	 * Called once per notification given to outbox_send(), always from
	 * the event loop (never from inside an outbox_* call), with the
	 * receiver's name, the number of attempts made (0 when none was)
	 * and a short detail for the log ("HTTP 200", "HTTP 404
	 * no_service", "receiver failed", "receiver removed"; no url, no
	 * secret).  Strings are valid during the call only.  done() may call
	 * any outbox_* function, outbox_free() included.
	 */
	void	(*done)(void *arg, uint64_t notification_id,
		    const char *receiver, enum outbox_result, int attempts,
		    const char *detail);
	void	*arg;
	/*
	 * Optional: for a receiver whose row has receipt set (slack-app),
	 * called just before done() of a notification sent alone (not in
	 * a group) with the answer's body (NUL-terminated, at most
	 * OUTBOX_REPLY_MAX bytes): chat.postMessage's channel and ts.
	 */
	void	(*receipt)(void *arg, uint64_t notification_id,
		    const char *receiver, const char *reply);
};
#define OUTBOX_REPLY_MAX	4096

/*
 * A new outbox with no receivers on base; ops is copied.  Initialises
 * libcurl (curl_global_init) on first use.  Returns NULL on failure.
 */
struct outbox	*outbox_new(struct event_base *, const struct outbox_ops *);

/*
 * Frees the outbox: requests in flight are aborted, queued notifications
 * are dropped without done() (the caller's outbox rows still say they are
 * unsent).  To drain first, run the loop until outbox_queued() is 0.
 * NULL is a no-op.  Safe from inside done().
 */
void		 outbox_free(struct outbox *);

/*
 * Sets the receivers (at start and on reload); everything is copied.
 * A receiver that stays (same name) keeps its queue, its request in flight
 * and its pacing state; it takes the new settings, and a new url or kind
 * clears its failed state and its backoff.  A receiver that goes away
 * finishes its request in flight, and its other queued notifications fail
 * ("receiver removed").  Pacing state is kept unless rate or burst
 * changed.  Returns 0, or -1 and changes nothing when a name is empty or
 * repeated, a url is missing or not http(s)://, a kind or rate is
 * invalid, or memory runs out.
 */
int		 outbox_set_receivers(struct outbox *,
		    const struct outbox_receiver *, size_t n);

/*
 * Queues body (JSON, NUL-terminated, copied) for receiver.  Returns 0:
 * done() will be called later, exactly once; or -1 when no receiver has
 * that name (or no memory), and then done() will not be called.
 * notification_id is the caller's; it is echoed to done() and, for
 * webhooks, sent as X-Churnwatch-Notification-Id.
 */
int		 outbox_send(struct outbox *, uint64_t notification_id,
		    const char *receiver, const char *body);

/*
 * As outbox_send(), to url (http(s)://, copied) instead of the
 * receiver's own: Slack's response_url.  Never grouped.
 */
int		 outbox_send_url(struct outbox *, uint64_t notification_id,
		    const char *receiver, const char *url, const char *body);

/*
 * Notifications given to outbox_send() whose done() has not run yet, held
 * ones included.
 */
size_t		 outbox_queued(const struct outbox *);

/* 1 if the receiver is marked failed, 0 if not, -1 if there is none. */
int		 outbox_receiver_failed(const struct outbox *, const char *);

#endif
