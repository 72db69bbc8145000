/*
 * wire.c -- the request stream of one HTTP/1.1 connection, judged as it
 * arrives (wire.h).
 *
 * What passes here is what libmicrohttpd 0.9.75 would also take, so that
 * it never answers anything itself; what does not gets our JSON error
 * from http.c.  What libmicrohttpd parses leniently we judge as strictly
 * as RFC 9112 does (no folded lines, no whitespace before a colon, no
 * control characters), and a chunk-size line is what libmicrohttpd reads:
 * hex digits, then a ';' extension or the end of the line.  Framing that
 * is well-formed but ambiguous (Content-Length with Transfer-Encoding,
 * two Content-Lengths, a coding other than chunked) is the application's
 * to refuse, with the order of checks of the README: the head is passed
 * on and the stream stops after it (WIRE_STOP).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire.h"

enum {
	WIRE_S_HEAD,		/* a request head */
	WIRE_S_BODY,		/* w->left bytes of a Content-Length body */
	WIRE_S_CHUNK_SIZE,	/* a chunk-size line */
	WIRE_S_CHUNK_DATA,	/* w->left bytes of a chunk */
	WIRE_S_CHUNK_END,	/* the line end after a chunk */
	WIRE_S_TRAILER,		/* trailer lines, to the empty one */
	WIRE_S_STOP,		/* nothing more passes */
	WIRE_S_BAD		/* refused: w->err */
};

static int
wire_bad(struct wire_error *err, unsigned status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* RFC 9110 5.6.2 tchar: what a method or a header name is made of. */
static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The pool libmicrohttpd takes for what l[0..n) holds, besides it. */
static size_t
field_cost(const char *l, size_t n, const char *seps)
{
	size_t i, k = 1;

	for (i = 0; i < n; i++)
		if (l[i] != '\0' && strchr(seps, l[i]) != NULL)
			k++;
	return k * WIRE_FIELD_COST;
}

static int
request_line(const char *l, size_t n, struct wire_head *hd,
    struct wire_error *err)
{
	const char *q;
	size_t i = 0, m;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i > 32 || i >= n || l[i] != ' ')
		return wire_bad(err, 400, "bad_request",
		    "the request line is not METHOD TARGET HTTP/1.1");
	m = ++i;
	while (i < n && (unsigned char)l[i] > ' ' && l[i] != 0x7f)
		i++;
	if (i == m || i >= n || l[i] != ' ')
		return wire_bad(err, 400, "bad_request",
		    "the request line is not METHOD TARGET HTTP/1.1");
	/* Each '&'-separated query argument is a field to MHD. */
	if ((q = memchr(l + m, '?', i - m)) != NULL)
		hd->cost += field_cost(q, (size_t)(l + i - q), "&");
	i++;
	if (n - i == 8 && (memcmp(l + i, "HTTP/1.1", 8) == 0 ||
	    memcmp(l + i, "HTTP/1.0", 8) == 0))
		return 0;
	return wire_bad(err, 400, "bad_version",
	    "HTTP version '%.*s' is not supported; use HTTP/1.1",
	    (int)(n - i > 16 ? 16 : n - i), l + i);
}

/*
 * A header (or trailer) line "Name: value": 0, or -1 with *err.  *name
 * and *vb..*ve: the name's length and the value, trimmed.
 */
static int
field_line(const char *l, size_t n, const char *what, const char *code,
    size_t *name, size_t *vb, size_t *ve, struct wire_error *err)
{
	size_t i = 0, v, e;
	unsigned char c;

	if (l[0] == ' ' || l[0] == '\t')
		return wire_bad(err, 400, code, "%s lines must not "
		    "be folded (RFC 9112 5.2)", what);
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return wire_bad(err, 400, code,
		    "a %s line is not NAME: VALUE", what);
	for (v = i + 1; v < n; v++) {
		c = (unsigned char)l[v];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return wire_bad(err, 400, code,
			    "%s %.*s holds a control character", what,
			    (int)(i > 40 ? 40 : i), l);
	}
	for (v = i + 1; v < n && (l[v] == ' ' || l[v] == '\t'); v++)
		;
	for (e = n; e > v && (l[e - 1] == ' ' || l[e - 1] == '\t'); e--)
		;
	*name = i;
	*vb = v;
	*ve = e;
	return 0;
}

static int
head_field(const char *l, size_t n, struct wire_head *hd,
    struct wire_error *err)
{
	size_t name, v, e, i;
	uint64_t cl = 0;

	if (field_line(l, n, "header", "bad_request", &name, &v, &e, err) == -1)
		return -1;
	hd->cost += WIRE_FIELD_COST;
	/* MHD copies a Cookie header and makes each cookie a field. */
	if (name == 6 && strncasecmp(l, "Cookie", 6) == 0)
		hd->cost += n - v + 16 + field_cost(l + v, n - v, ";,");
	/*
	 * MHD takes a value from its first non-blank byte to the line end:
	 * whitespace after a Content-Length is not a number to it, after
	 * "chunked" not chunked (a body read to the connection's end).
	 */
	if (((name == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0) ||
	    (name == 14 && strncasecmp(l, "Content-Length", 14) == 0)) &&
	    e != n)
		return wire_bad(err, 400, "bad_framing",
		    "%.*s ends in whitespace", (int)name, l);
	if (name == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0) {
		hd->nte++;
		hd->te_chunked = e - v == 7 &&
		    strncasecmp(l + v, "chunked", 7) == 0;
		return 0;
	}
	if (name != 14 || strncasecmp(l, "Content-Length", 14) != 0)
		return 0;
	/* The one header whose syntax libmicrohttpd judges by itself. */
	if (v == e)
		return wire_bad(err, 400, "bad_framing",
		    "Content-Length is not a number");
	for (i = v; i < e; i++) {
		if (l[i] < '0' || l[i] > '9')
			return wire_bad(err, 400, "bad_framing",
			    "Content-Length is not a number");
		if (cl > (UINT64_MAX - 9) / 10)
			return wire_bad(err, 413, "body_too_large",
			    "Content-Length is past any limit");
		cl = cl * 10 + (uint64_t)(l[i] - '0');
	}
	hd->ncl++;
	hd->cl = cl;
	return 0;
}

/*
 * The next line of b[0..n): the offset after its line end, and its length
 * without the line end in *len; 0 when no line end is there yet.
 */
static size_t
next_line(const char *b, size_t n, size_t *len)
{
	const char *nl;
	size_t l;

	if ((nl = memchr(b, '\n', n)) == NULL)
		return 0;
	l = (size_t)(nl - b);
	if (l > 0 && b[l - 1] == '\r')
		l--;
	*len = l;
	return (size_t)(nl - b) + 1;
}

/* A line holds no bare CR and no NUL: 0, or -1 with *err. */
static int
line_clean(const char *l, size_t len, const char *code, const char *where,
    struct wire_error *err)
{
	if (memchr(l, '\r', len) != NULL || memchr(l, '\0', len) != NULL)
		return wire_bad(err, 400, code, "a bare CR or a NUL byte in %s",
		    where);
	return 0;
}

/*
 * Every limit is judged before what a line holds, and a line is judged
 * only once it is whole, so that the verdict on a stream does not depend
 * on how it was cut into reads (fuzz_wire.c holds us to it).
 */
int
wire_head(const char *b, size_t n, size_t max, struct wire_head *hd,
    struct wire_error *err)
{
	size_t i = 0, len = 0, adv, nlines = 0;
	int rc;

	memset(hd, 0, sizeof(*hd));
	for (;;) {
		adv = next_line(b + i, n - i, &len);
		if ((adv == 0 && n >= max) || i + adv > max)
			return wire_bad(err, 431, "headers_too_large",
			    "the request head is over the limit of %zu bytes",
			    max);
		if (adv == 0)
			return 0;
		if (line_clean(b + i, len, "bad_request", "the request head",
		    err) == -1)
			return -1;
		if (len == 0 && nlines > 0) {
			hd->len = i + adv;
			return 1;
		}
		if (len > 0) {
			rc = nlines == 0 ? request_line(b + i, len, hd, err) :
			    head_field(b + i, len, hd, err);
			if (rc == -1)
				return -1;
			if (hd->cost > max)
				return wire_bad(err, 431, "headers_too_large",
				    "the request head has more fields "
				    "(headers, query arguments, cookies) than "
				    "fit in %zu bytes", max);
			nlines++;
		}
		i += adv;
	}
}

void
wire_init(struct wire *w, size_t max_head)
{
	memset(w, 0, sizeof(*w));
	w->state = WIRE_S_HEAD;
	w->max_head = max_head;
}

int
wire_stopped(const struct wire *w)
{
	return w->state == WIRE_S_STOP || w->state == WIRE_S_BAD;
}

static size_t
wire_refuse(struct wire *w, size_t done, enum wire_verdict *v)
{
	w->state = WIRE_S_BAD;
	*v = WIRE_BAD;
	return done;
}

/* One chunk-size line, l[0..len): 0 with the size, or -1. */
static int
chunk_size(const char *l, size_t len, uint64_t *size, struct wire_error *err)
{
	size_t i;
	uint64_t s = 0;
	unsigned d;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)l[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (s > (UINT64_MAX >> 4))
			return wire_bad(err, 413, "body_too_large",
			    "a chunk size is past any limit");
		s = (s << 4) | d;
	}
	if (i == 0)
		return wire_bad(err, 400, "bad_framing", "a chunk does not "
		    "begin with its size in hex digits");
	if (i < len && l[i] != ';')
		return wire_bad(err, 400, "bad_framing", "a chunk size is "
		    "followed by '%c', not ';' or the line end",
		    (l[i] > ' ' && l[i] < 0x7f) ? l[i] : '?');
	for (; i < len; i++) {
		c = (unsigned char)l[i];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return wire_bad(err, 400, "bad_framing", "a chunk "
			    "extension holds a control character");
	}
	*size = s;
	return 0;
}

size_t
wire_judge(struct wire *w, const char *b, size_t n, enum wire_verdict *v)
{
	struct wire_head hd;
	size_t i = 0, len = 0, adv, name, vb, ve, take;
	uint64_t size = 0;
	int rc;

	*v = WIRE_MORE;
	for (;;) {
		switch (w->state) {
		case WIRE_S_STOP:
			*v = WIRE_STOP;
			return i;
		case WIRE_S_BAD:
			*v = WIRE_BAD;
			return i;
		default:
			break;
		}
		if (i == n)
			return i;
		switch (w->state) {
		case WIRE_S_HEAD:
			rc = wire_head(b + i, n - i, w->max_head, &hd,
			    &w->err);
			if (rc == -1)
				return wire_refuse(w, i, v);
			if (rc == 0)
				return i;
			i += hd.len;
			w->heads++;
			if (hd.ncl > 1 || hd.nte > 1 ||
			    (hd.nte > 0 && (hd.ncl > 0 || !hd.te_chunked))) {
				w->state = WIRE_S_STOP;
			} else if (hd.nte > 0) {
				w->hcost = hd.len + hd.cost;
				w->state = WIRE_S_CHUNK_SIZE;
			} else if (hd.ncl > 0 && hd.cl > 0) {
				w->left = hd.cl;
				w->state = WIRE_S_BODY;
			} else
				w->whole++;
			break;
		case WIRE_S_BODY:
		case WIRE_S_CHUNK_DATA:
			take = n - i;
			if ((uint64_t)take > w->left)
				take = (size_t)w->left;
			i += take;
			w->left -= take;
			if (w->left == 0) {
				if (w->state == WIRE_S_BODY) {
					w->whole++;
					w->state = WIRE_S_HEAD;
				} else
					w->state = WIRE_S_CHUNK_END;
			}
			break;
		case WIRE_S_CHUNK_END:
			if (b[i] == '\n')
				i++;
			else if (b[i] != '\r') {
				wire_bad(&w->err, 400, "bad_framing", "a chunk "
				    "is longer than its size says");
				return wire_refuse(w, i, v);
			} else if (n - i < 2)
				return i;
			else if (b[i + 1] != '\n') {
				wire_bad(&w->err, 400, "bad_framing", "a chunk "
				    "is longer than its size says");
				return wire_refuse(w, i, v);
			} else
				i += 2;
			w->state = WIRE_S_CHUNK_SIZE;
			break;
		case WIRE_S_CHUNK_SIZE:
			adv = next_line(b + i, n - i, &len);
			if ((adv == 0 && n - i >= WIRE_CHUNK_LINE_MAX) ||
			    adv > WIRE_CHUNK_LINE_MAX) {
				wire_bad(&w->err, 400, "bad_framing", "a "
				    "chunk-size line is over %d bytes",
				    WIRE_CHUNK_LINE_MAX);
				return wire_refuse(w, i, v);
			}
			if (adv == 0)
				return i;
			if (line_clean(b + i, len, "bad_framing",
			    "a chunk-size line", &w->err) == -1)
				return wire_refuse(w, i, v);
			if (chunk_size(b + i, len, &size, &w->err) == -1)
				return wire_refuse(w, i, v);
			i += adv;
			if (size == 0) {
				w->trailer = w->tcost = 0;
				w->state = WIRE_S_TRAILER;
			} else {
				w->left = size;
				w->state = WIRE_S_CHUNK_DATA;
			}
			break;
		case WIRE_S_TRAILER:
			adv = next_line(b + i, n - i, &len);
			if ((adv == 0 && w->trailer + (n - i) >= w->max_head) ||
			    w->trailer + adv > w->max_head) {
				wire_bad(&w->err, 431, "headers_too_large",
				    "the trailer is over the limit of %zu "
				    "bytes", w->max_head);
				return wire_refuse(w, i, v);
			}
			if (adv == 0)
				return i;
			if (line_clean(b + i, len, "bad_framing", "the trailer",
			    &w->err) == -1)
				return wire_refuse(w, i, v);
			if (len > 0 && field_line(b + i, len, "trailer",
			    "bad_framing", &name, &vb, &ve, &w->err) == -1)
				return wire_refuse(w, i, v);
			if (len > 0 && (w->tcost += WIRE_FIELD_COST) >
			    w->max_head) {
				wire_bad(&w->err, 431, "headers_too_large",
				    "the trailer has more fields than fit in "
				    "%zu bytes", w->max_head);
				return wire_refuse(w, i, v);
			}
			if (w->hcost + w->trailer + adv + w->tcost >
			    2 * w->max_head) {
				wire_bad(&w->err, 431, "headers_too_large",
				    "the head and the trailer are over the "
				    "limit of %zu bytes together (fields "
				    "count %d bytes each)", 2 * w->max_head,
				    WIRE_FIELD_COST);
				return wire_refuse(w, i, v);
			}
			i += adv;
			w->trailer += adv;
			if (len == 0) {
				w->whole++;
				w->state = WIRE_S_HEAD;
			}
			break;
		}
	}
}
