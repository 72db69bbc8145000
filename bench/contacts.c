/*
 * bench/contacts.c -- one account with many contacts (issue 9: a client
 * may send thousands): the cost of applying contact events to it and of
 * evaluating it (contact_turnover reads every contact event).
 *
 *	bench/contacts [N [BATCH]]
 *
 * Builds one account with N contacts (default 30,000) that joined and
 * changed title in the last 50 days (so contact_turnover reads them), then
 * applies BATCH (default 5,000) more contact events the way one request
 * would (half changes of known contacts, half new ones, a tenth leaving)
 * and evaluates the account once, as the daemon does after a commit;
 * then times the evaluation alone (the account view evaluates too).
 * Prints the figures; asserts nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "event.h"
#include "intern.h"
#include "signal.h"
#include "util.h"
#include "window.h"

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
contact(struct account *a, const struct win_rules *rules,
    enum cw_event_type t, int64_t ts, const char *id, const char *title)
{
	struct cw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = (char *)"x";
	ev.account_id = a->id;
	ev.type = t;
	ev.ts = ts;
	ev.props = (char *)"{}";
	ev.p.is_champion = -1;
	ev.p.contact_id = (char *)id;
	ev.p.title = (char *)title;
	window_apply(&a->w, &ev, rules);
}

int
main(int argc, char *argv[])
{
	static const char *const titles[] = { "Manager", "VP Sales",
	    "Head of IT", "Engineer" };
	struct sig_result out[SIG__COUNT];
	struct account_table *t;
	struct sig_config cfg;
	struct win_rules rules;
	struct account *a;
	size_t n = 30000, batch = 5000, i, reps = 20;
	int64_t now = util_now_us(), day = CW_USEC_PER_DAY;
	double t0, t1, ta, t2, t3;
	char id[32];
	int changed, active = 0;

	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		batch = strtoul(argv[2], NULL, 10);
	signal_config_defaults(&cfg);
	signal_win_rules(&cfg, &rules);
	if ((t = account_table_new()) == NULL ||
	    (a = account_get(t, "big")) == NULL)
		return 1;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "contact-%zu", i);
		contact(a, &rules, EV_CONTACT_JOINED, now - 100 * day, id,
		    titles[i % 4]);
		/* A title change in the last 50 days: turnover reads it. */
		contact(a, &rules, EV_CONTACT_CHANGED, now - (int64_t)(i % 50) *
		    day, id, titles[(i + 1) % 4]);
	}
	account_evaluate(a, &cfg, NULL, now, out, &changed);
	t1 = now_s();
	for (i = 0; i < batch; i++) {
		if (i % 2 == 0)
			snprintf(id, sizeof(id), "contact-%zu", i * 5 % n);
		else
			snprintf(id, sizeof(id), "new-%zu", i);
		contact(a, &rules, i % 10 == 0 ? EV_CONTACT_LEFT :
		    i % 2 == 0 ? EV_CONTACT_CHANGED : EV_CONTACT_JOINED,
		    now - (int64_t)(i % 40) * day, id, titles[(i + 1) % 4]);
	}
	ta = now_s() - t1;
	t2 = now_s();
	active = account_evaluate(a, &cfg, NULL, now, out, &changed);
	t2 = now_s() - t2;
	t3 = now_s();
	for (i = 0; i < reps; i++)
		account_evaluate(a, &cfg, NULL, now, out, &changed);
	t3 = (now_s() - t3) / (double)reps;

	printf("contacts %zu (+%zu), contact events %u\n", n, batch,
	    a->w.ncevents);
	printf("  build %.3f s = %.2f us/event\n", t1 - t0,
	    (t1 - t0) * 1e6 / (double)(2 * n));
	printf("  request of %zu contact events: apply %.4f s "
	    "(%.2f us/event) + one evaluation %.4f s\n", batch, ta,
	    ta * 1e6 / (double)batch, t2);
	printf("  evaluation (as the account view): %.4f s; %d active\n", t3,
	    active);
	account_table_free(t);
	signal_config_free(&cfg);
	intern_purge();
	return 0;
}
