/*
 * ingest.c -- from an accepted request to durable storage (see ingest.h
 * for the rules).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "account.h"
#include "event.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "segment.h"
#include "spool.h"
#include "store.h"

/* Back-pressure: refuse ingest while this many batches' worth wait. */
#define PENDING_BATCHES_MAX	4

/* A spooled append waiting for the shared fdatasync. */
struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	const struct cw_event	*ev;
	size_t			 n;
	store_ingest_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(waiter_list, waiter);

struct ingest {
	struct event_base	*base;
	struct ingest_sink	 direct;
	struct ingest_sink	 spooler;	/* over spool, when there is one */
	struct spool		*spool;
	struct store		*store;
	size_t			 max_batch;
	struct ingest_ops	 ops;
	int			 stopping;
	int			 draining;	/* a chunk is in flight */
	struct event		*ev_timer;	/* drain, resolve */
	struct event		*ev_sync;	/* the shared fdatasync */
	struct waiter_list	 waiting;
	size_t			 nwaiting;	/* events */
};

/* One request on the events path. */
struct ireq {
	struct ingest		*ig;
	void			*handle;
	const char		*source;
};

static int
sink_put(const struct ingest_sink *s, const char *source,
    const struct cw_event *ev, size_t n, store_ingest_cb cb, void *arg)
{
	return s->put(s->self, source, ev, n, cb, arg);
}

/* ---- the store as a sink ---- */

static int
store_put(void *self, const char *source, const struct cw_event *ev,
    size_t n, store_ingest_cb cb, void *arg)
{
	return store_ingest(self, source, ev, n, cb, arg);
}

static size_t
store_pending_(const void *self)
{
	return store_pending(self);
}

static int
store_up_(const void *self)
{
	return store_is_up(self);
}

void
ingest_store_sink(struct store *st, struct ingest_sink *out)
{
	out->put = store_put;
	out->pending = store_pending_;
	out->up = store_up_;
	out->self = st;
}

/* ---- the spool as a sink: appends of one loop turn share a sync ---- */

static void
spool_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *ig = arg;
	struct waiter_list done = TAILQ_HEAD_INITIALIZER(done);
	struct waiter *w;
	uint8_t *fresh;
	int ok;

	/* One fdatasync covers every record written before it. */
	ok = spool_sync(ig->spool) == 0;
	TAILQ_CONCAT(&done, &ig->waiting, entry);
	ig->nwaiting = 0;
	while ((w = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, w, entry);
		if ((fresh = malloc(w->n ? w->n : 1)) != NULL) {
			memset(fresh, ok ? STORE_FRESH : STORE_UNDECIDED,
			    w->n);
			w->cb(ok ? STORE_OK : STORE_UNAVAILABLE, w->ev, w->n,
			    fresh, NULL, w->arg);
			free(fresh);
		} else
			w->cb(STORE_UNAVAILABLE, w->ev, w->n, NULL, NULL,
			    w->arg);
		free(w);
	}
}

static int
spool_put(void *self, const char *source, const struct cw_event *ev,
    size_t n, store_ingest_cb cb, void *arg)
{
	struct ingest *ig = self;
	struct waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	if (spool_write(ig->spool, source, ev, n) == -1) {
		free(w);
		return -1;		/* full or failed: 503 */
	}
	w->ev = ev;
	w->n = n;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&ig->waiting, w, entry);
	ig->nwaiting += n;
	/* Answered from the loop, after the other appends of this turn. */
	if (!event_pending(ig->ev_sync, EV_TIMEOUT, NULL))
		event_active(ig->ev_sync, EV_TIMEOUT, 0);
	return 0;
}

static size_t
spool_pending_(const void *self)
{
	const struct ingest *ig = self;

	return ig->nwaiting;
}

static int
spool_up_(const void *self)
{
	const struct ingest *ig = self;

	return spool_has_room(ig->spool, 1);
}

/* ---- the events path ---- */

/* A request of undecided events the spool took after the direct path. */
struct respool {
	struct ireq		*req;
	struct cw_event		*rest;
	uint8_t			*ack;
	char			**why;
	size_t			 n;
};

static void
respool_free(struct respool *rs)
{
	size_t i;

	for (i = 0; rs->why != NULL && i < rs->n; i++)
		free(rs->why[i]);
	free(rs->why);
	free(rs->rest);
	free(rs->ack);
	free(rs->req);
	free(rs);
}

static void
respooled_cb(enum store_status st, const struct cw_event *ev, size_t n,
    const uint8_t *fresh, const char *const *why, void *arg)
{
	struct respool *rs = arg;
	struct ingest *ig = rs->req->ig;

	if (st == STORE_OK)
		ig->ops.events_done(rs->req->handle, 1, rs->ack,
		    (const char *const *)rs->why);
	else
		ig->ops.events_done(rs->req->handle, 0, NULL, NULL);
	respool_free(rs);
}

static void
committed_cb(enum store_status st, const struct cw_event *ev, size_t n,
    const uint8_t *fresh, const char *const *why, void *arg)
{
	struct ireq *req = arg;
	struct ingest *ig = req->ig;
	struct respool *rs;
	size_t i, k = 0;

	/* Committed: the windows learn of it now, and never before. */
	if (fresh != NULL)
		ig->ops.apply(ig->ops.arg, ev, n, fresh);
	if (st == STORE_OK) {
		ig->ops.events_done(req->handle, 1, fresh, why);
		free(req);
		return;
	}
	/*
	 * Not committed, or unknown (the connection dropped under the
	 * commit): the spool takes the undecided events; if they did
	 * commit, the drain counts them as duplicates (and the store's
	 * resolution of the unknown commit counts them once).
	 */
	if (ig->spool == NULL || fresh == NULL ||
	    (rs = calloc(1, sizeof(*rs))) == NULL)
		goto fail;
	rs->req = req;
	rs->n = n;
	if ((rs->ack = malloc(n ? n : 1)) == NULL ||
	    (rs->rest = calloc(n ? n : 1, sizeof(*rs->rest))) == NULL ||
	    (why != NULL && (rs->why = calloc(n, sizeof(char *))) == NULL)) {
		rs->req = NULL;
		respool_free(rs);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		rs->ack[i] = fresh[i];
		if (fresh[i] == STORE_UNDECIDED) {
			rs->rest[k++] = ev[i];
			rs->ack[i] = STORE_FRESH;
		}
		if (why != NULL && why[i] != NULL)
			rs->why[i] = strdup(why[i]);
	}
	if (k == 0) {
		respooled_cb(STORE_OK, NULL, 0, NULL, NULL, rs);
		return;
	}
	if (sink_put(&ig->spooler, req->source, rs->rest, k, respooled_cb,
	    rs) == 0)
		return;
	rs->req = NULL;
	respool_free(rs);
fail:
	ig->ops.events_done(req->handle, 0, NULL, NULL);
	free(req);
}

static void
spooled_cb(enum store_status st, const struct cw_event *ev, size_t n,
    const uint8_t *fresh, const char *const *why, void *arg)
{
	struct ireq *req = arg;

	/* Whether they are duplicates is known when the spool drains. */
	req->ig->ops.events_done(req->handle, st == STORE_OK, fresh, NULL);
	free(req);
}

int
ingest_events(struct ingest *ig, const char *source,
    const struct cw_event *ev, size_t n, void *handle)
{
	struct ireq *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return -1;
	req->ig = ig;
	req->handle = handle;
	req->source = source;
	/* While the spool holds events, new ones queue behind them. */
	if (ig->spool != NULL && spool_pending(ig->spool) > 0) {
		if (sink_put(&ig->spooler, source, ev, n, spooled_cb, req) == 0)
			return 0;
	} else if (ig->direct.pending(ig->direct.self) >
	    PENDING_BATCHES_MAX * ig->max_batch)
		;	/* back-pressure: 503 */
	else if (sink_put(&ig->direct, source, ev, n, committed_cb, req) == 0)
		return 0;
	else if (ig->spool != NULL &&
	    sink_put(&ig->spooler, source, ev, n, spooled_cb, req) == 0)
		return 0;
	free(req);
	return -1;
}

/* ---- the drain ---- */

struct chunk {
	struct ingest		*ig;
	char			*source;
	struct cw_event		*ev;
	size_t			 n;
};

static void
drained_cb(enum store_status st, const struct cw_event *ev, size_t n,
    const uint8_t *fresh, const char *const *why, void *arg)
{
	struct chunk *c = arg;
	struct ingest *ig = c->ig;
	size_t i;

	ig->draining = 0;
	if (fresh != NULL)
		ig->ops.apply(ig->ops.arg, ev, n, fresh);
	if (st == STORE_OK) {
		/*
		 * What PostgreSQL refuses for what it is would be refused
		 * forever: set it aside, durably, before the chunk counts
		 * as drained, and move on.
		 */
		for (i = 0; i < n && st == STORE_OK; i++)
			if (fresh[i] == STORE_REFUSED) {
				if (spool_dead_letter(ig->spool, c->source,
				    &ev[i], why != NULL ? why[i] : NULL) == -1)
					st = STORE_UNAVAILABLE;
				else
					metrics_inc(cw_metrics,
					    M_EVENTS_DEAD_LETTER, NULL, 1);
			}
	}
	if (st == STORE_OK)
		spool_commit(ig->spool);
	spool_chunk_free(c->source, c->ev, c->n);
	free(c);
	if (st == STORE_OK)
		ingest_drain(ig);
}

void
ingest_drain(struct ingest *ig)
{
	struct chunk *c;
	int n;

	if (ig->spool == NULL || ig->draining || ig->stopping ||
	    !ig->ops.loaded(ig->ops.arg) || !ig->direct.up(ig->direct.self) ||
	    spool_pending(ig->spool) == 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->ig = ig;
	if ((n = spool_read(ig->spool, ig->max_batch, &c->source,
	    &c->ev)) <= 0) {
		free(c);
		return;
	}
	c->n = (size_t)n;
	ig->draining = 1;
	if (sink_put(&ig->direct, c->source, c->ev, c->n, drained_cb, c) ==
	    -1) {
		ig->draining = 0;
		spool_chunk_free(c->source, c->ev, c->n);
		free(c);
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *ig = arg;

	if (ig->store != NULL && !ig->stopping)
		store_resolve(ig->store);
	ingest_drain(ig);
}

/* A commit of unknown outcome turned out stored: count it now. */
static void
late_cb(const struct cw_event *ev, size_t n, const uint8_t *fresh, void *arg)
{
	struct ingest *ig = arg;

	ig->ops.apply(ig->ops.arg, ev, n, fresh);
}

/* ---- account metadata (SPEC 2.5) ---- */

struct account_put {
	struct ingest	*ig;
	void		*handle;
	char		*id;
	char		*json;
};

static void
account_done_cb(enum store_status st, int created, void *arg)
{
	struct account_put *p = arg;
	struct ingest *ig = p->ig;

	/* The metadata reaches the engine once committed. */
	if (st == STORE_OK)
		ig->ops.account(ig->ops.arg, p->id, p->json);
	ig->ops.account_done(p->handle, st == STORE_OK, created);
	free(p->id);
	free(p->json);
	free(p);
}

int
ingest_account_put(struct ingest *ig, const char *id, const char *json,
    void *handle)
{
	struct account_put *p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->id = strdup(id)) == NULL || (p->json = strdup(json)) == NULL)
		goto fail;
	p->ig = ig;
	p->handle = handle;
	if (store_account_put(ig->store, id, json, account_done_cb, p) == 0)
		return 0;
fail:
	if (p != NULL) {
		free(p->id);
		free(p->json);
		free(p);
	}
	return -1;
}

/* ---- Segment: events, then memberships, then account metadata ---- */

struct seg_op {
	struct ingest		*ig;
	void			*handle;
	const struct seg_result	*res;
	size_t			 accounts_left;
	int			 failed;
	char			*refused;	/* the first refusal's why */
};

static void
seg_finish(struct seg_op *op)
{
	op->ig->ops.segment_done(op->handle, !op->failed, op->refused);
	free(op->refused);
	free(op);
}

static void
seg_account_cb(enum store_status st, int created, void *arg)
{
	struct seg_op *op = arg;

	if (st != STORE_OK)
		op->failed = 1;
	if (--op->accounts_left == 0)
		seg_finish(op);
}

static void
seg_members_cb(enum store_status st, void *arg)
{
	struct seg_op *op = arg;
	struct ingest *ig = op->ig;
	const struct seg_result *res = op->res;
	struct cw_error err;
	char *json;
	size_t i;

	if (st != STORE_OK) {
		op->failed = 1;
		seg_finish(op);
		return;
	}
	for (i = 0; i < res->nmembers; i++)
		ig->ops.member(ig->ops.arg, res->members[i].user_id,
		    res->members[i].account_id);
	/* Group traits become account metadata (validated like a PUT). */
	op->accounts_left = 1;
	for (i = 0; i < res->naccounts; i++) {
		if (account_meta_decode(res->accounts[i].meta_json,
		    strlen(res->accounts[i].meta_json), &json, &err) == -1)
			continue;
		if (strcmp(json, "{}") != 0) {
			ig->ops.account(ig->ops.arg,
			    res->accounts[i].account_id, json);
			op->accounts_left++;
			if (store_account_put(ig->store,
			    res->accounts[i].account_id, json, seg_account_cb,
			    op) == -1) {
				op->accounts_left--;
				op->failed = 1;
			}
		}
		free(json);
	}
	if (--op->accounts_left == 0)
		seg_finish(op);
}

static void
seg_events_cb(enum store_status st, const struct cw_event *ev, size_t n,
    const uint8_t *fresh, const char *const *why, void *arg)
{
	struct seg_op *op = arg;
	struct ingest *ig = op->ig;
	const struct seg_result *res = op->res;
	const char **users, **accounts;
	size_t i;

	if (fresh != NULL)
		ig->ops.apply(ig->ops.arg, ev, n, fresh);
	if (st != STORE_OK) {
		op->failed = 1;
		seg_finish(op);
		return;
	}
	for (i = 0; i < n && op->refused == NULL; i++)
		if (fresh[i] == STORE_REFUSED)
			op->refused = strdup(why != NULL && why[i] != NULL ?
			    why[i] : "see the daemon's log");
	if (res->nmembers == 0) {
		seg_members_cb(STORE_OK, op);
		return;
	}
	users = calloc(res->nmembers, sizeof(*users));
	accounts = calloc(res->nmembers, sizeof(*accounts));
	for (i = 0; users != NULL && accounts != NULL && i < res->nmembers;
	    i++) {
		users[i] = res->members[i].user_id;
		accounts[i] = res->members[i].account_id;
	}
	if (users == NULL || accounts == NULL ||
	    store_members(ig->store, users, accounts, res->nmembers,
	    seg_members_cb, op) == -1) {
		op->failed = 1;
		seg_finish(op);
	}
	free(users);
	free(accounts);
}

int
ingest_segment(struct ingest *ig, const char *source,
    const struct seg_result *res, void *handle)
{
	struct seg_op *op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -1;
	op->ig = ig;
	op->handle = handle;
	op->res = res;
	if (sink_put(&ig->direct, source, res->ev, res->nev, seg_events_cb,
	    op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}

/* ---- life cycle ---- */

struct ingest *
ingest_new(struct event_base *base, const struct ingest_sink *direct,
    struct spool *spool, struct store *store, size_t max_batch,
    const struct ingest_ops *ops)
{
	struct timeval tv = { 1, 0 };
	struct ingest *ig;

	if ((ig = calloc(1, sizeof(*ig))) == NULL)
		return NULL;
	ig->base = base;
	ig->direct = *direct;
	ig->spool = spool;
	ig->store = store;
	ig->max_batch = max_batch;
	ig->ops = *ops;
	TAILQ_INIT(&ig->waiting);
	ig->spooler.put = spool_put;
	ig->spooler.pending = spool_pending_;
	ig->spooler.up = spool_up_;
	ig->spooler.self = ig;
	if ((ig->ev_timer = event_new(base, -1, EV_PERSIST, timer_cb,
	    ig)) == NULL || (ig->ev_sync = event_new(base, -1, 0,
	    spool_sync_cb, ig)) == NULL) {
		ingest_free(ig);
		return NULL;
	}
	event_add(ig->ev_timer, &tv);
	if (store != NULL)
		store_set_late(store, late_cb, ig);
	return ig;
}

void
ingest_free(struct ingest *ig)
{
	if (ig == NULL)
		return;
	/* Appends still waiting for their sync: settle them now. */
	if (!TAILQ_EMPTY(&ig->waiting))
		spool_sync_cb(-1, 0, ig);
	if (ig->ev_timer != NULL)
		event_free(ig->ev_timer);
	if (ig->ev_sync != NULL)
		event_free(ig->ev_sync);
	free(ig);
}

void
ingest_set_max_batch(struct ingest *ig, size_t max_batch)
{
	ig->max_batch = max_batch;
}

void
ingest_stop(struct ingest *ig)
{
	ig->stopping = 1;
}

uint64_t
ingest_spooled(const struct ingest *ig)
{
	return ig->spool != NULL ? spool_pending(ig->spool) : 0;
}

int
ingest_spool_ok(const struct ingest *ig)
{
	return ig->spool != NULL && spool_has_room(ig->spool, 1);
}

size_t
ingest_pending(const struct ingest *ig)
{
	return ig->direct.pending(ig->direct.self) + ig->nwaiting;
}
