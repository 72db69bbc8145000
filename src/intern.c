/*
 * intern.c -- the process-wide string table behind 32-bit string ids.
 *
 * An open-addressing hash table (linear probing, load <= 1/2) maps a
 * string to its id; ids index an array of entries, id 1 first.  The bytes
 * live in chunks that never move, so a pointer from intern_str() stays
 * valid until intern_purge().  Pure: no I/O, no logging; allocation
 * failure returns id 0.
 *
 * Not here: who interns what (window.c), thread safety (one thread).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "util.h"

#define CHUNK_SIZE	(64 * 1024)	/* bytes per string chunk */
#define MIN_SLOTS	256

struct chunk {
	struct chunk	*next;
	size_t		 used;
	size_t		 size;
	char		 data[];
};

struct entry {
	const char	*s;
	uint32_t	 len;
	uint32_t	 hash;
};

static struct {
	struct entry	*ent;		/* ent[id - 1] */
	uint32_t	 nent, capent;
	uint32_t	*slot;		/* id, 0 = empty */
	uint32_t	 capslot;	/* power of two */
	struct chunk	*chunks;	/* newest first */
	size_t		 chunkbytes;
	size_t		 strbytes;	/* sum of len + 1 */
} it;

/* Names come from clients: the keyed hash, so none can flood a chain. */
static uint32_t
hash_bytes(const char *s, size_t len)
{
	return (uint32_t)util_hash(s, len);
}

/* The slot holding s, or the empty slot where it would go. */
static uint32_t *
find_slot(const char *s, size_t len, uint32_t h)
{
	uint32_t	 mask = it.capslot - 1, i;
	struct entry	*e;

	for (i = h & mask;; i = (i + 1) & mask) {
		if (it.slot[i] == 0)
			return &it.slot[i];
		e = &it.ent[it.slot[i] - 1];
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
			return &it.slot[i];
	}
}

static int
grow_slots(void)
{
	uint32_t	*old = it.slot, oldcap = it.capslot, cap, mask, i, j;

	cap = oldcap == 0 ? MIN_SLOTS : oldcap * 2;
	if (cap < oldcap || (it.slot = calloc(cap, sizeof(*it.slot))) ==
	    NULL) {
		it.slot = old;
		return -1;
	}
	it.capslot = cap;
	mask = cap - 1;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == 0)
			continue;
		for (j = it.ent[old[i] - 1].hash & mask; it.slot[j] != 0;
		    j = (j + 1) & mask)
			;
		it.slot[j] = old[i];
	}
	free(old);
	return 0;
}

/* Room for len + 1 bytes that will never move. */
static char *
chunk_alloc(size_t len)
{
	struct chunk	*c = it.chunks;
	size_t		 size;
	char		*p;

	if (c == NULL || c->size - c->used < len + 1) {
		size = len + 1 > CHUNK_SIZE / 4 ? len + 1 : CHUNK_SIZE;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		/*
		 * A big string gets a chunk of its own, behind the current
		 * one, so the current one's free space is not wasted.
		 */
		if (size != CHUNK_SIZE && it.chunks != NULL) {
			c->next = it.chunks->next;
			it.chunks->next = c;
		} else {
			c->next = it.chunks;
			it.chunks = c;
		}
		it.chunkbytes += sizeof(*c) + size;
	}
	p = c->data + c->used;
	c->used += len + 1;
	return p;
}

uint32_t
intern(const char *s, size_t len)
{
	struct entry	*e;
	uint32_t	*slot, h, cap;
	char		*p;

	if (s == NULL)
		s = "", len = 0;
	if (len > UINT32_MAX - 1)
		return 0;
	if (it.capslot == 0 && grow_slots() == -1)
		return 0;
	h = hash_bytes(s, len);
	slot = find_slot(s, len, h);
	if (*slot != 0)
		return *slot;

	if (it.nent == UINT32_MAX - 1)
		return 0;
	if (it.nent == it.capent) {
		cap = it.capent == 0 ? 64 : it.capent * 2;
		if (cap < it.capent)
			cap = UINT32_MAX - 1;
		if ((e = realloc(it.ent, (size_t)cap * sizeof(*e))) == NULL)
			return 0;
		it.ent = e;
		it.capent = cap;
	}
	/* Keep the load at 1/2 or less. */
	if ((it.nent + 1) * 2 > it.capslot) {
		if (grow_slots() == -1)
			return 0;
		slot = find_slot(s, len, h);
	}
	if ((p = chunk_alloc(len)) == NULL)
		return 0;
	memcpy(p, s, len);
	p[len] = '\0';
	e = &it.ent[it.nent++];
	e->s = p;
	e->len = (uint32_t)len;
	e->hash = h;
	*slot = it.nent;
	it.strbytes += len + 1;
	return it.nent;
}

uint32_t
intern_find(const char *s, size_t len)
{
	if (s == NULL)
		s = "", len = 0;
	if (it.capslot == 0 || len > UINT32_MAX - 1)
		return 0;
	return *find_slot(s, len, hash_bytes(s, len));
}

const char *
intern_str(uint32_t id)
{
	if (id == 0 || id > it.nent)
		return "";
	return it.ent[id - 1].s;
}

size_t
intern_count(void)
{
	return it.nent;
}

size_t
intern_bytes(void)
{
	return it.chunkbytes + (size_t)it.capent * sizeof(*it.ent) +
	    (size_t)it.capslot * sizeof(*it.slot);
}

size_t
intern_str_bytes(void)
{
	return it.strbytes;
}

void
intern_purge(void)
{
	struct chunk	*c, *next;

	for (c = it.chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(it.ent);
	free(it.slot);
	memset(&it, 0, sizeof(it));
}
