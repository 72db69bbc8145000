/*
 * openapi.h -- the OpenAPI 3.1 description of the HTTP API
 * (api/openapi.json), built into the binary by tools/embed-file.sh and
 * served as is at GET /openapi.json.
 */
#ifndef CW_OPENAPI_H
#define CW_OPENAPI_H

#include <stddef.h>

extern const char	openapi_json[];		/* NUL-terminated */
extern const size_t	openapi_json_len;	/* without the NUL */

#endif
