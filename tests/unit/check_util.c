/*
 * check_util.c -- unit tests for util.c: RFC 3339, the clock, constant-time
 * comparison, decimal parsing, CRC-32C, the keyed hash, token buckets.
 * Links only util.c.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define S(x)	(INT64_C(x) * CW_USEC_PER_SEC)

static const struct {
	const char	*s;
	int64_t		 us;
} rfc_good[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1970-01-01T00:00:00.000001Z", 1 },
	{ "1969-12-31T23:59:59.999999Z", -1 },
	{ "2024-02-29T00:00:00Z", S(1709164800) },		/* leap day */
	{ "2000-02-29T12:00:00Z", S(951825600) },	/* 400-year rule */
	{ "2026-11-20T09:30:00Z", S(1795167000) },
	{ "2026-11-20t09:30:00z", S(1795167000) },		/* lower case */
	{ "2026-11-20T09:30:00+00:00", S(1795167000) },
	{ "2026-11-20T09:30:00-00:00", S(1795167000) },
	{ "2026-11-20T09:30:00.123+09:00", S(1795134600) + 123000 },
	{ "2026-11-20T04:00:00-05:30", S(1795167000) },
	{ "2026-11-20T09:30:00.5Z", S(1795167000) + 500000 },
	{ "2026-11-20T09:30:00.123456Z", S(1795167000) + 123456 },
	{ "2026-11-20T09:30:00.123456789Z", S(1795167000) + 123456 },
	{ "2026-11-20T09:30:00.000000999Z", S(1795167000) },
	{ "1999-12-31T23:59:60Z", S(946684799) },	/* leap second */
	{ "1999-12-31T23:59:60.5Z", S(946684799) + 500000 },
	{ "0001-01-01T00:00:00Z", S(-62135596800) },
	{ "0001-01-01T09:00:00+09:00", S(-62135596800) },
	{ "9999-12-31T23:59:59.999999Z", S(253402300799) + 999999 },
	{ "2026-11-20T23:59:59+23:59", S(1795167000) + S(52199) - S(86340) },
};

static const char *const rfc_bad[] = {
	"",
	"garbage",
	"2023-02-29T00:00:00Z",		/* not a leap year */
	"1900-02-29T00:00:00Z",		/* 100-year rule */
	"2026-02-30T00:00:00Z",
	"2026-04-31T00:00:00Z",
	"2026-13-01T00:00:00Z",
	"2026-00-01T00:00:00Z",
	"2026-01-00T00:00:00Z",
	"2026-01-32T00:00:00Z",
	"2026-11-20T24:00:00Z",
	"2026-11-20T09:60:00Z",
	"2026-11-20T09:30:61Z",
	"2026-11-20T09:30:00",		/* no offset */
	"2026-11-20T09:30Z",		/* no seconds */
	"2026-11-20 09:30:00Z",		/* space */
	"2026-11-20X09:30:00Z",
	"2026-11-20",
	"2026-1-20T09:30:00Z",
	"+2026-11-20T09:30:00Z",
	"20261120T093000Z",
	"2026-11-20T09:30:00.Z",		/* empty fraction */
	"2026-11-20T09:30:00.1234567890Z",	/* 10 digits */
	"2026-11-20T09:30:00,5Z",
	"2026-11-20T09:30:00Zjunk",
	"2026-11-20T09:30:00Z ",
	" 2026-11-20T09:30:00Z",
	"2026-11-20T09:30:00+0900",
	"2026-11-20T09:30:00+09",
	"2026-11-20T09:30:00+24:00",
	"2026-11-20T09:30:00+09:60",
	"2026-11-20T09:30:00+09:00x",
	"2026-11-20T09:30:00UTC",
	"2026-11-20T09:30:00.12a3Z",
	"2026-١١-20T09:30:00Z",
	/* PostgreSQL has no year 0000; nothing outside 0001..9999 in UTC */
	"0000-01-01T00:00:00Z",
	"0000-12-31T23:59:59Z",
	"0001-01-01T00:00:00+00:01",
	"9999-12-31T23:59:59-00:01",
};

START_TEST(rfc3339_good)
{
	int64_t	us = 42;
	int	rc;

	rc = util_parse_rfc3339(rfc_good[_i].s, strlen(rfc_good[_i].s), &us);
	ck_assert_msg(rc == 0, "%s rejected", rfc_good[_i].s);
	ck_assert_msg(us == rfc_good[_i].us, "%s: %lld, want %lld",
	    rfc_good[_i].s, (long long)us, (long long)rfc_good[_i].us);
}
END_TEST

START_TEST(rfc3339_bad)
{
	int64_t	us = 42;

	ck_assert_msg(util_parse_rfc3339(rfc_bad[_i], strlen(rfc_bad[_i]),
	    &us) == -1, "\"%s\" accepted", rfc_bad[_i]);
	ck_assert_int_eq(us, 42);
}
END_TEST

START_TEST(rfc3339_len)
{
	const char	*s = "2026-11-20T09:30:00Zjunk";
	char		*exact;
	int64_t		 us;

	/* Only len bytes are read; no NUL needed. */
	ck_assert_int_eq(util_parse_rfc3339(s, 20, &us), 0);
	ck_assert_int_eq(us, S(1795167000));
	ck_assert_int_eq(util_parse_rfc3339(s, 19, &us), -1);
	ck_assert_int_eq(util_parse_rfc3339(s, 0, &us), -1);
	ck_assert_int_eq(util_parse_rfc3339(NULL, 0, &us), -1);

	/* Exactly sized buffers (valgrind sees any over-read). */
	exact = malloc(20);
	memcpy(exact, s, 20);
	ck_assert_int_eq(util_parse_rfc3339(exact, 20, &us), 0);
	free(exact);
	exact = malloc(21);
	memcpy(exact, "2026-11-20T09:30:00.", 20);
	exact[20] = '5';
	ck_assert_int_eq(util_parse_rfc3339(exact, 21, &us), -1);
	free(exact);
}
END_TEST

START_TEST(rfc3339_format)
{
	char	buf[CW_RFC3339_LEN];

	ck_assert_str_eq(util_format_rfc3339(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000000Z");
	ck_assert_str_eq(util_format_rfc3339(-1, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.999999Z");
	ck_assert_str_eq(util_format_rfc3339(S(1709164800) + 7, buf,
	    sizeof(buf)), "2024-02-29T00:00:00.000007Z");
	ck_assert_str_eq(util_format_rfc3339(S(1795134600) + 123000, buf,
	    sizeof(buf)), "2026-11-20T00:30:00.123000Z");
	ck_assert_str_eq(util_format_rfc3339(S(253402300799) + 999999, buf,
	    sizeof(buf)), "9999-12-31T23:59:59.999999Z");
	ck_assert_str_eq(util_format_rfc3339(S(-62167219200), buf,
	    sizeof(buf)), "0000-01-01T00:00:00.000000Z");

	ck_assert(util_ts_valid(CW_TS_MIN) && util_ts_valid(CW_TS_MAX));
	ck_assert(!util_ts_valid(CW_TS_MIN - 1) && !util_ts_valid(CW_TS_MAX + 1));
	ck_assert_str_eq(util_format_rfc3339(CW_TS_MIN, buf, sizeof(buf)),
	    "0001-01-01T00:00:00.000000Z");
	ck_assert_str_eq(util_format_rfc3339(CW_TS_MAX, buf, sizeof(buf)),
	    "9999-12-31T23:59:59.999999Z");

	/* Short buffers are truncated, never overrun. */
	memset(buf, 'x', sizeof(buf));
	ck_assert_str_eq(util_format_rfc3339(0, buf, 5), "1970");
	ck_assert_int_eq(buf[5], 'x');
	ck_assert_ptr_eq(util_format_rfc3339(0, buf, 0), buf);

	/* Extreme values do not crash or overflow the buffer. */
	util_format_rfc3339(INT64_MIN, buf, sizeof(buf));
	util_format_rfc3339(INT64_MAX, buf, sizeof(buf));
	ck_assert(strlen(buf) < sizeof(buf));
}
END_TEST

START_TEST(rfc3339_roundtrip)
{
	char	buf[CW_RFC3339_LEN];
	int64_t	us, back;
	int	i;

	/* Every day of years 1, 1899-2101 and 9999 at an odd time of day. */
	for (i = 0, us = S(-62135596800); i < 365; i++, us += CW_USEC_PER_DAY) {
		util_format_rfc3339(us + 12345678901, buf, sizeof(buf));
		ck_assert_int_eq(util_parse_rfc3339(buf, strlen(buf), &back),
		    0);
		ck_assert_int_eq(back, us + 12345678901);
	}
	for (us = S(-2240524800); us < S(4133980800);
	    us += CW_USEC_PER_DAY + 1) {
		util_format_rfc3339(us, buf, sizeof(buf));
		ck_assert_int_eq(util_parse_rfc3339(buf, strlen(buf), &back),
		    0);
		ck_assert_msg(back == us, "%s", buf);
	}
	for (i = 0, us = S(253370764800); i < 365; i++,
	    us += CW_USEC_PER_DAY) {
		util_format_rfc3339(us, buf, sizeof(buf));
		ck_assert_int_eq(util_parse_rfc3339(buf, strlen(buf), &back),
		    0);
		ck_assert_int_eq(back, us);
	}
}
END_TEST

START_TEST(now)
{
	int64_t	a, b;

	a = util_now_us();
	b = (int64_t)time(NULL) * CW_USEC_PER_SEC;
	ck_assert(a > S(1600000000));
	ck_assert(a - b < S(2) && b - a < S(2));
	ck_assert(util_now_us() >= a);
}
END_TEST

START_TEST(ct_equal)
{
	static const char	nul4[4] = { 'a', 'b', 'c', '\0' };

	ck_assert_int_eq(util_ct_equal("abc", 3, "abc", 3), 1);
	ck_assert_int_eq(util_ct_equal("abc", 3, "abd", 3), 0);
	ck_assert_int_eq(util_ct_equal("abc", 3, "xbc", 3), 0);
	ck_assert_int_eq(util_ct_equal("abc", 3, "abcd", 4), 0);
	ck_assert_int_eq(util_ct_equal("abcd", 4, "abc", 3), 0);
	/* A shorter string is not padded into equality. */
	ck_assert_int_eq(util_ct_equal("abc", 3, nul4, 4), 0);
	ck_assert_int_eq(util_ct_equal(nul4, 4, "abc", 3), 0);
	ck_assert_int_eq(util_ct_equal("", 0, "", 0), 1);
	ck_assert_int_eq(util_ct_equal(NULL, 0, NULL, 0), 1);
	ck_assert_int_eq(util_ct_equal("", 0, "a", 1), 0);
	ck_assert_int_eq(util_ct_equal("a", 1, NULL, 0), 0);
	ck_assert_int_eq(util_ct_equal("\x80\xff", 2, "\x80\xff", 2), 1);
	ck_assert_int_eq(util_ct_equal("\x80\xff", 2, "\x80\xfe", 2), 0);
}
END_TEST

static const struct {
	const char	*s;
	uint64_t	 min, max;
	int		 rc;
	uint64_t	 want;
} u64_cases[] = {
	{ "0", 0, UINT64_MAX, 0, 0 },
	{ "1", 0, UINT64_MAX, 0, 1 },
	{ "007", 0, UINT64_MAX, 0, 7 },
	{ "1048576", 1, UINT64_MAX, 0, 1048576 },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551616", 0, UINT64_MAX, -1, 0 },
	{ "18446744073709551620", 0, UINT64_MAX, -1, 0 },
	{ "99999999999999999999", 0, UINT64_MAX, -1, 0 },
	{ "184467440737095516150", 0, UINT64_MAX, -1, 0 },
	{ "10", 1, 10, 0, 10 },
	{ "1", 1, 10, 0, 1 },
	{ "0", 1, 10, -1, 0 },
	{ "11", 1, 10, -1, 0 },
	{ "", 0, UINT64_MAX, -1, 0 },
	{ "-1", 0, UINT64_MAX, -1, 0 },
	{ "+1", 0, UINT64_MAX, -1, 0 },
	{ " 1", 0, UINT64_MAX, -1, 0 },
	{ "1 ", 0, UINT64_MAX, -1, 0 },
	{ "1\n", 0, UINT64_MAX, -1, 0 },
	{ "1a", 0, UINT64_MAX, -1, 0 },
	{ "0x10", 0, UINT64_MAX, -1, 0 },
	{ "1e3", 0, UINT64_MAX, -1, 0 },
	{ "1.0", 0, UINT64_MAX, -1, 0 },
	{ "1_000", 0, UINT64_MAX, -1, 0 },
};

START_TEST(parse_u64)
{
	uint64_t	v = 12345;
	int		rc;

	rc = util_parse_u64(u64_cases[_i].s, u64_cases[_i].min,
	    u64_cases[_i].max, &v);
	ck_assert_msg(rc == u64_cases[_i].rc, "\"%s\": rc %d",
	    u64_cases[_i].s, rc);
	if (rc == 0)
		ck_assert_msg(v == u64_cases[_i].want, "\"%s\"",
		    u64_cases[_i].s);
	else
		ck_assert_msg(v == 12345, "\"%s\": *out written on error",
		    u64_cases[_i].s);
}
END_TEST

START_TEST(crc32c)
{
	/* The check value of the CRC catalogue, and a split run. */
	ck_assert_uint_eq(util_crc32c(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(util_crc32c(util_crc32c(0, "1234", 4), "56789", 5),
	    0xe3069283u);
	ck_assert_uint_eq(util_crc32c(0, "", 0), 0);
	ck_assert_uint_ne(util_crc32c(0, "123456788", 9), 0xe3069283u);
}
END_TEST

START_TEST(parse_u64_null)
{
	uint64_t	v;

	ck_assert_int_eq(util_parse_u64(NULL, 0, UINT64_MAX, &v), -1);
}
END_TEST

/*
 * SipHash-2-4's published vectors (the reference implementation's
 * vectors.h, vectors_sip64): key 00 01 .. 0f, message 00 01 .. (i-1) of
 * i bytes, the output read as a little-endian 64-bit number.
 */
static const uint64_t sip_vectors[64] = {
	UINT64_C(0x726fdb47dd0e0e31), UINT64_C(0x74f839c593dc67fd), UINT64_C(0x0d6c8009d9a94f5a),
	UINT64_C(0x85676696d7fb7e2d), UINT64_C(0xcf2794e0277187b7), UINT64_C(0x18765564cd99a68d),
	UINT64_C(0xcbc9466e58fee3ce), UINT64_C(0xab0200f58b01d137), UINT64_C(0x93f5f5799a932462),
	UINT64_C(0x9e0082df0ba9e4b0), UINT64_C(0x7a5dbbc594ddb9f3), UINT64_C(0xf4b32f46226bada7),
	UINT64_C(0x751e8fbc860ee5fb), UINT64_C(0x14ea5627c0843d90), UINT64_C(0xf723ca908e7af2ee),
	UINT64_C(0xa129ca6149be45e5), UINT64_C(0x3f2acc7f57c29bdb), UINT64_C(0x699ae9f52cbe4794),
	UINT64_C(0x4bc1b3f0968dd39c), UINT64_C(0xbb6dc91da77961bd), UINT64_C(0xbed65cf21aa2ee98),
	UINT64_C(0xd0f2cbb02e3b67c7), UINT64_C(0x93536795e3a33e88), UINT64_C(0xa80c038ccd5ccec8),
	UINT64_C(0xb8ad50c6f649af94), UINT64_C(0xbce192de8a85b8ea), UINT64_C(0x17d835b85bbb15f3),
	UINT64_C(0x2f2e6163076bcfad), UINT64_C(0xde4daaaca71dc9a5), UINT64_C(0xa6a2506687956571),
	UINT64_C(0xad87a3535c49ef28), UINT64_C(0x32d892fad841c342), UINT64_C(0x7127512f72f27cce),
	UINT64_C(0xa7f32346f95978e3), UINT64_C(0x12e0b01abb051238), UINT64_C(0x15e034d40fa197ae),
	UINT64_C(0x314dffbe0815a3b4), UINT64_C(0x027990f029623981), UINT64_C(0xcadcd4e59ef40c4d),
	UINT64_C(0x9abfd8766a33735c), UINT64_C(0x0e3ea96b5304a7d0), UINT64_C(0xad0c42d6fc585992),
	UINT64_C(0x187306c89bc215a9), UINT64_C(0xd4a60abcf3792b95), UINT64_C(0xf935451de4f21df2),
	UINT64_C(0xa9538f0419755787), UINT64_C(0xdb9acddff56ca510), UINT64_C(0xd06c98cd5c0975eb),
	UINT64_C(0xe612a3cb9ecba951), UINT64_C(0xc766e62cfcadaf96), UINT64_C(0xee64435a9752fe72),
	UINT64_C(0xa192d576b245165a), UINT64_C(0x0a8787bf8ecb74b2), UINT64_C(0x81b3e73d20b49b6f),
	UINT64_C(0x7fa8220ba3b2ecea), UINT64_C(0x245731c13ca42499), UINT64_C(0xb78dbfaf3a8d83bd),
	UINT64_C(0xea1ad565322a1a0b), UINT64_C(0x60e61c23a3795013), UINT64_C(0x6606d7e446282b93),
	UINT64_C(0x6ca4ecb15c5f91e1), UINT64_C(0x9f626da15c9625f3), UINT64_C(0xe51b38608ef25f57),
	UINT64_C(0x958a324ceb064572),
};

static const unsigned char sip_key[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

static unsigned char sip_msg[64];

static void
sip_setup(void)
{
	int	i;

	for (i = 0; i < 64; i++)
		sip_msg[i] = (unsigned char)i;
	util_hash_set_key(sip_key);
}

START_TEST(hash_vectors)
{
	ck_assert_msg(util_hash(sip_msg, (size_t)_i) == sip_vectors[_i],
	    "%d bytes: %016llx, want %016llx", _i,
	    (unsigned long long)util_hash(sip_msg, (size_t)_i),
	    (unsigned long long)sip_vectors[_i]);
}
END_TEST

/* Every way of cutting the message into three updates gives the same. */
START_TEST(hash_incremental)
{
	struct util_hasher	h;
	size_t			a, b, n = (size_t)_i;

	for (a = 0; a <= n; a++)
		for (b = a; b <= n; b++) {
			util_hash_init(&h);
			util_hash_update(&h, sip_msg, a);
			util_hash_update(&h, sip_msg + a, b - a);
			util_hash_update(&h, sip_msg + b, n - b);
			ck_assert_msg(util_hash_final(&h) == sip_vectors[n],
			    "%zu bytes cut at %zu and %zu", n, a, b);
		}
}
END_TEST

/*
 * Without util_hash_set_key() the key is random: the published vectors
 * do not come out (a 2^-64 chance each that this fails by luck), and it
 * stays the same key within the process.
 */
START_TEST(hash_random_key)
{
	uint64_t	first;
	int		i, same = 0;

	first = util_hash("acme", 4);
	for (i = 0; i < 64; i++)
		same += util_hash(sip_msg, (size_t)i) == sip_vectors[i];
	ck_assert_int_eq(same, 0);
	ck_assert(util_hash("acme", 4) == first);
	ck_assert(util_hash("acme", 4) != util_hash("acmf", 4));
}
END_TEST

/* ---- token buckets: times are injected, in us ---- */

#define T0	INT64_C(1000000000)
#define MS	INT64_C(1000)

START_TEST(bucket_burst_then_rate)
{
	struct util_bucket	b;
	int			i;

	util_bucket_init(&b, 10, 100, T0);	/* 10/s, 100 at once */
	ck_assert_int_eq(util_bucket_take(&b, 60, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 40, 0, T0), 0);
	/* Empty: one unit comes back in 1/10 s. */
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 100 * MS);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0 + 99 * MS), 1 * MS);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0 + 100 * MS), 0);
	/* Five units need half a second more from empty. */
	ck_assert_int_eq(util_bucket_take(&b, 5, 0, T0 + 100 * MS),
	    500 * MS);
	/* Ten seconds later it is full again, never more than full. */
	ck_assert_int_eq(util_bucket_take(&b, 100, 0, T0 + 3600000 * MS), 0);
	ck_assert_int_gt(util_bucket_take(&b, 1, 0, T0 + 3600000 * MS), 0);
	/* A steady 10/s is always served. */
	for (i = 1; i <= 50; i++)
		ck_assert_int_eq(util_bucket_take(&b, 1, 0,
		    T0 + 3600000 * MS + i * 100 * MS), 0);
}
END_TEST

/* A request is taken whole or not at all; a refusal changes nothing. */
START_TEST(bucket_whole)
{
	struct util_bucket	b;

	util_bucket_init(&b, 1, 100, T0);
	ck_assert_int_eq(util_bucket_take(&b, 50, 0, T0), 0);
	/* 50 left: 60 is refused, 10 s until 60 are there. */
	ck_assert_int_eq(util_bucket_take(&b, 60, 0, T0), 10000 * MS);
	ck_assert_int_eq(util_bucket_take(&b, 50, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 1000 * MS);
}
END_TEST

/*
 * One unit charged from the head, the rest once the body is decoded:
 * the request is admitted exactly when it would have been in one go.
 */
START_TEST(bucket_held)
{
	struct util_bucket	b;

	util_bucket_init(&b, 100, 1000, T0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 500, 1, T0), 0);	/* 500 left */
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 0);	/* 499 */
	/* 499 + the 1 held cannot cover 501: refused, the held 1 kept. */
	ck_assert_int_eq(util_bucket_take(&b, 501, 1, T0), 20 * MS);
	ck_assert_int_eq(util_bucket_take(&b, 499, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 10 * MS);
	/* held == n takes nothing more. */
	util_bucket_init(&b, 100, 1000, T0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 1, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 999, 0, T0), 0);
	ck_assert_int_gt(util_bucket_take(&b, 1, 0, T0), 0);
}
END_TEST

/* Larger than the burst: from a full bucket only, leaving a debt. */
START_TEST(bucket_over_burst)
{
	struct util_bucket	b;

	util_bucket_init(&b, 10, 100, T0);
	ck_assert_int_eq(util_bucket_take(&b, 250, 0, T0), 0);	/* -150 */
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 15100 * MS);
	ck_assert_int_eq(util_bucket_take(&b, 250, 0, T0 + 10000 * MS),
	    15000 * MS);	/* -50: it needs a full bucket, 100 */
	ck_assert_int_eq(util_bucket_take(&b, 250, 0, T0 + 25000 * MS), 0);
	/* The same through a held first unit. */
	util_bucket_init(&b, 10, 100, T0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 250, 1, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 15100 * MS);
}
END_TEST

/* Over a long run, no more than burst + rate * time gets through. */
START_TEST(bucket_long_run)
{
	struct util_bucket	b;
	uint64_t		taken = 0;
	int64_t			t;

	util_bucket_init(&b, 1000, 5000, T0);
	for (t = T0; t <= T0 + 60000 * MS; t += 3 * MS)
		if (util_bucket_take(&b, 7, 0, t) == 0)
			taken += 7;
	ck_assert_uint_le(taken, 5000 + 1000 * 60);
	ck_assert_uint_ge(taken, 5000 + 1000 * 60 - 7);
}
END_TEST

START_TEST(bucket_clock_back)
{
	struct util_bucket	b;

	util_bucket_init(&b, 10, 10, T0);
	ck_assert_int_eq(util_bucket_take(&b, 10, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0 - 3600000 * MS),
	    100 * MS);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0 + 100 * MS), 0);
}
END_TEST

/* A reload keeps what the bucket holds, under the new burst. */
START_TEST(bucket_set)
{
	struct util_bucket	b;

	util_bucket_init(&b, 10, 100, T0);
	ck_assert_int_eq(util_bucket_take(&b, 100, 0, T0), 0);
	util_bucket_set(&b, 1, 1000, T0 + 1000 * MS);	/* 10 refilled */
	ck_assert_int_eq(util_bucket_take(&b, 10, 0, T0 + 1000 * MS), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0 + 1000 * MS),
	    1000 * MS);
	util_bucket_init(&b, 10, 100, T0);
	util_bucket_set(&b, 10, 20, T0);		/* capped at 20 */
	ck_assert_int_eq(util_bucket_take(&b, 20, 0, T0), 0);
	ck_assert_int_gt(util_bucket_take(&b, 1, 0, T0), 0);
}
END_TEST

/* The extremes neither overflow nor take what is not there. */
START_TEST(bucket_extremes)
{
	struct util_bucket	b;

	util_bucket_init(&b, 0, 0, T0);			/* clamped to 1, 1 */
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 1000 * MS);
	util_bucket_init(&b, UINT64_MAX, UINT64_MAX, T0);
	ck_assert_uint_eq(b.rate, UTIL_BUCKET_MAX);
	ck_assert_int_eq(util_bucket_take(&b, UTIL_BUCKET_MAX, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, UINT64_MAX, 0, T0), 1000 * MS);
	ck_assert_int_eq(util_bucket_take(&b, UINT64_MAX, 0,
	    INT64_MAX / 2), 0);
	ck_assert_int_gt(util_bucket_take(&b, 1, 0, INT64_MAX / 2), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, INT64_MAX), 0);
	util_bucket_init(&b, 1, 1, T0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, T0), 0);
	ck_assert_int_eq(util_bucket_take(&b, 1, 0, INT64_MAX), 0);
}
END_TEST

START_TEST(grow)
{
	uint32_t *v = NULL;
	size_t cap = 0, n;

	for (n = 0; n < 1000; n++) {
		ck_assert_int_eq(util_grow((void **)&v, &cap, n, sizeof(*v)), 0);
		ck_assert_uint_gt(cap, n);
		v[n] = (uint32_t)n;
	}
	ck_assert_uint_eq(cap, 1024);
	for (n = 0; n < 1000; n++)
		ck_assert_uint_eq(v[n], n);
	/* Room already: nothing moves. */
	ck_assert_int_eq(util_grow((void **)&v, &cap, 10, sizeof(*v)), 0);
	ck_assert_uint_eq(cap, 1024);
	/* Past SIZE_MAX bytes: refused, the array unchanged. */
	ck_assert_int_eq(util_grow((void **)&v, &cap, 1024, SIZE_MAX / 1000),
	    -1);
	ck_assert_uint_eq(cap, 1024);
	ck_assert_uint_eq(v[999], 999);
	free(v);
}
END_TEST

START_TEST(mono)
{
	int64_t	a, b;

	a = util_mono_us();
	b = util_mono_us();
	ck_assert_int_gt(a, 0);
	ck_assert_int_ge(b, a);
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
util_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("util");

	tc = tcase_create("rfc3339");
	tcase_add_loop_test(tc, rfc3339_good, 0, NELEM(rfc_good));
	tcase_add_loop_test(tc, rfc3339_bad, 0, NELEM(rfc_bad));
	tcase_add_test(tc, rfc3339_len);
	tcase_add_test(tc, rfc3339_format);
	tcase_add_test(tc, rfc3339_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_test(tc, now);
	suite_add_tcase(s, tc);

	tc = tcase_create("ct_equal");
	tcase_add_test(tc, ct_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_u64");
	tcase_add_loop_test(tc, parse_u64, 0, NELEM(u64_cases));
	tcase_add_test(tc, parse_u64_null);
	tcase_add_test(tc, crc32c);
	suite_add_tcase(s, tc);

	/* Its own process: the key is drawn on first use and then kept. */
	tc = tcase_create("bucket");
	tcase_add_test(tc, bucket_burst_then_rate);
	tcase_add_test(tc, bucket_whole);
	tcase_add_test(tc, bucket_held);
	tcase_add_test(tc, bucket_over_burst);
	tcase_add_test(tc, bucket_long_run);
	tcase_add_test(tc, bucket_clock_back);
	tcase_add_test(tc, bucket_set);
	tcase_add_test(tc, bucket_extremes);
	tcase_add_test(tc, mono);
	tcase_add_test(tc, grow);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash_random");
	tcase_add_test(tc, hash_random_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_unchecked_fixture(tc, sip_setup, NULL);
	tcase_add_loop_test(tc, hash_vectors, 0, NELEM(sip_vectors));
	tcase_add_loop_test(tc, hash_incremental, 0, 20);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
