/*
 * checkpoint.c -- the windows checkpointed to PostgreSQL (see
 * checkpoint.h).
 *
 * The dirty list holds every account whose snap_dirty flag is set (or,
 * after an allocation failure, not every one: then the partition is
 * scanned).  A pass walks the partitions that had dirty accounts when it
 * began, one per loop turn: it encodes all of the partition's dirty
 * accounts and takes the watermark in that same turn -- nothing is
 * applied in between -- and sends one statement; the next partition
 * follows once it is stored.  A last statement advances the mark of every
 * partition that is clean by then (nothing of it changed, so its stored
 * images hold the current watermark too); without it an idle partition
 * would hold every restart's replay back to its old mark.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "account.h"
#include "checkpoint.h"
#include "event.h"
#include "log.h"
#include "signal.h"
#include "snapshot.h"
#include "store.h"
#include "util.h"

struct checkpoint {
	struct event_base	*base;
	struct store		*store;
	struct account_table	*table;

	struct account		**dirty;	/* snap_dirty, any partition */
	size_t			 ndirty, capdirty;
	uint32_t		 part_dirty[ACCOUNT_PARTS];

	struct event		*ev_timer;	/* every interval: a pass */
	struct event		*ev_step;	/* the next partition */
	struct event		*ev_retry;	/* checkpoint_all after a failure */
	int64_t			 interval;
	int			 running;
	uint64_t		 todo;		/* partitions of this pass */
	int			 marks_done;	/* the clean marks are stored */

	/* The statement in flight. */
	struct account		**batch;
	size_t			 nbatch, capbatch;
	int32_t			 batch_part;	/* -1: marks only */
	int64_t			 last_mark;	/* of the last marks stored */
	size_t			 last_nabove;

	const int32_t		*heard;		/* first day per data class */

	void			(*all_done)(int, void *);
	void			*all_arg;

	/* checkpoint_flush: 1 waiting for the pass under way, 2 its own. */
	int			 flushing;
	void			(*flush_done)(int, void *);
	void			*flush_arg;

	/* This pass, for the log. */
	size_t			 pass_accounts;
	size_t			 pass_bytes;
	int64_t			 pass_start;
};

static void	pass_step(struct checkpoint *);

/* The classes heard of, as coverage rows: *n of them. */
static void
classes(const struct checkpoint *cp, const char **names, int32_t *days,
    size_t *n)
{
	int c;

	*n = 0;
	for (c = 0; cp->heard != NULL && c < SIGCAT__COUNT; c++)
		if (cp->heard[c] > 0) {
			names[*n] = signal_category_str((enum sig_category)c);
			days[(*n)++] = cp->heard[c];
		}
}

void
checkpoint_classes(struct checkpoint *cp, const int32_t *heard)
{
	cp->heard = heard;
}

void
checkpoint_touch(struct checkpoint *cp, struct account *a)
{
	if (cp == NULL || a->snap_dirty)
		return;
	a->snap_dirty = 1;
	cp->part_dirty[account_part(a->id)]++;
	/* Not listed (out of memory): its partition is scanned instead. */
	(void)account_vec_push(&cp->dirty, &cp->ndirty, &cp->capdirty, a);
}

size_t
checkpoint_dirty(const struct checkpoint *cp)
{
	size_t i, n = 0;

	for (i = 0; i < ACCOUNT_PARTS; i++)
		n += cp->part_dirty[i];
	return n;
}

static void	pass_start(struct checkpoint *);
static void	flush_go(struct checkpoint *);

static void
pass_end(struct checkpoint *cp, int ok)
{
	struct timeval tv = { 1, 0 };
	void (*done)(int, void *) = cp->all_done;
	void (*fdone)(int, void *) = cp->flush_done;

	cp->running = 0;
	if (ok && cp->pass_accounts > 0)
		log_info("checkpoint: stored accounts=%zu bytes=%zu ms=%lld",
		    cp->pass_accounts, cp->pass_bytes, (long long)
		    ((util_now_us() - cp->pass_start) / 1000));
	if (cp->flushing == 1) {
		flush_go(cp);		/* the pass under way is over */
		return;
	}
	if (cp->flushing == 2) {
		cp->flushing = 0;
		cp->flush_done = NULL;
		fdone(ok, cp->flush_arg);
		return;
	}
	if (done == NULL)
		return;
	if (!ok) {
		evtimer_add(cp->ev_retry, &tv);
		return;
	}
	cp->all_done = NULL;
	done(1, cp->all_arg);
}

/* The batch was not stored: its accounts are dirty again. */
static void
batch_undo(struct checkpoint *cp)
{
	struct account *a;
	size_t i;

	for (i = 0; i < cp->nbatch; i++) {
		a = cp->batch[i];
		if (a->snap_dirty)
			continue;	/* touched again meanwhile */
		checkpoint_touch(cp, a);
	}
	cp->nbatch = 0;
}

static void
stored_cb(enum store_status st, void *arg)
{
	struct checkpoint *cp = arg;

	if (st != STORE_OK) {
		log_warnx("checkpoint: snapshots not stored part=%d "
		    "accounts=%zu; retrying at the next pass",
		    (int)cp->batch_part, cp->nbatch);
		batch_undo(cp);
		pass_end(cp, 0);
		return;
	}
	cp->nbatch = 0;
	if (cp->batch_part < 0) {
		cp->marks_done = 1;
		pass_end(cp, 1);
		return;
	}
	event_active(cp->ev_step, EV_TIMEOUT, 1);
}

/* Gather the partition's dirty accounts into the batch. */
static int
gather(struct checkpoint *cp, int32_t part)
{
	struct account *a;
	size_t i, k;

	cp->nbatch = 0;
	for (i = 0, k = 0; i < cp->ndirty; i++) {
		a = cp->dirty[i];
		if ((int32_t)account_part(a->id) == part) {
			if (account_vec_push(&cp->batch, &cp->nbatch,
			    &cp->capbatch, a) == -1)
				return -1;
		} else
			cp->dirty[k++] = a;
	}
	cp->ndirty = k;
	if (cp->nbatch == cp->part_dirty[part])
		return 0;
	/* Some were never listed: find them all. */
	cp->nbatch = 0;
	for (i = 0; i < cp->table->count; i++) {
		a = cp->table->all[i];
		if (a->snap_dirty && (int32_t)account_part(a->id) == part &&
		    account_vec_push(&cp->batch, &cp->nbatch, &cp->capbatch,
		    a) == -1)
			return -1;
	}
	return 0;
}

/* Encode and send partition part: all in this loop turn. */
static int
send_part(struct checkpoint *cp, int32_t part)
{
	struct snapshot_account sa;
	struct snapshot_buf one = { NULL, 0, 0 };
	struct cw_error err;
	const int64_t *above;
	unsigned char **img = NULL;
	const char **ids = NULL;
	uint32_t *lens = NULL;
	const char *cnames[SIGCAT__COUNT];
	int32_t cdays[SIGCAT__COUNT];
	size_t i, nabove, n = 0, ncls;
	int64_t mark;
	int rc = -1;

	if (gather(cp, part) == -1)
		goto undo;
	n = cp->nbatch;
	if ((img = calloc(n ? n : 1, sizeof(*img))) == NULL ||
	    (ids = calloc(n ? n : 1, sizeof(*ids))) == NULL ||
	    (lens = calloc(n ? n : 1, sizeof(*lens))) == NULL)
		goto undo;
	for (i = 0; i < n; i++) {
		snapshot_account_get(cp->batch[i], &sa);
		if (snapshot_encode(&cp->batch[i]->w, &sa, &one, &err) == -1 ||
		    (img[i] = malloc(one.len)) == NULL) {
			log_warnx("checkpoint: cannot encode account=%s",
			    cp->batch[i]->id);
			goto undo;
		}
		memcpy(img[i], one.p, one.len);
		lens[i] = (uint32_t)one.len;
		ids[i] = cp->batch[i]->id;
		cp->pass_bytes += one.len;
	}
	store_watermark(cp->store, &mark, &above, &nabove);
	classes(cp, cnames, cdays, &ncls);
	cp->batch_part = part;
	if (store_snapshot(cp->store, &part, 1, mark, above, nabove, part,
	    SNAPSHOT_VERSION, ids, (const unsigned char *const *)img, lens, n,
	    cnames, cdays, ncls, stored_cb, cp) == -1)
		goto undo;
	for (i = 0; i < n; i++)
		cp->batch[i]->snap_dirty = 0;
	cp->part_dirty[part] = 0;
	cp->pass_accounts += n;
	rc = 0;
	goto out;
undo:
	/* Nothing was sent: the accounts stay dirty, listed again. */
	for (i = 0; i < cp->nbatch; i++)
		(void)account_vec_push(&cp->dirty, &cp->ndirty, &cp->capdirty,
		    cp->batch[i]);
	cp->nbatch = 0;
out:
	for (i = 0; img != NULL && i < n; i++)
		free(img[i]);
	free(img);
	free(ids);
	free(lens);
	snapshot_buf_free(&one);
	return rc;
}

/* The last statement of a pass: the marks of the clean partitions. */
static int
send_marks(struct checkpoint *cp)
{
	int32_t parts[ACCOUNT_PARTS];
	const char *cnames[SIGCAT__COUNT];
	int32_t cdays[SIGCAT__COUNT];
	const int64_t *above;
	size_t i, n = 0, nabove, ncls;
	int64_t mark;

	store_watermark(cp->store, &mark, &above, &nabove);
	classes(cp, cnames, cdays, &ncls);
	for (i = 0; i < ACCOUNT_PARTS; i++)
		if (cp->part_dirty[i] == 0)
			parts[n++] = (int32_t)i;
	cp->batch_part = -1;
	cp->nbatch = 0;
	return store_snapshot(cp->store, parts, n, mark, above, nabove, 0,
	    SNAPSHOT_VERSION, NULL, NULL, NULL, 0, cnames, cdays, ncls,
	    stored_cb, cp);
}

static void
pass_step(struct checkpoint *cp)
{
	int32_t part;

	for (part = 0; part < ACCOUNT_PARTS; part++)
		if (cp->todo & (UINT64_C(1) << part))
			break;
	if (part < ACCOUNT_PARTS) {
		cp->todo &= ~(UINT64_C(1) << part);
		if (cp->part_dirty[part] == 0) {
			event_active(cp->ev_step, EV_TIMEOUT, 1);
			return;
		}
		if (send_part(cp, part) == -1) {
			log_warnx("checkpoint: snapshots not sent part=%d",
			    (int)part);
			pass_end(cp, 0);
		}
		return;
	}
	if (send_marks(cp) == -1)
		pass_end(cp, 0);
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	pass_step(arg);
}

static void
pass_start(struct checkpoint *cp)
{
	const int64_t *above;
	size_t i, nabove;
	int64_t mark;

	if (cp->running)
		return;
	store_watermark(cp->store, &mark, &above, &nabove);
	cp->todo = 0;
	for (i = 0; i < ACCOUNT_PARTS; i++)
		if (cp->part_dirty[i] > 0)
			cp->todo |= UINT64_C(1) << i;
	/* Nothing new since the last pass: nothing to store. */
	if (cp->todo == 0 && cp->marks_done && mark == cp->last_mark &&
	    nabove == cp->last_nabove && cp->all_done == NULL)
		return;
	cp->last_mark = mark;
	cp->last_nabove = nabove;
	cp->running = 1;
	cp->marks_done = 0;
	cp->pass_accounts = 0;
	cp->pass_bytes = 0;
	cp->pass_start = util_now_us();
	pass_step(cp);
}

/* The flush's own pass: everything dirty now. */
static void
flush_go(struct checkpoint *cp)
{
	void (*fdone)(int, void *) = cp->flush_done;

	cp->flushing = 2;
	pass_start(cp);
	if (!cp->running) {	/* nothing to store */
		cp->flushing = 0;
		cp->flush_done = NULL;
		fdone(1, cp->flush_arg);
	}
}

void
checkpoint_flush(struct checkpoint *cp, void (*done)(int, void *), void *arg)
{
	cp->flush_done = done;
	cp->flush_arg = arg;
	evtimer_del(cp->ev_timer);
	if (cp->running)
		cp->flushing = 1;
	else
		flush_go(cp);
}

/* The interval's timer, and the retry after a failed first pass. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	pass_start(arg);
}

struct checkpoint *
checkpoint_new(struct event_base *base, struct store *store,
    struct account_table *table)
{
	struct checkpoint *cp;

	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return NULL;
	cp->base = base;
	cp->store = store;
	cp->table = table;
	cp->last_mark = -1;
	if ((cp->ev_timer = event_new(base, -1, EV_PERSIST, timer_cb,
	    cp)) == NULL ||
	    (cp->ev_step = event_new(base, -1, 0, step_cb, cp)) == NULL ||
	    (cp->ev_retry = evtimer_new(base, timer_cb, cp)) == NULL) {
		checkpoint_free(cp);
		return NULL;
	}
	return cp;
}

void
checkpoint_free(struct checkpoint *cp)
{
	if (cp == NULL)
		return;
	if (cp->ev_timer != NULL)
		event_free(cp->ev_timer);
	if (cp->ev_step != NULL)
		event_free(cp->ev_step);
	if (cp->ev_retry != NULL)
		event_free(cp->ev_retry);
	free(cp->dirty);
	free(cp->batch);
	free(cp);
}

void
checkpoint_start(struct checkpoint *cp, int64_t interval_us)
{
	struct timeval tv;

	cp->interval = interval_us;
	tv.tv_sec = (time_t)(interval_us / CW_USEC_PER_SEC);
	tv.tv_usec = (suseconds_t)(interval_us % CW_USEC_PER_SEC);
	evtimer_add(cp->ev_timer, &tv);
}

void
checkpoint_all(struct checkpoint *cp, void (*done)(int, void *), void *arg)
{
	size_t i;

	for (i = 0; i < cp->table->count; i++)
		checkpoint_touch(cp, cp->table->all[i]);
	cp->all_done = done;
	cp->all_arg = arg;
	log_notice("checkpoint: storing the first snapshots accounts=%zu",
	    cp->table->count);
	pass_start(cp);
}

int
checkpoint_restore(struct account *a, const void *image, size_t len)
{
	struct snapshot_account sa;
	struct window w;
	struct cw_error err;
	int has_acct = 0;

	if (snapshot_decode(image, len, &w, &sa, &has_acct, &err) == -1) {
		log_warnx("checkpoint: snapshot not read account=%s code=%s: "
		    "%s", a->id, err.code, err.msg);
		return -1;
	}
	window_free(&a->w);
	a->w = w;
	if (has_acct) {
		if (snapshot_account_put(a, &sa) == -1)
			log_warnx("checkpoint: out of memory for the signal "
			    "state account=%s", a->id);
		/* So that the first evaluation keeps since[] (snapshot.h). */
		a->evaluated = 1;
	}
	return 0;
}
