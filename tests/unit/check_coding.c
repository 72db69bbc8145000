/*
 * check_coding.c -- unit tests for coding.c: Content-Encoding values,
 * gzip and deflate bodies fed in pieces of every size, a decompression
 * bomb stopped at the limit, corrupt, truncated and trailing bytes,
 * concatenated gzip members, a refusing callback.  Links coding.c and
 * zlib (which also makes the test streams).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "coding.h"

/* What the decoder handed on, as http.c keeps it. */
struct sink {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 calls;
	size_t	 biggest;	/* largest single put */
	size_t	 stop_after;	/* refuse once len passes this; 0 never */
};

static int
sink_put(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	s->calls++;
	if (n > s->biggest)
		s->biggest = n;
	if (s->stop_after != 0 && s->len + n > s->stop_after)
		return -1;
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		ck_assert_ptr_nonnull(s->buf = realloc(s->buf, s->cap));
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

/* in[0..n) compressed with a gzip (or zlib) wrapper; free() it. */
static unsigned char *
zcompress(const void *in, size_t n, int gzip, size_t *outlen)
{
	z_stream zs;
	unsigned char *out;
	size_t cap;

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 15 + 16 : 15,
	    8, Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&zs, (uLong)n);
	ck_assert_ptr_nonnull(out = malloc(cap));
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* An event batch of about n bytes, compressible but not trivially. */
static char *
payload(size_t n, size_t *len)
{
	char *p;
	size_t i = 0;
	unsigned x = 12345;

	ck_assert_ptr_nonnull(p = malloc(n + 200));
	i += (size_t)sprintf(p, "[");
	while (i < n) {
		x = x * 1103515245u + 12345u;
		i += (size_t)sprintf(p + i, "%s{\"id\":\"evt_%u\",\"account_id\":"
		    "\"acct_%u\",\"type\":\"login\",\"user_id\":\"u_%u\"}",
		    i > 1 ? "," : "", x, x % 97, (x >> 8) % 1000);
	}
	i += (size_t)sprintf(p + i, "]");
	*len = i;
	return p;
}

/* Feed z[0..n) in pieces of step bytes (the last one shorter). */
static enum coding_status
feed_pieces(struct coding *c, const unsigned char *z, size_t n, size_t step,
    struct sink *s, struct cw_error *err)
{
	enum coding_status st;
	size_t off, k;

	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		if ((st = coding_feed(c, z + off, k, sink_put, s, err)) !=
		    CODING_OK)
			return st;
	}
	return coding_finish(c, err);
}

START_TEST(test_parse)
{
	static const struct {
		const char	*v;
		int		 rc;
		enum coding_kind kind;
	} t[] = {
		{ "gzip", 0, CODING_GZIP },
		{ "GZip", 0, CODING_GZIP },
		{ " gzip\t", 0, CODING_GZIP },
		{ "x-gzip", 0, CODING_GZIP },
		{ "deflate", 0, CODING_DEFLATE },
		{ "identity", 0, CODING_IDENTITY },
		{ "", 0, CODING_IDENTITY },
		{ " , ", 0, CODING_IDENTITY },
		{ "identity, gzip", 0, CODING_GZIP },
		{ "gzip, identity", 0, CODING_GZIP },
		{ "br", -1, CODING_IDENTITY },
		{ "compress", -1, CODING_IDENTITY },
		{ "zstd", -1, CODING_IDENTITY },
		{ "gzipx", -1, CODING_IDENTITY },
		{ "gzi", -1, CODING_IDENTITY },
		{ "gzip, gzip", -1, CODING_IDENTITY },
		{ "gzip, deflate", -1, CODING_IDENTITY },
		{ "gzip;q=1", -1, CODING_IDENTITY },
	};
	enum coding_kind k;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		k = CODING_DEFLATE;
		ck_assert_msg(coding_parse(t[i].v, &k) == t[i].rc,
		    "'%s': rc", t[i].v);
		if (t[i].rc == 0)
			ck_assert_msg(k == t[i].kind, "'%s': kind %d", t[i].v,
			    (int)k);
	}
	ck_assert_ptr_null(coding_new(CODING_IDENTITY, 100));
}
END_TEST

/* A good stream comes out whole whatever the pieces it arrives in. */
START_TEST(test_good_pieces)
{
	static const size_t steps[] = { 1, 2, 3, 7, 10, 64, 511, 4096, 65536,
	    SIZE_MAX };
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *z;
	char *p;
	size_t plen, zlen, i;
	int gz;

	p = payload(200000, &plen);
	for (gz = 0; gz <= 1; gz++) {
		z = zcompress(p, plen, gz, &zlen);
		ck_assert_uint_lt(zlen, plen / 2);
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			memset(&s, 0, sizeof(s));
			c = coding_new(gz ? CODING_GZIP : CODING_DEFLATE,
			    1048576);
			ck_assert_ptr_nonnull(c);
			ck_assert_msg(feed_pieces(c, z, zlen, steps[i], &s,
			    &err) == CODING_OK, "gzip=%d step %zu: %s", gz,
			    steps[i], err.msg);
			ck_assert_uint_eq(s.len, plen);
			ck_assert_uint_eq(coding_out(c), plen);
			ck_assert(memcmp(s.buf, p, plen) == 0);
			/* Handed on in bounded pieces, never all at once. */
			ck_assert_uint_le(s.biggest, 16384);
			ck_assert_uint_gt(s.calls, plen / 16384);
			coding_free(c);
			free(s.buf);
		}
		free(z);
	}
	free(p);
}
END_TEST

/* Exactly at the limit is fine; one byte more is not. */
START_TEST(test_limit_exact)
{
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *z;
	char *p;
	size_t plen, zlen;

	p = payload(50000, &plen);
	z = zcompress(p, plen, 1, &zlen);
	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_GZIP, plen);
	ck_assert_int_eq(feed_pieces(c, z, zlen, 100, &s, &err), CODING_OK);
	ck_assert_uint_eq(s.len, plen);
	coding_free(c);
	free(s.buf);

	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_GZIP, plen - 1);
	ck_assert_int_eq(feed_pieces(c, z, zlen, 100, &s, &err), CODING_LIMIT);
	ck_assert_str_eq(err.code, "body_too_large");
	ck_assert_uint_le(s.len, plen - 1);
	coding_free(c);
	free(s.buf);
	free(z);
	free(p);
}
END_TEST

/*
 * 64 MiB of zeros gzipped to about 64 KB, against a 1 MiB limit: the
 * decoder stops after a few KB of input, never hands on more than the
 * limit, and stays stopped.
 */
START_TEST(test_bomb)
{
	const size_t max = 1048576, step = 512;
	static unsigned char zero[1 << 20];
	struct cw_error err;
	struct sink s;
	struct coding *c;
	z_stream zs;
	unsigned char *z;
	size_t zcap = 1 << 20, zlen, off;
	enum coding_status st = CODING_OK;
	int i;

	ck_assert_ptr_nonnull(z = malloc(zcap));
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_out = z;
	zs.avail_out = (uInt)zcap;
	for (i = 0; i < 64; i++) {
		zs.next_in = zero;
		zs.avail_in = sizeof(zero);
		ck_assert_int_eq(deflate(&zs, i == 63 ? Z_FINISH : Z_NO_FLUSH),
		    i == 63 ? Z_STREAM_END : Z_OK);
	}
	zlen = zs.total_out;
	deflateEnd(&zs);
	ck_assert_uint_lt(zlen, 128 * 1024);

	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_GZIP, max);
	for (off = 0; off < zlen && st == CODING_OK; off += step)
		st = coding_feed(c, z + off, zlen - off < step ? zlen - off :
		    step, sink_put, &s, &err);
	ck_assert_int_eq(st, CODING_LIMIT);
	ck_assert_str_eq(err.code, "body_too_large");
	ck_assert_uint_le(s.len, max);
	ck_assert_uint_le(coding_out(c), max);
	/* 1 MiB of zeros is about 1 KB of deflate: stopped early. */
	ck_assert_uint_lt(off, 8192);
	/* Stopped for good: more bytes and the end say the same. */
	ck_assert_int_eq(coding_feed(c, z + off, step, sink_put, &s, &err),
	    CODING_LIMIT);
	ck_assert_int_eq(coding_finish(c, &err), CODING_LIMIT);
	ck_assert_str_eq(err.code, "body_too_large");
	ck_assert_uint_le(s.len, max);
	coding_free(c);
	free(s.buf);
	free(z);
}
END_TEST

/* A flipped byte in the data or the header, a wrong CRC: bad_encoding. */
START_TEST(test_corrupt)
{
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *z;
	char *p;
	size_t plen, zlen, at[4], i;

	p = payload(20000, &plen);
	z = zcompress(p, plen, 1, &zlen);
	at[0] = 0;		/* magic */
	at[1] = 3;		/* flags: reserved bit */
	at[2] = zlen / 2;	/* deflate data */
	at[3] = zlen - 6;	/* CRC-32 */
	for (i = 0; i < 4; i++) {
		z[at[i]] ^= i == 1 ? 0xe0 : 0x55;
		memset(&s, 0, sizeof(s));
		c = coding_new(CODING_GZIP, 1048576);
		ck_assert_msg(feed_pieces(c, z, zlen, 333, &s, &err) ==
		    CODING_BAD, "flip at %zu", at[i]);
		ck_assert_str_eq(err.code, "bad_encoding");
		ck_assert(strlen(err.msg) > 0);
		coding_free(c);
		free(s.buf);
		z[at[i]] ^= i == 1 ? 0xe0 : 0x55;
	}
	/* Not gzip at all: plain JSON labelled gzip. */
	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_GZIP, 1048576);
	ck_assert_int_eq(coding_feed(c, p, plen, sink_put, &s, &err),
	    CODING_BAD);
	ck_assert_str_eq(err.code, "bad_encoding");
	ck_assert_uint_eq(s.len, 0);
	coding_free(c);
	free(s.buf);
	free(z);
	free(p);
}
END_TEST

/* Cut anywhere before the end, or nothing at all: truncated. */
START_TEST(test_truncated)
{
	static const size_t cut[] = { 1, 4, 8, 9, 100 };
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *z;
	char *p;
	size_t plen, zlen, i;

	p = payload(20000, &plen);
	z = zcompress(p, plen, 1, &zlen);
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		memset(&s, 0, sizeof(s));
		c = coding_new(CODING_GZIP, 1048576);
		ck_assert_int_eq(feed_pieces(c, z, zlen - cut[i], 1000, &s,
		    &err), CODING_BAD);
		ck_assert_str_eq(err.code, "bad_encoding");
		ck_assert(strstr(err.msg, "truncated") != NULL);
		coding_free(c);
		free(s.buf);
	}
	c = coding_new(CODING_GZIP, 1048576);
	ck_assert_int_eq(coding_finish(c, &err), CODING_BAD);
	ck_assert(strstr(err.msg, "empty") != NULL);
	coding_free(c);
	free(z);
	free(p);
}
END_TEST

/* Bytes after the last member are refused, not ignored. */
START_TEST(test_trailing)
{
	static const char *const tails[] = { "x", "\n", "\0\0\0\0", "\x1f",
	    "{\"id\":1}" };
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *z, *zz;
	char *p;
	size_t plen, zlen, tlen, i;
	int gz;

	p = payload(5000, &plen);
	for (gz = 0; gz <= 1; gz++) {
		z = zcompress(p, plen, gz, &zlen);
		ck_assert_ptr_nonnull(zz = malloc(zlen + 16));
		for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
			tlen = i == 2 ? 4 : strlen(tails[i]);
			memcpy(zz, z, zlen);
			memcpy(zz + zlen, tails[i], tlen);
			memset(&s, 0, sizeof(s));
			c = coding_new(gz ? CODING_GZIP : CODING_DEFLATE,
			    1048576);
			ck_assert_msg(feed_pieces(c, zz, zlen + tlen, 777, &s,
			    &err) == CODING_BAD, "gzip=%d tail %zu", gz, i);
			ck_assert_str_eq(err.code, "bad_encoding");
			coding_free(c);
			free(s.buf);
		}
		free(zz);
		free(z);
	}
	free(p);
}
END_TEST

/* gzip members back to back decode as one body (RFC 1952 2.2). */
START_TEST(test_members)
{
	static const size_t steps[] = { 1, 13, 4096, SIZE_MAX };
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *a, *b, *ab;
	const char *pa = "[{\"id\":\"a\",", *pb = "\"x\":1}]";
	size_t alen, blen, i;

	a = zcompress(pa, strlen(pa), 1, &alen);
	b = zcompress(pb, strlen(pb), 1, &blen);
	ck_assert_ptr_nonnull(ab = malloc(alen + blen + alen));
	memcpy(ab, a, alen);
	memcpy(ab + alen, b, blen);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		memset(&s, 0, sizeof(s));
		c = coding_new(CODING_GZIP, 1024);
		ck_assert_int_eq(feed_pieces(c, ab, alen + blen, steps[i], &s,
		    &err), CODING_OK);
		ck_assert_uint_eq(s.len, strlen(pa) + strlen(pb));
		ck_assert(memcmp(s.buf, pa, strlen(pa)) == 0);
		ck_assert(memcmp(s.buf + strlen(pa), pb, strlen(pb)) == 0);
		coding_free(c);
		free(s.buf);
	}
	/* Split exactly at the boundary; then a member cut short. */
	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_GZIP, 1024);
	ck_assert_int_eq(coding_feed(c, ab, alen, sink_put, &s, &err),
	    CODING_OK);
	ck_assert_int_eq(coding_feed(c, ab + alen, blen, sink_put, &s, &err),
	    CODING_OK);
	memcpy(ab + alen + blen, a, alen);
	ck_assert_int_eq(coding_feed(c, ab + alen + blen, alen / 2, sink_put,
	    &s, &err), CODING_OK);
	ck_assert_int_eq(coding_finish(c, &err), CODING_BAD);
	coding_free(c);
	free(s.buf);
	/* Members are gzip's: a deflate stream is one stream. */
	free(a);
	a = zcompress(pa, strlen(pa), 0, &alen);
	memcpy(ab, a, alen);
	memcpy(ab + alen, a, alen);
	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_DEFLATE, 1024);
	ck_assert_int_eq(feed_pieces(c, ab, 2 * alen, 5, &s, &err),
	    CODING_BAD);
	coding_free(c);
	free(s.buf);
	free(ab);
	free(a);
	free(b);
}
END_TEST

/*
 * Empty members cost bytes but decode to nothing: an endless stream of
 * them is stopped by the limit on bytes sent.
 */
START_TEST(test_empty_members)
{
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *e;
	size_t elen, sent = 0;
	enum coding_status st = CODING_OK;

	e = zcompress("", 0, 1, &elen);
	memset(&s, 0, sizeof(s));
	c = coding_new(CODING_GZIP, 1024);
	while (st == CODING_OK && sent < 1000000) {
		st = coding_feed(c, e, elen, sink_put, &s, &err);
		sent += elen;
	}
	ck_assert_int_eq(st, CODING_LIMIT);
	ck_assert_str_eq(err.code, "body_too_large");
	ck_assert_uint_le(sent, coding_wire_max(1024) + elen);
	ck_assert_uint_eq(s.len, 0);
	coding_free(c);
	free(e);
	ck_assert_uint_ge(coding_wire_max(1048576), 1048576 + 1024);
	ck_assert_uint_eq(coding_wire_max(SIZE_MAX), SIZE_MAX);
}
END_TEST

/* The callback says stop (e.g. max_inflight_body_bytes): it stops. */
START_TEST(test_put_stops)
{
	struct cw_error err;
	struct sink s;
	struct coding *c;
	unsigned char *z;
	char *p;
	size_t plen, zlen;

	p = payload(100000, &plen);
	z = zcompress(p, plen, 1, &zlen);
	memset(&s, 0, sizeof(s));
	s.stop_after = 20000;
	c = coding_new(CODING_GZIP, 1048576);
	ck_assert_int_eq(feed_pieces(c, z, zlen, 1000, &s, &err),
	    CODING_STOP);
	ck_assert_ptr_null(err.code);
	ck_assert_uint_le(s.len, 20000);
	ck_assert_int_eq(coding_finish(c, &err), CODING_STOP);
	coding_free(c);
	coding_free(NULL);
	free(s.buf);
	free(z);
	free(p);
}
END_TEST

static Suite *
coding_suite(void)
{
	Suite *s = suite_create("coding");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_good_pieces);
	tcase_add_test(tc, test_limit_exact);
	tcase_add_test(tc, test_bomb);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_trailing);
	tcase_add_test(tc, test_members);
	tcase_add_test(tc, test_empty_members);
	tcase_add_test(tc, test_put_stops);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(coding_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
