/*
 * store.c -- events in PostgreSQL: the group commit and its watermark.
 * Start-up and snapshots are in store_load.c, every other write in
 * store_write.c.
 *
 * Group commit: ingest requests queue here; while one transaction is in
 * flight, everything that arrives waits, and goes together into the next
 * one.  A transaction is one INSERT ... SELECT FROM unnest(arrays) ... ON
 * CONFLICT DO NOTHING RETURNING: one round trip, one parse, any size, and a
 * retried batch costs no more than a new one.  Its result arrives only
 * after the implicit commit (db.c), so callbacks mean "durable".
 *
 * Duplicates inside one group are found here, with a hash of (source, id),
 * so that each key is sent once and the first occurrence wins.
 *
 * Several connections ("lanes") can each carry one transaction, so that
 * one is committed while the next is sent.  Two lanes inserting the same
 * key cannot both store it: ON CONFLICT makes the second wait for the
 * first and count a duplicate.  If two batches lock keys in opposite order
 * PostgreSQL aborts one as a deadlock; that batch is simply sent again.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "account.h"
#include "db.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

struct ingest_req {
	TAILQ_ENTRY(ingest_req)	 entry;
	const char		*source;
	const struct cw_event	*ev;
	size_t			 n;
	uint8_t			*fresh;
	char			**why;		/* NULL until one is refused */
	store_ingest_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(ingest_list, ingest_req);

/* An event sent in the in-flight transaction. */
struct slot {
	struct ingest_req	*req;
	size_t			 i;
};

#define NCOLS	7

/* One connection and the transaction it carries. */
struct lane {
	struct store		*st;
	struct db		*db;
	struct ingest_list	 inflight;
	size_t			 ninflight;	/* events */
	struct slot		*slots;		/* sent events, by slot */
	size_t			 nslots;
	uint32_t		*hash;		/* slot + 1, 0 = empty */
	size_t			 hashcap;
	struct buf		 col[NCOLS];
	int64_t			 t_sent;	/* when the transaction left */
	/*
	 * Slots [lo, hi) are in flight; todo holds the ranges still to
	 * send when a refused group is being split (a stack, so the
	 * halves go in order).
	 */
	uint32_t		 lo, hi;
	int64_t			 commit;	/* its commit_no */
	int64_t			*commits;	/* every one used since taken */
	size_t			 ncommits, capcommits;
	int			 pid;		/* the backend it went to */
	int			 optimistic;	/* in flight: ingest_new_sql */
	int			 retry;		/* next send: ingest_sql */
	struct range {
		uint32_t	 lo, hi;
	}			*todo;
	size_t			 ntodo, todocap;
};

/*
 * Events of a commit whose outcome is unknown (the connection dropped
 * under it): once the backend that ran it is gone, the events stored by
 * commit_no are handed to the late callback, which counts them; however
 * their copies come back later (the spool, a client's retry), they are
 * duplicates then.
 */
struct limbo {
	TAILQ_ENTRY(limbo)	 entry;
	int64_t			 commit;
	int			 pid;
	size_t			 n;
	char			**sources;
	struct cw_event		*ev;		/* copies */
};
TAILQ_HEAD(limbo_list, limbo);

struct store {
	struct limbo_list	 limbo;
	int			 resolving;	/* a limbo query in flight */
	int64_t			 commit_next;
	/*
	 * Settled commits: applied to the windows, or storing nothing.
	 * Every commit below low is; so are above[0..nabove), sorted.
	 */
	int64_t			 low;
	int64_t			*above;
	size_t			 nabove, capabove;
	store_late_cb		 late_cb;
	void			*late_arg;
	struct lane		*lanes;
	size_t			 nlanes;
	size_t			 max_batch;
	struct ingest_list	 pending;
	size_t			 npending;	/* events */
	size_t			 ninflight;	/* events, all lanes */
	int			 stopping;	/* send nothing more */
	/*
	 * Gathering: while another lane is in flight, an idle lane waits a
	 * little (half a commit, as measured) for a group as large as the
	 * one in flight, rather than leave with the first event that
	 * comes.  Single-event clients then share commits; a lone event
	 * with nothing in flight still leaves at once.
	 */
	struct store_reports	 reports;
	struct event		*ev_gather;
	int			 gather_now;	/* the wait is over: send */
	int64_t			 commit_us;	/* moving average */
	int			 pessimistic;	/* groups left to send with
						 * ingest_sql (OPTIMISTIC_PAUSE) */
	/*
	 * The usage rollup's back-fills (store_usage_flags()): commits sent
	 * with a usage event older than UTC day usage_day lie in [flag_lo,
	 * flag_hi] (0: none); day_commit is the last commit sent before
	 * usage_day last moved.
	 */
	int32_t			 usage_day;
	int64_t			 day_commit;
	int64_t			 flag_lo, flag_hi;
};

/* The gathering wait, bounds in microseconds. */
#define GATHER_MIN_US	50
#define GATHER_MAX_US	2000

/*
 * One statement, one implicit transaction: the events, nothing else.  The
 * windows are checkpointed as snapshots (store_snapshot()), so no rollup
 * has to be kept in step with each commit.  commit_no numbers the commit:
 * the snapshots' watermark and the resolution of an unknown commit read
 * it (006_commit_no.sql, 009_snapshots.sql).
 */
static const char ingest_sql[] =
    "INSERT INTO events (source, id, account_id, type, ts, user_id, props,"
    " commit_no)"
    " SELECT *, $8 FROM unnest($1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (source, id) DO NOTHING"
    " RETURNING source, id";

/*
 * The same, optimistic: most groups hold no key that is stored already,
 * and a plain INSERT costs PostgreSQL about 40 % less per row than ON
 * CONFLICT ... RETURNING (its speculative insertion checks the index
 * twice; every row comes back).  Measured on the bench machine, 200,000
 * rows in groups of 2,000: 4.3 us per row against 7.1 (COPY: 3.9).  A
 * stored key fails the whole statement (23505, nothing stored) and the
 * group goes again with ingest_sql; after that, the next
 * OPTIMISTIC_PAUSE groups take ingest_sql at once, since duplicates come
 * in runs (a client's retries, a spool drained after an unknown commit).
 */
static const char ingest_new_sql[] =
    "INSERT INTO events (source, id, account_id, type, ts, user_id, props,"
    " commit_no)"
    " SELECT *, $8 FROM unnest($1, $2, $3, $4, $5, $6, $7)";

#define OPTIMISTIC_PAUSE	32

static void	store_flush(struct store *);
static void	limbo_free(struct store *, struct limbo *);

static void
gather_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	st->gather_now = 1;
	store_flush(st);
	st->gather_now = 0;
}

struct store *
store_new(struct event_base *base, struct db **dbs, size_t ndb,
    size_t max_batch)
{
	struct store *st;
	size_t i;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->lanes = calloc(ndb, sizeof(*st->lanes))) == NULL ||
	    (base != NULL && (st->ev_gather = evtimer_new(base, gather_cb,
	    st)) == NULL)) {
		if (st != NULL)
			free(st->lanes);
		free(st);
		return NULL;
	}
	st->nlanes = ndb;
	for (i = 0; i < ndb; i++) {
		st->lanes[i].st = st;
		st->lanes[i].db = dbs[i];
		TAILQ_INIT(&st->lanes[i].inflight);
	}
	st->max_batch = max_batch;
	TAILQ_INIT(&st->pending);
	TAILQ_INIT(&st->limbo);
	/* Until the loader reads the last one stored (store_load). */
	st->commit_next = 1;
	st->low = 1;
	st->usage_day = INT32_MAX;	/* until told: every one is old */
	return st;
}

/*
 * Answer the requests of list.  They are taken off it first: a callback
 * may queue a new request (the spool drains its next chunk from its
 * callback), which may go onto this very lane, and must not be answered
 * here before it was sent.
 */
static void
store_complete(struct ingest_list *list, enum store_status status)
{
	struct ingest_list done = TAILQ_HEAD_INITIALIZER(done);
	struct ingest_req *r;
	size_t i;

	TAILQ_CONCAT(&done, list, entry);
	while ((r = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, r, entry);
		r->cb(status, r->ev, r->n, r->fresh,
		    (const char *const *)r->why, r->arg);
		for (i = 0; r->why != NULL && i < r->n; i++)
			free(r->why[i]);
		free(r->why);
		free(r->fresh);
		free(r);
	}
}

void
store_shutdown(struct store *st)
{
	st->stopping = 1;
	store_complete(&st->pending, STORE_UNAVAILABLE);
	st->npending = 0;
}

void
store_free(struct store *st)
{
	struct lane *l;
	size_t i;
	int c;

	if (st == NULL)
		return;
	store_complete(&st->pending, STORE_UNAVAILABLE);
	for (i = 0; i < st->nlanes; i++) {
		l = &st->lanes[i];
		store_complete(&l->inflight, STORE_UNAVAILABLE);
		for (c = 0; c < NCOLS; c++)
			free(l->col[c].p);
		free(l->slots);
		free(l->hash);
		free(l->todo);
		free(l->commits);
	}
	free(st->above);
	while (!TAILQ_EMPTY(&st->limbo))
		limbo_free(st, TAILQ_FIRST(&st->limbo));
	if (st->ev_gather != NULL)
		event_free(st->ev_gather);
	free(st->lanes);
	free(st);
}

int
store_is_up(const struct store *st)
{
	size_t i;

	for (i = 0; i < st->nlanes; i++)
		if (db_is_up(st->lanes[i].db))
			return 1;
	return 0;
}

size_t
store_pending(const struct store *st)
{
	return st->npending + st->ninflight;
}

int
store_ingest(struct store *st, const char *source, const struct cw_event *ev,
    size_t n, store_ingest_cb cb, void *arg)
{
	struct ingest_req *r;

	if (st->stopping || !store_is_up(st))
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->fresh = malloc(n ? n : 1)) == NULL) {
		free(r);
		return -1;
	}
	memset(r->fresh, STORE_UNDECIDED, n);
	r->source = source;
	r->ev = ev;
	r->n = n;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&st->pending, r, entry);
	st->npending += n;
	store_flush(st);
	return 0;
}

static uint32_t
key_hash(const char *source, const char *id)
{
	/* Ids come from clients: the keyed hash (util.h); 0xff ends source. */
	static const unsigned char end = 0xff;
	struct util_hasher h;

	util_hash_init(&h);
	util_hash_update(&h, source, strlen(source));
	util_hash_update(&h, &end, 1);
	util_hash_update(&h, id, strlen(id));
	return (uint32_t)util_hash_final(&h);
}

static const struct cw_event *
slot_event(const struct lane *l, uint32_t s)
{
	return &l->slots[s].req->ev[l->slots[s].i];
}

/* Find the slot of (source, id), or the empty hash cell for it. */
static uint32_t *
hash_cell(struct lane *l, const char *source, const char *id)
{
	size_t mask = l->hashcap - 1, h = key_hash(source, id) & mask;
	uint32_t *c;

	for (;; h = (h + 1) & mask) {
		c = &l->hash[h];
		if (*c == 0 ||
		    (strcmp(l->slots[*c - 1].req->source, source) == 0 &&
		    strcmp(slot_event(l, *c - 1)->id, id) == 0))
			return c;
	}
}

static void store_committed(enum db_status, const struct db_res *, void *);

struct store_reports *
store_reports(struct store *st)
{
	return &st->reports;
}

void
store_set_reports_db(struct store *st, struct db *db)
{
	st->reports.db = db;
}

struct db *
store_db(const struct store *st)
{
	return st->lanes[0].db;
}

struct db *
store_db_snapshots(const struct store *st)
{
	return st->lanes[st->nlanes - 1].db;
}

/* ---- the watermark ---- */

/*
 * Commit c is settled: its events are in the windows (applied before this
 * is called), or it stored nothing.  Out of memory, a number above low is
 * dropped: the watermark then stops below it, and a restart replays more
 * than it needs -- never less.
 */
static void
commit_settle(struct store *st, int64_t c)
{
	size_t lo = 0, hi = st->nabove, mid, cap;
	int64_t *p;

	if (c < st->low)
		return;
	if (c == st->low) {
		st->low++;
		for (lo = 0; lo < st->nabove && st->above[lo] == st->low; lo++)
			st->low++;
		if (lo > 0) {
			memmove(st->above, st->above + lo,
			    (st->nabove - lo) * sizeof(*st->above));
			st->nabove -= lo;
		}
		return;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st->above[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->nabove && st->above[lo] == c)
		return;
	if (st->nabove == st->capabove) {
		cap = st->capabove ? st->capabove * 2 : 64;
		if ((p = reallocarray(st->above, cap, sizeof(*p))) == NULL)
			return;
		st->above = p;
		st->capabove = cap;
	}
	memmove(st->above + lo + 1, st->above + lo,
	    (st->nabove - lo) * sizeof(*st->above));
	st->above[lo] = c;
	st->nabove++;
}

void
store_watermark(const struct store *st, int64_t *mark,
    const int64_t **above, size_t *nabove)
{
	*mark = st->low - 1;
	*above = st->above;
	*nabove = st->nabove;
}

void
store_commit_start(struct store *st, int64_t last)
{
	st->commit_next = last + 1;
	st->low = last + 1;
	st->nabove = 0;
	/* The last process's commits: what they held is not known. */
	if (last > 0) {
		st->flag_lo = 1;
		st->flag_hi = last;
	}
}

void
store_usage_flags(struct store *st, int32_t today, int64_t *lo,
    int64_t *day_commit)
{
	if (today != st->usage_day) {
		st->usage_day = today;
		st->day_commit = st->commit_next - 1;
	}
	*lo = st->flag_lo;
	*day_commit = st->day_commit;
}

void
store_usage_consumed(struct store *st, int64_t upto)
{
	if (st->flag_hi <= upto)
		st->flag_lo = st->flag_hi = 0;
	else if (st->flag_lo <= upto)
		st->flag_lo = upto + 1;
}

/* Move whole pending requests, up to max_batch events, onto lane l. */
static size_t
lane_take(struct lane *l)
{
	struct store *st = l->st;
	struct ingest_req *r;
	size_t total = 0;

	while ((r = TAILQ_FIRST(&st->pending)) != NULL) {
		if (total > 0 && total + r->n > st->max_batch)
			break;
		TAILQ_REMOVE(&st->pending, r, entry);
		TAILQ_INSERT_TAIL(&l->inflight, r, entry);
		st->npending -= r->n;
		total += r->n;
	}
	l->ninflight = total;
	st->ninflight += total;
	return total;
}

/* The lane's transaction is over: answer its requests. */
static void
lane_done(struct lane *l, enum store_status status)
{
	struct ingest_req *r;
	size_t i;

	/* Committed: what is still undecided repeated a key of the group. */
	if (status == STORE_OK)
		TAILQ_FOREACH(r, &l->inflight, entry)
			for (i = 0; i < r->n; i++)
				if (r->fresh[i] == STORE_UNDECIDED)
					r->fresh[i] = STORE_DUPLICATE;
	l->st->ninflight -= l->ninflight;
	l->ninflight = 0;
	/*
	 * Settled before the callbacks apply the events: nothing can take
	 * a snapshot in between (they run to the end first), and a callback
	 * may send a new request on this very lane.
	 */
	for (i = 0; i < l->ncommits; i++)
		commit_settle(l->st, l->commits[i]);
	l->ncommits = 0;
	store_complete(&l->inflight, status);
}

/* Build the array parameters for slots [lo, hi) and send them. */
static int
lane_send_range(struct lane *l, uint32_t lo, uint32_t hi)
{
	static const uint32_t elem[NCOLS] = { OID_TEXT, OID_TEXT, OID_TEXT,
	    OID_TEXT, OID_TIMESTAMPTZ, OID_TEXT, OID_JSONB };
	static const unsigned int types[NCOLS + 1] = { OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY, OID_TEXT_ARRAY, OID_JSONB_ARRAY, OID_INT8 };
	const char *values[NCOLS + 1];
	const struct cw_event *e;
	const char *source;
	int lengths[NCOLS + 1], c, err = 0, old = 0;
	int64_t before = l->st->usage_day >= INT32_MAX / 2 ? INT64_MAX :
	    (int64_t)l->st->usage_day * CW_USEC_PER_DAY;
	char commit[8];
	uint32_t s;

	for (c = 0; c < NCOLS; c++)
		err |= arr_begin(&l->col[c], elem[c]);
	for (s = lo; s < hi; s++) {
		e = slot_event(l, s);
		source = l->slots[s].req->source;
		err |= arr_text(&l->col[0], NULL, source);
		err |= arr_text(&l->col[1], NULL, e->id);
		err |= arr_text(&l->col[2], NULL, e->account_id);
		err |= arr_text(&l->col[3], NULL, event_type_name(e->type));
		err |= arr_ts(&l->col[4], e->ts);
		err |= arr_text(&l->col[5], NULL, e->user_id);
		err |= arr_text(&l->col[6], "\1", e->props);
		old |= (e->type == EV_LOGIN || e->type == EV_FEATURE_USED) &&
		    e->ts < before;
	}
	if (err)
		return -1;
	for (c = 0; c < NCOLS; c++) {
		arr_end(&l->col[c], hi - lo);
		values[c] = l->col[c].p;
		lengths[c] = (int)l->col[c].len;
	}
	if (l->ncommits == l->capcommits) {
		size_t cap = l->capcommits ? l->capcommits * 2 : 16;
		int64_t *p;

		if ((p = reallocarray(l->commits, cap, sizeof(*p))) == NULL)
			return -1;
		l->commits = p;
		l->capcommits = cap;
	}
	l->lo = lo;
	l->hi = hi;
	l->commit = l->st->commit_next++;
	l->commits[l->ncommits++] = l->commit;
	if (old) {
		if (l->st->flag_lo == 0)
			l->st->flag_lo = l->commit;
		l->st->flag_hi = l->commit;
	}
	l->pid = db_backend_pid(l->db);
	put64(commit, l->commit);
	values[NCOLS] = commit;
	lengths[NCOLS] = 8;
	l->t_sent = util_now_us();
	/* A whole group, first try: optimistic, unless duplicates came. */
	l->optimistic = 0;
	if (lo == 0 && hi == l->nslots && l->ntodo == 0 && !l->retry) {
		if (l->st->pessimistic > 0)
			l->st->pessimistic--;
		else
			l->optimistic = 1;
	}
	l->retry = 0;
	if (l->optimistic)
		return db_query_binary(l->db, "cw_ingest_new", ingest_new_sql,
		    NCOLS + 1, types, values, lengths, store_committed, l);
	return db_query_binary(l->db, "cw_ingest", ingest_sql, NCOLS + 1,
	    types, values, lengths, store_committed, l);
}

/* Dedup the lane's requests into slots and send them all. */
static int
lane_send(struct lane *l)
{
	struct ingest_req *r;
	size_t i, cap, total = l->ninflight;
	uint32_t *cell;

	free(l->slots);
	free(l->hash);
	for (cap = 16; cap < total * 2; cap *= 2)
		;
	l->slots = calloc(total ? total : 1, sizeof(*l->slots));
	l->hash = calloc(cap, sizeof(*l->hash));
	l->hashcap = cap;
	l->nslots = 0;
	if (l->slots == NULL || l->hash == NULL)
		return -1;
	TAILQ_FOREACH(r, &l->inflight, entry) {
		for (i = 0; i < r->n; i++) {
			cell = hash_cell(l, r->source, r->ev[i].id);
			if (*cell != 0)
				continue;	/* repeated in this group */
			l->slots[l->nslots].req = r;
			l->slots[l->nslots].i = i;
			*cell = (uint32_t)++l->nslots;
		}
	}
	l->ntodo = 0;
	if (l->nslots == 0)
		return 1;	/* only empty requests: nothing to send */
	return lane_send_range(l, 0, (uint32_t)l->nslots);
}

/*
 * Should an idle lane wait for more events (see struct store)?  Arms the
 * timer when it should.
 */
static int
gather(struct store *st)
{
	struct timeval tv;
	int64_t us;

	if (st->ev_gather == NULL || st->gather_now || st->ninflight == 0 ||
	    st->npending >= st->ninflight || st->npending >= st->max_batch)
		return 0;
	if (!evtimer_pending(st->ev_gather, NULL)) {
		us = st->commit_us / 2;
		us = us < GATHER_MIN_US ? GATHER_MIN_US :
		    us > GATHER_MAX_US ? GATHER_MAX_US : us;
		tv.tv_sec = 0;
		tv.tv_usec = (suseconds_t)us;
		evtimer_add(st->ev_gather, &tv);
	}
	return 1;
}

/* Give pending requests to every idle lane whose connection is up. */
static void
store_flush(struct store *st)
{
	struct lane *l;
	size_t i, n;
	int rc;

	for (i = 0; i < st->nlanes && !TAILQ_EMPTY(&st->pending) &&
	    !st->stopping; i++) {
		l = &st->lanes[i];
		if (!TAILQ_EMPTY(&l->inflight) || !db_is_up(l->db))
			continue;
		if (gather(st))
			return;
		n = lane_take(l);
		if ((rc = lane_send(l)) == 0)
			continue;
		if (rc == -1)
			log_warnx("store: batch not sent events=%zu",
			    n);
		l->ntodo = 0;
		lane_done(l, rc == 1 ? STORE_OK : STORE_UNAVAILABLE);
	}
}

/* ---- commits of unknown outcome ---- */

static void
limbo_free(struct store *st, struct limbo *lb)
{
	size_t i;

	TAILQ_REMOVE(&st->limbo, lb, entry);
	for (i = 0; i < lb->n; i++) {
		event_free_fields(&lb->ev[i]);
		free(lb->sources[i]);
	}
	free(lb->ev);
	free(lb->sources);
	free(lb);
}

/*
 * The lane's in-flight range lost its connection: remember it.  Its
 * commit stays unsettled until resolved (limbo_found_cb), so the
 * snapshots' watermark stays below it and a restart replays it.
 */
static void
limbo_add(struct lane *l)
{
	struct limbo *lb;
	const struct cw_event *e;
	struct cw_error err;
	uint32_t s;

	if (l->st->late_cb == NULL || l->hi <= l->lo)
		return;
	if ((lb = calloc(1, sizeof(*lb))) == NULL ||
	    (lb->ev = calloc(l->hi - l->lo, sizeof(*lb->ev))) == NULL ||
	    (lb->sources = calloc(l->hi - l->lo, sizeof(char *))) == NULL)
		goto fail;
	lb->commit = l->commit;
	lb->pid = l->pid;
	TAILQ_INSERT_TAIL(&l->st->limbo, lb, entry);
	if (l->ncommits > 0 && l->commits[l->ncommits - 1] == l->commit)
		l->ncommits--;		/* settled once resolved */
	for (s = l->lo; s < l->hi; s++) {
		e = slot_event(l, s);
		if (e->account_id[0] == '\0')
			continue;	/* counts in no window (Segment) */
		if ((lb->sources[lb->n] = strdup(l->slots[s].req->source)) ==
		    NULL || event_from_row(e->id, e->account_id,
		    event_type_name(e->type), e->ts, e->user_id, e->props,
		    &lb->ev[lb->n], &err) == -1) {
			free(lb->sources[lb->n]);
			log_warnx("store: cannot keep an event of an unknown "
			    "commit; it counts after the next restart");
			continue;
		}
		lb->n++;
	}
	log_notice("store: commit outcome unknown commit=%lld events=%zu; "
	    "resolving once backend pid=%d is gone", (long long)lb->commit,
	    lb->n, lb->pid);
	return;
fail:
	if (lb != NULL) {
		free(lb->ev);
		free(lb);
	}
	log_warnx("store: out of memory keeping an unknown commit");
}

static void
limbo_found_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store *st = arg;
	struct limbo *lb = TAILQ_FIRST(&st->limbo);
	uint8_t *fresh;
	size_t i, k;
	int r, n;

	st->resolving = 0;
	if (status != DB_OK || lb == NULL)
		return;
	n = db_res_ntuples(res);
	if ((fresh = calloc(lb->n ? lb->n : 1, 1)) == NULL)
		return;
	for (r = 0; r < n; r++)
		for (k = 0; k < lb->n; k++)
			if (strcmp(lb->sources[k], db_res_value(res, r, 0)) ==
			    0 && strcmp(lb->ev[k].id, db_res_value(res, r, 1)) ==
			    0)
				fresh[k] = STORE_FRESH;
	for (i = 0, k = 0; i < lb->n; i++)
		k += fresh[i] == STORE_FRESH;
	log_notice("store: unknown commit resolved commit=%lld stored=%zu "
	    "of=%zu", (long long)lb->commit, k, lb->n);
	if (k > 0)
		st->late_cb(lb->ev, lb->n, fresh, st->late_arg);
	free(fresh);
	commit_settle(st, lb->commit);
	limbo_free(st, lb);
}

static const char limbo_gone_sql[] =
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE pid = $1::int AND pid <> pg_backend_pid()";
static const char limbo_found_sql[] =
    "SELECT e.source, e.id FROM unnest($2::text[], $3::text[]) k(s, i)"
    " JOIN events e ON e.source = k.s AND e.id = k.i"
    " WHERE e.commit_no = $1::int8";

static void
limbo_gone_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store *st = arg;
	struct limbo *lb = TAILQ_FIRST(&st->limbo);
	const char *values[3];
	struct buf b[2] = { { NULL, 0, 0 }, { NULL, 0, 0 } };
	static const unsigned int types[3] = { OID_INT8, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY };
	int lengths[3], err = 0;
	char commit[8];
	size_t i;

	/* Still there (now told to go): its commit may still land. */
	if (status != DB_OK || lb == NULL || db_res_ntuples(res) > 0) {
		st->resolving = 0;
		return;
	}
	put64(commit, lb->commit);
	err |= arr_begin(&b[0], OID_TEXT);
	err |= arr_begin(&b[1], OID_TEXT);
	for (i = 0; i < lb->n; i++) {
		err |= arr_text(&b[0], NULL, lb->sources[i]);
		err |= arr_text(&b[1], NULL, lb->ev[i].id);
	}
	arr_end(&b[0], lb->n);
	arr_end(&b[1], lb->n);
	values[0] = commit;
	lengths[0] = 8;
	values[1] = b[0].p;
	lengths[1] = (int)b[0].len;
	values[2] = b[1].p;
	lengths[2] = (int)b[1].len;
	if (err || db_query_binary(st->lanes[0].db, NULL, limbo_found_sql, 3,
	    types, values, lengths, limbo_found_cb, st) == -1)
		st->resolving = 0;
	free(b[0].p);
	free(b[1].p);
}

void
store_resolve(struct store *st)
{
	char pid[16];
	const char *values[1] = { pid };
	int lengths[1];

	if (TAILQ_EMPTY(&st->limbo) || st->resolving || st->stopping ||
	    !db_is_up(st->lanes[0].db))
		return;
	lengths[0] = snprintf(pid, sizeof(pid), "%d",
	    TAILQ_FIRST(&st->limbo)->pid);
	st->resolving = 1;
	if (db_query(st->lanes[0].db, limbo_gone_sql, 1, values, lengths,
	    limbo_gone_cb, st) == -1)
		st->resolving = 0;
}

void
store_set_late(struct store *st, store_late_cb cb, void *arg)
{
	st->late_cb = cb;
	st->late_arg = arg;
}

/*
 * PostgreSQL refused the statement for what the data is -- a data
 * exception, a constraint, a size limit -- rather than for being unable to
 * take it.  Everything the door lets in should pass; this is the guard
 * for what it does not know of (a trigger, a new limit, a bug).
 */
static int
refused_for_data(const char *sqlstate)
{
	return strncmp(sqlstate, "22", 2) == 0 ||
	    strncmp(sqlstate, "23", 2) == 0 || strncmp(sqlstate, "54", 2) == 0;
}

/* The one event in slot s is refused on its own, with PostgreSQL's why. */
static void
slot_refuse(struct lane *l, uint32_t s, const char *why)
{
	struct ingest_req *r = l->slots[s].req;
	size_t i = l->slots[s].i;

	log_warnx("store: event refused source=%s id=%s error=\"%s\"",
	    r->source, r->ev[i].id, why);
	r->fresh[i] = STORE_REFUSED;
	if (r->why == NULL)
		r->why = calloc(r->n, sizeof(*r->why));
	if (r->why != NULL && r->why[i] == NULL)
		r->why[i] = strdup(why);
}

/* Send the next range of a split group, or finish the lane. */
static void
lane_next(struct lane *l)
{
	struct range rg;

	while (l->ntodo > 0) {
		rg = l->todo[--l->ntodo];
		if (lane_send_range(l, rg.lo, rg.hi) == 0)
			return;
		/* Not sent: whatever was not committed yet is retried. */
		lane_done(l, STORE_UNAVAILABLE);
		store_flush(l->st);
		return;
	}
	lane_done(l, STORE_OK);
	store_flush(l->st);
}

/* Push [lo, hi) to be sent later; -1 when out of memory. */
static int
lane_push(struct lane *l, uint32_t lo, uint32_t hi)
{
	struct range *t;
	size_t cap;

	if (l->ntodo == l->todocap) {
		cap = l->todocap ? l->todocap * 2 : 16;
		if ((t = reallocarray(l->todo, cap, sizeof(*t))) == NULL)
			return -1;
		l->todo = t;
		l->todocap = cap;
	}
	l->todo[l->ntodo].lo = lo;
	l->todo[l->ntodo++].hi = hi;
	return 0;
}

static void
store_committed(enum db_status status, const struct db_res *res, void *arg)
{
	struct lane *l = arg;
	struct store *st = l->st;
	struct ingest_req *r;
	const char *source, *id;
	uint32_t *cell, mid;
	struct slot *s;
	int64_t took;
	int i, n;

	if (status == DB_ERROR &&
	    strcmp(db_res_sqlstate(res), "40P01") == 0) {
		/* Deadlock with another lane: nothing was stored; resend. */
		log_info("store: deadlock, resending events=%u",
		    (unsigned)(l->hi - l->lo));
		if (l->lo == 0 && l->hi == l->nslots && l->ntodo == 0) {
			while ((r = TAILQ_LAST(&l->inflight, ingest_list)) !=
			    NULL) {
				TAILQ_REMOVE(&l->inflight, r, entry);
				TAILQ_INSERT_HEAD(&st->pending, r, entry);
				st->npending += r->n;
			}
			st->ninflight -= l->ninflight;
			l->ninflight = 0;
			store_flush(st);
		} else if (lane_push(l, l->lo, l->hi) == 0)
			lane_next(l);
		else {
			lane_done(l, STORE_UNAVAILABLE);
			store_flush(st);
		}
		return;
	}
	if (status == DB_ERROR && l->optimistic &&
	    strcmp(db_res_sqlstate(res), "23505") == 0) {
		/* A key is stored already: nothing was; the careful way. */
		st->pessimistic = OPTIMISTIC_PAUSE;
		l->retry = 1;
		if (lane_send_range(l, l->lo, l->hi) != 0) {
			lane_done(l, STORE_UNAVAILABLE);
			store_flush(st);
		}
		return;
	}
	if (status == DB_ERROR && refused_for_data(db_res_sqlstate(res))) {
		/*
		 * Split until the refused events stand alone: the halves of
		 * [lo, hi) go back in order, one event is refused by itself.
		 */
		if (l->hi - l->lo == 1)
			slot_refuse(l, l->lo, db_res_error(res));
		else {
			mid = l->lo + (l->hi - l->lo) / 2;
			if (l->lo == 0 && l->hi == l->nslots)
				log_notice("store: batch refused, isolating "
				    "the offending events events=%zu "
				    "error=\"%s\"", l->nslots,
				    db_res_error(res));
			if (lane_push(l, mid, l->hi) == -1 ||
			    lane_push(l, l->lo, mid) == -1) {
				lane_done(l, STORE_UNAVAILABLE);
				store_flush(st);
				return;
			}
		}
		lane_next(l);
		return;
	}
	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: insert refused events=%zu error=\"%s\"",
			    l->ninflight, db_res_error(res));
		else
			limbo_add(l);
		lane_done(l, STORE_UNAVAILABLE);
		store_flush(st);
		return;
	}
	took = util_now_us() - l->t_sent;
	st->commit_us = st->commit_us == 0 ? took :
	    (st->commit_us * 7 + took) / 8;
	metrics_observe(cw_metrics, M_INGEST_COMMIT_SECONDS, NULL,
	    (double)took / 1e6);
	metrics_observe(cw_metrics, M_DB_BATCH_EVENTS, NULL,
	    (double)(l->hi - l->lo));
	/* Each event of the range is stored now, or was already. */
	for (mid = l->lo; mid < l->hi; mid++)
		l->slots[mid].req->fresh[l->slots[mid].i] = l->optimistic ?
		    STORE_FRESH : STORE_DUPLICATE;
	n = l->optimistic ? 0 : db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		source = db_res_value(res, i, 0);
		id = db_res_value(res, i, 1);
		cell = hash_cell(l, source, id);
		if (*cell == 0)
			continue;	/* cannot happen */
		s = &l->slots[*cell - 1];
		s->req->fresh[s->i] = STORE_FRESH;
	}
	lane_next(l);
}

