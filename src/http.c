/*
 * http.c -- the HTTP API, GNU libmicrohttpd driven by the libevent loop.
 *
 * libmicrohttpd runs in "external epoll" mode: its epoll fd is one libevent
 * read event, MHD_run() runs when it is ready, and MHD_get_timeout() sets
 * one timer (the way systemd-journal-remote embeds it).  It lets us answer
 * from the headers alone (413 from Content-Length before the body, 401,
 * 415, ...), caps connections, bounds header memory, and suspends a
 * connection while its commit is in flight.  What it lacks we add here:
 *
 *  - JSON errors for what it cannot parse (a malformed head, bad chunk
 *    syntax), on every request of a connection: it never reads a
 *    client's socket; each connection is relayed through a socket pair
 *    and judged on the way (relay_*, wire.c);
 *  - a whole-request deadline per connection (slow loris): a timer armed
 *    when a connection opens or finishes a response and disarmed once the
 *    request body is complete; when it fires the socket is shut down and
 *    libmicrohttpd closes the connection on its next read;
 *  - refusal of ambiguous framing (Transfer-Encoding with Content-Length,
 *    duplicate Content-Length, a transfer coding other than chunked),
 *    which libmicrohttpd 0.9.75 would otherwise resolve by itself;
 *  - a running count of chunked bodies, discarded past the limit and then
 *    answered with 413;
 *  - per-token rate limits (SPEC 2): a token bucket per [token:NAME],
 *    counted in events.  Every request authenticated by a token takes one
 *    unit from its head, so an exhausted token is answered 429 before any
 *    body byte is read; an ingest takes the rest of its events once they
 *    are decoded, and is refused whole (nothing stored) if the bucket
 *    cannot cover them.  The buckets live here, by token name, and a
 *    reload keeps those of the tokens that remain;
 *  - Content-Encoding (gzip, deflate) on every route that takes a body:
 *    coding.c inflates the body as it arrives, so max_body_bytes and
 *    max_inflight_body_bytes count decoded bytes and a decompression
 *    bomb is refused (413) without being inflated past the limit.  What
 *    the handlers, the signature checks and the webhook's body hash see
 *    is the decoded body.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <microhttpd.h>

#include "account.h"
#include "coding.h"
#include "cwconfig.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "segment.h"
#include "slack.h"
#include "webhook.h"
#include "proxy.h"
#include "util.h"
#include "wire.h"

/* Connections MHD may hold past max_connections, to close them itself. */
#define HTTP_CONN_SLACK	64

/* One TCP connection. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct http		*h;
	struct MHD_Connection	*mc;
	struct relay		*relay;		/* the client's side */
	int			 fd;		/* MHD's end of the pair */
	int			 inreq;		/* a request is under way */
	struct event		*deadline;
	const char		*route;		/* label of the current request */
	int64_t			 t0;		/* when it began, us */
	/* Who the current request is from: the peer, or behind a trusted
	 * proxy the address X-Forwarded-For names (proxy.h).  For logs. */
	char			 client[PROXY_ADDR_STRLEN];
};
TAILQ_HEAD(conn_list, conn);

struct relay;
TAILQ_HEAD(relay_list, relay);

/* The rate limit of one [token:NAME]. */
struct rate_bucket {
	char			*name;
	struct util_bucket	 b;
	int64_t			 logged;	/* last 429 logged, mono us */
};

struct http {
	struct event_base	*base;
	const struct cw_config	*cfg;
	struct http_ops		 ops;
	struct MHD_Daemon	*mhd;
	struct event		*ev_mhd;
	struct event		*ev_timer;
	struct conn_list	 conns;
	size_t			 nconns;
	size_t			 inflight;	/* bytes of bodies held */
	struct relay_list	 relays;	/* one per client connection */
	size_t			 nrelays;
	size_t			 ndraining;	/* answered, closing */
	struct relay		*adopting;	/* being handed to MHD */
	char			*rbuf;		/* RELAY_OUT bytes */
	/* What MHD (and our open-files limit) started with: restart keys. */
	size_t			 max_head;	/* max_header_bytes */
	unsigned		 idle;		/* idle_timeout, s */
	unsigned		 max_conns;	/* max_connections */
	int			 listen_fd;
	struct event		*ev_listen;
	struct event		*ev_relisten;
	int			 stopping;
	int			 cap_logged;	/* the cap was hit; logged once */
	unsigned		 fd_short;	/* pauses for want of fds */
	struct rate_bucket	*buckets;	/* one per token, config order */
	size_t			 nbuckets;
	struct slack_replay	*slack_seen;	/* Slack signatures, replays */
};

#define RELAY_READ	16384		/* bytes read from a client at once */
#define RELAY_OUT	65536		/* bytes copied back at once */
#define RELAY_DRAIN	1048576		/* read and dropped after an answer */

struct relay {
	TAILQ_ENTRY(relay)	 entry;
	struct http		*h;
	struct conn		*conn;		/* MHD's side, while it has one */
	int			 cfd;		/* the client */
	int			 sfd;		/* our end of the pair, or -1 */
	struct event		*ev_cr;		/* client readable */
	struct event		*ev_cw;		/* client writable */
	struct event		*ev_sr;		/* MHD's answers readable */
	struct event		*ev_sw;		/* MHD's side writable */
	struct event		*timer;		/* the drain before the close */
	struct wire		 w;
	char			*ib;		/* from the client, not passed */
	size_t			 ilen;
	size_t			 icap;
	size_t			 judged;	/* of ib: sound, to pass on */
	char			*ob;		/* from MHD, not yet written */
	size_t			 olen;
	size_t			 ooff;
	unsigned		 nresp;		/* requests MHD answered */
	size_t			 drained;
	unsigned		 c_eof:1;	/* the client sends no more */
	unsigned		 s_eof:1;	/* MHD closed its side */
	unsigned		 s_shut:1;	/* we told MHD: no more */
	unsigned		 refuse:1;	/* w.err to answer, in turn */
	unsigned		 closing:1;	/* flushing; no more from MHD */
	unsigned		 draining:1;	/* flushed; reading to the end */
};

enum req_state {
	RS_BODY,	/* receiving the body */
	RS_WAIT,	/* suspended while storage works */
	RS_RESPOND	/* resumed with a response to queue */
};

struct route;

/* One HTTP request; MHD's *con_cls. */
struct req {
	struct http		*h;
	struct conn		*conn;
	struct MHD_Connection	*mc;
	const struct route	*route;
	enum req_state		 state;
	int			 orphan;	/* MHD forgot it while waiting */
	char			*source;	/* token name, owned */
	char			*path_id;	/* {id} of the path, owned */
	char			*rl_token;	/* charged from the head, owned */
	uint64_t		 rl_held;	/* units it took there */
	enum cw_body_format	 fmt;
	char			*body;
	size_t			 len;
	size_t			 cap;
	size_t			 held;		/* counted in h->inflight */
	enum coding_kind	 enc;		/* Content-Encoding */
	struct coding		*dec;		/* its decoder, while reading */
	int			 overflow;
	int			 shed;		/* past max_inflight_body_bytes */
	int			 badenc;	/* not a valid encoded body */
	struct cw_error		 encerr;	/* why, when badenc */
	struct cw_event_batch	 batch;
	struct MHD_Response	*resp;
	unsigned		 status;
	struct seg_result	 seg;		/* a Segment request */
};

typedef enum MHD_Result (*route_fn)(struct req *);

#define ROUTE_PREFIX	0x01	/* path is a prefix followed by {id} */
#define ROUTE_BODY	0x02	/* takes a request body */
#define ROUTE_NDJSON	0x04	/* accepts application/x-ndjson too */
#define ROUTE_ANYTYPE	0x08	/* JSON whatever Content-Type says */

struct route {
	const char	*method;
	const char	*path;
	int		 flags;
	unsigned	 scope;		/* 0 = no token needed */
	route_fn	 fn;
	int		 api;		/* enum http_api_call for route_api */
	const char	*label;		/* the route label in metrics */
	const char	*suffix;	/* after {id}, e.g. "/ack"; NULL none */
};

static enum MHD_Result	route_events(struct req *);
static enum MHD_Result	route_account_put(struct req *);
static enum MHD_Result	route_account_get(struct req *);
static enum MHD_Result	route_account_list(struct req *);
static enum MHD_Result	route_healthz(struct req *);
static enum MHD_Result	route_metrics(struct req *);
static enum MHD_Result	route_api(struct req *);
static enum MHD_Result	route_webhook(struct req *);
static enum MHD_Result	route_segment(struct req *);
static enum MHD_Result	route_readyz(struct req *);
static enum MHD_Result	route_openapi(struct req *);
static enum MHD_Result	route_slack(struct req *);
static int		reads_ready(struct req *, enum MHD_Result *);

#define R(m, p, f, sc, h)	{ .method = m, .path = p, .flags = f, \
				  .scope = sc, .fn = h, .label = p }
#define SEG(p, call)	{ .method = "POST", .path = p, \
				  .flags = ROUTE_BODY | ROUTE_ANYTYPE, \
				  .fn = route_segment, .api = call, .label = p }
#define API(m, p, f, sc, call, sfx) { .method = m, .path = p, .flags = f, \
				  .scope = sc, .fn = route_api, .api = call, \
				  .suffix = sfx, .label = p }
static const struct route routes[] = {
	R("POST", "/v1/events", ROUTE_BODY | ROUTE_NDJSON, CW_SCOPE_INGEST,
	    route_events),
	R("PUT", "/v1/accounts/", ROUTE_PREFIX | ROUTE_BODY, CW_SCOPE_INGEST,
	    route_account_put),
	R("GET", "/v1/accounts/", ROUTE_PREFIX, CW_SCOPE_READ,
	    route_account_get),
	R("GET", "/v1/accounts", 0, CW_SCOPE_READ, route_account_list),
	API("GET", "/v1/alerts", 0, CW_SCOPE_READ, HTTP_API_ALERTS, NULL),
	API("POST", "/v1/alerts/", ROUTE_PREFIX, CW_SCOPE_ADMIN,
	    HTTP_API_ALERT_ACK, "/ack"),
	API("POST", "/v1/silences", ROUTE_BODY, CW_SCOPE_ADMIN,
	    HTTP_API_SILENCE_CREATE, NULL),
	API("GET", "/v1/silences", 0, CW_SCOPE_READ, HTTP_API_SILENCES, NULL),
	API("DELETE", "/v1/silences/", ROUTE_PREFIX, CW_SCOPE_ADMIN,
	    HTTP_API_SILENCE_DELETE, NULL),
	API("GET", "/v1/reports/signal-quality", 0, CW_SCOPE_READ,
	    HTTP_API_REPORT_QUALITY, NULL),
	API("GET", "/v1/reports/movers", 0, CW_SCOPE_READ,
	    HTTP_API_REPORT_MOVERS, NULL),
	R("POST", "/v1/webhooks/", ROUTE_PREFIX | ROUTE_BODY, 0,
	    route_webhook),
	/*
	 * Segment's API takes any Content-Type, and RudderStack's node SDK
	 * (axios posting a gzipped Buffer) labels its JSON
	 * application/x-www-form-urlencoded: the body is JSON whatever the
	 * label says.
	 */
	R("POST", "/segment/v1/", ROUTE_PREFIX | ROUTE_BODY | ROUTE_ANYTYPE, 0,
	    route_segment),
	/*
	 * Segment's own paths too: analytics-node resolves its "/v1/batch"
	 * against the host, so a host of http://churnwatch:8080/segment
	 * posts to /v1/batch.
	 */
	SEG("/v1/batch", SEG_BATCH), SEG("/v1/track", SEG_TRACK),
	SEG("/v1/identify", SEG_IDENTIFY), SEG("/v1/group", SEG_GROUP),
	SEG("/v1/page", SEG_PAGE), SEG("/v1/screen", SEG_SCREEN),
	/*
	 * Slack (SPEC 2.7): form-encoded, signed with [slack]
	 * signing_secret instead of a token; api is enum slackapp_endpoint.
	 */
	{ .method = "POST", .path = "/slack/interactions",
	  .flags = ROUTE_BODY | ROUTE_ANYTYPE, .fn = route_slack,
	  .api = HTTP_SLACK_INTERACTIONS, .label = "/slack/interactions" },
	{ .method = "POST", .path = "/slack/commands",
	  .flags = ROUTE_BODY | ROUTE_ANYTYPE, .fn = route_slack,
	  .api = HTTP_SLACK_COMMANDS, .label = "/slack/commands" },
	R("GET", "/metrics", 0, 0, route_metrics),
	R("GET", "/healthz", 0, 0, route_healthz),
	R("GET", "/readyz", 0, 0, route_readyz),
	/* This table described: api/openapi.json, built in. */
	R("GET", "/openapi.json", 0, 0, route_openapi),
};
#undef R
#undef SEG
#undef API
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static void	http_kick(struct http *);

/* ---- responses ---- */

/*
 * Build a response from a JSON value (stolen).  Every response goes
 * through here.
 */
static struct MHD_Response *
resp_json(struct http *h, json_t *body)
{
	struct MHD_Response *r;
	char *s;

	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL)
		return NULL;
	r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(s);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	if (h->stopping)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	return r;
}

static json_t *
error_body(const char *code, const char *msg)
{
	return json_pack("{s:s, s:s}", "error", code, "message", msg);
}

static void
resp_extra_headers(struct MHD_Response *r, unsigned status)
{
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"churnwatch\"");
}

static enum MHD_Result
queue(struct MHD_Connection *mc, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The one error writer: {"error": code, "message": msg} plus, when extra is
 * given (stolen), its members ("details", "rejected", ...).
 */
static struct MHD_Response *
error_response(struct http *h, unsigned status, const char *code,
    json_t *extra, const char *fmt, ...)
{
	struct MHD_Response *r;
	char msg[256];
	va_list ap;
	json_t *body;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	body = error_body(code, msg);
	if (extra != NULL) {
		json_object_update(body, extra);
		json_decref(extra);
	}
	if ((r = resp_json(h, body)) != NULL)
		resp_extra_headers(r, status);
	return r;
}

static enum MHD_Result
send_error(struct http *h, struct MHD_Connection *mc, unsigned status,
    const char *code, const char *fmt, ...)
{
	struct MHD_Response *r;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((r = resp_json(h, error_body(code, msg))) == NULL)
		return MHD_NO;
	resp_extra_headers(r, status);
	return queue(mc, status, r);
}

/* ---- per-token rate limits (SPEC 2) ---- */

static void
rate_free(struct rate_bucket *rb, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rb[i].name);
	free(rb);
}

/*
 * One bucket per token of cfg.  A token that was there before keeps its
 * bucket (what it holds, under the new rate and burst); a new one starts
 * full.  0, or -1 with the old buckets kept (out of memory).
 */
static int
rate_build(struct http *h, const struct cw_config *cfg)
{
	struct rate_bucket *nb, *old;
	int64_t now = util_mono_us();
	size_t i, j;

	if ((nb = calloc(cfg->ntokens + 1, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < cfg->ntokens; i++) {
		const struct cw_token *t = &cfg->tokens[i];

		if ((nb[i].name = strdup(t->name)) == NULL) {
			rate_free(nb, i);
			return -1;
		}
		for (old = NULL, j = 0; j < h->nbuckets && old == NULL; j++)
			if (strcmp(h->buckets[j].name, t->name) == 0)
				old = &h->buckets[j];
		if (old != NULL) {
			nb[i].b = old->b;
			nb[i].logged = old->logged;
			util_bucket_set(&nb[i].b, t->rate, t->burst, now);
		} else
			util_bucket_init(&nb[i].b, t->rate, t->burst, now);
	}
	rate_free(h->buckets, h->nbuckets);
	h->buckets = nb;
	h->nbuckets = cfg->ntokens;
	return 0;
}

/*
 * Charge token for a request of n events (at least 1), held of which it
 * took already.  Returns 0 when taken, else the us until the whole
 * request would be admitted.  A token without a bucket (removed by a
 * reload while its request was under way) is not limited.
 */
static int64_t
rate_charge(struct http *h, const char *token, const char *client,
    uint64_t n, uint64_t held)
{
	struct rate_bucket *rb = NULL;
	int64_t wait, now = util_mono_us();
	size_t i;

	for (i = 0; i < h->nbuckets && rb == NULL; i++)
		if (strcmp(h->buckets[i].name, token) == 0)
			rb = &h->buckets[i];
	if (rb == NULL)
		return 0;
	if ((wait = util_bucket_take(&rb->b, n > 0 ? n : 1, held, now)) == 0)
		return 0;
	/*
	 * A client held at its limit is refused many times a second: say so
	 * once a minute at most, the metric counts every refusal.
	 */
	if (rb->logged == 0 || now - rb->logged >= 60 * CW_USEC_PER_SEC) {
		log_notice("http: token=%s client=%s over its rate limit (%llu "
		    "events/s, burst %llu); answering 429", token, client,
		    (unsigned long long)rb->b.rate,
		    (unsigned long long)rb->b.burst);
		rb->logged = now;
	}
	return wait;
}

/* 429 with Retry-After in whole seconds, at least 1, rounded up. */
static enum MHD_Result
rate_refuse(struct http *h, struct MHD_Connection *mc, const char *token,
    int64_t wait)
{
	struct MHD_Response *r;
	int64_t secs;
	char ra[24];

	metrics_inc(cw_metrics, M_RATE_LIMITED, &token, 1);
	secs = wait / CW_USEC_PER_SEC + (wait % CW_USEC_PER_SEC != 0);
	if (secs < 1)
		secs = 1;
	snprintf(ra, sizeof(ra), "%lld", (long long)secs);
	r = error_response(h, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", NULL,
	    "token '%s' is over its rate limit; the request was refused "
	    "whole and nothing of it is stored; retry in %lld s", token,
	    (long long)secs);
	if (r != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	return queue(mc, MHD_HTTP_TOO_MANY_REQUESTS, r);
}

/*
 * The rest of a request's charge, once its events are counted, for the
 * token that sent it.  1 to go on; 0 with the 429 queued in *ret.
 */
static int
req_charge(struct req *r, const char *token, uint64_t n, enum MHD_Result *ret)
{
	uint64_t held = 0;
	int64_t wait;

	if (r->rl_token != NULL && strcmp(r->rl_token, token) == 0)
		held = r->rl_held;
	if ((wait = rate_charge(r->h, token, r->conn != NULL ?
	    r->conn->client : "-", n, held)) == 0)
		return 1;
	*ret = rate_refuse(r->h, r->mc, token, wait);
	return 0;
}

/* ---- connections and deadlines ---- */

static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	log_debug("http: fd %d: request deadline passed; closing", c->fd);
	/* MHD owns the fd: shut it down, MHD closes it on its next read. */
	shutdown(c->fd, SHUT_RDWR);
	http_kick(c->h);
}

/* The deadline of a request that began at t0 (us). */
static void
conn_arm_at(struct conn *c, int64_t t0)
{
	int64_t left;
	struct timeval tv;

	left = (int64_t)c->h->cfg->request_timeout * 1000000 -
	    (util_now_us() - t0);
	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	evtimer_add(c->deadline, &tv);
}

static void
conn_arm(struct conn *c)
{
	conn_arm_at(c, util_now_us());
}

/*
 * Restart MHD's idle timer of c: the relay holds back a part of a head
 * (or of a chunk-size line, a trailer) that MHD does not see, and that is
 * traffic.  MHD 0.9.75 takes "now" as the last activity when a timeout
 * is set on a connection that had none.
 */
static void
conn_touch(struct conn *c)
{
	MHD_set_connection_option(c->mc, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	MHD_set_connection_option(c->mc, MHD_CONNECTION_OPTION_TIMEOUT,
	    c->h->idle);
}

static void
notify_connection_cb(void *cls, struct MHD_Connection *mc, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->h = h;
		c->mc = mc;
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		c->fd = ci != NULL ? ci->connect_fd : -1;
		c->deadline = evtimer_new(h->base, conn_deadline_cb, c);
		if ((c->relay = h->adopting) != NULL)
			c->relay->conn = c;
		conn_arm(c);
		TAILQ_INSERT_TAIL(&h->conns, c, entry);
		h->nconns++;
		*socket_ctx = c;
		return;
	}
	if ((c = *socket_ctx) == NULL)
		return;
	TAILQ_REMOVE(&h->conns, c, entry);
	h->nconns--;
	if (c->relay != NULL)
		c->relay->conn = NULL;
	http_kick(h);	/* MHD re-arms its listener only in MHD_run() */
	event_free(c->deadline);
	free(c);
	*socket_ctx = NULL;
}

static struct conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* The X-Forwarded-For headers of a request, joined with ",". */
struct xff {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 nomem;
};

static enum MHD_Result
xff_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct xff *x = cls;
	size_t vlen, need;
	char *ns;

	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") != 0 || value == NULL)
		return MHD_YES;
	vlen = strlen(value);
	need = x->len + vlen + 2;
	if (need > x->cap) {
		if ((ns = realloc(x->s, need)) == NULL) {
			x->nomem = 1;
			return MHD_NO;
		}
		x->s = ns;
		x->cap = need;
	}
	if (x->len > 0)
		x->s[x->len++] = ',';
	memcpy(x->s + x->len, value, vlen);
	x->len += vlen;
	x->s[x->len] = '\0';
	return MHD_YES;
}

/*
 * Who a request is from, for the logs: the peer, or, when the peer is one
 * of [server] trusted_proxies, the right-most untrusted address of
 * X-Forwarded-For (proxy_client()).  From anyone else the header is
 * ignored.  Rate limits are per token, not per address: they do not use
 * it.
 */
static void
client_of(struct http *h, struct MHD_Connection *mc, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	struct proxy_addr peer, client;
	struct xff x;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || proxy_addr_from_sockaddr(ci->client_addr,
	    &peer) == -1) {
		snprintf(buf, len, "-");
		return;
	}
	client = peer;
	if (h->cfg->ntrusted_proxies > 0) {
		memset(&x, 0, sizeof(x));
		MHD_get_connection_values(mc, MHD_HEADER_KIND, xff_cb, &x);
		if (!x.nomem)
			proxy_client(h->cfg->trusted_proxies,
			    h->cfg->ntrusted_proxies, &peer, x.s, &client);
		free(x.s);
	}
	proxy_addr_str(&client, buf, len);
}

/* The client of the request on mc (client_of()), or "-". */
static const char *
conn_client(struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	return c != NULL && c->client[0] != '\0' ? c->client : "-";
}

/* ---- the relay: every byte a client sends passes wire_judge() ---- */

/*
 * libmicrohttpd answers what it cannot parse by itself, with an HTML or
 * empty body (wire.h).  So it never reads a client's socket: each
 * connection is relayed through a socket pair whose other end is
 * handed to libmicrohttpd with MHD_add_connection().  The client's bytes
 * are judged as they arrive and only what is sound is passed on; what
 * libmicrohttpd writes is copied back.  When the stream breaks (a bad
 * head on the third request of a keep-alive connection, bad chunk
 * syntax in the middle of a body) the requests before it are answered
 * first, in order, then ours follows as JSON and the connection closes;
 * a request whose body was cut short never reaches a handler whole, so
 * nothing of it is stored.
 */

/*
 * Our JSON error, framed by hand (as error_response() would answer), in
 * a buffer of its own; NULL without memory.
 */
static char *
raw_error(unsigned status, const char *code, const char *msg, size_t *len)
{
	char head[256], *body, *out;
	const char *reason;
	json_t *j;
	size_t blen;
	int n;

	j = error_body(code, msg);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL)
		return NULL;
	blen = strlen(body);
	if ((reason = MHD_get_reason_phrase_for(status)) == NULL)
		reason = "Error";
	n = snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, reason, blen);
	if (n <= 0 || (size_t)n >= sizeof(head) ||
	    (out = malloc((size_t)n + blen)) == NULL) {
		free(body);
		return NULL;
	}
	memcpy(out, head, (size_t)n);
	memcpy(out + n, body, blen);
	free(body);
	*len = (size_t)n + blen;
	return out;
}

static void	relay_out(struct relay *);

static void
relay_free(struct relay *r)
{
	struct http *h = r->h;

	TAILQ_REMOVE(&h->relays, r, entry);
	h->nrelays--;
	if (r->draining)
		h->ndraining--;
	if (r->conn != NULL)
		r->conn->relay = NULL;
	event_free(r->ev_cr);
	event_free(r->ev_cw);
	event_free(r->ev_sr);
	event_free(r->ev_sw);
	event_free(r->timer);
	if (r->sfd != -1)
		close(r->sfd);
	close(r->cfd);
	free(r->ib);
	free(r->ob);
	free(r);
}

/* Keep n bytes at p for the client, behind what waits already. */
static int
relay_keep(struct relay *r, const char *p, size_t n)
{
	char *nb;

	if (r->ooff > 0) {
		memmove(r->ob, r->ob + r->ooff, r->olen - r->ooff);
		r->olen -= r->ooff;
		r->ooff = 0;
	}
	if ((nb = realloc(r->ob, r->olen + n)) == NULL)
		return -1;
	r->ob = nb;
	memcpy(r->ob + r->olen, p, n);
	r->olen += n;
	return 0;
}

/* Read and drop what the client still sends, then close. */
static void
relay_drain(struct relay *r)
{
	char buf[16384];
	ssize_t n;

	for (;;) {
		n = recv(r->cfd, buf, sizeof(buf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0 || (r->drained += (size_t)n) > RELAY_DRAIN) {
			relay_free(r);
			return;
		}
	}
}

/*
 * The end: MHD's side is closed, err (if any) follows what MHD wrote, and
 * once all of it is written the client is read to its end, for a while:
 * closing with unread bytes would send a reset that can destroy the
 * answer before the client reads it.
 */
static void
relay_close(struct relay *r, const struct wire_error *err)
{
	const char *labels[2];
	char code[8], *e;
	size_t elen;

	r->closing = 1;
	if (r->sfd != -1) {
		event_del(r->ev_sr);
		event_del(r->ev_sw);
		close(r->sfd);
		r->sfd = -1;
		http_kick(r->h);	/* MHD sees the end and lets go */
	}
	free(r->ib);
	r->ib = NULL;
	r->ilen = r->icap = r->judged = 0;
	if (err != NULL) {
		log_debug("http: fd %d: %u %s: %s", r->cfd, err->status,
		    err->code, err->msg);
		snprintf(code, sizeof(code), "%u", err->status);
		labels[0] = "other";
		labels[1] = code;
		metrics_inc(cw_metrics, M_HTTP_REQUESTS, labels, 1);
		if ((e = raw_error(err->status, err->code, err->msg,
		    &elen)) != NULL) {
			(void)relay_keep(r, e, elen);
			free(e);
		}
	}
	if (r->conn != NULL) {
		r->conn->relay = NULL;
		r->conn = NULL;
	}
	event_del(r->ev_cr);
	relay_out(r);
}

/* After the flush of relay_close(): read to the end, for a while. */
static void
relay_flushed(struct relay *r)
{
	struct timeval tv = { 2, 0 };

	if (r->draining)
		return;
	r->draining = 1;
	r->h->ndraining++;
	shutdown(r->cfd, SHUT_WR);
	if (r->h->stopping) {
		relay_free(r);
		return;
	}
	evtimer_add(r->timer, &tv);
	event_add(r->ev_cr, NULL);
	relay_drain(r);
}

/*
 * What waits on both sides, once MHD's side has been read to its end
 * (EAGAIN or EOF) and everything read is written.
 */
static void
relay_check(struct relay *r)
{
	int answered = r->nresp >= r->w.whole;

	if (r->closing)
		return;
	if (r->refuse && (answered || r->s_eof)) {
		/*
		 * Every request before the break is answered: ours comes
		 * next.  Unless MHD closed by itself without leaving one
		 * unanswered (it answered a cut request from its head).
		 */
		relay_close(r, !r->s_eof || (r->nresp == r->w.whole &&
		    r->w.heads > r->w.whole) ? &r->w.err : NULL);
		return;
	}
	if (r->s_eof) {
		relay_close(r, NULL);
		return;
	}
	/* The client sends no more: MHD hears it once it has answered. */
	if (r->c_eof && !r->s_shut && r->ilen == 0 && answered) {
		shutdown(r->sfd, SHUT_WR);
		r->s_shut = 1;
	}
}

/* MHD's side to the client; also the flush of relay_close(). */
static void
relay_out(struct relay *r)
{
	struct http *h = r->h;
	struct timeval tv;
	ssize_t n, m;

	for (;;) {
		if (r->olen > r->ooff) {
			n = send(r->cfd, r->ob + r->ooff, r->olen - r->ooff,
			    MSG_NOSIGNAL);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN) {
				/*
				 * The client does not read: neither do we,
				 * from MHD.  For idle_timeout at most, as
				 * MHD would wait on a socket of its own.
				 */
				if (r->sfd != -1)
					event_del(r->ev_sr);
				tv.tv_sec = (time_t)h->idle;
				tv.tv_usec = 0;
				event_add(r->ev_cw, &tv);
				return;
			}
			if (n == -1) {		/* the client is gone */
				relay_free(r);
				return;
			}
			r->ooff += (size_t)n;
			continue;
		}
		r->olen = r->ooff = 0;
		event_del(r->ev_cw);
		if (r->sfd == -1 || r->s_eof)
			break;
		n = recv(r->sfd, h->rbuf, RELAY_OUT, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			r->s_eof = 1;
			event_del(r->ev_sr);
			break;
		}
		m = send(r->cfd, h->rbuf, (size_t)n, MSG_NOSIGNAL);
		if (m == -1 && errno != EAGAIN && errno != EINTR) {
			relay_free(r);
			return;
		}
		if (m < 0)
			m = 0;
		if (m < n && relay_keep(r, h->rbuf + m, (size_t)(n - m)) ==
		    -1) {
			relay_free(r);
			return;
		}
		/*
		 * A short read took all there was (as EAGAIN would say, one
		 * system call later); more wakes ev_sr again.  Not with an
		 * error to answer: relay_check() must know whether MHD
		 * closed after what it wrote (an answer that closes the
		 * connection is the last one), and only the next read says.
		 */
		if (n < RELAY_OUT && m == n && !r->refuse)
			break;
	}
	if (r->closing) {
		relay_flushed(r);
		return;
	}
	if (!r->s_eof)
		event_add(r->ev_sr, NULL);
	relay_check(r);
}

/* The client's side to MHD, judged on the way. */
static void
relay_in(struct relay *r)
{
	enum wire_verdict v;
	size_t want, k;
	ssize_t n;
	char *nb;
	int again = 1;

	for (;;) {
		if (r->judged > 0) {
			n = send(r->sfd, r->ib, r->judged, MSG_NOSIGNAL);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN) {
				event_del(r->ev_cr);
				event_add(r->ev_sw, NULL);
				return;
			}
			if (n == -1) {	/* MHD closed its side: it ends */
				r->ilen = r->judged = 0;
				r->c_eof = 1;
				event_del(r->ev_cr);
				event_del(r->ev_sw);
				relay_out(r);
				return;
			}
			memmove(r->ib, r->ib + n, r->ilen - (size_t)n);
			r->ilen -= (size_t)n;
			r->judged -= (size_t)n;
			continue;
		}
		event_del(r->ev_sw);
		if (r->ilen == 0) {	/* an idle connection holds no buffer */
			free(r->ib);
			r->ib = NULL;
			r->icap = 0;
		}
		if (r->refuse || r->c_eof || wire_stopped(&r->w)) {
			event_del(r->ev_cr);
			relay_out(r);
			return;
		}
		event_add(r->ev_cr, NULL);	/* after a wait on MHD's side */
		if (!again)
			return;
		want = r->ilen + RELAY_READ;
		if (r->icap < want) {
			if ((nb = realloc(r->ib, want)) == NULL) {
				relay_free(r);
				return;
			}
			r->ib = nb;
			r->icap = want;
		}
		n = recv(r->cfd, r->ib + r->ilen, r->icap - r->ilen, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (r->ilen == 0) {
				free(r->ib);
				r->ib = NULL;
				r->icap = 0;
			}
			return;
		}
		if (n == -1) {			/* the client is gone */
			relay_free(r);
			return;
		}
		if (n == 0) {
			r->c_eof = 1;
			r->ilen = r->judged;	/* a part of a head: dropped */
			continue;
		}
		again = (size_t)n == r->icap - r->ilen;
		r->ilen += (size_t)n;
		k = wire_judge(&r->w, r->ib + r->judged, r->ilen - r->judged,
		    &v);
		r->judged += k;
		if (v != WIRE_MORE)
			r->ilen = r->judged;	/* nothing after it passes */
		if (v == WIRE_BAD)
			r->refuse = 1;
		if (r->ilen > r->judged && r->conn != NULL)
			conn_touch(r->conn);
	}
}

static void
relay_cr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	if (r->draining)
		relay_drain(r);
	else if (!r->closing)
		relay_in(r);
}

static void
relay_sw_cb(evutil_socket_t fd, short what, void *arg)
{
	relay_in(arg);
}

static void
relay_out_cb(evutil_socket_t fd, short what, void *arg)
{
	relay_out(arg);
}

/* The client can take more; or it took nothing for idle_timeout. */
static void
relay_cw_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	if (what & EV_TIMEOUT) {
		log_debug("http: fd %d: the client read nothing for %u s; "
		    "closing", r->cfd, r->h->idle);
		relay_free(r);
		return;
	}
	relay_out(r);
}

static void
relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	relay_free(arg);
}

/* MHD answered a request of r's (request_completed_cb()). */
static void
relay_answered(struct relay *r)
{
	r->nresp++;
	/* What waits for the answers is looked at once they are read. */
	if (r->refuse || r->c_eof)
		event_active(r->ev_sr, EV_READ, 1);
}

/*
 * A new client: a socket pair, whose other end MHD serves.  -1 when no
 * pair could be made (out of descriptors: the caller pauses accepting).
 */
static int
relay_new(struct http *h, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	struct relay *r;
	int sp[2], one = 1;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		close(fd);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sp) == -1) {
		free(r);
		close(fd);
		return -1;
	}
	/* What MHD writes comes to us whole; send it at once. */
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	r->h = h;
	r->cfd = fd;
	r->sfd = sp[0];
	wire_init(&r->w, h->max_head);
	r->ev_cr = event_new(h->base, fd, EV_READ | EV_PERSIST, relay_cr_cb,
	    r);
	r->ev_cw = event_new(h->base, fd, EV_WRITE | EV_PERSIST, relay_cw_cb,
	    r);
	r->ev_sr = event_new(h->base, sp[0], EV_READ | EV_PERSIST,
	    relay_out_cb, r);
	r->ev_sw = event_new(h->base, sp[0], EV_WRITE | EV_PERSIST,
	    relay_sw_cb, r);
	r->timer = evtimer_new(h->base, relay_timer_cb, r);
	TAILQ_INSERT_TAIL(&h->relays, r, entry);
	h->nrelays++;
	if (r->ev_cr == NULL || r->ev_cw == NULL || r->ev_sr == NULL ||
	    r->ev_sw == NULL || r->timer == NULL) {
		close(sp[1]);
		relay_free(r);
		return 0;
	}
	h->adopting = r;
	/* On failure MHD has closed sp[1]. */
	if (MHD_add_connection(h->mhd, sp[1], (const struct sockaddr *)ss,
	    sslen) != MHD_YES) {
		h->adopting = NULL;
		log_debug("http: fd %d: libmicrohttpd did not take it", fd);
		relay_free(r);
		return 0;
	}
	h->adopting = NULL;
	event_add(r->ev_cr, NULL);
	event_add(r->ev_sr, NULL);
	http_kick(h);
	return 0;
}

static void
http_relisten_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	if (!h->stopping)
		event_add(h->ev_listen, NULL);
}

/*
 * The listener.  The connection cap is ours too: libmicrohttpd's own
 * limit, once reached, just stops accepting, so clients would queue in
 * the backlog unanswered; we close the excess at once instead.
 */
static void
http_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct http *h = arg;
	struct sockaddr_storage ss;
	struct timeval tv = { 0, 100000 };
	socklen_t sslen;
	int fd, i;

	for (i = 0; i < 64; i++) {
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: pause, do not spin. */
				if (h->fd_short++ == 0)
					log_warn("http: accept (pausing 100 "
					    "ms at a time until descriptors "
					    "free)");
				event_del(h->ev_listen);
				evtimer_add(h->ev_relisten, &tv);
			}
			return;
		}
		if (h->nrelays >= h->max_conns) {
			if (!h->cap_logged)
				log_warnx("http: %u connections open "
				    "(max_connections); closing new ones",
				    h->max_conns);
			h->cap_logged = 1;
			close(fd);
			continue;
		}
		if (h->nrelays + 1 < h->max_conns)
			h->cap_logged = 0;
		if (relay_new(h, fd, &ss, sslen) == -1) {
			/* Out of descriptors for its pair: pause, as above. */
			if (h->fd_short++ == 0)
				log_warn("http: socketpair (pausing 100 ms at "
				    "a time until descriptors free)");
			event_del(h->ev_listen);
			evtimer_add(h->ev_relisten, &tv);
			return;
		}
		if (h->fd_short > 0) {
			log_notice("http: accepting again after %u pauses "
			    "for want of descriptors", h->fd_short);
			h->fd_short = 0;
		}
	}
}

/* ---- requests ---- */

/*
 * Count r's body buffer (r->cap) and its decoder, if any, in the bytes
 * held over all requests.
 */
static void
req_hold(struct req *r)
{
	size_t n = r->cap + (r->dec != NULL ? coding_mem() : 0);

	r->h->inflight = r->h->inflight - r->held + n;
	r->held = n;
}

/* The body is complete or refused: free its decoder. */
static void
req_dec_end(struct req *r)
{
	if (r->dec == NULL)
		return;
	coding_free(r->dec);
	r->dec = NULL;
	if (r->h != NULL)
		req_hold(r);
}

/*
 * Free r's body buffer and stop counting it; the decoder, if any, stays
 * (it may be the caller: req_append() runs inside coding_feed()).
 */
static void
req_buffer_release(struct req *r)
{
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
	if (r->h != NULL)
		req_hold(r);
}

/* Free r's body buffer and decoder, and stop counting them. */
static void
req_body_release(struct req *r)
{
	req_buffer_release(r);
	coding_free(r->dec);
	r->dec = NULL;
	if (r->h != NULL)
		r->h->inflight -= r->held;
	r->held = 0;
}

/* 503: the bodies already held reach max_inflight_body_bytes. */
static enum MHD_Result
shed(struct http *h, struct MHD_Connection *mc)
{
	const char *limit = "max_inflight_body_bytes";

	metrics_inc(cw_metrics, M_LIMIT_REACHED, &limit, 1);
	return send_error(h, mc, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded",
	    "too many request bodies in flight (max_inflight_body_bytes); "
	    "retry later");
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	event_batch_free(&r->batch);
	segment_result_free(&r->seg);
	req_body_release(r);
	free(r->source);
	free(r->path_id);
	free(r->rl_token);
	free(r);
}

static void
request_completed_cb(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct req *r = *con_cls;
	struct conn *c = conn_of(mc);

	*con_cls = NULL;
	if (c != NULL && c->route != NULL) {
		const union MHD_ConnectionInfo *ci;
		const char *labels[2];
		char code[8];

		ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_HTTP_STATUS);
		snprintf(code, sizeof(code), "%u", ci != NULL ?
		    ci->http_status : 0);
		labels[0] = c->route;
		labels[1] = code;
		metrics_inc(cw_metrics, M_HTTP_REQUESTS, labels, 1);
		metrics_observe(cw_metrics, M_HTTP_REQUEST_SECONDS, labels,
		    (double)(util_now_us() - c->t0) / 1e6);
		/* Steady state: one line per request, at debug only. */
		log_debug("http: request client=%s route=%s status=%s",
		    c->client[0] != '\0' ? c->client : "-", c->route, code);
		c->route = NULL;
	}
	if (c != NULL && c->relay != NULL &&
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		relay_answered(c->relay);
	if (c != NULL) {
		c->inreq = 0;
		if (h->stopping)
			shutdown(c->fd, SHUT_RDWR);
		else
			conn_arm(c);	/* the next request's deadline */
	}
	if (r == NULL)
		return;
	if (r->state == RS_WAIT) {
		r->orphan = 1;		/* storage still holds it */
		return;
	}
	req_free(r);
}

/* Header facts that MHD's own lookup would hide. */
struct framing {
	size_t		 head_bytes;	/* request head, about as sent */
	int		 ncl;		/* Content-Length headers */
	int		 nte;		/* Transfer-Encoding headers */
	int		 te_chunked;	/* the only coding is "chunked" */
	uint64_t	 cl;
	int		 cl_ok;
	int		 nhost;		/* Host headers */
	int		 nce;		/* Content-Encoding headers */
};

static enum MHD_Result
framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct framing *f = cls;
	const char *v = value != NULL ? value : "";
	size_t n;

	f->head_bytes += strlen(key) + strlen(v) + 4;	/* ": ", CRLF */
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		f->nhost++;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_ENCODING) == 0)
		f->nce++;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->ncl++;
		f->cl_ok = util_parse_u64(v, 0, UINT64_MAX, &f->cl) == 0;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->nte++;
		while (*v == ' ' || *v == '\t')
			v++;
		n = strlen(v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		f->te_chunked = n == 7 && strncasecmp(v, "chunked", 7) == 0;
	}
	return MHD_YES;
}

/* Media type of the request without parameters, lower-cased into buf. */
static const char *
content_type(struct MHD_Connection *mc, char *buf, size_t len)
{
	const char *ct;
	size_t i;

	ct = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct == NULL)
		return NULL;
	while (*ct == ' ')
		ct++;
	for (i = 0; i + 1 < len && ct[i] != '\0' && ct[i] != ';' &&
	    ct[i] != ' '; i++)
		buf[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ?
		    ct[i] + 32 : ct[i]);
	buf[i] = '\0';
	return buf;
}

/* Match method and path; 404/405 answered here. */
static const struct route *
route_find(struct http *h, struct MHD_Connection *mc, const char *url,
    const char *method, const char **id, size_t *idlen, enum MHD_Result *ret)
{
	const struct route *rt;
	char allow[64] = "";
	size_t i, plen;
	struct MHD_Response *resp;

	for (i = 0; i < NROUTES; i++) {
		rt = &routes[i];
		plen = strlen(rt->path);
		if (rt->flags & ROUTE_PREFIX) {
			const char *rest = url + plen, *slash;

			if (strncmp(url, rt->path, plen) != 0 ||
			    rest[0] == '\0' || rest[0] == '/')
				continue;
			slash = strchr(rest, '/');
			if (rt->suffix == NULL ? slash != NULL :
			    (slash == NULL || strcmp(slash, rt->suffix) != 0))
				continue;
			*id = rest;
			*idlen = slash != NULL ? (size_t)(slash - rest) :
			    strlen(rest);
		} else if (strcmp(url, rt->path) != 0)
			continue;
		if (strcmp(method, rt->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(rt->method, "GET") == 0))
			return rt;
		if (allow[0] != '\0')
			strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
		strncat(allow, rt->method, sizeof(allow) - strlen(allow) - 1);
	}
	if (allow[0] == '\0') {
		*ret = send_error(h, mc, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such endpoint");
		return NULL;
	}
	resp = error_response(h, MHD_HTTP_METHOD_NOT_ALLOWED,
	    "method_not_allowed", NULL, "method %.16s is not allowed here; "
	    "use %s", method, allow);
	if (resp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	*ret = queue(mc, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
	return NULL;
}

/* Check the bearer token; 401/403 answered here.  Returns the token. */
static const struct cw_token *
authenticate(struct http *h, struct MHD_Connection *mc, unsigned scope,
    enum MHD_Result *ret)
{
	const struct cw_token *tok;
	const char *a;

	a = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0) {
		*ret = send_error(h, mc, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "a bearer token is required (Authorization: Bearer ...)");
		return NULL;
	}
	a += 7;
	while (*a == ' ')
		a++;
	if ((tok = config_find_token(h->cfg, a, strlen(a))) == NULL) {
		*ret = send_error(h, mc, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "unknown token");
		return NULL;
	}
	if ((tok->scopes & scope) == 0) {
		*ret = send_error(h, mc, MHD_HTTP_FORBIDDEN, "forbidden",
		    "token '%s' lacks the '%s' scope", tok->name,
		    scope == CW_SCOPE_INGEST ? "ingest" :
		    scope == CW_SCOPE_READ ? "read" : "admin");
		return NULL;
	}
	return tok;
}

static char	*basic_key(struct MHD_Connection *);

/*
 * Segment: the write key may come in the body (writeKey), so a request
 * without Authorization must be read; but one with a Basic write key is
 * judged from the head.  Returns 1 to go on (*tokp set to the write key's
 * token if there is one), 0 with the answer queued.
 */
static int
segment_auth_early(struct http *h, struct MHD_Connection *mc,
    const struct cw_token **tokp, enum MHD_Result *ret)
{
	const struct cw_token *tok;
	const char *a;
	char *key;

	a = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (a == NULL || strncasecmp(a, "Basic ", 6) != 0)
		return 1;
	if ((key = basic_key(mc)) == NULL) {
		*ret = send_error(h, mc, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", "the Basic credentials cannot be read");
		return 0;
	}
	tok = config_find_token(h->cfg, key, strlen(key));
	MHD_free(key);
	if (tok == NULL) {
		*ret = send_error(h, mc, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", "unknown write key");
		return 0;
	}
	if ((tok->scopes & CW_SCOPE_INGEST) == 0) {
		*ret = send_error(h, mc, MHD_HTTP_FORBIDDEN, "forbidden",
		    "write key '%s' lacks the 'ingest' scope", tok->name);
		return 0;
	}
	*tokp = tok;
	return 1;
}

/*
 * Webhooks: an unknown source is 404 and a source without a signature
 * needs its bearer token, both from the head.  A signed source must read
 * the body (bounded by max_body_bytes) to verify it, and route_webhook()
 * verifies before it parses.  Returns 1 to go on (*tokp set to the bearer
 * token of an unsigned source), 0 with the answer queued.
 */
static int
webhook_auth_early(struct http *h, struct MHD_Connection *mc,
    const char *id, size_t idlen, const struct cw_token **tokp,
    enum MHD_Result *ret)
{
	const struct wh_source *src;
	char name[256];

	if (id == NULL || idlen >= sizeof(name))
		src = NULL;
	else {
		memcpy(name, id, idlen);
		name[idlen] = '\0';
		src = config_find_source(h->cfg, name);
	}
	if (src == NULL) {
		*ret = send_error(h, mc, MHD_HTTP_NOT_FOUND, "not_found",
		    "no webhook source with this name");
		return 0;
	}
	if (src->signature == WH_SIG_NONE &&
	    (*tokp = authenticate(h, mc, CW_SCOPE_INGEST, ret)) == NULL)
		return 0;
	return 1;
}

/*
 * The body's Content-Encoding; 415 answered here for one we cannot
 * decode.  1 to go on, 0 with the answer queued in *ret.
 */
static int
req_encoding(struct http *h, struct MHD_Connection *mc,
    const struct framing *f, enum coding_kind *enc, enum MHD_Result *ret)
{
	const char *ce;

	*enc = CODING_IDENTITY;
	if (f->nce == 0)
		return 1;
	ce = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (f->nce == 1 && ce != NULL && coding_parse(ce, enc) == 0)
		return 1;
	*ret = send_error(h, mc, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
	    "unsupported_encoding", "Content-Encoding '%.32s' is not "
	    "supported; send one of " CODING_ACCEPTED, f->nce > 1 ?
	    "(more than one header)" : ce != NULL ? ce : "");
	return 0;
}

/*
 * Everything decided from the request line and headers, before any body
 * byte is read.  Returns a new request, or NULL with the answer queued in
 * *ret.
 */
static struct req *
req_begin(struct http *h, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, enum MHD_Result *ret)
{
	const struct route *rt;
	const struct cw_token *tok = NULL, *rl = NULL;
	struct framing f = { 0, 0, 0, 0, 0, 0, 0, 0 };
	enum coding_kind enc = CODING_IDENTITY;
	int64_t wait;
	const char *id = NULL, *ct = NULL;
	size_t idlen = 0, max;
	char ctbuf[64];
	struct req *r;

	/*
	 * MHD's memory pool bounds the head only loosely (it must also hold
	 * the read buffer): enforce max_header_bytes here, with our JSON.
	 */
	MHD_get_connection_values(mc, MHD_HEADER_KIND, framing_cb, &f);
	f.head_bytes += strlen(method) + strlen(url) + 12;
	if (f.head_bytes > h->max_head) {
		*ret = send_error(h, mc, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
		    "headers_too_large", "the request head is over the limit "
		    "of %zu bytes", h->max_head);
		return NULL;
	}
	/* MHD takes HTTP/1.2 .. 1.9 for 1.1; we speak 1.0 and 1.1 only. */
	if (strcmp(version, MHD_HTTP_VERSION_1_1) != 0 &&
	    strcmp(version, MHD_HTTP_VERSION_1_0) != 0) {
		*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST, "bad_version",
		    "HTTP version '%.16s' is not supported; use HTTP/1.1",
		    version);
		return NULL;
	}
	if (f.nhost > 1) {
		*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "more than one Host header");
		return NULL;
	}
	if (f.nhost == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0) {
		*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST, "missing_host",
		    "an HTTP/1.1 request must carry a Host header");
		return NULL;
	}
	if ((rt = route_find(h, mc, url, method, &id, &idlen, ret)) == NULL)
		return NULL;
	if (conn_of(mc) != NULL)
		conn_of(mc)->route = rt->label;
	if (rt->flags & ROUTE_BODY) {
		if (f.nte > 0 && f.ncl > 0) {
			*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST,
			    "bad_framing", "Transfer-Encoding and "
			    "Content-Length must not both be sent");
			return NULL;
		}
		if (f.ncl > 1 || f.nte > 1) {
			*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST,
			    "bad_framing", "duplicate %s header", f.ncl > 1 ?
			    "Content-Length" : "Transfer-Encoding");
			return NULL;
		}
		if (f.nte == 1 && !f.te_chunked) {
			*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST,
			    "bad_framing", "the only transfer coding accepted "
			    "is chunked");
			return NULL;
		}
		if (f.ncl == 1 && !f.cl_ok) {
			*ret = send_error(h, mc, MHD_HTTP_BAD_REQUEST,
			    "bad_framing", "Content-Length is not a number");
			return NULL;
		}
	} else if (f.nte > 0 || f.ncl > 1 || (f.ncl == 1 &&
	    (!f.cl_ok || f.cl > 0))) {
		/*
		 * A route that takes no body reads none: refused from the
		 * head, and MHD closes the connection instead of reading
		 * (or waiting for) what was announced.
		 */
		*ret = send_error(h, mc, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body_too_large", "%s %s takes no request body", method,
		    rt->label);
		return NULL;
	}
	/* Who is asking, before any body byte is read. */
	if (rt->scope != 0 &&
	    (tok = rl = authenticate(h, mc, rt->scope, ret)) == NULL)
		return NULL;
	if (rt->fn == route_segment && !segment_auth_early(h, mc, &rl, ret))
		return NULL;
	if (rt->fn == route_webhook && !webhook_auth_early(h, mc, id, idlen,
	    &rl, ret))
		return NULL;
	/*
	 * One unit of the token's rate limit, before any body byte too: an
	 * exhausted token costs us a head, not a body to read and decode.
	 * An ingest's other events are charged once they are counted.
	 */
	if (rl != NULL && (wait = rate_charge(h, rl->name,
	    conn_client(mc), 1, 0)) > 0) {
		*ret = rate_refuse(h, mc, rl->name, wait);
		return NULL;
	}
	if (rt->flags & ROUTE_BODY) {
		if (f.ncl == 0 && f.nte == 0) {
			*ret = send_error(h, mc, MHD_HTTP_LENGTH_REQUIRED,
			    "length_required", "Content-Length or chunked "
			    "Transfer-Encoding is required");
			return NULL;
		}
		if (!req_encoding(h, mc, &f, &enc, ret))
			return NULL;
		/* An encoded body may be a little longer than it decodes. */
		max = enc == CODING_IDENTITY ? h->cfg->max_body_bytes :
		    coding_wire_max(h->cfg->max_body_bytes);
		if (f.ncl == 1 && f.cl > max) {
			*ret = send_error(h, mc, MHD_HTTP_CONTENT_TOO_LARGE,
			    "body_too_large", "body of %llu bytes is over the "
			    "limit of %zu bytes", (unsigned long long)f.cl,
			    max);
			return NULL;
		}
		ct = content_type(mc, ctbuf, sizeof(ctbuf));
		if (!(rt->flags & ROUTE_ANYTYPE) && (ct == NULL ||
		    (strcmp(ct, "application/json") != 0 &&
		    (!(rt->flags & ROUTE_NDJSON) ||
		    strcmp(ct, "application/x-ndjson") != 0)))) {
			*ret = send_error(h, mc,
			    MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    "unsupported_media_type", "Content-Type must be "
			    "application/json%s", (rt->flags & ROUTE_NDJSON) ?
			    " or application/x-ndjson" : "");
			return NULL;
		}
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (tok != NULL && (r->source = strdup(tok->name)) == NULL) ||
	    (rl != NULL && (r->rl_token = strdup(rl->name)) == NULL) ||
	    (id != NULL && (r->path_id = strndup(id, idlen)) == NULL)) {
		req_free(r);
		*ret = MHD_NO;
		return NULL;
	}
	r->h = h;
	r->mc = mc;
	r->conn = conn_of(mc);
	r->route = rt;
	r->state = RS_BODY;
	r->rl_held = rl != NULL;
	r->enc = enc;
	r->fmt = (rt->flags & ROUTE_NDJSON) && ct != NULL &&
	    strcmp(ct, "application/x-ndjson") == 0 ? BODY_NDJSON : BODY_JSON;
	if (enc != CODING_IDENTITY) {
		/* The decoded size is unknown: the buffer grows as it comes. */
		if (h->inflight + coding_mem() >
		    h->cfg->max_inflight_body_bytes) {
			req_free(r);
			*ret = shed(h, mc);
			return NULL;
		}
		if ((r->dec = coding_new(enc, h->cfg->max_body_bytes)) ==
		    NULL) {
			req_free(r);
			*ret = MHD_NO;
			return NULL;
		}
		req_hold(r);
	} else if (f.ncl == 1 && f.cl > 0) {
		if (h->inflight + f.cl > h->cfg->max_inflight_body_bytes) {
			req_free(r);
			*ret = shed(h, mc);
			return NULL;
		}
		/* Known length under the limit: one allocation. */
		if ((r->body = malloc(f.cl)) == NULL) {
			req_free(r);
			*ret = MHD_NO;
			return NULL;
		}
		r->cap = f.cl;
		req_hold(r);
	}
	return r;
}

/*
 * Append decoded body bytes to r's buffer.  0, or -1 with r->overflow or
 * r->shed set and the buffer released (the decoder is req_body()'s to
 * free: this runs as its output callback).
 */
static int
req_append(struct req *r, const char *data, size_t size)
{
	size_t cap;
	char *p;

	if (r->len + size > r->h->cfg->max_body_bytes) {
		/* Chunked body past the limit: drop it, answer 413 at the end. */
		r->overflow = 1;
		req_buffer_release(r);
		return -1;
	}
	if (r->len + size > r->cap) {
		cap = r->cap ? r->cap : 16384;
		while (cap < r->len + size)
			cap *= 2;
		if (cap > r->h->cfg->max_body_bytes)
			cap = r->h->cfg->max_body_bytes;
		if (r->h->inflight - r->held + cap >
		    r->h->cfg->max_inflight_body_bytes) {
			/* A chunked body past the shared cap: 503 at the end. */
			r->shed = 1;
			req_buffer_release(r);
			return -1;
		}
		if ((p = realloc(r->body, cap)) == NULL) {
			r->overflow = 1;
			req_buffer_release(r);
			return -1;
		}
		r->body = p;
		r->cap = cap;
		req_hold(r);
	}
	memcpy(r->body + r->len, data, size);
	r->len += size;
	return 0;
}

static int
req_put_cb(void *arg, const char *data, size_t size)
{
	return req_append(arg, data, size);
}

/*
 * The body's next bytes as sent: appended, or decoded and appended.
 * Once refused (overflow, shed, badenc) the rest is read and dropped,
 * never decoded.
 */
static void
req_body(struct req *r, const char *data, size_t size)
{
	if (r->overflow || r->shed || r->badenc)
		return;
	if (r->dec == NULL) {
		(void)req_append(r, data, size);
		return;
	}
	switch (coding_feed(r->dec, data, size, req_put_cb, r, &r->encerr)) {
	case CODING_OK:
		return;
	case CODING_STOP:	/* req_append() said why */
		break;
	case CODING_LIMIT:
		r->overflow = 1;
		break;
	case CODING_BAD:
		r->badenc = 1;
		break;
	case CODING_NOMEM:
		r->shed = 1;
		break;
	}
	req_body_release(r);
}

/* The whole body is in: a decoder must have seen a whole stream. */
static void
req_body_end(struct req *r)
{
	if (r->dec == NULL || r->overflow || r->shed || r->badenc)
		return;
	if (coding_finish(r->dec, &r->encerr) != CODING_OK) {
		r->badenc = 1;
		req_body_release(r);
		return;
	}
	req_dec_end(r);
}

/* Suspend until storage answers through http_*_done(). */
static enum MHD_Result
req_wait(struct req *r)
{
	r->state = RS_WAIT;
	MHD_suspend_connection(r->mc);
	return MHD_YES;
}

/* Called from storage: store the response and resume the connection. */
static void
req_finish(struct req *r, unsigned status, struct MHD_Response *resp)
{
	if (r->orphan) {
		if (resp != NULL)
			MHD_destroy_response(resp);
		req_free(r);
		return;
	}
	r->status = status;
	r->resp = resp;
	r->state = RS_RESPOND;
	MHD_resume_connection(r->mc);
	http_kick(r->h);
}

/*
 * The common ends of a storage completion: a request MHD already forgot,
 * or one that was not stored (503).  Returns 1 when r is finished.
 */
static int
req_not_stored(struct req *r, int committed, const char *what)
{
	if (r->orphan) {
		req_finish(r, 0, NULL);
		return 1;
	}
	if (committed)
		return 0;
	req_finish(r, MHD_HTTP_SERVICE_UNAVAILABLE, error_response(r->h,
	    MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
	    "the %s could not be stored; retry later", what));
	return 1;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct req *r = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;

	if (r == NULL) {
		struct conn *c = conn_of(mc);

		if (c != NULL) {
			c->inreq = 1;
			c->route = "other";
			c->t0 = util_now_us();
			client_of(h, mc, c->client, sizeof(c->client));
		}
		if ((r = req_begin(h, mc, url, method, version, &ret)) == NULL)
			return ret;
		if (c != NULL)
			c->route = r->route->label;
		*con_cls = r;
		/*
		 * Answer on the next call, even without a body: MHD 0.9.75
		 * closes the connection after a response queued from the
		 * first call (fine for the errors above, not for keep-alive).
		 * MHD sends 100 Continue here if the client asked.
		 */
		return MHD_YES;
	}
	switch (r->state) {
	case RS_BODY:
		if (*upload_data_size > 0) {
			req_body(r, upload_data, *upload_data_size);
			*upload_data_size = 0;
			return MHD_YES;
		}
		/* The whole request is in: the deadline has been met. */
		if (r->conn != NULL)
			evtimer_del(r->conn->deadline);
		req_body_end(r);
		if (r->overflow && r->encerr.code != NULL)
			return send_error(h, mc, MHD_HTTP_CONTENT_TOO_LARGE,
			    "body_too_large", "%s", r->encerr.msg);
		if (r->overflow)
			return send_error(h, mc, MHD_HTTP_CONTENT_TOO_LARGE,
			    "body_too_large", "body is over the limit of %zu "
			    "bytes%s", h->cfg->max_body_bytes,
			    r->enc != CODING_IDENTITY ? " once decoded" : "");
		if (r->badenc)
			return send_error(h, mc, MHD_HTTP_BAD_REQUEST,
			    "bad_encoding", "%s (Content-Encoding)",
			    r->encerr.msg);
		if (r->shed)
			return shed(h, mc);
		return r->route->fn(r);
	case RS_WAIT:
		return MHD_YES;		/* spurious: still waiting */
	case RS_RESPOND:
		resp = r->resp;
		r->resp = NULL;
		return queue(mc, r->status, resp);
	}
	return MHD_NO;
}

/* ---- handlers ---- */

static enum MHD_Result
route_healthz(struct req *r)
{
	return queue(r->mc, MHD_HTTP_OK, resp_json(r->h,
	    json_pack("{s:s}", "status", "ok")));
}

/* Prometheus text format; a bearer token only when metrics_token is set. */
static enum MHD_Result
route_metrics(struct req *r)
{
	const char *tok = r->h->cfg->metrics_token, *a;
	struct MHD_Response *resp;
	size_t len;
	char *text;

	if (tok != NULL) {
		a = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);
		if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0 ||
		    !util_ct_equal(a + 7, strlen(a + 7), tok, strlen(tok)))
			return send_error(r->h, r->mc, MHD_HTTP_UNAUTHORIZED,
			    "unauthorized", "/metrics needs the metrics token");
	}
	if (r->h->ops.metrics_refresh != NULL)
		r->h->ops.metrics_refresh(r->h->ops.arg);
	metrics_process_sample(cw_metrics);
	if ((text = metrics_render(cw_metrics, &len)) == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	return queue(r->mc, MHD_HTTP_OK, resp);
}

/* The API's description, as built in (openapi.h); no token. */
static enum MHD_Result
route_openapi(struct req *r)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(openapi_json_len,
	    (void *)(uintptr_t)openapi_json, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	if (r->h->stopping)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	return queue(r->mc, MHD_HTTP_OK, resp);
}

static enum MHD_Result
route_readyz(struct req *r)
{
	const char *reason = "not ready";
	struct MHD_Response *resp;

	if (r->h->ops.ready(r->h->ops.arg, &reason))
		return queue(r->mc, MHD_HTTP_OK, resp_json(r->h,
		    json_pack("{s:s}", "status", "ready")));
	resp = resp_json(r->h, json_pack("{s:s, s:s}", "status", "not_ready",
	    "reason", reason));
	if (resp != NULL)
		resp_extra_headers(resp, MHD_HTTP_SERVICE_UNAVAILABLE);
	return queue(r->mc, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
}

static json_t *
rejection_json(size_t index, const char *code, const char *msg)
{
	return json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index,
	    "error", code, "message", msg);
}

/*
 * The rejected events by request index: the decoder's, and (fresh and
 * why given) those PostgreSQL refused, merged in index order.
 */
static json_t *
rejected_json(const struct cw_event_batch *b, const uint8_t *fresh,
    const char *const *why)
{
	json_t *a = json_array();
	size_t i, k = 0, v = 0;
	char msg[200];

	for (i = 0; i < b->total; i++) {
		if (k < b->nrej && b->rej[k].index == i) {
			json_array_append_new(a, rejection_json(i,
			    b->rej[k].err.code, b->rej[k].err.msg));
			k++;
			continue;
		}
		if (fresh != NULL && v < b->nev && fresh[v] == 2) {
			snprintf(msg, sizeof(msg), "PostgreSQL refused the "
			    "event: %s", why != NULL && why[v] != NULL ?
			    why[v] : "see the daemon's log");
			json_array_append_new(a, rejection_json(i,
			    "refused_by_database", msg));
		}
		v++;
	}
	return a;
}

/*
 * Ask ops.admit whether the request fits [limits]; 1 if so.  Otherwise
 * the refusal is counted and answered (503, Retry-After, limit_reached)
 * and *ret holds what to return: nothing was acknowledged.
 */
static int
admitted(struct req *r, const struct cw_event *ev, size_t n,
    const char *const *accounts, size_t naccounts,
    const char *const *members, size_t nmembers, enum MHD_Result *ret)
{
	struct http *h = r->h;
	struct cw_error err;
	const char *limit = NULL;

	if (h->ops.admit == NULL || h->ops.admit(h->ops.arg, ev, n, accounts,
	    naccounts, members, nmembers, &limit, &err) == 0)
		return 1;
	if (limit != NULL)
		metrics_inc(cw_metrics, M_LIMIT_REACHED, &limit, 1);
	*ret = send_error(h, r->mc, MHD_HTTP_SERVICE_UNAVAILABLE, err.code,
	    "%s", err.msg);
	return 0;
}

static enum MHD_Result
unavailable(struct req *r, const char *reason)
{
	return send_error(r->h, r->mc, MHD_HTTP_SERVICE_UNAVAILABLE,
	    "unavailable", "%s; retry later", reason);
}

static enum MHD_Result
route_events(struct req *r)
{
	struct http *h = r->h;
	const struct cw_config *cfg = h->cfg;
	struct cw_event_limits lim;
	struct cw_error err;
	const char *reason = "not ready";
	enum MHD_Result ret;
	int64_t now = util_now_us();

	if (!h->ops.ready(h->ops.arg, &reason))
		return unavailable(r, reason);
	lim.max_events = cfg->max_events;
	lim.horizon_us = (int64_t)cfg->horizon_days * CW_USEC_PER_DAY;
	lim.future_us = (int64_t)cfg->future_skew * CW_USEC_PER_SEC;
	if (event_decode_body(r->body, r->len, r->fmt, now, &lim, &r->batch,
	    &err) == -1) {
		metrics_inc(cw_metrics, M_EVENTS_REJECTED, &err.code, 1);
		return send_error(h, r->mc,
		    strcmp(err.code, "too_many_events") == 0 ?
		    MHD_HTTP_CONTENT_TOO_LARGE :
		    strcmp(err.code, "internal_error") == 0 ?
		    MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_BAD_REQUEST,
		    err.code, "%s", err.msg);
	}
	/* Every event counts, valid or not: each was decoded and judged. */
	if (!req_charge(r, r->source, r->batch.total, &ret))
		return ret;
	for (size_t i = 0; i < r->batch.nrej; i++)
		metrics_inc(cw_metrics, M_EVENTS_REJECTED,
		    &r->batch.rej[i].err.code, 1);
	/* The body is decoded into the batch: release it early. */
	req_body_release(r);
	if (r->batch.nev == 0)
		return queue(r->mc, MHD_HTTP_BAD_REQUEST, error_response(h,
		    MHD_HTTP_BAD_REQUEST, "invalid_events",
		    json_pack("{s:o}", "rejected", rejected_json(&r->batch, NULL,
		    NULL)),
		    "none of the %zu events is valid", r->batch.total));
	if (!admitted(r, r->batch.ev, r->batch.nev, NULL, 0, NULL, 0, &ret))
		return ret;
	if (h->ops.ingest(h->ops.arg, r->source, r->batch.ev, r->batch.nev,
	    r) == -1)
		return unavailable(r, "the database is not available");
	return req_wait(r);
}

/* ---- webhook sources (SPEC 2.3) ---- */

static const char *
header_get(void *arg, const char *name)
{
	return MHD_lookup_connection_value(arg, MHD_HEADER_KIND, name);
}

static enum MHD_Result
route_webhook(struct req *r)
{
	struct http *h = r->h;
	const struct wh_source *src;
	const struct cw_token *tok;
	struct cw_event_limits lim;
	struct cw_error err;
	const char *reason = "not ready", *labels[1];
	enum MHD_Result ret;
	int64_t now = util_now_us();
	char *json;
	int rc;

	if ((src = config_find_source(h->cfg, r->path_id)) == NULL)
		return send_error(h, r->mc, MHD_HTTP_NOT_FOUND, "not_found",
		    "no webhook source with this name");
	if (src->signature == WH_SIG_NONE) {
		if ((tok = authenticate(h, r->mc, CW_SCOPE_INGEST, &ret)) ==
		    NULL)
			return ret;
	} else if (webhook_verify(src, r->body != NULL ? r->body : "",
	    r->len, header_get, r->mc, now, &err) == -1) {
		labels[0] = src->name;
		metrics_inc(cw_metrics, M_SIGNATURE_FAILURES, labels, 1);
		return send_error(h, r->mc, MHD_HTTP_UNAUTHORIZED, err.code,
		    "%s", err.msg);
	}
	if (!h->ops.ready(h->ops.arg, &reason))
		return unavailable(r, reason);
	if (webhook_map(src, r->body != NULL ? r->body : "", r->len, &json,
	    &err) == -1) {
		metrics_inc(cw_metrics, M_EVENTS_REJECTED, &err.code, 1);
		return send_error(h, r->mc, MHD_HTTP_BAD_REQUEST, err.code,
		    "%s", err.msg);
	}
	lim.max_events = 1;
	lim.horizon_us = (int64_t)h->cfg->horizon_days * CW_USEC_PER_DAY;
	lim.future_us = (int64_t)h->cfg->future_skew * CW_USEC_PER_SEC;
	rc = event_decode_body(json, strlen(json), BODY_JSON, now, &lim,
	    &r->batch, &err);
	free(json);
	if (rc == -1)
		return send_error(h, r->mc, MHD_HTTP_BAD_REQUEST, err.code,
		    "%s", err.msg);
	req_body_release(r);
	if (r->batch.nev == 0) {
		metrics_inc(cw_metrics, M_EVENTS_REJECTED,
		    &r->batch.rej[0].err.code, 1);
		return queue(r->mc, MHD_HTTP_BAD_REQUEST, error_response(h,
		    MHD_HTTP_BAD_REQUEST, "invalid_events",
		    json_pack("{s:o}", "rejected", rejected_json(&r->batch, NULL,
		    NULL)),
		    "the webhook does not map to a valid event"));
	}
	if (!admitted(r, r->batch.ev, r->batch.nev, NULL, 0, NULL, 0, &ret))
		return ret;
	free(r->source);
	if ((r->source = strdup(src->name)) == NULL ||
	    h->ops.ingest(h->ops.arg, r->source, r->batch.ev, r->batch.nev,
	    r) == -1)
		return unavailable(r, "the database is not available");
	return req_wait(r);
}

/* ---- Slack (SPEC 2.7) ---- */

/*
 * Slack's signature over the raw body, its 5-minute window and the
 * replay check come before anything of the body is read; any failure is
 * 401 and changes nothing.
 */
static enum MHD_Result
route_slack(struct req *r)
{
	struct http *h = r->h;
	const char *ts, *sig, *why = NULL, *labels[1] = { "slack" };
	int64_t now = util_now_us() / CW_USEC_PER_SEC;
	enum MHD_Result ret;

	ts = header_get(r->mc, "X-Slack-Request-Timestamp");
	sig = header_get(r->mc, "X-Slack-Signature");
	if (h->ops.slack == NULL)
		why = "the Slack app is not available";
	else if (slack_verify(h->cfg->slack.signing_secret, ts, sig,
	    r->body != NULL ? r->body : "", r->len, now, &why) == 0 &&
	    (h->slack_seen == NULL || slack_replay_check(h->slack_seen, sig,
	    strtoll(ts, NULL, 10), now)))
		why = "this request was already received (a replay)";
	if (why != NULL) {
		metrics_inc(cw_metrics, M_SIGNATURE_FAILURES, labels, 1);
		return send_error(h, r->mc, MHD_HTTP_UNAUTHORIZED,
		    "invalid_signature", "%s", why);
	}
	if (!reads_ready(r, &ret))
		return ret;
	if (h->ops.slack(h->ops.arg, r->route->api, r->body != NULL ?
	    r->body : "", r->len, r) == -1)
		return unavailable(r, "cannot take the request now");
	return req_wait(r);
}

/* ---- Segment-compatible ingestion (SPEC 2.4) ---- */

static const char *
member_find_cb(const char *user_id, void *arg)
{
	struct http *h = arg;

	return h->ops.member_find(h->ops.arg, user_id);
}

/* The write key of "Authorization: Basic base64(key:)", or NULL. */
static char *
basic_key(struct MHD_Connection *mc)
{
	const char *a;
	char *user = NULL, *pass = NULL;

	a = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (a == NULL || strncasecmp(a, "Basic ", 6) != 0)
		return NULL;
	user = MHD_basic_auth_get_username_password(mc, &pass);
	MHD_free(pass);
	return user;
}

/* Admission of a decoded Segment request: events, groups, members. */
static int
seg_admitted(struct req *r, enum MHD_Result *ret)
{
	const struct seg_result *res = &r->seg;
	const char **ids;
	size_t i, n = res->naccounts + res->nmembers;
	int ok;

	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		*ret = unavailable(r, "out of memory");
		return 0;
	}
	for (i = 0; i < res->naccounts; i++)
		ids[i] = res->accounts[i].account_id;
	for (i = 0; i < res->nmembers; i++)
		ids[res->naccounts + i] = res->members[i].user_id;
	ok = admitted(r, res->ev, res->nev, ids, res->naccounts,
	    ids + res->naccounts, res->nmembers, ret);
	free(ids);
	return ok;
}

static enum MHD_Result
route_segment(struct req *r)
{
	static const char *const logins[] = { "Signed In", "Logged In",
	    "Login" };
	struct http *h = r->h;
	struct seg_rules rules;
	struct seg_lookup lookup;
	struct cw_error err;
	const struct cw_token *tok;
	const char *reason = "not ready";
	enum MHD_Result ret;
	char *key;
	int call;

	call = r->path_id != NULL ? segment_call_parse(r->path_id,
	    strlen(r->path_id)) : r->route->api;
	if (call == -1)
		return send_error(h, r->mc, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such Segment endpoint");
	if (!h->ops.ready(h->ops.arg, &reason))
		return unavailable(r, reason);
	rules.login_events = h->cfg->segment_logins != NULL ?
	    (const char *const *)h->cfg->segment_logins : logins;
	rules.nlogin_events = h->cfg->segment_logins != NULL ?
	    h->cfg->nsegment_logins : sizeof(logins) / sizeof(logins[0]);
	rules.future_us = (int64_t)h->cfg->future_skew * CW_USEC_PER_SEC;
	lookup.account_of = member_find_cb;
	lookup.arg = h;
	if (segment_decode(call, r->body != NULL ? r->body : "", r->len,
	    util_now_us(), &rules, &lookup, &r->seg, &err) == -1) {
		metrics_inc(cw_metrics, M_EVENTS_REJECTED, &err.code, 1);
		return send_error(h, r->mc, MHD_HTTP_BAD_REQUEST, err.code,
		    "%s", err.msg);
	}
	/* The write key: Basic auth (user name), else writeKey in the body. */
	if ((key = basic_key(r->mc)) == NULL && r->seg.write_key != NULL)
		key = strdup(r->seg.write_key);
	if (key == NULL)
		return send_error(h, r->mc, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", "a write key is required (HTTP Basic "
		    "user name or writeKey)");
	tok = config_find_token(h->cfg, key, strlen(key));
	free(key);
	if (tok == NULL)
		return send_error(h, r->mc, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", "unknown write key");
	if ((tok->scopes & CW_SCOPE_INGEST) == 0)
		return send_error(h, r->mc, MHD_HTTP_FORBIDDEN, "forbidden",
		    "write key '%s' lacks the 'ingest' scope", tok->name);
	/* A write key in the body is charged here, all at once. */
	if (!req_charge(r, tok->name, r->seg.nev, &ret) ||
	    !seg_admitted(r, &ret))
		return ret;
	req_body_release(r);
	free(r->source);
	if ((r->source = strdup(tok->name)) == NULL ||
	    h->ops.segment(h->ops.arg, r->source, &r->seg, r) == -1)
		return unavailable(r, "the database is not available");
	return req_wait(r);
}

const char *
http_ingest_source(void *handle)
{
	return ((struct req *)handle)->source;
}

void
http_segment_done(void *handle, int committed, const char *refused)
{
	struct req *r = handle;

	if (req_not_stored(r, committed, "messages"))
		return;
	if (refused != NULL) {
		/* The other messages are stored; this one never will be. */
		req_finish(r, MHD_HTTP_BAD_REQUEST, error_response(r->h,
		    MHD_HTTP_BAD_REQUEST, "refused_by_database", NULL,
		    "PostgreSQL refused a message (the others are stored): "
		    "%s", refused));
		return;
	}
	req_finish(r, MHD_HTTP_OK, resp_json(r->h, json_pack("{s:b}",
	    "success", 1)));
}

void
http_ingest_done(void *handle, int committed, const uint8_t *fresh,
    const char *const *why)
{
	static const char *const refused_code = "refused_by_database";
	struct req *r = handle;
	json_t *body, *rejected;
	size_t i, fresh_n = 0, refused = 0, dups;

	if (req_not_stored(r, committed, "events"))
		return;
	for (i = 0; i < r->batch.nev; i++) {
		const char *labels[2] = { event_type_name(r->batch.ev[i].type),
		    r->source };

		if (fresh[i] == 2) {
			refused++;
			metrics_inc(cw_metrics, M_EVENTS_REJECTED,
			    &refused_code, 1);
			continue;
		}
		fresh_n += fresh[i] == 1;
		metrics_inc(cw_metrics, M_EVENTS_RECEIVED, labels, 1);
	}
	dups = r->batch.nev - fresh_n - refused;
	if (dups > 0)
		metrics_inc(cw_metrics, M_EVENTS_DUPLICATE, NULL, (double)dups);
	rejected = rejected_json(&r->batch, refused > 0 ? fresh : NULL, why);
	if (fresh_n + dups == 0) {
		req_finish(r, MHD_HTTP_BAD_REQUEST, error_response(r->h,
		    MHD_HTTP_BAD_REQUEST, "invalid_events",
		    json_pack("{s:o}", "rejected", rejected),
		    "none of the %zu events could be stored",
		    r->batch.total));
		return;
	}
	body = json_pack("{s:I, s:I, s:o}",
	    "accepted", (json_int_t)fresh_n,
	    "duplicates", (json_int_t)dups,
	    "rejected", rejected);
	req_finish(r, MHD_HTTP_ACCEPTED, resp_json(r->h, body));
}

static enum MHD_Result
route_account_put(struct req *r)
{
	struct http *h = r->h;
	struct cw_error err;
	const char *reason = "not ready", *ids[1];
	enum MHD_Result ret;
	char *json;
	int rc;

	if (account_id_valid(r->path_id, &err) == -1 ||
	    account_meta_decode(r->body, r->len, &json, &err) == -1)
		return send_error(h, r->mc, MHD_HTTP_BAD_REQUEST, err.code,
		    "%s", err.msg);
	if (!h->ops.ready(h->ops.arg, &reason)) {
		free(json);
		return unavailable(r, reason);
	}
	ids[0] = r->path_id;
	if (!admitted(r, NULL, 0, ids, 1, NULL, 0, &ret)) {
		free(json);
		return ret;
	}
	rc = h->ops.account_put(h->ops.arg, r->path_id, json, r);
	free(json);
	if (rc == -1)
		return unavailable(r, "the database is not available");
	return req_wait(r);
}

/* Reads are answered from memory, but only once it has been loaded. */
static int
reads_ready(struct req *r, enum MHD_Result *ret)
{
	const char *reason = "not ready";

	if (r->h->ops.ready(r->h->ops.arg, &reason))
		return 1;
	*ret = unavailable(r, reason);
	return 0;
}

static enum MHD_Result
json_string_response(struct req *r, unsigned status, char *s)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	if (r->h->stopping)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	return queue(r->mc, status, resp);
}

static enum MHD_Result
route_account_get(struct req *r)
{
	struct cw_error err;
	enum MHD_Result ret;
	char *s;

	if (account_id_valid(r->path_id, &err) == -1)
		return send_error(r->h, r->mc, MHD_HTTP_BAD_REQUEST, err.code,
		    "%s", err.msg);
	if (!reads_ready(r, &ret))
		return ret;
	if ((s = r->h->ops.account_get(r->h->ops.arg, r->path_id)) == NULL)
		return send_error(r->h, r->mc, MHD_HTTP_NOT_FOUND, "not_found",
		    "no account with this id");
	return json_string_response(r, MHD_HTTP_OK, s);
}

static enum MHD_Result
route_account_list(struct req *r)
{
	static const char *const names[6] = {
		"status", "owner", "segment", "sort", "limit", "cursor"
	};
	const char *q[6], *err = "invalid query";
	enum MHD_Result ret;
	int i;
	char *s;

	if (!reads_ready(r, &ret))
		return ret;
	for (i = 0; i < 6; i++)
		q[i] = MHD_lookup_connection_value(r->mc,
		    MHD_GET_ARGUMENT_KIND, names[i]);
	if ((s = r->h->ops.account_list(r->h->ops.arg, q, &err)) == NULL)
		return send_error(r->h, r->mc, MHD_HTTP_BAD_REQUEST,
		    "invalid_query", "%s", err);
	return json_string_response(r, MHD_HTTP_OK, s);
}

static enum MHD_Result
route_api(struct req *r)
{
	static const char *const names[3] = { "state", "account_id", "since" };
	/* The reports' parameters (SPEC 2.8). */
	static const char *const quality[3] = { "since", "until", "within" };
	static const char *const movers[3] = { "days", NULL, NULL };
	const char *const *qn = r->route->api == HTTP_API_REPORT_QUALITY ?
	    quality : r->route->api == HTTP_API_REPORT_MOVERS ? movers : names;
	const char *q[3];
	enum MHD_Result ret;
	int i;

	if (!reads_ready(r, &ret))
		return ret;
	for (i = 0; i < 3; i++)
		q[i] = qn[i] == NULL ? NULL : MHD_lookup_connection_value(
		    r->mc, MHD_GET_ARGUMENT_KIND, qn[i]);
	if (r->h->ops.api(r->h->ops.arg, r->route->api, r->path_id,
	    r->body, r->len, q, r->source, r) == -1)
		return unavailable(r, "the database is not available");
	return req_wait(r);
}

void
http_api_done(void *handle, unsigned status, char *json)
{
	struct req *r = handle;
	struct MHD_Response *resp;

	if (r->orphan) {
		free(json);
		req_finish(r, 0, NULL);
		return;
	}
	resp = MHD_create_response_from_buffer(strlen(json), json,
	    MHD_RESPMEM_MUST_FREE);
	if (resp != NULL) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
		if (r->h->stopping)
			MHD_add_response_header(resp,
			    MHD_HTTP_HEADER_CONNECTION, "close");
	} else
		free(json);
	req_finish(r, status, resp);
}

void
http_api_error(void *handle, unsigned status, const char *code,
    const char *msg)
{
	struct req *r = handle;

	if (r->orphan) {
		req_finish(r, 0, NULL);
		return;
	}
	req_finish(r, status, error_response(r->h, status, code, NULL, "%s",
	    msg));
}

void
http_account_done(void *handle, int committed, int created)
{
	struct req *r = handle;

	if (req_not_stored(r, committed, "account"))
		return;
	req_finish(r, created ? MHD_HTTP_CREATED : MHD_HTTP_OK,
	    resp_json(r->h, json_pack("{s:s, s:b}", "id", r->path_id,
	    "created", created)));
}

/* ---- the loop ---- */

static void
http_run(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	struct timeval tv;

	MHD_run(h->mhd);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
		evtimer_add(h->ev_timer, &tv);
	} else
		evtimer_del(h->ev_timer);
}

static void
http_mhd_cb(evutil_socket_t fd, short what, void *arg)
{
	http_run(arg);
}

/* Run MHD soon, from the loop (after a resume or a shutdown()). */
static void
http_kick(struct http *h)
{
	event_active(h->ev_mhd, EV_READ, 1);
}

static void
mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	/*
	 * Not formatted unless written: on a relayed connection (a socket
	 * pair) libmicrohttpd 0.9.75 says for every response that it
	 * cannot set TCP_CORK (EOPNOTSUPP, which it does not take for "not
	 * TCP").
	 */
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* Its TCP tuning of a socket pair: three lines a response. */
	if (strstr(buf, "TCP_NODELAY") != NULL ||
	    strstr(buf, "TCP_CORK") != NULL ||
	    strstr(buf, "push the data from buffers") != NULL)
		return;
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("http: %s", buf);
}

/* A listening socket for cfg->listen; -1 on failure (logged). */
static int
http_listen(const struct cw_config *cfg)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], portstr[16];
	unsigned port = 0;
	int fd = -1, one = 1, rc;

	if (config_split_listen(cfg->listen, host, sizeof(host), &port) ==
	    -1) {
		log_warnx("http: bad listen address");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints,
	    &ai)) != 0) {
		log_warnx("http: %s: %s", cfg->listen, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 511) == -1) {
		log_warn("http: cannot listen on %s", cfg->listen);
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct http *
http_new(struct event_base *base, const struct cw_config *cfg, int listen_fd,
    const struct http_ops *ops)
{
	const union MHD_DaemonInfo *di;
	struct http *h;
	size_t memlimit;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	h->cfg = cfg;
	h->ops = *ops;
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->relays);
	if (rate_build(h, cfg) == -1 ||
	    (h->slack_seen = slack_replay_new()) == NULL ||
	    (h->rbuf = malloc(RELAY_OUT)) == NULL)
		goto fail;
	if (listen_fd >= 0) {
		h->listen_fd = listen_fd;
		if (evutil_make_socket_nonblocking(listen_fd) == -1) {
			log_warn("http: the activated socket");
			goto fail;
		}
	} else if ((h->listen_fd = http_listen(cfg)) == -1)
		goto fail;
	/*
	 * MHD gets no listening socket: we accept, and hand it one end of a
	 * relay per connection with MHD_add_connection() (relay_*).  Its
	 * pool holds a head of max_header_bytes (its read buffer takes half)
	 * and the records of the head's fields, which wire.c bounds to
	 * max_header_bytes too (WIRE_FIELD_COST).
	 */
	h->max_head = cfg->max_header_bytes;
	h->idle = cfg->idle_timeout;
	h->max_conns = cfg->max_connections;
	memlimit = h->max_head * 2 + 32768;
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
	    access_cb, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, h,
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)(h->max_conns + HTTP_CONN_SLACK),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->idle_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, memlimit,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed_cb, h,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection_cb, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		log_warnx("http: cannot listen on %s: libmicrohttpd did not "
		    "start", listen_fd >= 0 ? "the activated socket" :
		    cfg->listen);
		close(h->listen_fd);
		goto fail;
	}
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	h->ev_mhd = event_new(base, di->epoll_fd, EV_READ | EV_PERSIST,
	    http_mhd_cb, h);
	h->ev_timer = evtimer_new(base, http_mhd_cb, h);
	h->ev_listen = event_new(base, h->listen_fd, EV_READ | EV_PERSIST,
	    http_accept_cb, h);
	h->ev_relisten = evtimer_new(base, http_relisten_cb, h);
	event_add(h->ev_mhd, NULL);
	event_add(h->ev_listen, NULL);
	http_run(h);
	return h;
fail:
	rate_free(h->buckets, h->nbuckets);
	slack_replay_free(h->slack_seen);
	free(h->rbuf);
	free(h);
	return NULL;
}

void
http_set_config(struct http *h, const struct cw_config *cfg)
{
	h->cfg = cfg;
	if (rate_build(h, cfg) == -1)
		log_warnx("http: out of memory for the rate limits; the "
		    "tokens keep their old ones, new tokens have none");
}

void
http_stop_accepting(struct http *h)
{
	struct conn *c;

	if (h->stopping)
		return;
	h->stopping = 1;
	event_del(h->ev_listen);
	evtimer_del(h->ev_relisten);
	close(h->listen_fd);
	h->listen_fd = -1;
	TAILQ_FOREACH(c, &h->conns, entry)
		if (!c->inreq)
			shutdown(c->fd, SHUT_RDWR);
	http_kick(h);
}

size_t
http_connections(const struct http *h)
{
	/* Those answered and closing have nothing more to say. */
	return h->nrelays - h->ndraining;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	while (!TAILQ_EMPTY(&h->relays))
		relay_free(TAILQ_FIRST(&h->relays));
	event_free(h->ev_mhd);
	event_free(h->ev_timer);
	event_free(h->ev_listen);
	event_free(h->ev_relisten);
	if (h->listen_fd != -1)
		close(h->listen_fd);
	free(h->rbuf);
	rate_free(h->buckets, h->nbuckets);
	slack_replay_free(h->slack_seen);
	free(h);
}
