/*
 * spool.h -- the local spool of SPEC 6: while PostgreSQL cannot take
 * writes, ingest keeps acknowledging by appending events to an fsync'd
 * log; when the database is back the spool drains into it, in order, and
 * duplicates are caught there as always.
 *
 * Files in [spool] dir:
 *
 *   spool-GGGGGGGGGGGGGGGGGGGG.log   segments, numbered by generation; only
 *                                    the newest is appended to
 *   spool.pos                        "GEN OFFSET": what has been drained
 *   dead-letter.ndjson               events PostgreSQL refused for what
 *                                    they are, one JSON object a line
 *
 * A segment is a run of framed records, one per append: a 16-byte header
 * (magic "CWS1", flags, payload length, CRC-32C of flags, length and
 * payload) and a payload of one JSON line per event.  What that buys:
 *
 *  - a record torn by a crash fails its length or checksum, and is cut
 *    at open -- never merged with the next append;
 *  - a failed fdatasync is never retried as if it covered the earlier
 *    write (PostgreSQL's "fsyncgate"): the spool stops taking appends
 *    until a restart has re-validated the files;
 *  - what has been drained is recorded durably (spool.pos written to a
 *    temporary file, fsync'd, renamed, directory fsync'd) before a
 *    drained segment is deleted; nothing is ever truncated that holds an
 *    undrained record;
 *  - segments rotate at a bounded size and are deleted once drained, so
 *    the spool compacts under sustained load, and once drained the
 *    newest segment is rotated away too: spool_pending() drops to 0 and
 *    ingest returns to the direct path.
 *
 * The spool of earlier versions (spool.log of JSON lines, spool.done) is
 * converted at open, so an upgrade loses nothing.
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct cw_event;
struct spool;

/* Open (creating dir), cutting torn tails; NULL with a logged reason. */
struct spool	*spool_open(const char *dir, uint64_t max_bytes);
void		 spool_close(struct spool *);
void		 spool_set_max(struct spool *, uint64_t max_bytes);

/*
 * Append n events from source as one record and make it durable:
 * spool_write() and then spool_sync().  Returns 0, or -1 when the spool
 * is full, cannot be written, or has stopped taking appends after a
 * failed fdatasync (nothing may be acknowledged then).
 */
int		 spool_append(struct spool *, const char *source,
		    const struct cw_event *ev, size_t n);
/*
 * The two halves, so that the appends of concurrent requests share one
 * fdatasync: spool_write() appends a record (0, or -1 as above), and
 * only a spool_sync() that returns 0 makes every record written before
 * it durable.  A failed sync is never retried: from then on it fails.
 */
int		 spool_write(struct spool *, const char *source,
		    const struct cw_event *ev, size_t n);
int		 spool_sync(struct spool *);

/* Bytes appended and not yet drained into PostgreSQL. */
uint64_t	 spool_pending(const struct spool *);
/* 1 when an append of about this many bytes would be taken. */
int		 spool_has_room(const struct spool *, size_t bytes);
/* 1 after a failed write or fdatasync, until a restart. */
int		 spool_broken(const struct spool *);

/*
 * Read whole records from the undrained part, up to about max events:
 * *source is the source of all of them (a chunk never mixes sources), *ev
 * a new array the caller frees with spool_chunk_free().  Returns the
 * number read (0 = nothing waits), -1 on error.  spool_commit() then
 * marks the chunk as drained.  Events that no longer validate are logged
 * and skipped.
 */
int		 spool_read(struct spool *, size_t max, char **source,
		    struct cw_event **ev);
void		 spool_chunk_free(char *source, struct cw_event *ev, size_t n);
int		 spool_commit(struct spool *);

/*
 * Set one event aside in dead-letter.ndjson, with why (NULL: unknown),
 * durably.  0, or -1 (then the chunk must not be committed).
 */
int		 spool_dead_letter(struct spool *, const char *source,
		    const struct cw_event *ev, const char *why);

#ifdef CW_SPOOL_FAULTS
/* Tests only: the fdatasync the spool calls (default fdatasync). */
extern int	(*spool_fdatasync)(int);
/* Tests only: rotate segments past this many bytes (0: the default). */
extern uint64_t	 spool_segment_bytes;
#endif

#endif
