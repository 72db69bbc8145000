/*
 * check_intern.c -- unit tests for intern.c: ids are stable and distinct,
 * lookups without adding, embedded bytes and lengths, growth past many
 * table resizes and string chunks, purge.  Links only intern.c.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"

static void
teardown(void)
{
	intern_purge();
}

START_TEST(basic)
{
	uint32_t	a, b, c;

	ck_assert_uint_eq(intern_count(), 0);
	ck_assert_str_eq(intern_str(0), "");
	ck_assert_str_eq(intern_str(1), "");	/* unknown */
	ck_assert_uint_eq(intern_find("eng", 3), 0);

	a = intern("eng", 3);
	b = intern("support", 7);
	ck_assert_uint_ge(a, 1);
	ck_assert_uint_ge(b, 1);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(intern("eng", 3), a);
	ck_assert_uint_eq(intern_find("eng", 3), a);
	ck_assert_uint_eq(intern_find("support", 7), b);
	ck_assert_str_eq(intern_str(a), "eng");
	ck_assert_str_eq(intern_str(b), "support");
	ck_assert_uint_eq(intern_count(), 2);

	/* Case and length matter. */
	c = intern("Eng", 3);
	ck_assert_uint_ne(c, a);
	ck_assert_uint_ne(intern("en", 2), a);
	ck_assert_uint_eq(intern_find("engineering", 3), a);
	ck_assert_uint_eq(intern_count(), 4);
	ck_assert_uint_eq(intern_str(UINT32_MAX)[0], '\0');
}
END_TEST

START_TEST(empty_and_bytes)
{
	uint32_t	e, z, j;

	/* "" is a string like any other; NULL is "". */
	e = intern("", 0);
	ck_assert_uint_ge(e, 1);
	ck_assert_uint_eq(intern(NULL, 0), e);
	ck_assert_uint_eq(intern_find(NULL, 0), e);
	ck_assert_str_eq(intern_str(e), "");

	/* Only len bytes count; an embedded NUL is part of the key. */
	z = intern("a\0b", 3);
	ck_assert_uint_ne(z, intern("a", 1));
	ck_assert_uint_eq(intern("a\0b", 3), z);
	ck_assert_uint_eq(intern("abc", 1), intern_find("a", 1));

	/* UTF-8 as bytes. */
	j = intern("解約", strlen("解約"));
	ck_assert_str_eq(intern_str(j), "解約");
	ck_assert_uint_eq(intern_find("解約", strlen("解約")), j);
}
END_TEST

START_TEST(many)
{
	char		buf[64];
	uint32_t	i, n = 50000, id;
	const char	*first;

	first = intern_str(intern("s0", 2));
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "s%u", i);
		id = intern(buf, strlen(buf));
		ck_assert_uint_eq(id, i + 1);
	}
	ck_assert_uint_eq(intern_count(), n);
	/* Strings never move: the first pointer is still good. */
	ck_assert_ptr_eq(intern_str(1), first);
	for (i = 0; i < n; i += 7) {
		snprintf(buf, sizeof(buf), "s%u", i);
		ck_assert_uint_eq(intern_find(buf, strlen(buf)), i + 1);
		ck_assert_str_eq(intern_str(i + 1), buf);
	}
	ck_assert_uint_eq(intern_find("s50000", 6), 0);
	ck_assert_uint_gt(intern_bytes(), n * 8);
	ck_assert_uint_lt(intern_bytes(), n * 64);
}
END_TEST

START_TEST(long_strings)
{
	char		*big;
	size_t		 len = 200000;
	uint32_t	 a, b, c;

	big = malloc(len);
	memset(big, 'x', len);
	a = intern("short", 5);
	b = intern(big, len);
	c = intern("after", 5);
	ck_assert_uint_eq(strlen(intern_str(b)), len);
	ck_assert_uint_eq(intern(big, len), b);
	ck_assert_str_eq(intern_str(a), "short");
	ck_assert_str_eq(intern_str(c), "after");
	/* The big string did not waste the current chunk. */
	ck_assert_uint_lt(intern_bytes(), len + 100000);
	free(big);
}
END_TEST

START_TEST(purge)
{
	uint32_t	a;

	a = intern("x", 1);
	ck_assert_uint_eq(a, 1);
	intern_purge();
	ck_assert_uint_eq(intern_count(), 0);
	ck_assert_uint_eq(intern_bytes(), 0);
	ck_assert_uint_eq(intern_find("x", 1), 0);
	ck_assert_str_eq(intern_str(a), "");
	ck_assert_uint_eq(intern("y", 1), 1);
	intern_purge();
	intern_purge();		/* twice is harmless */
}
END_TEST

static Suite *
intern_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("intern");
	tc = tcase_create("intern");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, basic);
	tcase_add_test(tc, empty_and_bytes);
	tcase_add_test(tc, many);
	tcase_add_test(tc, long_strings);
	tcase_add_test(tc, purge);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(intern_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
