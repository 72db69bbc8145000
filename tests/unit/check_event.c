/*
 * check_event.c -- unit tests for event.c: body formats, whole-body
 * failures, every per-event rejection code, ts bounds, props kept as sent,
 * the props extracted for the rules, events rebuilt from stored rows.
 * Links only event.c and util.c (and jansson).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "util.h"

#define S(x)	(INT64_C(x) * CW_USEC_PER_SEC)
#define NOW	S(1795176000)		/* 2026-11-20T12:00:00Z */
#define MAXEV	5

static const struct cw_event_limits lim = {
	MAXEV, 400 * CW_USEC_PER_DAY, 300 * CW_USEC_PER_SEC
};

/* A valid login event with the given id. */
#define LOGIN(id) \
	"{\"id\":\"" id "\",\"account_id\":\"acme\",\"type\":\"login\"," \
	"\"user_id\":\"u1\"}"

static struct cw_event_batch	b;
static struct cw_error		e;
static struct cw_event_limits	cur;	/* what decode() uses */

static void
setup(void)
{
	memset(&b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	cur = lim;
}

static void
teardown(void)
{
	event_batch_free(&b);
}

/* Every message is a short, printable, NUL-terminated sentence. */
static void
assert_msg_ok(const char *msg)
{
	size_t	i, n;

	n = strnlen(msg, 160);
	ck_assert_msg(n > 0 && n < 160, "message length %zu", n);
	for (i = 0; i < n; i++)
		ck_assert_msg((unsigned char)msg[i] >= 0x20 &&
		    (unsigned char)msg[i] < 0x7f, "byte 0x%02x in \"%s\"",
		    (unsigned char)msg[i], msg);
}

static int
decode(const char *body, enum cw_body_format f)
{
	int	rc;
	size_t	i;

	rc = event_decode_body(body, strlen(body), f, NOW, &cur, &b, &e);
	if (rc == 0) {
		ck_assert_uint_eq(b.nev + b.nrej, b.total);
		for (i = 0; i < b.nrej; i++) {
			assert_msg_ok(b.rej[i].err.msg);
			if (i > 0)
				ck_assert_uint_gt(b.rej[i].index,
				    b.rej[i - 1].index);
		}
	} else {
		ck_assert_ptr_null(b.ev);
		ck_assert_ptr_null(b.rej);
		ck_assert_uint_eq(b.nev, 0);
		ck_assert_uint_eq(b.nrej, 0);
		ck_assert_uint_eq(b.total, 0);
		ck_assert_ptr_nonnull(e.code);
		assert_msg_ok(e.msg);
	}
	return rc;
}

static int
decode_json(const char *body)
{
	return decode(body, BODY_JSON);
}

/* Body whose single event is rejected: returns the rejection. */
static const struct cw_rejection *
reject1(const char *body)
{
	ck_assert_int_eq(decode_json(body), 0);
	ck_assert_msg(b.nrej == 1, "%s: accepted", body);
	ck_assert_uint_eq(b.nev, 0);
	return &b.rej[0];
}

static const struct cw_event *
accept1(const char *body)
{
	ck_assert_int_eq(decode_json(body), 0);
	ck_assert_msg(b.nev == 1, "%s: rejected: %s: %s", body,
	    b.nrej ? b.rej[0].err.code : "", b.nrej ? b.rej[0].err.msg : "");
	ck_assert_uint_eq(b.nrej, 0);
	return &b.ev[0];
}

/* --- types --- */

START_TEST(type_names)
{
	static const char *const names[] = {
		"login", "feature_used", "ticket.created", "ticket.updated",
		"ticket.solved", "contact.joined", "contact.left",
		"contact.changed", "competitor.signal", "touchpoint",
		"note", "account.churned", "account.renewed",
		"account.contracted",
	};
	size_t	i;

	ck_assert_int_eq(sizeof(names) / sizeof(names[0]), EV__COUNT);
	for (i = 0; i < EV__COUNT; i++) {
		ck_assert_str_eq(event_type_name((enum cw_event_type)i),
		    names[i]);
		ck_assert_int_eq(event_type_parse(names[i], strlen(names[i])),
		    (int)i);
	}
	ck_assert_ptr_null(event_type_name(EV__COUNT));
	ck_assert_int_eq(event_type_parse("ticket", 6), -1);
	ck_assert_int_eq(event_type_parse("ticket.created", 6), -1);
	ck_assert_int_eq(event_type_parse("LOGIN", 5), -1);
	ck_assert_int_eq(event_type_parse("loginx", 6), -1);
	ck_assert_int_eq(event_type_parse("", 0), -1);
}
END_TEST

/* --- accepted events --- */

START_TEST(single_object)
{
	const struct cw_event	*ev;

	ev = accept1("{\"id\":\"evt_1\",\"account_id\":\"acme\","
	    "\"type\":\"feature_used\",\"ts\":\"2026-11-20T09:30:00Z\","
	    "\"user_id\":\"u_42\",\"props\":{\"feature\":\"export\"}}");
	ck_assert_uint_eq(b.total, 1);
	ck_assert_str_eq(ev->id, "evt_1");
	ck_assert_str_eq(ev->account_id, "acme");
	ck_assert_int_eq(ev->type, EV_FEATURE_USED);
	ck_assert_int_eq(ev->ts, S(1795167000));
	ck_assert_str_eq(ev->user_id, "u_42");
	ck_assert_str_eq(ev->props, "{\"feature\":\"export\"}");
}
END_TEST

START_TEST(array)
{
	ck_assert_int_eq(decode_json(" [ " LOGIN("a") " , " LOGIN("b") ","
	    LOGIN("c") "]\n"), 0);
	ck_assert_uint_eq(b.total, 3);
	ck_assert_uint_eq(b.nev, 3);
	ck_assert_uint_eq(b.nrej, 0);
	ck_assert_str_eq(b.ev[0].id, "a");
	ck_assert_str_eq(b.ev[1].id, "b");
	ck_assert_str_eq(b.ev[2].id, "c");
	ck_assert_str_eq(b.ev[2].props, "{}");
	ck_assert_int_eq(b.ev[2].ts, NOW);
}
END_TEST

START_TEST(ndjson)
{
	ck_assert_int_eq(decode("\n" LOGIN("a") "\r\n\r\n  \t\n" LOGIN("b")
	    "\n\n" LOGIN("c"), BODY_NDJSON), 0);
	ck_assert_uint_eq(b.total, 3);
	ck_assert_uint_eq(b.nev, 3);
	ck_assert_str_eq(b.ev[0].id, "a");
	ck_assert_str_eq(b.ev[1].id, "b");
	ck_assert_str_eq(b.ev[2].id, "c");
}
END_TEST

START_TEST(ndjson_bad_line)
{
	/* Blank lines take no index; the bad line is index 1 on line 3. */
	cur.max_events = 6;
	ck_assert_int_eq(decode(LOGIN("a") "\r\n\r\n{\"id\": \r\n"
	    "\n" LOGIN("b") "\r\n" "[1]\n" "42\n" LOGIN("c") "\n",
	    BODY_NDJSON), 0);
	ck_assert_uint_eq(b.total, 6);
	ck_assert_uint_eq(b.nev, 3);
	ck_assert_str_eq(b.ev[0].id, "a");
	ck_assert_str_eq(b.ev[1].id, "b");
	ck_assert_str_eq(b.ev[2].id, "c");
	ck_assert_uint_eq(b.nrej, 3);
	ck_assert_uint_eq(b.rej[0].index, 1);
	ck_assert_str_eq(b.rej[0].err.code, "invalid_json");
	ck_assert_msg(strstr(b.rej[0].err.msg, "line 3") != NULL, "%s",
	    b.rej[0].err.msg);
	ck_assert_uint_eq(b.rej[1].index, 3);
	ck_assert_str_eq(b.rej[1].err.code, "invalid_event");
	ck_assert_uint_eq(b.rej[2].index, 4);
	ck_assert_str_eq(b.rej[2].err.code, "invalid_event");
}
END_TEST

START_TEST(ndjson_trailing_junk)
{
	ck_assert_int_eq(decode(LOGIN("a") " " LOGIN("b") "\n" LOGIN("c"),
	    BODY_NDJSON), 0);
	ck_assert_uint_eq(b.nev, 1);
	ck_assert_uint_eq(b.nrej, 1);
	ck_assert_uint_eq(b.rej[0].index, 0);
	ck_assert_str_eq(b.rej[0].err.code, "invalid_json");
}
END_TEST

START_TEST(mixed_batch)
{
	ck_assert_int_eq(decode_json("[" LOGIN("a") ", 7, "
	    "{\"id\":\"b\",\"account_id\":\"acme\",\"type\":\"logout\"},"
	    LOGIN("c") ", {\"id\":\"d\",\"account_id\":\"acme\","
	    "\"type\":\"touchpoint\",\"props\":{\"kind\":\"call\"}}]"), 0);
	ck_assert_uint_eq(b.total, 5);
	ck_assert_uint_eq(b.nev, 3);
	ck_assert_str_eq(b.ev[0].id, "a");
	ck_assert_str_eq(b.ev[1].id, "c");
	ck_assert_str_eq(b.ev[2].id, "d");
	ck_assert_ptr_null(b.ev[2].user_id);
	ck_assert_str_eq(b.ev[2].props, "{\"kind\":\"call\"}");
	ck_assert_uint_eq(b.nrej, 2);
	ck_assert_uint_eq(b.rej[0].index, 1);
	ck_assert_str_eq(b.rej[0].err.code, "invalid_event");
	ck_assert_uint_eq(b.rej[1].index, 2);
	ck_assert_str_eq(b.rej[1].err.code, "unknown_type");
}
END_TEST

START_TEST(all_rejected)
{
	ck_assert_int_eq(decode_json("[1, 2, 3, 4, 5]"), 0);
	ck_assert_uint_eq(b.nev, 0);
	ck_assert_uint_eq(b.nrej, 5);
	ck_assert_uint_eq(b.rej[4].index, 4);
}
END_TEST

/* --- whole-body failures --- */

static const struct {
	const char		*body;
	enum cw_body_format	 fmt;
	const char		*code;
} whole_cases[] = {
	{ "{", BODY_JSON, "invalid_json" },
	{ "42", BODY_JSON, "invalid_json" },
	{ "\"x\"", BODY_JSON, "invalid_json" },
	{ "null", BODY_JSON, "invalid_json" },
	{ "true", BODY_JSON, "invalid_json" },
	{ "[1,]", BODY_JSON, "invalid_json" },
	{ LOGIN("a") " x", BODY_JSON, "invalid_json" },
	{ LOGIN("a") LOGIN("b"), BODY_JSON, "invalid_json" },
	{ LOGIN("a") "\n" LOGIN("b"), BODY_JSON, "invalid_json" },
	{ "{\"id\":\"a\x01\"}", BODY_JSON, "invalid_json" },
	{ "{\"id\":\"\\u0000\"}", BODY_JSON, "invalid_json" },
	{ "[\"\xff\"]", BODY_JSON, "invalid_json" },
	{ "\xef\xbb\xbf", BODY_JSON, "empty_body" },
	{ "\xef\xbb\xbf\xef\xbb\xbf" LOGIN("a"), BODY_JSON, "invalid_json" },
	{ "", BODY_JSON, "empty_body" },
	{ " \r\n\t ", BODY_JSON, "empty_body" },
	{ "[]", BODY_JSON, "empty_body" },
	{ " [ \n ] ", BODY_JSON, "empty_body" },
	{ "", BODY_NDJSON, "empty_body" },
	{ "\n\r\n  \n", BODY_NDJSON, "empty_body" },
	{ "[1,2,3,4,5,6]", BODY_JSON, "too_many_events" },
	{ "1\n2\n3\n\n4\n5\n6", BODY_NDJSON, "too_many_events" },
};

START_TEST(whole_body)
{
	ck_assert_msg(decode(whole_cases[_i].body, whole_cases[_i].fmt) == -1,
	    "\"%s\" decoded", whole_cases[_i].body);
	ck_assert_str_eq(e.code, whole_cases[_i].code);
}
END_TEST

START_TEST(whole_body_messages)
{
	ck_assert_int_eq(decode_json("{\"id\": tru}"), -1);
	ck_assert_str_eq(e.code, "invalid_json");
	ck_assert_msg(strstr(e.msg, "invalid token") != NULL &&
	    strstr(e.msg, "line 1") != NULL, "%s", e.msg);

	ck_assert_int_eq(decode_json("42"), -1);
	ck_assert_msg(strstr(e.msg, "object") != NULL, "%s", e.msg);

	ck_assert_int_eq(decode_json("[1,2,3,4,5,6]"), -1);
	ck_assert_str_eq(e.code, "too_many_events");
	ck_assert_msg(strstr(e.msg, "5") != NULL, "%s", e.msg);

	/* jansson's text with a control character is made printable. */
	ck_assert_int_eq(decode_json("[\"\x01\x02\x03\"]"), -1);
	ck_assert_str_eq(e.code, "invalid_json");
}
END_TEST

START_TEST(max_events)
{
	ck_assert_int_eq(decode_json("[1,2,3,4,5]"), 0);
	ck_assert_uint_eq(b.total, MAXEV);
	event_batch_free(&b);
	ck_assert_int_eq(decode("1\n2\n\n3\n4\n\n5\n\n", BODY_NDJSON), 0);
	ck_assert_uint_eq(b.total, MAXEV);
	ck_assert_uint_eq(b.rej[4].index, 4);
}
END_TEST

/* --- every rejection code --- */

#define ENV	"\"id\":\"e1\",\"account_id\":\"acme\""
#define TKT	ENV ",\"type\":\"ticket.created\""

static const struct {
	const char	*event;
	const char	*code;
	const char	*msg;		/* substring, or NULL */
} rej_cases[] = {
	{ "7", "invalid_event", "object" },
	{ "[]", "invalid_event", "object" },
	{ "null", "invalid_event", NULL },
	{ "{\"account_id\":\"acme\",\"type\":\"login\",\"user_id\":\"u\"}",
	    "missing_id", "id" },
	{ "{\"id\":null,\"account_id\":\"acme\",\"type\":\"login\"}",
	    "missing_id", NULL },
	{ "{\"id\":5,\"account_id\":\"acme\",\"type\":\"login\"}",
	    "invalid_id", "string" },
	{ "{\"id\":\"\",\"account_id\":\"acme\",\"type\":\"login\"}",
	    "invalid_id", "empty" },
	{ "{\"id\":\"a\\nb\",\"account_id\":\"acme\",\"type\":\"login\"}",
	    "invalid_id", "control" },
	{ "{\"id\":\"a\\u007fb\",\"account_id\":\"acme\",\"type\":\"login\"}",
	    "invalid_id", "control" },
	{ "{\"id\":\"a\\u0085b\",\"account_id\":\"acme\",\"type\":\"login\"}",
	    "invalid_id", "control" },
	{ "{\"id\":\"e1\",\"type\":\"login\"}", "missing_account_id", NULL },
	{ "{\"id\":\"e1\",\"account_id\":[],\"type\":\"login\"}",
	    "invalid_account_id", NULL },
	{ "{\"id\":\"e1\",\"account_id\":\"\",\"type\":\"login\"}",
	    "invalid_account_id", NULL },
	{ "{" ENV "}", "missing_type", NULL },
	{ "{" ENV ",\"type\":null}", "missing_type", NULL },
	{ "{" ENV ",\"type\":\"logout\"}", "unknown_type", "\"logout\"" },
	{ "{" ENV ",\"type\":\"Login\"}", "unknown_type", NULL },
	{ "{" ENV ",\"type\":\"a\\u0001b\"}", "unknown_type", "a?b" },
	{ "{" ENV ",\"type\":3}", "unknown_type", "must be a string" },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"u\",\"ts\":1795176000}",
	    "invalid_ts", NULL },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"u\",\"ts\":\"yesterday\"}",
	    "invalid_ts", "ts is not RFC 3339" },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"u\","
	    "\"ts\":\"2023-02-29T00:00:00Z\"}", "invalid_ts",
	    "ts is not RFC 3339" },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"u\","
	    "\"ts\":\"2026-11-20T12:05:00.000001Z\"}", "invalid_ts",
	    "ts is more than 5 minutes in the future" },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"u\","
	    "\"ts\":\"2025-10-16T11:59:59.999999Z\"}", "invalid_ts",
	    "ts is older than the 400-day horizon" },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":42}", "invalid_user_id",
	    NULL },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"\"}", "invalid_user_id",
	    NULL },
	{ "{" ENV ",\"type\":\"login\"}", "missing_user_id", "login" },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":null}", "missing_user_id",
	    NULL },
	{ "{" ENV ",\"type\":\"feature_used\",\"props\":{\"feature\":\"x\"}}",
	    "missing_user_id", "feature_used" },
	{ "{" TKT ",\"props\":[]}", "invalid_props", NULL },
	{ "{" TKT ",\"props\":\"{}\"}", "invalid_props", NULL },
	{ "{" ENV ",\"type\":\"login\",\"user_id\":\"u\",\"props\":5}",
	    "invalid_props", NULL },
	{ "{" ENV ",\"type\":\"feature_used\",\"user_id\":\"u\"}",
	    "missing_prop", "props.feature" },
	{ "{" ENV ",\"type\":\"feature_used\",\"user_id\":\"u\",\"props\":{}}",
	    "missing_prop", "props.feature" },
	{ "{" TKT ",\"props\":{\"ticket_id\":null}}", "missing_prop",
	    "props.ticket_id" },
	{ "{" ENV ",\"type\":\"ticket.solved\",\"props\":{}}", "missing_prop",
	    "ticket_id" },
	{ "{" ENV ",\"type\":\"contact.left\",\"props\":{\"name\":\"x\"}}",
	    "missing_prop", "contact_id" },
	{ "{" ENV ",\"type\":\"competitor.signal\","
	    "\"props\":{\"kind\":\"poc\"}}", "missing_prop", "competitor" },
	{ "{" ENV ",\"type\":\"feature_used\",\"user_id\":\"u\","
	    "\"props\":{\"feature\":5}}", "invalid_prop", "props.feature" },
	{ "{" ENV ",\"type\":\"feature_used\",\"user_id\":\"u\","
	    "\"props\":{\"feature\":\"\"}}", "invalid_prop", "empty" },
	{ "{" TKT ",\"props\":{\"ticket_id\":1.5}}", "invalid_prop",
	    "ticket_id" },
	{ "{" TKT ",\"props\":{\"ticket_id\":true}}", "invalid_prop", NULL },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"team\":5}}",
	    "invalid_prop", "props.team" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"category\":{}}}",
	    "invalid_prop", "category" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"subject\":[]}}",
	    "invalid_prop", "subject" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"tags\":\"a\"}}",
	    "invalid_prop", "tags" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"tags\":[\"a\",1]}}",
	    "invalid_prop", "tags" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"priority\":\"p0\"}}",
	    "invalid_prop", "low, normal, high, urgent" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"priority\":1}}",
	    "invalid_prop", "priority" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"sentiment\":1.5}}",
	    "invalid_prop", "sentiment" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"sentiment\":-2}}",
	    "invalid_prop", "sentiment" },
	{ "{" TKT ",\"props\":{\"ticket_id\":\"1\",\"sentiment\":\"0.5\"}}",
	    "invalid_prop", "sentiment" },
	{ "{" ENV ",\"type\":\"ticket.updated\","
	    "\"props\":{\"ticket_id\":\"1\",\"sentiment\":1.0001}}",
	    "invalid_prop", "sentiment" },
	{ "{" ENV ",\"type\":\"contact.joined\","
	    "\"props\":{\"contact_id\":\"c\",\"is_champion\":\"yes\"}}",
	    "invalid_prop", "is_champion" },
	{ "{" ENV ",\"type\":\"contact.changed\","
	    "\"props\":{\"contact_id\":\"c\",\"title\":1}}",
	    "invalid_prop", "title" },
	{ "{" ENV ",\"type\":\"contact.changed\","
	    "\"props\":{\"contact_id\":\"c\",\"previous_title\":1}}",
	    "invalid_prop", "previous_title" },
	{ "{" ENV ",\"type\":\"contact.joined\","
	    "\"props\":{\"contact_id\":\"c\",\"previous_company\":false}}",
	    "invalid_prop", "previous_company" },
	{ "{" ENV ",\"type\":\"contact.joined\","
	    "\"props\":{\"contact_id\":{},\"name\":\"n\"}}",
	    "invalid_prop", "contact_id" },
	{ "{" ENV ",\"type\":\"contact.joined\","
	    "\"props\":{\"contact_id\":\"c\",\"name\":7}}",
	    "invalid_prop", "props.name" },
	{ "{" ENV ",\"type\":\"competitor.signal\","
	    "\"props\":{\"competitor\":\"rival\",\"kind\":\"rumor\"}}",
	    "invalid_prop", "mention, event, outreach" },
	{ "{" ENV ",\"type\":\"competitor.signal\","
	    "\"props\":{\"competitor\":3}}", "invalid_prop", "competitor" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"kind\":\"sms\"}}",
	    "invalid_prop", "meeting, call, email, chat" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"kind\":\"poc\"}}",
	    "invalid_prop", "kind" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"by\":1}}",
	    "invalid_prop", "props.by" },
	/* Attendance: whole numbers, 0 or more, no more came than invited. */
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"attendees\":-1}}",
	    "invalid_prop", "props.attendees must be a whole number" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"attendees\":2.5}}",
	    "invalid_prop", "props.attendees" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"attendees\":\"3\"}}",
	    "invalid_prop", "props.attendees" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"invited\":true}}",
	    "invalid_prop", "props.invited must be a whole number" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"invited\":-0.5}}",
	    "invalid_prop", "props.invited" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"invited\":4294967296}}",
	    "invalid_prop", "props.invited" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"kind\":\"meeting\","
	    "\"attendees\":6,\"invited\":5}}", "invalid_prop",
	    "props.attendees (6) must not be more than props.invited (5)" },
	/* A note: text required, at most 4 KiB; kind has "other" too. */
	{ "{" ENV ",\"type\":\"note\"}", "missing_prop",
	    "props.text is required for note events" },
	{ "{" ENV ",\"type\":\"note\",\"props\":{\"by\":\"csm\"}}",
	    "missing_prop", "props.text" },
	{ "{" ENV ",\"type\":\"note\",\"props\":{\"text\":\"\"}}",
	    "invalid_prop", "props.text is empty" },
	{ "{" ENV ",\"type\":\"note\",\"props\":{\"text\":7}}",
	    "invalid_prop", "props.text must be a string of at most 4096" },
	{ "{" ENV ",\"type\":\"note\",\"props\":{\"text\":\"t\","
	    "\"kind\":\"sms\"}}", "invalid_prop",
	    "one of meeting, call, email, chat, other" },
	{ "{" ENV ",\"type\":\"note\",\"props\":{\"text\":\"t\",\"by\":[]}}",
	    "invalid_prop", "props.by" },
	/* Outcomes: every prop optional, amounts not negative. */
	{ "{" ENV ",\"type\":\"account.churned\",\"props\":{\"reason\":1}}",
	    "invalid_prop", "props.reason must be a string" },
	{ "{" ENV ",\"type\":\"account.contracted\","
	    "\"props\":{\"seats_before\":-3}}", "invalid_prop",
	    "props.seats_before must be a number, 0 or more" },
	{ "{" ENV ",\"type\":\"account.contracted\","
	    "\"props\":{\"seats_after\":\"10\"}}", "invalid_prop",
	    "props.seats_after" },
	{ "{" ENV ",\"type\":\"account.renewed\","
	    "\"props\":{\"mrr_before\":null,\"mrr_after\":-0.01}}",
	    "invalid_prop", "props.mrr_after" },
	{ "{" ENV ",\"type\":\"account.churned\",\"props\":{\"mrr_before\":{}}}",
	    "invalid_prop", "props.mrr_before" },
	{ "{" ENV ",\"type\":\"account.lost\"}", "unknown_type",
	    "\"account.lost\"" },
	/* The first failing rule wins. */
	{ "{\"type\":\"nope\",\"ts\":\"x\"}", "missing_id", NULL },
	{ "{\"id\":\"e\",\"type\":\"nope\"}", "missing_account_id", NULL },
	{ "{" ENV ",\"type\":\"nope\",\"ts\":\"x\"}", "unknown_type", NULL },
	{ "{" ENV ",\"type\":\"login\",\"ts\":\"x\"}", "invalid_ts", NULL },
	{ "{" TKT ",\"props\":{\"team\":5}}", "missing_prop", NULL },
	/* What jansson takes and PostgreSQL would refuse (SPEC 2.2). */
	{ "{" ENV ",\"type\":\"touchpoint\",\"ts\":\"0000-06-01T00:00:00Z\"}",
	    "invalid_ts", NULL },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"n\":1e-20000}}",
	    "invalid_props", "props.n: a number" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"n\":[1,2.5e-16384]}}",
	    "invalid_props", "number" },
	{ "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"n\":{\"m\":0.0e-16384}}}",
	    "invalid_props", "props.m" },
};

/* Each bad event second in an array and second in NDJSON. */
START_TEST(rejections_indexed)
{
	const char	*ev = rej_cases[_i].event;
	char		 body[1024];
	int		 f;

	for (f = 0; f < 2; f++) {
		if (f == 0)
			snprintf(body, sizeof(body), "[" LOGIN("ok") ",%s,"
			    LOGIN("ok2") "]", ev);
		else
			snprintf(body, sizeof(body), LOGIN("ok") "\n%s\n"
			    LOGIN("ok2"), ev);
		ck_assert_int_eq(decode(body, f == 0 ? BODY_JSON :
		    BODY_NDJSON), 0);
		ck_assert_msg(b.nrej == 1, "%s: accepted", ev);
		ck_assert_uint_eq(b.nev, 2);
		ck_assert_uint_eq(b.total, 3);
		ck_assert_uint_eq(b.rej[0].index, 1);
		ck_assert_msg(strcmp(b.rej[0].err.code,
		    rej_cases[_i].code) == 0,
		    "%s: got %s (%s), want %s", ev, b.rej[0].err.code,
		    b.rej[0].err.msg, rej_cases[_i].code);
		if (rej_cases[_i].msg != NULL)
			ck_assert_msg(strstr(b.rej[0].err.msg,
			    rej_cases[_i].msg) != NULL, "%s: message \"%s\"",
			    ev, b.rej[0].err.msg);
		ck_assert_str_eq(b.ev[0].id, "ok");
		ck_assert_str_eq(b.ev[1].id, "ok2");
		event_batch_free(&b);
	}
}
END_TEST

START_TEST(rejections_alone)
{
	const char			*ev = rej_cases[_i].event;
	const struct cw_rejection	*r;

	if (ev[0] != '{')
		return;		/* a non-object alone is invalid_json */
	r = reject1(ev);
	ck_assert_uint_eq(r->index, 0);
	ck_assert_str_eq(r->err.code, rej_cases[_i].code);
}
END_TEST

/* --- lengths --- */

static char *
event_with(const char *field, size_t n)
{
	char	*val, *body;
	size_t	 len;

	val = malloc(n + 1);
	memset(val, 'x', n);
	val[n] = '\0';
	len = n + 256;
	body = malloc(len);
	if (strcmp(field, "id") == 0)
		snprintf(body, len, "{\"id\":\"%s\",\"account_id\":\"a\","
		    "\"type\":\"login\",\"user_id\":\"u\"}", val);
	else if (strcmp(field, "account_id") == 0)
		snprintf(body, len, "{\"id\":\"i\",\"account_id\":\"%s\","
		    "\"type\":\"login\",\"user_id\":\"u\"}", val);
	else
		snprintf(body, len, "{\"id\":\"i\",\"account_id\":\"a\","
		    "\"type\":\"login\",\"user_id\":\"%s\"}", val);
	free(val);
	return body;
}

START_TEST(lengths)
{
	static const struct {
		const char	*field;
		size_t		 max;
		const char	*code;
	} f[] = {
		{ "id", CW_ID_MAX, "invalid_id" },
		{ "account_id", CW_ACCOUNT_MAX, "invalid_account_id" },
		{ "user_id", CW_USER_MAX, "invalid_user_id" },
	};
	char	*body;
	size_t	 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		body = event_with(f[i].field, f[i].max);
		accept1(body);
		free(body);
		event_batch_free(&b);

		body = event_with(f[i].field, f[i].max + 1);
		ck_assert_str_eq(reject1(body)->err.code, f[i].code);
		ck_assert_msg(strstr(b.rej[0].err.msg, "longer") != NULL, "%s",
		    b.rej[0].err.msg);
		free(body);
		event_batch_free(&b);
	}
	/* UTF-8 counts in bytes: 43 x 3 bytes = 129 > 128. */
	body = malloc(512);
	strcpy(body, "{\"id\":\"i\",\"type\":\"login\",\"user_id\":\"u\","
	    "\"account_id\":\"");
	for (i = 0; i < 43; i++)
		strcat(body, "\xe6\x97\xa5");
	strcat(body, "\"}");
	ck_assert_str_eq(reject1(body)->err.code, "invalid_account_id");
	free(body);
}
END_TEST

/* Strings in props: 1 KiB decoded (SPEC 2.2), at any depth, keys too. */
static char *
props_with(const char *unit, size_t count, int as_key)
{
	size_t	 ulen = strlen(unit), len = ulen * count + 256, i;
	char	*body = malloc(len), *p;

	p = body + snprintf(body, len, "{\"id\":\"i\",\"account_id\":\"a\","
	    "\"type\":\"feature_used\",\"user_id\":\"u\",\"props\":"
	    "{\"feature\":\"f\",\"deep\":[{%s\"", as_key ? "" : "\"k\":");
	for (i = 0; i < count; i++, p += ulen)
		memcpy(p, unit, ulen);
	snprintf(p, len - (size_t)(p - body), "\"%s}]}}", as_key ? ":1" : "");
	return body;
}

START_TEST(props_string_limit)
{
	static const struct {
		const char	*unit;		/* one decoded unit */
		size_t		 bytes;		/* its decoded size */
	} u[] = {
		{ "x", 1 }, { "\\n", 1 }, { "\\u00e9", 2 }, { "\\u65e5", 3 },
		{ "\xe6\x97\xa5", 3 }, { "\\ud83d\\ude00", 4 },
	};
	const struct cw_event	*ev;
	char			*body;
	size_t			 i, n;
	int			 key;

	for (key = 0; key < 2; key++)
		for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
			n = CW_PROP_STR_MAX / u[i].bytes;
			body = props_with(u[i].unit, n, key);
			ev = accept1(body);
			ck_assert_ptr_nonnull(ev->props);
			free(body);
			event_batch_free(&b);
			body = props_with(u[i].unit, n + 1, key);
			ck_assert_str_eq(reject1(body)->err.code,
			    "invalid_props");
			ck_assert_msg(strstr(b.rej[0].err.msg, "longer than "
			    "1024 bytes") != NULL, "%s", b.rej[0].err.msg);
			free(body);
			event_batch_free(&b);
		}
}
END_TEST

/* Numbers at numeric's limits are kept; one digit more is refused. */
START_TEST(props_number_limits)
{
	static const char *const ok[] = {
		"1e-16383", "0.5e-16382", "1e300", "-9.99e307", "0",
		"-0.0", "123456789", "1.5E+10", "1e0",
	};
	char	body[256];
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(body, sizeof(body), "{" ENV ",\"type\":\"touchpoint\","
		    "\"props\":{\"n\":%s}}", ok[i]);
		accept1(body);
		event_batch_free(&b);
	}
	/* jansson refuses \\u0000 itself; the check does not rely on it. */
	ck_assert_int_eq(event_json_storable("{\"a\":\"\\u0000\"}", 12, 0,
	    &e), 1);
	ck_assert_ptr_nonnull(strstr(e.msg, "props.a holds"));
	ck_assert_int_eq(event_json_storable("{\"\\u0000\":1}", 12, 0, &e), 1);
	ck_assert_int_eq(event_json_storable("{\"a\":\"\\u0001\"}", 12, 0,
	    &e), 0);
	ck_assert_int_eq(event_json_storable("[1e-16384]", 10, 0, &e), 1);
	/* jansson refuses past 1e308 itself; numeric's own bound is here. */
	ck_assert_int_eq(event_json_storable("[1e131071]", 10, 0, &e), 0);
	ck_assert_int_eq(event_json_storable("[1e131072]", 10, 0, &e), 1);
	ck_assert_int_eq(event_json_storable("[-1E+99999999999]", 17, 0, &e),
	    1);
	ck_assert_int_eq(event_json_storable("[1e-16383]", 10, 0, &e), 0);
}
END_TEST

/* --- ts --- */

START_TEST(ts_default)
{
	const struct cw_event	*ev;

	ev = accept1("{" ENV ",\"type\":\"login\",\"user_id\":\"u\"}");
	ck_assert_int_eq(ev->ts, NOW);
	event_batch_free(&b);
	ev = accept1("{" ENV ",\"type\":\"login\",\"user_id\":\"u\","
	    "\"ts\":null}");
	ck_assert_int_eq(ev->ts, NOW);
}
END_TEST

static const struct {
	const char	*ts;
	int		 ok;
	int64_t		 us;
} ts_cases[] = {
	{ "2026-11-20T12:00:00Z", 1, NOW },
	{ "2026-11-20T12:04:59.999999Z", 1, NOW + S(300) - 1 },
	{ "2026-11-20T12:05:00Z", 1, NOW + S(300) },	/* the limit */
	{ "2026-11-20T21:05:00+09:00", 1, NOW + S(300) },
	{ "2026-11-20T12:05:00.000001Z", 0, 0 },
	{ "2026-11-20T12:06:00Z", 0, 0 },
	{ "2027-01-01T00:00:00Z", 0, 0 },
	{ "2025-10-16T12:00:00Z", 1, NOW - 400 * CW_USEC_PER_DAY },
	{ "2025-10-16T12:00:00.000001Z", 1, NOW - 400 * CW_USEC_PER_DAY + 1 },
	{ "2025-10-16T11:59:59.999999Z", 0, 0 },
	{ "2025-10-16T21:00:00+09:00", 1, NOW - 400 * CW_USEC_PER_DAY },
	{ "1970-01-01T00:00:00Z", 0, 0 },
	{ "2024-02-29T00:00:00Z", 0, 0 },
	{ "2026-02-28T23:59:59.5z", 1, S(1772323199) + 500000 },
};

START_TEST(ts_bounds)
{
	char			 body[256];
	const struct cw_event	*ev;

	snprintf(body, sizeof(body), "{" ENV ",\"type\":\"login\","
	    "\"user_id\":\"u\",\"ts\":\"%s\"}", ts_cases[_i].ts);
	if (ts_cases[_i].ok) {
		ev = accept1(body);
		ck_assert_int_eq(ev->ts, ts_cases[_i].us);
	} else
		ck_assert_str_eq(reject1(body)->err.code, "invalid_ts");
}
END_TEST

START_TEST(ts_limit_messages)
{
	struct cw_event_limits	l = { 10, 36 * 3600 * CW_USEC_PER_SEC,
				    CW_USEC_PER_SEC * 90 };
	const char		*body;

	body = "[{" ENV ",\"type\":\"login\",\"user_id\":\"u\","
	    "\"ts\":\"2026-11-20T12:01:31Z\"},{" ENV ",\"type\":\"login\","
	    "\"user_id\":\"u\",\"ts\":\"2026-11-18T23:59:59Z\"}]";
	ck_assert_int_eq(event_decode_body(body, strlen(body), BODY_JSON, NOW,
	    &l, &b, &e), 0);
	ck_assert_uint_eq(b.nrej, 2);
	ck_assert_str_eq(b.rej[0].err.msg,
	    "ts is more than 90 seconds in the future");
	ck_assert_str_eq(b.rej[1].err.msg,
	    "ts is older than the 36-hour horizon");
	event_batch_free(&b);

	l.future_us = 60 * CW_USEC_PER_SEC;
	l.horizon_us = CW_USEC_PER_DAY;
	ck_assert_int_eq(event_decode_body(body, strlen(body), BODY_JSON, NOW,
	    &l, &b, &e), 0);
	ck_assert_str_eq(b.rej[0].err.msg,
	    "ts is more than 1 minute in the future");
	ck_assert_str_eq(b.rej[1].err.msg,
	    "ts is older than the 1-day horizon");
}
END_TEST

/* --- props --- */

START_TEST(props_verbatim)
{
	const struct cw_event	*ev;

	/* Numbers, escapes, unicode and unknown props as sent, compacted. */
	ev = accept1("{" ENV ",\"type\":\"ticket.created\",\n"
	    "  \"props\" : {\n"
	    "    \"ticket_id\" : 12345678901234 ,\n"
	    "    \"sentiment\": -0.30,\n"
	    "    \"tags\": [ \"a b\", \"\\\"q\\\"\" ],\n"
	    "    \"subject\": "
	    "\"caf\\u00e9 \xe6\x97\xa5\xe6\x9c\xac \\\\ \\n\",\n"
	    "    \"x-unknown\": {\"deep\": [1, 2.50, 1E5, null, true]},\n"
	    "    \"team\": null\n"
	    "  }\n}");
	ck_assert_str_eq(ev->props, "{\"ticket_id\":12345678901234,"
	    "\"sentiment\":-0.30,\"tags\":[\"a b\",\"\\\"q\\\"\"],"
	    "\"subject\":\"caf\\u00e9 \xe6\x97\xa5\xe6\x9c\xac \\\\ \\n\","
	    "\"x-unknown\":{\"deep\":[1,2.50,1E5,null,true]},\"team\":null}");
	ck_assert_ptr_null(ev->user_id);
}
END_TEST

START_TEST(props_absent)
{
	ck_assert_str_eq(accept1("{" ENV ",\"type\":\"touchpoint\"}")->props,
	    "{}");
	event_batch_free(&b);
	ck_assert_str_eq(accept1("{" ENV ",\"type\":\"touchpoint\","
	    "\"props\":null}")->props, "{}");
	event_batch_free(&b);
	ck_assert_str_eq(accept1("{" ENV ",\"type\":\"touchpoint\","
	    "\"props\":{ }}")->props, "{}");
}
END_TEST

START_TEST(props_unknown_kept)
{
	const struct cw_event	*ev;

	/* priority is a ticket prop: on a login it is unknown, unchecked. */
	ev = accept1("{" ENV ",\"type\":\"login\",\"user_id\":\"u\","
	    "\"props\":{\"priority\":\"bogus\",\"sentiment\":9}}");
	ck_assert_str_eq(ev->props, "{\"priority\":\"bogus\",\"sentiment\":9}");
	event_batch_free(&b);

	/* Every known prop valid, on each type that knows it. */
	accept1("{" ENV ",\"type\":\"ticket.solved\",\"props\":{"
	    "\"ticket_id\":\"T-1\",\"team\":\"eng\",\"category\":\"api\","
	    "\"tags\":[],\"subject\":\"s\",\"priority\":\"urgent\","
	    "\"sentiment\":-1}}");
	event_batch_free(&b);
	accept1("{" ENV ",\"type\":\"ticket.updated\",\"props\":{"
	    "\"ticket_id\":7,\"sentiment\":1,\"priority\":\"low\"}}");
	event_batch_free(&b);
	accept1("{" ENV ",\"type\":\"contact.changed\",\"props\":{"
	    "\"contact_id\":9,\"name\":\"n\",\"title\":\"VP\","
	    "\"previous_title\":\"Head\",\"is_champion\":false,"
	    "\"previous_company\":\"rival\"}}");
	event_batch_free(&b);
	accept1("{" ENV ",\"type\":\"competitor.signal\",\"props\":{"
	    "\"competitor\":\"rival\",\"kind\":\"evaluation\"}}");
	event_batch_free(&b);
	accept1("{" ENV ",\"type\":\"touchpoint\",\"props\":{"
	    "\"kind\":\"meeting\",\"by\":\"csm\"}}");
	event_batch_free(&b);
	accept1("{" ENV ",\"type\":\"feature_used\",\"user_id\":\"u\","
	    "\"props\":{\"feature\":\"export\",\"count\":3}}");
}
END_TEST

START_TEST(props_escaped_and_duplicate_keys)
{
	const struct cw_event	*ev;

	/* An escaped "props" key is still props. */
	ev = accept1("{" ENV ",\"type\":\"touchpoint\","
	    "\"pro\\u0070s\":{\"kind\": \"call\"}}");
	ck_assert_str_eq(ev->props, "{\"kind\":\"call\"}");
	event_batch_free(&b);

	/* Duplicate keys: the last wins, for checks and for storage. */
	ev = accept1("{" ENV ",\"type\":\"touchpoint\","
	    "\"props\":{\"kind\":\"sms\"},\"props\":{\"kind\":\"chat\"}}");
	ck_assert_str_eq(ev->props, "{\"kind\":\"chat\"}");
	event_batch_free(&b);
	ck_assert_str_eq(reject1("{" ENV ",\"type\":\"touchpoint\","
	    "\"props\":{\"kind\":\"chat\"},\"props\":{\"kind\":\"sms\"}}")
	    ->err.code, "invalid_prop");
	event_batch_free(&b);

	/* A nested "props" or a string containing one is not the member. */
	ev = accept1("{" ENV ",\"type\":\"touchpoint\",\"x\":{\"props\":1},"
	    "\"y\":\"\\\"props\\\":2\",\"props\":{\"by\":\"}\"}}");
	ck_assert_str_eq(ev->props, "{\"by\":\"}\"}");
}
END_TEST

/* --- buffers --- */

START_TEST(unterminated_buffer)
{
	static const char	json[] = "[" LOGIN("a") ",{" ENV ",\"type\":"
				    "\"touchpoint\",\"props\":{\"by\":\"x\"}}]";
	static const char	nd[] = LOGIN("a") "\r\n" LOGIN("b");
	static const char	junk[16] = "garbage}]{\"\n\0x";
	static const char	nul[] = "{" ENV ",\"type\":\"touchpoint\","
				    "\"props\":{\"n\":1\0,\"m\":2}}";
	static const char	ndnul[] = "{" ENV ",\"type\":\"touchpoint\","
				    "\"props\":{\"n\":1\0}}\n" LOGIN("b");
	char			*buf;
	size_t			 n;

	/* Exactly len bytes, no NUL: valgrind flags any over-read. */
	n = sizeof(json) - 1;
	buf = malloc(n);
	memcpy(buf, json, n);
	ck_assert_int_eq(event_decode_body(buf, n, BODY_JSON, NOW, &lim, &b,
	    &e), 0);
	ck_assert_uint_eq(b.nev, 2);
	ck_assert_str_eq(b.ev[1].props, "{\"by\":\"x\"}");
	event_batch_free(&b);
	free(buf);

	n = sizeof(nd) - 1;
	buf = malloc(n);
	memcpy(buf, nd, n);
	ck_assert_int_eq(event_decode_body(buf, n, BODY_NDJSON, NOW, &lim, &b,
	    &e), 0);
	ck_assert_uint_eq(b.nev, 2);
	event_batch_free(&b);
	free(buf);

	/* Junk after len is not part of the body. */
	buf = malloc(sizeof(json) + 16);
	memcpy(buf, json, sizeof(json) - 1);
	memcpy(buf + sizeof(json) - 1, junk, sizeof(junk));
	ck_assert_int_eq(event_decode_body(buf, sizeof(json) - 1, BODY_JSON,
	    NOW, &lim, &b, &e), 0);
	ck_assert_uint_eq(b.nev, 2);
	event_batch_free(&b);
	ck_assert_int_eq(event_decode_body(buf, sizeof(json) - 2, BODY_JSON,
	    NOW, &lim, &b, &e), -1);
	ck_assert_str_eq(e.code, "invalid_json");
	free(buf);

	/*
	 * An embedded NUL inside len is invalid JSON, even where jansson
	 * would accept it (right after a number).
	 */
	ck_assert_int_eq(event_decode_body(LOGIN("a") "\0", sizeof(LOGIN("a")),
	    BODY_JSON, NOW, &lim, &b, &e), -1);
	ck_assert_str_eq(e.code, "invalid_json");
	ck_assert_int_eq(event_decode_body(nul, sizeof(nul) - 1, BODY_JSON,
	    NOW, &lim, &b, &e), -1);
	ck_assert_str_eq(e.code, "invalid_json");
	ck_assert_msg(strstr(e.msg, "NUL") != NULL, "%s", e.msg);
	ck_assert_int_eq(event_decode_body(ndnul, sizeof(ndnul) - 1,
	    BODY_NDJSON, NOW, &lim, &b, &e), 0);
	ck_assert_uint_eq(b.nev, 1);
	ck_assert_uint_eq(b.nrej, 1);
	ck_assert_uint_eq(b.rej[0].index, 0);
	ck_assert_str_eq(b.rej[0].err.code, "invalid_json");
	event_batch_free(&b);
	ck_assert_int_eq(event_decode_body(NULL, 0, BODY_JSON, NOW, &lim, &b,
	    &e), -1);
	ck_assert_str_eq(e.code, "empty_body");
}
END_TEST

START_TEST(byte_order_mark)
{
	ck_assert_str_eq(accept1("\xef\xbb\xbf" LOGIN("a"))->id, "a");
	event_batch_free(&b);
	ck_assert_int_eq(decode("\xef\xbb\xbf" LOGIN("a") "\n" LOGIN("b"),
	    BODY_NDJSON), 0);
	ck_assert_uint_eq(b.nev, 2);
}
END_TEST

START_TEST(batch_free)
{
	ck_assert_int_eq(decode_json("[" LOGIN("a") ",1]"), 0);
	event_batch_free(&b);
	ck_assert_ptr_null(b.ev);
	ck_assert_ptr_null(b.rej);
	ck_assert_uint_eq(b.nev + b.nrej + b.total, 0);
	event_batch_free(&b);		/* twice is harmless */
	event_batch_free(NULL);
	event_free_fields(NULL);
}
END_TEST

/* Many events and many rejections: arrays grow, indexes hold. */
START_TEST(large_batch)
{
	struct cw_event_limits	 l = lim;
	char			*body, *p;
	size_t			 i, n = 10000;

	l.max_events = n;
	body = malloc(n * 128 + 16);
	p = body;
	*p++ = '[';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"id\":\"e%zu\",\"account_id\":\"a\","
		    "\"type\":\"%s\",\"user_id\":\"u\"}", i ? "," : "", i,
		    i % 3 == 0 ? "nope" : "login");
	*p++ = ']';
	ck_assert_int_eq(event_decode_body(body, (size_t)(p - body),
	    BODY_JSON, NOW, &l, &b, &e), 0);
	ck_assert_uint_eq(b.total, n);
	ck_assert_uint_eq(b.nrej, (n + 2) / 3);
	ck_assert_uint_eq(b.nev, n - (n + 2) / 3);
	for (i = 0; i < b.nrej; i++)
		ck_assert_uint_eq(b.rej[i].index, i * 3);
	ck_assert_str_eq(b.ev[b.nev - 1].id, "e9998");
	free(body);
}
END_TEST

/* --- extracted props (struct cw_event_props) --- */

/* Every field of p is absent. */
static void
assert_no_props(const struct cw_event_props *p)
{
	ck_assert_ptr_null(p->feature);
	ck_assert_ptr_null(p->ticket_id);
	ck_assert_ptr_null(p->team);
	ck_assert_ptr_null(p->category);
	ck_assert_ptr_null(p->subject);
	ck_assert_ptr_null(p->tags);
	ck_assert_uint_eq(p->ntags, 0);
	ck_assert_int_eq(p->has_sentiment, 0);
	ck_assert_ptr_null(p->contact_id);
	ck_assert_ptr_null(p->title);
	ck_assert_ptr_null(p->previous_title);
	ck_assert_ptr_null(p->previous_company);
	ck_assert_int_eq(p->is_champion, -1);
	ck_assert_ptr_null(p->competitor);
	ck_assert_ptr_null(p->kind);
	ck_assert_int_eq(p->attendees, -1);
	ck_assert_int_eq(p->invited, -1);
	ck_assert_ptr_null(p->text);
}

START_TEST(extract_ticket)
{
	const struct cw_event	*ev;

	ev = accept1("{" ENV ",\"type\":\"ticket.created\",\"props\":{"
	    "\"ticket_id\":12345678901234,\"team\":\"eng\","
	    "\"category\":\"api-latency\",\"subject\":\"caf\\u00e9 \\\"x\\\" "
	    "\xe8\xa7\xa3\xe7\xb4\x84\",\"tags\":[\"a b\",\"\\u0063\"],"
	    "\"priority\":\"high\",\"sentiment\":-0.3,\"title\":\"CEO\"}}");
	ck_assert_str_eq(ev->p.ticket_id, "12345678901234");
	ck_assert_str_eq(ev->p.team, "eng");
	ck_assert_str_eq(ev->p.category, "api-latency");
	ck_assert_str_eq(ev->p.subject, "caf\xc3\xa9 \"x\" "
	    "\xe8\xa7\xa3\xe7\xb4\x84");
	ck_assert_uint_eq(ev->p.ntags, 2);
	ck_assert_str_eq(ev->p.tags[0], "a b");
	ck_assert_str_eq(ev->p.tags[1], "c");
	ck_assert_int_eq(ev->p.has_sentiment, 1);
	ck_assert(ev->p.sentiment == -0.3);
	/* A contact prop on a ticket is unknown: kept, not extracted. */
	ck_assert_ptr_null(ev->p.title);
	ck_assert_int_eq(ev->p.is_champion, -1);
	ck_assert_ptr_null(ev->p.feature);
	event_batch_free(&b);

	/* Absent, null and empty are all "nothing". */
	ev = accept1("{" ENV ",\"type\":\"ticket.updated\",\"props\":{"
	    "\"ticket_id\":\"T-1\",\"team\":null,\"tags\":[],"
	    "\"sentiment\":null}}");
	ck_assert_str_eq(ev->p.ticket_id, "T-1");
	ck_assert_ptr_null(ev->p.team);
	ck_assert_ptr_null(ev->p.tags);
	ck_assert_uint_eq(ev->p.ntags, 0);
	ck_assert_int_eq(ev->p.has_sentiment, 0);
	event_batch_free(&b);

	ev = accept1("{" ENV ",\"type\":\"ticket.solved\",\"props\":{"
	    "\"ticket_id\":-5,\"sentiment\":1}}");
	ck_assert_str_eq(ev->p.ticket_id, "-5");
	ck_assert_int_eq(ev->p.has_sentiment, 1);
	ck_assert(ev->p.sentiment == 1.0);
}
END_TEST

START_TEST(extract_contact)
{
	const struct cw_event	*ev;

	ck_assert_int_eq(decode_json("[{" ENV ",\"type\":\"contact.changed\","
	    "\"props\":{\"contact_id\":9,\"name\":\"Ann\",\"title\":\"VP\","
	    "\"previous_title\":\"\xe9\x83\xa8\xe9\x95\xb7\","
	    "\"is_champion\":true,\"previous_company\":\"Rival\"}},"
	    "{" ENV ",\"type\":\"contact.joined\",\"props\":{"
	    "\"contact_id\":\"c-2\",\"is_champion\":false}},"
	    "{" ENV ",\"type\":\"contact.left\",\"props\":{"
	    "\"contact_id\":\"c-3\",\"is_champion\":null}}]"), 0);
	ck_assert_uint_eq(b.nev, 3);
	ev = &b.ev[0];
	ck_assert_str_eq(ev->p.contact_id, "9");
	ck_assert_str_eq(ev->p.title, "VP");
	ck_assert_str_eq(ev->p.previous_title, "\xe9\x83\xa8\xe9\x95\xb7");
	ck_assert_str_eq(ev->p.previous_company, "Rival");
	ck_assert_int_eq(ev->p.is_champion, 1);
	ck_assert_ptr_null(ev->p.ticket_id);
	ck_assert_str_eq(b.ev[1].p.contact_id, "c-2");
	ck_assert_int_eq(b.ev[1].p.is_champion, 0);
	ck_assert_ptr_null(b.ev[1].p.title);
	ck_assert_int_eq(b.ev[2].p.is_champion, -1);
}
END_TEST

START_TEST(extract_others)
{
	cur.max_events = 10;
	ck_assert_int_eq(decode("{" ENV ",\"type\":\"feature_used\","
	    "\"user_id\":\"u\",\"props\":{\"feature\":\"export\","
	    "\"kind\":\"poc\"}}\n"
	    "{" ENV ",\"type\":\"competitor.signal\",\"props\":{"
	    "\"competitor\":\"rival\",\"kind\":\"evaluation\","
	    "\"feature\":\"x\"}}\n"
	    "{" ENV ",\"type\":\"competitor.signal\",\"props\":{"
	    "\"competitor\":\"rival\"}}\n"
	    "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"kind\":\"call\","
	    "\"by\":\"csm\",\"competitor\":\"x\"}}\n"
	    "{" ENV ",\"type\":\"login\",\"user_id\":\"u\",\"props\":{"
	    "\"feature\":\"x\",\"team\":\"t\",\"is_champion\":true}}\n"
	    "{" ENV ",\"type\":\"login\",\"user_id\":\"u\"}\n", BODY_NDJSON),
	    0);
	ck_assert_uint_eq(b.nev, 6);
	ck_assert_str_eq(b.ev[0].p.feature, "export");
	ck_assert_ptr_null(b.ev[0].p.kind);
	ck_assert_str_eq(b.ev[1].p.competitor, "rival");
	ck_assert_str_eq(b.ev[1].p.kind, "evaluation");
	ck_assert_ptr_null(b.ev[1].p.feature);
	ck_assert_str_eq(b.ev[2].p.competitor, "rival");
	ck_assert_ptr_null(b.ev[2].p.kind);
	ck_assert_str_eq(b.ev[3].p.kind, "call");
	ck_assert_ptr_null(b.ev[3].p.competitor);
	/* Logins read no props at all. */
	assert_no_props(&b.ev[4].p);
	assert_no_props(&b.ev[5].p);
}
END_TEST

START_TEST(extract_new_types)
{
	cur.max_events = 10;
	ck_assert_int_eq(decode("{" ENV ",\"type\":\"touchpoint\",\"props\":{"
	    "\"kind\":\"meeting\",\"attendees\":3,\"invited\":5.0}}\n"
	    "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"attendees\":0,"
	    "\"invited\":0}}\n"
	    "{" ENV ",\"type\":\"touchpoint\",\"props\":{\"invited\":4}}\n"
	    "{" ENV ",\"type\":\"note\",\"props\":{\"text\":\"Budget is tight\","
	    "\"kind\":\"other\",\"by\":\"csm\",\"attendees\":9}}\n"
	    "{" ENV ",\"type\":\"account.contracted\",\"props\":{"
	    "\"reason\":\"budget\",\"seats_before\":300,\"seats_after\":120,"
	    "\"mrr_before\":4500.5,\"mrr_after\":0}}\n"
	    "{" ENV ",\"type\":\"account.churned\"}\n"
	    "{" ENV ",\"type\":\"account.renewed\",\"props\":{\"text\":5}}\n",
	    BODY_NDJSON), 0);
	ck_assert_uint_eq(b.nrej, 0);
	ck_assert_uint_eq(b.nev, 7);
	ck_assert_str_eq(b.ev[0].p.kind, "meeting");
	ck_assert_int_eq(b.ev[0].p.attendees, 3);
	ck_assert_int_eq(b.ev[0].p.invited, 5);
	ck_assert_int_eq(b.ev[1].p.attendees, 0);
	ck_assert_int_eq(b.ev[1].p.invited, 0);
	ck_assert_int_eq(b.ev[2].p.attendees, -1);
	ck_assert_int_eq(b.ev[2].p.invited, 4);
	ck_assert_int_eq(b.ev[3].type, EV_NOTE);
	ck_assert_str_eq(b.ev[3].p.text, "Budget is tight");
	ck_assert_str_eq(b.ev[3].p.kind, "other");
	/* attendees is not a prop of a note: kept, not read. */
	ck_assert_int_eq(b.ev[3].p.attendees, -1);
	ck_assert_int_eq(b.ev[4].type, EV_ACCOUNT_CONTRACTED);
	ck_assert_str_eq(b.ev[4].props, "{\"reason\":\"budget\","
	    "\"seats_before\":300,\"seats_after\":120,\"mrr_before\":4500.5,"
	    "\"mrr_after\":0}");
	assert_no_props(&b.ev[4].p);
	ck_assert_int_eq(b.ev[5].type, EV_ACCOUNT_CHURNED);
	ck_assert_str_eq(b.ev[5].props, "{}");
	ck_assert_int_eq(b.ev[6].type, EV_ACCOUNT_RENEWED);
	assert_no_props(&b.ev[6].p);
}
END_TEST

/* A note's text may have 4 KiB; every other string still 1 KiB. */
START_TEST(note_text_limit)
{
	char	*body, *p;
	size_t	 n, len = 2 * CW_NOTE_TEXT_MAX + 256;
	int	 k;

	body = malloc(len);
	ck_assert_ptr_nonnull(body);
	for (k = 0; k < 3; k++) {
		/* 0: text of 4096 bytes; 1: of 4097; 2: by of 1025 */
		n = k == 1 ? CW_NOTE_TEXT_MAX + 1 : CW_NOTE_TEXT_MAX;
		p = body + snprintf(body, len, "{" ENV ",\"type\":\"note\","
		    "\"props\":{%s", k == 2 ? "\"by\":\"" : "\"text\":\"");
		if (k == 2) {
			/* by over 1 KiB, text short. */
			memset(p, 'b', CW_PROP_STR_MAX + 1);
			p += CW_PROP_STR_MAX + 1;
			p += sprintf(p, "\",\"text\":\"busy");
		} else {
			memset(p, 't', n);
			p += n;
		}
		sprintf(p, "\"}}");
		if (k == 0) {
			ck_assert_uint_eq(strlen(accept1(body)->p.text), n);
		} else {
			ck_assert_str_eq(reject1(body)->err.code,
			    k == 1 ? "invalid_prop" : "invalid_props");
			ck_assert_msg(strstr(b.rej[0].err.msg, k == 1 ?
			    "props.text" : "props.by: a string longer than "
			    "1024 bytes") != NULL, "%s", b.rej[0].err.msg);
		}
		event_batch_free(&b);
	}
	/* Nested "text" keys, or "text" on another type, get no 4 KiB. */
	p = body + snprintf(body, len, "{" ENV ",\"type\":\"note\","
	    "\"props\":{\"text\":\"t\",\"x\":{\"text\":\"");
	memset(p, 'y', CW_PROP_STR_MAX + 1);
	sprintf(p + CW_PROP_STR_MAX + 1, "\"}}}");
	ck_assert_str_eq(reject1(body)->err.code, "invalid_props");
	event_batch_free(&b);
	p = body + snprintf(body, len, "{" ENV ",\"type\":\"touchpoint\","
	    "\"props\":{\"text\":\"");
	memset(p, 'y', CW_PROP_STR_MAX + 1);
	sprintf(p + CW_PROP_STR_MAX + 1, "\"}}");
	ck_assert_str_eq(reject1(body)->err.code, "invalid_props");
	free(body);
}
END_TEST

START_TEST(extract_after_rejection)
{
	/* A rejected event leaves nothing behind in the next slot. */
	ck_assert_int_eq(decode_json("[{" ENV ",\"type\":\"contact.left\","
	    "\"props\":{\"contact_id\":\"c\",\"is_champion\":\"yes\"}},"
	    "{" ENV ",\"type\":\"touchpoint\"}]"), 0);
	ck_assert_uint_eq(b.nev, 1);
	ck_assert_uint_eq(b.nrej, 1);
	assert_no_props(&b.ev[0].p);
	event_free_fields(&b.ev[0]);
	assert_no_props(&b.ev[0].p);
	ck_assert_ptr_null(b.ev[0].id);
}
END_TEST

/* --- event_from_row --- */

static struct cw_event	row;

static void
row_teardown(void)
{
	event_free_fields(&row);
	teardown();
}

START_TEST(row_ticket)
{
	/* PostgreSQL's jsonb text: spaces after ':' and ','. */
	ck_assert_int_eq(event_from_row("evt_1", "acme", "ticket.created",
	    S(1700000000), NULL, "{\"tags\": [\"a\", \"Cancel me\"], "
	    "\"team\": \"eng\", \"subject\": \"a, b: c\", "
	    "\"sentiment\": -0.3, \"ticket_id\": 77, \"x\": {\"y\": [1, 2]}}",
	    &row, &e), 0);
	ck_assert_str_eq(row.id, "evt_1");
	ck_assert_str_eq(row.account_id, "acme");
	ck_assert_int_eq(row.type, EV_TICKET_CREATED);
	ck_assert_int_eq(row.ts, S(1700000000));
	ck_assert_ptr_null(row.user_id);
	ck_assert_str_eq(row.props, "{\"tags\":[\"a\",\"Cancel me\"],"
	    "\"team\":\"eng\",\"subject\":\"a, b: c\",\"sentiment\":-0.3,"
	    "\"ticket_id\":77,\"x\":{\"y\":[1,2]}}");
	ck_assert_str_eq(row.p.ticket_id, "77");
	ck_assert_str_eq(row.p.team, "eng");
	ck_assert_str_eq(row.p.subject, "a, b: c");
	ck_assert_uint_eq(row.p.ntags, 2);
	ck_assert_str_eq(row.p.tags[1], "Cancel me");
	ck_assert_int_eq(row.p.has_sentiment, 1);
	ck_assert(row.p.sentiment == -0.3);
	ck_assert_ptr_null(row.p.category);
	ck_assert_int_eq(row.p.is_champion, -1);
}
END_TEST

START_TEST(row_note)
{
	ck_assert_int_eq(event_from_row("n1", "acme", "note", S(1700000000),
	    NULL, "{\"by\": \"csm\", \"text\": \"\u4e88\u7b97 is tight\"}",
	    &row, &e), 0);
	ck_assert_int_eq(row.type, EV_NOTE);
	ck_assert_str_eq(row.p.text, "\xe4\xba\x88\xe7\xae\x97 is tight");
	event_free_fields(&row);
	ck_assert_int_eq(event_from_row("t1", "acme", "touchpoint",
	    S(1700000000), NULL, "{\"kind\": \"meeting\", \"invited\": 8, "
	    "\"attendees\": 2}", &row, &e), 0);
	ck_assert_int_eq(row.p.attendees, 2);
	ck_assert_int_eq(row.p.invited, 8);
	event_free_fields(&row);
	ck_assert_int_eq(row.p.attendees, -1);
	ck_assert_int_eq(event_from_row("o1", "acme", "account.renewed",
	    S(1700000000), NULL, "{\"seats_after\": 40}", &row, &e), 0);
	ck_assert_int_eq(row.type, EV_ACCOUNT_RENEWED);
}
END_TEST

START_TEST(row_usage)
{
	/* No ts bounds: a stored row may be older than any horizon. */
	ck_assert_int_eq(event_from_row("e", "a", "login", 0, "u_42", "{}",
	    &row, &e), 0);
	ck_assert_str_eq(row.user_id, "u_42");
	ck_assert_str_eq(row.props, "{}");
	ck_assert_int_eq(row.ts, 0);
	assert_no_props(&row.p);
	event_free_fields(&row);

	/* But years 0001..9999 (found by tests/fuzz/fuzz_spool). */
	ck_assert_int_eq(event_from_row("e", "a", "login", CW_TS_MIN, "u",
	    "{}", &row, &e), 0);
	event_free_fields(&row);
	ck_assert_int_eq(event_from_row("e", "a", "login", CW_TS_MAX, "u",
	    "{}", &row, &e), 0);
	event_free_fields(&row);
	ck_assert_int_eq(event_from_row("e", "a", "login", CW_TS_MAX + 1, "u",
	    "{}", &row, &e), -1);
	ck_assert_str_eq(e.code, "invalid_ts");
	ck_assert_ptr_null(row.id);
	ck_assert_int_eq(event_from_row("e", "a", "login", CW_TS_MIN - 1, "u",
	    "{}", &row, &e), -1);
	ck_assert_str_eq(e.code, "invalid_ts");

	ck_assert_int_eq(event_from_row("e", "a", "touchpoint", NOW, NULL,
	    NULL, &row, &e), 0);
	ck_assert_str_eq(row.props, "{}");
	event_free_fields(&row);

	ck_assert_int_eq(event_from_row("e", "a", "touchpoint", NOW, NULL,
	    "null", &row, &e), 0);
	ck_assert_str_eq(row.props, "{}");
	event_free_fields(&row);

	ck_assert_int_eq(event_from_row("e", "a", "feature_used", NOW, "u",
	    "{\"feature\": \"export\", \"n\": 3}", &row, &e), 0);
	ck_assert_str_eq(row.p.feature, "export");
	ck_assert_str_eq(row.props, "{\"feature\":\"export\",\"n\":3}");
	event_free_fields(&row);

	ck_assert_int_eq(event_from_row("e", "a", "contact.joined", NOW, NULL,
	    "{\"title\": \"CTO\", \"contact_id\": \"c1\", "
	    "\"is_champion\": true}", &row, &e), 0);
	ck_assert_str_eq(row.p.contact_id, "c1");
	ck_assert_str_eq(row.p.title, "CTO");
	ck_assert_int_eq(row.p.is_champion, 1);
	event_free_fields(&row);

	ck_assert_int_eq(event_from_row("e", "a", "competitor.signal", NOW,
	    NULL, "{\"kind\": \"poc\", \"competitor\": \"rival\"}", &row, &e),
	    0);
	ck_assert_str_eq(row.p.competitor, "rival");
	ck_assert_str_eq(row.p.kind, "poc");
}
END_TEST

static const struct {
	const char	*id, *acct, *type, *user, *props;
	const char	*code;
} row_cases[] = {
	{ NULL, "a", "login", "u", "{}", "missing_id" },
	{ "", "a", "login", "u", "{}", "missing_id" },
	{ "a\nb", "a", "login", "u", "{}", "invalid_id" },
	{ "e", NULL, "login", "u", "{}", "missing_account_id" },
	{ "e", "", "login", "u", "{}", "missing_account_id" },
	{ "e", "a", NULL, "u", "{}", "missing_type" },
	{ "e", "a", "logout", "u", "{}", "unknown_type" },
	{ "e", "a", "login", NULL, "{}", "missing_user_id" },
	{ "e", "a", "login", "", "{}", "invalid_user_id" },
	{ "e", "a", "touchpoint", NULL, "{\"kind\": ", "invalid_props" },
	{ "e", "a", "touchpoint", NULL, "[1, 2]", "invalid_props" },
	{ "e", "a", "touchpoint", NULL, "\"x\"", "invalid_props" },
	{ "e", "a", "touchpoint", NULL, "{\"kind\": \"sms\"}",
	    "invalid_prop" },
	{ "e", "a", "feature_used", "u", "{}", "missing_prop" },
	{ "e", "a", "feature_used", "u", "{\"feature\": \"\"}",
	    "invalid_prop" },
	{ "e", "a", "ticket.created", NULL,
	    "{\"ticket_id\": 1, \"sentiment\": 2}", "invalid_prop" },
	{ "e", "a", "contact.left", NULL, "{\"name\": \"x\"}",
	    "missing_prop" },
};

START_TEST(row_rejected)
{
	ck_assert_int_eq(event_from_row(row_cases[_i].id, row_cases[_i].acct,
	    row_cases[_i].type, NOW, row_cases[_i].user, row_cases[_i].props,
	    &row, &e), -1);
	ck_assert_str_eq(e.code, row_cases[_i].code);
	assert_msg_ok(e.msg);
	ck_assert_ptr_null(row.id);
	ck_assert_ptr_null(row.props);
	assert_no_props(&row.p);
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
event_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("event");

	tc = tcase_create("basic");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, type_names);
	tcase_add_test(tc, single_object);
	tcase_add_test(tc, array);
	tcase_add_test(tc, ndjson);
	tcase_add_test(tc, ndjson_bad_line);
	tcase_add_test(tc, ndjson_trailing_junk);
	tcase_add_test(tc, mixed_batch);
	tcase_add_test(tc, all_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("whole_body");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, whole_body, 0, NELEM(whole_cases));
	tcase_add_test(tc, whole_body_messages);
	tcase_add_test(tc, max_events);
	suite_add_tcase(s, tc);

	tc = tcase_create("rejections");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, rejections_alone, 0, NELEM(rej_cases));
	tcase_add_loop_test(tc, rejections_indexed, 0, NELEM(rej_cases));
	tcase_add_test(tc, lengths);
	tcase_add_test(tc, props_string_limit);
	tcase_add_test(tc, props_number_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("ts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ts_default);
	tcase_add_loop_test(tc, ts_bounds, 0, NELEM(ts_cases));
	tcase_add_test(tc, ts_limit_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("props");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, props_verbatim);
	tcase_add_test(tc, props_absent);
	tcase_add_test(tc, props_unknown_kept);
	tcase_add_test(tc, props_escaped_and_duplicate_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("extract");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, extract_ticket);
	tcase_add_test(tc, extract_contact);
	tcase_add_test(tc, extract_others);
	tcase_add_test(tc, extract_new_types);
	tcase_add_test(tc, note_text_limit);
	tcase_add_test(tc, extract_after_rejection);
	suite_add_tcase(s, tc);

	tc = tcase_create("from_row");
	tcase_add_checked_fixture(tc, setup, row_teardown);
	tcase_add_test(tc, row_ticket);
	tcase_add_test(tc, row_note);
	tcase_add_test(tc, row_usage);
	tcase_add_loop_test(tc, row_rejected, 0, NELEM(row_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unterminated_buffer);
	tcase_add_test(tc, byte_order_mark);
	tcase_add_test(tc, batch_free);
	tcase_add_test(tc, large_batch);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(event_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
