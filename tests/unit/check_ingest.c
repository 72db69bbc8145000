/*
 * check_ingest.c -- the rules of ingest.c with a fake direct sink (the
 * test decides when and how each commit ends), a real spool in a temp
 * directory and a real libevent loop: the direct path, the fall-back to
 * the spool, nothing overtaking the spool, only undecided events spooled
 * after a failed commit, one fdatasync for the appends of a loop turn, a
 * failed sync answered as such, back-pressure, and the drain (in order,
 * only once the windows are loaded, refused events to the dead letter).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "event.h"
#include "ingest.h"
#include "log.h"
#include "spool.h"
#include "store.h"

/* ---- a fake direct sink ---- */

struct call {
	char			 source[32];
	const struct cw_event	*ev;
	size_t			 n;
	store_ingest_cb		 cb;
	void			*arg;
};

static struct {
	int		up;
	size_t		pending;	/* reported */
	struct call	calls[16];
	int		ncalls;
} fake;

static int
fake_put(void *self, const char *source, const struct cw_event *ev,
    size_t n, store_ingest_cb cb, void *arg)
{
	struct call *c;

	if (!fake.up)
		return -1;
	ck_assert_int_lt(fake.ncalls, 16);
	c = &fake.calls[fake.ncalls++];
	snprintf(c->source, sizeof(c->source), "%s", source);
	c->ev = ev;
	c->n = n;
	c->cb = cb;
	c->arg = arg;
	return 0;
}

static size_t
fake_pending(const void *self)
{
	return fake.pending;
}

static int
fake_up(const void *self)
{
	return fake.up;
}

/* End call k: status, and fresh given as a string of digits. */
static void
finish(int k, enum store_status st, const char *fresh, const char *why)
{
	struct call *c = &fake.calls[k];
	uint8_t f[64];
	const char *w[64];
	size_t i;

	ck_assert_uint_eq(strlen(fresh), c->n);
	for (i = 0; i < c->n; i++) {
		f[i] = (uint8_t)(fresh[i] - '0');
		w[i] = f[i] == STORE_REFUSED ? why : NULL;
	}
	c->cb(st, c->ev, c->n, f, why != NULL ? w : NULL, c->arg);
}

/* ---- what ingest reports ---- */

static size_t	nfor[16];	/* events of the request with handle k */

static struct {
	int	done;
	int	committed[16];
	char	fresh[16][64];
	char	why[16][64];
	int	applied;		/* events counted in the windows */
	int	loaded;
} out;

static void
apply(void *arg, const struct cw_event *ev, size_t n, const uint8_t *fresh)
{
	size_t i;

	for (i = 0; i < n; i++)
		out.applied += fresh[i] == STORE_FRESH;
}

static void
events_done(void *handle, int committed, const uint8_t *fresh,
    const char *const *why)
{
	int k = (int)(intptr_t)handle;
	size_t i;

	out.done++;
	out.committed[k] = committed;
	for (i = 0; committed && i < nfor[k]; i++)
		out.fresh[k][i] = (char)('0' + fresh[i]);
	for (i = 0; committed && why != NULL && i < nfor[k]; i++)
		if (why[i] != NULL)
			snprintf(out.why[k], sizeof(out.why[k]), "%s", why[i]);
}

static int
loaded(void *arg)
{
	return out.loaded;
}

static void
nop_member(void *arg, const char *u, const char *a)
{
}

static void
nop_account(void *arg, const char *id, const char *json)
{
}

static void
nop_account_done(void *h, int c, int created)
{
}

static void
nop_segment_done(void *h, int c, const char *r)
{
}

static char			 dir[64];
static struct event_base	*base;
static struct spool		*sp;
static struct ingest		*ig;
static struct cw_event		 ev[8];
static int			 syncs;

static int
counting_fdatasync(int fd)
{
	syncs++;
	return fdatasync(fd);
}

static int
failing_fdatasync(int fd)
{
	syncs++;
	return -1;
}

static void
setup(void)
{
	struct ingest_sink sink = { fake_put, fake_pending, fake_up, NULL };
	struct ingest_ops ops = { apply, nop_member, nop_account, loaded,
	    events_done, nop_account_done, nop_segment_done, NULL };
	struct cw_error err;
	char id[16];
	int i;

	log_init(-1);
	memset(&fake, 0, sizeof(fake));
	memset(&out, 0, sizeof(out));
	fake.up = 1;
	out.loaded = 1;
	syncs = 0;
	spool_fdatasync = counting_fdatasync;
	strcpy(dir, "/tmp/check_ingest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(sp = spool_open(dir, 1 << 20));
	ck_assert_ptr_nonnull(ig = ingest_new(base, &sink, sp, NULL, 4, &ops));
	for (i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		memset(&ev[i], 0, sizeof(ev[i]));
		ck_assert_int_eq(event_from_row(id, "acme", "login", 1000000,
		    "u1", "{}", &ev[i], &err), 0);
	}
	syncs = 0;
}

static void
teardown(void)
{
	char cmd[128];
	int i;

	ingest_free(ig);
	spool_close(sp);
	event_base_free(base);
	for (i = 0; i < 8; i++)
		event_free_fields(&ev[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
turn(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* ingest_events() for the request with handle k. */
static int
put(int k, const char *source, const struct cw_event *e, size_t n)
{
	nfor[k] = n;
	return ingest_events(ig, source, e, n, (void *)(intptr_t)k);
}

START_TEST(direct_path)
{
	ck_assert_int_eq(put(0, "a", ev, 3), 0);
	ck_assert_int_eq(fake.ncalls, 1);
	ck_assert_int_eq(out.done, 0);		/* never from inside */
	finish(0, STORE_OK, "101", NULL);
	ck_assert_int_eq(out.done, 1);
	ck_assert_int_eq(out.committed[0], 1);
	ck_assert_str_eq(out.fresh[0], "101");
	ck_assert_int_eq(out.applied, 2);
	ck_assert_uint_eq(spool_pending(sp), 0);
}
END_TEST

START_TEST(down_goes_to_the_spool_and_nothing_overtakes_it)
{
	fake.up = 0;
	ck_assert_int_eq(put(0, "a", ev, 2), 0);
	ck_assert_int_eq(out.done, 0);		/* not before the sync */
	turn();
	ck_assert_int_eq(out.done, 1);
	ck_assert_str_eq(out.fresh[0], "11");
	ck_assert_int_eq(out.applied, 0);	/* counted when drained */
	ck_assert_uint_gt(spool_pending(sp), 0);
	/* Up again, but the spool holds events: the next queues behind. */
	fake.up = 1;
	out.loaded = 0;
	ck_assert_int_eq(put(1, "a", ev + 2, 1), 0);
	ck_assert_int_eq(fake.ncalls, 0);
	turn();
	ck_assert_int_eq(out.done, 2);
	/* No drain before the windows are loaded. */
	ingest_drain(ig);
	ck_assert_int_eq(fake.ncalls, 0);
	out.loaded = 1;
	ingest_drain(ig);
	ck_assert_int_eq(fake.ncalls, 1);
	ck_assert_uint_eq(fake.calls[0].n, 3);	/* same source: one chunk */
	ck_assert_str_eq(fake.calls[0].ev[2].id, "e2");
	finish(0, STORE_OK, "111", NULL);
	ck_assert_int_eq(out.applied, 3);
	ck_assert_uint_eq(spool_pending(sp), 0);
	/* Drained: the direct path is back. */
	ck_assert_int_eq(put(2, "a", ev + 3, 1), 0);
	ck_assert_int_eq(fake.ncalls, 2);
	finish(1, STORE_OK, "1", NULL);
	ck_assert_int_eq(out.applied, 4);
}
END_TEST

START_TEST(only_undecided_events_are_spooled)
{
	ck_assert_int_eq(put(0, "a", ev, 4), 0);
	/* The connection dropped half-way through a split group. */
	finish(0, STORE_UNAVAILABLE, "1230", "bad value");
	ck_assert_int_eq(out.applied, 1);	/* the stored one counts */
	ck_assert_int_eq(out.done, 0);
	turn();
	ck_assert_int_eq(out.done, 1);
	ck_assert_int_eq(out.committed[0], 1);
	ck_assert_str_eq(out.fresh[0], "1210");
	ck_assert_str_eq(out.why[0], "bad value");
	/* Only e2 went to the spool. */
	ingest_drain(ig);
	ck_assert_int_eq(fake.ncalls, 2);
	ck_assert_uint_eq(fake.calls[1].n, 1);
	ck_assert_str_eq(fake.calls[1].ev[0].id, "e2");
	finish(1, STORE_OK, "0", NULL);		/* it had committed */
	ck_assert_int_eq(out.applied, 1);
}
END_TEST

START_TEST(one_sync_for_a_loop_turn)
{
	fake.up = 0;
	ck_assert_int_eq(put(0, "a", ev, 2), 0);
	ck_assert_int_eq(put(1, "b", ev + 2, 2), 0);
	ck_assert_int_eq(put(2, "a", ev + 4, 2), 0);
	ck_assert_int_eq(syncs, 0);
	ck_assert_uint_eq(ingest_pending(ig), 6);
	turn();
	ck_assert_int_eq(syncs, 1);
	ck_assert_int_eq(out.done, 3);
	ck_assert(out.committed[0] && out.committed[1] && out.committed[2]);
	ck_assert_uint_eq(ingest_pending(ig), 0);
}
END_TEST

START_TEST(failed_sync_is_answered_and_not_retried)
{
	fake.up = 0;
	spool_fdatasync = failing_fdatasync;
	ck_assert_int_eq(put(0, "a", ev, 2), 0);
	ck_assert_int_eq(put(1, "a", ev + 2, 2), 0);
	turn();
	ck_assert_int_eq(out.done, 2);
	ck_assert_int_eq(out.committed[0], 0);
	ck_assert_int_eq(out.committed[1], 0);
	/* From now on the spool takes nothing: 503 at once. */
	spool_fdatasync = counting_fdatasync;
	ck_assert_int_eq(put(2, "a", ev + 4, 1), -1);
	ck_assert(!ingest_spool_ok(ig));
	ck_assert_int_eq(syncs, 1);
}
END_TEST

START_TEST(back_pressure)
{
	fake.pending = 4 * 4 + 1;	/* over PENDING_BATCHES_MAX batches */
	ck_assert_int_eq(put(0, "a", ev, 1), -1);
	ck_assert_int_eq(fake.ncalls, 0);
	fake.pending = 0;
	ck_assert_int_eq(put(0, "a", ev, 1), 0);
	finish(0, STORE_OK, "1", NULL);
	ck_assert_int_eq(out.done, 1);
}
END_TEST

START_TEST(drain_sets_refused_events_aside)
{
	char path[128];
	FILE *f;
	char line[512];

	fake.up = 0;
	ck_assert_int_eq(put(0, "a", ev, 3), 0);
	ck_assert_int_eq(put(1, "b", ev + 3, 1), 0);
	turn();
	fake.up = 1;
	ingest_drain(ig);
	ck_assert_int_eq(fake.ncalls, 1);
	ck_assert_str_eq(fake.calls[0].source, "a");
	finish(0, STORE_OK, "121", "poisoned");
	/* Set aside, counted once, and the drain moved on to b. */
	ck_assert_int_eq(out.applied, 2);
	ck_assert_int_eq(fake.ncalls, 2);
	ck_assert_str_eq(fake.calls[1].source, "b");
	finish(1, STORE_OK, "1", NULL);
	ck_assert_uint_eq(spool_pending(sp), 0);
	snprintf(path, sizeof(path), "%s/dead-letter.ndjson", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_ptr_nonnull(strstr(line, "\"id\":\"e1\""));
	ck_assert_ptr_nonnull(strstr(line, "poisoned"));
	ck_assert_ptr_null(fgets(line, sizeof(line), f));
	fclose(f);
}
END_TEST

START_TEST(failed_drain_retries_the_same_chunk)
{
	fake.up = 0;
	ck_assert_int_eq(put(0, "a", ev, 2), 0);
	turn();
	fake.up = 1;
	ingest_drain(ig);
	finish(0, STORE_UNAVAILABLE, "33", NULL);
	ck_assert_uint_gt(spool_pending(sp), 0);
	ingest_drain(ig);
	ck_assert_int_eq(fake.ncalls, 2);
	ck_assert_str_eq(fake.calls[1].ev[1].id, "e1");
	finish(1, STORE_OK, "11", NULL);
	ck_assert_uint_eq(spool_pending(sp), 0);
	ck_assert_int_eq(out.applied, 2);
}
END_TEST

static Suite *
ingest_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("ingest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, direct_path);
	tcase_add_test(tc, down_goes_to_the_spool_and_nothing_overtakes_it);
	tcase_add_test(tc, only_undecided_events_are_spooled);
	tcase_add_test(tc, one_sync_for_a_loop_turn);
	tcase_add_test(tc, failed_sync_is_answered_and_not_retried);
	tcase_add_test(tc, back_pressure);
	tcase_add_test(tc, drain_sets_refused_events_aside);
	tcase_add_test(tc, failed_drain_retries_the_same_chunk);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ingest_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
