/*
 * check_wire.c -- unit tests for wire.c: the request stream of a
 * connection judged as it arrives.  Pipelined requests of every framing,
 * fed whole and a byte at a time; every way a later request or a chunked
 * body can break, and how much before the break may still pass.  Links
 * the pure core.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define MAXHEAD	1024

/*
 * Feed s to a fresh judge step bytes at a time, keeping what it holds
 * back as http.c's relay does.  Returns the bytes found sound; *v the
 * last verdict.
 */
static size_t
feed(struct wire *w, const char *s, size_t n, size_t step,
    enum wire_verdict *v)
{
	char *buf = malloc(n + 1);
	size_t len = 0, judged = 0, off = 0, k, take;

	ck_assert_ptr_nonnull(buf);
	wire_init(w, MAXHEAD);
	*v = WIRE_MORE;
	while (off < n) {
		take = n - off < step ? n - off : step;
		memcpy(buf + len, s + off, take);
		len += take;
		off += take;
		k = wire_judge(w, buf + judged, len - judged, v);
		judged += k;
		if (*v != WIRE_MORE)
			break;
	}
	free(buf);
	return judged;
}

static const char pipeline[] =
    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    "\r\n"
    "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
    "abcde"
    "POST /v1/events HTTP/1.1\r\nHost: x\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
    "3;name=value\r\nabc\r\n"
    "A\r\n0123456789\r\n"
    "0\r\nX-Trailer: 1\r\n\r\n"
    "GET /metrics HTTP/1.0\n\n";

START_TEST(test_pipeline)
{
	static const size_t steps[] = { 1, 2, 3, 7, 64, 4096 };
	struct wire w;
	enum wire_verdict v;
	size_t i, n = strlen(pipeline);

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ck_assert_uint_eq(feed(&w, pipeline, n, steps[i], &v), n);
		ck_assert_int_eq(v, WIRE_MORE);
		ck_assert_uint_eq(w.heads, 4);
		ck_assert_uint_eq(w.whole, 4);
		ck_assert_int_eq(wire_stopped(&w), 0);
	}
}
END_TEST

START_TEST(test_partial)
{
	struct wire w;
	enum wire_verdict v;
	const char *s = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10"
	    "\r\n\r\nabc";
	const char *c = "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nab";

	/* A body under way: all of it passes, the request is not whole. */
	ck_assert_uint_eq(feed(&w, s, strlen(s), 1, &v), strlen(s));
	ck_assert_int_eq(v, WIRE_MORE);
	ck_assert_uint_eq(w.heads, 1);
	ck_assert_uint_eq(w.whole, 0);
	ck_assert_uint_eq(feed(&w, c, strlen(c), 5, &v), strlen(c));
	ck_assert_uint_eq(w.heads, 1);
	ck_assert_uint_eq(w.whole, 0);
	/* A part of a head is held back. */
	ck_assert_uint_eq(feed(&w, "GET / HTTP/1.1\r\nHo", 18, 18, &v), 0);
	ck_assert_int_eq(v, WIRE_MORE);
	ck_assert_uint_eq(w.heads, 0);
}
END_TEST

/* After a sound first request, s breaks the stream: code, status. */
static void
expect_bad(const char *second, unsigned status, const char *code)
{
	static const char first[] =
	    "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
	    "\r\nok";
	char s[8192];
	struct wire w;
	enum wire_verdict v;
	size_t n, k, steps[] = { 1, 8192 }, i;

	n = (size_t)snprintf(s, sizeof(s), "%s%s", first, second);
	for (i = 0; i < 2; i++) {
		k = feed(&w, s, n, steps[i], &v);
		ck_assert_msg(v == WIRE_BAD, "%s: not refused", second);
		ck_assert_msg(k >= strlen(first), "%s: the first request "
		    "held back (%zu)", second, k);
		ck_assert_uint_eq(w.err.status, status);
		ck_assert_str_eq(w.err.code, code);
		ck_assert_int_eq(wire_stopped(&w), 1);
		ck_assert_uint_eq(w.whole, 1);
		/* Once refused, nothing more passes. */
		ck_assert_uint_eq(wire_judge(&w, "GET", 3, &v), 0);
		ck_assert_int_eq(v, WIRE_BAD);
	}
}

START_TEST(test_later_heads)
{
	expect_bad("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 400,
	    "bad_version");
	expect_bad("GET /healthz\r\n\r\n", 400, "bad_request");
	expect_bad("GARBAGE\r\n\r\n", 400, "bad_request");
	expect_bad("GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400,
	    "bad_request");
	expect_bad("GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
	    400, "bad_request");
	expect_bad("GET /healthz HTTP/1.1\r\nX: a\rb\r\n\r\n", 400,
	    "bad_request");
	expect_bad("POST /v1/events HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    400, "bad_framing");
	expect_bad("POST /v1/events HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n", 413, "body_too_large");
}
END_TEST

START_TEST(test_head_limit)
{
	char s[4096];
	struct wire w;
	enum wire_verdict v;
	size_t n;

	memset(s, 'a', sizeof(s));
	n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX-Big: ");
	s[n + 2000] = '\0';	/* no line end within MAXHEAD */
	ck_assert_uint_eq(feed(&w, s, n + 2000, 100, &v), 0);
	ck_assert_int_eq(v, WIRE_BAD);
	ck_assert_uint_eq(w.err.status, 431);
	ck_assert_str_eq(w.err.code, "headers_too_large");
}
END_TEST

#define CHUNKED	"POST /v1/events HTTP/1.1\r\nHost: x\r\n" \
	"Transfer-Encoding: chunked\r\n\r\n"

START_TEST(test_bad_chunks)
{
	static const struct { const char *body; unsigned status; } bad[] = {
		{ "zz\r\nab\r\n0\r\n\r\n", 400 },	/* not hex */
		{ "\r\n", 400 },			/* no size */
		{ ";ext\r\n", 400 },			/* no size */
		{ "2 \r\nab\r\n0\r\n\r\n", 400 },	/* space after size */
		{ "2\r\nabc\r\n0\r\n\r\n", 400 },	/* longer than size */
		{ "2\r\nab\rX", 400 },			/* CR then not LF */
		{ "2;a\001b\r\nab\r\n", 400 },		/* CTL in extension */
		{ "2\r\nab\r\n0\r\nNoColon\r\n\r\n", 400 },	/* trailer */
		{ "2\r\nab\r\n0\r\n folded\r\n\r\n", 400 },
		{ "fffffffffffffffff\r\n", 413 },	/* past 2^64 */
	};
	char s[1024];
	struct wire w;
	enum wire_verdict v;
	size_t i, n, k, hl = strlen(CHUNKED);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (size_t)snprintf(s, sizeof(s), "%s%s", CHUNKED,
		    bad[i].body);
		k = feed(&w, s, n, 1, &v);
		ck_assert_msg(v == WIRE_BAD, "chunked body %u not refused",
		    (unsigned)i);
		ck_assert_msg(k >= hl, "chunked body %u: head held back",
		    (unsigned)i);
		ck_assert_uint_eq(w.err.status, bad[i].status);
		ck_assert_uint_eq(w.heads, 1);
		ck_assert_uint_eq(w.whole, 0);
	}
	/* Leading zeros are a size; a bare LF ends a line. */
	n = (size_t)snprintf(s, sizeof(s), "%s%s", CHUNKED,
	    "00000000000000000002\nab\n0\n\n");
	ck_assert_uint_eq(feed(&w, s, n, 1, &v), n);
	ck_assert_int_eq(v, WIRE_MORE);
	ck_assert_uint_eq(w.whole, 1);
}
END_TEST

START_TEST(test_chunk_line_limit)
{
	char s[2 * WIRE_CHUNK_LINE_MAX];
	struct wire w;
	enum wire_verdict v;
	size_t n;

	n = (size_t)snprintf(s, sizeof(s), "%s1;", CHUNKED);
	memset(s + n, 'e', sizeof(s) - n);
	ck_assert_uint_eq(feed(&w, s, sizeof(s), 512, &v), strlen(CHUNKED));
	ck_assert_int_eq(v, WIRE_BAD);
	ck_assert_str_eq(w.err.code, "bad_framing");
}
END_TEST

START_TEST(test_trailer_limit)
{
	char s[4 * MAXHEAD];
	struct wire w;
	enum wire_verdict v;
	size_t n = 0;

	n = (size_t)snprintf(s, sizeof(s), "%s0\r\n", CHUNKED);
	while (n + 16 < sizeof(s))
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-T: 12345678\r\n");
	ck_assert(feed(&w, s, n, 100, &v) < n);
	ck_assert_int_eq(v, WIRE_BAD);
	ck_assert_uint_eq(w.err.status, 431);
}
END_TEST

START_TEST(test_stop)
{
	static const char *heads[] = {
		"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 3\r\n\r\n",
		"POST /v1/events HTTP/1.1\r\nContent-Length: 3\r\n"
		    "Content-Length: 3\r\n\r\n",
		"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
	};
	char s[512];
	struct wire w;
	enum wire_verdict v;
	size_t i, n, hl;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		hl = strlen(heads[i]);
		n = (size_t)snprintf(s, sizeof(s), "%sabc0\r\n\r\nGET / "
		    "HTTP/1.1\r\n\r\n", heads[i]);
		/* The head passes (the application answers it); no more. */
		ck_assert_uint_eq(feed(&w, s, n, 1, &v), hl);
		ck_assert_int_eq(v, WIRE_STOP);
		ck_assert_uint_eq(w.heads, 1);
		ck_assert_uint_eq(w.whole, 0);
		ck_assert_int_eq(wire_stopped(&w), 1);
	}
}
END_TEST

/* n copies of s, joined by sep, after pre and before post. */
static const char *
repeat(char *buf, size_t len, const char *pre, const char *s,
    const char *sep, unsigned n, const char *post)
{
	size_t k;
	unsigned i;

	k = (size_t)snprintf(buf, len, "%s", pre);
	for (i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%s",
		    i > 0 ? sep : "", s);
	snprintf(buf + k, len - k, "%s", post);
	return buf;
}

/*
 * What libmicrohttpd 0.9.75 would answer itself, or never: whitespace
 * after a Content-Length or "chunked" (it takes the value to the line
 * end), and more fields than its pool holds (WIRE_FIELD_COST each: 16
 * fit in MAXHEAD).
 */
START_TEST(test_mhd_own)
{
	char s[4096];
	struct wire w;
	enum wire_verdict v;
	size_t n;

	expect_bad("POST / HTTP/1.1\r\nContent-Length: 2 \r\n\r\nok", 400,
	    "bad_framing");
	expect_bad("POST / HTTP/1.1\r\nContent-Length: 2\t\r\n\r\nok", 400,
	    "bad_framing");
	expect_bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked \r\n\r\n"
	    "0\r\n\r\n", 400, "bad_framing");
	expect_bad(repeat(s, sizeof(s), "GET / HTTP/1.1\r\n", "a:", "\r\n",
	    17, "\r\n\r\n"), 431, "headers_too_large");
	expect_bad(repeat(s, sizeof(s), "GET /?", "a", "&", 17,
	    " HTTP/1.1\r\n\r\n"), 431, "headers_too_large");
	expect_bad(repeat(s, sizeof(s), "GET / HTTP/1.1\r\nCookie: ", "a", ";",
	    16, "\r\n\r\n"), 431, "headers_too_large");
	/* Up to the limit: sound. */
	repeat(s, sizeof(s), "GET / HTTP/1.1\r\n", "a:", "\r\n", 16,
	    "\r\n\r\n");
	n = strlen(s);
	ck_assert_uint_eq(feed(&w, s, n, 3, &v), n);
	ck_assert_int_eq(v, WIRE_MORE);
	ck_assert_uint_eq(w.whole, 1);
	repeat(s, sizeof(s), "GET /?", "a", "&", 16, " HTTP/1.1\r\n\r\n");
	n = strlen(s);
	ck_assert_uint_eq(feed(&w, s, n, 3, &v), n);
	ck_assert_uint_eq(w.whole, 1);
	/* Trailer fields, the same. */
	repeat(s, sizeof(s), CHUNKED "1\r\na\r\n0\r\n", "a:", "\r\n", 16,
	    "\r\n\r\n");
	n = strlen(s);
	ck_assert_uint_eq(feed(&w, s, n, 3, &v), n);
	ck_assert_uint_eq(w.whole, 1);
	repeat(s, sizeof(s), CHUNKED "1\r\na\r\n0\r\n", "a:", "\r\n", 17,
	    "\r\n\r\n");
	n = strlen(s);
	ck_assert_uint_lt(feed(&w, s, n, 3, &v), n);
	ck_assert_int_eq(v, WIRE_BAD);
	ck_assert_uint_eq(w.err.status, 431);
	ck_assert_uint_eq(w.whole, 0);
}
END_TEST

/*
 * MHD keeps a head to its request's end: a head and a trailer take
 * 2 x MAXHEAD together, bytes and fields.  This head: 892 bytes and 14
 * fields (1788); each trailer field "t:" 4 bytes and a record (68).
 */
START_TEST(test_head_and_trailer)
{
	char v60[61], head[1024], tr[256], s[4096];
	struct wire w;
	enum wire_verdict v;
	size_t n = 0;

	memset(v60, 'v', 60);
	v60[60] = '\0';
	n += (size_t)snprintf(head + n, sizeof(head) - n, "POST / HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n");
	while (n < 892 - 2)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "a: %s\r\n",
		    v60);
	n += (size_t)snprintf(head + n, sizeof(head) - n, "\r\n");
	ck_assert_uint_eq(n, 892);
	/* 1788 + 3 x 68 + the empty line: sound. */
	n = (size_t)snprintf(s, sizeof(s), "%s1\r\na\r\n0\r\n%s", head,
	    repeat(tr, sizeof(tr), "", "t:", "\r\n", 3, "\r\n\r\n"));
	ck_assert_uint_eq(feed(&w, s, n, 7, &v), n);
	ck_assert_int_eq(v, WIRE_MORE);
	ck_assert_uint_eq(w.whole, 1);
	/* 1788 + 4 x 68 > 2048, each under MAXHEAD: refused. */
	n = (size_t)snprintf(s, sizeof(s), "%s1\r\na\r\n0\r\n%s", head,
	    repeat(tr, sizeof(tr), "", "t:", "\r\n", 4, "\r\n\r\n"));
	ck_assert_uint_lt(feed(&w, s, n, 7, &v), n);
	ck_assert_int_eq(v, WIRE_BAD);
	ck_assert_uint_eq(w.err.status, 431);
	ck_assert_uint_eq(w.whole, 0);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pipeline);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_later_heads);
	tcase_add_test(tc, test_head_limit);
	tcase_add_test(tc, test_bad_chunks);
	tcase_add_test(tc, test_chunk_line_limit);
	tcase_add_test(tc, test_trailer_limit);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_mhd_own);
	tcase_add_test(tc, test_head_and_trailer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
