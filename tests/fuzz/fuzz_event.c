/*
 * fuzz_event.c -- libFuzzer target for event.c (and util.c's RFC 3339
 * parser): any body, as JSON and as NDJSON, must decode without a crash,
 * leak or sanitizer report, and every accepted event must carry a
 * non-empty id and props that parse back as a JSON object.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_batch(const struct cw_event_batch *b)
{
	json_error_t je;
	json_t *p;
	size_t i;

	for (i = 0; i < b->nev; i++) {
		p = json_loads(b->ev[i].props, 0, &je);
		if (p == NULL || !json_is_object(p) || b->ev[i].id[0] == '\0')
			abort();
		json_decref(p);
	}
	for (i = 0; i < b->nrej; i++)
		if (strlen(b->rej[i].err.msg) >= sizeof(b->rej[i].err.msg))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_event_limits l = { 50, 400 * CW_USEC_PER_DAY,
	    300 * CW_USEC_PER_SEC };
	struct cw_event_batch b;
	struct cw_error e;
	int64_t us;
	char *copy;
	int f;

	/* An exact-size copy, so ASan sees any read past the end. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	for (f = 0; f < 2; f++) {
		if (event_decode_body(copy, size, f ? BODY_NDJSON : BODY_JSON,
		    INT64_C(1795176000000000), &l, &b, &e) == 0) {
			check_batch(&b);
			event_batch_free(&b);
		} else if (e.code == NULL || strlen(e.msg) >= sizeof(e.msg))
			abort();
	}
	(void)util_parse_rfc3339(copy, size, &us);
	free(copy);
	return 0;
}
