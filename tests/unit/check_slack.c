/*
 * check_slack.c -- unit tests for slack.c and receiver.c: Slack's request
 * signature (the example of Slack's "Verifying requests" docs), the
 * 5-minute window, replays, form decoding, block_actions payloads, the
 * slash command's grammar, Web API answers and error classes, the app's
 * message (channel, ts, buttons), the texts of /churnwatch, and the
 * receiver rows' requests.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "receiver.h"
#include "slack.h"

/* Slack's documented example. */
#define DOC_SECRET	"8f742231b10e8888abcd99yyyzzz85a5"
#define DOC_TS		"1531420618"
#define DOC_BODY	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&" \
	"team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&" \
	"user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&" \
	"text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F" \
	"T1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=" \
	"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define DOC_SIG		"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd" \
	"27519666489c69b503"

START_TEST(test_signature)
{
	char sig[SLACK_SIG_LEN];
	const char *why;
	int64_t now = 1531420618;

	ck_assert_int_eq(slack_sign(DOC_SECRET, DOC_TS, DOC_BODY,
	    strlen(DOC_BODY), sig), 0);
	ck_assert_str_eq(sig, DOC_SIG);
	ck_assert_int_eq(slack_verify(DOC_SECRET, DOC_TS, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY), now + 299, &why), 0);
	/* Stale, from the future, another body, another secret. */
	ck_assert_int_eq(slack_verify(DOC_SECRET, DOC_TS, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY), now + 301, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "5 minutes"));
	ck_assert_int_eq(slack_verify(DOC_SECRET, DOC_TS, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY), now - 301, &why), -1);
	ck_assert_int_eq(slack_verify(DOC_SECRET, DOC_TS, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY) - 1, now, &why), -1);
	ck_assert_str_eq(why, "X-Slack-Signature does not match");
	ck_assert_int_eq(slack_verify("another-secret", DOC_TS, DOC_SIG,
	    DOC_BODY, strlen(DOC_BODY), now, &why), -1);
	/* Missing headers, a bad timestamp, no secret configured. */
	ck_assert_int_eq(slack_verify(DOC_SECRET, NULL, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY), now, &why), -1);
	ck_assert_int_eq(slack_verify(DOC_SECRET, DOC_TS, NULL, DOC_BODY,
	    strlen(DOC_BODY), now, &why), -1);
	ck_assert_int_eq(slack_verify(DOC_SECRET, "15314x", DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY), now, &why), -1);
	ck_assert_int_eq(slack_verify(NULL, DOC_TS, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY), now, &why), -1);
	ck_assert_int_eq(slack_verify(DOC_SECRET, DOC_TS, "v0=abc", DOC_BODY,
	    strlen(DOC_BODY), now, &why), -1);
}
END_TEST

START_TEST(test_replay)
{
	struct slack_replay *r = slack_replay_new();
	char sig[SLACK_SIG_LEN];
	int i;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(slack_replay_check(r, DOC_SIG, 1000, 1000), 0);
	ck_assert_int_eq(slack_replay_check(r, DOC_SIG, 1000, 1100), 1);
	ck_assert_int_eq(slack_replay_check(r, "v0=other", 1000, 1100), 0);
	/* Stale entries are forgotten (the window refuses them anyway). */
	ck_assert_int_eq(slack_replay_check(r, DOC_SIG, 1000, 1400), 0);
	/* Bounded: the oldest goes. */
	for (i = 0; i < SLACK_REPLAY_MAX; i++) {
		snprintf(sig, sizeof(sig), "v0=%064d", i);
		ck_assert_int_eq(slack_replay_check(r, sig, 2000, 2000), 0);
	}
	ck_assert_int_eq(slack_replay_check(r, sig, 2000, 2000), 1);
	snprintf(sig, sizeof(sig), "v0=%064d", 0);
	ck_assert_int_eq(slack_replay_check(r, sig, 2000, 2000), 1);
	slack_replay_free(r);
	slack_replay_free(NULL);
}
END_TEST

START_TEST(test_form)
{
	char *v;

	v = slack_form_get(DOC_BODY, strlen(DOC_BODY), "command");
	ck_assert_str_eq(v, "/webhook-collect");
	free(v);
	v = slack_form_get(DOC_BODY, strlen(DOC_BODY), "text");
	ck_assert_str_eq(v, "");
	free(v);
	v = slack_form_get(DOC_BODY, strlen(DOC_BODY), "response_url");
	ck_assert_str_eq(v, "https://hooks.slack.com/commands/T1DC2JH3J/"
	    "397700885554/96rGlfmibIGlgcZRskXaIFfN");
	free(v);
	ck_assert_ptr_null(slack_form_get(DOC_BODY, strlen(DOC_BODY), "nope"));
	v = slack_form_get("text=why+acme%21", 16, "text");
	ck_assert_str_eq(v, "why acme!");
	free(v);
	/* Bad escapes and NULs are refused; only len bytes are read. */
	ck_assert_ptr_null(slack_form_get("text=%zz", 8, "text"));
	ck_assert_ptr_null(slack_form_get("text=%4", 7, "text"));
	ck_assert_ptr_null(slack_form_get("text=a%00b", 10, "text"));
	v = slack_form_get("text=abc&x=1", 6, "text");
	ck_assert_str_eq(v, "a");
	free(v);
}
END_TEST

START_TEST(test_action)
{
	struct slack_action a;
	const char *why;
	const char *p =
	    "{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\","
	    "\"username\":\"bob\",\"name\":\"bob\"},\"container\":"
	    "{\"type\":\"message\",\"message_ts\":\"1.2\"},\"channel\":"
	    "{\"id\":\"C1\"},\"response_url\":\"https://hooks.slack.com/"
	    "actions/x\",\"actions\":[{\"action_id\":\"cw_snooze\","
	    "\"value\":\"42:login_absent:ac:me\",\"type\":\"button\"}]}";

	ck_assert_int_eq(slack_action_parse(p, &a, &why), 0);
	ck_assert_str_eq(a.action, SLACK_ACTION_SNOOZE);
	ck_assert(a.alert_id == 42);
	ck_assert_str_eq(a.signal, "login_absent");
	ck_assert_str_eq(a.account, "ac:me");
	ck_assert_str_eq(a.user_id, "U1");
	ck_assert_str_eq(a.user_name, "bob");
	ck_assert_str_eq(a.channel, "C1");
	ck_assert_str_eq(a.message_ts, "1.2");
	ck_assert_str_eq(a.response_url, "https://hooks.slack.com/actions/x");

	ck_assert_int_eq(slack_action_parse("{\"type\":\"view_submission\"}",
	    &a, &why), -1);
	ck_assert_int_eq(slack_action_parse("nope", &a, &why), -1);
	ck_assert_int_eq(slack_action_parse("{\"type\":\"block_actions\","
	    "\"actions\":[{\"action_id\":\"other\",\"value\":\"1:s:a\"}]}",
	    &a, &why), -1);
	ck_assert_int_eq(slack_action_parse("{\"type\":\"block_actions\","
	    "\"actions\":[{\"action_id\":\"cw_ack\",\"value\":\"x:s:a\"}]}",
	    &a, &why), -1);
	ck_assert_int_eq(slack_action_parse("{\"type\":\"block_actions\","
	    "\"actions\":[{\"action_id\":\"cw_ack\",\"value\":\"1:s\"}]}",
	    &a, &why), -1);
}
END_TEST

START_TEST(test_command)
{
	struct slack_command c;
	const char *why;

	ck_assert_int_eq(slack_command_parse("", &c, &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_HELP);
	ck_assert_int_eq(slack_command_parse("help", &c, &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_HELP);
	ck_assert_int_eq(slack_command_parse("at-risk", &c, &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_AT_RISK);
	ck_assert_str_eq(c.owner, "");
	ck_assert_int_eq(slack_command_parse(" at-risk  Bob Smith", &c, &why),
	    0);
	ck_assert_str_eq(c.owner, "Bob Smith");
	ck_assert_int_eq(slack_command_parse("why acme", &c, &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_WHY);
	ck_assert_str_eq(c.account, "acme");
	ck_assert_int_eq(slack_command_parse("why", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("why a b", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("snooze acme 7d on leave", &c,
	    &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_SNOOZE);
	ck_assert_uint_eq(c.days, 7);
	ck_assert_str_eq(c.rest, "on leave");
	ck_assert_int_eq(slack_command_parse("snooze acme 90d", &c, &why), 0);
	ck_assert_str_eq(c.rest, "");
	ck_assert_int_eq(slack_command_parse("snooze acme 91d", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("snooze acme 0d", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("snooze acme 7", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("snooze acme", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("note acme They  said no.", &c,
	    &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_NOTE);
	ck_assert_str_eq(c.rest, "They  said no.");
	ck_assert_int_eq(slack_command_parse("note acme", &c, &why), -1);
	ck_assert_int_eq(slack_command_parse("dance now", &c, &why), 0);
	ck_assert_int_eq(c.cmd, SLACK_CMD_UNKNOWN);
	ck_assert_str_eq(c.word, "dance");
}
END_TEST

START_TEST(test_reply_and_errors)
{
	struct slack_reply r;
	int gone;

	ck_assert_int_eq(slack_reply_parse("{\"ok\":true,\"channel\":\"C1\","
	    "\"ts\":\"1700000000.000100\"}", &r), 0);
	ck_assert(r.ok);
	ck_assert_str_eq(r.channel, "C1");
	ck_assert_str_eq(r.ts, "1700000000.000100");
	ck_assert_int_eq(slack_reply_parse("{\"ok\":false,\"error\":"
	    "\"not_in_channel\"}", &r), 0);
	ck_assert(!r.ok);
	ck_assert_str_eq(r.error, "not_in_channel");
	ck_assert_int_eq(slack_reply_parse("ok", &r), -1);
	ck_assert_int_eq(slack_reply_parse("{\"error\":\"x\"}", &r), -1);

	ck_assert_int_eq(slack_error_class("ratelimited", &gone),
	    NOTIFY_RETRY_AFTER);
	ck_assert_int_eq(slack_error_class("internal_error", &gone),
	    NOTIFY_RETRY);
	ck_assert_int_eq(slack_error_class("invalid_auth", &gone),
	    NOTIFY_PERMANENT);
	ck_assert_int_eq(gone, 1);
	ck_assert_int_eq(slack_error_class("token_revoked", &gone),
	    NOTIFY_PERMANENT);
	ck_assert_int_eq(gone, 1);
	ck_assert_int_eq(slack_error_class("account_inactive", &gone),
	    NOTIFY_PERMANENT);
	ck_assert_int_eq(gone, 1);
	ck_assert_int_eq(slack_error_class("channel_not_found", &gone),
	    NOTIFY_PERMANENT);
	ck_assert_int_eq(gone, 0);
	ck_assert_int_eq(slack_error_class("not_in_channel", &gone),
	    NOTIFY_PERMANENT);
	ck_assert_int_eq(gone, 0);
	ck_assert_int_eq(slack_error_class("something_new", &gone),
	    NOTIFY_PERMANENT);
	ck_assert_int_eq(gone, 0);
}
END_TEST

/* The slack-app row: URLs, headers, and its judgement of answers. */
START_TEST(test_receiver_rows)
{
	const struct receiver_type *app = receiver_type_get(RECEIVER_SLACK_APP);
	const struct receiver_type *hook = receiver_type_get(RECEIVER_WEBHOOK);
	char url[RECEIVER_URL_LEN], hdr[RECEIVER_HDR_MAX][RECEIVER_HDR_LEN];
	struct receiver_request rq;
	struct receiver_verdict v;
	size_t n;

	ck_assert_int_eq(receiver_kind_find("slack-app"), RECEIVER_SLACK_APP);
	ck_assert_int_eq(receiver_kind_find("slack-response"), -1);
	ck_assert_ptr_null(receiver_type_get(RECEIVER__COUNT));

	memset(&rq, 0, sizeof(rq));
	rq.url = "https://slack.com/api";
	rq.secret = "xoxb-token";
	rq.body = "{\"channel\":\"C1\",\"text\":\"x\"}";
	rq.len = strlen(rq.body);
	ck_assert_int_eq(app->request(&rq, url, hdr, &n), 0);
	ck_assert_str_eq(url, "https://slack.com/api/chat.postMessage");
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(hdr[1], "Authorization: Bearer xoxb-token");
	rq.body = "{\"channel\":\"C1\",\"ts\":\"1.2\",\"text\":\"x\"}";
	ck_assert_int_eq(app->request(&rq, url, hdr, &n), 0);
	ck_assert_str_eq(url, "https://slack.com/api/chat.update");
	ck_assert_int_eq(app->groupable(rq.body), 0);

	app->classify(200, 0, "{\"ok\":true,\"ts\":\"1.2\"}", &v);
	ck_assert_int_eq(v.result, NOTIFY_OK);
	app->classify(200, 0, "{\"ok\":false,\"error\":\"ratelimited\"}", &v);
	ck_assert_int_eq(v.result, NOTIFY_RETRY_AFTER);
	app->classify(429, 0, "", &v);
	ck_assert_int_eq(v.result, NOTIFY_RETRY_AFTER);
	app->classify(200, 0, "{\"ok\":false,\"error\":\"invalid_auth\"}", &v);
	ck_assert(v.result == NOTIFY_PERMANENT && v.gone);
	ck_assert_str_eq(v.why, "invalid_auth");
	app->classify(200, 0, "<html>", &v);
	ck_assert(v.result == NOTIFY_PERMANENT && !v.gone);
	app->classify(0, 1, "", &v);
	ck_assert_int_eq(v.result, NOTIFY_RETRY);
	app->classify(503, 0, "", &v);
	ck_assert_int_eq(v.result, NOTIFY_RETRY);

	/* A webhook: signed, its notification id; 404 is not "gone". */
	rq.url = "https://example.com/hook";
	rq.secret = "hook-secret";
	rq.id = 7;
	rq.now = 1700000000;
	ck_assert_int_eq(hook->request(&rq, url, hdr, &n), 0);
	ck_assert_str_eq(url, "https://example.com/hook");
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(hdr[2], "X-Churnwatch-Notification-Id: 7");
	ck_assert(strncmp(hdr[3], "X-Churnwatch-Signature: t=1700000000,v1=",
	    40) == 0);
	hook->classify(404, 0, "", &v);
	ck_assert(v.result == NOTIFY_PERMANENT && !v.gone);
	receiver_type_get(RECEIVER_SLACK)->classify(410, 0, "", &v);
	ck_assert(v.result == NOTIFY_PERMANENT && v.gone);
}
END_TEST

static struct notify_view
view(void)
{
	struct notify_view v;

	memset(&v, 0, sizeof(v));
	v.kind = "firing";
	v.alert_id = 42;
	v.notification_id = "43";
	v.fingerprint = "0123456789abcdef";
	v.account.id = "acme";
	v.account.name = "Acme Corp";
	v.account.owner = "alice";
	v.account.slack_channel = "C-ACME";
	v.signal.name = "login_absent";
	v.signal.category = "usage";
	v.signal.severity = "critical";
	v.explanation = "no login for 21 days";
	v.health.score = 70;
	v.health.status = "green";
	v.play = "Call the champion.";
	return v;
}

static json_t *
app_json(const struct notify_view *v)
{
	char *s = slack_app_alert(v);
	json_t *o;

	ck_assert_ptr_nonnull(s);
	o = json_loads(s, 0, NULL);
	free(s);
	ck_assert_ptr_nonnull(o);
	return o;
}

/* The action ids of the message's actions block, "" when none. */
static void
actions(json_t *o, char *out, size_t len)
{
	json_t *b, *e;
	size_t i, j;

	out[0] = '\0';
	json_array_foreach(json_object_get(o, "blocks"), i, b) {
		if (strcmp(json_string_value(json_object_get(b, "type")),
		    "actions") != 0)
			continue;
		json_array_foreach(json_object_get(b, "elements"), j, e) {
			strncat(out, json_string_value(json_object_get(e,
			    "action_id")), len - strlen(out) - 1);
			strncat(out, " ", len - strlen(out) - 1);
			ck_assert_str_eq(json_string_value(json_object_get(e,
			    "value")), "42:login_absent:acme");
		}
	}
}

START_TEST(test_app_message)
{
	struct notify_view v = view();
	char acts[128], *s;
	json_t *o;

	/* A post: the account's channel, no ts, three buttons. */
	o = app_json(&v);
	ck_assert_str_eq(json_string_value(json_object_get(o, "channel")),
	    "C-ACME");
	ck_assert_ptr_null(json_object_get(o, "ts"));
	actions(o, acts, sizeof(acts));
	ck_assert_str_eq(acts, "cw_ack cw_snooze cw_why ");
	json_decref(o);

	/* An update after an ack: the given channel and ts, a note. */
	v.channel = "C-OWNER";
	v.message_ts = "1700000000.000101";
	v.status_note = "Acknowledged by bob";
	v.acked = 1;
	o = app_json(&v);
	ck_assert_str_eq(json_string_value(json_object_get(o, "channel")),
	    "C-OWNER");
	ck_assert_str_eq(json_string_value(json_object_get(o, "ts")),
	    "1700000000.000101");
	actions(o, acts, sizeof(acts));
	ck_assert_str_eq(acts, "cw_snooze cw_why ");
	s = json_dumps(o, 0);
	ck_assert_ptr_nonnull(strstr(s, "Acknowledged by bob"));
	free(s);
	json_decref(o);
	ck_assert(slack_body_is_update("{\"channel\":\"C\",\"ts\":\"1.2\"}"));
	ck_assert(!slack_body_is_update("{\"channel\":\"C\"}"));

	/* Resolved: no buttons.  No channel at all: no message. */
	v.kind = "resolved";
	o = app_json(&v);
	actions(o, acts, sizeof(acts));
	ck_assert_str_eq(acts, "");
	json_decref(o);
	v = view();
	v.account.slack_channel = NULL;
	ck_assert_ptr_null(slack_app_alert(&v));
}
END_TEST

START_TEST(test_texts)
{
	char *t;

	t = slack_at_risk_text("{\"accounts\":[{\"id\":\"acme\",\"name\":"
	    "\"Acme <Corp>\",\"score\":40,\"status\":\"yellow\",\"signals\":"
	    "[\"login_absent\",\"no_touch\"],\"renewal\":{\"days\":34}},"
	    "{\"id\":\"fine\",\"name\":null,\"score\":100,\"status\":\"green\","
	    "\"signals\":[]}],\"next_cursor\":null}", "alice");
	ck_assert_str_eq(t, "*Accounts at risk — alice*, worst first:\n"
	    "• *Acme &lt;Corp&gt;* (acme) — 40, yellow: login_absent, "
	    "no_touch — renews in 34 days");
	free(t);
	t = slack_at_risk_text("{\"accounts\":[]}", "bob");
	ck_assert_str_eq(t, "No account at risk for bob.");
	free(t);
	ck_assert_ptr_null(slack_at_risk_text("nope", NULL));

	t = slack_why_text("{\"id\":\"acme\",\"name\":\"Acme\",\"health\":"
	    "{\"score\":40,\"status\":\"yellow\",\"explanation\":\"100 → 40: "
	    "login_absent −30\",\"play\":\"Offer a session.\"},\"signals\":"
	    "[{\"name\":\"login_absent\",\"severity\":\"critical\","
	    "\"explanation\":\"no login for 21 days\",\"evidence\":"
	    "{\"days\":21},\"play\":\"Call the champion.\"}]}");
	ck_assert_str_eq(t, "*Acme* (acme) — health 40, yellow\n"
	    "*Score:* 100 → 40: login_absent −30\n"
	    "• *login_absent* (critical): no login for 21 days\n"
	    "    _evidence:_ days=21 \n"
	    "    _play:_ Call the champion.\n"
	    "*Play:* Offer a session.");
	free(t);
	ck_assert_ptr_nonnull(strstr(slack_help_text(), "note ACCOUNT TEXT"));

	t = slack_ephemeral("hi");
	ck_assert_str_eq(t, "{\"response_type\":\"ephemeral\","
	    "\"replace_original\":false,\"text\":\"hi\"}");
	free(t);

	ck_assert(slack_response_url_ok("https://hooks.slack.com/actions/T/1",
	    "https://slack.com/api"));
	ck_assert(slack_response_url_ok("http://127.0.0.1:9/response/1",
	    "http://127.0.0.1:9/api"));
	ck_assert(!slack_response_url_ok("http://127.0.0.1:99/response/1",
	    "http://127.0.0.1:9/api"));
	ck_assert(!slack_response_url_ok("http://169.254.169.254/latest",
	    "https://slack.com/api"));
	ck_assert(!slack_response_url_ok("https://hooks.slack.com.evil/x",
	    "https://slack.com/api"));
}
END_TEST

static Suite *
slack_suite(void)
{
	Suite *s = suite_create("slack");
	TCase *tc = tcase_create("slack");

	tcase_add_test(tc, test_signature);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_form);
	tcase_add_test(tc, test_action);
	tcase_add_test(tc, test_command);
	tcase_add_test(tc, test_reply_and_errors);
	tcase_add_test(tc, test_receiver_rows);
	tcase_add_test(tc, test_app_message);
	tcase_add_test(tc, test_texts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(slack_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
