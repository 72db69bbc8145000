/*
 * proxy.c -- trusted proxies and X-Forwarded-For (proxy.h).  Pure: no
 * I/O; inet_pton and inet_ntop only convert.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

/* ::ffff:a.b.c.d is the IPv4 address a.b.c.d. */
static void
unmap(struct proxy_addr *a)
{
	if (a->family == 6 && memcmp(a->a, v4mapped, 12) == 0) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = 4;
	}
}

/* A bare address, no brackets or port. */
static int
parse_bare(const char *s, struct proxy_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = 6;
		unmap(out);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

static int
is_port(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 5)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
proxy_addr_parse(const char *s, size_t len, struct proxy_addr *out)
{
	char buf[64];
	const char *end, *colon;

	memset(out, 0, sizeof(*out));
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		if ((end = memchr(s, ']', len)) == NULL)
			return -1;
		if ((size_t)(end - s) + 1 != len && (end[1] != ':' ||
		    !is_port(end + 2, len - (size_t)(end - s) - 2)))
			return -1;
		memcpy(buf, s + 1, (size_t)(end - s) - 1);
		buf[end - s - 1] = '\0';
		if (strchr(buf, ':') == NULL)
			return -1;	/* brackets are for IPv6 */
		return parse_bare(buf, out);
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* "a.b.c.d:port": one colon; IPv6 has two or more. */
	if ((colon = strchr(buf, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		if (!is_port(colon + 1, strlen(colon + 1)))
			return -1;
		buf[colon - buf] = '\0';
		if (parse_bare(buf, out) == -1 || out->family != 4)
			return -1;
		return 0;
	}
	return parse_bare(buf, out);
}

int
proxy_addr_from_sockaddr(const void *sa, struct proxy_addr *out)
{
	const struct sockaddr *s = sa;
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	if (s->sa_family == AF_INET) {
		s4 = sa;
		memcpy(out->a, &s4->sin_addr, 4);
		out->family = 4;
		return 0;
	}
	if (s->sa_family == AF_INET6) {
		s6 = sa;
		memcpy(out->a, &s6->sin6_addr, 16);
		out->family = 6;
		unmap(out);
		return 0;
	}
	return -1;
}

void
proxy_addr_str(const struct proxy_addr *a, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (a->family == 0 || inet_ntop(a->family == 4 ? AF_INET : AF_INET6,
	    a->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "-");
}

/* One "address" or "address/bits" of a list; 0 or -1. */
static int
net_parse(const char *s, size_t len, struct proxy_net *out)
{
	const char *slash;
	unsigned bits = 0, max;
	size_t i, alen;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || s[0] == '[')
		return -1;
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	if (memchr(s, ':', alen) == NULL) {
		/* IPv4: no port here, only a bare address. */
		if (proxy_addr_parse(s, alen, &out->addr) == -1)
			return -1;
	} else {
		char buf[64];

		if (alen >= sizeof(buf))
			return -1;
		memcpy(buf, s, alen);
		buf[alen] = '\0';
		if (parse_bare(buf, &out->addr) == -1)
			return -1;
		if (out->addr.family == 4)
			return -1;	/* ::ffff:a.b.c.d: write a.b.c.d */
	}
	max = out->addr.family == 4 ? 32 : 128;
	if (slash == NULL) {
		out->bits = max;
		return 0;
	}
	if (len - alen < 2 || len - alen > 4)
		return -1;
	for (i = alen + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		bits = bits * 10 + (unsigned)(s[i] - '0');
	}
	if (bits > max)
		return -1;
	out->bits = bits;
	return 0;
}

int
proxy_list_parse(const char *list, struct proxy_net **out, size_t *n,
    char *why, size_t whylen)
{
	struct proxy_net *nets = NULL, *nn;
	const char *p, *comma;
	size_t count = 0, idx = 0, len;

	*out = NULL;
	*n = 0;
	for (p = list;; p = comma + 1) {
		idx++;
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if ((nn = realloc(nets, (count + 1) * sizeof(*nets))) == NULL) {
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
		nets = nn;
		if (net_parse(p, len, &nets[count]) == -1) {
			snprintf(why, whylen, "entry %zu is not an IPv4 or IPv6 "
			    "address or CIDR (address/bits)", idx);
			goto fail;
		}
		count++;
		if (comma == NULL)
			break;
	}
	*out = nets;
	*n = count;
	return 0;
fail:
	free(nets);
	return -1;
}

static int
net_has(const struct proxy_net *net, const struct proxy_addr *a)
{
	unsigned full, rest;

	if (net->addr.family != a->family)
		return 0;
	full = net->bits / 8;
	rest = net->bits % 8;
	if (full > 0 && memcmp(net->addr.a, a->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net->addr.a[full] ^ a->a[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

int
proxy_match(const struct proxy_net *nets, size_t n,
    const struct proxy_addr *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (net_has(&nets[i], addr))
			return 1;
	return 0;
}

int
proxy_client(const struct proxy_net *nets, size_t n,
    const struct proxy_addr *peer, const char *xff,
    struct proxy_addr *client)
{
	struct proxy_addr hop, a;
	const char *end, *start;
	int from_header = 0;

	*client = *peer;
	if (xff == NULL || n == 0 || !proxy_match(nets, n, peer))
		return 0;
	hop = *peer;
	end = xff + strlen(xff);
	/* Right to left: skip trusted hops; the first other one is it. */
	while (end > xff) {
		for (start = end; start > xff && start[-1] != ','; start--)
			;
		if (proxy_addr_parse(start, (size_t)(end - start), &a) == -1) {
			/* Empty (",,") entries are nothing; garbage ends it. */
			const char *c;

			for (c = start; c < end && (*c == ' ' || *c == '\t');
			    c++)
				;
			if (c != end)
				break;
		} else {
			hop = a;
			from_header = 1;
			if (!proxy_match(nets, n, &a))
				break;
		}
		end = start > xff ? start - 1 : xff;
	}
	*client = hop;
	return from_header;
}
