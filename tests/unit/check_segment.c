/*
 * check_segment.c -- unit tests for segment.c: bodies in the shapes the
 * Segment libraries send (tests/unit/data/segment-*.json), the type
 * mapping, login names, group memberships and account metadata,
 * attribution, clock-skew correction, every limit at and one over, and
 * the whole-request refusals.  Links segment.c, event.c, util.c (and
 * account.c, to check the metadata it produces).
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "event.h"
#include "segment.h"
#include "util.h"

#define S(x)	(INT64_C(x) * CW_USEC_PER_SEC)
#define NOW	S(1795176000)		/* 2026-11-20T12:00:00Z */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct seg_result	r;
static struct cw_error		e;

/* The lookup: a fixed user -> account map that counts its calls. */
static const char *const grouped[][2] = {
	{ "u1", "from-lookup" }, { "u2", "initech" }, { "u7", "hooli" },
};
static int	lookups;

static const char *
account_of(const char *user, void *arg)
{
	size_t	i;

	ck_assert_ptr_eq(arg, &lookups);
	lookups++;
	for (i = 0; i < NELEM(grouped); i++)
		if (strcmp(grouped[i][0], user) == 0)
			return grouped[i][1];
	return NULL;
}

static const struct seg_lookup	lk = { account_of, &lookups };

static void
setup(void)
{
	memset(&r, 0xa5, sizeof(r));	/* decode must reset it */
	memset(&e, 0, sizeof(e));
	lookups = 0;
}

static void
teardown(void)
{
	segment_result_free(&r);
}

static char *
load(const char *name, size_t *len)
{
	char	 path[512], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_ge(n = ftell(f), 1);
	rewind(f);
	ck_assert_ptr_nonnull(buf = malloc((size_t)n));
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int
decode(enum seg_call call, const char *body)
{
	return segment_decode(call, body, strlen(body), NOW, NULL, &lk, &r,
	    &e);
}

static int
decode_file(enum seg_call call, const char *name)
{
	size_t	 len;
	char	*body = load(name, &len);
	int	 rc;

	rc = segment_decode(call, body, len, NOW, NULL, &lk, &r, &e);
	free(body);
	return rc;
}

static void
assert_refused(const char *code, const char *msgpart)
{
	size_t	i;

	ck_assert_str_eq(e.code, code);
	ck_assert_msg(strstr(e.msg, msgpart) != NULL, "\"%s\" not in \"%s\"",
	    msgpart, e.msg);
	for (i = 0; e.msg[i] != '\0'; i++)
		ck_assert((unsigned char)e.msg[i] >= 0x20 &&
		    (unsigned char)e.msg[i] < 0x7f);
	/* All or nothing: the result is empty. */
	ck_assert_ptr_null(r.ev);
	ck_assert_uint_eq(r.nev, 0);
	ck_assert_ptr_null(r.members);
	ck_assert_uint_eq(r.nmembers, 0);
	ck_assert_ptr_null(r.accounts);
	ck_assert_uint_eq(r.naccounts, 0);
	ck_assert_ptr_null(r.write_key);
}

static void
assert_event(size_t i, const char *id, const char *acct,
    enum cw_event_type type, const char *feature, const char *user,
    int64_t ts)
{
	const struct cw_event	*ev;

	ck_assert_uint_lt(i, r.nev);
	ev = &r.ev[i];
	ck_assert_str_eq(ev->id, id);
	ck_assert_str_eq(ev->account_id, acct);
	ck_assert_int_eq(ev->type, type);
	if (feature == NULL)
		ck_assert_ptr_null(ev->p.feature);
	else
		ck_assert_str_eq(ev->p.feature, feature);
	ck_assert_str_eq(ev->user_id, user);
	ck_assert_int_eq(ev->ts, ts);
	ck_assert_int_eq(ev->p.is_champion, -1);
	ck_assert_ptr_nonnull(ev->props);
}

/* The event survives the daemon's own checks when it has an account. */
static void
assert_storable(size_t i)
{
	const struct cw_event	*ev = &r.ev[i];
	struct cw_event		 back;
	struct cw_error		 err;

	if (*ev->account_id == '\0')
		return;
	ck_assert_int_eq(event_from_row(ev->id, ev->account_id,
	    event_type_name(ev->type), ev->ts, ev->user_id, ev->props, &back,
	    &err), 0);
	if (ev->p.feature != NULL)
		ck_assert_str_eq(back.p.feature, ev->p.feature);
	ck_assert_str_eq(back.props, ev->props);
	event_free_fields(&back);
}

/* ---- names ---- */

START_TEST(call_names)
{
	static const char *const names[] = {
		"batch", "track", "identify", "group", "page", "screen"
	};
	size_t	i;

	for (i = 0; i < NELEM(names); i++) {
		ck_assert_int_eq(segment_call_parse(names[i],
		    strlen(names[i])), (int)i);
		ck_assert_str_eq(segment_call_name((enum seg_call)i),
		    names[i]);
	}
	ck_assert_int_eq(segment_call_parse("alias", 5), -1);
	ck_assert_int_eq(segment_call_parse("tracks", 6), -1);
	ck_assert_int_eq(segment_call_parse("trackX", 5), SEG_TRACK);
	ck_assert_ptr_null(segment_call_name(SEG__COUNT));
}
END_TEST

/* ---- library-shaped bodies ---- */

START_TEST(batch_analytics_node)
{
	const int64_t	ts = NOW - S(5);	/* sent 5 s after timestamp */
	size_t		i;

	ck_assert_int_eq(decode_file(SEG_BATCH, "segment-batch-node.json"), 0);
	ck_assert_uint_eq(r.nev, 7);
	ck_assert_str_eq(r.write_key, "wk_node_123");

	assert_event(0, "node-next-1795175990000-a1", "", EV_FEATURE_USED,
	    "identify", "u1", ts);
	ck_assert_str_eq(r.ev[0].props, "{\"feature\":\"identify\","
	    "\"segment_type\":\"identify\",\"traits\":{\"email\":"
	    "\"ann@acme.example\",\"name\":\"Ann\"}}");
	assert_event(1, "node-next-1795175990000-a2", "", EV_FEATURE_USED,
	    "group", "u1", ts);
	/* In-batch membership beats the lookup ("from-lookup"). */
	assert_event(2, "node-next-1795175990000-a3", "acme", EV_LOGIN, NULL,
	    "u1", ts);
	ck_assert_str_eq(r.ev[2].props, "{\"segment_type\":\"track\","
	    "\"event\":\"Signed In\",\"properties\":{\"method\":\"sso\"}}");
	assert_event(3, "node-next-1795175990000-a4", "acme", EV_FEATURE_USED,
	    "Report Exported", "u1", ts);
	ck_assert_str_eq(r.ev[3].props, "{\"feature\":\"Report Exported\","
	    "\"segment_type\":\"track\",\"event\":\"Report Exported\","
	    "\"properties\":{\"format\":\"csv\",\"rows\":1200}}");
	/* context.groupId beats the membership. */
	assert_event(4, "node-next-1795175990000-a5", "globex",
	    EV_FEATURE_USED, "page:Pricing", "u1", ts);
	/* Anonymous only: no account, and no lookup for it. */
	assert_event(5, "node-next-1795175990000-a6", "", EV_FEATURE_USED,
	    "screen:Home", "anon-7", ts);
	assert_event(6, "node-next-1795175990000-a7", "initech",
	    EV_FEATURE_USED, "Dashboard Viewed", "u2", ts);
	ck_assert_int_eq(lookups, 1);		/* u2 only */

	ck_assert_uint_eq(r.nmembers, 1);
	ck_assert_str_eq(r.members[0].user_id, "u1");
	ck_assert_str_eq(r.members[0].account_id, "acme");
	ck_assert_uint_eq(r.naccounts, 1);
	ck_assert_str_eq(r.accounts[0].account_id, "acme");
	/* employees, industry: not account fields; owner 42: wrong type. */
	ck_assert_str_eq(r.accounts[0].meta_json,
	    "{\"name\":\"Acme Inc\",\"plan\":\"enterprise\",\"seats\":250}");
	for (i = 0; i < r.nev; i++)
		assert_storable(i);
}
END_TEST

static const struct single_case {
	const char		*file;
	enum seg_call		 call;
	const char		*id;
	const char		*acct;
	enum cw_event_type	 type;
	const char		*feature;
	const char		*user;
	int64_t			 ts;
	const char		*write_key;
	const char		*props;
} single_cases[] = {
	/* analytics.js: client clock an hour fast, sent 0.5 s later. */
	{ "segment-track.json", SEG_TRACK, "ajs-next-1795179598500-3f1c",
	    "hooli", EV_FEATURE_USED, "Invoice Sent", "u7",
	    NOW - 500000, "wk_browser_456",
	    "{\"feature\":\"Invoice Sent\",\"segment_type\":\"track\","
	    "\"event\":\"Invoice Sent\",\"properties\":{\"plan\":\"pro\"},"
	    "\"anonymous_id\":\"a9f2b1c4-0d7e-4f6a-9d2b-5e8c7a1b3d20\"}" },
	/* analytics-python: timestamp only, microseconds, +00:00. */
	{ "segment-identify.json", SEG_IDENTIFY,
	    "py-4c1e2b7a-8d6f-4e3a-9b1c-2d5e7f9a0b3c", "", EV_FEATURE_USED,
	    "identify", "u7", NOW - S(3600) + 123456, NULL,
	    "{\"feature\":\"identify\",\"segment_type\":\"identify\","
	    "\"traits\":{\"email\":\"bo@globex.example\",\"title\":"
	    "\"VP Engineering\"}}" },
	{ "segment-group.json", SEG_GROUP,
	    "rb-9e0a1f2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "", EV_FEATURE_USED,
	    "group", "u7", NOW - S(3600), NULL,
	    "{\"feature\":\"group\",\"segment_type\":\"group\",\"group_id\":"
	    "\"globex\",\"traits\":{\"name\":\"Globex\",\"plan\":\"growth\","
	    "\"seats\":40,\"segment\":\"mid-market\",\"slack_channel\":"
	    "\"#cs-globex\"}}" },
	{ "segment-page.json", SEG_PAGE, "ajs-next-1795175000000-77aa",
	    "globex", EV_FEATURE_USED, "page:Settings", "u7", NOW - S(1),
	    "wk_browser_456",
	    "{\"feature\":\"page:Settings\",\"segment_type\":\"page\","
	    "\"name\":\"Settings\",\"properties\":{\"path\":\"/settings\","
	    "\"title\":\"Settings\"},\"anonymous_id\":\"a9f2\"}" },
	{ "segment-screen.json", SEG_SCREEN,
	    "ios-8F2D4E6A-1B3C-4D5E-9F0A-2B4C6D8E0F1A", "", EV_FEATURE_USED,
	    "screen:Inbox", "ios-3B7E9C1A", NOW - S(1800), NULL,
	    "{\"feature\":\"screen:Inbox\",\"segment_type\":\"screen\","
	    "\"name\":\"Inbox\",\"properties\":{\"unread\":3}}" },
};

START_TEST(single_calls)
{
	const struct single_case	*c = &single_cases[_i];

	ck_assert_int_eq(decode_file(c->call, c->file), 0);
	ck_assert_uint_eq(r.nev, 1);
	assert_event(0, c->id, c->acct, c->type, c->feature, c->user, c->ts);
	ck_assert_str_eq(r.ev[0].props, c->props);
	if (c->write_key == NULL)
		ck_assert_ptr_null(r.write_key);
	else
		ck_assert_str_eq(r.write_key, c->write_key);
	assert_storable(0);
	if (c->call == SEG_GROUP) {
		ck_assert_uint_eq(r.nmembers, 1);
		ck_assert_str_eq(r.members[0].user_id, "u7");
		ck_assert_str_eq(r.members[0].account_id, "globex");
		ck_assert_uint_eq(r.naccounts, 1);
		ck_assert_str_eq(r.accounts[0].meta_json,
		    "{\"name\":\"Globex\",\"plan\":\"growth\",\"segment\":"
		    "\"mid-market\",\"slack_channel\":\"#cs-globex\","
		    "\"seats\":40}");
	} else {
		ck_assert_uint_eq(r.nmembers, 0);
		ck_assert_uint_eq(r.naccounts, 0);
	}
}
END_TEST

/* A single call's type is its endpoint's; the body's is not read. */
START_TEST(single_call_type_from_endpoint)
{
	ck_assert_int_eq(decode(SEG_PAGE, "{\"type\":\"track\",\"messageId\":"
	    "\"m1\",\"userId\":\"u9\"}"), 0);
	assert_event(0, "m1", "", EV_FEATURE_USED, "page:unnamed", "u9", NOW);
	ck_assert_str_eq(r.ev[0].props, "{\"feature\":\"page:unnamed\","
	    "\"segment_type\":\"page\"}");
}
END_TEST

/* ---- login names ---- */

static const struct login_case {
	const char	*event;
	int		 custom;	/* rules = { "Session Started" } */
	int		 login;
} login_cases[] = {
	{ "Signed In", 0, 1 },
	{ "Logged In", 0, 1 },
	{ "Login", 0, 1 },
	{ "signed in", 0, 0 },		/* case-sensitive */
	{ "Signed In ", 0, 0 },		/* exact */
	{ "Logged Out", 0, 0 },
	{ "Session Started", 0, 0 },
	{ "Session Started", 1, 1 },
	{ "Signed In", 1, 0 },		/* a custom list replaces defaults */
};

START_TEST(login_mapping)
{
	static const char *const custom[] = { "Session Started" };
	const struct login_case	*c = &login_cases[_i];
	struct seg_rules	 rules = { custom, 1, 300 * CW_USEC_PER_SEC };
	char			 body[256];

	snprintf(body, sizeof(body), "{\"batch\":[{\"type\":\"track\","
	    "\"event\":\"%s\",\"messageId\":\"m1\",\"userId\":\"u9\"}]}",
	    c->event);
	ck_assert_int_eq(segment_decode(SEG_BATCH, body, strlen(body), NOW,
	    c->custom ? &rules : NULL, NULL, &r, &e), 0);
	ck_assert_uint_eq(r.nev, 1);
	if (c->login)
		assert_event(0, "m1", "", EV_LOGIN, NULL, "u9", NOW);
	else
		assert_event(0, "m1", "", EV_FEATURE_USED, c->event, "u9",
		    NOW);
}
END_TEST

/* rules given with login_events NULL: the defaults. */
START_TEST(login_default_list)
{
	struct seg_rules	rules = { NULL, 0, 300 * CW_USEC_PER_SEC };
	const char		*body = "{\"messageId\":\"m1\",\"userId\":\"u9\","
	    "\"event\":\"Login\"}";

	ck_assert_int_eq(segment_decode(SEG_TRACK, body, strlen(body), NOW,
	    &rules, NULL, &r, &e), 0);
	ck_assert_int_eq(r.ev[0].type, EV_LOGIN);
}
END_TEST

/* ---- groups ---- */

START_TEST(group_meta_from_traits)
{
	struct account_table	*t;
	struct account		*a;
	char			*json;

	ck_assert_int_eq(decode(SEG_GROUP, "{\"messageId\":\"g1\","
	    "\"userId\":\"u1\",\"groupId\":\"acme\",\"traits\":{"
	    "\"name\":\"Acme\",\"plan\":\"\",\"segment\":\"smb\","
	    "\"owner\":\"carol\",\"seats\":-1,\"slack_channel\":null,"
	    "\"onboarded_at\":\"2026-01-01T00:00:00Z\",\"website\":\"x\"}}"),
	    0);
	ck_assert_uint_eq(r.naccounts, 1);
	/* Empty plan, negative seats, null: skipped; no dates from traits. */
	ck_assert_str_eq(r.accounts[0].meta_json,
	    "{\"name\":\"Acme\",\"segment\":\"smb\",\"owner\":\"carol\"}");
	/* The shape account_meta_decode() accepts and apply() reads. */
	ck_assert_int_eq(account_meta_decode(r.accounts[0].meta_json,
	    strlen(r.accounts[0].meta_json), &json, &e), 0);
	free(json);
	ck_assert_ptr_nonnull(t = account_table_new());
	ck_assert_ptr_nonnull(a = account_get(t, "acme"));
	ck_assert_int_eq(account_meta_apply(a, r.accounts[0].meta_json), 0);
	ck_assert_str_eq(a->name, "Acme");
	ck_assert_str_eq(a->owner, "carol");
	account_table_free(t);
}
END_TEST

START_TEST(group_seats_bounds)
{
	ck_assert_int_eq(decode(SEG_BATCH, "{\"batch\":["
	    "{\"type\":\"group\",\"messageId\":\"g1\",\"userId\":\"u1\","
	    "\"groupId\":\"a\",\"traits\":{\"seats\":0}},"
	    "{\"type\":\"group\",\"messageId\":\"g2\",\"userId\":\"u1\","
	    "\"groupId\":\"b\",\"traits\":{\"seats\":100000000}},"
	    "{\"type\":\"group\",\"messageId\":\"g3\",\"userId\":\"u1\","
	    "\"groupId\":\"c\",\"traits\":{\"seats\":100000001}},"
	    "{\"type\":\"group\",\"messageId\":\"g4\",\"userId\":\"u1\","
	    "\"groupId\":\"d\",\"traits\":{\"seats\":12.5}},"
	    "{\"type\":\"group\",\"messageId\":\"g5\",\"userId\":\"u1\","
	    "\"groupId\":\"e\",\"traits\":[1]}]}"), 0);
	ck_assert_uint_eq(r.naccounts, 5);
	ck_assert_str_eq(r.accounts[0].meta_json, "{\"seats\":0}");
	ck_assert_str_eq(r.accounts[1].meta_json, "{\"seats\":100000000}");
	ck_assert_str_eq(r.accounts[2].meta_json, "{}");
	ck_assert_str_eq(r.accounts[3].meta_json, "{}");
	ck_assert_str_eq(r.accounts[4].meta_json, "{}");
	ck_assert_uint_eq(r.nmembers, 5);
}
END_TEST

/* No userId: the account is upserted, nobody joins it. */
START_TEST(group_anonymous)
{
	ck_assert_int_eq(decode(SEG_GROUP, "{\"messageId\":\"g1\","
	    "\"anonymousId\":\"anon\",\"groupId\":12345}"), 0);
	assert_event(0, "g1", "", EV_FEATURE_USED, "group", "anon", NOW);
	ck_assert_uint_eq(r.nmembers, 0);
	ck_assert_uint_eq(r.naccounts, 1);
	ck_assert_str_eq(r.accounts[0].account_id, "12345");
	ck_assert_str_eq(r.accounts[0].meta_json, "{}");
}
END_TEST

/* ---- attribution ---- */

START_TEST(attribution)
{
	ck_assert_int_eq(decode(SEG_BATCH, "{\"context\":{\"groupId\":"
	    "\"batch-ctx\"},\"batch\":["
	    /* 0: the message's context.groupId beats everything */
	    "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m0\","
	    "\"userId\":\"u1\",\"context\":{\"groupId\":\"own\"}},"
	    /* 1: then the batch's context */
	    "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m1\","
	    "\"userId\":\"u1\"}]}"), 0);
	assert_event(0, "m0", "own", EV_FEATURE_USED, "A", "u1", NOW);
	assert_event(1, "m1", "batch-ctx", EV_FEATURE_USED, "A", "u1", NOW);
	ck_assert_int_eq(lookups, 0);
	segment_result_free(&r);

	ck_assert_int_eq(decode(SEG_BATCH, "{\"batch\":["
	    /* 0: lookup */
	    "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m0\","
	    "\"userId\":\"u1\"},"
	    /* 1: nobody grouped u3 */
	    "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m1\","
	    "\"userId\":\"u3\"},"
	    /* 2, 3: u1 joins x then y; the latest wins */
	    "{\"type\":\"group\",\"groupId\":\"x\",\"messageId\":\"m2\","
	    "\"userId\":\"u1\"},"
	    "{\"type\":\"group\",\"groupId\":\"y\",\"messageId\":\"m3\","
	    "\"userId\":\"u1\"},"
	    "{\"type\":\"screen\",\"messageId\":\"m4\",\"userId\":\"u1\"},"
	    /* 5: a numeric userId, looked up as text; no account */
	    "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m5\","
	    "\"userId\":42},"
	    /* 6: an identify never takes an account */
	    "{\"type\":\"identify\",\"messageId\":\"m6\",\"userId\":\"u2\","
	    "\"context\":{\"groupId\":\"z\"}},"
	    /* 7: empty userId counts as absent: anonymous */
	    "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m7\","
	    "\"userId\":\"\",\"anonymousId\":\"an\"}]}"), 0);
	assert_event(0, "m0", "from-lookup", EV_FEATURE_USED, "A", "u1", NOW);
	assert_event(1, "m1", "", EV_FEATURE_USED, "A", "u3", NOW);
	assert_event(4, "m4", "y", EV_FEATURE_USED, "screen:unnamed", "u1",
	    NOW);
	assert_event(5, "m5", "", EV_FEATURE_USED, "A", "42", NOW);
	assert_event(6, "m6", "", EV_FEATURE_USED, "identify", "u2", NOW);
	assert_event(7, "m7", "", EV_FEATURE_USED, "A", "an", NOW);
	ck_assert_int_eq(lookups, 3);		/* m0, m1, m5 */
	ck_assert_uint_eq(r.nmembers, 2);
	ck_assert_str_eq(r.members[1].account_id, "y");
}
END_TEST

START_TEST(attribution_without_lookup)
{
	const char	*body = "{\"messageId\":\"m1\",\"userId\":\"u1\","
	    "\"event\":\"A\"}";

	ck_assert_int_eq(segment_decode(SEG_TRACK, body, strlen(body), NOW,
	    NULL, NULL, &r, &e), 0);
	ck_assert_str_eq(r.ev[0].account_id, "");
}
END_TEST

/* ---- clock skew ---- */

#define T(x)	"2026-11-20T" x "Z"

static const struct ts_case {
	const char	*envelope_sent;	/* batch sentAt, or NULL */
	const char	*sent;		/* message sentAt */
	const char	*original;
	const char	*timestamp;
	int64_t		 want;
} ts_cases[] = {
	/* receivedAt - (sentAt - originalTimestamp) */
	{ NULL, T("12:00:10"), T("11:59:40"), NULL, NOW - S(30) },
	/* a clock 2 h slow */
	{ NULL, T("10:00:00"), T("09:59:58"), NULL, NOW - S(2) },
	/* a clock 1 day fast, 3.25 s of queueing */
	{ NULL, "2026-11-21T12:00:03.250Z", "2026-11-21T12:00:00Z", NULL,
	    NOW - 3250000 },
	/* originalTimestamp beats timestamp */
	{ NULL, T("12:00:10"), T("12:00:05"), T("11:00:00"), NOW - S(5) },
	/* timestamp stands in for originalTimestamp */
	{ NULL, T("12:00:10"), NULL, T("12:00:07"), NOW - S(3) },
	/* the batch's sentAt */
	{ T("12:00:10"), NULL, NULL, T("12:00:00"), NOW - S(10) },
	/* the message's sentAt beats the batch's */
	{ T("12:00:10"), T("12:00:01"), NULL, T("12:00:00"), NOW - S(1) },
	/* back-filled history: 30 days before sentAt */
	{ NULL, T("12:00:00"), "2026-10-21T12:00:00Z", NULL,
	    NOW - 30 * CW_USEC_PER_DAY },
	/* no sentAt: timestamp, then originalTimestamp, then receipt */
	{ NULL, NULL, NULL, T("11:00:00"), NOW - S(3600) },
	{ NULL, NULL, T("11:00:00"), NULL, NOW - S(3600) },
	{ NULL, NULL, T("11:00:00"), T("10:00:00"), NOW - S(7200) },
	{ NULL, NULL, NULL, NULL, NOW },
	/* sentAt alone: receipt */
	{ NULL, T("11:00:00"), NULL, NULL, NOW },
	/* unparseable values count as absent */
	{ NULL, "yesterday", T("11:00:00"), NULL, NOW - S(3600) },
	{ NULL, T("12:00:00"), "2026-11-20 11:00", T("11:30:00"),
	    NOW - S(1800) },
	/* future bound: at 5 min kept, beyond it the time of receipt */
	{ NULL, NULL, NULL, T("12:05:00"), NOW + S(300) },
	{ NULL, NULL, NULL, "2026-11-20T12:05:00.000001Z", NOW },
	{ NULL, T("12:00:00"), T("13:00:00"), NULL, NOW },
	/* older than any horizon: kept as sent */
	{ NULL, NULL, NULL, "2020-01-01T00:00:00Z", S(1577836800) },
};

START_TEST(clock_skew)
{
	const struct ts_case	*c = &ts_cases[_i];
	json_t			*root, *m;
	char			*body;

	root = json_object();
	m = json_pack("{s:s, s:s, s:s, s:s}", "type", "track", "event", "A",
	    "messageId", "m1", "userId", "u1");
	if (c->envelope_sent != NULL)
		json_object_set_new(root, "sentAt",
		    json_string(c->envelope_sent));
	if (c->sent != NULL)
		json_object_set_new(m, "sentAt", json_string(c->sent));
	if (c->original != NULL)
		json_object_set_new(m, "originalTimestamp",
		    json_string(c->original));
	if (c->timestamp != NULL)
		json_object_set_new(m, "timestamp", json_string(c->timestamp));
	/* A client's receivedAt is not ours: ignored. */
	json_object_set_new(m, "receivedAt", json_string(T("01:00:00")));
	json_object_set_new(root, "batch", json_pack("[o]", m));
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	ck_assert_int_eq(decode(SEG_BATCH, body), 0);
	free(body);
	ck_assert_int_eq(r.ev[0].ts, c->want);
}
END_TEST

/* ---- limits ---- */

/* A track message whose compact JSON is exactly size bytes. */
static json_t *
message_of_size(size_t size, const char *id)
{
	json_t	*m;
	char	*pad;
	size_t	 base;

	m = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "type", "track",
	    "event", "Big", "messageId", id, "userId", "u1", "properties",
	    "pad", "");
	base = json_dumpb(m, NULL, 0, JSON_COMPACT);
	ck_assert_uint_le(base, size);
	ck_assert_ptr_nonnull(pad = malloc(size - base + 1));
	memset(pad, 'x', size - base);
	pad[size - base] = '\0';
	json_object_set_new(json_object_get(m, "properties"), "pad",
	    json_string(pad));
	free(pad);
	ck_assert_uint_eq(json_dumpb(m, NULL, 0, JSON_COMPACT), size);
	return m;
}

START_TEST(message_size_limit)
{
	json_t	*m, *root;
	char	*body;

	/* In a batch: exactly 32768 bytes passes, 32769 refuses it all. */
	m = message_of_size(SEG_MESSAGE_MAX, "m1");
	root = json_pack("{s:[{s:s,s:s,s:s,s:s},o]}", "batch", "type",
	    "track", "event", "A", "messageId", "m0", "userId", "u1", m);
	body = json_dumps(root, JSON_COMPACT);
	ck_assert_int_eq(decode(SEG_BATCH, body), 0);
	ck_assert_uint_eq(r.nev, 2);
	segment_result_free(&r);
	free(body);
	json_decref(root);

	m = message_of_size(SEG_MESSAGE_MAX + 1, "m1");
	root = json_pack("{s:[{s:s,s:s,s:s,s:s},o]}", "batch", "type",
	    "track", "event", "A", "messageId", "m0", "userId", "u1", m);
	body = json_dumps(root, JSON_COMPACT);
	ck_assert_int_eq(decode(SEG_BATCH, body), -1);
	assert_refused("message_too_large", "batch[1]: message is 32769 "
	    "bytes; the limit is 32768");
	free(body);
	json_decref(root);

	/* A single call, measured the same way (not on its whitespace). */
	m = message_of_size(SEG_MESSAGE_MAX, "m1");
	body = json_dumps(m, JSON_INDENT(4));
	ck_assert_uint_gt(strlen(body), SEG_MESSAGE_MAX);
	ck_assert_int_eq(decode(SEG_TRACK, body), 0);
	segment_result_free(&r);
	free(body);
	json_decref(m);

	m = message_of_size(SEG_MESSAGE_MAX + 1, "m1");
	body = json_dumps(m, JSON_COMPACT);
	ck_assert_int_eq(decode(SEG_TRACK, body), -1);
	assert_refused("message_too_large", "message is 32769 bytes");
	ck_assert_ptr_null(strstr(e.msg, "batch["));
	free(body);
	json_decref(m);
}
END_TEST

/* n small messages padded with spaces to exactly size bytes. */
static char *
batch_body(size_t n, size_t size)
{
	char	*b;
	size_t	 i, off = 0;

	ck_assert_ptr_nonnull(b = malloc(size + 200));
	off += (size_t)sprintf(b + off, "{\"writeKey\":\"wk\",\"batch\":[");
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(b + off, "%s{\"type\":\"track\","
		    "\"event\":\"Clicked\",\"messageId\":\"m-%zu\","
		    "\"userId\":\"u%zu\"}", i == 0 ? "" : ",", i, i % 7);
	off += (size_t)sprintf(b + off, "]");
	ck_assert_uint_lt(off, size);
	memset(b + off, ' ', size - 1 - off);
	b[size - 1] = '}';
	b[size] = '\0';
	return b;
}

START_TEST(batch_limits)
{
	char	*body;

	/* 2,500 messages in exactly 512,000 bytes: accepted. */
	body = batch_body(SEG_BATCH_MESSAGES, SEG_BATCH_MAX);
	ck_assert_uint_eq(strlen(body), SEG_BATCH_MAX);
	ck_assert_int_eq(decode(SEG_BATCH, body), 0);
	ck_assert_uint_eq(r.nev, SEG_BATCH_MESSAGES);
	ck_assert_str_eq(r.ev[2499].id, "m-2499");
	ck_assert_str_eq(r.write_key, "wk");
	segment_result_free(&r);
	free(body);

	body = batch_body(SEG_BATCH_MESSAGES, SEG_BATCH_MAX + 1);
	ck_assert_int_eq(decode(SEG_BATCH, body), -1);
	assert_refused("batch_too_large", "batch is 512001 bytes; the limit "
	    "is 512000");
	free(body);

	body = batch_body(SEG_BATCH_MESSAGES + 1, 300000);
	ck_assert_int_eq(decode(SEG_BATCH, body), -1);
	assert_refused("too_many_messages", "batch has 2501 messages; the "
	    "limit is 2500");
	free(body);

	/* Not parsed at all: over-limit garbage is still batch_too_large. */
	ck_assert_ptr_nonnull(body = malloc(SEG_BATCH_MAX + 2));
	memset(body, '[', SEG_BATCH_MAX + 1);
	body[SEG_BATCH_MAX + 1] = '\0';
	ck_assert_int_eq(decode(SEG_BATCH, body), -1);
	assert_refused("batch_too_large", "512001 bytes");
	/* A single call that large: message_too_large. */
	ck_assert_int_eq(decode(SEG_IDENTIFY, body), -1);
	assert_refused("message_too_large", "512001 bytes");
	free(body);

	/* An empty batch is fine. */
	ck_assert_int_eq(decode(SEG_BATCH, "{\"batch\":[]}"), 0);
	ck_assert_uint_eq(r.nev, 0);
}
END_TEST

/* Stored props stay under 32 KB: properties give way. */
START_TEST(props_dropped_when_too_large)
{
	json_t	*m;
	char	 name[SEG_NAME_MAX + 1];
	char	*body;

	memset(name, 'n', SEG_NAME_MAX);
	name[SEG_NAME_MAX] = '\0';
	m = message_of_size(SEG_MESSAGE_MAX, "m1");
	/* Same size: swap 1021 bytes of padding for the long name. */
	json_object_set_new(m, "event", json_string(name));
	body = json_dumps(m, JSON_COMPACT);
	ck_assert_int_eq(decode(SEG_TRACK, body), -1);
	assert_refused("message_too_large", "message is 33789 bytes");
	free(body);
	json_decref(m);

	m = message_of_size(SEG_MESSAGE_MAX - SEG_NAME_MAX + 3, "m1");
	json_object_set_new(m, "event", json_string(name));
	ck_assert_uint_eq(json_dumpb(m, NULL, 0, JSON_COMPACT),
	    SEG_MESSAGE_MAX);
	body = json_dumps(m, JSON_COMPACT);
	ck_assert_int_eq(decode(SEG_TRACK, body), 0);
	ck_assert_str_eq(r.ev[0].p.feature, name);
	ck_assert_ptr_null(strstr(r.ev[0].props, "\"properties\":"));
	ck_assert_ptr_nonnull(strstr(r.ev[0].props,
	    "\"properties_dropped\":true"));
	ck_assert_uint_le(strlen(r.ev[0].props), SEG_MESSAGE_MAX);
	free(body);
	json_decref(m);

	/* A name one byte too long refuses the request. */
	body = malloc(SEG_NAME_MAX + 100);
	snprintf(body, SEG_NAME_MAX + 100, "{\"messageId\":\"m\",\"userId\":"
	    "\"u\",\"event\":\"%sn\"}", name);
	segment_result_free(&r);
	ck_assert_int_eq(decode(SEG_TRACK, body), -1);
	assert_refused("invalid_message", "event is longer than 1024 bytes");
	free(body);
}
END_TEST

/* ---- refusals ---- */

static const struct bad_case {
	enum seg_call	 call;
	const char	*body;
	const char	*code;
	const char	*msg;
} bad_cases[] = {
	{ SEG_BATCH, "", "invalid_json", "not valid JSON" },
	{ SEG_BATCH, "{\"batch\":[", "invalid_json", "not valid JSON" },
	{ SEG_TRACK, "{\"messageId\":\"m\",}", "invalid_json",
	    "not valid JSON" },
	{ SEG_BATCH, "[{\"type\":\"track\"}]", "invalid_json",
	    "must be a JSON object" },
	{ SEG_TRACK, "null", "invalid_json", "not valid JSON" },
	{ SEG_TRACK, "\"track\"", "invalid_json", "not valid JSON" },
	{ SEG_BATCH, "{}", "invalid_json", "a \"batch\" array" },
	{ SEG_BATCH, "{\"batch\":{}}", "invalid_json", "a \"batch\" array" },
	{ SEG_BATCH, "{\"batch\":[1]}", "invalid_message",
	    "batch[0]: a message must be a JSON object" },
	/* all or nothing: a good message, then a bad one */
	{ SEG_BATCH, "{\"batch\":[{\"type\":\"track\",\"event\":\"A\","
	    "\"messageId\":\"m0\",\"userId\":\"u\"},{\"type\":\"track\","
	    "\"event\":\"A\",\"userId\":\"u\"}]}", "invalid_message",
	    "batch[1]: messageId is missing" },
	{ SEG_TRACK, "{\"event\":\"A\",\"userId\":\"u\",\"messageId\":null}",
	    "invalid_message", "messageId is missing" },
	{ SEG_TRACK, "{\"event\":\"A\",\"userId\":\"u\",\"messageId\":\"\"}",
	    "invalid_message", "messageId must be a non-empty string" },
	{ SEG_TRACK, "{\"event\":\"A\",\"userId\":\"u\",\"messageId\":7}",
	    "invalid_message", "messageId must be a non-empty string" },
	{ SEG_TRACK, "{\"event\":\"A\",\"userId\":\"u\",\"messageId\":"
	    "\"a\\u0000b\"}", "invalid_json", "not valid JSON" },
	{ SEG_TRACK, "{\"event\":\"A\",\"userId\":\"u\",\"messageId\":"
	    "\"a\\nb\"}", "invalid_message",
	    "messageId contains control characters" },
	{ SEG_BATCH, "{\"batch\":[{\"type\":\"track\",\"event\":\"A\","
	    "\"messageId\":\"m\"}]}", "invalid_message",
	    "batch[0]: userId or anonymousId is required" },
	{ SEG_IDENTIFY, "{\"messageId\":\"m\",\"userId\":\"\","
	    "\"anonymousId\":null}", "invalid_message",
	    "userId or anonymousId is required" },
	{ SEG_IDENTIFY, "{\"messageId\":\"m\",\"userId\":{}}",
	    "invalid_message", "userId must be a string or an integer" },
	{ SEG_IDENTIFY, "{\"messageId\":\"m\",\"userId\":\"u\","
	    "\"anonymousId\":true}", "invalid_message",
	    "anonymousId must be a string or an integer" },
	{ SEG_IDENTIFY, "{\"messageId\":\"m\",\"userId\":\"u\\u0001\"}",
	    "invalid_message", "userId contains control characters" },
	{ SEG_BATCH, "{\"batch\":[{\"type\":\"track\",\"event\":\"A\","
	    "\"messageId\":\"m0\",\"userId\":\"u\"},{\"type\":\"alias\","
	    "\"previousId\":\"a\",\"messageId\":\"m1\",\"userId\":\"u\"}]}",
	    "invalid_message", "batch[1]: unknown type \"alias\"" },
	{ SEG_BATCH, "{\"batch\":[{\"type\":\"batch\",\"messageId\":\"m\","
	    "\"userId\":\"u\"}]}", "invalid_message",
	    "batch[0]: unknown type \"batch\"" },
	{ SEG_BATCH, "{\"batch\":[{\"type\":\"Track\",\"messageId\":\"m\","
	    "\"userId\":\"u\"}]}", "invalid_message", "unknown type \"Track\"" },
	{ SEG_BATCH, "{\"batch\":[{\"messageId\":\"m\",\"userId\":\"u\"}]}",
	    "invalid_message", "batch[0]: type is missing" },
	{ SEG_BATCH, "{\"batch\":[{\"type\":3,\"messageId\":\"m\","
	    "\"userId\":\"u\"}]}", "invalid_message", "type must be a string" },
	{ SEG_TRACK, "{\"messageId\":\"m\",\"userId\":\"u\"}",
	    "invalid_message", "track needs an event name" },
	{ SEG_TRACK, "{\"messageId\":\"m\",\"userId\":\"u\",\"event\":\"\"}",
	    "invalid_message", "track needs an event name" },
	{ SEG_GROUP, "{\"messageId\":\"m\",\"userId\":\"u\"}",
	    "invalid_message", "group needs a groupId" },
	{ SEG_GROUP, "{\"messageId\":\"m\",\"userId\":\"u\",\"groupId\":"
	    "[]}", "invalid_message", "group needs a groupId" },
	{ SEG_TRACK, "{\"messageId\":\"m\",\"userId\":\"u\",\"event\":\"A\","
	    "\"context\":{\"groupId\":\"a\\u0007\"}}", "invalid_message",
	    "context.groupId contains control characters" },
};

START_TEST(refused)
{
	const struct bad_case	*c = &bad_cases[_i];

	ck_assert_int_eq(decode(c->call, c->body), -1);
	assert_refused(c->code, c->msg);
}
END_TEST

/* Ids at their limits and one over. */
START_TEST(id_lengths)
{
	static const struct {
		enum seg_call	 call;
		const char	*pre, *post;
		size_t		 max;
		const char	*field;
	} f[] = {
		{ SEG_IDENTIFY, "{\"messageId\":\"", "\",\"userId\":\"u\"}",
		    CW_ID_MAX, "messageId" },
		{ SEG_IDENTIFY, "{\"messageId\":\"m\",\"userId\":\"", "\"}",
		    CW_USER_MAX, "userId" },
		{ SEG_SCREEN, "{\"messageId\":\"m\",\"anonymousId\":\"", "\"}",
		    CW_USER_MAX, "anonymousId" },
		{ SEG_GROUP, "{\"messageId\":\"m\",\"userId\":\"u\","
		    "\"groupId\":\"", "\"}", CW_ACCOUNT_MAX, "groupId" },
		{ SEG_PAGE, "{\"messageId\":\"m\",\"userId\":\"u\","
		    "\"context\":{\"groupId\":\"", "\"}}", CW_ACCOUNT_MAX,
		    "context.groupId" },
	};
	char	id[CW_ID_MAX + 2], body[1024], want[64];
	size_t	i;

	for (i = 0; i < NELEM(f); i++) {
		memset(id, 'i', f[i].max + 1);
		id[f[i].max] = '\0';
		snprintf(body, sizeof(body), "%s%s%s", f[i].pre, id, f[i].post);
		ck_assert_int_eq(decode(f[i].call, body), 0);
		segment_result_free(&r);
		id[f[i].max] = 'i';
		id[f[i].max + 1] = '\0';
		snprintf(body, sizeof(body), "%s%s%s", f[i].pre, id, f[i].post);
		ck_assert_int_eq(decode(f[i].call, body), -1);
		snprintf(want, sizeof(want), "%s is longer than %zu bytes",
		    f[i].field, f[i].max);
		assert_refused("invalid_message", want);
	}
}
END_TEST

/* ---- writeKey ---- */

START_TEST(write_key)
{
	ck_assert_int_eq(decode(SEG_BATCH, "{\"batch\":[],\"writeKey\":"
	    "\"wk_1\"}"), 0);
	ck_assert_str_eq(r.write_key, "wk_1");
	segment_result_free(&r);
	ck_assert_int_eq(decode(SEG_BATCH, "{\"batch\":[]}"), 0);
	ck_assert_ptr_null(r.write_key);
	segment_result_free(&r);
	ck_assert_int_eq(decode(SEG_BATCH, "{\"batch\":[],\"writeKey\":7}"),
	    0);
	ck_assert_ptr_null(r.write_key);
	segment_result_free(&r);
	ck_assert_int_eq(decode(SEG_IDENTIFY, "{\"messageId\":\"m\","
	    "\"userId\":\"u\",\"writeKey\":\"wk_2\"}"), 0);
	ck_assert_str_eq(r.write_key, "wk_2");
	segment_result_free(&r);
	/* A refused request hands back no key. */
	ck_assert_int_eq(decode(SEG_IDENTIFY, "{\"userId\":\"u\","
	    "\"writeKey\":\"wk_3\"}"), -1);
	ck_assert_ptr_null(r.write_key);
}
END_TEST

START_TEST(free_is_idempotent)
{
	segment_result_free(NULL);
	ck_assert_int_eq(decode(SEG_TRACK, "{\"messageId\":\"m\","
	    "\"userId\":\"u\",\"event\":\"A\"}"), 0);
	segment_result_free(&r);
	segment_result_free(&r);
	ck_assert_ptr_null(r.ev);
}
END_TEST

/* A body need not be NUL-terminated. */
START_TEST(unterminated_body)
{
	static const char	body[] = "{\"messageId\":\"m\",\"userId\":\"u\","
	    "\"event\":\"A\"}XXXX";

	ck_assert_int_eq(segment_decode(SEG_TRACK, body, sizeof(body) - 5,
	    NOW, NULL, NULL, &r, &e), 0);
	ck_assert_uint_eq(r.nev, 1);
}
END_TEST

static Suite *
segment_suite(void)
{
	Suite	*s = suite_create("segment");
	TCase	*tc;

	tc = tcase_create("names");
	tcase_add_test(tc, call_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("libraries");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, batch_analytics_node);
	tcase_add_loop_test(tc, single_calls, 0, NELEM(single_cases));
	tcase_add_test(tc, single_call_type_from_endpoint);
	suite_add_tcase(s, tc);

	tc = tcase_create("logins");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, login_mapping, 0, NELEM(login_cases));
	tcase_add_test(tc, login_default_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("groups");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, group_meta_from_traits);
	tcase_add_test(tc, group_seats_bounds);
	tcase_add_test(tc, group_anonymous);
	tcase_add_test(tc, attribution);
	tcase_add_test(tc, attribution_without_lookup);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, clock_skew, 0, NELEM(ts_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, message_size_limit);
	tcase_add_test(tc, batch_limits);
	tcase_add_test(tc, props_dropped_when_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, refused, 0, NELEM(bad_cases));
	tcase_add_test(tc, id_lengths);
	tcase_add_test(tc, write_key);
	tcase_add_test(tc, free_is_idempotent);
	tcase_add_test(tc, unterminated_body);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(segment_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
