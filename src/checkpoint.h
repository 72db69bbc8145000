/*
 * checkpoint.h -- the windows checkpointed to PostgreSQL (issue 11).
 *
 * The events table is the log; the windows are a view of it.  An account
 * whose windows or evaluation state changed is "dirty"; every interval a
 * pass stores the snapshot (snapshot.h) of every dirty account, partition
 * by partition (account_part), each partition in one transaction with its
 * watermark (store_watermark): the commits whose events those images --
 * and the images of the partition's clean accounts -- hold.  A restart
 * reads the snapshots and replays only the events committed after each
 * partition's watermark (store_load).
 *
 * A partition's images are only ever stored together with its mark, and
 * all its dirty accounts at once: a mark that ran ahead of an image would
 * lose events at the next restart, an image that ran ahead of its mark
 * would count some twice.
 */
#ifndef CW_CHECKPOINT_H
#define CW_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

struct account;
struct account_table;
struct event_base;
struct store;
struct checkpoint;

struct checkpoint *checkpoint_new(struct event_base *, struct store *,
		    struct account_table *);
void		 checkpoint_free(struct checkpoint *);

/* Store changed windows every interval_us from now on. */
void		 checkpoint_start(struct checkpoint *, int64_t interval_us);

/*
 * The first day of each data class (SIGCAT__COUNT of them, 0 = none; not
 * copied): stored with every pass, so that the class coverage a restart
 * reads is never behind the snapshots' watermark.
 */
void		 checkpoint_classes(struct checkpoint *, const int32_t *heard);

/* a changed: its snapshot is stored at the next pass. */
void		 checkpoint_touch(struct checkpoint *, struct account *);

/*
 * Store every account now, and a watermark for every partition; done(1,
 * arg) once all is stored (a failed write is retried every second).  For
 * the first start on a database without snapshots: until it is done, the
 * rollups are what a restart would read, so ingest waits for it.
 */
void		 checkpoint_all(struct checkpoint *, void (*done)(int, void *),
		    void *arg);

/*
 * Restore a from a stored image: its windows and the evaluation state a
 * snapshot keeps.  0, or -1 (logged) when the image cannot be read here;
 * a is then unchanged.
 */
int		 checkpoint_restore(struct account *, const void *image,
		    size_t len);

/*
 * At a clean stop (ingest closed): store what changed now, so that the
 * next start replays nothing; done(ok, arg) once, when stored or not.
 * No pass runs by the timer after it.
 */
void		 checkpoint_flush(struct checkpoint *, void (*done)(int, void *),
		    void *arg);

/* Accounts waiting for the next pass. */
size_t		 checkpoint_dirty(const struct checkpoint *);

#endif
