/*
 * snapshot.c -- the window snapshot codec (see snapshot.h for what an
 * image holds and what "equivalent" means).
 *
 * Image, version 1; integers little-endian, "varint" is unsigned LEB128
 * (at most 10 bytes), "zz" a varint of a zigzag-coded signed value:
 *
 *   header, 24 bytes:
 *	0  magic "CWSN"		4  version u16		6  flags u16
 *	8  payload length u32	12 CRC-32C u32 of bytes 0..12 and 16..end
 *	16 hash key check u64 (util_hash_id of a fixed string)
 *   payload, in this order:
 *	scalars		last_day varint; first_day, last_login, last_touch
 *			as "opt days"; last_hour (0, or 1 + zz of last_hour
 *			- last_day * 24)
 *	account		only with flag SNAP_F_ACCOUNT: first_day and
 *			score_day as opt days, nscores u8 + scores u8 each,
 *			active varint, since varint per active bit; score
 *			u8, prev_score u8, prev_active varint, weight u8 per
 *			active bit, prev_weight u8 per prev_active bit
 *	strings		n, then per string: length varint, bytes (no NUL,
 *			no two alike); a "ref" below is an index in it
 *	logins, hourly	rings as runs back from last_day / last_hour: n,
 *			then per run: zeros skipped, length, counts (varint)
 *	users		n, then per user: day, key u64
 *	features	n, then per feature: day, ref
 *	ticket keys	n, then u64 each; tickets name them by index
 *	tickets		n, then: day, bits (kind 0-1, intent 2, sentiment
 *			3, team 4, category 5), [sentiment i8], [team ref],
 *			[category ref], key index, time of day (s << 1 |
 *			has_us, [us])
 *	touches		n, then: day, rate (0 none, else rate + 1)
 *	notes		n, then: day, phrase ref + 1, class ref + 1
 *	contact events	n, then: day, contact ref, bits (kind 0-1,
 *			champion 2, title_changed 3, from_competitor 4,
 *			is_champion + 1 5-6), ranks (old 0-2, new 3-5),
 *			before u8 (WCB_* flags), title, previous_title and
 *			title-before refs + 1, ts (zz of ts - day * 1 d in us)
 *	contacts	n, then: day, contact ref, title ref + 1, bits
 *			(rank 0-2, champion 3, left 4, champ_set 5), ts
 *			(zz as above),
 *			pre (0 none, else 1 + ts - pre_ts)
 *	competitors	n, then: day, competitor ref + 1, kind u8
 *
 * An "opt day" is 0 for none, else 1 + zz of (last_day - day); a record's
 * "day" is the zz of (previous day - day), the previous day starting at
 * last_day for each section -- arrays are mostly in day order, so most
 * cost one byte.  Users and features are written newest first (then by
 * key / string), records in their array order, so that one state gives
 * one image.
 *
 * Every value is checked on decode against what window.c can hold (days
 * 1..SNAPSHOT_DAY_MAX, enums, the sentiment and rate scales, distinct
 * keys and contacts), so a decoded window is one apply could have built
 * as far as any query can tell, and encodes again.
 *
 * Not here: storing images, watermarks (the store and the engine).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intern.h"
#include "snapshot.h"
#include "util.h"
#include "window.h"

#define SNAP_MAGIC	"CWSN"
#define SNAP_F_ACCOUNT	0x0001u		/* the account section is there */
#define SNAP_F_ALL	SNAP_F_ACCOUNT
#define KEY_CHECK	"churnwatch snapshot: hash key check"

#define HOURS_PER_DAY	24
#define SEC_PER_DAY	INT64_C(86400)
#define U16_MAX		0xffffu
#define RANK_MAX	RANK_CLEVEL
#define SENTIMENT_MAX	100

static uint64_t
key_check(void)
{
	return util_hash_id(KEY_CHECK, sizeof(KEY_CHECK) - 1);
}

static void
set_err(struct cw_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct cw_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static int
day_ok(int64_t day)
{
	return day >= 1 && day <= SNAPSHOT_DAY_MAX;
}

static uint64_t
zigzag(int64_t v)
{
	return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static int64_t
unzigzag(uint64_t z)
{
	int64_t	v = (int64_t)(z >> 1);

	return (z & 1) ? -v - 1 : v;
}

/* ---- the account fields ---- */

void
snapshot_account_get(const struct account *a, struct snapshot_account *s)
{
	int	i;

	memset(s, 0, sizeof(*s));
	s->first_day = a->first_day;
	s->score_day = a->score_day;
	memcpy(s->scores, a->scores, sizeof(s->scores));
	s->active = a->active & ((UINT32_C(1) << SIG__COUNT) - 1);
	s->prev_active = a->prev_active & ((UINT32_C(1) << SIG__COUNT) - 1);
	s->score = a->score;
	s->prev_score = a->prev_score;
	for (i = 0; i < SIG__COUNT; i++) {
		if (s->active & (UINT32_C(1) << i)) {
			s->since[i] = account_since(a, i);
			s->weight[i] = (uint8_t)account_weight(a, i);
		}
		if (s->prev_active & (UINT32_C(1) << i))
			s->prev_weight[i] = (uint8_t)account_prev_weight(a, i);
	}
}

/*
 * a takes s's evaluation state, its active sets included.  Whether it
 * counts as evaluated is the caller's: account_evaluate() keeps since[]
 * only for a signal it finds active on an account already evaluated.
 */
int
snapshot_account_put(struct account *a, const struct snapshot_account *s)
{
	a->first_day = s->first_day;
	a->score_day = s->score_day;
	memcpy(a->scores, s->scores, sizeof(a->scores));
	a->score = s->score;
	a->prev_score = s->prev_score;
	return account_sigs_set(a, s->active, s->prev_active, s->since,
	    s->weight, s->prev_weight);
}

/* ---- writing ---- */

struct wr {
	struct snapshot_buf	*b;
	int			 fail;	/* out of memory or too long */
	int			 toolong;
};

void
snapshot_buf_free(struct snapshot_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
put_bytes(struct wr *w, const void *p, size_t n)
{
	struct snapshot_buf	*b = w->b;
	unsigned char		*np;
	size_t			 ncap;

	if (w->fail)
		return;
	if (n > SNAPSHOT_MAX_LEN || b->len + n > SNAPSHOT_MAX_LEN) {
		w->fail = w->toolong = 1;
		return;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap < 256 ? 256 : b->cap;
		while (ncap < b->len + n)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			w->fail = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_u8(struct wr *w, unsigned v)
{
	unsigned char	c = (unsigned char)v;

	put_bytes(w, &c, 1);
}

static void
put_varint(struct wr *w, uint64_t v)
{
	unsigned char	tmp[10];
	size_t		n = 0;

	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	put_bytes(w, tmp, n);
}

static void
le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
le32(unsigned char *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static void
le64(unsigned char *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static void
put_u64(struct wr *w, uint64_t v)
{
	unsigned char	tmp[8];

	le64(tmp, v);
	put_bytes(w, tmp, sizeof(tmp));
}

/* An opt day: 0 for none, else 1 + zz of (base - day). */
static void
put_opt_day(struct wr *w, int32_t base, int32_t day)
{
	put_varint(w, day == 0 ? 0 : 1 + zigzag((int64_t)base - day));
}

/* A record's day, after *prev. */
static void
put_day(struct wr *w, int32_t *prev, int32_t day)
{
	put_varint(w, zigzag((int64_t)*prev - day));
	*prev = day;
}

/* The slot k steps before head in a ring of n. */
static size_t
ring_slot(int64_t head, size_t k, size_t n)
{
	int64_t	r = (head - (int64_t)k) % (int64_t)n;

	return (size_t)(r < 0 ? r + (int64_t)n : r);
}

/*
 * A ring as runs back from the head.  A single zero between two counts
 * is written inside a run (one byte) rather than starting another (two).
 */
/* The count k slots back from a ring's head. */
static unsigned
ring_at(const struct window *win, enum win_ring which, size_t n,
    int64_t head, size_t k)
{
	return window_ring(win, which, ring_slot(head, k, n));
}

static void
put_ring(struct wr *w, const struct window *win, enum win_ring which,
    size_t n, int64_t head)
{
	uint8_t		start[WIN_DAYS], len[WIN_DAYS];
	size_t		k, j, nruns = 0, prev_end = 0;

	for (k = 0; k < n; k++) {
		if (ring_at(win, which, n, head, k) == 0)
			continue;
		for (j = k + 1; j < n; j++)
			if (ring_at(win, which, n, head, j) == 0 &&
			    (j + 1 >= n ||
			    ring_at(win, which, n, head, j + 1) == 0))
				break;
		start[nruns] = (uint8_t)k;
		len[nruns] = (uint8_t)(j - k);
		nruns++;
		k = j;
	}
	put_varint(w, nruns);
	for (j = 0; j < nruns; j++) {
		put_varint(w, start[j] - prev_end);
		put_varint(w, len[j]);
		for (k = start[j]; k < (size_t)start[j] + len[j]; k++)
			put_varint(w, ring_at(win, which, n, head, k));
		prev_end = (size_t)start[j] + len[j];
	}
}

/*
 * The local numbering of interned ids (strings) and ticket keys: open
 * addressing over 64-bit keys (0 = empty), values in order of first
 * reference.
 */
struct numbering {
	uint64_t	*key;
	uint32_t	*val;
	uint32_t	 cap;		/* power of 2 */
	uint32_t	 n;
	uint64_t	*order;		/* key of each value */
};

static int
numbering_init(struct numbering *m, size_t most)
{
	uint32_t	cap = 16;

	memset(m, 0, sizeof(*m));
	if (most > UINT32_MAX / 4)
		return -1;
	while (cap < most * 2)
		cap *= 2;
	m->key = calloc(cap, sizeof(*m->key));
	m->val = calloc(cap, sizeof(*m->val));
	m->order = calloc(most + 1, sizeof(*m->order));
	if (m->key == NULL || m->val == NULL || m->order == NULL)
		return -1;
	m->cap = cap;
	return 0;
}

static void
numbering_free(struct numbering *m)
{
	free(m->key);
	free(m->val);
	free(m->order);
	memset(m, 0, sizeof(*m));
}

/* The number of key (not 0), given it if new (room was sized). */
static uint32_t
numbering_get(struct numbering *m, uint64_t key)
{
	uint32_t	i;

	i = (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) &
	    (m->cap - 1);
	for (; m->key[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->key[i] == key)
			return m->val[i];
	m->key[i] = key;
	m->val[i] = m->n;
	m->order[m->n] = key;
	return m->n++;
}

/* A user or feature entry, for the canonical order. */
struct seen_ent {
	uint64_t	key;
	int32_t		day;
};

static int
user_cmp(const void *a, const void *b)
{
	const struct seen_ent	*x = a, *y = b;

	if (x->day != y->day)
		return x->day > y->day ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static int
feature_cmp(const void *a, const void *b)
{
	const struct seen_ent	*x = a, *y = b;

	if (x->day != y->day)
		return x->day > y->day ? -1 : 1;
	return strcmp(intern_str((uint32_t)x->key),
	    intern_str((uint32_t)y->key));
}

/* The entries of a last-seen table, sorted; NULL (with *n 0) if none. */
static struct seen_ent *
seen_sorted(const struct window *w, enum win_seen_table which, uint32_t *n,
    int (*cmp)(const void *, const void *), int *fail)
{
	struct seen_ent	*v;
	uint32_t	 pos = 0, i = 0, cnt;
	uint64_t	 key;
	int32_t		 day;

	cnt = which == WIN_SEEN_USERS ? w->nusers : w->nfeatures;
	*n = 0;
	if (cnt == 0)
		return NULL;
	if ((v = calloc(cnt, sizeof(*v))) == NULL) {
		*fail = 1;
		return NULL;
	}
	while (i < cnt && window_seen_next(w, which, &pos, &key, &day)) {
		v[i].key = key;
		v[i].day = day;
		i++;
	}
	qsort(v, i, sizeof(*v), cmp);
	*n = i;
	return v;
}

/* Is the interned id one an image can carry (non-empty string)? */
static int
id_ok(uint32_t id)
{
	return id != 0 && *intern_str(id) != '\0';
}

/*
 * Check what window.c never produces but the format cannot carry, and
 * number the strings and ticket keys in the order the sections below
 * refer to them.  0, or -1 with why set.
 */
static int
enc_check(const struct window *w, const struct seen_ent *feat,
    uint32_t nfeat, struct numbering *str, struct numbering *tk,
    const char **why)
{
	const struct win_ticket		*t;
	const struct win_note		*no;
	const struct win_contact_event	*ce;
	const struct win_contact	*c;
	const struct win_competitor	*cp;
	int64_t				 off;
	uint32_t			 i;

	*why = "a scalar day";
	if ((w->last_day != 0 && !day_ok(w->last_day)) ||
	    (w->first_day != 0 && !day_ok(w->first_day)) ||
	    (w->last_login != 0 && !day_ok(w->last_login)) ||
	    (w->last_touch != 0 && !day_ok(w->last_touch)) ||
	    w->last_hour < 0 ||
	    w->last_hour >= (int64_t)(SNAPSHOT_DAY_MAX + 1) * HOURS_PER_DAY)
		return -1;
	*why = "a feature";
	for (i = 0; i < nfeat; i++) {
		if (!day_ok(feat[i].day) || !id_ok((uint32_t)feat[i].key))
			return -1;
		(void)numbering_get(str, feat[i].key);
	}
	*why = "a ticket";
	for (i = 0; i < w->ntickets; i++) {
		t = &w->tickets[i];
		off = t->ts - (int64_t)t->day * CW_USEC_PER_DAY;
		if (!day_ok(t->day) || t->kind > WT_SOLVED || t->intent > 1 ||
		    (t->sentiment != WIN_NO_SENTIMENT &&
		    (t->sentiment < -SENTIMENT_MAX ||
		    t->sentiment > SENTIMENT_MAX)) ||
		    (t->team != 0 && !id_ok(t->team)) ||
		    (t->category != 0 && !id_ok(t->category)) ||
		    t->ticket == 0 || off < 0 || off >= CW_USEC_PER_DAY)
			return -1;
		if (t->team != 0)
			(void)numbering_get(str, t->team);
		if (t->category != 0)
			(void)numbering_get(str, t->category);
		(void)numbering_get(tk, t->ticket);
	}
	*why = "a touchpoint";
	for (i = 0; i < w->ntouches; i++)
		if (!day_ok(w->touches[i].day) ||
		    (w->touches[i].rate != WIN_NO_RATE &&
		    w->touches[i].rate > WIN_RATE_ONE))
			return -1;
	*why = "a note";
	for (i = 0; i < w->nnotes; i++) {
		no = &w->notes[i];
		if (!day_ok(no->day) || (no->phrase != 0 && !id_ok(no->phrase)) ||
		    (no->cls != 0 && !id_ok(no->cls)))
			return -1;
		if (no->phrase != 0)
			(void)numbering_get(str, no->phrase);
		if (no->cls != 0)
			(void)numbering_get(str, no->cls);
	}
	*why = "a contact event";
	for (i = 0; i < w->ncevents; i++) {
		ce = &w->cevents[i];
		if (!day_ok(ce->day) || !id_ok(ce->contact) ||
		    ce->kind > WC_CHANGED || ce->old_rank > RANK_MAX ||
		    ce->new_rank > RANK_MAX || ce->is_champion < -1 ||
		    ce->is_champion > 1 ||
		    (ce->title != 0 && !id_ok(ce->title)) ||
		    (ce->prev != 0 && !id_ok(ce->prev)) ||
		    (ce->before_title != 0 && !id_ok(ce->before_title)))
			return -1;
		(void)numbering_get(str, ce->contact);
		if (ce->title != 0)
			(void)numbering_get(str, ce->title);
		if (ce->prev != 0)
			(void)numbering_get(str, ce->prev);
		if (ce->before_title != 0)
			(void)numbering_get(str, ce->before_title);
	}
	*why = "a contact";
	for (i = 0; i < w->ncontacts; i++) {
		c = &w->contacts[i];
		if (!day_ok(c->day) || !id_ok(c->contact) ||
		    (c->title != 0 && !id_ok(c->title)) || c->rank > RANK_MAX ||
		    c->champion > 1 || c->left > 1)
			return -1;
		(void)numbering_get(str, c->contact);
		if (c->title != 0)
			(void)numbering_get(str, c->title);
	}
	*why = "a competitor signal";
	for (i = 0; i < w->ncompetitors; i++) {
		cp = &w->competitors[i];
		if (!day_ok(cp->day) || cp->kind > WCK_UNKNOWN ||
		    (cp->competitor != 0 && !id_ok(cp->competitor)))
			return -1;
		if (cp->competitor != 0)
			(void)numbering_get(str, cp->competitor);
	}
	return 0;
}

static int
acct_check(const struct snapshot_account *a)
{
	int	i;

	if ((a->first_day != 0 && !day_ok(a->first_day)) ||
	    (a->score_day != 0 && !day_ok(a->score_day)) ||
	    (a->active >> SIG__COUNT) != 0)
		return -1;
	for (i = 0; i < ACCOUNT_SCORE_DAYS; i++)
		if (a->scores[i] > 100 && a->scores[i] != ACCOUNT_NO_SCORE)
			return -1;
	return 0;
}

static void
put_account(struct wr *o, int32_t base, const struct snapshot_account *a)
{
	int	i, n = 0;

	put_opt_day(o, base, a->first_day);
	put_opt_day(o, base, a->score_day);
	for (i = 0; i < ACCOUNT_SCORE_DAYS; i++)
		if (a->scores[i] != ACCOUNT_NO_SCORE)
			n = i + 1;
	put_u8(o, (unsigned)n);
	for (i = 0; i < n; i++)
		put_u8(o, a->scores[i]);
	put_varint(o, a->active);
	for (i = 0; i < SIG__COUNT; i++)
		if (a->active & (UINT32_C(1) << i))
			put_varint(o, a->since[i]);
	put_u8(o, a->score);
	put_u8(o, a->prev_score);
	put_varint(o, a->prev_active);
	for (i = 0; i < SIG__COUNT; i++)
		if (a->active & (UINT32_C(1) << i))
			put_u8(o, a->weight[i]);
	for (i = 0; i < SIG__COUNT; i++)
		if (a->prev_active & (UINT32_C(1) << i))
			put_u8(o, a->prev_weight[i]);
}

static void
put_tickets(struct wr *o, const struct window *w, struct numbering *str,
    struct numbering *tk)
{
	const struct win_ticket	*t;
	int64_t			 off;
	uint32_t		 i;
	int32_t			 prev = w->last_day;
	unsigned		 bits;

	put_varint(o, tk->n);
	for (i = 0; i < tk->n; i++)
		put_u64(o, tk->order[i]);
	put_varint(o, w->ntickets);
	for (i = 0; i < w->ntickets; i++) {
		t = &w->tickets[i];
		put_day(o, &prev, t->day);
		bits = t->kind | (unsigned)t->intent << 2 |
		    (t->sentiment != WIN_NO_SENTIMENT) << 3 |
		    (t->team != 0) << 4 | (t->category != 0) << 5;
		put_u8(o, bits);
		if (t->sentiment != WIN_NO_SENTIMENT)
			put_u8(o, (uint8_t)t->sentiment);
		if (t->team != 0)
			put_varint(o, numbering_get(str, t->team));
		if (t->category != 0)
			put_varint(o, numbering_get(str, t->category));
		put_varint(o, numbering_get(tk, t->ticket));
		off = t->ts - (int64_t)t->day * CW_USEC_PER_DAY;
		put_varint(o, (uint64_t)(off / CW_USEC_PER_SEC) << 1 |
		    (off % CW_USEC_PER_SEC != 0));
		if (off % CW_USEC_PER_SEC != 0)
			put_varint(o, (uint64_t)(off % CW_USEC_PER_SEC));
	}
}

/* An optional string: 0 for none, else 1 + its number. */
static void
put_opt_ref(struct wr *o, struct numbering *str, uint32_t id)
{
	put_varint(o, id == 0 ? 0 : 1 + (uint64_t)numbering_get(str, id));
}

static void
put_contacts(struct wr *o, const struct window *w, struct numbering *str)
{
	const struct win_contact_event	*ce;
	const struct win_contact	*c;
	uint32_t			 i;
	int32_t				 prev = w->last_day;

	put_varint(o, w->ncevents);
	for (i = 0; i < w->ncevents; i++) {
		ce = &w->cevents[i];
		put_day(o, &prev, ce->day);
		put_varint(o, numbering_get(str, ce->contact));
		put_u8(o, ce->kind | (unsigned)ce->champion << 2 |
		    (unsigned)ce->title_changed << 3 |
		    (unsigned)ce->from_competitor << 4 |
		    (unsigned)(ce->is_champion + 1) << 5);
		put_u8(o, ce->old_rank | (unsigned)ce->new_rank << 3);
		put_u8(o, ce->before);
		put_opt_ref(o, str, ce->title);
		put_opt_ref(o, str, ce->prev);
		put_opt_ref(o, str, ce->before_title);
		put_varint(o, zigzag(ce->ts - (int64_t)ce->day *
		    CW_USEC_PER_DAY));
	}
	prev = w->last_day;
	put_varint(o, w->ncontacts);
	for (i = 0; i < w->ncontacts; i++) {
		c = &w->contacts[i];
		put_day(o, &prev, c->day);
		put_varint(o, numbering_get(str, c->contact));
		put_varint(o, c->title == 0 ? 0 :
		    1 + (uint64_t)numbering_get(str, c->title));
		put_u8(o, c->rank | (unsigned)c->champion << 3 |
		    (unsigned)c->left << 4 | (unsigned)c->champ_set << 5);
		put_varint(o, zigzag(c->ts - (int64_t)c->day *
		    CW_USEC_PER_DAY));
		put_varint(o, c->has_pre ? 1 + (uint64_t)(c->ts - c->pre_ts) :
		    0);
	}
}

int
snapshot_encode(const struct window *w, const struct snapshot_account *acct,
    struct snapshot_buf *out, struct cw_error *err)
{
	struct numbering	 str, tk;
	struct seen_ent		*users = NULL, *feat = NULL;
	struct wr		 o = { out, 0, 0 };
	const char		*why;
	const char		*s;
	uint32_t		 nusers = 0, nfeat = 0, i, crc;
	size_t			 most;
	int32_t			 prev;
	int			 rc = -1;

	memset(&str, 0, sizeof(str));
	memset(&tk, 0, sizeof(tk));
	out->len = 0;
	most = (size_t)w->nfeatures + 2 * (size_t)w->ntickets +
	    2 * (size_t)w->nnotes + 4 * (size_t)w->ncevents +
	    2 * (size_t)w->ncontacts +
	    w->ncompetitors;
	users = seen_sorted(w, WIN_SEEN_USERS, &nusers, user_cmp, &o.fail);
	feat = seen_sorted(w, WIN_SEEN_FEATURES, &nfeat, feature_cmp,
	    &o.fail);
	if (o.fail || numbering_init(&str, most) == -1 ||
	    numbering_init(&tk, w->ntickets) == -1)
		goto nomem;
	if (enc_check(w, feat, nfeat, &str, &tk, &why) == -1) {
		set_err(err, "snapshot_invalid",
		    "window holds %s an image cannot carry", why);
		goto done;
	}
	for (i = 0; i < nusers; i++)
		if (!day_ok(users[i].day)) {
			set_err(err, "snapshot_invalid",
			    "window holds a user day an image cannot carry");
			goto done;
		}
	if (acct != NULL && acct_check(acct) == -1) {
		set_err(err, "snapshot_invalid",
		    "account fields out of range");
		goto done;
	}

	put_bytes(&o, SNAP_MAGIC, 4);
	put_bytes(&o, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
	    SNAPSHOT_HEADER_LEN - 4);

	put_varint(&o, (uint32_t)w->last_day);
	put_opt_day(&o, w->last_day, w->first_day);
	put_opt_day(&o, w->last_day, w->last_login);
	put_opt_day(&o, w->last_day, w->last_touch);
	put_varint(&o, w->last_hour == 0 ? 0 : 1 + zigzag(w->last_hour -
	    (int64_t)w->last_day * HOURS_PER_DAY));
	if (acct != NULL)
		put_account(&o, w->last_day, acct);

	put_varint(&o, str.n);
	for (i = 0; i < str.n; i++) {
		s = intern_str((uint32_t)str.order[i]);
		put_varint(&o, strlen(s));
		put_bytes(&o, s, strlen(s));
	}

	put_ring(&o, w, WIN_RING_DAYS, WIN_DAYS, w->last_day);
	put_ring(&o, w, WIN_RING_HOURS, WIN_HOURS, w->last_hour);

	prev = w->last_day;
	put_varint(&o, nusers);
	for (i = 0; i < nusers; i++) {
		put_day(&o, &prev, users[i].day);
		put_u64(&o, users[i].key);
	}
	prev = w->last_day;
	put_varint(&o, nfeat);
	for (i = 0; i < nfeat; i++) {
		put_day(&o, &prev, feat[i].day);
		put_varint(&o, numbering_get(&str, feat[i].key));
	}

	put_tickets(&o, w, &str, &tk);

	prev = w->last_day;
	put_varint(&o, w->ntouches);
	for (i = 0; i < w->ntouches; i++) {
		put_day(&o, &prev, w->touches[i].day);
		put_varint(&o, w->touches[i].rate == WIN_NO_RATE ? 0 :
		    1 + (unsigned)w->touches[i].rate);
	}
	prev = w->last_day;
	put_varint(&o, w->nnotes);
	for (i = 0; i < w->nnotes; i++) {
		put_day(&o, &prev, w->notes[i].day);
		put_varint(&o, w->notes[i].phrase == 0 ? 0 :
		    1 + (uint64_t)numbering_get(&str, w->notes[i].phrase));
		put_varint(&o, w->notes[i].cls == 0 ? 0 :
		    1 + (uint64_t)numbering_get(&str, w->notes[i].cls));
	}

	put_contacts(&o, w, &str);

	prev = w->last_day;
	put_varint(&o, w->ncompetitors);
	for (i = 0; i < w->ncompetitors; i++) {
		put_day(&o, &prev, w->competitors[i].day);
		put_varint(&o, w->competitors[i].competitor == 0 ? 0 : 1 +
		    (uint64_t)numbering_get(&str, w->competitors[i].competitor));
		put_u8(&o, w->competitors[i].kind);
	}

	if (o.fail) {
		if (o.toolong)
			set_err(err, "snapshot_invalid",
			    "image over %u bytes", (unsigned)SNAPSHOT_MAX_LEN);
		else
			goto nomem;
		goto done;
	}
	le16(out->p + 4, SNAPSHOT_VERSION);
	le16(out->p + 6, acct != NULL ? SNAP_F_ACCOUNT : 0);
	le32(out->p + 8, (uint32_t)(out->len - SNAPSHOT_HEADER_LEN));
	le64(out->p + 16, key_check());
	crc = util_crc32c(0, out->p, 12);
	crc = util_crc32c(crc, out->p + 16, out->len - 16);
	le32(out->p + 12, crc);
	rc = 0;
	goto done;
nomem:
	set_err(err, "internal_error", "out of memory encoding a snapshot");
done:
	if (rc == -1)
		out->len = 0;
	numbering_free(&str);
	numbering_free(&tk);
	free(users);
	free(feat);
	return rc;
}

/* ---- reading ---- */

struct rd {
	const unsigned char	*p;
	size_t			 len;
	size_t			 off;
	int			 bad;
};

static size_t
left(const struct rd *r)
{
	return r->len - r->off;
}

static unsigned
get_u8(struct rd *r)
{
	if (r->bad || r->off >= r->len) {
		r->bad = 1;
		return 0;
	}
	return r->p[r->off++];
}

static uint64_t
get_varint(struct rd *r)
{
	uint64_t	v = 0;
	unsigned	c, shift;

	for (shift = 0; shift < 64; shift += 7) {
		c = get_u8(r);
		if (r->bad)
			return 0;
		if (shift == 63 && c > 1) {
			r->bad = 1;	/* over 64 bits */
			return 0;
		}
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

/* A varint of at most max. */
static uint64_t
get_max(struct rd *r, uint64_t max)
{
	uint64_t	v = get_varint(r);

	if (v > max)
		r->bad = 1;
	return r->bad ? 0 : v;
}

/*
 * A count of items, each at least min bytes, or a length of bytes (min
 * 1): it must fit what is left after it.
 */
static uint32_t
get_count(struct rd *r, size_t min)
{
	uint64_t	v = get_varint(r);

	if (r->bad || v > left(r) / min) {
		r->bad = 1;
		return 0;
	}
	return (uint32_t)v;
}

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const unsigned char *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t
rd64(const unsigned char *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint64_t
get_u64(struct rd *r)
{
	uint64_t	v;

	if (r->bad || left(r) < 8) {
		r->bad = 1;
		return 0;
	}
	v = rd64(r->p + r->off);
	r->off += 8;
	return v;
}

/* base - zz, which must be a day. */
static int32_t
day_from(struct rd *r, int64_t base, uint64_t z)
{
	int64_t	d;

	if (z > UINT64_C(4) * SNAPSHOT_DAY_MAX + 2) {
		r->bad = 1;
		return 0;
	}
	d = base - unzigzag(z);
	if (!day_ok(d)) {
		r->bad = 1;
		return 0;
	}
	return (int32_t)d;
}

static int32_t
get_opt_day(struct rd *r, int32_t base)
{
	uint64_t	z = get_varint(r);

	return r->bad || z == 0 ? 0 : day_from(r, base, z - 1);
}

static int32_t
get_day(struct rd *r, int32_t *prev)
{
	int32_t	d = day_from(r, *prev, get_varint(r));

	if (!r->bad)
		*prev = d;
	return d;
}

static void
get_ring(struct rd *r, struct window *win, enum win_ring which, size_t n,
    int64_t head)
{
	uint64_t	nruns, j, k, pos = 0, len;

	nruns = get_max(r, n);
	for (j = 0; j < nruns && !r->bad; j++) {
		pos += get_max(r, n - pos);
		len = get_max(r, n - pos);
		if (len == 0)
			r->bad = 1;
		for (k = 0; k < len && !r->bad; k++, pos++)
			if (window_ring_set(win, which, ring_slot(head, pos, n),
			    (unsigned)get_max(r, U16_MAX)) != 0)
				r->bad = 1;
	}
}

/*
 * A string ref, returned as index + 1.  With opt the image holds index
 * + 1 and 0 means none (returned as 0); else it holds the index.
 */
/*
 * A ts as its offset from the start of its record's day (zz varint),
 * within the days an image can hold.
 */
static int64_t
get_ts_off(struct rd *r)
{
	int64_t	v = unzigzag(get_varint(r));

	if (v < -SNAPSHOT_DAY_MAX * CW_USEC_PER_DAY ||
	    v > SNAPSHOT_DAY_MAX * CW_USEC_PER_DAY) {
		r->bad = 1;
		return 0;
	}
	return v;
}

static uint32_t
get_ref(struct rd *r, uint32_t nstr, int opt)
{
	uint64_t	v;

	v = get_max(r, opt ? nstr : (uint64_t)nstr - 1);
	if (r->bad || (!opt && nstr == 0)) {
		r->bad = 1;
		return 0;
	}
	return opt ? (uint32_t)v : (uint32_t)v + 1;
}

struct slice {
	const unsigned char	*p;
	uint32_t		 len;
};

static int
slice_cmp(const void *a, const void *b)
{
	const struct slice	*x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->p, y->p, x->len);
}

/* What the parse leaves for the interning step. */
struct parsed {
	struct slice	*str;
	uint32_t	 nstr;
	uint32_t	*fref;		/* features: ref (index + 1) */
	int32_t		*fday;
	uint32_t	 nfeat;
	uint64_t	*ukey;
	int32_t		*uday;
	uint32_t	 nusers;
	uint64_t	*tkeys;
	uint32_t	 ntkeys;
};

static int
get_strings(struct rd *r, struct parsed *ps)
{
	struct slice	*sorted;
	uint32_t	 i, len;

	ps->nstr = get_count(r, 2);
	if (r->bad || ps->nstr == 0)
		return r->bad ? -1 : 0;
	if ((ps->str = calloc(ps->nstr, sizeof(*ps->str))) == NULL)
		return -2;
	for (i = 0; i < ps->nstr; i++) {
		len = get_count(r, 1);
		if (r->bad || len == 0 ||
		    memchr(r->p + r->off, '\0', len) != NULL)
			return -1;
		ps->str[i].p = r->p + r->off;
		ps->str[i].len = len;
		r->off += len;
	}
	/* No two alike: refs then say which entries are one string. */
	if ((sorted = malloc((size_t)ps->nstr * sizeof(*sorted))) == NULL)
		return -2;
	memcpy(sorted, ps->str, (size_t)ps->nstr * sizeof(*sorted));
	qsort(sorted, ps->nstr, sizeof(*sorted), slice_cmp);
	for (i = 1; i < ps->nstr; i++)
		if (slice_cmp(&sorted[i - 1], &sorted[i]) == 0)
			break;
	free(sorted);
	return i < ps->nstr ? -1 : 0;
}

/* Allocate n records of size into *base (NULL for 0); -2 on ENOMEM. */
static int
alloc_recs(void **base, uint32_t *cap, uint32_t n, size_t size)
{
	*base = NULL;
	*cap = 0;
	if (n == 0)
		return 0;
	if ((*base = calloc(n, size)) == NULL)
		return -2;
	*cap = n;
	return 0;
}

static int
get_account(struct rd *r, int32_t base, struct snapshot_account *a)
{
	unsigned	n, i, v;

	memset(a, 0, sizeof(*a));
	a->first_day = get_opt_day(r, base);
	a->score_day = get_opt_day(r, base);
	memset(a->scores, ACCOUNT_NO_SCORE, sizeof(a->scores));
	n = (unsigned)get_max(r, ACCOUNT_SCORE_DAYS);
	for (i = 0; i < n; i++) {
		v = get_u8(r);
		if (v > 100 && v != ACCOUNT_NO_SCORE)
			r->bad = 1;
		a->scores[i] = (uint8_t)v;
	}
	a->active = (uint32_t)get_max(r, (UINT32_C(1) << SIG__COUNT) - 1);
	for (i = 0; i < SIG__COUNT && !r->bad; i++)
		if (a->active & (UINT32_C(1) << i))
			a->since[i] = (uint32_t)get_max(r, UINT32_MAX);
	a->score = (uint8_t)get_u8(r);
	a->prev_score = (uint8_t)get_u8(r);
	if (a->score > 100 || a->prev_score > 100)
		r->bad = 1;
	a->prev_active = (uint32_t)get_max(r,
	    (UINT32_C(1) << SIG__COUNT) - 1);
	for (i = 0; i < SIG__COUNT && !r->bad; i++)
		if (a->active & (UINT32_C(1) << i))
			a->weight[i] = (uint8_t)get_u8(r);
	for (i = 0; i < SIG__COUNT && !r->bad; i++)
		if (a->prev_active & (UINT32_C(1) << i))
			a->prev_weight[i] = (uint8_t)get_u8(r);
	return r->bad ? -1 : 0;
}

static int
get_seen(struct rd *r, struct window *w, struct parsed *ps,
    unsigned char *used)
{
	uint32_t	i;
	int32_t		prev;

	prev = w->last_day;
	ps->nusers = get_count(r, 9);
	if (ps->nusers > 0 &&
	    ((ps->ukey = calloc(ps->nusers, sizeof(*ps->ukey))) == NULL ||
	    (ps->uday = calloc(ps->nusers, sizeof(*ps->uday))) == NULL))
		return -2;
	for (i = 0; i < ps->nusers && !r->bad; i++) {
		ps->uday[i] = get_day(r, &prev);
		if ((ps->ukey[i] = get_u64(r)) == 0)
			r->bad = 1;
	}
	prev = w->last_day;
	ps->nfeat = get_count(r, 2);
	if (ps->nfeat > 0 &&
	    ((ps->fref = calloc(ps->nfeat, sizeof(*ps->fref))) == NULL ||
	    (ps->fday = calloc(ps->nfeat, sizeof(*ps->fday))) == NULL))
		return -2;
	for (i = 0; i < ps->nfeat && !r->bad; i++) {
		ps->fday[i] = get_day(r, &prev);
		ps->fref[i] = get_ref(r, ps->nstr, 0);
		if (!r->bad && used[ps->fref[i] - 1]++ != 0)
			r->bad = 1;	/* a feature twice */
	}
	return r->bad ? -1 : 0;
}

static int
get_tickets(struct rd *r, struct window *w, struct parsed *ps)
{
	struct win_ticket	*t;
	uint64_t		 v;
	uint32_t		 i, n;
	unsigned		 bits;
	int32_t			 prev = w->last_day;
	int			 rc;

	ps->ntkeys = get_count(r, 8);
	if (ps->ntkeys > 0 &&
	    (ps->tkeys = calloc(ps->ntkeys, sizeof(*ps->tkeys))) == NULL)
		return -2;
	for (i = 0; i < ps->ntkeys && !r->bad; i++)
		if ((ps->tkeys[i] = get_u64(r)) == 0)
			r->bad = 1;
	n = get_count(r, 4);
	if (r->bad)
		return -1;
	if ((rc = alloc_recs((void **)&w->tickets, &w->captickets, n,
	    sizeof(*w->tickets))) != 0)
		return rc;
	for (i = 0; i < n && !r->bad; i++) {
		t = &w->tickets[i];
		t->day = get_day(r, &prev);
		bits = get_u8(r);
		if ((bits & 3) > WT_SOLVED || (bits & ~0x3fu) != 0)
			r->bad = 1;
		t->kind = (uint8_t)(bits & 3);
		t->intent = (uint8_t)(bits >> 2 & 1);
		t->sentiment = WIN_NO_SENTIMENT;
		if (bits & 0x08) {
			v = get_u8(r);
			t->sentiment = (int8_t)(v < 0x80 ? (int)v :
			    (int)v - 0x100);
			if (t->sentiment < -SENTIMENT_MAX ||
			    t->sentiment > SENTIMENT_MAX)
				r->bad = 1;
		}
		if (bits & 0x10)
			t->team = get_ref(r, ps->nstr, 0);
		if (bits & 0x20)
			t->category = get_ref(r, ps->nstr, 0);
		v = get_max(r, ps->ntkeys == 0 ? 0 : ps->ntkeys - 1);
		if (ps->ntkeys == 0)
			r->bad = 1;
		else
			t->ticket = ps->tkeys[v];
		v = get_max(r, (uint64_t)(SEC_PER_DAY - 1) << 1 | 1);
		t->ts = (int64_t)t->day * CW_USEC_PER_DAY +
		    (int64_t)(v >> 1) * CW_USEC_PER_SEC;
		if (v & 1)
			t->ts += (int64_t)get_max(r, CW_USEC_PER_SEC - 1);
		w->ntickets++;
	}
	return r->bad ? -1 : 0;
}

static int
get_records(struct rd *r, struct window *w, struct parsed *ps,
    unsigned char *used)
{
	struct win_contact_event	*ce;
	struct win_contact		*c;
	struct win_competitor		*cp;
	uint32_t			 i, n;
	uint64_t			 v;
	unsigned			 bits, ranks, before;
	int32_t				 prev;
	int				 rc;

	/* touches */
	prev = w->last_day;
	n = get_count(r, 2);
	if (r->bad)
		return -1;
	if ((rc = alloc_recs((void **)&w->touches, &w->captouches, n,
	    sizeof(*w->touches))) != 0)
		return rc;
	for (i = 0; i < n && !r->bad; i++, w->ntouches++) {
		w->touches[i].day = get_day(r, &prev);
		bits = (unsigned)get_max(r, WIN_RATE_ONE + 1);
		w->touches[i].rate = bits == 0 ? WIN_NO_RATE :
		    (uint16_t)(bits - 1);
	}

	/* notes */
	prev = w->last_day;
	n = get_count(r, 3);
	if (r->bad)
		return -1;
	if ((rc = alloc_recs((void **)&w->notes, &w->capnotes, n,
	    sizeof(*w->notes))) != 0)
		return rc;
	for (i = 0; i < n && !r->bad; i++, w->nnotes++) {
		w->notes[i].day = get_day(r, &prev);
		w->notes[i].phrase = get_ref(r, ps->nstr, 1);
		w->notes[i].cls = get_ref(r, ps->nstr, 1);
	}

	/* contact events */
	prev = w->last_day;
	n = get_count(r, 4);
	if (r->bad)
		return -1;
	if ((rc = alloc_recs((void **)&w->cevents, &w->capcevents, n,
	    sizeof(*w->cevents))) != 0)
		return rc;
	for (i = 0; i < n && !r->bad; i++, w->ncevents++) {
		ce = &w->cevents[i];
		ce->day = get_day(r, &prev);
		ce->contact = get_ref(r, ps->nstr, 0);
		bits = get_u8(r);
		ranks = get_u8(r);
		before = get_u8(r);
		if ((bits & 3) > WC_CHANGED || (bits >> 5) > 2 ||
		    (ranks & 7) > RANK_MAX || (ranks >> 3) > RANK_MAX ||
		    (before & ~7u) != 0)
			r->bad = 1;
		ce->kind = bits & 3;
		ce->champion = bits >> 2 & 1;
		ce->title_changed = bits >> 3 & 1;
		ce->from_competitor = bits >> 4 & 1;
		ce->is_champion = (int8_t)((int)(bits >> 5 & 3) - 1);
		ce->old_rank = (uint8_t)(ranks & 7);
		ce->new_rank = (uint8_t)(ranks >> 3);
		ce->before = before & 7;
		ce->title = get_ref(r, ps->nstr, 1);
		ce->prev = get_ref(r, ps->nstr, 1);
		ce->before_title = get_ref(r, ps->nstr, 1);
		ce->ts = (int64_t)ce->day * CW_USEC_PER_DAY +
		    get_ts_off(r);
	}

	/* contacts: one slot per contact id */
	prev = w->last_day;
	n = get_count(r, 4);
	if (r->bad)
		return -1;
	if ((rc = alloc_recs((void **)&w->contacts, &w->capcontacts, n,
	    sizeof(*w->contacts))) != 0)
		return rc;
	memset(used, 0, ps->nstr);
	for (i = 0; i < n && !r->bad; i++, w->ncontacts++) {
		c = &w->contacts[i];
		c->day = get_day(r, &prev);
		c->contact = get_ref(r, ps->nstr, 0);
		c->title = get_ref(r, ps->nstr, 1);
		bits = get_u8(r);
		if ((bits & 7) > RANK_MAX || (bits & ~0x3fu) != 0)
			r->bad = 1;
		c->rank = (uint8_t)(bits & 7);
		c->champion = (uint8_t)(bits >> 3 & 1);
		c->left = (uint8_t)(bits >> 4 & 1);
		c->champ_set = (uint8_t)(bits >> 5 & 1);
		c->ts = (int64_t)c->day * CW_USEC_PER_DAY + get_ts_off(r);
		v = get_max(r, (uint64_t)INT64_MAX);
		if (v > 0 && !r->bad) {
			if (v - 1 > (uint64_t)(c->ts - CW_TS_MIN))
				r->bad = 1;	/* before any ts */
			else {
				c->has_pre = 1;
				c->pre_ts = c->ts - (int64_t)(v - 1);
			}
		}
		if (!r->bad && used[c->contact - 1]++ != 0)
			r->bad = 1;	/* a contact twice */
	}

	/* competitors */
	prev = w->last_day;
	n = get_count(r, 3);
	if (r->bad)
		return -1;
	if ((rc = alloc_recs((void **)&w->competitors, &w->capcompetitors,
	    n, sizeof(*w->competitors))) != 0)
		return rc;
	for (i = 0; i < n && !r->bad; i++, w->ncompetitors++) {
		cp = &w->competitors[i];
		cp->day = get_day(r, &prev);
		cp->competitor = get_ref(r, ps->nstr, 1);
		cp->kind = (uint8_t)get_max(r, WCK_UNKNOWN);
	}
	return r->bad ? -1 : 0;
}

/* Ref (index + 1, 0 none) to interned id, interning on first use. */
static int
resolve(uint32_t *ref, const struct parsed *ps, uint32_t *ids)
{
	uint32_t	i;

	if (*ref == 0)
		return 0;
	i = *ref - 1;
	if (ids[i] == 0 && (ids[i] = intern((const char *)ps->str[i].p,
	    ps->str[i].len)) == 0)
		return -1;
	*ref = ids[i];
	return 0;
}

/* Replace refs by interned ids and build the tables: 0, -1, -2 ENOMEM. */
static int
finish(struct window *w, struct parsed *ps)
{
	uint32_t	*ids = NULL, i;
	uint64_t	*fkey = NULL;
	int		 rc = -2, lr;

	if (ps->nstr > 0 && (ids = calloc(ps->nstr, sizeof(*ids))) == NULL)
		goto done;
	if (ps->nfeat > 0 &&
	    (fkey = calloc(ps->nfeat, sizeof(*fkey))) == NULL)
		goto done;
	for (i = 0; i < ps->nfeat; i++) {
		if (resolve(&ps->fref[i], ps, ids) == -1)
			goto done;
		fkey[i] = ps->fref[i];
	}
	for (i = 0; i < w->ntickets; i++)
		if (resolve(&w->tickets[i].team, ps, ids) == -1 ||
		    resolve(&w->tickets[i].category, ps, ids) == -1)
			goto done;
	for (i = 0; i < w->nnotes; i++)
		if (resolve(&w->notes[i].phrase, ps, ids) == -1 ||
		    resolve(&w->notes[i].cls, ps, ids) == -1)
			goto done;
	for (i = 0; i < w->ncevents; i++)
		if (resolve(&w->cevents[i].contact, ps, ids) == -1 ||
		    resolve(&w->cevents[i].title, ps, ids) == -1 ||
		    resolve(&w->cevents[i].prev, ps, ids) == -1 ||
		    resolve(&w->cevents[i].before_title, ps, ids) == -1)
			goto done;
	for (i = 0; i < w->ncontacts; i++)
		if (resolve(&w->contacts[i].contact, ps, ids) == -1 ||
		    resolve(&w->contacts[i].title, ps, ids) == -1)
			goto done;
	for (i = 0; i < w->ncompetitors; i++)
		if (resolve(&w->competitors[i].competitor, ps, ids) == -1)
			goto done;
	/* Keys and contacts were checked distinct: only ENOMEM is left. */
	if ((lr = window_seen_load(w, WIN_SEEN_USERS, ps->ukey, ps->uday,
	    ps->nusers)) != 0 ||
	    (lr = window_seen_load(w, WIN_SEEN_FEATURES, fkey, ps->fday,
	    ps->nfeat)) != 0) {
		rc = lr == -2 ? -1 : -2;
		goto done;
	}
	if (window_contacts_loaded(w) != 0) {
		rc = -1;
		goto done;
	}
	rc = 0;
done:
	free(ids);
	free(fkey);
	return rc;
}

int
snapshot_decode(const void *vp, size_t len, struct window *w,
    struct snapshot_account *acct, int *has_acct, struct cw_error *err)
{
	const unsigned char	*p = vp;
	struct snapshot_account	 a;
	struct parsed		 ps;
	struct rd		 r;
	unsigned char		*used = NULL;
	uint32_t		 plen, crc;
	unsigned		 version, flags;
	uint64_t		 v;
	int			 rc = -1;

	window_init(w);
	memset(&ps, 0, sizeof(ps));
	memset(&a, 0, sizeof(a));
	if (has_acct != NULL)
		*has_acct = 0;
	if (len < 4 || (len < 8 && memcmp(p, SNAP_MAGIC, 4) == 0)) {
		set_err(err, "snapshot_truncated",
		    "snapshot of %zu bytes has no header", len);
		return -1;
	}
	if (memcmp(p, SNAP_MAGIC, 4) != 0) {
		set_err(err, "snapshot_invalid", "not a snapshot (bad magic)");
		return -1;
	}
	/* The version first: a newer one may lay out the rest otherwise. */
	version = rd16(p + 4);
	if (version > SNAPSHOT_VERSION) {
		set_err(err, "snapshot_version", "snapshot format version %u "
		    "is newer than this build reads (%u)", version,
		    SNAPSHOT_VERSION);
		return -1;
	}
	if (version < SNAPSHOT_VERSION) {
		set_err(err, version == 0 ? "snapshot_invalid" : "snapshot_old",
		    "snapshot format version %u is no longer read", version);
		return -1;
	}
	if (len < SNAPSHOT_HEADER_LEN) {
		set_err(err, "snapshot_truncated",
		    "snapshot of %zu bytes has no header", len);
		return -1;
	}
	plen = rd32(p + 8);
	if (plen > SNAPSHOT_MAX_LEN - SNAPSHOT_HEADER_LEN) {
		set_err(err, "snapshot_invalid", "snapshot claims %u bytes",
		    (unsigned)plen);
		return -1;
	}
	if (len < SNAPSHOT_HEADER_LEN + (size_t)plen) {
		set_err(err, "snapshot_truncated", "snapshot of %zu bytes, "
		    "%zu expected", len, SNAPSHOT_HEADER_LEN + (size_t)plen);
		return -1;
	}
	if (len > SNAPSHOT_HEADER_LEN + (size_t)plen) {
		set_err(err, "snapshot_invalid", "%zu bytes after the snapshot",
		    len - SNAPSHOT_HEADER_LEN - plen);
		return -1;
	}
	crc = util_crc32c(util_crc32c(0, p, 12), p + 16, len - 16);
	if (crc != rd32(p + 12)) {
		set_err(err, "snapshot_crc", "snapshot CRC-32C mismatch");
		return -1;
	}
	if (rd64(p + 16) != key_check()) {
		set_err(err, "snapshot_hash_key", "snapshot hashed with "
		    "another key: user and ticket ids cannot be matched");
		return -1;
	}
	flags = rd16(p + 6);
	if ((flags & ~SNAP_F_ALL) != 0) {
		set_err(err, "snapshot_invalid", "unknown snapshot flags 0x%x",
		    flags);
		return -1;
	}

	r.p = p;
	r.len = len;
	r.off = SNAPSHOT_HEADER_LEN;
	r.bad = 0;
	v = get_varint(&r);
	if (v != 0 && !day_ok((int64_t)v))
		goto bad;
	w->last_day = (int32_t)v;
	w->first_day = get_opt_day(&r, w->last_day);
	w->last_login = get_opt_day(&r, w->last_day);
	w->last_touch = get_opt_day(&r, w->last_day);
	if ((v = get_varint(&r)) != 0) {
		if (v - 1 > UINT64_C(4) * (SNAPSHOT_DAY_MAX + 1) *
		    HOURS_PER_DAY)
			goto bad;
		w->last_hour = (int64_t)w->last_day * HOURS_PER_DAY +
		    unzigzag(v - 1);
		if (w->last_hour <= 0 || w->last_hour >=
		    (int64_t)(SNAPSHOT_DAY_MAX + 1) * HOURS_PER_DAY)
			goto bad;
	}
	if ((flags & SNAP_F_ACCOUNT) && get_account(&r, w->last_day, &a) != 0)
		goto bad;
	if (r.bad || (rc = get_strings(&r, &ps)) != 0)
		goto fail;
	rc = -2;
	if ((used = calloc(ps.nstr + 1, 1)) == NULL)
		goto fail;
	rc = -1;
	get_ring(&r, w, WIN_RING_DAYS, WIN_DAYS, w->last_day);
	get_ring(&r, w, WIN_RING_HOURS, WIN_HOURS, w->last_hour);
	if (r.bad || (rc = get_seen(&r, w, &ps, used)) != 0 ||
	    (rc = get_tickets(&r, w, &ps)) != 0 ||
	    (rc = get_records(&r, w, &ps, used)) != 0)
		goto fail;
	if (r.off != r.len)
		goto bad;
	/* Valid: only now are its strings interned. */
	if ((rc = finish(w, &ps)) != 0)
		goto fail;
	if (flags & SNAP_F_ACCOUNT) {
		if (acct != NULL)
			*acct = a;
		if (has_acct != NULL)
			*has_acct = 1;
	}
	rc = 0;
	goto done;
bad:
	rc = -1;
fail:
	if (rc == -2)
		set_err(err, "internal_error",
		    "out of memory decoding a snapshot");
	else
		set_err(err, "snapshot_invalid",
		    "malformed snapshot (near byte %zu)", r.off);
	window_free(w);
	rc = -1;
done:
	free(used);
	free(ps.str);
	free(ps.fref);
	free(ps.fday);
	free(ps.ukey);
	free(ps.uday);
	free(ps.tkeys);
	return rc;
}
