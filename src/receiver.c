/*
 * receiver.c -- the receiver kinds, one row each (see receiver.h).
 *
 * Owns the table and the small per-kind request and classification
 * functions.  Does not own what a message says (notify.c, slack.c) nor
 * sending it (outbox.c).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "notify.h"
#include "receiver.h"
#include "slack.h"

/* ---- requests ---- */

static int
hdr_add(char hdr[][RECEIVER_HDR_LEN], size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
hdr_add(char hdr[][RECEIVER_HDR_LEN], size_t *n, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (*n >= RECEIVER_HDR_MAX)
		return -1;
	va_start(ap, fmt);
	len = vsnprintf(hdr[*n], RECEIVER_HDR_LEN, fmt, ap);
	va_end(ap);
	if (len < 0 || len >= RECEIVER_HDR_LEN)
		return -1;
	(*n)++;
	return 0;
}

static int
url_copy(char *url, const char *base, const char *path)
{
	int len;

	len = snprintf(url, RECEIVER_URL_LEN, "%s%s", base != NULL ? base : "",
	    path);
	return len < 0 || len >= RECEIVER_URL_LEN ? -1 : 0;
}

/* JSON to the receiver's URL, without the "Expect: 100-continue" trip. */
static int
request_json(const struct receiver_request *rq, char *url,
    char hdr[][RECEIVER_HDR_LEN], size_t *nhdr)
{
	*nhdr = 0;
	if (url_copy(url, rq->url, "") == -1 ||
	    hdr_add(hdr, nhdr, "Content-Type: application/json") == -1 ||
	    hdr_add(hdr, nhdr, "Expect:") == -1)
		return -1;
	return 0;
}

/* As request_json, with the notification id (or group size) and, when a
 * secret is set, X-Churnwatch-Signature made now: a retry is fresh. */
static int
request_webhook(const struct receiver_request *rq, char *url,
    char hdr[][RECEIVER_HDR_LEN], size_t *nhdr)
{
	char sig[NOTIFY_SIGNATURE_LEN];

	if (request_json(rq, url, hdr, nhdr) == -1)
		return -1;
	if (rq->nmembers > 0) {
		if (hdr_add(hdr, nhdr, "X-Churnwatch-Group-Size: %zu",
		    rq->nmembers) == -1)
			return -1;
	} else if (hdr_add(hdr, nhdr, "X-Churnwatch-Notification-Id: %"
	    PRIu64, rq->id) == -1)
		return -1;
	if (rq->secret == NULL)
		return 0;
	if (notify_sign(rq->secret, rq->body, rq->len, rq->now, sig,
	    sizeof(sig)) == -1 ||
	    hdr_add(hdr, nhdr, "X-Churnwatch-Signature: %s", sig) == -1)
		return -1;
	return 0;
}

/*
 * The Web API: chat.update when the body names the message (its "ts"),
 * else chat.postMessage; the bot token as a bearer token.
 */
static int
request_slack_app(const struct receiver_request *rq, char *url,
    char hdr[][RECEIVER_HDR_LEN], size_t *nhdr)
{
	*nhdr = 0;
	if (rq->secret == NULL || url_copy(url, rq->url,
	    slack_body_is_update(rq->body) ? "/chat.update" :
	    "/chat.postMessage") == -1 ||
	    hdr_add(hdr, nhdr, "Content-Type: application/json; "
	    "charset=utf-8") == -1 ||
	    hdr_add(hdr, nhdr, "Authorization: Bearer %s", rq->secret) == -1 ||
	    hdr_add(hdr, nhdr, "Expect:") == -1)
		return -1;
	return 0;
}

/* ---- classification ---- */

static void
verdict_http(long status, int transport, int gone_on_404,
    struct receiver_verdict *v)
{
	v->result = notify_classify(status, transport, gone_on_404);
	v->gone = v->result == NOTIFY_PERMANENT &&
	    notify_gone(status, gone_on_404);
	if (transport)
		snprintf(v->why, sizeof(v->why), "no answer");
	else
		snprintf(v->why, sizeof(v->why), "HTTP %ld", status);
}

static void
classify_webhook(long status, int transport, const char *reply,
    struct receiver_verdict *v)
{
	verdict_http(status, transport, 0, v);
}

/* Slack's incoming webhooks: 404/410 mean the webhook or channel is gone. */
static void
classify_slack(long status, int transport, const char *reply,
    struct receiver_verdict *v)
{
	verdict_http(status, transport, 1, v);
}

/*
 * The Web API answers HTTP 200 with {"ok":false,"error":"..."}: the
 * status decides first (429, 5xx, transport), then the error code
 * (slack_error_class()).
 */
static void
classify_slack_app(long status, int transport, const char *reply,
    struct receiver_verdict *v)
{
	struct slack_reply r;

	verdict_http(status, transport, 1, v);
	if (v->result != NOTIFY_OK)
		return;
	if (slack_reply_parse(reply, &r) == -1) {
		/* A 2xx that is not the Web API's: it may have been taken. */
		snprintf(v->why, sizeof(v->why), "HTTP %ld, not a Web API "
		    "answer", status);
		v->result = NOTIFY_PERMANENT;
		return;
	}
	if (r.ok)
		return;
	v->result = slack_error_class(r.error, &v->gone);
	snprintf(v->why, sizeof(v->why), "%s", r.error);
}

/* ---- renderers that need adapting ---- */

static char *
group_slack(const struct notify_brief *const *m, const char *const *bodies,
    size_t n)
{
	return notify_group_slack(m, n);
}

static char *
group_webhook(const struct notify_brief *const *m, const char *const *bodies,
    size_t n)
{
	return notify_group_webhook(bodies, n);
}

static char *
group_log(const struct notify_brief *const *m, const char *const *bodies,
    size_t n)
{
	return notify_group_summary(m, n);
}

static char *
digest_slack(const char *owner, const char *date, const char *channel,
    const struct notify_digest_row *rows,
    const struct notify_digest_check *checks, size_t n)
{
	return notify_digest_check_slack(owner, date, rows, checks, n);
}

static char *
digest_webhook(const char *owner, const char *date, const char *channel,
    const struct notify_digest_row *rows,
    const struct notify_digest_check *checks, size_t n)
{
	return notify_digest_check_webhook(owner, date, rows, checks, n);
}

/* A chat.update names its own message: it never joins a group. */
static int
groupable_slack_app(const char *body)
{
	return !slack_body_is_update(body);
}

/* ---- the table ---- */

static const struct receiver_type receiver_types[RECEIVER__COUNT] = {
	[RECEIVER_SLACK] = {
		.name = "slack", .url_key = "webhook_url", .sends = 1,
		.slack = 1, .rate = 1.0, .burst = 3, .paced = 1, .briefs = 1,
		.render_alert = notify_slack_body,
		.render_portfolio = notify_portfolio_slack,
		.render_digest = digest_slack,
		.render_group = group_slack,
		.request = request_json,
		.classify = classify_slack,
	},
	[RECEIVER_WEBHOOK] = {
		.name = "webhook", .url_key = "url", .secret_keys = 1,
		.sends = 1, .rate = 10.0, .burst = 10,
		.render_alert = notify_webhook_body,
		.render_portfolio = notify_portfolio_webhook,
		.render_digest = digest_webhook,
		.render_group = group_webhook,
		.request = request_webhook,
		.classify = classify_webhook,
	},
	[RECEIVER_LOG] = {
		.name = "log", .rate = 10.0, .burst = 10, .briefs = 1,
		.render_alert = notify_webhook_body,
		.render_portfolio = notify_portfolio_webhook,
		.render_digest = digest_webhook,
		.render_group = group_log,
		.classify = classify_webhook,
	},
	/*
	 * Ephemeral answers to Slack's interactions and commands: each
	 * notification carries its own URL (outbox_send_url()).
	 */
	[RECEIVER_SLACK_RESPONSE] = {
		.name = "slack-response", .internal = 1, .sends = 1,
		.request = request_json,
		.classify = classify_webhook,
	},
	[RECEIVER_SLACK_APP] = {
		.name = "slack-app", .app_keys = 1, .sends = 1, .slack = 1,
		.rate = 1.0, .burst = 3, .paced = 1, .briefs = 1,
		.receipt = 1, .groupable = groupable_slack_app,
		.render_alert = slack_app_alert,
		.render_portfolio = slack_app_portfolio,
		.render_digest = slack_app_digest,
		.render_group = group_slack,
		.request = request_slack_app,
		.classify = classify_slack_app,
	},
};

const struct receiver_type *
receiver_type_get(int kind)
{
	if (kind < 0 || kind >= RECEIVER__COUNT)
		return NULL;
	return &receiver_types[kind];
}

int
receiver_kind_find(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < RECEIVER__COUNT; i++)
		if (!receiver_types[i].internal &&
		    strcmp(receiver_types[i].name, name) == 0)
			return i;
	return -1;
}

const char *
receiver_kind_list(void)
{
	return "slack, slack-app, webhook or log";
}
