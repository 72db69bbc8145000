/*
 * proxy.h -- which client a request is from, behind trusted reverse
 * proxies (SPEC 2: X-Forwarded-For is trusted only from the proxies the
 * config names).  Pure: strings and addresses in, an address out; the
 * HTTP layer hands it the peer address and the header.
 *
 * A request's client is its peer, unless the peer is a trusted proxy
 * ([server] trusted_proxies: addresses or CIDRs, IPv4 and IPv6); then
 * X-Forwarded-For is read from the right, each trusted hop skipped, and
 * the first address that is not a trusted proxy is the client (nginx's
 * real_ip_recursive).  An entry that is not an address ends the walk at
 * the hop to its right: whatever is left of it came from someone who is
 * not trusted.  From an untrusted peer the header is ignored.
 */
#ifndef CW_PROXY_H
#define CW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#define PROXY_ADDR_STRLEN	46	/* INET6_ADDRSTRLEN */

/* An IPv4 (family 4, 4 bytes) or IPv6 (family 6, 16 bytes) address. */
struct proxy_addr {
	int		 family;	/* 4 or 6; 0 = none */
	uint8_t		 a[16];
};

/* An address and a prefix length: 10.0.0.0/8, ::1/128. */
struct proxy_net {
	struct proxy_addr addr;
	unsigned	 bits;		/* 0..32 or 0..128 */
};

/*
 * Parse an address: "192.0.2.1", "2001:db8::1", "[2001:db8::1]", and
 * with a port ("192.0.2.1:443", "[2001:db8::1]:443") as some proxies
 * write it.  An IPv4-mapped IPv6 address (::ffff:192.0.2.1) becomes the
 * IPv4 one.  0, or -1 if s is not one.
 */
int	proxy_addr_parse(const char *s, size_t len, struct proxy_addr *out);
/* From the bytes of a struct sockaddr (AF_INET / AF_INET6); 0 or -1. */
int	proxy_addr_from_sockaddr(const void *sa, struct proxy_addr *out);
/* Its text ("192.0.2.1", "2001:db8::1") in buf of PROXY_ADDR_STRLEN. */
void	proxy_addr_str(const struct proxy_addr *, char *buf, size_t len);

/*
 * Parse a comma-separated list of addresses and CIDRs.  0 with *out (the
 * caller frees it) and *n set; -1 with why filled (naming the entry by
 * its position, never echoing it).  An empty list is an error.
 */
int	proxy_list_parse(const char *list, struct proxy_net **out, size_t *n,
	    char *why, size_t whylen);

/* Whether addr lies in one of the n nets. */
int	proxy_match(const struct proxy_net *nets, size_t n,
	    const struct proxy_addr *addr);

/*
 * The client of a request from peer with X-Forwarded-For value xff (NULL
 * if none; several headers joined with ","), given the trusted nets.
 * Writes *client; returns 1 when it came from the header, 0 when it is
 * the peer.
 */
int	proxy_client(const struct proxy_net *nets, size_t n,
	    const struct proxy_addr *peer, const char *xff,
	    struct proxy_addr *client);

#endif
