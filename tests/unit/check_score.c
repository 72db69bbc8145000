/*
 * check_score.c -- unit tests for score.c: the score, its clamping, the
 * status bands and the decomposition sentence and parts.
 *
 * Results are built by hand (score.c only reads id, weight and note).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "signal.h"

static struct sig_result
res(enum sig_id id, int weight, const char *note)
{
	struct sig_result r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.weight = weight;
	r.severity = SEV_WARNING;
	snprintf(r.note, sizeof(r.note), "%s", note != NULL ? note : "");
	return r;
}

START_TEST(test_compute)
{
	struct sig_result r[4];

	ck_assert_int_eq(score_compute(NULL, 0), 100);
	r[0] = res(SIG_LOGIN_ABSENT, 30, NULL);
	ck_assert_int_eq(score_compute(r, 1), 70);
	r[1] = res(SIG_NO_TOUCH, 15, NULL);
	r[2] = res(SIG_SUPPORT_SILENCE, 5, NULL);
	ck_assert_int_eq(score_compute(r, 3), 50);
	r[3] = res(SIG_SEAT_UNDERUSE, 0, NULL);
	ck_assert_int_eq(score_compute(r, 4), 50);
}
END_TEST

START_TEST(test_clamp)
{
	struct sig_result r[SIG__COUNT];
	struct score_item it[2];
	size_t i;

	for (i = 0; i < SIG__COUNT; i++)
		r[i] = res((enum sig_id)i, 30, NULL);
	ck_assert_int_eq(score_compute(r, SIG__COUNT), 0);
	r[0] = res(SIG_TICKET_VELOCITY, 100, NULL);
	ck_assert_int_eq(score_compute(r, 1), 0);
	r[1] = res(SIG_CHURN_INTENT, 1, NULL);
	ck_assert_int_eq(score_compute(r, 2), 0);
	/* Never above 100, whatever a hand-made weight says. */
	r[0] = res(SIG_TICKET_VELOCITY, -5, NULL);
	ck_assert_int_eq(score_compute(r, 1), 100);

	it[0].id = SIG_CHAMPION_LEFT;
	it[0].weight = 80;
	it[1].id = SIG_LOGIN_ABSENT;
	it[1].weight = 30;
	ck_assert_int_eq(score_compute_items(it, 1), 20);
	ck_assert_int_eq(score_compute_items(it, 2), 0);
	ck_assert_int_eq(score_compute_items(NULL, 0), 100);
}
END_TEST

START_TEST(test_status_bands)
{
	ck_assert_int_eq(score_status(100), HEALTH_GREEN);
	ck_assert_int_eq(score_status(70), HEALTH_GREEN);
	ck_assert_int_eq(score_status(69), HEALTH_YELLOW);
	ck_assert_int_eq(score_status(40), HEALTH_YELLOW);
	ck_assert_int_eq(score_status(39), HEALTH_RED);
	ck_assert_int_eq(score_status(0), HEALTH_RED);
	ck_assert_str_eq(score_status_name(HEALTH_GREEN), "green");
	ck_assert_str_eq(score_status_name(HEALTH_YELLOW), "yellow");
	ck_assert_str_eq(score_status_name(HEALTH_RED), "red");
	ck_assert_ptr_null(score_status_name(HEALTH__COUNT));
	ck_assert_int_eq(score_status_parse("red"), HEALTH_RED);
	ck_assert_int_eq(score_status_parse("green"), HEALTH_GREEN);
	ck_assert_int_eq(score_status_parse("Red"), -1);
	ck_assert_int_eq(score_status_parse(NULL), -1);
	ck_assert_str_eq(score_state_name(SCORE_NEW), "new");
	ck_assert_str_eq(score_state_name(SCORE_CONTINUING), "continuing");
	ck_assert_str_eq(score_state_name(SCORE_RESOLVED), "resolved");
}
END_TEST

/* The bands with weights as the signals give them. */
START_TEST(test_status_from_weights)
{
	struct sig_result r[3];

	r[0] = res(SIG_LOGIN_ABSENT, 30, NULL);
	ck_assert_int_eq(score_status(score_compute(r, 1)), HEALTH_GREEN);
	r[1] = res(SIG_SUPPORT_SILENCE, 1, NULL);		/* 69 */
	ck_assert_int_eq(score_status(score_compute(r, 2)), HEALTH_YELLOW);
	r[1] = res(SIG_CHAMPION_LEFT, 30, NULL);		/* 40 */
	ck_assert_int_eq(score_status(score_compute(r, 2)), HEALTH_YELLOW);
	r[2] = res(SIG_SUPPORT_SILENCE, 1, NULL);		/* 39 */
	ck_assert_int_eq(score_status(score_compute(r, 3)), HEALTH_RED);
}
END_TEST

START_TEST(test_items)
{
	struct sig_result r[2];
	struct score_item it[SIG__COUNT];

	r[0] = res(SIG_CHURN_INTENT, 30, NULL);
	r[1] = res(SIG_NO_TOUCH, 15, NULL);
	ck_assert_uint_eq(score_items(r, 2, it), 2);
	ck_assert_int_eq(it[0].id, SIG_CHURN_INTENT);
	ck_assert_int_eq(it[0].weight, 30);
	ck_assert_int_eq(it[1].id, SIG_NO_TOUCH);
	ck_assert_int_eq(it[1].weight, 15);
	ck_assert_uint_eq(score_items(r, 0, it), 0);
}
END_TEST

/* SPEC 5's example, with weights that give its numbers. */
START_TEST(test_explain_spec_example)
{
	struct score_item prev[2] = {
		{ SIG_TICKET_VELOCITY, 15 },
		{ SIG_LOGIN_DECLINE, 13 },
	};
	struct sig_result cur[2];
	struct score_breakdown b;
	char buf[SCORE_TEXT_MAX];
	int s;

	/* Table order in cur; the sentence puts the heaviest first. */
	cur[0] = res(SIG_TICKET_VELOCITY, 15, "3.1 × baseline");
	cur[1] = res(SIG_CHAMPION_LEFT, 43, "c_7");
	cur[1].note[0] = '\0';
	s = score_explain(prev, 2, cur, 2, &b, buf, sizeof(buf));
	ck_assert_int_eq(s, 42);
	ck_assert_int_eq(b.prev_score, 72);
	ck_assert_int_eq(b.score, 42);
	ck_assert_str_eq(buf, "72 → 42: champion_left −43, ticket_velocity "
	    "−15 (3.1 × baseline), was login_decline −13 now resolved +13");
	ck_assert_uint_eq(b.nparts, 3);
	ck_assert_int_eq(b.part[0].id, SIG_CHAMPION_LEFT);
	ck_assert_int_eq(b.part[0].contribution, -43);
	ck_assert_int_eq(b.part[0].state, SCORE_NEW);
	ck_assert_int_eq(b.part[1].id, SIG_TICKET_VELOCITY);
	ck_assert_int_eq(b.part[1].contribution, -15);
	ck_assert_int_eq(b.part[1].state, SCORE_CONTINUING);
	ck_assert_int_eq(b.part[2].id, SIG_LOGIN_DECLINE);
	ck_assert_int_eq(b.part[2].contribution, 13);
	ck_assert_int_eq(b.part[2].state, SCORE_RESOLVED);
}
END_TEST

START_TEST(test_explain_new_continuing_resolved)
{
	struct score_item prev[3] = {
		{ SIG_NO_TOUCH, 15 },
		{ SIG_LOGIN_ABSENT, 30 },
		{ SIG_SUPPORT_SILENCE, 5 },
	};
	struct sig_result cur[3];
	struct score_breakdown b;
	char buf[SCORE_TEXT_MAX];

	/* Nothing before, one new signal. */
	cur[0] = res(SIG_LOGIN_ABSENT, 30, "none in 14 days");
	ck_assert_int_eq(score_explain(NULL, 0, cur, 1, &b, buf,
	    sizeof(buf)), 70);
	ck_assert_str_eq(buf, "100 → 70: login_absent −30 (none in 14 days)");
	ck_assert_uint_eq(b.nparts, 1);
	ck_assert_int_eq(b.part[0].state, SCORE_NEW);

	/* Same weight: table order.  Two resolved, in table order. */
	cur[0] = res(SIG_CONTACT_TURNOVER, 15, NULL);
	cur[1] = res(SIG_NO_TOUCH, 15, NULL);
	ck_assert_int_eq(score_explain(prev, 3, cur, 2, &b, buf,
	    sizeof(buf)), 70);
	ck_assert_str_eq(buf, "50 → 70: contact_turnover −15, no_touch −15, "
	    "was support_silence −5 now resolved +5, was login_absent −30 "
	    "now resolved +30");
	ck_assert_uint_eq(b.nparts, 4);
	ck_assert_int_eq(b.part[0].state, SCORE_NEW);
	ck_assert_int_eq(b.part[1].state, SCORE_CONTINUING);
	ck_assert_int_eq(b.part[2].id, SIG_SUPPORT_SILENCE);
	ck_assert_int_eq(b.part[2].state, SCORE_RESOLVED);
	ck_assert_int_eq(b.part[3].id, SIG_LOGIN_ABSENT);
	ck_assert_int_eq(b.part[3].contribution, 30);

	/* Everything resolved. */
	ck_assert_int_eq(score_explain(prev, 1, NULL, 0, &b, buf,
	    sizeof(buf)), 100);
	ck_assert_str_eq(buf, "85 → 100: was no_touch −15 now resolved +15");

	/* Nothing at all. */
	ck_assert_int_eq(score_explain(NULL, 0, NULL, 0, &b, buf,
	    sizeof(buf)), 100);
	ck_assert_str_eq(buf, "100 → 100: no active signals");
	ck_assert_uint_eq(b.nparts, 0);

	/* Continuing, unchanged; a weight of 0 shows as 0. */
	cur[0] = res(SIG_NO_TOUCH, 15, NULL);
	cur[1] = res(SIG_USAGE_SPIKE, 0, NULL);
	ck_assert_int_eq(score_explain(prev, 1, cur, 2, &b, buf,
	    sizeof(buf)), 85);
	ck_assert_str_eq(buf, "85 → 85: no_touch −15, usage_spike 0");
}
END_TEST

START_TEST(test_explain_clamped)
{
	struct sig_result cur[SIG__COUNT];
	struct score_breakdown b;
	char buf[SCORE_TEXT_MAX];
	size_t i;

	for (i = 0; i < SIG__COUNT; i++)
		cur[i] = res((enum sig_id)i, 30, "a note of some length here");
	ck_assert_int_eq(score_explain(NULL, 0, cur, SIG__COUNT, &b, buf,
	    sizeof(buf)), 0);
	ck_assert_uint_eq(b.nparts, SIG__COUNT);
	ck_assert_int_eq(strncmp(buf, "100 → 0: ticket_velocity −30 (a note",
	    strlen("100 → 0: ticket_velocity −30 (a note")), 0);
	ck_assert_ptr_nonnull(strstr(buf, "no_touch −30 (a note of some "
	    "length here)"));
	ck_assert_uint_lt(strlen(buf), SCORE_TEXT_MAX);
}
END_TEST

/* A short buffer holds whole pieces only, and no broken UTF-8. */
START_TEST(test_explain_short_buffer)
{
	struct sig_result cur[2];
	char buf[40];
	size_t n;

	cur[0] = res(SIG_LOGIN_ABSENT, 30, NULL);
	cur[1] = res(SIG_CHAMPION_LEFT, 30, NULL);
	score_explain(NULL, 0, cur, 2, NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "100 → 40: champion_left −30, ");
	n = strlen(buf);
	ck_assert_uint_lt(n, sizeof(buf));

	/* No buffer at all: the breakdown alone. */
	ck_assert_int_eq(score_explain(NULL, 0, cur, 2, NULL, NULL, 0), 40);
	buf[0] = 'x';
	ck_assert_int_eq(score_explain(NULL, 0, cur, 2, NULL, buf, 0), 40);
	ck_assert_int_eq(buf[0], 'x');
}
END_TEST

static Suite *
score_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("score");

	tc = tcase_create("score");
	tcase_add_test(tc, test_compute);
	tcase_add_test(tc, test_clamp);
	tcase_add_test(tc, test_status_bands);
	tcase_add_test(tc, test_status_from_weights);
	tcase_add_test(tc, test_items);
	suite_add_tcase(s, tc);

	tc = tcase_create("decomposition");
	tcase_add_test(tc, test_explain_spec_example);
	tcase_add_test(tc, test_explain_new_continuing_resolved);
	tcase_add_test(tc, test_explain_clamped);
	tcase_add_test(tc, test_explain_short_buffer);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(score_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
