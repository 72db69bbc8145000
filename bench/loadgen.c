/*
 * loadgen.c -- a small HTTP/1.1 load generator for bench/ingest.
 *
 * C connections on one libevent loop, each sending one request at a time
 * over keep-alive: send, read the whole response (status line, headers,
 * Content-Length body), record the latency, send the next.  A connection
 * the server closes is opened again.  Request bodies come from a file, one
 * body per line, and are sent in order, each exactly once unless -n asks
 * for more requests than there are bodies (then they repeat, and the
 * server will see duplicates).  Every request is built once at start-up,
 * so sending one costs a reference into a buffer, not a copy or a printf.
 *
 * It reports one line of key=value pairs on stdout (see usage()) and the
 * first few non-2xx responses on stderr.  It asserts nothing: the caller
 * decides what the numbers mean.
 *
 * Not owned here: generating unique bodies (bench/ingest does that), and
 * chunked responses (churnwatchd always sends Content-Length; a chunked
 * response counts as a protocol error).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#define UNUSED		__attribute__((unused))

#define MAX_HEAD	65536	/* largest response head we accept */
#define MAX_SHOWN	5	/* non-2xx responses echoed to stderr */
#define MAX_FAILS	5	/* consecutive failed connects before giving up */

enum conn_state {
	CONN_CONNECTING,
	CONN_HEAD,		/* request sent, reading the response head */
	CONN_BODY,		/* reading want more body bytes */
	CONN_BODY_EOF		/* no Content-Length: body runs to EOF */
};

struct lg;

struct conn {
	struct lg		*lg;
	struct bufferevent	*bev;
	enum conn_state		 state;
	uint64_t		 t_sent;	/* ns, CLOCK_MONOTONIC */
	size_t			 want;
	int			 status;
	int			 close_after;
	int			 fails;
	int			 in_connect;	/* inside bufferevent_socket_connect */
	int			 connect_failed;
};

struct lg {
	struct event_base	*base;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;

	/* Every request, head and body, back to back. */
	char			*arena;
	size_t			*off;
	size_t			*len;
	size_t			 nbodies;

	uint64_t		 total;		/* 0: until the duration ends */
	uint64_t		 next;		/* next request to send */
	int			 stopping;
	int			 open;		/* connections still working */
	struct timeval		 timeout;

	uint64_t		 t_start;
	uint64_t		 t_last;	/* last response completed */

	/* Results. */
	uint64_t		 nstatus[6];	/* by class: 0 other, 1xx..5xx */
	uint64_t		 conn_errors;	/* request lost to a closed conn */
	uint64_t		 timeouts;
	uint64_t		 proto_errors;
	uint64_t		 connect_errors;
	uint64_t		 accepted;
	uint64_t		 duplicates;
	uint64_t		 shown;
	uint32_t		*lat;		/* microseconds, per response */
	size_t			 nlat;
	size_t			 latcap;
};

static void	conn_start(struct conn *);
static void	conn_send(struct conn *);

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -p port [-H host] [-P path] [-t token] "
	    "[-c connections]\n"
	    "               [-f bodies] [-n requests | -d seconds] "
	    "[-e events_per_body]\n"
	    "               [-m method] [-T content_type] [-w timeout]\n"
	    "\n"
	    "  -f FILE  request bodies, one per line (none: empty requests)\n"
	    "  -n N     requests to send (default: one per body)\n"
	    "  -d SECS  send for SECS seconds instead (bodies repeat)\n"
	    "  -e N     events in each body, for events_per_s (default 1)\n"
	    "\n"
	    "Prints one line on stdout:\n"
	    "  loadgen requests= ok= errors= http_3xx= http_4xx= http_5xx= "
	    "conn_errors=\n"
	    "  timeouts= proto_errors= connect_errors= elapsed_s= "
	    "req_per_s= events_per_s=\n"
	    "  accepted= duplicates= lat_p50_ms= lat_p90_ms= lat_p99_ms= "
	    "lat_max_ms=\n"
	    "  cpu_s= cpu_us_per_req=\n");
	exit(2);
}

static __attribute__((noreturn, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
parse_num(const char *s, const char *what, uint64_t min, uint64_t max)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' ||
	    v < min || v > max)
		die("bad %s: %s", what, s);
	return v;
}

/* The whole of path, or NULL and *lenp 0 if path is NULL. */
static char *
read_file(const char *path, size_t *lenp)
{
	struct stat	 sb;
	char		*p;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	*lenp = 0;
	if (path == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &sb) == -1)
		die("%s: %s", path, strerror(errno));
	if ((p = malloc((size_t)sb.st_size + 1)) == NULL)
		die("out of memory");
	while (got < (size_t)sb.st_size) {
		n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: short read", path);
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	*lenp = got;
	return p;
}

/*
 * Build every request once: for each non-empty line of the bodies file (or
 * one empty body if there is no file) the request line, headers and body.
 */
static void
build_requests(struct lg *lg, const char *file, const char *method,
    const char *host, const char *port, const char *path, const char *token,
    const char *ctype)
{
	char	*data, *p, *eol, head[1024], auth[512];
	size_t	 len, n, lines, cap, used, blen;
	int	 hlen;

	data = read_file(file, &len);
	lines = 0;
	for (p = data; p != NULL && p < data + len; p = eol + 1) {
		if ((eol = memchr(p, '\n', len - (size_t)(p - data))) == NULL)
			eol = data + len;
		if (eol > p)
			lines++;
	}
	if (data == NULL)
		lines = 1;
	else if (lines == 0)
		die("%s: no bodies", file);

	auth[0] = '\0';
	if (token != NULL && (size_t)snprintf(auth, sizeof(auth),
	    "Authorization: Bearer %s\r\n", token) >= sizeof(auth))
		die("token too long");

	cap = len + lines * (sizeof(head) + 1);
	if ((lg->arena = malloc(cap)) == NULL ||
	    (lg->off = calloc(lines, sizeof(*lg->off))) == NULL ||
	    (lg->len = calloc(lines, sizeof(*lg->len))) == NULL)
		die("out of memory");

	used = 0;
	n = 0;
	p = data;
	while (n < lines) {
		if (data != NULL) {
			if ((eol = memchr(p, '\n',
			    len - (size_t)(p - data))) == NULL)
				eol = data + len;
			if (eol == p) {
				p = eol + 1;
				continue;
			}
			blen = (size_t)(eol - p);
			if (p[blen - 1] == '\r')
				blen--;
		} else {
			eol = p = NULL;
			blen = 0;
		}
		hlen = snprintf(head, sizeof(head),
		    "%s %s HTTP/1.1\r\n"
		    "Host: %s:%s\r\n"
		    "%s"
		    "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n"
		    "\r\n", method, path, host, port, auth, ctype, blen);
		if (hlen < 0 || (size_t)hlen >= sizeof(head))
			die("request head too long");
		lg->off[n] = used;
		memcpy(lg->arena + used, head, (size_t)hlen);
		used += (size_t)hlen;
		if (blen > 0)
			memcpy(lg->arena + used, p, blen);
		used += blen;
		lg->len[n] = used - lg->off[n];
		n++;
		if (eol != NULL)
			p = eol + 1;
	}
	lg->nbodies = lines;
	free(data);
}

static void
resolve(struct lg *lg, const char *host, const char *port)
{
	struct evutil_addrinfo	 hints, *res;
	int			 e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if ((e = evutil_getaddrinfo(host, port, &hints, &res)) != 0)
		die("%s:%s: %s", host, port, evutil_gai_strerror(e));
	memcpy(&lg->addr, res->ai_addr, res->ai_addrlen);
	lg->addrlen = (socklen_t)res->ai_addrlen;
	evutil_freeaddrinfo(res);
}

/* A connection that has nothing more to do. */
static void
conn_finish(struct conn *c)
{
	struct lg *lg = c->lg;

	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (--lg->open == 0)
		event_base_loopexit(lg->base, NULL);
}

static int
lg_more(const struct lg *lg)
{
	return !lg->stopping && (lg->total == 0 || lg->next < lg->total);
}

static void
reconnect_cb(UNUSED evutil_socket_t fd, UNUSED short what, void *arg)
{
	conn_start(arg);
}

/*
 * Drop the connection and open a new one, after a short pause if the last
 * attempt failed (so a dead server does not make us spin).
 */
static void
conn_restart(struct conn *c)
{
	struct timeval tv = { 0, 0 };

	bufferevent_free(c->bev);
	c->bev = NULL;
	if (!lg_more(c->lg) || c->fails >= MAX_FAILS) {
		if (c->fails >= MAX_FAILS)
			fprintf(stderr, "loadgen: connection gave up after "
			    "%d failed attempts\n", c->fails);
		conn_finish(c);
		return;
	}
	if (c->fails > 0)
		tv.tv_usec = 100000;
	if (event_base_once(c->lg->base, -1, EV_TIMEOUT, reconnect_cb, c,
	    &tv) == -1)
		die("event_base_once failed");
}

static void
record_latency(struct lg *lg, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (lg->nlat == lg->latcap) {
		lg->latcap = lg->latcap ? lg->latcap * 2 : 65536;
		if ((lg->lat = reallocarray(lg->lat, lg->latcap,
		    sizeof(*lg->lat))) == NULL)
			die("out of memory");
	}
	lg->lat[lg->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* The number after "key": in the len bytes at p, added to *sum. */
static void
sum_field(const char *p, size_t len, const char *key, uint64_t *sum)
{
	const char	*q, *end = p + len;
	uint64_t	 v = 0;
	size_t		 klen = strlen(key);

	if ((q = memmem(p, len, key, klen)) == NULL)
		return;
	q += klen;
	while (q < end && (*q == ' ' || *q == ':'))
		q++;
	while (q < end && *q >= '0' && *q <= '9')
		v = v * 10 + (uint64_t)(*q++ - '0');
	*sum += v;
}

/* The response to the request in flight is complete: count it, go on. */
static void
conn_done_response(struct conn *c, const char *body, size_t blen)
{
	struct lg	*lg = c->lg;
	uint64_t	 t = now_ns();
	int		 cls = c->status / 100;

	record_latency(lg, t - c->t_sent);
	lg->t_last = t;
	c->fails = 0;
	if (cls < 1 || cls > 5)
		cls = 0;
	lg->nstatus[cls]++;
	if (cls == 2 && body != NULL) {
		sum_field(body, blen, "\"accepted\"", &lg->accepted);
		sum_field(body, blen, "\"duplicates\"", &lg->duplicates);
	} else if (cls != 2 && lg->shown < MAX_SHOWN) {
		lg->shown++;
		fprintf(stderr, "loadgen: HTTP %d: %.*s\n", c->status,
		    (int)(blen > 300 ? 300 : blen), body ? body : "");
	}
	if (c->close_after)
		conn_restart(c);
	else
		conn_send(c);
}

/* Whether the len bytes at p contain word, in any case. */
static int
has_token(const char *p, size_t len, const char *word)
{
	size_t i, n = strlen(word);

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(p + i, word, n) == 0)
			return 1;
	return 0;
}

/*
 * Parse the response head (hlen bytes, ending in CRLF CRLF) at h: status,
 * Content-Length, Connection.  Returns 0, or -1 if it is not something we
 * can frame.
 */
static int
parse_head(struct conn *c, const char *h, size_t hlen)
{
	const char	*line, *end = h + hlen, *eol, *v;
	int		 have_len = 0, minor;
	size_t		 n;
	uint64_t	 cl = 0;

	if (hlen < 12 || memcmp(h, "HTTP/1.", 7) != 0 ||
	    h[8] != ' ' || h[9] < '1' || h[9] > '5' ||
	    h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9')
		return -1;
	minor = h[7] - '0';
	c->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	c->close_after = minor == 0;

	for (line = h; line < end; line = eol + 2) {
		if ((eol = memmem(line, (size_t)(end - line), "\r\n", 2)) ==
		    NULL)
			break;
		if ((v = memchr(line, ':', (size_t)(eol - line))) == NULL)
			continue;
		n = (size_t)(v - line);
		for (v++; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		if (n == 14 && strncasecmp(line, "Content-Length", n) == 0) {
			if (v == eol || have_len)
				return -1;
			for (; v < eol && *v >= '0' && *v <= '9'; v++)
				cl = cl * 10 + (uint64_t)(*v - '0');
			if (v != eol && *v != ' ' && *v != '\t')
				return -1;
			have_len = 1;
		} else if (n == 10 &&
		    strncasecmp(line, "Connection", n) == 0) {
			if (has_token(v, (size_t)(eol - v), "close"))
				c->close_after = 1;
			else if (minor == 0 && (size_t)(eol - v) >= 10 &&
			    strncasecmp(v, "keep-alive", 10) == 0)
				c->close_after = 0;
		} else if (n == 17 &&
		    strncasecmp(line, "Transfer-Encoding", n) == 0)
			return -1;
	}
	if (c->status == 204 || c->status == 304 || c->status < 200) {
		c->want = 0;
		c->state = CONN_BODY;
	} else if (have_len) {
		c->want = (size_t)cl;
		c->state = CONN_BODY;
	} else {
		c->close_after = 1;
		c->state = CONN_BODY_EOF;
	}
	return 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct lg		*lg = c->lg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 pos;
	const char		*p;
	size_t			 hlen;

	switch (c->state) {
	case CONN_HEAD:
		pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (pos.pos == -1) {
			if (evbuffer_get_length(in) <= MAX_HEAD)
				return;
			goto bad;
		}
		hlen = (size_t)pos.pos + 4;
		if ((p = (const char *)evbuffer_pullup(in,
		    (ssize_t)hlen)) == NULL || parse_head(c, p, hlen) == -1)
			goto bad;
		evbuffer_drain(in, hlen);
		if (c->state == CONN_BODY_EOF) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		/* FALLTHROUGH */
	case CONN_BODY:
		if (evbuffer_get_length(in) < c->want)
			return;
		if (evbuffer_get_length(in) > c->want)
			goto bad;	/* one request at a time: no extra bytes */
		p = NULL;
		if (c->want > 0 && (p = (const char *)evbuffer_pullup(in,
		    (ssize_t)c->want)) == NULL)
			goto bad;
		conn_done_response(c, p, c->want);
		/*
		 * If that dropped the connection, bev is freed once this
		 * callback returns (libevent holds a reference while it runs)
		 * and its buffer goes with it.
		 */
		if (c->bev == bev)
			evbuffer_drain(in, evbuffer_get_length(in));
		return;
	case CONN_BODY_EOF:
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	case CONN_CONNECTING:
		break;
	}
bad:
	lg->proto_errors++;
	lg->t_last = now_ns();
	conn_restart(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	struct lg	*lg = c->lg;
	int		 one = 1;

	if (c->in_connect) {
		/* Failed synchronously: conn_start() handles it. */
		c->connect_failed = 1;
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		conn_send(c);
		return;
	}
	switch (c->state) {
	case CONN_CONNECTING:
		lg->connect_errors++;
		c->fails++;
		break;
	case CONN_BODY_EOF:
		if (what & BEV_EVENT_EOF) {
			conn_done_response(c, NULL, 0);
			return;
		}
		/* FALLTHROUGH */
	default:
		/* The request in flight is lost. */
		if (what & BEV_EVENT_TIMEOUT)
			lg->timeouts++;
		else
			lg->conn_errors++;
		lg->t_last = now_ns();
		break;
	}
	conn_restart(c);
}

/* Send the next request, or finish if there is none. */
static void
conn_send(struct conn *c)
{
	struct lg	*lg = c->lg;
	size_t		 i;

	if (!lg_more(lg)) {
		conn_finish(c);
		return;
	}
	i = (size_t)(lg->next++ % lg->nbodies);
	c->state = CONN_HEAD;
	c->want = 0;
	c->status = 0;
	c->close_after = 0;
	c->t_sent = now_ns();
	if (evbuffer_add_reference(bufferevent_get_output(c->bev),
	    lg->arena + lg->off[i], lg->len[i], NULL, NULL) == -1)
		die("evbuffer_add_reference failed");
}

static void
conn_start(struct conn *c)
{
	struct lg *lg = c->lg;

	c->state = CONN_CONNECTING;
	if ((c->bev = bufferevent_socket_new(lg->base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		die("bufferevent_socket_new failed");
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_set_timeouts(c->bev, &lg->timeout, &lg->timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	/*
	 * libevent may run the event callback from inside the connect call
	 * when it fails at once, and may not: either way it is handled here,
	 * once.
	 */
	c->in_connect = 1;
	c->connect_failed = 0;
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&lg->addr,
	    (int)lg->addrlen) == -1)
		c->connect_failed = 1;
	c->in_connect = 0;
	if (c->connect_failed) {
		lg->connect_errors++;
		c->fails++;
		conn_restart(c);
	}
}

static void
stop_cb(UNUSED evutil_socket_t fd, UNUSED short what, void *arg)
{
	struct lg *lg = arg;

	lg->stopping = 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..100) of the sorted latencies, in ms. */
static double
pct_ms(const struct lg *lg, double p)
{
	size_t i;

	if (lg->nlat == 0)
		return 0;
	i = (size_t)(p / 100 * (double)lg->nlat + 0.999999);
	if (i < 1)
		i = 1;
	if (i > lg->nlat)
		i = lg->nlat;
	return lg->lat[i - 1] / 1000.0;
}

static double
tv_sec(const struct timeval *tv)
{
	return (double)tv->tv_sec + tv->tv_usec / 1e6;
}

static void
report(struct lg *lg, uint64_t epb, double cpu)
{
	uint64_t	 ok = lg->nstatus[2], requests, errors;
	double		 el;

	errors = lg->nstatus[0] + lg->nstatus[1] + lg->nstatus[3] +
	    lg->nstatus[4] + lg->nstatus[5] + lg->conn_errors +
	    lg->timeouts + lg->proto_errors;
	requests = ok + errors;
	el = lg->t_last > lg->t_start ?
	    (double)(lg->t_last - lg->t_start) / 1e9 : 0;
	qsort(lg->lat, lg->nlat, sizeof(*lg->lat), cmp_u32);
	printf("loadgen requests=%" PRIu64 " ok=%" PRIu64
	    " errors=%" PRIu64 " http_3xx=%" PRIu64 " http_4xx=%" PRIu64
	    " http_5xx=%" PRIu64 " conn_errors=%" PRIu64
	    " timeouts=%" PRIu64 " proto_errors=%" PRIu64
	    " connect_errors=%" PRIu64 " elapsed_s=%.3f req_per_s=%.0f"
	    " events_per_s=%.0f accepted=%" PRIu64 " duplicates=%" PRIu64
	    " lat_p50_ms=%.3f lat_p90_ms=%.3f lat_p99_ms=%.3f"
	    " lat_max_ms=%.3f cpu_s=%.3f cpu_us_per_req=%.1f\n",
	    requests, ok, errors, lg->nstatus[3], lg->nstatus[4],
	    lg->nstatus[5], lg->conn_errors, lg->timeouts, lg->proto_errors,
	    lg->connect_errors, el, el > 0 ? requests / el : 0,
	    el > 0 ? ok * epb / el : 0, lg->accepted, lg->duplicates,
	    pct_ms(lg, 50), pct_ms(lg, 90), pct_ms(lg, 99), pct_ms(lg, 100),
	    cpu, requests > 0 ? cpu * 1e6 / requests : 0);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "host",		required_argument, NULL, 'H' },
		{ "port",		required_argument, NULL, 'p' },
		{ "path",		required_argument, NULL, 'P' },
		{ "token",		required_argument, NULL, 't' },
		{ "connections",	required_argument, NULL, 'c' },
		{ "bodies",		required_argument, NULL, 'f' },
		{ "requests",		required_argument, NULL, 'n' },
		{ "duration",		required_argument, NULL, 'd' },
		{ "events-per-body",	required_argument, NULL, 'e' },
		{ "method",		required_argument, NULL, 'm' },
		{ "content-type",	required_argument, NULL, 'T' },
		{ "timeout",		required_argument, NULL, 'w' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct lg	 lg;
	struct conn	*conns;
	struct event	*ev_stop = NULL;
	struct rusage	 ru0, ru1;
	struct timeval	 tv;
	const char	*host = "127.0.0.1", *port = NULL, *path = "/v1/events";
	const char	*token = NULL, *file = NULL, *method = "POST";
	const char	*ctype = "application/json";
	uint64_t	 nconn = 1, duration = 0, epb = 1, i;
	int		 ch;

	memset(&lg, 0, sizeof(lg));
	lg.timeout.tv_sec = 30;
	while ((ch = getopt_long(argc, argv, "H:p:P:t:c:f:n:d:e:m:T:w:h",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'P':
			path = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'c':
			nconn = parse_num(optarg, "connections", 1, 100000);
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			lg.total = parse_num(optarg, "requests", 1,
			    UINT64_MAX / 2);
			break;
		case 'd':
			duration = parse_num(optarg, "duration", 1, 86400);
			break;
		case 'e':
			epb = parse_num(optarg, "events per body", 1,
			    100000000);
			break;
		case 'm':
			method = optarg;
			break;
		case 'T':
			ctype = optarg;
			break;
		case 'w':
			lg.timeout.tv_sec = (time_t)parse_num(optarg,
			    "timeout", 1, 3600);
			break;
		default:
			usage();
		}
	}
	if (port == NULL || optind != argc || (lg.total && duration))
		usage();

	signal(SIGPIPE, SIG_IGN);
	resolve(&lg, host, port);
	build_requests(&lg, file, method, host, port, path, token, ctype);
	if (lg.total == 0 && duration == 0)
		lg.total = lg.nbodies;
	lg.latcap = lg.total ? (size_t)lg.total : 0;
	if (lg.latcap && (lg.lat = calloc(lg.latcap,
	    sizeof(*lg.lat))) == NULL)
		die("out of memory");

	if ((lg.base = event_base_new()) == NULL)
		die("event_base_new failed");
	if ((conns = calloc((size_t)nconn, sizeof(*conns))) == NULL)
		die("out of memory");
	if (duration) {
		tv.tv_sec = (time_t)duration;
		tv.tv_usec = 0;
		if ((ev_stop = evtimer_new(lg.base, stop_cb, &lg)) == NULL ||
		    evtimer_add(ev_stop, &tv) == -1)
			die("evtimer failed");
	}

	getrusage(RUSAGE_SELF, &ru0);
	lg.t_start = now_ns();
	lg.open = (int)nconn;
	for (i = 0; i < nconn; i++) {
		conns[i].lg = &lg;
		conn_start(&conns[i]);
	}
	event_base_dispatch(lg.base);
	getrusage(RUSAGE_SELF, &ru1);

	report(&lg, epb, tv_sec(&ru1.ru_utime) - tv_sec(&ru0.ru_utime) +
	    tv_sec(&ru1.ru_stime) - tv_sec(&ru0.ru_stime));

	if (ev_stop != NULL)
		event_free(ev_stop);
	event_base_free(lg.base);
	free(conns);
	free(lg.lat);
	free(lg.arena);
	free(lg.off);
	free(lg.len);
	return 0;
}
