/*
 * check_signal.c -- unit tests for signal.c: the table, the config
 * defaults, and one test case per signal showing that it fires exactly at
 * its threshold, not one step below, resolves when the condition ends,
 * follows a config override of its threshold, and is off when disabled.
 *
 * Windows are built the way the daemon builds them: struct cw_event
 * values (with their extracted props) through window_apply().  "Today"
 * is day T; days are written as T - n, "n days ago".
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
#include "util.h"
#include "window.h"

#define T		20000		/* 2024-10-04 */
#define NOW_HOUR	((int64_t)T * 24 + 12)	/* today, 12:00 UTC */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct window		 w;
static struct sig_config	 cfg;
static struct win_rules		 rules;
static struct sig_account	 acct;
static struct sig_result	 out[SIG__COUNT];
static int			 nout;

static void
setup(void)
{
	window_init(&w);
	ck_assert_int_eq(signal_config_defaults(&cfg), 0);
	signal_win_rules(&cfg, &rules);
	memset(&acct, 0, sizeof(acct));
	acct.w = &w;
	acct.today = T;
	acct.now_hour = NOW_HOUR;
	acct.seats = -1;
	acct.onboarded_day = 0;
}

static void
teardown(void)
{
	window_free(&w);
	signal_config_free(&cfg);
	intern_purge();
}

/* ---- building windows ---- */

static void
apply(enum cw_event_type type, int32_t day, int hour, const char *user,
    const struct cw_event_props *p)
{
	struct cw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = (char *)"evt";
	ev.account_id = (char *)"acme";
	ev.type = type;
	ev.ts = (int64_t)day * CW_USEC_PER_DAY +
	    (int64_t)hour * 3600 * CW_USEC_PER_SEC;
	ev.user_id = (char *)user;
	ev.props = (char *)"{}";
	if (p != NULL)
		ev.p = *p;
	else
		ev.p.is_champion = -1;
	ck_assert_int_eq(window_apply(&w, &ev, &rules), 0);
}

static void
login(int32_t day, const char *user)
{
	apply(EV_LOGIN, day, 0, user, NULL);
}

/* n logins by "u" on day, at hour. */
static void
logins(int32_t day, int hour, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		apply(EV_LOGIN, day, hour, "u", NULL);
}

/* A login by user number i. */
static void
user_login(int32_t day, int i)
{
	char u[32];

	snprintf(u, sizeof(u), "user%d", i);
	login(day, u);
}

static void
feature(int32_t day, const char *name)
{
	struct cw_event_props p;

	memset(&p, 0, sizeof(p));
	p.is_champion = -1;
	p.feature = (char *)name;
	apply(EV_FEATURE_USED, day, 10, "u", &p);
}

static void
ticket_full(enum cw_event_type type, int32_t day, const char *team,
    const char *category, const char *subject, const char *tag,
    int has_sentiment, double sentiment)
{
	struct cw_event_props p;
	static unsigned next;
	char *tags[1], tid[16];

	/* Each call is a ticket of its own (ticket_of() shares one). */
	snprintf(tid, sizeof(tid), "t-%u", ++next);
	memset(&p, 0, sizeof(p));
	p.is_champion = -1;
	p.ticket_id = tid;
	p.team = (char *)team;
	p.category = (char *)category;
	p.subject = (char *)subject;
	if (tag != NULL) {
		tags[0] = (char *)tag;
		p.tags = tags;
		p.ntags = 1;
	}
	p.has_sentiment = has_sentiment;
	p.sentiment = sentiment;
	apply(type, day, 9, NULL, &p);
}

static void
ticket(int32_t day)
{
	ticket_full(EV_TICKET_CREATED, day, NULL, NULL, NULL, NULL, 0, 0);
}

static void
tickets(int32_t day, int n)
{
	while (n-- > 0)
		ticket(day);
}

static void
team_ticket(int32_t day, const char *team, const char *category)
{
	ticket_full(EV_TICKET_CREATED, day, team, category, NULL, NULL, 0, 0);
}

static void
rated_ticket(enum cw_event_type type, int32_t day, double sentiment)
{
	ticket_full(type, day, NULL, NULL, NULL, NULL, 1, sentiment);
}

/* An event of ticket tid at day and hour, with a sentiment. */
static void
ticket_of(const char *tid, enum cw_event_type type, int32_t day, int hour,
    double sentiment)
{
	struct cw_event_props p;

	event_props_init(&p);
	p.ticket_id = (char *)tid;
	p.has_sentiment = 1;
	p.sentiment = sentiment;
	apply(type, day, hour, NULL, &p);
}

/* A meeting with attendees of invited there. */
static void
meeting(int32_t day, int attendees, int invited)
{
	struct cw_event_props p;

	event_props_init(&p);
	p.kind = (char *)"meeting";
	p.attendees = attendees;
	p.invited = invited;
	apply(EV_TOUCHPOINT, day, 14, NULL, &p);
}

static void
note_on(int32_t day, const char *text)
{
	struct cw_event_props p;

	event_props_init(&p);
	p.text = (char *)text;
	apply(EV_NOTE, day, 17, NULL, &p);
}

/* champion: 1, 0, or -1 absent. */
static void
contact(enum cw_event_type type, int32_t day, const char *id,
    const char *title, const char *prev_title, int champion,
    const char *prev_company)
{
	struct cw_event_props p;

	memset(&p, 0, sizeof(p));
	p.contact_id = (char *)id;
	p.title = (char *)title;
	p.previous_title = (char *)prev_title;
	p.is_champion = champion;
	p.previous_company = (char *)prev_company;
	apply(type, day, 11, NULL, &p);
}

static void
competitor(int32_t day, const char *name, const char *kind)
{
	struct cw_event_props p;

	memset(&p, 0, sizeof(p));
	p.is_champion = -1;
	p.competitor = (char *)name;
	p.kind = (char *)kind;
	apply(EV_COMPETITOR_SIGNAL, day, 15, NULL, &p);
}

static void
touch(int32_t day)
{
	struct cw_event_props p;

	memset(&p, 0, sizeof(p));
	p.is_champion = -1;
	p.kind = (char *)"call";
	apply(EV_TOUCHPOINT, day, 16, NULL, &p);
}

/* Replace a list of the config (and the window rules that point to it). */
static void
set_list(char ***list, const char *a, const char *b)
{
	char **v;
	size_t i;

	for (i = 0; (*list)[i] != NULL; i++)
		free((*list)[i]);
	free(*list);
	v = calloc(3, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	if (a != NULL)
		v[0] = strdup(a);
	if (b != NULL)
		v[1] = strdup(b);
	*list = v;
	signal_win_rules(&cfg, &rules);
}

/* ---- evaluating ---- */

static void
set_th(enum sig_id id, const char *key, double v)
{
	int i;

	i = signal_threshold_find(id, key);
	ck_assert_msg(i >= 0, "%s has no %s", signal_name(id), key);
	cfg.sig[id].threshold[i] = v;
}

/*
 * Evaluate everything; return the result for id or NULL.  Checks what
 * holds for every evaluation: table order, a sentence, sane weights.
 */
static const struct sig_result *
eval(enum sig_id id)
{
	const struct sig_result *found = NULL;
	int i;

	nout = signal_evaluate(&cfg, &acct, out);
	ck_assert_int_ge(nout, 0);
	ck_assert_int_le(nout, SIG__COUNT);
	for (i = 0; i < nout; i++) {
		if (i > 0)
			ck_assert_int_lt(out[i - 1].id, out[i].id);
		ck_assert_msg(out[i].explanation[0] != '\0', "%s: no text",
		    signal_name(out[i].id));
		ck_assert_int_le(out[i].nev, SIG_MAX_EVIDENCE);
		ck_assert_int_ge(out[i].weight, 0);
		if (out[i].id == id)
			found = &out[i];
	}
	return found;
}

#define FIRES(id) __extension__ ({					\
	const struct sig_result *r_ = eval(id);				\
	ck_assert_msg(r_ != NULL, "%s should fire", signal_name(id));	\
	r_;								\
})

#define QUIET(id) do {							\
	const struct sig_result *r_ = eval(id);				\
	ck_assert_msg(r_ == NULL, "%s should not fire: %s",		\
	    signal_name(id), r_ != NULL ? r_->explanation : "");	\
} while (0)

static double
evnum(const struct sig_result *r, const char *name)
{
	const struct sig_evidence *e = signal_evidence(r, name);

	ck_assert_msg(e != NULL && !e->is_str, "%s: no number %s",
	    signal_name(r->id), name);
	return e->num;
}

static const char *
evstr(const struct sig_result *r, const char *name)
{
	const struct sig_evidence *e = signal_evidence(r, name);

	ck_assert_msg(e != NULL && e->is_str, "%s: no string %s",
	    signal_name(r->id), name);
	return e->str;
}

#define EV_EQ(r, name, v) \
	ck_assert_msg(evnum((r), (name)) == (v), "%s: %s is %g, not %g", \
	    signal_name((r)->id), (name), evnum((r), (name)), (double)(v))

/* ---- the table ---- */

START_TEST(test_table)
{
	static const struct {
		const char	*name;
		const char	*category;
		int		 tier;
		const char	*severity;
	} want[SIG__COUNT] = {
		{ "ticket_velocity", "support", 1, "warning" },
		{ "ticket_repeat_team", "support", 1, "critical" },
		{ "ticket_sentiment_decline", "support", 1, "warning" },
		{ "churn_intent", "support", 1, "critical" },
		{ "support_silence", "support", 1, "info" },
		{ "champion_left", "org", 2, "critical" },
		{ "title_downgrade", "org", 2, "warning" },
		{ "new_executive", "org", 2, "info" },
		{ "contact_turnover", "org", 2, "warning" },
		{ "competitor_exposure", "competitor", 3, "warning" },
		{ "login_decline", "usage", 0, "warning" },
		{ "login_absent", "usage", 0, "critical" },
		{ "seat_underuse", "usage", 0, "warning" },
		{ "usage_spike", "usage", 0, "warning" },
		{ "core_feature_unused", "usage", 0, "warning" },
		{ "onboarding_stall", "usage", 0, "critical" },
		{ "no_touch", "engagement", 0, "warning" },
		{ "meeting_attendance_decline", "engagement", 0, "warning" },
		{ "voice_risk", "engagement", 0, "warning" },
	};
	const struct sig_threshold *th;
	size_t i, j, n;

	for (i = 0; i < SIG__COUNT; i++) {
		ck_assert_str_eq(signal_name(i), want[i].name);
		ck_assert_int_eq(signal_find(want[i].name), (int)i);
		ck_assert_str_eq(signal_category_name(i), want[i].category);
		ck_assert_int_eq(signal_tier(i), want[i].tier);
		ck_assert_str_eq(severity_name(signal_default_severity(i)),
		    want[i].severity);
		ck_assert_ptr_nonnull(signal_default_play(i));
		/* Short enough for a Slack line. */
		ck_assert_uint_lt(strlen(signal_default_play(i)), 160);
		th = signal_thresholds(i, &n);
		ck_assert_uint_ge(n, 1);
		for (j = 0; j < n; j++) {
			ck_assert_int_eq(signal_threshold_find(i, th[j].key),
			    (int)j);
			ck_assert(th[j].min <= th[j].def &&
			    th[j].def <= th[j].max);
		}
		ck_assert_int_eq(signal_threshold_find(i, "no_such_key"), -1);
	}
	ck_assert_int_eq(signal_find("login_absnt"), -1);
	ck_assert_int_eq(signal_find(NULL), -1);
	ck_assert_int_eq(signal_find("health_degraded"), -1);
	ck_assert_ptr_null(signal_name(SIG__COUNT));
	ck_assert_ptr_null(signal_category_name(SIG__COUNT));
	ck_assert_int_eq(signal_tier(SIG__COUNT), 0);
	ck_assert_int_eq(signal_category_parse("org"), SIGCAT_ORG);
	ck_assert_int_eq(signal_category_parse("Org"), -1);
	ck_assert_str_eq(signal_category_str(SIGCAT_ENGAGEMENT),
	    "engagement");

	ck_assert_str_eq(severity_name(SEV_INFO), "info");
	ck_assert_str_eq(severity_name(SEV_WARNING), "warning");
	ck_assert_str_eq(severity_name(SEV_CRITICAL), "critical");
	ck_assert_ptr_null(severity_name(SEV__COUNT));
	ck_assert_int_eq(severity_parse("critical"), SEV_CRITICAL);
	ck_assert_int_eq(severity_parse("warn"), -1);
	ck_assert_int_eq(severity_weight(SEV_CRITICAL), 30);
	ck_assert_int_eq(severity_weight(SEV_WARNING), 15);
	ck_assert_int_eq(severity_weight(SEV_INFO), 5);
}
END_TEST

START_TEST(test_defaults)
{
	struct sig_params p;
	char why[160];
	size_t i;

	ck_assert_uint_eq(cfg.interval, 60);
	ck_assert_ptr_nonnull(cfg.competitors);
	ck_assert_ptr_null(cfg.competitors[0]);
	ck_assert_str_eq(cfg.intent_patterns[0], "cancel");
	ck_assert_str_eq(cfg.intent_patterns[8], "契約");
	ck_assert_ptr_null(cfg.intent_patterns[9]);
	ck_assert_ptr_eq(rules.intent_patterns,
	    (const char *const *)cfg.intent_patterns);
	ck_assert_ptr_eq(rules.phrases, cfg.voice_phrases);
	ck_assert_str_eq(cfg.voice_phrases[0].text, "busy");
	ck_assert_str_eq(cfg.voice_phrases[0].cls, "time");
	ck_assert_str_eq(cfg.voice_phrases[14].text, "組織変更");
	ck_assert_str_eq(cfg.voice_phrases[14].cls, "reorganisation");
	ck_assert_ptr_null(cfg.voice_phrases[15].text);
	for (i = 0; i < SIG__COUNT; i++) {
		ck_assert_int_eq(cfg.sig[i].enabled, 1);
		ck_assert_int_eq(cfg.sig[i].weight, -1);
		ck_assert_int_eq(signal_weight(&cfg.sig[i],
		    cfg.sig[i].severity),
		    severity_weight(signal_default_severity(i)));
		ck_assert_str_eq(signal_play(&cfg, i), signal_default_play(i));
		ck_assert_int_eq(signal_params_check(i, &cfg.sig[i], why,
		    sizeof(why)), 0);
	}
	cfg.sig[SIG_NO_TOUCH].play = strdup("Call them.");
	ck_assert_str_eq(signal_play(&cfg, SIG_NO_TOUCH), "Call them.");
	ck_assert_ptr_null(signal_play(&cfg, SIG__COUNT));

	p = cfg.sig[SIG_LOGIN_ABSENT];
	p.threshold[signal_threshold_find(SIG_LOGIN_ABSENT, "recent_days")] =
	    91;
	ck_assert_int_eq(signal_params_check(SIG_LOGIN_ABSENT, &p, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "recent_days + baseline_days must be at most "
	    "180 days (the history the windows keep), not 181");

	/* An empty account: nothing fires, nothing breaks. */
	ck_assert_int_eq(signal_evaluate(&cfg, &acct, out), 0);
	signal_config_free(&cfg);
	signal_config_free(&cfg);	/* twice is harmless */
	signal_config_free(NULL);
	ck_assert_int_eq(signal_config_defaults(&cfg), 0);
}
END_TEST

/* Several signals at once: table order, the effective weights. */
START_TEST(test_evaluate_order)
{
	int i;

	acct.onboarded_day = T - 100;
	logins(T - 20, 0, 5);		/* login_absent, no_touch */
	for (i = 0; i < 10; i++)
		team_ticket(T - i, "ops", "sso");	/* repeat, velocity */
	cfg.sig[SIG_NO_TOUCH].weight = 7;
	nout = signal_evaluate(&cfg, &acct, out);
	ck_assert_int_eq(nout, 4);
	ck_assert_int_eq(out[0].id, SIG_TICKET_VELOCITY);
	ck_assert_int_eq(out[0].weight, 15);
	ck_assert_int_eq(out[1].id, SIG_TICKET_REPEAT_TEAM);
	ck_assert_int_eq(out[1].weight, 30);
	ck_assert_int_eq(out[2].id, SIG_LOGIN_ABSENT);
	ck_assert_int_eq(out[2].severity, SEV_CRITICAL);
	ck_assert_int_eq(out[3].id, SIG_NO_TOUCH);
	ck_assert_int_eq(out[3].weight, 7);

	/* Severity changed, weight not set: the weight follows. */
	cfg.sig[SIG_LOGIN_ABSENT].severity = SEV_INFO;
	cfg.sig[SIG_TICKET_VELOCITY].enabled = 0;
	nout = signal_evaluate(&cfg, &acct, out);
	ck_assert_int_eq(nout, 3);
	ck_assert_int_eq(out[1].id, SIG_LOGIN_ABSENT);
	ck_assert_int_eq(out[1].severity, SEV_INFO);
	ck_assert_int_eq(out[1].weight, 5);
}
END_TEST

/* ---- ticket_velocity ---- */

START_TEST(test_ticket_velocity_min)
{
	/* No tickets before: min_tickets alone decides. */
	tickets(T, 3);
	ticket(T - 30);			/* before the last 30 days */
	QUIET(SIG_TICKET_VELOCITY);
	ticket(T - 29);			/* the first of them */
	QUIET(SIG_TICKET_VELOCITY);	/* 4 */
	ticket(T - 10);
	FIRES(SIG_TICKET_VELOCITY);	/* 5: 5 >= 2 x 1/3 */
}
END_TEST

START_TEST(test_ticket_velocity_ratio)
{
	const struct sig_result *r;

	/* 15 in the 90 days before: 5 per 30 days; 10 needed now. */
	tickets(T - 30, 7);
	tickets(T - 80, 7);
	ticket(T - 119);
	ticket(T - 120);		/* not in the 90 days before */
	tickets(T, 8);
	ticket(T - 29);
	QUIET(SIG_TICKET_VELOCITY);	/* 9 */
	ticket(T - 15);
	r = FIRES(SIG_TICKET_VELOCITY);	/* 10 = 2 x 5 */
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_int_eq(r->weight, 15);
	ck_assert_str_eq(r->explanation, "10 tickets opened in the last 30 "
	    "days, 2.0 × this account's average of 5.0 per 30 days over the "
	    "90 days before (threshold 5 tickets and 2.0 ×)");
	ck_assert_str_eq(r->note, "2.0 × baseline");
	EV_EQ(r, "tickets", 10);
	EV_EQ(r, "days", 30);
	EV_EQ(r, "baseline_tickets", 15);
	EV_EQ(r, "baseline_days", 90);
	EV_EQ(r, "ratio", 2);
	EV_EQ(r, "threshold", 5);
	EV_EQ(r, "threshold_ratio", 2);
}
END_TEST

START_TEST(test_ticket_velocity_resolves)
{
	tickets(T - 10, 6);
	FIRES(SIG_TICKET_VELOCITY);
	acct.today = T + 19;		/* [T-10, T+19]: still in */
	FIRES(SIG_TICKET_VELOCITY);
	acct.today = T + 20;		/* now the 90 days before */
	QUIET(SIG_TICKET_VELOCITY);
}
END_TEST

START_TEST(test_ticket_velocity_config)
{
	tickets(T - 40, 15);
	tickets(T, 10);
	FIRES(SIG_TICKET_VELOCITY);
	set_th(SIG_TICKET_VELOCITY, "ratio", 2.5);	/* 12.5 needed */
	QUIET(SIG_TICKET_VELOCITY);
	tickets(T, 3);
	FIRES(SIG_TICKET_VELOCITY);
	set_th(SIG_TICKET_VELOCITY, "min_tickets", 14);
	QUIET(SIG_TICKET_VELOCITY);
	set_th(SIG_TICKET_VELOCITY, "min_tickets", 13);
	FIRES(SIG_TICKET_VELOCITY);
	/* A 45-day span takes in the 15 at T-40: 28 in 45 days. */
	set_th(SIG_TICKET_VELOCITY, "recent_days", 45);
	FIRES(SIG_TICKET_VELOCITY);
	cfg.sig[SIG_TICKET_VELOCITY].enabled = 0;
	QUIET(SIG_TICKET_VELOCITY);
}
END_TEST

/* ---- ticket_repeat_team ---- */

START_TEST(test_ticket_repeat_team_threshold)
{
	const struct sig_result *r;
	int i;

	for (i = 0; i < 8; i++)
		team_ticket(T - i, "engineering", "api-latency");
	team_ticket(T - 119, "engineering", "api-latency");
	team_ticket(T - 120, "engineering", "api-latency");	/* too old */
	team_ticket(T, NULL, "api-latency");		/* no team */
	team_ticket(T, "engineering", NULL);		/* no category */
	team_ticket(T, "engineering", "billing");
	team_ticket(T, "sales", "api-latency");
	ticket_full(EV_TICKET_UPDATED, T, "engineering", "api-latency",
	    NULL, NULL, 0, 0);				/* not created */
	QUIET(SIG_TICKET_REPEAT_TEAM);			/* 9 */
	team_ticket(T - 50, "engineering", "api-latency");
	r = FIRES(SIG_TICKET_REPEAT_TEAM);		/* 10 */
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_int_eq(r->weight, 30);
	EV_EQ(r, "tickets", 10);
	ck_assert_str_eq(evstr(r, "team"), "engineering");
	ck_assert_str_eq(evstr(r, "category"), "api-latency");
}
END_TEST

/* SPEC 4's own example sentence. */
START_TEST(test_ticket_repeat_team_text)
{
	const struct sig_result *r;
	int i;

	for (i = 0; i < 23; i++)
		team_ticket(T - 5 * i, "engineering", "api-latency");
	for (i = 0; i < 12; i++)
		team_ticket(T - i, "finance", "invoices");
	r = FIRES(SIG_TICKET_REPEAT_TEAM);
	ck_assert_str_eq(r->explanation, "23 tickets from team 'engineering' "
	    "in category 'api-latency' in the last 120 days (threshold 10)");
	EV_EQ(r, "tickets", 23);
	EV_EQ(r, "days", 120);
	EV_EQ(r, "threshold", 10);
	ck_assert_str_eq(evstr(r, "team"), "engineering");
	ck_assert_str_eq(evstr(r, "category"), "api-latency");
}
END_TEST

START_TEST(test_ticket_repeat_team_resolves)
{
	int i;

	for (i = 0; i < 10; i++)
		team_ticket(T - i, "ops", "sso");
	acct.today = T + 110;		/* [T-9, T+110] */
	FIRES(SIG_TICKET_REPEAT_TEAM);
	acct.today = T + 111;		/* T-9 has left the 120 days */
	QUIET(SIG_TICKET_REPEAT_TEAM);
}
END_TEST

START_TEST(test_ticket_repeat_team_config)
{
	int i;

	for (i = 0; i < 5; i++)
		team_ticket(T - 3 * i, "ops", "sso");
	QUIET(SIG_TICKET_REPEAT_TEAM);
	set_th(SIG_TICKET_REPEAT_TEAM, "min_tickets", 5);
	FIRES(SIG_TICKET_REPEAT_TEAM);
	set_th(SIG_TICKET_REPEAT_TEAM, "days", 12);	/* T-12 out */
	QUIET(SIG_TICKET_REPEAT_TEAM);
	set_th(SIG_TICKET_REPEAT_TEAM, "days", 13);
	FIRES(SIG_TICKET_REPEAT_TEAM);
	cfg.sig[SIG_TICKET_REPEAT_TEAM].enabled = 0;
	QUIET(SIG_TICKET_REPEAT_TEAM);
}
END_TEST

/* ---- ticket_sentiment_decline ---- */

static void
sentiment_baseline(double s)
{
	rated_ticket(EV_TICKET_CREATED, T - 30, s);
	rated_ticket(EV_TICKET_UPDATED, T - 60, s);
	rated_ticket(EV_TICKET_SOLVED, T - 119, s);
	rated_ticket(EV_TICKET_CREATED, T - 120, -1.0);	/* too old */
	ticket(T - 40);			/* no sentiment: no count */
}

START_TEST(test_sentiment_threshold)
{
	const struct sig_result *r;

	sentiment_baseline(0.5);
	rated_ticket(EV_TICKET_CREATED, T - 29, 0.21);
	rated_ticket(EV_TICKET_UPDATED, T - 10, 0.21);
	ticket(T);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);	/* only 2 rated */
	rated_ticket(EV_TICKET_SOLVED, T, 0.21);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);	/* a drop of 0.29 */
	teardown();
	setup();
	sentiment_baseline(0.5);
	rated_ticket(EV_TICKET_CREATED, T - 29, 0.2);
	rated_ticket(EV_TICKET_UPDATED, T - 10, 0.2);
	rated_ticket(EV_TICKET_SOLVED, T, 0.2);
	r = FIRES(SIG_TICKET_SENTIMENT_DECLINE);	/* 0.30 */
	ck_assert_str_eq(r->explanation, "mean ticket sentiment fell to 0.20 "
	    "over 3 rated tickets in the last 30 days from 0.50 over 3 in the "
	    "90 days before, a drop of 0.30 (threshold 0.30)");
	EV_EQ(r, "mean", 0.2);
	EV_EQ(r, "baseline_mean", 0.5);
	EV_EQ(r, "tickets", 3);
	EV_EQ(r, "baseline_tickets", 3);
	EV_EQ(r, "drop", 0.3);
	EV_EQ(r, "threshold", 0.3);
}
END_TEST

START_TEST(test_sentiment_min_tickets)
{
	rated_ticket(EV_TICKET_CREATED, T - 30, 0.9);
	rated_ticket(EV_TICKET_CREATED, T - 31, 0.9);
	rated_ticket(EV_TICKET_CREATED, T - 29, -0.9);
	rated_ticket(EV_TICKET_CREATED, T - 28, -0.9);
	rated_ticket(EV_TICKET_CREATED, T - 27, -0.9);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);	/* 2 before */
	rated_ticket(EV_TICKET_UPDATED, T - 32, 0.9);
	FIRES(SIG_TICKET_SENTIMENT_DECLINE);
}
END_TEST

START_TEST(test_sentiment_resolves)
{
	sentiment_baseline(0.1);
	rated_ticket(EV_TICKET_CREATED, T - 5, -0.25);
	rated_ticket(EV_TICKET_CREATED, T - 4, -0.25);
	rated_ticket(EV_TICKET_CREATED, T - 3, -0.25);
	FIRES(SIG_TICKET_SENTIMENT_DECLINE);
	/* Happier tickets lift the mean: (-0.75 + 1.2) / 6 = 0.075. */
	rated_ticket(EV_TICKET_UPDATED, T, 0.4);
	rated_ticket(EV_TICKET_UPDATED, T, 0.4);
	rated_ticket(EV_TICKET_UPDATED, T, 0.4);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);
}
END_TEST

START_TEST(test_sentiment_config)
{
	sentiment_baseline(0.5);
	rated_ticket(EV_TICKET_CREATED, T - 5, 0.3);
	rated_ticket(EV_TICKET_CREATED, T - 4, 0.3);
	rated_ticket(EV_TICKET_CREATED, T - 3, 0.3);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);	/* 0.2 < 0.3 */
	set_th(SIG_TICKET_SENTIMENT_DECLINE, "drop", 0.2);
	FIRES(SIG_TICKET_SENTIMENT_DECLINE);
	set_th(SIG_TICKET_SENTIMENT_DECLINE, "drop", 0.21);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);
	set_th(SIG_TICKET_SENTIMENT_DECLINE, "drop", 0.2);
	set_th(SIG_TICKET_SENTIMENT_DECLINE, "min_tickets", 4);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);
	set_th(SIG_TICKET_SENTIMENT_DECLINE, "min_tickets", 3);
	FIRES(SIG_TICKET_SENTIMENT_DECLINE);
	cfg.sig[SIG_TICKET_SENTIMENT_DECLINE].enabled = 0;
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);
}
END_TEST

/* A ticket created, updated and solved is one ticket, its latest rating. */
START_TEST(test_sentiment_by_ticket)
{
	const struct sig_result *r;

	sentiment_baseline(0.5);
	/* One ticket, rated 0.9 then 0.5 then 0.2: counts once, as 0.2. */
	ticket_of("X", EV_TICKET_CREATED, T - 20, 9, 0.9);
	ticket_of("X", EV_TICKET_UPDATED, T - 10, 9, 0.5);
	ticket_of("Y", EV_TICKET_CREATED, T - 5, 9, 0.2);
	ticket_of("X", EV_TICKET_SOLVED, T - 2, 9, 0.2);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);	/* 4 events, 2 tickets */
	ticket_of("Z", EV_TICKET_CREATED, T - 1, 9, 0.2);
	r = FIRES(SIG_TICKET_SENTIMENT_DECLINE);	/* 3 tickets at 0.2 */
	EV_EQ(r, "tickets", 3);
	EV_EQ(r, "mean", 0.2);
	EV_EQ(r, "drop", 0.3);
	/* Z's later update (by ts, though applied now at an earlier
	 * hour of the same day as another) lifts it: 0.9 -> mean 0.43. */
	ticket_of("Z", EV_TICKET_UPDATED, T - 1, 10, 0.9);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);
	/* An event older by ts changes nothing, whenever it arrives. */
	ticket_of("Z", EV_TICKET_CREATED, T - 1, 8, 0.2);
	QUIET(SIG_TICKET_SENTIMENT_DECLINE);
}
END_TEST

/* ---- churn_intent ---- */

static void
subject_ticket(int32_t day, const char *subject)
{
	ticket_full(EV_TICKET_CREATED, day, NULL, NULL, subject, NULL, 0, 0);
}

START_TEST(test_churn_intent_threshold)
{
	const struct sig_result *r;

	subject_ticket(T - 30, "How do we cancel our plan?");
	subject_ticket(T, "Export button is broken");
	subject_ticket(T, "Question about dashboards");
	QUIET(SIG_CHURN_INTENT);
	subject_ticket(T - 29, "How do we Cancel our plan?");
	r = FIRES(SIG_CHURN_INTENT);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_str_eq(r->explanation, "a ticket 29 days ago matches the "
	    "churn-intent patterns (cancelling, contract terms, downgrading, "
	    "exporting data, ...)");
	EV_EQ(r, "tickets", 1);
	EV_EQ(r, "latest_days_ago", 29);
	EV_EQ(r, "days", 30);

	/* Tags and category count too; the latest is reported. */
	ticket_full(EV_TICKET_UPDATED, T - 3, NULL, NULL, NULL,
	    "contract-renewal", 0, 0);
	ticket_full(EV_TICKET_CREATED, T - 1, NULL, "解約", NULL, NULL, 0, 0);
	r = FIRES(SIG_CHURN_INTENT);
	ck_assert_str_eq(r->explanation, "3 tickets in the last 30 days match "
	    "the churn-intent patterns (cancelling, contract terms, "
	    "downgrading, exporting data, ...), the latest yesterday");
	EV_EQ(r, "tickets", 3);
	EV_EQ(r, "latest_days_ago", 1);
}
END_TEST

START_TEST(test_churn_intent_resolves)
{
	subject_ticket(T - 29, "Please send a usage report");
	FIRES(SIG_CHURN_INTENT);
	acct.today = T + 1;
	QUIET(SIG_CHURN_INTENT);
}
END_TEST

START_TEST(test_churn_intent_config)
{
	subject_ticket(T - 45, "We want to downgrade");
	QUIET(SIG_CHURN_INTENT);
	set_th(SIG_CHURN_INTENT, "days", 46);
	FIRES(SIG_CHURN_INTENT);
	set_th(SIG_CHURN_INTENT, "days", 45);
	QUIET(SIG_CHURN_INTENT);
	set_th(SIG_CHURN_INTENT, "days", 46);
	cfg.sig[SIG_CHURN_INTENT].enabled = 0;
	QUIET(SIG_CHURN_INTENT);

	/* Patterns of the config apply to the tickets that arrive. */
	cfg.sig[SIG_CHURN_INTENT].enabled = 1;
	set_list(&cfg.intent_patterns, "kündigung", NULL);
	acct.today = T + 60;
	subject_ticket(T + 60, "Cancel everything");
	QUIET(SIG_CHURN_INTENT);
	subject_ticket(T + 60, "KüNDIGUNG zum Jahresende");
	FIRES(SIG_CHURN_INTENT);
}
END_TEST

/* ---- support_silence ---- */

START_TEST(test_support_silence_threshold)
{
	const struct sig_result *r;

	tickets(T - 60, 4);
	ticket(T - 100);
	ticket(T - 180);		/* not in the 120 days before */
	ticket_full(EV_TICKET_UPDATED, T - 3, NULL, NULL, NULL, NULL, 0, 0);
	QUIET(SIG_SUPPORT_SILENCE);	/* 5 */
	ticket(T - 179);
	r = FIRES(SIG_SUPPORT_SILENCE);	/* 6: an update is no ticket */
	ck_assert_int_eq(r->severity, SEV_INFO);
	ck_assert_int_eq(r->weight, 5);
	ck_assert_str_eq(r->explanation, "no ticket in the last 60 days after "
	    "6 in the 120 days before (threshold 6)");
	EV_EQ(r, "tickets", 0);
	EV_EQ(r, "baseline_tickets", 6);
	EV_EQ(r, "days", 60);
	EV_EQ(r, "baseline_days", 120);
}
END_TEST

START_TEST(test_support_silence_resolves)
{
	tickets(T - 70, 6);
	FIRES(SIG_SUPPORT_SILENCE);
	ticket(T - 59);
	QUIET(SIG_SUPPORT_SILENCE);
}
END_TEST

START_TEST(test_support_silence_config)
{
	tickets(T - 70, 6);
	set_th(SIG_SUPPORT_SILENCE, "min_baseline_tickets", 7);
	QUIET(SIG_SUPPORT_SILENCE);
	set_th(SIG_SUPPORT_SILENCE, "min_baseline_tickets", 6);
	set_th(SIG_SUPPORT_SILENCE, "recent_days", 71);
	QUIET(SIG_SUPPORT_SILENCE);
	set_th(SIG_SUPPORT_SILENCE, "recent_days", 70);
	FIRES(SIG_SUPPORT_SILENCE);
	cfg.sig[SIG_SUPPORT_SILENCE].enabled = 0;
	QUIET(SIG_SUPPORT_SILENCE);
}
END_TEST

/* ---- champion_left ---- */

START_TEST(test_champion_left_threshold)
{
	const struct sig_result *r;

	contact(EV_CONTACT_JOINED, T - 150, "c_ana", "VP Sales", NULL, 1,
	    NULL);
	contact(EV_CONTACT_LEFT, T - 90, "c_ana", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_JOINED, T - 150, "c_ed", "Engineer", NULL, 0,
	    NULL);
	contact(EV_CONTACT_LEFT, T - 3, "c_ed", NULL, NULL, -1, NULL);
	QUIET(SIG_CHAMPION_LEFT);	/* too early; not a champion */
	/* The champion flag comes from what was known of the contact. */
	contact(EV_CONTACT_JOINED, T - 150, "c_bob", "Head of IT", NULL, 1,
	    NULL);
	contact(EV_CONTACT_LEFT, T - 89, "c_bob", NULL, NULL, -1, NULL);
	r = FIRES(SIG_CHAMPION_LEFT);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_int_eq(r->weight, 30);
	ck_assert_str_eq(r->explanation, "champion 'c_bob' left 89 days ago");
	ck_assert_str_eq(evstr(r, "contact"), "c_bob");
	EV_EQ(r, "days_ago", 89);
	EV_EQ(r, "champions", 1);

	/* Or from the event itself. */
	contact(EV_CONTACT_LEFT, T, "c_cy", NULL, NULL, 1, NULL);
	r = FIRES(SIG_CHAMPION_LEFT);
	ck_assert_str_eq(r->explanation, "2 champions left in the last 90 "
	    "days, the latest 'c_cy' today");
}
END_TEST

START_TEST(test_champion_left_resolves)
{
	contact(EV_CONTACT_LEFT, T - 89, "c_bob", NULL, NULL, 1, NULL);
	FIRES(SIG_CHAMPION_LEFT);
	acct.today = T + 1;
	QUIET(SIG_CHAMPION_LEFT);
}
END_TEST

START_TEST(test_champion_left_config)
{
	contact(EV_CONTACT_LEFT, T - 100, "c_bob", NULL, NULL, 1, NULL);
	QUIET(SIG_CHAMPION_LEFT);
	set_th(SIG_CHAMPION_LEFT, "days", 101);
	FIRES(SIG_CHAMPION_LEFT);
	set_th(SIG_CHAMPION_LEFT, "days", 100);
	QUIET(SIG_CHAMPION_LEFT);
	set_th(SIG_CHAMPION_LEFT, "days", 101);
	cfg.sig[SIG_CHAMPION_LEFT].enabled = 0;
	QUIET(SIG_CHAMPION_LEFT);
}
END_TEST

/* ---- title_downgrade ---- */

START_TEST(test_title_downgrade_threshold)
{
	const struct sig_result *r;

	contact(EV_CONTACT_JOINED, T - 150, "c_1", "Head of Customer Success",
	    NULL, 1, NULL);
	contact(EV_CONTACT_CHANGED, T - 90, "c_1", "Senior Manager", NULL, -1,
	    NULL);
	/* Not a downgrade: a promotion, the same rank, not a champion. */
	contact(EV_CONTACT_JOINED, T - 150, "c_2", "Manager", NULL, 1, NULL);
	contact(EV_CONTACT_CHANGED, T - 5, "c_2", "VP Operations", NULL, -1,
	    NULL);
	contact(EV_CONTACT_JOINED, T - 150, "c_3", "Head of IT", NULL, 1,
	    NULL);
	contact(EV_CONTACT_CHANGED, T - 5, "c_3", "Director of IT", NULL, -1,
	    NULL);
	contact(EV_CONTACT_JOINED, T - 150, "c_4", "VP Sales", NULL, 0, NULL);
	contact(EV_CONTACT_CHANGED, T - 5, "c_4", "Manager", NULL, -1, NULL);
	/* No rank known before. */
	contact(EV_CONTACT_JOINED, T - 150, "c_5", NULL, NULL, 1, NULL);
	contact(EV_CONTACT_CHANGED, T - 5, "c_5", "Manager", NULL, -1, NULL);
	QUIET(SIG_TITLE_DOWNGRADE);

	contact(EV_CONTACT_CHANGED, T - 89, "c_1", "Manager", NULL, -1, NULL);
	r = FIRES(SIG_TITLE_DOWNGRADE);
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "champion 'c_1' went from Senior "
	    "Manager to Manager level 89 days ago");
	ck_assert_str_eq(evstr(r, "from_rank"), "Senior Manager");
	ck_assert_str_eq(evstr(r, "to_rank"), "Manager");
	EV_EQ(r, "days_ago", 89);
}
END_TEST

/* A contact first seen on the change: previous_title gives the rank. */
START_TEST(test_title_downgrade_previous_title)
{
	const struct sig_result *r;

	contact(EV_CONTACT_CHANGED, T - 2, "c_jp", "課長", "部長", 1, NULL);
	r = FIRES(SIG_TITLE_DOWNGRADE);
	ck_assert_str_eq(evstr(r, "from_rank"), "Head/Director");
	ck_assert_str_eq(evstr(r, "to_rank"), "Manager");
	ck_assert_str_eq(r->note, "Head/Director → Manager");
}
END_TEST

START_TEST(test_title_downgrade_resolves)
{
	contact(EV_CONTACT_JOINED, T - 150, "c_1", "Head of Customer Success",
	    NULL, 1, NULL);
	contact(EV_CONTACT_CHANGED, T - 80, "c_1", "Senior Manager", NULL, -1,
	    NULL);
	FIRES(SIG_TITLE_DOWNGRADE);
	acct.today = T + 9;
	FIRES(SIG_TITLE_DOWNGRADE);
	acct.today = T + 10;
	QUIET(SIG_TITLE_DOWNGRADE);
}
END_TEST

START_TEST(test_title_downgrade_config)
{
	contact(EV_CONTACT_CHANGED, T - 30, "c_jp", "課長", "部長", 1, NULL);
	FIRES(SIG_TITLE_DOWNGRADE);
	set_th(SIG_TITLE_DOWNGRADE, "days", 30);
	QUIET(SIG_TITLE_DOWNGRADE);
	set_th(SIG_TITLE_DOWNGRADE, "days", 31);
	FIRES(SIG_TITLE_DOWNGRADE);
	cfg.sig[SIG_TITLE_DOWNGRADE].enabled = 0;
	QUIET(SIG_TITLE_DOWNGRADE);
}
END_TEST

/* ---- new_executive ---- */

START_TEST(test_new_executive_threshold)
{
	const struct sig_result *r;

	contact(EV_CONTACT_JOINED, T - 90, "c_old", "VP Sales", NULL, -1,
	    NULL);
	contact(EV_CONTACT_JOINED, T, "c_head", "Head of Sales", NULL, -1,
	    NULL);				/* one rank below VP */
	contact(EV_CONTACT_CHANGED, T, "c_prom", "VP Marketing",
	    "Head of Marketing", -1, NULL);	/* promoted, not joined */
	QUIET(SIG_NEW_EXECUTIVE);
	contact(EV_CONTACT_JOINED, T - 89, "c_vp", "VP Sales", NULL, -1,
	    NULL);
	r = FIRES(SIG_NEW_EXECUTIVE);
	ck_assert_int_eq(r->severity, SEV_INFO);
	ck_assert_int_eq(r->weight, 5);
	ck_assert_str_eq(r->explanation, "'c_vp' joined at rank VP 89 days "
	    "ago");
	ck_assert_str_eq(evstr(r, "rank"), "VP");
	EV_EQ(r, "from_competitor", 0);
	contact(EV_CONTACT_JOINED, T - 1, "c_ceo", "CEO", NULL, -1, NULL);
	r = FIRES(SIG_NEW_EXECUTIVE);
	ck_assert_str_eq(r->explanation, "'c_ceo' joined at rank C-level "
	    "yesterday (and other executives too)");
	EV_EQ(r, "executives", 2);
}
END_TEST

START_TEST(test_new_executive_competitor)
{
	const struct sig_result *r;

	set_list(&cfg.competitors, "rivalco", NULL);
	contact(EV_CONTACT_JOINED, T - 2, "c_a", "VP Sales", NULL, -1,
	    "Rivalcorp");			/* a different word */
	r = FIRES(SIG_NEW_EXECUTIVE);
	ck_assert_int_eq(r->severity, SEV_INFO);
	contact(EV_CONTACT_JOINED, T - 10, "c_b", "Chief Revenue Officer",
	    NULL, -1, "RivalCo Inc.");
	r = FIRES(SIG_NEW_EXECUTIVE);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_int_eq(r->weight, 30);
	ck_assert_str_eq(r->explanation, "'c_b' joined at rank C-level 10 "
	    "days ago, coming from a competitor (and other executives too)");
	ck_assert_str_eq(evstr(r, "contact"), "c_b");
	EV_EQ(r, "from_competitor", 1);
	/* A weight set in the config holds on critical too. */
	cfg.sig[SIG_NEW_EXECUTIVE].weight = 12;
	r = FIRES(SIG_NEW_EXECUTIVE);
	ck_assert_int_eq(r->weight, 12);
}
END_TEST

START_TEST(test_new_executive_resolves)
{
	contact(EV_CONTACT_JOINED, T - 89, "c_vp", "VP Sales", NULL, -1, NULL);
	FIRES(SIG_NEW_EXECUTIVE);
	acct.today = T + 1;
	QUIET(SIG_NEW_EXECUTIVE);
}
END_TEST

START_TEST(test_new_executive_config)
{
	contact(EV_CONTACT_JOINED, T - 20, "c_vp", "VP Sales", NULL, -1, NULL);
	set_th(SIG_NEW_EXECUTIVE, "days", 20);
	QUIET(SIG_NEW_EXECUTIVE);
	set_th(SIG_NEW_EXECUTIVE, "days", 21);
	FIRES(SIG_NEW_EXECUTIVE);
	cfg.sig[SIG_NEW_EXECUTIVE].severity = SEV_WARNING;
	ck_assert_int_eq(FIRES(SIG_NEW_EXECUTIVE)->weight, 15);
	cfg.sig[SIG_NEW_EXECUTIVE].enabled = 0;
	QUIET(SIG_NEW_EXECUTIVE);
}
END_TEST

/* ---- org signals, whatever order the contact events arrived in ---- */

struct cspec {
	enum cw_event_type	 type;
	int32_t			 day;
	int			 hour;
	const char		*id, *title, *prev;
	int			 champion;
	const char		*company;
};

static char	org_buf[2][8192];

/*
 * Apply specs in the order of perm to an empty window and intern table
 * (ids differ between orders); the org signals as text: name, severity,
 * weight, explanation, note and evidence.
 */
static const char *
org_run(int which, const struct cspec *specs, const size_t *perm, size_t n)
{
	struct cw_event_props p;
	const struct sig_result *r;
	const struct cspec *c;
	char *b = org_buf[which];
	size_t i, o = 0, len = sizeof(org_buf[which]);
	int k, j;

#define OUT(...) do {							\
	o += (size_t)snprintf(b + o, len - o, __VA_ARGS__);		\
	ck_assert_uint_lt(o, len);					\
} while (0)
	window_free(&w);
	intern_purge();
	for (i = 0; i < n; i++) {
		c = &specs[perm[i]];
		memset(&p, 0, sizeof(p));
		p.contact_id = (char *)c->id;
		p.title = (char *)c->title;
		p.previous_title = (char *)c->prev;
		p.is_champion = c->champion;
		p.previous_company = (char *)c->company;
		apply(c->type, c->day, c->hour, NULL, &p);
	}
	nout = signal_evaluate(&cfg, &acct, out);
	ck_assert_int_ge(nout, 0);
	for (k = 0; k < nout; k++) {
		r = &out[k];
		if (r->id < SIG_CHAMPION_LEFT || r->id > SIG_CONTACT_TURNOVER)
			continue;
		OUT("%s %d %d \"%s\" \"%s\"", signal_name(r->id), r->severity,
		    r->weight, r->explanation, r->note);
		for (j = 0; j < r->nev; j++) {
			if (r->ev[j].is_str)
				OUT(" %s=%s", r->ev[j].name, r->ev[j].str);
			else
				OUT(" %s=%g", r->ev[j].name, r->ev[j].num);
		}
		OUT("\n");
	}
#undef OUT
	return b;
}

/*
 * Every permutation of specs (n <= 7), else 300 random ones, gives the
 * org signals of the ts order, which are returned.
 */
static const char *
org_all_orders(const struct cspec *specs, size_t n)
{
	size_t perm[32] = { 0 }, c[32] = { 0 }, i, j, x, k, runs;
	uint32_t rnd = 88172645u;
	const char *got;

	ck_assert_uint_le(n, 32);
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = 1; i < n; i++)			/* by ts, stable */
		for (j = i; j > 0 && (specs[perm[j - 1]].day >
		    specs[perm[j]].day || (specs[perm[j - 1]].day ==
		    specs[perm[j]].day && specs[perm[j - 1]].hour >
		    specs[perm[j]].hour)); j--)
			x = perm[j], perm[j] = perm[j - 1], perm[j - 1] = x;
	org_run(0, specs, perm, n);
	if (n <= 7) {
		for (i = 0; i < n; i++)
			perm[i] = i, c[i] = 0;
		got = org_run(1, specs, perm, n);
		ck_assert_str_eq(got, org_buf[0]);
		for (i = 1; i < n; ) {
			if (c[i] < i) {
				k = i % 2 == 0 ? 0 : c[i];
				x = perm[k], perm[k] = perm[i], perm[i] = x;
				got = org_run(1, specs, perm, n);
				ck_assert_msg(strcmp(got, org_buf[0]) == 0,
				    "an order gives:\n%s\nts order:\n%s", got,
				    org_buf[0]);
				c[i]++;
				i = 1;
			} else
				c[i++] = 0;
		}
	} else {
		for (runs = 0; runs < 300; runs++) {
			for (i = 0; i < n; i++)
				perm[i] = i;
			for (i = n - 1; i > 0; i--) {
				rnd ^= rnd << 13, rnd ^= rnd >> 17;
				rnd ^= rnd << 5;
				k = rnd % (i + 1);
				x = perm[k], perm[k] = perm[i], perm[i] = x;
			}
			got = org_run(1, specs, perm, n);
			ck_assert_msg(strcmp(got, org_buf[0]) == 0,
			    "shuffle %zu gives:\n%s\nts order:\n%s", runs, got,
			    org_buf[0]);
		}
	}
	return org_buf[0];
}

START_TEST(test_org_order_champion_left)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, T - 150, 11, "c_ana", "VP Sales", NULL, 1,
		    NULL },
		{ EV_CONTACT_LEFT, T - 10, 11, "c_ana", NULL, NULL, -1, NULL },
	};
	static const size_t rev[] = { 1, 0 };

	/* The left posted first, then the joined it follows. */
	ck_assert_str_eq(org_run(1, ev, rev, 2),
	    "champion_left 2 30 \"champion 'c_ana' left 10 days ago\" "
	    "\"c_ana\" contact=c_ana days_ago=10 champions=1 days=90\n");
	org_all_orders(ev, NELEM(ev));
}
END_TEST

START_TEST(test_org_order_title_downgrade)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, T - 150, 11, "c_1", "Director of IT", NULL,
		    1, NULL },
		{ EV_CONTACT_CHANGED, T - 60, 11, "c_1", "VP Engineering", NULL,
		    -1, NULL },
		{ EV_CONTACT_CHANGED, T - 30, 11, "c_1", "Manager", NULL, -1,
		    NULL },
	};
	static const size_t rev[] = { 2, 1, 0 };
	const char *want = "title_downgrade 1 15 \"champion 'c_1' went from "
	    "VP to Manager level 30 days ago\" \"VP → Manager\" contact=c_1 "
	    "from_rank=VP to_rank=Manager days_ago=30 downgrades=1 "
	    "days=90\n";

	ck_assert_str_eq(org_run(1, ev, rev, 3), want);
	ck_assert_str_eq(org_all_orders(ev, NELEM(ev)), want);
}
END_TEST

/* is_champion given only on the joined; the left says nothing. */
START_TEST(test_org_order_champion_on_joined)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, T - 100, 11, "c_bo", "Head of CS", NULL,
		    1, NULL },
		{ EV_CONTACT_CHANGED, T - 50, 11, "c_bo", "Senior Manager",
		    NULL, -1, NULL },
		{ EV_CONTACT_LEFT, T - 3, 11, "c_bo", NULL, NULL, -1, NULL },
	};
	const char *got = org_all_orders(ev, NELEM(ev));

	ck_assert_msg(strstr(got, "champion_left 2 30 \"champion 'c_bo' "
	    "left 3 days ago\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "title_downgrade 1 15 \"champion 'c_bo' "
	    "went from Head/Director to Senior Manager level 50 days ago\"")
	    != NULL, "%s", got);
}
END_TEST

START_TEST(test_org_order_equal_ts)
{
	static const struct cspec ev[] = {
		/* Joined and left at one instant: the leaving wins. */
		{ EV_CONTACT_JOINED, T - 5, 11, "c_di", "CEO", NULL, 1, NULL },
		{ EV_CONTACT_LEFT, T - 5, 11, "c_di", NULL, NULL, -1, NULL },
		/* Two champions left at one instant: which is named? */
		{ EV_CONTACT_LEFT, T - 2, 11, "c_zed", NULL, NULL, 1, NULL },
		{ EV_CONTACT_LEFT, T - 2, 11, "c_amy", NULL, NULL, 1, NULL },
		/* Two changes at one instant. */
		{ EV_CONTACT_CHANGED, T - 1, 11, "c_ed", "Manager", "VP Sales",
		    1, NULL },
		{ EV_CONTACT_CHANGED, T - 1, 11, "c_ed", "Director", NULL, -1,
		    NULL },
	};
	const char *got = org_all_orders(ev, NELEM(ev));

	ck_assert_msg(strstr(got, "champion_left 2 30 \"3 champions left in "
	    "the last 90 days, the latest 'c_zed' 2 days ago\"") != NULL,
	    "%s", got);
	ck_assert_msg(strstr(got, "new_executive") != NULL, "%s", got);
}
END_TEST

/* All four org signals at once, many contacts, random orders. */
START_TEST(test_org_order_mixed)
{
	static const struct cspec ev[] = {
		{ EV_CONTACT_JOINED, T - 170, 9, "c_a", "VP Sales", NULL, 1,
		    NULL },
		{ EV_CONTACT_CHANGED, T - 40, 9, "c_a", "Manager", NULL, -1,
		    NULL },
		{ EV_CONTACT_LEFT, T - 20, 9, "c_a", NULL, NULL, -1, NULL },
		{ EV_CONTACT_JOINED, T - 80, 10, "c_b", "Chief Revenue Officer",
		    NULL, -1, "RivalCo Inc." },
		{ EV_CONTACT_CHANGED, T - 30, 10, "c_b", "Director of Sales",
		    NULL, 1, NULL },
		{ EV_CONTACT_JOINED, T - 10, 0, "c_c", "VP Marketing", NULL, -1,
		    NULL },
		{ EV_CONTACT_LEFT, T - 10, 0, "c_c", NULL, NULL, -1, NULL },
		{ EV_CONTACT_CHANGED, T - 5, 5, "c_d", "課長", "部長", 1, NULL },
		{ EV_CONTACT_LEFT, T - 4, 5, "c_d", NULL, NULL, -1, NULL },
		{ EV_CONTACT_JOINED, T - 4, 5, "c_d", NULL, NULL, 0, NULL },
		{ EV_CONTACT_LEFT, T - 50, 7, "c_e", NULL, NULL, -1, NULL },
		{ EV_CONTACT_JOINED, T - 120, 7, "c_e", "CTO", NULL, 1, NULL },
	};
	const char *got;

	set_list(&cfg.competitors, "rivalco", NULL);
	got = org_all_orders(ev, NELEM(ev));
	/*
	 * c_d's joined (not a champion) and left share an instant: the left
	 * comes last and is no champion's.
	 */
	ck_assert_msg(strstr(got, "champion_left 2 30 \"2 champions left in "
	    "the last 90 days, the latest 'c_a' 20 days ago\"") != NULL, "%s",
	    got);
	ck_assert_msg(strstr(got, "title_downgrade") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "new_executive 2") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "contact_turnover") != NULL, "%s", got);
}
END_TEST

/* ---- contact_turnover ---- */

START_TEST(test_contact_turnover_threshold)
{
	const struct sig_result *r;

	contact(EV_CONTACT_LEFT, T - 59, "c_a", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, T - 2, "c_a", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, T, "c_b", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, T - 60, "c_c", NULL, NULL, -1, NULL);
	/* Changed, but not the title. */
	contact(EV_CONTACT_JOINED, T - 100, "c_d", "Engineer", NULL, 0, NULL);
	contact(EV_CONTACT_CHANGED, T - 1, "c_d", "Engineer", NULL, 1, NULL);
	contact(EV_CONTACT_JOINED, T - 1, "c_new", "Engineer", NULL, 0, NULL);
	QUIET(SIG_CONTACT_TURNOVER);		/* 2 */
	contact(EV_CONTACT_CHANGED, T - 10, "c_d", "Lead Engineer", NULL, -1,
	    NULL);
	r = FIRES(SIG_CONTACT_TURNOVER);	/* 3 */
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "3 contacts left or changed title in "
	    "the last 60 days (2 left, 1 changed title; threshold 3)");
	EV_EQ(r, "contacts", 3);
	EV_EQ(r, "left", 2);
	EV_EQ(r, "title_changed", 1);
}
END_TEST

START_TEST(test_contact_turnover_resolves)
{
	contact(EV_CONTACT_LEFT, T - 50, "c_a", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, T - 40, "c_b", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, T - 30, "c_c", NULL, NULL, -1, NULL);
	FIRES(SIG_CONTACT_TURNOVER);
	acct.today = T + 9;
	FIRES(SIG_CONTACT_TURNOVER);
	acct.today = T + 10;
	QUIET(SIG_CONTACT_TURNOVER);
}
END_TEST

START_TEST(test_contact_turnover_config)
{
	contact(EV_CONTACT_LEFT, T - 50, "c_a", NULL, NULL, -1, NULL);
	contact(EV_CONTACT_LEFT, T - 40, "c_b", NULL, NULL, -1, NULL);
	QUIET(SIG_CONTACT_TURNOVER);
	set_th(SIG_CONTACT_TURNOVER, "min_contacts", 2);
	FIRES(SIG_CONTACT_TURNOVER);
	set_th(SIG_CONTACT_TURNOVER, "days", 50);
	QUIET(SIG_CONTACT_TURNOVER);
	set_th(SIG_CONTACT_TURNOVER, "days", 51);
	FIRES(SIG_CONTACT_TURNOVER);
	cfg.sig[SIG_CONTACT_TURNOVER].enabled = 0;
	QUIET(SIG_CONTACT_TURNOVER);
}
END_TEST

/* ---- competitor_exposure ---- */

START_TEST(test_competitor_exposure_threshold)
{
	const struct sig_result *r;

	competitor(T - 29, "RivalCo", "mention");
	competitor(T - 30, "RivalCo", "evaluation");	/* too early */
	competitor(T - 31, "RivalCo", "poc");		/* too early */
	competitor(T, "OtherCorp", "content");
	QUIET(SIG_COMPETITOR_EXPOSURE);			/* 2 */
	competitor(T - 5, "RivalCo", "outreach");
	r = FIRES(SIG_COMPETITOR_EXPOSURE);		/* 3 */
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_int_eq(r->weight, 15);
	ck_assert_str_eq(r->explanation, "3 competitor signals in the last 30 "
	    "days, the latest 'OtherCorp' (content) today (threshold 3)");
	EV_EQ(r, "signals", 3);
	ck_assert_str_eq(evstr(r, "competitor"), "OtherCorp");
	ck_assert_str_eq(evstr(r, "kind"), "content");
}
END_TEST

START_TEST(test_competitor_exposure_poc)
{
	const struct sig_result *r;

	competitor(T - 29, "RivalCo", "evaluation");
	r = FIRES(SIG_COMPETITOR_EXPOSURE);		/* any evaluation */
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "an evaluation of competitor "
	    "'RivalCo' 29 days ago; 1 competitor signal in the last 30 days");
	competitor(T - 3, "RivalCo", "poc");
	competitor(T, "OtherCorp", "mention");
	r = FIRES(SIG_COMPETITOR_EXPOSURE);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_int_eq(r->weight, 30);
	ck_assert_str_eq(r->explanation, "a proof of concept with competitor "
	    "'RivalCo' 3 days ago; 3 competitor signals in the last 30 days");
	ck_assert_str_eq(evstr(r, "kind"), "poc");
	EV_EQ(r, "days_ago", 3);
	/* Even when configured lower. */
	cfg.sig[SIG_COMPETITOR_EXPOSURE].severity = SEV_INFO;
	r = FIRES(SIG_COMPETITOR_EXPOSURE);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
}
END_TEST

START_TEST(test_competitor_exposure_resolves)
{
	competitor(T - 3, "RivalCo", "poc");
	FIRES(SIG_COMPETITOR_EXPOSURE);
	acct.today = T + 26;
	FIRES(SIG_COMPETITOR_EXPOSURE);
	acct.today = T + 27;
	QUIET(SIG_COMPETITOR_EXPOSURE);
}
END_TEST

START_TEST(test_competitor_exposure_config)
{
	competitor(T - 3, "RivalCo", "mention");
	competitor(T - 20, "RivalCo", "event");
	QUIET(SIG_COMPETITOR_EXPOSURE);
	set_th(SIG_COMPETITOR_EXPOSURE, "min_signals", 2);
	FIRES(SIG_COMPETITOR_EXPOSURE);
	set_th(SIG_COMPETITOR_EXPOSURE, "days", 20);
	QUIET(SIG_COMPETITOR_EXPOSURE);
	set_th(SIG_COMPETITOR_EXPOSURE, "days", 21);
	FIRES(SIG_COMPETITOR_EXPOSURE);
	cfg.sig[SIG_COMPETITOR_EXPOSURE].enabled = 0;
	QUIET(SIG_COMPETITOR_EXPOSURE);
}
END_TEST

/* ---- login_decline ---- */

/* n logins a day on each of the 28 days before the last 14. */
static void
login_baseline(unsigned n)
{
	int d;

	for (d = 14; d < 42; d++)
		logins(T - d, 0, n);
}

START_TEST(test_login_decline_threshold)
{
	const struct sig_result *r;
	int d;

	login_baseline(2);			/* 2 a day */
	logins(T - 42, 0, 50);			/* not in the 28 days */
	for (d = 0; d < 14; d++)
		logins(T - d, 0, 1);		/* 1 a day: 50 % */
	QUIET(SIG_LOGIN_DECLINE);
	teardown();
	setup();
	login_baseline(2);
	for (d = 0; d < 13; d++)
		logins(T - d, 0, 1);		/* 13 in 14 days */
	r = FIRES(SIG_LOGIN_DECLINE);
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "logins fell to 0.9 a day in the "
	    "last 14 days from 2.0 a day in the 28 days before, 46% of before "
	    "(threshold: below 50%)");
	ck_assert_str_eq(r->note, "−54%");
	EV_EQ(r, "logins", 13);
	EV_EQ(r, "baseline_logins", 56);
	EV_EQ(r, "daily_mean", 0.93);
	EV_EQ(r, "baseline_daily_mean", 2);
	EV_EQ(r, "ratio", 0.46);
}
END_TEST

/* The mean before must be at least one login a day. */
START_TEST(test_login_decline_min_baseline)
{
	logins(T - 20, 0, 27);
	QUIET(SIG_LOGIN_DECLINE);
	logins(T - 41, 0, 1);
	FIRES(SIG_LOGIN_DECLINE);
}
END_TEST

START_TEST(test_login_decline_resolves)
{
	login_baseline(2);
	logins(T - 5, 0, 3);
	FIRES(SIG_LOGIN_DECLINE);
	logins(T, 0, 11);			/* 14 in 14 days */
	QUIET(SIG_LOGIN_DECLINE);
}
END_TEST

START_TEST(test_login_decline_config)
{
	login_baseline(2);
	logins(T - 5, 0, 7);
	FIRES(SIG_LOGIN_DECLINE);
	set_th(SIG_LOGIN_DECLINE, "ratio", 0.25);	/* below 7 */
	QUIET(SIG_LOGIN_DECLINE);
	set_th(SIG_LOGIN_DECLINE, "ratio", 0.26);
	FIRES(SIG_LOGIN_DECLINE);
	set_th(SIG_LOGIN_DECLINE, "min_baseline_daily", 2.01);
	QUIET(SIG_LOGIN_DECLINE);
	set_th(SIG_LOGIN_DECLINE, "min_baseline_daily", 2);
	FIRES(SIG_LOGIN_DECLINE);
	cfg.sig[SIG_LOGIN_DECLINE].enabled = 0;
	QUIET(SIG_LOGIN_DECLINE);
}
END_TEST

/* ---- login_absent ---- */

START_TEST(test_login_absent_threshold)
{
	const struct sig_result *r;

	login(T - 104, "u");			/* before the 90 days */
	QUIET(SIG_LOGIN_ABSENT);
	login(T - 103, "u");
	r = FIRES(SIG_LOGIN_ABSENT);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_int_eq(r->weight, 30);
	ck_assert_str_eq(r->explanation, "no login in the last 14 days after "
	    "1 in the 90 days before; the last one 103 days ago");
	login(T - 13, "u");
	QUIET(SIG_LOGIN_ABSENT);
}
END_TEST

/* SPEC's sentence: 37 logins, then silence. */
START_TEST(test_login_absent_text)
{
	const struct sig_result *r;

	logins(T - 14, 0, 7);
	logins(T - 50, 0, 30);
	r = FIRES(SIG_LOGIN_ABSENT);
	ck_assert_str_eq(r->explanation, "no login in the last 14 days after "
	    "37 in the 90 days before; the last one 14 days ago");
	EV_EQ(r, "logins", 0);
	EV_EQ(r, "days", 14);
	EV_EQ(r, "baseline_logins", 37);
	EV_EQ(r, "baseline_days", 90);
	EV_EQ(r, "last_login_days_ago", 14);
}
END_TEST

START_TEST(test_login_absent_resolves)
{
	login(T - 20, "u");
	FIRES(SIG_LOGIN_ABSENT);
	login(T, "v");
	QUIET(SIG_LOGIN_ABSENT);
	acct.today = T + 13;
	QUIET(SIG_LOGIN_ABSENT);
	acct.today = T + 14;
	FIRES(SIG_LOGIN_ABSENT);
}
END_TEST

START_TEST(test_login_absent_config)
{
	login(T - 20, "u");
	FIRES(SIG_LOGIN_ABSENT);
	set_th(SIG_LOGIN_ABSENT, "recent_days", 21);
	QUIET(SIG_LOGIN_ABSENT);
	set_th(SIG_LOGIN_ABSENT, "recent_days", 20);
	FIRES(SIG_LOGIN_ABSENT);
	set_th(SIG_LOGIN_ABSENT, "min_baseline_logins", 2);
	QUIET(SIG_LOGIN_ABSENT);
	login(T - 30, "u");
	FIRES(SIG_LOGIN_ABSENT);
	cfg.sig[SIG_LOGIN_ABSENT].enabled = 0;
	QUIET(SIG_LOGIN_ABSENT);
}
END_TEST

/* ---- seat_underuse ---- */

START_TEST(test_seat_underuse_threshold)
{
	const struct sig_result *r;

	acct.seats = 10;
	acct.onboarded_day = T - 30;
	user_login(T - 29, 0);
	user_login(T, 1);
	user_login(T - 30, 2);		/* not in the last 30 days */
	r = FIRES(SIG_SEAT_UNDERUSE);		/* 2 < 3 */
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "2 of 10 seats (20%) were used in "
	    "the last 30 days (threshold 30%)");
	EV_EQ(r, "active_users", 2);
	EV_EQ(r, "seats", 10);
	EV_EQ(r, "share", 0.2);
	EV_EQ(r, "threshold_ratio", 0.3);
	user_login(T - 29, 3);
	QUIET(SIG_SEAT_UNDERUSE);		/* 3 */
}
END_TEST

START_TEST(test_seat_underuse_age)
{
	acct.seats = 10;
	user_login(T, 0);
	acct.onboarded_day = T - 29;		/* too young */
	QUIET(SIG_SEAT_UNDERUSE);
	acct.onboarded_day = T - 30;
	FIRES(SIG_SEAT_UNDERUSE);
	/* No onboarded_at: the first event the window saw. */
	acct.onboarded_day = 0;
	QUIET(SIG_SEAT_UNDERUSE);
	ticket(T - 30);
	FIRES(SIG_SEAT_UNDERUSE);
	/* Seats unknown or 0: nothing to compare. */
	acct.seats = -1;
	QUIET(SIG_SEAT_UNDERUSE);
	acct.seats = 0;
	QUIET(SIG_SEAT_UNDERUSE);
}
END_TEST

START_TEST(test_seat_underuse_resolves)
{
	acct.seats = 5;
	acct.onboarded_day = T - 100;
	user_login(T - 3, 0);
	FIRES(SIG_SEAT_UNDERUSE);
	user_login(T, 1);
	QUIET(SIG_SEAT_UNDERUSE);		/* 2 >= 1.5 */
}
END_TEST

START_TEST(test_seat_underuse_config)
{
	acct.seats = 10;
	acct.onboarded_day = T - 30;
	user_login(T, 0);
	user_login(T, 1);
	FIRES(SIG_SEAT_UNDERUSE);
	set_th(SIG_SEAT_UNDERUSE, "ratio", 0.2);
	QUIET(SIG_SEAT_UNDERUSE);
	set_th(SIG_SEAT_UNDERUSE, "ratio", 0.21);
	FIRES(SIG_SEAT_UNDERUSE);
	set_th(SIG_SEAT_UNDERUSE, "min_age_days", 31);
	QUIET(SIG_SEAT_UNDERUSE);
	set_th(SIG_SEAT_UNDERUSE, "min_age_days", 30);
	cfg.sig[SIG_SEAT_UNDERUSE].enabled = 0;
	QUIET(SIG_SEAT_UNDERUSE);
}
END_TEST

/* ---- usage_spike ---- */

/* Logins on each of the 28 days before today, at midnight. */
static void
spike_baseline(unsigned even, unsigned odd)
{
	int d;

	for (d = 1; d <= 28; d++)
		logins(T - d, 0, d % 2 == 0 ? even : odd);
}

START_TEST(test_usage_spike_min)
{
	const struct sig_result *r;

	spike_baseline(5, 5);			/* mean 5, sigma 0 */
	logins(T, 10, 19);
	QUIET(SIG_USAGE_SPIKE);
	logins(T, 11, 1);
	r = FIRES(SIG_USAGE_SPIKE);		/* 20 */
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "20 logins in the last 24 hours, 4.0 "
	    "× the daily mean of 5.0 (σ 0.0) over the 28 days before "
	    "(threshold: over 3.0 × and mean + 4.0 σ, at least 20)");
	ck_assert_str_eq(r->note, "4.0 × daily mean");
	EV_EQ(r, "logins_24h", 20);
	EV_EQ(r, "baseline_daily_mean", 5);
	EV_EQ(r, "baseline_stddev", 0);
	EV_EQ(r, "ratio", 4);
	EV_EQ(r, "threshold", 20);
}
END_TEST

START_TEST(test_usage_spike_ratio)
{
	spike_baseline(10, 10);			/* more than 30 needed */
	logins(T, 10, 30);
	QUIET(SIG_USAGE_SPIKE);
	logins(T, 10, 1);
	FIRES(SIG_USAGE_SPIKE);
}
END_TEST

START_TEST(test_usage_spike_sigma)
{
	const struct sig_result *r;

	spike_baseline(0, 10);		/* mean 5, sigma 5: > 25 */
	logins(T, 9, 25);
	QUIET(SIG_USAGE_SPIKE);
	logins(T, 9, 1);
	r = FIRES(SIG_USAGE_SPIKE);
	EV_EQ(r, "baseline_daily_mean", 5);
	EV_EQ(r, "baseline_stddev", 5);
	EV_EQ(r, "ratio", 5.2);
}
END_TEST

/* The last 24 hours are hours now-23 .. now: here today's. */
START_TEST(test_usage_spike_hours)
{
	acct.now_hour = (int64_t)T * 24 + 23;
	logins(T - 1, 23, 20);			/* now - 24 h */
	QUIET(SIG_USAGE_SPIKE);
	logins(T, 0, 25);			/* now - 23 h */
	FIRES(SIG_USAGE_SPIKE);
}
END_TEST

START_TEST(test_usage_spike_resolves)
{
	const struct sig_result *r;

	logins(T, 8, 20);			/* no history: mean 0 */
	r = FIRES(SIG_USAGE_SPIKE);
	ck_assert_str_eq(r->explanation, "20 logins in the last 24 hours "
	    "after none in the 28 days before (threshold 20)");
	ck_assert_ptr_null(signal_evidence(r, "ratio"));
	acct.now_hour = NOW_HOUR + 19;		/* 07:00 tomorrow */
	acct.today = T + 1;
	FIRES(SIG_USAGE_SPIKE);
	acct.now_hour = NOW_HOUR + 20;
	QUIET(SIG_USAGE_SPIKE);
}
END_TEST

START_TEST(test_usage_spike_config)
{
	spike_baseline(5, 5);
	logins(T, 10, 20);
	FIRES(SIG_USAGE_SPIKE);
	set_th(SIG_USAGE_SPIKE, "min_logins", 21);
	QUIET(SIG_USAGE_SPIKE);
	set_th(SIG_USAGE_SPIKE, "min_logins", 10);
	set_th(SIG_USAGE_SPIKE, "ratio", 4);
	QUIET(SIG_USAGE_SPIKE);
	set_th(SIG_USAGE_SPIKE, "ratio", 3.9);
	FIRES(SIG_USAGE_SPIKE);
	cfg.sig[SIG_USAGE_SPIKE].enabled = 0;
	QUIET(SIG_USAGE_SPIKE);
}
END_TEST

/* ---- core_feature_unused ---- */

static uint32_t core[2];

static void
set_core(const char *a, const char *b)
{
	core[0] = intern(a, strlen(a));
	acct.ncore = 1;
	if (b != NULL) {
		core[1] = intern(b, strlen(b));
		acct.ncore = 2;
	}
	acct.core_features = core;
}

START_TEST(test_core_feature_unused_threshold)
{
	const struct sig_result *r;

	set_core("reports", NULL);
	feature(T - 14, "reports");
	feature(T, "exports");
	QUIET(SIG_CORE_FEATURE_UNUSED);		/* nobody logs in */
	login(T - 13, "u");
	r = FIRES(SIG_CORE_FEATURE_UNUSED);
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_str_eq(r->explanation, "the core feature 'reports' was not "
	    "used in the last 14 days, while users logged in 1 time");
	EV_EQ(r, "core_features", 1);
	EV_EQ(r, "logins", 1);
	EV_EQ(r, "last_used_days_ago", 14);
	feature(T - 13, "reports");
	QUIET(SIG_CORE_FEATURE_UNUSED);
}
END_TEST

START_TEST(test_core_feature_unused_several)
{
	const struct sig_result *r;

	set_core("reports", "alerts");
	logins(T, 3, 42);
	r = FIRES(SIG_CORE_FEATURE_UNUSED);
	ck_assert_str_eq(r->explanation, "none of the 2 core features "
	    "('reports', 'alerts') was used in the last 14 days, while users "
	    "logged in 42 times");
	ck_assert_ptr_null(signal_evidence(r, "last_used_days_ago"));
	feature(T, "alerts");			/* one of them is enough */
	QUIET(SIG_CORE_FEATURE_UNUSED);
	/* No core features: nothing to check. */
	acct.ncore = 0;
	feature(T - 20, "alerts");
	QUIET(SIG_CORE_FEATURE_UNUSED);
}
END_TEST

START_TEST(test_core_feature_unused_resolves)
{
	set_core("reports", NULL);
	feature(T - 13, "reports");
	login(T, "u");
	QUIET(SIG_CORE_FEATURE_UNUSED);
	acct.today = T + 1;
	FIRES(SIG_CORE_FEATURE_UNUSED);
	feature(T + 1, "reports");
	QUIET(SIG_CORE_FEATURE_UNUSED);
}
END_TEST

START_TEST(test_core_feature_unused_config)
{
	set_core("reports", NULL);
	feature(T - 20, "reports");
	logins(T, 1, 2);
	FIRES(SIG_CORE_FEATURE_UNUSED);
	set_th(SIG_CORE_FEATURE_UNUSED, "days", 21);
	QUIET(SIG_CORE_FEATURE_UNUSED);
	set_th(SIG_CORE_FEATURE_UNUSED, "days", 20);
	FIRES(SIG_CORE_FEATURE_UNUSED);
	set_th(SIG_CORE_FEATURE_UNUSED, "min_logins", 3);
	QUIET(SIG_CORE_FEATURE_UNUSED);
	set_th(SIG_CORE_FEATURE_UNUSED, "min_logins", 2);
	cfg.sig[SIG_CORE_FEATURE_UNUSED].enabled = 0;
	QUIET(SIG_CORE_FEATURE_UNUSED);
}
END_TEST

/* ---- onboarding_stall ---- */

START_TEST(test_onboarding_stall_threshold)
{
	const struct sig_result *r;

	acct.onboarded_day = T - 14;
	user_login(T, 0);
	user_login(T - 14, 1);		/* not in the last 14 days */
	r = FIRES(SIG_ONBOARDING_STALL);	/* 1 < 2 */
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_str_eq(r->explanation, "1 user active in the last 14 days, "
	    "14 days after onboarding (expected at least 2)");
	EV_EQ(r, "active_users", 1);
	EV_EQ(r, "days_since_onboarding", 14);
	EV_EQ(r, "threshold", 2);
	ck_assert_ptr_null(signal_evidence(r, "seats"));
	user_login(T - 13, 1);
	QUIET(SIG_ONBOARDING_STALL);
}
END_TEST

START_TEST(test_onboarding_stall_window)
{
	user_login(T, 0);
	QUIET(SIG_ONBOARDING_STALL);		/* onboarded_at unknown */
	acct.onboarded_day = T - 13;		/* the first two weeks */
	QUIET(SIG_ONBOARDING_STALL);
	acct.onboarded_day = T - 89;
	FIRES(SIG_ONBOARDING_STALL);
	acct.onboarded_day = T - 90;		/* onboarding is over */
	QUIET(SIG_ONBOARDING_STALL);
	acct.onboarded_day = T + 3;		/* in the future */
	QUIET(SIG_ONBOARDING_STALL);
}
END_TEST

START_TEST(test_onboarding_stall_seats)
{
	const struct sig_result *r;
	int i;

	acct.onboarded_day = T - 20;
	acct.seats = 20;			/* 20 % of 20 = 4 */
	for (i = 0; i < 3; i++)
		user_login(T - i, i);
	r = FIRES(SIG_ONBOARDING_STALL);
	ck_assert_str_eq(r->explanation, "3 users active in the last 14 days, "
	    "20 days after onboarding (expected at least 4: 2 or 20% of 20 "
	    "seats, whichever is more)");
	EV_EQ(r, "threshold", 4);
	EV_EQ(r, "seats", 20);
	user_login(T, 3);
	QUIET(SIG_ONBOARDING_STALL);
	/* 20 % of 12 is 2.4: three users are needed. */
	acct.seats = 12;
	QUIET(SIG_ONBOARDING_STALL);
	teardown();
	setup();
	acct.onboarded_day = T - 20;
	acct.seats = 12;
	user_login(T, 0);
	user_login(T, 1);
	r = FIRES(SIG_ONBOARDING_STALL);
	EV_EQ(r, "threshold", 3);
	user_login(T, 2);
	QUIET(SIG_ONBOARDING_STALL);
	/* Few seats: at least 2 still. */
	acct.seats = 5;
	QUIET(SIG_ONBOARDING_STALL);
}
END_TEST

START_TEST(test_onboarding_stall_resolves)
{
	acct.onboarded_day = T - 30;
	FIRES(SIG_ONBOARDING_STALL);		/* nobody at all */
	user_login(T, 0);
	user_login(T, 1);
	QUIET(SIG_ONBOARDING_STALL);
	acct.today = T + 13;
	QUIET(SIG_ONBOARDING_STALL);
	acct.today = T + 14;			/* they went quiet */
	FIRES(SIG_ONBOARDING_STALL);
}
END_TEST

START_TEST(test_onboarding_stall_config)
{
	acct.onboarded_day = T - 20;
	user_login(T, 0);
	user_login(T, 1);
	QUIET(SIG_ONBOARDING_STALL);
	set_th(SIG_ONBOARDING_STALL, "min_active", 3);
	FIRES(SIG_ONBOARDING_STALL);
	set_th(SIG_ONBOARDING_STALL, "grace_days", 21);
	QUIET(SIG_ONBOARDING_STALL);
	set_th(SIG_ONBOARDING_STALL, "grace_days", 14);
	set_th(SIG_ONBOARDING_STALL, "onboarding_days", 20);
	QUIET(SIG_ONBOARDING_STALL);
	set_th(SIG_ONBOARDING_STALL, "onboarding_days", 21);
	FIRES(SIG_ONBOARDING_STALL);
	set_th(SIG_ONBOARDING_STALL, "min_active", 2);
	acct.seats = 10;
	set_th(SIG_ONBOARDING_STALL, "ratio", 0.3);	/* 3 needed */
	FIRES(SIG_ONBOARDING_STALL);
	cfg.sig[SIG_ONBOARDING_STALL].enabled = 0;
	QUIET(SIG_ONBOARDING_STALL);
}
END_TEST

/* ---- no_touch ---- */

START_TEST(test_no_touch_threshold)
{
	const struct sig_result *r;

	acct.onboarded_day = T - 100;
	touch(T - 30);
	r = FIRES(SIG_NO_TOUCH);
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_int_eq(r->weight, 15);
	ck_assert_str_eq(r->explanation, "no touchpoint in the last 30 days; "
	    "the last one 30 days ago");
	EV_EQ(r, "touchpoints", 0);
	EV_EQ(r, "days", 30);
	EV_EQ(r, "last_touch_days_ago", 30);
	EV_EQ(r, "account_age_days", 100);
	touch(T - 29);
	QUIET(SIG_NO_TOUCH);
}
END_TEST

/* A new account: the first 14 days after onboarded_at. */
START_TEST(test_no_touch_new_account)
{
	const struct sig_result *r;

	touch(T - 20);				/* before onboarding */
	acct.onboarded_day = T - 13;
	QUIET(SIG_NO_TOUCH);		/* its 14 days are not over */
	acct.onboarded_day = T - 14;
	r = FIRES(SIG_NO_TOUCH);
	ck_assert_str_eq(r->explanation, "no touchpoint in the 14 days since "
	    "onboarding (expected within the first 14)");
	EV_EQ(r, "days_since_onboarding", 14);
	ck_assert_ptr_null(signal_evidence(r, "days"));
	acct.onboarded_day = T - 21;
	QUIET(SIG_NO_TOUCH);			/* T-20 is after it */
	acct.onboarded_day = T - 19;
	FIRES(SIG_NO_TOUCH);
	touch(T - 19);			/* onboarding day itself */
	QUIET(SIG_NO_TOUCH);
}
END_TEST

/* No onboarded_at: the age is that of the first event. */
START_TEST(test_no_touch_first_event)
{
	const struct sig_result *r;

	QUIET(SIG_NO_TOUCH);			/* nothing known */
	login(T - 13, "u");
	QUIET(SIG_NO_TOUCH);
	login(T - 14, "u");
	r = FIRES(SIG_NO_TOUCH);
	ck_assert_str_eq(r->explanation, "no touchpoint in the last 30 days, "
	    "and none on record");
	ck_assert_ptr_null(signal_evidence(r, "last_touch_days_ago"));
}
END_TEST

START_TEST(test_no_touch_resolves)
{
	acct.onboarded_day = T - 100;
	FIRES(SIG_NO_TOUCH);
	touch(T);
	QUIET(SIG_NO_TOUCH);
	acct.today = T + 29;
	QUIET(SIG_NO_TOUCH);
	acct.today = T + 30;
	FIRES(SIG_NO_TOUCH);
}
END_TEST

START_TEST(test_no_touch_config)
{
	acct.onboarded_day = T - 100;
	touch(T - 40);
	FIRES(SIG_NO_TOUCH);
	set_th(SIG_NO_TOUCH, "days", 41);
	QUIET(SIG_NO_TOUCH);
	set_th(SIG_NO_TOUCH, "days", 40);
	FIRES(SIG_NO_TOUCH);
	acct.onboarded_day = T - 14;
	set_th(SIG_NO_TOUCH, "grace_days", 15);
	QUIET(SIG_NO_TOUCH);
	set_th(SIG_NO_TOUCH, "grace_days", 14);
	FIRES(SIG_NO_TOUCH);
	cfg.sig[SIG_NO_TOUCH].enabled = 0;
	QUIET(SIG_NO_TOUCH);
}
END_TEST

/* Long names are cut on a character, not inside one. */
START_TEST(test_long_names)
{
	const struct sig_result *r;
	char team[400];
	size_t i, n;

	for (i = 0; i + 3 <= 300; i += 3)
		memcpy(team + i, "営", 3);
	team[i] = '\0';
	for (i = 0; i < 10; i++)
		team_ticket(T, team, "x");
	r = FIRES(SIG_TICKET_REPEAT_TEAM);
	n = strlen(r->explanation);
	ck_assert_uint_lt(n, SIG_EXPLANATION_MAX);
	ck_assert_uint_ge(n, SIG_EXPLANATION_MAX - 4);
	/* "10 tickets from team '" is 22 bytes; then whole characters. */
	ck_assert_uint_eq((n - 22) % 3, 0);
	ck_assert_str_eq(evstr(r, "team"), team);
}
END_TEST

/* ---- meeting_attendance_decline ---- */

/* Two meetings in the 120 days before the last 60: 0.75 and 1.0. */
static void
attendance_baseline(void)
{
	meeting(T - 60, 3, 4);
	meeting(T - 179, 8, 8);
	meeting(T - 180, 0, 8);		/* too old */
	meeting(T - 100, 0, 0);		/* nobody invited: no rate */
}

START_TEST(test_attendance_threshold)
{
	const struct sig_result *r;

	attendance_baseline();
	meeting(T - 59, 5, 8);		/* 0.625 */
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);	/* one meeting */
	meeting(T, 51, 80);		/* 0.6375: a drop of 0.2375 */
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);
	teardown();
	setup();
	attendance_baseline();
	meeting(T - 59, 5, 8);
	meeting(T, 5, 8);		/* 0.625: a drop of 0.25 */
	r = FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
	ck_assert_str_eq(r->explanation, "meetings were attended by 62% of "
	    "the invited on average over 2 meetings in the last 60 days, "
	    "down from 88% over 2 in the 120 days before (threshold: a drop "
	    "of 25 points)");
	ck_assert_str_eq(r->note, "attendance 88% → 62%");
	EV_EQ(r, "rate", 0.63);
	EV_EQ(r, "baseline_rate", 0.88);
	EV_EQ(r, "meetings", 2);
	EV_EQ(r, "baseline_meetings", 2);
	EV_EQ(r, "drop", 0.25);
	EV_EQ(r, "threshold", 0.25);
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_int_eq(r->weight, 15);
}
END_TEST

/* Calls, and meetings without both numbers, have no attendance. */
START_TEST(test_attendance_meetings_only)
{
	struct cw_event_props p;

	attendance_baseline();
	meeting(T - 59, 5, 8);
	event_props_init(&p);
	p.kind = (char *)"call";
	p.attendees = 0;
	p.invited = 8;
	apply(EV_TOUCHPOINT, T, 10, NULL, &p);
	meeting(T, -1, 8);
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);
	meeting(T, 0, 8);
	FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
}
END_TEST

START_TEST(test_attendance_resolves)
{
	attendance_baseline();
	meeting(T - 30, 1, 4);
	meeting(T - 29, 1, 4);
	FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
	meeting(T, 4, 4);		/* (0.25 + 0.25 + 1) / 3 = 0.5 */
	FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
	meeting(T, 4, 4);		/* 0.625: still a drop of 0.25 */
	FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
	meeting(T, 4, 4);		/* 0.7 */
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);
}
END_TEST

START_TEST(test_attendance_config)
{
	attendance_baseline();
	meeting(T - 59, 5, 8);
	meeting(T, 5, 8);
	FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
	set_th(SIG_MEETING_ATTENDANCE_DECLINE, "drop", 0.26);
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);
	set_th(SIG_MEETING_ATTENDANCE_DECLINE, "drop", 0.25);
	set_th(SIG_MEETING_ATTENDANCE_DECLINE, "min_meetings", 3);
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);
	set_th(SIG_MEETING_ATTENDANCE_DECLINE, "min_meetings", 2);
	set_th(SIG_MEETING_ATTENDANCE_DECLINE, "recent_days", 59);
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);	/* T - 59 moves back */
	set_th(SIG_MEETING_ATTENDANCE_DECLINE, "recent_days", 60);
	FIRES(SIG_MEETING_ATTENDANCE_DECLINE);
	cfg.sig[SIG_MEETING_ATTENDANCE_DECLINE].enabled = 0;
	QUIET(SIG_MEETING_ATTENDANCE_DECLINE);
}
END_TEST

/* ---- voice_risk ---- */

START_TEST(test_voice_risk_threshold)
{
	const struct sig_result *r;

	note_on(T - 30, "They are looking at other tools.");	/* too old */
	note_on(T, "Great quarter, the team loves it.");
	QUIET(SIG_VOICE_RISK);
	note_on(T - 29, "Our Budget is tight this year");
	r = FIRES(SIG_VOICE_RISK);
	ck_assert_str_eq(r->explanation,
	    "a note on 2024-09-05 says \"budget\" (budget)");
	ck_assert_str_eq(r->note, "\"budget\"");
	ck_assert_str_eq(evstr(r, "phrase"), "budget");
	ck_assert_str_eq(evstr(r, "class"), "budget");
	EV_EQ(r, "days_ago", 29);
	EV_EQ(r, "notes", 1);
	EV_EQ(r, "days", 30);
}
END_TEST

START_TEST(test_voice_risk_japanese)
{
	const struct sig_result *r;

	note_on(T - 3, "最近忙しくて、打ち合わせの時間が取れない");
	QUIET(SIG_VOICE_RISK);		/* 忙しく, not 忙しい */
	note_on(T - 2, "来期は他社も見ているとのこと");
	r = FIRES(SIG_VOICE_RISK);
	ck_assert_str_eq(r->explanation,
	    "a note on 2024-10-02 says \"他社\" (alternatives)");
	note_on(T - 1, "組織変更で担当が変わる");
	note_on(T - 1, "Price increase next year worries them");
	r = FIRES(SIG_VOICE_RISK);
	/* The newest, the later applied of a day; all three counted. */
	ck_assert_str_eq(r->explanation, "a note on 2024-10-03 says "
	    "\"price increase\" (price); 3 notes with a risk phrase in the "
	    "last 30 days");
	EV_EQ(r, "notes", 3);
}
END_TEST

START_TEST(test_voice_risk_config)
{
	static const char *const mine[] = { "tight", NULL };

	note_on(T - 5, "money is tight");
	QUIET(SIG_VOICE_RISK);
	/* The phrases are read when a note is applied. */
	ck_assert_int_eq(signal_phrases_set(&cfg, "budget", mine), 0);
	signal_win_rules(&cfg, &rules);
	ck_assert_str_eq(cfg.voice_phrases[3].text, "tight");
	ck_assert_str_eq(cfg.voice_phrases[3].cls, "budget");
	ck_assert_str_eq(cfg.voice_phrases[4].text, "other tools");
	note_on(T - 5, "money is tight");
	FIRES(SIG_VOICE_RISK);
	set_th(SIG_VOICE_RISK, "days", 5);
	QUIET(SIG_VOICE_RISK);
	set_th(SIG_VOICE_RISK, "days", 6);
	FIRES(SIG_VOICE_RISK);
	cfg.sig[SIG_VOICE_RISK].enabled = 0;
	QUIET(SIG_VOICE_RISK);
	/* No phrases of a class: the class is gone, new ones append. */
	ck_assert_int_eq(signal_phrases_set(&cfg, "time", NULL), 0);
	ck_assert_str_eq(cfg.voice_phrases[0].text, "tight");
	ck_assert_int_eq(signal_phrases_set(&cfg, "legal", mine), 0);
	ck_assert_str_eq(cfg.voice_phrases[6].text, "reorganisation");
	ck_assert_str_eq(cfg.voice_phrases[9].cls, "legal");
	ck_assert_ptr_null(cfg.voice_phrases[10].text);
}
END_TEST

/* ---- data coverage (SPEC 4) ---- */

static int32_t	 since_days[SIGCAT__COUNT];

/* Cover every class from day d, the account existing from day x. */
static void
cover(int32_t d, int32_t x)
{
	int c;

	for (c = 0; c < SIGCAT__COUNT; c++)
		since_days[c] = d;
	acct.data_since = since_days;
	acct.exists_day = x;
}

START_TEST(test_coverage_absence_needs_data)
{
	int32_t since;
	char buf[96];

	login(T - 20, "u");
	FIRES(SIG_LOGIN_ABSENT);
	/* No usage data at all: not judged, not active. */
	cover(0, T - 20);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_ABSENT,
	    &since), GAP_NO_DATA);
	ck_assert_str_eq(signal_gap_text(SIG_LOGIN_ABSENT, GAP_NO_DATA, since,
	    buf, sizeof(buf)), "no usage data yet");
	QUIET(SIG_LOGIN_ABSENT);
	/* login_absent reads an absence in its last 14 days only. */
	cover(T - 12, T - 20);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_ABSENT,
	    &since), GAP_DATA_SINCE);
	ck_assert_int_eq(since, T - 12);
	QUIET(SIG_LOGIN_ABSENT);
	cover(T - 13, T - 20);			/* exactly the 14 days */
	FIRES(SIG_LOGIN_ABSENT);
	/* The account too must exist for those days. */
	cover(T - 200, T - 12);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_ABSENT,
	    &since), GAP_ACCOUNT_SINCE);
	QUIET(SIG_LOGIN_ABSENT);
	cover(T - 200, 0);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_ABSENT,
	    &since), GAP_NO_ACCOUNT);
	QUIET(SIG_LOGIN_ABSENT);
	cover(T - 200, T - 13);
	FIRES(SIG_LOGIN_ABSENT);
}
END_TEST

/* A decline compares two spans: both must be covered. */
START_TEST(test_coverage_whole_window)
{
	int32_t since;

	cover(T - 41, T - 41);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_DECLINE,
	    &since), GAP_NONE);			/* 14 + 28 days */
	cover(T - 40, T - 41);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_DECLINE,
	    &since), GAP_DATA_SINCE);
	/* A config change of the spans moves what must be covered. */
	set_th(SIG_LOGIN_DECLINE, "baseline_days", 27);
	ck_assert_int_eq(signal_coverage(&cfg, &acct, SIG_LOGIN_DECLINE,
	    &since), GAP_NONE);
}
END_TEST

/* seat_underuse on metadata alone, then with coverage. */
START_TEST(test_coverage_seat_underuse)
{
	acct.seats = 30;
	acct.onboarded_day = T - 100;
	FIRES(SIG_SEAT_UNDERUSE);		/* the rule alone: 0 of 30 */
	cover(0, T - 100);			/* nobody sent usage yet */
	QUIET(SIG_SEAT_UNDERUSE);
	since_days[SIGCAT_USAGE] = T - 10;	/* only 10 days of it */
	QUIET(SIG_SEAT_UNDERUSE);
	since_days[SIGCAT_USAGE] = T - 29;	/* the whole 30 days */
	FIRES(SIG_SEAT_UNDERUSE);
}
END_TEST

/* Signals that read what happened never wait for coverage. */
START_TEST(test_coverage_not_absence)
{
	struct cw_event_props p;
	int32_t since;
	int i;

	cover(0, 0);
	for (i = 0; i < SIG__COUNT; i++)
		if (!signal_is_absence((enum sig_id)i))
			ck_assert_int_eq(signal_coverage(&cfg, &acct,
			    (enum sig_id)i, &since), GAP_NONE);
	memset(&p, 0, sizeof(p));
	p.is_champion = -1;
	p.competitor = (char *)"rival";
	p.kind = (char *)"poc";
	apply(EV_COMPETITOR_SIGNAL, T, 0, NULL, &p);
	FIRES(SIG_COMPETITOR_EXPOSURE);
	ck_assert(signal_is_absence(SIG_NO_TOUCH));
	ck_assert(!signal_is_absence(SIG_USAGE_SPIKE));
}
END_TEST

static Suite *
signal_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("signal");

	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_evaluate_order);
	tcase_add_test(tc, test_long_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("ticket_velocity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ticket_velocity_min);
	tcase_add_test(tc, test_ticket_velocity_ratio);
	tcase_add_test(tc, test_ticket_velocity_resolves);
	tcase_add_test(tc, test_ticket_velocity_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("ticket_repeat_team");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ticket_repeat_team_threshold);
	tcase_add_test(tc, test_ticket_repeat_team_text);
	tcase_add_test(tc, test_ticket_repeat_team_resolves);
	tcase_add_test(tc, test_ticket_repeat_team_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("ticket_sentiment_decline");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sentiment_threshold);
	tcase_add_test(tc, test_sentiment_min_tickets);
	tcase_add_test(tc, test_sentiment_resolves);
	tcase_add_test(tc, test_sentiment_config);
	tcase_add_test(tc, test_sentiment_by_ticket);
	suite_add_tcase(s, tc);

	tc = tcase_create("churn_intent");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_churn_intent_threshold);
	tcase_add_test(tc, test_churn_intent_resolves);
	tcase_add_test(tc, test_churn_intent_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("support_silence");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_support_silence_threshold);
	tcase_add_test(tc, test_support_silence_resolves);
	tcase_add_test(tc, test_support_silence_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("champion_left");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_champion_left_threshold);
	tcase_add_test(tc, test_champion_left_resolves);
	tcase_add_test(tc, test_champion_left_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("title_downgrade");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_title_downgrade_threshold);
	tcase_add_test(tc, test_title_downgrade_previous_title);
	tcase_add_test(tc, test_title_downgrade_resolves);
	tcase_add_test(tc, test_title_downgrade_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("new_executive");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_executive_threshold);
	tcase_add_test(tc, test_new_executive_competitor);
	tcase_add_test(tc, test_new_executive_resolves);
	tcase_add_test(tc, test_new_executive_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("contact_turnover");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_contact_turnover_threshold);
	tcase_add_test(tc, test_contact_turnover_resolves);
	tcase_add_test(tc, test_contact_turnover_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("org_arrival_order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_org_order_champion_left);
	tcase_add_test(tc, test_org_order_title_downgrade);
	tcase_add_test(tc, test_org_order_champion_on_joined);
	tcase_add_test(tc, test_org_order_equal_ts);
	tcase_add_test(tc, test_org_order_mixed);
	suite_add_tcase(s, tc);

	tc = tcase_create("competitor_exposure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_competitor_exposure_threshold);
	tcase_add_test(tc, test_competitor_exposure_poc);
	tcase_add_test(tc, test_competitor_exposure_resolves);
	tcase_add_test(tc, test_competitor_exposure_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("login_decline");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_login_decline_threshold);
	tcase_add_test(tc, test_login_decline_min_baseline);
	tcase_add_test(tc, test_login_decline_resolves);
	tcase_add_test(tc, test_login_decline_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("login_absent");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_login_absent_threshold);
	tcase_add_test(tc, test_login_absent_text);
	tcase_add_test(tc, test_login_absent_resolves);
	tcase_add_test(tc, test_login_absent_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("seat_underuse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_seat_underuse_threshold);
	tcase_add_test(tc, test_seat_underuse_age);
	tcase_add_test(tc, test_seat_underuse_resolves);
	tcase_add_test(tc, test_seat_underuse_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage_spike");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_usage_spike_min);
	tcase_add_test(tc, test_usage_spike_ratio);
	tcase_add_test(tc, test_usage_spike_sigma);
	tcase_add_test(tc, test_usage_spike_hours);
	tcase_add_test(tc, test_usage_spike_resolves);
	tcase_add_test(tc, test_usage_spike_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("core_feature_unused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_core_feature_unused_threshold);
	tcase_add_test(tc, test_core_feature_unused_several);
	tcase_add_test(tc, test_core_feature_unused_resolves);
	tcase_add_test(tc, test_core_feature_unused_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("onboarding_stall");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_onboarding_stall_threshold);
	tcase_add_test(tc, test_onboarding_stall_window);
	tcase_add_test(tc, test_onboarding_stall_seats);
	tcase_add_test(tc, test_onboarding_stall_resolves);
	tcase_add_test(tc, test_onboarding_stall_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("no_touch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_touch_threshold);
	tcase_add_test(tc, test_no_touch_new_account);
	tcase_add_test(tc, test_no_touch_first_event);
	tcase_add_test(tc, test_no_touch_resolves);
	tcase_add_test(tc, test_no_touch_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("meeting_attendance_decline");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_attendance_threshold);
	tcase_add_test(tc, test_attendance_meetings_only);
	tcase_add_test(tc, test_attendance_resolves);
	tcase_add_test(tc, test_attendance_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("voice_risk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_voice_risk_threshold);
	tcase_add_test(tc, test_voice_risk_japanese);
	tcase_add_test(tc, test_voice_risk_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("coverage");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_coverage_absence_needs_data);
	tcase_add_test(tc, test_coverage_whole_window);
	tcase_add_test(tc, test_coverage_seat_underuse);
	tcase_add_test(tc, test_coverage_not_absence);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(signal_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
