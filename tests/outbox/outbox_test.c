/*
 * outbox_test.c -- outbox.c against a live tools/receiver.py.
 *
 *	outbox_test http://127.0.0.1:PORT
 *
 * Each scenario makes its own outbox on one event_base, drives it until
 * the done() calls it expects have come (or a deadline passes), then asks
 * the receiver what it saw (GET /_requests) and checks both sides.  The
 * receiver is commanded with POST /_control and cleared with POST /_reset
 * (blocking libcurl calls between scenarios, outside the loop).
 * tests/outbox/run.sh starts the receiver on a free port and runs this.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "outbox.h"

#define MAX_DONE	256

struct done_rec {
	uint64_t		 id;
	char			 receiver[32];
	enum outbox_result	 result;
	int			 attempts;
	char			 detail[96];
	double			 t;
};

static const char	*base_url;
static struct event_base *base;
static struct outbox	*ob;
static struct done_rec	 dones[MAX_DONE];
static size_t		 ndone, want_done;
static int		 in_call;	/* inside an outbox_* call */
static int		 free_in_done;	/* scenario: outbox_free from done() */
static int		 failures, scenario_failures;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 2, 3)))
check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	failures++;
	scenario_failures++;
	printf("    FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- the receiver, over blocking libcurl ---- */

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
buf_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *p;

	if ((p = realloc(b->p, b->n + size * n + 1)) == NULL)
		return 0;
	b->p = p;
	memcpy(b->p + b->n, data, size * n);
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

/* POST (body != NULL) or GET base_url + path; returns the body, malloc'd. */
static char *
http(const char *path, const char *body)
{
	struct curl_slist *h = NULL;
	struct buf b = { NULL, 0 };
	char url[512];
	CURL *c;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", base_url, path);
	if ((c = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		check(0, "receiver %s: %s", path, curl_easy_strerror(rc));
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void
ctl(const char *json)
{
	free(http("/_control", json));
}

static void
reset_receiver(void)
{
	free(http("/_reset", "{}"));
}

/* The requests the receiver saw at path (NULL: all); json_decref it. */
static json_t *
requests(const char *path)
{
	char q[256], *text;
	json_t *a;

	if (path != NULL)
		snprintf(q, sizeof(q), "/_requests?path=%s", path);
	else
		snprintf(q, sizeof(q), "/_requests");
	if ((text = http(q, NULL)) == NULL)
		return json_array();
	a = json_loads(text, 0, NULL);
	free(text);
	if (a == NULL || !json_is_array(a)) {
		check(0, "GET %s: not a JSON array", q);
		json_decref(a);
		return json_array();
	}
	return a;
}

static size_t
nrequests(const char *path)
{
	json_t *a = requests(path);
	size_t n = json_array_size(a);

	json_decref(a);
	return n;
}

static double
req_time(json_t *a, size_t i)
{
	return json_real_value(json_object_get(json_array_get(a, i), "time"));
}

static const char *
req_body(json_t *a, size_t i)
{
	const char *s;

	s = json_string_value(json_object_get(json_array_get(a, i), "body"));
	return s != NULL ? s : "";
}

/* A request header, case-insensitively; NULL if absent. */
static const char *
req_header(json_t *a, size_t i, const char *name)
{
	json_t *h = json_object_get(json_array_get(a, i), "headers");
	const char *k;
	json_t *v;

	json_object_foreach(h, k, v)
		if (strcasecmp(k, name) == 0)
			return json_string_value(v);
	return NULL;
}

/* ---- the loop ---- */

static void
done_cb(void *arg, uint64_t id, const char *receiver,
    enum outbox_result res, int attempts, const char *detail)
{
	struct done_rec *d;

	check(!in_call, "done(%" PRIu64 ") called inside an outbox_* call",
	    id);
	check(receiver != NULL && detail != NULL, "done: NULL strings");
	if (ndone < MAX_DONE) {
		d = &dones[ndone];
		d->id = id;
		snprintf(d->receiver, sizeof(d->receiver), "%s", receiver);
		d->result = res;
		d->attempts = attempts;
		snprintf(d->detail, sizeof(d->detail), "%s", detail);
		d->t = now_s();
	}
	ndone++;
	if (free_in_done) {
		free_in_done = 0;
		outbox_free(ob);
		ob = NULL;
	}
	if (want_done > 0 && ndone >= want_done)
		event_base_loopbreak(base);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

/* Runs the loop until ndone reaches n (0: never) or secs pass. */
static void
run(size_t n, double secs)
{
	struct event *dl;
	struct timeval tv;

	want_done = n;
	if (n > 0 && ndone >= n)
		return;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	dl = evtimer_new(base, deadline_cb, NULL);
	evtimer_add(dl, &tv);
	event_base_dispatch(base);
	event_free(dl);
	want_done = 0;
}

static const struct outbox_ops ops = { done_cb, NULL, NULL };

static struct outbox *
new_outbox(const struct outbox_receiver *rs, size_t n)
{
	struct outbox *o;

	if ((o = outbox_new(base, &ops)) == NULL) {
		fprintf(stderr, "outbox_new failed\n");
		exit(2);
	}
	in_call = 1;
	if (outbox_set_receivers(o, rs, n) == -1) {
		fprintf(stderr, "outbox_set_receivers failed\n");
		exit(2);
	}
	in_call = 0;
	return o;
}

static int
tsend(uint64_t id, const char *receiver, const char *body)
{
	int rc;

	in_call = 1;
	rc = outbox_send(ob, id, receiver, body);
	in_call = 0;
	return rc;
}

static int
set_receivers(const struct outbox_receiver *rs, size_t n)
{
	int rc;

	in_call = 1;
	rc = outbox_set_receivers(ob, rs, n);
	in_call = 0;
	return rc;
}

static const struct done_rec *
find_done(uint64_t id)
{
	size_t i;

	for (i = 0; i < ndone && i < MAX_DONE; i++)
		if (dones[i].id == id)
			return &dones[i];
	return NULL;
}

static size_t
count_done(uint64_t id)
{
	size_t i, n = 0;

	for (i = 0; i < ndone && i < MAX_DONE; i++)
		if (dones[i].id == id)
			n++;
	return n;
}

static void
url(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s%s", base_url, path);
}

static double	scenario_t0;

static void
begin(const char *name)
{
	printf("  %s\n", name);
	fflush(stdout);
	reset_receiver();
	ndone = 0;
	scenario_failures = 0;
	scenario_t0 = now_s();
}

static void
end(const char *name)
{
	outbox_free(ob);
	ob = NULL;
	printf("%s %s (%.2f s)\n", scenario_failures ? "FAIL" : "ok  ", name,
	    now_s() - scenario_t0);
	fflush(stdout);
}

/* ---- scenarios, basic to complex ---- */

static void
t_basic(void)
{
	char u[256];
	struct outbox_receiver r = { "hook", OUTBOX_WEBHOOK, u, NULL, 5, 0, 0, 0, 0 };
	const char *body = "{\"hello\":\"world\",\"n\":1}";
	const struct done_rec *d;
	json_t *a;

	begin("basic: one webhook notification is delivered");
	url(u, sizeof(u), "/basic");
	ob = new_outbox(&r, 1);
	check(tsend(1, "hook", body) == 0, "outbox_send returned -1");
	check(outbox_queued(ob) == 1, "queued %zu, want 1", outbox_queued(ob));
	check(ndone == 0, "done before the loop ran");
	run(1, 10);
	d = find_done(1);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 1,
	    "want SENT after 1 attempt, got %s/%d (%s)",
	    d ? (d->result == OUTBOX_SENT ? "SENT" : "FAILED") : "nothing",
	    d ? d->attempts : 0, d ? d->detail : "");
	check(d != NULL && strcmp(d->receiver, "hook") == 0, "receiver name");
	check(d != NULL && strcmp(d->detail, "HTTP 200") == 0, "detail '%s'",
	    d ? d->detail : "");
	check(outbox_queued(ob) == 0, "queued %zu after done",
	    outbox_queued(ob));
	a = requests("/basic");
	check(json_array_size(a) == 1, "receiver saw %zu requests, want 1",
	    json_array_size(a));
	if (json_array_size(a) == 1) {
		const char *ct = req_header(a, 0, "Content-Type");
		const char *nid = req_header(a, 0, "X-Churnwatch-Notification-Id");

		check(strcmp(req_body(a, 0), body) == 0, "body differs: %s",
		    req_body(a, 0));
		check(ct != NULL && strcmp(ct, "application/json") == 0,
		    "Content-Type %s", ct ? ct : "(none)");
		check(nid != NULL && strcmp(nid, "1") == 0,
		    "X-Churnwatch-Notification-Id %s", nid ? nid : "(none)");
		check(req_header(a, 0, "X-Churnwatch-Signature") == NULL,
		    "a signature without a secret");
		check(req_header(a, 0, "Expect") == NULL, "Expect: sent");
	}
	json_decref(a);
	end("basic");
}

static void
t_unknown_and_log(void)
{
	struct outbox_receiver r = { "audit", OUTBOX_LOG, NULL, NULL, 0, 0, 0, 0, 0 };
	const struct done_rec *d;

	begin("log receiver: logged, done SENT from the loop; unknown "
	    "receiver refused");
	ob = new_outbox(&r, 1);
	check(tsend(7, "nobody", "{}") == -1, "unknown receiver accepted");
	check(tsend(8, "audit", "{\"a\":\"line\nbreak\"}") == 0,
	    "log send failed");
	check(ndone == 0, "done called from outbox_send");
	check(outbox_queued(ob) == 1, "queued %zu, want 1", outbox_queued(ob));
	run(1, 5);
	d = find_done(8);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 1 &&
	    strcmp(d->detail, "logged") == 0, "log: want SENT/1/logged");
	check(find_done(7) == NULL, "done for the unknown receiver");
	check(nrequests(NULL) == 0, "a log receiver made a request");
	end("log+unknown");
}

static void
t_500_then_200(void)
{
	char u[256];
	struct outbox_receiver r = { "hook", OUTBOX_WEBHOOK, u, NULL, 5, 0, 0, 0, 0 };
	const struct done_rec *d;
	json_t *a;
	size_t i;
	double gap = 0;

	begin("500 then 200: retried after backoff, delivered exactly once, "
	    "order kept");
	url(u, sizeof(u), "/retry");
	ob = new_outbox(&r, 1);
	ctl("{\"mode\": \"500\", \"count\": 1}");
	check(tsend(1, "hook", "{\"n\":1}") == 0, "send 1");
	check(tsend(2, "hook", "{\"n\":2}") == 0, "send 2");
	check(tsend(3, "hook", "{\"n\":3}") == 0, "send 3");
	run(3, 15);
	run(0, 0.5);	/* nothing more may come */
	check(ndone == 3, "done called %zu times, want 3", ndone);
	for (i = 1; i <= 3; i++)
		check(count_done(i) == 1, "done(%zu) called %zu times", i,
		    count_done(i));
	d = find_done(1);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 2,
	    "id 1: want SENT after 2 attempts, got %d (%s)",
	    d ? d->attempts : 0, d ? d->detail : "");
	d = find_done(2);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 1,
	    "id 2: want SENT after 1 attempt");
	check(ndone >= 3 && dones[0].id == 1 && dones[1].id == 2 &&
	    dones[2].id == 3, "done order");
	a = requests("/retry");
	check(json_array_size(a) == 4, "receiver saw %zu requests, want 4",
	    json_array_size(a));
	if (json_array_size(a) == 4) {
		check(strcmp(req_body(a, 0), "{\"n\":1}") == 0 &&
		    strcmp(req_body(a, 1), "{\"n\":1}") == 0 &&
		    strcmp(req_body(a, 2), "{\"n\":2}") == 0 &&
		    strcmp(req_body(a, 3), "{\"n\":3}") == 0,
		    "request order: %s %s %s %s", req_body(a, 0),
		    req_body(a, 1), req_body(a, 2), req_body(a, 3));
		gap = req_time(a, 1) - req_time(a, 0);
		check(gap >= 0.74 && gap < 1.5, "backoff %.3f s, want "
		    "0.75..1.25", gap);
	}
	printf("    retry after %.3f s\n", gap);
	json_decref(a);
	end("500-then-200");
}

static void
t_429(void)
{
	char u[256];
	struct outbox_receiver r = { "hook", OUTBOX_WEBHOOK, u, NULL, 5, 0, 0, 0, 0 };
	const struct done_rec *d;
	json_t *a;
	double gap = 0;

	begin("429 Retry-After: 2: the retry waits at least 2 s");
	url(u, sizeof(u), "/429");
	ob = new_outbox(&r, 1);
	ctl("{\"mode\": \"429\", \"retry_after\": 2, \"count\": 1}");
	check(tsend(1, "hook", "{}") == 0, "send");
	run(1, 10);
	d = find_done(1);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 2,
	    "want SENT after 2 attempts");
	a = requests("/429");
	check(json_array_size(a) == 2, "receiver saw %zu, want 2",
	    json_array_size(a));
	if (json_array_size(a) == 2) {
		gap = req_time(a, 1) - req_time(a, 0);
		check(gap >= 2.0 && gap < 3.0, "retry after %.3f s, want "
		    ">= 2", gap);
	}
	printf("    retry after %.3f s\n", gap);
	json_decref(a);

	/* Without the header: the backoff. */
	reset_receiver();
	ndone = 0;
	ctl("{\"mode\": \"429\", \"count\": 1}");
	check(tsend(2, "hook", "{}") == 0, "send");
	run(1, 10);
	d = find_done(2);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 2,
	    "no Retry-After: want SENT after 2 attempts");
	a = requests("/429");
	if (json_array_size(a) == 2) {
		gap = req_time(a, 1) - req_time(a, 0);
		check(gap >= 0.74 && gap < 1.5, "no Retry-After: retry "
		    "after %.3f s, want the 1 s backoff", gap);
		printf("    without Retry-After: retry after %.3f s\n", gap);
	} else
		check(0, "no Retry-After: receiver saw %zu, want 2",
		    json_array_size(a));
	json_decref(a);
	end("429");
}

static void
t_hang(void)
{
	char u[256];
	struct outbox_receiver r = { "slow", OUTBOX_WEBHOOK, u, NULL, 1, 0, 0, 0, 0 };
	const struct done_rec *d;
	json_t *a;
	double gap = 0, t0 = now_s();

	begin("hang: the request times out after 1 s and is retried");
	url(u, sizeof(u), "/hang");
	ob = new_outbox(&r, 1);
	ctl("{\"mode\": \"hang\", \"count\": 1}");
	check(tsend(1, "slow", "{}") == 0, "send");
	run(1, 10);
	d = find_done(1);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 2,
	    "want SENT after 2 attempts, got %d", d ? d->attempts : 0);
	a = requests("/hang");
	check(json_array_size(a) == 2, "receiver saw %zu, want 2",
	    json_array_size(a));
	if (json_array_size(a) == 2) {
		/* 1 s timeout + 1 s +-25 % backoff */
		gap = req_time(a, 1) - req_time(a, 0);
		check(gap >= 1.7 && gap < 3.0, "retry after %.3f s, want "
		    "1.75..2.25", gap);
	}
	printf("    retry %.3f s after the hung request; done after %.3f s\n",
	    gap, d ? d->t - t0 : 0);
	json_decref(a);
	end("hang");
}

static void
t_pacing(void)
{
	char u[256], body[64];
	struct outbox_receiver r = { "paced", OUTBOX_WEBHOOK, u, NULL, 5, 5, 3, 0, 0 };
	json_t *a;
	size_t i, n, sent = 0, inorder = 1;
	double span = 0, mingap = 1e9, t0;

	begin("pacing: 20 at rate 5/s burst 3 take >= 3.4 s, none lost");
	url(u, sizeof(u), "/paced");
	ob = new_outbox(&r, 1);
	t0 = now_s();
	for (i = 1; i <= 20; i++) {
		snprintf(body, sizeof(body), "{\"n\":%zu}", i);
		check(tsend(i, "paced", body) == 0, "send %zu", i);
	}
	check(outbox_queued(ob) == 20, "queued %zu", outbox_queued(ob));
	run(20, 15);
	for (i = 0; i < ndone && i < MAX_DONE; i++) {
		if (dones[i].result == OUTBOX_SENT)
			sent++;
		if (dones[i].id != i + 1)
			inorder = 0;
	}
	check(sent == 20 && ndone == 20, "done SENT %zu of %zu, want 20",
	    sent, ndone);
	check(inorder, "done out of order");
	a = requests("/paced");
	n = json_array_size(a);
	check(n == 20, "receiver saw %zu, want 20", n);
	for (i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "{\"n\":%zu}", i + 1);
		if (strcmp(req_body(a, i), body) != 0)
			inorder = 0;
		/* The bucket: request k (from 0) no sooner than (k-2)/5 s. */
		if (i >= 3) {
			double at = req_time(a, i) - req_time(a, 0);

			check(at >= (double)(i - 2) * 0.2 - 0.02,
			    "request %zu at %.3f s, want >= %.3f", i, at,
			    (double)(i - 2) * 0.2);
			/*
			 * The first paced request comes sooner after the
			 * burst: the bucket refilled while the burst went.
			 */
			if (i >= 4 && req_time(a, i) - req_time(a, i - 1) <
			    mingap)
				mingap = req_time(a, i) - req_time(a, i - 1);
		}
	}
	check(inorder, "requests out of order");
	if (n >= 2)
		span = req_time(a, n - 1) - req_time(a, 0);
	check(span >= 3.38, "20 requests in %.3f s, want >= 3.4", span);
	check(mingap >= 0.17, "paced requests %.3f s apart, want ~0.2",
	    mingap);
	printf("    20 requests over %.3f s (first to last), all done after "
	    "%.3f s, paced gaps >= %.3f s\n", span,
	    ndone ? dones[ndone - 1].t - t0 : 0, mingap);
	json_decref(a);
	end("pacing");
}

static void
t_slack_gone(void)
{
	char u1[256], u2[256], u3[256];
	struct outbox_receiver rs[2] = {
		{ "gone", OUTBOX_SLACK, u1, NULL, 5, 0, 0, 0, 0 },
		{ "other", OUTBOX_WEBHOOK, u2, NULL, 5, 0, 0, 0, 0 },
	};
	const struct done_rec *d;
	size_t i;

	begin("Slack 404: the receiver is failed, the others go on");
	url(u1, sizeof(u1), "/slack-gone");
	url(u2, sizeof(u2), "/other");
	url(u3, sizeof(u3), "/slack-new");
	ob = new_outbox(rs, 2);
	ctl("{\"mode\": \"404\", \"path\": \"/slack-gone\"}");
	for (i = 1; i <= 3; i++)
		check(tsend(i, "gone", "{\"text\":\"x\"}") == 0, "send %zu", i);
	check(tsend(11, "other", "{}") == 0, "send 11");
	check(tsend(12, "other", "{}") == 0, "send 12");
	run(5, 10);
	check(ndone == 5, "done %zu times, want 5", ndone);
	for (i = 1; i <= 3; i++) {
		d = find_done(i);
		check(d != NULL && d->result == OUTBOX_FAILED,
		    "gone %zu: want FAILED", i);
		if (d != NULL)
			printf("    id %zu: FAILED attempts=%d \"%s\"\n", i,
			    d->attempts, d->detail);
	}
	d = find_done(1);
	check(d != NULL && d->attempts == 1, "id 1: 1 attempt");
	d = find_done(2);
	check(d != NULL && d->attempts == 0, "id 2: no attempt");
	for (i = 11; i <= 12; i++) {
		d = find_done(i);
		check(d != NULL && d->result == OUTBOX_SENT,
		    "other %zu: want SENT", i);
	}
	check(outbox_receiver_failed(ob, "gone") == 1, "gone not failed");
	check(outbox_receiver_failed(ob, "other") == 0, "other failed");
	check(outbox_receiver_failed(ob, "nope") == -1, "nope found");
	check(nrequests("/slack-gone") == 1, "slack saw %zu, want 1",
	    nrequests("/slack-gone"));
	check(nrequests("/other") == 2, "other saw %zu, want 2",
	    nrequests("/other"));

	/* Later notifications fail at once, without a request. */
	check(tsend(4, "gone", "{}") == 0, "send 4");
	check(tsend(13, "other", "{}") == 0, "send 13");
	run(7, 10);
	d = find_done(4);
	check(d != NULL && d->result == OUTBOX_FAILED && d->attempts == 0,
	    "id 4: want FAILED without a request");
	d = find_done(13);
	check(d != NULL && d->result == OUTBOX_SENT, "id 13: want SENT");
	check(nrequests("/slack-gone") == 1, "slack saw another request");

	/* A reload with a new url clears the failed state. */
	rs[0].url = u3;
	check(set_receivers(rs, 2) == 0, "reload");
	check(outbox_receiver_failed(ob, "gone") == 0, "still failed");
	check(tsend(5, "gone", "{}") == 0, "send 5");
	run(8, 10);
	d = find_done(5);
	check(d != NULL && d->result == OUTBOX_SENT, "after reload: SENT");
	check(nrequests("/slack-new") == 1, "new url not used");
	end("slack-404");
}

static void
t_signature(void)
{
	char u[256], v1[65], *endp;
	const char *secret = "s3cr3t-value";
	struct outbox_receiver r = { "signed", OUTBOX_WEBHOOK, u, secret, 5,
	    0, 0, 0, 0 };
	const char *sig, *body, *p;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *msg;
	long long t = 0;
	json_t *a;

	begin("webhook signature: X-Churnwatch-Signature t=..,v1=.. verifies");
	url(u, sizeof(u), "/signed");
	ob = new_outbox(&r, 1);
	check(tsend(42, "signed", "{\"alert_id\":\"1\",\"x\":\"\\u00e9\"}") == 0,
	    "send");
	run(1, 10);
	a = requests("/signed");
	check(json_array_size(a) == 1, "receiver saw %zu, want 1",
	    json_array_size(a));
	sig = json_array_size(a) == 1 ?
	    req_header(a, 0, "X-Churnwatch-Signature") : NULL;
	check(sig != NULL, "no signature header");
	if (sig != NULL && strncmp(sig, "t=", 2) == 0) {
		t = strtoll(sig + 2, &endp, 10);
		check(strncmp(endp, ",v1=", 4) == 0 && strlen(endp + 4) == 64,
		    "signature format: %s", sig);
		check(t > 0 && (double)t > now_s() - 60 && (double)t <
		    now_s() + 5, "signature t=%lld not now", t);
		body = req_body(a, 0);
		if (asprintf(&msg, "%lld.%s", t, body) > 0) {
			HMAC(EVP_sha256(), secret, (int)strlen(secret),
			    (unsigned char *)msg, strlen(msg), md, &mdlen);
			free(msg);
		}
		for (i = 0; i < mdlen && i < 32; i++)
			snprintf(v1 + 2 * i, 3, "%02x", md[i]);
		v1[64] = '\0';
		p = strstr(sig, ",v1=");
		check(p != NULL && strcmp(p + 4, v1) == 0,
		    "v1 does not verify: got %s want %s", p ? p + 4 : "",
		    v1);
		printf("    %s verifies\n", sig);
	} else
		check(0, "signature format: %s", sig ? sig : "(none)");
	json_decref(a);
	end("signature");
}

static void
t_reload_moves(void)
{
	char u[256];
	struct outbox_receiver r = { "moving", OUTBOX_WEBHOOK,
	    "http://127.0.0.1:1/refused", NULL, 2, 0, 0, 0, 0 };
	const struct done_rec *d;

	begin("connection refused: retried; a reload to a live url "
	    "delivers the queue in order");
	url(u, sizeof(u), "/moved");
	ob = new_outbox(&r, 1);
	check(tsend(1, "moving", "{\"n\":1}") == 0, "send 1");
	check(tsend(2, "moving", "{\"n\":2}") == 0, "send 2");
	run(0, 1.5);
	check(ndone == 0, "done while the receiver refuses");
	check(outbox_queued(ob) == 2, "queued %zu, want 2", outbox_queued(ob));
	r.url = u;
	check(set_receivers(&r, 1) == 0, "reload");
	run(2, 10);
	d = find_done(1);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts >= 2,
	    "id 1: want SENT after >= 2 attempts, got %d",
	    d ? d->attempts : 0);
	d = find_done(2);
	check(d != NULL && d->result == OUTBOX_SENT && d->attempts == 1,
	    "id 2: want SENT after 1 attempt");
	check(ndone == 2 && dones[0].id == 1, "order");
	check(nrequests("/moved") == 2, "receiver saw %zu, want 2",
	    nrequests("/moved"));
	end("reload-moves");
}

static void
t_reload_removes(void)
{
	char u1[256], u2[256], u3[256];
	struct outbox_receiver rs[3] = {
		{ "keep", OUTBOX_WEBHOOK, u1, NULL, 5, 0, 0, 0, 0 },
		{ "backoff", OUTBOX_WEBHOOK, u2, NULL, 5, 0, 0, 0, 0 },
		{ "inflight", OUTBOX_WEBHOOK, u3, NULL, 1, 0, 0, 0, 0 },
	};
	const struct done_rec *d;
	size_t i;

	begin("reload removing receivers: their queues fail, in flight "
	    "finishes; bad configs change nothing");
	url(u1, sizeof(u1), "/keep");
	url(u2, sizeof(u2), "/backoff");
	url(u3, sizeof(u3), "/inflight");
	ob = new_outbox(rs, 3);
	ctl("{\"mode\": \"500\", \"path\": \"/backoff\"}");
	ctl("{\"mode\": \"hang\", \"path\": \"/inflight\"}");
	check(tsend(1, "backoff", "{}") == 0 && tsend(2, "backoff", "{}") == 0,
	    "send backoff");
	check(tsend(11, "inflight", "{}") == 0 &&
	    tsend(12, "inflight", "{}") == 0, "send inflight");
	run(0, 0.4);
	check(ndone == 0, "done too early");

	/* Invalid: duplicate name, missing url; nothing changes. */
	{
		struct outbox_receiver bad[2] = { rs[0], rs[0] };

		check(set_receivers(bad, 2) == -1, "duplicate accepted");
		bad[1].name = "nourl";
		bad[1].url = NULL;
		check(set_receivers(bad, 2) == -1, "missing url accepted");
		bad[1].url = "ftp://example.invalid/x";
		check(set_receivers(bad, 2) == -1, "ftp url accepted");
		check(outbox_receiver_failed(ob, "backoff") == 0,
		    "a bad reload changed the receivers");
	}

	check(set_receivers(rs, 1) == 0, "reload");
	check(tsend(3, "backoff", "{}") == -1, "removed receiver accepts");
	run(2, 5);	/* backoff: both fail at once */
	for (i = 1; i <= 2; i++) {
		d = find_done(i);
		check(d != NULL && d->result == OUTBOX_FAILED &&
		    strcmp(d->detail, "receiver removed") == 0,
		    "backoff %zu: want FAILED 'receiver removed', got '%s'",
		    i, d ? d->detail : "");
	}
	check(find_done(11) == NULL, "in-flight request cut short");
	run(4, 5);	/* the hung request times out after 1 s */
	d = find_done(11);
	check(d != NULL && d->result == OUTBOX_FAILED && d->attempts == 1 &&
	    strncmp(d->detail, "receiver removed (", 18) == 0,
	    "inflight 11: got '%s'", d ? d->detail : "");
	d = find_done(12);
	check(d != NULL && d->result == OUTBOX_FAILED && d->attempts == 0,
	    "inflight 12: want FAILED without a request");
	for (i = 0; i < ndone && i < MAX_DONE; i++)
		printf("    id %" PRIu64 " %s: \"%s\"\n", dones[i].id,
		    dones[i].receiver, dones[i].detail);
	check(tsend(4, "keep", "{}") == 0, "keep still works");
	run(5, 5);
	d = find_done(4);
	check(d != NULL && d->result == OUTBOX_SENT, "keep: want SENT");
	end("reload-removes");
}

static void
t_free_busy(void)
{
	char u[256];
	struct outbox_receiver rs[2] = {
		{ "stuck", OUTBOX_WEBHOOK, u, NULL, 30, 0, 0, 0, 0 },
		{ "audit", OUTBOX_LOG, NULL, NULL, 0, 0, 0, 0, 0 },
	};

	begin("outbox_free with a request in flight and a queue; "
	    "outbox_free from inside done()");
	url(u, sizeof(u), "/stuck");
	ob = new_outbox(rs, 2);
	ctl("{\"mode\": \"hang\", \"path\": \"/stuck\"}");
	check(tsend(1, "stuck", "{}") == 0 && tsend(2, "stuck", "{}") == 0,
	    "send");
	run(0, 0.3);
	check(nrequests("/stuck") == 1, "request not in flight");
	outbox_free(ob);	/* aborts the request, drops the queue */
	ob = NULL;
	check(ndone == 0, "done after outbox_free");

	ob = new_outbox(rs, 2);
	check(tsend(3, "stuck", "{}") == 0, "send");
	check(tsend(4, "audit", "{}") == 0 && tsend(5, "audit", "{}") == 0,
	    "send log");
	free_in_done = 1;
	run(1, 5);
	check(ob == NULL && ndone == 1, "done after outbox_free in done(): "
	    "%zu calls", ndone);
	run(0, 0.3);
	check(ndone == 1, "done called after the free: %zu", ndone);
	ctl("{\"mode\": \"ok\"}");
	end("free-busy");
}

static void
t_group(void)
{
	char u[256], body[64];
	struct outbox_receiver r = { "grouped", OUTBOX_WEBHOOK, u, NULL, 5,
	    0, 0, 1000000, 2 };
	const struct done_rec *d;
	const char *gs;
	json_t *a, *arr;
	size_t i, n;
	double t0;

	begin("grouping: 2 at once, 8 held for the 1 s window and sent as "
	    "one array; a 500 retries the array whole");
	url(u, sizeof(u), "/grouped");
	ob = new_outbox(&r, 1);
	t0 = now_s();
	for (i = 1; i <= 10; i++) {
		snprintf(body, sizeof(body), "{\"n\":%zu}", i);
		check(tsend(i, "grouped", body) == 0, "send %zu", i);
	}
	check(outbox_queued(ob) == 10, "queued %zu, want 10 (held count)",
	    outbox_queued(ob));
	run(2, 5);
	check(ndone == 2 && now_s() - t0 < 0.9, "the first two: %zu done "
	    "after %.3f s", ndone, now_s() - t0);
	ctl("{\"mode\": \"500\", \"count\": 1, \"path\": \"/grouped\"}");
	run(10, 10);
	check(ndone == 10, "done %zu times, want 10", ndone);
	for (i = 1; i <= 10; i++) {
		d = find_done(i);
		check(d != NULL && d->result == OUTBOX_SENT && count_done(i) == 1,
		    "id %zu: want SENT once", i);
		/* The array met the 500 and was retried whole. */
		if (i >= 3)
			check(d != NULL && d->attempts == 2, "member %zu: "
			    "attempts %d, want the group's 2", i,
			    d ? d->attempts : 0);
	}
	a = requests("/grouped");
	n = json_array_size(a);
	check(n == 4, "receiver saw %zu requests, want 4 (2 single, "
	    "the array twice)", n);
	if (n == 4) {
		check(req_time(a, 2) - t0 >= 0.95, "the array came after "
		    "%.3f s, want the window's 1 s", req_time(a, 2) - t0);
		arr = json_loads(req_body(a, 3), 0, NULL);
		check(json_is_array(arr) && json_array_size(arr) == 8,
		    "want an array of 8: %s", req_body(a, 3));
		for (i = 0; i < json_array_size(arr); i++)
			check(json_integer_value(json_object_get(
			    json_array_get(arr, i), "n")) == (json_int_t)i + 3,
			    "member %zu out of order", i);
		json_decref(arr);
		gs = req_header(a, 3, "X-Churnwatch-Group-Size");
		check(gs != NULL && strcmp(gs, "8") == 0, "group size %s",
		    gs ? gs : "(none)");
		check(req_header(a, 3, "X-Churnwatch-Notification-Id") == NULL,
		    "a group with one notification id");
		printf("    array of 8 after %.3f s, retried after %.3f s\n",
		    req_time(a, 2) - t0, req_time(a, 3) - req_time(a, 2));
	}
	json_decref(a);
	end("group");
}

int
main(int argc, char **argv)
{
	double t0 = now_s();

	if (argc != 2) {
		fprintf(stderr, "usage: outbox_test http://127.0.0.1:PORT\n");
		return 2;
	}
	base_url = argv[1];
	log_init(getenv("OUTBOX_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((base = event_base_new()) == NULL)
		return 2;

	t_basic();
	t_unknown_and_log();
	t_signature();
	t_500_then_200();
	t_429();
	t_hang();
	t_pacing();
	t_group();
	t_slack_gone();
	t_reload_moves();
	t_reload_removes();
	t_free_busy();

	event_base_free(base);
	curl_global_cleanup();
	libevent_global_shutdown();
	printf("%s: %d failure%s in %.1f s\n", failures ? "FAIL" : "PASS",
	    failures, failures == 1 ? "" : "s", now_s() - t0);
	return failures ? 1 : 0;
}
