/*
 * check_window.c -- unit tests for window.c: days and hours, each event
 * type, the rings (advance, wrap-around, back-fill inside and outside),
 * last-seen tables, tickets (sentiment, top team/category, intent),
 * contact state transitions, competitor kinds, touchpoints, pruning and
 * bounded growth, restore == apply, memory figures, saturation.  Links
 * window.c, intern.c, title.c and util.c (event.c for one decode test).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intern.h"
#include "title.h"
#include "util.h"
#include "window.h"

#define D0	20000			/* 2024-10-04 */
#define HOUR_US	(INT64_C(3600) * CW_USEC_PER_SEC)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const intents[] = {
	"cancel", "terminate", "export data", "\xe8\xa7\xa3\xe7\xb4\x84",
	NULL
};
static const char *const rivals[] = { "rival", "acme analytics", NULL };
static const struct win_phrase phrases[] = {
	{ (char *)"busy", (char *)"time" },
	{ (char *)"budget", (char *)"budget" },
	{ (char *)"\xe4\xba\x88\xe7\xae\x97", (char *)"budget" },	/* 予算 */
	{ (char *)"other tools", (char *)"alternatives" },
	{ NULL, NULL }
};
static const struct win_rules rules = { intents, rivals, phrases };

static struct window	w;

static void
setup(void)
{
	window_init(&w);
}

static void
teardown(void)
{
	window_free(&w);
	intern_purge();
}

static int64_t
at(int32_t day, int hour)
{
	return (int64_t)day * CW_USEC_PER_DAY + hour * HOUR_US;
}

static struct cw_event
mkev(enum cw_event_type type, int32_t day, int hour)
{
	struct cw_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.ts = at(day, hour);
	ev.p.is_champion = -1;
	return ev;
}

static void
apply(const struct cw_event *ev)
{
	ck_assert_int_eq(window_apply(&w, ev, &rules), 0);
}

static void
login(const char *user, int32_t day, int hour)
{
	struct cw_event	ev = mkev(EV_LOGIN, day, hour);

	ev.user_id = (char *)user;
	apply(&ev);
}

static void
feature(const char *user, const char *name, int32_t day)
{
	struct cw_event	ev = mkev(EV_FEATURE_USED, day, 10);

	ev.user_id = (char *)user;
	ev.p.feature = (char *)name;
	apply(&ev);
}

/* A ticket; sentiment > 1 means none. */
/* A ticket event of ticket tid at day and hour. */
static void
ticket_as(const char *tid, enum cw_event_type type, int32_t day, int hour,
    double sentiment)
{
	struct cw_event	ev = mkev(type, day, hour);

	ev.p.ticket_id = (char *)tid;
	if (sentiment <= 1.0) {
		ev.p.has_sentiment = 1;
		ev.p.sentiment = sentiment;
	}
	apply(&ev);
}

/* A ticket event of a ticket of its own. */
static void
ticket(enum cw_event_type type, int32_t day, const char *team,
    const char *category, double sentiment)
{
	struct cw_event	ev = mkev(type, day, 9);
	static unsigned	next;
	char		tid[16];

	snprintf(tid, sizeof(tid), "T-%u", ++next);
	ev.p.ticket_id = tid;
	ev.p.team = (char *)team;
	ev.p.category = (char *)category;
	if (sentiment <= 1.0) {
		ev.p.has_sentiment = 1;
		ev.p.sentiment = sentiment;
	}
	apply(&ev);
}

static void
contact(enum cw_event_type type, int32_t day, const char *id,
    const char *title, const char *prev, int champion, const char *company)
{
	struct cw_event	ev = mkev(type, day, 9);

	ev.p.contact_id = (char *)id;
	ev.p.title = (char *)title;
	ev.p.previous_title = (char *)prev;
	ev.p.is_champion = champion;
	ev.p.previous_company = (char *)company;
	apply(&ev);
}

static const struct win_contact_event *
last_cevent(void)
{
	ck_assert_uint_gt(w.ncevents, 0);
	return &w.cevents[w.ncevents - 1];
}

static uint32_t
id(const char *s)
{
	return intern_find(s, strlen(s));
}

/* --- days and hours --- */

START_TEST(day_and_hour)
{
	ck_assert_int_eq(window_day(0), 0);
	ck_assert_int_eq(window_day(CW_USEC_PER_DAY - 1), 0);
	ck_assert_int_eq(window_day(CW_USEC_PER_DAY), 1);
	ck_assert_int_eq(window_day(-1), -1);
	ck_assert_int_eq(window_day(-CW_USEC_PER_DAY), -1);
	ck_assert_int_eq(window_day(-CW_USEC_PER_DAY - 1), -2);
	ck_assert_int_eq(window_day(INT64_C(1795176000) * CW_USEC_PER_SEC),
	    20777);				/* 2026-11-20 */
	ck_assert_int_eq(window_hour(0), 0);
	ck_assert_int_eq(window_hour(HOUR_US - 1), 0);
	ck_assert_int_eq(window_hour(-1), -1);
	ck_assert_int_eq(window_hour(-HOUR_US), -1);
	ck_assert_int_eq(window_hour(at(D0, 5)), (int64_t)D0 * 24 + 5);
}
END_TEST

START_TEST(empty)
{
	int64_t		sum;
	unsigned	n;
	uint32_t	team, cat;

	ck_assert_uint_eq(window_bytes(&w), sizeof(struct window));
	ck_assert_uint_eq(window_logins_on(&w, D0), 0);
	ck_assert_uint_eq(window_logins(&w, 0, D0), 0);
	ck_assert_uint_eq(window_logins_24h(&w, (int64_t)D0 * 24), 0);
	ck_assert_uint_eq(window_active_users(&w, 0), 0);
	ck_assert_int_eq(window_feature_last(&w, 1), 0);
	ck_assert_uint_eq(window_touches(&w, 0, D0), 0);
	ck_assert_uint_eq(window_tickets_created(&w, 0, D0), 0);
	window_sentiment(&w, 0, D0, &sum, &n);
	ck_assert_int_eq(sum, 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(window_top_team_category(&w, 0, D0, &team, &cat), 0);
	ck_assert_int_eq(window_intent_ticket(&w, 0, D0), 0);
	ck_assert_uint_eq(window_competitors(&w, 0, D0, NULL), 0);
	ck_assert_ptr_null(window_contact(&w, 1));
	window_prune(&w, D0);
	ck_assert_int_eq(w.last_day, 0);
	window_free(&w);
	window_free(&w);
	window_free(NULL);
}
END_TEST

START_TEST(struct_size)
{
	/* The design target: <= 2 KiB per account before its records. */
	ck_assert_uint_le(sizeof(struct window), 2048);
	ck_assert_uint_eq(sizeof(struct win_seen), 12);
	ck_assert_uint_eq(sizeof(struct win_ticket), 32);
	ck_assert_uint_eq(sizeof(struct win_touch), 8);
	ck_assert_uint_eq(sizeof(struct win_note), 12);
	/* Facts and the state before: a contact replays in ts order. */
	ck_assert_uint_eq(sizeof(struct win_contact_event), 32);
	/* ... and keeps when the state before the window was last moved. */
	ck_assert_uint_eq(sizeof(struct win_contact), 32);
}
END_TEST

/* --- logins --- */

START_TEST(logins_basic)
{
	login("u1", D0, 9);
	login("u1", D0, 10);
	login("u2", D0 + 1, 0);
	login("u3", D0 + 3, 23);

	ck_assert_uint_eq(window_logins_on(&w, D0), 2);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 1), 1);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 2), 0);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 3), 1);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 4), 0);	/* future */
	ck_assert_uint_eq(window_logins_on(&w, D0 - 1), 0);
	ck_assert_uint_eq(window_logins(&w, D0, D0 + 3), 4);
	ck_assert_uint_eq(window_logins(&w, D0 + 1, D0 + 1), 1);
	ck_assert_uint_eq(window_logins(&w, D0 + 1, D0), 0);	/* empty */
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 1000), 4);
	ck_assert_int_eq(w.first_day, D0);
	ck_assert_int_eq(w.last_day, D0 + 3);
	ck_assert_int_eq(w.last_login, D0 + 3);
	ck_assert_uint_eq(window_active_users(&w, D0), 3);
	ck_assert_uint_eq(window_active_users(&w, D0 + 1), 2);
	ck_assert_uint_eq(window_active_users(&w, D0 + 2), 1);
	ck_assert_uint_eq(window_active_users(&w, D0 + 4), 0);
}
END_TEST

START_TEST(ring_wraps)
{
	int32_t	d;

	/* One login a day, d - D0 + 1 on day d, for 500 days. */
	for (d = D0; d < D0 + 500; d++) {
		struct cw_event	ev = mkev(EV_LOGIN, d, 12);
		int		i;

		ev.user_id = (char *)"u";
		for (i = 0; i <= (d - D0) % 7; i++)
			apply(&ev);
	}
	ck_assert_int_eq(w.last_day, D0 + 499);
	/* Only (last - WIN_DAYS, last] is held. */
	ck_assert_uint_eq(window_logins_on(&w, D0 + 499 - WIN_DAYS), 0);
	for (d = D0 + 500 - WIN_DAYS; d < D0 + 500; d++)
		ck_assert_uint_eq(window_logins_on(&w, d), (d - D0) % 7 + 1);
	ck_assert_uint_eq(window_logins(&w, D0, D0 + 499 - WIN_DAYS), 0);
	ck_assert_uint_eq(window_logins(&w, D0 + 493, D0 + 499),
	    1 + 2 + 3 + 4 + 5 + 6 + 7);

	/* A gap of 10 days zeroes exactly those days. */
	login("u", D0 + 510, 0);
	for (d = D0 + 500; d < D0 + 510; d++)
		ck_assert_uint_eq(window_logins_on(&w, d), 0);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 510), 1);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 499), (499 % 7) + 1);

	/* A jump of more than WIN_DAYS clears the ring. */
	login("u", D0 + 510 + WIN_DAYS + 5, 0);
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 2000), 1);
	ck_assert_int_eq(w.last_login, D0 + 510 + WIN_DAYS + 5);
}
END_TEST

START_TEST(backfill)
{
	login("u1", D0 + 300, 12);
	/* Inside the ring: counts like a live login. */
	login("u2", D0 + 300 - WIN_DAYS + 1, 12);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 301 - WIN_DAYS), 1);
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 300), 2);
	ck_assert_uint_eq(window_active_users(&w, 0), 2);
	/* Outside: ignored by the ring and the user table. */
	login("u3", D0 + 300 - WIN_DAYS, 12);
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 300), 2);
	ck_assert_uint_eq(window_active_users(&w, 0), 2);
	/* ... but first_day goes back, last_login stays the newest. */
	ck_assert_int_eq(w.first_day, D0 + 300 - WIN_DAYS);
	ck_assert_int_eq(w.last_login, D0 + 300);
	ck_assert_int_eq(w.last_day, D0 + 300);
	/* A user seen again earlier keeps the later day. */
	login("u1", D0 + 250, 12);
	ck_assert_uint_eq(window_active_users(&w, D0 + 300), 1);

	/* Days before 1970-01-02 are ignored altogether. */
	login("u4", 0, 1);
	login("u4", -3, 1);
	ck_assert_int_eq(w.first_day, D0 + 300 - WIN_DAYS);
}
END_TEST

START_TEST(hourly)
{
	int64_t	h0 = (int64_t)D0 * 24;
	int	i;

	for (i = 0; i < 30; i++)
		login("u", D0, 0);		/* hour h0 */
	login("u", D0, 1);
	login("u", D0, 23);
	login("u", D0 + 1, 0);			/* h0 + 24 */
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 23), 32);
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 24), 3);
	ck_assert_uint_eq(window_logins_24h(&w, h0), 30);
	ck_assert_uint_eq(window_logins_24h(&w, h0 - 1), 0);
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 46), 2);
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 47), 1);
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 48), 0);
	ck_assert_int_eq(w.last_hour, h0 + 24);

	/* Within WIN_HOURS back: counted; older: ignored. */
	login("u", D0 - 1, 1);			/* h0 - 23 */
	ck_assert_uint_eq(window_logins_24h(&w, h0), 31);
	ck_assert_uint_eq(window_logins_24h(&w, h0 - 1), 1);
	login("u", D0 - 1, 0);			/* h0 - 24: out */
	ck_assert_uint_eq(window_logins_24h(&w, h0 - 1), 1);
	ck_assert_uint_eq(window_logins(&w, D0 - 1, D0 - 1), 2);

	/* A jump past WIN_HOURS clears the ring. */
	login("u", D0 + 5, 0);
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 120), 1);
	ck_assert_uint_eq(window_logins_24h(&w, h0 + 24), 0);
}
END_TEST

START_TEST(saturation)
{
	struct cw_event	ev = mkev(EV_LOGIN, D0, 3);
	int		i;

	ev.user_id = (char *)"u";
	for (i = 0; i < 70000; i++)
		apply(&ev);
	ck_assert_uint_eq(window_logins_on(&w, D0), 65535);
	ck_assert_uint_eq(window_logins_24h(&w, (int64_t)D0 * 24 + 3), 65535);
	ck_assert_int_eq(window_restore_logins(&w, D0 + 1, 100000), 0);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 1), 65535);
	ck_assert_int_eq(window_restore_logins(&w, D0 + 2, 65000), 0);
	ck_assert_int_eq(window_restore_logins(&w, D0 + 2, 1000), 0);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 2), 65535);
	ck_assert_int_eq(window_restore_hour(&w, (int64_t)D0 * 24 + 4,
	    UINT32_MAX), 0);
	ck_assert_uint_eq(window_logins_24h(&w, (int64_t)D0 * 24 + 4),
	    2 * 65535);
	ck_assert_uint_eq(window_logins(&w, D0, D0 + 2), 3 * 65535);
}
END_TEST

/* One byte per count until a count passes 255; then both rings widen. */
START_TEST(wide_rings)
{
	int64_t	h = (int64_t)D0 * 24 + 5;
	size_t	narrow = window_bytes(&w);

	ck_assert_int_eq(window_restore_logins(&w, D0, 200), 0);
	ck_assert_int_eq(window_restore_logins(&w, D0 + 1, 3), 0);
	ck_assert_int_eq(window_restore_hour(&w, h, 255), 0);
	ck_assert_ptr_null(w.wide);
	ck_assert_uint_eq(window_bytes(&w), narrow);
	ck_assert_uint_eq(window_logins_on(&w, D0), 200);
	ck_assert_uint_eq(window_logins_24h(&w, h), 255);
	ck_assert_int_eq(window_restore_logins(&w, D0, 100), 0);
	ck_assert_ptr_nonnull(w.wide);
	ck_assert_uint_gt(window_bytes(&w), narrow);
	ck_assert_uint_eq(window_logins_on(&w, D0), 300);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 1), 3);
	ck_assert_uint_eq(window_logins_24h(&w, h), 255);
	ck_assert_int_eq(window_restore_hour(&w, h, 1), 0);
	ck_assert_uint_eq(window_logins_24h(&w, h), 256);
	ck_assert_uint_eq(window_logins(&w, D0, D0 + 1), 303);
	/* The days a move forward skips are zeroed in the wide ring too. */
	ck_assert_int_eq(window_restore_logins(&w, D0 + WIN_DAYS, 1), 0);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 1), 3);
	ck_assert_uint_eq(window_logins_on(&w, D0 + WIN_DAYS), 1);
	ck_assert_int_eq(window_restore_logins(&w, D0 + WIN_DAYS + 1, 1), 0);
	ck_assert_uint_eq(window_logins_on(&w, D0 + 1), 0);
	ck_assert_uint_eq(window_logins(&w, D0 + 2, D0 + WIN_DAYS + 1), 2);
}
END_TEST

/* --- users and features --- */

START_TEST(active_users)
{
	char		u[32];
	unsigned	i, n = 10000;
	size_t		bytes;

	for (i = 0; i < n; i++) {
		snprintf(u, sizeof(u), "user-%u", i);
		login(u, D0 + (int32_t)(i % 100), 1);
	}
	ck_assert_uint_eq(w.nusers, n);
	ck_assert_uint_eq(window_active_users(&w, D0), n);
	ck_assert_uint_eq(window_active_users(&w, D0 + 70), 30 * n / 100);
	ck_assert_uint_eq(window_active_users(&w, D0 + 99), n / 100);
	/* Seen again: counted once, at the later day. */
	for (i = 0; i < n; i++) {
		snprintf(u, sizeof(u), "user-%u", i);
		login(u, D0 + 99, 2);
	}
	ck_assert_uint_eq(w.nusers, n);
	ck_assert_uint_eq(window_active_users(&w, D0 + 99), n);
	/* The target: <= 32 bytes per tracked user. */
	bytes = (size_t)w.capusers * sizeof(struct win_seen);
	ck_assert_msg(bytes <= 32 * (size_t)n, "%zu bytes for %u users",
	    bytes, n);
}
END_TEST

START_TEST(features)
{
	feature("u1", "export", D0 + 5);
	feature("u2", "export", D0 + 2);	/* older: max kept */
	feature("u2", "reports", D0 + 3);
	ck_assert_int_eq(window_feature_last(&w, id("export")), D0 + 5);
	ck_assert_int_eq(window_feature_last(&w, id("reports")), D0 + 3);
	ck_assert_int_eq(window_feature_last(&w, intern("sso", 3)), 0);
	ck_assert_int_eq(window_feature_last(&w, 0), 0);
	/* feature_used counts the user as active, not as a login. */
	ck_assert_uint_eq(window_active_users(&w, D0 + 3), 2);
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 10), 0);
	ck_assert_int_eq(w.last_login, 0);
	ck_assert_int_eq(w.first_day, D0 + 2);
}
END_TEST

START_TEST(many_features)
{
	char		f[32];
	unsigned	i;

	for (i = 0; i < 500; i++) {
		snprintf(f, sizeof(f), "feature-%u", i);
		feature("u", f, D0 + (int32_t)(i % 50));
	}
	ck_assert_uint_eq(w.nfeatures, 500);
	for (i = 0; i < 500; i++) {
		snprintf(f, sizeof(f), "feature-%u", i);
		ck_assert_int_eq(window_feature_last(&w, id(f)),
		    D0 + (int32_t)(i % 50));
	}
}
END_TEST

/* --- tickets --- */

#define NOSENT	2.0

START_TEST(tickets)
{
	int64_t		sum;
	unsigned	n;

	ticket(EV_TICKET_CREATED, D0, "eng", "api", -0.3);
	ticket(EV_TICKET_UPDATED, D0 + 1, "eng", "api", -0.5);
	ticket(EV_TICKET_SOLVED, D0 + 2, "eng", "api", NOSENT);
	ticket(EV_TICKET_CREATED, D0 + 2, "ops", "billing", 0.8);
	ticket(EV_TICKET_CREATED, D0 + 3, NULL, NULL, NOSENT);

	ck_assert_uint_eq(w.ntickets, 5);
	ck_assert_uint_eq(window_tickets_created(&w, D0, D0 + 3), 3);
	ck_assert_uint_eq(window_tickets_created(&w, D0 + 1, D0 + 2), 1);
	ck_assert_uint_eq(window_tickets_created(&w, D0 + 4, D0 + 9), 0);

	window_sentiment(&w, D0, D0 + 3, &sum, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(sum, -30 - 50 + 80);
	window_sentiment(&w, D0 + 1, D0 + 1, &sum, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sum, -50);

	ck_assert_uint_eq(w.tickets[0].team, id("eng"));
	ck_assert_uint_eq(w.tickets[0].category, id("api"));
	ck_assert_int_eq(w.tickets[0].kind, WT_CREATED);
	ck_assert_int_eq(w.tickets[1].kind, WT_UPDATED);
	ck_assert_int_eq(w.tickets[2].kind, WT_SOLVED);
	ck_assert_int_eq(w.tickets[2].sentiment, WIN_NO_SENTIMENT);
	ck_assert_uint_eq(w.tickets[4].team, 0);
	ck_assert_int_eq(w.first_day, D0);
}
END_TEST

START_TEST(sentiment_scale)
{
	static const struct {
		double	in;
		int	out;
	} c[] = {
		{ -1.0, -100 }, { 1.0, 100 }, { 0.0, 0 }, { -0.0, 0 },
		{ 0.004, 0 }, { 0.005, 1 }, { -0.005, -1 }, { -0.304, -30 },
		{ 0.999, 100 }, { -0.126, -13 },
	};
	size_t	i;

	for (i = 0; i < NELEM(c); i++)
		ticket(EV_TICKET_CREATED, D0, "t", "c", c[i].in);
	for (i = 0; i < NELEM(c); i++)
		ck_assert_msg(w.tickets[i].sentiment == c[i].out,
		    "%g -> %d, want %d", c[i].in, w.tickets[i].sentiment,
		    c[i].out);
}
END_TEST

START_TEST(top_team_category)
{
	uint32_t	team, cat;
	unsigned	n;
	int		i;

	/* eng/api 3, ops/billing 3 (newer), eng/billing 2, none 5. */
	for (i = 0; i < 3; i++)
		ticket(EV_TICKET_CREATED, D0 + i, "eng", "api", NOSENT);
	for (i = 0; i < 3; i++)
		ticket(EV_TICKET_CREATED, D0 + 1 + i, "ops", "billing", NOSENT);
	for (i = 0; i < 2; i++)
		ticket(EV_TICKET_CREATED, D0 + 9, "eng", "billing", NOSENT);
	for (i = 0; i < 5; i++) {
		ticket(EV_TICKET_CREATED, D0, NULL, "api", NOSENT);
		ticket(EV_TICKET_CREATED, D0, "eng", NULL, NOSENT);
	}
	/* Updates do not count. */
	for (i = 0; i < 5; i++)
		ticket(EV_TICKET_UPDATED, D0, "eng", "api", NOSENT);

	n = window_top_team_category(&w, D0, D0 + 9, &team, &cat);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(intern_str(team), "ops");	/* tie: most recent */
	ck_assert_str_eq(intern_str(cat), "billing");

	n = window_top_team_category(&w, D0, D0 + 2, &team, &cat);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(intern_str(team), "eng");
	ck_assert_str_eq(intern_str(cat), "api");

	n = window_top_team_category(&w, D0 + 9, D0 + 9, &team, &cat);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(intern_str(team), "eng");
	ck_assert_str_eq(intern_str(cat), "billing");

	/* A same-day tie goes to the one applied last. */
	ticket(EV_TICKET_CREATED, D0 + 9, "eng", "api", NOSENT);
	ticket(EV_TICKET_CREATED, D0 + 9, "eng", "api", NOSENT);
	n = window_top_team_category(&w, D0 + 9, D0 + 9, &team, &cat);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(intern_str(cat), "api");

	n = window_top_team_category(&w, D0 + 20, D0 + 30, &team, &cat);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(team, 0);
	ck_assert_uint_eq(cat, 0);
}
END_TEST

START_TEST(intent)
{
	struct cw_event	 ev;
	char		*tags[] = {
		(char *)"billing", (char *)"Terminate-Now"
	};

	ticket(EV_TICKET_CREATED, D0, "eng", "api", NOSENT);
	ck_assert_int_eq(w.tickets[0].intent, 0);
	ticket(EV_TICKET_CREATED, D0 + 1, "eng", "Cancellation", NOSENT);
	ck_assert_int_eq(w.tickets[1].intent, 1);

	ev = mkev(EV_TICKET_UPDATED, D0 + 2, 0);
	ev.p.subject = (char *)"Please EXPORT DATA before renewal";
	apply(&ev);
	ck_assert_int_eq(w.tickets[2].intent, 1);

	ev = mkev(EV_TICKET_CREATED, D0 + 3, 0);
	ev.p.tags = tags;
	ev.p.ntags = 2;
	apply(&ev);
	ck_assert_int_eq(w.tickets[3].intent, 1);

	ev = mkev(EV_TICKET_CREATED, D0 + 4, 0);
	/* 契約の解約について */
	ev.p.subject = (char *)"\xe5\xa5\x91\xe7\xb4\x84\xe3\x81\xae"
	    "\xe8\xa7\xa3\xe7\xb4\x84\xe3\x81\xab\xe3\x81\xa4\xe3\x81\x84"
	    "\xe3\x81\xa6";
	apply(&ev);
	ck_assert_int_eq(w.tickets[4].intent, 1);

	ev = mkev(EV_TICKET_CREATED, D0 + 5, 0);
	ev.p.subject = (char *)"export of data; can celebrate";
	apply(&ev);
	ck_assert_int_eq(w.tickets[5].intent, 0);

	ck_assert_int_eq(window_intent_ticket(&w, D0, D0 + 10), D0 + 4);
	ck_assert_int_eq(window_intent_ticket(&w, D0, D0 + 3), D0 + 3);
	ck_assert_int_eq(window_intent_ticket(&w, D0, D0), 0);

	/* No rules: no intent. */
	ev = mkev(EV_TICKET_CREATED, D0 + 6, 0);
	ev.p.category = (char *)"cancel";
	ck_assert_int_eq(window_apply(&w, &ev, NULL), 0);
	ck_assert_int_eq(w.tickets[6].intent, 0);
}
END_TEST

/* --- contacts --- */

START_TEST(contacts)
{
	const struct win_contact_event	*ce;
	const struct win_contact	*c;

	/* A champion VP joins. */
	contact(EV_CONTACT_JOINED, D0, "c1", "VP Sales", NULL, 1, NULL);
	ce = last_cevent();
	ck_assert_int_eq(ce->day, D0);
	ck_assert_uint_eq(ce->contact, id("c1"));
	ck_assert_int_eq(ce->kind, WC_JOINED);
	ck_assert_int_eq(ce->old_rank, RANK_NONE);
	ck_assert_int_eq(ce->new_rank, RANK_VP);
	ck_assert_int_eq(ce->champion, 1);
	ck_assert_int_eq(ce->title_changed, 0);
	ck_assert_int_eq(ce->from_competitor, 0);
	c = window_contact(&w, id("c1"));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->rank, RANK_VP);
	ck_assert_str_eq(intern_str(c->title), "VP Sales");
	ck_assert_int_eq(c->champion, 1);
	ck_assert_int_eq(c->left, 0);

	/* Same title again: no change. */
	contact(EV_CONTACT_CHANGED, D0 + 1, "c1", "VP Sales", NULL, -1, NULL);
	ck_assert_int_eq(last_cevent()->title_changed, 0);
	ck_assert_int_eq(last_cevent()->champion, 1);

	/* Rank falls; is_champion absent keeps the flag. */
	contact(EV_CONTACT_CHANGED, D0 + 10, "c1", "Account Manager", NULL, -1,
	    NULL);
	ce = last_cevent();
	ck_assert_int_eq(ce->kind, WC_CHANGED);
	ck_assert_int_eq(ce->old_rank, RANK_VP);
	ck_assert_int_eq(ce->new_rank, RANK_MANAGER);
	ck_assert_int_eq(ce->champion, 1);
	ck_assert_int_eq(ce->title_changed, 1);
	ck_assert_int_eq(window_contact(&w, id("c1"))->rank, RANK_MANAGER);

	/* The champion leaves (no props but the id). */
	contact(EV_CONTACT_LEFT, D0 + 20, "c1", NULL, NULL, -1, NULL);
	ce = last_cevent();
	ck_assert_int_eq(ce->kind, WC_LEFT);
	ck_assert_int_eq(ce->champion, 1);
	ck_assert_int_eq(ce->old_rank, RANK_MANAGER);
	ck_assert_int_eq(ce->new_rank, RANK_MANAGER);
	ck_assert_int_eq(ce->title_changed, 0);
	c = window_contact(&w, id("c1"));
	ck_assert_int_eq(c->left, 1);
	ck_assert_int_eq(c->champion, 1);
	ck_assert_int_eq(c->day, D0 + 20);

	/* ... and comes back, no longer a champion: joined clears left. */
	contact(EV_CONTACT_JOINED, D0 + 30, "c1", NULL, NULL, 0, NULL);
	ce = last_cevent();
	ck_assert_int_eq(ce->champion, 0);
	ck_assert_int_eq(ce->old_rank, RANK_MANAGER);
	c = window_contact(&w, id("c1"));
	ck_assert_int_eq(c->left, 0);
	ck_assert_int_eq(c->champion, 0);
	ck_assert_uint_eq(w.ncontacts, 1);
	ck_assert_uint_eq(w.ncevents, 5);
}
END_TEST

START_TEST(contacts_unknown)
{
	const struct win_contact_event	*ce;

	/* Unknown contact, previous_title given: old rank from it. */
	contact(EV_CONTACT_CHANGED, D0, "c2", "Senior Manager",
	    "Director of Sales", -1, NULL);
	ce = last_cevent();
	ck_assert_int_eq(ce->old_rank, RANK_HEAD);
	ck_assert_int_eq(ce->new_rank, RANK_SENIOR_MANAGER);
	ck_assert_int_eq(ce->title_changed, 1);
	ck_assert_int_eq(ce->champion, 0);

	/* Only previous_title: the rank stays, no change. */
	contact(EV_CONTACT_CHANGED, D0, "c3", NULL, "部長", -1, NULL);
	ce = last_cevent();
	ck_assert_int_eq(ce->old_rank, RANK_HEAD);
	ck_assert_int_eq(ce->new_rank, RANK_HEAD);
	ck_assert_int_eq(ce->title_changed, 0);
	ck_assert_str_eq(intern_str(window_contact(&w, id("c3"))->title),
	    "部長");

	/* previous_title equal to title is no change. */
	contact(EV_CONTACT_CHANGED, D0, "c4", "CTO", "CTO", -1, NULL);
	ck_assert_int_eq(last_cevent()->title_changed, 0);

	/* Joined with no title: rank none. */
	contact(EV_CONTACT_JOINED, D0, "c5", NULL, NULL, -1, NULL);
	ck_assert_int_eq(last_cevent()->new_rank, RANK_NONE);
	ck_assert_uint_eq(w.ncontacts, 4);
	ck_assert_ptr_null(window_contact(&w, id("c1")));
}
END_TEST

START_TEST(contacts_competitor)
{
	static const struct {
		const char	*company;
		int		 match;
	} c[] = {
		{ "Rival", 1 }, { "rival, Inc.", 1 }, { "The RIVAL Group", 1 },
		{ "Rivalry Partners", 0 }, { "Arrival", 0 },
		{ "Acme Analytics GmbH", 1 }, { "Acme", 0 }, { NULL, 0 },
		{ "", 0 },
	};
	char	name[16];
	size_t	i;

	/* One contact each: equal ts of one contact are put in order. */
	for (i = 0; i < NELEM(c); i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		contact(EV_CONTACT_JOINED, D0, name, "CRO", NULL, -1,
		    c[i].company);
		ck_assert_msg(last_cevent()->from_competitor == c[i].match,
		    "%s", c[i].company ? c[i].company : "(null)");
	}
	ck_assert_int_eq(last_cevent()->new_rank, RANK_CLEVEL);
}
END_TEST

START_TEST(contacts_forgotten)
{
	contact(EV_CONTACT_JOINED, D0, "gone", "CEO", NULL, 1, NULL);
	contact(EV_CONTACT_LEFT, D0 + 1, "gone", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_JOINED, D0, "stays", "CFO", NULL, 1, NULL);
	ck_assert_ptr_nonnull(window_contact(&w, id("gone")));

	/* Once the window moves past it, a contact that left is unknown. */
	window_prune(&w, D0 + 1 + WIN_DAYS);
	ck_assert_ptr_null(window_contact(&w, id("gone")));
	ck_assert_ptr_nonnull(window_contact(&w, id("stays")));
	ck_assert_uint_eq(w.ncontacts, 1);
	ck_assert_uint_eq(w.ncevents, 0);

	contact(EV_CONTACT_JOINED, D0 + 300, "gone", "Manager", NULL, -1,
	    NULL);
	ck_assert_int_eq(last_cevent()->old_rank, RANK_NONE);
	ck_assert_int_eq(last_cevent()->champion, 0);
}
END_TEST

/*
 * Many contacts on one account: past WIN_CONTACT_SCAN the index finds
 * them; every lookup, update, forget and slot reuse must give what the
 * linear search gave.
 */
START_TEST(contacts_many)
{
	const struct win_contact	*c;
	char				 name[32];
	uint32_t			 i, n = 30000;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		contact(EV_CONTACT_JOINED, D0, name, i % 2 ? "VP Sales" :
		    "Manager", NULL, (int)(i % 3 == 0), NULL);
	}
	ck_assert_uint_eq(w.ncontacts, n);
	ck_assert_uint_gt(w.capcindex, 0);
	ck_assert_uint_eq(w.capcindex, 2 * w.capcontacts);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		c = window_contact(&w, id(name));
		ck_assert_ptr_nonnull(c);
		ck_assert_uint_eq(c->contact, id(name));
		ck_assert_int_eq(c->rank, i % 2 ? RANK_VP : RANK_MANAGER);
		ck_assert_int_eq(c->champion, i % 3 == 0);
	}
	ck_assert_ptr_null(window_contact(&w, id("nobody")));

	/* Updates find the existing state (no new slot). */
	contact(EV_CONTACT_CHANGED, D0 + 1, "c7", "CEO", NULL, -1, NULL);
	ck_assert_int_eq(last_cevent()->old_rank, RANK_VP);
	ck_assert_int_eq(last_cevent()->title_changed, 1);
	ck_assert_uint_eq(w.ncontacts, n);

	/* Half of them leave, the window moves on: they are forgotten. */
	for (i = 0; i < n; i += 2) {
		snprintf(name, sizeof(name), "c%u", i);
		contact(EV_CONTACT_LEFT, D0 + 2, name, NULL, NULL, -1, NULL);
	}
	window_prune(&w, D0 + 2 + WIN_DAYS);
	ck_assert_uint_eq(w.ncontacts, n / 2);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		c = window_contact(&w, id(name));
		if (i % 2 == 0)
			ck_assert_ptr_null(c);
		else
			ck_assert_ptr_nonnull(c);
	}
	/* A forgotten contact comes back: as new; the others still found. */
	contact(EV_CONTACT_JOINED, D0 + 300, "c0", "CTO", NULL, -1, NULL);
	ck_assert_int_eq(last_cevent()->old_rank, RANK_NONE);
	ck_assert_uint_eq(w.ncontacts, n / 2 + 1);
	ck_assert_int_eq(window_contact(&w, id("c0"))->rank, RANK_CLEVEL);
	ck_assert_int_eq(window_contact(&w, id("c7"))->rank, RANK_CLEVEL);
	ck_assert_int_eq(window_contact(&w, id("c9"))->rank, RANK_VP);
	ck_assert_uint_eq(window_bytes(&w) >= (size_t)w.capcindex * 4, 1);
}
END_TEST

/* An unprunable leaver's slot is reused in place, indexed or not. */
START_TEST(contacts_slot_reuse)
{
	char		name[32];
	uint32_t	i, cap;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "k%u", i);
		contact(EV_CONTACT_JOINED, D0, name, "Manager", NULL, -1, NULL);
	}
	contact(EV_CONTACT_LEFT, D0, "k5", NULL, NULL, -1, NULL);
	/* The window moves past k5 by another contact's late event. */
	contact(EV_CONTACT_CHANGED, D0 + WIN_DAYS + 5, "k6", "CEO", NULL, -1,
	    NULL);
	cap = w.capcontacts;
	ck_assert_ptr_null(window_contact(&w, id("k5")));
	contact(EV_CONTACT_JOINED, D0 + WIN_DAYS + 5, "k5", "CFO", NULL, -1,
	    NULL);
	ck_assert_uint_eq(w.ncontacts, 40);
	ck_assert_uint_eq(w.capcontacts, cap);
	ck_assert_uint_eq(w.contacts[5].contact, id("k5"));
	ck_assert_int_eq(window_contact(&w, id("k5"))->rank, RANK_CLEVEL);
	ck_assert_int_eq(window_contact(&w, id("k6"))->rank, RANK_CLEVEL);
}
END_TEST

/* The quadratic rule window_contact_turnover() replaced, as it was. */
static unsigned
turnover_ref(int32_t from, int32_t to, unsigned *left)
{
	uint32_t	i, j;
	unsigned	n = 0;

#define TURN(e)	((e)->day >= from && (e)->day <= to && \
	((e)->kind == WC_LEFT || ((e)->kind == WC_CHANGED && (e)->title_changed)))
	*left = 0;
	for (i = 0; i < w.ncevents; i++) {
		if (!TURN(&w.cevents[i]))
			continue;
		for (j = 0; j < i; j++)
			if (w.cevents[j].contact == w.cevents[i].contact &&
			    TURN(&w.cevents[j]))
				break;
		if (j < i)
			continue;
		n++;
		for (j = i; j < w.ncevents; j++)
			if (w.cevents[j].contact == w.cevents[i].contact &&
			    w.cevents[j].kind == WC_LEFT &&
			    w.cevents[j].day >= from && w.cevents[j].day <= to) {
				(*left)++;
				break;
			}
	}
#undef TURN
	return n;
}

START_TEST(contact_turnover_same)
{
	static const char *const titles[] = { "CEO", "VP Sales", "Manager",
	    NULL };
	static const enum cw_event_type types[] = { EV_CONTACT_JOINED,
	    EV_CONTACT_LEFT, EV_CONTACT_CHANGED, EV_CONTACT_CHANGED };
	unsigned	n, left, rn, rleft, round, k, most = 0;
	uint32_t	x = 12345;
	char		name[32];
	int32_t		from;

	ck_assert_uint_eq(window_contact_turnover(&w, 0, D0, &left), 0);
	ck_assert_uint_eq(left, 0);
	for (round = 0; round < 20; round++) {
		/* Few contacts (many repeats) to many (few repeats). */
		for (k = 0; k < 60 * (round % 5 + 1); k++) {
			x = x * 1103515245u + 12345u;
			snprintf(name, sizeof(name), "t%u",
			    (x >> 8) % (5 + round * 100));
			contact(types[(x >> 4) % 4], D0 + (int32_t)((x >> 16) %
			    120), name, titles[(x >> 20) % 4], NULL, -1, NULL);
		}
		for (from = D0; from < D0 + 120; from += 17) {
			n = window_contact_turnover(&w, from, D0 + 100, &left);
			rn = turnover_ref(from, D0 + 100, &rleft);
			ck_assert_uint_eq(n, rn);
			ck_assert_uint_eq(left, rleft);
			if (rn > most)
				most = rn;
		}
	}
	ck_assert_uint_gt(most, 100);
}
END_TEST

/*
 * --- contact events in any arrival order ---
 *
 * A contact's state and records are a function of its events by ts (ties
 * by window_cevent_cmp()), whatever order they arrived in: every
 * permutation of a set of events gives the same dump.  Strings are
 * interned afresh for each permutation, so ids differ between them and
 * only the text may decide an order.
 */

struct cspec {
	enum cw_event_type	 type;
	int32_t			 day;
	int			 hour;
	const char		*id, *title, *prev;
	int			 champion;
	const char		*company;
};

static void
contact_spec(const struct cspec *c)
{
	struct cw_event	ev = mkev(c->type, c->day, c->hour);

	ev.p.contact_id = (char *)c->id;
	ev.p.title = (char *)c->title;
	ev.p.previous_title = (char *)c->prev;
	ev.p.is_champion = c->champion;
	ev.p.previous_company = (char *)c->company;
	apply(&ev);
}

static const char *
str_or(uint32_t id)
{
	return id == 0 ? "-" : intern_str(id);
}

static int
cevent_qcmp(const void *a, const void *b)
{
	return window_cevent_cmp(a, b);
}

static char	dump_buf[2][16384];

/*
 * What the queries and signals can see of the contacts of specs, as
 * text: the records in contact order, the state of each contact, the
 * turnover of a few ranges.
 */
static const char *
contact_dump(int which, const struct cspec *specs, size_t n)
{
	struct win_contact_event	*v;
	const struct win_contact	*c;
	char				*b = dump_buf[which];
	size_t				 len = sizeof(dump_buf[which]), o = 0;
	unsigned			 left, t;
	uint32_t			 i;
	int32_t				 from;

#define OUT(...) do {							\
	o += (size_t)snprintf(b + o, len - o, __VA_ARGS__);		\
	ck_assert_uint_lt(o, len);					\
} while (0)
	v = calloc(w.ncevents + 1, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	memcpy(v, w.cevents, w.ncevents * sizeof(*v));
	qsort(v, w.ncevents, sizeof(*v), cevent_qcmp);
	for (i = 0; i < w.ncevents; i++)
		OUT("rec %s d%d ts%lld k%d t=%s p=%s bt=%s ic%d fc%d b%d "
		    "r%d>%d ch%d tc%d\n", str_or(v[i].contact), v[i].day,
		    (long long)v[i].ts, v[i].kind, str_or(v[i].title),
		    str_or(v[i].prev), str_or(v[i].before_title),
		    v[i].is_champion, v[i].from_competitor, v[i].before,
		    v[i].old_rank, v[i].new_rank, v[i].champion,
		    v[i].title_changed);
	free(v);
	for (i = 0; i < n; i++) {
		c = window_contact(&w, id(specs[i].id));
		if (c == NULL)
			OUT("contact %s unknown\n", specs[i].id);
		else
			OUT("contact %s d%d ts%lld t=%s r%d ch%d l%d\n",
			    specs[i].id, c->day, (long long)c->ts,
			    str_or(c->title), c->rank, c->champion, c->left);
	}
	for (from = D0 - 40; from <= D0 + 40; from += 10) {
		t = window_contact_turnover(&w, from, D0 + 40, &left);
		OUT("turnover %d %u %u\n", from, t, left);
	}
	OUT("last %d first %d\n", w.last_day, w.first_day);
#undef OUT
	return b;
}

/* Apply specs in the order of perm, from an empty window and intern. */
static const char *
contact_run(int which, const struct cspec *specs, const size_t *perm,
    size_t n)
{
	size_t	i;

	window_free(&w);
	intern_purge();
	for (i = 0; i < n; i++)
		contact_spec(&specs[perm[i]]);
	return contact_dump(which, specs, n);
}

/* The specs by ts (a stable sort: the order they are written in). */
static void
ts_order(const struct cspec *specs, size_t *perm, size_t n)
{
	size_t	i, j, x;

	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && at(specs[perm[j - 1]].day,
		    specs[perm[j - 1]].hour) > at(specs[perm[j]].day,
		    specs[perm[j]].hour); j--) {
			x = perm[j], perm[j] = perm[j - 1], perm[j - 1] = x;
		}
}

/*
 * Every permutation of specs (n <= 8: all of them; more: 500 random
 * ones) gives what the ts order gives.  Returns the dump of the ts order
 * (valid until the next call).
 */
static const char *
contact_all_orders(const struct cspec *specs, size_t n)
{
	size_t		perm[32], c[32], i, x, k, runs = 0;
	uint32_t	r = 2463534242u;
	const char	*ref, *got;

	ck_assert_uint_le(n, 32);
	ts_order(specs, perm, n);
	ref = contact_run(0, specs, perm, n);
	if (n <= 8) {
		/* Heap's algorithm, iterative. */
		for (i = 0; i < n; i++)
			perm[i] = i, c[i] = 0;
		got = contact_run(1, specs, perm, n);
		ck_assert_str_eq(got, ref);
		for (i = 1; i < n; ) {
			if (c[i] < i) {
				k = i % 2 == 0 ? 0 : c[i];
				x = perm[k], perm[k] = perm[i], perm[i] = x;
				got = contact_run(1, specs, perm, n);
				ck_assert_msg(strcmp(got, ref) == 0,
				    "permutation %zu differs:\n%s\nts order:\n%s",
				    runs, got, ref);
				runs++;
				c[i]++;
				i = 1;
			} else
				c[i++] = 0;
		}
	} else {
		for (runs = 0; runs < 500; runs++) {
			for (i = 0; i < n; i++)
				perm[i] = i;
			for (i = n - 1; i > 0; i--) {
				r ^= r << 13, r ^= r >> 17, r ^= r << 5;
				k = r % (i + 1);
				x = perm[k], perm[k] = perm[i], perm[i] = x;
			}
			got = contact_run(1, specs, perm, n);
			ck_assert_msg(strcmp(got, ref) == 0,
			    "shuffle %zu differs:\n%s\nts order:\n%s", runs,
			    got, ref);
		}
	}
	/* Leave the window as the ts order built it, for the caller. */
	ts_order(specs, perm, n);
	return contact_run(0, specs, perm, n);
}

/* The last record of contact cid in contact order. */
static const struct win_contact_event *
newest_cevent(const char *cid)
{
	const struct win_contact_event	*e, *best = NULL;
	uint32_t			 i;

	for (i = 0; i < w.ncevents; i++) {
		e = &w.cevents[i];
		if (e->contact == id(cid) && (best == NULL ||
		    window_cevent_cmp(e, best) > 0))
			best = e;
	}
	ck_assert_ptr_nonnull(best);
	return best;
}

START_TEST(contacts_order_left_first)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, D0 - 30, 9, "ana", "VP Sales", NULL, 1,
		    NULL },
		{ EV_CONTACT_LEFT, D0, 9, "ana", NULL, NULL, -1, NULL },
	};
	const struct win_contact_event	*e;
	size_t				 rev[2] = { 1, 0 };

	/* The left arriving first, then its joined (two systems). */
	contact_run(0, ev, rev, 2);
	e = newest_cevent("ana");
	ck_assert_int_eq(e->kind, WC_LEFT);
	ck_assert_int_eq(e->champion, 1);
	ck_assert_int_eq(e->old_rank, RANK_VP);
	ck_assert_int_eq(window_contact(&w, id("ana"))->left, 1);
	ck_assert_int_eq(window_contact(&w, id("ana"))->champion, 1);
	contact_all_orders(ev, NELEM(ev));
}
END_TEST

START_TEST(contacts_order_titles)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, D0 - 30, 9, "bo", "Director of IT", NULL,
		    1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 20, 9, "bo", "VP Engineering", NULL,
		    -1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 10, 9, "bo", "Manager", NULL, -1,
		    NULL },
	};
	const struct win_contact_event	*e;
	size_t				 rev[3] = { 2, 1, 0 };

	/* Reversed: the downgrade is VP -> Manager, not Head -> VP. */
	contact_run(0, ev, rev, 3);
	e = newest_cevent("bo");
	ck_assert_int_eq(e->old_rank, RANK_VP);
	ck_assert_int_eq(e->new_rank, RANK_MANAGER);
	ck_assert_int_eq(e->champion, 1);
	ck_assert_int_eq(e->title_changed, 1);
	ck_assert_str_eq(intern_str(window_contact(&w, id("bo"))->title),
	    "Manager");
	contact_all_orders(ev, NELEM(ev));
}
END_TEST

START_TEST(contacts_order_champion_on_joined)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, D0 - 50, 9, "cy", "Head of CS", NULL, 1,
		    NULL },
		{ EV_CONTACT_CHANGED, D0 - 40, 9, "cy", "Senior Manager", NULL,
		    -1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 30, 9, "cy", NULL, NULL, -1, NULL },
		{ EV_CONTACT_LEFT, D0 - 20, 9, "cy", NULL, NULL, -1, NULL },
	};
	uint32_t	i;

	contact_all_orders(ev, NELEM(ev));
	/* is_champion only on joined: every later record is a champion's. */
	ck_assert_uint_eq(w.ncevents, 4);
	for (i = 0; i < w.ncevents; i++)
		ck_assert_int_eq(w.cevents[i].champion, 1);
	ck_assert_int_eq(window_contact(&w, id("cy"))->rank,
	    RANK_SENIOR_MANAGER);
}
END_TEST

START_TEST(contacts_order_before_the_window)
{
	static const struct cspec ev[] = {
		/* Two events older than the window, one in it. */
		{ EV_CONTACT_JOINED, D0 - 300, 9, "fa", "Director of IT",
		    NULL, 1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 260, 9, "fa", "VP of IT", NULL, -1,
		    NULL },
		{ EV_CONTACT_CHANGED, D0 - 40, 9, "fa", "Manager", NULL, -1,
		    NULL },
	};
	static const size_t perms[6][3] = { { 0, 1, 2 }, { 0, 2, 1 },
	    { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	const struct win_contact_event	*e;
	const struct win_contact	*c;
	size_t				 i;

	/*
	 * Whatever the order: a champion's VP -> Manager downgrade.  (Not
	 * contact_all_orders(): records older than the window exist only
	 * when they arrived while it still covered them; no query sees
	 * them.)
	 */
	for (i = 0; i < 6; i++) {
		(void)contact_run(0, ev, perms[i], 3);
		e = newest_cevent("fa");
		ck_assert_msg(e->old_rank == RANK_VP, "order %zu", i);
		ck_assert_int_eq(e->new_rank, RANK_MANAGER);
		ck_assert_msg(e->champion == 1, "order %zu", i);
		ck_assert_int_eq(e->title_changed, 1);
		c = window_contact(&w, id("fa"));
		ck_assert_int_eq(c->champion, 1);
		ck_assert_str_eq(intern_str(c->title), "Manager");
	}
}
END_TEST

START_TEST(contacts_order_equal_ts)
{
	static const struct cspec ev[] = {
		/* Joined and left at the same instant: the leaving wins. */
		{ EV_CONTACT_JOINED, D0 - 5, 9, "di", "CEO", NULL, 1, NULL },
		{ EV_CONTACT_LEFT, D0 - 5, 9, "di", NULL, NULL, -1, NULL },
		/* Two title changes at the same instant, and a champion. */
		{ EV_CONTACT_CHANGED, D0 - 3, 12, "ed", "VP Sales", "CTO", -1,
		    NULL },
		{ EV_CONTACT_CHANGED, D0 - 3, 12, "ed", "Manager", NULL, 1,
		    NULL },
		{ EV_CONTACT_CHANGED, D0 - 3, 12, "ed", "Manager", NULL, 0,
		    NULL },
		/* The same event twice (two sources). */
		{ EV_CONTACT_JOINED, D0 - 2, 8, "fa", "CFO", NULL, 1, "rival" },
		{ EV_CONTACT_JOINED, D0 - 2, 8, "fa", "CFO", NULL, 1, "rival" },
	};

	contact_all_orders(ev, NELEM(ev));
	ck_assert_int_eq(window_contact(&w, id("di"))->left, 1);
	ck_assert_int_eq(newest_cevent("di")->kind, WC_LEFT);
	ck_assert_int_eq(newest_cevent("di")->champion, 1);
	/* "Manager" < "VP Sales": the VP change is the last. */
	ck_assert_str_eq(intern_str(window_contact(&w, id("ed"))->title),
	    "VP Sales");
	ck_assert_int_eq(window_contact(&w, id("ed"))->champion, 1);
}
END_TEST

/* Many contacts and events, previous titles, turnover: random orders. */
START_TEST(contacts_order_mixed)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, D0 - 100, 9, "a", "VP Sales", NULL, 1,
		    NULL },
		{ EV_CONTACT_CHANGED, D0 - 60, 9, "a", "Manager", "VP Sales",
		    -1, NULL },
		{ EV_CONTACT_LEFT, D0 - 10, 9, "a", NULL, NULL, -1, NULL },
		{ EV_CONTACT_JOINED, D0 - 5, 9, "a", "Engineer", NULL, 0,
		    NULL },
		{ EV_CONTACT_CHANGED, D0 - 70, 10, "b", "Senior Manager",
		    "Director of Sales", -1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 30, 10, "b", NULL, NULL, 1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 30, 10, "b", "CEO", NULL, -1,
		    NULL },
		{ EV_CONTACT_LEFT, D0 - 1, 23, "b", NULL, NULL, -1, NULL },
		{ EV_CONTACT_JOINED, D0 - 20, 0, "c", "CTO", NULL, -1,
		    "Acme Analytics" },
		{ EV_CONTACT_LEFT, D0 - 20, 0, "c", NULL, NULL, 1, NULL },
		{ EV_CONTACT_JOINED, D0 - 19, 0, "c", "部長", NULL, -1, NULL },
		{ EV_CONTACT_CHANGED, D0 - 2, 5, "d", "課長", "部長", 1, NULL },
		{ EV_CONTACT_LEFT, D0, 5, "d", NULL, NULL, -1, NULL },
		{ EV_CONTACT_JOINED, D0 - 40, 5, "e", NULL, NULL, -1, NULL },
	};

	contact_all_orders(ev, NELEM(ev));
	ck_assert_uint_eq(w.ncevents, NELEM(ev));
	ck_assert_int_eq(window_contact(&w, id("a"))->left, 0);
	ck_assert_int_eq(window_contact(&w, id("b"))->rank, RANK_CLEVEL);
	ck_assert_int_eq(window_contact(&w, id("b"))->left, 1);
	ck_assert_int_eq(window_contact(&w, id("c"))->rank, RANK_HEAD);
	ck_assert_int_eq(newest_cevent("d")->champion, 1);
}
END_TEST

/*
 * Out of order across the window: the state the window starts from is
 * kept in the oldest record, so records pruned or not, a late event
 * still finds what came before it.
 */
START_TEST(contacts_order_after_prune)
{
	const struct win_contact_event	*e;

	contact(EV_CONTACT_JOINED, D0, "g", "VP Sales", NULL, 1, NULL);
	contact(EV_CONTACT_CHANGED, D0 + 100, "g", "CEO", NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, D0 + 250, "g", NULL, NULL, -1, NULL);
	window_prune(&w, D0 + 250);
	ck_assert_uint_eq(w.ncevents, 2);	/* the joined is gone */
	/* A change between them, late: the left still is a champion's. */
	contact(EV_CONTACT_CHANGED, D0 + 200, "g", "Manager", NULL, -1, NULL);
	ck_assert_uint_eq(w.ncevents, 3);
	e = newest_cevent("g");
	ck_assert_int_eq(e->kind, WC_LEFT);
	ck_assert_int_eq(e->champion, 1);
	ck_assert_int_eq(e->old_rank, RANK_MANAGER);
	ck_assert_int_eq(window_contact(&w, id("g"))->left, 1);
	ck_assert_int_eq(window_contact(&w, id("g"))->day, D0 + 250);
	/* An event older than the window: folded before the window. */
	contact(EV_CONTACT_CHANGED, D0 + 10, "g", "Director", NULL, 0, NULL);
	ck_assert_uint_eq(w.ncevents, 3);
	e = newest_cevent("g");
	ck_assert_int_eq(e->champion, 0);
	/* A left before the window: gone, the window's first finds it new. */
	contact(EV_CONTACT_LEFT, D0 + 20, "g", NULL, NULL, -1, NULL);
	ck_assert_int_eq(newest_cevent("g")->champion, 0);
	ck_assert_int_eq(window_contact(&w, id("g"))->rank, RANK_MANAGER);
}
END_TEST

/* --- competitors, touchpoints --- */

START_TEST(competitors)
{
	static const char *const kinds[] = {
		"mention", "event", "outreach", "content", "evaluation", "poc",
		NULL, "mention",
	};
	unsigned	by[WCK__COUNT], n;
	size_t		i;

	for (i = 0; i < NELEM(kinds); i++) {
		struct cw_event	ev = mkev(EV_COMPETITOR_SIGNAL,
				    D0 + (int32_t)i, 0);

		ev.p.competitor = (char *)(i % 2 ? "rival" : "other");
		ev.p.kind = (char *)kinds[i];
		apply(&ev);
	}
	ck_assert_uint_eq(w.ncompetitors, NELEM(kinds));
	for (i = 0; i < WCK_UNKNOWN; i++)
		ck_assert_int_eq(w.competitors[i].kind, (int)i);
	ck_assert_int_eq(w.competitors[6].kind, WCK_UNKNOWN);
	ck_assert_uint_eq(w.competitors[1].competitor, id("rival"));

	n = window_competitors(&w, D0, D0 + 100, by);
	ck_assert_uint_eq(n, NELEM(kinds));
	ck_assert_uint_eq(by[WCK_MENTION], 2);
	ck_assert_uint_eq(by[WCK_POC], 1);
	ck_assert_uint_eq(by[WCK_UNKNOWN], 1);
	n = window_competitors(&w, D0 + 4, D0 + 5, by);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(by[WCK_EVALUATION], 1);
	ck_assert_uint_eq(by[WCK_POC], 1);
	ck_assert_uint_eq(by[WCK_MENTION], 0);
	ck_assert_uint_eq(window_competitors(&w, D0 + 50, D0 + 60, by), 0);
	ck_assert_uint_eq(by[WCK_POC], 0);
}
END_TEST

START_TEST(touchpoints)
{
	int32_t	days[] = { D0 + 5, D0, D0 + 5, D0 + 9, D0 + 2 };
	size_t	i;

	for (i = 0; i < NELEM(days); i++) {
		struct cw_event	ev = mkev(EV_TOUCHPOINT, days[i], 0);

		ev.p.kind = (char *)"call";
		apply(&ev);
	}
	ck_assert_int_eq(w.last_touch, D0 + 9);
	ck_assert_uint_eq(window_touches(&w, D0, D0 + 9), 5);
	ck_assert_uint_eq(window_touches(&w, D0 + 5, D0 + 5), 2);
	ck_assert_uint_eq(window_touches(&w, D0 + 6, D0 + 8), 0);
	ck_assert_int_eq(w.first_day, D0);
	ck_assert_int_eq(w.last_day, D0 + 9);
	/* Touchpoints move the window but leave the login ring alone. */
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 9), 0);
	ck_assert_int_eq(w.last_login, 0);
}
END_TEST

/* Sentiment counts tickets, each with its latest sentiment. */
START_TEST(sentiment_by_ticket)
{
	int64_t		sum;
	unsigned	n;

	/* Created, updated, solved: one ticket, the solved one's -0.8. */
	ticket_as("A", EV_TICKET_CREATED, D0, 9, 0.5);
	ticket_as("A", EV_TICKET_UPDATED, D0 + 1, 9, -0.2);
	ticket_as("A", EV_TICKET_SOLVED, D0 + 2, 9, -0.8);
	window_sentiment(&w, D0, D0 + 2, &sum, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sum, -80);
	/* A range sees the ticket's latest event within it. */
	window_sentiment(&w, D0, D0 + 1, &sum, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sum, -20);

	/* Latest by ts, whatever the order applied; an unrated event
	 * (the update at 11h) does not hide the rating before it. */
	ticket_as("B", EV_TICKET_SOLVED, D0 + 2, 10, 0.9);
	ticket_as("B", EV_TICKET_CREATED, D0 + 2, 8, -1.0);
	ticket_as("B", EV_TICKET_UPDATED, D0 + 2, 11, NOSENT);
	window_sentiment(&w, D0, D0 + 2, &sum, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(sum, -80 + 90);

	/* The same ts: the one applied later wins. */
	ticket_as("C", EV_TICKET_CREATED, D0 + 3, 9, 0.1);
	ticket_as("C", EV_TICKET_UPDATED, D0 + 3, 9, 0.3);
	window_sentiment(&w, D0 + 3, D0 + 3, &sum, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sum, 30);
	ck_assert_uint_eq(window_tickets_created(&w, D0, D0 + 3), 3);
	ck_assert_uint_ne(w.tickets[0].ticket, w.tickets[3].ticket);
	ck_assert_uint_eq(w.tickets[0].ticket, w.tickets[2].ticket);
}
END_TEST

static void
touch(const char *kind, int32_t day, int64_t attendees, int64_t invited)
{
	struct cw_event	ev = mkev(EV_TOUCHPOINT, day, 0);

	ev.p.kind = (char *)kind;
	ev.p.attendees = attendees;
	ev.p.invited = invited;
	apply(&ev);
}

START_TEST(attendance)
{
	uint64_t	sum;
	unsigned	n;

	touch("meeting", D0, 3, 4);		/* 0.75 */
	touch("meeting", D0 + 1, 1, 3);		/* 0.3333 */
	touch("meeting", D0 + 1, 0, 5);		/* 0 */
	touch("call", D0 + 1, 2, 2);		/* not a meeting */
	touch("meeting", D0 + 2, -1, 4);	/* attendees unknown */
	touch("meeting", D0 + 2, 2, -1);	/* invited unknown */
	touch("meeting", D0 + 2, 0, 0);		/* nobody invited */
	touch(NULL, D0 + 2, 2, 4);		/* no kind */
	ck_assert_uint_eq(w.ntouches, 8);
	ck_assert_uint_eq(window_touches(&w, D0, D0 + 2), 8);
	ck_assert_uint_eq(w.touches[0].rate, 7500);
	ck_assert_uint_eq(w.touches[1].rate, 3333);
	ck_assert_uint_eq(w.touches[3].rate, WIN_NO_RATE);
	window_attendance(&w, D0, D0 + 2, &sum, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(sum, 7500 + 3333 + 0);
	window_attendance(&w, D0 + 1, D0 + 1, &sum, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(sum, 3333);
	window_attendance(&w, D0 + 2, D0 + 9, &sum, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(sum, 0);
	ck_assert_int_eq(w.last_touch, D0 + 2);
}
END_TEST

static void
note_on(int32_t day, const char *text)
{
	struct cw_event	ev = mkev(EV_NOTE, day, 0);

	ev.p.text = (char *)text;
	apply(&ev);
}

START_TEST(notes)
{
	const struct win_note	*x;
	unsigned		 n;

	note_on(D0, "Lunch was nice.");
	ck_assert_uint_eq(w.nnotes, 1);
	ck_assert_uint_eq(w.notes[0].phrase, 0);
	ck_assert_ptr_null(window_risk_note(&w, D0, D0, &n));
	ck_assert_uint_eq(n, 0);

	/* ASCII case folded; the first phrase in the rules' order wins. */
	note_on(D0 + 1, "Everyone is BUSY and the Budget is tight");
	ck_assert_uint_eq(w.notes[1].phrase, id("busy"));
	ck_assert_uint_eq(w.notes[1].cls, id("time"));
	/* UTF-8 phrases as bytes: 予算が厳しい. */
	note_on(D0 + 3, "\xe4\xba\x88\xe7\xae\x97\xe3\x81\x8c\xe5\x8e\xb3"
	    "\xe3\x81\x97\xe3\x81\x84");
	note_on(D0 + 3, "They are looking at other tools.");
	note_on(D0 + 2, "budget review");
	ck_assert_uint_eq(w.nnotes, 5);

	x = window_risk_note(&w, D0, D0 + 9, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(x->day, D0 + 3);
	ck_assert_str_eq(intern_str(x->phrase), "other tools");
	ck_assert_str_eq(intern_str(x->cls), "alternatives");
	x = window_risk_note(&w, D0, D0 + 2, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(intern_str(x->phrase), "budget");
	ck_assert_str_eq(intern_str(x->cls), "budget");
	ck_assert_int_eq(w.first_day, D0);

	/* Old notes fall out of the window with the rest. */
	window_prune(&w, D0 + 2 + WIN_DAYS);
	ck_assert_uint_eq(w.nnotes, 2);
	ck_assert_uint_eq(window_risk_note(&w, 0, D0 + 9, &n)->day, D0 + 3);
}
END_TEST

/* Outcomes are stored, not windowed: they change nothing. */
START_TEST(outcomes)
{
	struct cw_event	ev = mkev(EV_ACCOUNT_CHURNED, D0, 0);
	struct window	none;

	window_init(&none);
	apply(&ev);
	ev.type = EV_ACCOUNT_RENEWED;
	apply(&ev);
	ev.type = EV_ACCOUNT_CONTRACTED;
	apply(&ev);
	ck_assert_mem_eq(&w, &none, sizeof(w));
}
END_TEST

/* --- pruning and growth --- */

START_TEST(prune)
{
	size_t		before;
	int32_t		d;
	int64_t		sum;
	unsigned	n;

	for (d = D0; d < D0 + 100; d++) {
		struct cw_event	ev = mkev(EV_TOUCHPOINT, d, 0);

		apply(&ev);
		ticket(EV_TICKET_CREATED, d, "eng", "api", 0.5);
		login("u", d, 1);
		feature("u", "f", d);
	}
	ck_assert_uint_eq(window_tickets_created(&w, D0, D0 + 99), 100);
	before = window_bytes(&w);

	/* Pruning at the last day drops nothing a query can see. */
	window_prune(&w, D0 + 99);
	ck_assert_uint_eq(window_tickets_created(&w, D0, D0 + 99), 100);
	ck_assert_uint_eq(w.ntickets, 100);

	/* today moves the window: what fell out is gone, answers agree. */
	window_prune(&w, D0 + 49 + WIN_DAYS);
	ck_assert_int_eq(w.last_day, D0 + 49 + WIN_DAYS);
	ck_assert_uint_eq(w.ntickets, 50);
	ck_assert_uint_eq(w.ntouches, 50);
	ck_assert_uint_eq(window_tickets_created(&w, 0, D0 + 1000), 50);
	ck_assert_uint_eq(window_touches(&w, 0, D0 + 1000), 50);
	ck_assert_uint_eq(window_logins(&w, 0, D0 + 1000), 50);
	window_sentiment(&w, 0, D0 + 1000, &sum, &n);
	ck_assert_uint_eq(n, 50);
	ck_assert_uint_eq(window_active_users(&w, 0), 1);
	ck_assert_int_eq(window_feature_last(&w, id("f")), D0 + 99);
	ck_assert_int_eq(w.first_day, D0);
	ck_assert_int_eq(w.last_login, D0 + 99);

	/* Everything old: arrays and tables freed. */
	window_prune(&w, D0 + 100 + WIN_DAYS);
	ck_assert_uint_eq(w.ntickets, 0);
	ck_assert_uint_eq(w.nusers, 0);
	ck_assert_uint_eq(w.nfeatures, 0);
	ck_assert_uint_eq(window_bytes(&w), sizeof(struct window));
	ck_assert_uint_lt(window_bytes(&w), before);
	ck_assert_int_eq(window_feature_last(&w, id("f")), 0);
	ck_assert_uint_eq(window_active_users(&w, 0), 0);
	/* An older today changes nothing. */
	window_prune(&w, D0);
	ck_assert_int_eq(w.last_day, D0 + 100 + WIN_DAYS);
}
END_TEST

START_TEST(bounded_growth)
{
	int32_t		d;
	uint32_t	maxcap = 0;

	/* Three tickets a day for 2000 days: apply prunes, memory stays. */
	for (d = D0; d < D0 + 2000; d++) {
		ticket(EV_TICKET_CREATED, d, "eng", "api", NOSENT);
		ticket(EV_TICKET_CREATED, d, "eng", "api", NOSENT);
		ticket(EV_TICKET_UPDATED, d, "eng", "api", NOSENT);
		if (w.captickets > maxcap)
			maxcap = w.captickets;
	}
	ck_assert_uint_le(maxcap, 4 * 3 * WIN_DAYS);
	ck_assert_uint_eq(window_tickets_created(&w, D0 + 1970, D0 + 1999),
	    60);
	ck_assert_uint_eq(window_tickets_created(&w, 0, D0 + 1999),
	    2 * WIN_DAYS);
}
END_TEST

START_TEST(bytes)
{
	size_t	b0 = window_bytes(&w);

	login("u", D0, 0);
	ck_assert_uint_eq(window_bytes(&w), b0 +
	    (size_t)w.capusers * sizeof(struct win_seen));
	ticket(EV_TICKET_CREATED, D0, "a", "b", NOSENT);
	contact(EV_CONTACT_JOINED, D0, "c", "CEO", NULL, 1, NULL);
	ck_assert_uint_eq(window_bytes(&w), b0 +
	    (size_t)w.capusers * sizeof(struct win_seen) +
	    (size_t)w.captickets * sizeof(struct win_ticket) +
	    (size_t)w.capcontacts * sizeof(struct win_contact) +
	    (size_t)w.capcevents * sizeof(struct win_contact_event));
}
END_TEST

/* --- restore gives the same answers as apply --- */

static uint32_t	rng;

static uint32_t
rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

#define RDAYS	300
#define RUSERS	40
#define RFEATS	12

START_TEST(restore_equals_apply)
{
	static uint32_t	byday[RDAYS], byhour[RDAYS * 24];
	static int32_t	ulast[RUSERS], flast[RFEATS];
	struct window	r;
	char		name[32];
	int64_t		h;
	int32_t		d, t;
	uint32_t	i, k, fid;

	memset(byday, 0, sizeof(byday));
	memset(byhour, 0, sizeof(byhour));
	memset(ulast, 0, sizeof(ulast));
	memset(flast, 0, sizeof(flast));
	rng = 42;
	/* Live: events in no particular order, back-fill included. */
	for (i = 0; i < 20000; i++) {
		d = (int32_t)rnd(RDAYS);
		t = (int32_t)rnd(24);
		k = rnd(RUSERS);
		snprintf(name, sizeof(name), "user%u", k);
		if (rnd(3) != 0) {
			login(name, D0 + d, t);
			byday[d]++;
			byhour[d * 24 + t]++;
		} else {
			char	f[16];

			snprintf(f, sizeof(f), "f%u", k % RFEATS);
			feature(name, f, D0 + d);
			if (D0 + d > flast[k % RFEATS])
				flast[k % RFEATS] = D0 + d;
		}
		if (D0 + d > ulast[k])
			ulast[k] = D0 + d;
	}

	/* Restored: from the rollups, in any order. */
	window_init(&r);
	for (d = RDAYS - 1; d >= 0; d--) {
		if (byday[d] > 0)
			ck_assert_int_eq(window_restore_logins(&r, D0 + d,
			    byday[d]), 0);
		for (t = 0; t < 24; t++)
			if (byhour[d * 24 + t] > 0)
				ck_assert_int_eq(window_restore_hour(&r,
				    (int64_t)(D0 + d) * 24 + t,
				    byhour[d * 24 + t]), 0);
	}
	for (k = 0; k < RUSERS; k++) {
		snprintf(name, sizeof(name), "user%u", k);
		if (ulast[k] != 0)
			ck_assert_int_eq(window_restore_user(&r, name,
			    ulast[k]), 0);
	}
	for (k = 0; k < RFEATS; k++) {
		snprintf(name, sizeof(name), "f%u", k);
		if (flast[k] != 0)
			ck_assert_int_eq(window_restore_feature(&r, name,
			    flast[k]), 0);
	}

	ck_assert_int_eq(r.last_day, w.last_day);
	ck_assert_int_eq(r.first_day, w.first_day);
	ck_assert_int_eq(r.last_login, w.last_login);
	ck_assert_int_eq(r.last_hour, w.last_hour);
	for (d = D0 - 5; d < D0 + RDAYS + 5; d++) {
		ck_assert_uint_eq(window_logins_on(&r, d),
		    window_logins_on(&w, d));
		ck_assert_uint_eq(window_logins(&r, d, d + 13),
		    window_logins(&w, d, d + 13));
		ck_assert_uint_eq(window_active_users(&r, d),
		    window_active_users(&w, d));
	}
	for (h = (int64_t)D0 * 24; h < (int64_t)(D0 + RDAYS + 3) * 24; h++)
		ck_assert_uint_eq(window_logins_24h(&r, h),
		    window_logins_24h(&w, h));
	for (k = 0; k < RFEATS; k++) {
		snprintf(name, sizeof(name), "f%u", k);
		fid = id(name);
		ck_assert_int_eq(window_feature_last(&r, fid),
		    window_feature_last(&w, fid));
	}
	/* The old part of the range really is outside the window. */
	ck_assert_uint_eq(window_logins_on(&w, D0), 0);
	ck_assert_uint_gt(window_logins(&w, D0 + RDAYS - 14, D0 + RDAYS), 0);
	window_free(&r);
}
END_TEST

/* --- decoded events, end to end --- */

START_TEST(decoded)
{
	static const char	body[] =
	    "{\"id\":\"1\",\"account_id\":\"a\",\"type\":\"ticket.created\","
	    "\"ts\":\"2026-11-19T10:00:00Z\",\"props\":{\"ticket_id\":7,"
	    "\"team\":\"eng\",\"category\":\"api\",\"sentiment\":-0.25,"
	    "\"tags\":[\"x\",\"Cancel-Request\"]}}\n"
	    "{\"id\":\"2\",\"account_id\":\"a\",\"type\":\"contact.changed\","
	    "\"ts\":\"2026-11-19T11:00:00Z\",\"props\":{\"contact_id\":9,"
	    "\"title\":\"Manager\",\"previous_title\":\"VP Sales\","
	    "\"is_champion\":true,\"previous_company\":\"Rival\"}}\n"
	    "{\"id\":\"3\",\"account_id\":\"a\",\"type\":\"competitor.signal\","
	    "\"ts\":\"2026-11-19T12:00:00Z\",\"props\":{\"competitor\":"
	    "\"rival\",\"kind\":\"poc\"}}\n"
	    "{\"id\":\"4\",\"account_id\":\"a\",\"type\":\"feature_used\","
	    "\"ts\":\"2026-11-20T01:00:00Z\",\"user_id\":\"u\","
	    "\"props\":{\"feature\":\"export\"}}\n"
	    "{\"id\":\"5\",\"account_id\":\"a\",\"type\":\"login\","
	    "\"ts\":\"2026-11-20T02:00:00Z\",\"user_id\":\"u\"}\n"
	    "{\"id\":\"6\",\"account_id\":\"a\",\"type\":\"touchpoint\","
	    "\"ts\":\"2026-11-20T03:00:00Z\",\"props\":{\"kind\":\"call\"}}\n";
	static const struct cw_event_limits lim = { 10,
	    400 * CW_USEC_PER_DAY, 300 * CW_USEC_PER_SEC };
	struct cw_event_batch	b;
	struct cw_error		e;
	int32_t			today = 20777;	/* 2026-11-20 */
	size_t			i;
	unsigned		by[WCK__COUNT];
	int64_t			sum;
	unsigned		n;

	ck_assert_int_eq(event_decode_body(body, sizeof(body) - 1,
	    BODY_NDJSON, INT64_C(1795176000) * CW_USEC_PER_SEC, &lim, &b, &e),
	    0);
	ck_assert_uint_eq(b.nev, 6);
	for (i = 0; i < b.nev; i++)
		apply(&b.ev[i]);
	event_batch_free(&b);

	ck_assert_uint_eq(window_tickets_created(&w, today - 1, today), 1);
	window_sentiment(&w, today - 1, today, &sum, &n);
	ck_assert_int_eq(sum, -25);
	ck_assert_int_eq(window_intent_ticket(&w, today - 30, today),
	    today - 1);
	ck_assert_int_eq(last_cevent()->old_rank, RANK_VP);
	ck_assert_int_eq(last_cevent()->new_rank, RANK_MANAGER);
	ck_assert_int_eq(last_cevent()->champion, 1);
	ck_assert_int_eq(last_cevent()->from_competitor, 1);
	ck_assert_int_eq(last_cevent()->title_changed, 1);
	ck_assert_ptr_nonnull(window_contact(&w, id("9")));
	ck_assert_uint_eq(window_competitors(&w, today - 1, today, by), 1);
	ck_assert_uint_eq(by[WCK_POC], 1);
	ck_assert_int_eq(window_feature_last(&w, id("export")), today);
	ck_assert_uint_eq(window_logins_on(&w, today), 1);
	ck_assert_uint_eq(window_active_users(&w, today), 1);
	ck_assert_uint_eq(window_touches(&w, today, today), 1);
	ck_assert_int_eq(w.first_day, today - 1);
	ck_assert_int_eq(w.last_day, today);
}
END_TEST

static Suite *
window_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("window");

	tc = tcase_create("basic");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, day_and_hour);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, struct_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, logins_basic);
	tcase_add_test(tc, ring_wraps);
	tcase_add_test(tc, backfill);
	tcase_add_test(tc, hourly);
	tcase_add_test(tc, saturation);
	tcase_add_test(tc, wide_rings);
	tcase_add_test(tc, active_users);
	tcase_add_test(tc, features);
	tcase_add_test(tc, many_features);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tickets);
	tcase_add_test(tc, sentiment_scale);
	tcase_add_test(tc, top_team_category);
	tcase_add_test(tc, intent);
	tcase_add_test(tc, contacts);
	tcase_add_test(tc, contacts_unknown);
	tcase_add_test(tc, contacts_competitor);
	tcase_add_test(tc, contacts_forgotten);
	tcase_add_test(tc, contacts_many);
	tcase_add_test(tc, contacts_slot_reuse);
	tcase_add_test(tc, contact_turnover_same);
	tcase_add_test(tc, contacts_order_left_first);
	tcase_add_test(tc, contacts_order_titles);
	tcase_add_test(tc, contacts_order_champion_on_joined);
	tcase_add_test(tc, contacts_order_before_the_window);
	tcase_add_test(tc, contacts_order_equal_ts);
	tcase_add_test(tc, contacts_order_mixed);
	tcase_add_test(tc, contacts_order_after_prune);
	tcase_add_test(tc, competitors);
	tcase_add_test(tc, touchpoints);
	tcase_add_test(tc, sentiment_by_ticket);
	tcase_add_test(tc, attendance);
	tcase_add_test(tc, notes);
	tcase_add_test(tc, outcomes);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, prune);
	tcase_add_test(tc, bounded_growth);
	tcase_add_test(tc, bytes);
	tcase_add_test(tc, restore_equals_apply);
	tcase_add_test(tc, decoded);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(window_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
