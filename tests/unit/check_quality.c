/*
 * check_quality.c -- unit tests for quality.c: recall, lead times,
 * precision, lift and "still green" over a small hand-made history whose
 * expected numbers are worked out in the comments.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quality.h"
#include "score.h"
#include "signal.h"

#define OPEN	QUALITY_OPEN

/*
 * since 1000, until 1365, within 90; ten accounts.
 *  A0 churned 1200: login_absent [1150, open] (lead 50), ticket_velocity
 *     [1000, 1020] (too early), no_touch [1201, open] (after it left:
 *     ignored); status green 900, yellow 1140, red 1180.
 *  A1 churned 1300: login_absent [1100, 1150] (too early), churn_intent
 *     [1280, 1290] (lead 20), ticket_velocity [1190, 1250] (firing when
 *     the 90 days began: lead 90); status green 900.
 *  A2 renewed 1250: login_absent [1200, 1210] (renewal caught);
 *     status red 1000, green 1010.
 *  A3 contracted 1100: ticket_velocity [1050, 1060].
 *  A4 churned 1340: nothing fired, no status.
 *  A5: login_absent [1300, open], no outcome.
 *  A6 churned 950 (before since: not counted in the outcomes or
 *     recall, but what its alert led to): login_absent [940, 945].
 *  A7 churned 950: no_touch [960, open] (after it left, before the
 *     range: ignored, not "no outcome").
 *  A8 renewed 980: ticket_velocity [950, 960] (led to the renewal).
 */
static const struct quality_fire fires[] = {
	{ 0, SIG_LOGIN_ABSENT, 1150, OPEN },
	{ 0, SIG_TICKET_VELOCITY, 1000, 1020 },
	{ 0, SIG_NO_TOUCH, 1201, OPEN },	/* after A0 left: ignored */
	{ 1, SIG_LOGIN_ABSENT, 1100, 1150 },
	{ 1, SIG_CHURN_INTENT, 1280, 1290 },
	{ 1, SIG_TICKET_VELOCITY, 1190, 1250 },
	{ 2, SIG_LOGIN_ABSENT, 1200, 1210 },
	{ 3, SIG_TICKET_VELOCITY, 1050, 1060 },
	{ 5, SIG_LOGIN_ABSENT, 1300, OPEN },
	{ 6, SIG_LOGIN_ABSENT, 940, 945 },
	{ 7, SIG_NO_TOUCH, 960, OPEN },		/* after A7 left: ignored */
	{ 8, SIG_TICKET_VELOCITY, 950, 960 },
};
static const struct quality_status statuses[] = {
	{ 0, 1180, HEALTH_RED },	/* any order */
	{ 0, 900, HEALTH_GREEN },
	{ 0, 1140, HEALTH_YELLOW },
	{ 1, 900, HEALTH_GREEN },
	{ 2, 1000, HEALTH_RED },
	{ 2, 1010, HEALTH_GREEN },
};
static const struct quality_outcome outcomes[] = {
	{ 0, 1200, QK_CHURNED },
	{ 1, 1300, QK_CHURNED },
	{ 2, 1250, QK_RENEWED },
	{ 3, 1100, QK_CONTRACTED },
	{ 4, 1340, QK_CHURNED },
	{ 6, 950, QK_CHURNED },
	{ 7, 950, QK_CHURNED },
	{ 8, 980, QK_RENEWED },
};

static void
input(struct quality_input *in)
{
	memset(in, 0, sizeof(*in));
	in->fires = fires;
	in->nfires = sizeof(fires) / sizeof(fires[0]);
	in->statuses = statuses;
	in->nstatuses = sizeof(statuses) / sizeof(statuses[0]);
	in->outcomes = outcomes;
	in->noutcomes = sizeof(outcomes) / sizeof(outcomes[0]);
	in->naccounts = 10;
	in->since = 1000;
	in->until = 1365;
	in->within = 90;
}

static const struct quality_row *
row(const struct quality_report *r, int signal)
{
	size_t i;

	for (i = 0; i < r->nrows; i++)
		if (r->row[i].signal == signal)
			return &r->row[i];
	ck_abort_msg("no row for %d", signal);
	return NULL;
}

START_TEST(test_totals)
{
	struct quality_input in;
	struct quality_report r;

	input(&in);
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	ck_assert_uint_eq(r.outcomes[QK_CHURNED], 3);	/* A0 A1 A4 */
	ck_assert_uint_eq(r.outcomes[QK_CONTRACTED], 1);
	ck_assert_uint_eq(r.outcomes[QK_RENEWED], 1);	/* not A8's */
	ck_assert_double_eq_tol(r.base_rate, 0.3, 1e-9);
	/* Every account signal and the two health rows, no portfolio. */
	ck_assert_uint_eq(r.nrows, SIG__COUNT + 1 + 2);
	/* A0 yellow 30 d before, green 90 d before; A1 green both; A4
	 * unknown. */
	ck_assert_uint_eq(r.known_30, 2);
	ck_assert_uint_eq(r.green_30, 1);
	ck_assert_uint_eq(r.known_90, 2);
	ck_assert_uint_eq(r.green_90, 2);
}
END_TEST

START_TEST(test_login_absent)
{
	struct quality_input in;
	struct quality_report r;
	const struct quality_row *w;

	input(&in);
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	w = row(&r, SIG_LOGIN_ABSENT);
	/* Fired for A0, A1, A2, A5 and A6 (940..945 is within 90 days of
	 * since). */
	ck_assert_uint_eq(w->fired, 5);
	ck_assert_uint_eq(w->churned, 1);		/* A0 */
	ck_assert_double_eq(w->median_lead, 50);
	ck_assert_uint_eq(w->then_churned, 2);		/* A0, A6 before */
	ck_assert_uint_eq(w->then_renewed, 1);		/* A2 */
	ck_assert_uint_eq(w->then_contracted, 0);
	ck_assert_uint_eq(w->no_outcome, 2);		/* A1 A5 */
	ck_assert_double_eq_tol(w->precision, 0.4, 1e-9);
	ck_assert_double_eq_tol(w->lift, 0.4 / 0.3, 1e-9);
}
END_TEST

START_TEST(test_ticket_velocity)
{
	struct quality_input in;
	struct quality_report r;
	const struct quality_row *w;

	input(&in);
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	w = row(&r, SIG_TICKET_VELOCITY);
	ck_assert_uint_eq(w->fired, 4);			/* A0 A1 A3 A8 */
	ck_assert_uint_eq(w->churned, 1);		/* A1 */
	ck_assert_double_eq(w->median_lead, 90);	/* capped at within */
	ck_assert_uint_eq(w->contracted, 1);		/* A3 */
	ck_assert_uint_eq(w->then_contracted, 1);
	ck_assert_uint_eq(w->then_renewed, 1);		/* A8, before since */
	ck_assert_uint_eq(w->no_outcome, 1);		/* A0: too early */
	ck_assert_double_eq_tol(w->precision, 1.0 / 4, 1e-9);

	w = row(&r, SIG_CHURN_INTENT);
	ck_assert_uint_eq(w->fired, 1);
	ck_assert_uint_eq(w->churned, 1);
	ck_assert_double_eq(w->median_lead, 20);
	ck_assert_double_eq_tol(w->lift, 1 / 0.3, 1e-9);

	/* A0's and A7's fire after they left. */
	w = row(&r, SIG_NO_TOUCH);
	ck_assert_uint_eq(w->fired, 0);
	ck_assert_uint_eq(w->no_outcome, 0);
	ck_assert_double_eq(w->median_lead, -1);
	ck_assert_double_eq(w->precision, -1);
	ck_assert_double_eq(w->lift, -1);
}
END_TEST

START_TEST(test_health_rows)
{
	struct quality_input in;
	struct quality_report r;
	const struct quality_row *w;

	input(&in);
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	/* A0 not green from 1140 (lead 60), red from 1180 (lead 20); A2
	 * red on 1000..1009, long before its renewal. */
	w = row(&r, QUALITY_NOT_GREEN);
	ck_assert_uint_eq(w->fired, 2);
	ck_assert_uint_eq(w->churned, 1);
	ck_assert_double_eq(w->median_lead, 60);
	ck_assert_uint_eq(w->no_outcome, 1);
	w = row(&r, QUALITY_RED);
	ck_assert_uint_eq(w->fired, 2);
	ck_assert_double_eq(w->median_lead, 20);
	ck_assert_str_eq(quality_row_name(QUALITY_RED), "status red");
}
END_TEST

START_TEST(test_order)
{
	struct quality_input in;
	struct quality_report r;

	input(&in);
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	/* All caught one churn: by precision (1, .5, .5, .4, .25), the
	 * tie by the longer lead; then the ones that never fired. */
	ck_assert_int_eq(r.row[0].signal, SIG_CHURN_INTENT);
	ck_assert_int_eq(r.row[1].signal, QUALITY_NOT_GREEN);
	ck_assert_int_eq(r.row[2].signal, QUALITY_RED);
	ck_assert_int_eq(r.row[3].signal, SIG_LOGIN_ABSENT);
	ck_assert_int_eq(r.row[4].signal, SIG_TICKET_VELOCITY);
	ck_assert_uint_eq(r.row[5].fired, 0);
	ck_assert_int_eq(r.row[5].signal, SIG_TICKET_VELOCITY + 1);
}
END_TEST

START_TEST(test_even_median_and_first_outcome)
{
	static const struct quality_fire f[] = {
		{ 0, SIG_NO_TOUCH, 100, 110 },	/* lead 130 - 100 = 30 */
		{ 0, SIG_NO_TOUCH, 115, 118 },	/* 15: the earliest counts */
		{ 1, SIG_NO_TOUCH, 195, OPEN },	/* lead 5 */
	};
	static const struct quality_outcome o[] = {
		{ 0, 130, QK_CHURNED },
		{ 0, 160, QK_CHURNED },		/* the first churn counts */
		{ 1, 200, QK_CHURNED },
	};
	struct quality_input in;
	struct quality_report r;
	const struct quality_row *w;

	memset(&in, 0, sizeof(in));
	in.fires = f;
	in.nfires = 3;
	in.outcomes = o;
	in.noutcomes = 3;
	in.naccounts = 4;
	in.since = 100;
	in.until = 300;
	in.within = 30;
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	ck_assert_uint_eq(r.outcomes[QK_CHURNED], 2);
	w = row(&r, SIG_NO_TOUCH);
	ck_assert_uint_eq(w->churned, 2);
	ck_assert_double_eq(w->median_lead, 17.5);	/* (5 + 30) / 2 */
	ck_assert_double_eq_tol(w->lift, 1.0 / 0.5, 1e-9);
	ck_assert_uint_eq(r.known_30, 0);
}
END_TEST

START_TEST(test_bad_input)
{
	static const struct quality_fire f[] = { { 4, SIG_NO_TOUCH, 1, 2 } };
	struct quality_input in;
	struct quality_report r;

	memset(&in, 0, sizeof(in));
	in.fires = f;
	in.nfires = 1;
	in.naccounts = 4;	/* index 4 is out of range */
	in.within = 30;
	ck_assert_int_eq(quality_compute(&in, &r), -1);
	in.naccounts = 5;
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	/* Nothing at all: no base rate, every row empty. */
	in.nfires = 0;
	in.naccounts = 0;
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	ck_assert_double_eq(r.base_rate, -1);
}
END_TEST

START_TEST(test_ratio_and_names)
{
	char b[32];

	ck_assert_str_eq(quality_ratio(3, 7, b, sizeof(b)), "3/7");
	ck_assert_str_eq(quality_ratio(12, 40, b, sizeof(b)), "12/40 (30%)");
	ck_assert_str_eq(quality_ratio(0, 0, b, sizeof(b)), "-");
	ck_assert_str_eq(quality_kind_name(QK_CONTRACTED), "contracted");
}
END_TEST

START_TEST(test_text_and_json)
{
	struct quality_input in;
	struct quality_report r;
	json_t *o, *first;
	char *t, *line;

	input(&in);
	ck_assert_int_eq(quality_compute(&in, &r), 0);
	ck_assert_ptr_nonnull(t = quality_text(&r));
	/* The first row of the table is the best leading signal. */
	line = strstr(t, "\nchurn_intent ");
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, " 1/3 "));	/* caught churns */
	ck_assert_ptr_nonnull(strstr(line, " 20 d "));
	ck_assert_ptr_nonnull(strstr(line, " 1/1 "));	/* precision */
	ck_assert_ptr_nonnull(strstr(t, "10 accounts; 3 churned, 1 contracted"));
	ck_assert_ptr_nonnull(strstr(t, "Still green before they churned: 1/2 "
	    "of churned accounts 30 days before, 2/2 90 days before."));
	free(t);
	ck_assert_ptr_nonnull(o = quality_json(&r));
	ck_assert_str_eq(json_string_value(json_object_get(o, "since")),
	    "1972-09-27");
	first = json_array_get(json_object_get(o, "signals"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "signal")),
	    "churn_intent");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    first, "churned"), "count")), 1);
	ck_assert_double_eq(json_real_value(json_object_get(first,
	    "median_lead_days")), 20);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(o, "green_before_churn"), "days_30"), "green")),
	    1);
	json_decref(o);
}
END_TEST

START_TEST(test_builder)
{
	/* The hand-made history's A0, A1 and A2 as the store streams it. */
	struct quality_builder b;
	struct quality_input p;
	struct quality_report r;
	const struct quality_row *w;

	memset(&b, 0, sizeof(b));
	memset(&p, 0, sizeof(p));
	p.since = 1000;
	p.until = 1365;
	p.within = 90;
	/* Nothing at all: an empty report. */
	ck_assert_int_eq(quality_build(&b, 0, 0, &p, &r), 0);
	ck_assert_uint_eq(r.accounts, 0);
	ck_assert_int_eq(quality_add_fire(&b, 0, SIG_LOGIN_ABSENT, 1150,
	    QUALITY_OPEN), 0);
	ck_assert_int_eq(quality_add_fire(&b, 1, SIG_CHURN_INTENT, 1280,
	    1290), 0);
	ck_assert_int_eq(quality_add_fire(&b, 1, SIG_TICKET_VELOCITY, 1190,
	    1250), 0);
	ck_assert_int_eq(quality_add_fire(&b, 2, SIG_LOGIN_ABSENT, 1200,
	    1210), 0);
	ck_assert_int_eq(quality_add_outcome(&b, 0, QK_CHURNED, 1200), 0);
	ck_assert_int_eq(quality_add_outcome(&b, 1, QK_CHURNED, 1300), 0);
	ck_assert_int_eq(quality_add_outcome(&b, 2, QK_RENEWED, 1250), 0);
	ck_assert_int_eq(quality_add_status(&b, 0, 900, 0), 0);
	ck_assert_int_eq(quality_add_status(&b, 0, 1140, 1), 0);
	ck_assert_int_eq(quality_add_status(&b, 1, 900, 0), 0);
	/* Values out of range are refused, not added. */
	ck_assert_int_eq(quality_add_fire(&b, 1, ALERT_PORTFOLIO, 1, 2), -1);
	ck_assert_int_eq(quality_add_fire(&b, 1, ALERT_NSIGNALS, 1, 2), -1);
	ck_assert_int_eq(quality_add_fire(&b, 1, -1, 1, 2), -1);
	ck_assert_int_eq(quality_add_outcome(&b, 1, QK__COUNT, 1), -1);
	ck_assert_int_eq(quality_add_status(&b, 1, 1, HEALTH__COUNT), -1);
	ck_assert_uint_eq(b.nfires, 4);
	ck_assert_uint_eq(b.noutcomes, 3);
	ck_assert_uint_eq(b.nstatuses, 3);

	ck_assert_int_eq(quality_build(&b, 3, 10, &p, &r), 0);
	ck_assert_uint_eq(r.accounts, 10);
	ck_assert_uint_eq(r.outcomes[QK_CHURNED], 2);
	ck_assert_uint_eq(r.outcomes[QK_RENEWED], 1);
	ck_assert_double_eq_tol(r.base_rate, 0.2, 1e-9);
	w = row(&r, SIG_LOGIN_ABSENT);
	ck_assert_uint_eq(w->fired, 2);
	ck_assert_uint_eq(w->churned, 1);
	ck_assert_uint_eq(w->then_renewed, 1);
	ck_assert_double_eq(w->median_lead, 50);
	w = row(&r, SIG_TICKET_VELOCITY);
	ck_assert_double_eq(w->median_lead, 90);
	ck_assert_uint_eq(r.known_30, 2);
	ck_assert_uint_eq(r.green_30, 1);
	w = row(&r, QUALITY_NOT_GREEN);
	ck_assert_double_eq(w->median_lead, 60);
	/* Fewer scored accounts than had outcomes or alerts: those count. */
	ck_assert_int_eq(quality_build(&b, 3, 1, &p, &r), 0);
	ck_assert_uint_eq(r.accounts, 3);
	/* An account index past naccounts is refused. */
	ck_assert_int_eq(quality_build(&b, 2, 10, &p, &r), -1);
	quality_builder_free(&b);
	ck_assert_ptr_null(b.fires);
}
END_TEST

static Suite *
quality_suite(void)
{
	Suite *s = suite_create("quality");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_totals);
	tcase_add_test(tc, test_login_absent);
	tcase_add_test(tc, test_ticket_velocity);
	tcase_add_test(tc, test_health_rows);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_even_median_and_first_outcome);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_ratio_and_names);
	tcase_add_test(tc, test_text_and_json);
	tcase_add_test(tc, test_builder);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(quality_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
