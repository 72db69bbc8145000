/*
 * http.h -- the HTTP API (SPEC 2) served by GNU libmicrohttpd inside the
 * libevent loop.
 *
 * http.c owns: the listener, connections and their deadlines, routing,
 * authentication, request limits, decoding of bodies and the one JSON error
 * writer.  It does not own storage: it is handed functions (struct
 * http_ops) and never includes store.h.
 */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct cw_config;
struct cw_error;
struct cw_event;
struct http;

struct http_ops {
	/* 1 when writes can be taken; else fills reason (static string). */
	int	(*ready)(void *arg, const char **reason);
	/*
	 * Commit n events from source.  Returns 0 and later calls
	 * http_ingest_done(handle, ...) exactly once (never from inside this
	 * call), or -1 at once when it cannot take them now.
	 */
	int	(*ingest)(void *arg, const char *source,
		    const struct cw_event *ev, size_t n, void *handle);
	/*
	 * Admission (SPEC 6), before anything of a request is acknowledged:
	 * would its events, other account ids (PUT, Segment group) and
	 * Segment member user ids fit the bounds of [limits]?  0, or -1
	 * with *limit (the bound's config key, the metric's label) and err
	 * set.  NULL: everything is admitted.
	 */
	int	(*admit)(void *arg, const struct cw_event *ev, size_t n,
		    const char *const *accounts, size_t naccounts,
		    const char *const *members, size_t nmembers,
		    const char **limit, struct cw_error *err);
	/* Same contract, completed by http_account_done(). */
	int	(*account_put)(void *arg, const char *id, const char *json,
		    void *handle);
	/* The account as a new JSON string; NULL when unknown. */
	char	*(*account_get)(void *arg, const char *id);
	/*
	 * The risk list: q holds the query parameters status, owner,
	 * segment, sort, limit, cursor (NULL when absent), in that order.
	 * NULL with *err (a static sentence) when one is invalid.
	 */
	char	*(*account_list)(void *arg, const char *const q[6],
		    const char **err);
	/*
	 * Alerts and silences (SPEC 2.6), answered later through
	 * http_api_done() / http_api_error(), never from inside the call.
	 * path_id: the {id} of the path or NULL; q: the query parameters
	 * state, account_id, since (NULL when absent).  Returns -1 when it
	 * cannot start now (503).
	 */
	int	(*api)(void *arg, int call, const char *path_id,
		    const char *body, size_t len, const char *const q[3],
		    const char *token, void *handle);
	/* Bring the gauges of cw_metrics up to date before /metrics. */
	void	(*metrics_refresh)(void *arg);
	/* The account a Segment user was last grouped with, or NULL. */
	const char *(*member_find)(void *arg, const char *user_id);
	/*
	 * Commit a decoded Segment request (struct seg_result, kept alive by
	 * http.c until the answer): its events, memberships and account
	 * metadata; completed by http_segment_done().
	 */
	int	(*segment)(void *arg, const char *source, const void *result,
		    void *handle);
	/*
	 * A Slack request whose signature verified (call: HTTP_SLACK_*;
	 * body: the raw form, len bytes), answered later through
	 * http_api_done() / http_api_error(); -1: 503 now.  NULL: the
	 * Slack endpoints answer 401.
	 */
	int	(*slack)(void *arg, int call, const char *body, size_t len,
		    void *handle);
	void	*arg;
};

enum http_api_call {
	HTTP_API_ALERTS,		/* GET /v1/alerts */
	HTTP_API_ALERT_ACK,		/* POST /v1/alerts/{id}/ack */
	HTTP_API_SILENCE_CREATE,	/* POST /v1/silences */
	HTTP_API_SILENCES,		/* GET /v1/silences */
	HTTP_API_SILENCE_DELETE,	/* DELETE /v1/silences/{id} */
	HTTP_API_REPORT_QUALITY,	/* GET /v1/reports/signal-quality */
	HTTP_API_REPORT_MOVERS,		/* GET /v1/reports/movers */
	HTTP_SLACK_INTERACTIONS,	/* POST /slack/interactions */
	HTTP_SLACK_COMMANDS		/* POST /slack/commands */
};

/*
 * Start serving.  listen_fd >= 0 is an already listening socket (socket
 * activation); else cfg->listen is bound.  cfg must outlive the server or
 * be replaced with http_set_config().  NULL on failure (logged).
 */
struct http	*http_new(struct event_base *, const struct cw_config *,
		    int listen_fd, const struct http_ops *);
void		 http_set_config(struct http *, const struct cw_config *);

/*
 * Completions for http_ops: committed = 1 when durably stored.  For
 * events, fresh[i] is 1 (stored now), 0 (a duplicate) or 2 (refused by
 * PostgreSQL for what it is, why[i] saying why; why is NULL when none
 * was): refused events are answered in "rejected" like invalid ones.
 * refused, for Segment, is the first refusal's why, or NULL.
 */
void		 http_ingest_done(void *handle, int committed,
		    const uint8_t *fresh, const char *const *why);
void		 http_account_done(void *handle, int committed, int created);
void		 http_segment_done(void *handle, int committed,
		    const char *refused);
/* The source (token or webhook source name) of an ingest in progress. */
const char	*http_ingest_source(void *handle);
/* Completions for ops.api: a JSON body (taken over) or an error. */
void		 http_api_done(void *handle, unsigned status, char *json);
void		 http_api_error(void *handle, unsigned status, const char *code,
		    const char *msg);

/*
 * Graceful stop, step 1: close the listener, close idle connections, and
 * mark the rest to close after their response.  http_connections() tells
 * when they are gone; then http_free().
 */
void		 http_stop_accepting(struct http *);
size_t		 http_connections(const struct http *);
void		 http_free(struct http *);

#endif
