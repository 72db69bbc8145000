/*
 * metrics.c -- the metrics registry and its Prometheus text rendering.
 *
 * Every metric is a row of METRICS_TABLE (metrics.h).  A series (one
 * label set of one metric) is a single allocation: the header, the
 * histogram's bucket counts, then copies of the label values.  Series are
 * found through one chained hash table keyed by metric id and label
 * values, and each metric keeps its series in an array sorted by label
 * values, so rendering needs no sorting and no allocation besides the
 * output.  Hot paths hold a series handle and update it with a few
 * instructions.
 *
 * Pure except metrics_process_sample() at the end, which reads /proc/self.
 * Numbers are printed and parsed in the C locale (the daemon never calls
 * setlocale).
 *
 * Not here: serving /metrics (http.c), deciding what to count (callers),
 * logging.
 */
#include "config.h"

#include <sys/resource.h>

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "util.h"

#define MIN_SLOTS	64		/* hash table size, a power of two */
#define MIN_FAMILY	8		/* first size of a metric's series array */

struct metric_def {
	const char		*name;
	enum metric_type	 type;
	const char *const	*labels;	/* NULL-terminated, or NULL */
	const double		*buckets;	/* ends with +Inf, or NULL */
	const char		*help;
};

static const struct metric_def defs[M__COUNT] = {
#define METRIC_DEF(id, type, name, labels, buckets, help)		\
	[id] = { name, METRIC_##type, labels, buckets, help },
	METRICS_TABLE(METRIC_DEF)
#undef METRIC_DEF
};

_Static_assert(M__COUNT <= UINT8_MAX, "metric_series.id is too small");

struct metric_series {
	struct metric_series	*next;		/* hash chain */
	uint32_t		 hash;
	uint8_t			 id;		/* enum metric_id */
	uint8_t			 type;		/* enum metric_type */
	uint8_t			 nlabels;
	uint8_t			 nbuckets;	/* histogram, with +Inf */
	double			 value;		/* histogram: the sum */
	uint64_t		 count;		/* histogram observations */
	const char		*label[METRICS_LABELS_MAX];
	uint64_t		 bucket[];	/* per bucket, not cumulative */
	/* then the label values' bytes */
};

/* The series of one metric, sorted by label values. */
struct family {
	struct metric_series	**s;
	uint32_t		  n, cap;
};

struct metrics {
	struct metric_series	**slot;		/* hash chains */
	uint32_t		  nslot;	/* a power of two */
	uint32_t		  nseries;
	struct family		  fam[M__COUNT];
	uint8_t			  nlabels[M__COUNT];
	uint8_t			  nbuckets[M__COUNT];
	uint8_t			  order[M__COUNT];	/* ids by name */
	int			  have_start;
	double			  start_time;	/* process_start_time */
};

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram"
};

const char *
metrics_name(enum metric_id id)
{
	return (unsigned)id < M__COUNT ? defs[id].name : NULL;
}

enum metric_type
metrics_type(enum metric_id id)
{
	return (unsigned)id < M__COUNT ? defs[id].type : METRIC_COUNTER;
}

/*
 * Label values.
 */

/*
 * The keyed hash (util.h) over the id and each value with a terminator:
 * label values are names from the config today, but the one hash keeps
 * it safe should a client's string ever become one.
 */
static uint32_t
hash_labels(enum metric_id id, const char *const *labels, size_t n)
{
	static const unsigned char	 end = 0xff;	/* never in UTF-8 */
	struct util_hasher		 h;
	uint32_t			 mid = (uint32_t)id;
	const char			*p;
	size_t				 i;

	util_hash_init(&h);
	util_hash_update(&h, &mid, sizeof(mid));
	for (i = 0; i < n; i++) {
		p = labels[i] != NULL ? labels[i] : "";
		util_hash_update(&h, p, strlen(p));
		util_hash_update(&h, &end, 1);
	}
	return (uint32_t)util_hash_final(&h);
}

static int
labels_eq(const struct metric_series *s, const char *const *labels)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < s->nlabels; i++) {
		v = labels[i] != NULL ? labels[i] : "";
		if (strcmp(s->label[i], v) != 0)
			return 0;
	}
	return 1;
}

/* Order of series in a family: by each label value in turn, bytewise. */
static int
series_cmp(const struct metric_series *a, const struct metric_series *b)
{
	size_t	i;
	int	c;

	for (i = 0; i < a->nlabels; i++)
		if ((c = strcmp(a->label[i], b->label[i])) != 0)
			return c;
	return 0;
}

/*
 * Length of the UTF-8 sequence at s, or 0 if it is not one (overlong,
 * surrogate, above U+10FFFF, truncated).
 */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned char	c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
		    (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/*
 * Copy s to out (if not NULL) with each byte that does not start a valid
 * UTF-8 sequence replaced by U+FFFD; returns the bytes written, without
 * a NUL.  *changed is set if a byte was replaced.
 */
static size_t
utf8_clean(const char *s, char *out, int *changed)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0, k;

	while (*p != '\0') {
		if ((k = utf8_seq(p)) == 0) {
			if (out != NULL)
				memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
			p++;
			*changed = 1;
			continue;
		}
		if (out != NULL)
			memcpy(out + n, p, k);
		n += k;
		p += k;
	}
	return n;
}

/*
 * The registry.
 */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(defs[*(const uint8_t *)a].name,
	    defs[*(const uint8_t *)b].name);
}

struct metrics *
metrics_new(void)
{
	const char *const	 version[] = { PACKAGE_VERSION };
	struct metrics		*m;
	size_t			 i, n;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->slot = calloc(MIN_SLOTS, sizeof(*m->slot))) == NULL)
		goto fail;
	m->nslot = MIN_SLOTS;
	for (i = 0; i < M__COUNT; i++) {
		for (n = 0; defs[i].labels != NULL &&
		    defs[i].labels[n] != NULL; n++)
			;
		assert(n <= METRICS_LABELS_MAX);
		m->nlabels[i] = (uint8_t)n;
		/* Buckets strictly increase up to +Inf (the table's rule). */
		for (n = 0; defs[i].buckets != NULL; n++) {
			assert(n == 0 ||
			    defs[i].buckets[n] > defs[i].buckets[n - 1]);
			if (isinf(defs[i].buckets[n]))
				break;
		}
		assert(n < UINT8_MAX);
		assert((defs[i].type == METRIC_HISTOGRAM) == (n > 0));
		m->nbuckets[i] = defs[i].buckets != NULL ? (uint8_t)(n + 1) : 0;
		m->order[i] = (uint8_t)i;
	}
	qsort(m->order, M__COUNT, sizeof(m->order[0]), name_cmp);

	/* Unlabelled metrics are always exported, from 0. */
	for (i = 0; i < M__COUNT; i++)
		if (m->nlabels[i] == 0 && metrics_series(m, i, NULL) == NULL)
			goto fail;
	metrics_set(m, M_BUILD_INFO, version, 1);
	if (metrics_series_count(m, M_BUILD_INFO) != 1)
		goto fail;
	return m;

fail:
	metrics_free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	struct family	*f;
	size_t		 i, j;

	if (m == NULL)
		return;
	for (i = 0; i < M__COUNT; i++) {
		f = &m->fam[i];
		for (j = 0; j < f->n; j++)
			free(f->s[j]);
		free(f->s);
	}
	free(m->slot);
	free(m);
}

static struct metric_series *
series_find(const struct metrics *m, enum metric_id id,
    const char *const *labels, uint32_t h)
{
	struct metric_series	*s;

	for (s = m->slot[h & (m->nslot - 1)]; s != NULL; s = s->next)
		if (s->hash == h && s->id == id && labels_eq(s, labels))
			return s;
	return NULL;
}

/* Double the hash table; on ENOMEM keep the old one (chains lengthen). */
static void
grow_slots(struct metrics *m)
{
	struct metric_series	**slot, *s, *next;
	uint32_t		  n = m->nslot * 2, i;

	if (n < m->nslot || (slot = calloc(n, sizeof(*slot))) == NULL)
		return;
	for (i = 0; i < m->nslot; i++) {
		for (s = m->slot[i]; s != NULL; s = next) {
			next = s->next;
			s->next = slot[s->hash & (n - 1)];
			slot[s->hash & (n - 1)] = s;
		}
	}
	free(m->slot);
	m->slot = slot;
	m->nslot = n;
}

/* Put s in its family, keeping label order; -1 on ENOMEM. */
static int
family_insert(struct family *f, struct metric_series *s)
{
	struct metric_series	**a;
	uint32_t		  lo = 0, hi = f->n, mid, cap;

	if (f->n == f->cap) {
		cap = f->cap == 0 ? MIN_FAMILY : f->cap * 2;
		if ((a = realloc(f->s, cap * sizeof(*a))) == NULL)
			return -1;
		f->s = a;
		f->cap = cap;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (series_cmp(f->s[mid], s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&f->s[lo + 1], &f->s[lo], (f->n - lo) * sizeof(*f->s));
	f->s[lo] = s;
	f->n++;
	return 0;
}

static void
count_drop(struct metrics *m, enum metric_id id)
{
	const char *const	labels[] = { defs[id].name };

	/* The drop counter has one series per metric: never over the cap. */
	if (id != M_SERIES_DROPPED)
		metrics_series_add(metrics_series(m, M_SERIES_DROPPED, labels),
		    1);
}

/* A new series of id (not in the table yet), or NULL. */
static struct metric_series *
series_create(struct metrics *m, enum metric_id id, const char *const *labels,
    uint32_t h)
{
	struct metric_series	*s, *old;
	size_t			 i, nl = m->nlabels[id], nb = m->nbuckets[id];
	size_t			 size, len[METRICS_LABELS_MAX];
	int			 changed = 0;
	char			*p;

	size = sizeof(*s) + nb * sizeof(s->bucket[0]);
	for (i = 0; i < nl; i++) {
		len[i] = utf8_clean(labels[i] != NULL ? labels[i] : "", NULL,
		    &changed);
		size += len[i] + 1;
	}
	if ((s = calloc(1, size)) == NULL)
		return NULL;
	s->id = (uint8_t)id;
	s->type = (uint8_t)defs[id].type;
	s->nlabels = (uint8_t)nl;
	s->nbuckets = (uint8_t)nb;
	p = (char *)&s->bucket[nb];
	for (i = 0; i < nl; i++) {
		utf8_clean(labels[i] != NULL ? labels[i] : "", p, &changed);
		p[len[i]] = '\0';
		s->label[i] = p;
		p += len[i] + 1;
	}
	s->hash = h;
	if (changed) {
		/* Stored under its clean values, which may exist already. */
		s->hash = hash_labels(id, s->label, nl);
		if ((old = series_find(m, id, s->label, s->hash)) != NULL) {
			free(s);
			return old;
		}
	}
	if (m->fam[id].n >= METRICS_SERIES_MAX) {
		free(s);
		count_drop(m, id);
		return NULL;
	}
	if (family_insert(&m->fam[id], s) == -1) {
		free(s);
		return NULL;
	}
	if (m->nseries >= m->nslot)
		grow_slots(m);
	s->next = m->slot[s->hash & (m->nslot - 1)];
	m->slot[s->hash & (m->nslot - 1)] = s;
	m->nseries++;
	return s;
}

struct metric_series *
metrics_series(struct metrics *m, enum metric_id id,
    const char *const *labels)
{
	struct metric_series	*s;
	const char *const	 none[METRICS_LABELS_MAX] = { NULL };
	uint32_t		 h;

	if (m == NULL || (unsigned)id >= M__COUNT)
		return NULL;
	if (labels == NULL)
		labels = none;
	h = hash_labels(id, labels, m->nlabels[id]);
	if ((s = series_find(m, id, labels, h)) != NULL)
		return s;
	return series_create(m, id, labels, h);
}

void
metrics_series_add(struct metric_series *s, double by)
{
	if (s == NULL || s->type == METRIC_HISTOGRAM)
		return;
	if (s->type == METRIC_COUNTER && !(by >= 0))
		return;
	s->value += by;
}

void
metrics_series_set(struct metric_series *s, double value)
{
	if (s != NULL && s->type != METRIC_HISTOGRAM)
		s->value = value;
}

void
metrics_series_observe(struct metric_series *s, double value)
{
	const double	*ub;
	size_t		 i;

	if (s == NULL || s->type != METRIC_HISTOGRAM || !isfinite(value))
		return;
	/* The last bound is +Inf, so this stops. */
	ub = defs[s->id].buckets;
	for (i = 0; value > ub[i]; i++)
		;
	s->bucket[i]++;
	s->count++;
	s->value += value;
}

void
metrics_inc(struct metrics *m, enum metric_id id, const char *const *labels,
    double by)
{
	metrics_series_add(metrics_series(m, id, labels), by);
}

void
metrics_set(struct metrics *m, enum metric_id id, const char *const *labels,
    double value)
{
	metrics_series_set(metrics_series(m, id, labels), value);
}

void
metrics_observe(struct metrics *m, enum metric_id id,
    const char *const *labels, double value)
{
	metrics_series_observe(metrics_series(m, id, labels), value);
}

void
metrics_reset_gauge(struct metrics *m, enum metric_id id)
{
	struct metric_series	**pp, *s;
	struct family		 *f;
	uint32_t		  i;

	if (m == NULL || (unsigned)id >= M__COUNT ||
	    defs[id].type != METRIC_GAUGE)
		return;
	f = &m->fam[id];
	if (m->nlabels[id] == 0) {
		/* Its one series stays, so handles to it stay valid. */
		for (i = 0; i < f->n; i++)
			f->s[i]->value = 0;
		return;
	}
	for (i = 0; i < f->n; i++) {
		s = f->s[i];
		for (pp = &m->slot[s->hash & (m->nslot - 1)]; *pp != s;
		    pp = &(*pp)->next)
			;
		*pp = s->next;
		free(s);
	}
	m->nseries -= f->n;
	f->n = 0;
}

int
metrics_get(const struct metrics *m, enum metric_id id,
    const char *const *labels, double *value)
{
	const struct metric_series	*s;
	const char *const		 none[METRICS_LABELS_MAX] = { NULL };

	if (m == NULL || (unsigned)id >= M__COUNT)
		return -1;
	if (labels == NULL)
		labels = none;
	s = series_find(m, id, labels, hash_labels(id, labels,
	    m->nlabels[id]));
	if (s == NULL)
		return -1;
	*value = s->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
	return 0;
}

size_t
metrics_series_count(const struct metrics *m, enum metric_id id)
{
	if (m == NULL || (unsigned)id >= M__COUNT)
		return 0;
	return m->fam[id].n;
}

/*
 * Rendering.
 */

struct buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (b->failed)
		return;
	if (b->cap - b->len <= n) {
		for (cap = b->cap; cap - b->len <= n; cap *= 2)
			if (cap > SIZE_MAX / 2) {
				b->failed = 1;
				return;
			}
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * s escaped as the format wants: backslash and newline always, the
 * double quote in label values (quote) but not in HELP.
 */
static void
buf_escape(struct buf *b, const char *s, int quote)
{
	const char	*run;

	for (run = s; *s != '\0'; s++) {
		if (*s != '\\' && *s != '\n' && !(quote && *s == '"'))
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_str(b, *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"");
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

/*
 * v in the fewest digits that read back as v (as Go's strconv does, so
 * 0.1 is "0.1"), or +Inf, -Inf, NaN.
 */
static void
fmt_double(char *out, size_t size, double v)
{
	int	prec;

	if (isnan(v))
		snprintf(out, size, "NaN");
	else if (isinf(v))
		snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == 0)
		snprintf(out, size, "0");	/* and not "-0" */
	else {
		for (prec = 15; prec < 17; prec++) {
			snprintf(out, size, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				return;
		}
		snprintf(out, size, "%.17g", v);
	}
}

/* {name="value",...[,le="bound"]} or nothing. */
static void
buf_labels(struct buf *b, const struct metric_series *s, const char *le)
{
	const char *const	*names = defs[s->id].labels;
	size_t			 i;

	if (s->nlabels == 0 && le == NULL)
		return;
	buf_add(b, "{", 1);
	for (i = 0; i < s->nlabels; i++) {
		if (i > 0)
			buf_add(b, ",", 1);
		buf_str(b, names[i]);
		buf_add(b, "=\"", 2);
		buf_escape(b, s->label[i], 1);
		buf_add(b, "\"", 1);
	}
	if (le != NULL) {
		buf_str(b, s->nlabels > 0 ? ",le=\"" : "le=\"");
		buf_str(b, le);
		buf_add(b, "\"", 1);
	}
	buf_add(b, "}", 1);
}

/* One sample line: name suffix {labels} value. */
static void
buf_sample(struct buf *b, const struct metric_series *s, const char *suffix,
    const char *le, const char *value)
{
	buf_str(b, defs[s->id].name);
	buf_str(b, suffix);
	buf_labels(b, s, le);
	buf_add(b, " ", 1);
	buf_str(b, value);
	buf_add(b, "\n", 1);
}

static void
render_series(struct buf *b, const struct metric_series *s)
{
	const double	*ub = defs[s->id].buckets;
	char		 le[32], v[32];
	uint64_t	 cum = 0;
	size_t		 i;

	if (s->type != METRIC_HISTOGRAM) {
		fmt_double(v, sizeof(v), s->value);
		buf_sample(b, s, "", NULL, v);
		return;
	}
	for (i = 0; i < s->nbuckets; i++) {
		cum += s->bucket[i];
		fmt_double(le, sizeof(le), ub[i]);
		snprintf(v, sizeof(v), "%" PRIu64, cum);
		buf_sample(b, s, "_bucket", le, v);
	}
	fmt_double(v, sizeof(v), s->value);
	buf_sample(b, s, "_sum", NULL, v);
	snprintf(v, sizeof(v), "%" PRIu64, s->count);
	buf_sample(b, s, "_count", NULL, v);
}

char *
metrics_render(const struct metrics *m, size_t *len)
{
	const struct metric_def	*d;
	const struct family	*f;
	struct buf		 b = { NULL, 0, 0, 0 };
	size_t			 i, j;

	if (m == NULL)
		return NULL;
	/* A guess that saves most reallocations. */
	b.cap = 4096;
	for (i = 0; i < M__COUNT; i++)
		b.cap += (size_t)m->fam[i].n * 64 * (m->nbuckets[i] + 2u);
	if ((b.p = malloc(b.cap)) == NULL)
		return NULL;

	for (i = 0; i < M__COUNT; i++) {
		d = &defs[m->order[i]];
		f = &m->fam[m->order[i]];
		buf_str(&b, "# HELP ");
		buf_str(&b, d->name);
		buf_add(&b, " ", 1);
		buf_escape(&b, d->help, 0);
		buf_str(&b, "\n# TYPE ");
		buf_str(&b, d->name);
		buf_add(&b, " ", 1);
		buf_str(&b, type_names[d->type]);
		buf_add(&b, "\n", 1);
		for (j = 0; j < f->n; j++)
			render_series(&b, f->s[j]);
	}
	buf_add(&b, "", 1);	/* the NUL */
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len - 1;
	return b.p;
}

/*
 * Process metrics: the only I/O in this file.
 */

/* Read a small file whole into buf (NUL-terminated); -1 on error. */
static int
read_small(const char *path, char *buf, size_t size)
{
	ssize_t	n = 0;
	size_t	len = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return n == -1 ? -1 : 0;
}

/*
 * From /proc/self/stat (proc(5)): utime and stime (fields 14, 15) and
 * starttime (22), in clock ticks.  The command name (2) is in parentheses
 * and may hold spaces and parentheses itself, so count from the last ')'.
 */
static int
parse_stat(const char *buf, double *cpu_ticks, double *start_ticks)
{
	const char		*p;
	char			*end;
	unsigned long long	 v, utime = 0;
	int			 field;

	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	for (field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		if (field == 14 || field == 15 || field == 22) {
			errno = 0;
			v = strtoull(p, &end, 10);
			if (end == p || errno != 0)
				return -1;
			if (field == 14)
				utime = v;
			else if (field == 15)
				*cpu_ticks = (double)utime + (double)v;
			else
				*start_ticks = (double)v;
		}
		while (*p != ' ' && *p != '\0')
			p++;
	}
	return 0;
}

/* Open descriptors: entries of /proc/self/fd but the one reading it. */
static int
count_fds(double *n)
{
	struct dirent	*de;
	DIR		*d;
	char		 self[16];

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	snprintf(self, sizeof(self), "%d", dirfd(d));
	*n = 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, self) != 0)
			(*n)++;
	closedir(d);
	return 0;
}

static double
timespec_sec(clockid_t clock)
{
	struct timespec	ts;

	if (clock_gettime(clock, &ts) == -1)
		return NAN;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
metrics_process_sample(struct metrics *m)
{
	struct rlimit	rl;
	char		buf[1024];
	double		cpu = 0, start = 0, fds, now, boot;
	long		tck = sysconf(_SC_CLK_TCK);
	long		page = sysconf(_SC_PAGESIZE);
	unsigned long	vsize, rss;
	int		rc = 0;

	if (m == NULL)
		return -1;
	if (tck <= 0 || page <= 0)
		return -1;

	if (read_small("/proc/self/stat", buf, sizeof(buf)) == -1 ||
	    parse_stat(buf, &cpu, &start) == -1)
		rc = -1;
	else {
		metrics_set(m, M_PROCESS_CPU_SECONDS, NULL, cpu / (double)tck);
		/*
		 * starttime counts from boot (CLOCK_BOOTTIME); the wall clock
		 * then was now minus the time since boot.  Once: it is fixed.
		 */
		if (!m->have_start) {
			now = timespec_sec(CLOCK_REALTIME);
			boot = timespec_sec(CLOCK_BOOTTIME);
			if (!isnan(now) && !isnan(boot)) {
				m->start_time = now - boot +
				    start / (double)tck;
				m->have_start = 1;
			}
		}
		if (m->have_start)
			metrics_set(m, M_PROCESS_START_TIME, NULL,
			    m->start_time);
		else
			rc = -1;
	}

	/* statm: size resident ... in pages (proc(5)). */
	if (read_small("/proc/self/statm", buf, sizeof(buf)) == -1 ||
	    sscanf(buf, "%lu %lu", &vsize, &rss) != 2)
		rc = -1;
	else {
		metrics_set(m, M_PROCESS_VIRTUAL_MEMORY, NULL,
		    (double)vsize * (double)page);
		metrics_set(m, M_PROCESS_RESIDENT_MEMORY, NULL,
		    (double)rss * (double)page);
	}

	if (count_fds(&fds) == -1)
		rc = -1;
	else
		metrics_set(m, M_PROCESS_OPEN_FDS, NULL, fds);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rc = -1;
	else
		metrics_set(m, M_PROCESS_MAX_FDS, NULL, (double)rl.rlim_cur);
	return rc;
}

struct metrics *cw_metrics;
