/*
 * check_snapshot.c -- unit tests for snapshot.c: round trips of empty,
 * typical and maximal windows (every record kind, stale entries, users at
 * the table's growth point and at [limits] users_per_account, saturated
 * counters, contacts past the index threshold), checked field by field,
 * through every window query and through signal_evaluate(); then what
 * must be refused: every truncation, every single bit flip, a future or
 * an old version, another hash key, trailing bytes, and CRC-valid
 * mutations (refused or decoded into a window that encodes again).
 *
 * Prints the image sizes of representative accounts.  With
 * SNAPSHOT_SEED_DIR set, writes the images there as seeds for
 * tests/fuzz/fuzz_snapshot.c (a flags byte 0x03, then the image).  Links
 * snapshot.c, window.c, signal.c, intern.c, title.c and util.c.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intern.h"
#include "signal.h"
#include "snapshot.h"
#include "util.h"
#include "window.h"

#define T		20000		/* 2024-10-04 */
#define HOUR_US		(INT64_C(3600) * CW_USEC_PER_SEC)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The fuzz target hashes with this key too (seeds must decode there). */
static const unsigned char test_key[16] = "churnwatch-fuzz!";

static struct sig_config	 cfg;
static struct win_rules		 rules;
static const char *const	 rivals[] = { "rival", "acme analytics", NULL };
static struct window		 w, w2;
static struct snapshot_buf	 buf, buf2;

static void
setup(void)
{
	window_init(&w);
	window_init(&w2);
	ck_assert_int_eq(signal_config_defaults(&cfg), 0);
	signal_win_rules(&cfg, &rules);
	rules.competitors = rivals;
}

static void
teardown(void)
{
	window_free(&w);
	window_free(&w2);
	snapshot_buf_free(&buf);
	snapshot_buf_free(&buf2);
	signal_config_free(&cfg);
	intern_purge();
}

/* ---- building windows, as the daemon does: events through apply ---- */

static uint64_t	rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n == 0 ? 0 : (uint32_t)(rng % n);
}

static struct cw_event
mkev(enum cw_event_type type, int32_t day, int hour)
{
	struct cw_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = (char *)"evt";
	ev.account_id = (char *)"acme";
	ev.type = type;
	ev.ts = (int64_t)day * CW_USEC_PER_DAY + hour * HOUR_US +
	    (int64_t)rnd(3600) * CW_USEC_PER_SEC + (rnd(4) == 0 ? rnd(999) : 0);
	ev.props = (char *)"{}";
	event_props_init(&ev.p);
	return ev;
}

static void
apply(struct window *x, const struct cw_event *ev)
{
	ck_assert_int_eq(window_apply(x, ev, &rules), 0);
}

static void
login(struct window *x, int32_t day, int hour, const char *user)
{
	struct cw_event	ev = mkev(EV_LOGIN, day, hour);

	ev.user_id = (char *)user;
	apply(x, &ev);
}

static void
feature(struct window *x, int32_t day, const char *user, const char *name)
{
	struct cw_event	ev = mkev(EV_FEATURE_USED, day, 10);

	ev.user_id = (char *)user;
	ev.p.feature = (char *)name;
	apply(x, &ev);
}

static void
ticket(struct window *x, enum cw_event_type type, int32_t day,
    const char *tid, const char *team, const char *cat, const char *subject,
    int sentiment)
{
	struct cw_event	ev = mkev(type, day, 9);

	ev.p.ticket_id = (char *)tid;
	ev.p.team = (char *)team;
	ev.p.category = (char *)cat;
	ev.p.subject = (char *)subject;
	if (sentiment >= -100 && sentiment <= 100) {
		ev.p.has_sentiment = 1;
		ev.p.sentiment = sentiment / 100.0;
	}
	apply(x, &ev);
}

static void
contact(struct window *x, enum cw_event_type type, int32_t day,
    const char *cid, const char *title, const char *prev, int champion,
    const char *company)
{
	struct cw_event	ev = mkev(type, day, 11);

	ev.p.contact_id = (char *)cid;
	ev.p.title = (char *)title;
	ev.p.previous_title = (char *)prev;
	ev.p.is_champion = champion;
	ev.p.previous_company = (char *)company;
	apply(x, &ev);
}

static void
competitor(struct window *x, int32_t day, const char *name, const char *kind)
{
	struct cw_event	ev = mkev(EV_COMPETITOR_SIGNAL, day, 12);

	ev.p.competitor = (char *)name;
	ev.p.kind = (char *)kind;
	apply(x, &ev);
}

static void
touch(struct window *x, int32_t day, const char *kind, int64_t att,
    int64_t inv)
{
	struct cw_event	ev = mkev(EV_TOUCHPOINT, day, 13);

	ev.p.kind = (char *)kind;
	ev.p.attendees = att;
	ev.p.invited = inv;
	apply(x, &ev);
}

static void
note(struct window *x, int32_t day, const char *text)
{
	struct cw_event	ev = mkev(EV_NOTE, day, 14);

	ev.p.text = (char *)text;
	apply(x, &ev);
}

static const char *const users10[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy"
};

/* 90 days of logins by 10 users up to day T (most days, some twice). */
static void
build_typical(struct window *x)
{
	int32_t	d;
	size_t	i;

	for (d = T - 89; d <= T; d++) {
		if ((d % 7) == 5)
			continue;		/* a quiet day a week */
		for (i = 0; i < NELEM(users10); i++)
			if (rnd(3) != 0)
				login(x, d, 8 + (int)rnd(10), users10[i]);
	}
}

/* Every record kind, stale entries, contacts past the index threshold. */
static void
build_maximal(struct window *x)
{
	static const char *const kinds[] = {
		"mention", "event", "outreach", "content", "evaluation", "poc",
		"webinar", NULL
	};
	char		 cid[32], tid[32], u[32];
	int32_t		 d;
	int		 i;

	/* A user and a feature that go stale: still "seen", never active. */
	login(x, T - 400, 3, "ghost");
	feature(x, T - 400, "ghost", "legacy-report");
	/* Contacts from long ago: one who left (forgotten, still in the
	 * array until pruning), one champion still there. */
	contact(x, EV_CONTACT_JOINED, T - 380, "c-old-left", "CTO", NULL, 1,
	    NULL);
	contact(x, EV_CONTACT_LEFT, T - 370, "c-old-left", NULL, NULL, -1,
	    NULL);
	contact(x, EV_CONTACT_JOINED, T - 300, "c-champ", "VP Engineering",
	    NULL, 1, "Rival Inc");

	for (d = T - 191; d <= T; d++) {
		if (d < T - 30)
			for (i = 0; i < 20; i++) {
				snprintf(u, sizeof(u), "user-%d", (int)rnd(40));
				login(x, d, (int)rnd(24), u);
			}
		else if (rnd(4) == 0)
			login(x, d, 9, "alice");
		if (rnd(3) == 0)
			feature(x, d, "alice", rnd(2) ? "dashboards" :
			    "export");
	}
	login(x, T, 9, "alice");		/* last_day is T */
	/* Saturated u16 counters, daily and hourly. */
	ck_assert_int_eq(window_restore_logins(x, T - 100, 70000), 0);
	ck_assert_int_eq(window_restore_hour(x, (int64_t)T * 24 + 5, 70000),
	    0);

	/* Tickets: several events of one ticket, teams, intent, sentiments
	 * from -100 to 100 and none. */
	for (i = 0; i < 60; i++) {
		d = T - 150 + (int)rnd(150);
		snprintf(tid, sizeof(tid), "T-%d", i / 3);
		ticket(x, (enum cw_event_type)(EV_TICKET_CREATED + i % 3), d,
		    tid, i % 4 ? "billing" : "platform",
		    i % 5 ? "invoice" : NULL,
		    i % 7 == 0 ? "please cancel our plan" : "question",
		    i % 6 == 0 ? 999 : -100 + (int)rnd(201));
	}
	ticket(x, EV_TICKET_CREATED, T - 2, "T-x", NULL, NULL, NULL, 100);
	ticket(x, EV_TICKET_UPDATED, T - 1, "T-x", NULL, NULL, NULL, -100);

	/* Contacts: more than WIN_CONTACT_SCAN (the index), changes, a
	 * champion leaving without is_champion, a downgrade. */
	for (i = 0; i < 40; i++) {
		snprintf(cid, sizeof(cid), "c-%d", i);
		contact(x, EV_CONTACT_JOINED, T - 170 + i, cid,
		    i % 3 ? "Manager" : "Director of Ops", NULL,
		    i % 5 == 0, i % 9 == 0 ? "acme analytics" : NULL);
	}
	contact(x, EV_CONTACT_CHANGED, T - 20, "c-0", "Senior Manager",
	    "Director of Ops", -1, NULL);
	contact(x, EV_CONTACT_LEFT, T - 10, "c-champ", NULL, NULL, -1, NULL);
	contact(x, EV_CONTACT_LEFT, T - 9, "c-5", NULL, NULL, -1, NULL);
	contact(x, EV_CONTACT_JOINED, T - 3, "c-new-ceo", "CEO", NULL, -1,
	    "rival");

	for (i = 0; kinds[i] != NULL; i++)
		competitor(x, T - 40 + i, i % 2 ? "Rival" : "acme analytics",
		    kinds[i]);
	competitor(x, T - 5, NULL, NULL);

	touch(x, T - 160, "call", -1, -1);
	touch(x, T - 120, "meeting", 8, 8);
	touch(x, T - 60, "meeting", 3, 9);
	touch(x, T - 50, "meeting", 0, 7);
	touch(x, T - 45, "email", -1, -1);

	note(x, T - 90, "All fine.");
	note(x, T - 30, "They say the budget is gone");
	note(x, T - 12, "Looking at other tools; too busy");
	note(x, T - 4, "\xe4\xba\x88\xe7\xae\x97\xe3\x81\x8c\xe3\x81\xaa\xe3"
	    "\x81\x84");
}

/* ---- equality: fields, queries, signals ---- */

struct ent {
	uint64_t	key;
	int32_t		day;
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent	*x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static void
seen_eq(const struct window *a, const struct window *b,
    enum win_seen_table which, uint32_t n)
{
	struct ent	*ea, *eb;
	uint32_t	 pa = 0, pb = 0, i;

	ea = calloc(n + 1, sizeof(*ea));
	eb = calloc(n + 1, sizeof(*eb));
	ck_assert(ea != NULL && eb != NULL);
	for (i = 0; i < n; i++) {
		ck_assert(window_seen_next(a, which, &pa, &ea[i].key,
		    &ea[i].day));
		ck_assert(window_seen_next(b, which, &pb, &eb[i].key,
		    &eb[i].day));
	}
	ck_assert(!window_seen_next(a, which, &pa, &ea[n].key, &ea[n].day));
	ck_assert(!window_seen_next(b, which, &pb, &eb[n].key, &eb[n].day));
	qsort(ea, n, sizeof(*ea), ent_cmp);
	qsort(eb, n, sizeof(*eb), ent_cmp);
	for (i = 0; i < n; i++) {
		ck_assert(ea[i].key == eb[i].key);
		ck_assert_int_eq(ea[i].day, eb[i].day);
	}
	free(ea);
	free(eb);
}

/* Field by field: what any query can see (not slots, not capacities). */
static void
fields_eq(const struct window *a, const struct window *b)
{
	uint32_t	i;

	ck_assert_int_eq(a->last_day, b->last_day);
	ck_assert_int_eq(a->first_day, b->first_day);
	ck_assert_int_eq(a->last_login, b->last_login);
	ck_assert_int_eq(a->last_touch, b->last_touch);
	ck_assert(a->last_hour == b->last_hour);
	for (i = 0; i < WIN_DAYS; i++)
		ck_assert_uint_eq(window_ring(a, WIN_RING_DAYS, i),
		    window_ring(b, WIN_RING_DAYS, i));
	for (i = 0; i < WIN_HOURS; i++)
		ck_assert_uint_eq(window_ring(a, WIN_RING_HOURS, i),
		    window_ring(b, WIN_RING_HOURS, i));
	ck_assert_uint_eq(a->nusers, b->nusers);
	ck_assert_uint_eq(a->nfeatures, b->nfeatures);
	seen_eq(a, b, WIN_SEEN_USERS, a->nusers);
	seen_eq(a, b, WIN_SEEN_FEATURES, a->nfeatures);
	ck_assert_uint_eq(a->ntickets, b->ntickets);
	for (i = 0; i < a->ntickets; i++) {
		ck_assert_int_eq(a->tickets[i].day, b->tickets[i].day);
		ck_assert_uint_eq(a->tickets[i].team, b->tickets[i].team);
		ck_assert_uint_eq(a->tickets[i].category,
		    b->tickets[i].category);
		ck_assert_int_eq(a->tickets[i].sentiment,
		    b->tickets[i].sentiment);
		ck_assert_uint_eq(a->tickets[i].kind, b->tickets[i].kind);
		ck_assert_uint_eq(a->tickets[i].intent, b->tickets[i].intent);
		ck_assert(a->tickets[i].ticket == b->tickets[i].ticket);
		ck_assert(a->tickets[i].ts == b->tickets[i].ts);
	}
	ck_assert_uint_eq(a->ntouches, b->ntouches);
	for (i = 0; i < a->ntouches; i++) {
		ck_assert_int_eq(a->touches[i].day, b->touches[i].day);
		ck_assert_uint_eq(a->touches[i].rate, b->touches[i].rate);
	}
	ck_assert_uint_eq(a->nnotes, b->nnotes);
	for (i = 0; i < a->nnotes; i++) {
		ck_assert_int_eq(a->notes[i].day, b->notes[i].day);
		ck_assert_uint_eq(a->notes[i].phrase, b->notes[i].phrase);
		ck_assert_uint_eq(a->notes[i].cls, b->notes[i].cls);
	}
	ck_assert_uint_eq(a->ncevents, b->ncevents);
	for (i = 0; i < a->ncevents; i++)
		ck_assert(memcmp(&a->cevents[i], &b->cevents[i],
		    sizeof(a->cevents[i])) == 0);
	ck_assert_uint_eq(a->ncontacts, b->ncontacts);
	for (i = 0; i < a->ncontacts; i++)
		ck_assert(memcmp(&a->contacts[i], &b->contacts[i],
		    sizeof(a->contacts[i])) == 0);
	ck_assert_uint_eq(a->ncompetitors, b->ncompetitors);
	for (i = 0; i < a->ncompetitors; i++) {
		ck_assert_int_eq(a->competitors[i].day, b->competitors[i].day);
		ck_assert_uint_eq(a->competitors[i].competitor,
		    b->competitors[i].competitor);
		ck_assert_uint_eq(a->competitors[i].kind,
		    b->competitors[i].kind);
	}
}

static const char *const probe_users[] = {
	"alice", "bob", "judy", "ghost", "user-0", "user-39", "nobody", ""
};
static const char *const probe_names[] = {
	"dashboards", "export", "legacy-report", "reports", "c-0", "c-5",
	"c-champ", "c-old-left", "c-new-ceo", "c-39", "c-99", "billing"
};

/* Every query over a spread of days and ranges. */
static void
queries_eq(const struct window *a, const struct window *b)
{
	const struct win_note		*na, *nb;
	const struct win_contact	*ca, *cb;
	unsigned			 ka[WCK__COUNT], kb[WCK__COUNT];
	uint64_t			 ua, ub;
	int64_t				 sa, sb, h, base;
	uint32_t			 ta, tb, xa, xb, id;
	unsigned			 n1, n2;
	int32_t				 from, to, top;
	size_t				 i;

	top = a->last_day != 0 ? a->last_day : T;
	for (from = top - 420; from <= top + 3; from += 1) {
		ck_assert_uint_eq(window_logins_on(a, from),
		    window_logins_on(b, from));
		ck_assert_uint_eq(window_active_users(a, from),
		    window_active_users(b, from));
	}
	base = a->last_hour != 0 ? a->last_hour : (int64_t)top * 24;
	for (h = base - 80; h <= base + 30; h++)
		ck_assert(window_logins_24h(a, h) == window_logins_24h(b, h));
	for (i = 0; i < NELEM(probe_users); i++)
		ck_assert_int_eq(window_user_seen(a, probe_users[i]),
		    window_user_seen(b, probe_users[i]));
	for (i = 0; i < NELEM(probe_names); i++) {
		id = intern_find(probe_names[i], strlen(probe_names[i]));
		ck_assert_int_eq(window_feature_last(a, id),
		    window_feature_last(b, id));
		ca = window_contact(a, id);
		cb = window_contact(b, id);
		ck_assert((ca == NULL) == (cb == NULL));
		if (ca != NULL)
			ck_assert(memcmp(ca, cb, sizeof(*ca)) == 0);
	}
	for (i = 0; i < a->ncontacts; i++) {
		ca = window_contact(a, a->contacts[i].contact);
		cb = window_contact(b, a->contacts[i].contact);
		ck_assert((ca == NULL) == (cb == NULL));
		if (ca != NULL)
			ck_assert(memcmp(ca, cb, sizeof(*ca)) == 0);
	}
	for (from = top - 420; from <= top + 3; from += 11)
		for (to = from - 2; to <= top + 3; to += 13) {
			ck_assert(window_logins(a, from, to) ==
			    window_logins(b, from, to));
			ck_assert_uint_eq(window_touches(a, from, to),
			    window_touches(b, from, to));
			ck_assert_uint_eq(window_tickets_created(a, from, to),
			    window_tickets_created(b, from, to));
			window_sentiment(a, from, to, &sa, &n1);
			window_sentiment(b, from, to, &sb, &n2);
			ck_assert(sa == sb && n1 == n2);
			window_attendance(a, from, to, &ua, &n1);
			window_attendance(b, from, to, &ub, &n2);
			ck_assert(ua == ub && n1 == n2);
			na = window_risk_note(a, from, to, &n1);
			nb = window_risk_note(b, from, to, &n2);
			ck_assert_uint_eq(n1, n2);
			ck_assert((na == NULL) == (nb == NULL));
			if (na != NULL)
				ck_assert(na->day == nb->day &&
				    na->phrase == nb->phrase &&
				    na->cls == nb->cls);
			ck_assert_uint_eq(window_top_team_category(a, from, to,
			    &ta, &xa), window_top_team_category(b, from, to,
			    &tb, &xb));
			ck_assert(ta == tb && xa == xb);
			ck_assert_int_eq(window_intent_ticket(a, from, to),
			    window_intent_ticket(b, from, to));
			ck_assert_uint_eq(window_competitors(a, from, to, ka),
			    window_competitors(b, from, to, kb));
			ck_assert(memcmp(ka, kb, sizeof(ka)) == 0);
			ck_assert_uint_eq(window_contact_turnover(a, from, to,
			    &n1), window_contact_turnover(b, from, to, &n2));
			ck_assert_uint_eq(n1, n2);
		}
}

static uint32_t	fired;		/* signals seen active, bit per sig_id */

static void
results_eq(const struct sig_result *x, const struct sig_result *y, int n)
{
	int	i, j;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(x[i].id, y[i].id);
		ck_assert_int_eq(x[i].severity, y[i].severity);
		ck_assert_int_eq(x[i].weight, y[i].weight);
		ck_assert_str_eq(x[i].explanation, y[i].explanation);
		ck_assert_str_eq(x[i].note, y[i].note);
		ck_assert_int_eq(x[i].nev, y[i].nev);
		for (j = 0; j < x[i].nev; j++) {
			ck_assert_str_eq(x[i].ev[j].name, y[i].ev[j].name);
			ck_assert_int_eq(x[i].ev[j].is_str, y[i].ev[j].is_str);
			if (x[i].ev[j].is_str)
				ck_assert_str_eq(x[i].ev[j].str,
				    y[i].ev[j].str);
			else
				ck_assert(x[i].ev[j].num == y[i].ev[j].num);
		}
		fired |= UINT32_C(1) << x[i].id;
	}
}

/* signal_evaluate on both, for many todays, two configs, with and
 * without coverage, onboarding and seats. */
static void
signals_eq(const struct window *a, const struct window *b)
{
	static struct sig_result	 ra[SIG__COUNT], rb[SIG__COUNT];
	struct sig_account		 sa, sb;
	struct sig_config		 lax;
	uint32_t			 core[3];
	int32_t				 since[SIGCAT__COUNT];
	int32_t				 today, top;
	int				 na, nb, c, pass, i;
	size_t				 k;

	ck_assert_int_eq(signal_config_defaults(&lax), 0);
	/* Looser thresholds make more of the rules fire on one window. */
	for (i = 0; i < SIG__COUNT; i++) {
		size_t		 nth;
		const struct sig_threshold *th = signal_thresholds(i, &nth);

		for (k = 0; k < nth; k++)
			if (th[k].kind == TH_COUNT || th[k].kind == TH_REAL)
				lax.sig[i].threshold[k] = th[k].min;
	}
	core[0] = intern("dashboards", 10);
	core[1] = intern("export", 6);
	core[2] = intern("reports", 7);
	for (c = 0; c < SIGCAT__COUNT; c++)
		since[c] = T - 400;
	top = a->last_day != 0 ? a->last_day : T;
	for (pass = 0; pass < 4; pass++)
		for (today = top + 60; today >= top - 200; today -= 3) {
			memset(&sa, 0, sizeof(sa));
			sa.today = today;
			sa.now_hour = (int64_t)today * 24 + 12;
			sa.seats = pass & 1 ? 200 : -1;
			sa.onboarded_day = pass & 1 ? today - 30 : 0;
			/* "reports" alone is never used */
			sa.core_features = pass & 2 ? core + 2 : core;
			sa.ncore = pass & 2 ? 1 : NELEM(core);
			sa.data_since = pass & 2 ? since : NULL;
			sa.exists_day = pass & 2 ? T - 400 : 0;
			sb = sa;
			sa.w = a;
			sb.w = b;
			na = signal_evaluate(pass & 2 ? &lax : &cfg, &sa, ra);
			nb = signal_evaluate(pass & 2 ? &lax : &cfg, &sb, rb);
			ck_assert_int_eq(na, nb);
			results_eq(ra, rb, na);
		}
	signal_config_free(&lax);
}

/* Encode w, decode into w2, and check them equal every way. */
static size_t
round_trip(const struct snapshot_account *acct)
{
	struct snapshot_account	 back;
	struct cw_error		 err;
	int			 has;

	ck_assert_int_eq(snapshot_encode(&w, acct, &buf, &err), 0);
	window_free(&w2);
	ck_assert_msg(snapshot_decode(buf.p, buf.len, &w2, &back, &has,
	    &err) == 0, "%s: %s", err.code, err.msg);
	ck_assert_int_eq(has, acct != NULL);
	if (acct != NULL)
		ck_assert(memcmp(acct, &back, sizeof(back)) == 0);
	fields_eq(&w, &w2);
	queries_eq(&w, &w2);
	signals_eq(&w, &w2);
	/* One state, one image. */
	ck_assert_int_eq(snapshot_encode(&w2, acct, &buf2, &err), 0);
	ck_assert_uint_eq(buf.len, buf2.len);
	ck_assert(memcmp(buf.p, buf2.p, buf.len) == 0);
	return buf.len;
}

static void
seed(const char *name)
{
	const char	*dir = getenv("SNAPSHOT_SEED_DIR");
	char		 path[512];
	FILE		*f;

	if (dir == NULL || *dir == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert((f = fopen(path, "wb")) != NULL);
	fputc(0x03, f);
	ck_assert_uint_eq(fwrite(buf.p, 1, buf.len, f), buf.len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- round trips ---- */

START_TEST(empty)
{
	struct snapshot_account	a;
	size_t			n;

	n = round_trip(NULL);
	printf("snapshot: empty window: %zu bytes\n", n);
	ck_assert_uint_le(n, 48);
	seed("empty");
	memset(&a, 0, sizeof(a));
	memset(a.scores, ACCOUNT_NO_SCORE, sizeof(a.scores));
	(void)round_trip(&a);
}
END_TEST

START_TEST(typical)
{
	struct snapshot_account	a;
	size_t			n, i;

	build_typical(&w);
	n = round_trip(NULL);
	printf("snapshot: 90 days of logins, 10 users: %zu bytes "
	    "(window in memory %zu bytes)\n", n, window_bytes(&w));
	ck_assert_uint_lt(n, 700);
	seed("typical");

	/* The account fields: score history, since of two active signals. */
	memset(&a, 0, sizeof(a));
	a.first_day = T - 89;
	a.score_day = T;
	for (i = 0; i < ACCOUNT_SCORE_DAYS; i++)
		a.scores[i] = i < 5 ? (uint8_t)(70 + i) : ACCOUNT_NO_SCORE;
	a.active = UINT32_C(1) << SIG_LOGIN_DECLINE |
	    UINT32_C(1) << SIG_NO_TOUCH;
	a.since[SIG_LOGIN_DECLINE] = 1728000000;
	a.since[SIG_NO_TOUCH] = 1727000000;
	/* The evaluation before: no_touch is new, champion_left resolved. */
	a.score = 61;
	a.prev_score = 58;
	a.prev_active = UINT32_C(1) << SIG_LOGIN_DECLINE |
	    UINT32_C(1) << SIG_CHAMPION_LEFT;
	a.weight[SIG_LOGIN_DECLINE] = 15;
	a.weight[SIG_NO_TOUCH] = 24;
	a.prev_weight[SIG_LOGIN_DECLINE] = 15;
	a.prev_weight[SIG_CHAMPION_LEFT] = 27;
	n = round_trip(&a);
	printf("snapshot: the same with account fields: %zu bytes\n", n);
	seed("typical-account");

	/* A few features, a touchpoint, a ticket: still small. */
	feature(&w, T - 3, "alice", "dashboards");
	feature(&w, T - 1, "bob", "export");
	touch(&w, T - 20, "meeting", 4, 5);
	ticket(&w, EV_TICKET_CREATED, T - 7, "T-1", "billing", "invoice",
	    "refund", 30);
	n = round_trip(&a);
	printf("snapshot: plus 2 features, a meeting, a ticket: %zu bytes\n",
	    n);
	ck_assert_uint_lt(n, 1024);
}
END_TEST

START_TEST(maximal)
{
	struct snapshot_account	a;
	size_t			n;
	int			i;

	fired = 0;
	build_maximal(&w);
	ck_assert_uint_gt(w.capcindex, 0);	/* the contact index is on */
	ck_assert_uint_eq(window_logins_on(&w, T - 100), 0xffff);
	memset(&a, 0, sizeof(a));
	a.first_day = T - 400;
	a.score_day = T;
	for (i = 0; i < ACCOUNT_SCORE_DAYS; i++)
		a.scores[i] = (uint8_t)(i * 14);
	a.active = (UINT32_C(1) << SIG__COUNT) - 1;
	for (i = 0; i < SIG__COUNT; i++) {
		a.since[i] = UINT32_MAX - (uint32_t)i;
		a.weight[i] = (uint8_t)(200 + i);
		a.prev_weight[i] = (uint8_t)(255 - i);
	}
	a.score = 100;
	a.prev_score = 0;
	a.prev_active = a.active;
	n = round_trip(&a);
	printf("snapshot: every record kind (%u users, %u tickets, %u "
	    "contacts, %u contact events): %zu bytes (window %zu)\n",
	    w.nusers, w.ntickets, w.ncontacts, w.ncevents, n,
	    window_bytes(&w));
	seed("maximal");
	printf("snapshot: signals seen active in the round trips:");
	for (i = 0; i < SIG__COUNT; i++)
		if (fired & (UINT32_C(1) << i))
			printf(" %s", signal_name(i));
	printf("\n");
	/* Every rule had something to say about this window. */
	ck_assert_uint_eq(fired, (UINT32_C(1) << SIG__COUNT) - 1);

	/* After pruning (stale entries gone), still equal. */
	window_prune(&w, T + 1);
	(void)round_trip(&a);
}
END_TEST

/* The users table just below its growth point, then 200,000 users. */
START_TEST(many_users)
{
	char		u[32];
	uint32_t	i;
	size_t		n;

	for (i = 0; (uint64_t)(w.nusers + 1) * 4 <= (uint64_t)w.capusers * 3 ||
	    w.capusers < 64; i++) {
		snprintf(u, sizeof(u), "u%u", i);
		login(&w, T - (int32_t)(i % 150), 10, u);
	}
	(void)round_trip(NULL);
	for (; i < 200000; i++) {
		snprintf(u, sizeof(u), "u%u", i);
		login(&w, T - (int32_t)(i % 180), 10, u);
	}
	ck_assert_uint_eq(w.nusers, 200000);
	n = round_trip(NULL);
	printf("snapshot: 200,000 users: %zu bytes (%.1f per user; window "
	    "%zu)\n", n, (double)n / 200000, window_bytes(&w));
}
END_TEST

/* A window moved far ahead with nothing in it; hourly only. */
START_TEST(odd_shapes)
{
	ck_assert_int_eq(window_restore_hour(&w, (int64_t)T * 24 + 7, 3), 0);
	(void)round_trip(NULL);
	/* A user gone stale but still in the table: seen, not active. */
	login(&w, T - 300, 1, "old");
	login(&w, T, 1, "new");
	ck_assert(window_user_seen(&w, "old"));
	(void)round_trip(NULL);
	ck_assert(window_user_seen(&w2, "old"));
	ck_assert_uint_eq(window_active_users(&w2, 0), 1);
	login(&w, 1, 0, "first-day");		/* day 1, the smallest */
	(void)round_trip(NULL);
	window_prune(&w, SNAPSHOT_DAY_MAX);
	(void)round_trip(NULL);
}
END_TEST

/*
 * As in a new process: the intern table emptied and refilled in another
 * order, so every id differs.  The strings travel, so the answers hold.
 */
START_TEST(new_process)
{
	struct cw_error			 err;
	const struct win_contact	*c;
	uint32_t			 team, cat, id;
	unsigned			 n;
	int32_t				 top = T;
	int				 ghost;

	build_maximal(&w);
	ck_assert_int_eq(snapshot_encode(&w, NULL, &buf, &err), 0);
	n = window_top_team_category(&w, top - 180, top, &team, &cat);
	ck_assert_uint_gt(n, 0);
	ghost = window_user_seen(&w, "ghost");
	window_free(&w);
	intern_purge();
	ck_assert_uint_ne(intern("c-champ-not", 11), 0);
	ck_assert_uint_ne(intern("zz", 2), 0);
	ck_assert_int_eq(snapshot_decode(buf.p, buf.len, &w2, NULL, NULL,
	    &err), 0);
	ck_assert_uint_eq(window_top_team_category(&w2, top - 180, top, &team,
	    &cat), n);
	ck_assert_str_eq(intern_str(team), "billing");
	ck_assert_str_eq(intern_str(cat), "invoice");
	id = intern_find("c-new-ceo", 9);
	ck_assert_ptr_nonnull(c = window_contact(&w2, id));
	ck_assert_str_eq(intern_str(c->title), "CEO");
	ck_assert_int_eq(window_feature_last(&w2, intern_find("legacy-report",
	    13)), 0);			/* stale: kept, but out of the window */
	ck_assert_int_eq(window_feature_last(&w2, intern_find("export", 6)) +
	    window_feature_last(&w2, intern_find("dashboards", 10)) > 0, 1);
	ck_assert_int_eq(window_user_seen(&w2, "ghost"), ghost);
	ck_assert(window_user_seen(&w2, "alice"));
	ck_assert(!window_user_seen(&w2, "nobody"));
}
END_TEST

/* ---- refusals ---- */

static void
refused(const void *p, size_t len, const char *code)
{
	struct cw_error	err;

	memset(&err, 0, sizeof(err));
	window_free(&w2);
	ck_assert_int_eq(snapshot_decode(p, len, &w2, NULL, NULL, &err), -1);
	ck_assert_msg(err.msg[0] != '\0', "no message");
	if (code != NULL)
		ck_assert_msg(strcmp(err.code, code) == 0, "len %zu: %s, not "
		    "%s (%s)", len, err.code, code, err.msg);
	ck_assert_int_eq(w2.last_day, 0);
	ck_assert_ptr_null(w2.tickets);
}

/* Put a valid length and CRC back into an edited image. */
static void
reseal(unsigned char *p, size_t len)
{
	uint32_t	crc, plen = (uint32_t)(len - SNAPSHOT_HEADER_LEN);
	int		i;

	for (i = 0; i < 4; i++)
		p[8 + i] = (unsigned char)(plen >> (8 * i));
	crc = util_crc32c(util_crc32c(0, p, 12), p + 16, len - 16);
	for (i = 0; i < 4; i++)
		p[12 + i] = (unsigned char)(crc >> (8 * i));
}

START_TEST(truncated)
{
	struct cw_error	err;
	size_t		n;
	unsigned char	*copy;

	build_typical(&w);
	ticket(&w, EV_TICKET_CREATED, T - 7, "T-1", "billing", "invoice",
	    "refund", 30);
	contact(&w, EV_CONTACT_JOINED, T - 3, "c-1", "CTO", NULL, 1, NULL);
	ck_assert_int_eq(snapshot_encode(&w, NULL, &buf, &err), 0);
	for (n = 0; n < buf.len; n++) {
		/* An exact-size copy: a read past it is a sanitizer report. */
		copy = malloc(n + 1);
		memcpy(copy, buf.p, n);
		refused(copy, n, "snapshot_truncated");
		free(copy);
	}
	/* Resealed at every length: malformed, never a crash. */
	copy = malloc(buf.len);
	for (n = SNAPSHOT_HEADER_LEN; n < buf.len; n++) {
		memcpy(copy, buf.p, n);
		reseal(copy, n);
		refused(copy, n, "snapshot_invalid");
	}
	free(copy);
}
END_TEST

START_TEST(bit_flips)
{
	struct cw_error	 err;
	unsigned char	*copy;
	size_t		 i;
	int		 b;

	build_maximal(&w);
	ck_assert_int_eq(snapshot_encode(&w, NULL, &buf, &err), 0);
	copy = malloc(buf.len);
	for (i = 0; i < buf.len; i++)
		for (b = 0; b < 8; b++) {
			memcpy(copy, buf.p, buf.len);
			copy[i] ^= (unsigned char)(1u << b);
			/* Header fields say what they are; the rest is the
			 * CRC's (and any single flip is caught by it). */
			refused(copy, buf.len, i >= 12 ? "snapshot_crc" : NULL);
		}
	free(copy);
}
END_TEST

START_TEST(versions)
{
	struct cw_error	 err;
	unsigned char	*copy;

	build_typical(&w);
	ck_assert_int_eq(snapshot_encode(&w, NULL, &buf, &err), 0);
	copy = malloc(buf.len + 8);
	memcpy(copy, buf.p, buf.len);
	copy[4] = SNAPSHOT_VERSION + 1;
	refused(copy, buf.len, "snapshot_version");
	reseal(copy, buf.len);
	refused(copy, buf.len, "snapshot_version");
	copy[4] = 0xff;
	copy[5] = 0xff;
	refused(copy, 8, "snapshot_version");	/* before any length check */
	copy[4] = 0;
	copy[5] = 0;
	reseal(copy, buf.len);
	refused(copy, buf.len, "snapshot_invalid");

	/* Unknown flags, trailing bytes, bad magic. */
	memcpy(copy, buf.p, buf.len);
	copy[7] = 0x80;
	reseal(copy, buf.len);
	refused(copy, buf.len, "snapshot_invalid");
	memcpy(copy, buf.p, buf.len);
	copy[buf.len] = 0;
	refused(copy, buf.len + 1, "snapshot_invalid");
	memcpy(copy, buf.p, buf.len);
	copy[0] = 'X';
	refused(copy, buf.len, "snapshot_invalid");
	free(copy);
}
END_TEST

START_TEST(other_key)
{
	static const unsigned char other[16] = "another hash key";
	struct cw_error	err;

	build_typical(&w);
	ck_assert_int_eq(snapshot_encode(&w, NULL, &buf, &err), 0);
	util_hash_id_set_key(other);
	refused(buf.p, buf.len, "snapshot_hash_key");
	util_hash_id_set_key(test_key);
	ck_assert_int_eq(snapshot_decode(buf.p, buf.len, &w2, NULL, NULL,
	    &err), 0);
}
END_TEST

/*
 * Resealed random edits of a valid image: refused as malformed, or
 * decoded into a window that encodes and decodes to the same image.
 */
START_TEST(mutations)
{
	struct cw_error	 err;
	unsigned char	*orig, *copy;
	size_t		 len, olen;
	int		 i, j, ok = 0;

	build_maximal(&w);
	ck_assert_int_eq(snapshot_encode(&w, NULL, &buf, &err), 0);
	olen = buf.len;
	orig = malloc(olen);
	copy = malloc(olen);
	memcpy(orig, buf.p, olen);
	for (i = 0; i < 20000; i++) {
		memcpy(copy, orig, olen);
		len = olen;
		for (j = 0; j <= (int)rnd(3); j++)
			copy[SNAPSHOT_HEADER_LEN + rnd((uint32_t)(len -
			    SNAPSHOT_HEADER_LEN))] = (unsigned char)rnd(256);
		if (rnd(4) == 0)
			len -= rnd(8);
		reseal(copy, len);
		window_free(&w2);
		if (snapshot_decode(copy, len, &w2, NULL, NULL, &err) != 0) {
			ck_assert_str_eq(err.code, "snapshot_invalid");
			continue;
		}
		ok++;
		ck_assert_int_eq(snapshot_encode(&w2, NULL, &buf2, &err), 0);
		window_free(&w);
		ck_assert_int_eq(snapshot_decode(buf2.p, buf2.len, &w, NULL,
		    NULL, &err), 0);
		fields_eq(&w, &w2);
	}
	printf("snapshot: %d of 20000 resealed mutations decoded "
	    "(and re-encoded equal)\n", ok);
	free(orig);
	free(copy);
}
END_TEST

static Suite *
snapshot_suite(void)
{
	Suite	*s = suite_create("snapshot");
	TCase	*tc;

	tc = tcase_create("round trips");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, typical);
	tcase_add_test(tc, maximal);
	tcase_add_test(tc, many_users);
	tcase_add_test(tc, odd_shapes);
	tcase_add_test(tc, new_process);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, bit_flips);
	tcase_add_test(tc, versions);
	tcase_add_test(tc, other_key);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* Before any hash: user and ticket keys must match the seeds'. */
	util_hash_set_key(test_key);
	util_hash_id_set_key(test_key);
	sr = srunner_create(snapshot_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
