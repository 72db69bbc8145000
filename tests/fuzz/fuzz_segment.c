/*
 * fuzz_segment.c -- libFuzzer target for segment.c.  Input: one byte
 * choosing the endpoint (batch, track, identify, group, page, screen) and
 * the login-event rule, then the request body.  Any body must decode or
 * be refused whole without a crash, leak or sanitizer report; every
 * event decoded passes fuzz_check_event() (account_id may be "" for the
 * calls that count in no window), its ts is never more than future_us
 * ahead, every group yields an account with meta_json an object, and a
 * refusal leaves the result empty with a code.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "log.h"
#include "segment.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	return 0;
}

/* Users "u1" and "u2" were grouped earlier; nobody else. */
static const char *
account_of(const char *user_id, void *arg)
{
	if (strcmp(user_id, "u1") == 0)
		return "acme";
	if (strcmp(user_id, "u2") == 0)
		return (const char *)arg;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const logins[] = { "Signed In", "go" };
	static char	 other[] = "initech";
	struct seg_lookup lk = { account_of, other };
	struct seg_rules r = { logins, 2, 300 * CW_USEC_PER_SEC };
	struct seg_result out;
	struct cw_error	 err;
	json_error_t	 je;
	json_t		*m;
	char		*body;
	size_t		 i;
	int		 call;

	if (size == 0)
		return 0;
	call = data[0] % SEG__COUNT;
	body = fuzz_copy(data + 1, size - 1);
	if (segment_decode((enum seg_call)call, body, size - 1, FUZZ_NOW,
	    data[0] & 0x80 ? &r : NULL, data[0] & 0x40 ? &lk : NULL, &out,
	    &err) == 0) {
		if (call != SEG_BATCH && out.nev != 1)
			abort();
		for (i = 0; i < out.nev; i++) {
			fuzz_check_event(&out.ev[i], 1);
			if (out.ev[i].ts > FUZZ_NOW + 300 * CW_USEC_PER_SEC)
				abort();
		}
		for (i = 0; i < out.nmembers; i++)
			if (out.members[i].user_id == NULL ||
			    out.members[i].account_id == NULL)
				abort();
		for (i = 0; i < out.naccounts; i++) {
			fuzz_check_str(out.accounts[i].account_id,
			    CW_ACCOUNT_MAX, 0);
			if ((m = json_loads(out.accounts[i].meta_json, 0,
			    &je)) == NULL || !json_is_object(m))
				abort();
			json_decref(m);
		}
		segment_result_free(&out);
	} else {
		if (err.code == NULL || strlen(err.msg) >= sizeof(err.msg) ||
		    out.nev != 0 || out.ev != NULL || out.write_key != NULL)
			abort();
	}
	free(body);
	return 0;
}
