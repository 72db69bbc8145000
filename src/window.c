/*
 * window.c -- per-account rolling windows (SPEC 3): what window_apply()
 * records of each event type, the restore functions used after a restart,
 * pruning, and the queries the signal rules ask.
 *
 * Layout: two rings of u16 counters (logins per day, per hour), two hash
 * tables of last-seen days (users, features) and six arrays of compact
 * records (tickets, contact events, contact states, competitor signals,
 * touchpoints, notes).  See window.h for the window's extent: every query
 * ignores data older than last_day - WIN_DAYS + 1, so pruning is only
 * about memory.
 *
 * Growth is amortised O(1): a full records array is first pruned, and
 * doubles only if that freed less than a quarter; a hash table is rebuilt
 * at load 3/4 (dropping stale entries) to load 1/2.  The tables use any
 * capacity, not powers of two (a multiply maps the hash onto it), which
 * keeps a tracked user at 16..24 bytes.
 *
 * Allocation failure: every function allocates (and interns) before it
 * changes anything visible, so -1 leaves every query answer as it was.
 *
 * Not here: which events are new (store.c), the rules (signal.c), the
 * account table that owns windows (account.c), title ranks (title.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intern.h"
#include "title.h"
#include "util.h"
#include "window.h"

#define USEC_PER_HOUR	(INT64_C(3600) * CW_USEC_PER_SEC)
#define MIN_RECORDS	4
#define U16_MAX		0xffffu

static const char *const competitor_kinds[WCK_UNKNOWN] = {
	[WCK_MENTION] = "mention", [WCK_EVENT] = "event",
	[WCK_OUTREACH] = "outreach", [WCK_CONTENT] = "content",
	[WCK_EVALUATION] = "evaluation", [WCK_POC] = "poc",
};

/* ---- days, hours, the window's extent ---- */

int32_t
window_day(int64_t us)
{
	int64_t	q = us / CW_USEC_PER_DAY;

	if (us % CW_USEC_PER_DAY < 0)
		q--;
	return (int32_t)q;
}

int64_t
window_hour(int64_t us)
{
	int64_t	q = us / USEC_PER_HOUR;

	if (us % USEC_PER_HOUR < 0)
		q--;
	return q;
}

/* Oldest day in the window (data before it is ignored). */
static int32_t
oldest(const struct window *w)
{
	return w->last_day - WIN_DAYS + 1;
}

/* Would day still be in the window once day itself has been seen? */
static int
visible_after(const struct window *w, int32_t day)
{
	int32_t	last = day > w->last_day ? day : w->last_day;

	return day > last - WIN_DAYS;
}

static size_t
ring_index(int64_t v, size_t n)
{
	int64_t	r = v % (int64_t)n;

	return (size_t)(r < 0 ? r + (int64_t)n : r);
}

unsigned
window_ring(const struct window *w, enum win_ring which, size_t slot)
{
	if (w->wide != NULL)
		return w->wide[which == WIN_RING_DAYS ? slot : WIN_DAYS + slot];
	return which == WIN_RING_DAYS ? w->logins[slot] : w->hourly[slot];
}

int
window_ring_set(struct window *w, enum win_ring which, size_t slot,
    unsigned v)
{
	size_t	i;
	int	rc = 0;

	if (v > U16_MAX)
		v = U16_MAX;
	if (w->wide == NULL && v > UINT8_MAX) {
		if ((w->wide = calloc(WIN_DAYS + WIN_HOURS,
		    sizeof(*w->wide))) == NULL) {
			v = UINT8_MAX;
			rc = -1;
		} else {
			for (i = 0; i < WIN_DAYS; i++)
				w->wide[i] = w->logins[i];
			for (i = 0; i < WIN_HOURS; i++)
				w->wide[WIN_DAYS + i] = w->hourly[i];
		}
	}
	if (w->wide != NULL)
		w->wide[which == WIN_RING_DAYS ? slot : WIN_DAYS + slot] =
		    (uint16_t)v;
	else if (which == WIN_RING_DAYS)
		w->logins[slot] = (uint8_t)v;
	else
		w->hourly[slot] = (uint8_t)v;
	return rc;
}

/* Add n to a ring's count, saturating at U16_MAX. */
static void
sat_add(struct window *w, enum win_ring which, size_t slot, unsigned n)
{
	unsigned	c = window_ring(w, which, slot);

	(void)window_ring_set(w, which, slot, n >= U16_MAX - c ? U16_MAX :
	    c + n);
}

/* Zero a whole ring. */
static void
ring_clear(struct window *w, enum win_ring which)
{
	if (w->wide != NULL && which == WIN_RING_DAYS)
		memset(w->wide, 0, WIN_DAYS * sizeof(*w->wide));
	else if (w->wide != NULL)
		memset(w->wide + WIN_DAYS, 0, WIN_HOURS * sizeof(*w->wide));
	else if (which == WIN_RING_DAYS)
		memset(w->logins, 0, sizeof(w->logins));
	else
		memset(w->hourly, 0, sizeof(w->hourly));
}

/*
 * Day has been seen: the window may move forward (zeroing the ring's
 * days that it skips: O(min(gap, WIN_DAYS))), and first_day goes back.
 */
static void
note_day(struct window *w, int32_t day)
{
	int32_t	d;

	if (w->first_day == 0 || day < w->first_day)
		w->first_day = day;
	if (w->last_day == 0) {
		w->last_day = day;	/* the ring is still all zero */
		return;
	}
	if (day <= w->last_day)
		return;
	if (day - w->last_day >= WIN_DAYS)
		ring_clear(w, WIN_RING_DAYS);
	else
		for (d = w->last_day + 1; d <= day; d++)
			(void)window_ring_set(w, WIN_RING_DAYS,
			    ring_index(d, WIN_DAYS), 0);
	w->last_day = day;
}

/* count logins on day (day already noted). */
static void
add_logins(struct window *w, int32_t day, unsigned count)
{
	if (day > w->last_login)
		w->last_login = day;
	if (day >= oldest(w))
		sat_add(w, WIN_RING_DAYS, ring_index(day, WIN_DAYS), count);
}

/* count logins in hour: the hourly ring has its own head. */
static void
add_hour(struct window *w, int64_t hour, unsigned count)
{
	int64_t	h;

	if (hour <= 0)
		return;
	if (w->last_hour == 0)
		w->last_hour = hour;
	else if (hour > w->last_hour) {
		if (hour - w->last_hour >= WIN_HOURS)
			ring_clear(w, WIN_RING_HOURS);
		else
			for (h = w->last_hour + 1; h <= hour; h++)
				(void)window_ring_set(w, WIN_RING_HOURS,
				    ring_index(h, WIN_HOURS), 0);
		w->last_hour = hour;
	} else if (hour <= w->last_hour - WIN_HOURS)
		return;
	sat_add(w, WIN_RING_HOURS, ring_index(hour, WIN_HOURS), count);
}

/* ---- last-seen hash tables ---- */

/*
 * The key that stands for a user id in the tables, or for a ticket id in
 * its records (the id itself is not kept), never 0 (0 marks an empty
 * slot).  The keyed hash: two ids share
 * a key by a 2^-64 chance per pair that no client can aim at, as it could
 * with a fixed hash.  The keys outlive the process in snapshots, so the
 * hash is util_hash_id(), under the key kept in PostgreSQL.
 */
static uint64_t
str_key(const char *s)
{
	uint64_t	h;

	h = util_hash_id(s, strlen(s));
	return h == 0 ? 1 : h;
}

/* Home slot of key in a table of cap slots (cap > 0, any value). */
static uint32_t
seen_home(uint64_t key, uint32_t cap)
{
	uint32_t	h;

	h = (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
	return (uint32_t)(((uint64_t)h * cap) >> 32);
}

/* The slot of key, or the empty slot where it goes; NULL if cap is 0. */
static struct win_seen *
seen_slot(struct win_seen *t, uint32_t cap, uint64_t key)
{
	uint32_t	i;

	if (cap == 0)
		return NULL;
	for (i = seen_home(key, cap);; i = i + 1 == cap ? 0 : i + 1)
		if (t[i].key == key || t[i].key == 0)
			return &t[i];
}

/*
 * Rebuild a table without entries older than keep, at load 1/2 for its
 * entries plus extra more; an empty result frees it.  0 or -1 (then the
 * table is unchanged).
 */
static int
seen_rebuild(struct win_seen **t, uint32_t *n, uint32_t *cap, int32_t keep,
    uint32_t extra)
{
	struct win_seen	*nt = NULL, *s;
	uint32_t	 i, live = 0, ncap;

	for (i = 0; i < *cap; i++)
		if ((*t)[i].key != 0 && (*t)[i].day >= keep)
			live++;
	if (live + extra > UINT32_MAX / 2 - 1)
		return -1;
	ncap = (live + extra) * 2;
	if (ncap > 0 && (nt = calloc(ncap, sizeof(*nt))) == NULL)
		return -1;
	for (i = 0; i < *cap; i++) {
		if ((*t)[i].key == 0 || (*t)[i].day < keep)
			continue;
		s = seen_slot(nt, ncap, (*t)[i].key);
		s->key = (*t)[i].key;
		s->day = (*t)[i].day;
	}
	free(*t);
	*t = nt;
	*n = live;
	*cap = ncap;
	return 0;
}

/* Make room so that seen_set(key) cannot need memory. */
static int
seen_prepare(struct window *w, struct win_seen **t, uint32_t *n,
    uint32_t *cap, uint64_t key)
{
	struct win_seen	*s;

	if ((s = seen_slot(*t, *cap, key)) != NULL && s->key == key)
		return 0;
	if ((uint64_t)(*n + 1) * 4 <= (uint64_t)*cap * 3)
		return 0;
	return seen_rebuild(t, n, cap, oldest(w), 1);
}

/* Record day for key (the maximum is kept); prepared before. */
static void
seen_set(struct win_seen *t, uint32_t *n, uint32_t cap, uint64_t key,
    int32_t day)
{
	struct win_seen	*s;

	s = seen_slot(t, cap, key);
	if (s->key == 0) {
		s->key = key;
		s->day = day;
		(*n)++;
	} else if (day > s->day)
		s->day = day;
}

static int32_t
seen_get(const struct win_seen *t, uint32_t cap, uint64_t key)
{
	uint32_t	i;

	if (cap == 0 || key == 0)
		return 0;
	for (i = seen_home(key, cap); t[i].key != 0;
	    i = i + 1 == cap ? 0 : i + 1)
		if (t[i].key == key)
			return t[i].day;
	return 0;
}

/* Prune a table: rebuild it if it holds stale entries or is too big. */
static void
seen_prune(struct win_seen **t, uint32_t *n, uint32_t *cap, int32_t keep)
{
	uint32_t	i, stale = 0;

	for (i = 0; i < *cap; i++)
		if ((*t)[i].key != 0 && (*t)[i].day < keep)
			stale++;
	if (stale > 0 || (uint64_t)*n * 4 < *cap)
		(void)seen_rebuild(t, n, cap, keep, 0);
}

/* ---- records arrays ---- */

/*
 * Every record starts with its int32_t day.  Drop those older than keep,
 * keeping the order; returns the new count.
 */
static uint32_t
rec_prune(void *base, uint32_t n, size_t size, int32_t keep)
{
	char		*p = base;
	uint32_t	 i, j;
	int32_t		 day;

	for (i = j = 0; i < n; i++) {
		memcpy(&day, p + (size_t)i * size, sizeof(day));
		if (day < keep)
			continue;
		if (i != j)
			memcpy(p + (size_t)j * size, p + (size_t)i * size,
			    size);
		j++;
	}
	return j;
}

/*
 * Room for one more record.  A full array is first pruned; it grows
 * (doubles) only if that left less than a quarter free.  Returns the
 * (maybe moved) array, or NULL on failure (nothing freed).
 */
static void	cevents_pre(struct window *, int32_t);

static void *
rec_reserve(struct window *w, void *base, uint32_t *n, uint32_t *cap,
    size_t size)
{
	void		*nb;
	uint32_t	 ncap;

	if (*n < *cap)
		return base;
	if (base == (void *)w->cevents)
		cevents_pre(w, oldest(w));
	*n = rec_prune(base, *n, size, oldest(w));
	if (*cap > 0 && (uint64_t)*n * 4 <= (uint64_t)*cap * 3)
		return base;
	if (*cap > UINT32_MAX / 2)
		return NULL;
	ncap = *cap < MIN_RECORDS ? MIN_RECORDS : *cap * 2;
	if ((nb = realloc(base, (size_t)ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return nb;
}

/* Give back memory when under a quarter is used. */
static void *
rec_shrink(void *base, uint32_t n, uint32_t *cap, size_t size)
{
	void		*nb;
	uint32_t	 ncap;

	if (n == 0) {
		free(base);
		*cap = 0;
		return NULL;
	}
	if ((uint64_t)n * 4 >= *cap || *cap <= MIN_RECORDS)
		return base;
	ncap = n * 2 < MIN_RECORDS ? MIN_RECORDS : n * 2;
	if ((nb = realloc(base, (size_t)ncap * size)) == NULL)
		return base;
	*cap = ncap;
	return nb;
}

/*
 * The contact index: open addressing (linear probing) over the slots of
 * contacts[], keyed by interned id, at load <= 1/2 (capcindex =
 * 2 * capcontacts), rebuilt whenever contacts[] is compacted or resized.
 * Both happen only when the array is full or at pruning, so the rebuild
 * is amortised O(1) per event like the array's growth.  Entries are
 * never removed one by one, so probing needs no tombstones.
 */
#define NO_SLOT		UINT32_MAX

/* Interned ids are sequential, so predictable: the keyed hash. */
static uint32_t
cindex_home(uint32_t contact, uint32_t cap)
{
	uint64_t	x = util_hash(&contact, sizeof(contact));

	return (uint32_t)(((x >> 32) * cap) >> 32);
}

/* Record that contacts[slot] is indexed (there is room: load <= 1/2). */
static void
cindex_add(struct window *w, uint32_t slot)
{
	uint32_t	i;

	if (w->cindex == NULL)
		return;
	for (i = cindex_home(w->contacts[slot].contact, w->capcindex);
	    w->cindex[i] != 0; i = i + 1 == w->capcindex ? 0 : i + 1)
		;
	w->cindex[i] = slot + 1;
}

/*
 * Rebuild the index for the current contacts[] (none while the array is
 * small).  Without memory the index is dropped: lookups scan, slower but
 * right, and the next rebuild tries again.
 */
static void
contacts_reindex(struct window *w)
{
	uint32_t	i, cap;

	free(w->cindex);
	w->cindex = NULL;
	w->capcindex = 0;
	if (w->capcontacts <= WIN_CONTACT_SCAN)
		return;
	cap = w->capcontacts * 2;
	if ((w->cindex = calloc(cap, sizeof(*w->cindex))) == NULL)
		return;
	w->capcindex = cap;
	for (i = 0; i < w->ncontacts; i++)
		cindex_add(w, i);
}

/* The slot of contact in contacts[] (forgotten or not), or NO_SLOT. */
static uint32_t
contact_slot(const struct window *w, uint32_t contact)
{
	uint32_t	i, s;

	if (w->cindex == NULL) {
		for (i = 0; i < w->ncontacts; i++)
			if (w->contacts[i].contact == contact)
				return i;
		return NO_SLOT;
	}
	for (i = cindex_home(contact, w->capcindex); (s = w->cindex[i]) != 0;
	    i = i + 1 == w->capcindex ? 0 : i + 1)
		if (w->contacts[s - 1].contact == contact)
			return s - 1;
	return NO_SLOT;
}

/* Forget the contacts that left before the window; keeps the order. */
static void
contacts_forget(struct window *w)
{
	uint32_t	i, j;

	for (i = j = 0; i < w->ncontacts; i++) {
		if (w->contacts[i].left && w->contacts[i].day < oldest(w))
			continue;
		w->contacts[j++] = w->contacts[i];
	}
	w->ncontacts = j;
}

/*
 * Room for one more contact: as rec_reserve(), forgetting first; the
 * index follows the compacted or grown array.
 */
static int
contact_reserve(struct window *w)
{
	struct win_contact	*nc;
	uint32_t		 ncap, n;

	if (w->ncontacts < w->capcontacts)
		return 0;
	n = w->ncontacts;
	contacts_forget(w);
	if (w->capcontacts > 0 &&
	    (uint64_t)w->ncontacts * 4 <= (uint64_t)w->capcontacts * 3)
		goto done;
	if (w->capcontacts > UINT32_MAX / 4)
		goto fail;
	ncap = w->capcontacts < MIN_RECORDS ? MIN_RECORDS :
	    w->capcontacts * 2;
	if ((nc = realloc(w->contacts, (size_t)ncap * sizeof(*nc))) == NULL)
		goto fail;
	w->contacts = nc;
	w->capcontacts = ncap;
done:
	contacts_reindex(w);
	return 0;
fail:
	/* Forgetting moved slots even though nothing else changed. */
	if (w->ncontacts != n)
		contacts_reindex(w);
	return -1;
}

/* ---- string matching ---- */

static int
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * Find the lower-case pattern pat in s, ASCII case folded (other bytes
 * as they are).  With words, the match must not touch an ASCII letter or
 * digit on either side.  An empty pattern matches nothing.
 */
static int
contains(const char *s, const char *pat, int words)
{
	const unsigned char	*h = (const unsigned char *)s;
	size_t			 i, j, n = strlen(pat);

	if (s == NULL || n == 0)
		return 0;
	for (i = 0; h[i] != '\0'; i++) {
		for (j = 0; j < n && h[i + j] != '\0'; j++)
			if (fold(h[i + j]) != (unsigned char)pat[j])
				break;
		if (j < n)
			continue;
		if (!words || ((i == 0 || !is_alnum(h[i - 1])) &&
		    !is_alnum(h[i + n])))
			return 1;
	}
	return 0;
}

static int
matches_any(const char *s, const char *const *pats, int words)
{
	if (s == NULL || pats == NULL)
		return 0;
	for (; *pats != NULL; pats++)
		if (contains(s, *pats, words))
			return 1;
	return 0;
}

/* Intern s (NULL or "" -> 0); -1 when out of memory. */
static int
intern_opt(const char *s, uint32_t *id)
{
	*id = 0;
	if (s == NULL || *s == '\0')
		return 0;
	return (*id = intern(s, strlen(s))) == 0 ? -1 : 0;
}

/* The first risk phrase found in text, or NULL. */
static const struct win_phrase *
risk_phrase(const char *text, const struct win_rules *rules)
{
	const struct win_phrase	*ph;

	if (rules == NULL || rules->phrases == NULL)
		return NULL;
	for (ph = rules->phrases; ph->text != NULL; ph++)
		if (contains(text, ph->text, 0))
			return ph;
	return NULL;
}

/* ---- window_apply, one function per event type ---- */

static int
apply_login(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	uint64_t	key = 0;

	if (ev->user_id != NULL && visible_after(w, day)) {
		key = str_key(ev->user_id);
		if (seen_prepare(w, &w->users, &w->nusers, &w->capusers,
		    key) == -1)
			return -1;
	}
	note_day(w, day);
	if (key != 0)
		seen_set(w->users, &w->nusers, w->capusers, key, day);
	add_logins(w, day, 1);
	add_hour(w, window_hour(ev->ts), 1);
	return 0;
}

static int
apply_feature(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	uint64_t	key = 0;
	uint32_t	feature;

	if (!visible_after(w, day)) {
		note_day(w, day);
		return 0;
	}
	if (intern_opt(ev->p.feature, &feature) == -1)
		return -1;
	if (ev->user_id != NULL) {
		key = str_key(ev->user_id);
		if (seen_prepare(w, &w->users, &w->nusers, &w->capusers,
		    key) == -1)
			return -1;
	}
	if (feature != 0 && seen_prepare(w, &w->features, &w->nfeatures,
	    &w->capfeatures, feature) == -1)
		return -1;
	note_day(w, day);
	if (key != 0)
		seen_set(w->users, &w->nusers, w->capusers, key, day);
	if (feature != 0)
		seen_set(w->features, &w->nfeatures, w->capfeatures, feature,
		    day);
	return 0;
}

/* Sentiment -1..1 as -100..100, rounded. */
static int8_t
scale_sentiment(double s)
{
	double	v = s * 100.0;

	v += v >= 0 ? 0.5 : -0.5;
	if (v > 100.0)
		return 100;
	if (v < -100.0)
		return -100;
	return (int8_t)(int)v;
}

static int
ticket_intent(const struct cw_event_props *p, const struct win_rules *rules)
{
	size_t	i;

	if (rules == NULL || rules->intent_patterns == NULL)
		return 0;
	if (matches_any(p->category, rules->intent_patterns, 0) ||
	    matches_any(p->subject, rules->intent_patterns, 0))
		return 1;
	for (i = 0; i < p->ntags; i++)
		if (matches_any(p->tags[i], rules->intent_patterns, 0))
			return 1;
	return 0;
}

static int
apply_ticket(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	struct win_ticket	*t;
	uint32_t		 team, category;
	void			*nb;

	if (!visible_after(w, day)) {
		note_day(w, day);
		return 0;
	}
	if (intern_opt(ev->p.team, &team) == -1 ||
	    intern_opt(ev->p.category, &category) == -1)
		return -1;
	if ((nb = rec_reserve(w, w->tickets, &w->ntickets, &w->captickets,
	    sizeof(*w->tickets))) == NULL)
		return -1;
	w->tickets = nb;
	note_day(w, day);
	t = &w->tickets[w->ntickets++];
	memset(t, 0, sizeof(*t));
	t->day = day;
	t->team = team;
	t->category = category;
	t->sentiment = ev->p.has_sentiment ?
	    scale_sentiment(ev->p.sentiment) : WIN_NO_SENTIMENT;
	t->kind = (uint8_t)(ev->type - EV_TICKET_CREATED);
	t->intent = (uint8_t)ticket_intent(&ev->p, rules);
	t->ticket = str_key(ev->p.ticket_id != NULL ? ev->p.ticket_id : "");
	t->ts = ev->ts;
	return 0;
}

/* The contact's state, or NULL; a contact that left before the window
 * is unknown. */
static struct win_contact *
find_contact(const struct window *w, uint32_t contact)
{
	uint32_t	i;

	if ((i = contact_slot(w, contact)) == NO_SLOT)
		return NULL;
	if (w->contacts[i].left && w->contacts[i].day < oldest(w))
		return NULL;
	return &w->contacts[i];
}

/* Record r, older than the window, moves into the state before it. */
static void
pre_note(struct win_contact *c, const struct win_contact_event *r)
{
	if (!c->has_pre || r->ts > c->pre_ts) {
		c->pre_ts = r->ts;
		c->has_pre = 1;
	}
}

/* Before the records older than keep are dropped: note them as folded. */
static void
cevents_pre(struct window *w, int32_t keep)
{
	uint32_t	i, slot;

	for (i = 0; i < w->ncevents; i++)
		if (w->cevents[i].day < keep &&
		    (slot = contact_slot(w, w->cevents[i].contact)) != NO_SLOT)
			pre_note(&w->contacts[slot], &w->cevents[i]);
}

/*
 * Contacts are a fold of their events in contact order
 * (window_cevent_cmp()).  An event newer than the contact's newest is
 * folded onto its state, as it comes.  An older one (two systems, a
 * back-fill) re-derives the contact's records in the window: from the
 * state before the oldest of them (each record keeps the state before
 * it), every record is folded again in contact order, the new one in its
 * place.  Everything before the window was folded in arrival order;
 * restarts do not see it at all (they replay the window's events).
 */

/* A contact's state while folding (struct win_contact, plus known). */
struct cstate {
	int64_t		ts;
	int32_t		day;
	uint32_t	title;
	uint8_t		rank, champion, left, known;
};

static int
kind_order(uint8_t kind)
{
	return kind == WC_JOINED ? 0 : kind == WC_CHANGED ? 1 : 2;
}

/* Interned strings by their text (ids depend on the arrival order). */
static int
str_order(uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	if (a == 0 || b == 0)
		return a == 0 ? -1 : 1;
	return strcmp(intern_str(a), intern_str(b));
}

#define ORDER(a, b)	((a) < (b) ? -1 : (a) > (b))

int
window_cevent_cmp(const struct win_contact_event *a,
    const struct win_contact_event *b)
{
	int	c;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if ((c = ORDER(kind_order(a->kind), kind_order(b->kind))) != 0 ||
	    (c = str_order(a->title, b->title)) != 0 ||
	    (c = str_order(a->prev, b->prev)) != 0 ||
	    (c = ORDER(a->is_champion, b->is_champion)) != 0 ||
	    (c = ORDER(a->from_competitor, b->from_competitor)) != 0 ||
	    (c = str_order(a->contact, b->contact)) != 0 ||
	    (c = ORDER(a->old_rank, b->old_rank)) != 0 ||
	    (c = ORDER(a->new_rank, b->new_rank)) != 0 ||
	    (c = ORDER(a->champion, b->champion)) != 0)
		return c;
	return ORDER(a->title_changed, b->title_changed);
}

static int
cevent_qcmp(const void *a, const void *b)
{
	return window_cevent_cmp(a, b);
}

static void
cstate_get(struct cstate *s, const struct win_contact *c)
{
	s->ts = c->ts;
	s->day = c->day;
	s->title = c->title;
	s->rank = c->rank;
	s->champion = c->champion;
	s->left = c->left;
	s->known = 1;
}

static void
cstate_put(struct win_contact *c, const struct cstate *s)
{
	c->ts = s->ts;
	c->day = s->day;
	c->title = s->title;
	c->rank = s->rank;
	c->champion = s->champion;
	c->left = s->left;
}

/*
 * The state before record r, which is older than every other record of
 * its contact in the window: all that came before it is older than the
 * window (keep), so a contact that had left then is gone.
 */
static void
cstate_before(struct cstate *s, const struct win_contact_event *r,
    int32_t keep)
{
	s->ts = INT64_MIN;
	s->day = keep - 1;
	s->title = r->before_title;
	s->rank = r->old_rank;
	s->champion = (r->before & WCB_CHAMPION) != 0;
	s->left = (r->before & WCB_LEFT) != 0;
	s->known = (r->before & WCB_KNOWN) != 0;
}

/*
 * Fold record r (its facts set; new_rank = its title's rank if it has
 * one) onto s: derive r's fields from s, the state before it, then move s
 * past it.  A contact that left before keep (the window's oldest day) is
 * gone: r finds it new, with previous_title as its title.
 */
static void
cstate_fold(struct cstate *s, struct win_contact_event *r, int32_t keep)
{
	if (s->known && s->left && s->day < keep)
		s->known = 0;
	if (!s->known) {
		s->ts = INT64_MIN;
		s->day = INT32_MIN;
		s->title = r->prev;
		s->rank = r->prev != 0 ?
		    (uint8_t)title_rank(intern_str(r->prev)) : RANK_NONE;
		s->champion = s->left = 0;
	}
	r->before = (uint8_t)((s->known ? WCB_KNOWN : 0) |
	    (s->champion ? WCB_CHAMPION : 0) | (s->left ? WCB_LEFT : 0));
	r->before_title = s->title;
	r->old_rank = s->rank;
	if (r->title == 0)
		r->new_rank = r->old_rank;
	r->champion = r->is_champion >= 0 ? r->is_champion != 0 :
	    s->champion;
	r->title_changed = r->title != 0 &&
	    ((s->title != 0 && s->title != r->title) ||
	    (r->prev != 0 && r->prev != r->title));

	s->known = 1;
	if (r->title != 0)
		s->title = r->title;
	s->rank = r->new_rank;
	s->champion = r->champion;
	if (r->kind == WC_LEFT)
		s->left = 1;
	else if (r->kind == WC_JOINED)
		s->left = 0;
	if (r->day > s->day)
		s->day = r->day;
	if (r->ts > s->ts)
		s->ts = r->ts;
}

#define REPLAY_STACK	8

/*
 * Contact slot's event rec arrived out of order (not newer than its
 * newest): re-derive the contact's records in the window and its state.
 * rec is stored if visible.  Returns 0, or -1 on allocation failure
 * (nothing changed but the record array's capacity).
 */
static int
contact_replay(struct window *w, uint32_t slot, struct win_contact_event *rec,
    int visible)
{
	struct win_contact		*c = &w->contacts[slot];
	struct win_contact_event	 sv[REPLAY_STACK], *v = sv;
	const struct win_contact_event	*first = NULL, *e;
	struct cstate			 s;
	uint32_t			 sat[REPLAY_STACK], *at = sat;
	uint32_t			 i, k, n;
	int32_t				 keep = oldest(w);
	int				 below = 0;
	void				*nb;

	if (visible) {
		if ((nb = rec_reserve(w, w->cevents, &w->ncevents,
		    &w->capcevents, sizeof(*w->cevents))) == NULL)
			return -1;
		w->cevents = nb;
	}
	for (i = n = 0; i < w->ncevents; i++) {
		e = &w->cevents[i];
		if (e->contact != rec->contact)
			continue;
		if (e->day < keep) {
			pre_note(c, e);	/* already in the state before */
			continue;
		}
		n++;
		if (first == NULL || window_cevent_cmp(e, first) < 0)
			first = e;
	}
	if (first == NULL && !visible) {
		/*
		 * All of it is older than the window (so is rec): no order
		 * to restore, but a newer event's title stays.  (A visible
		 * rec always finds the record of the contact's newest event,
		 * which is no older; were it missing, rec folds onto the
		 * state below.)
		 */
		note_day(w, rec->day);
		if (c->title == 0 && (rec->title != 0 || rec->prev != 0)) {
			c->title = rec->title != 0 ? rec->title : rec->prev;
			c->rank = rec->title != 0 ? rec->new_rank :
			    (uint8_t)title_rank(intern_str(rec->prev));
		}
		if (!c->champ_set && rec->is_champion >= 0) {
			c->champion = rec->is_champion != 0;
			c->champ_set = 1;
		}
		return 0;
	}
	n += visible != 0;
	if (n > REPLAY_STACK) {
		v = calloc(n, sizeof(*v));
		at = calloc(n, sizeof(*at));
		if (v == NULL || at == NULL) {
			free(v);
			free(at);
			return -1;
		}
	}
	if (first != NULL)
		cstate_before(&s, first, keep);
	else
		cstate_get(&s, c);
	/*
	 * Older than the window and than the newest event the state before
	 * the window already holds: below it, it can only fill a title.
	 */
	if (!visible && first != NULL && c->has_pre && rec->ts <= c->pre_ts) {
		if (s.title == 0 && (rec->title != 0 || rec->prev != 0)) {
			s.title = rec->title != 0 ? rec->title : rec->prev;
			s.rank = rec->title != 0 ? rec->new_rank :
			    (uint8_t)title_rank(intern_str(rec->prev));
		}
		if (!c->champ_set && rec->is_champion >= 0)
			s.champion = rec->is_champion != 0;
		below = 1;
	} else if (!visible) {
		c->pre_ts = rec->ts;
		c->has_pre = 1;
	}
	for (i = k = 0; i < w->ncevents; i++) {
		e = &w->cevents[i];
		if (e->contact == rec->contact && e->day >= keep) {
			at[k] = i;
			v[k++] = *e;
		}
	}
	if (visible) {
		at[k] = w->ncevents++;
		v[k++] = *rec;
	} else if (!below)
		cstate_fold(&s, rec, keep);	/* before them all */
	qsort(v, n, sizeof(*v), cevent_qcmp);
	note_day(w, rec->day);
	for (i = 0; i < n; i++) {
		cstate_fold(&s, &v[i], keep);
		w->cevents[at[i]] = v[i];
	}
	cstate_put(c, &s);
	if (rec->is_champion >= 0)
		c->champ_set = 1;
	if (v != sv) {
		free(v);
		free(at);
	}
	return 0;
}

/*
 * A contact event: the record says what changed, the state is updated.
 * The state is an array found through the index (contact_slot); a
 * forgotten contact's slot is reused.  O(1) amortised in order;
 * contact_replay() out of order.
 */
static int
apply_contact(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	const struct cw_event_props	*p = &ev->p;
	struct win_contact		*c = NULL;
	struct win_contact_event	 rec;
	struct cstate			 s;
	uint32_t			 id, title, prev, slot;
	int				 visible = visible_after(w, day);
	int32_t				 keep;
	void				*nb;

	if (intern_opt(p->contact_id, &id) == -1 ||
	    intern_opt(p->title, &title) == -1 ||
	    intern_opt(p->previous_title, &prev) == -1)
		return -1;
	if (id == 0)
		return 0;

	memset(&rec, 0, sizeof(rec));
	rec.day = day;
	rec.contact = id;
	rec.ts = ev->ts;
	rec.title = title;
	rec.prev = prev;
	rec.kind = (uint8_t)(ev->type - EV_CONTACT_JOINED);
	rec.is_champion = (int8_t)(p->is_champion < 0 ? -1 :
	    p->is_champion != 0);
	if (rules != NULL)
		rec.from_competitor = (uint8_t)matches_any(p->previous_company,
		    rules->competitors, 1);
	if (title != 0)
		rec.new_rank = (uint8_t)title_rank(p->title);

	/* Gone: left before the window as it is with this event. */
	keep = (day > w->last_day ? day : w->last_day) - WIN_DAYS + 1;
	if ((slot = contact_slot(w, id)) != NO_SLOT) {
		c = &w->contacts[slot];
		if (c->left && c->day < keep)
			c = NULL;	/* forgotten: reuse its slot */
		else if (ev->ts <= c->ts)
			return contact_replay(w, slot, &rec, visible);
	} else if (contact_reserve(w) == -1)
		return -1;
	if (visible) {
		if ((nb = rec_reserve(w, w->cevents, &w->ncevents,
		    &w->capcevents, sizeof(*w->cevents))) == NULL)
			return -1;
		w->cevents = nb;
	}

	note_day(w, day);
	if (c == NULL) {
		if (slot == NO_SLOT) {
			slot = w->ncontacts++;
			w->contacts[slot].contact = id;
			cindex_add(w, slot);
		}
		c = &w->contacts[slot];
		memset(c, 0, sizeof(*c));
		c->contact = id;
		s.known = 0;
	} else
		cstate_get(&s, c);
	cstate_fold(&s, &rec, keep);
	cstate_put(c, &s);
	if (!visible) {
		c->pre_ts = ev->ts;	/* the newest of its events so far */
		c->has_pre = 1;
	}
	if (rec.is_champion >= 0)
		c->champ_set = 1;
	if (visible)
		w->cevents[w->ncevents++] = rec;
	return 0;
}

static int
apply_competitor(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	struct win_competitor	*c;
	uint32_t		 name;
	size_t			 k;
	void			*nb;

	if (!visible_after(w, day)) {
		note_day(w, day);
		return 0;
	}
	if (intern_opt(ev->p.competitor, &name) == -1)
		return -1;
	if ((nb = rec_reserve(w, w->competitors, &w->ncompetitors,
	    &w->capcompetitors, sizeof(*w->competitors))) == NULL)
		return -1;
	w->competitors = nb;
	note_day(w, day);
	for (k = 0; k < WCK_UNKNOWN; k++)
		if (ev->p.kind != NULL &&
		    strcmp(ev->p.kind, competitor_kinds[k]) == 0)
			break;
	c = &w->competitors[w->ncompetitors++];
	memset(c, 0, sizeof(*c));
	c->day = day;
	c->competitor = name;
	c->kind = (uint8_t)k;
	return 0;
}

/* A meeting's attendees / invited in 1/WIN_RATE_ONE, or WIN_NO_RATE. */
static uint16_t
attendance_rate(const struct cw_event_props *p)
{
	if (p->kind == NULL || strcmp(p->kind, "meeting") != 0 ||
	    p->attendees < 0 || p->invited <= 0 || p->attendees > p->invited)
		return WIN_NO_RATE;
	return (uint16_t)((p->attendees * WIN_RATE_ONE + p->invited / 2) /
	    p->invited);
}

static int
apply_touchpoint(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	struct win_touch	*t;
	void			*nb;

	if (visible_after(w, day)) {
		if ((nb = rec_reserve(w, w->touches, &w->ntouches,
		    &w->captouches, sizeof(*w->touches))) == NULL)
			return -1;
		w->touches = nb;
	}
	note_day(w, day);
	if (day > w->last_touch)
		w->last_touch = day;
	if (day >= oldest(w)) {
		t = &w->touches[w->ntouches++];
		memset(t, 0, sizeof(*t));
		t->day = day;
		t->rate = attendance_rate(&ev->p);
	}
	return 0;
}

static int
apply_note(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	const struct win_phrase	*ph;
	struct win_note		*n;
	uint32_t		 phrase = 0, cls = 0;
	void			*nb;

	if (!visible_after(w, day)) {
		note_day(w, day);
		return 0;
	}
	if ((ph = risk_phrase(ev->p.text, rules)) != NULL &&
	    (intern_opt(ph->text, &phrase) == -1 ||
	    intern_opt(ph->cls, &cls) == -1))
		return -1;
	if ((nb = rec_reserve(w, w->notes, &w->nnotes, &w->capnotes,
	    sizeof(*w->notes))) == NULL)
		return -1;
	w->notes = nb;
	note_day(w, day);
	n = &w->notes[w->nnotes++];
	memset(n, 0, sizeof(*n));
	n->day = day;
	n->phrase = phrase;
	n->cls = cls;
	return 0;
}

/* Outcomes are what the signals are judged by (SPEC 9), not an input. */
static int
apply_outcome(struct window *w, const struct cw_event *ev, int32_t day,
    const struct win_rules *rules)
{
	return 0;
}

static int (*const appliers[EV__COUNT])(struct window *,
    const struct cw_event *, int32_t, const struct win_rules *) = {
	[EV_LOGIN] = apply_login,
	[EV_FEATURE_USED] = apply_feature,
	[EV_TICKET_CREATED] = apply_ticket,
	[EV_TICKET_UPDATED] = apply_ticket,
	[EV_TICKET_SOLVED] = apply_ticket,
	[EV_CONTACT_JOINED] = apply_contact,
	[EV_CONTACT_LEFT] = apply_contact,
	[EV_CONTACT_CHANGED] = apply_contact,
	[EV_COMPETITOR_SIGNAL] = apply_competitor,
	[EV_TOUCHPOINT] = apply_touchpoint,
	[EV_NOTE] = apply_note,
	[EV_ACCOUNT_CHURNED] = apply_outcome,
	[EV_ACCOUNT_RENEWED] = apply_outcome,
	[EV_ACCOUNT_CONTRACTED] = apply_outcome,
};

void
window_init(struct window *w)
{
	memset(w, 0, sizeof(*w));
}

void
window_free(struct window *w)
{
	if (w == NULL)
		return;
	free(w->users);
	free(w->features);
	free(w->touches);
	free(w->notes);
	free(w->tickets);
	free(w->cevents);
	free(w->contacts);
	free(w->cindex);
	free(w->competitors);
	free(w->wide);
	window_init(w);
}

int
window_apply(struct window *w, const struct cw_event *ev,
    const struct win_rules *rules)
{
	int32_t	day = window_day(ev->ts);

	if (day <= 0 || (unsigned)ev->type >= EV__COUNT)
		return 0;
	return appliers[ev->type](w, ev, day, rules);
}

/* ---- restore ---- */

int
window_restore_logins(struct window *w, int32_t day, unsigned count)
{
	if (day <= 0 || count == 0)
		return 0;
	note_day(w, day);
	add_logins(w, day, count);
	return 0;
}

int
window_restore_hour(struct window *w, int64_t hour, unsigned count)
{
	if (count > 0)
		add_hour(w, hour, count);
	return 0;
}

int
window_restore_user(struct window *w, const char *user_id, int32_t day)
{
	uint64_t	key;

	if (day <= 0 || user_id == NULL)
		return 0;
	if (!visible_after(w, day)) {
		note_day(w, day);
		return 0;
	}
	key = str_key(user_id);
	if (seen_prepare(w, &w->users, &w->nusers, &w->capusers, key) == -1)
		return -1;
	note_day(w, day);
	seen_set(w->users, &w->nusers, w->capusers, key, day);
	return 0;
}

int
window_restore_feature(struct window *w, const char *feature, int32_t day)
{
	uint32_t	id;

	if (day <= 0 || feature == NULL || *feature == '\0')
		return 0;
	if (!visible_after(w, day)) {
		note_day(w, day);
		return 0;
	}
	if (intern_opt(feature, &id) == -1 || seen_prepare(w, &w->features,
	    &w->nfeatures, &w->capfeatures, id) == -1)
		return -1;
	note_day(w, day);
	seen_set(w->features, &w->nfeatures, w->capfeatures, id, day);
	return 0;
}

void
window_restore_day(struct window *w, int32_t day)
{
	if (day > 0)
		note_day(w, day);
}

/* ---- prune ---- */

void
window_prune(struct window *w, int32_t today)
{
	int32_t		keep;
	uint32_t	n, cap;

	if (today > w->last_day && w->last_day != 0)
		note_day(w, today);
	if (w->last_day == 0)
		return;
	keep = oldest(w);

	seen_prune(&w->users, &w->nusers, &w->capusers, keep);
	seen_prune(&w->features, &w->nfeatures, &w->capfeatures, keep);

	w->ntouches = rec_prune(w->touches, w->ntouches, sizeof(*w->touches),
	    keep);
	w->touches = rec_shrink(w->touches, w->ntouches, &w->captouches,
	    sizeof(*w->touches));
	w->nnotes = rec_prune(w->notes, w->nnotes, sizeof(*w->notes), keep);
	w->notes = rec_shrink(w->notes, w->nnotes, &w->capnotes,
	    sizeof(*w->notes));
	w->ntickets = rec_prune(w->tickets, w->ntickets, sizeof(*w->tickets),
	    keep);
	w->tickets = rec_shrink(w->tickets, w->ntickets, &w->captickets,
	    sizeof(*w->tickets));
	cevents_pre(w, keep);
	w->ncevents = rec_prune(w->cevents, w->ncevents, sizeof(*w->cevents),
	    keep);
	w->cevents = rec_shrink(w->cevents, w->ncevents, &w->capcevents,
	    sizeof(*w->cevents));
	w->ncompetitors = rec_prune(w->competitors, w->ncompetitors,
	    sizeof(*w->competitors), keep);
	w->competitors = rec_shrink(w->competitors, w->ncompetitors,
	    &w->capcompetitors, sizeof(*w->competitors));

	/* Contacts are state, not history: only those who left go. */
	n = w->ncontacts;
	cap = w->capcontacts;
	contacts_forget(w);
	w->contacts = rec_shrink(w->contacts, w->ncontacts, &w->capcontacts,
	    sizeof(*w->contacts));
	if (w->ncontacts != n || w->capcontacts != cap)
		contacts_reindex(w);
}

/* ---- queries ---- */

/* Clamp [*from, *to] to the window; 0 if nothing is left. */
static int
clamp(const struct window *w, int32_t *from, int32_t *to)
{
	if (w->last_day == 0)
		return 0;
	if (*from < oldest(w))
		*from = oldest(w);
	if (*to > w->last_day)
		*to = w->last_day;
	return *from <= *to;
}

unsigned
window_logins_on(const struct window *w, int32_t day)
{
	if (w->last_day == 0 || day > w->last_day || day < oldest(w))
		return 0;
	return window_ring(w, WIN_RING_DAYS, ring_index(day, WIN_DAYS));
}

uint64_t
window_logins(const struct window *w, int32_t from, int32_t to)
{
	uint64_t	sum = 0;
	int32_t		d;

	if (!clamp(w, &from, &to))
		return 0;
	for (d = from; d <= to; d++)
		sum += window_ring(w, WIN_RING_DAYS, ring_index(d, WIN_DAYS));
	return sum;
}

uint64_t
window_logins_24h(const struct window *w, int64_t now_hour)
{
	uint64_t	sum = 0;
	int64_t		h, from = now_hour - 23, to = now_hour;

	if (w->last_hour == 0)
		return 0;
	if (from <= w->last_hour - WIN_HOURS)
		from = w->last_hour - WIN_HOURS + 1;
	if (to > w->last_hour)
		to = w->last_hour;
	for (h = from; h <= to; h++)
		sum += window_ring(w, WIN_RING_HOURS,
		    ring_index(h, WIN_HOURS));
	return sum;
}

int
window_user_seen(const struct window *w, const char *user_id)
{
	return seen_get(w->users, w->capusers, str_key(user_id)) != 0;
}

unsigned
window_active_users(const struct window *w, int32_t since)
{
	unsigned	n = 0;
	uint32_t	i;

	if (since < oldest(w))
		since = oldest(w);
	for (i = 0; i < w->capusers; i++)
		if (w->users[i].key != 0 && w->users[i].day >= since)
			n++;
	return n;
}

int32_t
window_feature_last(const struct window *w, uint32_t feature)
{
	int32_t	day;

	day = seen_get(w->features, w->capfeatures, feature);
	return day != 0 && day >= oldest(w) ? day : 0;
}

unsigned
window_touches(const struct window *w, int32_t from, int32_t to)
{
	unsigned	n = 0;
	uint32_t	i;

	if (!clamp(w, &from, &to))
		return 0;
	for (i = 0; i < w->ntouches; i++)
		if (w->touches[i].day >= from && w->touches[i].day <= to)
			n++;
	return n;
}

void
window_attendance(const struct window *w, int32_t from, int32_t to,
    uint64_t *sum, unsigned *n)
{
	const struct win_touch	*t;
	uint32_t		 i;

	*sum = 0;
	*n = 0;
	if (!clamp(w, &from, &to))
		return;
	for (i = 0; i < w->ntouches; i++) {
		t = &w->touches[i];
		if (t->rate == WIN_NO_RATE || t->day < from || t->day > to)
			continue;
		*sum += t->rate;
		(*n)++;
	}
}

const struct win_note *
window_risk_note(const struct window *w, int32_t from, int32_t to,
    unsigned *n)
{
	const struct win_note	*best = NULL, *x;
	uint32_t		 i;

	*n = 0;
	if (!clamp(w, &from, &to))
		return NULL;
	for (i = 0; i < w->nnotes; i++) {
		x = &w->notes[i];
		if (x->phrase == 0 || x->day < from || x->day > to)
			continue;
		(*n)++;
		if (best == NULL || x->day >= best->day)
			best = x;
	}
	return best;
}

unsigned
window_tickets_created(const struct window *w, int32_t from, int32_t to)
{
	unsigned	n = 0;
	uint32_t	i;

	if (!clamp(w, &from, &to))
		return 0;
	for (i = 0; i < w->ntickets; i++)
		if (w->tickets[i].kind == WT_CREATED &&
		    w->tickets[i].day >= from && w->tickets[i].day <= to)
			n++;
	return n;
}

static int
rated(const struct win_ticket *t, int32_t from, int32_t to)
{
	return t->sentiment != WIN_NO_SENTIMENT && t->day >= from &&
	    t->day <= to;
}

/* Is tickets[j] a later event of the same ticket than tickets[i]? */
static int
later_of_ticket(const struct window *w, uint32_t i, uint32_t j)
{
	const struct win_ticket	*a = &w->tickets[i], *b = &w->tickets[j];

	return a->ticket == b->ticket && (b->ts > a->ts ||
	    (b->ts == a->ts && j > i));
}

/* A rated ticket event, for sorting by (ticket, ts, order applied). */
struct rt {
	uint64_t	ticket;
	int64_t		ts;
	uint32_t	idx;
};

static int
rt_cmp(const void *a, const void *b)
{
	const struct rt	*x = a, *y = b;

	if (x->ticket != y->ticket)
		return x->ticket < y->ticket ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void
window_sentiment(const struct window *w, int32_t from, int32_t to,
    int64_t *sum, unsigned *n)
{
	struct rt	*v;
	uint32_t	 i, j, m = 0;

	*sum = 0;
	*n = 0;
	if (!clamp(w, &from, &to))
		return;
	for (i = 0; i < w->ntickets; i++)
		m += rated(&w->tickets[i], from, to);
	if (m == 0)
		return;
	if ((v = malloc((size_t)m * sizeof(*v))) != NULL) {
		for (i = j = 0; i < w->ntickets; i++) {
			if (!rated(&w->tickets[i], from, to))
				continue;
			v[j].ticket = w->tickets[i].ticket;
			v[j].ts = w->tickets[i].ts;
			v[j].idx = i;
			j++;
		}
		qsort(v, m, sizeof(*v), rt_cmp);
		for (i = 0; i < m; i++) {
			if (i + 1 < m && v[i + 1].ticket == v[i].ticket)
				continue;	/* not the ticket's latest */
			*sum += w->tickets[v[i].idx].sentiment;
			(*n)++;
		}
		free(v);
		return;
	}
	for (i = 0; i < w->ntickets; i++) {
		if (!rated(&w->tickets[i], from, to))
			continue;
		for (j = 0; j < w->ntickets; j++)
			if (j != i && rated(&w->tickets[j], from, to) &&
			    later_of_ticket(w, i, j))
				break;
		if (j < w->ntickets)
			continue;
		*sum += w->tickets[i].sentiment;
		(*n)++;
	}
}

/* One created ticket with a team and a category, for the grouping. */
struct tc {
	uint64_t	key;		/* team << 32 | category */
	int32_t		day;
	uint32_t	idx;		/* position: later = more recent */
};

static int
tc_cmp(const void *a, const void *b)
{
	const struct tc	*x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* Is the group (n, day, idx) better than the best so far? */
static int
tc_better(unsigned n, int32_t day, uint32_t idx, unsigned bn, int32_t bday,
    uint32_t bidx)
{
	if (n != bn)
		return n > bn;
	if (day != bday)
		return day > bday;
	return idx > bidx;
}

static int
tc_counts(const struct win_ticket *t, int32_t from, int32_t to)
{
	return t->kind == WT_CREATED && t->team != 0 && t->category != 0 &&
	    t->day >= from && t->day <= to;
}

/*
 * Group the created tickets by (team, category): sorted when memory
 * allows (O(n log n)), else by rescanning (O(n^2), no memory).  Tickets
 * without a team or a category belong to no group.
 */
unsigned
window_top_team_category(const struct window *w, int32_t from, int32_t to,
    uint32_t *team, uint32_t *category)
{
	const struct win_ticket	*t, *u;
	struct tc		*v;
	uint64_t		 bkey = 0;
	uint32_t		 i, j, nv = 0, idx, bidx = 0;
	int32_t			 day, bday = 0;
	unsigned		 n, bn = 0;

	*team = *category = 0;
	if (!clamp(w, &from, &to))
		return 0;
	if ((v = malloc(((size_t)w->ntickets + 1) * sizeof(*v))) != NULL) {
		for (i = 0; i < w->ntickets; i++) {
			t = &w->tickets[i];
			if (!tc_counts(t, from, to))
				continue;
			v[nv].key = (uint64_t)t->team << 32 | t->category;
			v[nv].day = t->day;
			v[nv].idx = i;
			nv++;
		}
		qsort(v, nv, sizeof(*v), tc_cmp);
		for (i = 0; i < nv; i = j) {
			n = 0;
			day = v[i].day;
			idx = v[i].idx;
			for (j = i; j < nv && v[j].key == v[i].key; j++) {
				n++;
				if (v[j].day > day)
					day = v[j].day;
				if (v[j].idx > idx)
					idx = v[j].idx;
			}
			if (tc_better(n, day, idx, bn, bday, bidx)) {
				bn = n, bday = day, bidx = idx;
				bkey = v[i].key;
			}
		}
		free(v);
	} else {
		for (i = 0; i < w->ntickets; i++) {
			t = &w->tickets[i];
			if (!tc_counts(t, from, to))
				continue;
			n = 0;
			day = t->day;
			idx = i;
			for (j = 0; j < w->ntickets; j++) {
				u = &w->tickets[j];
				if (!tc_counts(u, from, to) ||
				    u->team != t->team ||
				    u->category != t->category)
					continue;
				n++;
				if (u->day > day)
					day = u->day;
				if (j > idx)
					idx = j;
			}
			if (tc_better(n, day, idx, bn, bday, bidx)) {
				bn = n, bday = day, bidx = idx;
				bkey = (uint64_t)t->team << 32 | t->category;
			}
		}
	}
	if (bn > 0) {
		*team = (uint32_t)(bkey >> 32);
		*category = (uint32_t)bkey;
	}
	return bn;
}

int32_t
window_intent_ticket(const struct window *w, int32_t from, int32_t to)
{
	int32_t		best = 0;
	uint32_t	i;

	if (!clamp(w, &from, &to))
		return 0;
	for (i = 0; i < w->ntickets; i++)
		if (w->tickets[i].intent && w->tickets[i].day >= from &&
		    w->tickets[i].day <= to && w->tickets[i].day > best)
			best = w->tickets[i].day;
	return best;
}

unsigned
window_competitors(const struct window *w, int32_t from, int32_t to,
    unsigned *bykind)
{
	unsigned	n = 0;
	uint32_t	i;

	if (bykind != NULL)
		memset(bykind, 0, WCK__COUNT * sizeof(*bykind));
	if (!clamp(w, &from, &to))
		return 0;
	for (i = 0; i < w->ncompetitors; i++) {
		if (w->competitors[i].day < from || w->competitors[i].day > to)
			continue;
		n++;
		if (bykind != NULL && w->competitors[i].kind < WCK__COUNT)
			bykind[w->competitors[i].kind]++;
	}
	return n;
}

const struct win_contact *
window_contact(const struct window *w, uint32_t contact)
{
	return contact == 0 ? NULL : find_contact(w, contact);
}

static int
turnover_record(const struct win_contact_event *e, int32_t from, int32_t to)
{
	return e->day >= from && e->day <= to && (e->kind == WC_LEFT ||
	    (e->kind == WC_CHANGED && e->title_changed));
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sorted by contact, then "left" last: one pass counts the contacts and,
 * from each run's last key, whether any of its records is a leaving.
 * Without memory, the quadratic scan it replaced (same answers).
 */
unsigned
window_contact_turnover(const struct window *w, int32_t from, int32_t to,
    unsigned *left)
{
	const struct win_contact_event	*e, *f;
	uint64_t			*v;
	uint32_t			 i, j, m = 0;
	unsigned			 n = 0;

	*left = 0;
	for (i = 0; i < w->ncevents; i++)
		m += turnover_record(&w->cevents[i], from, to);
	if (m == 0)
		return 0;
	if ((v = malloc((size_t)m * sizeof(*v))) != NULL) {
		for (i = j = 0; i < w->ncevents; i++) {
			e = &w->cevents[i];
			if (turnover_record(e, from, to))
				v[j++] = (uint64_t)e->contact << 1 |
				    (e->kind == WC_LEFT);
		}
		qsort(v, m, sizeof(*v), u64_cmp);
		for (i = 0; i < m; i++) {
			if (i + 1 < m && v[i + 1] >> 1 == v[i] >> 1)
				continue;	/* not the run's last */
			n++;
			*left += (unsigned)(v[i] & 1);
		}
		free(v);
		return n;
	}
	for (i = 0; i < w->ncevents; i++) {
		e = &w->cevents[i];
		if (!turnover_record(e, from, to))
			continue;
		for (j = 0; j < i; j++)
			if (w->cevents[j].contact == e->contact &&
			    turnover_record(&w->cevents[j], from, to))
				break;
		if (j < i)
			continue;
		n++;
		for (j = i; j < w->ncevents; j++) {
			f = &w->cevents[j];
			if (f->contact == e->contact && f->kind == WC_LEFT &&
			    f->day >= from && f->day <= to) {
				(*left)++;
				break;
			}
		}
	}
	return n;
}

/* ---- snapshot support ---- */

int
window_seen_next(const struct window *w, enum win_seen_table which,
    uint32_t *pos, uint64_t *key, int32_t *day)
{
	const struct win_seen	*t;
	uint32_t		 cap;

	t = which == WIN_SEEN_USERS ? w->users : w->features;
	cap = which == WIN_SEEN_USERS ? w->capusers : w->capfeatures;
	for (; *pos < cap; (*pos)++)
		if (t[*pos].key != 0) {
			*key = t[*pos].key;
			*day = t[*pos].day;
			(*pos)++;
			return 1;
		}
	return 0;
}

int
window_seen_load(struct window *w, enum win_seen_table which,
    const uint64_t *key, const int32_t *day, uint32_t n)
{
	struct win_seen	**t, *s;
	uint32_t	 *cnt, *cap, i;

	if (which == WIN_SEEN_USERS) {
		t = &w->users;
		cnt = &w->nusers;
		cap = &w->capusers;
	} else {
		t = &w->features;
		cnt = &w->nfeatures;
		cap = &w->capfeatures;
	}
	if (*cap != 0)
		return -2;
	if (n > UINT32_MAX / 2 - 1)
		return -1;
	if (n == 0)
		return 0;
	/*
	 * At load ~2/3, below seen_prepare()'s 3/4: a restored table holds
	 * its users in 18 bytes each rather than 24, and the first new one
	 * rebuilds it to load 1/2 as a live table would be.
	 */
	if ((*t = calloc((size_t)n + n / 2 + 1, sizeof(**t))) == NULL)
		return -1;
	*cap = n + n / 2 + 1;
	for (i = 0; i < n; i++) {
		if (key[i] == 0)
			goto fail;
		s = seen_slot(*t, *cap, key[i]);
		if (s->key != 0)
			goto fail;	/* given twice */
		s->key = key[i];
		s->day = day[i];
		(*cnt)++;
	}
	return 0;
fail:
	free(*t);
	*t = NULL;
	*cnt = *cap = 0;
	return -2;
}

int
window_contacts_loaded(struct window *w)
{
	uint32_t	i;

	contacts_reindex(w);
	for (i = 0; i < w->ncontacts; i++)
		if (w->contacts[i].contact == 0 ||
		    contact_slot(w, w->contacts[i].contact) != i)
			return -1;
	return 0;
}

size_t
window_bytes(const struct window *w)
{
	return sizeof(*w) +
	    (w->wide != NULL ? (WIN_DAYS + WIN_HOURS) * sizeof(*w->wide) : 0) +
	    (size_t)w->capusers * sizeof(*w->users) +
	    (size_t)w->capfeatures * sizeof(*w->features) +
	    (size_t)w->captouches * sizeof(*w->touches) +
	    (size_t)w->capnotes * sizeof(*w->notes) +
	    (size_t)w->captickets * sizeof(*w->tickets) +
	    (size_t)w->capcevents * sizeof(*w->cevents) +
	    (size_t)w->capcontacts * sizeof(*w->contacts) +
	    (size_t)w->capcindex * sizeof(*w->cindex) +
	    (size_t)w->capcompetitors * sizeof(*w->competitors);
}
