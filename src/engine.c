/*
 * engine.c -- accounts at run time (see engine.h).
 *
 * Evaluation never stalls ingest: accounts touched by a commit are queued
 * and evaluated from a zero-timeout event, at most EVAL_SLICE per loop
 * iteration; the periodic sweep over all accounts walks the table in
 * slices of SWEEP_SLICE, yielding to the loop between slices, so request
 * latency stays flat during a sweep of a million accounts.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "account.h"
#include "alerting.h"
#include "checkpoint.h"
#include "cwconfig.h"
#include "engine.h"
#include "event.h"
#include "http.h"
#include "intern.h"
#include "cwlimits.h"
#include "log.h"
#include "metrics.h"
#include "portfolio.h"
#include "report.h"
#include "score.h"
#include "signal.h"
#include "skiplist.h"
#include "store.h"
#include "util.h"
#include "view.h"
#include "window.h"

#define EVAL_SLICE	2000	/* accounts per loop iteration */
#define SWEEP_SLICE	2000
#define SCORES_BATCH	10000	/* scores per statement */
#define LIST_MAX	1000	/* rows per risk-list page */
#define COVERAGE_BATCH	10000	/* coverage rows per statement */

struct engine {
	struct event_base	*base;
	struct store		*store;
	const struct cw_config	*cfg;
	struct account_table	*table;
	struct alerting		*alerting;
	struct checkpoint	*cp;		/* snapshots of the windows */
	struct win_rules	 rules;
	int			 loaded;
	int			 legacy;	/* loaded without snapshots */

	struct account		**dirty;	/* queued for evaluation */
	size_t			 ndirty, capdirty;
	struct event		*ev_eval;

	struct event		*ev_sweep;	/* the periodic timer */
	struct event		*ev_step;	/* one slice of a sweep */
	size_t			 sweep_pos;
	int			 sweeping;
	int64_t			 sweep_now;	/* when this sweep began */
	/* Portfolio trends (SPEC 4), gathered as the sweep goes. */
	struct portfolio	*pf;
	int			 pf_ok;		/* no account was lost */

	struct account		**scoreq;	/* today's score changed */
	size_t			 nscoreq, capscoreq;
	struct metric_series	*m_eval;
	unsigned		 sweep_status[HEALTH__COUNT];
	unsigned		 sweep_signals[SIG__COUNT];
	uint32_t		 sweep_active;
	struct account		**scoring;	/* scores in flight */
	size_t			 nscoring;

	/*
	 * Data coverage: the first day heard of each class, and the
	 * accounts whose first day moved, both still to be stored.
	 */
	int32_t			 heard[SIGCAT__COUNT];
	uint8_t			 heard_dirty[SIGCAT__COUNT];
	uint8_t			 heard_writing[SIGCAT__COUNT];
	struct account		**firstq;
	size_t			 nfirstq, capfirstq;
	struct account		**firsting;	/* first days in flight */
	size_t			 nfirsting;
	int			 cov_writing;
	struct event		*ev_cov;

	/* Read from snapshots, evaluated just after ready (load_done). */
	struct account		**deferred;
	size_t			 ndeferred, capdeferred;

	/* Accounts settling after back-filled events (SPEC 5). */
	struct account		**settling;
	size_t			 nsettling, capsettling;
	struct event		*ev_settle;

	void			(*load_done)(int, void *);
	void			*load_arg;
	size_t			 load_bad;	/* rows that did not validate */
	size_t			 load_pos;	/* the next snapshot's account */
};

static void	engine_sweep_start(struct engine *);
static void	engine_queue_score(struct engine *, struct account *);
static void	engine_flush_scores(struct engine *);
static void	engine_sweep_gauges(struct engine *);
static void	engine_coverage_flush(struct engine *);

static int64_t
engine_now(void)
{
	return util_now_us();
}

/* ---- evaluation ---- */

/* Remember a changed daily score for the next flush (no table scan). */
static void
engine_queue_score(struct engine *e, struct account *a)
{
	struct account **q;
	size_t cap;

	if (e->nscoreq == e->capscoreq) {
		cap = e->capscoreq ? e->capscoreq * 2 : 1024;
		if ((q = realloc(e->scoreq, cap * sizeof(*q))) == NULL)
			return;		/* stays dirty: queued next time */
		e->scoreq = q;
		e->capscoreq = cap;
	}
	a->score_queued = 1;
	e->scoreq[e->nscoreq++] = a;
}

static void
engine_evaluate(struct engine *e, struct account *a)
{
	struct sig_result out[SIG__COUNT];
	int changed;

	int64_t now = engine_now();
	int n;

	n = account_evaluate(a, &e->cfg->signals, e->table->data_since,
	    now, out, &changed);
	if (account_table_rank(e->table, a) == -1)
		log_warnx("engine: out of memory ordering the risk list");
	metrics_series_observe(e->m_eval, (double)(util_now_us() - now) / 1e6);
	alerting_evaluated(e->alerting, a, out, n, now);
	if (e->sweeping) {
		e->sweep_status[score_status(a->score)]++;
		for (int i = 0; i < n; i++)
			e->sweep_signals[out[i].id]++;
	}
	if (changed)
		log_debug("engine: %s: score %d -> %d", a->id, a->prev_score,
		    a->score);
	if (a->score_dirty && !a->score_queued)
		engine_queue_score(e, a);
	/* What a snapshot keeps besides the windows: scores, since[]. */
	if (changed || a->score_dirty)
		checkpoint_touch(e->cp, a);
}

static void
eval_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct account *a;
	size_t n = 0;

	while (e->ndirty > 0 && n++ < EVAL_SLICE) {
		a = e->dirty[--e->ndirty];
		a->dirty = 0;
		engine_evaluate(e, a);
	}
	if (e->ndirty > 0)
		event_active(e->ev_eval, EV_TIMEOUT, 1);
}

static void
engine_mark(struct engine *e, struct account *a)
{
	struct account **d;
	size_t cap;

	if (a->dirty || !e->loaded)
		return;
	if (e->ndirty == e->capdirty) {
		cap = e->capdirty ? e->capdirty * 2 : 1024;
		if ((d = realloc(e->dirty, cap * sizeof(*d))) == NULL)
			return;		/* the sweep will get to it */
		e->dirty = d;
		e->capdirty = cap;
	}
	a->dirty = 1;
	e->dirty[e->ndirty++] = a;
	if (e->ndirty == 1)
		event_active(e->ev_eval, EV_TIMEOUT, 1);
}

/* ---- data coverage and settling ---- */

/* data_since = the earlier of what was heard and what [coverage] says. */
static void
engine_coverage_update(struct engine *e)
{
	account_data_since(e->heard, e->cfg->coverage, e->table->data_since);
}

static void
cov_cb(evutil_socket_t fd, short what, void *arg)
{
	engine_coverage_flush(arg);
}

static void
engine_coverage_later(struct engine *e)
{
	struct timeval tv = { 1, 0 };

	if (!e->cov_writing && !evtimer_pending(e->ev_cov, NULL))
		evtimer_add(e->ev_cov, &tv);
}

/* An event of day for a: move the first days it makes earlier. */
static void
engine_cover(struct engine *e, struct account *a, enum cw_event_type type,
    int32_t day)
{
	int c = account_event_class(type);

	if (day <= 0)
		return;
	if (c >= 0 && (e->heard[c] == 0 || day < e->heard[c])) {
		e->heard[c] = day;
		e->heard_dirty[c] = 1;
		engine_coverage_update(e);
		engine_coverage_later(e);
	}
	if (a->first_day == 0 || day < a->first_day) {
		a->first_day = day;
		if (!a->first_dirty && account_vec_push(&e->firstq, &e->nfirstq,
		    &e->capfirstq, a) == 0)
			a->first_dirty = 1;
		engine_coverage_later(e);
	}
}

static void
coverage_done_cb(enum store_status st, void *arg)
{
	struct engine *e = arg;
	size_t i;
	int c;

	e->cov_writing = 0;
	for (c = 0; c < SIGCAT__COUNT; c++) {
		if (st != STORE_OK && e->heard_writing[c])
			e->heard_dirty[c] = 1;
		e->heard_writing[c] = 0;
	}
	for (i = 0; i < e->nfirsting; i++) {
		if (st == STORE_OK)
			continue;
		if (!e->firsting[i]->first_dirty && account_vec_push(&e->firstq,
		    &e->nfirstq, &e->capfirstq, e->firsting[i]) == 0)
			e->firsting[i]->first_dirty = 1;
	}
	free(e->firsting);
	e->firsting = NULL;
	e->nfirsting = 0;
	if (e->nfirstq > 0 || st != STORE_OK)
		engine_coverage_later(e);
	else
		for (c = 0; c < SIGCAT__COUNT; c++)
			if (e->heard_dirty[c])
				engine_coverage_later(e);
}

/* Store what moved (one statement, bounded); once at a time. */
static void
engine_coverage_flush(struct engine *e)
{
	const char **keys = NULL;
	char *kinds = NULL;
	int32_t *days = NULL;
	struct account *a;
	size_t n = 0, max = COVERAGE_BATCH + SIGCAT__COUNT;
	int c;

	if (e->cov_writing || !e->loaded)
		return;
	if ((keys = calloc(max, sizeof(*keys))) == NULL ||
	    (kinds = calloc(max, 1)) == NULL ||
	    (days = calloc(max, sizeof(*days))) == NULL ||
	    (e->firsting = calloc(COVERAGE_BATCH,
	    sizeof(*e->firsting))) == NULL)
		goto fail;
	for (c = 0; c < SIGCAT__COUNT; c++)
		if (e->heard_dirty[c]) {
			kinds[n] = 'c';
			keys[n] = signal_category_str((enum sig_category)c);
			days[n++] = e->heard[c];
			e->heard_dirty[c] = 0;
			e->heard_writing[c] = 1;
		}
	while (e->nfirstq > 0 && e->nfirsting < COVERAGE_BATCH) {
		a = e->firstq[--e->nfirstq];
		a->first_dirty = 0;
		kinds[n] = 'a';
		keys[n] = a->id;
		days[n++] = a->first_day;
		e->firsting[e->nfirsting++] = a;
	}
	if (n == 0) {
		free(e->firsting);
		e->firsting = NULL;
		goto done;
	}
	e->cov_writing = 1;
	if (store_coverage(e->store, kinds, keys, days, n, coverage_done_cb,
	    e) == -1)
		coverage_done_cb(STORE_UNAVAILABLE, e);
	goto done;
fail:
	free(e->firsting);
	e->firsting = NULL;
	e->nfirsting = 0;
	engine_coverage_later(e);
done:
	free(keys);
	free(kinds);
	free(days);
}

static void
settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct timeval tv = { 1, 0 };
	struct account *a;
	int64_t now = engine_now();
	size_t i = 0;

	while (i < e->nsettling) {
		a = e->settling[i];
		if (a->settle_until > now) {
			i++;
			continue;
		}
		/* Settled: what is still active is notified now. */
		a->settle_until = 0;
		a->settling = 0;
		a->settle_meta = 0;
		e->settling[i] = e->settling[--e->nsettling];
		engine_mark(e, a);
	}
	if (e->nsettling > 0)
		evtimer_add(e->ev_settle, &tv);
}

/* a takes a back-fill (or its first metadata): hold its notifications. */
static void
engine_settle(struct engine *e, struct account *a, int64_t now)
{
	struct timeval tv = { 1, 0 };

	if (e->cfg->alerts.settle <= 0)
		return;
	a->settle_until = now + e->cfg->alerts.settle;
	if (a->settling)
		return;
	if (account_vec_push(&e->settling, &e->nsettling, &e->capsettling,
	    a) == -1) {
		a->settle_until = 0;	/* cannot track it: no hold */
		return;
	}
	a->settling = 1;
	if (!evtimer_pending(e->ev_settle, NULL))
		evtimer_add(e->ev_settle, &tv);
}

void
engine_apply(struct engine *e, const struct cw_event *ev, size_t n,
    const uint8_t *fresh)
{
	struct account *a;
	int64_t now = util_now_us();
	size_t i;

	for (i = 0; i < n; i++) {
		/* No account (a Segment message nobody was grouped with):
		 * stored, counted in no window. */
		if (fresh[i] != STORE_FRESH || ev[i].account_id[0] == '\0')
			continue;
		if ((a = account_get(e->table, ev[i].account_id)) == NULL ||
		    window_apply(&a->w, &ev[i], &e->rules) == -1) {
			log_warnx("engine: out of memory applying an event");
			continue;
		}
		a->pending = 0;
		a->last_event_at = now;
		checkpoint_touch(e->cp, a);
		engine_cover(e, a, ev[i].type, window_day(ev[i].ts));
		if (now - ev[i].ts > e->cfg->alerts.backfill_age) {
			a->settle_meta = 0;
			engine_settle(e, a, now);
		} else if (a->settle_meta) {
			/* Live events, no history: nothing to wait for. */
			a->settle_meta = 0;
			a->settle_until = 0;
		}
		engine_mark(e, a);
	}
}

int
engine_admit(struct engine *e, const struct cw_event *ev, size_t n,
    const char *const *accounts, size_t naccounts,
    const char *const *members, size_t nmembers, const char **limit,
    struct cw_error *err)
{
	struct limits_request rq;

	rq.ev = ev;
	rq.nev = n;
	rq.accounts = accounts;
	rq.naccounts = naccounts;
	rq.members = members;
	rq.nmembers = nmembers;
	rq.backlog = alerting_backlog(e->alerting);
	return limits_admit(e->table, &e->cfg->limits, &rq, limit, err);
}

void
engine_account_meta(struct engine *e, const char *id, const char *json)
{
	struct account *a;

	if ((a = account_get(e->table, id)) == NULL ||
	    account_meta_apply(a, json) == -1) {
		log_warnx("engine: cannot apply metadata of an account");
		return;
	}
	a->pending = 0;
	/* Metadata before any event: what the events will say is not
	 * known yet, so nothing is notified until they have settled. */
	if (a->first_day == 0) {
		engine_settle(e, a, engine_now());
		a->settle_meta = a->settle_until != 0;
	}
	engine_mark(e, a);
}

/* ---- health scores in PostgreSQL ---- */

static void
scores_done_cb(enum store_status st, void *arg)
{
	struct engine *e = arg;
	size_t i;

	if (st != STORE_OK)
		for (i = 0; i < e->nscoring; i++) {
			e->scoring[i]->score_dirty = 1;	/* next flush */
			engine_queue_score(e, e->scoring[i]);
		}
	free(e->scoring);
	e->scoring = NULL;
	e->nscoring = 0;
	if (st == STORE_OK && e->nscoreq > 0)
		engine_flush_scores(e);		/* the rest, batch by batch */
}

/* Store the day's changed scores (one statement, bounded). */
static void
engine_flush_scores(struct engine *e)
{
	struct account *a;
	const char **ids;
	int32_t *days;
	int *scores;
	size_t i, n = 0;

	if (e->scoring != NULL)
		return;		/* one at a time */
	ids = calloc(SCORES_BATCH, sizeof(*ids));
	days = calloc(SCORES_BATCH, sizeof(*days));
	scores = calloc(SCORES_BATCH, sizeof(*scores));
	e->scoring = calloc(SCORES_BATCH, sizeof(*e->scoring));
	if (ids == NULL || days == NULL || scores == NULL ||
	    e->scoring == NULL)
		goto done;
	while (e->nscoreq > 0 && n < SCORES_BATCH) {
		a = e->scoreq[--e->nscoreq];
		a->score_queued = 0;
		if (!a->score_dirty)
			continue;
		ids[n] = a->id;
		days[n] = a->score_day;
		scores[n] = a->scores[0];
		e->scoring[n++] = a;
		a->score_dirty = 0;
	}
	e->nscoring = n;
	if (n > 0 && store_scores(e->store, ids, days, scores, n,
	    scores_done_cb, e) == 0) {
		ids[0] = NULL;	/* sent */
		goto keep;
	}
	for (i = 0; i < n; i++) {
		e->scoring[i]->score_dirty = 1;
		engine_queue_score(e, e->scoring[i]);
	}
done:
	free(e->scoring);
	e->scoring = NULL;
	e->nscoring = 0;
keep:
	free(ids);
	free(days);
	free(scores);
}

/* ---- the sweep ---- */

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	const struct portfolio_trend *tr;
	struct account *a;
	size_t n = 0, ntr;
	int64_t now;

	/* Pending accounts (admitted, nothing applied) are not shown. */
	while (e->sweep_pos < e->table->count && n++ < SWEEP_SLICE) {
		a = e->table->all[e->sweep_pos++];
		if (a->pending)
			continue;
		engine_evaluate(e, a);
		/* The same pass reads its records for portfolio trends. */
		if (e->pf_ok && portfolio_add(e->pf, a->id, &a->w,
		    a->settle_until > e->sweep_now) == -1) {
			log_warnx("engine: out of memory for portfolio trends; "
			    "none this sweep");
			e->pf_ok = 0;
		}
	}
	if (e->sweep_pos < e->table->count) {
		event_active(e->ev_step, EV_TIMEOUT, 1);
		return;
	}
	e->sweeping = 0;
	engine_sweep_gauges(e);
	engine_flush_scores(e);
	now = engine_now();
	/* A pass that missed accounts would resolve what they hold up. */
	if (e->pf_ok) {
		ntr = portfolio_trends(e->pf, 1, &tr);
		alerting_portfolio(e->alerting, e->table, tr, ntr, now);
	}
	alerting_tick(e->alerting, e->table, now);
}

/* After a full sweep: accounts by status and active signals. */
static void
engine_sweep_gauges(struct engine *e)
{
	const char *label[1];
	int i;

	metrics_set(cw_metrics, M_ACCOUNTS, NULL, (double)e->table->count);
	for (i = 0; i < HEALTH__COUNT; i++) {
		label[0] = score_status_name((enum health_status)i);
		metrics_set(cw_metrics, M_ACCOUNTS_BY_STATUS, label,
		    e->sweep_status[i]);
	}
	for (i = 0; i < SIG__COUNT; i++) {
		label[0] = signal_name((enum sig_id)i);
		metrics_set(cw_metrics, M_SIGNALS_ACTIVE, label,
		    e->sweep_signals[i]);
	}
}

static void
engine_sweep_start(struct engine *e)
{
	if (e->sweeping || !e->loaded)
		return;
	memset(e->sweep_status, 0, sizeof(e->sweep_status));
	memset(e->sweep_signals, 0, sizeof(e->sweep_signals));
	e->sweeping = 1;
	e->sweep_pos = 0;
	e->sweep_now = engine_now();
	portfolio_begin(e->pf, window_day(e->sweep_now),
	    e->cfg->portfolio.days);
	e->pf_ok = 1;
	event_active(e->ev_step, EV_TIMEOUT, 1);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct timeval tv = { e->cfg->signals.interval, 0 };

	engine_sweep_start(e);
	evtimer_add(e->ev_sweep, &tv);
}

/* ---- life cycle ---- */

struct engine *
engine_new(struct event_base *base, struct store *store,
    const struct cw_config *cfg)
{
	struct engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->base = base;
	e->store = store;
	if ((e->table = account_table_new()) == NULL ||
	    (e->pf = portfolio_new()) == NULL ||
	    (e->cp = checkpoint_new(base, store, e->table)) == NULL ||
	    (e->alerting = alerting_new(base, store, cfg)) == NULL) {
		checkpoint_free(e->cp);
		portfolio_free(e->pf);
		account_table_free(e->table);
		free(e);
		return NULL;
	}
	checkpoint_classes(e->cp, e->heard);
	e->m_eval = metrics_series(cw_metrics, M_EVALUATION_SECONDS, NULL);
	e->ev_eval = event_new(base, -1, 0, eval_cb, e);
	e->ev_sweep = evtimer_new(base, sweep_cb, e);
	e->ev_step = event_new(base, -1, 0, step_cb, e);
	e->ev_cov = evtimer_new(base, cov_cb, e);
	e->ev_settle = evtimer_new(base, settle_cb, e);
	engine_set_config(e, cfg);
	return e;
}

void
engine_set_config(struct engine *e, const struct cw_config *cfg)
{
	e->cfg = cfg;
	signal_win_rules(&cfg->signals, &e->rules);
	engine_coverage_update(e);
	if (e->alerting != NULL)
		alerting_set_config(e->alerting, cfg);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	event_free(e->ev_eval);
	event_free(e->ev_sweep);
	event_free(e->ev_step);
	event_free(e->ev_cov);
	event_free(e->ev_settle);
	free(e->firstq);
	free(e->firsting);
	free(e->settling);
	free(e->deferred);
	free(e->dirty);
	free(e->scoreq);
	free(e->scoring);
	alerting_free(e->alerting);
	checkpoint_free(e->cp);
	portfolio_free(e->pf);
	account_table_free(e->table);
	free(e);
}

void
engine_flush(struct engine *e, void (*done)(int, void *), void *arg)
{
	if (!e->loaded) {
		done(1, arg);
		return;
	}
	checkpoint_flush(e->cp, done, arg);
}

int
engine_loaded(const struct engine *e)
{
	return e->loaded;
}

size_t
engine_accounts(const struct engine *e)
{
	return e->table->count;
}

/* ---- recovery ---- */

static void
load_account(void *arg, const char *id, const struct account_meta *m)
{
	struct engine *e = arg;
	struct account *a;

	if ((a = account_get(e->table, id)) == NULL ||
	    account_meta_set(a, m) == -1)
		e->load_bad++;
}

static void
load_daily(void *arg, const char *id, int32_t day, unsigned logins)
{
	struct engine *e = arg;
	struct account *a;

	if (id[0] == '\0')
		return;

	if ((a = account_get(e->table, id)) != NULL) {
		window_restore_logins(&a->w, day, logins);
		if (logins > 0)
			engine_cover(e, a, EV_LOGIN, day);
	}
}

static void
load_hourly(void *arg, const char *id, int64_t hour, unsigned logins)
{
	struct engine *e = arg;
	struct account *a;

	if (id[0] == '\0')
		return;

	if ((a = account_get(e->table, id)) != NULL)
		window_restore_hour(&a->w, hour, logins);
}

static void
load_seen(void *arg, const char *id, char kind, const char *key,
    int32_t day)
{
	struct engine *e = arg;
	struct account *a;

	if (id[0] == '\0' || (a = account_get(e->table, id)) == NULL)
		return;
	if (kind == 'u')
		window_restore_user(&a->w, key, day);
	else if (kind == 'f')
		window_restore_feature(&a->w, key, day);
}

static void
load_event(void *arg, const char *id, const char *account_id,
    const char *type, int64_t ts, const char *user_id, const char *props)
{
	struct engine *e = arg;
	struct cw_event ev;
	struct cw_error err;
	struct account *a;

	if (event_from_row(id, account_id, type, ts, user_id, props, &ev,
	    &err) == -1) {
		e->load_bad++;
		return;
	}
	if ((a = account_get(e->table, account_id)) != NULL) {
		window_apply(&a->w, &ev, &e->rules);
		checkpoint_touch(e->cp, a);
		/* The coverage table may miss what a crash did not store. */
		engine_cover(e, a, ev.type, window_day(ev.ts));
	}
	event_free_fields(&ev);
}

static void
load_score(void *arg, const char *id, int32_t day, int score)
{
	struct engine *e = arg;
	struct account *a;

	if ((a = account_get(e->table, id)) != NULL)
		account_score_restore(a, day, score);
}

static void
load_alert(void *arg, const struct store_alert *r, int64_t acked_at)
{
	struct engine *e = arg;

	alerting_load_alert(e->alerting, e->table, r, acked_at);
}

static void
load_notification(void *arg, const char *id, const char *receiver,
    const char *body)
{
	struct engine *e = arg;

	alerting_load_notification(e->alerting, id, receiver, body);
}

static void
load_silence(void *arg, uint64_t id, const char *account_id,
    const char *signal, const char *category, int64_t until,
    int expire_on_resolve)
{
	struct engine *e = arg;

	alerting_load_silence(e->alerting, id, account_id, signal, category,
	    until, expire_on_resolve);
}

static void
load_coverage(void *arg, char kind, const char *key, int32_t day)
{
	struct engine *e = arg;
	struct account *a;
	int c;

	if (day <= 0)
		return;
	if (kind == 'c') {
		if ((c = signal_category_parse(key)) >= 0 &&
		    (e->heard[c] == 0 || day < e->heard[c]))
			e->heard[c] = day;
	} else if (kind == 'a' && key[0] != '\0' &&
	    (a = account_get(e->table, key)) != NULL &&
	    (a->first_day == 0 || day < a->first_day))
		a->first_day = day;
}

/* Loaded, and (on a first start) the first snapshots stored. */
static void
load_ready(int ok, void *arg)
{
	struct engine *e = arg;
	struct timeval tv = { e->cfg->signals.interval, 0 };
	size_t i;

	e->loaded = 1;
	alerting_loaded(e->alerting, e->table);
	/* Evaluated first: events may already touch some of them. */
	for (i = e->ndeferred; i > 0; i--)
		engine_mark(e, e->deferred[i - 1]);
	free(e->deferred);
	e->deferred = NULL;
	e->ndeferred = e->capdeferred = 0;
	log_notice("engine: loaded accounts=%zu", e->table->count);
	evtimer_add(e->ev_sweep, &tv);
	engine_flush_scores(e);
	engine_coverage_flush(e);
	checkpoint_start(e->cp, e->cfg->db_snapshot_interval);
	e->load_done(ok, e->load_arg);
}

static void
load_marks(void *arg, int legacy)
{
	struct engine *e = arg;

	e->legacy = legacy;
}

static int
load_snapshot(void *arg, const char *id, const void *image, size_t len)
{
	struct engine *e = arg;
	struct account *a;
	size_t k;

	if (id[0] == '\0')
		return -1;
	/*
	 * Accounts and snapshots both come in id order: the account is
	 * most likely the next one loaded (or the one after, when one has
	 * no snapshot), which spares a hash lookup.  Any order is correct.
	 */
	for (k = e->load_pos; k < e->table->count && k < e->load_pos + 2; k++)
		if (strcmp(e->table->all[k]->id, id) == 0) {
			e->load_pos = k + 1;
			return checkpoint_restore(e->table->all[k], image,
			    len);
		}
	if ((a = account_get(e->table, id)) == NULL)
		return -1;
	return checkpoint_restore(a, image, len);
}

static void
load_done(void *arg, int ok)
{
	struct engine *e = arg;
	struct account *a;
	int64_t t0;
	size_t i;

	if (ok) {
		if (e->load_bad > 0)
			log_warnx("engine: %zu stored rows did not validate "
			    "and count in no window", e->load_bad);
		/* A first day lost to a crash before it was stored: the
		 * window still knows an early enough one. */
		for (i = 0; i < e->table->count; i++) {
			a = e->table->all[i];
			if (a->w.first_day > 0 && (a->first_day == 0 ||
			    a->w.first_day < a->first_day)) {
				a->first_day = a->w.first_day;
				if (!a->first_dirty && account_vec_push(&e->firstq,
				    &e->nfirstq, &e->capfirstq, a) == 0)
					a->first_dirty = 1;
			}
		}
		engine_coverage_update(e);
		/*
		 * Evaluate before saying ready what the load changed (the
		 * rollups' windows, replayed or rebuilt accounts).  An
		 * account read from its snapshot alone is as its last
		 * evaluation left it: it is ranked now and evaluated just
		 * after ready, through the evaluation queue, behind the
		 * accounts that live events touch.
		 */
		t0 = util_now_us();
		e->ndeferred = 0;
		for (i = 0; i < e->table->count; i++) {
			a = e->table->all[i];
			if (!e->legacy && a->evaluated && !a->snap_dirty &&
			    account_vec_push(&e->deferred, &e->ndeferred,
			    &e->capdeferred, a) == 0)
				continue;
			engine_evaluate(e, a);
		}
		if (account_table_rank_all(e->table, e->deferred,
		    e->ndeferred) == -1)
			log_warnx("engine: out of memory ordering the risk "
			    "list");
		log_debug("engine: first evaluation accounts=%zu deferred=%zu "
		    "ms=%lld", e->table->count - e->ndeferred, e->ndeferred,
		    (long long)((util_now_us() - t0) / 1000));
		if (e->legacy) {
			/* Nothing may commit before the first snapshots. */
			checkpoint_all(e->cp, load_ready, e);
			return;
		}
		load_ready(1, e);
		return;
	}
	e->load_done(ok, e->load_arg);
}

static void
load_member(void *arg, const char *user_id, const char *account_id)
{
	struct engine *e = arg;

	account_member_set(e->table, user_id, account_id);
}

static void
load_slack_message(void *arg, uint64_t alert_id, const char *receiver,
    const char *channel, const char *ts)
{
	struct engine *e = arg;

	alerting_load_slack_message(e->alerting, alert_id, receiver, channel,
	    ts);
}

static const struct store_load_ops load_ops = {
	.account = load_account, .daily = load_daily, .hourly = load_hourly,
	.seen = load_seen, .event = load_event, .score = load_score,
	.alert = load_alert, .notification = load_notification,
	.silence = load_silence, .member = load_member,
	.slack_message = load_slack_message, .coverage = load_coverage,
	.marks = load_marks, .snapshot = load_snapshot, .done = load_done
};

int
engine_load(struct engine *e, void (*done)(int, void *), void *arg)
{
	e->load_done = done;
	e->load_arg = arg;
	e->load_bad = 0;
	e->load_pos = 0;
	return store_load(e->store, &load_ops,
	    window_day(engine_now()) - WIN_DAYS + 1, e);
}

/* ---- JSON views (view.c) ---- */

static void
engine_view_ctx(const struct engine *e, struct view_ctx *vc)
{
	vc->cfg = e->cfg;
	vc->data_since = e->table->data_since;
	vc->now = engine_now();
}

char *
engine_account_json(struct engine *e, const char *id)
{
	struct sig_result out[SIG__COUNT];
	struct view_ctx vc;
	struct account *a;
	json_t *o;
	int n, changed;
	char *s;

	if ((a = account_find(e->table, id)) == NULL || a->pending)
		return NULL;
	engine_view_ctx(e, &vc);
	n = account_evaluate(a, &e->cfg->signals, e->table->data_since,
	    vc.now, out, &changed);
	(void)account_table_rank(e->table, a);
	o = view_account(&vc, a, out, n);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* ---- the risk list ---- */

/*
 * The list walks the table's ordered indexes (account_table_rank keeps
 * them on every evaluation) instead of sorting every account per
 * request: a page costs O(log n) to find its start plus one step per
 * account it examines.  Without owner or segment filters that is the
 * page itself (status is a range of scores: by_score starts and stops
 * at its ends).  With them, or with status under sort=id, the walk skips
 * accounts that do not match, at most LIST_SCAN_MAX a page: a page that
 * runs out of them may be short, even empty, and still carry a
 * next_cursor, the key of the last account examined.
 */
#define LIST_SCAN_MAX	50000

enum list_order { BY_SCORE, BY_ID, BY_RENEWAL };

/*
 * The cursor key of a: "<score>:<id>" for sort=score, ":<id>" for id,
 * "r<renewal_at us>:<id>" for renewal.
 */
static void
list_cursor(const struct account *a, enum list_order order, char *buf,
    size_t size)
{
	if (order == BY_SCORE)
		snprintf(buf, size, "%d:%s", a->ranked_score, a->id);
	else if (order == BY_RENEWAL)
		snprintf(buf, size, "r%" PRId64 ":%s", a->ranked_renewal,
		    a->id);
	else
		snprintf(buf, size, ":%s", a->id);
}

static int
list_match(const struct account *a, int status,
    const struct engine_list_query *q)
{
	if (status >= 0 && (int)score_status(a->ranked_score) != status)
		return 0;
	if (q->owner != NULL && (a->owner == NULL ||
	    strcmp(a->owner, q->owner) != 0))
		return 0;
	if (q->segment != NULL && (a->segment == NULL ||
	    strcmp(a->segment, q->segment) != 0))
		return 0;
	return 1;
}

/*
 * The first node of the page: after the cursor, or from the lowest score
 * of the status (sort=score), or the first.  *smax: the highest score
 * the walk may reach (sort=score with status), else 255.
 */
static struct skiplist_node *
list_start(const struct account_table *t, enum list_order order, int status,
    int64_t ckey, const char *cid, int *smax)
{
	struct account probe;
	int s, smin = -1, by_score = order == BY_SCORE;
	int cscore = (int)(ckey > 256 ? 256 : ckey);

	*smax = 255;
	if (order == BY_RENEWAL) {
		if (cid == NULL)
			return skiplist_first(t->by_renewal);
		memset(&probe, 0, sizeof(probe));
		probe.ranked_renewal = ckey;
		probe.id = (char *)cid;
		return skiplist_after(t->by_renewal, &probe);
	}
	if (by_score && status >= 0) {
		for (s = 0; s <= 100; s++)
			if ((int)score_status(s) == status) {
				if (smin < 0)
					smin = s;
				*smax = s;
			}
	}
	memset(&probe, 0, sizeof(probe));
	if (!by_score) {
		if (cid == NULL)
			return skiplist_first(t->by_id);
		probe.id = (char *)cid;
		return skiplist_after(t->by_id, &probe);
	}
	if (cid != NULL && cscore >= smin) {
		probe.ranked_score = (uint8_t)(cscore > 255 ? 255 : cscore);
		probe.id = (char *)cid;
		if (cscore > 255)
			return NULL;
		return skiplist_after(t->by_score, &probe);
	}
	if (smin < 0)
		return skiplist_first(t->by_score);
	probe.ranked_score = (uint8_t)smin;
	probe.id = (char *)"";	/* before every id (ids are not empty) */
	return skiplist_after(t->by_score, &probe);
}

char *
engine_list_json(struct engine *e, const struct engine_list_query *q,
    const char **err)
{
	struct skiplist_node *node;
	struct account *a, *last = NULL, *seen = NULL;
	json_t *o, *list;
	uint64_t limit = 50;
	size_t shown = 0, scanned = 0;
	enum list_order order = BY_SCORE;
	int status = -1, by_score = 1, smax, more = 0;
	int64_t ckey = -1;
	struct view_ctx vc;
	const char *cid = NULL;
	char *s, *end, cursor[CW_ACCOUNT_MAX + 32];

	if (q->status != NULL && (status = score_status_parse(q->status)) == -1) {
		*err = "status must be green, yellow or red";
		return NULL;
	}
	if (q->sort != NULL && strcmp(q->sort, "score") != 0) {
		if (strcmp(q->sort, "id") == 0)
			order = BY_ID;
		else if (strcmp(q->sort, "renewal") == 0)
			order = BY_RENEWAL;
		else {
			*err = "sort must be score, id or renewal";
			return NULL;
		}
		by_score = 0;
	}
	if (q->limit != NULL &&
	    util_parse_u64(q->limit, 1, LIST_MAX, &limit) == -1) {
		*err = "limit must be a whole number from 1 to 1000";
		return NULL;
	}
	if (q->cursor != NULL) {
		cid = strchr(q->cursor, ':');
		if (order == BY_RENEWAL && q->cursor[0] == 'r' && cid != NULL) {
			errno = 0;
			ckey = strtoll(q->cursor + 1, &end, 10);
			if (errno != 0 || end != cid || end == q->cursor + 1)
				cid = NULL;
		}
		if (cid == NULL || (order == BY_SCORE &&
		    (ckey = atoi(q->cursor)) < 0) ||
		    (order == BY_ID && cid != q->cursor) ||
		    (order == BY_RENEWAL && q->cursor[0] != 'r')) {
			*err = "cursor is not one this endpoint returned";
			return NULL;
		}
		cid++;
	}
	engine_view_ctx(e, &vc);
	list = json_array();
	for (node = list_start(e->table, order, status, ckey, cid, &smax);
	    node != NULL; node = skiplist_next(node)) {
		a = skiplist_item(node);
		if (by_score && a->ranked_score > smax)
			break;		/* past the status's scores */
		if (scanned++ == LIST_SCAN_MAX) {
			more = 1;	/* go on from the last examined */
			break;
		}
		seen = a;
		if (!list_match(a, status, q))
			continue;
		if (shown == limit) {
			more = 1;
			break;
		}
		last = a;
		shown++;
		json_array_append_new(list, view_list_row(&vc, a));
	}
	if (more && (shown == limit ? last : seen) != NULL) {
		list_cursor(shown == limit ? last : seen, order, cursor,
		    sizeof(cursor));
		o = json_pack("{s:o, s:s}", "accounts", list, "next_cursor",
		    cursor);
	} else
		o = json_pack("{s:o, s:n}", "accounts", list, "next_cursor");
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s == NULL)
		*err = "out of memory";
	return s;
}

int
engine_api(struct engine *e, int call, const char *id, const char *body,
    size_t len, const char *const q[3], const char *token,
    void (*reply)(void *, unsigned, char *, const char *, const char *),
    void *handle)
{
	if (call == HTTP_API_REPORT_QUALITY || call == HTTP_API_REPORT_MOVERS)
		return report_api(e->base, e->store, call, q, reply, handle);
	return alerting_api(e->alerting, e->table, call, id, body, len, q,
	    token, reply, handle);
}

int
engine_slack_ack(struct engine *e, uint64_t alert_id, const char *by,
    void (*reply)(void *, unsigned, char *, const char *, const char *),
    void *handle)
{
	return alerting_slack_ack(e->alerting, e->table, alert_id, by, reply,
	    handle);
}

int
engine_slack_snooze(struct engine *e, const char *account_id,
    const char *signal, unsigned days, const char *by, const char *reason,
    void (*reply)(void *, unsigned, char *, const char *, const char *),
    void *handle)
{
	return alerting_slack_snooze(e->alerting, e->table, account_id, signal,
	    days, by, reason, reply, handle);
}

int
engine_slack_respond(struct engine *e, const char *url, const char *json)
{
	return alerting_slack_respond(e->alerting, url, json);
}

size_t
engine_backlog(const struct engine *e)
{
	return alerting_backlog(e->alerting);
}

const char *
engine_member_find(const struct engine *e, const char *user_id)
{
	return account_member_find(e->table, user_id);
}

void
engine_member_set(struct engine *e, const char *user_id,
    const char *account_id)
{
	if (account_member_set(e->table, user_id, account_id) == -1)
		log_warnx("engine: out of memory recording a membership");
}
