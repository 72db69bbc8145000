/*
 * account.h -- account metadata (SPEC 2.5): validation of PUT bodies.
 * Pure.  (The in-memory account table joins this module later.)
 */
#ifndef CW_ACCOUNT_H
#define CW_ACCOUNT_H

#include <stddef.h>

struct cw_error;

/*
 * Validate an account id taken from a URL path: 1..CW_ACCOUNT_MAX bytes,
 * no control characters.  0 or -1 with err filled.
 */
int	account_id_valid(const char *id, struct cw_error *err);

/*
 * Decode a PUT /v1/accounts/{id} body.  Accepted keys: name, plan,
 * segment, owner, slack_channel (strings up to 256 bytes or null), seats
 * (a whole number >= 0 or null), onboarded_at, renewal_at (RFC 3339 or
 * null), core_features (array of up to 64 strings, or null).  Any other
 * key, or a wrong type, is an error.  On 0, *json is a new compact JSON
 * object with the same keys, dates normalised to UTC; the caller frees it.
 */
int	account_meta_decode(const char *body, size_t len, char **json,
	    struct cw_error *err);

#endif
