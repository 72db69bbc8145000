/*
 * check_view.c -- the API's JSON views (view.c) against golden files:
 * an account at risk (metadata, signals with evidence and play, the
 * health breakdown with a resolved part, windows, renewal, coverage
 * gaps) and its risk-list row, evaluated at a fixed time.  A golden file
 * is rewritten, instead of compared, when CW_GOLDEN_UPDATE=1 is set (and
 * the diff is then read before it is committed).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "cwconfig.h"
#include "event.h"
#include "intern.h"
#include "signal.h"
#include "util.h"
#include "view.h"
#include "window.h"

#define DATA(f)	TEST_DATA_DIR "/" f
#define T0	(INT64_C(1795176000) * CW_USEC_PER_SEC)	/* 2026-11-20 */
#define DAY	CW_USEC_PER_DAY

static struct cw_config		*cfg;
static struct account_table	*t;
static struct win_rules		 rules;

static void
setup(void)
{
	ck_assert_int_eq(config_load(DATA("config-partial.conf"), NULL, &cfg),
	    0);
	signal_win_rules(&cfg->signals, &rules);
	t = account_table_new();
}

static void
teardown(void)
{
	account_table_free(t);
	config_free(cfg);
	intern_purge();
}

static void
apply(struct account *a, enum cw_event_type type, int64_t ts,
    const char *user, const char *props)
{
	struct cw_event ev;
	struct cw_error err;
	char id[32];
	static int n;

	snprintf(id, sizeof(id), "e%d", n++);
	ck_assert_int_eq(event_from_row(id, a->id, event_type_name(type), ts,
	    user, props, &ev, &err), 0);
	ck_assert_int_eq(window_apply(&a->w, &ev, &rules), 0);
	event_free_fields(&ev);
	if (a->first_day == 0 || window_day(ts) < a->first_day)
		a->first_day = window_day(ts);
}

/*
 * acme: daily logins by four users that stopped three weeks ago, a
 * champion who left, tickets from one team, a touchpoint long ago; the
 * renewal is 30 days out.  Evaluated a week before T0, then a meeting
 * resolves no_touch before the evaluation at T0.
 */
static struct account *
build_acme(void)
{
	static const char *users[] = { "ana", "bo", "cy", "di" };
	struct account *a = account_get(t, "acme");
	struct sig_result out[SIG__COUNT];
	int changed, d, u;

	ck_assert_int_eq(account_meta_apply(a, "{\"name\": \"Acme Corp\","
	    " \"plan\": \"enterprise\", \"segment\": \"mid-market\","
	    " \"seats\": 40, \"owner\": \"sam@example.com\","
	    " \"slack_channel\": \"#acme\","
	    " \"onboarded_at\": \"2025-06-01T00:00:00Z\","
	    " \"renewal_at\": \"2026-12-20T00:00:00Z\","
	    " \"core_features\": [\"reports\", \"export\"]}"), 0);
	for (d = 120; d >= 21; d--)
		for (u = 0; u < 4; u++)
			apply(a, EV_LOGIN, T0 - d * DAY + u * 3600 *
			    CW_USEC_PER_SEC, users[u], "{}");
	apply(a, EV_FEATURE_USED, T0 - 60 * DAY, "ana",
	    "{\"feature\": \"reports\"}");
	apply(a, EV_CONTACT_JOINED, T0 - 300 * DAY, NULL,
	    "{\"contact_id\": \"c-ana\", \"title\": \"VP Operations\","
	    " \"is_champion\": true}");
	apply(a, EV_CONTACT_LEFT, T0 - 10 * DAY, NULL,
	    "{\"contact_id\": \"c-ana\"}");
	for (d = 0; d < 12; d++)
		apply(a, EV_TICKET_CREATED, T0 - (40 - 3 * d) * DAY, "bo",
		    d % 2 ? "{\"ticket_id\": \"t-odd\", \"team\": \"engineering\","
		    " \"category\": \"api-latency\"}" :
		    "{\"ticket_id\": \"t-even\", \"team\": \"engineering\","
		    " \"category\": \"api-latency\"}");
	apply(a, EV_TOUCHPOINT, T0 - 80 * DAY, NULL,
	    "{\"kind\": \"meeting\"}");
	(void)account_evaluate(a, &cfg->signals, NULL, T0 - 7 * DAY, out,
	    &changed);
	account_score_restore(a, window_day(T0) - 7, a->score);
	/* A meeting since: no_touch resolves, the rest continues. */
	apply(a, EV_TOUCHPOINT, T0 - 2 * DAY, NULL,
	    "{\"kind\": \"meeting\", \"attendees\": 3, \"invited\": 4}");
	return a;
}

static json_t *
golden(const char *name, json_t *got)
{
	char path[512];
	json_error_t err;
	json_t *want;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	if (getenv("CW_GOLDEN_UPDATE") != NULL &&
	    strcmp(getenv("CW_GOLDEN_UPDATE"), "1") == 0)
		ck_assert_int_eq(json_dump_file(got, path, JSON_INDENT(2) |
		    JSON_SORT_KEYS), 0);
	want = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (want == NULL)
		ck_abort_msg("%s: %s", path, err.text);
	return want;
}

static void
assert_golden(const char *name, json_t *got)
{
	json_t *want = golden(name, got);
	char *g, *w;

	if (!json_equal(got, want)) {
		g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
		w = json_dumps(want, JSON_INDENT(2) | JSON_SORT_KEYS);
		ck_abort_msg("%s differs:\n got %s\nwant %s", name, g, w);
	}
	json_decref(want);
}

START_TEST(account_view)
{
	struct account *a = build_acme();
	struct sig_result out[SIG__COUNT];
	struct view_ctx vc = { NULL, NULL, T0 };
	int32_t since[SIGCAT__COUNT];
	json_t *got;
	int changed, n;

	vc.cfg = cfg;
	n = account_evaluate(a, &cfg->signals, NULL, T0, out, &changed);
	ck_assert_int_gt(n, 2);
	ck_assert_int_eq(account_table_rank(t, a), 0);
	got = view_account(&vc, a, out, n);
	ck_assert_ptr_nonnull(got);
	assert_golden("view-account.json", got);
	json_decref(got);

	/* Engagement data only from 10 days ago: the gaps are named. */
	for (n = 0; n < SIGCAT__COUNT; n++)
		since[n] = window_day(T0) - 400;
	since[SIGCAT_ENGAGEMENT] = window_day(T0) - 10;
	vc.data_since = since;
	n = account_evaluate(a, &cfg->signals, since, T0, out, &changed);
	got = view_account(&vc, a, out, n);
	assert_golden("view-account-gaps.json", got);
	json_decref(got);

	got = view_list_row(&vc, a);
	ck_assert_ptr_nonnull(got);
	assert_golden("view-list-row.json", got);
	json_decref(got);
}
END_TEST

START_TEST(bare_account)
{
	struct account *a = account_get(t, "empty");
	struct sig_result out[SIG__COUNT];
	struct view_ctx vc = { NULL, NULL, T0 };
	json_t *got;
	int changed, n;

	vc.cfg = cfg;
	n = account_evaluate(a, &cfg->signals, NULL, T0, out, &changed);
	got = view_account(&vc, a, out, n);
	/* No metadata: nulls, never absent keys. */
	assert_golden("view-account-bare.json", got);
	json_decref(got);
}
END_TEST

static Suite *
view_suite(void)
{
	Suite	*s = suite_create("view");
	TCase	*tc = tcase_create("golden");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, account_view);
	tcase_add_test(tc, bare_account);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(view_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
