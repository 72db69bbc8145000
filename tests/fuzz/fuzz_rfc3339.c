/*
 * fuzz_rfc3339.c -- libFuzzer target for util.c's RFC 3339 parser: any
 * bytes must parse or fail without reading past them; an accepted time
 * lies in years 0001..9999, and formatted with util_format_rfc3339() it
 * parses back to the same microsecond (the round trip the spool, the
 * store and the API rely on).  Every microsecond value in range, taken
 * from the input's first 8 bytes, must round-trip too.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	return 0;
}

/* Format us and parse it back: the same value, a 27-byte string. */
static void
round_trip(int64_t us)
{
	char	buf[CW_RFC3339_LEN];
	int64_t	back;

	util_format_rfc3339(us, buf, sizeof(buf));
	if (strlen(buf) != 27 ||
	    util_parse_rfc3339(buf, strlen(buf), &back) != 0 || back != us)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	u = 0;
	int64_t		us, span;
	char		*copy;
	size_t		i;

	copy = fuzz_copy(data, size);
	if (util_parse_rfc3339(copy, size, &us) == 0) {
		if (!util_ts_valid(us))
			abort();
		round_trip(us);
	}
	free(copy);

	/* Any in-range value, from the raw bytes. */
	for (i = 0; i < size && i < 8; i++)
		u = u << 8 | data[i];
	span = CW_TS_MAX - CW_TS_MIN;	/* fits: about 3.2e17 */
	round_trip(CW_TS_MIN + (int64_t)(u % (uint64_t)(span + 1)));
	return 0;
}
