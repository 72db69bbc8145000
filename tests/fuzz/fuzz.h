/*
 * fuzz.h -- what the libFuzzer targets in tests/fuzz/ share: the entry
 * points libFuzzer calls, silent logging, and the checks every decoded
 * event must pass whichever door it came in by.
 *
 * The event checks are the ingest promise seen from the fuzzer: nothing
 * a decoder accepts may be refused later by PostgreSQL for what it is
 * (issue 9, "poison isolation") -- ids and account ids within their
 * lengths and free of control characters, ts in years 0001..9999, props
 * a JSON object that jsonb stores.  A failed check is abort(), which
 * libFuzzer reports as a crash with the input that caused it.
 *
 * Targets must be deterministic and free what they allocate: libFuzzer's
 * leak detection is on.
 */
#ifndef CW_FUZZ_H
#define CW_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* 2026-11-20T09:30:00Z in us: a fixed clock keeps runs reproducible. */
#define FUZZ_NOW	INT64_C(1795167000000000)

/* An exact-size copy, so ASan sees any read past the end; free() it. */
static inline char *
fuzz_copy(const uint8_t *data, size_t size)
{
	char	*p;

	if ((p = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

/* A NUL-terminated copy; free() it. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char	*p;

	if ((p = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	p[size] = '\0';
	return p;
}

/* A string field of an accepted event: 1..max bytes (0.. with empty_ok). */
static inline void
fuzz_check_str(const char *s, size_t max, int empty_ok)
{
	size_t	n;

	if (s == NULL)
		abort();
	n = strlen(s);
	if ((n == 0 && !empty_ok) || n > max || util_has_control(s, n))
		abort();
}

/*
 * An event a decoder accepted.  empty_account: Segment keeps identify
 * and group calls with account_id "" (they count in no window).
 */
static inline void
fuzz_check_event(const struct cw_event *ev, int empty_account)
{
	struct cw_error	 err;
	json_error_t	 je;
	json_t		*p;

	fuzz_check_str(ev->id, CW_ID_MAX, 0);
	fuzz_check_str(ev->account_id, CW_ACCOUNT_MAX, empty_account);
	if (ev->user_id != NULL)
		fuzz_check_str(ev->user_id, CW_USER_MAX, 0);
	if ((unsigned)ev->type >= EV__COUNT || !util_ts_valid(ev->ts))
		abort();
	if (ev->props == NULL ||
	    (p = json_loads(ev->props, 0, &je)) == NULL)
		abort();
	if (!json_is_object(p))
		abort();
	json_decref(p);
	if (event_json_storable(ev->props, strlen(ev->props), 0, &err) != 0)
		abort();
}

#endif
