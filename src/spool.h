/*
 * spool.h -- the local spool of SPEC 6: while PostgreSQL cannot take
 * writes, ingest keeps acknowledging by appending events to an fsync'd
 * file; when the database is back the spool drains into it, in order,
 * and duplicates are caught there as always.
 *
 * Files in [spool] dir: spool.log (one JSON line per event, appended,
 * fdatasync'd before the caller acknowledges) and spool.done (the byte
 * offset up to which the log has been committed to PostgreSQL, written
 * after each committed chunk).  A crash between a commit and the offset
 * write only re-sends events that ON CONFLICT then counts as duplicates.
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct cw_event;
struct spool;

/* Open (creating dir and files); NULL with a logged reason on failure. */
struct spool	*spool_open(const char *dir, uint64_t max_bytes);
void		 spool_close(struct spool *);
void		 spool_set_max(struct spool *, uint64_t max_bytes);

/*
 * Append n events from source and make them durable.  Returns 0, or -1
 * when the spool is full or cannot be written (nothing appended then).
 */
int		 spool_append(struct spool *, const char *source,
		    const struct cw_event *ev, size_t n);

/* Bytes appended and not yet committed to PostgreSQL. */
uint64_t	 spool_pending(const struct spool *);
/* 1 when an append of about this many bytes would fit. */
int		 spool_has_room(const struct spool *, size_t bytes);

/*
 * Read up to max events from the undrained part: *source is the source of
 * all of them (a chunk never mixes sources), *ev a new array the caller
 * frees with spool_chunk_free().  Returns the number read (0 = nothing),
 * -1 on error.  spool_commit() then marks the chunk as drained.
 */
int		 spool_read(struct spool *, size_t max, char **source,
		    struct cw_event **ev);
void		 spool_chunk_free(char *source, struct cw_event *ev, size_t n);
int		 spool_commit(struct spool *);

#endif
