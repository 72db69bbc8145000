/*
 * coding.c -- decode gzip and deflate request bodies as they arrive.
 *
 * One z_stream per body, inflating into a 16 KiB buffer that is handed on
 * and reused, so what a decoder holds is fixed (coding_mem()) whatever
 * the body; the caller decides where the decoded bytes go.  The limit is
 * checked on every buffer, before it is handed on: a decompression bomb
 * stops after at most max + 16 KiB of inflating, and a stream that
 * produces nothing for its bytes (empty stored blocks, empty members)
 * stops at coding_wire_max() bytes sent.
 *
 * It does not own the body, the request or the answer (http.c does).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "coding.h"

#define CODING_BUF	16384

enum coding_state {
	CS_MEMBER,	/* inside a gzip member or the deflate stream */
	CS_END		/* a member (or the deflate stream) ended */
};

struct coding {
	enum coding_kind	 kind;
	enum coding_state	 state;
	enum coding_status	 status;	/* not CODING_OK: stopped */
	struct cw_error		 err;		/* why it stopped */
	z_stream		 zs;
	size_t			 max;		/* decoded bytes */
	size_t			 wire_max;	/* encoded bytes */
	size_t			 in;
	size_t			 out;
	unsigned char		 buf[CODING_BUF];
};

static const char *const coding_names[] = {
	[CODING_IDENTITY] = "identity",
	[CODING_GZIP] = "gzip",
	[CODING_DEFLATE] = "deflate"
};

static enum coding_status	stop(struct coding *, enum coding_status,
				    const char *, struct cw_error *,
				    const char *, ...)
				    __attribute__((format(printf, 5, 6)));

static enum coding_status
stop(struct coding *c, enum coding_status st, const char *code,
    struct cw_error *err, const char *fmt, ...)
{
	va_list ap;

	c->status = st;
	c->err.code = code;
	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	if (err != NULL)
		*err = c->err;
	return st;
}

int
coding_parse(const char *value, enum coding_kind *kind)
{
	const char *p = value, *e;
	size_t n;

	*kind = CODING_IDENTITY;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 || (n == 8 && strncasecmp(p, "identity", 8) == 0)) {
			p = e;
			continue;
		}
		/* One coding at most: a body gzipped twice is not worth it. */
		if (*kind != CODING_IDENTITY)
			return -1;
		if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(p, "x-gzip", 6) == 0))
			*kind = CODING_GZIP;
		else if (n == 7 && strncasecmp(p, "deflate", 7) == 0)
			*kind = CODING_DEFLATE;
		else
			return -1;
		p = e;
	}
	return 0;
}

size_t
coding_wire_max(size_t max)
{
	size_t slack = max / 1024 + 4096;

	return max > SIZE_MAX - slack ? SIZE_MAX : max + slack;
}

size_t
coding_mem(void)
{
	/* zlib: "1 << windowBits plus about 7 KB" for inflate (zlib.h). */
	return sizeof(struct coding) + (1 << 15) + 8192;
}

struct coding *
coding_new(enum coding_kind kind, size_t max)
{
	struct coding *c;

	if (kind != CODING_GZIP && kind != CODING_DEFLATE)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->kind = kind;
	c->state = CS_MEMBER;
	c->status = CODING_OK;
	c->max = max;
	c->wire_max = coding_wire_max(max);
	/* 15 + 16: a gzip wrapper only; 15: a zlib wrapper only. */
	if (inflateInit2(&c->zs, kind == CODING_GZIP ? 15 + 16 : 15) !=
	    Z_OK) {
		free(c);
		return NULL;
	}
	return c;
}

void
coding_free(struct coding *c)
{
	if (c == NULL)
		return;
	inflateEnd(&c->zs);
	free(c);
}

size_t
coding_out(const struct coding *c)
{
	return c->out;
}

/*
 * Inflate what zs holds until it is all taken and no output is pending.
 */
static enum coding_status
coding_run(struct coding *c, coding_put_fn put, void *arg,
    struct cw_error *err)
{
	size_t got;
	int rc;

	for (;;) {
		if (c->state == CS_END) {
			if (c->zs.avail_in == 0)
				return CODING_OK;
			if (c->kind == CODING_DEFLATE)
				return stop(c, CODING_BAD, "bad_encoding", err,
				    "the body goes on after the end of its "
				    "deflate stream");
			/* The next gzip member, or trailing garbage. */
			if (inflateReset(&c->zs) != Z_OK)
				return stop(c, CODING_BAD, "bad_encoding", err,
				    "the gzip stream cannot be restarted");
			c->state = CS_MEMBER;
		}
		c->zs.next_out = c->buf;
		c->zs.avail_out = sizeof(c->buf);
		rc = inflate(&c->zs, Z_NO_FLUSH);
		got = sizeof(c->buf) - c->zs.avail_out;
		if (got > c->max - c->out)
			return stop(c, CODING_LIMIT, "body_too_large", err,
			    "the body decodes past the limit of %zu bytes",
			    c->max);
		if (got > 0) {
			c->out += got;
			if (put(arg, (const char *)c->buf, got) == -1) {
				c->status = CODING_STOP;
				c->err.code = NULL;
				c->err.msg[0] = '\0';
				if (err != NULL)
					*err = c->err;
				return CODING_STOP;
			}
		}
		switch (rc) {
		case Z_STREAM_END:
			c->state = CS_END;
			continue;
		case Z_OK:
			break;
		case Z_BUF_ERROR:
			/* No progress possible: it needs more input. */
			if (c->zs.avail_in == 0)
				return CODING_OK;
			return stop(c, CODING_BAD, "bad_encoding", err,
			    "the %s stream is corrupt", coding_names[c->kind]);
		case Z_MEM_ERROR:
			return stop(c, CODING_NOMEM, "internal_error", err,
			    "out of memory while decoding the body");
		case Z_NEED_DICT:
			return stop(c, CODING_BAD, "bad_encoding", err,
			    "the deflate stream needs a preset dictionary");
		default:
			return stop(c, CODING_BAD, "bad_encoding", err,
			    "the %s stream is corrupt: %s",
			    coding_names[c->kind], c->zs.msg != NULL ?
			    c->zs.msg : "invalid data");
		}
		if (c->zs.avail_in == 0 && c->zs.avail_out != 0)
			return CODING_OK;
	}
}

enum coding_status
coding_feed(struct coding *c, const void *in, size_t n, coding_put_fn put,
    void *arg, struct cw_error *err)
{
	const unsigned char *p = in;
	enum coding_status st;
	uInt take;

	if (c->status != CODING_OK) {
		if (err != NULL)
			*err = c->err;
		return c->status;
	}
	if (n > c->wire_max - c->in)
		return stop(c, CODING_LIMIT, "body_too_large", err,
		    "the %s body is over the limit of %zu bytes sent",
		    coding_names[c->kind], c->wire_max);
	c->in += n;
	while (n > 0) {
		/* uInt is zlib's; <limits.h> would be ours under -I src. */
		take = n > (uInt)-1 ? (uInt)-1 : (uInt)n;
		/* zlib's next_in is not const before 1.2.9's ZLIB_CONST. */
		c->zs.next_in = (Bytef *)(uintptr_t)p;
		c->zs.avail_in = take;
		if ((st = coding_run(c, put, arg, err)) != CODING_OK)
			return st;
		p += take;
		n -= take;
	}
	return CODING_OK;
}

enum coding_status
coding_finish(struct coding *c, struct cw_error *err)
{
	if (c->status != CODING_OK) {
		if (err != NULL)
			*err = c->err;
		return c->status;
	}
	if (c->state == CS_END)
		return CODING_OK;
	return stop(c, CODING_BAD, "bad_encoding", err, c->in == 0 ?
	    "the %s body is empty" : "the %s stream is truncated",
	    coding_names[c->kind]);
}
