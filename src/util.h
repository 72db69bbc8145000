/*
 * util.h -- small pure helpers: time, numbers, constant-time compare, the
 * keyed hash of every table keyed by client strings.
 *
 * Pure: no I/O beyond reading the clock and the kernel's random bytes
 * (once, for the hash key), no libevent/libpq/curl types.
 */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define CW_USEC_PER_SEC	INT64_C(1000000)
#define CW_USEC_PER_DAY	(INT64_C(86400) * CW_USEC_PER_SEC)

/*
 * Parse an RFC 3339 date-time ("2026-11-20T09:30:00Z",
 * "2026-11-20T09:30:00.123+09:00"; 't'/'z' accepted, fraction up to 9
 * digits, truncated to microseconds).  On success stores microseconds since
 * the Unix epoch (UTC) in *us and returns 0; returns -1 on any syntax or
 * range error (month 13, Feb 30, hour 24, ...).
 * Strict form: YYYY-MM-DD("T"|"t")HH:MM:SS[.1-9 digits]("Z"|"z"|+HH:MM|-HH:MM),
 * nothing before or after; s need not be NUL-terminated.  A leap second
 * (:60) is accepted and counted as :59 (POSIX time has none); "-00:00" is
 * UTC; more than 9 fraction digits is an error.  The instant, in UTC,
 * must lie in years 0001..9999 (CW_TS_MIN..CW_TS_MAX): PostgreSQL's text
 * input has no year 0, and no time outside them can be formatted back.
 */
int	 util_parse_rfc3339(const char *s, size_t len, int64_t *us);

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, in us. */
#define CW_TS_MIN	(INT64_C(-62135596800) * CW_USEC_PER_SEC)
#define CW_TS_MAX	(INT64_C(253402300800) * CW_USEC_PER_SEC - 1)
/* 1 when us lies in CW_TS_MIN..CW_TS_MAX. */
int	 util_ts_valid(int64_t us);

/*
 * Format microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ".
 * buf must hold at least CW_RFC3339_LEN bytes; returns buf.
 */
#define CW_RFC3339_LEN	32
char	*util_format_rfc3339(int64_t us, char *buf, size_t len);

/* Wall clock in microseconds since the epoch. */
int64_t	 util_now_us(void);
/* Monotonic clock in microseconds (for intervals; never jumps back). */
int64_t	 util_mono_us(void);

/*
 * Constant-time comparison: returns 1 when the two byte strings are equal,
 * 0 otherwise.  The time taken depends only on the lengths.
 */
int	 util_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/*
 * 1 when s[0..n) holds a control character: C0, DEL, or C1 (U+0080 ..
 * U+009F encoded in UTF-8).  Ids, account ids and names must not.
 */
int	 util_has_control(const char *s, size_t n);

/*
 * Parse a whole decimal unsigned number in [min, max]; returns 0 and stores
 * it, or -1 (empty, sign, junk, overflow, out of range).
 */
int	 util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * CRC-32C (Castagnoli), as iSCSI and ext4 use: crc is the running value
 * (0 to start); returns the value after buf[0..n).  util_crc32c(0,
 * "123456789", 9) == 0xe3069283.
 */
uint32_t util_crc32c(uint32_t crc, const void *buf, size_t n);

/*
 * The one hash for tables keyed by what clients send (account, user and
 * event ids, interned names): SipHash-2-4 with a 128-bit key drawn from
 * getrandom() on first use, so a client cannot choose strings that
 * collide (hash flooding).  Values differ from process to process: never
 * persist one, nor let an order that depends on it leak into output.
 * Anything that must be stable across restarts (alert fingerprints) uses
 * its own fixed hash instead.
 *
 * util_hash() hashes len bytes.  For a key in several parts, feed them to
 * one struct util_hasher: init, update (any number of times, any
 * lengths), final; the result equals util_hash() of the concatenation.
 */
struct util_hasher {
	uint64_t	v[4];
	uint64_t	tail;		/* bytes not yet in a whole word */
	uint64_t	len;		/* bytes taken in all */
};

uint64_t util_hash(const void *buf, size_t len);
void	 util_hash_init(struct util_hasher *);
void	 util_hash_update(struct util_hasher *, const void *buf, size_t len);
uint64_t util_hash_final(struct util_hasher *);

/*
 * Use key[0..16) instead of a random key: for tests (SipHash's published
 * vectors, reproducible tables).  Call it before the first hash, or every
 * value hashed before is lost to the tables that hold it.
 */
void	 util_hash_set_key(const unsigned char key[16]);

/*
 * The same SipHash-2-4 under a second key, for ids whose hashes outlive
 * the process: the user and ticket ids a window keeps only as hashes, and
 * so its snapshots (snapshot.h).  The key is kept in PostgreSQL (table
 * settings) and set with util_hash_id_set_key() before the first window
 * is built; unset, a random one is drawn (unit tests, fuzzers).  Still
 * secret: a client cannot aim collisions at it.
 */
uint64_t util_hash_id(const void *buf, size_t len);

/* len bytes from the kernel's random source; 0, or -1 if it has none. */
int	 util_random(void *buf, size_t len);
/* qsort/bsearch order of int64_t values. */
int	 util_cmp_i64(const void *, const void *);
/*
 * Room for element n of the growing array *p (*cap elements of size
 * bytes allocated): doubles it (from 64) when n == *cap.  0, or -1 when
 * out of memory or too large (nothing changed).
 */
int	 util_grow(void **p, size_t *cap, size_t n, size_t size);
void	 util_hash_id_set_key(const unsigned char key[16]);

/*
 * A token bucket counted in whole units (events, requests): it holds up
 * to burst units and refills at rate units per second; times are us of a
 * monotonic clock, passed in so that tests choose them.  Exact integer
 * arithmetic (the level is kept in millionths of a unit).
 *
 * A request of n units is taken whole or not at all.  It is admitted when
 * the bucket holds min(n, burst): one larger than the burst is admitted
 * from a full bucket and leaves it in debt (the level below 0), so it is
 * neither refused forever nor a way past the long-run rate.
 */
#define UTIL_BUCKET_MAX	UINT64_C(1000000000)	/* rate and burst bound */

struct util_bucket {
	uint64_t	rate;		/* units per second, 1..UTIL_BUCKET_MAX */
	uint64_t	burst;		/* units, 1..UTIL_BUCKET_MAX */
	int64_t		level;		/* millionths of a unit */
	int64_t		last;		/* when level was brought up to date */
};

/* A full bucket; rate and burst are clamped to 1..UTIL_BUCKET_MAX. */
void	 util_bucket_init(struct util_bucket *, uint64_t rate, uint64_t burst,
	    int64_t now);

/*
 * New rate and burst (a reload), keeping what the bucket holds: it is
 * first refilled at the old rate up to now, then capped at the new burst.
 */
void	 util_bucket_set(struct util_bucket *, uint64_t rate, uint64_t burst,
	    int64_t now);

/*
 * Take the rest of a request of n units of which held were already taken
 * by this same request (a first unit charged before the size was known).
 * Returns 0 when taken (n - held units more), or, when refused, the us
 * until the bucket would admit the whole request from scratch (> 0; the
 * held units are not given back).  The bucket changes only when it takes.
 */
int64_t	 util_bucket_take(struct util_bucket *, uint64_t n, uint64_t held,
	    int64_t now);

#endif
