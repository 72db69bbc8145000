/*
 * fuzz_pointer.c -- libFuzzer target for webhook.c's RFC 6901 JSON
 * Pointers.  Input: the pointer, a newline, then a JSON document.
 *
 *  - webhook_pointer_get() agrees with a small reference evaluator
 *    written here from the RFC (a differential check), and an invalid
 *    pointer never finds anything;
 *  - every value in the document is found by the pointer built for it
 *    (keys escaped ~ -> ~0, / -> ~1; array indexes in decimal), also
 *    for keys holding '/', '~' and "~1".
 *
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "log.h"
#include "webhook.h"

#define WALK_MAX	256	/* values checked per document */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	return 0;
}

/* RFC 6901 syntax: "" or "/"-prefixed, '~' only as ~0 or ~1. */
static int
ref_valid(const char *ptr)
{
	const char	*c;

	if (*ptr != '\0' && *ptr != '/')
		return 0;
	for (c = ptr; *c != '\0'; c++)
		if (*c == '~' && c[1] != '0' && c[1] != '1')
			return 0;
	return 1;
}

/* The RFC, read plainly: NULL when invalid or pointing at nothing. */
static json_t *
ref_get(json_t *doc, const char *ptr)
{
	const char	*c;
	char		*tok, *t;
	size_t		 idx, n;
	int		 ok = 1;

	if (*ptr == '\0')
		return doc;
	if (*ptr != '/')
		return NULL;
	if ((tok = malloc(strlen(ptr) + 1)) == NULL)
		abort();
	for (c = ptr; ok && doc != NULL && *c == '/'; ) {
		for (c++, t = tok; *c != '\0' && *c != '/'; c++) {
			if (*c != '~')
				*t++ = *c;
			else if (c[1] == '0' || c[1] == '1')
				*t++ = *++c == '0' ? '~' : '/';
			else
				ok = 0;
		}
		*t = '\0';
		if (!ok)
			break;
		if (json_is_object(doc))
			doc = json_object_get(doc, tok);
		else if (json_is_array(doc)) {
			/* 0, or digits not starting with 0 */
			n = strlen(tok);
			if (n == 0 || n > 18 || strspn(tok, "0123456789") != n ||
			    (tok[0] == '0' && n > 1))
				doc = NULL;
			else {
				idx = (size_t)strtoull(tok, NULL, 10);
				doc = json_array_get(doc, idx);
			}
		} else
			doc = NULL;
	}
	free(tok);
	/* The rest of the pointer must be valid even past a miss. */
	return ok && ref_valid(ptr) ? doc : NULL;
}

struct walk {
	json_t	*doc;
	char	*buf;
	size_t	 len, cap;
	size_t	 seen;
};

static void
push(struct walk *w, const char *s, size_t n)
{
	char	*p;

	if (w->len + n + 1 > w->cap) {
		w->cap = (w->len + n + 1) * 2;
		if ((p = realloc(w->buf, w->cap)) == NULL)
			abort();
		w->buf = p;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* Every value under v (at pointer w->buf) is found by its pointer. */
static void
walk(struct walk *w, json_t *v)
{
	const char	*k, *c;
	char		 num[24];
	json_t		*e;
	size_t		 i, len = w->len;

	if (w->seen++ >= WALK_MAX)
		return;
	if (webhook_pointer_get(w->doc, w->buf) != v)
		abort();
	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			push(w, "/", 1);
			for (c = k; *c != '\0'; c++)
				if (*c == '~')
					push(w, "~0", 2);
				else if (*c == '/')
					push(w, "~1", 2);
				else
					push(w, c, 1);
			walk(w, e);
			w->len = len;
			w->buf[len] = '\0';
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			push(w, num, (size_t)snprintf(num, sizeof(num), "/%zu",
			    i));
			walk(w, e);
			w->len = len;
			w->buf[len] = '\0';
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*nl;
	struct walk	 w;
	json_error_t	 je;
	json_t		*doc, *got;
	char		*ptr;
	size_t		 plen;

	nl = memchr(data, '\n', size);
	plen = nl != NULL ? (size_t)(nl - data) : size;
	ptr = fuzz_strndup(data, plen);
	if (strlen(ptr) != plen) {	/* a NUL: not a C string */
		free(ptr);
		return 0;
	}
	if (nl == NULL)
		doc = json_object();
	else
		doc = json_loadb((const char *)nl + 1, size - plen - 1,
		    JSON_DECODE_ANY, &je);
	if (doc == NULL) {
		free(ptr);
		return 0;
	}
	got = webhook_pointer_get(doc, ptr);
	if (got != ref_get(doc, ptr))
		abort();
	if (!webhook_pointer_valid(ptr) && got != NULL)
		abort();
	if (webhook_pointer_valid(ptr) != ref_valid(ptr))
		abort();
	memset(&w, 0, sizeof(w));
	w.doc = doc;
	push(&w, "", 0);
	walk(&w, doc);
	free(w.buf);
	json_decref(doc);
	free(ptr);
	return 0;
}
