/*
 * alert.c -- the alert state machine, names and fingerprints, route
 * matching and silences (SPEC 5, 2.6).  Pure: values and the time in,
 * the event to notify out.
 *
 * Not here: storing alerts and notifications (store.c, the outbox),
 * sending them (outbox.c), deciding whether a signal is active
 * (signal.c) or the health status worsened (score.c and engine.c), and
 * parsing [route:NAME] sections (config.c).
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "signal.h"

#define NELEM(t)	(sizeof(t) / sizeof((t)[0]))

static const char *const event_names[] = {
	[AE_NONE] = "none",
	[AE_FIRE] = "fire",
	[AE_REPEAT] = "repeat",
	[AE_ESCALATE] = "escalate",
	[AE_RESOLVE] = "resolve",
};

static const char *const state_names[] = {
	[ALERT_FIRING] = "firing",
	[ALERT_RESOLVING] = "resolving",
	[ALERT_RESOLVED] = "resolved",
};

/* The pseudo signals after signal.h's table, from ALERT_HEALTH_DEGRADED. */
static const struct {
	const char	*name;
	const char	*category;
} pseudo_signals[] = {
	{ "health_degraded", "health" },
	{ "portfolio", "portfolio" },
};

_Static_assert(NELEM(pseudo_signals) == ALERT_NSIGNALS - SIG__COUNT,
    "one pseudo_signals row per pseudo signal");

/* 64-bit FNV-1a: fixed constants, so fingerprints never change. */
#define FNV64_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV64_PRIME	UINT64_C(0x00000100000001b3)

/* ---- the state machine ---- */

/* Resolving: resolved once inactive for resolve_after. */
static enum alert_event
resolve_due(struct alert *a, const struct alert_policy *pol, int64_t now)
{
	if (now - a->inactive_since < pol->resolve_after)
		return AE_NONE;
	a->state = ALERT_RESOLVED;
	a->resolved_at = now;
	return AE_RESOLVE;
}

/*
 * See alert.h.  The cases read from a->state; the firing-and-active
 * checks (escalate, then repeat) are shared by an alert that was firing
 * and one that flapped back from resolving, so a flap back is AE_NONE
 * unless an escalation or repeat is due anyway.  a->severity is the
 * highest severity of the alert since it fired: a drop is not an event,
 * and going back up to it is no new escalation.  An escalation is sent
 * even when acknowledged (it is news); acknowledging stops repeats only.
 */
enum alert_event
alert_step(struct alert *a, const struct alert_policy *pol, int active,
    enum sig_severity sev, int64_t now)
{
	switch (a->state) {
	case ALERT_FIRING:
		if (!active) {
			a->state = ALERT_RESOLVING;
			a->inactive_since = now;
			/* resolve_after = 0 resolves at once. */
			return resolve_due(a, pol, now);
		}
		break;
	case ALERT_RESOLVING:
		if (!active)
			return resolve_due(a, pol, now);
		/* Flap damping: the same alert fires on, no new FIRE. */
		a->state = ALERT_FIRING;
		a->inactive_since = 0;
		break;
	case ALERT_RESOLVED:
	default:
		if (!active)
			return AE_NONE;
		a->id = 0;		/* a new alert: the caller's to number */
		a->state = ALERT_FIRING;
		a->severity = sev;
		a->started_at = now;
		a->inactive_since = 0;
		a->resolved_at = 0;
		a->last_notified = now;
		a->acked_at = 0;
		return AE_FIRE;
	}

	/* Firing and active. */
	if (sev > a->severity) {
		a->severity = sev;
		a->last_notified = now;
		return AE_ESCALATE;
	}
	if (a->acked_at == 0 &&
	    now - a->last_notified >= pol->repeat_interval) {
		a->last_notified = now;
		return AE_REPEAT;
	}
	return AE_NONE;
}

/* ---- names ---- */

const char *
alert_event_name(enum alert_event e)
{
	return (unsigned)e < NELEM(event_names) ? event_names[e] : NULL;
}

const char *
alert_state_name(enum alert_state s)
{
	return (unsigned)s < NELEM(state_names) ? state_names[s] : NULL;
}

int
alert_state_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < NELEM(state_names); i++)
		if (strcmp(state_names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
alert_signal_name(int signal)
{
	if (signal >= 0 && signal < SIG__COUNT)
		return signal_name((enum sig_id)signal);
	if (signal >= SIG__COUNT && signal < ALERT_NSIGNALS)
		return pseudo_signals[signal - SIG__COUNT].name;
	return NULL;
}

int
alert_signal_find(const char *name)
{
	size_t i;
	int id;

	if (name == NULL)
		return -1;
	if ((id = signal_find(name)) != -1)
		return id;
	for (i = 0; i < NELEM(pseudo_signals); i++)
		if (strcmp(pseudo_signals[i].name, name) == 0)
			return SIG__COUNT + (int)i;
	return -1;
}

const char *
alert_category_name(int signal)
{
	if (signal >= 0 && signal < SIG__COUNT)
		return signal_category_name((enum sig_id)signal);
	if (signal >= SIG__COUNT && signal < ALERT_NSIGNALS)
		return pseudo_signals[signal - SIG__COUNT].category;
	return NULL;
}

int
alert_category_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	if (signal_category_parse(s) != -1)
		return 1;
	for (i = 0; i < NELEM(pseudo_signals); i++)
		if (strcmp(pseudo_signals[i].category, s) == 0)
			return 1;
	return 0;
}

static uint64_t
fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *c = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= FNV64_PRIME;
	}
	return h;
}

/*
 * FNV-1a 64 over the account id, a 0 byte and the signal's name (not
 * its number, so that adding a signal to the table changes nothing).
 * An unknown signal hashes as the empty name.
 */
void
alert_fingerprint(const char *account_id, int signal, char out[17])
{
	const char *name;
	uint64_t h = FNV64_OFFSET;

	if (account_id == NULL)
		account_id = "";
	if ((name = alert_signal_name(signal)) == NULL)
		name = "";
	h = fnv1a(h, account_id, strlen(account_id));
	h = fnv1a(h, "", 1);
	h = fnv1a(h, name, strlen(name));
	snprintf(out, 17, "%016" PRIx64, h);
}

/* ---- routes ---- */

/* A set matcher matches only the same value; an unset one anything. */
static int
matcher_ok(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static int
route_matches(const struct alert_route *r, const struct alert_facts *f)
{
	return matcher_ok(r->category, f->category) &&
	    matcher_ok(r->severity, f->severity) &&
	    matcher_ok(r->signal, f->signal) &&
	    matcher_ok(r->segment, f->segment) &&
	    matcher_ok(r->owner, f->owner) &&
	    matcher_ok(r->renewal, f->renewal);
}

size_t
alert_route(const struct alert_route *routes, size_t nroutes,
    const struct alert_facts *f, const char **out, size_t max)
{
	const struct alert_route *r;
	size_t i, j, n = 0;
	char **rv;

	for (i = 0; i < nroutes; i++) {
		r = &routes[i];
		if (!route_matches(r, f))
			continue;
		for (rv = r->receivers; rv != NULL && *rv != NULL; rv++) {
			for (j = 0; j < n; j++)
				if (strcmp(out[j], *rv) == 0)
					break;
			if (j == n && n < max)
				out[n++] = *rv;
		}
		if (!r->cont)
			break;
	}
	return n;
}

/* ---- silences ---- */

int
alert_silenced(const struct alert_silence *s, const char *account_id,
    const struct alert_facts *f, int64_t now)
{
	if (s->ended_at != 0 || s->until <= now)
		return 0;
	return matcher_ok(s->account_id, account_id) &&
	    matcher_ok(s->signal, f->signal) &&
	    matcher_ok(s->category, f->category);
}
