/*
 * util.c -- small pure helpers: RFC 3339 time, the wall clock, decimal
 * numbers, constant-time comparison, CRC-32C and the keyed hash.
 *
 * No I/O except reading the clock and, once, getrandom().  Calendar arithmetic is done here
 * (days-from-civil, proleptic Gregorian, UTC) rather than with
 * mktime()/timegm(), so the result never depends on TZ or the C library.
 */
#include "config.h"

#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define SEC_PER_DAY	INT64_C(86400)

static const unsigned char month_days[12] = {
	31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
};

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	if (m == 2 && is_leap(y))
		return 29;
	return month_days[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); m is 1..12, d is 1..31.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	era;
	int	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	era;
	int	doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* n ASCII digits (no sign, no space) as a number; -1 if any is not. */
static int
digits(const char *s, size_t n)
{
	int	v = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Strict RFC 3339 (section 5.6 date-time):
 *
 *	YYYY-MM-DD ("T" | "t") HH:MM:SS [ "." 1*9DIGIT ]
 *	    ("Z" | "z" | ("+" | "-") HH:MM)
 *
 * A leap second (SS = 60) is accepted and counted as second 59 with its
 * fraction: POSIX time has no leap seconds, and rejecting the one a clock
 * legitimately reports would lose an event.  "-00:00" is UTC.  The string
 * is len bytes and need not be NUL-terminated.
 */
int
util_parse_rfc3339(const char *s, size_t len, int64_t *us)
{
	int64_t	days, secs, frac = 0;
	size_t	p, nd;
	int	y, mo, d, h, mi, sec, oh, om, off = 0;

	/* The fixed part and at least a "Z". */
	if (s == NULL || len < 20)
		return -1;
	if ((y = digits(s, 4)) < 0 || s[4] != '-' ||
	    (mo = digits(s + 5, 2)) < 0 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 0 || (s[10] != 'T' && s[10] != 't') ||
	    (h = digits(s + 11, 2)) < 0 || s[13] != ':' ||
	    (mi = digits(s + 14, 2)) < 0 || s[16] != ':' ||
	    (sec = digits(s + 17, 2)) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59;

	p = 19;
	if (s[p] == '.') {
		p++;
		for (nd = 0; p < len && s[p] >= '0' && s[p] <= '9'; nd++, p++)
			if (nd < 6)
				frac = frac * 10 + (s[p] - '0');
		if (nd == 0 || nd > 9)
			return -1;
		for (; nd < 6; nd++)
			frac *= 10;
	}

	if (p >= len)
		return -1;
	if (s[p] == 'Z' || s[p] == 'z') {
		if (p + 1 != len)
			return -1;
	} else if (s[p] == '+' || s[p] == '-') {
		if (p + 6 != len || (oh = digits(s + p + 1, 2)) < 0 ||
		    s[p + 3] != ':' || (om = digits(s + p + 4, 2)) < 0 ||
		    oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60;
		if (s[p] == '-')
			off = -off;
	} else
		return -1;

	days = days_from_civil(y, mo, d);
	secs = days * SEC_PER_DAY + h * 3600 + mi * 60 + sec - off;
	if (!util_ts_valid(secs * CW_USEC_PER_SEC + frac))
		return -1;	/* year 0000, or an offset past 0001/9999 */
	*us = secs * CW_USEC_PER_SEC + frac;
	return 0;
}

int
util_ts_valid(int64_t us)
{
	return us >= CW_TS_MIN && us <= CW_TS_MAX;
}

char *
util_format_rfc3339(int64_t us, char *buf, size_t len)
{
	int64_t	days, rem, y;
	int	m, d, sod;

	if (len == 0)
		return buf;
	days = us / CW_USEC_PER_DAY;
	rem = us % CW_USEC_PER_DAY;
	if (rem < 0) {
		rem += CW_USEC_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	sod = (int)(rem / CW_USEC_PER_SEC);
	(void)snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    (long long)y, m, d, sod / 3600, sod / 60 % 60, sod % 60,
	    (int)(rem % CW_USEC_PER_SEC));
	return buf;
}

int64_t
util_now_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * CW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t
util_mono_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * CW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/*
 * Walk the longer length whatever the contents: a byte past the end of
 * the shorter string compares as 0 and the length difference is folded in
 * at the end, so neither a mismatch position nor a length difference
 * shortens the loop.  The branches depend on i and the lengths only.
 */
int
util_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char	*pa = a, *pb = b;
	size_t				 i, n;
	unsigned			 diff = 0, x, y;

	n = alen > blen ? alen : blen;
	for (i = 0; i < n; i++) {
		x = i < alen ? pa[i] : 0;
		y = i < blen ? pb[i] : 0;
		diff |= x ^ y;
	}
	diff |= (unsigned)(alen != blen);
	return diff == 0;
}

int
util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	d;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_has_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 1;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

uint32_t
util_crc32c(uint32_t crc, const void *buf, size_t n)
{
	static uint32_t table[256];
	const unsigned char *p = buf;
	uint32_t c;
	int i, k;

	if (table[1] == 0)
		for (i = 0; i < 256; i++) {
			for (c = (uint32_t)i, k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n-- > 0)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- the keyed hash: SipHash-2-4 (Aumasson and Bernstein, 2012) ---- */

struct sip_key {
	int		set;
	uint64_t	k0, k1;
};

static struct sip_key	hash_key;	/* per process: tables */
static struct sip_key	id_key;		/* kept in PostgreSQL: window ids */

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

static uint64_t	sip_hash(const struct sip_key *, const void *, size_t);

static void
key_set(struct sip_key *k, const unsigned char key[16])
{
	k->k0 = le64(key);
	k->k1 = le64(key + 8);
	k->set = 1;
}

void
util_hash_set_key(const unsigned char key[16])
{
	key_set(&hash_key, key);
}

void
util_hash_id_set_key(const unsigned char key[16])
{
	key_set(&id_key, key);
}

/*
 * The process's key, drawn on first use.  getrandom() blocks only until
 * the kernel's pool is first initialised, which is long past by the time a
 * daemon serves clients.  Should it fail (a sandbox without it), the key
 * falls back to what an outside client cannot see: the clocks in
 * nanoseconds, the pid and where ASLR put the stack and this code.
 */
static void
hash_key_draw(struct sip_key *k)
{
	unsigned char	 key[16];
	struct timespec	 ts;
	size_t		 got = 0;
	ssize_t		 n;
	uint64_t	 mix[4];
	int		 stack;

	while (got < sizeof(key)) {
		n = getrandom(key + got, sizeof(key) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(key)) {
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		mix[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		mix[1] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		mix[2] = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&stack;
		mix[3] = (uint64_t)(uintptr_t)&hash_key_draw;
		memset(key, 0, sizeof(key));
		key_set(k, key);
		k->set = 0;	/* hashed below with the zero key, not kept */
		mix[0] = sip_hash(k, mix, sizeof(mix));
		mix[1] = sip_hash(k, mix, sizeof(mix));
		memcpy(key, mix, sizeof(key));
	}
	key_set(k, key);
}

#define ROTL64(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_rounds(uint64_t v[4], int n)
{
	while (n-- > 0) {
		v[0] += v[1];
		v[1] = ROTL64(v[1], 13);
		v[1] ^= v[0];
		v[0] = ROTL64(v[0], 32);
		v[2] += v[3];
		v[3] = ROTL64(v[3], 16);
		v[3] ^= v[2];
		v[0] += v[3];
		v[3] = ROTL64(v[3], 21);
		v[3] ^= v[0];
		v[2] += v[1];
		v[1] = ROTL64(v[1], 17);
		v[1] ^= v[2];
		v[2] = ROTL64(v[2], 32);
	}
}

/* One 8-byte message word: 2 compression rounds. */
static void
sip_word(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_rounds(v, 2);
	v[0] ^= m;
}

static void
hasher_init(struct util_hasher *h, const struct sip_key *k)
{
	h->v[0] = k->k0 ^ UINT64_C(0x736f6d6570736575);
	h->v[1] = k->k1 ^ UINT64_C(0x646f72616e646f6d);
	h->v[2] = k->k0 ^ UINT64_C(0x6c7967656e657261);
	h->v[3] = k->k1 ^ UINT64_C(0x7465646279746573);
	h->tail = 0;
	h->len = 0;
}

void
util_hash_init(struct util_hasher *h)
{
	if (!hash_key.set)
		hash_key_draw(&hash_key);
	hasher_init(h, &hash_key);
}

void
util_hash_update(struct util_hasher *h, const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	/* Finish a word begun by an earlier update, a byte at a time. */
	while (len > 0 && (h->len & 7) != 0) {
		h->tail |= (uint64_t)*p++ << (8 * (h->len & 7));
		h->len++;
		len--;
		if ((h->len & 7) == 0) {
			sip_word(h->v, h->tail);
			h->tail = 0;
		}
	}
	for (; len >= 8; p += 8, len -= 8, h->len += 8)
		sip_word(h->v, le64(p));
	for (; len > 0; len--, h->len++)
		h->tail |= (uint64_t)*p++ << (8 * (h->len & 7));
}

uint64_t
util_hash_final(struct util_hasher *h)
{
	sip_word(h->v, h->tail | h->len << 56);
	h->v[2] ^= 0xff;
	sip_rounds(h->v, 4);
	return h->v[0] ^ h->v[1] ^ h->v[2] ^ h->v[3];
}

static uint64_t
sip_hash(const struct sip_key *k, const void *buf, size_t len)
{
	struct util_hasher h;

	hasher_init(&h, k);
	util_hash_update(&h, buf, len);
	return util_hash_final(&h);
}

uint64_t
util_hash(const void *buf, size_t len)
{
	struct util_hasher h;

	util_hash_init(&h);
	util_hash_update(&h, buf, len);
	return util_hash_final(&h);
}

uint64_t
util_hash_id(const void *buf, size_t len)
{
	if (!id_key.set)
		hash_key_draw(&id_key);
	return sip_hash(&id_key, buf, len);
}

int
util_random(void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
util_grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *q;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	if (c < *cap || size == 0 || c > SIZE_MAX / size)
		return -1;
	if ((q = realloc(*p, c * size)) == NULL)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

int
util_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- token buckets ---- */

#define MICRO	INT64_C(1000000)
/* The most units one request is counted as: keeps n * MICRO in range. */
#define BUCKET_N_MAX	(UINT64_C(1) << 40)

static uint64_t
bucket_clamp(uint64_t v)
{
	return v < 1 ? 1 : v > UTIL_BUCKET_MAX ? UTIL_BUCKET_MAX : v;
}

/*
 * Bring the level up to now.  Overflow-free: the level is at most
 * burst * MICRO (10^15), the debt at most BUCKET_N_MAX * MICRO, and the
 * product elapsed * rate is formed only when it stays under the deficit
 * plus one rate.
 */
static void
bucket_refill(struct util_bucket *b, int64_t now)
{
	int64_t	full = (int64_t)b->burst * MICRO, deficit, elapsed;

	if (now <= b->last)
		return;			/* a clock that went back refills nothing */
	elapsed = now - b->last;
	b->last = now;
	if (b->level >= full)
		return;
	deficit = full - b->level;
	if (elapsed >= deficit / (int64_t)b->rate + 1)
		b->level = full;
	else if ((b->level += elapsed * (int64_t)b->rate) > full)
		b->level = full;
}

void
util_bucket_init(struct util_bucket *b, uint64_t rate, uint64_t burst,
    int64_t now)
{
	b->rate = bucket_clamp(rate);
	b->burst = bucket_clamp(burst);
	b->level = (int64_t)b->burst * MICRO;
	b->last = now;
}

void
util_bucket_set(struct util_bucket *b, uint64_t rate, uint64_t burst,
    int64_t now)
{
	bucket_refill(b, now);
	b->rate = bucket_clamp(rate);
	b->burst = bucket_clamp(burst);
	if (b->level > (int64_t)b->burst * MICRO)
		b->level = (int64_t)b->burst * MICRO;
}

int64_t
util_bucket_take(struct util_bucket *b, uint64_t n, uint64_t held,
    int64_t now)
{
	int64_t	need, wait;

	if (n > BUCKET_N_MAX)
		n = BUCKET_N_MAX;
	if (held > n)
		held = n;
	bucket_refill(b, now);
	need = (int64_t)(n < b->burst ? n : b->burst) * MICRO;
	if (b->level + (int64_t)held * MICRO >= need) {
		b->level -= (int64_t)(n - held) * MICRO;
		return 0;
	}
	/* Rate is in millionths of a unit per us: the deficit over it. */
	wait = (need - b->level + (int64_t)b->rate - 1) / (int64_t)b->rate;
	return wait > 0 ? wait : 1;
}
