/*
 * check_portfolio.c -- unit tests for portfolio.c: a key fires at exactly
 * min_accounts distinct accounts and not at one fewer; records outside
 * the day range are ignored; notes (phrase class) and tickets (category)
 * are two kinds that never mix; an account counts once however many
 * records it has (notes each, tickets by ticket id); members and keys
 * come sorted; settling marks a key; a new pass forgets the old one.
 * Windows are built by hand (window.h's records), so only portfolio.c,
 * window.c and intern.c are exercised.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "portfolio.h"
#include "window.h"

#define TODAY	20000

static void
teardown(void)
{
	intern_purge();
}

static uint32_t
in(const char *s)
{
	return intern(s, strlen(s));
}

static void
note(struct window *w, int32_t day, const char *cls)
{
	w->notes = realloc(w->notes, (w->nnotes + 1) * sizeof(*w->notes));
	ck_assert_ptr_nonnull(w->notes);
	w->notes[w->nnotes].day = day;
	w->notes[w->nnotes].phrase = cls != NULL ? in("some phrase") : 0;
	w->notes[w->nnotes].cls = cls != NULL ? in(cls) : 0;
	w->nnotes++;
	w->capnotes = w->nnotes;
}

static void
ticket(struct window *w, int32_t day, const char *category, uint64_t id)
{
	struct win_ticket *t;

	w->tickets = realloc(w->tickets,
	    (w->ntickets + 1) * sizeof(*w->tickets));
	ck_assert_ptr_nonnull(w->tickets);
	t = &w->tickets[w->ntickets++];
	memset(t, 0, sizeof(*t));
	t->day = day;
	t->category = category != NULL ? in(category) : 0;
	t->ticket = id;
	t->sentiment = WIN_NO_SENTIMENT;
	w->captickets = w->ntickets;
}

static const struct portfolio_trend *
find(const struct portfolio_trend *t, size_t n, enum portfolio_kind k,
    const char *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].kind == k && strcmp(intern_str(t[i].value), value) == 0)
			return &t[i];
	return NULL;
}

START_TEST(exactly_min_accounts)
{
	static const char *ids[] = { "e", "a", "d", "b", "c" };
	struct window w[5];
	struct portfolio *p;
	const struct portfolio_trend *t;
	size_t i, n;

	ck_assert_ptr_nonnull(p = portfolio_new());
	for (i = 0; i < 5; i++) {
		window_init(&w[i]);
		note(&w[i], TODAY - (int32_t)i, "budget");
	}
	portfolio_begin(p, TODAY, 14);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(portfolio_add(p, ids[i], &w[i], 0), 0);
	n = portfolio_trends(p, 5, &t);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(t[0].kind, PF_VOICE_RISK);
	ck_assert_str_eq(intern_str(t[0].value), "budget");
	ck_assert_uint_eq(t[0].nmembers, 5);
	ck_assert_int_eq(t[0].settling, 0);
	/* Sorted by account id, one note each. */
	for (i = 0; i < 5; i++) {
		char want[2] = { (char)('a' + i), '\0' };

		ck_assert_str_eq(t[0].members[i].account_id, want);
		ck_assert_uint_eq(t[0].members[i].count, 1);
	}
	/* Six would be needed: quiet. */
	ck_assert_uint_eq(portfolio_trends(p, 6, &t), 0);

	/* One account fewer: quiet at 5. */
	portfolio_begin(p, TODAY, 14);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(portfolio_add(p, ids[i], &w[i], 0), 0);
	ck_assert_uint_eq(portfolio_trends(p, 5, &t), 0);
	ck_assert_uint_eq(portfolio_trends(p, 4, &t), 1);

	for (i = 0; i < 5; i++)
		window_free(&w[i]);
	portfolio_free(p);
}
END_TEST

START_TEST(old_records_ignored)
{
	struct window w[5];
	struct portfolio *p;
	const struct portfolio_trend *t;
	char id[5][8];
	size_t i;

	ck_assert_ptr_nonnull(p = portfolio_new());
	for (i = 0; i < 5; i++) {
		window_init(&w[i]);
		snprintf(id[i], sizeof(id[i]), "acct%zu", i);
		/* The first of the 14 days, the day before it, a future day. */
		note(&w[i], i == 4 ? TODAY - 14 : TODAY - 13, "budget");
		ticket(&w[i], TODAY + 1, "billing", 1);
		ticket(&w[i], TODAY - 30, "billing", 2);
	}
	portfolio_begin(p, TODAY, 14);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(portfolio_add(p, id[i], &w[i], 0), 0);
	ck_assert_uint_eq(portfolio_trends(p, 5, &t), 0);
	ck_assert_uint_eq(portfolio_trends(p, 4, &t), 1);
	ck_assert_str_eq(intern_str(t[0].value), "budget");
	ck_assert_uint_eq(t[0].nmembers, 4);

	/* A wider range takes the older note in (and not the tickets). */
	portfolio_begin(p, TODAY, 15);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(portfolio_add(p, id[i], &w[i], 0), 0);
	ck_assert_uint_eq(portfolio_trends(p, 5, &t), 1);
	ck_assert_int_eq(t[0].kind, PF_VOICE_RISK);

	for (i = 0; i < 5; i++)
		window_free(&w[i]);
	portfolio_free(p);
}
END_TEST

START_TEST(both_kinds_counted_once)
{
	struct window w[6];
	struct portfolio *p;
	const struct portfolio_trend *t, *x;
	char id[6][8];
	size_t i, n;

	ck_assert_ptr_nonnull(p = portfolio_new());
	for (i = 0; i < 6; i++) {
		window_init(&w[i]);
		snprintf(id[i], sizeof(id[i]), "a%zu", i);
	}
	/* "billing" is both a phrase class and a ticket category. */
	for (i = 0; i < 5; i++) {
		ticket(&w[i], TODAY, "billing", 100 + i);
		/* The same ticket updated and solved: still one ticket. */
		ticket(&w[i], TODAY, "billing", 100 + i);
		ticket(&w[i], TODAY - 1, "billing", 100 + i);
	}
	ticket(&w[0], TODAY - 2, "billing", 7);	/* a second ticket */
	ticket(&w[0], TODAY, NULL, 8);		/* no category */
	/* Notes: many at one account, one at three others: 4 accounts. */
	for (i = 0; i < 10; i++)
		note(&w[5], TODAY, "billing");
	note(&w[5], TODAY, NULL);		/* no phrase matched */
	for (i = 0; i < 3; i++)
		note(&w[i], TODAY, "billing");
	portfolio_begin(p, TODAY, 14);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(portfolio_add(p, id[i], &w[i], i == 3), 0);

	n = portfolio_trends(p, 5, &t);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(t[0].kind, PF_TICKET_CATEGORY);
	ck_assert_uint_eq(t[0].nmembers, 5);
	ck_assert_str_eq(t[0].members[0].account_id, "a0");
	ck_assert_uint_eq(t[0].members[0].count, 2);
	ck_assert_uint_eq(t[0].members[1].count, 1);
	ck_assert_int_eq(t[0].settling, 1);	/* a3 settles */

	n = portfolio_trends(p, 1, &t);
	ck_assert_uint_eq(n, 2);
	/* Sorted: voice_risk before ticket_category. */
	ck_assert_int_eq(t[0].kind, PF_VOICE_RISK);
	x = find(t, n, PF_VOICE_RISK, "billing");
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->nmembers, 4);
	ck_assert_str_eq(x->members[3].account_id, "a5");
	ck_assert_uint_eq(x->members[3].count, 10);
	ck_assert_int_eq(x->settling, 0);

	/* A new pass forgets everything. */
	portfolio_begin(p, TODAY, 14);
	ck_assert_uint_eq(portfolio_trends(p, 1, &t), 0);
	ck_assert_int_eq(portfolio_add(p, "a5", &w[5], 0), 0);
	ck_assert_uint_eq(portfolio_trends(p, 1, &t), 1);
	ck_assert_uint_eq(t[0].nmembers, 1);

	for (i = 0; i < 6; i++)
		window_free(&w[i]);
	portfolio_free(p);
}
END_TEST

START_TEST(names)
{
	char buf[PORTFOLIO_KEY_MAX];

	ck_assert_str_eq(portfolio_kind_name(PF_VOICE_RISK), "voice_risk");
	ck_assert_str_eq(portfolio_kind_name(PF_TICKET_CATEGORY),
	    "ticket_category");
	ck_assert_ptr_null(portfolio_kind_name(PF__COUNT));
	ck_assert_str_eq(portfolio_key_name(PF_TICKET_CATEGORY, in("a:b"),
	    buf, sizeof(buf)), "ticket_category:a:b");
	ck_assert_int_eq(portfolio_kind_parse(buf), PF_TICKET_CATEGORY);
	ck_assert_int_eq(portfolio_kind_parse("voice_risk:budget"),
	    PF_VOICE_RISK);
	ck_assert_int_eq(portfolio_kind_parse("voice_risk"), -1);
	ck_assert_int_eq(portfolio_kind_parse("voice:x"), -1);
	ck_assert_int_eq(portfolio_kind_parse(NULL), -1);
}
END_TEST

START_TEST(many_keys_and_accounts)
{
	struct window w;
	struct portfolio *p;
	const struct portfolio_trend *t;
	char id[200][8], cat[16];
	size_t i, n;
	int k;

	/* 200 accounts, each with the same 100 categories: the index grows. */
	ck_assert_ptr_nonnull(p = portfolio_new());
	window_init(&w);
	for (k = 0; k < 100; k++) {
		snprintf(cat, sizeof(cat), "cat%03d", k);
		ticket(&w, TODAY, cat, (uint64_t)k + 1);
	}
	portfolio_begin(p, TODAY, 14);
	for (i = 0; i < 200; i++) {
		snprintf(id[i], sizeof(id[i]), "x%03zu", i);
		ck_assert_int_eq(portfolio_add(p, id[i], &w, 0), 0);
	}
	n = portfolio_trends(p, 200, &t);
	ck_assert_uint_eq(n, 100);
	ck_assert_str_eq(intern_str(t[0].value), "cat000");
	ck_assert_str_eq(intern_str(t[99].value), "cat099");
	ck_assert_str_eq(t[50].members[199].account_id, "x199");
	window_free(&w);
	portfolio_free(p);
	portfolio_free(NULL);
}
END_TEST

static Suite *
portfolio_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("portfolio");
	tc = tcase_create("portfolio");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, exactly_min_accounts);
	tcase_add_test(tc, old_records_ignored);
	tcase_add_test(tc, both_kinds_counted_once);
	tcase_add_test(tc, names);
	tcase_add_test(tc, many_keys_and_accounts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(portfolio_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
