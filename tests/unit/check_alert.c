/*
 * check_alert.c -- unit tests for alert.c: the state machine step by
 * step and at its time boundaries, names, the fingerprint, route
 * matching and silences.
 *
 * Times are microseconds from an arbitrary T0; the policy is the
 * default one (resolve_after 1 h, repeat_interval 7 d) unless a test
 * says otherwise.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "signal.h"

#define SEC	INT64_C(1000000)
#define HOUR	(3600 * SEC)
#define DAY	(24 * HOUR)
#define T0	(INT64_C(1767225600) * SEC)	/* 2026-01-01T00:00:00Z */

static const struct alert_policy pol = { 1 * HOUR, 7 * DAY, HOUR, 60 * SEC,
    90 * DAY };

/* No alert yet: resolved, all zero. */
static struct alert
none(int signal)
{
	struct alert a;

	memset(&a, 0, sizeof(a));
	a.state = ALERT_RESOLVED;
	a.signal = signal;
	return a;
}

/* An alert that fired at T0 with severity sev, stored as id 7. */
static struct alert
fired(enum sig_severity sev)
{
	struct alert a = none(SIG_LOGIN_ABSENT);

	ck_assert_int_eq(alert_step(&a, &pol, 1, sev, T0), AE_FIRE);
	a.id = 7;
	return a;
}

/* ---- the state machine ---- */

START_TEST(test_quiet)
{
	struct alert a = none(SIG_LOGIN_ABSENT);

	/* Inactive and no alert: nothing, and nothing changes. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_CRITICAL, T0), AE_NONE);
	ck_assert_int_eq(a.state, ALERT_RESOLVED);
	ck_assert(a.started_at == 0 && a.last_notified == 0);
}
END_TEST

START_TEST(test_fire)
{
	struct alert a = none(SIG_LOGIN_ABSENT);

	a.id = 99;		/* a stale id of a resolved alert */
	a.acked_at = T0 - DAY;
	a.resolved_at = T0 - HOUR;
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_WARNING, T0), AE_FIRE);
	ck_assert_int_eq(a.state, ALERT_FIRING);
	ck_assert_int_eq(a.signal, SIG_LOGIN_ABSENT);
	ck_assert_int_eq(a.severity, SEV_WARNING);
	ck_assert_uint_eq(a.id, 0);
	ck_assert(a.started_at == T0);
	ck_assert(a.last_notified == T0);
	ck_assert(a.acked_at == 0);
	ck_assert(a.resolved_at == 0);
	ck_assert(a.inactive_since == 0);

	/* Still active, nothing new: nothing to say. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_WARNING, T0 + DAY),
	    AE_NONE);
	ck_assert_int_eq(a.state, ALERT_FIRING);
}
END_TEST

START_TEST(test_resolving_and_flap)
{
	struct alert a = fired(SEV_CRITICAL);

	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_CRITICAL, T0 + HOUR),
	    AE_NONE);
	ck_assert_int_eq(a.state, ALERT_RESOLVING);
	ck_assert(a.inactive_since == T0 + HOUR);
	/* Inactive on: inactive_since stays where it began. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_CRITICAL,
	    T0 + HOUR + 30 * 60 * SEC), AE_NONE);
	ck_assert(a.inactive_since == T0 + HOUR);

	/* Back within resolve_after: the same alert, no event. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 2 * HOUR - 1), AE_NONE);
	ck_assert_int_eq(a.state, ALERT_FIRING);
	ck_assert_uint_eq(a.id, 7);
	ck_assert(a.started_at == T0);
	ck_assert(a.last_notified == T0);
	ck_assert(a.inactive_since == 0);

	/* A second flap starts the wait again. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_CRITICAL, T0 + 3 * HOUR),
	    AE_NONE);
	ck_assert(a.inactive_since == T0 + 3 * HOUR);
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_CRITICAL,
	    T0 + 4 * HOUR - 1), AE_NONE);
	ck_assert_int_eq(a.state, ALERT_RESOLVING);
}
END_TEST

START_TEST(test_resolve_boundary)
{
	struct alert a = fired(SEV_WARNING);
	int64_t off = T0 + DAY;

	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, off), AE_NONE);
	/* 1 us before resolve_after: still resolving. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING,
	    off + HOUR - 1), AE_NONE);
	ck_assert_int_eq(a.state, ALERT_RESOLVING);
	ck_assert(a.resolved_at == 0);
	/* Exactly resolve_after: resolved. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, off + HOUR),
	    AE_RESOLVE);
	ck_assert_int_eq(a.state, ALERT_RESOLVED);
	ck_assert(a.resolved_at == off + HOUR);
	ck_assert_uint_eq(a.id, 7);
	/* Once only. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, off + 2 * HOUR),
	    AE_NONE);
	ck_assert_int_eq(a.state, ALERT_RESOLVED);
}
END_TEST

START_TEST(test_resolve_after_zero)
{
	static const struct alert_policy now = { 0, 7 * DAY, HOUR, 60 * SEC,
	    90 * DAY };
	struct alert a = fired(SEV_WARNING);

	ck_assert_int_eq(alert_step(&a, &now, 0, SEV_WARNING, T0 + SEC),
	    AE_RESOLVE);
	ck_assert_int_eq(a.state, ALERT_RESOLVED);
	ck_assert(a.resolved_at == T0 + SEC);
}
END_TEST

START_TEST(test_refire_after_resolved)
{
	struct alert a = fired(SEV_WARNING);

	a.acked_at = T0 + SEC;
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, T0 + DAY),
	    AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, T0 + DAY + HOUR),
	    AE_RESOLVE);
	/* Fires again after resolving: a new alert. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_INFO,
	    T0 + DAY + HOUR + 1), AE_FIRE);
	ck_assert_int_eq(a.state, ALERT_FIRING);
	ck_assert_uint_eq(a.id, 0);
	ck_assert(a.started_at == T0 + DAY + HOUR + 1);
	ck_assert(a.last_notified == T0 + DAY + HOUR + 1);
	ck_assert(a.acked_at == 0);
	ck_assert(a.resolved_at == 0);
	ck_assert_int_eq(a.severity, SEV_INFO);
}
END_TEST

START_TEST(test_repeat_boundary)
{
	struct alert a = fired(SEV_CRITICAL);

	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 7 * DAY - 1), AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL, T0 + 7 * DAY),
	    AE_REPEAT);
	ck_assert(a.last_notified == T0 + 7 * DAY);
	ck_assert_int_eq(a.state, ALERT_FIRING);
	ck_assert_uint_eq(a.id, 7);
	/* The next one counts from the repeat. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 14 * DAY - 1), AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL, T0 + 14 * DAY),
	    AE_REPEAT);
	/* A late step repeats once, not once per interval missed. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL, T0 + 40 * DAY),
	    AE_REPEAT);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 40 * DAY + 1), AE_NONE);
}
END_TEST

START_TEST(test_no_repeat_when_acked)
{
	struct alert a = fired(SEV_CRITICAL);

	a.acked_at = T0 + HOUR;
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL, T0 + 7 * DAY),
	    AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL, T0 + 70 * DAY),
	    AE_NONE);
	ck_assert(a.last_notified == T0);
	ck_assert(a.acked_at == T0 + HOUR);
}
END_TEST

START_TEST(test_escalate)
{
	struct alert a = fired(SEV_INFO);

	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_WARNING, T0 + HOUR),
	    AE_ESCALATE);
	ck_assert_int_eq(a.severity, SEV_WARNING);
	ck_assert(a.last_notified == T0 + HOUR);
	ck_assert_uint_eq(a.id, 7);
	ck_assert(a.started_at == T0);
	/* The same again: nothing. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_WARNING, T0 + 2 * HOUR),
	    AE_NONE);
	/* Lower: nothing, and the alert keeps its highest severity ... */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_INFO, T0 + 3 * HOUR),
	    AE_NONE);
	ck_assert_int_eq(a.severity, SEV_WARNING);
	/* ... so back up to it is no news either. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_WARNING, T0 + 4 * HOUR),
	    AE_NONE);
	/* Higher still, even when acknowledged. */
	a.acked_at = T0 + 5 * HOUR;
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL, T0 + 6 * HOUR),
	    AE_ESCALATE);
	ck_assert_int_eq(a.severity, SEV_CRITICAL);
	ck_assert(a.acked_at == T0 + 5 * HOUR);
	/* The repeat interval counts from the escalation. */
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 6 * HOUR + 7 * DAY), AE_NONE);	/* acked */
	a.acked_at = 0;
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 6 * HOUR + 7 * DAY - 1), AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 6 * HOUR + 7 * DAY), AE_REPEAT);
}
END_TEST

START_TEST(test_flap_back_due)
{
	struct alert a = fired(SEV_WARNING);

	/* Flapping back higher escalates in that step. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, T0 + HOUR),
	    AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + HOUR + SEC), AE_ESCALATE);
	ck_assert_int_eq(a.state, ALERT_FIRING);
	ck_assert_uint_eq(a.id, 7);

	/* Flapping back after the repeat interval repeats. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_CRITICAL, T0 + 8 * DAY),
	    AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 1, SEV_CRITICAL,
	    T0 + 8 * DAY + SEC), AE_REPEAT);
	ck_assert_int_eq(a.state, ALERT_FIRING);
}
END_TEST

START_TEST(test_resolving_ignores_repeat)
{
	struct alert a = fired(SEV_WARNING);

	/* Inactive past the repeat interval: resolve, never repeat. */
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING,
	    T0 + 7 * DAY - 1), AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING, T0 + 7 * DAY),
	    AE_NONE);
	ck_assert_int_eq(alert_step(&a, &pol, 0, SEV_WARNING,
	    T0 + 7 * DAY + HOUR - 1), AE_RESOLVE);
}
END_TEST

/* ---- names and fingerprints ---- */

START_TEST(test_names)
{
	size_t i;

	ck_assert_str_eq(alert_event_name(AE_NONE), "none");
	ck_assert_str_eq(alert_event_name(AE_FIRE), "fire");
	ck_assert_str_eq(alert_event_name(AE_REPEAT), "repeat");
	ck_assert_str_eq(alert_event_name(AE_ESCALATE), "escalate");
	ck_assert_str_eq(alert_event_name(AE_RESOLVE), "resolve");
	ck_assert_ptr_null(alert_event_name((enum alert_event)99));

	ck_assert_str_eq(alert_state_name(ALERT_FIRING), "firing");
	ck_assert_str_eq(alert_state_name(ALERT_RESOLVING), "resolving");
	ck_assert_str_eq(alert_state_name(ALERT_RESOLVED), "resolved");
	ck_assert_ptr_null(alert_state_name((enum alert_state)3));
	ck_assert_int_eq(alert_state_parse("firing"), ALERT_FIRING);
	ck_assert_int_eq(alert_state_parse("resolving"), ALERT_RESOLVING);
	ck_assert_int_eq(alert_state_parse("resolved"), ALERT_RESOLVED);
	ck_assert_int_eq(alert_state_parse("Firing"), -1);
	ck_assert_int_eq(alert_state_parse("silenced"), -1);
	ck_assert_int_eq(alert_state_parse(""), -1);
	ck_assert_int_eq(alert_state_parse(NULL), -1);

	ck_assert_str_eq(alert_signal_name(SIG_LOGIN_ABSENT), "login_absent");
	ck_assert_str_eq(alert_signal_name(SIG_TICKET_VELOCITY),
	    "ticket_velocity");
	ck_assert_str_eq(alert_signal_name(ALERT_HEALTH_DEGRADED),
	    "health_degraded");
	ck_assert_ptr_null(alert_signal_name(ALERT_NSIGNALS));
	ck_assert_ptr_null(alert_signal_name(-1));
	for (i = 0; i < ALERT_NSIGNALS; i++) {
		ck_assert_ptr_nonnull(alert_signal_name((int)i));
		ck_assert_int_eq(alert_signal_find(alert_signal_name((int)i)),
		    (int)i);
		ck_assert_ptr_nonnull(alert_category_name((int)i));
	}
	ck_assert_int_eq(alert_signal_find("health_degraded"),
	    ALERT_HEALTH_DEGRADED);
	ck_assert_int_eq(alert_signal_find("Health_Degraded"), -1);
	ck_assert_int_eq(alert_signal_find("nope"), -1);
	ck_assert_int_eq(alert_signal_find(NULL), -1);

	ck_assert_str_eq(alert_category_name(SIG_LOGIN_ABSENT), "usage");
	ck_assert_str_eq(alert_category_name(SIG_CHAMPION_LEFT), "org");
	ck_assert_str_eq(alert_category_name(SIG_NO_TOUCH), "engagement");
	ck_assert_str_eq(alert_category_name(ALERT_HEALTH_DEGRADED), "health");
	ck_assert_str_eq(alert_signal_name(ALERT_PORTFOLIO), "portfolio");
	ck_assert_int_eq(alert_signal_find("portfolio"), ALERT_PORTFOLIO);
	ck_assert_str_eq(alert_category_name(ALERT_PORTFOLIO), "portfolio");
	ck_assert_ptr_null(alert_category_name(ALERT_NSIGNALS));
	ck_assert_ptr_null(alert_category_name(-1));
}
END_TEST

START_TEST(test_fingerprint)
{
	char a[17], b[17];

	/* Fixed forever: FNV-1a 64 of "acme" NUL "login_absent". */
	memset(a, 'x', sizeof(a));
	alert_fingerprint("acme", SIG_LOGIN_ABSENT, a);
	ck_assert_str_eq(a, "bb263c212a20acd6");
	alert_fingerprint("acme", ALERT_HEALTH_DEGRADED, a);
	ck_assert_str_eq(a, "1c0eed8288aae45e");

	/* Stable across calls, different per account and signal. */
	alert_fingerprint("acme", SIG_LOGIN_ABSENT, b);
	ck_assert_str_eq(b, "bb263c212a20acd6");
	alert_fingerprint("acme", SIG_LOGIN_DECLINE, b);
	ck_assert_str_ne(b, "bb263c212a20acd6");
	alert_fingerprint("acme2", SIG_LOGIN_ABSENT, b);
	ck_assert_str_ne(b, "bb263c212a20acd6");
	/* The 0 byte keeps the account and the name apart. */
	alert_fingerprint("acm", SIG_LOGIN_ABSENT, a);
	ck_assert_str_ne(a, "bb263c212a20acd6");
	ck_assert_uint_eq(strlen(a), 16);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 16);
}
END_TEST

/* ---- routes ---- */

static const char *const rcv_a[] = { "a", NULL };
static const char *const rcv_b[] = { "b", NULL };
static const char *const rcv_ab[] = { "a", "b", NULL };
static const char *const rcv_ca[] = { "c", "a", NULL };

static struct alert_route
route(const char *name, const char *const *receivers, int cont)
{
	struct alert_route r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.receivers = (char **)receivers;
	r.cont = cont;
	return r;
}

static const struct alert_facts facts_crit = {
	"usage", "critical", "login_absent", "enterprise", "alice", "false"
};

START_TEST(test_route_first_match)
{
	struct alert_route r[3];
	const char *out[8];

	r[0] = route("warn", rcv_a, 0);
	r[0].severity = "warning";
	r[1] = route("crit", rcv_b, 0);
	r[1].severity = "critical";
	r[2] = route("all", rcv_ca, 0);
	ck_assert_uint_eq(alert_route(r, 3, &facts_crit, out, 8), 1);
	ck_assert_str_eq(out[0], "b");

	/* No route matches: nobody. */
	ck_assert_uint_eq(alert_route(r, 2, &(struct alert_facts){
	    "usage", "info", "login_absent", NULL, NULL, NULL }, out, 8), 0);
	ck_assert_uint_eq(alert_route(r, 0, &facts_crit, out, 8), 0);
	ck_assert_uint_eq(alert_route(NULL, 0, &facts_crit, out, 8), 0);
}
END_TEST

START_TEST(test_route_continue)
{
	struct alert_route r[4];
	const char *out[8];

	r[0] = route("usage", rcv_a, 1);
	r[0].category = "usage";
	r[1] = route("org", rcv_b, 1);		/* no match: skipped */
	r[1].category = "org";
	r[2] = route("crit", rcv_ab, 0);	/* matches; stops */
	r[2].severity = "critical";
	r[3] = route("all", rcv_ca, 0);
	ck_assert_uint_eq(alert_route(r, 4, &facts_crit, out, 8), 2);
	ck_assert_str_eq(out[0], "a");
	ck_assert_str_eq(out[1], "b");

	/* continue on the last match goes on to the end. */
	r[2].cont = 1;
	ck_assert_uint_eq(alert_route(r, 4, &facts_crit, out, 8), 3);
	ck_assert_str_eq(out[0], "a");
	ck_assert_str_eq(out[1], "b");
	ck_assert_str_eq(out[2], "c");
}
END_TEST

START_TEST(test_route_no_matchers)
{
	static const struct alert_facts empty = { NULL, NULL, NULL, NULL,
	    NULL, NULL };
	struct alert_route r = route("all", rcv_ab, 0);
	const char *out[8];

	ck_assert_uint_eq(alert_route(&r, 1, &facts_crit, out, 8), 2);
	ck_assert_uint_eq(alert_route(&r, 1, &empty, out, 8), 2);
	ck_assert_str_eq(out[0], "a");
	ck_assert_str_eq(out[1], "b");
}
END_TEST

START_TEST(test_route_dedupe_and_max)
{
	static const char *const rcv_aab[] = { "a", "a", "b", NULL };
	struct alert_route r[3];
	const char *out[8];

	r[0] = route("1", rcv_aab, 1);
	r[1] = route("2", rcv_ca, 1);
	r[2] = route("3", rcv_ab, 0);
	ck_assert_uint_eq(alert_route(r, 3, &facts_crit, out, 8), 3);
	ck_assert_str_eq(out[0], "a");
	ck_assert_str_eq(out[1], "b");
	ck_assert_str_eq(out[2], "c");

	/* At most max. */
	out[1] = NULL;
	ck_assert_uint_eq(alert_route(r, 3, &facts_crit, out, 1), 1);
	ck_assert_str_eq(out[0], "a");
	ck_assert_ptr_null(out[1]);
	ck_assert_uint_eq(alert_route(r, 3, &facts_crit, out, 0), 0);
}
END_TEST

START_TEST(test_route_each_matcher)
{
	struct alert_route r;
	struct alert_facts f;
	const char *out[4];
	size_t i;
	char **m;

	for (i = 0; i < 5; i++) {
		r = route("one", rcv_a, 0);
		m = i == 0 ? &r.category : i == 1 ? &r.severity :
		    i == 2 ? &r.signal : i == 3 ? &r.segment : &r.owner;
		f = facts_crit;

		/* The same value matches ... */
		*m = (char *)(i == 0 ? "usage" : i == 1 ? "critical" :
		    i == 2 ? "login_absent" : i == 3 ? "enterprise" :
		    "alice");
		ck_assert_uint_eq(alert_route(&r, 1, &f, out, 4), 1);
		/* ... another, or another case, does not ... */
		*m = (char *)"Usage";
		ck_assert_msg(alert_route(&r, 1, &f, out, 4) == 0, "%zu", i);
		*m = (char *)(i == 0 ? "usag" : i == 1 ? "critical " :
		    i == 2 ? "login_decline" : i == 3 ? "smb" : "bob");
		ck_assert_msg(alert_route(&r, 1, &f, out, 4) == 0, "%zu", i);
		/* ... and a set matcher never matches a missing fact. */
		*m = (char *)"x";
		if (i == 0)
			f.category = NULL;
		else if (i == 1)
			f.severity = NULL;
		else if (i == 2)
			f.signal = NULL;
		else if (i == 3)
			f.segment = NULL;
		else
			f.owner = NULL;
		ck_assert_msg(alert_route(&r, 1, &f, out, 4) == 0, "%zu", i);
		/* An unset matcher matches a missing fact. */
		*m = NULL;
		ck_assert_uint_eq(alert_route(&r, 1, &f, out, 4), 1);
	}

	/* All of them set: all must match. */
	r = route("all5", rcv_b, 0);
	r.category = "usage";
	r.severity = "critical";
	r.signal = "login_absent";
	r.segment = "enterprise";
	r.owner = "alice";
	ck_assert_uint_eq(alert_route(&r, 1, &facts_crit, out, 4), 1);
	r.owner = "bob";
	ck_assert_uint_eq(alert_route(&r, 1, &facts_crit, out, 4), 0);
}
END_TEST

START_TEST(test_route_health)
{
	static const struct alert_facts health = {
		"health", "warning", "health_degraded", NULL, "alice", NULL
	};
	struct alert_route r[2];
	const char *out[4];

	r[0] = route("health", rcv_a, 0);
	r[0].category = "health";
	r[1] = route("rest", rcv_b, 0);
	ck_assert_uint_eq(alert_route(r, 2, &health, out, 4), 1);
	ck_assert_str_eq(out[0], "a");
	ck_assert_uint_eq(alert_route(r, 2, &facts_crit, out, 4), 1);
	ck_assert_str_eq(out[0], "b");
}
END_TEST

/* ---- silences ---- */

static struct alert_silence
silence(const char *account, const char *sig, const char *cat)
{
	struct alert_silence s;

	memset(&s, 0, sizeof(s));
	s.id = 1;
	s.account_id = (char *)account;
	s.signal = (char *)sig;
	s.category = (char *)cat;
	s.until = T0 + DAY;
	return s;
}

START_TEST(test_silence_matchers)
{
	struct alert_silence s;

	/* No matchers: everything, while it lasts. */
	s = silence(NULL, NULL, NULL);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 1);
	ck_assert_int_eq(alert_silenced(&s, NULL, &facts_crit, T0), 1);

	s = silence("acme", NULL, NULL);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 1);
	ck_assert_int_eq(alert_silenced(&s, "acme2", &facts_crit, T0), 0);
	ck_assert_int_eq(alert_silenced(&s, "ACME", &facts_crit, T0), 0);
	ck_assert_int_eq(alert_silenced(&s, NULL, &facts_crit, T0), 0);

	s = silence(NULL, "login_absent", NULL);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 1);
	s.signal = "login_decline";
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 0);

	s = silence(NULL, NULL, "usage");
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 1);
	s.category = "support";
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 0);

	/* All set matchers must match. */
	s = silence("acme", "login_absent", "usage");
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 1);
	ck_assert_int_eq(alert_silenced(&s, "other", &facts_crit, T0), 0);
	s.category = "org";
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 0);
	s.category = "usage";
	s.signal = "no_touch";
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 0);

	/* A health alert by its category. */
	s = silence("acme", NULL, "health");
	ck_assert_int_eq(alert_silenced(&s, "acme",
	    &(struct alert_facts){ "health", "warning", "health_degraded",
	    NULL, NULL, NULL }, T0), 1);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 0);
}
END_TEST

START_TEST(test_silence_until_and_ended)
{
	struct alert_silence s = silence("acme", NULL, NULL);

	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit,
	    T0 + DAY - 1), 1);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0 + DAY), 0);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit,
	    T0 + 2 * DAY), 0);

	s.ended_at = T0 + HOUR;
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 0);
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit,
	    T0 + 2 * HOUR), 0);

	/* expire_on_resolve alone ends nothing: the caller sets ended_at. */
	s.ended_at = 0;
	s.expire_on_resolve = 1;
	ck_assert_int_eq(alert_silenced(&s, "acme", &facts_crit, T0), 1);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("alert");

	tc = tcase_create("state");
	tcase_add_test(tc, test_quiet);
	tcase_add_test(tc, test_fire);
	tcase_add_test(tc, test_resolving_and_flap);
	tcase_add_test(tc, test_resolve_boundary);
	tcase_add_test(tc, test_resolve_after_zero);
	tcase_add_test(tc, test_refire_after_resolved);
	tcase_add_test(tc, test_repeat_boundary);
	tcase_add_test(tc, test_no_repeat_when_acked);
	tcase_add_test(tc, test_escalate);
	tcase_add_test(tc, test_flap_back_due);
	tcase_add_test(tc, test_resolving_ignores_repeat);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_fingerprint);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_test(tc, test_route_first_match);
	tcase_add_test(tc, test_route_continue);
	tcase_add_test(tc, test_route_no_matchers);
	tcase_add_test(tc, test_route_dedupe_and_max);
	tcase_add_test(tc, test_route_each_matcher);
	tcase_add_test(tc, test_route_health);
	suite_add_tcase(s, tc);

	tc = tcase_create("silences");
	tcase_add_test(tc, test_silence_matchers);
	tcase_add_test(tc, test_silence_until_and_ended);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(alert_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
