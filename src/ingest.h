/*
 * ingest.h -- from an accepted request to durable storage (SPEC 2.1-2.5,
 * 6): the direct path into PostgreSQL, the local spool while that cannot
 * take writes, the drain back, back-pressure, commits of unknown outcome,
 * and the Segment and account chains.
 *
 * Events go to one of two sinks of the same small interface (OpenSMTPD's
 * queue_backend idea): the direct one (the store's group commit, see
 * store_sink()) and the spool (spool.c's records, whose appends from
 * requests of the same loop turn share one fdatasync).  Which one, and in
 * which order, is this module's whole job:
 *
 *  - while the spool holds events, new ones queue behind them in it, so
 *    nothing overtakes what was acknowledged earlier;
 *  - the direct sink refuses (down, stopping) or fails a commit: the
 *    events still undecided go to the spool; those decided stay decided
 *    (stored ones count, refused ones are answered as refused);
 *  - once the windows are loaded and the direct sink is up, the spool
 *    drains into it chunk by chunk, in order; an event refused for what
 *    it is goes to the dead letter and the drain moves on;
 *  - back-pressure: past PENDING_BATCHES_MAX batches in the direct sink
 *    a request is refused (503) rather than queued without bound.
 *
 * Everything it must tell others goes through struct ingest_ops, so the
 * rules are unit-tested (tests/unit/check_ingest.c) with a fake direct
 * sink and a real spool, without a database, an engine or HTTP.
 */
#ifndef CW_INGEST_H
#define CW_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct event_base;
struct cw_event;
struct seg_result;
struct spool;
struct ingest;

/* Where events can go. */
struct ingest_sink {
	/*
	 * Take n events from source (borrowed until cb); cb exactly once,
	 * never from inside put.  0, or -1 when it cannot take them now
	 * (cb is not called).
	 */
	int		(*put)(void *self, const char *source,
			    const struct cw_event *ev, size_t n,
			    store_ingest_cb cb, void *arg);
	/* Events taken and not yet answered. */
	size_t		(*pending)(const void *self);
	/* 1 while put can be expected to work. */
	int		(*up)(const void *self);
	void		*self;
};

struct ingest_ops {
	/* Committed events reach the windows (fresh as in store.h). */
	void	(*apply)(void *arg, const struct cw_event *ev, size_t n,
		    const uint8_t *fresh);
	/* Segment: a membership, account metadata (validated JSON). */
	void	(*member)(void *arg, const char *user_id,
		    const char *account_id);
	void	(*account)(void *arg, const char *id, const char *json);
	/* 1 once the windows are loaded: the spool drains only then. */
	int	(*loaded)(void *arg);
	/* Answers to the requests (http.h has the contracts). */
	void	(*events_done)(void *handle, int committed,
		    const uint8_t *fresh, const char *const *why);
	void	(*account_done)(void *handle, int committed, int created);
	void	(*segment_done)(void *handle, int committed,
		    const char *refused);
	void	*arg;
};

/*
 * direct: the sink of the direct path (copied); spool: NULL for none;
 * store: for account metadata, memberships and commits of unknown
 * outcome (NULL in tests of the events path).  max_batch: events per
 * drained chunk and the unit of back-pressure.  A one-second timer
 * drains the spool and resolves unknown commits.
 */
/* The store's group commit as the direct sink. */
void		 ingest_store_sink(struct store *, struct ingest_sink *);

struct ingest	*ingest_new(struct event_base *, const struct ingest_sink *direct,
		    struct spool *, struct store *, size_t max_batch,
		    const struct ingest_ops *);
void		 ingest_free(struct ingest *);
void		 ingest_set_max_batch(struct ingest *, size_t);
/* Graceful stop: no more drains; requests still in flight complete. */
void		 ingest_stop(struct ingest *);

/*
 * The three ways in.  Each returns 0 and later calls its ops completion
 * with handle exactly once (never from inside), or -1 at once (503).
 * source, ev and res must stay valid until then.
 */
int		 ingest_events(struct ingest *, const char *source,
		    const struct cw_event *ev, size_t n, void *handle);
int		 ingest_account_put(struct ingest *, const char *id,
		    const char *json, void *handle);
int		 ingest_segment(struct ingest *, const char *source,
		    const struct seg_result *res, void *handle);

/* Drain what the spool holds now (also run by the timer). */
void		 ingest_drain(struct ingest *);

/* Spool bytes not yet drained (0 without a spool). */
uint64_t	 ingest_spooled(const struct ingest *);
/* 1 when the spool can take writes (room, not stopped by a failure). */
int		 ingest_spool_ok(const struct ingest *);
/* Events taken and not yet answered, both sinks. */
size_t		 ingest_pending(const struct ingest *);

#endif
