/*
 * skiplist.c -- an ordered set of pointers (see skiplist.h).
 *
 * William Pugh's skip list: a node of level k is linked in the lists
 * 0..k-1; level k with probability (1/4)^(k-1), from a xorshift64
 * generator of the list's own, so the expected cost of a search is
 * O(log n) whatever the keys, and a node costs 1.33 links on average.
 *
 * Not here: what is ordered and by what (the callers' cmp).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skiplist.h"

#define SKIPLIST_LEVELS	24	/* enough for 4^23 items */

struct skiplist_node {
	void			*item;
	unsigned		 level;
	struct skiplist_node	*next[];
};

struct skiplist {
	int			(*cmp)(const void *, const void *);
	size_t			 count;
	unsigned		 level;		/* highest in use, >= 1 */
	uint64_t		 rng;
	struct skiplist_node	*head;		/* SKIPLIST_LEVELS links */
};

struct skiplist *
skiplist_new(int (*cmp)(const void *, const void *))
{
	struct skiplist	*sl;

	if ((sl = calloc(1, sizeof(*sl))) == NULL)
		return NULL;
	if ((sl->head = calloc(1, sizeof(*sl->head) + SKIPLIST_LEVELS *
	    sizeof(sl->head->next[0]))) == NULL) {
		free(sl);
		return NULL;
	}
	sl->head->level = SKIPLIST_LEVELS;
	sl->cmp = cmp;
	sl->level = 1;
	sl->rng = UINT64_C(0x9e3779b97f4a7c15);
	return sl;
}

void
skiplist_free(struct skiplist *sl)
{
	struct skiplist_node	*n, *next;

	if (sl == NULL)
		return;
	for (n = sl->head->next[0]; n != NULL; n = next) {
		next = n->next[0];
		free(n);
	}
	free(sl->head);
	free(sl);
}

size_t
skiplist_count(const struct skiplist *sl)
{
	return sl->count;
}

static unsigned
random_level(struct skiplist *sl)
{
	uint64_t	x = sl->rng;
	unsigned	level = 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	sl->rng = x;
	/* Two bits a level: each further level with probability 1/4. */
	while (level < SKIPLIST_LEVELS && (x & 3) == 0) {
		level++;
		x >>= 2;
	}
	return level;
}

/*
 * For each level, the last node before item (the head if none): where
 * item is, or would be, linked.
 */
static void
find_before(const struct skiplist *sl, const void *item,
    struct skiplist_node *before[SKIPLIST_LEVELS])
{
	struct skiplist_node	*x = sl->head;
	unsigned		 i;

	for (i = SKIPLIST_LEVELS; i-- > 0;) {
		if (i < sl->level)
			while (x->next[i] != NULL &&
			    sl->cmp(x->next[i]->item, item) < 0)
				x = x->next[i];
		before[i] = x;
	}
}

void
skiplist_reinsert(struct skiplist *sl, struct skiplist_node *n)
{
	struct skiplist_node	*before[SKIPLIST_LEVELS];
	unsigned		 i;

	find_before(sl, n->item, before);
	if (n->level > sl->level)
		sl->level = n->level;
	for (i = 0; i < n->level; i++) {
		n->next[i] = before[i]->next[i];
		before[i]->next[i] = n;
	}
	sl->count++;
}

struct skiplist_node *
skiplist_insert(struct skiplist *sl, void *item)
{
	struct skiplist_node	*n;
	unsigned		 level = random_level(sl);

	if ((n = malloc(sizeof(*n) + level * sizeof(n->next[0]))) == NULL)
		return NULL;
	n->item = item;
	n->level = level;
	skiplist_reinsert(sl, n);
	return n;
}

/*
 * Insert item near the last one the finger inserted: each level's walk
 * starts where that insert's did, so items given in order cost O(1)
 * each, not O(log n) searches over the whole list.  An item before the
 * finger's is found from the head.
 */
struct skiplist_node *
skiplist_insert_near(struct skiplist *sl, void *item,
    struct skiplist_finger *f)
{
	struct skiplist_node	*n, *x;
	unsigned		 i, level = random_level(sl);

	if ((n = malloc(sizeof(*n) + level * sizeof(n->next[0]))) == NULL)
		return NULL;
	n->item = item;
	n->level = level;
	if (f->last == NULL || sl->cmp(item, f->last) < 0)
		for (i = 0; i < SKIPLIST_LEVELS; i++)
			f->before[i] = sl->head;
	if (level > sl->level)
		sl->level = level;
	x = sl->head;
	for (i = SKIPLIST_LEVELS; i-- > 0;) {
		if (f->before[i] != sl->head &&
		    (x == sl->head || sl->cmp(f->before[i]->item,
		    x->item) > 0))
			x = f->before[i];
		if (i < sl->level)
			while (x->next[i] != NULL &&
			    sl->cmp(x->next[i]->item, item) < 0)
				x = x->next[i];
		f->before[i] = x;
	}
	for (i = 0; i < level; i++) {
		n->next[i] = f->before[i]->next[i];
		f->before[i]->next[i] = n;
	}
	sl->count++;
	f->last = item;
	return n;
}

void
skiplist_remove(struct skiplist *sl, struct skiplist_node *n)
{
	struct skiplist_node	*before[SKIPLIST_LEVELS];
	unsigned		 i;

	find_before(sl, n->item, before);
	for (i = 0; i < n->level; i++)
		if (before[i]->next[i] == n)
			before[i]->next[i] = n->next[i];
	while (sl->level > 1 && sl->head->next[sl->level - 1] == NULL)
		sl->level--;
	sl->count--;
}

void
skiplist_node_free(struct skiplist_node *n)
{
	free(n);
}

struct skiplist_node *
skiplist_first(const struct skiplist *sl)
{
	return sl->head->next[0];
}

struct skiplist_node *
skiplist_after(const struct skiplist *sl, const void *key)
{
	struct skiplist_node	*x = sl->head;
	unsigned		 i;

	for (i = sl->level; i-- > 0;)
		while (x->next[i] != NULL && sl->cmp(x->next[i]->item,
		    key) <= 0)
			x = x->next[i];
	return x->next[0];
}

struct skiplist_node *
skiplist_next(const struct skiplist_node *n)
{
	return n->next[0];
}

void *
skiplist_item(const struct skiplist_node *n)
{
	return n->item;
}
