/*
 * outbox.c -- notification delivery over HTTP with libcurl's multi-socket
 * interface on the libevent loop (curl's docs/examples/hiperfifo.c).
 *
 * Owns: the CURLM handle, one libevent event per socket curl watches, the
 * one timer curl asks for, the receivers with their queues, pacing
 * buckets and retry timers, and the list of outcomes waiting to be
 * reported.  Does not own: message bodies (notify.c), the outbox rows
 * (store.c), metrics (the caller counts in done()).
 *
 * The libcurl rules followed (STYLE.md): the CURLMOPT_TIMERFUNCTION
 * callback only (re)arms a non-repeating libevent timer and never calls
 * libcurl; every curl_multi_socket_action() is followed by draining
 * curl_multi_info_read(); easy handles are removed and cleaned up only
 * there, outside curl's callbacks.  Outcomes are queued and reported by
 * a zero-timeout event, so done() never runs inside curl's call chain nor
 * inside an outbox_* call, and may free the outbox.
 *
 * One request at a time per receiver: that keeps a retried notification
 * ahead of the ones queued after it, and pacing (Slack: 1/s) leaves
 * nothing to gain from more.  A stalled receiver only holds up itself.
 *
 * Grouping: notify_group_admit() says whether a notification joins the
 * queue now or the receiver's held list; the window's timer turns the
 * held list into group items (an ob_item whose members are the held
 * items) at the end of the queue.  A group item goes through the queue,
 * pacing and retries like any other; ob_complete() reports each member.
 */
#include "config.h"

#include <sys/queue.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "util.h"

#define OB_DETAIL_LEN		96
#define OB_RESP_LEN		64	/* response body kept for the detail */
#define OB_RETRY_AFTER_MIN	CW_USEC_PER_SEC
#define OB_LOG_BODY_MAX		800	/* bytes of body in a log line */

TAILQ_HEAD(ob_item_list, ob_item);
struct ob_item {
	TAILQ_ENTRY(ob_item)	 entry;
	uint64_t		 id;		/* a group: its first member's */
	int			 attempts;
	enum outbox_result	 result;
	char			 detail[OB_DETAIL_LEN];
	char			*receiver;	/* into buf */
	char			*body;		/* into buf, or a group's own */
	size_t			 len;		/* of body */
	struct ob_item_list	 members;	/* a group's; owned */
	size_t			 nmembers;	/* 0: one notification */
	struct notify_brief	 brief;		/* held, Slack and log */
	char			*reply;		/* the answer, for receipt() */
	char			*url;		/* its own, or NULL */
	char			 buf[];		/* body NUL receiver NUL */
};

struct ob_recv {
	TAILQ_ENTRY(ob_recv)	 entry;
	struct outbox		*ob;
	char			*name;
	char			*url;
	char			*secret;
	enum outbox_kind	 kind;
	const struct receiver_type *type;	/* kind's row */
	unsigned		 timeout_s;
	double			 rate;
	unsigned		 burst;
	struct notify_pace	 pace;
	struct ob_item_list	 queue;		/* the head may be in flight */
	struct ob_item_list	 held;		/* for the window's end */
	size_t			 nheld;
	struct notify_group	 group;
	int64_t			 group_wait;
	unsigned		 group_max;
	struct event		*ev_group;	/* the window's end */
	struct event		*ev_wake;	/* pacing and backoff */
	int64_t			 not_before;	/* monotonic us: backoff */
	int			 failed;	/* Slack 404/410 */
	long			 failed_status;
	int			 retrying;	/* last attempt must be retried */
	int			 removed;	/* by a reload, request in flight */

	/* The request in flight, if any: for TAILQ_FIRST(&queue). */
	CURL			*easy;
	struct curl_slist	*headers;
	char			 retry_after[64];
	char			 resp[OB_RESP_LEN];
	size_t			 resplen;
	char			 reply[OUTBOX_REPLY_MAX];	/* raw */
	size_t			 replylen;
};
TAILQ_HEAD(ob_recv_list, ob_recv);

struct ob_sock {
	TAILQ_ENTRY(ob_sock)	 entry;
	struct outbox		*ob;
	curl_socket_t		 fd;
	struct event		*ev;
};
TAILQ_HEAD(ob_sock_list, ob_sock);

struct outbox {
	struct event_base	*base;
	struct outbox_ops	 ops;
	CURLM			*multi;
	int			 running;
	struct event		*ev_timer;	/* curl's timeout */
	struct event		*ev_done;	/* report outcomes */
	struct ob_recv_list	 recvs;
	struct ob_sock_list	 socks;
	struct ob_item_list	 done;		/* outcomes to report */
	size_t			 nitems;	/* sent and not yet reported */
	int			 dispatching;
	int			 dying;
	uint64_t		 rnd;		/* jitter, not crypto */
};

static int	 ob_sock_cb(CURL *, curl_socket_t, int, void *, void *);
static int	 ob_timer_set_cb(CURLM *, long, void *);
static void	 ob_timer_cb(evutil_socket_t, short, void *);
static void	 ob_event_cb(evutil_socket_t, short, void *);
static void	 ob_done_cb(evutil_socket_t, short, void *);
static void	 ob_wake_cb(evutil_socket_t, short, void *);
static void	 ob_group_cb(evutil_socket_t, short, void *);
static size_t	 ob_header_cb(char *, size_t, size_t, void *);
static size_t	 ob_write_cb(char *, size_t, size_t, void *);
static void	 ob_check_multi(struct outbox *);
static void	 ob_kick(struct ob_recv *);
static int	 ob_start(struct ob_recv *, struct ob_item *);
static void	 ob_finish(struct ob_recv *, CURLcode, long);
static void	 ob_complete(struct outbox *, struct ob_item *,
		    enum outbox_result, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 ob_fail_queue(struct ob_recv *, const char *);
static void	 ob_hold(struct ob_recv *, struct ob_item *);
static void	 ob_group_flush(struct ob_recv *);
static void	 ob_abort(struct ob_recv *);
static void	 ob_recv_free(struct ob_recv *);
static void	 ob_item_free(struct ob_item *);
static void	 ob_real_free(struct outbox *);

/* splitmix64: backoff jitter needs spread, not secrecy. */
static uint32_t
ob_random(struct outbox *o)
{
	uint64_t z = (o->rnd += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static int64_t
ob_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * CW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static struct timeval
ob_tv(int64_t us)
{
	struct timeval tv;

	if (us < 0)
		us = 0;
	tv.tv_sec = us / CW_USEC_PER_SEC;
	tv.tv_usec = us % CW_USEC_PER_SEC;
	return tv;
}

struct outbox *
outbox_new(struct event_base *base, const struct outbox_ops *ops)
{
	struct outbox *o;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: curl_global_init failed", __func__);
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		curl_global_cleanup();
		return NULL;
	}
	o->base = base;
	o->ops = *ops;
	o->rnd = (uint64_t)util_now_us() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)(uintptr_t)o;
	TAILQ_INIT(&o->recvs);
	TAILQ_INIT(&o->socks);
	TAILQ_INIT(&o->done);
	if ((o->multi = curl_multi_init()) == NULL ||
	    (o->ev_timer = evtimer_new(base, ob_timer_cb, o)) == NULL ||
	    (o->ev_done = evtimer_new(base, ob_done_cb, o)) == NULL)
		goto fail;
	if (curl_multi_setopt(o->multi, CURLMOPT_SOCKETFUNCTION,
	    ob_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(o->multi, CURLMOPT_SOCKETDATA, o) != CURLM_OK ||
	    curl_multi_setopt(o->multi, CURLMOPT_TIMERFUNCTION,
	    ob_timer_set_cb) != CURLM_OK ||
	    curl_multi_setopt(o->multi, CURLMOPT_TIMERDATA, o) != CURLM_OK)
		goto fail;
	if (!(curl_version_info(CURLVERSION_NOW)->features &
	    CURL_VERSION_ASYNCHDNS))
		log_warnx("outbox: this libcurl resolves names synchronously: "
		    "a slow DNS lookup stalls the event loop");
	return o;

fail:
	log_warnx("%s: cannot set up libcurl", __func__);
	ob_real_free(o);
	return NULL;
}

void
outbox_free(struct outbox *o)
{
	if (o == NULL)
		return;
	if (o->dispatching) {
		/* Inside done(): ob_done_cb() frees when it returns. */
		o->dying = 1;
		return;
	}
	ob_real_free(o);
}

static void
ob_real_free(struct outbox *o)
{
	struct ob_recv *r;
	struct ob_item *it;
	struct ob_sock *sk;

	while ((r = TAILQ_FIRST(&o->recvs)) != NULL) {
		ob_abort(r);
		TAILQ_REMOVE(&o->recvs, r, entry);
		ob_recv_free(r);
	}
	while ((it = TAILQ_FIRST(&o->done)) != NULL) {
		TAILQ_REMOVE(&o->done, it, entry);
		ob_item_free(it);
	}
	/* May still call ob_sock_cb(CURL_POLL_REMOVE) for cached sockets. */
	if (o->multi != NULL)
		curl_multi_cleanup(o->multi);
	while ((sk = TAILQ_FIRST(&o->socks)) != NULL) {
		TAILQ_REMOVE(&o->socks, sk, entry);
		event_free(sk->ev);
		free(sk);
	}
	if (o->ev_timer != NULL)
		event_free(o->ev_timer);
	if (o->ev_done != NULL)
		event_free(o->ev_done);
	free(o);
	curl_global_cleanup();
}

/* Aborts r's request in flight, if any (never from a curl callback). */
static void
ob_abort(struct ob_recv *r)
{
	if (r->easy == NULL)
		return;
	curl_multi_remove_handle(r->ob->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
}

/* Frees it, a group with its members.  NULL is a no-op. */
static void
ob_item_free(struct ob_item *it)
{
	struct ob_item *m;

	if (it == NULL)
		return;
	while ((m = TAILQ_FIRST(&it->members)) != NULL) {
		TAILQ_REMOVE(&it->members, m, entry);
		ob_item_free(m);
	}
	if (it->nmembers > 0)
		free(it->body);
	free(it->reply);
	free(it->url);
	notify_brief_clear(&it->brief);
	free(it);
}

/* Frees r and its queues; r is off the list and has no request. */
static void
ob_recv_free(struct ob_recv *r)
{
	struct ob_item *it;

	if (r == NULL)
		return;
	while ((it = TAILQ_FIRST(&r->queue)) != NULL) {
		TAILQ_REMOVE(&r->queue, it, entry);
		ob_item_free(it);
	}
	while ((it = TAILQ_FIRST(&r->held)) != NULL) {
		TAILQ_REMOVE(&r->held, it, entry);
		ob_item_free(it);
	}
	if (r->ev_wake != NULL)
		event_free(r->ev_wake);
	if (r->ev_group != NULL)
		event_free(r->ev_group);
	free(r->name);
	free(r->url);
	free(r->secret);
	free(r);
}

static struct ob_recv *
ob_find(const struct outbox *o, const char *name)
{
	struct ob_recv *r;

	TAILQ_FOREACH(r, &o->recvs, entry)
		if (!r->removed && strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* A new receiver from its configuration, not yet on the list. */
static struct ob_recv *
ob_recv_new(struct outbox *o, const struct outbox_receiver *c)
{
	struct ob_recv *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->ob = o;
	TAILQ_INIT(&r->queue);
	TAILQ_INIT(&r->held);
	r->group_wait = c->group_wait > 0 ? c->group_wait : 0;
	r->group_max = c->group_max;
	notify_group_init(&r->group, r->group_wait, r->group_max);
	r->kind = c->kind;
	r->type = receiver_type_get((int)c->kind);
	r->timeout_s = c->timeout_s > 0 ? c->timeout_s : OUTBOX_DEFAULT_TIMEOUT;
	r->rate = c->rate;
	r->burst = c->burst;
	if (c->rate == 0) {
		if (r->type->paced) {
			r->rate = r->type->rate;
			if (c->burst == 0)
				r->burst = r->type->burst;
		} else
			r->rate = -1;	/* unpaced */
	}
	if ((r->name = strdup(c->name)) == NULL ||
	    (c->url != NULL && (r->url = strdup(c->url)) == NULL) ||
	    (c->secret != NULL && (r->secret = strdup(c->secret)) == NULL) ||
	    (r->ev_wake = evtimer_new(o->base, ob_wake_cb, r)) == NULL ||
	    (r->ev_group = evtimer_new(o->base, ob_group_cb, r)) == NULL) {
		ob_recv_free(r);
		return NULL;
	}
	notify_pace_init(&r->pace, r->rate, r->burst, ob_mono_us());
	return r;
}

static int
ob_valid(const struct outbox_receiver *rs, size_t n)
{
	const struct receiver_type *rt;
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct outbox_receiver *c = &rs[i];

		if (c->name == NULL || c->name[0] == '\0') {
			log_warnx("outbox: receiver without a name");
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(rs[j].name, c->name) == 0) {
				log_warnx("outbox: receiver %s given twice",
				    c->name);
				return -1;
			}
		if ((rt = receiver_type_get((int)c->kind)) == NULL) {
			log_warnx("outbox: receiver %s: unknown kind", c->name);
			return -1;
		}
		if (rt->sends && (c->url == NULL || c->url[0] == '\0')) {
			log_warnx("outbox: receiver %s: no url", c->name);
			return -1;
		}
		/* Else curl fails each request, and retries never end. */
		if (rt->sends &&
		    strncasecmp(c->url, "http://", 7) != 0 &&
		    strncasecmp(c->url, "https://", 8) != 0) {
			log_warnx("outbox: receiver %s: the url is not http:// "
			    "or https://", c->name);
			return -1;
		}
		if (!isfinite(c->rate)) {
			log_warnx("outbox: receiver %s: bad rate", c->name);
			return -1;
		}
	}
	return 0;
}

static int
ob_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Moves the settings of fresh (a new receiver) into r, which stays. */
static void
ob_recv_update(struct ob_recv *r, struct ob_recv *fresh)
{
	char *tmp;
	int moved;

	moved = r->kind != fresh->kind || !ob_streq(r->url, fresh->url) ||
	    !ob_streq(r->secret, fresh->secret);
	tmp = r->url;
	r->url = fresh->url;
	fresh->url = tmp;
	tmp = r->secret;
	r->secret = fresh->secret;
	fresh->secret = tmp;
	r->kind = fresh->kind;
	r->type = fresh->type;
	r->timeout_s = fresh->timeout_s;
	if (r->rate != fresh->rate || r->burst != fresh->burst) {
		r->rate = fresh->rate;
		r->burst = fresh->burst;
		r->pace = fresh->pace;
	}
	/* What is held keeps its window; a new policy takes the next. */
	if (r->group_wait != fresh->group_wait ||
	    r->group_max != fresh->group_max) {
		r->group_wait = fresh->group_wait;
		r->group_max = fresh->group_max;
		r->group.wait = fresh->group.wait;
		r->group.max = fresh->group.max;
		if (!r->group.held)
			r->group = fresh->group;
	}
	if (moved) {
		if (r->failed)
			log_notice("outbox: receiver %s has a new %s, no "
			    "longer failed", r->name,
			    r->type->sends ? "url" : "kind");
		r->failed = 0;
		r->not_before = 0;
	}
}

int
outbox_set_receivers(struct outbox *o, const struct outbox_receiver *rs,
    size_t n)
{
	struct ob_recv **fresh = NULL, *r, *next;
	size_t i;

	if (ob_valid(rs, n) == -1)
		return -1;
	/* Allocate everything first: a failure changes nothing. */
	if (n > 0 && (fresh = calloc(n, sizeof(*fresh))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if ((fresh[i] = ob_recv_new(o, &rs[i])) == NULL) {
			while (i-- > 0)
				ob_recv_free(fresh[i]);
			free(fresh);
			log_warnx("%s: out of memory", __func__);
			return -1;
		}

	/* Receivers that go away. */
	for (r = TAILQ_FIRST(&o->recvs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->removed)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(r->name, rs[i].name) == 0)
				break;
		if (i < n)
			continue;
		log_notice("outbox: receiver %s removed", r->name);
		r->removed = 1;
		evtimer_del(r->ev_wake);
		evtimer_del(r->ev_group);
		if (r->easy == NULL) {
			ob_fail_queue(r, "receiver removed");
			TAILQ_REMOVE(&o->recvs, r, entry);
			ob_recv_free(r);
		}
		/* else ob_finish() reports the request, then the rest. */
	}
	/* Receivers that stay, and new ones. */
	for (i = 0; i < n; i++) {
		if ((r = ob_find(o, fresh[i]->name)) != NULL) {
			ob_recv_update(r, fresh[i]);
			ob_recv_free(fresh[i]);
			ob_kick(r);
		} else
			TAILQ_INSERT_TAIL(&o->recvs, fresh[i], entry);
	}
	free(fresh);
	return 0;
}

int
outbox_send(struct outbox *o, uint64_t id, const char *receiver,
    const char *body)
{
	return outbox_send_url(o, id, receiver, NULL, body);
}

int
outbox_send_url(struct outbox *o, uint64_t id, const char *receiver,
    const char *url, const char *body)
{
	struct ob_recv *r;
	struct ob_item *it;
	size_t len, nlen;

	if ((r = ob_find(o, receiver)) == NULL) {
		log_warnx("outbox: notification %" PRIu64 " for unknown "
		    "receiver %s", id, receiver);
		return -1;
	}
	len = strlen(body);
	nlen = strlen(r->name);
	if ((it = calloc(1, sizeof(*it) + len + 1 + nlen + 1)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return -1;
	}
	if (url != NULL && (strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0) &&
	    (it->url = strdup(url)) == NULL) {
		free(it);
		return -1;
	}
	if (url != NULL && it->url == NULL) {
		free(it);
		log_warnx("outbox: notification %" PRIu64 ": not an http(s) "
		    "url", id);
		return -1;
	}
	it->id = id;
	it->len = len;
	TAILQ_INIT(&it->members);
	memcpy(it->buf, body, len + 1);
	it->body = it->buf;
	it->receiver = it->buf + len + 1;
	memcpy(it->receiver, r->name, nlen + 1);
	o->nitems++;
	if (!r->failed && it->url == NULL &&
	    !notify_group_admit(&r->group, ob_mono_us())) {
		ob_hold(r, it);
		return 0;
	}
	TAILQ_INSERT_TAIL(&r->queue, it, entry);
	ob_kick(r);
	return 0;
}

/*
 * it waits for the end of r's window.  What a Slack or log group lists is
 * read from the body now, once: a body that is not one of ours (a brief
 * with no line) is later sent alone.
 */
static void
ob_hold(struct ob_recv *r, struct ob_item *it)
{
	int64_t due, now;
	struct timeval tv;

	if (r->type->briefs && (r->type->groupable == NULL ||
	    r->type->groupable(it->body)))
		(void)notify_brief_parse(it->body, &it->brief);
	TAILQ_INSERT_TAIL(&r->held, it, entry);
	r->nheld++;
	if (r->nheld == 1 && (due = notify_group_due(&r->group)) != 0) {
		now = ob_mono_us();
		tv = ob_tv(due - now);
		evtimer_add(r->ev_group, &tv);
	}
}

/* The window ended: what it held goes, grouped. */
static void
ob_group_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ob_recv *r = arg;

	if (!notify_group_close(&r->group, ob_mono_us()) && r->nheld == 0)
		return;
	ob_group_flush(r);
	ob_kick(r);
}

/* A group item for the n members taken off the front of r's held list. */
static struct ob_item *
ob_group_new(struct ob_recv *r, struct ob_item **m, size_t n)
{
	const struct notify_brief **briefs = NULL;
	const char **bodies = NULL;
	struct ob_item *g;
	size_t i, nlen = strlen(r->name);
	char *body = NULL;

	if ((g = calloc(1, sizeof(*g) + nlen + 1)) == NULL ||
	    (briefs = calloc(n, sizeof(*briefs))) == NULL ||
	    (bodies = calloc(n, sizeof(*bodies))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		briefs[i] = &m[i]->brief;
		bodies[i] = m[i]->body;
	}
	if ((body = r->type->render_group(briefs, bodies, n)) == NULL)
		goto fail;
	free(briefs);
	free(bodies);
	TAILQ_INIT(&g->members);
	g->id = m[0]->id;
	g->body = body;
	g->len = strlen(body);
	g->receiver = g->buf;
	memcpy(g->receiver, r->name, nlen + 1);
	for (i = 0; i < n; i++) {
		TAILQ_REMOVE(&r->held, m[i], entry);
		TAILQ_INSERT_TAIL(&g->members, m[i], entry);
	}
	r->nheld -= n;
	g->nmembers = n;
	return g;

fail:
	log_warnx("outbox: receiver %s: cannot group %zu notifications; "
	    "they go one by one", r->name, n);
	free(briefs);
	free(bodies);
	free(g);
	return NULL;
}

/*
 * Moves r's held list to its queue: one group per Slack channel (members
 * whose body could not be read go alone), webhook arrays of at most
 * OUTBOX_GROUP_MAX_BYTES, one group for a log.  A group of one, or one
 * that cannot be made, goes as single notifications.
 */
static void
ob_group_flush(struct ob_recv *r)
{
	struct ob_item **m, *it, *first, *g;
	size_t n, bytes;
	const char *labels[1] = { r->name };

	evtimer_del(r->ev_group);
	if (r->nheld > 0 && (m = calloc(r->nheld, sizeof(*m))) != NULL) {
		while ((first = TAILQ_FIRST(&r->held)) != NULL) {
			n = 0;
			bytes = 2;
			TAILQ_FOREACH(it, &r->held, entry) {
				if (!r->type->briefs) {
					if (n > 0 && bytes + it->len + 1 >
					    OUTBOX_GROUP_MAX_BYTES)
						break;
					bytes += it->len + 1;
				} else if (it->brief.line == NULL ||
				    first->brief.line == NULL ||
				    !ob_streq(it->brief.channel,
				    first->brief.channel))
					continue;
				m[n++] = it;
			}
			if (n == 0)
				m[n++] = first;		/* no brief: alone */
			if (n > 1 && (g = ob_group_new(r, m, n)) != NULL) {
				metrics_inc(cw_metrics, M_NOTIFICATIONS_GROUPED,
				    labels, (double)n);
				log_info("outbox: receiver %s: %zu notifications "
				    "grouped in one message (%zu bytes)",
				    r->name, n, g->len);
				TAILQ_INSERT_TAIL(&r->queue, g, entry);
				continue;
			}
			/* Alone: the first, and the rest go round again. */
			TAILQ_REMOVE(&r->held, first, entry);
			r->nheld--;
			TAILQ_INSERT_TAIL(&r->queue, first, entry);
		}
		free(m);
	}
	/* No memory for the list: every one alone, in order. */
	while ((it = TAILQ_FIRST(&r->held)) != NULL) {
		TAILQ_REMOVE(&r->held, it, entry);
		TAILQ_INSERT_TAIL(&r->queue, it, entry);
	}
	r->nheld = 0;
}

size_t
outbox_queued(const struct outbox *o)
{
	return o->nitems;
}

int
outbox_receiver_failed(const struct outbox *o, const char *name)
{
	struct ob_recv *r;

	if ((r = ob_find(o, name)) == NULL)
		return -1;
	return r->failed;
}

/*
 * Records the outcome of it (already off its receiver's queue) and has
 * ob_done_cb() report it from the loop.
 */
static void
ob_complete(struct outbox *o, struct ob_item *it, enum outbox_result res,
    const char *fmt, ...)
{
	struct ob_item *m;
	va_list ap;

	it->result = res;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
	event_active(o->ev_done, EV_TIMEOUT, 0);
	if (it->nmembers == 0) {
		TAILQ_INSERT_TAIL(&o->done, it, entry);
		return;
	}
	/* A group: each member has the group's outcome. */
	while ((m = TAILQ_FIRST(&it->members)) != NULL) {
		TAILQ_REMOVE(&it->members, m, entry);
		m->result = res;
		m->attempts = it->attempts;
		memcpy(m->detail, it->detail, sizeof(m->detail));
		TAILQ_INSERT_TAIL(&o->done, m, entry);
	}
	ob_item_free(it);
}

/* Every queued or held notification of r (none in flight) fails. */
static void
ob_fail_queue(struct ob_recv *r, const char *why)
{
	struct ob_item *it;

	evtimer_del(r->ev_group);
	while ((it = TAILQ_FIRST(&r->held)) != NULL) {
		TAILQ_REMOVE(&r->held, it, entry);
		TAILQ_INSERT_TAIL(&r->queue, it, entry);
	}
	r->nheld = 0;
	while ((it = TAILQ_FIRST(&r->queue)) != NULL) {
		TAILQ_REMOVE(&r->queue, it, entry);
		ob_complete(r->ob, it, OUTBOX_FAILED, "%s", why);
	}
}

static void
ob_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *o = arg;
	struct ob_item *it;

	o->dispatching = 1;
	while (!o->dying && (it = TAILQ_FIRST(&o->done)) != NULL) {
		TAILQ_REMOVE(&o->done, it, entry);
		o->nitems--;
		if (o->ops.receipt != NULL && it->reply != NULL &&
		    it->result == OUTBOX_SENT)
			o->ops.receipt(o->ops.arg, it->id, it->receiver,
			    it->reply);
		if (o->ops.done != NULL)
			o->ops.done(o->ops.arg, it->id, it->receiver,
			    it->result, it->attempts, it->detail);
		ob_item_free(it);
	}
	o->dispatching = 0;
	if (o->dying)
		ob_real_free(o);
}

/* One log line for a log receiver: the body on one line, cut short. */
static void
ob_log_item(struct ob_recv *r, struct ob_item *it)
{
	char line[OB_LOG_BODY_MAX + 4];
	size_t i, n;

	n = it->len < OB_LOG_BODY_MAX ? it->len : OB_LOG_BODY_MAX;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)it->body[i];

		line[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	if (n < it->len)
		memcpy(line + n, "...", 4);
	else
		line[n] = '\0';
	log_info("notification id=%" PRIu64 " receiver=%s %s", it->id,
	    r->name, line);
}

/* A log group: its summary, then each member's line. */
static void
ob_log_group(struct ob_recv *r, struct ob_item *g)
{
	struct ob_item *m;

	log_info("notification group id=%" PRIu64 " receiver=%s n=%zu %s",
	    g->id, r->name, g->nmembers, g->body);
	TAILQ_FOREACH(m, &g->members, entry)
		ob_log_item(r, m);
}

/*
 * Moves r's queue along: fails or logs what needs no request, else starts
 * the head's request when backoff and pacing allow, else arms the wake-up
 * timer.  Nothing to do while a request is in flight.
 */
static void
ob_kick(struct ob_recv *r)
{
	struct ob_item *it;
	int64_t now, wait;
	char why[48];

	if (r->easy != NULL || r->removed ||
	    (it = TAILQ_FIRST(&r->queue)) == NULL)
		return;
	if (r->failed) {
		snprintf(why, sizeof(why), "receiver failed (HTTP %ld)",
		    r->failed_status);
		ob_fail_queue(r, why);
		return;
	}
	if (!r->type->sends) {
		while ((it = TAILQ_FIRST(&r->queue)) != NULL) {
			TAILQ_REMOVE(&r->queue, it, entry);
			if (it->nmembers > 0)
				ob_log_group(r, it);
			else
				ob_log_item(r, it);
			it->attempts++;
			ob_complete(r->ob, it, OUTBOX_SENT, "logged");
		}
		return;
	}
	now = ob_mono_us();
	if (now < r->not_before) {
		struct timeval tv = ob_tv(r->not_before - now);

		evtimer_add(r->ev_wake, &tv);
		return;
	}
	if ((wait = notify_pace_take(&r->pace, now)) > 0) {
		struct timeval tv = ob_tv(wait);

		evtimer_add(r->ev_wake, &tv);
		return;
	}
	evtimer_del(r->ev_wake);
	if (ob_start(r, it) == -1) {
		/* Out of memory or a curl setup error: try again later. */
		struct timeval tv;

		wait = notify_backoff(it->attempts, ob_random(r->ob));
		r->not_before = now + wait;
		tv = ob_tv(wait);
		evtimer_add(r->ev_wake, &tv);
	}
}

static void
ob_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	ob_kick(arg);
}

/* Starts the request for it, the head of r's queue. */
static int
ob_start(struct ob_recv *r, struct ob_item *it)
{
	char hdr[RECEIVER_HDR_MAX][RECEIVER_HDR_LEN], url[RECEIVER_URL_LEN];
	struct receiver_request rq;
	struct curl_slist *h = NULL, *t;
	CURL *easy;
	const char *body = it->body;	/* curl's typecheck wants a pointer */
	size_t i, nhdr = 0;
	long ms;
	int rc = 0;

	it->attempts++;
	r->retry_after[0] = '\0';
	r->resplen = 0;
	r->resp[0] = '\0';
	r->replylen = 0;
	r->reply[0] = '\0';

	/* The row makes the URL and headers (a signature: at send time). */
	memset(&rq, 0, sizeof(rq));
	rq.url = it->url != NULL ? it->url : r->url;
	rq.secret = r->secret;
	rq.body = it->body;
	rq.len = it->len;
	rq.id = it->id;
	rq.nmembers = it->nmembers;
	rq.now = util_now_us() / CW_USEC_PER_SEC;
	if (r->type->request(&rq, url, hdr, &nhdr) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < nhdr; i++) {
		if ((t = curl_slist_append(h, hdr[i])) == NULL)
			rc = -1;
		else
			h = t;
	}
	/* The token is in hdr: leave no copy on the stack. */
	explicit_bzero(hdr, sizeof(hdr));
	if (rc == -1 || (easy = curl_easy_init()) == NULL) {
		log_warnx("outbox: receiver %s: cannot set up a request",
		    r->name);
		curl_slist_free_all(h);
		return -1;
	}

	ms = (long)r->timeout_s * 1000;
	if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_PRIVATE, r) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, ms) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)it->len) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_USERAGENT,
	    PACKAGE_NAME "/" PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
	    ob_header_cb) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_HEADERDATA, r) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
	    ob_write_cb) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR,
	    "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_multi_add_handle(r->ob->multi, easy) != CURLM_OK) {
		/* curl rejects an unsupported scheme here, for one. */
		log_warnx("outbox: receiver %s: cannot set up a request",
		    r->name);
		curl_easy_cleanup(easy);
		curl_slist_free_all(h);
		return -1;
	}
	r->easy = easy;
	r->headers = h;
	log_debug("outbox: notification %" PRIu64 " to %s, attempt %d "
	    "(group of %zu)", it->id, r->name, it->attempts, it->nmembers);
	return 0;
}

/* Keeps the Retry-After header of the response. */
static size_t
ob_header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct ob_recv *r = arg;
	size_t len = size * n, i;
	static const char name[] = "Retry-After:";

	if (len > sizeof(name) - 1 &&
	    strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		buf += sizeof(name) - 1;
		len -= sizeof(name) - 1;
		while (len > 0 && (*buf == ' ' || *buf == '\t')) {
			buf++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)buf[len - 1]))
			len--;
		i = len < sizeof(r->retry_after) - 1 ? len :
		    sizeof(r->retry_after) - 1;
		memcpy(r->retry_after, buf, i);
		r->retry_after[i] = '\0';
	}
	return size * n;
}

/* Keeps the start of the response body, printable, for the detail. */
static size_t
ob_write_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct ob_recv *r = arg;
	size_t len = size * n, i;

	i = sizeof(r->reply) - 1 - r->replylen;
	if (i > len)
		i = len;
	memcpy(r->reply + r->replylen, buf, i);
	r->replylen += i;
	r->reply[r->replylen] = '\0';
	for (i = 0; i < len && r->resplen < sizeof(r->resp) - 1; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n' || c == '\r')
			break;
		r->resp[r->resplen++] = isprint(c) ? (char)c : '?';
	}
	r->resp[r->resplen] = '\0';
	return len;
}

/* hiperfifo's check_multi_info(): outcomes of finished transfers. */
static void
ob_check_multi(struct outbox *o)
{
	CURLMsg *msg;
	CURL *easy;
	CURLcode res;
	struct ob_recv *r;
	char *priv;
	long status;
	int left;

	while ((msg = curl_multi_info_read(o->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		res = msg->data.result;
		priv = NULL;
		status = 0;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		r = (struct ob_recv *)(void *)priv;
		ob_abort(r);	/* remove and clean up the easy handle */
		ob_finish(r, res, status);
	}
}

/*
 * The request of r's head ended with curl's res and HTTP status (0 when
 * no response came).  Decide: report it, or retry after a wait.
 */
static void
ob_finish(struct ob_recv *r, CURLcode res, long status)
{
	struct outbox *o = r->ob;
	struct ob_item *it = TAILQ_FIRST(&r->queue);
	struct receiver_verdict vd;
	enum notify_result cls;
	int64_t wait = 0, ra;
	int transport;
	char what[96];

	/*
	 * A 2xx status line means the receiver took it, even if the rest of
	 * the response then failed: retrying could deliver it twice.
	 */
	transport = res != CURLE_OK && !(status >= 200 && status < 300);
	memset(&vd, 0, sizeof(vd));
	r->type->classify(transport ? 0 : status, transport, r->reply, &vd);
	cls = vd.result;
	if (transport)
		snprintf(what, sizeof(what), "%s", curl_easy_strerror(res));
	else if (status >= 200 && status < 300 && cls != NOTIFY_OK)
		snprintf(what, sizeof(what), "HTTP %ld %s", status, vd.why);
	else if (r->resplen > 0 && cls != NOTIFY_OK)
		snprintf(what, sizeof(what), "HTTP %ld %s", status, r->resp);
	else
		snprintf(what, sizeof(what), "HTTP %ld", status);

	switch (cls) {
	case NOTIFY_OK:
		TAILQ_REMOVE(&r->queue, it, entry);
		if (r->retrying)
			log_notice("outbox: receiver %s delivers again",
			    r->name);
		r->retrying = 0;
		if (r->type->receipt && it->nmembers == 0)
			it->reply = strdup(r->reply);
		ob_complete(o, it, OUTBOX_SENT, "%s", what);
		break;
	case NOTIFY_PERMANENT:
		TAILQ_REMOVE(&r->queue, it, entry);
		r->retrying = 0;
		if (vd.gone) {
			log_warnx("outbox: receiver %s failed: %s (the %s "
			    "receiver cannot deliver: webhook or channel gone, "
			    "or token refused); its notifications fail until "
			    "a reload changes it", r->name, what,
			    r->type->name);
			r->failed = 1;
			r->failed_status = status;
		} else
			log_warnx("outbox: notification %" PRIu64 " to %s "
			    "failed: %s", it->id, r->name, what);
		ob_complete(o, it, OUTBOX_FAILED, "%s", what);
		break;
	case NOTIFY_RETRY_AFTER:
		if (r->type->slack) {
			const char *label[1] = { r->name };

			metrics_inc(cw_metrics, M_SLACK_RATE_LIMITED, label, 1);
		}
		ra = notify_retry_after(r->retry_after[0] != '\0' ?
		    r->retry_after : NULL, util_now_us());
		if (ra >= 0) {
			wait = ra < OB_RETRY_AFTER_MIN ? OB_RETRY_AFTER_MIN :
			    ra > OUTBOX_RETRY_AFTER_MAX ?
			    OUTBOX_RETRY_AFTER_MAX : ra;
			break;
		}
		/* FALLTHROUGH */
	case NOTIFY_RETRY:
		wait = notify_backoff(it->attempts, ob_random(o));
		break;
	}
	if ((cls == NOTIFY_RETRY || cls == NOTIFY_RETRY_AFTER) && r->removed) {
		TAILQ_REMOVE(&r->queue, it, entry);
		ob_complete(o, it, OUTBOX_FAILED, "receiver removed (%s)",
		    what);
	} else if (cls == NOTIFY_RETRY || cls == NOTIFY_RETRY_AFTER) {
		/* A state change is logged once, then only at debug. */
		if (!r->retrying)
			log_warnx("outbox: receiver %s: %s; retrying "
			    "notification %" PRIu64 " in %.1f s", r->name,
			    what, it->id, (double)wait / CW_USEC_PER_SEC);
		else
			log_debug("outbox: receiver %s: %s; retrying "
			    "notification %" PRIu64 " (attempt %d) in %.1f s",
			    r->name, what, it->id, it->attempts + 1,
			    (double)wait / CW_USEC_PER_SEC);
		r->retrying = 1;
		r->not_before = ob_mono_us() + wait;
	}
	if (r->removed) {
		ob_fail_queue(r, "receiver removed");
		TAILQ_REMOVE(&o->recvs, r, entry);
		ob_recv_free(r);
		return;
	}
	ob_kick(r);
}

/*
 * hiperfifo's sock_cb(): curl says which events it wants on socket s.
 * Only libevent calls here (curl_multi_assign is allowed).
 */
static int
ob_sock_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct outbox *o = arg;
	struct ob_sock *sk = sockp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			TAILQ_REMOVE(&o->socks, sk, entry);
			event_free(sk->ev);
			free(sk);
		}
		return 0;
	}
	if (sk == NULL) {
		if ((sk = calloc(1, sizeof(*sk))) == NULL)
			return -1;
		sk->ob = o;
		sk->fd = s;
		TAILQ_INSERT_TAIL(&o->socks, sk, entry);
		curl_multi_assign(o->multi, s, sk);
	} else if (sk->ev != NULL) {
		event_free(sk->ev);
		sk->ev = NULL;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if ((sk->ev = event_new(o->base, s, kind, ob_event_cb, o)) == NULL ||
	    event_add(sk->ev, NULL) == -1) {
		log_warnx("%s: cannot watch a socket", __func__);
		return -1;
	}
	return 0;
}

/*
 * hiperfifo's multi_timer_cb(): arm (or disarm, -1) the one timer.  No
 * libcurl call here: a 0 timeout fires from the loop like any other.
 */
static int
ob_timer_set_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct outbox *o = arg;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(o->ev_timer);
		return 0;
	}
	tv = ob_tv((int64_t)timeout_ms * 1000);
	return evtimer_add(o->ev_timer, &tv) == 0 ? 0 : -1;
}

static void
ob_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *o = arg;

	curl_multi_socket_action(o->multi, CURL_SOCKET_TIMEOUT, 0,
	    &o->running);
	ob_check_multi(o);
}

static void
ob_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *o = arg;
	int action;

	action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(o->multi, fd, action, &o->running);
	ob_check_multi(o);
}
