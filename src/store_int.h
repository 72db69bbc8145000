/*
 * store_int.h -- private to store.c (ingest), store_load.c (snapshots
 * and start-up) and store_write.c (every other write): the PostgreSQL
 * binary array builders they share, and the write completions.
 */
#ifndef CW_STORE_INT_H
#define CW_STORE_INT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "util.h"

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static inline int
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

static inline void
put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

/* An int8 in binary (network order). */
static inline void
put64(char *p, int64_t v)
{
	put32(p, (uint32_t)((uint64_t)v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* A uint4 / int8 read back from a binary result. */
static inline uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline int64_t
get64(const unsigned char *p)
{
	return (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
}

static inline int
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

static inline void
arr_end(struct buf *b, size_t n)
{
	put32(b->p + 12, (uint32_t)n);
}

/* A text (prefix NULL) or jsonb (prefix "\1", its format version) value. */
static inline int
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

static inline int
arr_int4(struct buf *b, int32_t v)
{
	if (buf_reserve(b, 8) == -1)
		return -1;
	put32(b->p + b->len, 4);
	put32(b->p + b->len + 4, (uint32_t)v);
	b->len += 8;
	return 0;
}

static inline int	arr_ts(struct buf *, int64_t);

static inline int
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
static inline int
arr_ts_or_null(struct buf *b, int64_t us)
{
	if (us != 0)
		return arr_ts(b, us);
	return arr_text(b, NULL, NULL);
}

/* timestamptz is int8 microseconds from PostgreSQL's epoch. */
static inline int
arr_ts(struct buf *b, int64_t us)
{
	return arr_int8(b, us - PG_EPOCH_US);
}


/* The connection of account, alert and loading queries (the first lane),
 * and of snapshot writes (the last one). */
struct db	*store_db(const struct store *);
struct db	*store_db_snapshots(const struct store *);

/*
 * A write whose result is only "done or not" (store_write.c): the
 * refusal is logged, cb called once.
 */
struct write_done;
struct write_done *write_done_new(store_done_cb cb, void *arg,
		    const char *what);
void		 store_write_cb(enum db_status, const struct db_res *, void *);
/* A statement whose result nobody waits for: only a refusal is logged. */
void		 store_simple_cb(enum db_status, const struct db_res *, void *);

/* The reports' own connection (store_set_reports_db) and whether a
 * report is running on it. */
struct store_reports {
	struct db	*db;
	int		 busy;
};
struct store_reports *store_reports(struct store *);

#endif
