/*
 * fuzz_event.c -- libFuzzer target for event.c: any body, as JSON and as
 * NDJSON, must decode without a crash, leak or sanitizer report; every
 * accepted event must pass fuzz_check_event() (nothing PostgreSQL would
 * refuse gets past the door) and lie within the ts bounds; every
 * rejection carries a code.  The same bytes then go through
 * event_json_storable(), which must stay inside them whatever they are,
 * and which, on text jansson accepts, must refuse every string holding
 * a NUL and, given a limit, every longer string.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

#define STR_MAX	16	/* a small limit the fuzzer can reach */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	return 0;
}

static void
check_batch(const struct cw_event_batch *b,
    const struct cw_event_limits *l)
{
	struct cw_error	e;
	size_t		i;

	if (b->nev + b->nrej != b->total || b->total > l->max_events)
		abort();
	for (i = 0; i < b->nev; i++) {
		fuzz_check_event(&b->ev[i], 0);
		if (b->ev[i].ts < FUZZ_NOW - l->horizon_us ||
		    b->ev[i].ts > FUZZ_NOW + l->future_us)
			abort();
		if (event_props_storable(b->ev[i].type, b->ev[i].props,
		    strlen(b->ev[i].props), &e) != 0)
			abort();
	}
	for (i = 0; i < b->nrej; i++)
		if (b->rej[i].err.code == NULL || b->rej[i].index >= b->total ||
		    strlen(b->rej[i].err.msg) >= sizeof(b->rej[i].err.msg))
			abort();
}

/* Whether any string, key or value, in j holds a NUL or is over max. */
static int
has_bad_string(const json_t *j, size_t max)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (json_is_string(j))
		return memchr(json_string_value(j), '\0',
		    json_string_length(j)) != NULL ||
		    (max > 0 && json_string_length(j) > max);
	if (json_is_array(j)) {
		json_array_foreach((json_t *)j, i, v)
			if (has_bad_string(v, max))
				return 1;
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if ((max > 0 && strlen(k) > max) ||
			    has_bad_string(v, max))
				return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_event_limits l = { 50, 400 * CW_USEC_PER_DAY,
	    300 * CW_USEC_PER_SEC };
	struct cw_event_batch b;
	struct cw_error e;
	json_error_t je;
	json_t *j;
	char *copy;
	int f, bad, rc0, rcmax;

	copy = fuzz_copy(data, size);
	for (f = 0; f < 2; f++) {
		if (event_decode_body(copy, size, f ? BODY_NDJSON : BODY_JSON,
		    FUZZ_NOW, &l, &b, &e) == 0) {
			check_batch(&b, &l);
			event_batch_free(&b);
		} else if (e.code == NULL || strlen(e.msg) >= sizeof(e.msg))
			abort();
	}

	/* Any bytes: stays inside them.  JSON text: no NUL, no long string. */
	rc0 = event_json_storable(copy, size, 0, &e);
	rcmax = event_json_storable(copy, size, STR_MAX, &e);
	if (rc0 != 0 && rcmax == 0)
		abort();	/* a limit can only refuse more */
	if ((j = json_loadb(copy, size, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &je)) != NULL) {
		bad = has_bad_string(j, 0);
		if (bad && rc0 == 0)
			abort();
		if (!bad && has_bad_string(j, STR_MAX) && rcmax == 0)
			abort();
		json_decref(j);
	}
	free(copy);
	return 0;
}
