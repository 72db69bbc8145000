/*
 * fuzz_wire.c -- libFuzzer target for wire.c, the judge of a
 * connection's request stream: any bytes are judged without reading
 * past them, and the judgement does not depend on how the stream was cut
 * into reads.  The input is judged whole, then in pieces whose sizes
 * come from its own bytes (as the relay in http.c keeps what is held
 * back and appends the next read); both must find the same sound prefix,
 * the same verdict, the same counts and the same error.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

#define MAXHEAD	512

static size_t
judge(const uint8_t *data, size_t size, int pieces, struct wire *w,
    enum wire_verdict *v)
{
	char *buf = malloc(size + 1);
	size_t len = 0, judged = 0, off = 0, take, k;

	if (buf == NULL)
		abort();
	wire_init(w, MAXHEAD);
	*v = WIRE_MORE;
	while (off < size) {
		take = pieces ? 1 + (size_t)(data[off] % 23) : size;
		if (take > size - off)
			take = size - off;
		memcpy(buf + len, data + off, take);
		len += take;
		off += take;
		k = wire_judge(w, buf + judged, len - judged, v);
		if (k > len - judged)
			abort();
		judged += k;
		if (*v != WIRE_MORE)
			break;
		/* What is held back is bounded. */
		if (len - judged > MAXHEAD + WIRE_CHUNK_LINE_MAX)
			abort();
	}
	free(buf);
	return judged;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire a, b;
	enum wire_verdict va, vb;
	size_t ja, jb;

	ja = judge(data, size, 0, &a, &va);
	jb = judge(data, size, 1, &b, &vb);
	if (ja != jb || va != vb || a.heads != b.heads || a.whole != b.whole)
		abort();
	if (va == WIRE_BAD && (a.err.status != b.err.status ||
	    strcmp(a.err.code, b.err.code) != 0))
		abort();
	if (a.whole > a.heads || (va == WIRE_STOP) != (wire_stopped(&a) &&
	    va != WIRE_BAD))
		abort();
	return 0;
}
