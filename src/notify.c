/*
 * notify.c -- alert and digest messages (the webhook JSON of SPEC 5 and
 * Slack Block Kit payloads), grouped messages and the group_wait policy,
 * the X-Churnwatch-Signature of SPEC 2.3, the per-receiver token bucket,
 * retry backoff and the classification of delivery results.  Pure: values
 * in, strings and numbers out.
 *
 * Not here: sending, the outbox rows and their retry times (outbox.c),
 * logging and metrics (the caller decides what a failure means).
 *
 * Slack texts are built as mrkdwn in a small string builder, escaped
 * (&amp; &lt; &gt;) as they are appended, then cut to Slack's limits.
 * Lengths are counted in UTF-16 code units (a character outside the BMP
 * counts twice), on the text as sent, so an escaped "&amp;" counts 5:
 * never less than what Slack counts, whichever way it counts.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "notify.h"
#include "util.h"

/*
 * Reals in evidence ("ratio": 3.1) print as written; jansson's default
 * of 17 digits would print 3.1000000000000001.
 */
#define DUMP_FLAGS	(JSON_COMPACT | JSON_PRESERVE_ORDER | \
			    JSON_REAL_PRECISION(15))
#define EVIDENCE_MAX	1000	/* of a section's 3000: the evidence line */
#define ELLIPSIS	"…"	/* U+2026, one character */

/* ---- presentation tables ---- */

static const struct notify_sev {
	const char	*name;
	const char	*icon;		/* header, plain_text */
	const char	*code;		/* fallback text, Slack emoji code */
} notify_sevs[] = {
	{ "critical",	"🔴",	":rotating_light:" },
	{ "warning",	"🟠",	":warning:" },
	{ "info",	"🔵",	":information_source:" },
	{ NULL,		"⚪",	":bell:" }	/* unknown: the last row */
};

static const struct notify_status {
	const char	*name;
	const char	*icon;
} notify_statuses[] = {
	{ "red",	"🔴" },
	{ "yellow",	"🟡" },
	{ "green",	"🟢" },
	{ NULL,		"⚪" }
};

#define RESOLVED_ICON	"🟢"
#define RESOLVED_CODE	":white_check_mark:"
#define DIGEST_ICON	"📋"

/* Delivery results by HTTP status; anything else is permanent. */
static const struct notify_class {
	long			 lo, hi;
	enum notify_result	 result;
} notify_classes[] = {
	{ 200, 299, NOTIFY_OK },
	{ 408, 408, NOTIFY_RETRY },		/* Request Timeout */
	{ 425, 425, NOTIFY_RETRY },		/* Too Early */
	{ 429, 429, NOTIFY_RETRY_AFTER },	/* Too Many Requests */
	{ 500, 599, NOTIFY_RETRY }
};

static const struct notify_sev *
sev_find(const char *name)
{
	size_t i;

	for (i = 0; notify_sevs[i].name != NULL; i++)
		if (name != NULL && strcmp(name, notify_sevs[i].name) == 0)
			break;
	return &notify_sevs[i];
}

static const char *
status_icon(const char *name)
{
	size_t i;

	for (i = 0; notify_statuses[i].name != NULL; i++)
		if (name != NULL && strcmp(name, notify_statuses[i].name) == 0)
			break;
	return notify_statuses[i].icon;
}

/* ---- UTF-8 ---- */

/*
 * The length of the valid UTF-8 sequence at p (1..4), or 0 when p starts
 * an invalid one (overlong, surrogate, > U+10FFFF, truncated).  p is
 * NUL-terminated, so looking one byte further is always safe until a
 * continuation test fails.
 */
static size_t
u8_seq(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)
		return 0;
	if (p[0] < 0xe0)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] < 0xf0) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (p[0] < 0xf5) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* UTF-16 code units of n bytes of valid UTF-8. */
static size_t
u16_units(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, u = 0;

	for (i = 0; i < n; i++) {
		if ((p[i] & 0xc0) == 0x80)
			continue;
		u += p[i] >= 0xf0 ? 2 : 1;
	}
	return u;
}

/* ---- a string builder ---- */

struct sb {
	char	*s;		/* NUL-terminated while err == 0 */
	size_t	 len;
	size_t	 cap;
	int	 err;		/* out of memory: every later call is a no-op */
};

#define TXT_ESC		0x1	/* mrkdwn: & < > as entities */
#define TXT_LINE	0x2	/* control characters as spaces */

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	char *ns;
	size_t ncap;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap > 0 ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((ns = realloc(b->s, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_puts(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sb *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Only our own short formats come here. */
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		b->err = 1;
		return;
	}
	sb_add(b, buf, (size_t)n);
}

/*
 * Append user text: invalid UTF-8 becomes U+FFFD, and with TXT_ESC the
 * three characters Slack's mrkdwn reserves become entities.  NULL appends
 * nothing.
 */
static void
sb_text(struct sb *b, const char *s, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL)
		return;
	while (*p != '\0') {
		n = u8_seq(p);
		if (n == 0) {
			sb_puts(b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		if ((flags & TXT_ESC) && *p == '&')
			sb_puts(b, "&amp;");
		else if ((flags & TXT_ESC) && *p == '<')
			sb_puts(b, "&lt;");
		else if ((flags & TXT_ESC) && *p == '>')
			sb_puts(b, "&gt;");
		else if ((flags & TXT_LINE) && *p < 0x20)
			sb_puts(b, " ");
		else
			sb_add(b, (const char *)p, n);
		p += n;
	}
}

/*
 * One indivisible piece of built text at s: in mrkdwn an entity or a
 * <...> markup we wrote (user text has neither, it is escaped), else one
 * character.  Stores its UTF-16 units; returns its length in bytes.
 */
static size_t
atom(const char *s, const char *end, int mrkdwn, size_t *units)
{
	const char *e;
	size_t n;

	if (mrkdwn && (*s == '&' || *s == '<')) {
		e = memchr(s, *s == '&' ? ';' : '>', (size_t)(end - s));
		if (e != NULL) {
			n = (size_t)(e - s) + 1;
			*units = u16_units(s, n);
			return n;
		}
	}
	n = u8_seq((const unsigned char *)s);
	if (n == 0)
		n = 1;
	*units = n == 4 ? 2 : 1;
	return n;
}

/*
 * Cut the text from byte from on to at most max units: whole atoms only,
 * trailing spaces dropped, then "…".  Untouched when it fits.  mrkdwn
 * says whether the text is escaped mrkdwn or plain_text.
 */
static void
sb_clip(struct sb *b, size_t from, size_t max, int mrkdwn)
{
	const char *end;
	size_t i, n, u, total = 0, keep;

	if (b->err || max < 1 || from > b->len)
		return;
	end = b->s + b->len;
	for (i = from; i < b->len; i += n) {
		n = atom(b->s + i, end, mrkdwn, &u);
		total += u;
	}
	if (total <= max)
		return;
	total = 0;
	for (i = keep = from; i < b->len; i += n) {
		n = atom(b->s + i, end, mrkdwn, &u);
		if (total + u > max - 1)
			break;
		total += u;
		keep = i + n;
	}
	while (keep > from && (b->s[keep - 1] == ' ' ||
	    b->s[keep - 1] == '\n'))
		keep--;
	b->len = keep;
	b->s[keep] = '\0';
	sb_puts(b, ELLIPSIS);
}

static void
sb_reset(struct sb *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

static void
sb_free(struct sb *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* ---- jansson helpers ---- */

/* A JSON string of s (U+FFFD for invalid UTF-8), or null for NULL. */
static json_t *
jstr(const char *s)
{
	struct sb b = { NULL, 0, 0, 0 };
	json_t *v;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	sb_text(&b, s, 0);
	v = b.err || b.s == NULL ? NULL : json_string(b.s);
	sb_free(&b);
	return v;
}

static json_t *
jtime(int64_t us)
{
	char buf[CW_RFC3339_LEN];

	if (us == 0)
		return json_null();
	return json_string(util_format_rfc3339(us, buf, sizeof(buf)));
}

/* The evidence object, or {} when there is none or it is not one. */
static json_t *
jevidence(const char *text)
{
	json_t *v;

	if (text == NULL || (v = json_loads(text, 0, NULL)) == NULL)
		return json_object();
	if (!json_is_object(v)) {
		json_decref(v);
		return json_object();
	}
	return v;
}

static char *
dump(json_t *root)
{
	char *s;

	if (root == NULL)
		return NULL;
	s = json_dumps(root, DUMP_FLAGS);
	json_decref(root);
	return s;
}

/* A mrkdwn text object of b's text; NULL when b failed. */
static json_t *
jmrkdwn(const struct sb *b)
{
	if (b->err || b->s == NULL)
		return NULL;
	return json_pack("{s:s, s:s}", "type", "mrkdwn", "text", b->s);
}

static int
add_section(json_t *blocks, const struct sb *b)
{
	return json_array_append_new(blocks,
	    json_pack("{s:s, s:o}", "type", "section", "text", jmrkdwn(b)));
}

static int
add_header(json_t *blocks, const struct sb *b)
{
	if (b->err || b->s == NULL)
		return -1;
	return json_array_append_new(blocks,
	    json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header",
	    "text", "type", "plain_text", "text", b->s, "emoji", 1));
}

static int
add_context(json_t *blocks, const struct sb *b)
{
	return json_array_append_new(blocks, json_pack("{s:s, s:[o]}",
	    "type", "context", "elements", jmrkdwn(b)));
}

/* The Slack payload: "channel" when given, "text", "blocks". */
static char *
slack_payload(const char *channel, const struct sb *text, json_t *blocks)
{
	json_t *root;

	if (blocks == NULL || text->err || text->s == NULL) {
		json_decref(blocks);
		return NULL;
	}
	root = json_object();
	if (root == NULL ||
	    (channel != NULL && *channel != '\0' &&
	    json_object_set_new(root, "channel", jstr(channel)) == -1) ||
	    json_object_set_new(root, "text", json_string(text->s)) == -1 ||
	    json_object_set_new(root, "blocks", blocks) == -1) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

/* ---- the webhook body ---- */

static int
view_valid(const struct notify_view *v)
{
	if (v == NULL || v->kind == NULL || v->account.id == NULL ||
	    v->signal.name == NULL)
		return 0;
	return strcmp(v->kind, "firing") == 0 ||
	    strcmp(v->kind, "resolved") == 0;
}

char *
notify_webhook_body(const struct notify_view *v)
{
	json_t *o;
	char id[24];

	if (!view_valid(v))
		return NULL;
	(void)snprintf(id, sizeof(id), "%" PRIu64, v->alert_id);
	/* json_pack steals each "o", also on failure. */
	o = json_pack("{s:i, s:s, s:s,"
	    " s:{s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o},"
	    " s:o, s:o, s:{s:i, s:o, s:o},"
	    " s:o, s:o, s:o, s:o, s:o}",
	    "version", 1,
	    "alert_id", id,
	    "status", v->kind,
	    "account",
		"id", jstr(v->account.id),
		"name", jstr(v->account.name),
		"owner", jstr(v->account.owner),
		"segment", jstr(v->account.segment),
	    "signal",
		"name", jstr(v->signal.name),
		"category", jstr(v->signal.category),
		"tier", v->signal.tier > 0 ?
		    json_integer(v->signal.tier) : json_null(),
		"severity", jstr(v->signal.severity),
	    "explanation", jstr(v->explanation),
	    "evidence", jevidence(v->evidence_json),
	    "health",
		"score", v->health.score,
		"status", jstr(v->health.status),
		"decomposition", jstr(v->health.decomposition),
	    "started_at", jtime(v->started_at),
	    "resolved_at", jtime(v->resolved_at),
	    "play", jstr(v->play),
	    "fingerprint", jstr(v->fingerprint),
	    "notification_id", jstr(v->notification_id));
	if (o != NULL && v->renewal_at != 0 && json_object_set_new(o,
	    "renewal", json_pack("{s:o, s:i}", "at", jtime(v->renewal_at),
	    "days", v->renewal_days)) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o);
}

/* ---- the Slack alert ---- */

/* "Acme Corp (acme)", or "acme" without a name; escaped. */
static void
sb_account(struct sb *b, const char *name, const char *id, int flags)
{
	if (name != NULL && *name != '\0') {
		sb_text(b, name, flags);
		sb_puts(b, " (");
		sb_text(b, id, flags);
		sb_puts(b, ")");
	} else
		sb_text(b, id, flags);
}

/* A time as Slack shows it in the reader's zone, UTC as the fallback. */
static void
sb_time(struct sb *b, int64_t us)
{
	char buf[CW_RFC3339_LEN];
	long long sec;

	util_format_rfc3339(us, buf, sizeof(buf));
	sec = (long long)(us / CW_USEC_PER_SEC);
	if (us < 0 && us % CW_USEC_PER_SEC != 0)
		sec--;
	/* buf is "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". */
	sb_printf(b, "<!date^%lld^{date_short_pretty} {time}|%.10s %.5s UTC>",
	    sec, buf, buf + 11);
}

/* "tickets: 23 · team: engineering" from the evidence object. */
static void
sb_evidence(struct sb *b, json_t *ev)
{
	const char *key;
	json_t *val;
	char *s;
	int first = 1;

	json_object_foreach(ev, key, val) {
		if (!first)
			sb_puts(b, " · ");
		first = 0;
		sb_text(b, key, TXT_ESC | TXT_LINE);
		sb_puts(b, ": ");
		if (json_is_string(val)) {
			sb_text(b, json_string_value(val), TXT_ESC | TXT_LINE);
			continue;
		}
		s = json_dumps(val, DUMP_FLAGS | JSON_ENCODE_ANY);
		if (s == NULL) {
			b->err = 1;
			return;
		}
		sb_text(b, s, TXT_ESC | TXT_LINE);
		free(s);
	}
}

static int
add_field(json_t *fields, struct sb *b, const char *label, const char *value,
    int flags)
{
	sb_reset(b);
	sb_printf(b, "*%s*\n", label);
	sb_text(b, value, flags);
	sb_clip(b, 0, NOTIFY_SLACK_MAX_FIELD, 1);
	return json_array_append_new(fields, jmrkdwn(b));
}

static json_t *
slack_fields(const struct notify_view *v, struct sb *b)
{
	json_t *fields;
	struct sb t = { NULL, 0, 0, 0 };
	int rc = 0;

	if ((fields = json_array()) == NULL)
		return NULL;

	sb_account(&t, v->account.name, v->account.id, TXT_ESC | TXT_LINE);
	rc |= add_field(fields, b, "Account", t.s, 0);

	sb_reset(&t);
	sb_text(&t, v->signal.name, TXT_ESC | TXT_LINE);
	if (v->signal.category != NULL) {
		sb_puts(&t, " (");
		sb_text(&t, v->signal.category, TXT_ESC | TXT_LINE);
		if (v->signal.tier > 0)
			sb_printf(&t, ", tier %d", v->signal.tier);
		sb_puts(&t, ")");
	} else if (v->signal.tier > 0)
		sb_printf(&t, " (tier %d)", v->signal.tier);
	rc |= add_field(fields, b, "Signal", t.s, 0);

	sb_reset(&t);
	sb_text(&t, v->signal.severity != NULL ? v->signal.severity : "—",
	    TXT_ESC | TXT_LINE);
	if (v->escalated && strcmp(v->kind, "firing") == 0)
		sb_puts(&t, " (escalated)");
	rc |= add_field(fields, b, "Severity", t.s, 0);

	sb_reset(&t);
	sb_printf(&t, "%d", v->health.score);
	if (v->health.status != NULL) {
		sb_puts(&t, " (");
		sb_text(&t, v->health.status, TXT_ESC | TXT_LINE);
		sb_puts(&t, ")");
	}
	rc |= add_field(fields, b, "Health", t.s, 0);

	if (v->account.owner != NULL && *v->account.owner != '\0')
		rc |= add_field(fields, b, "Owner", v->account.owner,
		    TXT_ESC | TXT_LINE);
	else
		rc |= add_field(fields, b, "Owner", "_unowned_", 0);

	if (v->account.segment != NULL && *v->account.segment != '\0')
		rc |= add_field(fields, b, "Segment", v->account.segment,
		    TXT_ESC | TXT_LINE);

	if (v->started_at != 0) {
		sb_reset(&t);
		sb_time(&t, v->started_at);
		rc |= add_field(fields, b, "Started", t.s, 0);
	}
	if (v->resolved_at != 0) {
		sb_reset(&t);
		sb_time(&t, v->resolved_at);
		rc |= add_field(fields, b, "Resolved", t.s, 0);
	}
	if (v->renewal_at != 0) {
		sb_reset(&t);
		sb_printf(&t, "in %d %s (", v->renewal_days,
		    v->renewal_days == 1 ? "day" : "days");
		sb_time(&t, v->renewal_at);
		sb_puts(&t, ")");
		rc |= add_field(fields, b, "Renews", t.s, 0);
	}

	/* At most 9 of Slack's 10 fields. */
	if (rc != 0 || t.err || b->err) {
		json_decref(fields);
		fields = NULL;
	}
	sb_free(&t);
	return fields;
}

/*
 * The explanation and the evidence in one section: the evidence line is
 * cut to EVIDENCE_MAX first so a long explanation cannot push it out.
 */
static int
add_explanation(json_t *blocks, const struct notify_view *v, struct sb *b)
{
	struct sb ev = { NULL, 0, 0, 0 };
	json_t *obj;
	size_t evunits = 0;
	int rc = 0;

	if ((obj = jevidence(v->evidence_json)) == NULL)
		return -1;
	if (json_object_size(obj) > 0) {
		sb_puts(&ev, "*Evidence:* ");
		sb_evidence(&ev, obj);
		sb_clip(&ev, 0, EVIDENCE_MAX, 1);
		evunits = ev.s != NULL ? u16_units(ev.s, ev.len) + 1 : 0;
	}
	json_decref(obj);
	if (ev.err) {
		sb_free(&ev);
		return -1;
	}

	sb_reset(b);
	if (v->explanation != NULL && *v->explanation != '\0') {
		sb_text(b, v->explanation, TXT_ESC);
		sb_clip(b, 0, NOTIFY_SLACK_MAX_TEXT - evunits, 1);
		if (ev.len > 0)
			sb_puts(b, "\n");
	}
	if (ev.len > 0)
		sb_add(b, ev.s, ev.len);
	if (b->len > 0)
		rc = add_section(blocks, b);
	sb_free(&ev);
	return rc;
}

/*
 * The last blocks of an alert message: the suggested play (when there is
 * one) and a context line with the alert, fingerprint and notification
 * ids.  b is scratch space.  0, or -1 when a block cannot be added.
 */
static int
add_play_and_ids(json_t *blocks, struct sb *b, const char *play,
    uint64_t alert_id, const char *fingerprint, const char *notification_id)
{
	if (play != NULL && *play != '\0') {
		sb_reset(b);
		sb_puts(b, "*Suggested play:* ");
		sb_text(b, play, TXT_ESC);
		sb_clip(b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
		if (add_section(blocks, b) == -1)
			return -1;
	}
	sb_reset(b);
	sb_printf(b, "alert %" PRIu64, alert_id);
	if (fingerprint != NULL) {
		sb_puts(b, " · fingerprint ");
		sb_text(b, fingerprint, TXT_ESC | TXT_LINE);
	}
	if (notification_id != NULL) {
		sb_puts(b, " · notification ");
		sb_text(b, notification_id, TXT_ESC | TXT_LINE);
	}
	sb_clip(b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
	return add_context(blocks, b);
}

char *
notify_slack_body(const struct notify_view *v)
{
	const struct notify_sev *sev;
	struct sb b = { NULL, 0, 0, 0 }, text = { NULL, 0, 0, 0 };
	json_t *blocks = NULL, *fields;
	const char *name;
	char *out = NULL;
	int resolved;

	if (!view_valid(v))
		return NULL;
	resolved = strcmp(v->kind, "resolved") == 0;
	sev = sev_find(v->signal.severity);
	name = v->account.name != NULL && *v->account.name != '\0' ?
	    v->account.name : v->account.id;

	/* The fallback line, for notifications and clients without blocks. */
	if (resolved)
		sb_puts(&text, RESOLVED_CODE " [resolved] ");
	else {
		sb_printf(&text, "%s [", sev->code);
		sb_text(&text, v->signal.severity != NULL ?
		    v->signal.severity : "alert", TXT_ESC | TXT_LINE);
		if (v->escalated)
			sb_puts(&text, ", escalated");
		else if (v->repeat)
			sb_puts(&text, ", still firing");
		sb_puts(&text, "] ");
	}
	sb_account(&text, v->account.name, v->account.id, TXT_ESC | TXT_LINE);
	sb_puts(&text, ": ");
	sb_text(&text, v->signal.name, TXT_ESC | TXT_LINE);
	if (v->explanation != NULL && *v->explanation != '\0') {
		sb_puts(&text, " — ");
		sb_text(&text, v->explanation, TXT_ESC | TXT_LINE);
	}
	if (v->renewal_at != 0 && !resolved)
		sb_printf(&text, " — renews in %d %s", v->renewal_days,
		    v->renewal_days == 1 ? "day" : "days");
	sb_clip(&text, 0, NOTIFY_SLACK_MAX_TEXT, 1);

	if ((blocks = json_array()) == NULL)
		goto fail;

	/* Header: plain_text, so nothing to escape. */
	if (resolved)
		sb_puts(&b, RESOLVED_ICON " Resolved: ");
	else {
		sb_printf(&b, "%s ", sev->icon);
		if (v->escalated)
			sb_puts(&b, "Escalated: ");
		else if (v->repeat)
			sb_puts(&b, "Still firing: ");
	}
	sb_text(&b, v->signal.name, TXT_LINE);
	sb_puts(&b, " — ");
	sb_text(&b, name, TXT_LINE);
	sb_clip(&b, 0, NOTIFY_SLACK_MAX_HEADER, 0);
	if (add_header(blocks, &b) == -1)
		goto fail;

	if ((fields = slack_fields(v, &b)) == NULL ||
	    json_array_append_new(blocks, json_pack("{s:s, s:o}",
	    "type", "section", "fields", fields)) == -1)
		goto fail;

	if (add_explanation(blocks, v, &b) == -1)
		goto fail;

	if (v->health.decomposition != NULL &&
	    *v->health.decomposition != '\0') {
		sb_reset(&b);
		sb_puts(&b, "*Score:* ");
		sb_text(&b, v->health.decomposition, TXT_ESC);
		sb_clip(&b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
		if (add_section(blocks, &b) == -1)
			goto fail;
	}

	if (add_play_and_ids(blocks, &b, v->play, v->alert_id, v->fingerprint,
	    v->notification_id) == -1)
		goto fail;

	out = slack_payload(v->account.slack_channel, &text, blocks);
	blocks = NULL;
fail:
	json_decref(blocks);
	sb_free(&b);
	sb_free(&text);
	return out;
}

/* ---- the portfolio alert ---- */

#define PORTFOLIO_LIST_MAX	2800	/* bytes of the account list */

static int
portfolio_valid(const struct notify_portfolio *v)
{
	size_t i;

	if (v == NULL || v->kind == NULL || v->key == NULL ||
	    v->key_kind == NULL || (v->accounts == NULL && v->naccounts > 0))
		return 0;
	for (i = 0; i < v->naccounts; i++)
		if (v->accounts[i].id == NULL)
			return 0;
	return strcmp(v->kind, "firing") == 0 ||
	    strcmp(v->kind, "resolved") == 0;
}

char *
notify_portfolio_webhook(const struct notify_portfolio *v)
{
	json_t *accounts;
	char id[24];
	size_t i;

	if (!portfolio_valid(v) || (accounts = json_array()) == NULL)
		return NULL;
	for (i = 0; i < v->naccounts; i++)
		if (json_array_append_new(accounts, json_pack("{s:o, s:o, s:I}",
		    "id", jstr(v->accounts[i].id),
		    "name", jstr(v->accounts[i].name),
		    "count", (json_int_t)v->accounts[i].count)) == -1) {
			json_decref(accounts);
			return NULL;
		}
	(void)snprintf(id, sizeof(id), "%" PRIu64, v->alert_id);
	return dump(json_pack("{s:i, s:s, s:s, s:s,"
	    " s:o, s:o, s:o, s:{s:s, s:s, s:n, s:o}, s:o, s:o,"
	    " s:{s:I, s:i, s:i}, s:o, s:o, s:o, s:o, s:o}",
	    "version", 1,
	    "type", "portfolio",
	    "alert_id", id,
	    "status", v->kind,
	    "key", jstr(v->key),
	    "kind", jstr(v->key_kind),
	    "value", jstr(v->key_value),
	    "signal",
		"name", "portfolio",
		"category", "portfolio",
		"tier",
		"severity", jstr(v->severity),
	    "explanation", jstr(v->explanation),
	    "accounts", accounts,
	    "evidence",
		"accounts", (json_int_t)v->naccounts,
		"days", (int)v->days,
		"threshold", (int)v->min_accounts,
	    "started_at", jtime(v->started_at),
	    "resolved_at", jtime(v->resolved_at),
	    "play", jstr(v->play),
	    "fingerprint", jstr(v->fingerprint),
	    "notification_id", jstr(v->notification_id)));
}

/* The accounts, one per line, as far as PORTFOLIO_LIST_MAX goes. */
static void
sb_portfolio_accounts(struct sb *b, const struct notify_portfolio *v)
{
	struct sb line = { NULL, 0, 0, 0 };
	size_t i;

	sb_puts(b, "*Accounts:*");
	for (i = 0; i < v->naccounts; i++) {
		sb_reset(&line);
		sb_puts(&line, "\n• ");
		sb_account(&line, v->accounts[i].name, v->accounts[i].id,
		    TXT_ESC | TXT_LINE);
		sb_printf(&line, " — %u", v->accounts[i].count);
		if (line.err) {
			b->err = 1;
			break;
		}
		/* Bytes bound UTF-16 units from above: within Slack's. */
		if (b->len + line.len > PORTFOLIO_LIST_MAX) {
			sb_printf(b, "\n… and %zu more", v->naccounts - i);
			break;
		}
		sb_add(b, line.s, line.len);
	}
	if (v->naccounts == 0)
		sb_puts(b, " _none now_");
	sb_free(&line);
}

char *
notify_portfolio_slack(const struct notify_portfolio *v)
{
	const struct notify_sev *sev;
	struct sb b = { NULL, 0, 0, 0 }, text = { NULL, 0, 0, 0 },
	    t = { NULL, 0, 0, 0 };
	json_t *blocks = NULL, *fields = NULL;
	char *out = NULL;
	int resolved, rc = 0;

	if (!portfolio_valid(v))
		return NULL;
	resolved = strcmp(v->kind, "resolved") == 0;
	sev = sev_find(v->severity);

	/* The fallback line, also what a group lists. */
	if (resolved)
		sb_puts(&text, RESOLVED_CODE " [resolved] ");
	else {
		sb_printf(&text, "%s [", sev->code);
		sb_text(&text, v->severity != NULL ? v->severity : "alert",
		    TXT_ESC | TXT_LINE);
		if (v->repeat)
			sb_puts(&text, ", still firing");
		sb_puts(&text, "] ");
	}
	sb_puts(&text, "portfolio: ");
	sb_text(&text, v->explanation != NULL && *v->explanation != '\0' ?
	    v->explanation : v->key, TXT_ESC | TXT_LINE);
	sb_clip(&text, 0, NOTIFY_SLACK_MAX_TEXT, 1);

	if ((blocks = json_array()) == NULL)
		goto fail;
	if (resolved)
		sb_puts(&b, RESOLVED_ICON " Resolved: ");
	else {
		sb_printf(&b, "%s ", sev->icon);
		if (v->repeat)
			sb_puts(&b, "Still firing: ");
	}
	sb_puts(&b, "portfolio trend — ");
	sb_text(&b, v->key_value != NULL ? v->key_value : v->key, TXT_LINE);
	sb_clip(&b, 0, NOTIFY_SLACK_MAX_HEADER, 0);
	if (add_header(blocks, &b) == -1)
		goto fail;

	/* Signal and Severity as an alert has them (brief_slack reads). */
	if ((fields = json_array()) == NULL)
		goto fail;
	rc |= add_field(fields, &b, "Signal", "portfolio (portfolio)", 0);
	rc |= add_field(fields, &b, "Severity", v->severity != NULL ?
	    v->severity : "—", TXT_ESC | TXT_LINE);
	rc |= add_field(fields, &b, "Key", v->key, TXT_ESC | TXT_LINE);
	sb_printf(&t, "%zu in %u days (threshold %u)", v->naccounts,
	    v->days, v->min_accounts);
	rc |= add_field(fields, &b, "Accounts", t.s, 0);
	if (v->started_at != 0) {
		sb_reset(&t);
		sb_time(&t, v->started_at);
		rc |= add_field(fields, &b, "Started", t.s, 0);
	}
	if (v->resolved_at != 0) {
		sb_reset(&t);
		sb_time(&t, v->resolved_at);
		rc |= add_field(fields, &b, "Resolved", t.s, 0);
	}
	if (rc != 0 || t.err || b.err)
		goto fail;
	/* json_pack steals fields, also when it fails. */
	rc = json_array_append_new(blocks, json_pack("{s:s, s:o}",
	    "type", "section", "fields", fields));
	fields = NULL;
	if (rc == -1)
		goto fail;

	if (v->explanation != NULL && *v->explanation != '\0') {
		sb_reset(&b);
		sb_text(&b, v->explanation, TXT_ESC);
		sb_clip(&b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
		if (add_section(blocks, &b) == -1)
			goto fail;
	}
	sb_reset(&b);
	sb_portfolio_accounts(&b, v);
	sb_clip(&b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
	if (add_section(blocks, &b) == -1)
		goto fail;
	if (add_play_and_ids(blocks, &b, v->play, v->alert_id, v->fingerprint,
	    v->notification_id) == -1)
		goto fail;

	out = slack_payload(NULL, &text, blocks);
	blocks = NULL;
fail:
	json_decref(fields);
	json_decref(blocks);
	sb_free(&b);
	sb_free(&t);
	sb_free(&text);
	return out;
}

/* ---- the digest ---- */

static int
digest_valid(const char *date, const struct notify_digest_row *r, size_t n)
{
	size_t i;

	if (date == NULL || (r == NULL && n > 0))
		return 0;
	for (i = 0; i < n; i++)
		if (r[i].account_id == NULL ||
		    (r[i].signals == NULL && r[i].nsignals > 0))
			return 0;
	return 1;
}

char *
notify_digest_slack(const char *owner, const char *date,
    const struct notify_digest_row *r, size_t n)
{
	return notify_digest_check_slack(owner, date, r, NULL, n);
}

/* "-40 %" or "+12 %" of now against before; "" when before is 0. */
static void
sb_change(struct sb *b, uint64_t now, uint64_t before)
{
	double pct;

	if (before == 0)
		return;
	pct = ((double)now - (double)before) * 100.0 / (double)before;
	sb_printf(b, ", %s%.0f %% vs the 30 d before", pct >= 0 ? "+" : "",
	    pct);
}

/* The lines of an account's five-minute check. */
static void
sb_check(struct sb *b, const struct notify_digest_check *c)
{
	size_t j;

	if (c->nnew > 0 || c->nresolved > 0) {
		sb_puts(b, "\n*Since yesterday:*");
		if (c->nnew > 0)
			sb_puts(b, " new ");
		for (j = 0; j < c->nnew; j++) {
			if (j > 0)
				sb_puts(b, ", ");
			sb_text(b, c->new_signals[j], TXT_ESC | TXT_LINE);
		}
		if (c->nnew > 0 && c->nresolved > 0)
			sb_puts(b, " ·");
		if (c->nresolved > 0)
			sb_puts(b, " resolved ");
		for (j = 0; j < c->nresolved; j++) {
			if (j > 0)
				sb_puts(b, ", ");
			sb_text(b, c->resolved[j], TXT_ESC | TXT_LINE);
		}
	}
	sb_puts(b, "\n*Last touchpoint:* ");
	if (c->touch_days < 0)
		sb_puts(b, "none");
	else if (c->touch_days == 0)
		sb_puts(b, "today");
	else
		sb_printf(b, "%d day%s ago", c->touch_days,
		    c->touch_days == 1 ? "" : "s");
	sb_printf(b, " · *Usage:* %" PRIu64 " login%s in 30 d", c->logins_30d,
	    c->logins_30d == 1 ? "" : "s");
	sb_change(b, c->logins_30d, c->logins_prev_30d);
	if (c->renewal_days >= 0)
		sb_printf(b, " · *Renews in %d day%s*", c->renewal_days,
		    c->renewal_days == 1 ? "" : "s");
	if (c->note_phrase != NULL) {
		sb_printf(b, "\n*Risk note* (%d day%s ago): “", c->note_days,
		    c->note_days == 1 ? "" : "s");
		sb_text(b, c->note_phrase, TXT_ESC | TXT_LINE);
		sb_puts(b, "”");
		if (c->note_class != NULL) {
			sb_puts(b, " (");
			sb_text(b, c->note_class, TXT_ESC | TXT_LINE);
			sb_puts(b, ")");
		}
	}
}

char *
notify_digest_check_slack(const char *owner, const char *date,
    const struct notify_digest_row *r, const struct notify_digest_check *c,
    size_t n)
{
	struct sb b = { NULL, 0, 0, 0 }, text = { NULL, 0, 0, 0 };
	json_t *blocks = NULL;
	char *out = NULL;
	size_t i, j, shown;

	if (!digest_valid(date, r, n))
		return NULL;
	if (owner != NULL && *owner == '\0')
		owner = NULL;

	sb_puts(&text, "Churn digest for ");
	sb_text(&text, owner != NULL ? owner : "unowned accounts",
	    TXT_ESC | TXT_LINE);
	sb_puts(&text, ", ");
	sb_text(&text, date, TXT_ESC | TXT_LINE);
	sb_printf(&text, ": %zu account%s to review", n, n == 1 ? "" : "s");
	sb_clip(&text, 0, NOTIFY_SLACK_MAX_TEXT, 1);

	if ((blocks = json_array()) == NULL)
		goto fail;

	sb_puts(&b, DIGEST_ICON " Churn digest — ");
	sb_text(&b, owner != NULL ? owner : "unowned accounts", TXT_LINE);
	sb_puts(&b, " — ");
	sb_text(&b, date, TXT_LINE);
	sb_clip(&b, 0, NOTIFY_SLACK_MAX_HEADER, 0);
	if (add_header(blocks, &b) == -1)
		goto fail;

	if (n == 0) {
		sb_reset(&b);
		sb_puts(&b, "No accounts to review today.");
		if (add_section(blocks, &b) == -1)
			goto fail;
	}

	/* One section per account, then a count of the rest. */
	shown = n < NOTIFY_DIGEST_SLACK_ROWS ? n : NOTIFY_DIGEST_SLACK_ROWS;
	for (i = 0; i < shown; i++) {
		sb_reset(&b);
		sb_printf(&b, "%s *", status_icon(r[i].status));
		sb_text(&b, r[i].name != NULL && *r[i].name != '\0' ?
		    r[i].name : r[i].account_id, TXT_ESC | TXT_LINE);
		sb_puts(&b, "*");
		if (r[i].name != NULL && *r[i].name != '\0') {
			sb_puts(&b, " (");
			sb_text(&b, r[i].account_id, TXT_ESC | TXT_LINE);
			sb_puts(&b, ")");
		}
		sb_printf(&b, " — %d", r[i].score);
		if (r[i].status != NULL) {
			sb_puts(&b, " ");
			sb_text(&b, r[i].status, TXT_ESC | TXT_LINE);
		}
		sb_puts(&b, "\n");
		if (r[i].nsignals == 0)
			sb_puts(&b, "_no active signals_");
		for (j = 0; j < r[i].nsignals; j++) {
			if (j > 0)
				sb_puts(&b, ", ");
			sb_text(&b, r[i].signals[j], TXT_ESC | TXT_LINE);
		}
		if (c != NULL)
			sb_check(&b, &c[i]);
		sb_clip(&b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
		if (add_section(blocks, &b) == -1)
			goto fail;
	}
	if (shown < n) {
		sb_reset(&b);
		sb_printf(&b, "… and %zu more account%s", n - shown,
		    n - shown == 1 ? "" : "s");
		if (add_context(blocks, &b) == -1)
			goto fail;
	}

	out = slack_payload(NULL, &text, blocks);
	blocks = NULL;
fail:
	json_decref(blocks);
	sb_free(&b);
	sb_free(&text);
	return out;
}

char *
notify_digest_webhook(const char *owner, const char *date,
    const struct notify_digest_row *r, size_t n)
{
	return notify_digest_check_webhook(owner, date, r, NULL, n);
}

static json_t *
jnames(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

static json_t *
check_json(const struct notify_digest_check *c)
{
	json_t *usage, *note;

	usage = json_pack("{s:I, s:I, s:o}", "logins_30d",
	    (json_int_t)c->logins_30d, "logins_prev_30d",
	    (json_int_t)c->logins_prev_30d, "change_pct",
	    c->logins_prev_30d > 0 ? json_integer((json_int_t)(
	    ((double)c->logins_30d - (double)c->logins_prev_30d) * 100.0 /
	    (double)c->logins_prev_30d)) : json_null());
	note = c->note_phrase == NULL ? json_null() : json_pack(
	    "{s:o, s:o, s:i}", "phrase", jstr(c->note_phrase), "class",
	    jstr(c->note_class), "days", c->note_days);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
	    "new_signals", jnames(c->new_signals, c->nnew),
	    "resolved_signals", jnames(c->resolved, c->nresolved),
	    "days_since_touchpoint", c->touch_days >= 0 ?
	    json_integer(c->touch_days) : json_null(),
	    "usage", usage,
	    "renewal_days", c->renewal_days >= 0 ?
	    json_integer(c->renewal_days) : json_null(),
	    "risk_note", note);
}

char *
notify_digest_check_webhook(const char *owner, const char *date,
    const struct notify_digest_row *r, const struct notify_digest_check *c,
    size_t n)
{
	json_t *accounts, *sigs, *row;
	size_t i, j;

	if (!digest_valid(date, r, n))
		return NULL;
	if (owner != NULL && *owner == '\0')
		owner = NULL;
	if ((accounts = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((sigs = json_array()) == NULL)
			goto fail;
		for (j = 0; j < r[i].nsignals; j++)
			if (json_array_append_new(sigs,
			    jstr(r[i].signals[j])) == -1) {
				json_decref(sigs);
				goto fail;
			}
		row = json_pack("{s:o, s:o, s:i, s:o, s:o}",
		    "id", jstr(r[i].account_id),
		    "name", jstr(r[i].name),
		    "score", r[i].score,
		    "status", jstr(r[i].status),
		    "signals", sigs);
		if (row != NULL && c != NULL)
			json_object_set_new(row, "check", check_json(&c[i]));
		if (json_array_append_new(accounts, row) == -1)
			goto fail;
	}
	return dump(json_pack("{s:i, s:s, s:o, s:o, s:o}",
	    "version", 1,
	    "type", "digest",
	    "owner", jstr(owner),
	    "date", jstr(date),
	    "accounts", accounts));
fail:
	json_decref(accounts);
	return NULL;
}

/* ---- grouping ---- */

/* The rank of a member: severity first, then firing before resolved. */
static int
brief_rank(const char *severity, int resolved)
{
	return (int)(sev_find(severity) - notify_sevs) * 2 + (resolved != 0);
}

/* A copy of the word after prefix in a Slack field text, up to stop. */
static char *
field_word(const char *text, const char *prefix, const char *stop)
{
	size_t n = strlen(prefix), len;

	if (text == NULL || strncmp(text, prefix, n) != 0)
		return NULL;
	text += n;
	len = strcspn(text, stop);
	return strndup(text, len);
}

/* From a body of notify_slack_body(). */
static int
brief_slack(json_t *root, struct notify_brief *b)
{
	struct sb line = { NULL, 0, 0, 0 };
	const char *text, *ft;
	char *severity = NULL;
	json_t *blk, *fields, *f;
	size_t i, j;

	if ((text = json_string_value(json_object_get(root, "text"))) ==
	    NULL)
		return -1;
	json_array_foreach(json_object_get(root, "blocks"), i, blk) {
		fields = json_object_get(blk, "fields");
		json_array_foreach(fields, j, f) {
			ft = json_string_value(json_object_get(f, "text"));
			if (b->signal == NULL)
				b->signal = field_word(ft, "*Signal*\n", " \n");
			if (severity == NULL)
				severity = field_word(ft, "*Severity*\n",
				    " \n");
		}
	}
	b->rank = brief_rank(severity, strncmp(text, RESOLVED_CODE,
	    strlen(RESOLVED_CODE)) == 0);
	free(severity);
	/* The fallback text is escaped mrkdwn already: as it is. */
	sb_puts(&line, text);
	sb_clip(&line, 0, NOTIFY_GROUP_LINE_MAX, 1);
	if (line.err || b->signal == NULL) {
		sb_free(&line);
		return -1;
	}
	b->line = line.s;
	if ((text = json_string_value(json_object_get(root, "channel"))) !=
	    NULL && (b->channel = strdup(text)) == NULL)
		return -1;
	return 0;
}

/*
 * From a body of notify_webhook_body() or notify_portfolio_webhook()
 * (which names no account): the Slack fallback line again.
 */
static int
brief_webhook(json_t *root, struct notify_brief *b)
{
	struct sb line = { NULL, 0, 0, 0 };
	const char *status, *sev, *signal, *expl;
	json_t *acct, *sig;
	int resolved, portfolio;

	acct = json_object_get(root, "account");
	sig = json_object_get(root, "signal");
	status = json_string_value(json_object_get(root, "status"));
	signal = json_string_value(json_object_get(sig, "name"));
	sev = json_string_value(json_object_get(sig, "severity"));
	expl = json_string_value(json_object_get(root, "explanation"));
	portfolio = json_is_string(json_object_get(root, "type")) &&
	    strcmp(json_string_value(json_object_get(root, "type")),
	    "portfolio") == 0;
	if (status == NULL || signal == NULL || (!portfolio &&
	    json_string_value(json_object_get(acct, "id")) == NULL))
		return -1;
	resolved = strcmp(status, "resolved") == 0;
	b->rank = brief_rank(sev, resolved);
	if (resolved)
		sb_puts(&line, RESOLVED_CODE " [resolved] ");
	else {
		sb_printf(&line, "%s [", sev_find(sev)->code);
		sb_text(&line, sev != NULL ? sev : "alert", TXT_ESC | TXT_LINE);
		sb_puts(&line, "] ");
	}
	if (!portfolio) {
		sb_account(&line, json_string_value(json_object_get(acct,
		    "name")), json_string_value(json_object_get(acct, "id")),
		    TXT_ESC | TXT_LINE);
		sb_puts(&line, ": ");
	}
	sb_text(&line, signal, TXT_ESC | TXT_LINE);
	if (expl != NULL && *expl != '\0') {
		sb_puts(&line, " — ");
		sb_text(&line, expl, TXT_ESC | TXT_LINE);
	}
	sb_clip(&line, 0, NOTIFY_GROUP_LINE_MAX, 1);
	if (line.err || (b->signal = strdup(signal)) == NULL) {
		sb_free(&line);
		return -1;
	}
	b->line = line.s;
	return 0;
}

int
notify_brief_parse(const char *body, struct notify_brief *b)
{
	json_t *root;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	if (body == NULL || (root = json_loads(body, 0, NULL)) == NULL)
		return -1;
	if (json_is_object(root))
		rc = json_is_array(json_object_get(root, "blocks")) ?
		    brief_slack(root, b) : brief_webhook(root, b);
	json_decref(root);
	if (rc == -1)
		notify_brief_clear(b);
	return rc;
}

void
notify_brief_clear(struct notify_brief *b)
{
	free(b->signal);
	free(b->line);
	free(b->channel);
	memset(b, 0, sizeof(*b));
}

/* n with thousands separators: 4,955. */
static void
sb_count(struct sb *b, size_t n)
{
	char buf[32];
	size_t len, i;

	len = (size_t)snprintf(buf, sizeof(buf), "%zu", n);
	for (i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			sb_puts(b, ",");
		sb_add(b, buf + i, 1);
	}
}

/* "300 notifications: 120 critical, 100 warning, 80 resolved" */
static void
sb_summary(struct sb *b, const struct notify_brief *const *m, size_t n)
{
	size_t nsev = sizeof(notify_sevs) / sizeof(notify_sevs[0]);
	size_t count[sizeof(notify_sevs) / sizeof(notify_sevs[0])], resolved;
	size_t i;
	int first = 1;

	memset(count, 0, sizeof(count));
	resolved = 0;
	for (i = 0; i < n; i++) {
		if (m[i]->rank % 2 == 1)
			resolved++;
		else if ((size_t)m[i]->rank / 2 < nsev)
			count[m[i]->rank / 2]++;
	}
	sb_count(b, n);
	sb_puts(b, n == 1 ? " notification:" : " notifications:");
	for (i = 0; i < nsev; i++) {
		if (count[i] == 0)
			continue;
		sb_puts(b, first ? " " : ", ");
		sb_count(b, count[i]);
		sb_printf(b, " %s", notify_sevs[i].name != NULL ?
		    notify_sevs[i].name : "other");
		first = 0;
	}
	if (resolved > 0) {
		sb_puts(b, first ? " " : ", ");
		sb_count(b, resolved);
		sb_puts(b, " resolved");
	}
}

char *
notify_group_summary(const struct notify_brief *const *m, size_t n)
{
	struct sb b = { NULL, 0, 0, 0 };

	if (m == NULL || n == 0)
		return NULL;
	sb_summary(&b, m, n);
	if (b.err) {
		sb_free(&b);
		return NULL;
	}
	return b.s;
}

struct ranked {
	const struct notify_brief	*b;
	size_t				 i;	/* arrival order */
};

static int
ranked_cmp(const void *p, const void *q)
{
	const struct ranked *a = p, *b = q;

	if (a->b->rank != b->b->rank)
		return a->b->rank < b->b->rank ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

struct sigcount {
	const char	*name;
	size_t		 n;
};

static int
sigcount_cmp(const void *p, const void *q)
{
	const struct sigcount *a = p, *b = q;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* "… and 4,955 more: 3,900 seat_underuse, 1,055 no_touch" */
static int
sb_more(struct sb *b, const struct ranked *r, size_t n)
{
	struct sigcount *c;
	size_t i, j, nc = 0;

	if ((c = calloc(n, sizeof(*c))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < nc; j++)
			if (strcmp(c[j].name, r[i].b->signal) == 0)
				break;
		if (j == nc)
			c[nc++].name = r[i].b->signal;
		c[j].n++;
	}
	qsort(c, nc, sizeof(*c), sigcount_cmp);
	sb_puts(b, ELLIPSIS " and ");
	sb_count(b, n);
	sb_puts(b, " more:");
	for (j = 0; j < nc; j++) {
		sb_puts(b, j == 0 ? " " : ", ");
		sb_count(b, c[j].n);
		sb_puts(b, " ");
		sb_text(b, c[j].name, TXT_ESC | TXT_LINE);
	}
	free(c);
	sb_clip(b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
	return 0;
}

char *
notify_group_slack(const struct notify_brief *const *m, size_t n)
{
	struct sb b = { NULL, 0, 0, 0 }, text = { NULL, 0, 0, 0 };
	struct ranked *r = NULL;
	json_t *blocks = NULL;
	const char *icon;
	char *out = NULL;
	size_t i, shown;

	if (m == NULL || n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		if (m[i] == NULL || m[i]->line == NULL || m[i]->signal == NULL)
			return NULL;
	if ((r = calloc(n, sizeof(*r))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		r[i].b = m[i];
		r[i].i = i;
	}
	qsort(r, n, sizeof(*r), ranked_cmp);

	sb_summary(&text, m, n);
	sb_clip(&text, 0, NOTIFY_SLACK_MAX_TEXT, 1);
	if ((blocks = json_array()) == NULL)
		goto fail;

	/* Header: the worst member's icon, then the counts. */
	icon = r[0].b->rank % 2 == 1 ? RESOLVED_ICON :
	    notify_sevs[(size_t)r[0].b->rank / 2 <
	    sizeof(notify_sevs) / sizeof(notify_sevs[0]) ?
	    r[0].b->rank / 2 : 0].icon;
	sb_printf(&b, "%s ", icon);
	sb_summary(&b, m, n);
	sb_clip(&b, 0, NOTIFY_SLACK_MAX_HEADER, 0);
	if (add_header(blocks, &b) == -1)
		goto fail;

	shown = n < NOTIFY_GROUP_SLACK_ROWS ? n : NOTIFY_GROUP_SLACK_ROWS;
	for (i = 0; i < shown; i++) {
		sb_reset(&b);
		sb_puts(&b, r[i].b->line);
		sb_clip(&b, 0, NOTIFY_SLACK_MAX_TEXT, 1);
		if (add_section(blocks, &b) == -1)
			goto fail;
	}
	if (shown < n) {
		sb_reset(&b);
		if (sb_more(&b, r + shown, n - shown) == -1 ||
		    add_context(blocks, &b) == -1)
			goto fail;
	}
	out = slack_payload(m[0]->channel, &text, blocks);
	blocks = NULL;
fail:
	json_decref(blocks);
	sb_free(&b);
	sb_free(&text);
	free(r);
	return out;
}

char *
notify_group_webhook(const char *const *bodies, size_t n)
{
	struct sb b = { NULL, 0, 0, 0 };
	size_t i;

	if (bodies == NULL || n == 0)
		return NULL;
	sb_puts(&b, "[");
	for (i = 0; i < n; i++) {
		if (bodies[i] == NULL) {
			sb_free(&b);
			return NULL;
		}
		if (i > 0)
			sb_puts(&b, ",");
		sb_puts(&b, bodies[i]);
	}
	sb_puts(&b, "]");
	if (b.err) {
		sb_free(&b);
		return NULL;
	}
	return b.s;
}

void
notify_group_init(struct notify_group *g, int64_t wait, unsigned max)
{
	memset(g, 0, sizeof(*g));
	g->wait = wait > 0 ? wait : 0;
	g->max = max;
	g->allow = max;
}

int
notify_group_admit(struct notify_group *g, int64_t now)
{
	if (g->wait == 0)
		return 1;
	/* A window that held nothing just lapses; else the timer closes it. */
	if (g->end != 0 && now >= g->end && !g->held)
		g->end = 0;
	if (g->end == 0) {
		g->end = now + g->wait;
		g->allow = g->max;
		g->sent = 0;
	}
	if (g->sent < g->allow) {
		g->sent++;
		return 1;
	}
	g->held = 1;
	return 0;
}

int64_t
notify_group_due(const struct notify_group *g)
{
	return g->held ? g->end : 0;
}

int
notify_group_close(struct notify_group *g, int64_t now)
{
	if (!g->held) {
		if (g->end != 0 && now >= g->end)
			g->end = 0;
		return 0;
	}
	/* The burst goes on: the next window sends nothing at once. */
	g->held = 0;
	g->end = now + g->wait;
	g->allow = 0;
	g->sent = 0;
	return 1;
}

/* ---- signature ---- */

int
notify_sign(const char *secret, const char *body, size_t len, int64_t t,
    char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE], *msg;
	unsigned int mdlen = 0;
	char prefix[32];
	size_t klen, plen, i;
	int n, rc = -1;

	if (secret == NULL || (body == NULL && len > 0) || out == NULL)
		return -1;
	if ((klen = strlen(secret)) > INT32_MAX)
		return -1;
	n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
	if (n < 0 || (size_t)n >= sizeof(prefix))
		return -1;
	plen = (size_t)n;
	/* HMAC() is one-shot and not deprecated in OpenSSL 3: one buffer. */
	if (len > SIZE_MAX - plen || (msg = malloc(plen + len + 1)) == NULL)
		return -1;
	memcpy(msg, prefix, plen);
	if (len > 0)
		memcpy(msg + plen, body, len);
	if (HMAC(EVP_sha256(), secret, (int)klen, msg, plen + len, md,
	    &mdlen) == NULL)
		goto fail;
	/* "t=" + digits + ",v1=" + hex */
	if (outlen < 2 + (plen - 1) + 4 + 2 * (size_t)mdlen + 1)
		goto fail;
	n = snprintf(out, outlen, "t=%lld,v1=", (long long)t);
	for (i = 0; i < mdlen; i++)
		(void)snprintf(out + n + 2 * i, 3, "%02x", md[i]);
	rc = 0;
fail:
	free(msg);
	return rc;
}

/* ---- pacing ---- */

/* Forgives float rounding so the wait returned is always enough. */
#define PACE_EPSILON	1e-9

void
notify_pace_init(struct notify_pace *p, double rate, unsigned burst,
    int64_t now)
{
	p->rate = rate;
	p->burst = burst > 0 ? (double)burst : 1.0;
	p->tokens = p->burst;
	p->last = now;
}

int64_t
notify_pace_take(struct notify_pace *p, int64_t now)
{
	double need;
	int64_t wait;

	if (p->rate <= 0)
		return 0;
	/* A clock that went back refills nothing. */
	if (now > p->last) {
		p->tokens += (double)(now - p->last) * p->rate /
		    (double)CW_USEC_PER_SEC;
		if (p->tokens > p->burst)
			p->tokens = p->burst;
		p->last = now;
	}
	if (p->tokens >= 1.0 - PACE_EPSILON) {
		p->tokens -= 1.0;
		if (p->tokens < 0)
			p->tokens = 0;
		return 0;
	}
	/* Aim half an epsilon past the bar, so the wait is always enough. */
	need = (1.0 - PACE_EPSILON / 2 - p->tokens) *
	    (double)CW_USEC_PER_SEC / p->rate;
	if (need >= (double)(INT64_MAX / 2))
		return INT64_MAX / 2;
	wait = (int64_t)need;
	if ((double)wait < need)
		wait++;
	return wait > 0 ? wait : 1;
}

/* ---- retries ---- */

int64_t
notify_backoff(int attempt, uint32_t rnd)
{
	int64_t base;

	if (attempt < 1)
		attempt = 1;
	/* 2^19 s is past the cap already; no shift overflows. */
	if (attempt > 20)
		base = NOTIFY_BACKOFF_MAX;
	else {
		base = CW_USEC_PER_SEC << (attempt - 1);
		if (base > NOTIFY_BACKOFF_MAX)
			base = NOTIFY_BACKOFF_MAX;
	}
	/* [0.75 base, 1.25 base): rnd / 2^32 of half the base on top. */
	return base - base / 4 +
	    (int64_t)(((uint64_t)base * rnd) >> 32) / 2;
}

enum notify_result
notify_classify(long http_status, int transport_error, int is_slack)
{
	size_t i;

	/* No response at all (refused, DNS, TLS, timeout): try again. */
	if (transport_error != 0 || http_status < 100)
		return NOTIFY_RETRY;
	for (i = 0; i < sizeof(notify_classes) / sizeof(notify_classes[0]);
	    i++)
		if (http_status >= notify_classes[i].lo &&
		    http_status <= notify_classes[i].hi)
			return notify_classes[i].result;
	/* Slack's 404/410 land here too: see notify_gone(). */
	return NOTIFY_PERMANENT;
}

int
notify_gone(long http_status, int is_slack)
{
	return is_slack && (http_status == 404 || http_status == 410);
}

/* ---- Retry-After ---- */

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char *const day_names[7][2] = {
	{ "Mon", "Monday" }, { "Tue", "Tuesday" }, { "Wed", "Wednesday" },
	{ "Thu", "Thursday" }, { "Fri", "Friday" }, { "Sat", "Saturday" },
	{ "Sun", "Sunday" }
};

/* A cursor over the header value: each step fails once, then stays. */
struct scan {
	const char	*p;
	const char	*end;
	int		 bad;
};

static void
scan_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->bad || (size_t)(s->end - s->p) < n ||
	    strncasecmp(s->p, lit, n) != 0)
		s->bad = 1;
	else
		s->p += n;
}

/* Exactly digits digits; a leading space stands for a 0 if sp. */
static int
scan_num(struct scan *s, int digits, int sp)
{
	int i, v = 0;

	if (s->bad || s->end - s->p < digits) {
		s->bad = 1;
		return 0;
	}
	for (i = 0; i < digits; i++) {
		if (i == 0 && sp && s->p[i] == ' ')
			continue;
		if (s->p[i] < '0' || s->p[i] > '9') {
			s->bad = 1;
			return 0;
		}
		v = v * 10 + (s->p[i] - '0');
	}
	s->p += digits;
	return v;
}

static int
scan_month(struct scan *s)
{
	int m;

	for (m = 0; m < 12; m++)
		if (s->end - s->p >= 3 &&
		    strncasecmp(s->p, month_names[m], 3) == 0) {
			s->p += 3;
			return m + 1;
		}
	s->bad = 1;
	return 0;
}

/* A day name, short (3 letters) or long, followed by what. */
static void
scan_day(struct scan *s, int longname)
{
	size_t d, n;

	for (d = 0; d < 7; d++) {
		n = strlen(day_names[d][longname]);
		if ((size_t)(s->end - s->p) >= n &&
		    strncasecmp(s->p, day_names[d][longname], n) == 0) {
			s->p += n;
			return;
		}
	}
	s->bad = 1;
}

static void
scan_clock(struct scan *s, int *hh, int *mm, int *ss)
{
	*hh = scan_num(s, 2, 0);
	scan_lit(s, ":");
	*mm = scan_num(s, 2, 0);
	scan_lit(s, ":");
	*ss = scan_num(s, 2, 0);
}

/*
 * An HTTP-date (RFC 9110 5.6.7) in any of its three forms:
 *	Sun, 06 Nov 1994 08:49:37 GMT	(IMF-fixdate)
 *	Sunday, 06-Nov-94 08:49:37 GMT	(obsolete RFC 850)
 *	Sun Nov  6 08:49:37 1994	(obsolete asctime)
 */
static int
parse_http_date(const char *p, const char *end, int64_t *us)
{
	struct scan s = { p, end, 0 };
	char buf[32];
	int y, mon, d, hh, mm, ss;

	if (memchr(p, ',', (size_t)(end - p)) == NULL) {
		scan_day(&s, 0);
		scan_lit(&s, " ");
		mon = scan_month(&s);
		scan_lit(&s, " ");
		d = scan_num(&s, 2, 1);
		scan_lit(&s, " ");
		scan_clock(&s, &hh, &mm, &ss);
		scan_lit(&s, " ");
		y = scan_num(&s, 4, 0);
	} else if (p[3] == ',') {
		scan_day(&s, 0);
		scan_lit(&s, ", ");
		d = scan_num(&s, 2, 0);
		scan_lit(&s, " ");
		mon = scan_month(&s);
		scan_lit(&s, " ");
		y = scan_num(&s, 4, 0);
		scan_lit(&s, " ");
		scan_clock(&s, &hh, &mm, &ss);
		scan_lit(&s, " GMT");
	} else {
		scan_day(&s, 1);
		scan_lit(&s, ", ");
		d = scan_num(&s, 2, 0);
		scan_lit(&s, "-");
		mon = scan_month(&s);
		scan_lit(&s, "-");
		y = scan_num(&s, 2, 0);
		y += y < 70 ? 2000 : 1900;
		scan_lit(&s, " ");
		scan_clock(&s, &hh, &mm, &ss);
		scan_lit(&s, " GMT");
	}
	if (s.bad || s.p != s.end)
		return -1;
	/* util_parse_rfc3339() checks the ranges (Feb 30, hour 24). */
	(void)snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    y, mon, d, hh, mm, ss);
	return util_parse_rfc3339(buf, strlen(buf), us);
}

int64_t
notify_retry_after(const char *value, int64_t now_us)
{
	const char *p, *end;
	char digits[24];
	uint64_t sec;
	int64_t at;
	size_t n;

	if (value == NULL)
		return -1;
	/* Optional white space around the value. */
	p = value;
	end = value + strlen(value);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end)
		return -1;

	if (*p >= '0' && *p <= '9') {
		n = (size_t)(end - p);
		if (n >= sizeof(digits))
			return -1;
		memcpy(digits, p, n);
		digits[n] = '\0';
		if (util_parse_u64(digits, 0,
		    (uint64_t)(INT64_MAX / CW_USEC_PER_SEC), &sec) == -1)
			return -1;
		return (int64_t)sec * CW_USEC_PER_SEC;
	}
	if (end - p < 4 || parse_http_date(p, end, &at) == -1)
		return -1;
	return at > now_us ? at - now_us : 0;
}
