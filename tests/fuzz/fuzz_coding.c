/*
 * fuzz_coding.c -- libFuzzer target for coding.c, the Content-Encoding
 * decoder: any bytes, fed in any pieces, must decode or be refused
 * without a crash, a leak or a sanitizer report; the decoded size never
 * passes the limit and no piece handed on passes 16 KiB; how the body
 * is cut into pieces changes neither the verdict nor the bytes; and the
 * input itself, gzipped or deflated by zlib, decodes back to itself.
 *
 * Input: byte 0 -- bit 0 deflate (else gzip), bits 1-7 the piece size
 * (1 .. 128 bytes); byte 1 -- the limit, 64 << (byte % 16) bytes; the
 * rest is the body as sent.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "coding.h"
#include "fuzz.h"
#include "log.h"

struct out {
	unsigned char	*buf;
	size_t		 len;
	size_t		 cap;
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	return 0;
}

static int
put(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	if (n == 0 || n > 16384)
		abort();
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		if ((o->buf = realloc(o->buf, o->cap)) == NULL)
			abort();
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

/* Decode b[0..n) in pieces of step bytes; the final status. */
static enum coding_status
decode(enum coding_kind kind, size_t max, const unsigned char *b, size_t n,
    size_t step, struct out *o)
{
	struct cw_error err;
	struct coding *c;
	enum coding_status st = CODING_OK;
	size_t off, k;

	if ((c = coding_new(kind, max)) == NULL)
		abort();
	for (off = 0; off < n && st == CODING_OK; off += k) {
		k = n - off < step ? n - off : step;
		st = coding_feed(c, b + off, k, put, o, &err);
	}
	if (st == CODING_OK)
		st = coding_finish(c, &err);
	if (st != CODING_OK && st != CODING_STOP && err.code == NULL)
		abort();
	if (o->len > max || coding_out(c) != o->len)
		abort();
	coding_free(c);
	return st;
}

/* b[0..n) compressed by zlib; free() it. */
static unsigned char *
compress_as(enum coding_kind kind, const uint8_t *b, size_t n, size_t *len)
{
	z_stream zs;
	unsigned char *z;
	uLong cap;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, kind == CODING_GZIP ? 31 : 15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	cap = deflateBound(&zs, (uLong)n);
	if ((z = malloc(cap)) == NULL)
		abort();
	zs.next_in = (Bytef *)(uintptr_t)b;
	zs.avail_in = (uInt)n;
	zs.next_out = z;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	*len = zs.total_out;
	deflateEnd(&zs);
	return z;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	enum coding_kind kind;
	enum coding_status sa, sb;
	unsigned char *z;
	size_t step, max, zlen;

	if (size < 2)
		return 0;
	kind = data[0] & 1 ? CODING_DEFLATE : CODING_GZIP;
	step = (size_t)(data[0] >> 1) + 1;
	max = (size_t)64 << (data[1] % 16);
	data += 2;
	size -= 2;

	/*
	 * The same verdict and bytes in pieces as all at once -- unless the
	 * body is past the bound on bytes sent, which all at once meets
	 * before decoding anything and in pieces only at its end.
	 */
	sa = decode(kind, max, data, size, step, &a);
	sb = decode(kind, max, data, size, size ? size : 1, &b);
	if (sa != sb && size <= coding_wire_max(max))
		abort();
	if (sa == CODING_OK && (a.len != b.len ||
	    (a.len > 0 && memcmp(a.buf, b.buf, a.len) != 0)))
		abort();
	free(a.buf);
	free(b.buf);

	/* What zlib makes of the input decodes back to it. */
	z = compress_as(kind, data, size, &zlen);
	memset(&a, 0, sizeof(a));
	sa = decode(kind, size + 1, z, zlen, step, &a);
	if (sa != CODING_OK || a.len != size ||
	    (size > 0 && memcmp(a.buf, data, size) != 0))
		abort();
	free(a.buf);
	free(z);
	return 0;
}
