/*
 * account.c -- the account table, account metadata and per-account
 * evaluation state (pure: no I/O, the caller passes the time).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "skiplist.h"
#include "event.h"
#include "intern.h"
#include "util.h"

#define META_STR_MAX	256
#define META_FEATURES_MAX 64

enum meta_kind { META_STRING, META_COUNT, META_TIME, META_STRINGS };

static const struct meta_field {
	const char	*key;
	enum meta_kind	 kind;
} meta_fields[] = {
	{ "name",		META_STRING },
	{ "plan",		META_STRING },
	{ "segment",		META_STRING },
	{ "owner",		META_STRING },
	{ "slack_channel",	META_STRING },
	{ "seats",		META_COUNT },
	{ "onboarded_at",	META_TIME },
	{ "renewal_at",		META_TIME },
	{ "core_features",	META_STRINGS },
};

/* err = code, "<key> <what>" */
static void
seterr(struct cw_error *err, const char *code, const char *key,
    const char *what)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "%.60s %s", key, what);
}

int
account_id_valid(const char *id, struct cw_error *err)
{
	size_t len = strlen(id);

	if (len == 0 || len > CW_ACCOUNT_MAX || util_has_control(id, len)) {
		err->code = "invalid_account_id";
		snprintf(err->msg, sizeof(err->msg),
		    "account id must be 1 to %d bytes without control "
		    "characters", CW_ACCOUNT_MAX);
		return -1;
	}
	return 0;
}

static const struct meta_field *
meta_find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++)
		if (strcmp(meta_fields[i].key, key) == 0)
			return &meta_fields[i];
	return NULL;
}

/* Check one value; may replace it in obj (normalised time). */
static int
meta_check(json_t *obj, const char *key, json_t *v,
    const struct meta_field *f, struct cw_error *err)
{
	char tbuf[CW_RFC3339_LEN];
	const char *s;
	int64_t us;
	size_t i;
	json_t *x;

	if (json_is_null(v))
		return 0;
	switch (f->kind) {
	case META_STRING:
		if (!json_is_string(v) || json_string_length(v) > META_STR_MAX ||
		    util_has_control(json_string_value(v),
		    json_string_length(v))) {
			seterr(err, "invalid_field", key, "must be a string of "
			    "at most 256 bytes, or null");
			return -1;
		}
		return 0;
	case META_COUNT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 100000000) {
			seterr(err, "invalid_field", key, "must be a whole "
			    "number from 0 to 100000000, or null");
			return -1;
		}
		return 0;
	case META_TIME:
		if (!json_is_string(v) || (s = json_string_value(v),
		    util_parse_rfc3339(s, strlen(s), &us) == -1)) {
			seterr(err, "invalid_field", key, "must be an RFC 3339 "
			    "date-time, or null");
			return -1;
		}
		util_format_rfc3339(us, tbuf, sizeof(tbuf));
		json_object_set_new(obj, key, json_string(tbuf));
		return 0;
	case META_STRINGS:
		if (!json_is_array(v) || json_array_size(v) > META_FEATURES_MAX)
			goto bad;
		json_array_foreach(v, i, x)
			if (!json_is_string(x) || json_string_length(x) == 0 ||
			    json_string_length(x) > META_STR_MAX)
				goto bad;
		return 0;
	}
bad:
	seterr(err, "invalid_field", key, "must be an array of at most "
	    "64 non-empty strings, or null");
	return -1;
}

int
account_meta_decode(const char *body, size_t len, char **json,
    struct cw_error *err)
{
	const struct meta_field *f;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	void *tmp;

	*json = NULL;
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL) {
		err->code = "invalid_json";
		snprintf(err->msg, sizeof(err->msg),
		    "body is not valid JSON: %.80s at line %d column %d",
		    jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		err->code = "invalid_json";
		snprintf(err->msg, sizeof(err->msg), "body must be a JSON "
		    "object");
		goto fail;
	}
	json_object_foreach_safe(root, tmp, key, v) {
		if ((f = meta_find(key)) == NULL) {
			err->code = "unknown_field";
			snprintf(err->msg, sizeof(err->msg),
			    "unknown field \"%.40s\"; see the API reference "
			    "for account fields", key);
			goto fail;
		}
		if (meta_check(root, key, v, f, err) == -1)
			goto fail;
	}
	if ((*json = json_dumps(root, JSON_COMPACT)) == NULL) {
		err->code = "internal";
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

/* ---- the table ---- */

/* Account and user ids come from clients: the keyed hash (util.h). */
static uint32_t
id_hash(const char *s)
{
	return (uint32_t)util_hash(s, strlen(s));
}

struct account_table *
account_table_new(void)
{
	struct account_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->nbuckets = 1024;
	if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL ||
	    (t->by_score = skiplist_new(account_rank_cmp)) == NULL ||
	    (t->by_id = skiplist_new(account_id_cmp)) == NULL ||
	    (t->by_renewal = skiplist_new(account_renewal_cmp)) == NULL) {
		skiplist_free(t->by_score);
		skiplist_free(t->by_id);
		free(t->buckets);
		free(t);
		return NULL;
	}
	return t;
}

/* Worst first: score ascending, then id. */
int
account_rank_cmp(const void *x, const void *y)
{
	const struct account *a = x, *b = y;

	if (a->ranked_score != b->ranked_score)
		return a->ranked_score < b->ranked_score ? -1 : 1;
	return strcmp(a->id, b->id);
}

int
account_id_cmp(const void *x, const void *y)
{
	return strcmp(((const struct account *)x)->id,
	    ((const struct account *)y)->id);
}

int
account_renewal_cmp(const void *x, const void *y)
{
	const struct account *a = x, *b = y;
	int64_t ka = a->ranked_renewal != 0 ? a->ranked_renewal : INT64_MAX;
	int64_t kb = b->ranked_renewal != 0 ? b->ranked_renewal : INT64_MAX;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(a->id, b->id);
}

int
account_table_rank(struct account_table *t, struct account *a)
{
	if (!a->evaluated)
		return 0;
	if (a->by_id == NULL &&
	    (a->by_id = skiplist_insert(t->by_id, a)) == NULL)
		return -1;
	if (a->by_renewal == NULL) {
		a->ranked_renewal = a->renewal_at;
		if ((a->by_renewal = skiplist_insert(t->by_renewal,
		    a)) == NULL)
			return -1;
	} else if (a->ranked_renewal != a->renewal_at) {
		skiplist_remove(t->by_renewal, a->by_renewal);
		a->ranked_renewal = a->renewal_at;
		skiplist_reinsert(t->by_renewal, a->by_renewal);
	}
	if (a->by_score == NULL) {
		a->ranked_score = a->score;
		if ((a->by_score = skiplist_insert(t->by_score, a)) == NULL)
			return -1;
		return 0;
	}
	if (a->ranked_score != a->score) {
		/* Out with the old key, in with the new: the same node. */
		skiplist_remove(t->by_score, a->by_score);
		a->ranked_score = a->score;
		skiplist_reinsert(t->by_score, a->by_score);
	}
	return 0;
}

/* By renewal, then by the position in id order: keys only, no pointers
 * chased while sorting. */
struct renewal_key {
	int64_t		key;
	size_t		at;
};

static int
renewal_qcmp(const void *x, const void *y)
{
	const struct renewal_key *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->at < b->at ? -1 : a->at > b->at;
}

/*
 * Rank many accounts at once (start-up): each order is filled by inserts
 * in that order through a finger, so that a million accounts cost a
 * counting sort, one qsort and O(1) inserts, not three searches each.
 * Accounts already ranked, or not evaluated, take the usual way.
 */
int
account_table_rank_all(struct account_table *t, struct account **v, size_t n)
{
	struct skiplist_finger	 f;
	struct renewal_key	*rk = NULL;
	struct account		**w = NULL, *a;
	size_t			 i, k, count[257], at[257];
	int			 rc = 0;

	if (n > 0 && (w = calloc(n, sizeof(*w))) == NULL)
		return -1;
	/* Those that fit: unranked and evaluated, in the order given. */
	for (i = k = 0; i < n; i++) {
		a = v[i];
		if (a->evaluated && a->by_id == NULL && a->by_score == NULL &&
		    a->by_renewal == NULL)
			v[k++] = a;
		else if (account_table_rank(t, a) == -1)
			rc = -1;
	}
	n = k;
	/* By id: in the order given (the loader's is by id). */
	memset(&f, 0, sizeof(f));
	for (i = 0; i < n; i++)
		if ((v[i]->by_id = skiplist_insert_near(t->by_id, v[i],
		    &f)) == NULL)
			rc = -1;
	/* By score, then id: a counting sort keeps each score's order. */
	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i++) {
		v[i]->ranked_score = v[i]->score;
		count[v[i]->ranked_score + 1]++;
	}
	for (i = 1; i < 257; i++)
		count[i] += count[i - 1];
	memcpy(at, count, sizeof(at));
	for (i = 0; i < n; i++)
		w[at[v[i]->ranked_score]++] = v[i];
	memset(&f, 0, sizeof(f));
	for (i = 0; i < n; i++)
		if ((w[i]->by_score = skiplist_insert_near(t->by_score, w[i],
		    &f)) == NULL)
			rc = -1;
	/*
	 * By renewal, then id: sorted as keys, ties by position in v (id
	 * order when v is; were it not, the finger still inserts right).
	 */
	free(w);
	w = NULL;
	if (n > 0 && (rk = calloc(n, sizeof(*rk))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		v[i]->ranked_renewal = v[i]->renewal_at;
		rk[i].key = v[i]->renewal_at != 0 ? v[i]->renewal_at :
		    INT64_MAX;
		rk[i].at = i;
	}
	if (n > 1)
		qsort(rk, n, sizeof(*rk), renewal_qcmp);
	memset(&f, 0, sizeof(f));
	for (i = 0; i < n; i++)
		if ((v[rk[i].at]->by_renewal = skiplist_insert_near(
		    t->by_renewal, v[rk[i].at], &f)) == NULL)
			rc = -1;
	free(rk);
	return rc;
}

static void
account_free(struct account *a)
{
	free(a->meta);
	if (a->ncore > 2)
		free(a->core.p);
	free(a->sigs);
	free(a->alerts);
	window_free(&a->w);
	free(a);
}

struct account_member {
	struct account_member	*next;
	char			*account_id;
	char			 user_id[];
};

void
account_table_free(struct account_table *t)
{
	struct account_member *m, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nmembers_buckets; i++)
		for (m = t->members[i]; m != NULL; m = next) {
			next = m->next;
			free(m->account_id);
			free(m);
		}
	free(t->members);
	skiplist_free(t->by_score);
	skiplist_free(t->by_id);
	skiplist_free(t->by_renewal);
	for (i = 0; i < t->count; i++)
		account_free(t->all[i]);
	free(t->all);
	free(t->buckets);
	free(t);
}

const char *
account_member_find(const struct account_table *t, const char *user_id)
{
	struct account_member *m;

	if (t->nmembers_buckets == 0)
		return NULL;
	for (m = t->members[id_hash(user_id) & (t->nmembers_buckets - 1)];
	    m != NULL; m = m->next)
		if (strcmp(m->user_id, user_id) == 0)
			return m->account_id;
	return NULL;
}

int
account_member_set(struct account_table *t, const char *user_id,
    const char *account_id)
{
	struct account_member *m, **nb, *next;
	size_t h, i, n;
	char *acct;

	if (t->nmembers >= t->nmembers_buckets) {
		n = t->nmembers_buckets ? t->nmembers_buckets * 2 : 1024;
		if ((nb = calloc(n, sizeof(*nb))) == NULL)
			return -1;
		for (i = 0; i < t->nmembers_buckets; i++)
			for (m = t->members[i]; m != NULL; m = next) {
				next = m->next;
				h = id_hash(m->user_id) & (n - 1);
				m->next = nb[h];
				nb[h] = m;
			}
		free(t->members);
		t->members = nb;
		t->nmembers_buckets = n;
	}
	h = id_hash(user_id) & (t->nmembers_buckets - 1);
	for (m = t->members[h]; m != NULL; m = m->next)
		if (strcmp(m->user_id, user_id) == 0) {
			if (strcmp(m->account_id, account_id) == 0)
				return 0;
			if ((acct = strdup(account_id)) == NULL)
				return -1;
			free(m->account_id);
			m->account_id = acct;
			return 0;
		}
	if ((m = malloc(sizeof(*m) + strlen(user_id) + 1)) == NULL ||
	    (m->account_id = strdup(account_id)) == NULL) {
		free(m);
		return -1;
	}
	strcpy(m->user_id, user_id);
	m->next = t->members[h];
	t->members[h] = m;
	t->nmembers++;
	return 0;
}

struct account *
account_find(const struct account_table *t, const char *id)
{
	struct account *a;

	for (a = t->buckets[id_hash(id) & (t->nbuckets - 1)]; a != NULL;
	    a = a->next)
		if (strcmp(a->id, id) == 0)
			return a;
	return NULL;
}

static int
table_grow(struct account_table *t)
{
	struct account **nb, *a;
	size_t n = t->nbuckets * 2, i, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < t->count; i++) {
		a = t->all[i];
		h = id_hash(a->id) & (n - 1);
		a->next = nb[h];
		nb[h] = a;
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
	return 0;
}

int
account_vec_push(struct account ***v, size_t *n, size_t *cap,
    struct account *a)
{
	struct account **q;
	size_t c;

	if (*n == *cap) {
		c = *cap ? *cap * 2 : 1024;
		if ((q = reallocarray(*v, c, sizeof(*q))) == NULL)
			return -1;
		*v = q;
		*cap = c;
	}
	(*v)[(*n)++] = a;
	return 0;
}

uint32_t
account_part(const char *id)
{
	return util_crc32c(0, id, strlen(id)) % ACCOUNT_PARTS;
}

struct account *
account_get(struct account_table *t, const char *id)
{
	struct account *a, **all;
	size_t h, cap, len;
	int i;

	if ((a = account_find(t, id)) != NULL)
		return a;
	if (t->count == t->cap) {
		cap = t->cap ? t->cap * 2 : 1024;
		if ((all = realloc(t->all, cap * sizeof(*all))) == NULL)
			return NULL;
		t->all = all;
		t->cap = cap;
	}
	if (t->count >= t->nbuckets && table_grow(t) == -1)
		return NULL;
	len = strlen(id);
	if ((a = calloc(1, sizeof(*a) + len + 1)) == NULL)
		return NULL;
	a->id = (char *)(a + 1);
	memcpy(a->id, id, len + 1);
	a->seats = -1;
	a->score = 100;
	a->prev_score = 100;
	for (i = 0; i < ACCOUNT_SCORE_DAYS; i++)
		a->scores[i] = ACCOUNT_NO_SCORE;
	window_init(&a->w);
	h = id_hash(id) & (t->nbuckets - 1);
	a->next = t->buckets[h];
	t->buckets[h] = a;
	t->all[t->count++] = a;
	return a;
}

/* ---- metadata ---- */

const uint32_t *
account_core(const struct account *a)
{
	return a->ncore > 2 ? a->core.p : a->core.in;
}

/* a's core features become core[n] (taken over; n <= 255). */
static void
core_store(struct account *a, uint32_t *core, size_t n)
{
	if (a->ncore > 2)
		free(a->core.p);
	a->ncore = (uint8_t)n;
	if (n > 2) {
		a->core.p = core;
		return;
	}
	memset(&a->core, 0, sizeof(a->core));
	if (n > 0)
		memcpy(a->core.in, core, n * sizeof(*core));
	free(core);
}

/* The five metadata strings, in struct account's order. */
static const char *const meta_keys[] = { "name", "plan", "segment",
    "owner", "slack_channel" };
#define META_N	(sizeof(meta_keys) / sizeof(meta_keys[0]))

static char **
meta_field(struct account *a, size_t i)
{
	char **f[META_N] = { &a->name, &a->plan, &a->segment, &a->owner,
	    &a->slack_channel };

	return f[i];
}

/*
 * Set a's metadata strings to src[] (NULL: unset) in one allocation; src
 * may point into the old one.  0, or -1 when out of memory (unchanged).
 */
static int
meta_strings(struct account *a, const char *const src[META_N])
{
	char *meta = NULL, *p;
	size_t i, len = 0;

	for (i = 0; i < META_N; i++)
		if (src[i] != NULL)
			len += strlen(src[i]) + 1;
	if (len > 0 && (meta = malloc(len)) == NULL)
		return -1;
	for (i = 0, p = meta; i < META_N; i++) {
		if (src[i] == NULL) {
			*meta_field(a, i) = NULL;
			continue;
		}
		len = strlen(src[i]) + 1;
		memcpy(p, src[i], len);
		*meta_field(a, i) = p;
		p += len;
	}
	free(a->meta);
	a->meta = meta;
	return 0;
}

static int64_t
meta_time(json_t *v)
{
	const char *s;
	int64_t us;

	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	return util_parse_rfc3339(s, strlen(s), &us) == 0 ? us : 0;
}

int
account_meta_apply(struct account *a, const char *json)
{
	json_error_t jerr;
	json_t *root, *v, *x;
	const char *src[META_N];
	uint32_t *core = NULL;
	size_t i, n;
	int rc = 0;

	if ((root = json_loads(json, 0, &jerr)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	for (i = 0; i < META_N; i++) {
		src[i] = *meta_field(a, i);
		if ((v = json_object_get(root, meta_keys[i])) != NULL)
			src[i] = json_is_string(v) ? json_string_value(v) :
			    NULL;
	}
	rc |= meta_strings(a, src);
	if ((v = json_object_get(root, "seats")) != NULL)
		a->seats = json_is_integer(v) ?
		    (int32_t)json_integer_value(v) : -1;
	if ((v = json_object_get(root, "onboarded_at")) != NULL)
		a->onboarded_at = meta_time(v);
	if ((v = json_object_get(root, "renewal_at")) != NULL)
		a->renewal_at = meta_time(v);
	if ((v = json_object_get(root, "core_features")) != NULL) {
		n = json_is_array(v) ? json_array_size(v) : 0;
		if (n > 255)
			n = 255;
		if (n > 0 && (core = calloc(n, sizeof(*core))) == NULL)
			rc = -1;
		for (i = 0; core != NULL && i < n; i++) {
			x = json_array_get(v, i);
			if (json_is_string(x))
				core[i] = intern(json_string_value(x),
				    json_string_length(x));
		}
		if (rc == 0)
			core_store(a, core, n);
	}
	json_decref(root);
	return rc == 0 ? 0 : -1;
}

int
account_meta_set(struct account *a, const struct account_meta *m)
{
	const char *src[META_N] = { m->name, m->plan, m->segment, m->owner,
	    m->slack_channel };
	uint32_t *core = NULL;
	size_t i, n = m->ncore > 255 ? 255 : m->ncore;

	if (meta_strings(a, src) == -1)
		return -1;
	a->seats = m->seats;
	a->onboarded_at = m->onboarded_at;
	a->renewal_at = m->renewal_at;
	if (n > 0 && (core = calloc(n, sizeof(*core))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		core[i] = intern(m->core[i], m->core_len[i]);
	core_store(a, core, n);
	return 0;
}

/* ---- evaluation ---- */

static void
score_shift(struct account *a, int32_t today)
{
	int32_t gap;
	int i;

	if (a->score_day == 0) {
		a->score_day = today;
		return;
	}
	if (today <= a->score_day)
		return;
	gap = today - a->score_day;
	for (i = ACCOUNT_SCORE_DAYS - 1; i >= 0; i--)
		a->scores[i] = i - gap >= 0 ? a->scores[i - gap] :
		    ACCOUNT_NO_SCORE;
	a->score_day = today;
}

struct alert *
account_alert(struct account *a, int signal)
{
	int i;

	for (i = 0; i < a->nalerts; i++)
		if (a->alerts[i].signal == signal)
			return &a->alerts[i];
	return NULL;
}

struct alert *
account_alert_add(struct account *a, const struct alert *al)
{
	struct alert *n;

	if (a->nalerts == UINT8_MAX)
		return NULL;
	if ((n = realloc(a->alerts, (a->nalerts + 1) * sizeof(*n))) == NULL)
		return NULL;
	a->alerts = n;
	a->alerts[a->nalerts] = *al;
	return &a->alerts[a->nalerts++];
}

void
account_alert_remove(struct account *a, struct alert *al)
{
	size_t i = (size_t)(al - a->alerts);

	if (i >= a->nalerts)
		return;
	a->alerts[i] = a->alerts[--a->nalerts];
	if (a->nalerts == 0) {
		free(a->alerts);
		a->alerts = NULL;
	}
}

static const struct account_sig *
sig_find(const struct account *a, int sig)
{
	uint8_t i;

	for (i = 0; i < a->nsigs; i++)
		if (a->sigs[i].id == sig)
			return &a->sigs[i];
	return NULL;
}

uint32_t
account_since(const struct account *a, int sig)
{
	const struct account_sig *s = sig_find(a, sig);

	return s != NULL && (a->active & (UINT32_C(1) << sig)) ? s->since : 0;
}

unsigned
account_weight(const struct account *a, int sig)
{
	const struct account_sig *s = sig_find(a, sig);

	return s != NULL && (a->active & (UINT32_C(1) << sig)) ? s->weight : 0;
}

unsigned
account_prev_weight(const struct account *a, int sig)
{
	const struct account_sig *s = sig_find(a, sig);

	return s != NULL && (a->prev_active & (UINT32_C(1) << sig)) ?
	    s->prev_weight : 0;
}

int
account_sigs_set(struct account *a, uint32_t active, uint32_t prev_active,
    const uint32_t *since, const uint8_t *weight, const uint8_t *prev_weight)
{
	struct account_sig v[SIG__COUNT], *p;
	uint32_t bit;
	size_t n = 0;
	int i;

	active &= (UINT32_C(1) << SIG__COUNT) - 1;
	prev_active &= (UINT32_C(1) << SIG__COUNT) - 1;
	memset(v, 0, sizeof(v));
	for (i = 0; i < SIG__COUNT; i++) {
		bit = UINT32_C(1) << i;
		if (!((active | prev_active) & bit))
			continue;
		v[n].id = (uint8_t)i;
		if (active & bit) {
			v[n].since = since[i];
			v[n].weight = weight[i];
		}
		if (prev_active & bit)
			v[n].prev_weight = prev_weight[i];
		n++;
	}
	a->active = active;
	a->prev_active = prev_active;
	if (n == a->nsigs && (n == 0 ||
	    memcmp(v, a->sigs, n * sizeof(v[0])) == 0))
		return 0;
	if (n == 0) {
		free(a->sigs);
		a->sigs = NULL;
		a->nsigs = 0;
		return 0;
	}
	if (n != a->nsigs) {
		if ((p = realloc(a->sigs, n * sizeof(*p))) == NULL) {
			free(a->sigs);
			a->sigs = NULL;
			a->nsigs = 0;
			return -1;
		}
		a->sigs = p;
	}
	memcpy(a->sigs, v, n * sizeof(v[0]));
	a->nsigs = (uint8_t)n;
	return 0;
}

size_t
account_prev_items(const struct account *a, struct score_item out[SIG__COUNT])
{
	size_t n = 0;
	int i;

	for (i = 0; i < SIG__COUNT; i++)
		if (a->prev_active & (UINT32_C(1) << i)) {
			out[n].id = (enum sig_id)i;
			out[n++].weight = account_prev_weight(a, i);
		}
	return n;
}

int
account_score_on(const struct account *a, int32_t day)
{
	int32_t i = a->score_day - day;

	if (a->score_day == 0 || i < 0 || i >= ACCOUNT_SCORE_DAYS ||
	    a->scores[i] == ACCOUNT_NO_SCORE)
		return -1;
	return a->scores[i];
}

void
account_score_restore(struct account *a, int32_t day, int score)
{
	int32_t i;

	if (a->score_day == 0 || day > a->score_day)
		score_shift(a, day);
	i = a->score_day - day;
	if (i >= 0 && i < ACCOUNT_SCORE_DAYS && score >= 0 && score <= 100)
		a->scores[i] = (uint8_t)score;
}

void
account_sig_input(const struct account *a, const int32_t *data_since,
    int64_t now, struct sig_account *in)
{
	memset(in, 0, sizeof(*in));
	in->w = &a->w;
	in->today = window_day(now);
	in->now_hour = now / (3600 * CW_USEC_PER_SEC);
	in->seats = a->seats;
	in->onboarded_day = a->onboarded_at != 0 ?
	    window_day(a->onboarded_at) : 0;
	in->core_features = account_core(a);
	in->ncore = a->ncore;
	in->data_since = data_since;
	/* It exists since onboarded_at, else its earliest event. */
	in->exists_day = a->first_day;
	if (in->onboarded_day > 0 && (in->exists_day == 0 ||
	    in->onboarded_day < in->exists_day))
		in->exists_day = in->onboarded_day;
}

int
account_renewal_days(const struct account *a, int64_t window, int64_t now)
{
	int64_t left;

	if (a->renewal_at == 0 || a->renewal_at < now || window <= 0)
		return -1;
	left = a->renewal_at - now;
	if (left > window)
		return -1;
	return (int)((left + CW_USEC_PER_DAY - 1) / CW_USEC_PER_DAY);
}

int
account_evaluate(struct account *a, const struct sig_config *cfg,
    const int32_t *data_since, int64_t now,
    struct sig_result out[SIG__COUNT], int *changed)
{
	struct sig_account in;
	uint32_t active = 0, prev_active = a->prev_active;
	uint32_t secs = (uint32_t)(now / CW_USEC_PER_SEC);
	uint32_t since[SIG__COUNT];
	uint8_t weight[SIG__COUNT], prev_weight[SIG__COUNT];
	int n, i, score = 100;

	account_sig_input(a, data_since, now, &in);
	n = signal_evaluate(cfg, &in, out);
	for (i = 0; i < n; i++) {
		active |= UINT32_C(1) << out[i].id;
		since[out[i].id] = !(a->active & (UINT32_C(1) << out[i].id)) ||
		    !a->evaluated ? secs : account_since(a, out[i].id);
		weight[out[i].id] = (uint8_t)out[i].weight;
	}
	score = score_compute(out, (size_t)n);
	*changed = !a->evaluated || active != a->active || score != a->score;
	if (*changed) {
		/* The previous evaluation's weights become prev_weight. */
		prev_active = a->evaluated ? a->active : 0;
		for (i = 0; i < SIG__COUNT; i++)
			if (prev_active & (UINT32_C(1) << i))
				prev_weight[i] = (uint8_t)account_weight(a, i);
		a->prev_score = a->evaluated ? a->score : 100;
		a->score = (uint8_t)score;
	} else
		for (i = 0; i < SIG__COUNT; i++)
			if (prev_active & (UINT32_C(1) << i))
				prev_weight[i] =
				    (uint8_t)account_prev_weight(a, i);
	/*
	 * Out of memory, since and the weights read 0 until an evaluation
	 * can store them; the active sets and the score are right.
	 */
	(void)account_sigs_set(a, active, prev_active, since, weight,
	    prev_weight);
	a->evaluated = 1;
	score_shift(a, in.today);
	if (a->scores[0] != a->score) {
		a->scores[0] = a->score;
		a->score_dirty = 1;
	}
	return n;
}

int
account_alerts_step(struct account *a, const struct alert_policy *p,
    const struct sig_result *out, int n, int64_t now,
    const struct account_alert_ops *ops)
{
	const struct sig_result *r;
	struct alert *t, tmp, before;
	enum sig_severity sev;
	enum alert_event ev;
	enum health_status hs;
	char hexp[128];
	const char *explanation;
	int s, i, active, near, changed = 0, oom = 0;

	near = account_renewal_days(a, p->renewal_window, now) >= 0;
	for (s = 0; s < ALERT_NACCOUNT_SIGNALS; s++) {
		r = NULL;
		for (i = 0; i < n; i++)
			if ((int)out[i].id == s)
				r = &out[i];
		if (s < SIG__COUNT) {
			active = r != NULL;
			sev = r != NULL ? r->severity : SEV_INFO;
			explanation = r != NULL ? r->explanation : "";
		} else {
			hs = score_status(a->score);
			active = hs != HEALTH_GREEN;
			sev = hs == HEALTH_RED ? SEV_CRITICAL : SEV_WARNING;
			snprintf(hexp, sizeof(hexp), "health is %s: score %d",
			    score_status_name(hs), a->score);
			explanation = hexp;
		}
		t = account_alert(a, s);
		if (t == NULL && !active)
			continue;
		if (t != NULL)
			tmp = *t;
		else {
			memset(&tmp, 0, sizeof(tmp));
			tmp.state = ALERT_RESOLVED;
			tmp.signal = s;
		}
		before = tmp;
		ev = alert_step(&tmp, p, active, sev, now);
		/*
		 * Renewal (SPEC 5): a critical signal or a red status of an
		 * account within renewal_window of renewal_at escalates once
		 * -- when it fires there, or when the renewal comes near
		 * while it fires.
		 */
		if (tmp.state != ALERT_FIRING || !active)
			;
		else if (!(near && sev == SEV_CRITICAL))
			tmp.renewal = 0;
		else if (ev == AE_FIRE || ev == AE_ESCALATE)
			tmp.renewal = 1;
		else if (!tmp.renewal) {
			tmp.renewal = 1;
			tmp.last_notified = now;
			ev = AE_ESCALATE;
		}
		if (ev == AE_NONE && memcmp(&before, &tmp, sizeof(tmp)) == 0)
			continue;
		if (ev == AE_FIRE) {
			tmp.id = ops->new_id(ops->arg, now);
			tmp.row_gen = 0;
			if (t != NULL)
				*t = tmp;	/* a resolved one reopened */
			else if ((t = account_alert_add(a, &tmp)) == NULL) {
				oom = 1;	/* the caller's to log */
				continue;
			}
		} else
			*t = tmp;
		changed++;
		if (ops->changed(ops->arg, a, t, ev, r, explanation) == -1)
			continue;
		if (t->state == ALERT_RESOLVED)
			account_alert_remove(a, t);
	}
	return oom ? -1 : changed;
}

/*
 * The data class of each event type (SPEC 4, "Data coverage"), as
 * 1 + enum sig_category; 0: the type is of no class.
 */
static const uint8_t ev_class[EV__COUNT] = {
	[EV_LOGIN] = 1 + SIGCAT_USAGE,
	[EV_FEATURE_USED] = 1 + SIGCAT_USAGE,
	[EV_TICKET_CREATED] = 1 + SIGCAT_SUPPORT,
	[EV_TICKET_UPDATED] = 1 + SIGCAT_SUPPORT,
	[EV_TICKET_SOLVED] = 1 + SIGCAT_SUPPORT,
	[EV_CONTACT_JOINED] = 1 + SIGCAT_ORG,
	[EV_CONTACT_LEFT] = 1 + SIGCAT_ORG,
	[EV_CONTACT_CHANGED] = 1 + SIGCAT_ORG,
	[EV_COMPETITOR_SIGNAL] = 1 + SIGCAT_COMPETITOR,
	[EV_TOUCHPOINT] = 1 + SIGCAT_ENGAGEMENT,
	[EV_NOTE] = 1 + SIGCAT_ENGAGEMENT,
	/* Outcomes (account.churned, ...) are of no class. */
};

int
account_event_class(int type)
{
	return (unsigned)type < EV__COUNT ? ev_class[type] - 1 : -1;
}

void
account_data_since(const int32_t *heard, const int32_t *coverage,
    int32_t *out)
{
	int32_t h, d;
	int c;

	for (c = 0; c < SIGCAT__COUNT; c++) {
		h = heard[c];
		d = coverage[c];
		out[c] = h != 0 && (d == 0 || h < d) ? h : d;
	}
}
