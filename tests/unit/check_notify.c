/*
 * check_notify.c -- unit tests for notify.c: the webhook body and the
 * Slack payload against golden files, Slack's limits (long, multibyte and
 * escaped texts), escaping, the resolved/repeat/escalated variants, the
 * digest, the X-Churnwatch-Signature against vectors computed with
 * openssl(1) and Python's hmac, pacing, backoff, the classification of
 * delivery results and Retry-After, and grouping: the grouped Slack
 * message (golden, limits, order, the "and N more" line), the webhook
 * array and the group_wait/group_max policy.
 *
 * Goldens are compared as parsed JSON (json_equal), so formatting in the
 * files does not matter; key order is checked on the string separately.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

#define USEC		INT64_C(1000000)
/* 2026-11-20T09:30:00Z */
#define T_STARTED	(INT64_C(1795167000) * USEC)
#define T_RESOLVED	(T_STARTED + INT64_C(3600) * 26 * USEC)

static struct notify_view
golden_view(void)
{
	struct notify_view v;

	memset(&v, 0, sizeof(v));
	v.kind = "firing";
	v.alert_id = 42;
	v.notification_id = "n-42-1";
	v.fingerprint = "3f2a9c0d5e7b1a64";
	v.account.id = "acme";
	v.account.name = "Acme Corp";
	v.account.owner = "alice@example.com";
	v.account.segment = "enterprise";
	v.account.slack_channel = "#cs-acme";
	v.signal.name = "ticket_repeat_team";
	v.signal.category = "support";
	v.signal.tier = 1;
	v.signal.severity = "critical";
	v.explanation = "23 tickets from team 'engineering' in category "
	    "'api-latency' in the last 120 days (threshold 10)";
	v.evidence_json = "{\"tickets\": 23, \"team\": \"engineering\", "
	    "\"category\": \"api-latency\", \"days\": 120, \"threshold\": 10}";
	v.health.score = 40;
	v.health.status = "yellow";
	v.health.decomposition = "70 → 40: ticket_repeat_team −30";
	v.started_at = T_STARTED;
	v.play = "Raise the cluster with engineering as one problem; meet "
	    "that team with a fix plan and dates.";
	return v;
}

/* Parse s (which must be valid JSON) and free it. */
static json_t *
parse(char *s)
{
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(s);
	j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		ck_abort_msg("invalid JSON: %s: %s", err.text, s);
	free(s);
	return j;
}

static json_t *
load_golden(const char *name)
{
	char path[512];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		ck_abort_msg("%s: %s", path, err.text);
	return j;
}

static void
assert_json_eq(json_t *got, json_t *want)
{
	char *g, *w;

	if (!json_equal(got, want)) {
		g = json_dumps(got, JSON_INDENT(1));
		w = json_dumps(want, JSON_INDENT(1));
		ck_abort_msg("JSON differs:\n got %s\nwant %s", g, w);
	}
}

/* Characters as Slack may count them: UTF-16 code units. */
static size_t
units(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t u = 0;

	for (; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			u += *p >= 0xf0 ? 2 : 1;
	return u;
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *
text_of(json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "text"));

	ck_assert_ptr_nonnull(s);
	return s;
}

/* The text of the index'th block (header or section). */
static const char *
block_text(json_t *root, size_t i)
{
	json_t *b = json_array_get(json_object_get(root, "blocks"), i);

	ck_assert_ptr_nonnull(b);
	return text_of(json_object_get(b, "text"));
}

static json_t *
find_block(json_t *root, const char *type, size_t nth)
{
	json_t *blocks = json_object_get(root, "blocks"), *b;
	size_t i;

	json_array_foreach(blocks, i, b)
		if (strcmp(json_string_value(json_object_get(b, "type")),
		    type) == 0 && nth-- == 0)
			return b;
	return NULL;
}

/* Every limit of Block Kit that notify.h promises to keep. */
static void
assert_slack_limits(json_t *root)
{
	json_t *blocks, *b, *f, *fields, *el;
	const char *type;
	size_t i, j;

	ck_assert(json_is_string(json_object_get(root, "text")));
	ck_assert_uint_le(units(text_of(root)), NOTIFY_SLACK_MAX_TEXT);
	blocks = json_object_get(root, "blocks");
	ck_assert(json_is_array(blocks));
	ck_assert_uint_ge(json_array_size(blocks), 1);
	ck_assert_uint_le(json_array_size(blocks), NOTIFY_SLACK_MAX_BLOCKS);
	json_array_foreach(blocks, i, b) {
		type = json_string_value(json_object_get(b, "type"));
		ck_assert_ptr_nonnull(type);
		if (strcmp(type, "header") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(b, "text"), "type")), "plain_text");
			ck_assert_uint_le(units(text_of(json_object_get(b,
			    "text"))), NOTIFY_SLACK_MAX_HEADER);
		} else if (strcmp(type, "section") == 0) {
			if ((fields = json_object_get(b, "fields")) != NULL) {
				ck_assert_uint_le(json_array_size(fields),
				    NOTIFY_SLACK_MAX_FIELDS);
				json_array_foreach(fields, j, f)
					ck_assert_uint_le(units(text_of(f)),
					    NOTIFY_SLACK_MAX_FIELD);
			} else
				ck_assert_uint_le(units(text_of(
				    json_object_get(b, "text"))),
				    NOTIFY_SLACK_MAX_TEXT);
		} else if (strcmp(type, "context") == 0) {
			json_array_foreach(json_object_get(b, "elements"), j,
			    el)
				ck_assert_uint_le(units(text_of(el)),
				    NOTIFY_SLACK_MAX_TEXT);
		} else
			ck_abort_msg("unexpected block type %s", type);
	}
}

/* ---- the webhook body ---- */

START_TEST(test_webhook_golden)
{
	struct notify_view v = golden_view();
	json_t *got, *want;
	char *s;

	s = notify_webhook_body(&v);
	ck_assert_ptr_nonnull(s);
	/* Compact, and in SPEC 5's order. */
	ck_assert_ptr_null(strchr(s, '\n'));
	ck_assert_msg(starts_with(s, "{\"version\":1,\"alert_id\":\"42\","
	    "\"status\":\"firing\",\"account\":{\"id\":\"acme\","), "%s", s);
	ck_assert_ptr_nonnull(strstr(s, "\"started_at\":"
	    "\"2026-11-20T09:30:00.000000Z\",\"resolved_at\":null,\"play\":"));
	got = parse(s);
	want = load_golden("notify-webhook.json");
	assert_json_eq(got, want);
	json_decref(got);
	json_decref(want);
}
END_TEST

START_TEST(test_webhook_nulls)
{
	struct notify_view v;
	json_t *j;

	memset(&v, 0, sizeof(v));
	v.kind = "firing";
	v.account.id = "acme";
	v.signal.name = "login_absent";
	j = parse(notify_webhook_body(&v));
	ck_assert_str_eq(json_string_value(json_object_get(j, "alert_id")),
	    "0");
	ck_assert(json_is_null(json_object_get(json_object_get(j, "account"),
	    "name")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "account"),
	    "owner")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "signal"),
	    "tier")));
	ck_assert(json_is_null(json_object_get(j, "explanation")));
	ck_assert(json_is_null(json_object_get(j, "started_at")));
	ck_assert(json_is_null(json_object_get(j, "resolved_at")));
	ck_assert(json_is_null(json_object_get(j, "play")));
	ck_assert(json_is_null(json_object_get(j, "fingerprint")));
	ck_assert(json_is_object(json_object_get(j, "evidence")));
	ck_assert_uint_eq(json_object_size(json_object_get(j, "evidence")), 0);
	json_decref(j);

	/* Broken evidence does not stop the alert. */
	v.evidence_json = "{\"tickets\": ";
	j = parse(notify_webhook_body(&v));
	ck_assert_uint_eq(json_object_size(json_object_get(j, "evidence")), 0);
	json_decref(j);
	v.evidence_json = "[1, 2]";
	j = parse(notify_webhook_body(&v));
	ck_assert(json_is_object(json_object_get(j, "evidence")));
	json_decref(j);

	/* uint64 ids survive as strings. */
	v.alert_id = UINT64_MAX;
	j = parse(notify_webhook_body(&v));
	ck_assert_str_eq(json_string_value(json_object_get(j, "alert_id")),
	    "18446744073709551615");
	json_decref(j);
}
END_TEST

START_TEST(test_webhook_invalid)
{
	struct notify_view v = golden_view();

	ck_assert_ptr_null(notify_webhook_body(NULL));
	ck_assert_ptr_null(notify_slack_body(NULL));
	v.kind = "bogus";
	ck_assert_ptr_null(notify_webhook_body(&v));
	ck_assert_ptr_null(notify_slack_body(&v));
	v.kind = NULL;
	ck_assert_ptr_null(notify_webhook_body(&v));
	v = golden_view();
	v.account.id = NULL;
	ck_assert_ptr_null(notify_webhook_body(&v));
	ck_assert_ptr_null(notify_slack_body(&v));
	v = golden_view();
	v.signal.name = NULL;
	ck_assert_ptr_null(notify_webhook_body(&v));
}
END_TEST

START_TEST(test_webhook_resolved)
{
	struct notify_view v = golden_view();
	json_t *j;

	v.kind = "resolved";
	v.resolved_at = T_RESOLVED;
	j = parse(notify_webhook_body(&v));
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
	    "resolved");
	ck_assert_str_eq(json_string_value(json_object_get(j, "resolved_at")),
	    "2026-11-21T11:30:00.000000Z");
	ck_assert_str_eq(json_string_value(json_object_get(j, "started_at")),
	    "2026-11-20T09:30:00.000000Z");
	json_decref(j);
}
END_TEST

START_TEST(test_webhook_values)
{
	struct notify_view v = golden_view();
	json_t *j;
	char *s;

	/* Reals as written, not 3.1000000000000001. */
	v.evidence_json = "{\"ratio\": 3.1, \"mean\": 0.25}";
	s = notify_webhook_body(&v);
	ck_assert_ptr_nonnull(strstr(s, "\"evidence\":{\"ratio\":3.1,"
	    "\"mean\":0.25}"));
	free(s);

	/* Invalid UTF-8 becomes U+FFFD; the body stays valid. */
	v.account.name = "Acme \xff\xfe Corp";
	v.explanation = "cut \xe6\x97";
	j = parse(notify_webhook_body(&v));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "account"), "name")), "Acme \xef\xbf\xbd\xef\xbf\xbd Corp");
	ck_assert_str_eq(json_string_value(json_object_get(j, "explanation")),
	    "cut \xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);

	/* No mrkdwn escaping in the webhook: it is JSON, not Slack. */
	v = golden_view();
	v.account.name = "A&B <Corp>";
	j = parse(notify_webhook_body(&v));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "account"), "name")), "A&B <Corp>");
	json_decref(j);
}
END_TEST

/* ---- the Slack alert ---- */

START_TEST(test_slack_golden)
{
	struct notify_view v = golden_view();
	json_t *got, *want;

	got = parse(notify_slack_body(&v));
	assert_slack_limits(got);
	want = load_golden("notify-slack.json");
	assert_json_eq(got, want);
	json_decref(got);
	json_decref(want);
}
END_TEST

START_TEST(test_slack_variants)
{
	struct notify_view v = golden_view();
	json_t *j;

	v.kind = "resolved";
	v.resolved_at = T_RESOLVED;
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	ck_assert_str_eq(block_text(j, 0),
	    "🟢 Resolved: ticket_repeat_team — Acme Corp");
	ck_assert_msg(starts_with(text_of(j), ":white_check_mark: [resolved] "
	    "Acme Corp (acme): ticket_repeat_team — 23 tickets"), "%s",
	    text_of(j));
	/* Started and resolved both shown. */
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(
	    json_object_get(j, "blocks"), 1), "fields")), 8);
	json_decref(j);

	v = golden_view();
	v.repeat = 1;
	j = parse(notify_slack_body(&v));
	ck_assert_str_eq(block_text(j, 0),
	    "🔴 Still firing: ticket_repeat_team — Acme Corp");
	ck_assert_msg(starts_with(text_of(j),
	    ":rotating_light: [critical, still firing] Acme Corp (acme): "),
	    "%s", text_of(j));
	json_decref(j);

	v.repeat = 0;
	v.escalated = 1;
	v.signal.severity = "warning";
	j = parse(notify_slack_body(&v));
	ck_assert_str_eq(block_text(j, 0),
	    "🟠 Escalated: ticket_repeat_team — Acme Corp");
	ck_assert_msg(starts_with(text_of(j), ":warning: [warning, escalated] "
	    "Acme Corp (acme): "), "%s", text_of(j));
	json_decref(j);

	v.escalated = 0;
	v.signal.severity = "info";
	j = parse(notify_slack_body(&v));
	ck_assert_str_eq(block_text(j, 0), "🔵 ticket_repeat_team — Acme Corp");
	json_decref(j);
}
END_TEST

START_TEST(test_slack_minimal)
{
	struct notify_view v;
	json_t *j, *fields, *ctx;

	memset(&v, 0, sizeof(v));
	v.kind = "firing";
	v.account.id = "acme";
	v.account.slack_channel = "";
	v.signal.name = "health_degraded";
	v.signal.category = "health";
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	ck_assert_ptr_null(json_object_get(j, "channel"));
	ck_assert_str_eq(text_of(j), ":bell: [alert] acme: health_degraded");
	ck_assert_str_eq(block_text(j, 0), "⚪ health_degraded — acme");
	/* header, fields, context: nothing to explain, no play. */
	ck_assert_uint_eq(json_array_size(json_object_get(j, "blocks")), 3);
	fields = json_object_get(json_array_get(json_object_get(j, "blocks"),
	    1), "fields");
	ck_assert_str_eq(text_of(json_array_get(fields, 0)),
	    "*Account*\nacme");
	ck_assert_str_eq(text_of(json_array_get(fields, 1)),
	    "*Signal*\nhealth_degraded (health)");
	ck_assert_str_eq(text_of(json_array_get(fields, 4)),
	    "*Owner*\n_unowned_");
	ctx = find_block(j, "context", 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_str_eq(text_of(json_array_get(json_object_get(ctx,
	    "elements"), 0)), "alert 0");
	json_decref(j);
}
END_TEST

START_TEST(test_slack_escape)
{
	struct notify_view v = golden_view();
	json_t *j, *fields;
	const char *s;
	char name[500];

	v.account.name = "R&D <Labs> & Co";
	v.account.owner = "<@U123>";
	v.explanation = "a <script> & \"quotes\" > b";
	v.play = "Call <!channel> & escalate";
	v.evidence_json = "{\"team\": \"<eng>&ops\"}";
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	/* The header is plain_text: shown as is. */
	ck_assert_str_eq(block_text(j, 0),
	    "🔴 ticket_repeat_team — R&D <Labs> & Co");
	fields = json_object_get(json_array_get(json_object_get(j, "blocks"),
	    1), "fields");
	ck_assert_str_eq(text_of(json_array_get(fields, 0)),
	    "*Account*\nR&amp;D &lt;Labs&gt; &amp; Co (acme)");
	ck_assert_str_eq(text_of(json_array_get(fields, 4)),
	    "*Owner*\n&lt;@U123&gt;");
	ck_assert_str_eq(block_text(j, 2), "a &lt;script&gt; &amp; \"quotes\" "
	    "&gt; b\n*Evidence:* team: &lt;eng&gt;&amp;ops");
	ck_assert_str_eq(block_text(j, 4),
	    "*Suggested play:* Call &lt;!channel&gt; &amp; escalate");
	s = text_of(j);
	ck_assert_ptr_nonnull(strstr(s, "R&amp;D &lt;Labs&gt; &amp; Co"));
	ck_assert_ptr_null(strstr(s, "<script>"));
	json_decref(j);

	/* A plain_text header is cut anywhere, even inside "<...>". */
	memset(name, 'x', sizeof(name) - 1);
	name[0] = '<';
	name[1] = '&';
	name[sizeof(name) - 3] = ';';
	name[sizeof(name) - 2] = '>';
	name[sizeof(name) - 1] = '\0';
	v.account.name = name;
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	s = block_text(j, 0);
	ck_assert(starts_with(s, "🔴 ticket_repeat_team — <&xxx"));
	ck_assert(ends_with(s, "xxx…"));
	ck_assert_uint_eq(units(s), NOTIFY_SLACK_MAX_HEADER);
	json_decref(j);
}
END_TEST

START_TEST(test_slack_long_explanation)
{
	struct notify_view v = golden_view();
	char *big;
	json_t *j;
	const char *s, *ev;

	big = malloc(10001);
	memset(big, 'x', 10000);
	big[10000] = '\0';
	v.explanation = big;
	v.play = big;
	v.health.decomposition = big;
	v.account.name = big;
	v.account.owner = big;
	v.fingerprint = big;
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);

	/* Cut with "…", and the evidence line survives the cut. */
	s = block_text(j, 2);
	ck_assert_uint_le(units(s), NOTIFY_SLACK_MAX_TEXT);
	ck_assert_uint_gt(units(s), NOTIFY_SLACK_MAX_TEXT - 10);
	ev = strstr(s, "…\n*Evidence:* tickets: 23 · team: engineering");
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(s[0], 'x');
	ck_assert(ends_with(block_text(j, 4), "xxx…"));
	ck_assert(ends_with(block_text(j, 3), "xxx…"));
	ck_assert(ends_with(text_of(j), "xxx…"));
	ck_assert(ends_with(block_text(j, 0), "xxx…"));
	ck_assert_uint_eq(units(block_text(j, 0)), NOTIFY_SLACK_MAX_HEADER);
	json_decref(j);

	/* Evidence outside the BMP still leaves the section in bounds. */
	v.evidence_json = "{\"mood\": \"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"
	    "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀\"}";
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	s = block_text(j, 2);
	ck_assert(ends_with(s, "😀😀"));
	ck_assert_uint_eq(units(s), NOTIFY_SLACK_MAX_TEXT);
	json_decref(j);
	free(big);
}
END_TEST

/* "解約" (cancellation) is 3 bytes a character: never cut inside one. */
START_TEST(test_slack_multibyte)
{
	struct notify_view v = golden_view();
	const char *s, *p;
	char *big;
	size_t i, n = 0;
	json_t *j;

	big = malloc(4000 * 3 + 1);
	for (i = 0; i < 2000; i++)
		memcpy(big + i * 6, "解約", 6);
	big[12000] = '\0';
	v.explanation = big;
	v.evidence_json = NULL;
	v.account.name = big;
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	s = block_text(j, 2);
	ck_assert(ends_with(s, "…"));
	/* Whole characters only: 解 and 約 alternate up to the "…". */
	for (p = s; strncmp(p, "…", 3) != 0; p += 3, n++)
		ck_assert_msg(strncmp(p, n % 2 == 0 ? "解" : "約", 3) == 0,
		    "broken at character %zu", n);
	ck_assert_uint_eq(n, NOTIFY_SLACK_MAX_TEXT - 1);
	ck_assert_str_eq(p, "…");
	s = block_text(j, 0);
	ck_assert_uint_eq(units(s), NOTIFY_SLACK_MAX_HEADER);
	json_decref(j);

	/* Characters outside the BMP count twice (UTF-16). */
	for (i = 0; i < 3000; i++)
		memcpy(big + i * 4, "😀", 4);
	big[12000] = '\0';
	v.account.name = "Acme";
	j = parse(notify_slack_body(&v));
	assert_slack_limits(j);
	s = block_text(j, 2);
	ck_assert_uint_eq(strlen(s), 1499 * 4 + 3);
	json_decref(j);
	free(big);
}
END_TEST

/* An entity is never cut in half. */
START_TEST(test_slack_cut_entity)
{
	struct notify_view v = golden_view();
	char *big;
	json_t *j;
	const char *s;
	size_t off;

	big = malloc(2001);
	memset(big, '&', 2000);
	big[2000] = '\0';
	for (off = 0; off < 5; off++) {
		v.explanation = big + off;
		v.evidence_json = NULL;
		j = parse(notify_slack_body(&v));
		assert_slack_limits(j);
		s = block_text(j, 2);
		ck_assert(ends_with(s, "&amp;…"));
		ck_assert_uint_eq(strlen(s) - 3, 599 * 5);
		json_decref(j);
	}
	free(big);
}
END_TEST

/* ---- the digest ---- */

static const char *const sigs_acme[] = { "champion_left", "login_decline" };
static const char *const sigs_beta[] = { "no_touch" };

START_TEST(test_digest_slack)
{
	struct notify_digest_row r[3] = {
		{ "acme", "Acme Corp", 25, "red", sigs_acme, 2 },
		{ "beta", "Beta & Sons", 55, "yellow", sigs_beta, 1 },
		{ "gamma", NULL, 100, "green", NULL, 0 }
	};
	json_t *j;

	j = parse(notify_digest_slack("alice", "2026-11-20", r, 3));
	assert_slack_limits(j);
	ck_assert_ptr_null(json_object_get(j, "channel"));
	ck_assert_str_eq(text_of(j),
	    "Churn digest for alice, 2026-11-20: 3 accounts to review");
	ck_assert_str_eq(block_text(j, 0),
	    "📋 Churn digest — alice — 2026-11-20");
	ck_assert_str_eq(block_text(j, 1), "🔴 *Acme Corp* (acme) — 25 red\n"
	    "champion_left, login_decline");
	ck_assert_str_eq(block_text(j, 2), "🟡 *Beta &amp; Sons* (beta) — 55 "
	    "yellow\nno_touch");
	ck_assert_str_eq(block_text(j, 3), "🟢 *gamma* — 100 green\n"
	    "_no active signals_");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "blocks")), 4);
	json_decref(j);

	j = parse(notify_digest_slack(NULL, "2026-11-20", NULL, 0));
	assert_slack_limits(j);
	ck_assert_str_eq(block_text(j, 0),
	    "📋 Churn digest — unowned accounts — 2026-11-20");
	ck_assert_str_eq(block_text(j, 1), "No accounts to review today.");
	json_decref(j);

	ck_assert_ptr_null(notify_digest_slack("alice", NULL, r, 3));
	r[1].account_id = NULL;
	ck_assert_ptr_null(notify_digest_slack("alice", "2026-11-20", r, 3));
	ck_assert_ptr_null(notify_digest_webhook("alice", "2026-11-20", r, 3));
}
END_TEST

/* The five-minute risk check (issue 13): golden texts. */
START_TEST(test_digest_check)
{
	static const char *const fresh[] = { "login_decline" };
	static const char *const gone[] = { "no_touch", "ticket_spike" };
	struct notify_digest_row r[2] = {
		{ "acme", "Acme Corp", 25, "red", sigs_acme, 2 },
		{ "beta", NULL, 85, "green", sigs_beta, 1 }
	};
	struct notify_digest_check c[2];
	json_t *got, *want;
	char *s;

	memset(c, 0, sizeof(c));
	c[0].new_signals = fresh;
	c[0].nnew = 1;
	c[0].resolved = gone;
	c[0].nresolved = 2;
	c[0].touch_days = 12;
	c[0].logins_30d = 60;
	c[0].logins_prev_30d = 100;
	c[0].renewal_days = 34;
	c[0].note_phrase = "budget";
	c[0].note_class = "budget";
	c[0].note_days = 3;
	c[1].touch_days = -1;
	c[1].logins_30d = 1;
	c[1].renewal_days = -1;

	got = parse(notify_digest_check_slack("alice", "2026-11-20", r, c, 2));
	assert_slack_limits(got);
	ck_assert_str_eq(block_text(got, 1), "🔴 *Acme Corp* (acme) — 25 red\n"
	    "champion_left, login_decline\n"
	    "*Since yesterday:* new login_decline · resolved no_touch, "
	    "ticket_spike\n"
	    "*Last touchpoint:* 12 days ago · *Usage:* 60 logins in 30 d, "
	    "-40 % vs the 30 d before · *Renews in 34 days*\n"
	    "*Risk note* (3 days ago): “budget” (budget)");
	ck_assert_str_eq(block_text(got, 2), "🟢 *beta* — 85 green\n"
	    "no_touch\n"
	    "*Last touchpoint:* none · *Usage:* 1 login in 30 d");
	json_decref(got);

	s = notify_digest_check_webhook("alice", "2026-11-20", r, c, 2);
	got = parse(s);
	want = json_loads("{\"version\": 1, \"type\": \"digest\", \"owner\": "
	    "\"alice\", \"date\": \"2026-11-20\", \"accounts\": ["
	    "{\"id\": \"acme\", \"name\": \"Acme Corp\", \"score\": 25, "
	    "\"status\": \"red\", \"signals\": [\"champion_left\", "
	    "\"login_decline\"], \"check\": {\"new_signals\": "
	    "[\"login_decline\"], \"resolved_signals\": [\"no_touch\", "
	    "\"ticket_spike\"], \"days_since_touchpoint\": 12, \"usage\": "
	    "{\"logins_30d\": 60, \"logins_prev_30d\": 100, \"change_pct\": "
	    "-40}, \"renewal_days\": 34, \"risk_note\": {\"phrase\": "
	    "\"budget\", \"class\": \"budget\", \"days\": 3}}},"
	    "{\"id\": \"beta\", \"name\": null, \"score\": 85, \"status\": "
	    "\"green\", \"signals\": [\"no_touch\"], \"check\": "
	    "{\"new_signals\": [], \"resolved_signals\": [], "
	    "\"days_since_touchpoint\": null, \"usage\": {\"logins_30d\": 1, "
	    "\"logins_prev_30d\": 0, \"change_pct\": null}, "
	    "\"renewal_days\": null, \"risk_note\": null}}]}", 0, NULL);
	assert_json_eq(got, want);
	json_decref(got);
	json_decref(want);
}
END_TEST

/* More accounts than Slack has blocks for: the rest are counted. */
START_TEST(test_digest_slack_many)
{
	struct notify_digest_row r[100];
	char ids[100][16];
	json_t *j, *ctx;
	size_t i;

	for (i = 0; i < 100; i++) {
		snprintf(ids[i], sizeof(ids[i]), "acct-%zu", i);
		r[i].account_id = ids[i];
		r[i].name = NULL;
		r[i].score = (int)i;
		r[i].status = "red";
		r[i].signals = sigs_acme;
		r[i].nsignals = 2;
	}
	j = parse(notify_digest_slack("bob", "2026-11-20", r, 100));
	assert_slack_limits(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "blocks")),
	    NOTIFY_DIGEST_SLACK_ROWS + 2);
	ctx = find_block(j, "context", 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_str_eq(text_of(json_array_get(json_object_get(ctx,
	    "elements"), 0)), "… and 53 more accounts");
	json_decref(j);

	/* Exactly as many as fit: no "more". */
	j = parse(notify_digest_slack("bob", "2026-11-20", r,
	    NOTIFY_DIGEST_SLACK_ROWS));
	ck_assert_ptr_null(find_block(j, "context", 0));
	json_decref(j);
}
END_TEST

START_TEST(test_digest_webhook)
{
	struct notify_digest_row r[2] = {
		{ "acme", "Acme Corp", 25, "red", sigs_acme, 2 },
		{ "gamma", NULL, 100, "green", NULL, 0 }
	};
	json_t *got, *want;
	char *s;

	s = notify_digest_webhook("alice", "2026-11-20", r, 2);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(starts_with(s, "{\"version\":1,\"type\":\"digest\","
	    "\"owner\":\"alice\",\"date\":\"2026-11-20\",\"accounts\":["),
	    "%s", s);
	got = parse(s);
	want = json_loads("{\"version\": 1, \"type\": \"digest\", \"owner\": "
	    "\"alice\", \"date\": \"2026-11-20\", \"accounts\": ["
	    "{\"id\": \"acme\", \"name\": \"Acme Corp\", \"score\": 25, "
	    "\"status\": \"red\", \"signals\": [\"champion_left\", "
	    "\"login_decline\"]},"
	    "{\"id\": \"gamma\", \"name\": null, \"score\": 100, "
	    "\"status\": \"green\", \"signals\": []}]}", 0, NULL);
	assert_json_eq(got, want);
	json_decref(got);
	json_decref(want);

	got = parse(notify_digest_webhook(NULL, "2026-11-20", NULL, 0));
	ck_assert(json_is_null(json_object_get(got, "owner")));
	ck_assert_uint_eq(json_array_size(json_object_get(got, "accounts")),
	    0);
	json_decref(got);
}
END_TEST

/* ---- the signature ---- */

/*
 * Vectors computed outside this code:
 *	printf '%s' '1700000000.{"version":1,"alert_id":"42"}' |
 *	    openssl dgst -sha256 -hmac whsec_5f3c9a
 * and python3 hmac.new(key, msg, hashlib.sha256) for the others.
 */
START_TEST(test_sign_vectors)
{
	const char *body = "{\"version\":1,\"alert_id\":\"42\"}";
	char out[NOTIFY_SIGNATURE_LEN];

	ck_assert_int_eq(notify_sign("whsec_5f3c9a", body, strlen(body),
	    1700000000, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "t=1700000000,v1=ac4776976daa124e85cd2136dfe9"
	    "93ece3d7fb31730a4cd5e34b461d71e9c8d0");

	ck_assert_int_eq(notify_sign("k", "", 0, 1700000000, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "t=1700000000,v1=5c2999a43333a6877f49c8003f23"
	    "5c4f6de40f85b1b7414b70bd470a8db53d97");

	body = "{\"name\":\"解約\"}";
	ck_assert_int_eq(notify_sign("秘密", body, strlen(body), 1700000001,
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "t=1700000001,v1=a0de3a4510b2dd7660253eda5900"
	    "90d23c4cfd88268b4c90379bb10dc591c4a9");

	/* Only len bytes are signed. */
	ck_assert_int_eq(notify_sign("k", "xyz", 0, 1700000000, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "t=1700000000,v1=5c2999a43333a6877f49c8003f23"
	    "5c4f6de40f85b1b7414b70bd470a8db53d97");
}
END_TEST

START_TEST(test_sign_errors)
{
	char out[NOTIFY_SIGNATURE_LEN];
	size_t need = strlen("t=1700000000,v1=") + 64 + 1;

	ck_assert_int_eq(notify_sign(NULL, "x", 1, 1, out, sizeof(out)), -1);
	ck_assert_int_eq(notify_sign("k", NULL, 1, 1, out, sizeof(out)), -1);
	ck_assert_int_eq(notify_sign("k", "x", 1, 1, NULL, 0), -1);
	ck_assert_int_eq(notify_sign("k", "", 0, 1700000000, out, need - 1),
	    -1);
	ck_assert_int_eq(notify_sign("k", "", 0, 1700000000, out, need), 0);
	ck_assert_uint_eq(strlen(out), need - 1);
	/* The longest timestamp still fits NOTIFY_SIGNATURE_LEN. */
	ck_assert_int_eq(notify_sign("k", "", 0, INT64_MIN, out,
	    sizeof(out)), 0);
	ck_assert(starts_with(out, "t=-9223372036854775808,v1="));
}
END_TEST

/* ---- pacing ---- */

START_TEST(test_pace_burst)
{
	struct notify_pace p;
	int64_t t0 = 5 * USEC;

	notify_pace_init(&p, 1.0, 3, t0);
	/* A burst of 3 ... */
	ck_assert_int_eq(notify_pace_take(&p, t0), 0);
	ck_assert_int_eq(notify_pace_take(&p, t0), 0);
	ck_assert_int_eq(notify_pace_take(&p, t0), 0);
	/* ... then one a second; asking does not consume. */
	ck_assert_int_eq(notify_pace_take(&p, t0), USEC);
	ck_assert_int_eq(notify_pace_take(&p, t0), USEC);
	ck_assert_int_eq(notify_pace_take(&p, t0 + 400000), 600000);
	ck_assert_int_eq(notify_pace_take(&p, t0 + USEC - 1), 1);
	ck_assert_int_eq(notify_pace_take(&p, t0 + USEC), 0);
	ck_assert_int_eq(notify_pace_take(&p, t0 + USEC), USEC);
	ck_assert_int_eq(notify_pace_take(&p, t0 + 2 * USEC), 0);
	/* A long idle refills only up to the burst. */
	ck_assert_int_eq(notify_pace_take(&p, t0 + 100 * USEC), 0);
	ck_assert_int_eq(notify_pace_take(&p, t0 + 100 * USEC), 0);
	ck_assert_int_eq(notify_pace_take(&p, t0 + 100 * USEC), 0);
	ck_assert_int_eq(notify_pace_take(&p, t0 + 100 * USEC), USEC);
	/* A clock that steps back refills nothing. */
	ck_assert_int_eq(notify_pace_take(&p, t0), USEC);
}
END_TEST

START_TEST(test_pace_rates)
{
	struct notify_pace p;
	int64_t now = 0, w;
	int i, sent = 0;

	/* The wait returned is always enough, whatever the rounding. */
	notify_pace_init(&p, 3.0, 1, now);
	ck_assert_int_eq(notify_pace_take(&p, now), 0);
	for (i = 0; i < 1000; i++) {
		w = notify_pace_take(&p, now);
		ck_assert_int_gt(w, 0);
		ck_assert_int_le(w, 333334);
		now += w;
		ck_assert_int_eq(notify_pace_take(&p, now), 0);
		sent++;
	}
	/* 1000 messages at 3/s take about 333 s. */
	ck_assert_int_ge(now, 333 * USEC);
	ck_assert_int_le(now, 334 * USEC);
	ck_assert_int_eq(sent, 1000);

	/* Burst 0 counts as 1; rate 0 is unpaced. */
	notify_pace_init(&p, 1.0, 0, 0);
	ck_assert_int_eq(notify_pace_take(&p, 0), 0);
	ck_assert_int_eq(notify_pace_take(&p, 0), USEC);
	notify_pace_init(&p, 0, 1, 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(notify_pace_take(&p, 0), 0);
}
END_TEST

/* ---- retries ---- */

START_TEST(test_backoff_range)
{
	static const uint32_t rnd[] = { 0, 1, 0x7fffffff, 0x80000000,
	    0xdeadbeef, UINT32_MAX };
	int64_t base, b, prev_max = 0;
	int attempt;
	size_t i;

	for (attempt = 1; attempt <= 40; attempt++) {
		base = attempt <= 9 ? (USEC << (attempt - 1)) :
		    NOTIFY_BACKOFF_MAX;
		for (i = 0; i < sizeof(rnd) / sizeof(rnd[0]); i++) {
			b = notify_backoff(attempt, rnd[i]);
			ck_assert_int_ge(b, base * 3 / 4);
			ck_assert_int_lt(b, base * 5 / 4);
		}
		ck_assert_int_eq(notify_backoff(attempt, 0), base * 3 / 4);
		ck_assert_int_ge(notify_backoff(attempt, UINT32_MAX), prev_max);
		prev_max = notify_backoff(attempt, UINT32_MAX);
	}
	ck_assert_int_eq(notify_backoff(1, 0x80000000), USEC);
	ck_assert_int_eq(notify_backoff(2, 0x80000000), 2 * USEC);
	ck_assert_int_eq(notify_backoff(3, 0x80000000), 4 * USEC);
	ck_assert_int_eq(notify_backoff(9, 0x80000000), 256 * USEC);
	ck_assert_int_eq(notify_backoff(10, 0x80000000), 300 * USEC);
	ck_assert_int_eq(notify_backoff(INT32_MAX, 0x80000000), 300 * USEC);
	ck_assert_int_eq(notify_backoff(0, 0x80000000), USEC);
	ck_assert_int_eq(notify_backoff(-5, 0x80000000), USEC);
}
END_TEST

START_TEST(test_classify_table)
{
	static const struct {
		long			 status;
		int			 transport;
		int			 slack;
		enum notify_result	 want;
		int			 gone;
	} t[] = {
		{ 200, 0, 1, NOTIFY_OK, 0 },
		{ 204, 0, 0, NOTIFY_OK, 0 },
		{ 299, 0, 0, NOTIFY_OK, 0 },
		{ 0, 28, 1, NOTIFY_RETRY, 0 },		/* timeout */
		{ 0, 7, 0, NOTIFY_RETRY, 0 },		/* refused */
		{ 200, 56, 0, NOTIFY_RETRY, 0 },	/* cut mid-body */
		{ 0, 0, 0, NOTIFY_RETRY, 0 },		/* no response */
		{ 500, 0, 1, NOTIFY_RETRY, 0 },
		{ 502, 0, 0, NOTIFY_RETRY, 0 },
		{ 503, 0, 0, NOTIFY_RETRY, 0 },
		{ 599, 0, 0, NOTIFY_RETRY, 0 },
		{ 408, 0, 0, NOTIFY_RETRY, 0 },
		{ 425, 0, 1, NOTIFY_RETRY, 0 },
		{ 429, 0, 1, NOTIFY_RETRY_AFTER, 0 },
		{ 429, 0, 0, NOTIFY_RETRY_AFTER, 0 },
		{ 404, 0, 1, NOTIFY_PERMANENT, 1 },	/* channel gone */
		{ 410, 0, 1, NOTIFY_PERMANENT, 1 },
		{ 404, 0, 0, NOTIFY_PERMANENT, 0 },
		{ 410, 0, 0, NOTIFY_PERMANENT, 0 },
		{ 400, 0, 1, NOTIFY_PERMANENT, 0 },	/* invalid_payload */
		{ 401, 0, 0, NOTIFY_PERMANENT, 0 },
		{ 403, 0, 1, NOTIFY_PERMANENT, 0 },
		{ 413, 0, 0, NOTIFY_PERMANENT, 0 },
		{ 301, 0, 0, NOTIFY_PERMANENT, 0 },
		{ 100, 0, 0, NOTIFY_PERMANENT, 0 },
		{ 600, 0, 0, NOTIFY_PERMANENT, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(notify_classify(t[i].status, t[i].transport,
		    t[i].slack) == t[i].want, "row %zu: status %ld", i,
		    t[i].status);
		ck_assert_msg(notify_gone(t[i].status, t[i].slack) ==
		    t[i].gone, "row %zu: gone", i);
	}
}
END_TEST

START_TEST(test_retry_after_seconds)
{
	ck_assert_int_eq(notify_retry_after("120", 0), 120 * USEC);
	ck_assert_int_eq(notify_retry_after(" 5\t", 0), 5 * USEC);
	ck_assert_int_eq(notify_retry_after("0", 0), 0);
	ck_assert_int_eq(notify_retry_after("007", 0), 7 * USEC);
	ck_assert_int_eq(notify_retry_after(NULL, 0), -1);
	ck_assert_int_eq(notify_retry_after("", 0), -1);
	ck_assert_int_eq(notify_retry_after("   ", 0), -1);
	ck_assert_int_eq(notify_retry_after("-1", 0), -1);
	ck_assert_int_eq(notify_retry_after("+1", 0), -1);
	ck_assert_int_eq(notify_retry_after("1.5", 0), -1);
	ck_assert_int_eq(notify_retry_after("12 s", 0), -1);
	ck_assert_int_eq(notify_retry_after("soon", 0), -1);
	ck_assert_int_eq(notify_retry_after("99999999999999999999", 0), -1);
	ck_assert_int_eq(notify_retry_after("9223372036855", 0), -1);
	ck_assert_int_eq(notify_retry_after("9223372036854", 0),
	    INT64_C(9223372036854) * USEC);
}
END_TEST

START_TEST(test_retry_after_date)
{
	/* 2015-10-21T07:27:00Z */
	int64_t now = INT64_C(1445412420) * USEC;

	/* IMF-fixdate and the two obsolete forms of RFC 9110. */
	ck_assert_int_eq(notify_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
	    now), 60 * USEC);
	ck_assert_int_eq(notify_retry_after(
	    "Wednesday, 21-Oct-15 07:28:00 GMT", now), 60 * USEC);
	ck_assert_int_eq(notify_retry_after("Wed Oct 21 07:28:00 2015", now),
	    60 * USEC);
	ck_assert_int_eq(notify_retry_after("Wed Oct  1 07:27:00 2015",
	    now - 20 * 86400 * USEC), 0);
	ck_assert_int_eq(notify_retry_after(" Wed, 21 Oct 2015 07:27:30 GMT ",
	    now + USEC / 2), 29 * USEC + USEC / 2);
	/* In the past, or now: no wait. */
	ck_assert_int_eq(notify_retry_after("Wed, 21 Oct 2015 07:27:00 GMT",
	    now), 0);
	ck_assert_int_eq(notify_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    now), 0);
	ck_assert_int_eq(notify_retry_after("Sunday, 06-Nov-94 08:49:37 GMT",
	    now), 0);
	ck_assert_int_eq(notify_retry_after("Sun Nov  6 08:49:37 1994", now),
	    0);
	/* Invalid. */
	ck_assert_int_eq(notify_retry_after("Wed, 31 Feb 2015 07:28:00 GMT",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("Wed, 21 Oct 2015 24:00:00 GMT",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("Wed, 21 Oct 2015 07:28:00",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("Wed, 21 Oct 2015 07:28:00 GMT x",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("Wed, 21 Foo 2015 07:28:00 GMT",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("Xyz, 21 Oct 2015 07:28:00 GMT",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("Wed, 21 Oct 15 07:28:00 GMT",
	    now), -1);
	ck_assert_int_eq(notify_retry_after("2015-10-21T07:28:00Z", now), -1);
	ck_assert_int_eq(notify_retry_after("Wed,", now), -1);
	ck_assert_int_eq(notify_retry_after("W", now), -1);
}
END_TEST

/* ---- grouping ---- */

/* A member of a group: the golden view with another account, signal. */
static char *
member_body(int slack, const char *acct, const char *signal,
    const char *severity, const char *kind, const char *nid)
{
	struct notify_view v = golden_view();

	v.account.id = acct;
	v.account.name = NULL;
	v.account.slack_channel = NULL;
	v.signal.name = signal;
	v.signal.severity = severity;
	v.kind = kind;
	v.notification_id = nid;
	if (strcmp(kind, "resolved") == 0)
		v.resolved_at = T_RESOLVED;
	return slack ? notify_slack_body(&v) : notify_webhook_body(&v);
}

START_TEST(test_brief_parse)
{
	struct notify_view v = golden_view();
	struct notify_brief b;
	json_t *j;
	char *s;

	s = notify_slack_body(&v);
	ck_assert_int_eq(notify_brief_parse(s, &b), 0);
	ck_assert_int_eq(b.rank, 0);
	ck_assert_str_eq(b.signal, "ticket_repeat_team");
	ck_assert_str_eq(b.channel, "#cs-acme");
	j = parse(s);
	/* The line is the member's own fallback text. */
	ck_assert_str_eq(b.line, text_of(j));
	json_decref(j);
	notify_brief_clear(&b);

	s = member_body(0, "a&b", "no_touch", "info", "resolved", "n1");
	ck_assert_int_eq(notify_brief_parse(s, &b), 0);
	ck_assert_int_eq(b.rank, 5);
	ck_assert_str_eq(b.signal, "no_touch");
	ck_assert_ptr_null(b.channel);
	ck_assert_msg(starts_with(b.line, ":white_check_mark: [resolved] "
	    "a&amp;b: no_touch — "), "%s", b.line);
	notify_brief_clear(&b);
	free(s);

	s = member_body(1, "x", "seat_underuse", "warning", "firing", "n2");
	ck_assert_int_eq(notify_brief_parse(s, &b), 0);
	ck_assert_int_eq(b.rank, 2);
	ck_assert_str_eq(b.signal, "seat_underuse");
	notify_brief_clear(&b);
	free(s);

	ck_assert_int_eq(notify_brief_parse("{}", &b), -1);
	ck_assert_ptr_null(b.line);
	ck_assert_int_eq(notify_brief_parse("not json", &b), -1);
	ck_assert_int_eq(notify_brief_parse("[1]", &b), -1);
	notify_brief_clear(&b);
}
END_TEST

START_TEST(test_group_slack_golden)
{
	struct notify_brief b[4];
	const struct notify_brief *m[4];
	json_t *got, *want;
	char *s;
	size_t i;

	/* Arrival order; the message lists the worst first. */
	s = member_body(1, "beta", "no_touch", "info", "resolved", "n1");
	ck_assert_int_eq(notify_brief_parse(s, &b[0]), 0);
	free(s);
	s = member_body(1, "gamma", "seat_underuse", "warning", "firing",
	    "n2");
	ck_assert_int_eq(notify_brief_parse(s, &b[1]), 0);
	free(s);
	s = member_body(1, "delta", "champion_left", "critical", "resolved",
	    "n3");
	ck_assert_int_eq(notify_brief_parse(s, &b[2]), 0);
	free(s);
	s = member_body(1, "acme", "champion_left", "critical", "firing",
	    "n4");
	ck_assert_int_eq(notify_brief_parse(s, &b[3]), 0);
	free(s);
	for (i = 0; i < 4; i++)
		m[i] = &b[i];
	s = notify_group_slack(m, 4);
	ck_assert_ptr_nonnull(s);
	got = parse(s);
	assert_slack_limits(got);
	want = load_golden("notify-group-slack.json");
	assert_json_eq(got, want);
	/* critical firing, critical resolved, warning, info resolved. */
	ck_assert(strstr(block_text(got, 1), "acme: champion_left") != NULL);
	ck_assert(strstr(block_text(got, 2), "delta: champion_left") != NULL);
	ck_assert(strstr(block_text(got, 3), "gamma: seat_underuse") != NULL);
	ck_assert(strstr(block_text(got, 4), "beta: no_touch") != NULL);
	json_decref(got);
	json_decref(want);
	for (i = 0; i < 4; i++)
		notify_brief_clear(&b[i]);
	ck_assert_ptr_null(notify_group_slack(m, 0));
}
END_TEST

/*
 * 5,000 members, the worst arriving last, with long multibyte
 * explanations: 47 blocks, every text within Slack's limits, the 45
 * critical ones listed, the rest summed up by signal.
 */
START_TEST(test_group_slack_many)
{
	static struct notify_brief b[5000];
	static const struct notify_brief *m[5000];
	struct notify_view v = golden_view();
	char acct[32], nid[32], expl[4000], *s;
	json_t *got, *blocks, *last;
	size_t i, k;

	for (k = 0; k + 4 < sizeof(expl); k += 4)
		memcpy(expl + k, "😀&", 4);	/* 2 units + 5 escaped */
	expl[k] = '\0';
	v.account.slack_channel = NULL;
	for (i = 0; i < 5000; i++) {
		snprintf(acct, sizeof(acct), "acct-%zu", i);
		snprintf(nid, sizeof(nid), "n%zu", i);
		v.account.id = acct;
		v.account.name = NULL;
		v.notification_id = nid;
		v.explanation = i % 7 == 0 ? expl : "short";
		if (i < 3900) {
			v.signal.name = "seat_underuse";
			v.signal.severity = "warning";
		} else if (i < 4955) {
			v.signal.name = "no_touch";
			v.signal.severity = "info";
		} else {
			v.signal.name = "champion_left";
			v.signal.severity = "critical";
		}
		s = notify_slack_body(&v);
		ck_assert_int_eq(notify_brief_parse(s, &b[i]), 0);
		ck_assert_uint_le(units(b[i].line), NOTIFY_GROUP_LINE_MAX);
		free(s);
		m[i] = &b[i];
	}
	s = notify_group_slack(m, 5000);
	got = parse(s);
	assert_slack_limits(got);
	blocks = json_object_get(got, "blocks");
	ck_assert_uint_eq(json_array_size(blocks),
	    1 + NOTIFY_GROUP_SLACK_ROWS + 1);
	ck_assert_str_eq(block_text(got, 0), "🔴 5,000 notifications: "
	    "45 critical, 3,900 warning, 1,055 info");
	ck_assert_str_eq(text_of(got), "5,000 notifications: 45 critical, "
	    "3,900 warning, 1,055 info");
	for (i = 1; i <= NOTIFY_GROUP_SLACK_ROWS; i++)
		ck_assert_msg(strstr(block_text(got, i), "champion_left") !=
		    NULL, "block %zu: %s", i, block_text(got, i));
	/* Arrival order within a rank. */
	ck_assert(strstr(block_text(got, 1), "acct-4955:") != NULL);
	last = json_array_get(blocks, json_array_size(blocks) - 1);
	ck_assert_str_eq(text_of(json_array_get(json_object_get(last,
	    "elements"), 0)), "… and 4,955 more: 3,900 seat_underuse, "
	    "1,055 no_touch");
	json_decref(got);
	for (i = 0; i < 5000; i++)
		notify_brief_clear(&b[i]);
}
END_TEST

START_TEST(test_group_webhook)
{
	const char *bodies[3];
	char *b[3], *s;
	json_t *j, *e;
	size_t i;

	b[0] = member_body(0, "a", "no_touch", "info", "firing", "n1");
	b[1] = member_body(0, "b", "champion_left", "critical", "firing",
	    "n2");
	b[2] = member_body(0, "c", "no_touch", "info", "resolved", "n3");
	for (i = 0; i < 3; i++)
		bodies[i] = b[i];
	s = notify_group_webhook(bodies, 3);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strchr(s, '\n'));
	j = parse(s);
	ck_assert(json_is_array(j));
	ck_assert_uint_eq(json_array_size(j), 3);
	/* Each element is the member's body as stored, in order. */
	json_array_foreach(j, i, e) {
		json_t *one = json_loads(b[i], 0, NULL);

		assert_json_eq(e, one);
		json_decref(one);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(e,
		    "fingerprint")));
	}
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(j, 1), "notification_id")), "n2");
	json_decref(j);
	for (i = 0; i < 3; i++)
		free(b[i]);
	ck_assert_ptr_null(notify_group_webhook(bodies, 0));
}
END_TEST

START_TEST(test_group_summary)
{
	struct notify_brief b[3];
	const struct notify_brief *m[3];
	char *s;
	size_t i;

	memset(b, 0, sizeof(b));
	b[0].rank = 1;		/* critical, resolved */
	b[1].rank = 0;
	b[2].rank = 4;		/* info */
	for (i = 0; i < 3; i++)
		m[i] = &b[i];
	s = notify_group_summary(m, 3);
	ck_assert_str_eq(s, "3 notifications: 1 critical, 1 info, "
	    "1 resolved");
	free(s);
	s = notify_group_summary(m, 1);
	ck_assert_str_eq(s, "1 notification: 1 resolved");
	free(s);
}
END_TEST

#define S	USEC

START_TEST(test_group_policy)
{
	struct notify_group g;
	int i;

	/* A quiet receiver: the first five of a window go at once. */
	notify_group_init(&g, 10 * S, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(notify_group_admit(&g, i * S / 10), 1);
	ck_assert_int_eq(notify_group_due(&g), 0);
	/* The sixth is held until the window's end. */
	ck_assert_int_eq(notify_group_admit(&g, 1 * S), 0);
	ck_assert_int_eq(notify_group_admit(&g, 2 * S), 0);
	ck_assert_int_eq(notify_group_due(&g), 10 * S);
	ck_assert_int_eq(notify_group_close(&g, 10 * S), 1);
	/* The burst goes on: nothing at once, one message per window. */
	ck_assert_int_eq(notify_group_admit(&g, 11 * S), 0);
	ck_assert_int_eq(notify_group_due(&g), 20 * S);
	ck_assert_int_eq(notify_group_close(&g, 20 * S), 1);
	/* A window with nothing in it lapses; then the live path again. */
	ck_assert_int_eq(notify_group_due(&g), 0);
	ck_assert_int_eq(notify_group_admit(&g, 31 * S), 1);
	ck_assert_int_eq(notify_group_due(&g), 0);
	ck_assert_int_eq(notify_group_close(&g, 41 * S), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(notify_group_admit(&g, 42 * S), 1);

	/* wait 0: no grouping. */
	notify_group_init(&g, 0, 5);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(notify_group_admit(&g, i), 1);
	ck_assert_int_eq(notify_group_due(&g), 0);

	/* max 0: Alertmanager's group_wait, everything waits. */
	notify_group_init(&g, 10 * S, 0);
	ck_assert_int_eq(notify_group_admit(&g, 5 * S), 0);
	ck_assert_int_eq(notify_group_due(&g), 15 * S);
	/* A late timer: the held ones are not taken for a lapsed window. */
	ck_assert_int_eq(notify_group_admit(&g, 16 * S), 0);
	ck_assert_int_eq(notify_group_close(&g, 16 * S), 1);
}
END_TEST

#undef S

/* ---- the portfolio alert ---- */

static struct notify_portfolio
portfolio_view(struct notify_portfolio_account *acc, size_t n)
{
	struct notify_portfolio v;
	size_t i;

	for (i = 0; i < n; i++) {
		char *id = malloc(32);

		ck_assert_ptr_nonnull(id);
		snprintf(id, 32, "acct-%04zu", i);
		acc[i].id = id;
		acc[i].name = i % 2 == 0 ? "Acme <&> Corp" : NULL;
		acc[i].count = (unsigned)i + 1;
	}
	memset(&v, 0, sizeof(v));
	v.kind = "firing";
	v.alert_id = 42;
	v.notification_id = "43";
	v.fingerprint = "0123456789abcdef";
	v.key = "voice_risk:budget";
	v.key_kind = "voice_risk";
	v.key_value = "budget";
	v.severity = "warning";
	v.explanation = "\"budget\" remarks at 5 accounts in the last 14 days";
	v.accounts = acc;
	v.naccounts = n;
	v.min_accounts = 5;
	v.days = 14;
	v.started_at = INT64_C(1700000000) * 1000000;
	v.play = "Bring it to product.";
	return v;
}

static void
portfolio_view_free(struct notify_portfolio_account *acc, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((char *)acc[i].id);
}

START_TEST(test_portfolio_webhook)
{
	struct notify_portfolio_account acc[5];
	struct notify_portfolio v = portfolio_view(acc, 5);
	struct notify_brief b;
	json_t *j, *a;
	char *body;

	ck_assert_ptr_nonnull(body = notify_portfolio_webhook(&v));
	ck_assert_int_eq(notify_brief_parse(body, &b), 0);
	ck_assert_str_eq(b.signal, "portfolio");
	ck_assert_ptr_nonnull(strstr(b.line, "portfolio — "));
	notify_brief_clear(&b);
	j = parse(body);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
	    "portfolio");
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")),
	    "voice_risk:budget");
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")),
	    "voice_risk");
	ck_assert_str_eq(json_string_value(json_object_get(j, "alert_id")),
	    "42");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
	    "firing");
	ck_assert(json_is_null(json_object_get(j, "resolved_at")));
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "notification_id")), "43");
	ck_assert_str_eq(json_string_value(json_object_get(j, "fingerprint")),
	    "0123456789abcdef");
	a = json_object_get(j, "accounts");
	ck_assert_uint_eq(json_array_size(a), 5);
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(a, 1), "id")), "acct-0001");
	ck_assert(json_is_null(json_object_get(json_array_get(a, 1), "name")));
	ck_assert_int_eq(json_integer_value(json_object_get(
	    json_array_get(a, 4), "count")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j,
	    "evidence"), "threshold")), 5);
	json_decref(j);

	v.kind = "resolved";
	v.resolved_at = v.started_at + 1;
	j = parse(notify_portfolio_webhook(&v));
	ck_assert(json_is_string(json_object_get(j, "resolved_at")));
	json_decref(j);

	v.key = NULL;
	ck_assert_ptr_null(notify_portfolio_webhook(&v));
	ck_assert_ptr_null(notify_portfolio_slack(&v));
	v.key = "voice_risk:budget";
	v.kind = "nope";
	ck_assert_ptr_null(notify_portfolio_webhook(&v));
	portfolio_view_free(acc, 5);
}
END_TEST

START_TEST(test_portfolio_slack)
{
	static struct notify_portfolio_account acc[2000];
	struct notify_portfolio v = portfolio_view(acc, 6);
	struct notify_brief b;
	const char *list;
	char *body;
	json_t *j;

	ck_assert_ptr_nonnull(body = notify_portfolio_slack(&v));
	ck_assert_int_eq(notify_brief_parse(body, &b), 0);
	ck_assert_str_eq(b.signal, "portfolio");
	ck_assert_int_eq(b.rank, 2);		/* warning, firing */
	notify_brief_clear(&b);
	j = parse(body);
	assert_slack_limits(j);
	ck_assert(starts_with(text_of(j), ":warning: [warning] portfolio: "));
	ck_assert(ends_with(block_text(j, 0), "portfolio trend — budget"));
	list = block_text(j, 3);
	ck_assert(starts_with(list, "*Accounts:*\n• Acme &lt;&amp;&gt; Corp "
	    "(acct-0000) — 1\n• acct-0001 — 2"));
	json_decref(j);
	portfolio_view_free(acc, 6);

	/* Two thousand accounts: within Slack's limits, the rest counted. */
	v = portfolio_view(acc, 2000);
	v.kind = "resolved";
	v.resolved_at = v.started_at + 1;
	j = parse(notify_portfolio_slack(&v));
	assert_slack_limits(j);
	ck_assert(starts_with(text_of(j), ":white_check_mark: [resolved] "));
	list = block_text(j, 3);
	ck_assert_ptr_nonnull(strstr(list, " more"));
	ck_assert_ptr_nonnull(strstr(list, "\n… and "));
	json_decref(j);
	portfolio_view_free(acc, 2000);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("notify");

	tc = tcase_create("webhook");
	tcase_add_test(tc, test_webhook_golden);
	tcase_add_test(tc, test_webhook_nulls);
	tcase_add_test(tc, test_webhook_invalid);
	tcase_add_test(tc, test_webhook_resolved);
	tcase_add_test(tc, test_webhook_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("portfolio");
	tcase_add_test(tc, test_portfolio_webhook);
	tcase_add_test(tc, test_portfolio_slack);
	suite_add_tcase(s, tc);

	tc = tcase_create("slack");
	tcase_add_test(tc, test_slack_golden);
	tcase_add_test(tc, test_slack_variants);
	tcase_add_test(tc, test_slack_minimal);
	tcase_add_test(tc, test_slack_escape);
	tcase_add_test(tc, test_slack_long_explanation);
	tcase_add_test(tc, test_slack_multibyte);
	tcase_add_test(tc, test_slack_cut_entity);
	suite_add_tcase(s, tc);

	tc = tcase_create("digest");
	tcase_add_test(tc, test_digest_slack);
	tcase_add_test(tc, test_digest_check);
	tcase_add_test(tc, test_digest_slack_many);
	tcase_add_test(tc, test_digest_webhook);
	suite_add_tcase(s, tc);

	tc = tcase_create("group");
	tcase_add_test(tc, test_brief_parse);
	tcase_add_test(tc, test_group_slack_golden);
	tcase_add_test(tc, test_group_slack_many);
	tcase_add_test(tc, test_group_webhook);
	tcase_add_test(tc, test_group_summary);
	tcase_add_test(tc, test_group_policy);
	suite_add_tcase(s, tc);

	tc = tcase_create("delivery");
	tcase_add_test(tc, test_sign_vectors);
	tcase_add_test(tc, test_sign_errors);
	tcase_add_test(tc, test_pace_burst);
	tcase_add_test(tc, test_pace_rates);
	tcase_add_test(tc, test_backoff_range);
	tcase_add_test(tc, test_classify_table);
	tcase_add_test(tc, test_retry_after_seconds);
	tcase_add_test(tc, test_retry_after_date);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(notify_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
