/*
 * skiplist.h -- an ordered set of pointers (a skip list, p = 1/4): insert,
 * remove and seek in O(log n) expected, walk in order in O(1) a step.
 * Pure; the caller's items are never freed or copied, only ordered by
 * the comparison given at skiplist_new().
 *
 * A node is the item's place in one list: skiplist_insert() returns it,
 * and the caller keeps it to remove the item or to put it back after its
 * key changed (remove with the old key, change the key, reinsert the
 * same node: no allocation).  Levels come from the list's own generator,
 * not from the items, so no choice of keys can unbalance it.
 */
#ifndef CW_SKIPLIST_H
#define CW_SKIPLIST_H

#include <stddef.h>

struct skiplist;
struct skiplist_node;

/* cmp orders items (< 0, 0, > 0); no two items in a list compare 0. */
struct skiplist	*skiplist_new(int (*cmp)(const void *, const void *));
/* Frees the list and its nodes, not the items; NULL is a no-op. */
void		 skiplist_free(struct skiplist *);
size_t		 skiplist_count(const struct skiplist *);

/* Add item; its node, or NULL when out of memory (nothing changed). */
struct skiplist_node *skiplist_insert(struct skiplist *, void *item);

/*
 * Where the last insert through it went: items inserted in order through
 * one finger (zeroed to start) cost O(1) each.  Any order stays correct.
 * Valid only while nothing else changes the list.
 */
#define SKIPLIST_FINGER_LEVELS	24
struct skiplist_finger {
	const void		*last;
	struct skiplist_node	*before[SKIPLIST_FINGER_LEVELS];
};
struct skiplist_node *skiplist_insert_near(struct skiplist *, void *item,
		    struct skiplist_finger *);
/*
 * Unlink node (its item must still compare as when it was inserted);
 * the node stays the caller's for skiplist_reinsert() or
 * skiplist_node_free().
 */
void		 skiplist_remove(struct skiplist *, struct skiplist_node *);
/* Link an unlinked node again, ordered by its item's key now. */
void		 skiplist_reinsert(struct skiplist *, struct skiplist_node *);
void		 skiplist_node_free(struct skiplist_node *);

/* The first node, or the first whose item orders after key (an item
 * compared with cmp, need not be in the list); NULL when none. */
struct skiplist_node *skiplist_first(const struct skiplist *);
struct skiplist_node *skiplist_after(const struct skiplist *,
		    const void *key);
struct skiplist_node *skiplist_next(const struct skiplist_node *);
void		*skiplist_item(const struct skiplist_node *);

#endif
