/*
 * report.c -- the reports of SPEC 2.8 (see report.h).
 *
 * Signal quality over stored history is computed from what the daemon
 * stored with the config in force at the time: the alerts table (each
 * alert open from the day it started to the day it resolved), the
 * outcome events and health_daily (one score per account per day).  The
 * server reduces them to rows of numbers, streamed through a cursor
 * (store_report_quality()) into a quality_builder; quality_compute() does
 * the rest, the same computation as the backtest's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "alert.h"
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
	struct quality_builder	 b;	/* the stored history, as it comes */
	size_t		 naccounts;
	uint64_t	 population;
	const char	*msg;	/* a refusal (static) */
	unsigned	 status;	/* of the refusal */
};

static void
refuse_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_call *c = arg;

	c->reply(c->handle, c->status, NULL, c->status == 400 ?
	    "invalid_query" : "unavailable", c->msg);
	free(c);
}

/* Answer 400 (or 503) from the loop, not from inside the request's
 * handler. */
static int
refuse(struct event_base *base, struct report_call *c, const char *msg)
{
	struct timeval tv = { 0, 0 };

	if (c->status == 0)
		c->status = 400;
	c->msg = msg;
	if (event_base_once(base, -1, EV_TIMEOUT, refuse_cb, c, &tv) == -1) {
		free(c);
		return -1;
	}
	return 0;
}

/* The answer: s (a new string, taken), or 500 when it is NULL. */
static void
answer(struct report_call *c, char *s)
{
	if (s == NULL)
		c->reply(c->handle, 500, NULL, "internal_error", "cannot "
		    "build the report");
	else
		c->reply(c->handle, 200, s, NULL, NULL);
	free(c);
}

static void
unavailable(struct report_call *c)
{
	c->reply(c->handle, 503, NULL, "unavailable", "the database is not "
	    "available; retry later");
	free(c);
}

static void
movers_cb(enum store_status st, const char *json, void *arg)
{
	struct report_call *c = arg;

	if (st != STORE_OK || json == NULL)
		unavailable(c);
	else
		answer(c, strdup(json));
}

static int
quality_row(void *arg, int32_t kind, int32_t a, int32_t b, int32_t c,
    int32_t d)
{
	struct report_call *rc = arg;

	switch (kind) {
	case 0:
		rc->naccounts = a > 0 ? (size_t)a : 0;
		rc->population = b > 0 ? (uint64_t)b : 0;
		return 0;
	case 1:
		return quality_add_fire(&rc->b, (uint32_t)a, b, c, d);
	case 2:
		return quality_add_outcome(&rc->b, (uint32_t)a, b, c);
	case 3:
		return quality_add_status(&rc->b, (uint32_t)a, b, c);
	default:
		return -1;
	}
}

static void
quality_done(enum store_status st, void *arg)
{
	struct report_call *c = arg;
	struct quality_report r;
	json_t *o;
	char *s = NULL;

	if (st == STORE_OK && quality_build(&c->b, c->naccounts,
	    c->population, &c->p, &r) == 0 && (o = quality_json(&r)) !=
	    NULL) {
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
	}
	quality_builder_free(&c->b);
	if (st != STORE_OK)
		unavailable(c);
	else
		answer(c, s);
}

/*
 * The signals (alert.h ids, portfolio left out) and the outcome kinds
 * (quality.h) as text[] literals, in id order; built once.
 */
static void
quality_lists(const char **signals, const char **kinds)
{
	static char sig[1024], kin[128];
	size_t n = 0;
	int i;

	if (sig[0] == '\0') {
		n += (size_t)snprintf(sig + n, sizeof(sig) - n, "{");
		for (i = 0; i < ALERT_NSIGNALS; i++)
			n += (size_t)snprintf(sig + n, sizeof(sig) - n,
			    "%s\"%s\"", i > 0 ? "," : "",
			    i == ALERT_PORTFOLIO ? "" : alert_signal_name(i));
		snprintf(sig + n, sizeof(sig) - n, "}");
		n = (size_t)snprintf(kin, sizeof(kin), "{");
		for (i = 0; i < QK__COUNT; i++)
			n += (size_t)snprintf(kin + n, sizeof(kin) - n,
			    "%s\"account.%s\"", i > 0 ? "," : "",
			    quality_kind_name((enum quality_kind)i));
		snprintf(kin + n, sizeof(kin) - n, "}");
	}
	*signals = sig;
	*kinds = kin;
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
	const char *sig, *kin;
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
		rc = store_api(store, STORE_API_REPORT_MOVERS, values,
		    movers_cb, c);
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
		quality_lists(&sig, &kin);
		rc = store_report_quality(store, values, sig, kin, quality_row,
		    quality_done, c);
	}
	if (rc == -2) {
		c->status = 503;
		return refuse(base, c, "another report is being computed; "
		    "retry later");
	}
	if (rc == -1)
		free(c);
	return rc;
}
