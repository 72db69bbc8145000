/*
 * signal.c -- the churn signals of SPEC 4: one const table (sig_table)
 * and one eval function per signal.
 *
 * A row names the signal, its category and tier, its default severity
 * and play, and its thresholds (config key, kind, default, bounds).
 * Adding a signal is one enum value in signal.h, one row and one
 * function here.  Each eval function reads the account's windows through
 * the window.h queries (or, for the small record arrays a query does not
 * cover, loops over them itself), decides, and on "active" fills the
 * explanation sentence, a short note for the score decomposition and the
 * evidence numbers.
 *
 * Pure: no clock, no I/O, no allocation of its own during evaluation
 * (two window queries sort a temporary copy, and fall back to a scan
 * without memory).  Not here:
 * scores (score.c), alert state (alert.c), parsing [signal:NAME]
 * (config.c), JSON (http.c).
 *
 * Days: "the last N days" are [today - N + 1, today]; "the M days before"
 * are [today - N - M + 1, today - N].  Comparisons with real thresholds
 * allow for binary rounding (1e-9 relative), so "exactly at the
 * threshold" means what it says in decimal.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "signal.h"
#include "title.h"
#include "util.h"
#include "window.h"

typedef int	(*sig_eval_fn)(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);

struct sig_def {
	const char		*name;
	enum sig_category	 category;
	int			 tier;		/* 0 = none */
	enum sig_severity	 severity;
	const char		*play;
	sig_eval_fn		 eval;
	struct sig_threshold	 th[SIG_MAX_THRESHOLDS]; /* key NULL ends */
};

static int	eval_ticket_velocity(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_ticket_repeat_team(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_ticket_sentiment_decline(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_churn_intent(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_support_silence(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_champion_left(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_title_downgrade(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_new_executive(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_contact_turnover(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_competitor_exposure(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_login_decline(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_login_absent(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_seat_underuse(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_usage_spike(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_core_feature_unused(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_onboarding_stall(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_no_touch(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_meeting_attendance_decline(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);
static int	eval_voice_risk(const struct sig_params *,
		    const struct sig_account *, struct sig_result *);

/* Threshold indexes, per signal, in the order of its row. */
enum { TV_MIN_TICKETS, TV_RATIO, TV_RECENT_DAYS, TV_BASELINE_DAYS };
enum { TR_MIN_TICKETS, TR_DAYS };
enum { TS_DROP, TS_MIN_TICKETS, TS_RECENT_DAYS, TS_BASELINE_DAYS };
enum { CI_DAYS };
enum { SS_MIN_BASELINE_TICKETS, SS_RECENT_DAYS, SS_BASELINE_DAYS };
enum { CL_DAYS };
enum { TD_DAYS };
enum { NE_DAYS };
enum { CT_MIN_CONTACTS, CT_DAYS };
enum { CE_MIN_SIGNALS, CE_DAYS };
enum { LD_RATIO, LD_MIN_BASELINE_DAILY, LD_RECENT_DAYS, LD_BASELINE_DAYS };
enum { LA_MIN_BASELINE_LOGINS, LA_RECENT_DAYS, LA_BASELINE_DAYS };
enum { SU_RATIO, SU_DAYS, SU_MIN_AGE_DAYS };
enum { US_RATIO, US_SIGMAS, US_MIN_LOGINS, US_BASELINE_DAYS };
enum { CF_DAYS, CF_MIN_LOGINS };
enum { OS_ONBOARDING_DAYS, OS_GRACE_DAYS, OS_DAYS, OS_RATIO, OS_MIN_ACTIVE };
enum { NT_DAYS, NT_GRACE_DAYS };
enum { MA_DROP, MA_MIN_MEETINGS, MA_RECENT_DAYS, MA_BASELINE_DAYS };
enum { VR_DAYS };

#define SPAN		SIG_HISTORY_DAYS
#define COUNT_MAX	1000000.0

/*
 * The table.  Each row's comment says how SPEC 4's rule is read where
 * the SPEC leaves room.
 */
static const struct sig_def sig_table[SIG__COUNT] = {
	/*
	 * Tickets created in the last recent_days >= min_tickets, and >=
	 * ratio x the tickets created in the baseline_days before, scaled
	 * to recent_days (90 d / 3 by default).  No tickets before: the
	 * ratio part holds.
	 */
	[SIG_TICKET_VELOCITY] = { "ticket_velocity", SIGCAT_SUPPORT, 1,
	    SEV_WARNING,
	    "Read the last 30 days of tickets with the support lead, then "
	    "call the admin before they call you.",
	    eval_ticket_velocity, {
		{ "min_tickets", TH_COUNT, 5, 1, COUNT_MAX,
		    "fewest tickets created in the recent span" },
		{ "ratio", TH_REAL, 2.0, 1.0, 1000.0,
		    "at least this many times the baseline rate" },
		{ "recent_days", TH_DAYS, 30, 1, SPAN,
		    "days of the recent span" },
		{ "baseline_days", TH_DAYS, 90, 1, SPAN,
		    "days of the baseline span before it" },
	} },
	/*
	 * The (requester team, category) with most tickets created in the
	 * last days has >= min_tickets.  Tickets without a team or a
	 * category are not in any group.
	 */
	[SIG_TICKET_REPEAT_TEAM] = { "ticket_repeat_team", SIGCAT_SUPPORT, 1,
	    SEV_CRITICAL,
	    "Raise the cluster with engineering as one problem, then meet "
	    "that team with a fix plan and dates.",
	    eval_ticket_repeat_team, {
		{ "min_tickets", TH_COUNT, 10, 1, COUNT_MAX,
		    "fewest tickets of one requester team and category" },
		{ "days", TH_DAYS, 120, 1, SPAN,
		    "days looked back" },
	} },
	/*
	 * Mean sentiment of the tickets rated in the last recent_days <=
	 * the mean of the baseline_days before - drop, with at least
	 * min_tickets distinct tickets in each span.  A ticket (one
	 * ticket_id) counts once per span, with the sentiment of its latest
	 * rated event in that span (window_sentiment()).  Sentiment is kept
	 * in hundredths, so drop is used to two decimals.
	 */
	[SIG_TICKET_SENTIMENT_DECLINE] = { "ticket_sentiment_decline",
	    SIGCAT_SUPPORT, 1, SEV_WARNING,
	    "Manager-level outreach: acknowledge the frustration before "
	    "proposing anything.",
	    eval_ticket_sentiment_decline, {
		{ "drop", TH_REAL, 0.3, 0.01, 2.0,
		    "fall of mean ticket sentiment that fires (two decimals)" },
		{ "min_tickets", TH_COUNT, 3, 1, COUNT_MAX,
		    "fewest rated tickets in each span" },
		{ "recent_days", TH_DAYS, 30, 1, SPAN,
		    "days of the recent span" },
		{ "baseline_days", TH_DAYS, 90, 1, SPAN,
		    "days of the baseline span before it" },
	} },
	/*
	 * A ticket.* event in the last days whose category, tags or
	 * subject matched [signals] intent_patterns when it was applied.
	 */
	[SIG_CHURN_INTENT] = { "churn_intent", SIGCAT_SUPPORT, 1,
	    SEV_CRITICAL,
	    "Call today at manager level: learn the real reason and prepare "
	    "the renewal case.",
	    eval_churn_intent, {
		{ "days", TH_DAYS, 30, 1, SPAN,
		    "days looked back for a ticket matching intent_patterns" },
	} },
	/*
	 * No ticket created in the last recent_days after >=
	 * min_baseline_tickets created in the baseline_days before.
	 */
	[SIG_SUPPORT_SILENCE] = { "support_silence", SIGCAT_SUPPORT, 1,
	    SEV_INFO,
	    "A friendly check-in: we haven't heard from you, how is it "
	    "going?",
	    eval_support_silence, {
		{ "min_baseline_tickets", TH_COUNT, 6, 1, COUNT_MAX,
		    "fewest tickets in the baseline span" },
		{ "recent_days", TH_DAYS, 60, 1, SPAN,
		    "days without a ticket that fire" },
		{ "baseline_days", TH_DAYS, 120, 1, SPAN,
		    "days of the baseline span before it" },
	} },
	/* A contact.left of a contact who was a champion, in the last days. */
	[SIG_CHAMPION_LEFT] = { "champion_left", SIGCAT_ORG, 2, SEV_CRITICAL,
	    "Find the successor this week, re-walk the original business "
	    "case with them, and set up an exec-to-exec call.",
	    eval_champion_left, {
		{ "days", TH_DAYS, 90, 1, SPAN,
		    "days looked back for a champion leaving" },
	} },
	/*
	 * A contact event of a champion in the last days whose title rank
	 * fell (old and new rank both known).
	 */
	[SIG_TITLE_DOWNGRADE] = { "title_downgrade", SIGCAT_ORG, 2,
	    SEV_WARNING,
	    "Map who decides now and get introduced to the new decision "
	    "maker while the champion still can.",
	    eval_title_downgrade, {
		{ "days", TH_DAYS, 90, 1, SPAN,
		    "days looked back for a champion's title falling" },
	} },
	/*
	 * A contact.joined of rank VP or above in the last days.  Critical
	 * (whatever the configured severity) when previous_company was a
	 * configured competitor.
	 */
	[SIG_NEW_EXECUTIVE] = { "new_executive", SIGCAT_ORG, 2, SEV_INFO,
	    "Executive briefing within two weeks: outcomes so far, roadmap, "
	    "and their priorities.",
	    eval_new_executive, {
		{ "days", TH_DAYS, 90, 1, SPAN,
		    "days looked back for a VP or above joining" },
	} },
	/*
	 * >= min_contacts distinct contacts that left, or changed title,
	 * in the last days.
	 */
	[SIG_CONTACT_TURNOVER] = { "contact_turnover", SIGCAT_ORG, 2,
	    SEV_WARNING,
	    "Refresh the stakeholder map and offer a hand-over session and "
	    "training for the newcomers.",
	    eval_contact_turnover, {
		{ "min_contacts", TH_COUNT, 3, 1, COUNT_MAX,
		    "fewest contacts that left or changed title" },
		{ "days", TH_DAYS, 60, 1, SPAN,
		    "days looked back" },
	} },
	/*
	 * >= min_signals competitor.signal events in the last days, or any
	 * evaluation or poc among them.  Critical (whatever the configured
	 * severity) on a poc.
	 */
	[SIG_COMPETITOR_EXPOSURE] = { "competitor_exposure",
	    SIGCAT_COMPETITOR, 3, SEV_WARNING,
	    "Competitive positioning with the champion, an exec sponsor "
	    "call, and a look at what is coming.",
	    eval_competitor_exposure, {
		{ "min_signals", TH_COUNT, 3, 1, COUNT_MAX,
		    "fewest competitor.signal events (or one evaluation/poc)" },
		{ "days", TH_DAYS, 30, 1, SPAN,
		    "days looked back" },
	} },
	/*
	 * Mean daily logins of the last recent_days < ratio x the mean of
	 * the baseline_days before, and that mean >= min_baseline_daily.
	 */
	[SIG_LOGIN_DECLINE] = { "login_decline", SIGCAT_USAGE, 0, SEV_WARNING,
	    "Logins have dropped: ask if you can help, and offer a usage "
	    "review or a short webinar.",
	    eval_login_decline, {
		{ "ratio", TH_REAL, 0.5, 0.01, 1.0,
		    "daily logins below this share of the baseline fire" },
		{ "min_baseline_daily", TH_REAL, 1.0, 0.01, COUNT_MAX,
		    "least mean daily logins in the baseline span" },
		{ "recent_days", TH_DAYS, 14, 1, SPAN,
		    "days of the recent span" },
		{ "baseline_days", TH_DAYS, 28, 1, SPAN,
		    "days of the baseline span before it" },
	} },
	/*
	 * No login in the last recent_days after >= min_baseline_logins in
	 * the baseline_days before.
	 */
	[SIG_LOGIN_ABSENT] = { "login_absent", SIGCAT_USAGE, 0, SEV_CRITICAL,
	    "Call the champion this week and find out what replaced the "
	    "tool in their workflow.",
	    eval_login_absent, {
		{ "min_baseline_logins", TH_COUNT, 1, 1, COUNT_MAX,
		    "fewest logins in the baseline span" },
		{ "recent_days", TH_DAYS, 14, 1, SPAN,
		    "days without a login that fire" },
		{ "baseline_days", TH_DAYS, 90, 1, SPAN,
		    "days of the baseline span before it" },
	} },
	/*
	 * seats known and > 0, the account at least min_age_days old
	 * (onboarded_at, else the first day the window saw), and the users
	 * seen in the last days < ratio x seats.
	 */
	[SIG_SEAT_UNDERUSE] = { "seat_underuse", SIGCAT_USAGE, 0, SEV_WARNING,
	    "Training aimed at the non-users (mind IT literacy) and an "
	    "adoption plan before renewal talks.",
	    eval_seat_underuse, {
		{ "ratio", TH_REAL, 0.3, 0.01, 1.0,
		    "active users below this share of seats fire" },
		{ "days", TH_DAYS, 30, 1, SPAN,
		    "days in which users count as active" },
		{ "min_age_days", TH_AGE, 30, 0, 3650,
		    "youngest account age, in days, that may fire" },
	} },
	/*
	 * Logins in the 24 hours up to now > ratio x the daily mean of the
	 * baseline_days before today, and > mean + sigmas x the population
	 * standard deviation of those daily counts, and >= min_logins.  An
	 * account with no logins before counts as a mean of 0.
	 */
	[SIG_USAGE_SPIKE] = { "usage_spike", SIGCAT_USAGE, 0, SEV_WARNING,
	    "Check tickets and error reports for this account, then ask the "
	    "admin what is going on.",
	    eval_usage_spike, {
		{ "ratio", TH_REAL, 3.0, 1.0, 1000.0,
		    "last 24 h logins above this many times the daily mean" },
		{ "sigmas", TH_REAL, 4.0, 0, 100.0,
		    "and above the mean plus this many standard deviations" },
		{ "min_logins", TH_COUNT, 20, 1, COUNT_MAX,
		    "and at least this many logins" },
		{ "baseline_days", TH_DAYS, 28, 2, SPAN - 1,
		    "days of the baseline before today" },
	} },
	/*
	 * The account has core_features, none of them was used in the last
	 * days, and there were >= min_logins logins in those days.
	 */
	[SIG_CORE_FEATURE_UNUSED] = { "core_feature_unused", SIGCAT_USAGE, 0,
	    SEV_WARNING,
	    "Share a use case from a similar customer and offer a 30-minute "
	    "workshop on that feature.",
	    eval_core_feature_unused, {
		{ "days", TH_DAYS, 14, 1, SPAN,
		    "days without a use of any core feature that fire" },
		{ "min_logins", TH_COUNT, 1, 1, COUNT_MAX,
		    "fewest logins in those days" },
	} },
	/*
	 * onboarded_at known, grace_days <= days since it < onboarding_days
	 * (the account has had its first two weeks), and the users seen in
	 * the last days < max(min_active, ratio x seats); seats unknown:
	 * min_active.
	 */
	[SIG_ONBOARDING_STALL] = { "onboarding_stall", SIGCAT_USAGE, 0,
	    SEV_CRITICAL,
	    "Contact within days, agree on one concrete first success, and "
	    "hold weekly check-ins until it is reached.",
	    eval_onboarding_stall, {
		{ "onboarding_days", TH_AGE, 90, 1, 3650,
		    "days after onboarded_at that count as onboarding" },
		{ "grace_days", TH_AGE, 14, 0, 3650,
		    "first days of onboarding that never fire" },
		{ "days", TH_DAYS, 14, 1, SPAN,
		    "days in which users count as active" },
		{ "ratio", TH_REAL, 0.2, 0, 1.0,
		    "active users below this share of seats fire" },
		{ "min_active", TH_COUNT, 2, 1, COUNT_MAX,
		    "fewer active users than this fire (also without seats)" },
	} },
	/*
	 * The account is at least grace_days old (onboarded_at, else the
	 * first day the window saw), and there was no touchpoint in the
	 * last days -- counting only from onboarded_at when that is more
	 * recent.  So a new account fires once its first grace_days have
	 * passed without a touchpoint since onboarding, and resolves with
	 * the first one.
	 */
	[SIG_NO_TOUCH] = { "no_touch", SIGCAT_ENGAGEMENT, 0, SEV_WARNING,
	    "Book a check-in and spend the first five minutes on small talk "
	    "about team and org changes.",
	    eval_no_touch, {
		{ "days", TH_DAYS, 30, 1, SPAN,
		    "days without a touchpoint that fire" },
		{ "grace_days", TH_AGE, 14, 0, 3650,
		    "youngest account age, in days, that may fire" },
	} },
	/*
	 * Mean attendance rate (attendees / invited, each meeting alike)
	 * of the meetings of the last recent_days <= the mean of the
	 * baseline_days before - drop, with >= min_meetings in each span.
	 * A meeting is a touchpoint of kind meeting with attendees and
	 * invited (> 0) given; rates are kept to 1/10000, so drop is used
	 * to four decimals.
	 */
	[SIG_MEETING_ATTENDANCE_DECLINE] = { "meeting_attendance_decline",
	    SIGCAT_ENGAGEMENT, 0, SEV_WARNING,
	    "Ask the champion whom the meeting still serves; shorten it, "
	    "set its agenda by their goals, or invite the new decision "
	    "makers.",
	    eval_meeting_attendance_decline, {
		{ "drop", TH_REAL, 0.25, 0.01, 1.0,
		    "fall of the mean attendance rate that fires" },
		{ "min_meetings", TH_COUNT, 2, 1, COUNT_MAX,
		    "fewest meetings in each span" },
		{ "recent_days", TH_DAYS, 60, 1, SPAN,
		    "days of the recent span" },
		{ "baseline_days", TH_DAYS, 120, 1, SPAN,
		    "days of the baseline span before it" },
	} },
	/*
	 * A note in the last days whose text held one of [signals]
	 * voice_phrases when it was applied (the first phrase, in their
	 * order, is the one quoted).  The newest such note is told.
	 */
	[SIG_VOICE_RISK] = { "voice_risk", SIGCAT_ENGAGEMENT, 0, SEV_WARNING,
	    "Take the remark as a signal, not small talk: follow up this week "
	    "with the one thing that answers it (time saved, the cost case, "
	    "a comparison).",
	    eval_voice_risk, {
		{ "days", TH_DAYS, 30, 1, SPAN,
		    "days looked back for a note with a voice phrase" },
	} },
};

/*
 * The signals that read the absence of something (SPEC 4, "Data
 * coverage"): each may fire only when its category -- the data class it
 * reads -- has been covered, and the account has existed, for the whole
 * window in which it reads an absence.  That is the sum of its day spans,
 * except for the signals in sig_absence_recent, which read an absence
 * only in their first span ("no login in the last 14 d") and need
 * positive evidence in the baseline before it ("after at least one in
 * the 90 d before"): the baseline proves itself.
 */
#define SIG_BIT(id)	(UINT32_C(1) << (id))
static const uint32_t sig_absence = SIG_BIT(SIG_LOGIN_DECLINE) |
    SIG_BIT(SIG_LOGIN_ABSENT) | SIG_BIT(SIG_SEAT_UNDERUSE) |
    SIG_BIT(SIG_CORE_FEATURE_UNUSED) | SIG_BIT(SIG_ONBOARDING_STALL) |
    SIG_BIT(SIG_NO_TOUCH) | SIG_BIT(SIG_SUPPORT_SILENCE) |
    SIG_BIT(SIG_MEETING_ATTENDANCE_DECLINE);
static const uint32_t sig_absence_recent = SIG_BIT(SIG_LOGIN_ABSENT) |
    SIG_BIT(SIG_SUPPORT_SILENCE) | SIG_BIT(SIG_MEETING_ATTENDANCE_DECLINE);

static const char *const category_names[SIGCAT__COUNT] = {
	[SIGCAT_SUPPORT] = "support",
	[SIGCAT_ORG] = "org",
	[SIGCAT_COMPETITOR] = "competitor",
	[SIGCAT_USAGE] = "usage",
	[SIGCAT_ENGAGEMENT] = "engagement",
};

static const struct {
	const char	*name;
	int		 weight;
} severities[SEV__COUNT] = {
	[SEV_INFO] = { "info", 5 },
	[SEV_WARNING] = { "warning", 15 },
	[SEV_CRITICAL] = { "critical", 30 },
};

/* SPEC 4's default churn-intent patterns. */
static const char *const default_intent_patterns[] = {
	"cancel", "cancellation", "terminate", "contract", "downgrade",
	"export data", "usage report", "解約", "契約",
};

/*
 * SPEC 4's default risk phrases, by class (the class is what a
 * portfolio trend groups by).  見直し ("reconsidering", of a contract or
 * a tool) is read as looking at alternatives.
 */
static const struct {
	const char	*text;
	const char	*cls;
} default_phrases[] = {
	{ "busy", "time" },
	{ "no time", "time" },
	{ "忙しい", "time" },
	{ "budget", "budget" },
	{ "cost cut", "budget" },
	{ "予算", "budget" },
	{ "コスト削減", "budget" },
	{ "other tools", "alternatives" },
	{ "alternative", "alternatives" },
	{ "他社", "alternatives" },
	{ "見直し", "alternatives" },
	{ "price increase", "price" },
	{ "reorganisation", "reorganisation" },
	{ "reorganization", "reorganisation" },
	{ "組織変更", "reorganisation" },
};

static const char *const competitor_kind_names[] = {
	[WCK_MENTION] = "mention",
	[WCK_EVENT] = "event",
	[WCK_OUTREACH] = "outreach",
	[WCK_CONTENT] = "content",
	[WCK_EVALUATION] = "evaluation",
	[WCK_POC] = "poc",
	[WCK_UNKNOWN] = "unknown",
};

#define NELEM(t)	(sizeof(t) / sizeof((t)[0]))

/* ---- the table ---- */

int
signal_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < SIG__COUNT; i++)
		if (strcmp(sig_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
sig_valid(enum sig_id id)
{
	return (unsigned)id < SIG__COUNT;
}

int
signal_is_absence(enum sig_id id)
{
	return sig_valid(id) && (sig_absence & SIG_BIT(id)) != 0;
}

const char *
signal_name(enum sig_id id)
{
	return sig_valid(id) ? sig_table[id].name : NULL;
}

enum sig_category
signal_category(enum sig_id id)
{
	return sig_valid(id) ? sig_table[id].category : SIGCAT__COUNT;
}

const char *
signal_category_str(enum sig_category c)
{
	return (unsigned)c < SIGCAT__COUNT ? category_names[c] : NULL;
}

int
signal_category_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < SIGCAT__COUNT; i++)
		if (strcmp(category_names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
signal_category_name(enum sig_id id)
{
	return sig_valid(id) ?
	    signal_category_str(sig_table[id].category) : NULL;
}

int
signal_tier(enum sig_id id)
{
	return sig_valid(id) ? sig_table[id].tier : 0;
}

enum sig_severity
signal_default_severity(enum sig_id id)
{
	return sig_valid(id) ? sig_table[id].severity : SEV_INFO;
}

const char *
signal_default_play(enum sig_id id)
{
	return sig_valid(id) ? sig_table[id].play : NULL;
}

const struct sig_threshold *
signal_thresholds(enum sig_id id, size_t *n)
{
	size_t i;

	*n = 0;
	if (!sig_valid(id))
		return NULL;
	for (i = 0; i < SIG_MAX_THRESHOLDS && sig_table[id].th[i].key != NULL;
	    i++)
		;
	*n = i;
	return sig_table[id].th;
}

int
signal_threshold_find(enum sig_id id, const char *key)
{
	const struct sig_threshold *th;
	size_t i, n;

	if ((th = signal_thresholds(id, &n)) == NULL || key == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(th[i].key, key) == 0)
			return (int)i;
	return -1;
}

const char *
severity_name(enum sig_severity s)
{
	return (unsigned)s < SEV__COUNT ? severities[s].name : NULL;
}

int
severity_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < SEV__COUNT; i++)
		if (strcmp(severities[i].name, s) == 0)
			return (int)i;
	return -1;
}

int
severity_weight(enum sig_severity s)
{
	return (unsigned)s < SEV__COUNT ? severities[s].weight : 0;
}

/* ---- configuration ---- */

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
signal_config_defaults(struct sig_config *c)
{
	const struct sig_threshold *th;
	size_t i, j, n;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < SIG__COUNT; i++) {
		c->sig[i].enabled = 1;
		c->sig[i].severity = sig_table[i].severity;
		c->sig[i].weight = -1;
		c->sig[i].play = NULL;
		th = signal_thresholds(i, &n);
		for (j = 0; j < n; j++)
			c->sig[i].threshold[j] = th[j].def;
	}
	c->interval = 60;
	c->competitors = calloc(1, sizeof(char *));
	c->intent_patterns = calloc(NELEM(default_intent_patterns) + 1,
	    sizeof(char *));
	if (c->competitors == NULL || c->intent_patterns == NULL)
		return -1;
	for (i = 0; i < NELEM(default_intent_patterns); i++)
		if ((c->intent_patterns[i] =
		    strdup(default_intent_patterns[i])) == NULL)
			return -1;
	if ((c->voice_phrases = calloc(NELEM(default_phrases) + 1,
	    sizeof(*c->voice_phrases))) == NULL)
		return -1;
	for (i = 0; i < NELEM(default_phrases); i++)
		if ((c->voice_phrases[i].text =
		    strdup(default_phrases[i].text)) == NULL ||
		    (c->voice_phrases[i].cls =
		    strdup(default_phrases[i].cls)) == NULL)
			return -1;
	return 0;
}

static void
phrases_free(struct win_phrase *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i].text != NULL || v[i].cls != NULL; i++) {
		free(v[i].text);
		free(v[i].cls);
	}
	free(v);
}

int
signal_phrases_set(struct sig_config *c, const char *cls,
    const char *const *texts)
{
	struct win_phrase *old = c->voice_phrases, *v;
	size_t i, j, k, nold = 0, nnew = 0, at;

	for (; old != NULL && old[nold].text != NULL; nold++)
		;
	for (; texts != NULL && texts[nnew] != NULL; nnew++)
		;
	if ((v = calloc(nold + nnew + 1, sizeof(*v))) == NULL)
		return -1;
	for (at = 0; at < nold && strcmp(old[at].cls, cls) != 0; at++)
		;
	/* The others as they were, the class's new phrases at "at". */
	for (i = j = 0; i <= nold; i++) {
		if (i == at)
			for (k = 0; k < nnew; k++, j++)
				if ((v[j].text = strdup(texts[k])) == NULL ||
				    (v[j].cls = strdup(cls)) == NULL)
					goto fail;
		if (i == nold || strcmp(old[i].cls, cls) == 0)
			continue;
		if ((v[j].text = strdup(old[i].text)) == NULL ||
		    (v[j].cls = strdup(old[i].cls)) == NULL)
			goto fail;
		j++;
	}
	phrases_free(old);
	c->voice_phrases = v;
	return 0;
fail:
	phrases_free(v);
	return -1;
}

void
signal_config_free(struct sig_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SIG__COUNT; i++) {
		free(c->sig[i].play);
		c->sig[i].play = NULL;
	}
	strv_free(c->intent_patterns);
	strv_free(c->competitors);
	phrases_free(c->voice_phrases);
	c->intent_patterns = NULL;
	c->competitors = NULL;
	c->voice_phrases = NULL;
}

int
signal_params_check(enum sig_id id, const struct sig_params *p, char *why,
    size_t len)
{
	const struct sig_threshold *th;
	size_t i, n, off;
	double sum = 0;
	int nspan = 0;

	if ((th = signal_thresholds(id, &n)) == NULL) {
		snprintf(why, len, "unknown signal");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (th[i].kind == TH_DAYS) {
			sum += p->threshold[i];
			nspan++;
		}
	if (nspan < 2 || sum <= SIG_HISTORY_DAYS)
		return 0;
	off = 0;
	for (i = 0; i < n && off < len; i++) {
		if (th[i].kind != TH_DAYS)
			continue;
		off += snprintf(why + off, len - off, "%s%s",
		    off == 0 ? "" : " + ", th[i].key);
	}
	if (off < len)
		snprintf(why + off, len - off, " must be at most %d days "
		    "(the history the windows keep), not %.0f",
		    SIG_HISTORY_DAYS, sum);
	return -1;
}

const char *
signal_play(const struct sig_config *c, enum sig_id id)
{
	if (!sig_valid(id))
		return NULL;
	if (c != NULL && c->sig[id].play != NULL)
		return c->sig[id].play;
	return sig_table[id].play;
}

int
signal_weight(const struct sig_params *p, enum sig_severity sev)
{
	return p->weight >= 0 ? p->weight : severity_weight(sev);
}

void
signal_win_rules(const struct sig_config *c, struct win_rules *out)
{
	out->intent_patterns = (const char *const *)c->intent_patterns;
	out->competitors = (const char *const *)c->competitors;
	out->phrases = c->voice_phrases;
}

/* ---- helpers for the rules ---- */

#define TH(p, i)	((p)->threshold[(i)])
#define ITH(p, i)	((int)(p)->threshold[(i)])

/* First day of "the last n days". */
static int32_t
last_from(const struct sig_account *a, int n)
{
	return a->today - n + 1;
}

static double
slack(double b)
{
	return 1e-9 * (b < 0 ? (b < -1 ? -b : 1) : (b > 1 ? b : 1));
}

/* a >= b, a > b, a < b, allowing for binary rounding of b. */
static int
ge(double a, double b)
{
	return a >= b - slack(b);
}

static int
gt(double a, double b)
{
	return a > b + slack(b);
}

static int
lt(double a, double b)
{
	return a < b - slack(b);
}

/* Round to two decimals for evidence (no libm). */
static double
round2(double x)
{
	double y = x * 100.0;

	y = (double)(int64_t)(y < 0 ? y - 0.5 : y + 0.5);
	return y / 100.0;
}

/* Square root by Newton's method, for a standard deviation (no libm). */
static double
sqroot(double x)
{
	double r;
	int i;

	if (x <= 0)
		return 0;
	r = x > 1 ? x : 1;
	for (i = 0; i < 200; i++) {
		double n = (r + x / r) / 2;

		if (n >= r)
			break;
		r = n;
	}
	return r;
}

/* Cut s back to a whole UTF-8 sequence after snprintf truncated it. */
static void
utf8_trim(char *s)
{
	size_t n = strlen(s), k, need;
	unsigned char c;

	if (n == 0)
		return;
	k = n;
	while (k > 0 && ((unsigned char)s[k - 1] & 0xc0) == 0x80)
		k--;
	if (k == 0)
		return;
	c = (unsigned char)s[k - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (k - 1 + need > n)
		s[k - 1] = '\0';
}

static void	explain(struct sig_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	note(struct sig_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
explain(struct sig_result *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->explanation, sizeof(r->explanation), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(r->explanation))
		utf8_trim(r->explanation);
}

static void
note(struct sig_result *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(r->note))
		utf8_trim(r->note);
}

static void
ev_num(struct sig_result *r, const char *name, double v)
{
	struct sig_evidence *e;

	if (r->nev >= SIG_MAX_EVIDENCE)
		return;
	e = &r->ev[r->nev++];
	e->name = name;
	e->is_str = 0;
	e->num = v;
	e->str = NULL;
}

static void
ev_str(struct sig_result *r, const char *name, const char *s)
{
	struct sig_evidence *e;

	if (r->nev >= SIG_MAX_EVIDENCE)
		return;
	e = &r->ev[r->nev++];
	e->name = name;
	e->is_str = 1;
	e->num = 0;
	e->str = s != NULL ? s : "";
}

static const char *
plural(unsigned long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

#define AGO_MAX	32

/* "today", "yesterday", "12 days ago", in buf (AGO_MAX bytes). */
static const char *
ago(char *buf, int days)
{
	if (days == 0)
		return "today";
	if (days == 1)
		return "yesterday";
	snprintf(buf, AGO_MAX, "%d days ago", days);
	return buf;
}

/* The smallest whole number not below need (as lt() sees it). */
static int
at_least(double need)
{
	int k = need > 0 ? (int)need : 0;

	while (lt(k, need))
		k++;
	return k;
}

/* ---- the rules, in table order ---- */

static int
eval_ticket_velocity(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	int rd = ITH(p, TV_RECENT_DAYS), bd = ITH(p, TV_BASELINE_DAYS);
	double ratio = TH(p, TV_RATIO), avg, x;
	unsigned n, b;
	int32_t from = last_from(a, rd);

	n = window_tickets_created(a->w, from, a->today);
	b = window_tickets_created(a->w, from - bd, from - 1);
	if (!ge(n, TH(p, TV_MIN_TICKETS)))
		return 0;
	/* n / rd >= ratio * b / bd, kept in whole products. */
	if (!ge((double)n * bd, ratio * b * rd))
		return 0;
	ev_num(r, "tickets", n);
	ev_num(r, "days", rd);
	ev_num(r, "baseline_tickets", b);
	ev_num(r, "baseline_days", bd);
	if (b == 0) {
		explain(r, "%u tickets opened in the last %d days, none in "
		    "the %d days before (threshold %d tickets)", n, rd, bd,
		    ITH(p, TV_MIN_TICKETS));
		note(r, "%u tickets, none before", n);
	} else {
		avg = (double)b * rd / bd;
		x = n / avg;
		ev_num(r, "ratio", round2(x));
		explain(r, "%u tickets opened in the last %d days, %.1f × "
		    "this account's average of %.1f per %d days over the %d "
		    "days before (threshold %d tickets and %.1f ×)", n, rd, x,
		    avg, rd, bd, ITH(p, TV_MIN_TICKETS), ratio);
		note(r, "%.1f × baseline", x);
	}
	ev_num(r, "threshold", ITH(p, TV_MIN_TICKETS));
	ev_num(r, "threshold_ratio", ratio);
	return 1;
}

static int
eval_ticket_repeat_team(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	int days = ITH(p, TR_DAYS), min = ITH(p, TR_MIN_TICKETS);
	uint32_t team = 0, cat = 0;
	unsigned n;

	n = window_top_team_category(a->w, last_from(a, days), a->today,
	    &team, &cat);
	if (n == 0 || team == 0 || cat == 0 || n < (unsigned)min)
		return 0;
	explain(r, "%u tickets from team '%s' in category '%s' in the last "
	    "%d days (threshold %d)", n, intern_str(team), intern_str(cat),
	    days, min);
	note(r, "%u tickets, one team", n);
	ev_num(r, "tickets", n);
	ev_str(r, "team", intern_str(team));
	ev_str(r, "category", intern_str(cat));
	ev_num(r, "days", days);
	ev_num(r, "threshold", min);
	return 1;
}

static int
eval_ticket_sentiment_decline(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	int rd = ITH(p, TS_RECENT_DAYS), bd = ITH(p, TS_BASELINE_DAYS);
	int32_t from = last_from(a, rd);
	int64_t sr, sb, drop;
	unsigned nr, nb, min = (unsigned)ITH(p, TS_MIN_TICKETS);
	double mr, mb;

	window_sentiment(a->w, from, a->today, &sr, &nr);
	window_sentiment(a->w, from - bd, from - 1, &sb, &nb);
	if (nr < min || nb < min)
		return 0;
	/* In hundredths, exactly: sr/nr <= sb/nb - drop. */
	drop = (int64_t)(TH(p, TS_DROP) * 100.0 + 0.5);
	if (sr * (int64_t)nb > (sb - drop * (int64_t)nb) * (int64_t)nr)
		return 0;
	mr = (double)sr / nr / 100.0;
	mb = (double)sb / nb / 100.0;
	explain(r, "mean ticket sentiment fell to %.2f over %u rated tickets "
	    "in the last %d days from %.2f over %u in the %d days before, a "
	    "drop of %.2f (threshold %.2f)", mr, nr, rd, mb, nb, bd, mb - mr,
	    drop / 100.0);
	note(r, "sentiment %.2f → %.2f", mb, mr);
	ev_num(r, "mean", round2(mr));
	ev_num(r, "tickets", nr);
	ev_num(r, "days", rd);
	ev_num(r, "baseline_mean", round2(mb));
	ev_num(r, "baseline_tickets", nb);
	ev_num(r, "baseline_days", bd);
	ev_num(r, "drop", round2(mb - mr));
	ev_num(r, "threshold", drop / 100.0);
	return 1;
}

static int
eval_churn_intent(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	const struct window *w = a->w;
	int days = ITH(p, CI_DAYS);
	int32_t from = last_from(a, days), latest = 0;
	char when[AGO_MAX];
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < w->ntickets; i++) {
		const struct win_ticket *t = &w->tickets[i];

		if (!t->intent || t->day < from || t->day > a->today)
			continue;
		n++;
		if (t->day > latest)
			latest = t->day;
	}
	if (n == 0)
		return 0;
	/* The window keeps the match, not the pattern: no quote here. */
	if (n == 1)
		explain(r, "a ticket %s matches the churn-intent patterns "
		    "(cancelling, contract terms, downgrading, exporting "
		    "data, ...)", ago(when, a->today - latest));
	else
		explain(r, "%u tickets in the last %d days match the "
		    "churn-intent patterns (cancelling, contract terms, "
		    "downgrading, exporting data, ...), the latest %s", n,
		    days, ago(when, a->today - latest));
	note(r, "%u intent %s", n, plural(n, "ticket", "tickets"));
	ev_num(r, "tickets", n);
	ev_num(r, "days", days);
	ev_num(r, "latest_days_ago", a->today - latest);
	return 1;
}

static int
eval_support_silence(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	int rd = ITH(p, SS_RECENT_DAYS), bd = ITH(p, SS_BASELINE_DAYS);
	int min = ITH(p, SS_MIN_BASELINE_TICKETS);
	int32_t from = last_from(a, rd);
	unsigned n, b;

	n = window_tickets_created(a->w, from, a->today);
	b = window_tickets_created(a->w, from - bd, from - 1);
	if (n != 0 || b < (unsigned)min)
		return 0;
	explain(r, "no ticket in the last %d days after %u in the %d days "
	    "before (threshold %d)", rd, b, bd, min);
	note(r, "silent %d days", rd);
	ev_num(r, "tickets", 0);
	ev_num(r, "days", rd);
	ev_num(r, "baseline_tickets", b);
	ev_num(r, "baseline_days", bd);
	ev_num(r, "threshold", min);
	return 1;
}

/*
 * The contact events in the last days that pass ok(), counted; *pick is
 * the newest of them in contact order (window_cevent_cmp(): by ts, ties
 * by the facts, never by arrival, so the same after a restart).
 */
static unsigned
contact_events(const struct sig_account *a, int days,
    int (*ok)(const struct win_contact_event *),
    const struct win_contact_event **pick)
{
	const struct window *w = a->w;
	int32_t from = last_from(a, days);
	unsigned n = 0;
	uint32_t i;

	*pick = NULL;
	for (i = 0; i < w->ncevents; i++) {
		const struct win_contact_event *e = &w->cevents[i];

		if (e->day < from || e->day > a->today || !ok(e))
			continue;
		n++;
		if (*pick == NULL || window_cevent_cmp(e, *pick) > 0)
			*pick = e;
	}
	return n;
}

static int
is_champion_left(const struct win_contact_event *e)
{
	return e->kind == WC_LEFT && e->champion;
}

static int
eval_champion_left(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	const struct win_contact_event *e;
	int days = ITH(p, CL_DAYS);
	char when[AGO_MAX];
	const char *who;
	unsigned n;

	if ((n = contact_events(a, days, is_champion_left, &e)) == 0)
		return 0;
	who = intern_str(e->contact);
	if (n == 1)
		explain(r, "champion '%s' left %s", who,
		    ago(when, a->today - e->day));
	else
		explain(r, "%u champions left in the last %d days, the latest "
		    "'%s' %s", n, days, who, ago(when, a->today - e->day));
	note(r, "%s", who);
	ev_str(r, "contact", who);
	ev_num(r, "days_ago", a->today - e->day);
	ev_num(r, "champions", n);
	ev_num(r, "days", days);
	return 1;
}

static int
is_champion_downgrade(const struct win_contact_event *e)
{
	return e->champion && e->old_rank != RANK_NONE &&
	    e->new_rank != RANK_NONE && e->new_rank < e->old_rank;
}

static int
eval_title_downgrade(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	const struct win_contact_event *e;
	int days = ITH(p, TD_DAYS);
	char when[AGO_MAX];
	const char *who, *from, *to;
	unsigned n;

	if ((n = contact_events(a, days, is_champion_downgrade, &e)) == 0)
		return 0;
	who = intern_str(e->contact);
	from = title_rank_name(e->old_rank);
	to = title_rank_name(e->new_rank);
	explain(r, "champion '%s' went from %s to %s level %s%s", who, from,
	    to, ago(when, a->today - e->day),
	    n > 1 ? " (and other champions too)" : "");
	note(r, "%s → %s", from, to);
	ev_str(r, "contact", who);
	ev_str(r, "from_rank", from);
	ev_str(r, "to_rank", to);
	ev_num(r, "days_ago", a->today - e->day);
	ev_num(r, "downgrades", n);
	ev_num(r, "days", days);
	return 1;
}

static int
is_executive_joined(const struct win_contact_event *e)
{
	return e->kind == WC_JOINED && e->new_rank >= RANK_VP;
}

static int
is_executive_from_competitor(const struct win_contact_event *e)
{
	return is_executive_joined(e) && e->from_competitor;
}

static int
eval_new_executive(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	const struct win_contact_event *e, *c;
	int days = ITH(p, NE_DAYS);
	char when[AGO_MAX];
	const char *who, *rank;
	unsigned n;

	if ((n = contact_events(a, days, is_executive_joined, &e)) == 0)
		return 0;
	/* One from a competitor's customer is the story, if there is one. */
	if (contact_events(a, days, is_executive_from_competitor, &c) > 0) {
		e = c;
		r->severity = SEV_CRITICAL;
	}
	who = intern_str(e->contact);
	rank = title_rank_name(e->new_rank);
	explain(r, "'%s' joined at rank %s %s%s%s", who, rank,
	    ago(when, a->today - e->day),
	    e->from_competitor ? ", coming from a competitor" : "",
	    n > 1 ? " (and other executives too)" : "");
	note(r, "%s%s", rank, e->from_competitor ? " from a competitor" : "");
	ev_str(r, "contact", who);
	ev_str(r, "rank", rank);
	ev_num(r, "days_ago", a->today - e->day);
	ev_num(r, "from_competitor", e->from_competitor ? 1 : 0);
	ev_num(r, "executives", n);
	ev_num(r, "days", days);
	return 1;
}

/*
 * Distinct contacts that left or changed title in the last days.  An
 * account may hold thousands of contacts (a client sends what it sends):
 * window_contact_turnover() counts them in O(m log m), not O(m^2).
 */
static int
eval_contact_turnover(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	int days = ITH(p, CT_DAYS), min = ITH(p, CT_MIN_CONTACTS);
	unsigned n, left;

	n = window_contact_turnover(a->w, last_from(a, days), a->today, &left);
	if (n < (unsigned)min)
		return 0;
	explain(r, "%u contacts left or changed title in the last %d days "
	    "(%u left, %u changed title; threshold %d)", n, days, left,
	    n - left, min);
	note(r, "%u contacts", n);
	ev_num(r, "contacts", n);
	ev_num(r, "left", left);
	ev_num(r, "title_changed", n - left);
	ev_num(r, "days", days);
	ev_num(r, "threshold", min);
	return 1;
}

static const char *
competitor_kind_name(unsigned k)
{
	return k < NELEM(competitor_kind_names) ?
	    competitor_kind_names[k] : "unknown";
}

static int
eval_competitor_exposure(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	const struct window *w = a->w;
	const struct win_competitor *pick = NULL;
	int days = ITH(p, CE_DAYS), min = ITH(p, CE_MIN_SIGNALS);
	int32_t from = last_from(a, days);
	unsigned n = 0;
	uint32_t i;
	int rank, best = -1;
	char when[AGO_MAX];
	const char *who, *kind;

	/* Report a poc over an evaluation over anything; then the newest. */
	for (i = 0; i < w->ncompetitors; i++) {
		const struct win_competitor *c = &w->competitors[i];

		if (c->day < from || c->day > a->today)
			continue;
		n++;
		rank = c->kind == WCK_POC ? 2 : c->kind == WCK_EVALUATION;
		if (rank > best || (rank == best && c->day >= pick->day)) {
			best = rank;
			pick = c;
		}
	}
	if (pick == NULL || (best == 0 && n < (unsigned)min))
		return 0;
	if (best == 2)
		r->severity = SEV_CRITICAL;
	who = intern_str(pick->competitor);
	kind = competitor_kind_name(pick->kind);
	if (best == 2)
		explain(r, "a proof of concept with competitor '%s' %s; %u "
		    "competitor %s in the last %d days", who,
		    ago(when, a->today - pick->day), n,
		    plural(n, "signal", "signals"), days);
	else if (best == 1)
		explain(r, "an evaluation of competitor '%s' %s; %u "
		    "competitor %s in the last %d days", who,
		    ago(when, a->today - pick->day), n,
		    plural(n, "signal", "signals"), days);
	else
		explain(r, "%u competitor signals in the last %d days, the "
		    "latest '%s' (%s) %s (threshold %d)", n, days, who, kind,
		    ago(when, a->today - pick->day), min);
	note(r, "%s: %s", who, kind);
	ev_num(r, "signals", n);
	ev_str(r, "competitor", who);
	ev_str(r, "kind", kind);
	ev_num(r, "days_ago", a->today - pick->day);
	ev_num(r, "days", days);
	ev_num(r, "threshold", min);
	return 1;
}

static int
eval_login_decline(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	int rd = ITH(p, LD_RECENT_DAYS), bd = ITH(p, LD_BASELINE_DAYS);
	double ratio = TH(p, LD_RATIO), mr, mb;
	int32_t from = last_from(a, rd);
	uint64_t n, b;

	n = window_logins(a->w, from, a->today);
	b = window_logins(a->w, from - bd, from - 1);
	if (!ge((double)b, TH(p, LD_MIN_BASELINE_DAILY) * bd))
		return 0;
	/* n / rd < ratio * b / bd */
	if (!lt((double)n * bd, ratio * (double)b * rd))
		return 0;
	mr = (double)n / rd;
	mb = (double)b / bd;
	explain(r, "logins fell to %.1f a day in the last %d days from %.1f "
	    "a day in the %d days before, %.0f%% of before (threshold: "
	    "below %.0f%%)", mr, rd, mb, bd, 100.0 * mr / mb, 100.0 * ratio);
	note(r, "−%.0f%%", 100.0 - 100.0 * mr / mb);
	ev_num(r, "logins", (double)n);
	ev_num(r, "days", rd);
	ev_num(r, "daily_mean", round2(mr));
	ev_num(r, "baseline_logins", (double)b);
	ev_num(r, "baseline_days", bd);
	ev_num(r, "baseline_daily_mean", round2(mb));
	ev_num(r, "ratio", round2(mr / mb));
	ev_num(r, "threshold_ratio", ratio);
	return 1;
}

static int
eval_login_absent(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	int rd = ITH(p, LA_RECENT_DAYS), bd = ITH(p, LA_BASELINE_DAYS);
	int32_t from = last_from(a, rd);
	char when[AGO_MAX];
	uint64_t n, b;

	n = window_logins(a->w, from, a->today);
	b = window_logins(a->w, from - bd, from - 1);
	if (n != 0 || b < (uint64_t)ITH(p, LA_MIN_BASELINE_LOGINS))
		return 0;
	if (a->w->last_login != 0 && a->w->last_login <= a->today)
		explain(r, "no login in the last %d days after %llu in the %d "
		    "days before; the last one %s", rd, (unsigned long long)b,
		    bd, ago(when, a->today - a->w->last_login));
	else
		explain(r, "no login in the last %d days after %llu in the %d "
		    "days before", rd, (unsigned long long)b, bd);
	note(r, "none in %d days", rd);
	ev_num(r, "logins", 0);
	ev_num(r, "days", rd);
	ev_num(r, "baseline_logins", (double)b);
	ev_num(r, "baseline_days", bd);
	if (a->w->last_login != 0 && a->w->last_login <= a->today)
		ev_num(r, "last_login_days_ago", a->today - a->w->last_login);
	return 1;
}

/* First day of the account: onboarded_at, else the window's first day. */
static int32_t
account_start(const struct sig_account *a)
{
	return a->onboarded_day != 0 ? a->onboarded_day : a->w->first_day;
}

static int
eval_seat_underuse(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	int days = ITH(p, SU_DAYS);
	double ratio = TH(p, SU_RATIO);
	int32_t start = account_start(a);
	unsigned active;

	if (a->seats <= 0 || start == 0 ||
	    start > a->today - ITH(p, SU_MIN_AGE_DAYS))
		return 0;
	active = window_active_users(a->w, last_from(a, days));
	if (!lt(active, ratio * a->seats))
		return 0;
	explain(r, "%u of %d seats (%.0f%%) were used in the last %d days "
	    "(threshold %.0f%%)", active, a->seats, 100.0 * active / a->seats,
	    days, 100.0 * ratio);
	note(r, "%u of %d seats", active, a->seats);
	ev_num(r, "active_users", active);
	ev_num(r, "seats", a->seats);
	ev_num(r, "share", round2((double)active / a->seats));
	ev_num(r, "days", days);
	ev_num(r, "threshold_ratio", ratio);
	return 1;
}

static int
eval_usage_spike(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	int bd = ITH(p, US_BASELINE_DAYS), d;
	double ratio = TH(p, US_RATIO), k = TH(p, US_SIGMAS);
	double sum = 0, sumsq = 0, l24, mean, var, diff;
	unsigned x;

	l24 = (double)window_logins_24h(a->w, a->now_hour);
	if (!ge(l24, TH(p, US_MIN_LOGINS)))
		return 0;
	for (d = 1; d <= bd; d++) {
		x = window_logins_on(a->w, a->today - d);
		sum += x;
		sumsq += (double)x * x;
	}
	/* l24 > ratio * sum / bd */
	if (!gt(l24 * bd, ratio * sum))
		return 0;
	/*
	 * l24 > mean + k sigma, in whole numbers scaled by bd:
	 * diff = l24 bd - sum > 0 and diff^2 > k^2 (bd sumsq - sum^2).
	 */
	diff = l24 * bd - sum;
	var = (double)bd * sumsq - sum * sum;
	if (var < 0)
		var = 0;
	if (diff <= 0 || !gt(diff * diff, k * k * var))
		return 0;
	mean = sum / bd;
	var /= (double)bd * bd;
	if (mean > 0) {
		explain(r, "%.0f logins in the last 24 hours, %.1f × the daily "
		    "mean of %.1f (σ %.1f) over the %d days before (threshold: "
		    "over %.1f × and mean + %.1f σ, at least %d)", l24,
		    l24 / mean, mean, sqroot(var), bd, ratio, k,
		    ITH(p, US_MIN_LOGINS));
		note(r, "%.1f × daily mean", l24 / mean);
	} else {
		explain(r, "%.0f logins in the last 24 hours after none in the "
		    "%d days before (threshold %d)", l24, bd,
		    ITH(p, US_MIN_LOGINS));
		note(r, "%.0f logins in 24 h", l24);
	}
	ev_num(r, "logins_24h", l24);
	ev_num(r, "baseline_daily_mean", round2(mean));
	ev_num(r, "baseline_stddev", round2(sqroot(var)));
	ev_num(r, "baseline_days", bd);
	if (mean > 0)
		ev_num(r, "ratio", round2(l24 / mean));
	ev_num(r, "threshold", ITH(p, US_MIN_LOGINS));
	ev_num(r, "threshold_ratio", ratio);
	ev_num(r, "threshold_sigmas", k);
	return 1;
}

static int
eval_core_feature_unused(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	int days = ITH(p, CF_DAYS);
	int32_t from = last_from(a, days), last, newest = 0;
	char names[120];
	size_t i, off = 0;
	uint64_t logins;

	if (a->ncore == 0 || a->core_features == NULL)
		return 0;
	for (i = 0; i < a->ncore; i++) {
		last = window_feature_last(a->w, a->core_features[i]);
		if (last >= from)
			return 0;
		if (last > newest)
			newest = last;
	}
	logins = window_logins(a->w, from, a->today);
	if (logins < (uint64_t)ITH(p, CF_MIN_LOGINS))
		return 0;
	names[0] = '\0';
	for (i = 0; i < a->ncore && off < sizeof(names); i++)
		off += snprintf(names + off, sizeof(names) - off, "%s'%s'",
		    i == 0 ? "" : ", ", intern_str(a->core_features[i]));
	if (off >= sizeof(names))
		utf8_trim(names);
	if (a->ncore == 1)
		explain(r, "the core feature %s was not used in the last %d "
		    "days, while users logged in %llu %s", names, days,
		    (unsigned long long)logins,
		    plural(logins, "time", "times"));
	else
		explain(r, "none of the %zu core features (%s) was used in the "
		    "last %d days, while users logged in %llu %s", a->ncore,
		    names, days, (unsigned long long)logins,
		    plural(logins, "time", "times"));
	note(r, "%zu core %s unused", a->ncore,
	    plural(a->ncore, "feature", "features"));
	ev_num(r, "core_features", (double)a->ncore);
	ev_num(r, "logins", (double)logins);
	ev_num(r, "days", days);
	if (newest != 0)
		ev_num(r, "last_used_days_ago", a->today - newest);
	return 1;
}

static int
eval_onboarding_stall(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	int days = ITH(p, OS_DAYS), min = ITH(p, OS_MIN_ACTIVE), age;
	double need;
	unsigned active;

	if (a->onboarded_day == 0)
		return 0;
	age = a->today - a->onboarded_day;
	if (age < ITH(p, OS_GRACE_DAYS) || age >= ITH(p, OS_ONBOARDING_DAYS))
		return 0;
	need = min;
	if (a->seats > 0 && TH(p, OS_RATIO) * a->seats > need)
		need = TH(p, OS_RATIO) * a->seats;
	active = window_active_users(a->w, last_from(a, days));
	if (!lt(active, need))
		return 0;
	/* Users are whole: "fewer than 2.4" is "at least 3 expected". */
	if (a->seats > 0)
		explain(r, "%u %s active in the last %d days, %d days after "
		    "onboarding (expected at least %d: %d or %.0f%% of %d "
		    "seats, whichever is more)", active,
		    plural(active, "user", "users"), days, age,
		    at_least(need), min, 100.0 * TH(p, OS_RATIO), a->seats);
	else
		explain(r, "%u %s active in the last %d days, %d days after "
		    "onboarding (expected at least %d)", active,
		    plural(active, "user", "users"), days, age, min);
	note(r, "%u active on day %d", active, age);
	ev_num(r, "active_users", active);
	ev_num(r, "days", days);
	ev_num(r, "days_since_onboarding", age);
	ev_num(r, "threshold", at_least(need));
	if (a->seats > 0)
		ev_num(r, "seats", a->seats);
	return 1;
}

static int
eval_no_touch(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	const struct window *w = a->w;
	int days = ITH(p, NT_DAYS);
	int32_t start = account_start(a), from = last_from(a, days);
	int since_onboarding = 0;
	char when[AGO_MAX];

	if (start == 0 || a->today - start < ITH(p, NT_GRACE_DAYS))
		return 0;
	if (a->onboarded_day != 0 && a->onboarded_day > from) {
		from = a->onboarded_day;
		since_onboarding = 1;
	}
	if (window_touches(w, from, a->today) != 0)
		return 0;
	if (since_onboarding) {
		explain(r, "no touchpoint in the %d days since onboarding "
		    "(expected within the first %d)", a->today - from,
		    ITH(p, NT_GRACE_DAYS));
		note(r, "none since onboarding");
	} else {
		if (w->last_touch != 0 && w->last_touch < from)
			explain(r, "no touchpoint in the last %d days; the "
			    "last one %s", days,
			    ago(when, a->today - w->last_touch));
		else
			explain(r, "no touchpoint in the last %d days, and "
			    "none on record", days);
		note(r, "none in %d days", days);
	}
	ev_num(r, "touchpoints", 0);
	if (since_onboarding)
		ev_num(r, "days_since_onboarding", a->today - from);
	else
		ev_num(r, "days", days);
	ev_num(r, "account_age_days", a->today - start);
	if (w->last_touch != 0 && w->last_touch < from)
		ev_num(r, "last_touch_days_ago", a->today - w->last_touch);
	ev_num(r, "threshold_days", since_onboarding ?
	    ITH(p, NT_GRACE_DAYS) : days);
	return 1;
}

static int
eval_meeting_attendance_decline(const struct sig_params *p,
    const struct sig_account *a, struct sig_result *r)
{
	int rd = ITH(p, MA_RECENT_DAYS), bd = ITH(p, MA_BASELINE_DAYS);
	int32_t from = last_from(a, rd);
	uint64_t ur, ub;
	int64_t sr, sb, drop;
	unsigned nr, nb, min = (unsigned)ITH(p, MA_MIN_MEETINGS);
	double mr, mb;

	window_attendance(a->w, from, a->today, &ur, &nr);
	window_attendance(a->w, from - bd, from - 1, &ub, &nb);
	if (nr < min || nb < min)
		return 0;
	/* In 1/WIN_RATE_ONE, exactly: sr/nr <= sb/nb - drop. */
	sr = (int64_t)ur;
	sb = (int64_t)ub;
	drop = (int64_t)(TH(p, MA_DROP) * WIN_RATE_ONE + 0.5);
	if (sr * (int64_t)nb > (sb - drop * (int64_t)nb) * (int64_t)nr)
		return 0;
	mr = (double)sr / nr / WIN_RATE_ONE;
	mb = (double)sb / nb / WIN_RATE_ONE;
	explain(r, "meetings were attended by %.0f%% of the invited on "
	    "average over %u %s in the last %d days, down from %.0f%% over "
	    "%u in the %d days before (threshold: a drop of %.0f points)",
	    100.0 * mr, nr, plural(nr, "meeting", "meetings"), rd,
	    100.0 * mb, nb, bd, 100.0 * drop / WIN_RATE_ONE);
	note(r, "attendance %.0f%% → %.0f%%", 100.0 * mb, 100.0 * mr);
	ev_num(r, "rate", round2(mr));
	ev_num(r, "meetings", nr);
	ev_num(r, "days", rd);
	ev_num(r, "baseline_rate", round2(mb));
	ev_num(r, "baseline_meetings", nb);
	ev_num(r, "baseline_days", bd);
	ev_num(r, "drop", round2(mb - mr));
	ev_num(r, "threshold", (double)drop / WIN_RATE_ONE);
	return 1;
}

static int
eval_voice_risk(const struct sig_params *p, const struct sig_account *a,
    struct sig_result *r)
{
	const struct win_note *n;
	int days = ITH(p, VR_DAYS);
	char date[40];
	const char *phrase, *cls;
	unsigned count;

	n = window_risk_note(a->w, last_from(a, days), a->today, &count);
	if (n == NULL)
		return 0;
	phrase = intern_str(n->phrase);
	cls = intern_str(n->cls);
	util_format_rfc3339((int64_t)n->day * CW_USEC_PER_DAY, date,
	    sizeof(date));
	date[10] = '\0';		/* YYYY-MM-DD */
	if (count > 1)
		explain(r, "a note on %s says \"%s\" (%s); %u notes with a "
		    "risk phrase in the last %d days", date, phrase, cls,
		    count, days);
	else
		explain(r, "a note on %s says \"%s\" (%s)", date, phrase,
		    cls);
	note(r, "\"%s\"", phrase);
	ev_str(r, "phrase", phrase);
	ev_str(r, "class", cls);
	ev_num(r, "days_ago", a->today - n->day);
	ev_num(r, "notes", count);
	ev_num(r, "days", days);
	return 1;
}

/* ---- data coverage ---- */

/*
 * The days in which a signal reads an absence: the sum of its day spans,
 * or only the first for sig_absence_recent (>= 1).
 */
static int
absence_days(enum sig_id id, const struct sig_params *p)
{
	const struct sig_def *d = &sig_table[id];
	int k, n = 0;

	for (k = 0; k < SIG_MAX_THRESHOLDS && d->th[k].key != NULL; k++)
		if (d->th[k].kind == TH_DAYS) {
			n += ITH(p, k);
			if (sig_absence_recent & SIG_BIT(id))
				break;
		}
	return n > 0 ? n : 1;
}

enum sig_gap
signal_coverage(const struct sig_config *c, const struct sig_account *a,
    enum sig_id id, int32_t *since)
{
	int32_t from, cls;

	*since = 0;
	if (!signal_is_absence(id) || a->data_since == NULL)
		return GAP_NONE;
	from = last_from(a, absence_days(id, &c->sig[id]));
	cls = a->data_since[sig_table[id].category];
	if (cls == 0)
		return GAP_NO_DATA;
	if (cls > from) {
		*since = cls;
		return GAP_DATA_SINCE;
	}
	if (a->exists_day == 0)
		return GAP_NO_ACCOUNT;
	if (a->exists_day > from) {
		*since = a->exists_day;
		return GAP_ACCOUNT_SINCE;
	}
	return GAP_NONE;
}

const char *
signal_gap_text(enum sig_id id, enum sig_gap gap, int32_t since, char *buf,
    size_t len)
{
	const char *cls = signal_category_name(id);
	char date[40];

	date[0] = '\0';
	if (since > 0 && util_format_rfc3339((int64_t)since * 86400 *
	    INT64_C(1000000), date, sizeof(date)) != NULL)
		date[10] = '\0';
	switch (gap) {
	case GAP_NO_DATA:
		snprintf(buf, len, "no %s data yet", cls);
		break;
	case GAP_DATA_SINCE:
		snprintf(buf, len, "%s data only since %s", cls, date);
		break;
	case GAP_NO_ACCOUNT:
		snprintf(buf, len, "no events for this account yet");
		break;
	case GAP_ACCOUNT_SINCE:
		snprintf(buf, len, "account known only since %s", date);
		break;
	default:
		snprintf(buf, len, "covered");
		break;
	}
	return buf;
}

/* ---- evaluation ---- */

int
signal_evaluate(const struct sig_config *c, const struct sig_account *a,
    struct sig_result out[SIG__COUNT])
{
	const struct sig_params *p;
	struct sig_result *r;
	int32_t since;
	size_t i;
	int n = 0;

	for (i = 0; i < SIG__COUNT; i++) {
		p = &c->sig[i];
		if (!p->enabled || signal_coverage(c, a, (enum sig_id)i,
		    &since) != GAP_NONE)
			continue;
		r = &out[n];
		memset(r, 0, sizeof(*r));
		r->id = (enum sig_id)i;
		r->severity = p->severity;
		if (!sig_table[i].eval(p, a, r))
			continue;
		r->weight = signal_weight(p, r->severity);
		n++;
	}
	return n;
}

const struct sig_evidence *
signal_evidence(const struct sig_result *r, const char *name)
{
	int i;

	for (i = 0; i < r->nev; i++)
		if (strcmp(r->ev[i].name, name) == 0)
			return &r->ev[i];
	return NULL;
}
