/*
 * limits.c -- admission against [limits] (see cwlimits.h: a limits.h
 * here would stand in for the C library's, found by gcc's include_next).
 *
 * Counting what is new sorts the request's strings (accounts, names,
 * contacts and users per account) rather than hashing them: O(n log n)
 * for n events whatever a client chooses to send, with no table to
 * flood.  Every count errs high: stale records not yet pruned count,
 * a forgotten contact counts as new.
 *
 * Not here: the HTTP answer (http.c), the metric (http.c counts the
 * refusal), what an account is (account.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cwconfig.h"
#include "event.h"
#include "intern.h"
#include "cwlimits.h"
#include "window.h"

/* A string of the request, with the index of its event (or -1). */
struct ref {
	const char	*s;
	const char	*acct;		/* account it belongs to, or NULL */
};

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* By account, then string: one run per (account, string). */
static int
ref_cmp(const void *x, const void *y)
{
	const struct ref *a = x, *b = y;
	int c;

	if ((c = strcmp(a->acct, b->acct)) != 0)
		return c;
	return strcmp(a->s, b->s);
}

/* Distinct strings of v[0..n) (sorts v). */
static size_t
distinct(const char **v, size_t n)
{
	size_t i, k = 0;

	qsort(v, n, sizeof(*v), str_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			v[k++] = v[i];
	return k;
}

static int
refuse(const char **limit, struct cw_error *err, const char *key,
    size_t max, size_t now, size_t add, const char *what, const char *acct)
{
	int len;

	*limit = key;
	err->code = "limit_reached";
	/* A long account id is cut short: the message still says it all. */
	if (what == NULL)
		len = snprintf(err->msg, sizeof(err->msg), "[limits] %s (%zu) "
		    "reached: %zu notifications wait for their receivers; "
		    "retry later", key, max, now);
	else if (acct != NULL)
		len = snprintf(err->msg, sizeof(err->msg), "[limits] %s (%zu) "
		    "reached: account '%.32s' has %zu %s, this request adds "
		    "%zu", key, max, acct, now, what, add);
	else
		len = snprintf(err->msg, sizeof(err->msg), "[limits] %s (%zu) "
		    "reached: %zu %s known, this request adds %zu; retry "
		    "later", key, max, now, what, add);
	(void)len;
	return -1;
}

static int
is_record(const struct cw_event *ev)
{
	switch (ev->type) {
	case EV_TICKET_CREATED:
	case EV_TICKET_UPDATED:
	case EV_TICKET_SOLVED:
	case EV_CONTACT_JOINED:
	case EV_CONTACT_LEFT:
	case EV_CONTACT_CHANGED:
	case EV_COMPETITOR_SIGNAL:
	case EV_TOUCHPOINT:
	case EV_NOTE:
		return 1;
	default:
		return 0;
	}
}

static int
is_contact(const struct cw_event *ev)
{
	return ev->type == EV_CONTACT_JOINED || ev->type == EV_CONTACT_LEFT ||
	    ev->type == EV_CONTACT_CHANGED;
}

/* The names window_apply() would intern for ev (NULL when unset). */
static size_t
event_names(const struct cw_event *ev, const char *out[4])
{
	const struct cw_event_props *p = &ev->p;
	size_t n = 0;

	switch (ev->type) {
	case EV_FEATURE_USED:
		out[n++] = p->feature;
		break;
	case EV_TICKET_CREATED:
	case EV_TICKET_UPDATED:
	case EV_TICKET_SOLVED:
		out[n++] = p->team;
		out[n++] = p->category;
		break;
	case EV_CONTACT_JOINED:
	case EV_CONTACT_LEFT:
	case EV_CONTACT_CHANGED:
		out[n++] = p->contact_id;
		out[n++] = p->title;
		out[n++] = p->previous_title;
		break;
	case EV_COMPETITOR_SIGNAL:
		out[n++] = p->competitor;
		break;
	default:
		break;
	}
	return n;
}

/*
 * The per-account bounds: the request's records, new contacts and new
 * users, account by account.
 */
static int
per_account(struct account_table *t, const struct cw_limits *lim,
    const struct limits_request *rq, struct ref *v, const char **limit,
    struct cw_error *err)
{
	const struct cw_event *ev;
	const struct account *a;
	const struct window *w;
	const char *acct;
	size_t i, j, k, n, records;
	uint32_t id;

	/* Records: one run per account (s = account id too). */
	for (i = n = 0; i < rq->nev; i++)
		if (rq->ev[i].account_id[0] != '\0' && is_record(&rq->ev[i]))
			v[n].acct = v[n].s = rq->ev[i].account_id, n++;
	qsort(v, n, sizeof(*v), ref_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && strcmp(v[j].acct, v[i].acct) == 0; j++)
			;
		records = 0;
		if ((a = account_find(t, v[i].acct)) != NULL) {
			w = &a->w;
			records = (size_t)w->ntickets + w->ncevents +
			    w->ncompetitors + w->ntouches + w->nnotes;
		}
		if (records + (j - i) > lim->records_per_account)
			return refuse(limit, err, "max_records_per_account",
			    lim->records_per_account, records, j - i,
			    "records", v[i].acct);
	}

	/* Contacts and users not yet known to their account's window. */
	for (k = 0; k < 2; k++) {
		for (i = n = 0; i < rq->nev; i++) {
			ev = &rq->ev[i];
			acct = ev->account_id;
			if (acct[0] == '\0')
				continue;
			a = account_find(t, acct);
			if (k == 0 && is_contact(ev) && ev->p.contact_id != NULL &&
			    ev->p.contact_id[0] != '\0') {
				if (a != NULL && (id = intern_find(
				    ev->p.contact_id,
				    strlen(ev->p.contact_id))) != 0 &&
				    window_contact(&a->w, id) != NULL)
					continue;
				v[n].acct = acct, v[n].s = ev->p.contact_id, n++;
			} else if (k == 1 && ev->user_id != NULL &&
			    (ev->type == EV_LOGIN ||
			    ev->type == EV_FEATURE_USED)) {
				if (a != NULL && window_user_seen(&a->w,
				    ev->user_id))
					continue;
				v[n].acct = acct, v[n].s = ev->user_id, n++;
			}
		}
		qsort(v, n, sizeof(*v), ref_cmp);
		for (i = 0; i < n; i = j) {
			size_t add = 0, now = 0, max;

			for (j = i; j < n && strcmp(v[j].acct, v[i].acct) == 0;
			    j++)
				if (j == i || strcmp(v[j].s, v[j - 1].s) != 0)
					add++;
			if ((a = account_find(t, v[i].acct)) != NULL)
				now = k == 0 ? a->w.ncontacts : a->w.nusers;
			max = k == 0 ? lim->contacts_per_account :
			    lim->users_per_account;
			if (now + add > max)
				return refuse(limit, err, k == 0 ?
				    "max_contacts_per_account" :
				    "max_users_per_account", max, now, add,
				    k == 0 ? "contacts" : "users", v[i].acct);
		}
	}
	return 0;
}

int
limits_admit(struct account_table *t, const struct cw_limits *lim,
    const struct limits_request *rq, const char **limit,
    struct cw_error *err)
{
	const char **s = NULL, *names[4];
	struct ref *v = NULL;
	struct account *a;
	size_t i, k, n, newacc, newnames, cap, bytes;
	int rc = -1;

	*limit = NULL;
	if (rq->backlog >= lim->queued_notifications)
		return refuse(limit, err, "max_queued_notifications",
		    lim->queued_notifications, rq->backlog, 0, NULL, NULL);
	cap = rq->nev * 3 + rq->naccounts + rq->nmembers + 1;
	if ((s = calloc(cap, sizeof(*s))) == NULL ||
	    (v = calloc(rq->nev + 1, sizeof(*v))) == NULL) {
		*limit = "memory";
		err->code = "internal_error";
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto done;
	}

	/* Accounts. */
	for (i = n = 0; i < rq->nev; i++)
		if (rq->ev[i].account_id[0] != '\0' &&
		    account_find(t, rq->ev[i].account_id) == NULL)
			s[n++] = rq->ev[i].account_id;
	for (i = 0; i < rq->naccounts; i++)
		if (account_find(t, rq->accounts[i]) == NULL)
			s[n++] = rq->accounts[i];
	newacc = distinct(s, n);
	if (newacc > 0 && t->count + newacc > lim->accounts) {
		refuse(limit, err, "max_accounts", lim->accounts, t->count,
		    newacc, "accounts", NULL);
		goto done;
	}

	/* Memberships. */
	for (i = n = 0; i < rq->nmembers; i++)
		if (account_member_find(t, rq->members[i]) == NULL)
			s[n++] = rq->members[i];
	if ((n = distinct(s, n)) > 0 && t->nmembers + n > lim->memberships) {
		refuse(limit, err, "max_memberships", lim->memberships,
		    t->nmembers, n, "memberships", NULL);
		goto done;
	}

	/* Names (users are not interned: they are per account, below). */
	for (i = n = 0; i < rq->nev; i++)
		for (k = event_names(&rq->ev[i], names); k-- > 0;)
			if (names[k] != NULL && names[k][0] != '\0' &&
			    intern_find(names[k], strlen(names[k])) == 0)
				s[n++] = names[k];
	newnames = distinct(s, n);
	if (newnames > 0 && intern_count() + newnames > lim->names) {
		refuse(limit, err, "max_names", lim->names, intern_count(),
		    newnames, "names", NULL);
		goto done;
	}
	/* Names may be up to 1 KiB each: their bytes are bounded too. */
	for (i = bytes = 0; i < newnames; i++)
		bytes += strlen(s[i]) + 1;
	if (newnames > 0 && intern_str_bytes() + bytes > lim->name_bytes) {
		refuse(limit, err, "max_name_bytes", lim->name_bytes,
		    intern_str_bytes(), bytes, "bytes of names", NULL);
		goto done;
	}

	if (per_account(t, lim, rq, v, limit, err) == -1)
		goto done;

	/*
	 * Admitted: reserve by creating.  Without memory the apply after
	 * the commit tries again; nothing is refused for it here.
	 */
	for (i = 0; i < newnames; i++)
		(void)intern(s[i], strlen(s[i]));
	for (i = 0; i < rq->nev + rq->naccounts; i++) {
		const char *id = i < rq->nev ? rq->ev[i].account_id :
		    rq->accounts[i - rq->nev];

		if (id[0] == '\0' || account_find(t, id) != NULL)
			continue;
		if ((a = account_get(t, id)) != NULL)
			a->pending = 1;
	}
	rc = 0;
done:
	free(s);
	free(v);
	return rc;
}
