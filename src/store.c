/*
 * store.c -- events and account metadata in PostgreSQL.
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

#include "account.h"
#include "db.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
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

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

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
};

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

static void	store_flush(struct store *);
static void	limbo_free(struct store *, struct limbo *);

struct store *
store_new(struct db **dbs, size_t ndb, size_t max_batch)
{
	struct store *st;
	size_t i;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->lanes = calloc(ndb, sizeof(*st->lanes))) == NULL) {
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

static int
buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->len + more <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/*
 * One-dimensional arrays in PostgreSQL's binary format (array_send): a
 * header of ndim, has-null flag, element type OID, length and lower bound,
 * then each element as a 4-byte length (-1 = NULL) and its binary value.
 * Sending binary spares the server the text array parser and the
 * timestamp parser, which dominated its profile.
 */
#define OID_TEXT		25
#define OID_BYTEA		17
#define OID_BYTEA_ARRAY		1001
#define OID_TIMESTAMPTZ		1184
#define OID_JSONB		3802
#define OID_INT4		23
#define OID_INT8		20
#define OID_INT8_ARRAY		1016
#define OID_INT4_ARRAY		1007
#define OID_TEXT_ARRAY		1009
#define OID_TIMESTAMPTZ_ARRAY	1185
#define OID_JSONB_ARRAY		3807
#define ARRAY_HDR		20
/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PG_EPOCH_US		(INT64_C(946684800) * CW_USEC_PER_SEC)

static void
put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

/* An int8 in binary (network order). */
static void
put64(char *p, int64_t v)
{
	put32(p, (uint32_t)((uint64_t)v >> 32));
	put32(p + 4, (uint32_t)v);
}

static int
arr_begin(struct buf *b, uint32_t elem_oid)
{
	b->len = 0;
	if (buf_reserve(b, ARRAY_HDR) == -1)
		return -1;
	put32(b->p, 1);			/* ndim */
	put32(b->p + 4, 1);		/* may have NULLs */
	put32(b->p + 8, elem_oid);
	put32(b->p + 12, 0);		/* length, set by arr_end() */
	put32(b->p + 16, 1);		/* lower bound */
	b->len = ARRAY_HDR;
	return 0;
}

static void
arr_end(struct buf *b, size_t n)
{
	put32(b->p + 12, (uint32_t)n);
}

/* A text (prefix NULL) or jsonb (prefix "\1", its format version) value. */
static int
arr_text(struct buf *b, const char *prefix, const char *s)
{
	size_t plen, n;

	if (s == NULL) {
		if (buf_reserve(b, 4) == -1)
			return -1;
		put32(b->p + b->len, UINT32_MAX);
		b->len += 4;
		return 0;
	}
	plen = prefix != NULL ? strlen(prefix) : 0;
	n = strlen(s);
	if (buf_reserve(b, 4 + plen + n) == -1)
		return -1;
	put32(b->p + b->len, (uint32_t)(plen + n));
	if (plen > 0)
		memcpy(b->p + b->len + 4, prefix, plen);
	memcpy(b->p + b->len + 4 + plen, s, n);
	b->len += 4 + plen + n;
	return 0;
}

static int
arr_int4(struct buf *b, int32_t v)
{
	if (buf_reserve(b, 8) == -1)
		return -1;
	put32(b->p + b->len, 4);
	put32(b->p + b->len + 4, (uint32_t)v);
	b->len += 8;
	return 0;
}

static int	arr_ts(struct buf *, int64_t);

static int
arr_int8(struct buf *b, int64_t v)
{
	if (buf_reserve(b, 12) == -1)
		return -1;
	put32(b->p + b->len, 8);
	put64(b->p + b->len + 4, v);
	b->len += 12;
	return 0;
}

/* A timestamp, or NULL for 0. */
static int
arr_ts_or_null(struct buf *b, int64_t us)
{
	if (us != 0)
		return arr_ts(b, us);
	return arr_text(b, NULL, NULL);
}

/* timestamptz is int8 microseconds from PostgreSQL's epoch. */
static int
arr_ts(struct buf *b, int64_t us)
{
	return arr_int8(b, us - PG_EPOCH_US);
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
	int lengths[NCOLS + 1], c, err = 0;
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
	l->pid = db_backend_pid(l->db);
	put64(commit, l->commit);
	values[NCOLS] = commit;
	lengths[NCOLS] = 8;
	l->t_sent = util_now_us();
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
	metrics_observe(cw_metrics, M_INGEST_COMMIT_SECONDS, NULL,
	    (double)(util_now_us() - l->t_sent) / 1e6);
	metrics_observe(cw_metrics, M_DB_BATCH_EVENTS, NULL,
	    (double)(l->hi - l->lo));
	/* Each event of the range is stored now, or was already. */
	for (mid = l->lo; mid < l->hi; mid++)
		l->slots[mid].req->fresh[l->slots[mid].i] = STORE_DUPLICATE;
	n = db_res_ntuples(res);
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

/* ---- accounts ---- */

struct account_put {
	store_account_cb	 cb;
	void			*arg;
};

static const char account_sql[] =
    "INSERT INTO accounts AS a (id, name, plan, segment, seats, owner, "
    "slack_channel, onboarded_at, renewal_at, core_features) "
    "SELECT $1, j->>'name', j->>'plan', j->>'segment', "
    "(j->>'seats')::integer, j->>'owner', j->>'slack_channel', "
    "(j->>'onboarded_at')::timestamptz, (j->>'renewal_at')::timestamptz, "
    "CASE WHEN jsonb_typeof(j->'core_features') = 'array' THEN "
    "ARRAY(SELECT jsonb_array_elements_text(j->'core_features')) "
    "ELSE '{}'::text[] END "
    "FROM (SELECT $2::jsonb AS j) s "
    "ON CONFLICT (id) DO UPDATE SET "
    "name = CASE WHEN $2::jsonb ? 'name' THEN EXCLUDED.name ELSE a.name END, "
    "plan = CASE WHEN $2::jsonb ? 'plan' THEN EXCLUDED.plan ELSE a.plan END, "
    "segment = CASE WHEN $2::jsonb ? 'segment' THEN EXCLUDED.segment "
    "ELSE a.segment END, "
    "seats = CASE WHEN $2::jsonb ? 'seats' THEN EXCLUDED.seats "
    "ELSE a.seats END, "
    "owner = CASE WHEN $2::jsonb ? 'owner' THEN EXCLUDED.owner "
    "ELSE a.owner END, "
    "slack_channel = CASE WHEN $2::jsonb ? 'slack_channel' THEN "
    "EXCLUDED.slack_channel ELSE a.slack_channel END, "
    "onboarded_at = CASE WHEN $2::jsonb ? 'onboarded_at' THEN "
    "EXCLUDED.onboarded_at ELSE a.onboarded_at END, "
    "renewal_at = CASE WHEN $2::jsonb ? 'renewal_at' THEN "
    "EXCLUDED.renewal_at ELSE a.renewal_at END, "
    "core_features = CASE WHEN $2::jsonb ? 'core_features' THEN "
    "EXCLUDED.core_features ELSE a.core_features END, "
    "updated_at = now() "
    "RETURNING (xmax = 0)";

static void
store_account_cb_(enum db_status status, const struct db_res *res, void *arg)
{
	struct account_put *p = arg;
	const char *v;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: account upsert refused error=\"%s\"",
			    db_res_error(res));
		p->cb(STORE_UNAVAILABLE, 0, p->arg);
	} else {
		v = db_res_ntuples(res) > 0 ? db_res_value(res, 0, 0) : NULL;
		p->cb(STORE_OK, v != NULL && v[0] == 't', p->arg);
	}
	free(p);
}

int
store_account_put(struct store *st, const char *id, const char *meta_json,
    store_account_cb cb, void *arg)
{
	struct account_put *p;
	const char *values[2] = { id, meta_json };
	int lengths[2] = { (int)strlen(id), (int)strlen(meta_json) };

	if ((p = malloc(sizeof(*p))) == NULL)
		return -1;
	p->cb = cb;
	p->arg = arg;
	if (db_query(st->lanes[0].db, account_sql, 2, values, lengths,
	    store_account_cb_, p) == -1) {
		free(p);
		return -1;
	}
	return 0;
}

/* ---- recovery ---- */

/*
 * A paged query: rows come back in key order, LIMIT at a time; the next
 * page starts after the last key seen (keyset paging), so memory stays
 * bounded and no cursor is held open across the loop.
 */
#define LOAD_PAGE	20000

struct store_loader;

/* Which start a step belongs to (see store_load). */
enum load_when { LOAD_ALWAYS, LOAD_LEGACY, LOAD_SNAPSHOTS };

struct load_step {
	const char	*sql_first;	/* $1 = since_day */
	const char	*sql_next;	/* $1 = since_day, $2.. = last key */
	int		 nkeys;		/* key columns, first in each row */
	void		(*row)(struct store_loader *, const struct db_res *,
			    int);
	/* Or a step of its own, which calls load_next() when done. */
	void		(*run)(struct store_loader *);
	enum load_when	 when;
};

/* A partition's watermark as stored (snapshot_marks). */
struct load_mark {
	int64_t		 mark;
	int64_t		*above;		/* sorted */
	size_t		 nabove;
};

struct store_loader {
	struct store			*st;
	const struct store_load_ops	*ops;
	void				*arg;
	char				 since[16];
	size_t				 step;
	char				*key[3];
	int				 legacy;	/* no snapshots yet */
	struct load_mark		 marks[ACCOUNT_PARTS];
	int64_t				 replay_from;	/* min mark */
	char				**rebuild;	/* sorted account ids */
	size_t				 nrebuild, caprebuild;
	int64_t				 t_step;	/* when the step began */
	int				 in_txn;	/* BEGIN sent, no COMMIT */
	int				 cursor;	/* cw_load is open */
	size_t				 nsnap, nreplay;
};

static void
row_daily(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->daily(ld->arg, db_res_value(r, i, 0),
	    (int32_t)atol(db_res_value(r, i, 2)),
	    (unsigned)strtoul(db_res_value(r, i, 3), NULL, 10));
}

static void
row_hourly(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->hourly(ld->arg, db_res_value(r, i, 0),
	    strtoll(db_res_value(r, i, 2), NULL, 10),
	    (unsigned)strtoul(db_res_value(r, i, 3), NULL, 10));
}

static void
row_seen(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->seen(ld->arg, db_res_value(r, i, 0), db_res_value(r, i, 1)[0],
	    db_res_value(r, i, 2), (int32_t)atol(db_res_value(r, i, 3)));
}

static void
row_event(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->event(ld->arg, db_res_value(r, i, 2), db_res_value(r, i, 3),
	    db_res_value(r, i, 4), strtoll(db_res_value(r, i, 5), NULL, 10),
	    db_res_value(r, i, 6), db_res_value(r, i, 7));
}

static void
row_score(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->score(ld->arg, db_res_value(r, i, 0),
	    (int32_t)atol(db_res_value(r, i, 2)),
	    atoi(db_res_value(r, i, 3)));
}

static int64_t
us_or_zero(const char *v)
{
	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

static void
row_alert(struct store_loader *ld, const struct db_res *r, int i)
{
	struct store_alert a;

	a.id = strtoull(db_res_value(r, i, 0), NULL, 10);
	a.account_id = db_res_value(r, i, 1);
	a.signal = db_res_value(r, i, 2);
	a.fingerprint = db_res_value(r, i, 3);
	a.state = db_res_value(r, i, 4);
	a.severity = db_res_value(r, i, 5);
	a.started_at = us_or_zero(db_res_value(r, i, 6));
	a.inactive_since = us_or_zero(db_res_value(r, i, 7));
	a.resolved_at = us_or_zero(db_res_value(r, i, 8));
	a.last_notified = us_or_zero(db_res_value(r, i, 9));
	a.explanation = db_res_value(r, i, 11);
	a.key = db_res_value(r, i, 12);
	ld->ops->alert(ld->arg, &a, us_or_zero(db_res_value(r, i, 10)));
}

static void
row_notification(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->notification(ld->arg, db_res_value(r, i, 1),
	    db_res_value(r, i, 2), db_res_value(r, i, 3));
}

static void
row_silence(struct store_loader *ld, const struct db_res *r, int i)
{
	const char *eor = db_res_value(r, i, 5);

	ld->ops->silence(ld->arg, strtoull(db_res_value(r, i, 0), NULL, 10),
	    db_res_value(r, i, 1), db_res_value(r, i, 2),
	    db_res_value(r, i, 3), us_or_zero(db_res_value(r, i, 4)),
	    eor != NULL && eor[0] == 't');
}

static void
row_coverage(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->coverage(ld->arg, db_res_value(r, i, 0)[0],
	    db_res_value(r, i, 1), (int32_t)atol(db_res_value(r, i, 3)));
}

static void
row_member(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->member(ld->arg, db_res_value(r, i, 0), db_res_value(r, i, 1));
}

#define US(col)		"(extract(epoch FROM " col ") * 1000000)::bigint"
#define DAYNUM(col)	"(" col " - date '1970-01-01')"
#define SINCE_DATE	"(date '1970-01-01' + $1::integer)"

static void	step_key(struct store_loader *);
static void	step_marks(struct store_loader *);
static void	step_accounts(struct store_loader *);
static void	step_snapshots(struct store_loader *);
static void	step_rebuild(struct store_loader *);
static void	step_replay(struct store_loader *);

#define CUSTOM(fn, when)	{ NULL, NULL, 0, NULL, fn, when }

static const struct load_step load_steps[] = {
	CUSTOM(step_key, LOAD_ALWAYS),
	CUSTOM(step_marks, LOAD_ALWAYS),
	CUSTOM(step_accounts, LOAD_ALWAYS),
	{ "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL ORDER BY kind, key LIMIT 20000",
	  "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL AND (kind, key) > ($2::\"char\", $3)"
	  " ORDER BY kind, key LIMIT 20000",
	  2, row_coverage, NULL, LOAD_LEGACY },
	/* An account's first day is in its snapshot: only the classes. */
	{ "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL AND kind = 'c'"
	  " ORDER BY kind, key LIMIT 20000",
	  "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL AND kind = 'c'"
	  " AND (kind, key) > ($2::\"char\", $3)"
	  " ORDER BY kind, key LIMIT 20000",
	  2, row_coverage, NULL, LOAD_SNAPSHOTS },
	{ "SELECT account_id, day, " DAYNUM("day") ", logins FROM rollup_daily"
	  " WHERE day >= " SINCE_DATE
	  " ORDER BY account_id, day LIMIT 20000",
	  "SELECT account_id, day, " DAYNUM("day") ", logins FROM rollup_daily"
	  " WHERE day >= " SINCE_DATE " AND (account_id, day) > ($2, $3::date)"
	  " ORDER BY account_id, day LIMIT 20000",
	  2, row_daily, NULL, LOAD_LEGACY },
	{ "SELECT account_id, hour_utc,"
	  " (extract(epoch FROM hour_utc) / 3600)::bigint, logins"
	  " FROM rollup_hourly"
	  " WHERE $1::integer IS NOT NULL"
	  " AND hour_utc > (now() AT TIME ZONE 'UTC') - interval '49 hours'"
	  " ORDER BY account_id, hour_utc LIMIT 20000",
	  "SELECT account_id, hour_utc,"
	  " (extract(epoch FROM hour_utc) / 3600)::bigint, logins"
	  " FROM rollup_hourly"
	  " WHERE $1::integer IS NOT NULL"
	  " AND hour_utc > (now() AT TIME ZONE 'UTC') - interval '49 hours'"
	  " AND (account_id, hour_utc) > ($2, $3::timestamp)"
	  " ORDER BY account_id, hour_utc LIMIT 20000",
	  2, row_hourly, NULL, LOAD_LEGACY },
	{ "SELECT account_id, kind, key, " DAYNUM("day") " FROM rollup_seen"
	  " WHERE day >= " SINCE_DATE
	  " ORDER BY account_id, kind, key LIMIT 20000",
	  "SELECT account_id, kind, key, " DAYNUM("day") " FROM rollup_seen"
	  " WHERE day >= " SINCE_DATE
	  " AND (account_id, kind, key) > ($2, $3::\"char\", $4)"
	  " ORDER BY account_id, kind, key LIMIT 20000",
	  3, row_seen, NULL, LOAD_LEGACY },
	{ "SELECT ts, source, id, account_id, type,"
	  " (extract(epoch FROM ts) * 1000000)::bigint, user_id, props::text"
	  " FROM events WHERE type NOT IN ('login', 'feature_used')"
	  " AND ts >= " SINCE_DATE
	  " ORDER BY ts, source, id LIMIT 20000",
	  "SELECT ts, source, id, account_id, type,"
	  " (extract(epoch FROM ts) * 1000000)::bigint, user_id, props::text"
	  " FROM events WHERE type NOT IN ('login', 'feature_used')"
	  " AND ts >= " SINCE_DATE
	  " AND (ts, source, id) > ($2::timestamptz, $3, $4)"
	  " ORDER BY ts, source, id LIMIT 20000",
	  3, row_event, NULL, LOAD_LEGACY },
	CUSTOM(step_snapshots, LOAD_SNAPSHOTS),
	CUSTOM(step_rebuild, LOAD_SNAPSHOTS),
	CUSTOM(step_replay, LOAD_SNAPSHOTS),
	{ "SELECT account_id, day, " DAYNUM("day") ", score FROM health_daily"
	  " WHERE day >= " SINCE_DATE
	  " ORDER BY account_id, day LIMIT 20000",
	  "SELECT account_id, day, " DAYNUM("day") ", score FROM health_daily"
	  " WHERE day >= " SINCE_DATE " AND (account_id, day) > ($2, $3::date)"
	  " ORDER BY account_id, day LIMIT 20000",
	  2, row_score, NULL, LOAD_LEGACY },
	{ "SELECT id, account_id, signal, fingerprint, state, severity, "
	  US("started_at") ", " US("inactive_since") ", " US("resolved_at")
	  ", " US("last_notified") ", " US("acked_at") ", explanation, key"
	  " FROM alerts WHERE state <> 'resolved' AND $1::integer IS NOT NULL"
	  " ORDER BY id LIMIT 20000",
	  "SELECT id, account_id, signal, fingerprint, state, severity, "
	  US("started_at") ", " US("inactive_since") ", " US("resolved_at")
	  ", " US("last_notified") ", " US("acked_at") ", explanation, key"
	  " FROM alerts WHERE state <> 'resolved' AND $1::integer IS NOT NULL"
	  " AND id > $2::bigint ORDER BY id LIMIT 20000",
	  1, row_alert, NULL, LOAD_ALWAYS },
	{ "SELECT created_at, id, receiver, body FROM notifications"
	  " WHERE state = 'pending' AND $1::integer IS NOT NULL"
	  " ORDER BY created_at, id LIMIT 20000",
	  "SELECT created_at, id, receiver, body FROM notifications"
	  " WHERE state = 'pending' AND $1::integer IS NOT NULL"
	  " AND (created_at, id) > ($2::timestamptz, $3)"
	  " ORDER BY created_at, id LIMIT 20000",
	  2, row_notification, NULL, LOAD_ALWAYS },
	{ "SELECT id, account_id, signal, category, " US("until")
	  ", expire_on_resolve FROM silences"
	  " WHERE ended_at IS NULL AND until > now()"
	  " AND $1::integer IS NOT NULL ORDER BY id LIMIT 20000",
	  "SELECT id, account_id, signal, category, " US("until")
	  ", expire_on_resolve FROM silences"
	  " WHERE ended_at IS NULL AND until > now()"
	  " AND $1::integer IS NOT NULL AND id > $2::bigint"
	  " ORDER BY id LIMIT 20000",
	  1, row_silence, NULL, LOAD_ALWAYS },
	{ "SELECT user_id, account_id FROM segment_members"
	  " WHERE $1::integer IS NOT NULL ORDER BY user_id LIMIT 20000",
	  "SELECT user_id, account_id FROM segment_members"
	  " WHERE $1::integer IS NOT NULL AND user_id > $2"
	  " ORDER BY user_id LIMIT 20000",
	  1, row_member, NULL, LOAD_ALWAYS },
};
#define NLOAD_STEPS	(sizeof(load_steps) / sizeof(load_steps[0]))

static void	load_page(struct store_loader *);
static void	store_simple_cb(enum db_status, const struct db_res *, void *);

static void
load_finish(struct store_loader *ld, int ok)
{
	size_t i;
	int k;

	/* A cursor left open by a failure: end its transaction. */
	if (ld->in_txn)
		(void)db_query(ld->st->lanes[0].db, "ROLLBACK", -1, NULL,
		    NULL, store_simple_cb, NULL);
	for (k = 0; k < 3; k++)
		free(ld->key[k]);
	for (i = 0; i < ACCOUNT_PARTS; i++)
		free(ld->marks[i].above);
	for (i = 0; i < ld->nrebuild; i++)
		free(ld->rebuild[i]);
	free(ld->rebuild);
	if (ok && !ld->legacy)
		log_info("store: loaded snapshots=%zu replayed=%zu "
		    "rebuilt=%zu", ld->nsnap, ld->nreplay, ld->nrebuild);
	ld->ops->done(ld->arg, ok);
	free(ld);
}

/* The step is over: on to the next one of this kind of start. */
static void
load_next(struct store_loader *ld)
{
	const struct load_step *step;
	int64_t now = util_now_us();

	log_debug("store: load step=%zu ms=%lld", ld->step,
	    (long long)((now - ld->t_step) / 1000));
	ld->t_step = now;
	for (ld->step++; ld->step < NLOAD_STEPS; ld->step++) {
		step = &load_steps[ld->step];
		if (step->when == LOAD_ALWAYS ||
		    (step->when == LOAD_LEGACY) == (ld->legacy != 0))
			break;
	}
	load_page(ld);
}

static void
load_page_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	const struct load_step *step = &load_steps[ld->step];
	int i, k, n;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: loading failed error=\"%s\"",
			    db_res_error(res));
		load_finish(ld, 0);
		return;
	}
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++)
		step->row(ld, res, i);
	if (n == LOAD_PAGE) {
		for (k = 0; k < step->nkeys; k++) {
			free(ld->key[k]);
			if ((ld->key[k] = strdup(db_res_value(res, n - 1,
			    k))) == NULL) {
				load_finish(ld, 0);
				return;
			}
		}
		load_page(ld);
		return;
	}
	for (k = 0; k < 3; k++) {
		free(ld->key[k]);
		ld->key[k] = NULL;
	}
	load_next(ld);
}

static void
load_page(struct store_loader *ld)
{
	const struct load_step *step;
	const char *values[4];
	int lengths[4], k, n = 1;

	if (ld->step == NLOAD_STEPS) {
		load_finish(ld, 1);
		return;
	}
	step = &load_steps[ld->step];
	if (step->run != NULL) {
		step->run(ld);
		return;
	}
	values[0] = ld->since;
	lengths[0] = (int)strlen(ld->since);
	if (ld->key[0] != NULL) {
		for (k = 0; k < step->nkeys; k++) {
			values[1 + k] = ld->key[k];
			lengths[1 + k] = (int)strlen(ld->key[k]);
		}
		n += step->nkeys;
	}
	if (db_query(ld->st->lanes[0].db, ld->key[0] != NULL ?
	    step->sql_next : step->sql_first, n, values, lengths,
	    load_page_cb, ld) == -1)
		load_finish(ld, 0);
}

/* A query of a step of its own could not be queued: give up. */
#define LOAD_QUERY(ld, call)	do {					\
	if ((call) == -1)						\
		load_finish((ld), 0);					\
} while (0)

static int
load_failed(struct store_loader *ld, enum db_status status,
    const struct db_res *res, const char *what)
{
	if (status == DB_OK)
		return 0;
	if (status == DB_ERROR)
		log_warnx("store: loading %s failed error=\"%s\"", what,
		    db_res_error(res));
	load_finish(ld, 0);
	return 1;
}

/* ---- the id hash key (util_hash_id) ---- */

/*
 * Drawn once, by whichever daemon starts first, and kept: the window ids
 * in every snapshot were hashed with it.  The CTE inserts a new key only
 * when there is none; the UNION reads whichever is there.
 */
static const char key_sql[] =
    "WITH k AS (INSERT INTO settings (name, value)"
    " VALUES ('window_hash_key', $1::bytea) ON CONFLICT (name) DO NOTHING"
    " RETURNING value)"
    " SELECT value FROM k UNION ALL"
    " SELECT value FROM settings WHERE name = 'window_hash_key'";

static void
key_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	if (load_failed(ld, status, res, "the hash key"))
		return;
	if (db_res_ntuples(res) < 1 || db_res_length(res, 0, 0) != 16) {
		log_warnx("store: settings.window_hash_key is not 16 bytes");
		load_finish(ld, 0);
		return;
	}
	util_hash_id_set_key((const unsigned char *)db_res_value(res, 0, 0));
	load_next(ld);
}

static void
step_key(struct store_loader *ld)
{
	static const unsigned int types[1] = { OID_BYTEA };
	unsigned char key[16];
	const char *values[1] = { (const char *)key };
	int lengths[1] = { 16 };

	if (util_random(key, sizeof(key)) == -1) {
		log_warnx("store: no randomness for a new hash key");
		load_finish(ld, 0);
		return;
	}
	LOAD_QUERY(ld, db_query_binres(ld->st->lanes[0].db, key_sql, 1, types,
	    values, lengths, key_cb, ld));
}

/* ---- the watermarks ---- */

static const char last_sql[] =
    "SELECT greatest((SELECT max(commit_no) FROM events),"
    " (SELECT max(commit_no) FROM snapshot_marks),"
    " (SELECT max(a) FROM snapshot_marks, unnest(applied) a), 0)";
static const char marks_sql[] =
    "SELECT part, commit_no, array_to_string(applied, ' ')"
    " FROM snapshot_marks";

/* "1 5 7" -> a sorted array; -1 when out of memory. */
static int
parse_above(const char *s, int64_t **out, size_t *n)
{
	size_t cap = 0;
	int64_t *p, v;
	char *end;

	*out = NULL;
	*n = 0;
	while (s != NULL && *s != '\0') {
		v = strtoll(s, &end, 10);
		if (end == s)
			break;
		s = end;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((p = reallocarray(*out, cap, sizeof(*p))) == NULL)
				return -1;
			*out = p;
		}
		(*out)[(*n)++] = v;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), util_cmp_i64);
	return 0;
}

static void
marks_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	struct load_mark *m;
	int i, n, part, have = 0;

	if (load_failed(ld, status, res, "the snapshot marks"))
		return;
	n = db_res_ntuples(res);
	ld->replay_from = INT64_MAX;
	for (i = 0; i < n; i++) {
		part = atoi(db_res_value(res, i, 0));
		if (part < 0 || part >= ACCOUNT_PARTS)
			continue;	/* written with more partitions */
		m = &ld->marks[part];
		m->mark = strtoll(db_res_value(res, i, 1), NULL, 10);
		if (parse_above(db_res_value(res, i, 2), &m->above,
		    &m->nabove) == -1) {
			load_finish(ld, 0);
			return;
		}
		if (m->mark < ld->replay_from)
			ld->replay_from = m->mark;
		have++;
	}
	/*
	 * Every partition has a mark once the first full pass is stored
	 * (engine); fewer: the windows are still what the rollups say
	 * (a database from before snapshots, or a first pass cut short,
	 * while ingest was held).
	 */
	ld->legacy = have < ACCOUNT_PARTS;
	if (ld->ops->marks != NULL)
		ld->ops->marks(ld->arg, ld->legacy);
	log_info("store: loading from %s", ld->legacy ? "rollups and events "
	    "(no snapshots yet)" : "snapshots");
	ld->step = 0;		/* load_next skips what this start does not do */
	while (load_steps[ld->step].run != step_marks)
		ld->step++;
	load_next(ld);
}

static void
last_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	if (load_failed(ld, status, res, "the last commit"))
		return;
	store_commit_start(ld->st, strtoll(db_res_value(res, 0, 0), NULL,
	    10));
	LOAD_QUERY(ld, db_query(ld->st->lanes[0].db, marks_sql, 0, NULL,
	    NULL, marks_cb, ld));
}

static void
step_marks(struct store_loader *ld)
{
	LOAD_QUERY(ld, db_query(ld->st->lanes[0].db, last_sql, 0, NULL, NULL,
	    last_cb, ld));
}

/* ---- accounts: one cursor, large fetches in binary ---- */

static void	cursor_open_cb(enum db_status, const struct db_res *, void *);
static void	cursor_close(struct store_loader *);

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t
get64(const unsigned char *p)
{
	return (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
}

/*
 * A one-dimensional text[] in binary (array_send): its elements into
 * el/len (not NUL-terminated), at most max of them.  -1 if malformed.
 */
static int
parse_text_array(const unsigned char *p, size_t n, const char **el,
    size_t *len, size_t max, size_t *nel)
{
	uint32_t ndim, count, l, i;
	size_t off;

	*nel = 0;
	if (n < 12)
		return -1;
	ndim = get32(p);
	if (ndim == 0)
		return 0;
	if (ndim != 1 || n < 20)
		return -1;
	count = get32(p + 12);
	off = 20;
	for (i = 0; i < count; i++) {
		if (n - off < 4)
			return -1;
		l = get32(p + off);
		off += 4;
		if (l == UINT32_MAX)
			continue;		/* NULL: no feature */
		if (n - off < l)
			return -1;
		if (*nel < max) {
			el[*nel] = (const char *)p + off;
			len[(*nel)++] = l;
		}
		off += l;
	}
	return 0;
}

#define ACCOUNT_FETCH_N	20000
#define ACCOUNT_FETCH	"FETCH 20000 FROM cw_load"

static void
account_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	const char *core[255], *v;
	size_t core_len[255];
	struct account_meta m;
	int i, n;

	if (load_failed(ld, status, res, "accounts"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.name = db_res_value(res, i, 1);
		m.plan = db_res_value(res, i, 2);
		m.segment = db_res_value(res, i, 3);
		m.owner = db_res_value(res, i, 5);
		m.slack_channel = db_res_value(res, i, 6);
		v = db_res_value(res, i, 4);
		m.seats = v != NULL && db_res_length(res, i, 4) == 4 ?
		    (int32_t)get32((const unsigned char *)v) : -1;
		v = db_res_value(res, i, 7);
		m.onboarded_at = v != NULL && db_res_length(res, i, 7) == 8 ?
		    get64((const unsigned char *)v) : 0;
		v = db_res_value(res, i, 8);
		m.renewal_at = v != NULL && db_res_length(res, i, 8) == 8 ?
		    get64((const unsigned char *)v) : 0;
		v = db_res_value(res, i, 9);
		if (v != NULL && parse_text_array((const unsigned char *)v,
		    (size_t)db_res_length(res, i, 9), core, core_len, 255,
		    &m.ncore) == -1)
			m.ncore = 0;
		m.core = core;
		m.core_len = core_len;
		ld->ops->account(ld->arg, db_res_value(res, i, 0), &m);
	}
	if (n == ACCOUNT_FETCH_N) {
		LOAD_QUERY(ld, db_query_binres(ld->st->lanes[0].db,
		    ACCOUNT_FETCH, 0, NULL, NULL, NULL, account_rows_cb, ld));
		return;
	}
	cursor_close(ld);
}

static void
step_accounts(struct store_loader *ld)
{
	if (!ld->cursor) {
		ld->in_txn = 1;
		LOAD_QUERY(ld, db_query(ld->st->lanes[0].db,
		    "BEGIN READ ONLY; DECLARE cw_load NO SCROLL CURSOR FOR"
		    " SELECT id, name, plan, segment, seats, owner,"
		    " slack_channel, " US("onboarded_at") ", "
		    US("renewal_at") ", core_features FROM accounts",
		    -1, NULL, NULL, cursor_open_cb, ld));
		return;
	}
	LOAD_QUERY(ld, db_query_binres(ld->st->lanes[0].db, ACCOUNT_FETCH, 0,
	    NULL, NULL, NULL, account_rows_cb, ld));
}

/* ---- snapshots: one cursor, large fetches in binary ---- */

#define SNAP_FETCH	"FETCH 20000 FROM cw_load"
#define SNAP_FETCH_N	20000

static int
rebuild_add(struct store_loader *ld, const char *id)
{
	char **p;
	size_t cap;

	if (ld->nrebuild == ld->caprebuild) {
		cap = ld->caprebuild ? ld->caprebuild * 2 : 64;
		if ((p = reallocarray(ld->rebuild, cap, sizeof(*p))) == NULL)
			return -1;
		ld->rebuild = p;
		ld->caprebuild = cap;
	}
	if ((ld->rebuild[ld->nrebuild] = strdup(id)) == NULL)
		return -1;
	ld->nrebuild++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
rebuilding(const struct store_loader *ld, const char *id)
{
	return ld->nrebuild > 0 && bsearch(&id, ld->rebuild, ld->nrebuild,
	    sizeof(*ld->rebuild), cmp_str) != NULL;
}

static void
cursor_closed_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	ld->in_txn = 0;
	ld->cursor = 0;
	if (load_failed(ld, status, res, "(closing a cursor)"))
		return;
	load_next(ld);
}

static void
cursor_close(struct store_loader *ld)
{
	LOAD_QUERY(ld, db_query(ld->st->lanes[0].db, "COMMIT", -1, NULL,
	    NULL, cursor_closed_cb, ld));
}

static void
snap_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	const char *id;
	int i, n;

	if (load_failed(ld, status, res, "snapshots"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		id = db_res_value(res, i, 0);
		ld->nsnap++;
		if (ld->ops->snapshot(ld->arg, id, db_res_value(res, i, 1),
		    (size_t)db_res_length(res, i, 1)) == 0)
			continue;
		/* Not readable here: rebuilt from all its events. */
		if (rebuild_add(ld, id) == -1) {
			load_finish(ld, 0);
			return;
		}
	}
	if (n == SNAP_FETCH_N) {
		LOAD_QUERY(ld, db_query_binres(ld->st->lanes[0].db,
		    SNAP_FETCH, 0, NULL, NULL, NULL, snap_rows_cb, ld));
		return;
	}
	if (ld->nrebuild > 1)
		qsort(ld->rebuild, ld->nrebuild, sizeof(*ld->rebuild),
		    cmp_str);
	cursor_close(ld);
}

static void
cursor_open_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	if (load_failed(ld, status, res, "(opening a cursor)"))
		return;
	ld->cursor = 1;
	load_page(ld);		/* the step's second stage: fetch */
}

static void
step_snapshots(struct store_loader *ld)
{
	if (!ld->cursor) {
		ld->in_txn = 1;
		LOAD_QUERY(ld, db_query(ld->st->lanes[0].db,
		    "BEGIN READ ONLY; DECLARE cw_load NO SCROLL CURSOR FOR"
		    " SELECT account_id, image FROM snapshots", -1, NULL, NULL,
		    cursor_open_cb, ld));
		return;
	}
	LOAD_QUERY(ld, db_query_binres(ld->st->lanes[0].db, SNAP_FETCH, 0,
	    NULL, NULL, NULL, snap_rows_cb, ld));
}

/* ---- events: of accounts to rebuild, and after the watermarks ---- */

#define EVENT_COLS \
    "commit_no, id, account_id, type," \
    " (extract(epoch FROM ts) * 1000000)::bigint, user_id, props::text"

static void
event_row(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->event(ld->arg, db_res_value(r, i, 1), db_res_value(r, i, 2),
	    db_res_value(r, i, 3), strtoll(db_res_value(r, i, 4), NULL, 10),
	    db_res_value(r, i, 5), db_res_value(r, i, 6));
}

static void
rebuild_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	int i, n;

	if (load_failed(ld, status, res, "events to rebuild from"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++)
		event_row(ld, res, i);
	log_notice("store: rebuilt from events accounts=%zu events=%d",
	    ld->nrebuild, n);
	load_next(ld);
}

/*
 * Snapshots this build cannot read (another format, another key, a torn
 * write): every stored event of those accounts, by ts.  Rare, and each
 * account's history is bounded by the horizon, so one query.
 */
static void
step_rebuild(struct store_loader *ld)
{
	static const char sql[] =
	    "SELECT " EVENT_COLS " FROM events"
	    " WHERE account_id = ANY($1) ORDER BY ts, source, id";
	static const unsigned int types[1] = { OID_TEXT_ARRAY };
	struct buf b = { NULL, 0, 0 };
	const char *values[1];
	int lengths[1], err;
	size_t i;

	if (ld->nrebuild == 0) {
		load_next(ld);
		return;
	}
	for (i = 0; i < ld->nrebuild; i++)
		log_warnx("store: snapshot not readable, rebuilding from "
		    "events account=%s", ld->rebuild[i]);
	err = arr_begin(&b, OID_TEXT);
	for (i = 0; i < ld->nrebuild; i++)
		err |= arr_text(&b, NULL, ld->rebuild[i]);
	if (err) {
		free(b.p);
		load_finish(ld, 0);
		return;
	}
	arr_end(&b, ld->nrebuild);
	values[0] = b.p;
	lengths[0] = (int)b.len;
	err = db_query_binary(ld->st->lanes[0].db, NULL, sql, 1, types,
	    values, lengths, rebuild_cb, ld);
	free(b.p);
	if (err == -1)
		load_finish(ld, 0);
}

/* Whether the snapshot of the event's account already holds it. */
static int
replay_wanted(const struct store_loader *ld, int64_t commit,
    const char *account_id)
{
	const struct load_mark *m;

	if (account_id[0] == '\0' || rebuilding(ld, account_id))
		return 0;
	m = &ld->marks[account_part(account_id)];
	if (commit <= m->mark)
		return 0;
	return m->nabove == 0 || bsearch(&commit, m->above, m->nabove,
	    sizeof(*m->above), util_cmp_i64) == NULL;
}

static void
replay_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	int i, n;

	if (load_failed(ld, status, res, "events after the snapshots"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++)
		if (replay_wanted(ld, strtoll(db_res_value(res, i, 0), NULL,
		    10), db_res_value(res, i, 2))) {
			event_row(ld, res, i);
			ld->nreplay++;
		}
	if (n == SNAP_FETCH_N) {
		LOAD_QUERY(ld, db_query(ld->st->lanes[0].db, SNAP_FETCH, 0,
		    NULL, NULL, replay_rows_cb, ld));
		return;
	}
	cursor_close(ld);
}

/*
 * The events committed after the oldest watermark, in commit order (a
 * commit's own events by ts), through the same apply code as live ones;
 * each is skipped where its partition's snapshot already holds it.
 */
static void
step_replay(struct store_loader *ld)
{
	static const char sql[] =
	    "DECLARE cw_load NO SCROLL CURSOR FOR"
	    " SELECT " EVENT_COLS " FROM events WHERE commit_no > $1::bigint"
	    " ORDER BY commit_no, ts, source, id";
	char from[24];
	const char *values[1] = { from };
	int lengths[1];

	if (ld->cursor) {
		LOAD_QUERY(ld, db_query(ld->st->lanes[0].db, SNAP_FETCH, 0,
		    NULL, NULL, replay_rows_cb, ld));
		return;
	}
	ld->in_txn = 1;
	lengths[0] = snprintf(from, sizeof(from), "%lld",
	    (long long)ld->replay_from);
	if (db_query(ld->st->lanes[0].db, "BEGIN READ ONLY", -1, NULL, NULL,
	    store_simple_cb, NULL) == -1 ||
	    db_query(ld->st->lanes[0].db, sql, 1, values, lengths,
	    cursor_open_cb, ld) == -1)
		load_finish(ld, 0);
}

int
store_load(struct store *st, const struct store_load_ops *ops,
    int32_t since_day, void *arg)
{
	struct store_loader *ld;

	if (!db_is_up(st->lanes[0].db) ||
	    (ld = calloc(1, sizeof(*ld))) == NULL)
		return -1;
	ld->st = st;
	ld->ops = ops;
	ld->arg = arg;
	ld->t_step = util_now_us();
	snprintf(ld->since, sizeof(ld->since), "%ld", (long)since_day);
	load_page(ld);
	return 0;
}

/*
 * The completion of a write whose result is only "done or not": log the
 * refusal, call the caller's callback once.
 */
#define ALERT_COLS	13
#define NOTIF_COLS	6

struct write_done {
	store_done_cb	 cb;
	void		*arg;
	const char	*what;		/* for the log */
};

static void
store_write_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct write_done *p = arg;

	if (status == DB_ERROR)
		log_warnx("store: storing %s failed error=\"%s\"", p->what,
		    db_res_error(res));
	p->cb(status == DB_OK ? STORE_OK : STORE_UNAVAILABLE, p->arg);
	free(p);
}

static struct write_done *
write_done_new(store_done_cb cb, void *arg, const char *what)
{
	struct write_done *p;

	if ((p = malloc(sizeof(*p))) == NULL)
		return NULL;
	p->cb = cb;
	p->arg = arg;
	p->what = what;
	return p;
}

/*
 * The tail every array write shares: close the ncols arrays (counts[c]
 * elements each), send them as one prepared statement, report through
 * cb, and free the arrays.  err: building the arrays already failed.
 */
static int
write_arrays(struct store *st, const char *stmt, const char *sql,
    struct buf *col, const size_t *counts, int ncols,
    const unsigned int *types, int err, store_done_cb cb, void *arg,
    const char *what)
{
	const char *values[ALERT_COLS + NOTIF_COLS] = { NULL };
	int lengths[ALERT_COLS + NOTIF_COLS] = { 0 }, c, rc = -1;
	struct write_done *p;

	if (!err && ncols <= ALERT_COLS + NOTIF_COLS &&
	    (p = write_done_new(cb, arg, what)) != NULL) {
		for (c = 0; c < ncols; c++) {
			arr_end(&col[c], counts[c]);
			values[c] = col[c].p;
			lengths[c] = (int)col[c].len;
		}
		rc = db_query_binary(st->lanes[0].db, stmt, sql, ncols, types,
		    values, lengths, store_write_cb, p);
		if (rc == -1)
			free(p);
	}
	for (c = 0; c < ncols; c++)
		free(col[c].p);
	return rc;
}

/* ---- health scores ---- */

/* ---- writing snapshots ---- */

/*
 * One statement, one transaction: the images of some accounts of
 * partition part, then the watermark of every partition in parts (which
 * then hold exactly the events up to it).  A partition's mark is never
 * stored without the images it speaks for.
 */
static const char snapshot_sql[] =
    "WITH c AS (INSERT INTO coverage AS c (kind, key, day)"
    " SELECT 'c', k, date '1970-01-01' + d"
    " FROM unnest($8::text[], $9::int4[]) u(k, d)"
    " ON CONFLICT (kind, key) DO UPDATE SET day = least(c.day,"
    " EXCLUDED.day)),"
    " s AS (INSERT INTO snapshots AS s"
    " (account_id, part, version, image, written_at)"
    " SELECT a, $6::int4, $7::int4, i, now()"
    " FROM unnest($4::text[], $5::bytea[]) u(a, i)"
    " ON CONFLICT (account_id) DO UPDATE SET part = EXCLUDED.part,"
    " version = EXCLUDED.version, image = EXCLUDED.image,"
    " written_at = EXCLUDED.written_at)"
    " INSERT INTO snapshot_marks AS m (part, commit_no, applied, written_at)"
    " SELECT p, $2::int8, $3::int8[], now() FROM unnest($1::int4[]) p"
    " ON CONFLICT (part) DO UPDATE SET commit_no = EXCLUDED.commit_no,"
    " applied = EXCLUDED.applied, written_at = EXCLUDED.written_at";

int
store_snapshot(struct store *st, const int32_t *parts, size_t nparts,
    int64_t mark, const int64_t *above, size_t nabove, int32_t part,
    int32_t version, const char *const *ids,
    const unsigned char *const *images, const uint32_t *lens, size_t n,
    const char *const *classes, const int32_t *class_days, size_t nclasses,
    store_done_cb cb, void *arg)
{
	static const unsigned int types[9] = { OID_INT4_ARRAY, OID_INT8,
	    OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT4,
	    OID_INT4, OID_TEXT_ARRAY, OID_INT4_ARRAY };
	struct buf b[5] = { { NULL, 0, 0 }, { NULL, 0, 0 }, { NULL, 0, 0 },
	    { NULL, 0, 0 }, { NULL, 0, 0 } };
	struct buf im = { NULL, 0, 0 };
	struct write_done *p;
	const char *values[9];
	int lengths[9], err = 0, rc = -1;
	char v_mark[8], v_part[4], v_version[4];
	size_t i;

	err |= arr_begin(&b[0], OID_INT4);
	for (i = 0; i < nparts; i++)
		err |= arr_int4(&b[0], parts[i]);
	arr_end(&b[0], nparts);
	err |= arr_begin(&b[1], OID_INT8);
	for (i = 0; i < nabove; i++)
		err |= arr_int8(&b[1], above[i]);
	arr_end(&b[1], nabove);
	err |= arr_begin(&b[3], OID_TEXT);
	err |= arr_begin(&b[4], OID_INT4);
	for (i = 0; i < nclasses; i++) {
		err |= arr_text(&b[3], NULL, classes[i]);
		err |= arr_int4(&b[4], class_days[i]);
	}
	arr_end(&b[3], nclasses);
	arr_end(&b[4], nclasses);
	err |= arr_begin(&b[2], OID_TEXT);
	err |= arr_begin(&im, OID_BYTEA);
	for (i = 0; i < n && !err; i++) {
		err |= arr_text(&b[2], NULL, ids[i]);
		if (buf_reserve(&im, 4 + (size_t)lens[i]) == -1) {
			err = 1;
			break;
		}
		put32(im.p + im.len, lens[i]);
		memcpy(im.p + im.len + 4, images[i], lens[i]);
		im.len += 4 + (size_t)lens[i];
	}
	if (err || (p = write_done_new(cb, arg, "snapshots")) == NULL)
		goto out;
	arr_end(&b[2], n);
	arr_end(&im, n);
	put64(v_mark, mark);
	put32(v_part, (uint32_t)part);
	put32(v_version, (uint32_t)version);
	values[0] = b[0].p;
	lengths[0] = (int)b[0].len;
	values[1] = v_mark;
	lengths[1] = 8;
	values[2] = b[1].p;
	lengths[2] = (int)b[1].len;
	values[3] = b[2].p;
	lengths[3] = (int)b[2].len;
	values[4] = im.p;
	lengths[4] = (int)im.len;
	values[5] = v_part;
	lengths[5] = 4;
	values[6] = v_version;
	lengths[6] = 4;
	values[7] = b[3].p;
	lengths[7] = (int)b[3].len;
	values[8] = b[4].p;
	lengths[8] = (int)b[4].len;
	/* The last lane: the first carries account and alert writes. */
	if ((rc = db_query_binary(st->lanes[st->nlanes - 1].db, "cw_snapshot",
	    snapshot_sql, 9, types, values, lengths, store_write_cb, p)) == -1)
		free(p);
out:
	for (i = 0; i < 5; i++)
		free(b[i].p);
	free(im.p);
	return rc;
}

int
store_scores(struct store *st, const char *const *ids, const int32_t *days,
    const int *scores, size_t n, store_done_cb cb, void *arg)
{
	static const unsigned int types[3] = { OID_TEXT_ARRAY,
	    OID_INT4_ARRAY, OID_INT4_ARRAY };
	struct buf col[3];
	size_t i, counts[3] = { n, n, n };
	int err = 0;

	memset(col, 0, sizeof(col));
	err |= arr_begin(&col[0], OID_TEXT);
	err |= arr_begin(&col[1], OID_INT4);
	err |= arr_begin(&col[2], OID_INT4);
	for (i = 0; i < n && !err; i++) {
		err |= arr_text(&col[0], NULL, ids[i]);
		err |= arr_int4(&col[1], days[i]);
		err |= arr_int4(&col[2], scores[i]);
	}
	return write_arrays(st, "cw_scores",
	    "INSERT INTO health_daily AS h (account_id, day, score)"
	    " SELECT a, date '1970-01-01' + d, s FROM unnest($1, $2, $3)"
	    " AS t(a, d, s) ORDER BY 1, 2"
	    " ON CONFLICT (account_id, day) DO UPDATE SET score = EXCLUDED.score",
	    col, counts, 3, types, err, cb, arg, "scores");
}

/* ---- data coverage ---- */

int
store_coverage(struct store *st, const char *kinds, const char *const *keys,
    const int32_t *days, size_t n, store_done_cb cb, void *arg)
{
	static const unsigned int types[3] = { OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_INT4_ARRAY };
	struct buf col[3];
	size_t i, counts[3] = { n, n, n };
	char kind[2] = { 0, 0 };
	int err = 0;

	memset(col, 0, sizeof(col));
	err |= arr_begin(&col[0], OID_TEXT);
	err |= arr_begin(&col[1], OID_TEXT);
	err |= arr_begin(&col[2], OID_INT4);
	for (i = 0; i < n && !err; i++) {
		kind[0] = kinds[i];
		err |= arr_text(&col[0], NULL, kind);
		err |= arr_text(&col[1], NULL, keys[i]);
		err |= arr_int4(&col[2], days[i]);
	}
	/* Only ever earlier: a late writer cannot move a day forward. */
	return write_arrays(st, "cw_coverage",
	    "INSERT INTO coverage AS c (kind, key, day)"
	    " SELECT k::\"char\", key, date '1970-01-01' + d"
	    " FROM unnest($1, $2, $3) AS u(k, key, d)"
	    " ON CONFLICT (kind, key) DO UPDATE SET day = least(c.day,"
	    " EXCLUDED.day)", col, counts, 3, types, err, cb, arg,
	    "data coverage");
}

/* ---- alerts and the outbox ---- */

int
store_alerts(struct store *st, const struct store_alert *al, size_t na,
    const struct store_notification *nt, size_t nn, store_done_cb cb,
    void *arg)
{
	static const unsigned int types[ALERT_COLS + NOTIF_COLS] = {
	    OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY, OID_TIMESTAMPTZ_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_TEXT_ARRAY };
	static const uint32_t elem[ALERT_COLS + NOTIF_COLS] = {
	    OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT,
	    OID_TEXT,
	    OID_TIMESTAMPTZ, OID_TIMESTAMPTZ, OID_TIMESTAMPTZ, OID_TIMESTAMPTZ,
	    OID_TEXT, OID_TEXT,
	    OID_TEXT, OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT };
	struct buf col[ALERT_COLS + NOTIF_COLS];
	size_t i, counts[ALERT_COLS + NOTIF_COLS];
	int c, err = 0;

	memset(col, 0, sizeof(col));
	for (c = 0; c < ALERT_COLS + NOTIF_COLS; c++) {
		err |= arr_begin(&col[c], elem[c]);
		counts[c] = c < ALERT_COLS ? na : nn;
	}
	for (i = 0; i < na && !err; i++) {
		err |= arr_int8(&col[0], (int64_t)al[i].id);
		err |= arr_text(&col[1], NULL, al[i].account_id);
		err |= arr_text(&col[2], NULL, al[i].signal);
		err |= arr_text(&col[3], NULL, al[i].category);
		err |= arr_text(&col[4], NULL, al[i].fingerprint);
		err |= arr_text(&col[5], NULL, al[i].state);
		err |= arr_text(&col[6], NULL, al[i].severity);
		err |= arr_ts(&col[7], al[i].started_at);
		err |= arr_ts_or_null(&col[8], al[i].inactive_since);
		err |= arr_ts_or_null(&col[9], al[i].resolved_at);
		err |= arr_ts_or_null(&col[10], al[i].last_notified);
		err |= arr_text(&col[11], NULL, al[i].explanation);
		err |= arr_text(&col[12], NULL, al[i].key != NULL ?
		    al[i].key : "");
	}
	for (i = 0; i < nn && !err; i++) {
		err |= arr_text(&col[13], NULL, nt[i].id);
		err |= arr_int8(&col[14], (int64_t)nt[i].alert_id);
		err |= arr_text(&col[15], NULL, nt[i].receiver);
		err |= arr_text(&col[16], NULL, nt[i].kind);
		err |= arr_text(&col[17], NULL, nt[i].body);
		err |= arr_text(&col[18], NULL, nt[i].state);
	}
	/*
	 * acked_at is not written here: it changes only through the ack
	 * endpoint, so a transition can never undo an acknowledgement.
	 */
	return write_arrays(st, "cw_alerts",
	    "WITH a AS ("
	    " INSERT INTO alerts AS x (id, account_id, signal, category,"
	    "  fingerprint, state, severity, started_at, inactive_since,"
	    "  resolved_at, last_notified, explanation, key)"
	    " SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
	    "  $11, $12, $13) ORDER BY 1"
	    " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state,"
	    "  severity = EXCLUDED.severity,"
	    "  inactive_since = EXCLUDED.inactive_since,"
	    "  resolved_at = EXCLUDED.resolved_at,"
	    "  last_notified = EXCLUDED.last_notified,"
	    "  explanation = EXCLUDED.explanation, updated_at = now()"
	    "), n AS ("
	    " INSERT INTO notifications (id, alert_id, receiver, kind, body,"
	    "  state)"
	    " SELECT * FROM unnest($14, $15, $16, $17, $18, $19)"
	    " ON CONFLICT (id) DO NOTHING"
	    ") SELECT 1",
	    col, counts, ALERT_COLS + NOTIF_COLS, types, err, cb, arg,
	    "alerts");
}

static void
store_simple_cb(enum db_status status, const struct db_res *res, void *arg)
{
	if (status == DB_ERROR)
		log_warnx("store: update failed error=\"%s\"", db_res_error(res));
}

int
store_notification_done(struct store *st, const char *id, int sent,
    int attempts, const char *detail)
{
	char att[16];
	const char *values[4] = { id, sent ? "sent" : "failed", att,
	    detail != NULL ? detail : "" };
	int lengths[4];
	int i;

	snprintf(att, sizeof(att), "%d", attempts);
	for (i = 0; i < 4; i++)
		lengths[i] = (int)strlen(values[i]);
	return db_query(st->lanes[0].db,
	    "UPDATE notifications SET state = $2, attempts = $3::integer,"
	    " detail = $4, done_at = now() WHERE id = $1",
	    4, values, lengths, store_simple_cb, NULL);
}

int
store_silence_end(struct store *st, uint64_t id)
{
	char sid[24];
	const char *values[1] = { sid };
	int lengths[1];

	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
	lengths[0] = (int)strlen(sid);
	return db_query(st->lanes[0].db,
	    "UPDATE silences SET ended_at = now()"
	    " WHERE id = $1::bigint AND ended_at IS NULL",
	    1, values, lengths, store_simple_cb, NULL);
}

struct json_query {
	store_json_cb	 cb;
	void		*arg;
};

static void
store_json_cb_(enum db_status status, const struct db_res *res, void *arg)
{
	struct json_query *q = arg;

	if (status == DB_ERROR)
		log_warnx("store: query failed error=\"%s\"",
		    db_res_error(res));
	q->cb(status == DB_OK ? STORE_OK : STORE_UNAVAILABLE,
	    status == DB_OK && db_res_ntuples(res) > 0 ?
	    db_res_value(res, 0, 0) : NULL, q->arg);
	free(q);
}

/* The alert state as the API shows it (SPEC 2.6 states). */
#define ALERT_VIEW_SQL \
	"CASE WHEN a.state = 'resolved' THEN 'resolved'" \
	" WHEN EXISTS (SELECT 1 FROM silences s WHERE s.ended_at IS NULL" \
	"  AND s.until > now()" \
	"  AND (s.account_id IS NULL OR s.account_id = a.account_id)" \
	"  AND (s.signal IS NULL OR s.signal = a.signal)" \
	"  AND (s.category IS NULL OR s.category = a.category))" \
	" THEN 'silenced' ELSE 'firing' END"

static const char api_alerts_sql[] =
    "SELECT json_build_object('alerts', coalesce(json_agg(x), '[]'))::text"
    " FROM (SELECT * FROM (SELECT a.id::text AS id,"
    "  nullif(a.account_id, '') AS account_id, nullif(a.key, '') AS key,"
    "  a.signal,"
    "  a.category, a.severity, " ALERT_VIEW_SQL " AS state, a.fingerprint,"
    "  a.started_at, a.resolved_at, a.last_notified, a.acked_at,"
    "  a.explanation FROM alerts a"
    "  WHERE ($2::text IS NULL OR a.account_id = $2)"
    "  AND ($3::timestamptz IS NULL OR a.started_at >= $3"
    "   OR a.resolved_at >= $3)) y"
    " WHERE $1::text IS NULL OR y.state = $1"
    " ORDER BY y.started_at DESC, y.id DESC LIMIT 1000) x";

static const char api_ack_sql[] =
    "UPDATE alerts SET acked_at = coalesce(acked_at, now()),"
    " updated_at = now() WHERE id = $1::bigint AND state <> 'resolved'"
    " RETURNING json_build_object('id', id::text, 'account_id', account_id,"
    " 'signal', signal, 'acked_at', acked_at)::text";

static const char api_silence_create_sql[] =
    "INSERT INTO silences (account_id, signal, category, until, comment,"
    " expire_on_resolve) VALUES ($1, $2, $3, $4::timestamptz, $5,"
    " $6::boolean) RETURNING json_build_object('id', id::text)::text";

static const char api_silences_sql[] =
    "SELECT json_build_object('silences', coalesce(json_agg(x"
    " ORDER BY x.created_at), '[]'))::text FROM (SELECT id::text AS id,"
    " account_id, signal, category, until, comment, expire_on_resolve,"
    " created_at FROM silences WHERE ended_at IS NULL AND until > now()) x";

static const char api_silence_delete_sql[] =
    "UPDATE silences SET ended_at = now() WHERE id = $1::bigint"
    " AND ended_at IS NULL AND until > now()"
    " RETURNING json_build_object('id', id::text, 'ended_at',"
    " ended_at)::text";

/* The API's queries and how many parameters each takes. */
static const struct {
	const char	*sql;
	int		 nparams;
} api_queries[STORE_API__COUNT] = {
	[STORE_API_ALERTS] = { api_alerts_sql, 3 },
	[STORE_API_ACK] = { api_ack_sql, 1 },
	[STORE_API_SILENCE_CREATE] = { api_silence_create_sql, 6 },
	[STORE_API_SILENCES] = { api_silences_sql, 0 },
	[STORE_API_SILENCE_DELETE] = { api_silence_delete_sql, 1 },
};

int
store_api(struct store *st, enum store_api call, const char *const *values,
    store_json_cb cb, void *arg)
{
	struct json_query *q;
	int lengths[8], i, nparams;

	if ((unsigned)call >= STORE_API__COUNT ||
	    (q = malloc(sizeof(*q))) == NULL)
		return -1;
	nparams = api_queries[call].nparams;
	q->cb = cb;
	q->arg = arg;
	for (i = 0; i < nparams; i++)
		lengths[i] = values[i] != NULL ? (int)strlen(values[i]) : 0;
	if (db_query(st->lanes[0].db, api_queries[call].sql, nparams,
	    nparams > 0 ? values : NULL, lengths, store_json_cb_, q) == -1) {
		free(q);
		return -1;
	}
	return 0;
}

/* ---- Segment memberships ---- */

int
store_members(struct store *st, const char *const *users,
    const char *const *accounts, size_t n, store_done_cb cb, void *arg)
{
	static const unsigned int types[2] = { OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY };
	struct buf col[2];
	size_t i, counts[2] = { n, n };
	int err = 0;

	memset(col, 0, sizeof(col));
	err |= arr_begin(&col[0], OID_TEXT);
	err |= arr_begin(&col[1], OID_TEXT);
	for (i = 0; i < n && !err; i++) {
		err |= arr_text(&col[0], NULL, users[i]);
		err |= arr_text(&col[1], NULL, accounts[i]);
	}
	/* The last membership of a user in the request wins. */
	return write_arrays(st, "cw_members",
	    "INSERT INTO segment_members AS m (user_id, account_id)"
	    " SELECT DISTINCT ON (u) u, a FROM unnest($1, $2)"
	    " WITH ORDINALITY AS t(u, a, o) ORDER BY u, o DESC"
	    " ON CONFLICT (user_id) DO UPDATE SET account_id ="
	    " EXCLUDED.account_id, updated_at = now()",
	    col, counts, 2, types, err, cb, arg, "memberships");
}

/* ---- retention ---- */

#define RETENTION_CHUNK	"50000"

struct retention {
	struct store		*st;
	char			 horizon[16];
	store_retention_cb	 cb;
	void			*arg;
	uint64_t		 deleted;
	int			 step;
};

/*
 * Events past the horizon, but only those every partition's snapshots
 * already hold (commit_no at most the lowest watermark): an event that a
 * snapshot does not hold yet is still needed by the next restart's
 * replay.  Without a complete set of watermarks, the first start has not
 * stored its snapshots yet: nothing is deleted.
 */
#define STR_(x)	#x
#define STR(x)	STR_(x)
#define MARKS_COMPLETE \
    "(SELECT count(*) FROM snapshot_marks) >= " STR(ACCOUNT_PARTS)

static const char retention_events_sql[] =
    "WITH m AS (SELECT CASE WHEN " MARKS_COMPLETE " THEN"
    " (SELECT min(commit_no) FROM snapshot_marks) END AS mark),"
    " d AS (DELETE FROM events WHERE ctid = ANY (ARRAY("
    " SELECT ctid FROM events, m WHERE ts < now() - make_interval(days =>"
    " $1::integer) AND m.mark IS NOT NULL"
    " AND (commit_no IS NULL OR commit_no <= m.mark)"
    " LIMIT " RETENTION_CHUNK ")) RETURNING 1)"
    " SELECT count(*) FROM d";

/*
 * The rollups are read only by a first start without snapshots: once the
 * snapshots are stored, nothing reads them again.
 */
static const char *const retention_rest_sql[] = {
	"DELETE FROM rollup_daily WHERE $1::integer IS NOT NULL AND "
	MARKS_COMPLETE,
	"DELETE FROM rollup_seen WHERE $1::integer IS NOT NULL AND "
	MARKS_COMPLETE,
	"DELETE FROM rollup_hourly WHERE $1::integer IS NOT NULL AND "
	MARKS_COMPLETE,
	"DELETE FROM health_daily WHERE day < (now() AT TIME ZONE 'UTC')::date"
	" - 2 * $1::integer",
	"DELETE FROM alerts WHERE state = 'resolved' AND resolved_at <"
	" now() - make_interval(days => 2 * $1::integer)",
	"DELETE FROM notifications WHERE state <> 'pending' AND created_at <"
	" now() - make_interval(days => 2 * $1::integer)",
};
#define NRETENTION_REST	(sizeof(retention_rest_sql) / \
	sizeof(retention_rest_sql[0]))

static void	retention_next(struct retention *);

static void
retention_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct retention *r = arg;
	uint64_t n;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: retention failed error=\"%s\"",
			    db_res_error(res));
		r->cb(STORE_UNAVAILABLE, r->deleted, r->arg);
		free(r);
		return;
	}
	if (r->step == 0) {
		n = db_res_ntuples(res) > 0 ?
		    strtoull(db_res_value(res, 0, 0), NULL, 10) : 0;
		r->deleted += n;
		if (n >= 50000) {		/* more old events: again */
			retention_next(r);
			return;
		}
	}
	r->step++;
	retention_next(r);
}

static void
retention_next(struct retention *r)
{
	const char *values[1] = { r->horizon };
	int lengths[1] = { (int)strlen(r->horizon) };
	const char *sql;

	if (r->step > (int)NRETENTION_REST) {
		r->cb(STORE_OK, r->deleted, r->arg);
		free(r);
		return;
	}
	sql = r->step == 0 ? retention_events_sql :
	    retention_rest_sql[r->step - 1];
	if (db_query(r->st->lanes[0].db, sql, 1, values, lengths,
	    retention_cb, r) == -1) {
		r->cb(STORE_UNAVAILABLE, r->deleted, r->arg);
		free(r);
	}
}

int
store_retention(struct store *st, unsigned horizon_days,
    store_retention_cb cb, void *arg)
{
	struct retention *r;

	if (!db_is_up(st->lanes[0].db) || (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->st = st;
	r->cb = cb;
	r->arg = arg;
	snprintf(r->horizon, sizeof(r->horizon), "%u", horizon_days);
	retention_next(r);
	return 0;
}
