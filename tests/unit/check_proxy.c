/*
 * check_proxy.c -- unit tests for proxy.c: addresses and CIDRs of
 * [server] trusted_proxies, matching, and the client of a request behind
 * proxies (the right-most untrusted address of X-Forwarded-For, only
 * when the peer is trusted).  Links the pure core.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

static struct proxy_addr
addr(const char *s)
{
	struct proxy_addr a;

	ck_assert_msg(proxy_addr_parse(s, strlen(s), &a) == 0,
	    "cannot parse %s", s);
	return a;
}

static const char *
str(const struct proxy_addr *a)
{
	static char buf[PROXY_ADDR_STRLEN];

	proxy_addr_str(a, buf, sizeof(buf));
	return buf;
}

/* The client for peer and header under the trusted list. */
static const char *
client(const char *trusted, const char *peer, const char *xff)
{
	struct proxy_net *nets = NULL;
	struct proxy_addr p = addr(peer), c;
	char why[128];
	size_t n = 0;

	if (trusted != NULL)
		ck_assert_int_eq(proxy_list_parse(trusted, &nets, &n, why,
		    sizeof(why)), 0);
	proxy_client(nets, n, &p, xff, &c);
	free(nets);
	return str(&c);
}

START_TEST(test_addr_parse)
{
	static const struct { const char *in, *out; } good[] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ " 192.0.2.1 ", "192.0.2.1" },
		{ "192.0.2.1:8443", "192.0.2.1" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "[2001:db8::1]", "2001:db8::1" },
		{ "[2001:db8::1]:443", "2001:db8::1" },
		{ "::ffff:192.0.2.9", "192.0.2.9" },
		{ "::1", "::1" },
	};
	static const char *const bad[] = { "", " ", "unknown", "192.0.2",
	    "192.0.2.256", "192.0.2.1:", "192.0.2.1:99999x", "[192.0.2.1]",
	    "[2001:db8::1", "[2001:db8::1]x", "2001:db8::g", "_hidden",
	    "1.2.3.4/8" };
	struct proxy_addr a;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(proxy_addr_parse(good[i].in,
		    strlen(good[i].in), &a), 0);
		ck_assert_str_eq(str(&a), good[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(proxy_addr_parse(bad[i], strlen(bad[i]), &a) ==
		    -1, "%s parsed", bad[i]);
	/* Only len bytes count. */
	ck_assert_int_eq(proxy_addr_parse("10.1.2.3, 10.9.9.9", 8, &a), 0);
	ck_assert_str_eq(str(&a), "10.1.2.3");
}
END_TEST

START_TEST(test_sockaddr)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct proxy_addr a;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	ck_assert_int_eq(proxy_addr_from_sockaddr(&s4, &a), 0);
	ck_assert_str_eq(str(&a), "127.0.0.1");
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);
	ck_assert_int_eq(proxy_addr_from_sockaddr(&s6, &a), 0);
	ck_assert_int_eq(a.family, 4);	/* a v4 peer on a v6 socket */
	ck_assert_str_eq(str(&a), "127.0.0.1");
	inet_pton(AF_INET6, "fe80::1", &s6.sin6_addr);
	ck_assert_int_eq(proxy_addr_from_sockaddr(&s6, &a), 0);
	ck_assert_str_eq(str(&a), "fe80::1");
	ck_assert_int_eq(proxy_addr_from_sockaddr(NULL, &a), -1);
}
END_TEST

START_TEST(test_list_parse_and_match)
{
	struct proxy_net *nets;
	struct proxy_addr a;
	char why[128];
	size_t n;

	ck_assert_int_eq(proxy_list_parse("10.0.0.0/8, 192.0.2.7,"
	    "2001:db8:abcd::/48, ::1, 172.16.0.0/12, 0.0.0.0/0", &nets, &n,
	    why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(nets[0].bits, 8);
	ck_assert_uint_eq(nets[1].bits, 32);
	ck_assert_uint_eq(nets[3].bits, 128);
	free(nets);

	ck_assert_int_eq(proxy_list_parse("10.0.0.0/8, 192.0.2.7/32, "
	    "2001:db8:abcd::/48, ::1, 172.16.0.0/12", &nets, &n, why,
	    sizeof(why)), 0);
	a = addr("10.200.3.4");
	ck_assert(proxy_match(nets, n, &a));
	a = addr("11.0.0.1");
	ck_assert(!proxy_match(nets, n, &a));
	a = addr("192.0.2.7");
	ck_assert(proxy_match(nets, n, &a));
	a = addr("192.0.2.8");
	ck_assert(!proxy_match(nets, n, &a));
	a = addr("172.31.255.255");		/* /12: 172.16 .. 172.31 */
	ck_assert(proxy_match(nets, n, &a));
	a = addr("172.32.0.0");
	ck_assert(!proxy_match(nets, n, &a));
	a = addr("2001:db8:abcd:ffff::5");
	ck_assert(proxy_match(nets, n, &a));
	a = addr("2001:db8:abce::5");
	ck_assert(!proxy_match(nets, n, &a));
	a = addr("::1");
	ck_assert(proxy_match(nets, n, &a));
	a = addr("::2");
	ck_assert(!proxy_match(nets, n, &a));
	a = addr("::ffff:10.1.1.1");		/* mapped: the v4 rules */
	ck_assert(proxy_match(nets, n, &a));
	free(nets);

	/* Bad entries are named by position, not echoed. */
	ck_assert_int_eq(proxy_list_parse("10.0.0.1, s3cr3t", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_ptr_null(nets);
	ck_assert_ptr_nonnull(strstr(why, "entry 2"));
	ck_assert_ptr_null(strstr(why, "s3cr3t"));
	ck_assert_int_eq(proxy_list_parse("10.0.0.0/33", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("::/129", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("10.0.0.0/", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("10.0.0.0/x", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("10.0.0.1,", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("10.0.0.1:80", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("[::1]", &nets, &n, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(proxy_list_parse("", &nets, &n, why,
	    sizeof(why)), -1);
}
END_TEST

START_TEST(test_client)
{
	/* No trusted proxies, or an untrusted peer: the header is ignored. */
	ck_assert_str_eq(client(NULL, "127.0.0.1", "203.0.113.7"),
	    "127.0.0.1");
	ck_assert_str_eq(client("10.0.0.0/8", "127.0.0.1", "203.0.113.7"),
	    "127.0.0.1");
	/* Trusted peer without a header: the peer. */
	ck_assert_str_eq(client("127.0.0.1", "127.0.0.1", NULL), "127.0.0.1");
	/* One proxy: the address it saw. */
	ck_assert_str_eq(client("127.0.0.1", "127.0.0.1", "203.0.113.7"),
	    "203.0.113.7");
	/* The right-most untrusted one: a client's own entries are lies. */
	ck_assert_str_eq(client("127.0.0.1", "127.0.0.1",
	    "1.1.1.1, 203.0.113.7"), "203.0.113.7");
	/* Trusted hops are skipped. */
	ck_assert_str_eq(client("127.0.0.1, 10.0.0.0/8", "127.0.0.1",
	    "1.1.1.1, 203.0.113.7, 10.0.0.5,10.0.0.6"), "203.0.113.7");
	/* All trusted: the left-most. */
	ck_assert_str_eq(client("127.0.0.1, 10.0.0.0/8", "127.0.0.1",
	    "10.0.0.9, 10.0.0.5"), "10.0.0.9");
	/* Garbage ends the walk at the hop to its right. */
	ck_assert_str_eq(client("127.0.0.1, 10.0.0.0/8", "127.0.0.1",
	    "203.0.113.7, unknown, 10.0.0.5"), "10.0.0.5");
	ck_assert_str_eq(client("127.0.0.1", "127.0.0.1", "junk"),
	    "127.0.0.1");
	/* Empty entries are skipped; ports and brackets are read. */
	ck_assert_str_eq(client("127.0.0.1", "127.0.0.1",
	    "203.0.113.7:5555, , "), "203.0.113.7");
	ck_assert_str_eq(client("::1", "::1", "[2001:db8::7]:443"),
	    "2001:db8::7");
	ck_assert_str_eq(client("::1", "::1", "2001:db8::7"), "2001:db8::7");
	ck_assert_str_eq(client("127.0.0.1", "127.0.0.1", ""), "127.0.0.1");
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_sockaddr);
	tcase_add_test(tc, test_list_parse_and_match);
	tcase_add_test(tc, test_client);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(proxy_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
