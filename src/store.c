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
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "event.h"
#include "log.h"
#include "store.h"
#include "util.h"

struct ingest_req {
	TAILQ_ENTRY(ingest_req)	 entry;
	const char		*source;
	const struct cw_event	*ev;
	size_t			 n;
	uint8_t			*fresh;
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

struct store {
	struct db		*db;
	size_t			 max_batch;
	struct ingest_list	 pending;
	size_t			 npending;	/* events */
	struct ingest_list	 inflight;
	size_t			 ninflight;
	struct slot		*slots;		/* sent events, by slot */
	size_t			 nslots;
	uint32_t		*hash;		/* slot + 1, 0 = empty */
	size_t			 hashcap;
	struct buf		 col[NCOLS];
};

static const char ingest_sql[] =
    "INSERT INTO events (source, id, account_id, type, ts, user_id, props) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
    "$5::timestamptz[], $6::text[], $7::jsonb[]) "
    "ON CONFLICT (source, id) DO NOTHING RETURNING source, id";

static void	store_flush(struct store *);

struct store *
store_new(struct db *db, size_t max_batch)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->db = db;
	st->max_batch = max_batch;
	TAILQ_INIT(&st->pending);
	TAILQ_INIT(&st->inflight);
	return st;
}

static void
store_complete(struct ingest_list *list, enum store_status status)
{
	struct ingest_req *r;

	while ((r = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, r, entry);
		r->cb(status, r->fresh, r->arg);
		free(r->fresh);
		free(r);
	}
}

void
store_free(struct store *st)
{
	int i;

	if (st == NULL)
		return;
	store_complete(&st->pending, STORE_UNAVAILABLE);
	/* In-flight requests are completed by db.c's DB_LOST callback. */
	for (i = 0; i < NCOLS; i++)
		free(st->col[i].p);
	free(st->slots);
	free(st->hash);
	free(st);
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

	if (!db_is_up(st->db))
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->fresh = calloc(n ? n : 1, 1)) == NULL) {
		free(r);
		return -1;
	}
	r->source = source;
	r->ev = ev;
	r->n = n;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&st->pending, r, entry);
	st->npending += n;
	if (TAILQ_EMPTY(&st->inflight))
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

/* Append one element of a PostgreSQL array literal; s NULL = SQL NULL. */
static int
buf_elem(struct buf *b, const char *s)
{
	const char *c;

	if (buf_reserve(b, s == NULL ? 6 : 2 * strlen(s) + 4) == -1)
		return -1;
	c = b->len == 0 ? "{" : ",";
	b->p[b->len++] = *c;
	if (s == NULL) {
		memcpy(b->p + b->len, "NULL", 4);
		b->len += 4;
		return 0;
	}
	b->p[b->len++] = '"';
	for (c = s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			b->p[b->len++] = '\\';
		b->p[b->len++] = *c;
	}
	b->p[b->len++] = '"';
	return 0;
}

static uint32_t
key_hash(const char *source, const char *id)
{
	uint32_t h = 2166136261u;

	for (; *source != '\0'; source++)
		h = (h ^ (uint8_t)*source) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h;
}

static const struct cw_event *
slot_event(const struct store *st, uint32_t s)
{
	return &st->slots[s].req->ev[st->slots[s].i];
}

/* Find the slot of (source, id), or the empty hash cell for it. */
static uint32_t *
hash_cell(struct store *st, const char *source, const char *id)
{
	size_t mask = st->hashcap - 1, h = key_hash(source, id) & mask;
	uint32_t *c;

	for (;; h = (h + 1) & mask) {
		c = &st->hash[h];
		if (*c == 0 ||
		    (strcmp(st->slots[*c - 1].req->source, source) == 0 &&
		    strcmp(slot_event(st, *c - 1)->id, id) == 0))
			return c;
	}
}

static void store_committed(enum db_status, const struct db_res *, void *);

static void
store_flush(struct store *st)
{
	struct ingest_req *r;
	const struct cw_event *e;
	size_t total = 0, i, cap;
	uint32_t *cell;
	char ts[CW_RFC3339_LEN];
	const char *values[NCOLS];
	int lengths[NCOLS], c, err = 0;

	if (TAILQ_EMPTY(&st->pending) || !TAILQ_EMPTY(&st->inflight))
		return;
	/* Take whole requests up to max_batch events (at least one). */
	while ((r = TAILQ_FIRST(&st->pending)) != NULL) {
		if (total > 0 && total + r->n > st->max_batch)
			break;
		TAILQ_REMOVE(&st->pending, r, entry);
		TAILQ_INSERT_TAIL(&st->inflight, r, entry);
		st->npending -= r->n;
		total += r->n;
	}
	st->ninflight = total;

	free(st->slots);
	free(st->hash);
	for (cap = 16; cap < total * 2; cap *= 2)
		;
	st->slots = calloc(total ? total : 1, sizeof(*st->slots));
	st->hash = calloc(cap, sizeof(*st->hash));
	st->hashcap = cap;
	st->nslots = 0;
	if (st->slots == NULL || st->hash == NULL)
		goto fail;
	for (c = 0; c < NCOLS; c++)
		st->col[c].len = 0;

	TAILQ_FOREACH(r, &st->inflight, entry) {
		for (i = 0; i < r->n; i++) {
			e = &r->ev[i];
			cell = hash_cell(st, r->source, e->id);
			if (*cell != 0)
				continue;	/* repeated in this group */
			st->slots[st->nslots].req = r;
			st->slots[st->nslots].i = i;
			*cell = (uint32_t)++st->nslots;
			util_format_rfc3339(e->ts, ts, sizeof(ts));
			err |= buf_elem(&st->col[0], r->source);
			err |= buf_elem(&st->col[1], e->id);
			err |= buf_elem(&st->col[2], e->account_id);
			err |= buf_elem(&st->col[3], event_type_name(e->type));
			err |= buf_elem(&st->col[4], ts);
			err |= buf_elem(&st->col[5], e->user_id);
			err |= buf_elem(&st->col[6], e->props);
		}
	}
	if (err)
		goto fail;
	if (st->nslots == 0) {
		/* Nothing to send (empty requests): complete at once. */
		st->ninflight = 0;
		store_complete(&st->inflight, STORE_OK);
		store_flush(st);
		return;
	}
	for (c = 0; c < NCOLS; c++) {
		if (buf_reserve(&st->col[c], 2) == -1)
			goto fail;
		st->col[c].p[st->col[c].len++] = '}';
		values[c] = st->col[c].p;
		lengths[c] = (int)st->col[c].len;
	}
	if (db_query(st->db, ingest_sql, NCOLS, values, lengths,
	    store_committed, st) == -1)
		goto fail;
	return;
fail:
	log_warnx("store: cannot send a batch of %zu events", total);
	st->ninflight = 0;
	store_complete(&st->inflight, STORE_UNAVAILABLE);
}

static void
store_committed(enum db_status status, const struct db_res *res, void *arg)
{
	struct store *st = arg;
	const char *source, *id;
	uint32_t *cell;
	struct slot *s;
	int i, n;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: insert of %zu events refused: %s",
			    st->ninflight, db_res_error(res));
		st->ninflight = 0;
		store_complete(&st->inflight, STORE_UNAVAILABLE);
		store_flush(st);
		return;
	}
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		source = db_res_value(res, i, 0);
		id = db_res_value(res, i, 1);
		cell = hash_cell(st, source, id);
		if (*cell == 0)
			continue;	/* cannot happen */
		s = &st->slots[*cell - 1];
		s->req->fresh[s->i] = 1;
	}
	st->ninflight = 0;
	store_complete(&st->inflight, STORE_OK);
	store_flush(st);
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
			log_warnx("store: account upsert refused: %s",
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
	if (db_query(st->db, account_sql, 2, values, lengths,
	    store_account_cb_, p) == -1) {
		free(p);
		return -1;
	}
	return 0;
}
