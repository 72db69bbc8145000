/*
 * backtest.c -- replay stored events through a config (see backtest.h).
 *
 * The replay: the accounts' metadata is read first (it is today's: the
 * store keeps no history of it), then the stored data coverage (SPEC 4:
 * the first day of each data class and of each account, which outlives
 * retention -- the daemon's own), then the events from SIG_HISTORY_DAYS
 * before --since (so that the windows are full on the first day) to the
 * end of --until, one day per query, in (ts, source, id) order (a day
 * the daily usage rollup covers: its rollup and the raw rows it cannot
 * stand for, see bt_next_day(); --raw reads every raw row).  Each
 * event is applied as engine_apply() does (window_apply, data coverage,
 * the account's first day).  From max(within, 90) days before --since
 * on (what the signal-quality report reads: alerts open from since -
 * within, statuses from since - 90), every account that exists is
 * evaluated (account_evaluate) and its alerts stepped
 * (account_alerts_step) -- the code the daemon runs -- at the times its
 * periodic sweep would: at 00:00 of each day (before that day's events,
 * when windows expire), resolve_after later (after the events before
 * it), and at the day's last second (after all of them).
 *
 * What that means for SPEC 5's lifecycle: an alert opens on the day an
 * evaluation first sees its signal active; a signal that goes inactive
 * when a window expires (at midnight) resolves resolve_after later, the
 * same day with the default 1 h, as in the daemon; flapping within
 * resolve_after is the same alert.  (A signal that an event turns
 * inactive during the day resolves at the next evaluation at least
 * resolve_after after the day's end: the next day, where the daemon,
 * evaluating the account on the event, may resolve it the same day.)
 * Alerts that opened and resolved before --since are not listed.  Settling
 * holds a daemon's notifications while a back-fill is still arriving so
 * that only what the whole history says is sent; the replay has the
 * whole history, so there is nothing to hold: every event counts as
 * having arrived live at its ts.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "account.h"
#include "alert.h"
#include "backtest.h"
#include "cwconfig.h"
#include "db.h"
#include "event.h"
#include "intern.h"
#include "log.h"
#include "quality.h"
#include "score.h"
#include "signal.h"
#include "store_int.h"	/* get32(), get64(): binary results */
#include "util.h"
#include "window.h"

#define CONNECT_TIMEOUT_SEC	15
#define WITHIN_DEFAULT		90
#define RANGE_MAX_DAYS		800	/* twice the default horizon */

#define US(col)		"(extract(epoch FROM " col ") * 1000000)::bigint"

/* One alert of the replay or of the alerts table. */
struct bt_alert {
	struct account	*a;		/* the alerts table's, until indexed */
	uint32_t	 acct;		/* index in table->all */
	int		 signal;
	uint8_t		 severity;	/* the highest */
	uint8_t		 at_start;	/* already firing on since */
	uint8_t		 matched;
	int32_t		 first;		/* the day it opened */
	int32_t		 from, to;	/* days, from >= since; to QUALITY_OPEN */
};

struct bt_outcome {
	struct account		*a;
	int32_t			 day;
	enum quality_kind	 kind;
};

struct backtest {
	const struct cw_config	*cfg;
	const struct backtest_args *args;
	struct event_base	*base;
	struct db		*db;
	struct event		*ev_timeout;
	int			 started;
	int			 failed;

	struct account_table	*table;
	struct win_rules	 rules;
	int32_t			 heard[SIGCAT__COUNT];
	int32_t			 since, until, warm, within;
	int32_t			 start;		/* evaluated from */
	int32_t			 day;		/* the next day to query */
	int32_t			 done_day;	/* evaluated up to */
	int64_t			 events, bad;
	int64_t			 t0;		/* mono us */

	struct bt_alert		*alerts;	/* would have fired */
	size_t			 nalerts, capalerts;
	struct bt_alert		*actual;	/* fired (the alerts table) */
	size_t			 nactual, capactual;
	char			**actual_ids;	/* accounts not replayed */
	struct bt_outcome	*outcomes;
	size_t			 noutcomes, capoutcomes;
	struct quality_status	*statuses;
	size_t			 nstatuses, capstatuses;
	uint8_t			*status;	/* per account, 255 none */
	size_t			 capstatus;
	uint32_t		 cur;		/* the account being stepped */

	/*
	 * The usage rollup (012_usage_daily.sql): usage_daily holds the
	 * usage events with commit_no <= ucommit of the days before uday.
	 * Such a day is read as its rollup plus raw rows of the rest (see
	 * bt_next_day); subs are the raw rows the rollup counts too.
	 */
	int64_t			 ucommit;
	int32_t			 uday;		/* INT32_MIN: no rollup */
	int32_t			 cur_day;	/* of the results coming */
	int			 next_agg;	/* bt_next_day()'s day: with the
						 * rollup (agg_cb follows) */
	struct bt_sub {
		struct account	*a;
		uint8_t		 hour;
		uint8_t		 login;
	}			*subs;
	size_t			 nsubs, capsubs;
	int64_t			 nrollup;	/* events read as rollups */
};

static void	bt_fail(struct backtest *, const char *, const char *);
static void	bt_next_day(struct backtest *);


int
backtest_parse_day(const char *s, int32_t *day)
{
	char buf[40];
	int64_t us;
	size_t n = strlen(s);

	if (n == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		s = buf;
		n = strlen(buf);
	}
	if (util_parse_rfc3339(s, n, &us) == -1)
		return -1;
	*day = window_day(us);
	return 0;
}

static char *
day_str(int32_t day, char *buf, size_t len)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	if (day == QUALITY_OPEN || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "open");
	else
		strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

/* ---- the replay ---- */

static uint64_t
step_new_id(void *arg, int64_t now)
{
	struct backtest *bt = arg;

	return bt->nalerts + 1;		/* its index + 1 */
}

static int
step_changed(void *arg, struct account *a, struct alert *t,
    enum alert_event ev, const struct sig_result *r, const char *explanation)
{
	struct backtest *bt = arg;
	struct bt_alert *x;

	if (ev == AE_FIRE) {
		if (util_grow((void **)&bt->alerts, &bt->capalerts,
		    bt->nalerts, sizeof(*bt->alerts)) == -1) {
			bt_fail(bt, "out of memory", NULL);
			return -1;
		}
		x = &bt->alerts[bt->nalerts++];
		memset(x, 0, sizeof(*x));
		x->acct = bt->cur;
		x->signal = t->signal;
		x->severity = (uint8_t)t->severity;
		x->at_start = bt->done_day <= bt->since;
		x->first = bt->done_day;
		x->from = bt->done_day > bt->since ? bt->done_day : bt->since;
		x->to = QUALITY_OPEN;
		return 0;
	}
	if (t->id == 0 || t->id > bt->nalerts)
		return 0;
	x = &bt->alerts[t->id - 1];
	if ((uint8_t)t->severity > x->severity)
		x->severity = (uint8_t)t->severity;
	if (ev == AE_RESOLVE)
		x->to = bt->done_day;
	return 0;
}

/*
 * One sweep of the replay at now (on day): evaluate every account that
 * exists then, step its alerts; at the day's end (day_end), record the
 * day's statuses.  An account exists from its first day of data (stored
 * coverage or replayed), on that day from its first replayed event.
 */
static void
bt_evaluate(struct backtest *bt, int32_t day, int64_t now, int day_end)
{
	struct sig_result out[SIG__COUNT];
	struct account_alert_ops ops = { step_new_id, step_changed, bt };
	struct quality_status *q;
	struct account *a;
	int32_t data_since[SIGCAT__COUNT];
	size_t i, cap;
	uint8_t *p, st;
	int n, changed;

	bt->done_day = day;
	account_data_since(bt->heard, bt->cfg->coverage, data_since);
	if (bt->capstatus < bt->table->count) {
		cap = bt->table->count + 1024;
		if ((p = realloc(bt->status, cap)) == NULL) {
			bt_fail(bt, "out of memory", NULL);
			return;
		}
		memset(p + bt->capstatus, 255, cap - bt->capstatus);
		bt->status = p;
		bt->capstatus = cap;
	}
	for (i = 0; i < bt->table->count && !bt->failed; i++) {
		a = bt->table->all[i];
		if (a->first_day == 0 || a->first_day > day ||
		    (a->first_day == day && a->last_event_at == 0))
			continue;	/* not there yet */
		n = account_evaluate(a, &bt->cfg->signals, data_since, now,
		    out, &changed);
		bt->cur = (uint32_t)i;
		if (account_alerts_step(a, &bt->cfg->alerts, out, n, now,
		    &ops) == -1) {
			bt_fail(bt, "out of memory", "an alert");
			return;
		}
		if (!day_end)
			continue;
		st = (uint8_t)score_status(a->score);
		if (bt->status[i] == st)
			continue;
		bt->status[i] = st;
		if (util_grow((void **)&bt->statuses, &bt->capstatuses,
		    bt->nstatuses, sizeof(*bt->statuses)) == -1) {
			bt_fail(bt, "out of memory", NULL);
			return;
		}
		q = &bt->statuses[bt->nstatuses++];
		q->account = (uint32_t)i;
		q->day = day;
		q->status = st;
	}
}

/*
 * One stored event, as engine_apply() and engine_cover() take it; its
 * account, or NULL (none, or out of memory).
 */
static struct account *
bt_apply(struct backtest *bt, const struct cw_event *ev)
{
	struct bt_outcome *o;
	struct account *a;
	int32_t day = window_day(ev->ts);
	int c, k;

	if (ev->account_id[0] == '\0')
		return NULL;	/* attributed to no account */
	if ((a = account_get(bt->table, ev->account_id)) == NULL ||
	    window_apply(&a->w, ev, &bt->rules) == -1) {
		bt_fail(bt, "out of memory", NULL);
		return NULL;
	}
	bt->events++;
	if (a->last_event_at < ev->ts)
		a->last_event_at = ev->ts;
	if (day > 0) {
		c = account_event_class(ev->type);
		if (c >= 0 && (bt->heard[c] == 0 || day < bt->heard[c]))
			bt->heard[c] = day;
		if (a->first_day == 0 || day < a->first_day)
			a->first_day = day;
	}
	k = ev->type == EV_ACCOUNT_CHURNED ? QK_CHURNED :
	    ev->type == EV_ACCOUNT_CONTRACTED ? QK_CONTRACTED :
	    ev->type == EV_ACCOUNT_RENEWED ? QK_RENEWED : -1;
	if (k < 0)
		return a;
	if (util_grow((void **)&bt->outcomes, &bt->capoutcomes, bt->noutcomes,
	    sizeof(*bt->outcomes)) == -1) {
		bt_fail(bt, "out of memory", NULL);
		return NULL;
	}
	o = &bt->outcomes[bt->noutcomes++];
	o->a = a;
	o->day = day;
	o->kind = (enum quality_kind)k;
	return a;
}

/* ---- the queries, one after the other on one connection ---- */

static void
bt_fail(struct backtest *bt, const char *what, const char *detail)
{
	if (bt->failed)
		return;
	bt->failed = 1;
	fprintf(stderr, "churnwatchd: backtest: %s%s%s\n", what,
	    detail != NULL && detail[0] != '\0' ? ": " : "",
	    detail != NULL ? detail : "");
	event_base_loopbreak(bt->base);
}

static int
bt_ok(struct backtest *bt, enum db_status st, const struct db_res *res,
    const char *what)
{
	if (bt->failed)
		return 0;
	if (st != DB_OK) {
		bt_fail(bt, what, st == DB_LOST ? "connection lost" :
		    db_res_error(res));
		return 0;
	}
	return 1;
}

static void
done_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;

	if (bt_ok(bt, st, res, "commit"))
		event_base_loopbreak(bt->base);
}

static void
actual_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;
	struct bt_alert *x;
	struct account *a;
	const char *v;
	int i, n, sig, sev;

	if (!bt_ok(bt, st, res, "reading the alerts"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		if ((sig = alert_signal_find(db_res_value(res, i, 1))) < 0 ||
		    sig == ALERT_PORTFOLIO)
			continue;
		for (sev = 0; sev < SEV__COUNT; sev++)
			if (strcmp(severity_name((enum sig_severity)sev),
			    db_res_value(res, i, 2)) == 0)
				break;
		if (util_grow((void **)&bt->actual, &bt->capactual,
		    bt->nactual, sizeof(*bt->actual)) == -1 ||
		    (a = account_get(bt->table, db_res_value(res, i, 0))) ==
		    NULL) {
			bt_fail(bt, "out of memory", NULL);
			return;
		}
		x = &bt->actual[bt->nactual++];
		memset(x, 0, sizeof(*x));
		x->a = a;	/* indexed once all are read (bt_index) */
		x->signal = sig;
		x->severity = (uint8_t)(sev < SEV__COUNT ? sev : SEV_INFO);
		x->from = (int32_t)atol(db_res_value(res, i, 3));
		v = db_res_value(res, i, 4);
		x->to = v != NULL ? (int32_t)atol(v) : QUALITY_OPEN;
		if (x->to > bt->until)
			x->to = QUALITY_OPEN;	/* still firing then */
		/* As the replay's: opened on the first day or before. */
		if (x->from <= bt->since) {
			x->from = bt->since;
			x->at_start = 1;
		}
	}
	if (db_query(bt->db, "COMMIT", 0, NULL, NULL, done_cb, bt) == -1)
		bt_fail(bt, "commit", "connection lost");
}

/* After the last day: the alerts that fired with the config in force. */
static void
bt_query_actual(struct backtest *bt)
{
	char p0[24], p1[24];
	const char *pv[2] = { p0, p1 };
	int len[2];

	len[0] = snprintf(p0, sizeof(p0), "%d", bt->since);
	len[1] = snprintf(p1, sizeof(p1), "%d", bt->until);
	if (db_query(bt->db,
	    "SELECT account_id, signal, severity,"
	    " ((started_at AT TIME ZONE 'UTC')::date - date '1970-01-01'),"
	    " ((resolved_at AT TIME ZONE 'UTC')::date - date '1970-01-01')"
	    " FROM alerts WHERE account_id <> ''"
	    " AND (started_at AT TIME ZONE 'UTC')::date"
	    "   <= date '1970-01-01' + $2::integer"
	    " AND (resolved_at IS NULL OR (resolved_at AT TIME ZONE 'UTC')::date"
	    "   >= date '1970-01-01' + $1::integer)"
	    " ORDER BY started_at, id", 2, pv, len, actual_cb, bt) == -1)
		bt_fail(bt, "reading the alerts", "connection lost");
}

/*
 * The sweeps within day, before its end (us): midnight, resolve_after
 * later; none before bt->start.  Returns how many (0..2).
 */
static int
bt_sweeps(const struct backtest *bt, int32_t day, int64_t sweep[2])
{
	int64_t d0 = (int64_t)day * CW_USEC_PER_DAY;
	int64_t end = d0 + CW_USEC_PER_DAY - CW_USEC_PER_SEC;
	int ns = 0;

	if (day >= bt->start) {
		sweep[ns++] = d0;
		if (bt->cfg->alerts.resolve_after > 0 &&
		    bt->cfg->alerts.resolve_after < end - d0)
			sweep[ns++] = d0 + bt->cfg->alerts.resolve_after;
	}
	return ns;
}

/*
 * The last of those sweeps, which reads what came before it (us): the
 * rollup can stand only for what is after it.  None: d0 - 1.
 */
static int64_t
bt_cut(const struct backtest *bt, int32_t day)
{
	int64_t sweep[2];
	int ns = bt_sweeps(bt, day, sweep);

	return ns > 0 ? sweep[ns - 1] : (int64_t)day * CW_USEC_PER_DAY - 1;
}

/* The day's end: its last sweep; after until's, the stored alerts. */
static void
bt_day_end(struct backtest *bt, int32_t day)
{
	int64_t d0 = (int64_t)day * CW_USEC_PER_DAY, now = util_now_us();
	int64_t end = d0 + CW_USEC_PER_DAY - CW_USEC_PER_SEC;

	/* Today: as far as it went. */
	if (day >= bt->start && !bt->failed)
		bt_evaluate(bt, day, end < now ? end : now, 1);
	if (day == bt->until && !bt->failed)
		bt_query_actual(bt);
}

static void
events_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;
	struct bt_sub *sub;
	struct account *a;
	struct cw_event ev;
	struct cw_error err;
	int32_t day = bt->day - 1;	/* the day this result holds */
	int64_t d0 = (int64_t)day * CW_USEC_PER_DAY, ts, now = util_now_us();
	int64_t sweep[2];
	int i, n, ns, k = 0, agg;
	const char *commit;

	if (!bt_ok(bt, st, res, "reading the events"))
		return;
	bt->cur_day = day;
	agg = bt->next_agg;	/* as queued, whatever the clock says now */
	bt->nsubs = 0;
	/* The next day is read while this one is replayed. */
	bt_next_day(bt);
	ns = bt_sweeps(bt, day, sweep);
	n = db_res_ntuples(res);
	for (i = 0; i < n && !bt->failed; i++) {
		ts = strtoll(db_res_value(res, i, 3), NULL, 10);
		for (; k < ns && sweep[k] < ts && sweep[k] <= now &&
		    !bt->failed; k++)
			bt_evaluate(bt, day, sweep[k], 0);
		if (event_from_row(db_res_value(res, i, 0),
		    db_res_value(res, i, 1), db_res_value(res, i, 2), ts,
		    db_res_value(res, i, 4), db_res_value(res, i, 5), &ev,
		    &err) == -1) {
			bt->bad++;
			continue;
		}
		a = bt_apply(bt, &ev);
		/* A usage event the rollup counts too: taken off it. */
		if (agg && a != NULL && (ev.type == EV_LOGIN ||
		    ev.type == EV_FEATURE_USED) &&
		    (commit = db_res_value(res, i, 6)) != NULL &&
		    strtoll(commit, NULL, 10) <= bt->ucommit) {
			if (util_grow((void **)&bt->subs, &bt->capsubs,
			    bt->nsubs, sizeof(*bt->subs)) == -1)
				bt_fail(bt, "out of memory", NULL);
			else {
				sub = &bt->subs[bt->nsubs++];
				sub->a = a;
				sub->hour = (uint8_t)((ts - d0) /
				    (3600 * CW_USEC_PER_SEC));
				sub->login = ev.type == EV_LOGIN;
			}
		}
		event_free_fields(&ev);
	}
	for (; k < ns && sweep[k] <= now && !bt->failed; k++)
		bt_evaluate(bt, day, sweep[k], 0);
	if (!agg)
		bt_day_end(bt, day);	/* else after the rollup (agg_cb) */
}

static int
sub_cmp(const void *p, const void *q)
{
	const struct bt_sub *a = p, *b = q;

	return a->a < b->a ? -1 : a->a > b->a;
}

/* The next element of a binary one-dimensional array; 0 at its end. */
static int
bin_next(const unsigned char **p, const unsigned char *end,
    const unsigned char **v, int32_t *len)
{
	if (end - *p < 4)
		return 0;
	*len = (int32_t)get32(*p);
	*p += 4;
	if (*len < 0) {
		*v = NULL;	/* SQL NULL (never written) */
		return 1;
	}
	if (end - *p < *len)
		return 0;
	*v = *p;
	*p += *len;
	return 1;
}

/* A binary array's elements: *p past its header, NULL if malformed. */
static int
bin_array(const struct db_res *res, int row, int col,
    const unsigned char **p, const unsigned char **end)
{
	const unsigned char *v = (const unsigned char *)db_res_value(res,
	    row, col);
	int len = db_res_length(res, row, col);
	int32_t ndim;

	if (v == NULL || len < 12)
		return -1;
	*end = v + len;
	ndim = (int32_t)get32(v);
	if (ndim == 0) {
		*p = *end;
		return 0;
	}
	if (ndim != 1 || len < 20)
		return -1;
	*p = v + 20;
	return 0;
}

/*
 * An array element as a C string in buf (cap bytes), or NULL when it does
 * not fit or holds a NUL.
 */
static const char *
bin_str(const unsigned char *v, int32_t len, char *buf, size_t cap)
{
	if (v == NULL || (size_t)len >= cap || memchr(v, '\0', len) != NULL)
		return NULL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}

/*
 * One account's rollup rows [from, to) of day: the users and features
 * seen, then the counts less what the raw rows before the cut (subs[lo,
 * hi)) counted already.
 */
static int
agg_account(struct backtest *bt, const struct db_res *res, int from, int to,
    int32_t day, size_t lo, size_t hi)
{
	static char buf[65536];
	const unsigned char *p, *end, *q, *qend, *v, *w;
	struct account *a;
	int64_t events = 0, logins = 0, hours[24], last = 0, x;
	int32_t len, wlen, h;
	const char *str;
	size_t i;
	int r, c;

	memset(hours, 0, sizeof(hours));
	if ((a = account_get(bt->table, db_res_value(res, from, 0))) == NULL)
		return -1;
	for (r = from; r < to; r++) {
		events += (int32_t)get32((const unsigned char *)
		    db_res_value(res, r, 1));
		logins += (int32_t)get32((const unsigned char *)
		    db_res_value(res, r, 2));
		x = get64((const unsigned char *)db_res_value(res, r, 3));
		if (x > last)
			last = x;
		if (bin_array(res, r, 4, &p, &end) == -1 ||
		    bin_array(res, r, 5, &q, &qend) == -1)
			return -2;
		while (bin_next(&p, end, &v, &len) &&
		    bin_next(&q, qend, &w, &wlen)) {
			if (v == NULL || len != 2 || w == NULL || wlen != 4)
				return -2;
			h = (int16_t)(v[0] << 8 | v[1]);
			if (h < 0 || h > 23)
				return -2;
			hours[h] += (int32_t)get32(w);
		}
		for (c = 6; c <= 7; c++) {
			if (bin_array(res, r, c, &p, &end) == -1)
				return -2;
			while (bin_next(&p, end, &v, &len)) {
				if ((str = bin_str(v, len, buf, sizeof(buf))) ==
				    NULL)
					return -2;
				if ((c == 6 ? window_restore_user(&a->w, str,
				    day) : window_restore_feature(&a->w, str,
				    day)) == -1)
					return -1;
			}
		}
	}
	for (i = lo; i < hi; i++) {
		events--;
		if (bt->subs[i].login) {
			logins--;
			hours[bt->subs[i].hour]--;
		}
	}
	if (events < 0 || logins < 0)
		return -2;
	window_restore_day(&a->w, day);
	if (logins > 0 && window_restore_logins(&a->w, day,
	    logins > UINT16_MAX ? UINT16_MAX : (unsigned)logins) == -1)
		return -1;
	for (h = 0; h < 24; h++) {
		if (hours[h] < 0)
			return -2;
		if (hours[h] > 0 && window_restore_hour(&a->w,
		    (int64_t)day * 24 + h, hours[h] > UINT16_MAX ?
		    UINT16_MAX : (unsigned)hours[h]) == -1)
			return -1;
	}
	bt->events += events;
	bt->nrollup += events;
	if (a->last_event_at < last)
		a->last_event_at = last;
	if (events > 0 || lo < hi) {
		c = account_event_class(EV_LOGIN);
		if (c >= 0 && (bt->heard[c] == 0 || day < bt->heard[c]))
			bt->heard[c] = day;
		if (a->first_day == 0 || day < a->first_day)
			a->first_day = day;
	}
	return 0;
}

/*
 * The rollup of bt->cur_day (after its raw rows, events_cb): applied
 * after the day's last sweep within it, before the one at its end.
 */
static void
agg_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;
	struct bt_sub key;
	struct account *a;
	int32_t day = bt->cur_day;
	size_t lo, hi, matched = 0;
	int i, j, n, rc;

	if (!bt_ok(bt, st, res, "reading the usage rollup"))
		return;
	if (bt->nsubs > 1)
		qsort(bt->subs, bt->nsubs, sizeof(*bt->subs), sub_cmp);
	n = db_res_ntuples(res);
	for (i = 0; i < n && !bt->failed; i = j) {
		for (j = i + 1; j < n && strcmp(db_res_value(res, j, 0),
		    db_res_value(res, i, 0)) == 0; j++)
			;
		if ((a = account_get(bt->table, db_res_value(res, i, 0))) ==
		    NULL) {
			bt_fail(bt, "out of memory", NULL);
			return;
		}
		key.a = a;
		for (lo = 0, hi = bt->nsubs; lo < hi; ) {	/* first >= */
			size_t mid = lo + (hi - lo) / 2;

			if (sub_cmp(&bt->subs[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (hi = lo; hi < bt->nsubs && bt->subs[hi].a == a; hi++)
			;
		matched += hi - lo;
		rc = agg_account(bt, res, i, j, day, lo, hi);
		if (rc == -1)
			bt_fail(bt, "out of memory", NULL);
		else if (rc == -2)
			break;
	}
	if (!bt->failed && (i < n || matched != bt->nsubs)) {
		bt_fail(bt, "the usage rollup (usage_daily) does not match the "
		    "stored events", "run again with --raw, which reads only "
		    "the events");
		return;
	}
	bt_day_end(bt, day);
}

/*
 * Queue the queries of bt->day, if it is not past until.  A day the
 * usage rollup covers (before uday, and not today) is read as its rollup
 * (agg_cb) plus the raw rows the rollup does not hold: the rarer types
 * (events_rare), rows of other writers (events_foreign), commits after
 * ucommit, and -- so that the sweeps within the day see them -- the
 * usage events up to the last of those sweeps (bt_cut), which the
 * rollup counts too (subs).  Any other day is read raw, whole.
 */
static void
bt_next_day(struct backtest *bt)
{
#define RAW_COLS "id, account_id, type, " US("ts") ", user_id, props::text," \
    " commit_no, source"
#define DAY_RANGE " ts >= to_timestamp($1::bigint) AND ts < to_timestamp(" \
    "$2::bigint)"
#define USAGE " type IN ('login', 'feature_used')"
	static const char raw_sql[] =
	    "SELECT " RAW_COLS " FROM events WHERE" DAY_RANGE
	    " ORDER BY ts, source, id";
	static const char rest_sql[] =
	    "SELECT " RAW_COLS " FROM events WHERE" DAY_RANGE
	    " AND type NOT IN ('login', 'feature_used')"
	    " UNION ALL SELECT " RAW_COLS " FROM events WHERE" DAY_RANGE
	    " AND commit_no IS NULL AND" USAGE
	    " UNION ALL SELECT " RAW_COLS " FROM events WHERE" DAY_RANGE
	    " AND commit_no > $4::int8 AND" USAGE
	    " UNION ALL SELECT " RAW_COLS " FROM events WHERE"
	    " ts >= to_timestamp($1::bigint) AND ts <= timestamptz 'epoch' +"
	    " $3::bigint * interval '1 microsecond'"
	    " AND commit_no <= $4::int8 AND" USAGE
	    " ORDER BY 4, 8, 1";
	static const char agg_sql[] =
	    "SELECT account_id, events, logins, last_us, hours, hour_logins,"
	    " users, features FROM usage_daily WHERE day = $1::integer"
	    " ORDER BY account_id COLLATE \"C\"";	/* grouped, in any order */
	char p0[24], p1[24], p2[24], p3[24], p4[24];
	const char *pv[4] = { p0, p1, p2, p3 }, *av[1] = { p4 };
	int len[4], alen[1], agg;
	int32_t day = bt->day;

	if (day > bt->until)
		return;
	agg = day < bt->uday && day < window_day(util_now_us());
	bt->next_agg = agg;
	len[0] = snprintf(p0, sizeof(p0), "%" PRId64, (int64_t)day * 86400);
	len[1] = snprintf(p1, sizeof(p1), "%" PRId64,
	    (int64_t)(day + 1) * 86400);
	len[2] = snprintf(p2, sizeof(p2), "%" PRId64, bt_cut(bt, day));
	len[3] = snprintf(p3, sizeof(p3), "%" PRId64, bt->ucommit);
	alen[0] = snprintf(p4, sizeof(p4), "%" PRId32, day);
	bt->day++;
	if (db_query_long(bt->db, 0, agg ? rest_sql : raw_sql, agg ? 4 : 2,
	    pv, len, events_cb, bt) == -1 || (agg &&
	    db_query_long_binres(bt->db, 0, agg_sql, 1, av, alen, agg_cb,
	    bt) == -1))
		bt_fail(bt, "reading the events", "connection lost");
#undef RAW_COLS
#undef DAY_RANGE
#undef USAGE
}

/*
 * The stored data coverage, as the daemon loads it (engine.c): the first
 * day of each class and of each account, kept when retention deleted the
 * events it was learnt from.  The replay takes the earlier of these and
 * what it replays.
 */
static void
coverage_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;
	struct account *a;
	const char *kind, *key;
	int32_t day;
	int i, n, c;

	if (!bt_ok(bt, st, res, "reading the data coverage"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		kind = db_res_value(res, i, 0);
		key = db_res_value(res, i, 1);
		if ((day = (int32_t)atol(db_res_value(res, i, 2))) <= 0)
			continue;
		if (kind[0] == 'c') {
			if ((c = signal_category_parse(key)) >= 0 &&
			    (bt->heard[c] == 0 || day < bt->heard[c]))
				bt->heard[c] = day;
		} else if (kind[0] == 'a' && key[0] != '\0') {
			if ((a = account_get(bt->table, key)) == NULL) {
				bt_fail(bt, "out of memory", NULL);
				return;
			}
			if (a->first_day == 0 || day < a->first_day)
				a->first_day = day;
		}
	}
	bt_next_day(bt);
}

static void
accounts_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;
	struct account *a;
	int i, n;

	if (!bt_ok(bt, st, res, "reading the accounts"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		if ((a = account_get(bt->table, db_res_value(res, i, 0))) ==
		    NULL || account_meta_apply(a, db_res_value(res, i, 1)) ==
		    -1) {
			bt_fail(bt, "out of memory", NULL);
			return;
		}
	}
	if (db_query_long(bt->db, 0,
	    "SELECT kind, key, day - date '1970-01-01' FROM coverage"
	    " WHERE kind IN ('a', 'c')", 0, NULL, NULL, coverage_cb,
	    bt) == -1)
		bt_fail(bt, "reading the data coverage", "connection lost");
}

static void
mark_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;

	if (!bt_ok(bt, st, res, "reading the usage rollup's mark"))
		return;
	if (db_res_ntuples(res) == 1) {
		bt->ucommit = strtoll(db_res_value(res, 0, 0), NULL, 10);
		bt->uday = (int32_t)atol(db_res_value(res, 0, 1));
	}
	/* Today's metadata, in the shape account_meta_apply() takes. */
	if (db_query_long(bt->db, 0,
	    "SELECT id, json_build_object('name', name, 'plan', plan,"
	    " 'segment', segment, 'owner', owner, 'slack_channel',"
	    " slack_channel, 'seats', seats, 'onboarded_at',"
	    " to_char(onboarded_at AT TIME ZONE 'UTC',"
	    "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " 'renewal_at', to_char(renewal_at AT TIME ZONE 'UTC',"
	    "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " 'core_features', core_features)::text"
	    " FROM accounts ORDER BY id", 0, NULL, NULL, accounts_cb,
	    bt) == -1)
		bt_fail(bt, "reading the accounts", "connection lost");
}

static void
begin_cb(enum db_status st, const struct db_res *res, void *arg)
{
	struct backtest *bt = arg;

	if (!bt_ok(bt, st, res, "starting a read-only transaction"))
		return;
	if (db_query(bt->db, bt->args->raw ? "SELECT 0, 0 WHERE false" :
	    "SELECT commit_no, day FROM usage_mark", 0, NULL, NULL, mark_cb,
	    bt) == -1)
		bt_fail(bt, "reading the usage rollup's mark",
		    "connection lost");
}

static void
state_cb(int up, void *arg)
{
	struct backtest *bt = arg;

	if (!up) {
		if (bt->started)
			bt_fail(bt, "database", "connection lost");
		return;
	}
	if (bt->started)
		return;
	bt->started = 1;
	evtimer_del(bt->ev_timeout);
	/* A snapshot: every query sees the same data; nothing is written
	 * and no lock is taken beyond what a SELECT takes. */
	/* A day's sort in memory, not on disk: this session only. */
	if (db_query(bt->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
	    " SET LOCAL work_mem = '64MB'", -1, NULL, NULL, begin_cb,
	    bt) == -1)
		bt_fail(bt, "database", "connection lost");
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	bt_fail(arg, "database", "cannot connect");
}

/* ---- output ---- */

/*
 * By day, account id, signal: the accounts' indices depend on the order
 * the replay first met them (raw rows or the rollup's), their ids do not.
 * cmp_table is the replay's table while the lists are sorted and walked.
 */
static const struct account_table *cmp_table;

/* What pairs a replayed alert with a stored one. */
static int
alert_key_cmp(const struct bt_alert *a, const struct bt_alert *b)
{
	int c;

	if (a->from != b->from)
		return a->from < b->from ? -1 : 1;
	if (a->acct != b->acct && (c = strcmp(cmp_table->all[a->acct]->id,
	    cmp_table->all[b->acct]->id)) != 0)
		return c;
	return a->signal < b->signal ? -1 : a->signal > b->signal;
}

/* The order of the lists: ties of the key (two alerts of one account
 * and signal seen from since on) by when they opened and resolved. */
static int
alert_cmp(const void *p, const void *q)
{
	const struct bt_alert *a = p, *b = q;
	int c;

	if ((c = alert_key_cmp(a, b)) != 0)
		return c;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return (a->to > b->to) - (a->to < b->to);
}

/*
 * Walk the replayed and the stored alerts (both sorted) together, pairing
 * those of the same account, signal and first day: fn(arg, a, b) with
 * either side NULL when unpaired.
 */
static void
bt_merge(struct backtest *bt, void (*fn)(void *, struct bt_alert *,
    struct bt_alert *), void *arg)
{
	size_t i = 0, j = 0;
	int c;

	while (i < bt->nalerts || j < bt->nactual) {
		if (i == bt->nalerts)
			c = 1;
		else if (j == bt->nactual)
			c = -1;
		else
			c = alert_key_cmp(&bt->alerts[i], &bt->actual[j]);
		if (c == 0)
			fn(arg, &bt->alerts[i++], &bt->actual[j++]);
		else if (c < 0)
			fn(arg, &bt->alerts[i++], NULL);
		else
			fn(arg, NULL, &bt->actual[j++]);
	}
}

static void
match_fn(void *arg, struct bt_alert *a, struct bt_alert *b)
{
	if (a != NULL && b != NULL)
		a->matched = b->matched = 1;
}

static void
bt_match(struct backtest *bt)
{
	cmp_table = bt->table;
	if (bt->nalerts > 0)
		qsort(bt->alerts, bt->nalerts, sizeof(*bt->alerts), alert_cmp);
	if (bt->nactual > 0)
		qsort(bt->actual, bt->nactual, sizeof(*bt->actual), alert_cmp);
	bt_merge(bt, match_fn, NULL);
}

static void
print_fn(void *arg, struct bt_alert *a, struct bt_alert *b)
{
	struct backtest *bt = arg;
	const struct bt_alert *x = a != NULL ? a : b;
	char d1[16], d2[16], b1[40], b2[40];

	if (a != NULL)
		snprintf(b1, sizeof(b1), "%s .. %s%s",
		    day_str(a->from, d1, sizeof(d1)),
		    day_str(a->to, d2, sizeof(d2)), a->at_start ? "*" : "");
	else
		snprintf(b1, sizeof(b1), "-");
	if (b != NULL)
		snprintf(b2, sizeof(b2), "%s .. %s%s",
		    day_str(b->from, d1, sizeof(d1)),
		    day_str(b->to, d2, sizeof(d2)), b->at_start ? "*" : "");
	else
		snprintf(b2, sizeof(b2), "-");
	printf("  %-24s %-27s %-24s %-24s\n", bt->table->all[x->acct]->id,
	    alert_signal_name(x->signal), b1, b2);
}

static json_t *
alerts_json(const struct backtest *bt, const struct bt_alert *v, size_t n)
{
	json_t *arr = json_array(), *o;
	char d1[16], d2[16];
	size_t i;

	for (i = 0; i < n; i++) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:b}",
		    "account_id", bt->table->all[v[i].acct]->id,
		    "signal", alert_signal_name(v[i].signal),
		    "severity", severity_name((enum sig_severity)
		    v[i].severity),
		    "opened", day_str(v[i].from, d1, sizeof(d1)),
		    "resolved", v[i].to == QUALITY_OPEN ? json_null() :
		    json_string(day_str(v[i].to, d2, sizeof(d2))),
		    "firing_at_start", v[i].at_start,
		    "in_both", v[i].matched);
		json_array_append_new(arr, o);
	}
	return arr;
}

static void
count_per_signal(const struct bt_alert *v, size_t n, unsigned *c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!v[i].at_start)
			c[v[i].signal]++;
}

static int
bt_print(struct backtest *bt, const struct quality_report *q)
{
	unsigned would[ALERT_NSIGNALS], fired[ALERT_NSIGNALS];
	char d1[16], d2[16];
	double secs = (double)(util_mono_us() - bt->t0) / 1e6;
	size_t i, both = 0;
	json_t *o;
	char *s;
	int sig;

	memset(would, 0, sizeof(would));
	memset(fired, 0, sizeof(fired));
	count_per_signal(bt->alerts, bt->nalerts, would);
	count_per_signal(bt->actual, bt->nactual, fired);
	for (i = 0; i < bt->nalerts; i++)
		both += bt->alerts[i].matched;

	if (bt->args->format == BACKTEST_JSON) {
		json_t *per = json_array();

		for (sig = 0; sig < ALERT_NACCOUNT_SIGNALS; sig++)
			json_array_append_new(per, json_pack("{s:s, s:i, s:i}",
			    "signal", alert_signal_name(sig),
			    "would_fire", would[sig], "fired", fired[sig]));
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:o, "
		    "s:o, s:o, s:o}",
		    "config", bt->cfg->path != NULL ? bt->cfg->path : "",
		    "since", day_str(bt->since, d1, sizeof(d1)),
		    "until", day_str(bt->until, d2, sizeof(d2)),
		    "accounts", (json_int_t)q->accounts,
		    "events", (json_int_t)bt->events,
		    "events_invalid", (json_int_t)bt->bad,
		    "events_from_rollup", (json_int_t)bt->nrollup,
		    "replay_seconds", secs,
		    "per_signal", per,
		    "would_fire", alerts_json(bt, bt->alerts, bt->nalerts),
		    "fired", alerts_json(bt, bt->actual, bt->nactual),
		    "quality", quality_json(q));
		if (o == NULL || (s = json_dumps(o, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER)) == NULL) {
			json_decref(o);
			return -1;
		}
		json_decref(o);
		printf("%s\n", s);
		free(s);
		return 0;
	}

	printf("Backtest of %s over %s .. %s: %zu accounts, %" PRId64
	    " events replayed in %.1f s (%" PRId64 " of them from the daily "
	    "usage rollup)\n\n", bt->cfg->path != NULL ?
	    bt->cfg->path : "the config", day_str(bt->since, d1, sizeof(d1)),
	    day_str(bt->until, d2, sizeof(d2)), q->accounts, bt->events,
	    secs, bt->nrollup);
	printf("Alerts opened in these days (not counting those firing on "
	    "the first day):\n");
	printf("  %-27s %12s %12s\n", "signal", "would fire", "fired");
	for (sig = 0; sig < ALERT_NACCOUNT_SIGNALS; sig++)
		if (would[sig] > 0 || fired[sig] > 0)
			printf("  %-27s %12u %12u\n", alert_signal_name(sig),
			    would[sig], fired[sig]);
	printf("  %-27s %12zu %12zu\n", "all", bt->nalerts, bt->nactual);
	printf("  (\"would fire\": with this config; \"fired\": what the "
	    "daemon raised with the config in force;\n   %zu alerts are "
	    "in both, same account, signal and day)\n\n", both);

	printf("Alerts, by the day they opened (\"open\": still firing at "
	    "the end; \"-\": not raised):\n");
	printf("  %-24s %-27s %-24s %-24s\n", "account", "signal",
	    "with this config", "with the config in force");
	bt_merge(bt, print_fn, bt);
	printf("  (*: firing on the first day; it may have opened before)\n\n");
	if ((s = quality_text(q)) == NULL)
		return -1;
	fputs(s, stdout);
	free(s);
	return 0;
}

/* ---- the whole run ---- */

struct ptr_idx {
	struct account	*a;
	uint32_t	 i;
};

static int
ptr_cmp(const void *p, const void *q)
{
	const struct ptr_idx *a = p, *b = q;

	return a->a < b->a ? -1 : a->a > b->a;
}

/*
 * The accounts' indexes in table->all for what was kept by pointer (the
 * outcomes, the stored alerts): one sort, then a binary search each.
 */
static int
bt_index(struct backtest *bt, struct quality_outcome **outp)
{
	struct quality_outcome *o;
	struct ptr_idx *pi, key, *hit;
	size_t i, n = bt->table->count;

	if ((pi = calloc(n + 1, sizeof(*pi))) == NULL ||
	    (o = calloc(bt->noutcomes + 1, sizeof(*o))) == NULL) {
		free(pi);
		return -1;
	}
	for (i = 0; i < n; i++) {
		pi[i].a = bt->table->all[i];
		pi[i].i = (uint32_t)i;
	}
	if (n > 0)
		qsort(pi, n, sizeof(*pi), ptr_cmp);
	for (i = 0; i < bt->noutcomes; i++) {
		key.a = bt->outcomes[i].a;
		hit = bsearch(&key, pi, n, sizeof(*pi), ptr_cmp);
		o[i].account = hit != NULL ? hit->i : 0;
		o[i].day = bt->outcomes[i].day;
		o[i].kind = bt->outcomes[i].kind;
	}
	for (i = 0; i < bt->nactual; i++) {
		key.a = bt->actual[i].a;
		hit = bsearch(&key, pi, n, sizeof(*pi), ptr_cmp);
		bt->actual[i].acct = hit != NULL ? hit->i : 0;
	}
	free(pi);
	*outp = o;
	return 0;
}

/*
 * The lists show the alerts open on some day of [since, until]: those
 * the replay opened and resolved before since (for the quality report's
 * sake) go once the report is computed.
 */
static void
bt_compact(struct backtest *bt)
{
	size_t i, n = 0;

	for (i = 0; i < bt->nalerts; i++)
		if (bt->alerts[i].to >= bt->since)
			bt->alerts[n++] = bt->alerts[i];
	bt->nalerts = n;
}

static int
bt_report(struct backtest *bt, const struct quality_outcome *o,
    struct quality_report *q)
{
	struct quality_input in;
	struct quality_fire *f;
	size_t i, n = bt->table->count, npop = 0;
	int rc;

	if ((f = calloc(bt->nalerts + 1, sizeof(*f))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		npop += bt->table->all[i]->last_event_at != 0;
	for (i = 0; i < bt->nalerts; i++) {
		f[i].account = bt->alerts[i].acct;
		f[i].signal = bt->alerts[i].signal;
		f[i].from = bt->alerts[i].first;
		f[i].to = bt->alerts[i].to;
	}
	memset(&in, 0, sizeof(in));
	in.fires = f;
	in.nfires = bt->nalerts;
	in.statuses = bt->statuses;
	in.nstatuses = bt->nstatuses;
	in.outcomes = o;
	in.noutcomes = bt->noutcomes;
	in.naccounts = n;
	in.since = bt->since;
	in.until = bt->until;
	in.within = bt->within;
	/* The population: accounts that had events, not metadata or a
	 * coverage row alone. */
	in.population = npop;
	rc = quality_compute(&in, q);
	free(f);
	return rc;
}

/* A last-seen entry: a feature by name, a user by its day alone. */
struct seen_e {
	const char	*name;		/* NULL: a user */
	int32_t		 day;
};

static int
seen_cmp(const void *p, const void *q)
{
	const struct seen_e *a = p, *b = q;
	int c;

	if (a->name != NULL && b->name != NULL &&
	    (c = strcmp(a->name, b->name)) != 0)
		return c;
	return (a->day > b->day) - (a->day < b->day);
}

/*
 * One last-seen table, sorted (its slot order depends on arrival, as do
 * interned ids: features go by name; users, whose keys are hashed with a
 * key of this process's, by the days alone).
 */
static void
dump_seen(FILE *f, const struct window *w, enum win_seen_table which)
{
	struct seen_e *v = NULL;
	size_t n = 0, cap = 0, i;
	uint32_t pos = 0;
	uint64_t key;
	int32_t day;

	while (window_seen_next(w, which, &pos, &key, &day)) {
		if (util_grow((void **)&v, &cap, n, sizeof(*v)) == -1)
			break;
		v[n].name = which == WIN_SEEN_FEATURES ?
		    intern_str((uint32_t)key) : NULL;
		v[n].day = day;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), seen_cmp);
	for (i = 0; i < n; i++)
		if (v[i].name != NULL)
			fprintf(f, " f:%s=%d", v[i].name, (int)v[i].day);
		else
			fprintf(f, " u=%d", (int)v[i].day);
	free(v);
}

static int
acct_cmp(const void *p, const void *q)
{
	const struct account *const *a = p, *const *b = q;

	return strcmp((*a)->id, (*b)->id);
}

/*
 * For tests that compare two replays (the rollup's and --raw): with
 * CW_BACKTEST_WINDOWS=PATH set, each account's usage windows at the end
 * are written to PATH, one line per account by id -- the days, the login
 * counts of every day and hour the rings hold, the users and features
 * last seen -- in a form that does not depend on arrival order.
 */
static void
bt_dump_windows(struct backtest *bt)
{
	const char *path = getenv("CW_BACKTEST_WINDOWS");
	struct account **v;
	const struct window *w;
	size_t i, n = bt->table->count;
	int32_t day;
	int64_t h;
	FILE *f;

	if (path == NULL || *path == '\0' ||
	    (v = calloc(n + 1, sizeof(*v))) == NULL)
		return;
	if ((f = fopen(path, "w")) == NULL) {
		free(v);
		return;
	}
	memcpy(v, bt->table->all, n * sizeof(*v));
	qsort(v, n, sizeof(*v), acct_cmp);
	for (i = 0; i < n; i++) {
		w = &v[i]->w;
		fprintf(f, "%s first=%d last=%d login=%d hour=%" PRId64
		    " account_first=%d last_event_at=%" PRId64, v[i]->id,
		    w->first_day, w->last_day, w->last_login, w->last_hour,
		    v[i]->first_day, v[i]->last_event_at);
		for (day = w->last_day - WIN_DAYS + 1; day <= w->last_day;
		    day++)
			if (window_logins_on(w, day) > 0)
				fprintf(f, " d%d=%u", day,
				    window_logins_on(w, day));
		for (h = w->last_hour - WIN_HOURS + 1; h <= w->last_hour; h++)
			fprintf(f, " h=%" PRIu64, window_logins_24h(w, h));
		dump_seen(f, w, WIN_SEEN_USERS);
		dump_seen(f, w, WIN_SEEN_FEATURES);
		fputc('\n', f);
	}
	fclose(f);
	free(v);
}

int
backtest_run(const struct cw_config *cfg, const struct backtest_args *args)
{
	struct backtest bt;
	struct quality_report q;
	struct timeval tv = { CONNECT_TIMEOUT_SEC, 0 };
	struct quality_outcome *outcomes = NULL;
	int32_t today = window_day(util_now_us()), horizon;
	uint64_t within = WITHIN_DEFAULT;
	char d1[16], d2[16];
	int rc = 1;

	memset(&bt, 0, sizeof(bt));
	bt.cfg = cfg;
	bt.args = args;
	if (args->since == NULL ||
	    backtest_parse_day(args->since, &bt.since) == -1) {
		fprintf(stderr, "churnwatchd: --since must be a date "
		    "(YYYY-MM-DD)\n");
		return 2;
	}
	bt.until = today;
	if (args->until != NULL &&
	    backtest_parse_day(args->until, &bt.until) == -1) {
		fprintf(stderr, "churnwatchd: --until must be a date "
		    "(YYYY-MM-DD)\n");
		return 2;
	}
	if (args->within != NULL && util_parse_u64(args->within, 1,
	    QUALITY_WITHIN_MAX, &within) == -1) {
		fprintf(stderr, "churnwatchd: --within must be a whole number "
		    "of days from 1 to %d\n", QUALITY_WITHIN_MAX);
		return 2;
	}
	if (bt.until > today || bt.since > bt.until ||
	    bt.until - bt.since >= RANGE_MAX_DAYS) {
		fprintf(stderr, "churnwatchd: --since must not be after "
		    "--until, --until not after today, and the range at most "
		    "%d days\n", RANGE_MAX_DAYS);
		return 2;
	}
	bt.within = (int32_t)within;
	bt.warm = bt.since - SIG_HISTORY_DAYS;
	/*
	 * Retention deletes the raw events older than [ingest]
	 * horizon_days: a range that starts there would replay days whose
	 * events are gone; one whose warm-up starts there replays its first
	 * days on windows that miss their oldest events.
	 */
	horizon = today - (int32_t)cfg->horizon_days;
	if (bt.since < horizon) {
		fprintf(stderr, "churnwatchd: --since %s is older than the "
		    "[ingest] horizon_days (%u days): raw events that old are "
		    "deleted by retention; start on %s or later\n",
		    day_str(bt.since, d1, sizeof(d1)), cfg->horizon_days,
		    day_str(horizon, d2, sizeof(d2)));
		return 2;
	}
	if (bt.warm < horizon)
		fprintf(stderr, "churnwatchd: backtest: WARNING: the windows "
		    "of the first days are not full: the %d days before "
		    "--since that fill them reach past the [ingest] "
		    "horizon_days (%u days), and retention deletes raw events "
		    "older than that; signals are exact from %s on\n",
		    SIG_HISTORY_DAYS, cfg->horizon_days,
		    day_str(horizon + SIG_HISTORY_DAYS, d1, sizeof(d1)));
	/* What the quality report reads: alerts open from since - within,
	 * statuses from since - 90. */
	bt.start = bt.since - (bt.within > 90 ? bt.within : 90);
	if (bt.start < bt.warm)
		bt.start = bt.warm;
	bt.day = bt.warm;
	bt.done_day = bt.warm - 1;
	bt.uday = INT32_MIN;	/* until the mark is read */
	signal_win_rules(&cfg->signals, &bt.rules);
	bt.t0 = util_mono_us();
	if ((bt.table = account_table_new()) == NULL ||
	    (bt.base = event_base_new()) == NULL ||
	    (bt.ev_timeout = evtimer_new(bt.base, timeout_cb, &bt)) == NULL ||
	    (bt.db = db_new(bt.base, cfg->db_url, 0, state_cb, &bt)) == NULL) {
		fprintf(stderr, "churnwatchd: backtest: out of memory\n");
		goto done;
	}
	evtimer_add(bt.ev_timeout, &tv);
	event_base_dispatch(bt.base);
	if (bt.failed)
		goto done;
	if (bt_index(&bt, &outcomes) == -1) {
		fprintf(stderr, "churnwatchd: backtest: out of memory\n");
		goto done;
	}
	if (bt_report(&bt, outcomes, &q) == -1) {
		fprintf(stderr, "churnwatchd: backtest: out of memory\n");
		goto done;
	}
	bt_dump_windows(&bt);
	bt_compact(&bt);
	bt_match(&bt);
	if (bt_print(&bt, &q) == -1) {
		fprintf(stderr, "churnwatchd: backtest: out of memory\n");
		goto done;
	}
	rc = 0;
done:
	db_free(bt.db);
	if (bt.ev_timeout != NULL)
		event_free(bt.ev_timeout);
	if (bt.base != NULL)
		event_base_free(bt.base);
	account_table_free(bt.table);
	free(bt.alerts);
	free(bt.actual);
	free(bt.outcomes);
	free(bt.statuses);
	free(bt.status);
	free(bt.subs);
	free(outcomes);
	return rc;
}
