/*
 * slack.c -- the Slack app's messages and requests (see slack.h).
 *
 * The app's alert message is the incoming-webhook message of notify.c
 * with what the Web API and the buttons need added, so both kinds show
 * the same alert.  Owns the replay cache.  No I/O.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "notify.h"
#include "slack.h"
#include "util.h"

#define DUMP_FLAGS	(JSON_COMPACT | JSON_PRESERVE_ORDER)

/* ---- messages ---- */

static char *
dump(json_t *o)
{
	char *s;

	if (o == NULL)
		return NULL;
	s = json_dumps(o, DUMP_FLAGS);
	json_decref(o);
	return s;
}

/*
 * body (a Slack payload, taken over) with "channel" first and "ts" when
 * given; NULL without a channel.
 */
static json_t *
retarget(char *body, const char *channel, const char *ts)
{
	json_t *in, *out;
	const char *k;
	json_t *v;

	if (body == NULL)
		return NULL;
	in = json_loads(body, 0, NULL);
	free(body);
	if (in == NULL || !json_is_object(in))
		goto fail;
	if (channel == NULL || *channel == '\0')
		channel = json_string_value(json_object_get(in, "channel"));
	if (channel == NULL || *channel == '\0' || (out = json_object()) ==
	    NULL)
		goto fail;
	json_object_set_new(out, "channel", json_string(channel));
	if (ts != NULL && *ts != '\0')
		json_object_set_new(out, "ts", json_string(ts));
	json_object_foreach(in, k, v)
		if (strcmp(k, "channel") != 0)
			json_object_set(out, k, v);
	json_decref(in);
	return out;

fail:
	json_decref(in);
	return NULL;
}

static json_t *
button(const char *action, const char *label, const char *value,
    const char *style)
{
	json_t *b;

	b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "type", "button",
	    "action_id", action, "text", "type", "plain_text", "text", label,
	    "value", value);
	if (b != NULL && style != NULL)
		json_object_set_new(b, "style", json_string(style));
	return b;
}

char *
slack_app_alert(const struct notify_view *v)
{
	json_t *o, *blocks, *el;
	char value[256];
	int resolved;

	if (v == NULL || v->kind == NULL)
		return NULL;
	o = retarget(notify_slack_body(v), v->channel != NULL ? v->channel :
	    v->account.slack_channel, v->message_ts);
	if (o == NULL)
		return NULL;
	blocks = json_object_get(o, "blocks");
	resolved = strcmp(v->kind, "resolved") == 0;
	if (v->status_note != NULL && *v->status_note != '\0' &&
	    json_is_array(blocks)) {
		json_t *c = json_pack("{s:s, s:[{s:s, s:s}]}", "type",
		    "context", "elements", "type", "mrkdwn", "text",
		    v->status_note);

		if (c != NULL)
			json_array_append_new(blocks, c);
	}
	if (!resolved && json_is_array(blocks)) {
		/* The account id last: it may hold a ':'. */
		if (snprintf(value, sizeof(value), "%" PRIu64 ":%s:%s",
		    v->alert_id, v->signal.name, v->account.id) >=
		    (int)sizeof(value))
			value[0] = '\0';
		el = json_array();
		if (!v->acked)
			json_array_append_new(el, button(SLACK_ACTION_ACK,
			    "Acknowledge", value, "primary"));
		json_array_append_new(el, button(SLACK_ACTION_SNOOZE,
		    "Snooze 7 days", value, NULL));
		json_array_append_new(el, button(SLACK_ACTION_WHY, "Why?",
		    value, NULL));
		json_array_append_new(blocks, json_pack("{s:s, s:s, s:o}",
		    "type", "actions", "block_id", "churnwatch_alert",
		    "elements", el));
	}
	return dump(o);
}

char *
slack_app_portfolio(const struct notify_portfolio *v)
{
	if (v == NULL)
		return NULL;
	return dump(retarget(notify_portfolio_slack(v), v->channel, NULL));
}

char *
slack_app_digest(const char *owner, const char *date, const char *channel,
    const struct notify_digest_row *rows,
    const struct notify_digest_check *checks, size_t n)
{
	return dump(retarget(notify_digest_check_slack(owner, date, rows,
	    checks, n), channel, NULL));
}

int
slack_body_is_update(const char *body)
{
	json_t *o;
	int rc;

	if (body == NULL || (o = json_loads(body, 0, NULL)) == NULL)
		return 0;
	rc = json_is_string(json_object_get(o, "ts"));
	json_decref(o);
	return rc;
}

/* ---- the Web API's answers ---- */

static void
copy_str(char *dst, size_t len, json_t *v)
{
	const char *s = json_string_value(v);

	snprintf(dst, len, "%s", s != NULL ? s : "");
}

int
slack_reply_parse(const char *reply, struct slack_reply *r)
{
	json_t *o, *ok;

	memset(r, 0, sizeof(*r));
	if (reply == NULL || (o = json_loads(reply, 0, NULL)) == NULL)
		return -1;
	if (!json_is_object(o) || !json_is_boolean(ok = json_object_get(o,
	    "ok"))) {
		json_decref(o);
		return -1;
	}
	r->ok = json_is_true(ok);
	copy_str(r->error, sizeof(r->error), json_object_get(o, "error"));
	copy_str(r->channel, sizeof(r->channel), json_object_get(o,
	    "channel"));
	copy_str(r->ts, sizeof(r->ts), json_object_get(o, "ts"));
	if (!r->ok && r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "unknown_error");
	json_decref(o);
	return 0;
}

/* Slack's method docs (chat.postMessage, chat.update) and rate limits. */
static const struct {
	const char		*error;
	enum notify_result	 result;
	int			 gone;
} slack_errors[] = {
	{ "ratelimited", NOTIFY_RETRY_AFTER, 0 },
	{ "rate_limited", NOTIFY_RETRY_AFTER, 0 },
	{ "internal_error", NOTIFY_RETRY, 0 },
	{ "fatal_error", NOTIFY_RETRY, 0 },
	{ "service_unavailable", NOTIFY_RETRY, 0 },
	{ "request_timeout", NOTIFY_RETRY, 0 },
	/* The token or the app cannot post at all: the receiver fails. */
	{ "invalid_auth", NOTIFY_PERMANENT, 1 },
	{ "not_authed", NOTIFY_PERMANENT, 1 },
	{ "account_inactive", NOTIFY_PERMANENT, 1 },
	{ "token_revoked", NOTIFY_PERMANENT, 1 },
	{ "token_expired", NOTIFY_PERMANENT, 1 },
	{ "no_permission", NOTIFY_PERMANENT, 1 },
	{ "missing_scope", NOTIFY_PERMANENT, 1 },
	{ "not_allowed_token_type", NOTIFY_PERMANENT, 1 },
	{ "ekm_access_denied", NOTIFY_PERMANENT, 1 },
	{ "team_access_not_granted", NOTIFY_PERMANENT, 1 },
	{ "org_login_required", NOTIFY_PERMANENT, 1 },
	/*
	 * This channel or message only: an account's slack_channel that is
	 * wrong must not silence every other account.
	 */
	{ "channel_not_found", NOTIFY_PERMANENT, 0 },
	{ "not_in_channel", NOTIFY_PERMANENT, 0 },
	{ "is_archived", NOTIFY_PERMANENT, 0 },
	{ "message_not_found", NOTIFY_PERMANENT, 0 },
	{ "cant_update_message", NOTIFY_PERMANENT, 0 },
	{ "edit_window_closed", NOTIFY_PERMANENT, 0 },
	{ "msg_too_long", NOTIFY_PERMANENT, 0 },
	{ "invalid_blocks", NOTIFY_PERMANENT, 0 },
	{ "invalid_arguments", NOTIFY_PERMANENT, 0 },
};

enum notify_result
slack_error_class(const char *error, int *gone)
{
	size_t i;

	*gone = 0;
	for (i = 0; error != NULL &&
	    i < sizeof(slack_errors) / sizeof(slack_errors[0]); i++)
		if (strcmp(slack_errors[i].error, error) == 0) {
			*gone = slack_errors[i].gone;
			return slack_errors[i].result;
		}
	return NOTIFY_PERMANENT;
}

/* ---- signatures ---- */

int
slack_sign(const char *secret, const char *ts, const char *body, size_t len,
    char out[SLACK_SIG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE], *msg;
	unsigned int mdlen = 0, i;
	size_t tlen, mlen;
	int rc = -1;

	if (secret == NULL || ts == NULL || (body == NULL && len > 0))
		return -1;
	tlen = strlen(ts);
	if (len > SIZE_MAX - tlen - 5 || strlen(secret) > INT32_MAX)
		return -1;
	mlen = 3 + tlen + 1 + len;
	if ((msg = malloc(mlen + 1)) == NULL)
		return -1;
	memcpy(msg, "v0:", 3);
	memcpy(msg + 3, ts, tlen);
	msg[3 + tlen] = ':';
	if (len > 0)
		memcpy(msg + 4 + tlen, body, len);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, mlen, md,
	    &mdlen) != NULL && mdlen == 32) {
		memcpy(out, "v0=", 3);
		for (i = 0; i < mdlen; i++)
			snprintf(out + 3 + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
	free(msg);
	return rc;
}

int
slack_verify(const char *secret, const char *ts, const char *sig,
    const char *body, size_t len, int64_t now, const char **why)
{
	char want[SLACK_SIG_LEN];
	uint64_t t;
	int64_t d;

	if (secret == NULL || *secret == '\0') {
		*why = "the Slack app is not configured ([slack] "
		    "signing_secret)";
		return -1;
	}
	if (ts == NULL || sig == NULL) {
		*why = "X-Slack-Signature and X-Slack-Request-Timestamp are "
		    "required";
		return -1;
	}
	if (util_parse_u64(ts, 0, INT64_MAX / 2, &t) == -1) {
		*why = "X-Slack-Request-Timestamp is not a unix time";
		return -1;
	}
	d = now - (int64_t)t;
	if (d > SLACK_MAX_SKEW || d < -SLACK_MAX_SKEW) {
		*why = "X-Slack-Request-Timestamp is more than 5 minutes "
		    "away";
		return -1;
	}
	if (slack_sign(secret, ts, body, len, want) == -1 ||
	    !util_ct_equal(want, strlen(want), sig, strlen(sig))) {
		*why = "X-Slack-Signature does not match";
		return -1;
	}
	return 0;
}

/* ---- replays ---- */

struct slack_seen {
	char		 sig[SLACK_SIG_LEN];
	int64_t		 ts;
};

struct slack_replay {
	struct slack_seen ring[SLACK_REPLAY_MAX];
	size_t		 head;		/* next slot */
	size_t		 n;
};

struct slack_replay *
slack_replay_new(void)
{
	return calloc(1, sizeof(struct slack_replay));
}

void
slack_replay_free(struct slack_replay *r)
{
	free(r);
}

int
slack_replay_check(struct slack_replay *r, const char *sig, int64_t ts,
    int64_t now)
{
	struct slack_seen *s;
	size_t i, slot;

	/*
	 * A linear scan of at most SLACK_REPLAY_MAX short strings per
	 * Slack request: Slack sends a few per click.
	 */
	for (i = 0; i < r->n; i++) {
		slot = (r->head + SLACK_REPLAY_MAX - 1 - i) % SLACK_REPLAY_MAX;
		s = &r->ring[slot];
		if (now - s->ts > SLACK_MAX_SKEW)
			continue;	/* stale: the skew check refuses it */
		if (strcmp(s->sig, sig) == 0)
			return 1;
	}
	s = &r->ring[r->head];
	snprintf(s->sig, sizeof(s->sig), "%s", sig);
	s->ts = ts;
	r->head = (r->head + 1) % SLACK_REPLAY_MAX;
	if (r->n < SLACK_REPLAY_MAX)
		r->n++;
	return 0;
}

/* ---- forms and payloads ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
slack_form_get(const char *body, size_t len, const char *key)
{
	const char *p = body, *end = body + len, *amp, *eq;
	size_t klen = strlen(key), i, o;
	char *out;
	int h, l;

	while (body != NULL && p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (size_t)(eq - p) == klen &&
		    memcmp(p, key, klen) == 0) {
			if ((out = malloc((size_t)(amp - eq))) == NULL)
				return NULL;
			for (i = 1, o = 0; eq + i < amp; i++) {
				if (eq[i] == '+')
					out[o++] = ' ';
				else if (eq[i] == '%') {
					if (eq + i + 2 >= amp ||
					    (h = hexval(eq[i + 1])) == -1 ||
					    (l = hexval(eq[i + 2])) == -1) {
						free(out);
						return NULL;
					}
					out[o++] = (char)(h * 16 + l);
					i += 2;
				} else
					out[o++] = eq[i];
			}
			out[o] = '\0';
			if (strlen(out) != o) {		/* %00 */
				free(out);
				return NULL;
			}
			return out;
		}
		p = amp + 1;
	}
	return NULL;
}

int
slack_action_parse(const char *payload, struct slack_action *a,
    const char **why)
{
	json_t *o, *act, *user;
	const char *type, *value, *name, *c1, *c2;
	uint64_t id;
	char idbuf[24];
	size_t n;

	memset(a, 0, sizeof(*a));
	*why = "payload is not JSON";
	if (payload == NULL || (o = json_loads(payload, 0, NULL)) == NULL)
		return -1;
	*why = "not a block_actions interaction";
	type = json_string_value(json_object_get(o, "type"));
	if (type == NULL || strcmp(type, "block_actions") != 0)
		goto fail;
	act = json_array_get(json_object_get(o, "actions"), 0);
	*why = "not one of churnwatch's buttons";
	copy_str(a->action, sizeof(a->action), json_object_get(act,
	    "action_id"));
	if (strcmp(a->action, SLACK_ACTION_ACK) != 0 &&
	    strcmp(a->action, SLACK_ACTION_SNOOZE) != 0 &&
	    strcmp(a->action, SLACK_ACTION_WHY) != 0)
		goto fail;
	value = json_string_value(json_object_get(act, "value"));
	if (value == NULL || (c1 = strchr(value, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		goto fail;
	n = (size_t)(c1 - value);
	if (n == 0 || n >= sizeof(idbuf))
		goto fail;
	memcpy(idbuf, value, n);
	idbuf[n] = '\0';
	if (util_parse_u64(idbuf, 1, UINT64_MAX, &id) == -1)
		goto fail;
	a->alert_id = id;
	n = (size_t)(c2 - c1 - 1);
	if (n == 0 || n >= sizeof(a->signal) || strlen(c2 + 1) == 0 ||
	    strlen(c2 + 1) >= sizeof(a->account))
		goto fail;
	memcpy(a->signal, c1 + 1, n);
	a->signal[n] = '\0';
	snprintf(a->account, sizeof(a->account), "%s", c2 + 1);
	user = json_object_get(o, "user");
	copy_str(a->user_id, sizeof(a->user_id), json_object_get(user, "id"));
	name = json_string_value(json_object_get(user, "name"));
	if (name == NULL || *name == '\0')
		name = json_string_value(json_object_get(user, "username"));
	snprintf(a->user_name, sizeof(a->user_name), "%s", name != NULL &&
	    *name != '\0' ? name : a->user_id);
	copy_str(a->response_url, sizeof(a->response_url),
	    json_object_get(o, "response_url"));
	copy_str(a->channel, sizeof(a->channel), json_object_get(
	    json_object_get(o, "channel"), "id"));
	copy_str(a->message_ts, sizeof(a->message_ts), json_object_get(
	    json_object_get(o, "container"), "message_ts"));
	if (a->message_ts[0] == '\0')
		copy_str(a->message_ts, sizeof(a->message_ts),
		    json_object_get(json_object_get(o, "message"), "ts"));
	json_decref(o);
	*why = NULL;
	return 0;

fail:
	json_decref(o);
	return -1;
}

char *
slack_ephemeral(const char *text)
{
	return dump(json_pack("{s:s, s:b, s:s}", "response_type", "ephemeral",
	    "replace_original", 0, "text", text != NULL ? text : ""));
}

int
slack_response_url_ok(const char *url, const char *api_url)
{
	const char *p, *slash;
	size_t n;

	if (url == NULL || util_has_control(url, strlen(url)) ||
	    strchr(url, ' ') != NULL)
		return 0;
	if (strncmp(url, "https://hooks.slack.com/", 24) == 0)
		return 1;
	if (api_url == NULL || (p = strstr(api_url, "://")) == NULL)
		return 0;
	/* scheme://host[:port] of api_url, then '/' in url. */
	slash = strchr(p + 3, '/');
	n = slash != NULL ? (size_t)(slash - api_url) : strlen(api_url);
	return strncmp(url, api_url, n) == 0 && url[n] == '/';
}

/* ---- /churnwatch ---- */

/* The next word of *s into buf (len), skipping blanks; 0 or -1. */
static int
next_word(const char **s, char *buf, size_t len)
{
	const char *p = *s, *e;

	while (*p == ' ' || *p == '\t')
		p++;
	for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
		;
	if (e == p || (size_t)(e - p) >= len)
		return -1;
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = '\0';
	*s = e;
	return 0;
}

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int
slack_command_parse(const char *text, struct slack_command *c,
    const char **why)
{
	const char *s = text != NULL ? text : "";
	char days[16];
	uint64_t d;

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (next_word(&s, c->word, sizeof(c->word)) == -1) {
		c->cmd = *skip_blanks(s) == '\0' ? SLACK_CMD_HELP :
		    SLACK_CMD_UNKNOWN;
		return 0;
	}
	if (strcmp(c->word, "help") == 0) {
		c->cmd = SLACK_CMD_HELP;
		return 0;
	}
	if (strcmp(c->word, "at-risk") == 0) {
		c->cmd = SLACK_CMD_AT_RISK;
		/* An owner's name may hold spaces: the rest of the line. */
		s = skip_blanks(s);
		snprintf(c->owner, sizeof(c->owner), "%s", s);
		return 0;
	}
	if (strcmp(c->word, "why") == 0) {
		c->cmd = SLACK_CMD_WHY;
		if (next_word(&s, c->account, sizeof(c->account)) == -1 ||
		    *skip_blanks(s) != '\0') {
			*why = "usage: /churnwatch why ACCOUNT";
			return -1;
		}
		return 0;
	}
	if (strcmp(c->word, "snooze") == 0) {
		c->cmd = SLACK_CMD_SNOOZE;
		if (next_word(&s, c->account, sizeof(c->account)) == -1 ||
		    next_word(&s, days, sizeof(days)) == -1 ||
		    strlen(days) < 2 || days[strlen(days) - 1] != 'd' ||
		    (days[strlen(days) - 1] = '\0',
		    util_parse_u64(days, 1, SLACK_SNOOZE_MAX_DAYS, &d)) == -1) {
			*why = "usage: /churnwatch snooze ACCOUNT 7d REASON "
			    "(1d to 90d)";
			return -1;
		}
		c->days = (unsigned)d;
		snprintf(c->rest, sizeof(c->rest), "%s", skip_blanks(s));
		return 0;
	}
	if (strcmp(c->word, "note") == 0) {
		c->cmd = SLACK_CMD_NOTE;
		if (next_word(&s, c->account, sizeof(c->account)) == -1 ||
		    *skip_blanks(s) == '\0' ||
		    strlen(skip_blanks(s)) >= sizeof(c->rest)) {
			*why = "usage: /churnwatch note ACCOUNT TEXT (at most "
			    "4 KiB)";
			return -1;
		}
		snprintf(c->rest, sizeof(c->rest), "%s", skip_blanks(s));
		return 0;
	}
	c->cmd = SLACK_CMD_UNKNOWN;
	return 0;
}

const char *
slack_help_text(void)
{
	return "*/churnwatch* — the accounts at risk, from Slack:\n"
	    "• `/churnwatch at-risk [owner]` — the risk list, worst first\n"
	    "• `/churnwatch why ACCOUNT` — the score, its signals, evidence "
	    "and plays\n"
	    "• `/churnwatch snooze ACCOUNT 7d REASON` — silence its alerts "
	    "for 7 days\n"
	    "• `/churnwatch note ACCOUNT TEXT` — keep what you heard (a "
	    "note event)\n"
	    "• `/churnwatch help` — this text";
}

/* mrkdwn escaping of & < > */
static void
esc(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '&')
			fputs("&amp;", fp);
		else if (*s == '<')
			fputs("&lt;", fp);
		else if (*s == '>')
			fputs("&gt;", fp);
		else
			fputc(*s, fp);
	}
}

#define SLACK_TEXT_MAX	3000
#define ESC(fp, s)	esc(fp, s)

/* Close the memstream and cut at SLACK_TEXT_MAX bytes on a UTF-8 boundary. */
static char *
finish(FILE *fp, char **buf, size_t *len)
{
	size_t n;

	if (fclose(fp) != 0) {
		free(*buf);
		return NULL;
	}
	if (*len > SLACK_TEXT_MAX) {
		n = SLACK_TEXT_MAX - 3;
		while (n > 0 && ((unsigned char)(*buf)[n] & 0xc0) == 0x80)
			n--;
		memcpy(*buf + n, "…", sizeof("…"));
	}
	return *buf;
}

char *
slack_at_risk_text(const char *list_json, const char *owner)
{
	json_t *o, *rows, *row, *sigs, *sg;
	char *buf = NULL;
	size_t len = 0, i, j;
	FILE *fp;
	const char *name;

	if (list_json == NULL || (o = json_loads(list_json, 0, NULL)) == NULL)
		return NULL;
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		json_decref(o);
		return NULL;
	}
	/* At risk: with an active signal (the list has every account). */
	rows = json_array();
	json_array_foreach(json_object_get(o, "accounts"), i, row)
		if (json_array_size(json_object_get(row, "signals")) > 0)
			json_array_append(rows, row);
	if (json_array_size(rows) == 0) {
		fputs("No account at risk", fp);
		if (owner != NULL && *owner != '\0') {
			fputs(" for ", fp);
			ESC(fp, owner);
		}
		fputs(".", fp);
	} else {
		fputs("*Accounts at risk", fp);
		if (owner != NULL && *owner != '\0') {
			fputs(" — ", fp);
			ESC(fp, owner);
		}
		fputs("*, worst first:", fp);
	}
	json_array_foreach(rows, i, row) {
		name = json_string_value(json_object_get(row, "name"));
		fprintf(fp, "\n• *");
		ESC(fp, name != NULL ? name : json_string_value(
		    json_object_get(row, "id")));
		fputs("* (", fp);
		ESC(fp, json_string_value(json_object_get(row, "id")));
		fprintf(fp, ") — %lld, %s", (long long)json_integer_value(
		    json_object_get(row, "score")), json_string_value(
		    json_object_get(row, "status")) != NULL ?
		    json_string_value(json_object_get(row, "status")) : "");
		sigs = json_object_get(row, "signals");
		json_array_foreach(sigs, j, sg) {
			fputs(j == 0 ? ": " : ", ", fp);
			ESC(fp, json_string_value(sg));
		}
		if (json_is_object(json_object_get(row, "renewal")))
			fprintf(fp, " — renews in %lld days",
			    (long long)json_integer_value(json_object_get(
			    json_object_get(row, "renewal"), "days")));
	}
	json_decref(rows);
	json_decref(o);
	return finish(fp, &buf, &len);
}

char *
slack_why_text(const char *account_json)
{
	json_t *o, *h, *sigs, *sg, *ev, *v;
	const char *k, *name, *play;
	char *buf = NULL, *evs;
	size_t len = 0, i;
	FILE *fp;

	if (account_json == NULL ||
	    (o = json_loads(account_json, 0, NULL)) == NULL)
		return NULL;
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		json_decref(o);
		return NULL;
	}
	h = json_object_get(o, "health");
	name = json_string_value(json_object_get(o, "name"));
	fputs("*", fp);
	ESC(fp, name != NULL ? name : json_string_value(json_object_get(o,
	    "id")));
	fputs("* (", fp);
	ESC(fp, json_string_value(json_object_get(o, "id")));
	fprintf(fp, ") — health %lld, %s\n", (long long)json_integer_value(
	    json_object_get(h, "score")), json_string_value(json_object_get(h,
	    "status")) != NULL ? json_string_value(json_object_get(h,
	    "status")) : "");
	if (json_string_value(json_object_get(h, "explanation")) != NULL) {
		fputs("*Score:* ", fp);
		ESC(fp, json_string_value(json_object_get(h, "explanation")));
		fputs("\n", fp);
	}
	sigs = json_object_get(o, "signals");
	if (json_array_size(sigs) == 0)
		fputs("No active signal.\n", fp);
	json_array_foreach(sigs, i, sg) {
		fputs("• *", fp);
		ESC(fp, json_string_value(json_object_get(sg, "name")));
		fputs("* (", fp);
		ESC(fp, json_string_value(json_object_get(sg, "severity")));
		fputs("): ", fp);
		ESC(fp, json_string_value(json_object_get(sg, "explanation")));
		ev = json_object_get(sg, "evidence");
		if (json_object_size(ev) > 0) {
			fputs("\n    _evidence:_ ", fp);
			json_object_foreach(ev, k, v) {
				evs = json_dumps(v, JSON_ENCODE_ANY |
				    JSON_COMPACT);
				fprintf(fp, "%s=", k);
				ESC(fp, evs != NULL ? evs : "?");
				fputs(" ", fp);
				free(evs);
			}
		}
		if ((play = json_string_value(json_object_get(sg, "play"))) !=
		    NULL) {
			fputs("\n    _play:_ ", fp);
			ESC(fp, play);
		}
		fputs("\n", fp);
	}
	if ((play = json_string_value(json_object_get(h, "play"))) != NULL) {
		fputs("*Play:* ", fp);
		ESC(fp, play);
	}
	json_decref(o);
	return finish(fp, &buf, &len);
}
