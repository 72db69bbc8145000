/*
 * score.c -- the health score of SPEC 5 and its decomposition into the
 * contributions of each signal.  Pure: results in, numbers and text out.
 *
 * Not here: which signals are active (signal.c), score history and
 * trend_7d (the caller), alerting on a worse status (alert.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "score.h"
#include "signal.h"

static const char *const status_names[HEALTH__COUNT] = {
	[HEALTH_GREEN] = "green",
	[HEALTH_YELLOW] = "yellow",
	[HEALTH_RED] = "red",
};

static const char *const state_names[] = {
	[SCORE_NEW] = "new",
	[SCORE_CONTINUING] = "continuing",
	[SCORE_RESOLVED] = "resolved",
};

static int
clamp_score(long s)
{
	if (s < 0)
		return 0;
	if (s > SCORE_MAX)
		return SCORE_MAX;
	return (int)s;
}

int
score_compute(const struct sig_result *r, size_t n)
{
	long s = SCORE_MAX;
	size_t i;

	for (i = 0; i < n; i++)
		s -= r[i].weight;
	return clamp_score(s);
}

int
score_compute_items(const struct score_item *it, size_t n)
{
	long s = SCORE_MAX;
	size_t i;

	for (i = 0; i < n; i++)
		s -= it[i].weight;
	return clamp_score(s);
}

enum health_status
score_status(int score)
{
	if (score >= SCORE_GREEN_MIN)
		return HEALTH_GREEN;
	if (score >= SCORE_YELLOW_MIN)
		return HEALTH_YELLOW;
	return HEALTH_RED;
}

const char *
score_status_name(enum health_status s)
{
	return (unsigned)s < HEALTH__COUNT ? status_names[s] : NULL;
}

int
score_status_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < HEALTH__COUNT; i++)
		if (strcmp(status_names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
score_state_name(enum score_state s)
{
	return (unsigned)s <= SCORE_RESOLVED ? state_names[s] : NULL;
}

size_t
score_items(const struct sig_result *r, size_t n, struct score_item *out)
{
	size_t i;

	for (i = 0; i < n && i < SIG__COUNT; i++) {
		out[i].id = r[i].id;
		out[i].weight = r[i].weight;
	}
	return i;
}

/* A growing sentence in a fixed buffer; cut on a whole UTF-8 sequence. */
struct text {
	char	*buf;
	size_t	 len;
	size_t	 off;
	int	 full;
};

static void	text_add(struct text *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->buf == NULL || t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->off, t->len - t->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->off) {
		/* Drop the piece that did not fit, whole. */
		t->buf[t->off] = '\0';
		t->full = 1;
		return;
	}
	t->off += n;
}

/* "−15", "+15", "0": with the minus sign U+2212. */
static void
text_amount(struct text *t, int v)
{
	if (v < 0)
		text_add(t, "\xe2\x88\x92%d", -v);
	else if (v > 0)
		text_add(t, "+%d", v);
	else
		text_add(t, "0");
}

static const struct score_item *
find_item(const struct score_item *it, size_t n, enum sig_id id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (it[i].id == id)
			return &it[i];
	return NULL;
}

static const struct sig_result *
find_result(const struct sig_result *r, size_t n, enum sig_id id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].id == id)
			return &r[i];
	return NULL;
}

int
score_explain(const struct score_item *prev, size_t nprev,
    const struct sig_result *cur, size_t ncur, struct score_breakdown *out,
    char *buf, size_t len)
{
	struct score_breakdown b;
	struct score_part part;
	struct text t;
	const struct score_item *was;
	const struct sig_result *r;
	size_t i, j, nactive;

	memset(&b, 0, sizeof(b));
	b.prev_score = score_compute_items(prev, nprev);
	b.score = score_compute(cur, ncur);

	/* Active signals, heaviest first; ties in table order. */
	for (i = 0; i < ncur && b.nparts < SIG__COUNT; i++) {
		part.id = cur[i].id;
		part.contribution = -cur[i].weight;
		part.state = find_item(prev, nprev, cur[i].id) != NULL ?
		    SCORE_CONTINUING : SCORE_NEW;
		for (j = b.nparts; j > 0; j--) {
			const struct score_part *q = &b.part[j - 1];

			if (q->contribution < part.contribution ||
			    (q->contribution == part.contribution &&
			    q->id < part.id))
				break;
			b.part[j] = *q;
		}
		b.part[j] = part;
		b.nparts++;
	}
	nactive = b.nparts;
	/* Then the resolved ones, in table order. */
	for (i = 0; i < SIG__COUNT; i++) {
		if ((was = find_item(prev, nprev, (enum sig_id)i)) == NULL ||
		    find_result(cur, ncur, (enum sig_id)i) != NULL)
			continue;
		part.id = was->id;
		part.contribution = was->weight;
		part.state = SCORE_RESOLVED;
		b.part[b.nparts++] = part;
	}

	if (buf != NULL && len > 0) {
		t.buf = buf;
		t.len = len;
		t.off = 0;
		t.full = 0;
		buf[0] = '\0';
		text_add(&t, "%d \xe2\x86\x92 %d: ", b.prev_score, b.score);
		if (b.nparts == 0)
			text_add(&t, "no active signals");
		for (i = 0; i < b.nparts; i++) {
			const struct score_part *q = &b.part[i];

			if (i > 0)
				text_add(&t, ", ");
			if (i >= nactive) {
				text_add(&t, "was %s ", signal_name(q->id));
				text_amount(&t, -q->contribution);
				text_add(&t, " now resolved ");
				text_amount(&t, q->contribution);
				continue;
			}
			text_add(&t, "%s ", signal_name(q->id));
			text_amount(&t, q->contribution);
			r = find_result(cur, ncur, q->id);
			if (r != NULL && r->note[0] != '\0')
				text_add(&t, " (%s)", r->note);
		}
	}
	if (out != NULL)
		*out = b;
	return b.score;
}
