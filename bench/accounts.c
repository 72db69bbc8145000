/*
 * bench/accounts.c -- memory per account and evaluation sweep time for N
 * synthetic accounts (issue 3's design targets: <= 2 KiB per account plus
 * <= 32 bytes per tracked user; a sweep of a million accounts in about a
 * second of CPU).
 *
 *	bench/accounts N [USERS]
 *
 * Each account gets 180 days of daily logins, USERS tracked users (default
 * 10), two features, and every tenth account a few tickets, contact
 * changes and a competitor signal, built through the same functions the
 * daemon uses (window_restore_*, window_apply).  Prints resident memory
 * per account (from /proc/self/statm), the windows' own byte count, and
 * the time of a full evaluation sweep (account_evaluate on every account).
 * No assertion: it reports.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "event.h"
#include "intern.h"
#include "signal.h"
#include "util.h"
#include "window.h"

static size_t
rss_bytes(void)
{
	FILE *f;
	unsigned long size, rss;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
apply(struct account *a, const struct win_rules *rules, enum cw_event_type t,
    int64_t ts, struct cw_event_props *p)
{
	struct cw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = (char *)"x";
	ev.account_id = a->id;
	ev.type = t;
	ev.ts = ts;
	ev.props = (char *)"{}";
	ev.p = *p;
	window_apply(&a->w, &ev, rules);
}

int
main(int argc, char *argv[])
{
	struct sig_result out[SIG__COUNT];
	struct account_table *t;
	struct sig_config cfg;
	struct win_rules rules;
	struct cw_event_props p;
	struct account *a;
	char id[32], user[32];
	size_t n, users, i, u, rss0, rss1, wbytes = 0, active = 0;
	int64_t now = util_now_us();
	int32_t today = window_day(now);
	double t0, t1, t2;
	int d, changed, k;

	if (argc < 2 || (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bench/accounts N [USERS]\n");
		return 2;
	}
	users = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	signal_config_defaults(&cfg);
	signal_win_rules(&cfg, &rules);
	srandom(42);

	rss0 = rss_bytes();
	t0 = now_s();
	if ((t = account_table_new()) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "acct-%zu", i);
		a = account_get(t, id);
		a->seats = (int32_t)(users * 2);
		a->onboarded_at = now - (int64_t)(200 + i % 100) *
		    CW_USEC_PER_DAY;
		for (d = 0; d < 180; d++)
			window_restore_logins(&a->w, today - d,
			    (unsigned)(random() % 20));
		for (u = 0; u < users; u++) {
			snprintf(user, sizeof(user), "user-%zu", u);
			window_restore_user(&a->w, user,
			    today - (int32_t)(random() % 40));
		}
		window_restore_feature(&a->w, "reports", today - 1);
		window_restore_feature(&a->w, "dashboards", today - 20);
		if (i % 10 != 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.is_champion = -1;
		for (k = 0; k < 6; k++) {
			p.ticket_id = (char *)"T";
			p.team = (char *)"engineering";
			p.category = (char *)"api-latency";
			p.has_sentiment = 1;
			p.sentiment = -0.5;
			apply(a, &rules, EV_TICKET_CREATED, now - (int64_t)(k * 9) *
			    CW_USEC_PER_DAY, &p);
		}
		memset(&p, 0, sizeof(p));
		p.contact_id = (char *)"c1";
		p.title = (char *)"Senior Manager";
		p.previous_title = (char *)"Head of Customer Success";
		p.is_champion = 1;
		apply(a, &rules, EV_CONTACT_CHANGED, now - 20 * CW_USEC_PER_DAY,
		    &p);
		memset(&p, 0, sizeof(p));
		p.is_champion = -1;
		p.competitor = (char *)"Rivalry";
		p.kind = (char *)"mention";
		apply(a, &rules, EV_COMPETITOR_SIGNAL, now - 3 * CW_USEC_PER_DAY,
		    &p);
	}
	t1 = now_s();
	rss1 = rss_bytes();
	for (i = 0; i < t->count; i++)
		wbytes += sizeof(struct account) + strlen(t->all[i]->id) + 1 +
		    window_bytes(&t->all[i]->w) - sizeof(struct window);

	/* Two sweeps: the first also settles since/score state. */
	account_evaluate(t->all[0], &cfg, NULL, now, out, &changed);
	for (i = 0; i < t->count; i++)
		account_evaluate(t->all[i], &cfg, NULL, now, out, &changed);
	t2 = now_s();
	for (i = 0; i < t->count; i++)
		active += (size_t)account_evaluate(t->all[i], &cfg, NULL, now, out,
		    &changed);
	t2 = now_s() - t2;

	printf("accounts %zu  users/account %zu  build %.2f s\n", n, users,
	    t1 - t0);
	printf("  resident memory %.1f MiB = %.0f bytes/account\n",
	    (double)(rss1 - rss0) / 1048576.0,
	    (double)(rss1 - rss0) / (double)n);
	printf("  account + window bytes (own count) %.0f bytes/account\n",
	    (double)wbytes / (double)n);
	printf("  sweep: %.3f s for %zu accounts = %.2f us/account; "
	    "%.2f active signals/account\n", t2, n, t2 * 1e6 / (double)n,
	    (double)active / (double)n);
	account_table_free(t);
	signal_config_free(&cfg);
	intern_purge();
	return 0;
}
