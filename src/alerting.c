/*
 * alerting.c -- alerts at run time (see alerting.h).
 *
 * The outbox rule is structural: alert_step() returns an event, this file
 * turns it into alert rows and notification rows collected in a batch,
 * store_alerts() commits the batch in one transaction, and only its
 * callback hands the pending notifications to outbox.c.  While a batch is
 * in flight the next one collects (group commit again); a failed write is
 * retried whole, and nothing of it is sent before it has committed.  A
 * crash in between loses nothing: after a restart the open alerts and the
 * pending notifications are read back, and an evaluation of an alert that
 * was never stored fires it again.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "account.h"
#include "alert.h"
#include "alerting.h"
#include "cwconfig.h"
#include "http.h"
#include "intern.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "portfolio.h"
#include "receiver.h"
#include "score.h"
#include "slack.h"
#include "signal.h"
#include "store.h"
#include "util.h"
#include "window.h"

#define RECEIVERS_MAX	16
/* PLAYS.md's play for health_degraded, which has no [signal:] section. */
struct batch {
	struct store_alert		*rows;
	size_t				 nrows, caprows;
	struct store_notification	*notifs;
	uint8_t				*send;	/* per notification: pending */
	size_t				*mark;	/* per notification: nrows when
						 * it was added */
	size_t				 nnotifs, capnotifs;
	/* Rows of this generation already taken from the front (an alert's
	 * row_idx counts them: rows[row_idx - base]). */
	size_t				 base;
};

/*
 * Alert rows written in one transaction at most: the first evaluation of
 * a million accounts can change half of them at once, and one statement
 * of them all would outlast [database] statement_timeout every time.
 */
#define ALERTING_MAX_ROWS	10000

/*
 * A portfolio alert (SPEC 4): one per key, no account's.  members are the
 * accounts that have the key now (names looked up when rendering).
 */
struct pf_member {
	char		*id;
	unsigned	 count;
};
struct pf_alert {
	char			*key;		/* "voice_risk:budget" */
	char			*explanation;	/* as last stored */
	struct alert		 a;
	struct pf_member	*members;
	size_t			 nmembers;
	uint32_t		 round;		/* of the last trend seen */
};

/*
 * The Slack app (SPEC 2.7): the message chat.postMessage made for an
 * alert at a slack-app receiver, updated in place on ack, snooze and
 * resolve; and the posts waiting for their answer (the receipt names a
 * notification, the message belongs to its alert).
 */
struct slack_msg {
	uint64_t		 alert_id;
	char			*receiver;
	char			 channel[64];
	char			 ts[32];
};
struct slack_post {
	uint64_t		 notification;
	uint64_t		 alert_id;
};

/* An account's signal that resolved: the digest's "since yesterday". */
struct resolved_rec {
	char			*account;
	int			 signal;
	int64_t			 at;
};
#define RESOLVED_MAX	100000	/* bounded; the oldest go first */
#define SLACK_POSTS_MAX	10000	/* waiting for an answer; bounded */
/* The outbox receiver of response_url answers (no config name has ':'). */
#define SLACK_RESPONSE_RECEIVER	"slack:response"


struct alerting {
	struct event_base	*base;
	struct store		*store;
	const struct cw_config	*cfg;
	struct outbox		*outbox;
	struct batch		 batch;		/* collecting */
	struct batch		 inflight;	/* being committed */
	int			 writing;
	uint32_t		 gen;		/* of the collecting batch */
	struct event		*ev_flush;
	struct event		*ev_retry;
	struct event		*ev_tick;	/* the next silence's end */
	struct event		*ev_digest;	/* the next morning digest */
	struct account_table	*table;		/* for tick_cb */
	uint64_t		 last_id;
	struct alert_silence	*silences;
	size_t			 nsilences;
	struct pf_alert		*pf;		/* open portfolio alerts */
	size_t			 npf;
	uint32_t		 pf_round;
	char			**loaded_ids;	/* pending notifications read back */
	char			**loaded_receivers;
	char			**loaded_bodies;
	size_t			 nloaded, caploaded;
	struct slack_msg	*msgs;
	size_t			 nmsgs;
	struct slack_post	*posts;
	size_t			 nposts;
	struct resolved_rec	*resolved;	/* the last day's, oldest first */
	size_t			 nresolved;
	size_t			 capresolved;
};

static void	alerting_flush(struct alerting *);
static void	silence_free(struct alert_silence *);
static void	tick_cb(evutil_socket_t, short, void *);
static void	schedule_tick(struct alerting *, int64_t);
static void	digest_cb(evutil_socket_t, short, void *);
static void	schedule_digest(struct alerting *, int64_t);

/* ---- the batch ---- */

static char *
xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
row_free(struct store_alert *r)
{
	free((char *)r->account_id);
	free((char *)r->signal);
	free((char *)r->category);
	free((char *)r->fingerprint);
	free((char *)r->state);
	free((char *)r->severity);
	free((char *)r->explanation);
	free((char *)r->key);
}

static void
notif_free(struct store_notification *n)
{
	free((char *)n->id);
	free((char *)n->receiver);
	free((char *)n->kind);
	free((char *)n->body);
	free((char *)n->state);
}

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nrows; i++)
		row_free(&b->rows[i]);
	for (i = 0; i < b->nnotifs; i++)
		notif_free(&b->notifs[i]);
	b->nrows = b->nnotifs = 0;
}

static void
batch_free(struct batch *b)
{
	batch_clear(b);
	free(b->rows);
	free(b->notifs);
	free(b->send);
	free(b->mark);
	memset(b, 0, sizeof(*b));
}


static int
batch_grow_notifs(struct batch *b)
{
	size_t cap = b->capnotifs, *m;
	uint8_t *s;

	if (util_grow((void **)&b->notifs, &cap, b->nnotifs,
	    sizeof(*b->notifs)))
		return -1;
	if (cap != b->capnotifs) {
		if ((s = realloc(b->send, cap)) == NULL)
			return -1;
		b->send = s;
		if ((m = realloc(b->mark, cap * sizeof(*m))) == NULL)
			return -1;
		b->mark = m;
		b->capnotifs = cap;
	}
	return 0;
}

/* The notification just filled in at notifs[nnotifs] is in. */
static void
batch_push_notif(struct batch *b, int send)
{
	b->send[b->nnotifs] = send != 0;
	b->mark[b->nnotifs] = b->nrows;
	b->nnotifs++;
}

/*
 * Move the collecting batch from into the empty to: whole, or when it is
 * larger than ALERTING_MAX_ROWS its oldest rows with the notifications
 * added before any later row (each one's alert is then stored with it or
 * before it).  Returns 1 when it moved whole (a new generation begins),
 * 0 when only a part (the rest keeps its generation: from->base counts
 * what left), -1 when out of memory (nothing moved).
 */
static int
batch_take(struct batch *to, struct batch *from)
{
	struct batch tmp;
	size_t k = ALERTING_MAX_ROWS, j, i;

	if (from->nrows <= k) {
		tmp = *to;
		*to = *from;
		*from = tmp;
		to->base = from->base = 0;
		return 1;
	}
	for (j = 0; j < from->nnotifs && from->mark[j] <= k; j++)
		;
	while (to->caprows < k)
		if (util_grow((void **)&to->rows, &to->caprows, to->caprows,
		    sizeof(*to->rows)) == -1)
			return -1;
	while (to->capnotifs < j) {
		to->nnotifs = to->capnotifs;
		if (batch_grow_notifs(to) == -1) {
			to->nnotifs = 0;
			return -1;
		}
		to->nnotifs = 0;
	}
	memcpy(to->rows, from->rows, k * sizeof(*to->rows));
	to->nrows = k;
	if (j > 0) {
		memcpy(to->notifs, from->notifs, j * sizeof(*to->notifs));
		memcpy(to->send, from->send, j);
		memcpy(to->mark, from->mark, j * sizeof(*to->mark));
	}
	to->nnotifs = j;
	memmove(from->rows, from->rows + k,
	    (from->nrows - k) * sizeof(*from->rows));
	from->nrows -= k;
	from->base += k;
	if (j > 0 && from->nnotifs > j) {
		memmove(from->notifs, from->notifs + j,
		    (from->nnotifs - j) * sizeof(*from->notifs));
		memmove(from->send, from->send + j, from->nnotifs - j);
		memmove(from->mark, from->mark + j,
		    (from->nnotifs - j) * sizeof(*from->mark));
	}
	from->nnotifs -= j;
	for (i = 0; i < from->nnotifs; i++)
		from->mark[i] -= k;
	return 0;
}

/* ---- alert rows ---- */

static uint64_t
alert_new_id(struct alerting *al, int64_t now)
{
	uint64_t id = (uint64_t)(now / 1000) << 12;

	/* Time-ordered and unique across restarts (ms, then a counter). */
	if (id <= al->last_id)
		id = al->last_id + 1;
	al->last_id = id;
	return id;
}

/*
 * Record the alert's current state as its row in the collecting batch:
 * an account's alert (key NULL), or a portfolio alert (account_id "",
 * its key given).
 */
static int
record_row(struct alerting *al, const char *account_id, const char *key,
    struct alert *t, const char *explanation)
{
	struct store_alert *r;
	char fp[17];

	if (t->row_gen == al->gen && t->row_idx >= al->batch.base &&
	    t->row_idx - al->batch.base < al->batch.nrows) {
		/* A later state wins. */
		r = &al->batch.rows[t->row_idx - al->batch.base];
		row_free(r);
	} else {
		if (util_grow((void **)&al->batch.rows, &al->batch.caprows,
		    al->batch.nrows, sizeof(*al->batch.rows)) == -1)
			return -1;
		t->row_gen = al->gen;
		t->row_idx = (uint32_t)(al->batch.base + al->batch.nrows);
		r = &al->batch.rows[al->batch.nrows++];
	}
	alert_fingerprint(key != NULL ? key : account_id, t->signal, fp);
	memset(r, 0, sizeof(*r));
	r->id = t->id;
	r->account_id = xstrdup(account_id);
	r->key = xstrdup(key);
	r->signal = xstrdup(alert_signal_name(t->signal));
	r->category = xstrdup(alert_category_name(t->signal));
	r->fingerprint = xstrdup(fp);
	r->state = xstrdup(alert_state_name(t->state));
	r->severity = xstrdup(severity_name(t->severity));
	r->started_at = t->started_at;
	r->inactive_since = t->state == ALERT_RESOLVING ? t->inactive_since : 0;
	r->resolved_at = t->resolved_at;
	r->last_notified = t->last_notified;
	r->explanation = xstrdup(explanation);
	if (r->account_id == NULL || r->explanation == NULL)
		return -1;
	return 0;
}

/* ---- notifications ---- */

static char *
evidence_json(const struct sig_result *r, int score, const char *status)
{
	json_t *o = json_object();
	char *s;
	int i;

	if (r == NULL) {
		json_object_set_new(o, "score", json_integer(score));
		json_object_set_new(o, "status", json_string(status));
	} else
		for (i = 0; i < r->nev; i++) {
			const struct sig_evidence *e = &r->ev[i];

			if (e->is_str)
				json_object_set_new(o, e->name,
				    json_string(e->str));
			else if (e->num == (double)(json_int_t)e->num)
				json_object_set_new(o, e->name,
				    json_integer((json_int_t)e->num));
			else
				json_object_set_new(o, e->name,
				    json_real(e->num));
		}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static int
silenced(const struct alerting *al, const char *account_id,
    const struct alert_facts *f, int64_t now)
{
	size_t i;

	for (i = 0; i < al->nsilences; i++)
		if (alert_silenced(&al->silences[i], account_id, f, now))
			return 1;
	return 0;
}

/*
 * Add one rendered notification (body taken over; NULL: out of memory)
 * to the collecting batch, pending or, when quiet, silenced.
 */
static void
push_notification_kind(struct alerting *al, const char *id,
    uint64_t alert_id, const char *receiver, const char *kind, char *body,
    int quiet)
{
	struct store_notification *n;

	if (body == NULL || batch_grow_notifs(&al->batch) == -1) {
		free(body);
		log_warnx("alerting: out of memory for a notification");
		return;
	}
	n = &al->batch.notifs[al->batch.nnotifs];
	n->id = strdup(id);
	n->alert_id = alert_id;
	n->receiver = strdup(receiver);
	n->kind = strdup(kind);
	n->body = body;
	n->state = strdup(quiet ? "silenced" : "pending");
	if (quiet) {
		const char *labels[2] = { receiver, "silenced" };

		metrics_inc(cw_metrics, M_NOTIFICATIONS, labels, 1);
	}
	batch_push_notif(&al->batch, !quiet);
}

static void
push_notification(struct alerting *al, const char *id, uint64_t alert_id,
    const char *receiver, enum alert_event ev, char *body, int quiet)
{
	push_notification_kind(al, id, alert_id, receiver,
	    alert_event_name(ev), body, quiet);
}

/* ---- Slack messages ---- */

static struct slack_msg *
msg_find(struct alerting *al, uint64_t alert_id, const char *receiver)
{
	size_t i;

	for (i = 0; i < al->nmsgs; i++)
		if (al->msgs[i].alert_id == alert_id &&
		    strcmp(al->msgs[i].receiver, receiver) == 0)
			return &al->msgs[i];
	return NULL;
}

static void
msg_set(struct alerting *al, uint64_t alert_id, const char *receiver,
    const char *channel, const char *ts)
{
	struct slack_msg *m;

	if ((m = msg_find(al, alert_id, receiver)) == NULL) {
		if ((m = realloc(al->msgs, (al->nmsgs + 1) * sizeof(*m))) ==
		    NULL)
			return;
		al->msgs = m;
		m = &al->msgs[al->nmsgs];
		memset(m, 0, sizeof(*m));
		if ((m->receiver = strdup(receiver)) == NULL)
			return;
		m->alert_id = alert_id;
		al->nmsgs++;
	}
	snprintf(m->channel, sizeof(m->channel), "%s", channel);
	snprintf(m->ts, sizeof(m->ts), "%s", ts);
}

/* The alert is over: its messages will not change again. */
static void
msg_drop_alert(struct alerting *al, uint64_t alert_id)
{
	size_t i;

	for (i = 0; i < al->nmsgs; ) {
		if (al->msgs[i].alert_id == alert_id) {
			free(al->msgs[i].receiver);
			al->msgs[i] = al->msgs[--al->nmsgs];
		} else
			i++;
	}
}

static void
post_add(struct alerting *al, const char *id, uint64_t alert_id)
{
	struct slack_post *p;

	if (al->nposts >= SLACK_POSTS_MAX)
		return;		/* the message is then not updated */
	if ((p = realloc(al->posts, (al->nposts + 1) * sizeof(*p))) == NULL)
		return;
	al->posts = p;
	al->posts[al->nposts].notification = strtoull(id, NULL, 10);
	al->posts[al->nposts++].alert_id = alert_id;
}

/* The alert of a post waiting for its answer (and forget it); 0: none. */
static uint64_t
post_take(struct alerting *al, uint64_t notification)
{
	uint64_t alert_id;
	size_t i;

	for (i = 0; i < al->nposts; i++)
		if (al->posts[i].notification == notification) {
			alert_id = al->posts[i].alert_id;
			al->posts[i] = al->posts[--al->nposts];
			return alert_id;
		}
	return 0;
}

/*
 * What a notification of alert t of account a says (ev: the event; r:
 * its signal's result or NULL; out: every active signal).  The view
 * points into a, t, r and the buffers given; *evidence is the caller's
 * to free.
 */
static void
view_build(struct alerting *al, const struct account *a,
    const struct alert *t, enum alert_event ev, const struct sig_result *r,
    const char *explanation, const struct sig_result *out, int nout,
    int64_t now, struct notify_view *v, char fp[17],
    char decomposition[SCORE_TEXT_MAX], char **evidence)
{
	const struct cw_config *cfg = al->cfg;
	struct score_item prev[SIG__COUNT];
	struct score_breakdown bd;
	int rdays;

	rdays = account_renewal_days(a, cfg->alerts.renewal_window, now);
	score_explain(prev, account_prev_items(a, prev), out, (size_t)nout,
	    &bd, decomposition, SCORE_TEXT_MAX);
	alert_fingerprint(a->id, t->signal, fp);
	*evidence = evidence_json(r, a->score,
	    score_status_name(score_status(a->score)));

	memset(v, 0, sizeof(*v));
	v->kind = ev == AE_RESOLVE ? "resolved" : "firing";
	v->alert_id = t->id;
	v->fingerprint = fp;
	v->account.id = a->id;
	v->account.name = a->name;
	v->account.owner = a->owner;
	v->account.segment = a->segment;
	v->account.slack_channel = a->slack_channel;
	v->signal.name = alert_signal_name(t->signal);
	v->signal.category = alert_category_name(t->signal);
	v->signal.tier = t->signal < SIG__COUNT ? signal_tier(t->signal) : 0;
	v->signal.severity = severity_name(t->severity);
	v->explanation = explanation;
	v->evidence_json = *evidence;
	v->health.score = a->score;
	v->health.status = score_status_name(score_status(a->score));
	v->health.decomposition = decomposition;
	v->started_at = t->started_at;
	v->resolved_at = t->resolved_at;
	/* health_degraded carries the play of the status it fell to. */
	v->play = t->signal < SIG__COUNT ? signal_play(&cfg->signals,
	    t->signal) : config_health_play(cfg, (int)score_status(a->score));
	v->repeat = ev == AE_REPEAT;
	v->escalated = ev == AE_ESCALATE;
	v->acked = t->acked_at != 0;
	if (rdays >= 0) {
		v->renewal_at = a->renewal_at;
		v->renewal_days = rdays;
	}
}

/*
 * The receivers of an alert of account a with facts f: the routes'
 * (SPEC 5), then the account owner's [owner:NAME] receivers not already
 * there.  Returns how many were put in rcv.
 */
static size_t
alert_receivers(const struct cw_config *cfg, const struct account *a,
    const struct alert_facts *f, const char **rcv, size_t max)
{
	const struct cw_owner *owner = config_find_owner(cfg, a->owner);
	char **o;
	size_t n, i;

	n = alert_route(cfg->routes, cfg->nroutes, f, rcv, max);
	for (o = owner != NULL ? owner->receivers : NULL;
	    o != NULL && *o != NULL && n < max; o++) {
		for (i = 0; i < n && strcmp(rcv[i], *o) != 0; i++)
			;
		if (i == n)
			rcv[n++] = *o;
	}
	return n;
}

/* Where a slack-app receiver posts an account's alert. */
static const char *
alert_channel(const struct cw_config *cfg, const struct account *a,
    const struct cw_receiver *rc)
{
	const struct cw_owner *owner = config_find_owner(cfg, a->owner);

	/* The account's channel, the owner's, the receiver's own. */
	if (a->slack_channel != NULL)
		return a->slack_channel;
	if (owner != NULL && owner->slack_channel != NULL)
		return owner->slack_channel;
	return rc->channel;
}

/* Route, render and record the notifications of one alert event. */
static void
record_notifications(struct alerting *al, const struct account *a,
    const struct alert *t, enum alert_event ev, const struct sig_result *r,
    const char *explanation, const struct sig_result *out, int nout,
    int64_t now)
{
	char decomposition[SCORE_TEXT_MAX];
	const struct cw_config *cfg = al->cfg;
	const char *rcv[RECEIVERS_MAX];
	const struct cw_receiver *rc;
	const struct receiver_type *rt;
	const struct slack_msg *m;
	struct alert_facts f;
	struct notify_view v;
	char id[24], fp[17], *evidence, *body;
	size_t i, nr;
	int quiet, rdays;

	rdays = account_renewal_days(a, cfg->alerts.renewal_window, now);
	memset(&f, 0, sizeof(f));
	f.category = alert_category_name(t->signal);
	f.severity = severity_name(t->severity);
	f.signal = alert_signal_name(t->signal);
	f.segment = a->segment;
	f.owner = a->owner;
	f.renewal = rdays >= 0 ? "true" : "false";
	nr = alert_receivers(cfg, a, &f, rcv, RECEIVERS_MAX);
	if (nr == 0) {
		if (ev == AE_RESOLVE)
			msg_drop_alert(al, t->id);
		return;
	}
	quiet = silenced(al, a->id, &f, now);
	view_build(al, a, t, ev, r, explanation, out, nout, now, &v, fp,
	    decomposition, &evidence);

	for (i = 0; i < nr; i++) {
		if ((rc = config_find_receiver(cfg, rcv[i])) == NULL)
			continue;
		rt = receiver_type_get(rc->type);
		snprintf(id, sizeof(id), "%" PRIu64, alert_new_id(al, now));
		v.notification_id = id;
		v.channel = alert_channel(cfg, a, rc);
		v.message_ts = NULL;
		/* The resolve updates the message the alert made. */
		if (rt->receipt && ev == AE_RESOLVE &&
		    (m = msg_find(al, t->id, rc->name)) != NULL) {
			v.channel = m->channel;
			v.message_ts = m->ts;
		}
		body = rt->render_alert(&v);
		if (rt->receipt && body != NULL && v.message_ts == NULL &&
		    !quiet)
			post_add(al, id, t->id);
		push_notification(al, id, t->id, rc->name, ev, body, quiet);
	}
	if (ev == AE_RESOLVE)
		msg_drop_alert(al, t->id);
	free(evidence);
}

/*
 * Update in place the Slack messages of alert t of account a (an ack or
 * a snooze): note says what happened ("Acknowledged by bob").  Renders
 * with the account as it is now.
 */
static void
slack_update(struct alerting *al, struct account_table *table,
    struct account *a, const struct alert *t, const char *note, int64_t now)
{
	struct sig_result out[SIG__COUNT];
	const struct sig_result *r = NULL;
	char decomposition[SCORE_TEXT_MAX], id[24], fp[17], *evidence;
	const struct cw_receiver *rc;
	const struct receiver_type *rt;
	struct notify_view v;
	size_t i;
	int n, j, changed;

	for (i = 0; i < al->nmsgs && al->msgs[i].alert_id != t->id; i++)
		;
	if (i == al->nmsgs)
		return;		/* no message of this alert */
	n = account_evaluate(a, &al->cfg->signals, table->data_since, now,
	    out, &changed);
	(void)account_table_rank(table, a);
	for (j = 0; j < n; j++)
		if ((int)out[j].id == t->signal)
			r = &out[j];
	view_build(al, a, t, AE_FIRE, r, r != NULL ? r->explanation :
	    "health status", out, n, now, &v, fp, decomposition, &evidence);
	v.status_note = note;
	for (i = 0; i < al->nmsgs; i++) {
		if (al->msgs[i].alert_id != t->id ||
		    (rc = config_find_receiver(al->cfg,
		    al->msgs[i].receiver)) == NULL ||
		    !(rt = receiver_type_get(rc->type))->receipt)
			continue;
		snprintf(id, sizeof(id), "%" PRIu64, alert_new_id(al, now));
		v.notification_id = id;
		v.channel = al->msgs[i].channel;
		v.message_ts = al->msgs[i].ts;
		push_notification_kind(al, id, t->id, rc->name, "update",
		    rt->render_alert(&v), 0);
	}
	free(evidence);
	if (!event_pending(al->ev_flush, EV_TIMEOUT, NULL))
		event_active(al->ev_flush, EV_TIMEOUT, 1);
}

/* ---- stepping ---- */

/*
 * End the silences with expire_on_resolve that match a resolved alert
 * (of account a; NULL: a portfolio alert).
 */
static void
silences_resolved(struct alerting *al, const struct account *a,
    const struct alert *t, int64_t now)
{
	struct alert_facts f;
	size_t i;

	memset(&f, 0, sizeof(f));
	f.category = alert_category_name(t->signal);
	f.severity = severity_name(t->severity);
	f.signal = alert_signal_name(t->signal);
	f.segment = a != NULL ? a->segment : NULL;
	f.owner = a != NULL ? a->owner : NULL;
	for (i = 0; i < al->nsilences; i++) {
		struct alert_silence *s = &al->silences[i];

		if (s->expire_on_resolve && s->ended_at == 0 &&
		    alert_silenced(s, a != NULL ? a->id : "", &f, now)) {
			s->ended_at = now;
			store_silence_end(al->store, s->id);
		}
	}
}

/* Forget resolutions older than a day (they left the digest's view). */
static void
resolved_prune(struct alerting *al, int64_t now)
{
	size_t i = 0, k;

	/* Expired ones; at the bound, the oldest quarter too. */
	while (i < al->nresolved && (al->resolved[i].at < now -
	    CW_USEC_PER_DAY || al->nresolved - i > RESOLVED_MAX / 4 * 3))
		free(al->resolved[i++].account);
	if (i == 0)
		return;
	for (k = i; k < al->nresolved; k++)
		al->resolved[k - i] = al->resolved[k];
	al->nresolved -= i;
}

static void
resolved_add(struct alerting *al, const char *account, int signal,
    int64_t now)
{
	struct resolved_rec *r;

	if (al->nresolved >= RESOLVED_MAX)
		resolved_prune(al, now);
	if (util_grow((void **)&al->resolved, &al->capresolved,
	    al->nresolved, sizeof(*r)) == -1)
		return;
	r = &al->resolved[al->nresolved];
	if ((r->account = strdup(account)) == NULL)
		return;
	r->signal = signal;
	r->at = now;
	al->nresolved++;
}

/* account_alerts_step()'s callbacks: the daemon's side of a change. */
struct step_ctx {
	struct alerting		*al;
	const struct sig_result	*out;
	int			 n;
	int64_t			 now;
};

static uint64_t
step_new_id(void *arg, int64_t now)
{
	struct step_ctx *c = arg;

	return alert_new_id(c->al, now);
}

static int
step_changed(void *arg, struct account *a, struct alert *t,
    enum alert_event ev, const struct sig_result *r, const char *explanation)
{
	struct step_ctx *c = arg;
	struct alerting *al = c->al;
	int64_t now = c->now;

	if (record_row(al, a->id, NULL, t, explanation) == -1) {
		log_warnx("alerting: out of memory");
		return -1;
	}
	if (ev == AE_FIRE || ev == AE_RESOLVE) {
		const char *labels[2] = { alert_signal_name(t->signal),
		    ev == AE_FIRE ? "firing" : "resolved" };

		metrics_inc(cw_metrics, M_ALERTS, labels, 1);
		if (ev == AE_FIRE && a->last_event_at != 0 &&
		    now - a->last_event_at < 600 * CW_USEC_PER_SEC)
			metrics_observe(cw_metrics, M_EVENT_TO_ALERT_SECONDS,
			    NULL, (double)(now - a->last_event_at) / 1e6);
	}
	if (ev != AE_NONE)
		record_notifications(al, a, t, ev, r, explanation, c->out,
		    c->n, now);
	if (ev == AE_RESOLVE) {
		silences_resolved(al, a, t, now);
		if (t->signal < SIG__COUNT)
			resolved_add(al, a->id, t->signal, now);
	}
	return 0;
}

void
alerting_evaluated(struct alerting *al, struct account *a,
    const struct sig_result *out, int n, int64_t now)
{
	struct step_ctx c = { al, out, n, now };
	struct account_alert_ops ops = { step_new_id, step_changed, &c };
	int rc;

	/*
	 * Settling (SPEC 5, "Only true alerts"): while back-filled events
	 * still arrive, the state is computed but no alert is stepped; the
	 * engine evaluates the account again once it has settled, and only
	 * what is still active then fires.
	 */
	if (a->settle_until > now)
		return;
	/* -1: a new alert found no memory; others may have changed. */
	if ((rc = account_alerts_step(a, &al->cfg->alerts, out, n, now,
	    &ops)) == -1)
		log_warnx("alerting: out of memory for an alert account=%s",
		    a->id);
	if (rc != 0 && !event_pending(al->ev_flush, EV_TIMEOUT, NULL))
		event_active(al->ev_flush, EV_TIMEOUT, 1);
}

/* ---- portfolio trends ---- */

#define PF_EXPLAIN_IDS	10	/* accounts an explanation names */

static void
pf_members_clear(struct pf_alert *p)
{
	size_t i;

	for (i = 0; i < p->nmembers; i++)
		free(p->members[i].id);
	free(p->members);
	p->members = NULL;
	p->nmembers = 0;
}

/* p's accounts are now those of tr (NULL: none). */
static void
pf_members_set(struct pf_alert *p, const struct portfolio_trend *tr)
{
	struct pf_member *m;
	size_t i, n = tr != NULL ? tr->nmembers : 0;

	pf_members_clear(p);
	if (n == 0 || (m = calloc(n, sizeof(*m))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if ((m[i].id = strdup(tr->members[i].account_id)) == NULL)
			break;
		m[i].count = tr->members[i].count;
	}
	p->members = m;
	p->nmembers = i;
}

static void
pf_free(struct pf_alert *p)
{
	pf_members_clear(p);
	free(p->key);
	free(p->explanation);
}

static struct pf_alert *
pf_find(struct alerting *al, const char *key)
{
	size_t i;

	for (i = 0; i < al->npf; i++)
		if (strcmp(al->pf[i].key, key) == 0)
			return &al->pf[i];
	return NULL;
}

static struct pf_alert *
pf_add(struct alerting *al, const char *key, const struct alert *t)
{
	struct pf_alert *p;

	if ((p = realloc(al->pf, (al->npf + 1) * sizeof(*p))) == NULL)
		return NULL;
	al->pf = p;
	p = &al->pf[al->npf];
	memset(p, 0, sizeof(*p));
	if ((p->key = strdup(key)) == NULL)
		return NULL;
	p->a = *t;
	al->npf++;
	return p;
}

/*
 * "\"budget\" remarks at 6 accounts in the last 14 days (threshold 5):
 * acme, beta, ..." -- the ids of the first PF_EXPLAIN_IDS accounts, then
 * how many more.
 */
static void
pf_explain(const struct pf_alert *p, const struct cw_portfolio *pc,
    char *buf, size_t len)
{
	const char *value = strchr(p->key, ':');
	size_t i, at;
	int n;

	value = value != NULL ? value + 1 : p->key;
	n = snprintf(buf, len, "\"%s\" %s at %zu account%s in the last %u "
	    "days (threshold %u)", value, portfolio_kind_parse(p->key) ==
	    PF_VOICE_RISK ? "remarks" : "tickets", p->nmembers,
	    p->nmembers == 1 ? "" : "s", pc->days, pc->min_accounts);
	for (i = 0; i < p->nmembers && n >= 0 && (size_t)n < len; i++) {
		at = (size_t)n;
		if (i == PF_EXPLAIN_IDS) {
			n += snprintf(buf + at, len - at, ", and %zu more",
			    p->nmembers - i);
			break;
		}
		n += snprintf(buf + at, len - at, "%s%s", i == 0 ? ": " : ", ",
		    p->members[i].id);
	}
}

/* Route, render and record the notifications of a portfolio event. */
static void
pf_notifications(struct alerting *al, struct account_table *table,
    const struct pf_alert *p, enum alert_event ev, int64_t now)
{
	const struct cw_config *cfg = al->cfg;
	struct notify_portfolio_account *acc = NULL;
	const char *rcv[RECEIVERS_MAX];
	const struct cw_receiver *rc;
	const struct account *a;
	struct notify_portfolio v;
	struct alert_facts f;
	char id[24], fp[17], kind[32];
	size_t i, nr;
	int quiet;

	memset(&f, 0, sizeof(f));
	f.category = alert_category_name(ALERT_PORTFOLIO);
	f.severity = severity_name(p->a.severity);
	f.signal = alert_signal_name(ALERT_PORTFOLIO);
	f.renewal = "false";		/* no account, no renewal */
	if ((nr = alert_route(cfg->routes, cfg->nroutes, &f, rcv,
	    RECEIVERS_MAX)) == 0)
		return;
	quiet = silenced(al, "", &f, now);
	if (p->nmembers > 0 &&
	    (acc = calloc(p->nmembers, sizeof(*acc))) == NULL) {
		log_warnx("alerting: out of memory for a notification");
		return;
	}
	for (i = 0; i < p->nmembers; i++) {
		acc[i].id = p->members[i].id;
		acc[i].count = p->members[i].count;
		if ((a = account_find(table, acc[i].id)) != NULL)
			acc[i].name = a->name;
	}
	alert_fingerprint(p->key, ALERT_PORTFOLIO, fp);
	snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(p->key, ":"),
	    p->key);
	memset(&v, 0, sizeof(v));
	v.kind = ev == AE_RESOLVE ? "resolved" : "firing";
	v.alert_id = p->a.id;
	v.fingerprint = fp;
	v.key = p->key;
	v.key_kind = kind;
	v.key_value = p->key + strlen(kind) + (p->key[strlen(kind)] == ':');
	v.severity = f.severity;
	v.explanation = p->explanation;
	v.accounts = acc;
	v.naccounts = p->nmembers;
	v.min_accounts = cfg->portfolio.min_accounts;
	v.days = cfg->portfolio.days;
	v.started_at = p->a.started_at;
	v.resolved_at = p->a.resolved_at;
	v.play = config_portfolio_play(cfg);
	v.repeat = ev == AE_REPEAT;
	for (i = 0; i < nr; i++) {
		if ((rc = config_find_receiver(cfg, rcv[i])) == NULL)
			continue;
		snprintf(id, sizeof(id), "%" PRIu64, alert_new_id(al, now));
		v.notification_id = id;
		v.channel = rc->channel;
		push_notification(al, id, p->a.id, rc->name, ev,
		    receiver_type_get(rc->type)->render_portfolio(&v), quiet);
	}
	free(acc);
}

/*
 * One step of the alert of key: tr is its trend now (NULL: no account
 * has it), p its open alert (NULL: none).  The row is rewritten when the
 * state or the explanation (the accounts) changed.
 */
static void
pf_step(struct alerting *al, struct account_table *table,
    struct pf_alert *p, const char *key, const struct portfolio_trend *tr,
    int64_t now)
{
	const struct cw_portfolio *pc = &al->cfg->portfolio;
	struct alert tmp, before;
	enum alert_event ev;
	char explanation[2048];
	int active, changed;

	active = pc->enabled && tr != NULL && tr->nmembers >= pc->min_accounts;
	if (p == NULL && !active)
		return;
	if (p != NULL)
		tmp = p->a;
	else {
		memset(&tmp, 0, sizeof(tmp));
		tmp.state = ALERT_RESOLVED;
		tmp.signal = ALERT_PORTFOLIO;
	}
	before = tmp;
	ev = alert_step(&tmp, &al->cfg->alerts, active, pc->severity, now);
	if (ev == AE_FIRE) {
		tmp.id = alert_new_id(al, now);
		tmp.row_gen = 0;
		if (p == NULL && (p = pf_add(al, key, &tmp)) == NULL) {
			log_warnx("alerting: out of memory");
			return;
		}
	}
	p->a = tmp;
	if (tr != NULL)
		p->round = al->pf_round;
	pf_members_set(p, tr);
	pf_explain(p, pc, explanation, sizeof(explanation));
	changed = ev != AE_NONE || memcmp(&before, &tmp, sizeof(tmp)) != 0 ||
	    p->explanation == NULL || strcmp(p->explanation, explanation) != 0;
	if (!changed)
		return;
	free(p->explanation);
	p->explanation = strdup(explanation);
	if (p->explanation == NULL ||
	    record_row(al, "", p->key, &p->a, explanation) == -1) {
		log_warnx("alerting: out of memory");
		return;
	}
	if (ev == AE_FIRE || ev == AE_RESOLVE) {
		const char *labels[2] = { alert_signal_name(ALERT_PORTFOLIO),
		    ev == AE_FIRE ? "firing" : "resolved" };

		metrics_inc(cw_metrics, M_ALERTS, labels, 1);
		log_info("alerting: portfolio %s key=%s accounts=%zu",
		    ev == AE_FIRE ? "fires" : "resolves", p->key,
		    p->nmembers);
	}
	if (ev != AE_NONE)
		pf_notifications(al, table, p, ev, now);
	if (ev == AE_RESOLVE)
		silences_resolved(al, NULL, &p->a, now);
	if (p->a.state == ALERT_RESOLVED) {
		pf_free(p);
		*p = al->pf[--al->npf];
	}
	if (!event_pending(al->ev_flush, EV_TIMEOUT, NULL))
		event_active(al->ev_flush, EV_TIMEOUT, 1);
}

void
alerting_portfolio(struct alerting *al, struct account_table *table,
    const struct portfolio_trend *tr, size_t n, int64_t now)
{
	char key[PORTFOLIO_KEY_MAX];
	struct pf_alert *p;
	size_t i;

	al->pf_round++;
	for (i = 0; i < n; i++) {
		portfolio_key_name(tr[i].kind, tr[i].value, key, sizeof(key));
		p = pf_find(al, key);
		if (p != NULL)
			p->round = al->pf_round;
		/*
		 * Settling (SPEC 5): an account with back-filled events
		 * still arriving has this key; its alert waits until every
		 * one has settled, like an account's own alerts.
		 */
		if (tr[i].settling)
			continue;
		pf_step(al, table, p, key, &tr[i], now);
	}
	/* Keys no account has any more.  (pf_step may move the last one
	 * into a resolved one's place: walk down.) */
	for (i = al->npf; i-- > 0; )
		if (al->pf[i].round != al->pf_round)
			pf_step(al, table, &al->pf[i], al->pf[i].key, NULL,
			    now);
}

/* ---- writing, then sending ---- */

static void
alerts_written_cb(enum store_status st, void *arg)
{
	struct alerting *al = arg;
	struct batch *b = &al->inflight;
	struct timeval tv = { 1, 0 };
	size_t i;

	al->writing = 0;
	if (st != STORE_OK) {
		/*
		 * Nothing was stored and nothing is sent.  Put the rows back
		 * in front of what collected meanwhile (later rows of the same
		 * alert stay after, so the newest state is written last).
		 */
		log_warnx("alerting: storing failed, retrying alerts=%zu "
		    "notifications=%zu", b->nrows, b->nnotifs);
		evtimer_add(al->ev_retry, &tv);
		return;
	}
	log_debug("alerting: stored alerts=%zu notifications=%zu", b->nrows,
	    b->nnotifs);
	for (i = 0; i < b->nnotifs; i++)
		if (b->send[i] && outbox_send(al->outbox,
		    strtoull(b->notifs[i].id, NULL, 10), b->notifs[i].receiver,
		    b->notifs[i].body) == -1)
			store_notification_done(al->store, b->notifs[i].id, 0,
			    0, "receiver no longer configured");
	batch_clear(b);
	alerting_flush(al);
}

static void
alerting_flush(struct alerting *al)
{
	struct timeval retry_tv = { 1, 0 };

	if (al->writing)
		return;
	if (al->inflight.nrows == 0 && al->inflight.nnotifs == 0) {
		if (al->batch.nrows == 0 && al->batch.nnotifs == 0)
			return;
		/* The collecting batch (or its oldest part) goes on the
		 * wire. */
		switch (batch_take(&al->inflight, &al->batch)) {
		case 1:
			al->gen++;
			break;
		case -1:
			log_warnx("alerting: out of memory taking a batch");
			evtimer_add(al->ev_retry, &retry_tv);
			return;
		}
	}
	al->writing = 1;
	if (store_alerts(al->store, al->inflight.rows, al->inflight.nrows,
	    al->inflight.notifs, al->inflight.nnotifs, alerts_written_cb,
	    al) == -1)
		alerts_written_cb(STORE_UNAVAILABLE, al);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	alerting_flush(arg);
}

/*
 * A failed batch is retried as it was; rows of the same alert collected
 * meanwhile are written after it, so the newest state wins.
 */
static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	alerting_flush(arg);
}

/* ---- delivery results ---- */

static void
outbox_done_cb(void *arg, uint64_t id, const char *receiver,
    enum outbox_result res, int attempts, const char *detail)
{
	struct alerting *al = arg;
	char sid[24];

	const char *labels[2] = { receiver,
	    res == OUTBOX_SENT ? "sent" : "failed" };

	snprintf(sid, sizeof(sid), "%" PRIu64, id);
	if (strcmp(receiver, SLACK_RESPONSE_RECEIVER) == 0) {
		/* Not an outbox row: an answer to a Slack user. */
		if (res != OUTBOX_SENT)
			log_warnx("alerting: a Slack response_url answer "
			    "failed: %s", detail);
		return;
	}
	(void)post_take(al, id);		/* a failed post */
	metrics_inc(cw_metrics, M_NOTIFICATIONS, labels, 1);
	if (attempts > 1) {
		labels[1] = "retried";
		metrics_inc(cw_metrics, M_NOTIFICATIONS, labels,
		    (double)(attempts - 1));
	}
	store_notification_done(al->store, sid, res == OUTBOX_SENT, attempts,
	    detail);
}

/* chat.postMessage answered: remember the message for its alert. */
static void
outbox_receipt_cb(void *arg, uint64_t id, const char *receiver,
    const char *reply)
{
	struct alerting *al = arg;
	struct slack_reply r;
	uint64_t alert_id;
	char sid[24];

	alert_id = post_take(al, id);
	if (slack_reply_parse(reply, &r) == -1 || !r.ok || r.ts[0] == '\0' ||
	    r.channel[0] == '\0')
		return;
	if (alert_id != 0)
		msg_set(al, alert_id, receiver, r.channel, r.ts);
	snprintf(sid, sizeof(sid), "%" PRIu64, id);
	store_slack_message(al->store, sid, receiver, r.channel, r.ts);
}

static void
receivers_apply(struct alerting *al)
{
	struct outbox_receiver r[64];
	const struct cw_receiver *c;
	size_t i, n = 0;

	for (i = 0; i < al->cfg->nreceivers && n < 64; i++) {
		c = &al->cfg->receivers[i];
		memset(&r[n], 0, sizeof(r[n]));
		r[n].name = c->name;
		r[n].kind = (enum outbox_kind)c->type;
		r[n].url = c->url;
		r[n].secret = c->secret;
		r[n].timeout_s = c->timeout;
		r[n].rate = c->rate;
		r[n].burst = c->burst;
		r[n].group_wait = c->group_wait_set ? c->group_wait :
		    al->cfg->group_wait;
		r[n].group_max = c->group_max_set ? c->group_max :
		    al->cfg->group_max;
		n++;
	}
	/* Answers to Slack's interactions and commands. */
	if (al->cfg->slack.signing_secret != NULL && n < 64) {
		memset(&r[n], 0, sizeof(r[n]));
		r[n].name = SLACK_RESPONSE_RECEIVER;
		r[n].kind = OUTBOX_SLACK_RESPONSE;
		r[n].url = al->cfg->slack.api_url;
		r[n].timeout_s = 5;
		r[n].rate = -1;
		n++;
	}
	outbox_set_receivers(al->outbox, r, n);
}

/* ---- life cycle ---- */

struct alerting *
alerting_new(struct event_base *base, struct store *store,
    const struct cw_config *cfg)
{
	struct outbox_ops ops;
	struct alerting *al;

	if ((al = calloc(1, sizeof(*al))) == NULL)
		return NULL;
	al->base = base;
	al->store = store;
	al->gen = 1;
	ops.done = outbox_done_cb;
	ops.receipt = outbox_receipt_cb;
	ops.arg = al;
	if ((al->outbox = outbox_new(base, &ops)) == NULL) {
		free(al);
		return NULL;
	}
	al->ev_flush = event_new(base, -1, 0, flush_cb, al);
	al->ev_retry = evtimer_new(base, retry_cb, al);
	al->ev_tick = evtimer_new(base, tick_cb, al);
	al->ev_digest = evtimer_new(base, digest_cb, al);
	alerting_set_config(al, cfg);
	return al;
}

void
alerting_set_config(struct alerting *al, const struct cw_config *cfg)
{
	al->cfg = cfg;
	receivers_apply(al);
	if (al->table != NULL)
		schedule_digest(al, util_now_us());
}

static void
silence_free(struct alert_silence *s)
{
	free(s->account_id);
	free(s->signal);
	free(s->category);
}

void
alerting_free(struct alerting *al)
{
	size_t i;

	if (al == NULL)
		return;
	outbox_free(al->outbox);
	event_free(al->ev_flush);
	event_free(al->ev_retry);
	event_free(al->ev_tick);
	event_free(al->ev_digest);
	batch_free(&al->batch);
	batch_free(&al->inflight);
	for (i = 0; i < al->nsilences; i++)
		silence_free(&al->silences[i]);
	free(al->silences);
	for (i = 0; i < al->npf; i++)
		pf_free(&al->pf[i]);
	free(al->pf);
	for (i = 0; i < al->nloaded; i++) {
		free(al->loaded_ids[i]);
		free(al->loaded_receivers[i]);
		free(al->loaded_bodies[i]);
	}
	free(al->loaded_ids);
	free(al->loaded_receivers);
	free(al->loaded_bodies);
	for (i = 0; i < al->nmsgs; i++)
		free(al->msgs[i].receiver);
	free(al->msgs);
	free(al->posts);
	for (i = 0; i < al->nresolved; i++)
		free(al->resolved[i].account);
	free(al->resolved);
	free(al);
}

size_t
alerting_backlog(const struct alerting *al)
{
	return outbox_queued(al->outbox);
}

/*
 * A silence ended: every alert it held back that still fires is sent now,
 * unless another silence still holds it.
 */
static void
silence_ended(struct alerting *al, struct account_table *t,
    const struct alert_silence *s, int64_t now)
{
	struct sig_result out[SIG__COUNT];
	const struct sig_result *r;
	struct alert_facts f;
	struct account *a;
	struct alert *x;
	size_t i, from = 0, to = t->count;
	int k, j, n, changed;

	/* Portfolio alerts: held only by silences that name no account. */
	for (k = 0; s->account_id == NULL && (size_t)k < al->npf; k++) {
		x = &al->pf[k].a;
		if (x->state != ALERT_FIRING)
			continue;
		memset(&f, 0, sizeof(f));
		f.category = alert_category_name(x->signal);
		f.severity = severity_name(x->severity);
		f.signal = alert_signal_name(x->signal);
		f.renewal = "false";
		if (!alert_silenced(s, "", &f, s->ended_at != 0 ?
		    s->ended_at - 1 : s->until - 1) || silenced(al, "", &f, now))
			continue;
		x->last_notified = now;
		if (record_row(al, "", al->pf[k].key, x,
		    al->pf[k].explanation != NULL ? al->pf[k].explanation :
		    "") == 0)
			pf_notifications(al, t, &al->pf[k], AE_FIRE, now);
	}
	if (s->account_id != NULL) {
		if ((a = account_find(t, s->account_id)) == NULL)
			return;
		for (from = 0; from < t->count && t->all[from] != a; from++)
			;
		to = from + 1;
	}
	for (i = from; i < to && i < t->count; i++) {
		a = t->all[i];
		for (k = 0; k < a->nalerts; k++) {
			x = &a->alerts[k];
			if (x->state != ALERT_FIRING)
				continue;
			memset(&f, 0, sizeof(f));
			f.category = alert_category_name(x->signal);
			f.severity = severity_name(x->severity);
			f.signal = alert_signal_name(x->signal);
			f.segment = a->segment;
			f.owner = a->owner;
			if (!alert_silenced(s, a->id, &f, s->ended_at != 0 ?
			    s->ended_at - 1 : s->until - 1) ||
			    silenced(al, a->id, &f, now))
				continue;
			n = account_evaluate(a, &al->cfg->signals,
			    t->data_since, now, out, &changed);
			(void)account_table_rank(t, a);
			for (r = NULL, j = 0; j < n; j++)
				if ((int)out[j].id == x->signal)
					r = &out[j];
			x->last_notified = now;
			if (record_row(al, a->id, NULL, x, r != NULL ?
			    r->explanation :
			    "health status") == 0)
				record_notifications(al, a, x, AE_FIRE, r,
				    r != NULL ? r->explanation :
				    "health status", out, n, now);
		}
	}
}

static void
schedule_tick(struct alerting *al, int64_t now)
{
	struct timeval tv;
	int64_t next = 0, d;
	size_t i;

	for (i = 0; i < al->nsilences; i++)
		if (al->silences[i].ended_at == 0 &&
		    (next == 0 || al->silences[i].until < next))
			next = al->silences[i].until;
	if (next == 0) {
		evtimer_del(al->ev_tick);
		return;
	}
	d = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(d / CW_USEC_PER_SEC);
	tv.tv_usec = (suseconds_t)(d % CW_USEC_PER_SEC) + 1000;
	evtimer_add(al->ev_tick, &tv);
}

void
alerting_tick(struct alerting *al, struct account_table *t, int64_t now)
{
	struct alert_silence s;
	size_t i;

	al->table = t;
	for (i = 0; i < al->nsilences; ) {
		if (al->silences[i].ended_at != 0 ||
		    al->silences[i].until <= now) {
			s = al->silences[i];
			al->silences[i] = al->silences[--al->nsilences];
			silence_ended(al, t, &s, now);
			silence_free(&s);
		} else
			i++;
	}
	schedule_tick(al, now);
	alerting_flush(al);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct alerting *al = arg;

	if (al->table != NULL)
		alerting_tick(al, al->table, util_now_us());
}

/* ---- recovery ---- */

/* A portfolio alert read back: its key's alert, until the next sweep. */
/* An alert as a stored row says (recovery). */
static void
alert_from_row(struct alert *x, const struct store_alert *r, int sig,
    int st, int sev, int64_t acked_at)
{
	memset(x, 0, sizeof(*x));
	x->id = r->id;
	x->signal = sig;
	x->state = (enum alert_state)st;
	x->severity = (enum sig_severity)sev;
	x->started_at = r->started_at;
	x->inactive_since = r->inactive_since;
	x->resolved_at = r->resolved_at;
	x->last_notified = r->last_notified;
	x->acked_at = acked_at;
}

static void
load_portfolio(struct alerting *al, const struct store_alert *r, int st,
    int sev, int64_t acked_at)
{
	struct pf_alert *p;
	struct alert x;

	if (r->key == NULL || portfolio_kind_parse(r->key) == -1 ||
	    pf_find(al, r->key) != NULL)
		return;
	alert_from_row(&x, r, ALERT_PORTFOLIO, st, sev, acked_at);
	if ((p = pf_add(al, r->key, &x)) != NULL && r->explanation != NULL)
		p->explanation = strdup(r->explanation);
	if (x.id > al->last_id)
		al->last_id = x.id;
}

void
alerting_load_alert(struct alerting *al, struct account_table *t,
    const struct store_alert *r, int64_t acked_at)
{
	struct account *a;
	struct alert x;
	int sig, st, sev;

	if ((sig = alert_signal_find(r->signal)) == -1 ||
	    (st = alert_state_parse(r->state)) == -1 ||
	    (sev = severity_parse(r->severity)) == -1)
		return;
	if (st == ALERT_RESOLVED) {
		/* Resolved within the last day: the digest's "since
		 * yesterday" outlives a restart. */
		if (sig != ALERT_PORTFOLIO && r->account_id != NULL &&
		    r->account_id[0] != '\0' && r->resolved_at != 0)
			resolved_add(al, r->account_id, sig, r->resolved_at);
		return;
	}
	if (sig == ALERT_PORTFOLIO) {
		load_portfolio(al, r, st, sev, acked_at);
		return;
	}
	if ((a = account_get(t, r->account_id)) == NULL)
		return;
	alert_from_row(&x, r, sig, st, sev, acked_at);
	/* Assume a renewal escalation due before the restart was sent. */
	x.renewal = x.state == ALERT_FIRING && x.severity == SEV_CRITICAL &&
	    account_renewal_days(a, al->cfg->alerts.renewal_window,
	    util_now_us()) >= 0;
	if (account_alert(a, sig) == NULL)
		account_alert_add(a, &x);
	if (x.id > al->last_id)
		al->last_id = x.id;
}

void
alerting_load_notification(struct alerting *al, const char *id,
    const char *receiver, const char *body)
{
	size_t cap = al->caploaded;

	if (util_grow((void **)&al->loaded_ids, &cap, al->nloaded,
	    sizeof(char *)) == -1)
		return;
	if (cap != al->caploaded) {
		char **r = realloc(al->loaded_receivers, cap * sizeof(char *));
		char **b;

		if (r == NULL)
			return;
		al->loaded_receivers = r;
		if ((b = realloc(al->loaded_bodies, cap * sizeof(char *))) ==
		    NULL)
			return;
		al->loaded_bodies = b;
		al->caploaded = cap;
	}
	/* Keep the id generator ahead of ids made before the restart. */
	if (strtoull(id, NULL, 10) > al->last_id)
		al->last_id = strtoull(id, NULL, 10);
	al->loaded_ids[al->nloaded] = strdup(id);
	al->loaded_receivers[al->nloaded] = strdup(receiver);
	al->loaded_bodies[al->nloaded] = strdup(body);
	al->nloaded++;
}

void
alerting_load_silence(struct alerting *al, uint64_t id,
    const char *account_id, const char *signal, const char *category,
    int64_t until, int expire_on_resolve)
{
	struct alert_silence *s;
	size_t cap = al->nsilences;

	if ((s = realloc(al->silences, (cap + 1) * sizeof(*s))) == NULL)
		return;
	al->silences = s;
	s = &al->silences[al->nsilences++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->account_id = xstrdup(account_id);
	s->signal = xstrdup(signal);
	s->category = xstrdup(category);
	s->until = until;
	s->expire_on_resolve = expire_on_resolve;
}

int
alerting_slack_respond(struct alerting *al, const char *url,
    const char *json)
{
	if (!slack_response_url_ok(url, al->cfg->slack.api_url)) {
		log_warnx("alerting: a Slack response_url that is neither "
		    "hooks.slack.com nor [slack] api_url's host; not posted");
		return -1;
	}
	return outbox_send_url(al->outbox, alert_new_id(al, util_now_us()),
	    SLACK_RESPONSE_RECEIVER, url, json);
}

void
alerting_load_slack_message(struct alerting *al, uint64_t alert_id,
    const char *receiver, const char *channel, const char *ts)
{
	msg_set(al, alert_id, receiver, channel, ts);
}

/* Everything is loaded: the notifications that were pending go out. */
void
alerting_loaded(struct alerting *al, struct account_table *t)
{
	size_t i;

	al->table = t;
	schedule_tick(al, util_now_us());
	schedule_digest(al, util_now_us());
	for (i = 0; i < al->nloaded; i++) {
		if (outbox_send(al->outbox, strtoull(al->loaded_ids[i], NULL,
		    10), al->loaded_receivers[i], al->loaded_bodies[i]) == -1)
			store_notification_done(al->store, al->loaded_ids[i],
			    0, 0, "receiver no longer configured");
		free(al->loaded_ids[i]);
		free(al->loaded_receivers[i]);
		free(al->loaded_bodies[i]);
	}
	if (al->nloaded > 0)
		log_notice("alerting: pending from before the restart "
		    "notifications=%zu", al->nloaded);
	al->nloaded = 0;
}

/* ---- the API ---- */

struct api_call {
	struct alerting		*al;
	struct account_table	*table;
	int			 call;
	alerting_reply		 reply;
	void			*handle;
	struct alert_silence	 silence;	/* SILENCE_CREATE */
	unsigned		 status;	/* a refusal decided at once */
	const char		*code;		/* (static strings) */
	const char		*msg;
	char			*by;		/* Slack: who clicked; or NULL */
	char			*note;		/* Slack: the message's new note */
};

static void
api_fail(struct api_call *c, unsigned status, const char *code,
    const char *msg)
{
	c->reply(c->handle, status, NULL, code, msg);
	silence_free(&c->silence);
	free(c->by);
	free(c->note);
	free(c);
}

static void
api_refuse_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_call *c = arg;

	api_fail(c, c->status, c->code, c->msg);
}

/*
 * A refusal decided inside alerting_api(): answered from the loop, since
 * the caller must not get its reply before alerting_api() returns.
 */
static void
api_refuse(struct api_call *c, unsigned status, const char *code,
    const char *msg)
{
	struct timeval tv = { 0, 0 };

	c->status = status;
	c->code = code;
	c->msg = msg;
	if (event_base_once(c->al->base, -1, EV_TIMEOUT, api_refuse_cb, c,
	    &tv) == -1)
		api_fail(c, status, code, msg);	/* cannot happen */
}

static struct alert *
alert_by_id(struct account *a, uint64_t id)
{
	int i;

	for (i = 0; i < a->nalerts; i++)
		if (a->alerts[i].id == id)
			return &a->alerts[i];
	return NULL;
}

static void
api_done_cb(enum store_status st, const char *json, void *arg)
{
	struct api_call *c = arg;
	struct alerting *al = c->al;
	struct alert_silence *s;
	struct account *a;
	struct alert *t;
	json_error_t jerr;
	json_t *o;
	char *copy;

	if (st != STORE_OK) {
		api_fail(c, 503, "unavailable", "the database is not "
		    "available; retry later");
		return;
	}
	if (json == NULL) {
		api_fail(c, 404, "not_found", c->call == HTTP_API_ALERT_ACK ?
		    "no open alert with this id" : "no active silence with "
		    "this id");
		return;
	}
	o = json_loads(json, 0, &jerr);
	switch (c->call) {
	case HTTP_API_ALERT_ACK:
		/* Stored: acknowledged alerts stop repeating from now on. */
		if (o != NULL && (a = account_find(c->table, json_string_value(
		    json_object_get(o, "account_id")))) != NULL &&
		    (t = alert_by_id(a, strtoull(json_string_value(
		    json_object_get(o, "id")), NULL, 10))) != NULL) {
			char note[256];
			const char *by = json_string_value(json_object_get(o,
			    "acked_by"));

			if (t->acked_at == 0)
				t->acked_at = util_now_us();
			/* The Slack messages show who acknowledged it. */
			snprintf(note, sizeof(note), ":white_check_mark: "
			    "Acknowledged%s%s", by != NULL ? " by " : "",
			    by != NULL ? by : "");
			slack_update(al, c->table, a, t, note, util_now_us());
		}
		break;
	case HTTP_API_SILENCE_CREATE:
		c->silence.id = o != NULL ? strtoull(json_string_value(
		    json_object_get(o, "id")), NULL, 10) : 0;
		s = realloc(al->silences, (al->nsilences + 1) * sizeof(*s));
		if (s != NULL) {
			al->silences = s;
			al->silences[al->nsilences++] = c->silence;
			/* A snooze from Slack: its alerts' messages say so. */
			if (c->note != NULL && c->silence.account_id != NULL &&
			    (a = account_find(c->table,
			    c->silence.account_id)) != NULL) {
				int k;

				for (k = 0; k < a->nalerts; k++)
					if (a->alerts[k].state != ALERT_RESOLVED &&
					    (c->silence.signal == NULL ||
					    strcmp(c->silence.signal,
					    alert_signal_name(
					    a->alerts[k].signal)) == 0))
						slack_update(al, c->table, a,
						    &a->alerts[k], c->note,
						    util_now_us());
			}
			memset(&c->silence, 0, sizeof(c->silence));
			al->table = c->table;
			schedule_tick(al, util_now_us());
		}
		break;
	case HTTP_API_SILENCE_DELETE:
		if (o != NULL) {
			uint64_t id = strtoull(json_string_value(
			    json_object_get(o, "id")), NULL, 10);
			size_t i;

			for (i = 0; i < al->nsilences; i++)
				if (al->silences[i].id == id)
					al->silences[i].ended_at =
					    util_now_us();
			/* Alerts it held back and that still fire: now. */
			alerting_tick(al, c->table, util_now_us());
		}
		break;
	}
	json_decref(o);
	if ((copy = strdup(json)) == NULL) {
		api_fail(c, 500, "internal_error", "out of memory");
		return;
	}
	c->reply(c->handle, c->call == HTTP_API_SILENCE_CREATE ? 201 : 200,
	    copy, NULL, NULL);
	silence_free(&c->silence);
	free(c->by);
	free(c->note);
	free(c);
}

/* Validate a POST /v1/silences body into c->silence; 0 or -1 (replied). */
static int
silence_decode(struct api_call *c, const char *body, size_t len,
    const char **values)
{
	static const char *const keys[] = { "account_id", "signal", "category",
	    "until", "comment", "expire_on_resolve", NULL };
	json_error_t jerr;
	json_t *o, *v;
	const char *k, *err = NULL;
	int64_t until;
	size_t i;

	if ((o = json_loadb(body != NULL ? body : "", len, 0, &jerr)) ==
	    NULL || !json_is_object(o)) {
		json_decref(o);
		api_refuse(c, 400, "invalid_json", "body must be a JSON object");
		return -1;
	}
	json_object_foreach(o, k, v) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
			;
		if (keys[i] == NULL)
			err = "unknown field; known: account_id, signal, "
			    "category, until, comment, expire_on_resolve";
	}
	v = json_object_get(o, "account_id");
	if (err == NULL && v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || json_string_length(v) == 0))
		err = "account_id must be a non-empty string";
	v = json_object_get(o, "signal");
	if (err == NULL && v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) ||
	    alert_signal_find(json_string_value(v)) == -1))
		err = "signal must name a signal, health_degraded or "
		    "portfolio";
	v = json_object_get(o, "category");
	if (err == NULL && v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || !alert_category_valid(json_string_value(
	    v))))
		err = "category must be support, org, competitor, usage, "
		    "engagement, health or portfolio";
	v = json_object_get(o, "until");
	if (err == NULL && (!json_is_string(v) ||
	    util_parse_rfc3339(json_string_value(v),
	    json_string_length(v), &until) == -1))
		err = "until is required, an RFC 3339 date-time";
	else if (err == NULL && until <= util_now_us())
		err = "until must lie in the future";
	v = json_object_get(o, "comment");
	if (err == NULL && v != NULL && !json_is_null(v) && !json_is_string(v))
		err = "comment must be a string";
	v = json_object_get(o, "expire_on_resolve");
	if (err == NULL && v != NULL && !json_is_boolean(v))
		err = "expire_on_resolve must be true or false";
	if (err != NULL) {
		json_decref(o);
		api_refuse(c, 400, "invalid_silence", err);
		return -1;
	}
#define STR(key) (json_is_string(json_object_get(o, key)) ? \
	json_string_value(json_object_get(o, key)) : NULL)
	c->silence.account_id = xstrdup(STR("account_id"));
	c->silence.signal = xstrdup(STR("signal"));
	c->silence.category = xstrdup(STR("category"));
	c->silence.until = until;
	c->silence.expire_on_resolve =
	    json_is_true(json_object_get(o, "expire_on_resolve"));
	values[0] = c->silence.account_id;
	values[1] = c->silence.signal;
	values[2] = c->silence.category;
	values[4] = STR("comment") != NULL ? STR("comment") : "";
	values[5] = c->silence.expire_on_resolve ? "true" : "false";
	/* values[3] and values[4] point into o: copy before freeing it. */
	values[3] = strdup(json_string_value(json_object_get(o, "until")));
	values[4] = strdup(values[4]);
#undef STR
	json_decref(o);
	return 0;
}

static int	api_call(struct alerting *, struct account_table *, int,
		    const char *, const char *, size_t, const char *const *,
		    const char *, const char *, alerting_reply, void *);

int
alerting_api(struct alerting *al, struct account_table *table, int call,
    const char *id, const char *body, size_t len, const char *const q[3],
    const char *token, alerting_reply reply, void *handle)
{
	char by[128];

	/* An acknowledgement through the API names the token. */
	if (token != NULL)
		snprintf(by, sizeof(by), "token:%s", token);
	return api_call(al, table, call, id, body, len, q,
	    token != NULL ? by : NULL, NULL, reply, handle);
}

int
alerting_slack_ack(struct alerting *al, struct account_table *table,
    uint64_t alert_id, const char *by, alerting_reply reply, void *handle)
{
	const char *q[3] = { NULL, NULL, NULL };
	char id[24];

	snprintf(id, sizeof(id), "%" PRIu64, alert_id);
	return api_call(al, table, HTTP_API_ALERT_ACK, id, NULL, 0, q, by,
	    NULL, reply, handle);
}

int
alerting_slack_snooze(struct alerting *al, struct account_table *table,
    const char *account_id, const char *signal, unsigned days,
    const char *by, const char *reason, alerting_reply reply, void *handle)
{
	const char *q[3] = { NULL, NULL, NULL };
	char until[40], note[256], *body;
	json_t *o;
	int rc;

	util_format_rfc3339(util_now_us() + (int64_t)days * CW_USEC_PER_DAY,
	    until, sizeof(until));
	snprintf(note, sizeof(note), ":zzz: Snoozed for %u day%s by %s "
	    "(until %.10s)%s%s", days, days == 1 ? "" : "s", by, until,
	    reason != NULL && *reason != '\0' ? ": " : "",
	    reason != NULL ? reason : "");
	o = json_pack("{s:s, s:s, s:s+}", "account_id", account_id, "until",
	    until, "comment", "Snoozed from Slack by ", by);
	if (o != NULL && signal != NULL)
		json_object_set_new(o, "signal", json_string(signal));
	if (o != NULL && reason != NULL && *reason != '\0') {
		char *cm;

		if (asprintf(&cm, "Snoozed from Slack by %s: %s", by,
		    reason) != -1) {
			json_object_set_new(o, "comment", json_string(cm));
			free(cm);
		}
	}
	if ((body = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return -1;
	}
	json_decref(o);
	rc = api_call(al, table, HTTP_API_SILENCE_CREATE, NULL, body,
	    strlen(body), q, by, note, reply, handle);
	free(body);
	return rc;
}

static int
api_call(struct alerting *al, struct account_table *table, int call,
    const char *id, const char *body, size_t len, const char *const *q,
    const char *by, const char *note, alerting_reply reply, void *handle)
{
	struct api_call *c;
	const char *values[6] = { NULL, NULL, NULL, NULL, NULL, NULL };
	enum store_api q_api;
	int64_t t;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	if ((by != NULL && (c->by = strdup(by)) == NULL) ||
	    (note != NULL && (c->note = strdup(note)) == NULL)) {
		free(c->by);
		free(c);
		return -1;
	}
	c->al = al;
	c->table = table;
	c->call = call;
	c->reply = reply;
	c->handle = handle;
	switch (call) {
	case HTTP_API_ALERTS:
		if (q[0] != NULL && strcmp(q[0], "firing") != 0 &&
		    strcmp(q[0], "resolved") != 0 &&
		    strcmp(q[0], "silenced") != 0) {
			api_refuse(c, 400, "invalid_query", "state must be "
			    "firing, resolved or silenced");
			return 0;
		}
		if (q[2] != NULL && util_parse_rfc3339(q[2], strlen(q[2]),
		    &t) == -1) {
			api_refuse(c, 400, "invalid_query", "since must be an "
			    "RFC 3339 date-time");
			return 0;
		}
		values[0] = q[0];
		values[1] = q[1];
		values[2] = q[2];
		q_api = STORE_API_ALERTS;
		break;
	case HTTP_API_ALERT_ACK:
	case HTTP_API_SILENCE_DELETE:
		if (id == NULL || id[0] == '\0' ||
		    strspn(id, "0123456789") != strlen(id) || strlen(id) > 19) {
			api_refuse(c, 404, "not_found", "no such id");
			return 0;
		}
		values[0] = id;
		values[1] = c->by;
		q_api = call == HTTP_API_ALERT_ACK ? STORE_API_ACK :
		    STORE_API_SILENCE_DELETE;
		break;
	case HTTP_API_SILENCES:
		q_api = STORE_API_SILENCES;
		break;
	case HTTP_API_SILENCE_CREATE:
		if (silence_decode(c, body, len, values) == -1)
			return 0;
		q_api = STORE_API_SILENCE_CREATE;
		break;
	default:
		api_refuse(c, 404, "not_found", "no such endpoint");
		return 0;
	}
	rc = store_api(al->store, q_api, values, api_done_cb, c);
	if (call == HTTP_API_SILENCE_CREATE) {
		free((char *)values[3]);
		free((char *)values[4]);
	}
	if (rc == -1) {
		silence_free(&c->silence);
		free(c->by);
		free(c->note);
		free(c);
		return -1;
	}
	return 0;
}

/* ---- the morning digest ---- */

/*
 * Run f with TZ set to the digest's time zone (the daemon is one thread;
 * nothing else reads local time), then restore it.
 */
static void
with_tz(const char *tz, void (*f)(void *), void *arg)
{
	char *old = getenv("TZ") != NULL ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", tz, 1);
	tzset();
	f(arg);
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else
		unsetenv("TZ");
	tzset();
}

struct digest_time {
	const struct cw_digest	*dg;
	time_t			 now;
	time_t			 next;		/* out */
	char			 date[16];	/* out: local date of now */
};

static void
digest_time_f(void *arg)
{
	struct digest_time *x = arg;
	struct tm tm;

	localtime_r(&x->now, &tm);
	strftime(x->date, sizeof(x->date), "%Y-%m-%d", &tm);
	tm.tm_hour = x->dg->hour;
	tm.tm_min = x->dg->minute;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	x->next = mktime(&tm);
	if (x->next <= x->now) {
		tm.tm_mday++;
		tm.tm_hour = x->dg->hour;
		tm.tm_min = x->dg->minute;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		x->next = mktime(&tm);
	}
}

static void
schedule_digest(struct alerting *al, int64_t now)
{
	struct digest_time x;
	struct timeval tv;

	evtimer_del(al->ev_digest);
	if (!al->cfg->digest.enabled)
		return;
	memset(&x, 0, sizeof(x));
	x.dg = &al->cfg->digest;
	x.now = (time_t)(now / CW_USEC_PER_SEC);
	with_tz(al->cfg->digest.timezone, digest_time_f, &x);
	tv.tv_sec = x.next - x.now;
	tv.tv_usec = 0;
	evtimer_add(al->ev_digest, &tv);
}

/* Worst first within each owner (accounts without one last). */
static int
digest_cmp(const void *p, const void *q)
{
	const struct account *a = *(struct account *const *)p;
	const struct account *b = *(struct account *const *)q;
	int c;

	if ((a->owner == NULL) != (b->owner == NULL))
		return a->owner == NULL ? 1 : -1;
	if (a->owner != NULL && (c = strcmp(a->owner, b->owner)) != 0)
		return c;
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return strcmp(a->id, b->id);
}

/*
 * The receivers of one owner's digest (SPEC 5): the owner's [owner:NAME]
 * receivers, else the [digest] receivers.  Returns how many.
 */
static size_t
digest_receivers(const struct cw_config *cfg, const char *owner,
    char *const **out)
{
	const struct cw_owner *o = config_find_owner(cfg, owner);
	char *const *v;
	size_t n = 0;

	v = o != NULL && o->receivers != NULL ? o->receivers :
	    cfg->digest.receivers;
	while (v != NULL && v[n] != NULL)
		n++;
	*out = v;
	return n;
}

/* Signals of a resolved since yesterday (the last DAY's resolutions). */
static size_t
resolved_since(const struct alerting *al, const struct account *a,
    int64_t since, const char **names, size_t max)
{
	size_t i, n = 0;

	/* Signals, as the active list names them: the health alert is the
	 * status the digest shows anyway. */
	for (i = 0; i < al->nresolved && n < max; i++)
		if (al->resolved[i].at >= since &&
		    al->resolved[i].signal < SIG__COUNT &&
		    strcmp(al->resolved[i].account, a->id) == 0)
			names[n++] = signal_name(al->resolved[i].signal);
	return n;
}

#define DIGEST_MAX	100

/* One owner's digest: to the owner's destination, else [digest]'s. */
static void
digest_owner(struct alerting *al, struct account **rows, size_t n,
    const char *date, int64_t now)
{
	const struct cw_digest *dg = &al->cfg->digest;
	const struct cw_owner *owner = config_find_owner(al->cfg,
	    rows[0]->owner);
	struct notify_digest_row dr[DIGEST_MAX];
	struct notify_digest_check dc[DIGEST_MAX];
	const char *names[DIGEST_MAX][SIG__COUNT];
	const char *fresh[DIGEST_MAX][SIG__COUNT];
	const char *gone[DIGEST_MAX][SIG__COUNT];
	const struct cw_receiver *rc;
	const struct win_note *note;
	struct store_notification *nt;
	char *const *rcv;
	char id[24], *body;
	int64_t yesterday = now - CW_USEC_PER_DAY;
	int32_t today = window_day(now);
	size_t i, k, j, nr;
	unsigned nnotes;
	int sig;

	if (n > dg->top)
		n = dg->top;
	if (n > DIGEST_MAX)
		n = DIGEST_MAX;
	for (i = 0; i < n; i++) {
		const struct account *a = rows[i];

		memset(&dr[i], 0, sizeof(dr[i]));
		memset(&dc[i], 0, sizeof(dc[i]));
		dr[i].account_id = a->id;
		dr[i].name = a->name;
		dr[i].score = a->score;
		dr[i].status = score_status_name(score_status(a->score));
		for (k = 0, j = 0, sig = 0; sig < SIG__COUNT; sig++) {
			if (!(a->active & (UINT32_C(1) << sig)))
				continue;
			names[i][k++] = signal_name(sig);
			if ((int64_t)account_since(a, sig) * CW_USEC_PER_SEC >=
			    yesterday)
				fresh[i][j++] = signal_name(sig);
		}
		dr[i].signals = names[i];
		dr[i].nsignals = k;
		/* The five-minute check (SPEC 5). */
		dc[i].new_signals = fresh[i];
		dc[i].nnew = j;
		dc[i].resolved = gone[i];
		dc[i].nresolved = resolved_since(al, a, yesterday, gone[i],
		    SIG__COUNT);
		dc[i].touch_days = a->w.last_touch != 0 ?
		    today - a->w.last_touch : -1;
		dc[i].logins_30d = window_logins(&a->w, today - 29, today);
		dc[i].logins_prev_30d = window_logins(&a->w, today - 59,
		    today - 30);
		dc[i].renewal_days = a->renewal_at > now ? (int)((a->renewal_at
		    - now + CW_USEC_PER_DAY - 1) / CW_USEC_PER_DAY) : -1;
		if ((note = window_risk_note(&a->w, today - 89, today,
		    &nnotes)) != NULL) {
			dc[i].note_phrase = intern_str(note->phrase);
			dc[i].note_class = note->cls != 0 ?
			    intern_str(note->cls) : NULL;
			dc[i].note_days = today - note->day;
		}
	}
	nr = digest_receivers(al->cfg, rows[0]->owner, &rcv);
	for (i = 0; i < nr; i++) {
		if ((rc = config_find_receiver(al->cfg, rcv[i])) == NULL)
			continue;
		body = receiver_type_get(rc->type)->render_digest(
		    rows[0]->owner, date, owner != NULL &&
		    owner->slack_channel != NULL ? owner->slack_channel :
		    rc->channel, dr, dc, n);
		if (body == NULL || batch_grow_notifs(&al->batch) == -1) {
			free(body);
			continue;
		}
		snprintf(id, sizeof(id), "%" PRIu64, alert_new_id(al, now));
		nt = &al->batch.notifs[al->batch.nnotifs];
		nt->id = strdup(id);
		nt->alert_id = 0;
		nt->receiver = strdup(rc->name);
		nt->kind = strdup("digest");
		nt->body = body;
		nt->state = strdup("pending");
		batch_push_notif(&al->batch, 1);
	}
}

struct digest_date {
	time_t	 now;
	char	 date[16];
};

static void
digest_date_f(void *arg)
{
	struct digest_date *x = arg;
	struct tm tm;

	localtime_r(&x->now, &tm);
	strftime(x->date, sizeof(x->date), "%Y-%m-%d", &tm);
}

static void
digest_cb(evutil_socket_t fd, short what, void *arg)
{
	struct alerting *al = arg;
	struct account_table *t = al->table;
	struct account **rows;
	struct digest_date dd;
	int64_t now = util_now_us();
	size_t i, j, n = 0, owners = 0;

	if (t == NULL || (rows = calloc(t->count + 1, sizeof(*rows))) == NULL)
		goto next;
	/* The accounts at risk: with an active signal. */
	for (i = 0; i < t->count; i++)
		if (t->all[i]->evaluated && t->all[i]->active != 0)
			rows[n++] = t->all[i];
	if (n > 0)
		qsort(rows, n, sizeof(*rows), digest_cmp);
	resolved_prune(al, now);
	dd.now = (time_t)(now / CW_USEC_PER_SEC);
	with_tz(al->cfg->digest.timezone, digest_date_f, &dd);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && ((rows[i]->owner == NULL &&
		    rows[j]->owner == NULL) || (rows[i]->owner != NULL &&
		    rows[j]->owner != NULL &&
		    strcmp(rows[i]->owner, rows[j]->owner) == 0)); j++)
			;
		digest_owner(al, rows + i, j - i, dd.date, now);
		owners++;
	}
	free(rows);
	log_info("alerting: digest sent accounts=%zu owners=%zu", n, owners);
	alerting_flush(al);
next:
	schedule_digest(al, now + CW_USEC_PER_SEC);
}
