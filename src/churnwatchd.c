/*
 * churnwatchd.c -- start-up order, signals, sd_notify and graceful drain.
 *
 * Start-up: parse the config (fatal on any problem), bind the listener (or
 * take the socket systemd passed), then connect to PostgreSQL in the
 * background, apply migrations, and only then report ready.  Until then
 * /healthz answers 200, /readyz and ingest 503.  Only the wiring between
 * the modules lives here (http -> ingest -> store, spool and engine), so
 * that none of them includes another's header; what happens to an
 * accepted request is ingest.c's.
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "account.h"
#include "backtest.h"
#include "cwconfig.h"
#include "db.h"
#include "engine.h"
#include "event.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "segment.h"
#include "slackapp.h"
#include "spool.h"
#include "store.h"
#include "util.h"
#include "window.h"

#define DEFAULT_CONFIG		SYSCONFDIR "/churnwatch/churnwatch.conf"
#define DRAIN_TIMEOUT_SEC	30
#define MIGRATE_TIMEOUT_SEC	30

static struct {
	struct event_base	*base;
	struct cw_config	*cfg;
	struct db		*db;		/* dbs[0]: migrations, accounts */
	struct db		**dbs;		/* one per ingest lane */
	struct db		*db_reports;	/* the reports' own */
	struct db		*db_jobs;	/* the usage rollup's own */
	size_t			 ndbs;
	struct store		*store;
	struct engine		*engine;
	struct slackapp		*slackapp;	/* Slack's requests */
	struct spool		*spool;		/* NULL: none */
	struct ingest		*ingest;
	struct http		*http;
	int			 migrate_only;
	int			 migrated;
	int			 loading;
	int			 exit_code;
	int			 draining;
	int			 flushing;	/* the last snapshots */
	struct timespec		 drain_start;
	struct event		*ev_drain;
	struct event		*ev_migrate_timeout;
	struct event		*ev_watchdog;
	struct event		*ev_retention;
	struct event		*ev_usage;
	struct store_usage_mark	 usage;		/* with usage_known */
	int			 usage_known;
	int			 usage_busy;	/* a step in flight */
} d;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: churnwatchd [--config PATH] [--check-config | --migrate]\n"
	    "       churnwatchd [--config PATH] --backtest --since DATE "
	    "[--until DATE]\n"
	    "                   [--within DAYS] [--format text|json] [--raw]\n"
	    "       churnwatchd --dump-config | --version | --help\n"
	    "\n"
	    "  -c, --config PATH    configuration file (default %s)\n"
	    "  -n, --check-config   validate the configuration and exit\n"
	    "      --migrate        apply pending schema migrations and exit\n"
	    "      --dump-config    print every section and key with its "
	    "default\n"
	    "                       and help, as a configuration file, and "
	    "exit\n"
	    "      --backtest       replay the stored events through this "
	    "config's rules,\n"
	    "                       day by day from --since to --until "
	    "(default today),\n"
	    "                       and print the alerts that would have "
	    "fired and how\n"
	    "                       well each signal foretold churn (within "
	    "DAYS, 90)\n"
	    "      --raw            with --backtest: read every stored event, "
	    "not the\n"
	    "                       daily usage rollup (slower, the same "
	    "answer)\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n",
	    DEFAULT_CONFIG);
}

/* ---- wiring http -> store ---- */

static int
ready_fn(void *arg, const char **reason)
{
	/* With the spool, ingest goes on while the database is away. */
	if (!db_is_up(d.db) && (!d.migrated || d.ingest == NULL ||
	    !ingest_spool_ok(d.ingest))) {
		*reason = "database unavailable";
		return 0;
	}
	if (!d.migrated) {
		*reason = "schema migrations not applied yet";
		return 0;
	}
	if (!engine_loaded(d.engine)) {
		*reason = "loading accounts";
		return 0;
	}
	if (d.draining) {
		*reason = "shutting down";
		return 0;
	}
	return 1;
}

/* ---- wiring http -> ingest -> engine ---- */

static int
admit_fn(void *arg, const struct cw_event *ev, size_t n,
    const char *const *accounts, size_t na, const char *const *members,
    size_t nm, const char **limit, struct cw_error *err)
{
	return engine_admit(d.engine, ev, n, accounts, na, members, nm, limit,
	    err);
}

static int
ingest_fn(void *arg, const char *source, const struct cw_event *ev, size_t n,
    void *handle)
{
	return ingest_events(d.ingest, source, ev, n, handle);
}

static int
account_put_fn(void *arg, const char *id, const char *json, void *handle)
{
	return ingest_account_put(d.ingest, id, json, handle);
}

static int
segment_fn(void *arg, const char *source, const void *result, void *handle)
{
	return ingest_segment(d.ingest, source, result, handle);
}

static void
apply_fn(void *arg, const struct cw_event *ev, size_t n, const uint8_t *fresh)
{
	engine_apply(d.engine, ev, n, fresh);
}

static void
member_fn(void *arg, const char *user_id, const char *account_id)
{
	engine_member_set(d.engine, user_id, account_id);
}

static void
account_fn(void *arg, const char *id, const char *json)
{
	engine_account_meta(d.engine, id, json);
}

static int
loaded_fn(void *arg)
{
	return engine_loaded(d.engine);
}

static void
api_reply(void *handle, unsigned status, char *json, const char *code,
    const char *msg)
{
	if (json != NULL)
		http_api_done(handle, status, json);
	else
		http_api_error(handle, status, code, msg);
}

static int
api_fn(void *arg, int call, const char *id, const char *body, size_t len,
    const char *const q[3], const char *token, void *handle)
{
	return engine_api(d.engine, call, id, body, len, q, token, api_reply,
	    handle);
}

/* ---- wiring http -> slackapp -> engine, ingest ---- */

static char *
slack_list_fn(void *arg, const char *owner, const char **err)
{
	struct engine_list_query lq;

	memset(&lq, 0, sizeof(lq));
	lq.owner = owner != NULL && *owner != '\0' ? owner : NULL;
	lq.limit = "25";
	return engine_list_json(d.engine, &lq, err);
}

static char *
slack_account_fn(void *arg, const char *id)
{
	return engine_account_json(d.engine, id);
}

static int
slack_ack_fn(void *arg, uint64_t alert_id, const char *by,
    slackapp_reply reply, void *handle)
{
	return engine_slack_ack(d.engine, alert_id, by, reply, handle);
}

static int
slack_snooze_fn(void *arg, const char *account, const char *signal,
    unsigned days, const char *by, const char *reason, slackapp_reply reply,
    void *handle)
{
	return engine_slack_snooze(d.engine, account, signal, days, by, reason,
	    reply, handle);
}

static int
slack_note_fn(void *arg, const char *source, const struct cw_event *ev,
    size_t n, void *handle)
{
	return ingest_events(d.ingest, source, ev, n, handle);
}

static int
slack_admit_fn(void *arg, const struct cw_event *ev, size_t n,
    const char **limit, struct cw_error *err)
{
	return engine_admit(d.engine, ev, n, NULL, 0, NULL, 0, limit, err);
}

static int
slack_respond_fn(void *arg, const char *url, const char *json)
{
	return engine_slack_respond(d.engine, url, json);
}

static int
slack_fn(void *arg, int call, const char *body, size_t len, void *handle)
{
	return slackapp_request(d.slackapp, call == HTTP_SLACK_INTERACTIONS ?
	    SLACKAPP_INTERACTIONS : SLACKAPP_COMMANDS, body, len, handle);
}

/* ingest answers both HTTP requests and Slack's notes. */
static void
events_done_fn(void *handle, int committed, const uint8_t *fresh,
    const char *const *why)
{
	if (slackapp_owns(d.slackapp, handle))
		slackapp_note_done(handle, committed, fresh, why);
	else
		http_ingest_done(handle, committed, fresh, why);
}

static void
metrics_refresh_fn(void *arg)
{
	const char *reason;

	metrics_set(cw_metrics, M_NOTIFICATION_QUEUE, NULL,
	    (double)engine_backlog(d.engine));
	metrics_set(cw_metrics, M_DB_UP, NULL, db_is_up(d.db) ? 1 : 0);
	metrics_set(cw_metrics, M_SPOOL_BYTES, NULL,
	    (double)ingest_spooled(d.ingest));
	metrics_set(cw_metrics, M_READY, NULL, ready_fn(NULL, &reason));
	if (!engine_loaded(d.engine))
		metrics_set(cw_metrics, M_ACCOUNTS, NULL,
		    (double)engine_accounts(d.engine));
}

static const char *
member_find_fn(void *arg, const char *user_id)
{
	return engine_member_find(d.engine, user_id);
}

static char *
account_get_fn(void *arg, const char *id)
{
	return engine_account_json(d.engine, id);
}

static char *
account_list_fn(void *arg, const char *const q[6], const char **err)
{
	struct engine_list_query lq = { q[0], q[1], q[2], q[3], q[4], q[5] };

	return engine_list_json(d.engine, &lq, err);
}

/* ---- database state and migrations ---- */

static void	start_loading(void);

static void
on_migrated(enum migrate_result r, int applied, void *arg)
{
	switch (r) {
	case MIGRATE_OK:
		d.migrated = 1;
		log_notice("migrate: schema current version=%d applied=%d",
		    migrate_latest(), applied);
		if (d.migrate_only) {
			event_base_loopbreak(d.base);
			return;
		}
		start_loading();
		break;
	case MIGRATE_FAILED:
		log_warnx("migrate: failed; exiting");
		d.exit_code = 1;
		event_base_loopbreak(d.base);
		break;
	case MIGRATE_RETRY:
		break;		/* runs again when the connection is back */
	}
}

/* ---- retention (SPEC 3) ---- */

static void
retention_arm(unsigned secs)
{
	struct timeval tv = { secs, 0 };

	evtimer_add(d.ev_retention, &tv);
}

static void
retention_done_cb(enum store_status st, uint64_t deleted, void *arg)
{
	if (st == STORE_OK && deleted > 0)
		log_notice("retention: done deleted_events=%llu "
		    "horizon_days=%u", (unsigned long long)deleted,
		    d.cfg->horizon_days);
	retention_arm(d.cfg->retention_interval);
}

static void
retention_cb(evutil_socket_t fd, short what, void *arg)
{
	if (d.draining)
		return;
	if (store_retention(d.store, d.cfg->horizon_days, retention_done_cb,
	    NULL) == -1)
		retention_arm(60);	/* database down: try again soon */
}

/* ---- the usage rollup (012_usage_daily.sql) ---- */

static void	usage_next(void);

static void
usage_arm(int64_t us)
{
	struct timeval tv = { us / CW_USEC_PER_SEC, us % CW_USEC_PER_SEC };

	evtimer_add(d.ev_usage, &tv);
}

static void
usage_done_cb(enum store_status st, const struct store_usage_mark *m,
    uint64_t rows, void *arg)
{
	int read = !d.usage_known;

	d.usage_busy = 0;
	if (st != STORE_OK || m == NULL) {
		d.usage_known = 0;	/* read it again */
		usage_arm(st == STORE_OK ? 0 : d.cfg->db_rollup_interval);
		return;
	}
	if (d.usage_known && m->day != d.usage.day)
		log_info("usage rollup: day=%ld rows=%llu", (long)m->day - 1,
		    (unsigned long long)rows);
	d.usage = *m;
	d.usage_known = 1;
	store_usage_consumed(d.store, m->commit);
	/*
	 * On at once after reading the mark and while days are still to
	 * roll up; the commits that keep coming wait for the interval
	 * (each step is a commit too).
	 */
	if (read || m->day < window_day(util_now_us()))
		usage_next();
	else
		usage_arm(d.cfg->db_rollup_interval);
}

/*
 * One step at a time, back to back while days are to be rolled up (the
 * first start after the upgrade, a day's end), else every [database]
 * rollup_interval: the settled commits, read for back-fills of earlier
 * days when one was sent.
 */
static void
usage_next(void)
{
	const int64_t *above;
	size_t nabove;
	int64_t mark, lo, day_commit;
	int32_t today = window_day(util_now_us());
	int rc;

	if (d.draining || d.usage_busy)
		return;
	if (!d.usage_known)
		rc = store_usage_read(d.db_jobs, usage_done_cb, NULL);
	else {
		store_watermark(d.store, &mark, &above, &nabove);
		/*
		 * A back-fill is what lies before the rollup's day -- which
		 * another clock (PostgreSQL's, at the migration; another
		 * host's) may have put after ours.
		 */
		store_usage_flags(d.store, today > d.usage.day ? today :
		    d.usage.day, &lo, &day_commit);
		if (mark <= d.usage.commit && d.usage.day < today &&
		    d.usage.commit < day_commit) {
			/* A day's last commits are still settling. */
			usage_arm(CW_USEC_PER_SEC);
			return;
		}
		/* Commits read only if one may hold a back-fill. */
		rc = store_usage_step(d.db_jobs, &d.usage, mark,
		    lo != 0 && lo <= mark, today, usage_done_cb, NULL);
	}
	if (rc == 0)
		d.usage_busy = 1;
	else
		usage_arm(d.cfg->db_rollup_interval);
}

static void
usage_cb(evutil_socket_t fd, short what, void *arg)
{
	usage_next();
}

static void
loaded_cb(int ok, void *arg)
{
	d.loading = 0;
	if (!ok) {
		log_warnx("loading accounts failed; retrying when the database "
		    "is back");
		return;
	}
#ifdef HAVE_MALLOC_TRIM
	/*
	 * The loader's result and image buffers are freed by now, between
	 * the accounts: hand their pages back rather than count them in
	 * the resident size for the daemon's lifetime.
	 */
	(void)malloc_trim(0);
#endif
	sd_notifyf(0, "READY=1\nSTATUS=ready: %zu accounts",
	    engine_accounts(d.engine));
	/* The first retention run a minute after start, then every
	 * retention_interval: a daemon restarted daily still runs it. */
	if (!evtimer_pending(d.ev_retention, NULL))
		retention_arm(d.cfg->retention_interval < 60 ?
		    d.cfg->retention_interval : 60);
	/* The watermark means what it says from now on. */
	if (!evtimer_pending(d.ev_usage, NULL) && !d.usage_busy)
		usage_arm(0);
	log_notice("churnwatchd: ready accounts=%zu",
	    engine_accounts(d.engine));
}

/* Rebuild the windows; ready when done. */
static void
start_loading(void)
{
	if (engine_loaded(d.engine) || d.loading)
		return;
	sd_notify(0, "STATUS=loading accounts");
	d.loading = 1;
	if (engine_load(d.engine, loaded_cb, NULL) == -1)
		d.loading = 0;
}

static void
on_db_state(int up, void *arg)
{
	if (up && d.migrated)
		start_loading();
	if (up && !d.migrated)
		migrate_run(d.db, on_migrated, NULL);
	if (!d.migrate_only)
		sd_notifyf(0, "STATUS=%s", up ? (d.migrated ? "ready" :
		    "migrating") : "database unavailable; retrying");
}

static void
migrate_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("migrate: could not reach the database in %d s",
	    MIGRATE_TIMEOUT_SEC);
	d.exit_code = 1;
	event_base_loopbreak(d.base);
}

/* ---- signals ---- */

static double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
flushed_cb(int ok, void *arg)
{
	if (!ok)
		log_warnx("stop: the last snapshots were not stored; the next "
		    "start replays the events since the last pass");
	event_base_loopbreak(d.base);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t conns = d.http != NULL ? http_connections(d.http) : 0;
	size_t pending = ingest_pending(d.ingest);

	if (elapsed(&d.drain_start) > DRAIN_TIMEOUT_SEC) {
		if (conns > 0 || pending > 0)
			log_warnx("stop: gave up waiting for %zu connections "
			    "and %zu events", conns, pending);
		else
			log_warnx("stop: gave up storing the last snapshots");
		event_base_loopbreak(d.base);
		return;
	}
	/* Drained: the last snapshots, so that a restart replays nothing. */
	if (conns == 0 && pending == 0 && !d.flushing) {
		d.flushing = 1;
		engine_flush(d.engine, flushed_cb, NULL);
	}
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { 0, 50000 };

	if (d.draining)
		return;
	log_notice("stop: signal=%d finishing in-flight requests", (int)sig);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	d.draining = 1;
	ingest_stop(d.ingest);
	clock_gettime(CLOCK_MONOTONIC, &d.drain_start);
	if (d.http != NULL)
		http_stop_accepting(d.http);
	if (d.migrate_only) {
		d.exit_code = 1;
		event_base_loopbreak(d.base);
		return;
	}
	d.ev_drain = event_new(d.base, -1, EV_PERSIST, drain_cb, NULL);
	event_add(d.ev_drain, &tv);
}

/* Log what config_load() wrote, line by line, with a priority. */
static void
log_problems(const char *text)
{
	const char *p, *nl;

	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl > p)
			log_warnx("reload: %.*s", (int)(nl - p), p);
		if (*nl == '\0')
			break;
	}
}

static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct cw_config *ncfg;
	struct timespec ts;
	char *text = NULL, keys[256];
	size_t len = 0;
	FILE *errs;
	int problems;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	log_notice("reload: reading path=%s", d.cfg->path);
	if ((errs = open_memstream(&text, &len)) == NULL)
		errs = stderr;
	problems = config_load(d.cfg->path, errs, &ncfg);
	if (errs != stderr) {
		fclose(errs);
		log_problems(text);
		free(text);
	}
	if (problems > 0) {
		log_warnx("reload: %d problem%s in %s; keeping the running "
		    "configuration", problems, problems == 1 ? "" : "s",
		    d.cfg->path);
		sd_notify(0, "READY=1\nSTATUS=ready (reload refused: see the "
		    "log)");
		return;
	}
	/* The keys the config table marks CFG_RESTART. */
	if (config_restart_changes(d.cfg, ncfg, keys, sizeof(keys)) > 0)
		log_warnx("reload: %s take effect at the next restart", keys);
	http_set_config(d.http, ncfg);
	engine_set_config(d.engine, ncfg);
	if (d.spool != NULL)
		spool_set_max(d.spool, ncfg->spool_max_bytes);
	ingest_set_max_batch(d.ingest, ncfg->max_batch_events);
	config_free(d.cfg);
	d.cfg = ncfg;
	log_init(d.cfg->log_level);
	log_notice("reload: done");
	sd_notifyf(0, "READY=1\nSTATUS=ready: %zu accounts",
	    engine_accounts(d.engine));
}

/* WATCHDOG=1 from the loop itself: a stuck loop stops the pings. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void
watchdog_start(void)
{
	struct timeval tv;
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	d.ev_watchdog = event_new(d.base, -1, EV_PERSIST, watchdog_cb, NULL);
	event_add(d.ev_watchdog, &tv);
	sd_notify(0, "WATCHDOG=1");
	log_info("watchdog: pinging systemd every %llu ms",
	    (unsigned long long)(usec / 1000));
}

/*
 * Make room for max_connections connections, three descriptors each (the
 * client's socket and the pair it is relayed through, http.c), plus our
 * own files.
 */
static void
raise_fd_limit(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("open files limit %llu is below 3 x "
		    "max_connections + 256; raise LimitNOFILE",
		    (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	  required_argument, NULL, 'c' },
		{ "check-config", no_argument,	     NULL, 'n' },
		{ "migrate",	  no_argument,	     NULL, 'm' },
		{ "dump-config",  no_argument,	     NULL, 'D' },
		{ "backtest",	  no_argument,	     NULL, 'B' },
		{ "since",	  required_argument, NULL, 'S' },
		{ "until",	  required_argument, NULL, 'U' },
		{ "within",	  required_argument, NULL, 'W' },
		{ "format",	  required_argument, NULL, 'F' },
		{ "raw",	  no_argument,	     NULL, 'R' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONFIG;
	struct http_ops ops;
	struct ingest_ops iops;
	struct slackapp_ops sops;
	struct ingest_sink sink;
	struct event *ev_term, *ev_int, *ev_hup;
	struct backtest_args bta = { NULL, NULL, NULL, BACKTEST_TEXT, 0 };
	const char *format = NULL;
	int ch, check_only = 0, problems, listen_fd = -1, n, backtest = 0;
	size_t i;

	while ((ch = getopt_long(argc, argv, "c:nVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'm':
			d.migrate_only = 1;
			break;
		case 'D':
			config_dump(stdout, PACKAGE_VERSION);
			return fflush(stdout) == 0 ? 0 : 1;
		case 'B':
			backtest = 1;
			break;
		case 'S':
			bta.since = optarg;
			break;
		case 'U':
			bta.until = optarg;
			break;
		case 'W':
			bta.within = optarg;
			break;
		case 'F':
			format = optarg;
			break;
		case 'R':
			bta.raw = 1;
			break;
		case 'V':
			printf("churnwatchd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!backtest && (bta.since != NULL ||
	    bta.until != NULL || bta.within != NULL || format != NULL ||
	    bta.raw)) ||
	    (backtest && (check_only || d.migrate_only))) {
		usage(stderr);
		return 2;
	}
	if (format != NULL && strcmp(format, "json") == 0)
		bta.format = BACKTEST_JSON;
	else if (format != NULL && strcmp(format, "text") != 0) {
		fprintf(stderr, "churnwatchd: --format must be text or json\n");
		return 2;
	}

	problems = config_load(path, stderr, &d.cfg);
	if (problems > 0) {
		fprintf(stderr, "%s: %d problem%s found\n", path, problems,
		    problems == 1 ? "" : "s");
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		config_free(d.cfg);
		return 0;
	}
	if (backtest) {
		/* Reads only; sends and writes nothing (backtest.h). */
		log_init(d.cfg->log_level);
		n = backtest_run(d.cfg, &bta);
		config_free(d.cfg);
		return n;
	}
	log_init(d.cfg->log_level);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit((rlim_t)d.cfg->max_connections * 3 + 256);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());

	if ((d.base = event_base_new()) == NULL ||
	    (cw_metrics = metrics_new()) == NULL)
		fatalx("cannot create the event loop");
	d.ev_retention = evtimer_new(d.base, retention_cb, NULL);
	d.ev_usage = evtimer_new(d.base, usage_cb, NULL);
	if (!d.migrate_only && (d.spool = spool_open(d.cfg->spool_dir,
	    d.cfg->spool_max_bytes)) == NULL)
		log_warnx("spool: unavailable; ingest answers 503 while the "
		    "database is away");
	ev_term = evsignal_new(d.base, SIGTERM, stop_cb, NULL);
	ev_int = evsignal_new(d.base, SIGINT, stop_cb, NULL);
	ev_hup = evsignal_new(d.base, SIGHUP, reload_cb, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	if (!d.migrate_only) {
		n = sd_listen_fds(1);
		if (n > 1)
			fatalx("socket activation passed %d sockets; expected 1",
			    n);
		if (n == 1)
			listen_fd = SD_LISTEN_FDS_START;
		ops.ready = ready_fn;
		ops.ingest = ingest_fn;
		ops.admit = admit_fn;
		ops.account_put = account_put_fn;
		ops.account_get = account_get_fn;
		ops.account_list = account_list_fn;
		ops.api = api_fn;
		ops.metrics_refresh = metrics_refresh_fn;
		ops.member_find = member_find_fn;
		ops.segment = segment_fn;
		ops.slack = slack_fn;
		ops.arg = NULL;
		if ((d.http = http_new(d.base, d.cfg, listen_fd, &ops)) == NULL)
			fatalx("cannot start the HTTP server");
		event_add(ev_hup, NULL);
		watchdog_start();
		log_notice("churnwatchd: started version=%s listen=%s",
		    PACKAGE_VERSION, listen_fd >= 0 ? "systemd-socket" :
		    d.cfg->listen);
	} else {
		struct timeval tv = { MIGRATE_TIMEOUT_SEC, 0 };

		d.ev_migrate_timeout = evtimer_new(d.base, migrate_timeout_cb,
		    NULL);
		evtimer_add(d.ev_migrate_timeout, &tv);
	}

	/* Only the first connection reports state: it gates readiness. */
	d.ndbs = d.migrate_only ? 1 : d.cfg->db_connections;
	if ((d.dbs = calloc(d.ndbs, sizeof(*d.dbs))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < d.ndbs; i++)
		if ((d.dbs[i] = db_new(d.base, d.cfg->db_url,
		    (unsigned)(d.cfg->db_statement_timeout / 1000),
		    i == 0 ? on_db_state : NULL, NULL)) == NULL)
			fatalx("out of memory");
	d.db = d.dbs[0];
	if ((d.store = store_new(d.base, d.dbs, d.ndbs,
	    d.cfg->max_batch_events)) == NULL ||
	    (d.engine = engine_new(d.base, d.store, d.cfg)) == NULL)
		fatalx("out of memory");
	/* Reports read a year of history: never on an ingest lane. */
	if (!d.migrate_only) {
		if ((d.db_reports = db_new(d.base, d.cfg->db_url,
		    (unsigned)(d.cfg->db_statement_timeout / 1000), NULL,
		    NULL)) == NULL)
			fatalx("out of memory");
		store_set_reports_db(d.store, d.db_reports);
		if ((d.db_jobs = db_new(d.base, d.cfg->db_url, 0, NULL,
		    NULL)) == NULL)
			fatalx("out of memory");
	}
	memset(&sops, 0, sizeof(sops));
	sops.account_json = slack_account_fn;
	sops.list_json = slack_list_fn;
	sops.ack = slack_ack_fn;
	sops.snooze = slack_snooze_fn;
	sops.note = slack_note_fn;
	sops.admit = slack_admit_fn;
	sops.respond = slack_respond_fn;
	sops.reply = api_reply;
	if ((d.slackapp = slackapp_new(d.base, &sops)) == NULL)
		fatalx("out of memory");
	ingest_store_sink(d.store, &sink);
	iops.apply = apply_fn;
	iops.member = member_fn;
	iops.account = account_fn;
	iops.loaded = loaded_fn;
	iops.events_done = events_done_fn;
	iops.account_done = http_account_done;
	iops.segment_done = http_segment_done;
	iops.arg = NULL;
	if ((d.ingest = ingest_new(d.base, &sink, d.spool, d.store,
	    d.cfg->max_batch_events, &iops)) == NULL)
		fatalx("out of memory");

	event_base_dispatch(d.base);

	if (d.http != NULL)
		http_stop_accepting(d.http);
	store_shutdown(d.store);
	for (i = 0; i < d.ndbs; i++)
		db_free(d.dbs[i]);	/* in-flight commits fail into the store */
	db_free(d.db_reports);
	db_free(d.db_jobs);
	ingest_free(d.ingest);	/* answers appends waiting for their sync */
	store_free(d.store);
	engine_free(d.engine);
	slackapp_free(d.slackapp);
	free(d.dbs);
	http_free(d.http);
	if (d.ev_drain != NULL)
		event_free(d.ev_drain);
	if (d.ev_watchdog != NULL)
		event_free(d.ev_watchdog);
	event_free(d.ev_retention);
	event_free(d.ev_usage);
	spool_close(d.spool);
	if (d.ev_migrate_timeout != NULL)
		event_free(d.ev_migrate_timeout);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(d.base);
	metrics_free(cw_metrics);
	config_free(d.cfg);
	if (d.exit_code == 0 && !d.migrate_only)
		log_notice("churnwatchd: stopped");
	return d.exit_code;
}
