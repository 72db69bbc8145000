/*
 * check_account.c -- unit tests for account.c: the table, metadata
 * merging, and the evaluation state (since, previous score, daily score
 * history).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "alert.h"
#include "event.h"
#include "skiplist.h"
#include "intern.h"
#include "util.h"

#define T0	(INT64_C(1795176000) * CW_USEC_PER_SEC)	/* 2026-11-20 */

START_TEST(test_table_find_get_grow)
{
	struct account_table *t = account_table_new();
	struct account *a, *b;
	char id[32];
	int i;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(account_find(t, "acme"));
	a = account_get(t, "acme");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->id, "acme");
	ck_assert_int_eq(a->seats, -1);
	ck_assert_ptr_eq(account_get(t, "acme"), a);
	ck_assert_ptr_eq(account_find(t, "acme"), a);
	/* Past several rehashes every account is still found. */
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "a-%d", i);
		ck_assert_ptr_nonnull(account_get(t, id));
	}
	ck_assert_uint_eq(t->count, 5001);
	for (i = 0; i < 5000; i += 499) {
		snprintf(id, sizeof(id), "a-%d", i);
		b = account_find(t, id);
		ck_assert_ptr_nonnull(b);
		ck_assert_str_eq(b->id, id);
	}
	ck_assert_ptr_eq(account_find(t, "acme"), a);
	ck_assert_ptr_null(account_find(t, "a-5000"));
	account_table_free(t);
	account_table_free(NULL);
}
END_TEST

START_TEST(test_meta_merge)
{
	struct account_table *t = account_table_new();
	struct account *a = account_get(t, "acme");

	ck_assert_int_eq(account_meta_apply(a, "{\"name\":\"Acme\","
	    "\"seats\":300,\"owner\":\"alice\",\"onboarded_at\":"
	    "\"2026-11-20T00:00:00.000000Z\",\"core_features\":[\"reports\","
	    "\"api\"]}"), 0);
	ck_assert_str_eq(a->name, "Acme");
	ck_assert_int_eq(a->seats, 300);
	ck_assert_str_eq(a->owner, "alice");
	ck_assert(a->onboarded_at == T0 - 12 * 3600 * CW_USEC_PER_SEC ||
	    a->onboarded_at != 0);
	ck_assert_uint_eq(a->ncore, 2);
	ck_assert_str_eq(intern_str(account_core(a)[0]), "reports");
	/* Absent keys keep their value; null clears. */
	ck_assert_int_eq(account_meta_apply(a, "{\"owner\":null,"
	    "\"seats\":12}"), 0);
	ck_assert_str_eq(a->name, "Acme");
	ck_assert_ptr_null(a->owner);
	ck_assert_int_eq(a->seats, 12);
	ck_assert_uint_eq(a->ncore, 2);
	ck_assert_int_eq(account_meta_apply(a, "{\"core_features\":null}"), 0);
	ck_assert_uint_eq(a->ncore, 0);
	/* Malformed: refused, nothing changed. */
	ck_assert_int_eq(account_meta_apply(a, "{\"name\":"), -1);
	ck_assert_int_eq(account_meta_apply(a, "[1]"), -1);
	ck_assert_str_eq(a->name, "Acme");
	account_table_free(t);
	intern_purge();
}
END_TEST

/* The loader's setter and the API's merge share one string allocation. */
START_TEST(test_meta_set_then_merge)
{
	struct account_table *t = account_table_new();
	struct account *a = account_get(t, "acme");
	const char *core[] = { "reports", "api", "export" };
	size_t len[] = { 7, 3, 6 };
	struct account_meta m = { "Acme", "growth", NULL, "alice", "#acme",
	    40, 0, 0, core, len, 3 };

	ck_assert_int_eq(account_meta_set(a, &m), 0);
	ck_assert_str_eq(a->plan, "growth");
	ck_assert_ptr_null(a->segment);
	ck_assert_str_eq(a->slack_channel, "#acme");
	ck_assert_uint_eq(a->ncore, 3);
	ck_assert_str_eq(intern_str(account_core(a)[2]), "export");
	ck_assert_int_eq(account_meta_apply(a, "{\"plan\":\"enterprise\","
	    "\"segment\":\"smb\",\"slack_channel\":null}"), 0);
	ck_assert_str_eq(a->name, "Acme");
	ck_assert_str_eq(a->plan, "enterprise");
	ck_assert_str_eq(a->segment, "smb");
	ck_assert_str_eq(a->owner, "alice");
	ck_assert_ptr_null(a->slack_channel);
	/* Back through the setter, with the merged values as its input. */
	m.name = a->name;
	m.plan = a->plan;
	m.segment = a->segment;
	m.owner = NULL;
	m.slack_channel = NULL;
	m.ncore = 0;
	ck_assert_int_eq(account_meta_set(a, &m), 0);
	ck_assert_str_eq(a->name, "Acme");
	ck_assert_str_eq(a->plan, "enterprise");
	ck_assert_str_eq(a->segment, "smb");
	ck_assert_ptr_null(a->owner);
	ck_assert_uint_eq(a->ncore, 0);
	ck_assert_int_eq(account_meta_apply(a, "{\"name\":null,"
	    "\"plan\":null,\"segment\":null}"), 0);
	ck_assert_ptr_null(a->name);
	ck_assert_ptr_null(a->meta);
	account_table_free(t);
	intern_purge();
}
END_TEST

static void
login(struct account *a, int64_t ts)
{
	struct cw_event ev;
	struct win_rules rules = { NULL, NULL, NULL };

	memset(&ev, 0, sizeof(ev));
	ev.id = (char *)"e";
	ev.account_id = a->id;
	ev.type = EV_LOGIN;
	ev.ts = ts;
	ev.user_id = (char *)"u1";
	ev.props = (char *)"{}";
	ev.p.is_champion = -1;
	ck_assert_int_eq(window_apply(&a->w, &ev, &rules), 0);
}

START_TEST(test_evaluate_since_and_prev)
{
	struct account_table *t = account_table_new();
	struct account *a = account_get(t, "acme");
	struct sig_result out[SIG__COUNT];
	struct sig_config cfg;
	int changed, n, i, d;
	uint32_t since;

	ck_assert_int_eq(signal_config_defaults(&cfg), 0);
	/* Logins every day from 100 to 20 days ago, then none. */
	for (d = 100; d >= 20; d--)
		login(a, T0 - (int64_t)d * CW_USEC_PER_DAY);
	n = account_evaluate(a, &cfg, NULL, T0, out, &changed);
	ck_assert(changed);
	ck_assert_uint_eq(a->active & (1u << SIG_LOGIN_ABSENT),
	    1u << SIG_LOGIN_ABSENT);
	ck_assert_int_eq(a->score, score_compute(out, (size_t)n));
	ck_assert_int_eq(a->prev_score, 100);
	since = account_since(a, SIG_LOGIN_ABSENT);
	ck_assert_uint_eq(since, (uint32_t)(T0 / CW_USEC_PER_SEC));

	/* An hour later nothing changed: since is kept. */
	account_evaluate(a, &cfg, NULL, T0 + 3600 * CW_USEC_PER_SEC, out,
	    &changed);
	ck_assert(!changed);
	ck_assert_uint_eq(account_since(a, SIG_LOGIN_ABSENT), since);

	/* A login today resolves login_absent: the previous state is kept
	 * for the decomposition. */
	login(a, T0 + 7200 * CW_USEC_PER_SEC);
	n = account_evaluate(a, &cfg, NULL, T0 + 7200 * CW_USEC_PER_SEC, out,
	    &changed);
	ck_assert(changed);
	for (i = 0; i < n; i++)
		ck_assert_int_ne(out[i].id, SIG_LOGIN_ABSENT);
	ck_assert_uint_eq(a->prev_active & (1u << SIG_LOGIN_ABSENT),
	    1u << SIG_LOGIN_ABSENT);
	{
		struct score_item prev[SIG__COUNT];
		size_t np = account_prev_items(a, prev), j, found = 0;

		for (j = 0; j < np; j++)
			if (prev[j].id == SIG_LOGIN_ABSENT) {
				found = 1;
				ck_assert_int_eq(prev[j].weight, 30);
			}
		ck_assert(found);
	}
	account_table_free(t);
	signal_config_free(&cfg);
	intern_purge();
}
END_TEST

START_TEST(test_score_history)
{
	struct account_table *t = account_table_new();
	struct account *a = account_get(t, "acme");
	struct sig_result out[SIG__COUNT];
	struct sig_config cfg;
	int32_t today = window_day(T0);
	int changed;

	ck_assert_int_eq(signal_config_defaults(&cfg), 0);
	ck_assert_int_eq(account_score_on(a, today), -1);
	account_score_restore(a, today - 7, 90);
	account_score_restore(a, today - 1, 80);
	ck_assert_int_eq(account_score_on(a, today - 7), 90);
	ck_assert_int_eq(account_score_on(a, today - 1), 80);
	ck_assert_int_eq(account_score_on(a, today - 8), -1);
	account_evaluate(a, &cfg, NULL, T0, out, &changed);
	ck_assert_int_eq(account_score_on(a, today), a->score);
	ck_assert_int_eq(account_score_on(a, today - 7), 90);
	ck_assert(a->score_dirty);
	/* A day later the history shifts by one: 8 days are kept, so the
	 * score of today - 7 is gone and today - 1 is still there. */
	a->score_dirty = 0;
	account_evaluate(a, &cfg, NULL, T0 + CW_USEC_PER_DAY, out, &changed);
	ck_assert_int_eq(account_score_on(a, today - 7), -1);
	ck_assert_int_eq(account_score_on(a, today - 1), 80);
	ck_assert_int_eq(account_score_on(a, today + 1), a->score);
	ck_assert(a->score_dirty);
	/* Eight days on, only the new day is known. */
	account_evaluate(a, &cfg, NULL, T0 + 9 * CW_USEC_PER_DAY, out, &changed);
	ck_assert_int_eq(account_score_on(a, today - 1), -1);
	ck_assert_int_eq(account_score_on(a, today + 1), -1);
	ck_assert_int_eq(account_score_on(a, today + 9), a->score);
	account_table_free(t);
	signal_config_free(&cfg);
	intern_purge();
}
END_TEST

/* The risk list's orders stay sorted through score changes. */
START_TEST(test_renewal_days)
{
	struct account a;
	int64_t day = 86400 * INT64_C(1000000), now = 1767225600 * INT64_C(1000000);

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(account_renewal_days(&a, 90 * day, now), -1);
	a.renewal_at = now + 34 * day;
	ck_assert_int_eq(account_renewal_days(&a, 90 * day, now), 34);
	a.renewal_at = now + 34 * day - 1;	/* rounded up */
	ck_assert_int_eq(account_renewal_days(&a, 90 * day, now), 34);
	a.renewal_at = now + 90 * day;		/* at the window's edge */
	ck_assert_int_eq(account_renewal_days(&a, 90 * day, now), 90);
	a.renewal_at = now + 90 * day + 1;
	ck_assert_int_eq(account_renewal_days(&a, 90 * day, now), -1);
	a.renewal_at = now - 1;			/* past */
	ck_assert_int_eq(account_renewal_days(&a, 90 * day, now), -1);
	a.renewal_at = now + day;
	ck_assert_int_eq(account_renewal_days(&a, 0, now), -1);
}
END_TEST

/* The three orders walk strictly increasing, with n items each. */
static void
orders_ok(struct account_table *t, size_t want)
{
	int (*cmp[3])(const void *, const void *) = { account_rank_cmp,
	    account_id_cmp, account_renewal_cmp };
	struct skiplist *sl[3] = { t->by_score, t->by_id, t->by_renewal };
	struct skiplist_node *n;
	const void *prev;
	size_t k;
	int o;

	for (o = 0; o < 3; o++) {
		ck_assert_uint_eq(skiplist_count(sl[o]), want);
		prev = NULL;
		k = 0;
		for (n = skiplist_first(sl[o]); n != NULL;
		    n = skiplist_next(n), k++) {
			if (prev != NULL)
				ck_assert_int_lt(cmp[o](prev, skiplist_item(n)),
				    0);
			prev = skiplist_item(n);
		}
		ck_assert_uint_eq(k, want);
	}
}

START_TEST(test_rank_all)
{
	struct account_table *t = account_table_new();
	struct account **v;
	uint32_t x = 11;
	char id[32];
	size_t i, n = 0;

	v = calloc(4000, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	/* Some ranked one by one first, as a replayed account is. */
	for (i = 0; i < 4000; i++) {
		snprintf(id, sizeof(id), "acct-%05zu", i);
		v[i] = account_get(t, id);
		x = x * 1103515245u + 12345u;
		v[i]->evaluated = i % 13 != 0;
		v[i]->score = (uint8_t)((x >> 16) % 101);
		v[i]->renewal_at = i % 3 == 0 ? 0 :
		    (int64_t)((x >> 8) % 50) * CW_USEC_PER_DAY;
		if (i % 7 == 0 && v[i]->evaluated) {
			ck_assert_int_eq(account_table_rank(t, v[i]), 0);
			n++;
		}
	}
	/* In id order, then in a shuffled order: both give the orders. */
	ck_assert_int_eq(account_table_rank_all(t, v, 2000), 0);
	for (i = 2000; i < 4000; i++) {
		size_t j = 2000 + (i * 7919) % 2000;
		struct account *tmp = v[i];

		v[i] = v[j];
		v[j] = tmp;
	}
	ck_assert_int_eq(account_table_rank_all(t, v + 2000, 2000), 0);
	for (i = 0; i < 4000; i++) {
		snprintf(id, sizeof(id), "acct-%05zu", i);
		if (account_find(t, id)->evaluated)
			n += account_find(t, id)->by_id != NULL &&
			    i % 7 != 0;
	}
	orders_ok(t, n);
	free(v);
	account_table_free(t);
}
END_TEST

START_TEST(test_rank_orders)
{
	struct account_table *t = account_table_new();
	struct skiplist_node *n;
	struct account *a, *prev, probe;
	uint32_t x = 7;
	char id[32];
	int i, round;
	size_t k;

	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "acct-%05d", (i * 7919) % 3000);
		a = account_get(t, id);
		if (i % 10 == 0)
			continue;	/* never evaluated: not ranked */
		a->evaluated = 1;
		ck_assert_int_eq(account_table_rank(t, a), 0);
	}
	ck_assert_uint_eq(skiplist_count(t->by_id), 2700);
	for (round = 0; round < 5; round++) {
		for (k = 0; k < t->count; k++) {
			a = t->all[k];
			x = x * 1103515245u + 12345u;
			a->score = (uint8_t)((x >> 16) % 101);
			ck_assert_int_eq(account_table_rank(t, a), 0);
		}
		ck_assert_uint_eq(skiplist_count(t->by_score), 2700);
		prev = NULL;
		k = 0;
		for (n = skiplist_first(t->by_score); n != NULL;
		    n = skiplist_next(n), k++) {
			a = skiplist_item(n);
			ck_assert(a->evaluated);
			ck_assert_int_eq(a->ranked_score, a->score);
			if (prev != NULL)
				ck_assert_int_lt(account_rank_cmp(prev, a), 0);
			prev = a;
		}
		ck_assert_uint_eq(k, 2700);
	}
	prev = NULL;
	for (n = skiplist_first(t->by_id); n != NULL; n = skiplist_next(n)) {
		a = skiplist_item(n);
		if (prev != NULL)
			ck_assert_int_lt(strcmp(prev->id, a->id), 0);
		prev = a;
	}
	/* Seeking: the first after a probe key. */
	memset(&probe, 0, sizeof(probe));
	probe.ranked_score = 50;
	probe.id = (char *)"";
	n = skiplist_after(t->by_score, &probe);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_ge(((struct account *)skiplist_item(n))->score, 50);
	probe.id = (char *)"acct-01500";
	n = skiplist_after(t->by_id, &probe);
	ck_assert_str_eq(((struct account *)skiplist_item(n))->id,
	    "acct-01501");
	probe.id = (char *)"zzz";
	ck_assert_ptr_null(skiplist_after(t->by_id, &probe));
	account_table_free(t);
}
END_TEST

/* ---- the alert lifecycle (account_alerts_step) ---- */

#define H	(3600 * CW_USEC_PER_SEC)
#define S0	((int64_t)20000 * CW_USEC_PER_DAY)

struct step_log {
	int		 n;
	uint64_t	 next_id;
	int		 fail;		/* changed() returns -1 */
	enum alert_event ev[16];
	int		 signal[16];
	uint64_t	 id[16];
	int		 state[16];
};

static uint64_t
log_new_id(void *arg, int64_t now)
{
	struct step_log *l = arg;

	return ++l->next_id;
}

static int
log_changed(void *arg, struct account *a, struct alert *t,
    enum alert_event ev, const struct sig_result *r, const char *expl)
{
	struct step_log *l = arg;

	ck_assert_int_lt(l->n, 16);
	ck_assert_ptr_nonnull(expl);
	l->ev[l->n] = ev;
	l->signal[l->n] = t->signal;
	l->id[l->n] = t->id;
	l->state[l->n] = t->state;
	l->n++;
	return l->fail ? -1 : 0;
}

/* Step a with churn_intent active (at sev) or not, health green. */
static int
step(struct account *a, const struct alert_policy *p, int active,
    enum sig_severity sev, int64_t now, struct step_log *l)
{
	struct account_alert_ops ops = { log_new_id, log_changed, l };
	struct sig_result out[1];

	memset(out, 0, sizeof(out));
	out[0].id = SIG_CHURN_INTENT;
	out[0].severity = sev;
	snprintf(out[0].explanation, sizeof(out[0].explanation), "intent");
	l->n = 0;
	return account_alerts_step(a, p, out, active ? 1 : 0, now, &ops);
}

START_TEST(test_alerts_step)
{
	struct account_table *t = account_table_new();
	struct account *a = account_get(t, "acme");
	struct alert_policy p = { H, 7 * 24 * H, H, 60 * CW_USEC_PER_SEC,
	    90 * 24 * H };
	struct step_log l;
	struct alert *al;

	memset(&l, 0, sizeof(l));
	a->score = 100;				/* green: no health alert */
	/* Nothing active, nothing open: nothing happens. */
	ck_assert_int_eq(step(a, &p, 0, SEV_CRITICAL, S0, &l), 0);
	ck_assert_int_eq(l.n, 0);
	/* Fire: a new alert with the id new_id gave. */
	ck_assert_int_eq(step(a, &p, 1, SEV_WARNING, S0, &l), 1);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(l.ev[0], AE_FIRE);
	ck_assert_int_eq(l.signal[0], SIG_CHURN_INTENT);
	ck_assert_uint_eq(l.id[0], 1);
	ck_assert_ptr_nonnull(al = account_alert(a, SIG_CHURN_INTENT));
	ck_assert_int_eq(al->state, ALERT_FIRING);
	ck_assert_int_eq(al->started_at, S0);
	/* Still active: nothing until repeat_interval, then a repeat. */
	ck_assert_int_eq(step(a, &p, 1, SEV_WARNING, S0 + 24 * H, &l), 0);
	ck_assert_int_eq(step(a, &p, 1, SEV_WARNING, S0 + 7 * 24 * H, &l),
	    1);
	ck_assert_int_eq(l.ev[0], AE_REPEAT);
	ck_assert_uint_eq(l.id[0], 1);
	/* A higher severity escalates the same alert. */
	ck_assert_int_eq(step(a, &p, 1, SEV_CRITICAL, S0 + 8 * 24 * H, &l),
	    1);
	ck_assert_int_eq(l.ev[0], AE_ESCALATE);
	/* Acknowledged: no repeat after repeat_interval. */
	account_alert(a, SIG_CHURN_INTENT)->acked_at = S0 + 8 * 24 * H;
	ck_assert_int_eq(step(a, &p, 1, SEV_CRITICAL, S0 + 20 * 24 * H, &l),
	    0);
	ck_assert_int_eq(l.n, 0);

	/* Inactive: resolving, a silent change; still open. */
	ck_assert_int_eq(step(a, &p, 0, SEV_INFO, S0 + 21 * 24 * H, &l), 1);
	ck_assert_int_eq(l.ev[0], AE_NONE);
	ck_assert_int_eq(l.state[0], ALERT_RESOLVING);
	ck_assert_ptr_nonnull(account_alert(a, SIG_CHURN_INTENT));
	/* Active again within resolve_after: the same alert fires on, no
	 * new FIRE, no new id. */
	ck_assert_int_eq(step(a, &p, 1, SEV_CRITICAL,
	    S0 + 21 * 24 * H + H / 2, &l), 1);
	ck_assert_int_eq(l.ev[0], AE_NONE);
	ck_assert_int_eq(l.state[0], ALERT_FIRING);
	ck_assert_uint_eq(l.id[0], 1);
	ck_assert_uint_eq(l.next_id, 1);
	/* Inactive again: not resolved before resolve_after ... */
	ck_assert_int_eq(step(a, &p, 0, SEV_INFO, S0 + 22 * 24 * H, &l), 1);
	ck_assert_int_eq(step(a, &p, 0, SEV_INFO,
	    S0 + 22 * 24 * H + H - 1, &l), 0);
	ck_assert_ptr_nonnull(account_alert(a, SIG_CHURN_INTENT));
	/* ... resolved at resolve_after, and removed from the account. */
	ck_assert_int_eq(step(a, &p, 0, SEV_INFO, S0 + 22 * 24 * H + H, &l),
	    1);
	ck_assert_int_eq(l.ev[0], AE_RESOLVE);
	ck_assert_int_eq(l.state[0], ALERT_RESOLVED);
	ck_assert_ptr_null(account_alert(a, SIG_CHURN_INTENT));
	/* Active after that: a new alert, a new id. */
	ck_assert_int_eq(step(a, &p, 1, SEV_WARNING, S0 + 23 * 24 * H, &l),
	    1);
	ck_assert_int_eq(l.ev[0], AE_FIRE);
	ck_assert_uint_eq(l.id[0], 2);

	/* Health: not green is health_degraded, critical when red. */
	a->score = 0;
	ck_assert_int_eq(step(a, &p, 1, SEV_WARNING, S0 + 24 * 24 * H, &l),
	    1);
	ck_assert_int_eq(l.ev[0], AE_FIRE);
	ck_assert_int_eq(l.signal[0], ALERT_HEALTH_DEGRADED);
	ck_assert_ptr_nonnull(al = account_alert(a, ALERT_HEALTH_DEGRADED));
	ck_assert_int_eq(al->severity, SEV_CRITICAL);

	/* changed() refusing: the resolved alert stays until it takes it. */
	a->score = 100;
	l.fail = 1;
	step(a, &p, 1, SEV_WARNING, S0 + 25 * 24 * H, &l);
	ck_assert_int_eq(step(a, &p, 1, SEV_WARNING, S0 + 26 * 24 * H, &l),
	    1);
	ck_assert_int_eq(l.ev[0], AE_RESOLVE);
	ck_assert_ptr_nonnull(account_alert(a, ALERT_HEALTH_DEGRADED));
	account_table_free(t);
}
END_TEST

START_TEST(test_data_since_and_class)
{
	int32_t heard[SIGCAT__COUNT], cov[SIGCAT__COUNT], out[SIGCAT__COUNT];

	ck_assert_int_eq(account_event_class(EV_LOGIN), SIGCAT_USAGE);
	ck_assert_int_eq(account_event_class(EV_FEATURE_USED), SIGCAT_USAGE);
	ck_assert_int_eq(account_event_class(EV_TICKET_CREATED),
	    SIGCAT_SUPPORT);
	ck_assert_int_eq(account_event_class(EV_CONTACT_LEFT), SIGCAT_ORG);
	ck_assert_int_eq(account_event_class(EV_COMPETITOR_SIGNAL),
	    SIGCAT_COMPETITOR);
	ck_assert_int_eq(account_event_class(EV_NOTE), SIGCAT_ENGAGEMENT);
	ck_assert_int_eq(account_event_class(EV_TOUCHPOINT),
	    SIGCAT_ENGAGEMENT);
	/* Outcomes and out-of-range types are of no class. */
	ck_assert_int_eq(account_event_class(EV_ACCOUNT_CHURNED), -1);
	ck_assert_int_eq(account_event_class(EV_ACCOUNT_RENEWED), -1);
	ck_assert_int_eq(account_event_class(EV__COUNT), -1);
	ck_assert_int_eq(account_event_class(-1), -1);

	memset(heard, 0, sizeof(heard));
	memset(cov, 0, sizeof(cov));
	heard[SIGCAT_USAGE] = 100;		/* heard only */
	cov[SIGCAT_SUPPORT] = 50;		/* configured only */
	heard[SIGCAT_ORG] = 80;			/* both: the earlier */
	cov[SIGCAT_ORG] = 90;
	heard[SIGCAT_ENGAGEMENT] = 95;
	cov[SIGCAT_ENGAGEMENT] = 70;
	account_data_since(heard, cov, out);
	ck_assert_int_eq(out[SIGCAT_USAGE], 100);
	ck_assert_int_eq(out[SIGCAT_SUPPORT], 50);
	ck_assert_int_eq(out[SIGCAT_ORG], 80);
	ck_assert_int_eq(out[SIGCAT_ENGAGEMENT], 70);
	ck_assert_int_eq(out[SIGCAT_COMPETITOR], 0);	/* none */
}
END_TEST

static Suite *
account_suite(void)
{
	Suite *s = suite_create("account");
	TCase *tc = tcase_create("account");

	tcase_add_test(tc, test_table_find_get_grow);
	tcase_add_test(tc, test_meta_merge);
	tcase_add_test(tc, test_meta_set_then_merge);
	tcase_add_test(tc, test_evaluate_since_and_prev);
	tcase_add_test(tc, test_score_history);
	tcase_add_test(tc, test_rank_orders);
	tcase_add_test(tc, test_rank_all);
	tcase_add_test(tc, test_renewal_days);
	tcase_add_test(tc, test_alerts_step);
	tcase_add_test(tc, test_data_since_and_class);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(account_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
