/*
 * quality.c -- signal quality (see quality.h).
 *
 * The fires are sorted by (signal, account) and walked one group at a
 * time, so the cost is O(f log f) in the number of alerts and the memory
 * O(accounts + f), never a signal x account matrix: the report endpoint
 * may see a million accounts.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quality.h"
#include "score.h"
#include "util.h"

#define SMALL_DEN	20	/* below: a count, not a percentage */

static const char *const kind_names[QK__COUNT] = {
	[QK_CHURNED] = "churned",
	[QK_CONTRACTED] = "contracted",
	[QK_RENEWED] = "renewed",
};

const char *
quality_kind_name(enum quality_kind k)
{
	return (unsigned)k < QK__COUNT ? kind_names[k] : "?";
}

const char *
quality_row_name(int signal)
{
	if (signal == QUALITY_NOT_GREEN)
		return "status not green";
	if (signal == QUALITY_RED)
		return "status red";
	return alert_signal_name(signal);
}

char *
quality_ratio(unsigned num, unsigned den, char *buf, size_t len)
{
	if (den == 0)
		snprintf(buf, len, "-");
	else if (den < SMALL_DEN)
		snprintf(buf, len, "%u/%u", num, den);
	else
		snprintf(buf, len, "%u/%u (%.0f%%)", num, den,
		    100.0 * num / den);
	return buf;
}

static int
fire_cmp(const void *p, const void *q)
{
	const struct quality_fire *a = p, *b = q;

	if (a->signal != b->signal)
		return a->signal < b->signal ? -1 : 1;
	if (a->account != b->account)
		return a->account < b->account ? -1 : 1;
	if (a->from != b->from)
		return a->from < b->from ? -1 : 1;
	return 0;
}

static int
status_cmp(const void *p, const void *q)
{
	const struct quality_status *a = p, *b = q;

	if (a->account != b->account)
		return a->account < b->account ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

static int
int_cmp(const void *p, const void *q)
{
	int a = *(const int *)p, b = *(const int *)q;

	return a < b ? -1 : a > b;
}

/*
 * The status series as fires of the two health rows: each run of days
 * whose status is not green (and each run of red days) is one fire; the
 * last status holds on (QUALITY_OPEN).  st is sorted; appends to *f.
 */
static int
status_fires(const struct quality_status *st, size_t n,
    struct quality_fire **f, size_t *nf, size_t *cap)
{
	struct quality_fire *v;
	size_t i, j;
	int k, in;
	int32_t from = 0;

	for (i = 0; i < n; i = j) {
		for (j = i; j < n && st[j].account == st[i].account; j++)
			;
		for (k = 0; k < 2; k++) {
			in = 0;
			for (size_t x = i; x <= j; x++) {
				int bad = x < j && (k == 0 ?
				    st[x].status != HEALTH_GREEN :
				    st[x].status == HEALTH_RED);

				if (x < j && bad == in)
					continue;
				if (x == j && !in)
					break;
				if (!in) {
					from = st[x].day;
					in = 1;
					continue;
				}
				if (*nf == *cap) {
					*cap = *cap ? *cap * 2 : 256;
					if ((v = realloc(*f, *cap *
					    sizeof(*v))) == NULL)
						return -1;
					*f = v;
				}
				v = &(*f)[(*nf)++];
				v->account = st[i].account;
				v->signal = k == 0 ? QUALITY_NOT_GREEN :
				    QUALITY_RED;
				v->from = from;
				v->to = x < j ? st[x].day - 1 : QUALITY_OPEN;
				in = 0;
			}
		}
	}
	return 0;
}

/* The status of account a on day (sorted st), or -1 when unknown. */
static int
status_on(const struct quality_status *st, size_t n, uint32_t a,
    int32_t day)
{
	size_t lo = 0, hi = n, mid;

	/* The last entry <= (a, day). */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st[mid].account < a || (st[mid].account == a &&
		    st[mid].day <= day))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || st[lo - 1].account != a)
		return -1;
	return st[lo - 1].status;
}

/* Best leading first: the most churns caught, then precision, then the
 * longest lead; signals that never fired last. */
static int
row_cmp(const void *p, const void *q)
{
	const struct quality_row *a = p, *b = q;

	if ((a->fired > 0) != (b->fired > 0))
		return a->fired > 0 ? -1 : 1;
	if (a->churned != b->churned)
		return a->churned > b->churned ? -1 : 1;
	if (a->precision != b->precision)
		return a->precision > b->precision ? -1 : 1;
	if (a->median_lead != b->median_lead)
		return a->median_lead > b->median_lead ? -1 : 1;
	return a->signal < b->signal ? -1 : a->signal > b->signal;
}

/*
 * Fire f's lead time before an outcome on day d (INT32_MIN: none): when
 * it was firing on some day of [d - within, d], d minus the first such
 * day; *best keeps the largest.
 */
static void
fire_lead(const struct quality_fire *f, int32_t d, int within, int *best)
{
	int32_t lo;
	int lead;

	if (d == INT32_MIN)
		return;
	lo = d - within;
	if (f->from > d || f->to < lo)
		return;
	lead = d - (f->from > lo ? f->from : lo);
	if (lead > *best)
		*best = lead;
}

static double
median(int *v, int n)
{
	if (n == 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), int_cmp);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

int
quality_compute(const struct quality_input *in, struct quality_report *r)
{
	struct quality_fire *f = NULL;
	struct quality_status *st = NULL;
	int32_t *first = NULL;		/* [account * QK__COUNT + kind] */
	int32_t *before = NULL;		/* the same, the last before since */
	int32_t *gone = NULL;		/* [account]: its first churn, any day */
	int *leads = NULL, nleads = 0, cur = -1;
	size_t rowof[QUALITY_NROWS];
	struct quality_row *row;
	size_t i, j, x, nf, cap, ri;
	int32_t d;
	int k, s, best[QK__COUNT], prior[QK__COUNT], fired, rc = -1;

	memset(r, 0, sizeof(*r));
	r->since = in->since;
	r->until = in->until;
	r->within = in->within;
	r->accounts = in->naccounts;

	/*
	 * The first outcome of each kind per account in [since, until] (the
	 * counts, recall, leads), the last before since (what a fire before
	 * the range led to) and each account's first churn on any day (it is
	 * gone after it).
	 */
	if (in->naccounts > 0 && ((first = malloc(in->naccounts * QK__COUNT *
	    sizeof(*first))) == NULL || (before = malloc(in->naccounts *
	    QK__COUNT * sizeof(*before))) == NULL || (gone =
	    malloc(in->naccounts * sizeof(*gone))) == NULL))
		goto done;
	for (i = 0; i < in->naccounts * QK__COUNT; i++)
		first[i] = before[i] = INT32_MIN;
	for (i = 0; i < in->naccounts; i++)
		gone[i] = INT32_MAX;
	for (i = 0; i < in->noutcomes; i++) {
		const struct quality_outcome *o = &in->outcomes[i];
		int32_t *p;

		if (o->account >= in->naccounts ||
		    (unsigned)o->kind >= QK__COUNT)
			goto done;
		if (o->kind == QK_CHURNED && o->day < gone[o->account])
			gone[o->account] = o->day;
		if (o->day < in->since) {
			p = &before[o->account * QK__COUNT + o->kind];
			if (o->day > *p)
				*p = o->day;
			continue;
		}
		if (o->day > in->until)
			continue;
		p = &first[o->account * QK__COUNT + o->kind];
		if (*p == INT32_MIN)
			r->outcomes[o->kind]++;
		if (*p == INT32_MIN || o->day < *p)
			*p = o->day;
	}
	if (in->population > 0)
		r->accounts = in->population;
	r->base_rate = r->accounts > 0 ?
	    (double)r->outcomes[QK_CHURNED] / r->accounts : -1;

	/* Fires: the alerts', then the health rows'. */
	nf = cap = in->nfires;
	if (cap > 0 && (f = malloc(cap * sizeof(*f))) == NULL)
		goto done;
	if (nf > 0)
		memcpy(f, in->fires, nf * sizeof(*f));
	for (i = 0; i < nf; i++)
		if (f[i].account >= in->naccounts || f[i].signal < 0 ||
		    f[i].signal >= ALERT_NSIGNALS)
			goto done;
	if (in->nstatuses > 0) {
		if ((st = malloc(in->nstatuses * sizeof(*st))) == NULL)
			goto done;
		memcpy(st, in->statuses, in->nstatuses * sizeof(*st));
		qsort(st, in->nstatuses, sizeof(*st), status_cmp);
		for (i = 0; i < in->nstatuses; i++)
			if (st[i].account >= in->naccounts)
				goto done;
		if (status_fires(st, in->nstatuses, &f, &nf, &cap) == -1)
			goto done;
	}
	if (nf > 0)
		qsort(f, nf, sizeof(*f), fire_cmp);
	if (nf > 0 && (leads = malloc(nf * sizeof(*leads))) == NULL)
		goto done;

	/* The rows: every account signal and the two health rows. */
	for (s = 0; s < QUALITY_NROWS; s++) {
		if (s == ALERT_PORTFOLIO)
			continue;
		row = &r->row[r->nrows];
		row->signal = s;
		row->median_lead = -1;
		rowof[s] = r->nrows++;
	}
	/* Fires are in signal order: one row's groups are contiguous. */
	for (i = 0; i < nf; i = j) {
		for (j = i; j < nf && f[j].signal == f[i].signal &&
		    f[j].account == f[i].account; j++)
			;
		s = f[i].signal;
		if (s == ALERT_PORTFOLIO)
			continue;
		row = &r->row[rowof[s]];
		if (s != cur) {
			if (cur >= 0)
				r->row[rowof[cur]].median_lead =
				    median(leads, nleads);
			cur = s;
			nleads = 0;
		}
		fired = 0;
		for (k = 0; k < QK__COUNT; k++)
			best[k] = prior[k] = -1;
		for (x = i; x < j; x++) {
			/* After it churned -- in the range or before -- the
			 * account is gone: what fires then is no warning of
			 * anything. */
			if (f[x].from > gone[f[x].account])
				continue;
			if (f[x].from <= in->until &&
			    f[x].to >= in->since - in->within)
				fired = 1;
			for (k = 0; k < QK__COUNT; k++) {
				fire_lead(&f[x], first[f[x].account *
				    QK__COUNT + k], in->within, &best[k]);
				fire_lead(&f[x], before[f[x].account *
				    QK__COUNT + k], in->within, &prior[k]);
			}
		}
		if (!fired)
			continue;
		row->fired++;
		/* Recall and leads: the outcomes of the range; what the
		 * fire led to: those before it too. */
		if (best[QK_CHURNED] >= 0) {
			row->churned++;
			leads[nleads++] = best[QK_CHURNED];
		}
		if (best[QK_CHURNED] >= 0 || prior[QK_CHURNED] >= 0)
			row->then_churned++;
		else if (best[QK_CONTRACTED] >= 0 ||
		    prior[QK_CONTRACTED] >= 0)
			row->then_contracted++;
		else if (best[QK_RENEWED] >= 0 || prior[QK_RENEWED] >= 0)
			row->then_renewed++;
		else
			row->no_outcome++;
		if (best[QK_CONTRACTED] >= 0)
			row->contracted++;
	}
	if (cur >= 0)
		r->row[rowof[cur]].median_lead = median(leads, nleads);
	for (ri = 0; ri < r->nrows; ri++) {
		row = &r->row[ri];
		row->nleads = (int)row->churned;
		row->precision = row->fired > 0 ?
		    (double)row->then_churned / row->fired : -1;
		row->lift = row->precision >= 0 && r->base_rate > 0 ?
		    row->precision / r->base_rate : -1;
	}
	qsort(r->row, r->nrows, sizeof(r->row[0]), row_cmp);

	/* Still green 30 and 90 days before the churn. */
	for (i = 0; i < in->naccounts; i++) {
		d = first[i * QK__COUNT + QK_CHURNED];
		if (d == INT32_MIN)
			continue;
		if ((k = status_on(st, in->nstatuses, (uint32_t)i,
		    d - 30)) >= 0) {
			r->known_30++;
			r->green_30 += k == HEALTH_GREEN;
		}
		if ((k = status_on(st, in->nstatuses, (uint32_t)i,
		    d - 90)) >= 0) {
			r->known_90++;
			r->green_90 += k == HEALTH_GREEN;
		}
	}
	rc = 0;
done:
	free(leads);
	free(f);
	free(st);
	free(gone);
	free(before);
	free(first);
	return rc;
}

/* ---- output ---- */

static char *
day_str(int32_t day, char *buf, size_t len)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "?");
	else
		strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

/* A growing string. */
struct buf {
	char	*s;
	size_t	 len, cap;
	int	 oom;
};

static void
bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *p;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s != NULL ? b->s + b->len : NULL,
		    b->s != NULL ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->s != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		cap = b->cap ? b->cap * 2 : 4096;
		while (cap <= b->len + (size_t)n)
			cap *= 2;
		if ((p = realloc(b->s, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
}

char *
quality_text(const struct quality_report *r)
{
	const struct quality_row *w;
	struct buf b = { NULL, 0, 0, 0 };
	char d1[16], d2[16], c1[32], c2[32], c3[32], lead[16], lift[16];
	unsigned churned = r->outcomes[QK_CHURNED];
	const char *name;
	size_t i, n, col;

	bprintf(&b, "Signal quality %s .. %s: alerts firing within %d days "
	    "before the outcome\n", day_str(r->since, d1, sizeof(d1)),
	    day_str(r->until, d2, sizeof(d2)), r->within);
	bprintf(&b, "%zu accounts; %u churned, %u contracted, %u renewed; "
	    "base churn rate %s\n\n", r->accounts, churned,
	    r->outcomes[QK_CONTRACTED], r->outcomes[QK_RENEWED],
	    quality_ratio(churned, (unsigned)r->accounts, c1, sizeof(c1)));
	bprintf(&b, "%-27s %-14s %6s  %-14s %6s %8s %8s  %-14s %5s\n",
	    "signal", "churns caught", "lead", "contr. caught", "fired",
	    "churned", "renewed", "precision", "lift");
	for (i = 0; i < r->nrows; i++) {
		w = &r->row[i];
		if (w->fired == 0)
			continue;
		if (w->median_lead >= 0)
			snprintf(lead, sizeof(lead), "%.0f d", w->median_lead);
		else
			snprintf(lead, sizeof(lead), "-");
		if (w->lift >= 0)
			snprintf(lift, sizeof(lift), "%.1fx", w->lift);
		else
			snprintf(lift, sizeof(lift), "-");
		bprintf(&b, "%-27s %-14s %6s  %-14s %6u %8u %8u  %-14s %5s\n",
		    quality_row_name(w->signal),
		    quality_ratio(w->churned, churned, c1, sizeof(c1)), lead,
		    quality_ratio(w->contracted, r->outcomes[QK_CONTRACTED],
		    c2, sizeof(c2)), w->fired, w->then_churned,
		    w->then_renewed,
		    quality_ratio(w->then_churned, w->fired, c3, sizeof(c3)),
		    lift);
	}
	for (i = 0, n = 0, col = 0; i < r->nrows; i++) {
		if (r->row[i].fired > 0)
			continue;
		name = quality_row_name(r->row[i].signal);
		if (n++ == 0) {
			bprintf(&b, "\nDid not fire before any outcome: %s", name);
			col = 33 + strlen(name);
		} else if (col + 2 + strlen(name) > 78) {
			bprintf(&b, ",\n  %s", name);
			col = 2 + strlen(name);
		} else {
			bprintf(&b, ", %s", name);
			col += 2 + strlen(name);
		}
	}
	if (n > 0)
		bprintf(&b, "\n");
	bprintf(&b, "\nchurns caught: churned accounts it was firing for "
	    "within %d days before they left\n(contr.: the same for "
	    "contractions); lead: median days from then to the churn;\n"
	    "fired: accounts it fired for, of which churned / renewed "
	    "afterwards;\nprecision: churned / fired; lift: precision / base "
	    "churn rate (above 1.0x: better than chance).\n", r->within);
	bprintf(&b, "\nStill green before they churned: %s of churned "
	    "accounts 30 days before, %s 90 days before.\n",
	    quality_ratio(r->green_30, r->known_30, c1, sizeof(c1)),
	    quality_ratio(r->green_90, r->known_90, c2, sizeof(c2)));
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static json_t *
ratio_json(double v)
{
	return v >= 0 ? json_real(v) : json_null();
}

json_t *
quality_json(const struct quality_report *r)
{
	const struct quality_row *w;
	json_t *o, *rows, *x;
	char d1[16], d2[16];
	unsigned churned = r->outcomes[QK_CHURNED];
	unsigned contr = r->outcomes[QK_CONTRACTED];
	size_t i;

	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < r->nrows; i++) {
		w = &r->row[i];
		x = json_pack("{s:s, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:o}, "
		    "s:o, s:I, s:{s:I, s:I, s:I, s:I}, s:o, s:o}",
		    "signal", quality_row_name(w->signal),
		    "churned", "count", (json_int_t)w->churned,
		    "of", (json_int_t)churned, "recall",
		    ratio_json(churned ? (double)w->churned / churned : -1),
		    "contracted", "count", (json_int_t)w->contracted,
		    "of", (json_int_t)contr, "recall",
		    ratio_json(contr ? (double)w->contracted / contr : -1),
		    "median_lead_days", w->median_lead >= 0 ?
		    json_real(w->median_lead) : json_null(),
		    "fired", (json_int_t)w->fired,
		    "then", "churned", (json_int_t)w->then_churned,
		    "contracted", (json_int_t)w->then_contracted,
		    "renewed", (json_int_t)w->then_renewed,
		    "no_outcome", (json_int_t)w->no_outcome,
		    "precision", ratio_json(w->precision),
		    "lift", ratio_json(w->lift));
		if (x == NULL || json_array_append_new(rows, x) == -1) {
			json_decref(rows);
			return NULL;
		}
	}
	o = json_pack("{s:s, s:s, s:i, s:I, s:{s:I, s:I, s:I}, s:o, "
	    "s:{s:{s:I, s:I}, s:{s:I, s:I}}, s:o}",
	    "since", day_str(r->since, d1, sizeof(d1)),
	    "until", day_str(r->until, d2, sizeof(d2)),
	    "within", r->within, "accounts", (json_int_t)r->accounts,
	    "outcomes", "churned", (json_int_t)churned,
	    "contracted", (json_int_t)contr,
	    "renewed", (json_int_t)r->outcomes[QK_RENEWED],
	    "base_churn_rate", ratio_json(r->base_rate),
	    "green_before_churn",
	    "days_30", "green", (json_int_t)r->green_30,
	    "known", (json_int_t)r->known_30,
	    "days_90", "green", (json_int_t)r->green_90,
	    "known", (json_int_t)r->known_90,
	    "signals", rows);
	return o;
}

/* ---- from stored history ---- */

#define GROW(b, arr, n, cap)						\
	(util_grow((void **)&(b)->arr, &(b)->cap, (b)->n,		\
	    sizeof(*(b)->arr)))

int
quality_add_fire(struct quality_builder *b, uint32_t account, int signal,
    int32_t from, int32_t to)
{
	struct quality_fire *f;

	if (signal < 0 || signal >= ALERT_NSIGNALS ||
	    signal == ALERT_PORTFOLIO || GROW(b, fires, nfires, capfires) == -1)
		return -1;
	f = &b->fires[b->nfires++];
	f->account = account;
	f->signal = signal;
	f->from = from;
	f->to = to;
	return 0;
}

int
quality_add_outcome(struct quality_builder *b, uint32_t account, int kind,
    int32_t day)
{
	struct quality_outcome *o;

	if (kind < 0 || kind >= QK__COUNT ||
	    GROW(b, outcomes, noutcomes, capoutcomes) == -1)
		return -1;
	o = &b->outcomes[b->noutcomes++];
	o->account = account;
	o->kind = (enum quality_kind)kind;
	o->day = day;
	return 0;
}

int
quality_add_status(struct quality_builder *b, uint32_t account, int32_t day,
    int status)
{
	struct quality_status *s;

	if (status < 0 || status >= HEALTH__COUNT ||
	    GROW(b, statuses, nstatuses, capstatuses) == -1)
		return -1;
	s = &b->statuses[b->nstatuses++];
	s->account = account;
	s->day = day;
	s->status = (uint8_t)status;
	return 0;
}

int
quality_build(const struct quality_builder *b, size_t naccounts,
    uint64_t population, const struct quality_input *p,
    struct quality_report *r)
{
	static struct quality_fire nof;
	static struct quality_outcome noo;
	static struct quality_status nos;
	struct quality_input in = *p;

	/* Never NULL, even empty (qsort and memcpy want an array). */
	in.fires = b->fires != NULL ? b->fires : &nof;
	in.nfires = b->nfires;
	in.outcomes = b->outcomes != NULL ? b->outcomes : &noo;
	in.noutcomes = b->noutcomes;
	in.statuses = b->statuses != NULL ? b->statuses : &nos;
	in.nstatuses = b->nstatuses;
	in.naccounts = naccounts;
	/* Whoever had an outcome or an alert was there too. */
	in.population = population > naccounts ? (size_t)population :
	    naccounts;
	return quality_compute(&in, r);	/* checks the account indexes */
}

void
quality_builder_free(struct quality_builder *b)
{
	free(b->fires);
	free(b->outcomes);
	free(b->statuses);
	memset(b, 0, sizeof(*b));
}
