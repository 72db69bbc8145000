/*
 * portfolio.c -- portfolio trends (see portfolio.h).
 *
 * A pass keeps one entry per key in keys[] (its members growing as
 * accounts are added) and an open-addressing index from the 64-bit key
 * (kind << 32 | value) to keys[i] + 1.  Adding an account collects its
 * (key, sub) pairs in a scratch array -- sub is the note's position for
 * notes (each note counts) and the ticket hash for tickets (a ticket
 * counts once) -- sorts them and appends one member per key.  Nothing of
 * a pass is freed until the next begin: arrays are cleared and reused, so
 * a steady sweep allocates nothing.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "portfolio.h"
#include "window.h"

#define NELEM(t)	(sizeof(t) / sizeof((t)[0]))

static const char *const kind_names[] = {
	[PF_VOICE_RISK] = "voice_risk",
	[PF_TICKET_CATEGORY] = "ticket_category",
};

_Static_assert(NELEM(kind_names) == PF__COUNT, "one name per kind");

struct pf_pair {
	uint64_t	 key;
	uint64_t	 sub;
};

struct pf_key {
	struct portfolio_trend	 t;
	size_t			 cap;
	uint64_t		 key;
};

struct portfolio {
	int32_t			 from, to;	/* the day range */
	struct pf_key		*keys;
	size_t			 nkeys, capkeys;
	uint32_t		*index;		/* keys[i] + 1; 0 empty */
	size_t			 capindex;	/* a power of two, or 0 */
	struct pf_pair		*scratch;
	size_t			 capscratch;
	struct portfolio_trend	*result;
	size_t			 capresult;
	int			 sorted;	/* members sorted this pass */
};

const char *
portfolio_kind_name(enum portfolio_kind k)
{
	return (unsigned)k < NELEM(kind_names) ? kind_names[k] : NULL;
}

int
portfolio_kind_parse(const char *key)
{
	size_t i, n;

	if (key == NULL)
		return -1;
	n = strcspn(key, ":");
	if (key[n] != ':')
		return -1;
	for (i = 0; i < NELEM(kind_names); i++)
		if (strlen(kind_names[i]) == n &&
		    strncmp(kind_names[i], key, n) == 0)
			return (int)i;
	return -1;
}

char *
portfolio_key_name(enum portfolio_kind k, uint32_t value, char *out,
    size_t outlen)
{
	const char *kn = portfolio_kind_name(k);

	if (outlen > 0)
		(void)snprintf(out, outlen, "%s:%s", kn != NULL ? kn : "",
		    intern_str(value));
	return out;
}

struct portfolio *
portfolio_new(void)
{
	return calloc(1, sizeof(struct portfolio));
}

void
portfolio_free(struct portfolio *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->capkeys; i++)
		free(p->keys[i].t.members);
	free(p->keys);
	free(p->index);
	free(p->scratch);
	free(p->result);
	free(p);
}

void
portfolio_begin(struct portfolio *p, int32_t today, unsigned days)
{
	size_t i;

	if (days < 1)
		days = 1;
	p->to = today;
	p->from = today - (int32_t)days + 1;
	/* Keep the member arrays (their capacity) for the next pass. */
	for (i = 0; i < p->nkeys; i++)
		p->keys[i].t.nmembers = 0;
	p->nkeys = 0;
	if (p->index != NULL)
		memset(p->index, 0, p->capindex * sizeof(*p->index));
	p->sorted = 0;
}

static size_t
slot_of(uint64_t key, size_t cap)
{
	/* 64-bit mix (splitmix64's finaliser): kind and value both count. */
	key ^= key >> 30;
	key *= UINT64_C(0xbf58476d1ce4e5b9);
	key ^= key >> 27;
	key *= UINT64_C(0x94d049bb133111eb);
	key ^= key >> 31;
	return (size_t)key & (cap - 1);
}

static int
index_grow(struct portfolio *p)
{
	size_t cap = p->capindex ? p->capindex * 2 : 64, i, s;
	uint32_t *ix;

	if ((ix = calloc(cap, sizeof(*ix))) == NULL)
		return -1;
	for (i = 0; i < p->nkeys; i++) {
		for (s = slot_of(p->keys[i].key, cap); ix[s] != 0;
		    s = (s + 1) & (cap - 1))
			;
		ix[s] = (uint32_t)i + 1;
	}
	free(p->index);
	p->index = ix;
	p->capindex = cap;
	return 0;
}

/* The entry of key, added if new; NULL when memory runs out. */
static struct pf_key *
key_get(struct portfolio *p, uint64_t key)
{
	struct pf_key *k;
	size_t s, cap;

	if ((p->nkeys + 1) * 2 > p->capindex && index_grow(p) == -1)
		return NULL;
	for (s = slot_of(key, p->capindex); p->index[s] != 0;
	    s = (s + 1) & (p->capindex - 1))
		if (p->keys[p->index[s] - 1].key == key)
			return &p->keys[p->index[s] - 1];
	if (p->nkeys == p->capkeys) {
		cap = p->capkeys ? p->capkeys * 2 : 16;
		if ((k = realloc(p->keys, cap * sizeof(*k))) == NULL)
			return NULL;
		memset(k + p->capkeys, 0, (cap - p->capkeys) * sizeof(*k));
		p->keys = k;
		p->capkeys = cap;
	}
	k = &p->keys[p->nkeys];
	k->key = key;
	k->t.kind = (enum portfolio_kind)(key >> 32);
	k->t.value = (uint32_t)key;
	k->t.nmembers = 0;
	k->t.settling = 0;
	p->index[s] = (uint32_t)++p->nkeys;
	return k;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct pf_pair *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	return 0;
}

static int
scratch_push(struct portfolio *p, size_t *n, uint64_t key, uint64_t sub)
{
	struct pf_pair *q;
	size_t cap;

	if (*n == p->capscratch) {
		cap = p->capscratch ? p->capscratch * 2 : 256;
		if ((q = realloc(p->scratch, cap * sizeof(*q))) == NULL)
			return -1;
		p->scratch = q;
		p->capscratch = cap;
	}
	p->scratch[(*n)++] = (struct pf_pair){ key, sub };
	return 0;
}

int
portfolio_add(struct portfolio *p, const char *account_id,
    const struct window *w, int settling)
{
	struct portfolio_member *m;
	struct pf_key *k;
	size_t n = 0, i, j, cap;
	unsigned count;
	uint32_t r;

	for (r = 0; r < w->nnotes; r++)
		if (w->notes[r].cls != 0 && w->notes[r].day >= p->from &&
		    w->notes[r].day <= p->to && scratch_push(p, &n,
		    (uint64_t)PF_VOICE_RISK << 32 | w->notes[r].cls, r) == -1)
			return -1;
	for (r = 0; r < w->ntickets; r++)
		if (w->tickets[r].category != 0 &&
		    w->tickets[r].day >= p->from &&
		    w->tickets[r].day <= p->to && scratch_push(p, &n,
		    (uint64_t)PF_TICKET_CATEGORY << 32 |
		    w->tickets[r].category, w->tickets[r].ticket) == -1)
			return -1;
	if (n == 0)
		return 0;
	qsort(p->scratch, n, sizeof(*p->scratch), pair_cmp);
	for (i = 0; i < n; i = j) {
		count = 1;
		for (j = i + 1; j < n && p->scratch[j].key == p->scratch[i].key;
		    j++)
			if (p->scratch[j].sub != p->scratch[j - 1].sub)
				count++;
		if ((k = key_get(p, p->scratch[i].key)) == NULL)
			return -1;
		if (k->t.nmembers == k->cap) {
			cap = k->cap ? k->cap * 2 : 8;
			if ((m = realloc(k->t.members, cap * sizeof(*m))) ==
			    NULL)
				return -1;
			k->t.members = m;
			k->cap = cap;
		}
		k->t.members[k->t.nmembers++] =
		    (struct portfolio_member){ account_id, count };
		if (settling)
			k->t.settling = 1;
	}
	p->sorted = 0;
	return 0;
}

static int
member_cmp(const void *a, const void *b)
{
	const struct portfolio_member *x = a, *y = b;

	return strcmp(x->account_id, y->account_id);
}

static int
trend_cmp(const void *a, const void *b)
{
	const struct portfolio_trend *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(intern_str(x->value), intern_str(y->value));
}

size_t
portfolio_trends(struct portfolio *p, unsigned min_accounts,
    const struct portfolio_trend **out)
{
	struct portfolio_trend *q;
	size_t i, n = 0;

	*out = NULL;
	if (min_accounts < 1)
		min_accounts = 1;
	if (!p->sorted) {
		for (i = 0; i < p->nkeys; i++)
			if (p->keys[i].t.nmembers > 1)
				qsort(p->keys[i].t.members,
				    p->keys[i].t.nmembers,
				    sizeof(*p->keys[i].t.members), member_cmp);
		p->sorted = 1;
	}
	if (p->nkeys > p->capresult) {
		if ((q = realloc(p->result, p->nkeys * sizeof(*q))) == NULL)
			return 0;
		p->result = q;
		p->capresult = p->nkeys;
	}
	for (i = 0; i < p->nkeys; i++)
		if (p->keys[i].t.nmembers >= min_accounts)
			p->result[n++] = p->keys[i].t;
	if (n > 1)
		qsort(p->result, n, sizeof(*p->result), trend_cmp);
	*out = p->result;
	return n;
}
