/*
 * signal.h -- the churn signals of SPEC 4 as one const table, and their
 * evaluation over an account's windows.  Pure: values in, values out; no
 * clock (callers pass "today"), no I/O.
 *
 * Each signal has a name, a category, a tier, a default severity, a
 * default play (PLAYS.md) and a few numeric thresholds, each with its
 * config key, default and bounds.  struct sig_config holds what the
 * operator changed ([signal:NAME] and [signals] in the config); config.c
 * fills it, signal_config_defaults() is the one place for its defaults.
 *
 * Not here: the score (score.c), alert state and "since" (alert.c), the
 * JSON shape of a result (http.c).  Day ranges: "the last N days" are
 * days [today - N + 1, today]; "the M days before" are the M days just
 * before those.
 */
#ifndef CW_SIGNAL_H
#define CW_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#include "window.h"

/* In table order (signal_evaluate() reports active signals in it). */
enum sig_id {
	SIG_TICKET_VELOCITY,
	SIG_TICKET_REPEAT_TEAM,
	SIG_TICKET_SENTIMENT_DECLINE,
	SIG_CHURN_INTENT,
	SIG_SUPPORT_SILENCE,
	SIG_CHAMPION_LEFT,
	SIG_TITLE_DOWNGRADE,
	SIG_NEW_EXECUTIVE,
	SIG_CONTACT_TURNOVER,
	SIG_COMPETITOR_EXPOSURE,
	SIG_LOGIN_DECLINE,
	SIG_LOGIN_ABSENT,
	SIG_SEAT_UNDERUSE,
	SIG_USAGE_SPIKE,
	SIG_CORE_FEATURE_UNUSED,
	SIG_ONBOARDING_STALL,
	SIG_NO_TOUCH,
	SIG_MEETING_ATTENDANCE_DECLINE,
	SIG_VOICE_RISK,
	SIG__COUNT
};

enum sig_category {
	SIGCAT_SUPPORT,
	SIGCAT_ORG,
	SIGCAT_COMPETITOR,
	SIGCAT_USAGE,
	SIGCAT_ENGAGEMENT,
	SIGCAT__COUNT
};

enum sig_severity {
	SEV_INFO,
	SEV_WARNING,
	SEV_CRITICAL,
	SEV__COUNT
};

/* How a threshold is written and checked. */
enum sig_th_kind {
	TH_COUNT,	/* whole number */
	TH_REAL,	/* decimal number, e.g. 2.5 */
	TH_DAYS,	/* whole days of one look-back span; the spans of a
			 * signal add up to at most SIG_HISTORY_DAYS */
	TH_AGE		/* whole days of account age (not a look-back) */
};

#define SIG_MAX_THRESHOLDS	5
#define SIG_MAX_EVIDENCE	8
#define SIG_EXPLANATION_MAX	256
#define SIG_NOTE_MAX		48
#define SIG_HISTORY_DAYS	180	/* look-back the windows guarantee */

struct sig_threshold {
	const char		*key;		/* config key in [signal:NAME] */
	enum sig_th_kind	 kind;
	double			 def;
	double			 min;
	double			 max;
	const char		*help;		/* one line, for the docs */
};

/* What the operator may change for one signal ([signal:NAME]). */
struct sig_params {
	int			 enabled;
	enum sig_severity	 severity;	/* configured (base) severity */
	/* 0..100; -1 = from the effective severity (signal_weight()) */
	int			 weight;
	char			*play;		/* owned; NULL = the default */
	double			 threshold[SIG_MAX_THRESHOLDS];
};

struct sig_config {
	struct sig_params	 sig[SIG__COUNT];
	char			**intent_patterns; /* lower-case, NULL-ended */
	char			**competitors;	/* lower-case, NULL-ended */
	/* voice_risk's phrases, lower-case, in order; text NULL ends */
	struct win_phrase	*voice_phrases;
	unsigned		 interval;	/* s between sweeps, 60 */
};

/*
 * One account as the rules see it.  Data coverage (SPEC 4): data_since[c]
 * is the first UTC day from which churnwatch has data of class c (the
 * signal categories are the data classes), 0 if it has none; exists_day
 * is the first day the account exists (onboarded_at, else its earliest
 * event), 0 if unknown.  data_since NULL means "everything covered" (the
 * rules alone, as in unit tests of them).
 */
struct sig_account {
	const struct window	*w;
	int32_t			 today;		/* UTC day number */
	int64_t			 now_hour;	/* hours since the epoch */
	int			 seats;		/* -1 unknown */
	int32_t			 onboarded_day;	/* 0 unknown */
	const uint32_t		*core_features;	/* interned ids */
	size_t			 ncore;
	const int32_t		*data_since;	/* [SIGCAT__COUNT] or NULL */
	int32_t			 exists_day;
};

/* Why an absence signal cannot be judged yet (signal_coverage()). */
enum sig_gap {
	GAP_NONE,		/* covered: the rule decides */
	GAP_NO_DATA,		/* no data of its class at all yet */
	GAP_DATA_SINCE,		/* class data only since a day too recent */
	GAP_NO_ACCOUNT,		/* the account has no events, no onboarded_at */
	GAP_ACCOUNT_SINCE	/* the account exists only since a recent day */
};

/*
 * One evidence number or string.  str points to a static string or an
 * interned one (intern.h): valid until intern_purge().
 */
struct sig_evidence {
	const char		*name;
	int			 is_str;
	double			 num;
	const char		*str;
};

/*
 * An active signal.  severity is the effective one: the configured
 * severity, raised to critical for competitor_exposure on a poc and for
 * new_executive from a competitor.  weight is signal_weight() of it.
 * explanation is a full sentence with the evidence numbers; note is a
 * few words for the score decomposition ("3.1 × baseline") or "".  Both
 * are UTF-8, cut on a whole character when too long.
 */
struct sig_result {
	enum sig_id		 id;
	enum sig_severity	 severity;
	int			 weight;
	char			 explanation[SIG_EXPLANATION_MAX];
	char			 note[SIG_NOTE_MAX];
	struct sig_evidence	 ev[SIG_MAX_EVIDENCE];
	int			 nev;
};

/* ---- the table ---- */

/* The id of a signal name, or -1. */
int		 signal_find(const char *name);
/*
 * 1 when the signal reads the absence of something (no login, no active
 * users, no touchpoint, ...) and so may fire only on covered data.
 */
int		 signal_is_absence(enum sig_id);
const char	*signal_name(enum sig_id);		/* NULL if out of range */
enum sig_category signal_category(enum sig_id);
const char	*signal_category_name(enum sig_id);	/* "support", ... */
const char	*signal_category_str(enum sig_category);	/* NULL if bad */
/* The category named s, or -1. */
int		 signal_category_parse(const char *s);
/* 1, 2, 3, or 0 for none (JSON null). */
int		 signal_tier(enum sig_id);
enum sig_severity signal_default_severity(enum sig_id);
const char	*signal_default_play(enum sig_id);

/* Thresholds of a signal: *n of them. */
const struct sig_threshold *signal_thresholds(enum sig_id, size_t *n);
/* Index of a threshold key of the signal, or -1. */
int		 signal_threshold_find(enum sig_id, const char *key);

const char	*severity_name(enum sig_severity);	/* "info", ... */
/* The severity named s, or -1. */
int		 severity_parse(const char *s);
/* Default weight of a severity: critical 30, warning 15, info 5. */
int		 severity_weight(enum sig_severity);

/* ---- configuration ---- */

/*
 * Fill c with the defaults (every signal enabled, the table's severities,
 * weights from severity, default plays, default thresholds, the SPEC's
 * intent patterns and risk phrases, no competitors, interval 60).  Returns 0, or -1 on
 * allocation failure (c is then safe to signal_config_free()).
 */
int		 signal_config_defaults(struct sig_config *c);
/* Free what c owns (plays, lists); c itself is the caller's. */
void		 signal_config_free(struct sig_config *c);

/*
 * Make texts (NULL-terminated, lower-case; copied) the risk phrases of
 * class cls, in place of the ones it had (at the place of the first of
 * them, else at the end); no texts removes the class.  0, or -1 when out
 * of memory (c unchanged).
 */
int		 signal_phrases_set(struct sig_config *c, const char *cls,
		    const char *const *texts);

/*
 * Checks that need several thresholds of one signal: the look-back spans
 * (TH_DAYS) must add up to at most SIG_HISTORY_DAYS.  Returns 0, or -1
 * with a sentence in why.
 */
int		 signal_params_check(enum sig_id, const struct sig_params *,
		    char *why, size_t len);

/* The play to show: the configured one, else the default. */
const char	*signal_play(const struct sig_config *, enum sig_id);

/* Weight of a signal at an effective severity (configured or default). */
int		 signal_weight(const struct sig_params *, enum sig_severity);

/* The window_apply() rules of a config (pointers into c). */
void		 signal_win_rules(const struct sig_config *c,
		    struct win_rules *out);

/* ---- evaluation ---- */

/*
 * Evaluate every enabled signal of c on a.  Active signals are written
 * to out[0..n) in table order; returns n (0..SIG__COUNT).  Nothing is
 * allocated.
 */
int		 signal_evaluate(const struct sig_config *c,
		    const struct sig_account *a,
		    struct sig_result out[SIG__COUNT]);

/*
 * Data coverage of one signal on a: GAP_NONE when the signal is not an
 * absence signal, or when its class has been covered, and the account
 * has existed, for the whole look-back it reads (the sum of its day
 * spans, from today back).  Otherwise the gap, with *since set to the day
 * involved (the class's or the account's first day; 0 for NO_*).
 * signal_evaluate() skips a signal with a gap: it is not active and
 * counts nothing in the score.
 */
enum sig_gap	 signal_coverage(const struct sig_config *c,
		    const struct sig_account *a, enum sig_id id,
		    int32_t *since);
/*
 * The gap as a short sentence for the account view, e.g. "no usage data
 * yet", "usage data only since 2026-11-20".  Writes into buf.
 */
const char	*signal_gap_text(enum sig_id, enum sig_gap, int32_t since,
		    char *buf, size_t len);

/* The evidence value called name in r, or NULL. */
const struct sig_evidence *signal_evidence(const struct sig_result *r,
		    const char *name);

#endif
