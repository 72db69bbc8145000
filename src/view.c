/*
 * view.c -- the HTTP API's JSON of an account and of a risk-list row
 * (SPEC 2.5, 2.6), built from the account and what its evaluation gave.
 * Pure: no I/O, no clock (now is in the context), nothing changed; the
 * engine evaluates, ranks and serialises.  Golden tests:
 * tests/unit/check_view.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "cwconfig.h"
#include "intern.h"
#include "score.h"
#include "signal.h"
#include "util.h"
#include "view.h"
#include "window.h"

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
time_or_null(int64_t us)
{
	char buf[CW_RFC3339_LEN];

	if (us == 0)
		return json_null();
	return json_string(util_format_rfc3339(us, buf, sizeof(buf)));
}

static json_t *
day_or_null(int32_t day)
{
	char buf[CW_RFC3339_LEN];

	if (day == 0)
		return json_null();
	util_format_rfc3339((int64_t)day * CW_USEC_PER_DAY, buf, sizeof(buf));
	buf[10] = '\0';		/* the date alone */
	return json_string(buf);
}

/*
 * When the signal became active: its open alert's start, which survives
 * restarts, else when this daemon first saw it.
 */
static int64_t
signal_since(const struct account *a, int signal)
{
	int i;

	for (i = 0; i < a->nalerts; i++)
		if (a->alerts[i].signal == signal &&
		    a->alerts[i].state != ALERT_RESOLVED)
			return a->alerts[i].started_at;
	return (int64_t)account_since(a, signal) * CW_USEC_PER_SEC;
}

/* Whole numbers as JSON integers (23, not 23.0), the rest as reals. */
static json_t *
number_json(double v)
{
	if (v >= -9007199254740992.0 && v <= 9007199254740992.0 &&
	    v == (double)(json_int_t)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *
signal_json(const struct view_ctx *vc, const struct account *a,
    const struct sig_result *r)
{
	json_t *o, *ev;
	int i, tier = signal_tier(r->id);

	ev = json_object();
	for (i = 0; i < r->nev; i++)
		json_object_set_new(ev, r->ev[i].name, r->ev[i].is_str ?
		    json_string(r->ev[i].str) : number_json(r->ev[i].num));
	o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:o, s:s, s:o, s:s}",
	    "name", signal_name(r->id),
	    "category", signal_category_name(r->id),
	    "tier", tier > 0 ? json_integer(tier) : json_null(),
	    "severity", severity_name(r->severity),
	    "weight", r->weight,
	    "since", time_or_null(signal_since(a, r->id)),
	    "explanation", r->explanation,
	    "evidence", ev,
	    "play", signal_play(&vc->cfg->signals, r->id));
	return o;
}

static json_t *
windows_json(const struct account *a, int32_t today)
{
	json_t *days = json_array();
	int32_t d;

	for (d = today - 89; d <= today; d++)
		json_array_append_new(days,
		    json_integer(window_logins_on(&a->w, d)));
	return json_pack("{s:o, s:i, s:i, s:i, s:i, s:o, s:o}",
	    "logins_per_day_90d", days,
	    "active_users_7d", (int)window_active_users(&a->w, today - 6),
	    "active_users_30d", (int)window_active_users(&a->w, today - 29),
	    "tickets_30d", (int)window_tickets_created(&a->w, today - 29,
	    today),
	    "tickets_90d", (int)window_tickets_created(&a->w, today - 89,
	    today),
	    "last_login", day_or_null(a->w.last_login),
	    "last_touchpoint", day_or_null(a->w.last_touch));
}

/* {score, status, explanation, breakdown}: SPEC 5's score as a sum. */
static json_t *
health_json(const struct account *a, const struct sig_result *out, int n)
{
	struct score_item prev[SIG__COUNT];
	struct score_breakdown b;
	char text[SCORE_TEXT_MAX];
	json_t *parts;
	size_t i, np;

	np = account_prev_items(a, prev);
	score_explain(prev, np, out, (size_t)n, &b, text, sizeof(text));
	parts = json_array();
	for (i = 0; i < b.nparts; i++)
		json_array_append_new(parts, json_pack("{s:s, s:i, s:s}",
		    "signal", signal_name(b.part[i].id),
		    "contribution", b.part[i].contribution,
		    "state", score_state_name(b.part[i].state)));
	return json_pack("{s:i, s:s, s:i, s:s, s:o}",
	    "score", a->score,
	    "status", score_status_name(score_status(a->score)),
	    "previous_score", a->prev_score,
	    "explanation", text,
	    "breakdown", parts);
}

/*
 * {"at", "days", "within_window"} of a's renewal_at, or null: days to it
 * (rounded up; negative once past), within_window while it escalates.
 */
static json_t *
renewal_json(const struct view_ctx *vc, const struct account *a)
{
	int64_t now = vc->now;
	int64_t left;
	json_int_t days;

	if (a->renewal_at == 0)
		return json_null();
	left = a->renewal_at - now;
	days = left >= 0 ? (left + CW_USEC_PER_DAY - 1) / CW_USEC_PER_DAY :
	    -((-left) / CW_USEC_PER_DAY);
	return json_pack("{s:o, s:I, s:b}",
	    "at", time_or_null(a->renewal_at),
	    "days", days,
	    "within_window", account_renewal_days(a,
	    vc->cfg->alerts.renewal_window, now) >= 0);
}

/*
 * The enabled absence signals that cannot be judged yet (SPEC 4, "Data
 * coverage"): [{"signal", "reason"}] for the account view, or, with
 * classes_only, the data classes they wait for ["usage", ...].
 */
static json_t *
awaiting_json(const struct view_ctx *vc, const struct account *a,
    int classes_only)
{
	const struct sig_config *c = &vc->cfg->signals;
	struct sig_account in;
	enum sig_gap gap;
	unsigned classes = 0;
	int32_t since;
	char why[96];
	json_t *arr = json_array();
	int i;

	account_sig_input(a, vc->data_since, vc->now, &in);
	for (i = 0; i < SIG__COUNT; i++) {
		if (!c->sig[i].enabled || (gap = signal_coverage(c, &in,
		    (enum sig_id)i, &since)) == GAP_NONE)
			continue;
		if (!classes_only)
			json_array_append_new(arr, json_pack("{s:s, s:s}",
			    "signal", signal_name((enum sig_id)i),
			    "reason", signal_gap_text((enum sig_id)i, gap,
			    since, why, sizeof(why))));
		else if (!(classes & (1u << signal_category((enum sig_id)i)))) {
			classes |= 1u << signal_category((enum sig_id)i);
			json_array_append_new(arr, json_string(
			    signal_category_name((enum sig_id)i)));
		}
	}
	return arr;
}

/* Since when the account and each data class are covered. */
static json_t *
coverage_json(const struct view_ctx *vc, const struct account *a)
{
	json_t *classes = json_object();
	int c;

	for (c = 0; c < SIGCAT__COUNT; c++)
		json_object_set_new(classes,
		    signal_category_str((enum sig_category)c),
		    day_or_null(vc->data_since != NULL ? vc->data_since[c] : 0));
	return json_pack("{s:o, s:o}", "account_since",
	    day_or_null(a->first_day), "classes", classes);
}

json_t *
view_account(const struct view_ctx *vc, const struct account *a,
    const struct sig_result *out, int n)
{
	json_t *o, *sigs, *core, *health;
	int64_t now = vc->now;
	int32_t today = window_day(now);
	int i, week_ago;

	sigs = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(sigs, signal_json(vc, a, &out[i]));
	core = json_array();
	for (i = 0; i < a->ncore; i++)
		json_array_append_new(core, json_string(intern_str(account_core(a)[i])));
	week_ago = account_score_on(a, today - 7);
	health = health_json(a, out, n);
	json_object_set_new(health, "trend_7d", week_ago >= 0 ?
	    json_integer(a->score - week_ago) : json_null());
	json_object_set_new(health, "play", json_string(config_health_play(
	    vc->cfg, (int)score_status(a->score))));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:o, s:o}",
	    "id", a->id,
	    "name", str_or_null(a->name),
	    "plan", str_or_null(a->plan),
	    "segment", str_or_null(a->segment),
	    "seats", a->seats >= 0 ? json_integer(a->seats) : json_null(),
	    "owner", str_or_null(a->owner),
	    "slack_channel", str_or_null(a->slack_channel),
	    "onboarded_at", time_or_null(a->onboarded_at),
	    "renewal_at", time_or_null(a->renewal_at),
	    "core_features", core,
	    "health", health,
	    "signals", sigs,
	    "windows", windows_json(a, today));
	if (o != NULL) {
		json_object_set_new(o, "renewal", renewal_json(vc, a));
		json_object_set_new(o, "awaiting_data",
		    awaiting_json(vc, a, 0));
		json_object_set_new(o, "coverage", coverage_json(vc, a));
		json_object_set_new(o, "settling_until", a->settle_until > now ?
		    time_or_null(a->settle_until) : json_null());
	}
	return o;
}

json_t *
view_list_row(const struct view_ctx *vc, const struct account *a)
{
	json_t *names, *row;
	int sig;

	names = json_array();
	for (sig = 0; sig < SIG__COUNT; sig++)
		if (a->active & (UINT32_C(1) << sig))
			json_array_append_new(names,
			    json_string(signal_name(sig)));
	row = json_pack("{s:s, s:o, s:o, s:i, s:s, s:o}",
	    "id", a->id,
	    "name", str_or_null(a->name),
	    "owner", str_or_null(a->owner),
	    "score", a->ranked_score,
	    "status", score_status_name(score_status(a->ranked_score)),
	    "signals", names);
	if (row != NULL) {
		json_object_set_new(row, "renewal", renewal_json(vc, a));
		json_object_set_new(row, "awaiting_data",
		    awaiting_json(vc, a, 1));
	}
	return row;
}
