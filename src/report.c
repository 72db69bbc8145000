/*
 * report.c -- the reports of SPEC 2.8 (see report.h).
 *
 * Signal quality over stored history is computed from what the daemon
 * stored with the config in force at the time: the alerts table (each
 * alert open from the day it started to the day it resolved), the
 * outcome events and health_daily (one score per account per day).  The
 * store reduces them to one document; quality_from_doc() does the rest,
 * the same computation as the backtest's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "backtest.h"
#include "http.h"
#include "quality.h"
#include "report.h"
#include "score.h"
#include "store.h"
#include "util.h"
#include "window.h"

#define WITHIN_DEFAULT	90
#define DAYS_DEFAULT	30
#define DAYS_MAX	400
#define RANGE_MAX	800	/* days between since and until */

struct report_call {
	int		 call;
	void		(*reply)(void *, unsigned, char *, const char *,
			    const char *);
	void		*handle;
	struct quality_input p;	/* since, until, within */
	const char	*msg;	/* a refusal (static) */
};

static void
refuse_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_call *c = arg;

	c->reply(c->handle, 400, NULL, "invalid_query", c->msg);
	free(c);
}

/* Answer 400 from the loop, not from inside the request's handler. */
static int
refuse(struct event_base *base, struct report_call *c, const char *msg)
{
	struct timeval tv = { 0, 0 };

	c->msg = msg;
	if (event_base_once(base, -1, EV_TIMEOUT, refuse_cb, c, &tv) == -1) {
		free(c);
		return -1;
	}
	return 0;
}

static void
done_cb(enum store_status st, const char *json, void *arg)
{
	struct report_call *c = arg;
	struct quality_report r;
	json_t *o;
	char *s = NULL;

	if (st != STORE_OK || json == NULL) {
		c->reply(c->handle, 503, NULL, "unavailable", "the database "
		    "is not available; retry later");
		free(c);
		return;
	}
	if (c->call == HTTP_API_REPORT_MOVERS)
		s = strdup(json);
	else if (quality_from_doc(json, &c->p, &r) == 0 &&
	    (o = quality_json(&r)) != NULL) {
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
	}
	if (s == NULL)
		c->reply(c->handle, 500, NULL, "internal_error", "cannot "
		    "build the report");
	else
		c->reply(c->handle, 200, s, NULL, NULL);
	free(c);
}

int
report_api(struct event_base *base, struct store *store, int call,
    const char *const q[3], void (*reply)(void *, unsigned, char *,
    const char *, const char *), void *handle)
{
	struct report_call *c;
	char v[5][24];
	const char *values[5] = { v[0], v[1], v[2], v[3], v[4] };
	int32_t today = window_day(util_now_us()), since, until = today;
	uint64_t n = call == HTTP_API_REPORT_MOVERS ? DAYS_DEFAULT :
	    WITHIN_DEFAULT;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->call = call;
	c->reply = reply;
	c->handle = handle;
	if (call == HTTP_API_REPORT_MOVERS) {
		if (q[0] != NULL && util_parse_u64(q[0], 1, DAYS_MAX,
		    &n) == -1)
			return refuse(base, c, "days must be a whole number "
			    "from 1 to 400");
		snprintf(v[0], sizeof(v[0]), "%d", (int)n);
		snprintf(v[1], sizeof(v[1]), "%d", today);
		snprintf(v[2], sizeof(v[2]), "%d", SCORE_GREEN_MIN);
		snprintf(v[3], sizeof(v[3]), "%d", SCORE_YELLOW_MIN);
		rc = store_api(store, STORE_API_REPORT_MOVERS, values, done_cb,
		    c);
	} else {
		if (q[1] != NULL && backtest_parse_day(q[1], &until) == -1)
			return refuse(base, c, "until must be a date "
			    "(YYYY-MM-DD or RFC 3339)");
		since = until - 364;
		if (q[0] != NULL && backtest_parse_day(q[0], &since) == -1)
			return refuse(base, c, "since must be a date "
			    "(YYYY-MM-DD or RFC 3339)");
		if (q[2] != NULL && util_parse_u64(q[2], 1,
		    QUALITY_WITHIN_MAX, &n) == -1)
			return refuse(base, c, "within must be a whole number "
			    "of days from 1 to 400");
		if (until > today)
			return refuse(base, c, "until must not be after today");
		if (since > until)
			return refuse(base, c, "since must not be after until");
		if (until - since >= RANGE_MAX)
			return refuse(base, c, "since and until must be at "
			    "most 800 days apart");
		c->p.since = since;
		c->p.until = until;
		c->p.within = (int)n;
		snprintf(v[0], sizeof(v[0]), "%d", since);
		snprintf(v[1], sizeof(v[1]), "%d", until);
		snprintf(v[2], sizeof(v[2]), "%d", (int)n);
		snprintf(v[3], sizeof(v[3]), "%d", SCORE_GREEN_MIN);
		snprintf(v[4], sizeof(v[4]), "%d", SCORE_YELLOW_MIN);
		rc = store_api(store, STORE_API_REPORT_QUALITY, values,
		    done_cb, c);
	}
	if (rc == -1)
		free(c);
	return rc;
}
