/*
 * alerting.h -- alerts at run time (SPEC 5, 2.6): after each evaluation of
 * an account, steps every (account, signal) alert through alert.c's state
 * machine, routes the notifications, renders them (notify.c), writes the
 * transitions and notifications to PostgreSQL (the outbox) and, only once
 * that has committed, hands them to outbox.c for delivery.  Owns the
 * silences and acknowledgements.  An edge: libevent, store.c, outbox.c.
 */
#ifndef CW_ALERTING_H
#define CW_ALERTING_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct cw_config;
struct account;
struct account_table;
struct sig_result;
struct store_alert;
struct portfolio_trend;
struct alerting;

struct alerting	*alerting_new(struct event_base *, struct store *,
		    const struct cw_config *);
void		 alerting_set_config(struct alerting *,
		    const struct cw_config *);
void		 alerting_free(struct alerting *);

/* a was just evaluated at now with the n active signals out: step its
 * alerts. */
void		 alerting_evaluated(struct alerting *, struct account *,
		    const struct sig_result *out, int n, int64_t now);
/*
 * After a full sweep: the n portfolio keys seen at any account
 * (portfolio_trends() with a minimum of 1).  Steps one alert per key
 * that [portfolio] min_accounts reaches, and the open ones of keys no
 * longer in tr towards resolving; a key one of whose accounts is
 * settling waits.  The account ids are copied.
 */
void		 alerting_portfolio(struct alerting *, struct account_table *,
		    const struct portfolio_trend *tr, size_t n, int64_t now);
/* Periodic duties: silences that ended, retrying a failed write. */
void		 alerting_tick(struct alerting *, struct account_table *,
		    int64_t now);

/* Recovery, from store_load(). */
void		 alerting_load_alert(struct alerting *, struct account_table *,
		    const struct store_alert *, int64_t acked_at);
void		 alerting_load_notification(struct alerting *, const char *id,
		    const char *receiver, const char *body);
void		 alerting_load_silence(struct alerting *, uint64_t id,
		    const char *account_id, const char *signal,
		    const char *category, int64_t until, int expire_on_resolve);
void		 alerting_load_slack_message(struct alerting *,
		    uint64_t alert_id, const char *receiver,
		    const char *channel, const char *ts);
void		 alerting_loaded(struct alerting *, struct account_table *);

/*
 * The alert and silence API (http.h's enum http_api_call).  reply is
 * called exactly once, later, with a JSON body (taken over) or, when json
 * is NULL, an error code and message.  Returns -1 when it cannot start
 * (database down): reply is not called.
 */
typedef void (*alerting_reply)(void *handle, unsigned status, char *json,
    const char *code, const char *msg);
int		 alerting_api(struct alerting *, struct account_table *,
		    int call, const char *id, const char *body, size_t len,
		    const char *const q[3], const char *token,
		    alerting_reply, void *handle);

/*
 * The Slack app's actions (SPEC 2.7), with alerting_api()'s reply
 * contract: ack alert_id as POST /v1/alerts/{id}/ack does, recorded as
 * acknowledged by by; snooze: a silence of account_id (and signal, NULL
 * for all its signals) for days, commented with by and reason.  Either
 * updates the alert's Slack messages in place.
 */
int		 alerting_slack_ack(struct alerting *, struct account_table *,
		    uint64_t alert_id, const char *by, alerting_reply,
		    void *handle);
int		 alerting_slack_snooze(struct alerting *,
		    struct account_table *, const char *account_id,
		    const char *signal, unsigned days, const char *by,
		    const char *reason, alerting_reply, void *handle);

/*
 * Post json (an ephemeral message) to a Slack response_url, through the
 * outbox (retried, not stored).  -1 when url is not Slack's nor on
 * [slack] api_url's host, or the Slack app is not configured.
 */
int		 alerting_slack_respond(struct alerting *, const char *url,
		    const char *json);

/* Notifications not yet delivered (queued in memory or in flight). */
size_t		 alerting_backlog(const struct alerting *);

#endif
