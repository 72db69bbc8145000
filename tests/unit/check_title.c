/*
 * check_title.c -- unit tests for title.c: a table of English and
 * Japanese titles with their expected ranks (word boundaries, qualifiers,
 * longest match, highest rank wins, full-width letters), and the rank
 * names.  Links only title.c.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "title.h"

static const struct {
	const char	*title;
	enum title_rank	 rank;
} cases[] = {
	/* Nothing. */
	{ NULL, RANK_NONE },
	{ "", RANK_NONE },
	{ "  \t ", RANK_NONE },
	{ "\xe3\x80\x80", RANK_NONE },		/* ideographic space */

	/* C-level. */
	{ "CEO", RANK_CLEVEL },
	{ "ceo", RANK_CLEVEL },
	{ "Co-Founder & CTO", RANK_CLEVEL },
	{ "CFO", RANK_CLEVEL },
	{ "COO", RANK_CLEVEL },
	{ "CRO", RANK_CLEVEL },
	{ "CMO", RANK_CLEVEL },
	{ "CIO", RANK_CLEVEL },
	{ "CISO", RANK_CLEVEL },
	{ "Chief Revenue Officer", RANK_CLEVEL },
	{ "Chief Customer Experience Officer", RANK_CLEVEL },
	{ "Chief Executive", RANK_CLEVEL },
	{ "President", RANK_CLEVEL },
	{ "Founder", RANK_CLEVEL },
	{ "Owner", RANK_CLEVEL },
	{ "Managing Director", RANK_CLEVEL },
	{ "Chairman of the Board", RANK_CLEVEL },
	{ "CTO & VP Engineering", RANK_CLEVEL },
	{ "VP Engineering / CTO", RANK_CLEVEL },
	{ "President and CEO", RANK_CLEVEL },
	{ "Deputy CEO", RANK_VP },

	/* VP. */
	{ "VP of Engineering", RANK_VP },
	{ "VP Sales", RANK_VP },
	{ "Vice President", RANK_VP },
	{ "Vice-President, Customer Success", RANK_VP },
	{ "Senior Vice President", RANK_VP },
	{ "SVP Operations", RANK_VP },
	{ "EVP", RANK_VP },
	{ "Executive Vice President", RANK_VP },
	{ "Vice Chairman", RANK_VP },

	/* Head / Director. */
	{ "Head of Customer Success", RANK_HEAD },
	{ "Director of IT", RANK_HEAD },
	{ "Director", RANK_HEAD },
	{ "Senior Director, Product", RANK_HEAD },
	{ "Sr. Director", RANK_HEAD },
	{ "Assistant Vice President", RANK_HEAD },
	{ "Associate VP", RANK_HEAD },
	{ "AVP, Risk", RANK_HEAD },
	{ "General Manager", RANK_HEAD },
	{ "Chief of Staff", RANK_HEAD },
	{ "Chief of Staff to the CEO", RANK_HEAD },
	{ "Engineering Head", RANK_HEAD },

	/* Senior Manager. */
	{ "Senior Manager, CS", RANK_SENIOR_MANAGER },
	{ "Sr. Manager", RANK_SENIOR_MANAGER },
	{ "SR MGR", RANK_SENIOR_MANAGER },
	{ "Associate Director", RANK_SENIOR_MANAGER },
	{ "Deputy Director of Sales", RANK_SENIOR_MANAGER },
	{ "Deputy Head of Support", RANK_SENIOR_MANAGER },

	/* Manager. */
	{ "Manager", RANK_MANAGER },
	{ "Customer Success Manager", RANK_MANAGER },
	{ "Senior Product Manager", RANK_MANAGER },
	{ "IT Mgr", RANK_MANAGER },
	{ "Executive Assistant to the CEO & Office Manager", RANK_MANAGER },

	/* Other. */
	{ "Assistant Manager", RANK_OTHER },
	{ "Associate Product Manager", RANK_OTHER },
	{ "Lead Engineer", RANK_OTHER },
	{ "Team Lead", RANK_OTHER },
	{ "Engineer", RANK_OTHER },
	{ "Software Engineer", RANK_OTHER },
	{ "Product Owner", RANK_OTHER },
	{ "Executive Assistant to the CEO", RANK_OTHER },
	{ "Assistant to the President", RANK_OTHER },
	{ "Sales Associate", RANK_OTHER },
	{ "Assistant", RANK_OTHER },
	{ "Intern", RANK_OTHER },
	{ "Directorate liaison", RANK_OTHER },	/* not "director" */
	{ "Headcount planner", RANK_OTHER },	/* not "head" */
	{ "Management consultant", RANK_OTHER },/* not "manager" */
	{ "Vicepresidential historian", RANK_OTHER },
	{ "Victor", RANK_OTHER },		/* no "cto" inside words */
	{ "Doctor", RANK_OTHER },

	/* Japanese. */
	{ "代表取締役社長", RANK_CLEVEL },
	{ "代表取締役", RANK_CLEVEL },
	{ "取締役", RANK_CLEVEL },
	{ "取締役CTO", RANK_CLEVEL },
	{ "社長", RANK_CLEVEL },
	{ "会長", RANK_CLEVEL },
	{ "常務取締役", RANK_CLEVEL },
	{ "最高技術責任者", RANK_CLEVEL },
	{ "ＣＥＯ", RANK_CLEVEL },		/* full-width letters */
	{ "執行役員", RANK_VP },
	{ "常務執行役員", RANK_VP },
	{ "副社長", RANK_VP },
	{ "営業本部長", RANK_VP },
	{ "事業部長", RANK_VP },
	{ "部長", RANK_HEAD },
	{ "営業部長", RANK_HEAD },
	{ "担当部長", RANK_HEAD },
	{ "副本部長", RANK_HEAD },
	{ "ディレクター", RANK_HEAD },
	{ "次長", RANK_SENIOR_MANAGER },
	{ "部長代理", RANK_SENIOR_MANAGER },
	{ "副部長", RANK_SENIOR_MANAGER },
	{ "課長", RANK_MANAGER },
	{ "マネージャー", RANK_MANAGER },
	{ "カスタマーサクセスマネージャー", RANK_MANAGER },
	{ "課長代理", RANK_OTHER },
	{ "課長補佐", RANK_OTHER },
	{ "係長", RANK_OTHER },
	{ "主任", RANK_OTHER },
	{ "担当", RANK_OTHER },
	{ "エンジニア", RANK_OTHER },
	{ "社長秘書", RANK_OTHER },
	{ "情報システム部 部長", RANK_HEAD },
	{ "営業部　課長・取締役", RANK_CLEVEL },
	{ "Sales Director（営業部長）", RANK_HEAD },
};

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(ranks)
{
	enum title_rank	r;

	r = title_rank(cases[_i].title);
	ck_assert_msg(r == cases[_i].rank, "\"%s\": got %s, want %s",
	    cases[_i].title ? cases[_i].title : "(null)", title_rank_name(r),
	    title_rank_name(cases[_i].rank));
}
END_TEST

START_TEST(table_size)
{
	ck_assert_int_ge(NELEM(cases), 40);
}
END_TEST

START_TEST(order)
{
	/* SPEC 4: C-level > VP > Head/Director > Senior Manager > ... */
	ck_assert_int_gt(RANK_CLEVEL, RANK_VP);
	ck_assert_int_gt(RANK_VP, RANK_HEAD);
	ck_assert_int_gt(RANK_HEAD, RANK_SENIOR_MANAGER);
	ck_assert_int_gt(RANK_SENIOR_MANAGER, RANK_MANAGER);
	ck_assert_int_gt(RANK_MANAGER, RANK_OTHER);
	ck_assert_int_gt(RANK_OTHER, RANK_NONE);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(title_rank_name(RANK_NONE), "None");
	ck_assert_str_eq(title_rank_name(RANK_OTHER), "Other");
	ck_assert_str_eq(title_rank_name(RANK_MANAGER), "Manager");
	ck_assert_str_eq(title_rank_name(RANK_SENIOR_MANAGER),
	    "Senior Manager");
	ck_assert_str_eq(title_rank_name(RANK_HEAD), "Head/Director");
	ck_assert_str_eq(title_rank_name(RANK_VP), "VP");
	ck_assert_str_eq(title_rank_name(RANK_CLEVEL), "C-level");
	ck_assert_str_eq(title_rank_name((enum title_rank)99), "unknown");
}
END_TEST

START_TEST(long_and_broken)
{
	char	*t;
	size_t	 n = 5000;

	/* Only the first 512 bytes are looked at. */
	t = malloc(n + 16);
	memset(t, 'x', n);
	memcpy(t, "CEO ", 4);
	t[n] = '\0';
	ck_assert_int_eq(title_rank(t), RANK_CLEVEL);
	memcpy(t, "xxx ", 4);
	memcpy(t + n - 4, " CEO", 4);
	ck_assert_int_eq(title_rank(t), RANK_OTHER);
	/* Japanese cut at a character boundary. */
	memset(t, ' ', n);
	t[0] = 'x';
	strcpy(t + 510, "部長");
	ck_assert_int_eq(title_rank(t), RANK_OTHER);
	free(t);

	/* Broken UTF-8, truncated sequences: no over-read, still a title. */
	ck_assert_int_eq(title_rank("\xe9\x83"), RANK_OTHER);
	ck_assert_int_eq(title_rank("\xef\xbc"), RANK_OTHER);
	ck_assert_int_eq(title_rank("\xe3\x80"), RANK_OTHER);
	ck_assert_int_eq(title_rank("\xff\xfe VP"), RANK_VP);
	ck_assert_int_eq(title_rank("\x80\x80\xe9\x83\xa8\xe9\x95\xb7"),
	    RANK_HEAD);
}
END_TEST

static Suite *
title_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("title");
	tc = tcase_create("title");
	tcase_add_test(tc, table_size);
	tcase_add_test(tc, order);
	tcase_add_loop_test(tc, ranks, 0, NELEM(cases));
	tcase_add_test(tc, names);
	tcase_add_test(tc, long_and_broken);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(title_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
