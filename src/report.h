/*
 * report.h -- the reports of SPEC 2.8 (scope read) over stored history:
 * GET /v1/reports/signal-quality?since=&until=&within= (quality.c over
 * the stored alerts, outcome events and daily scores) and GET
 * /v1/reports/movers?days= (who got better or worse, and which signals
 * came and went).  An edge: it asks store.c and replies later.
 */
#ifndef CW_REPORT_H
#define CW_REPORT_H

struct event_base;
struct store;

/*
 * call is HTTP_API_REPORT_QUALITY (q: since, until, within) or
 * HTTP_API_REPORT_MOVERS (q: days); NULL for a parameter not given.
 * reply(handle, status, json, code, msg) is called exactly once, later:
 * a JSON body (taken over), or 400 invalid_query / 503 unavailable.
 * Returns -1 when the query cannot start (database down): reply is not
 * called.
 */
int	report_api(struct event_base *, struct store *, int call,
	    const char *const q[3], void (*reply)(void *, unsigned, char *,
	    const char *, const char *), void *handle);

#endif
