/*
 * view.h -- the API's JSON views of an account (see view.c).  Pure.
 */
#ifndef CW_VIEW_H
#define CW_VIEW_H

#include <stdint.h>

#include <jansson.h>

struct account;
struct cw_config;
struct sig_result;

struct view_ctx {
	const struct cw_config	*cfg;
	const int32_t		*data_since;	/* per data class; may be NULL */
	int64_t			 now;		/* us */
};

/*
 * GET /v1/accounts/ID: a as its evaluation at vc->now gave out[0..n)
 * (account_evaluate()).  A new reference, or NULL when out of memory.
 */
json_t	*view_account(const struct view_ctx *, const struct account *,
	    const struct sig_result *out, int n);

/* One row of GET /v1/accounts, from a's ranked score and active set. */
json_t	*view_list_row(const struct view_ctx *, const struct account *);

#endif
