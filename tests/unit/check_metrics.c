/*
 * check_metrics.c -- unit tests for metrics.c: the contract's names,
 * types and labels (SPEC 8), the exact exposition text of counters,
 * gauges and histograms (cumulative buckets, +Inf, _sum, _count), number
 * formatting, label escaping and UTF-8, handles, the series cap and its
 * drop counter, many series, the process_* metrics, and promtool(1)
 * accepting a fully populated registry when /usr/bin/promtool exists.
 *
 * CHECK_METRICS_SAMPLE=FILE keeps a copy of that rendered registry.
 */
#include "config.h"

#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define PROMTOOL	"/usr/bin/promtool"

#define L(...)		((const char *const []){ __VA_ARGS__ })

static struct metrics	*m;

static void
setup(void)
{
	m = metrics_new();
	ck_assert_ptr_nonnull(m);
}

static void
teardown(void)
{
	metrics_free(m);
	m = NULL;
}

static char *
render(void)
{
	char	*text;
	size_t	 len = 0;

	text = metrics_render(m, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

/* The HELP, TYPE and sample lines of one metric, from a fresh render. */
static char *
family(const char *name)
{
	char	*text, *p, *end, *out, key[128];

	text = render();
	snprintf(key, sizeof(key), "# HELP %s ", name);
	p = strstr(text, key);
	ck_assert_msg(p != NULL, "no family %s", name);
	end = strstr(p, "\n# HELP ");
	out = strndup(p, end != NULL ? (size_t)(end + 1 - p) : strlen(p));
	ck_assert_ptr_nonnull(out);
	free(text);
	return out;
}

static void
family_eq(const char *name, const char *want)
{
	char	*got = family(name);

	ck_assert_str_eq(got, want);
	free(got);
}

/* Whether the rendered text has this exact line. */
static int
has_line(const char *line)
{
	char	*text = render(), *p;
	size_t	 n = strlen(line);
	int	 found = 0;

	for (p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n') {
			found = 1;
			break;
		}
	free(text);
	return found;
}

static double
get(enum metric_id id, const char *const *labels)
{
	double	v = -12345;

	ck_assert_int_eq(metrics_get(m, id, labels, &v), 0);
	return v;
}

static enum metric_id
find_id(const char *name)
{
	int	i;

	for (i = 0; i < M__COUNT; i++)
		if (strcmp(metrics_name(i), name) == 0)
			return i;
	ck_abort_msg("no metric %s", name);
	return M__COUNT;
}

START_TEST(lifecycle)
{
	metrics_free(NULL);
	metrics_series_add(NULL, 1);
	metrics_series_set(NULL, 1);
	metrics_series_observe(NULL, 1);
	metrics_inc(NULL, M_ACCOUNTS, NULL, 1);
	metrics_reset_gauge(NULL, M_ACCOUNTS);
	ck_assert_ptr_null(metrics_render(NULL, NULL));
	ck_assert_ptr_null(metrics_series(NULL, M_ACCOUNTS, NULL));
	ck_assert_ptr_null(metrics_series(m, M__COUNT, NULL));
	ck_assert_ptr_null(metrics_name(M__COUNT));
	ck_assert_int_eq(metrics_process_sample(NULL), -1);
	ck_assert_uint_eq(metrics_series_count(NULL, M_ACCOUNTS), 0);

	/* Unlabelled metrics exist from the start, at 0. */
	ck_assert(get(M_EVENTS_DUPLICATE, NULL) == 0);
	ck_assert(get(M_INGEST_COMMIT_SECONDS, NULL) == 0);
	ck_assert_uint_eq(metrics_series_count(m, M_ACCOUNTS), 1);
	/* Labelled ones have no series until used, but build_info. */
	ck_assert_uint_eq(metrics_series_count(m, M_EVENTS_RECEIVED), 0);
	ck_assert_uint_eq(metrics_series_count(m, M_BUILD_INFO), 1);
	ck_assert(get(M_BUILD_INFO, L(PACKAGE_VERSION)) == 1);
	ck_assert(has_line("churnwatch_build_info{version=\"" PACKAGE_VERSION
	    "\"} 1"));
	/* NULL render length is fine. */
	free(metrics_render(m, NULL));
}
END_TEST

/* SPEC 8 and the process metrics: names, types and label names. */
START_TEST(contract)
{
	static const struct {
		const char		*name;
		enum metric_type	 type;
		const char		*labels[2];
	} want[] = {
	{ "churnwatch_events_received_total", METRIC_COUNTER,
	    { "type", "source" } },
	{ "churnwatch_events_rejected_total", METRIC_COUNTER, { "reason" } },
	{ "churnwatch_events_duplicate_total", METRIC_COUNTER, { NULL } },
	{ "churnwatch_events_dead_letter_total", METRIC_COUNTER, { NULL } },
	{ "churnwatch_alerts_total", METRIC_COUNTER, { "signal", "status" } },
	{ "churnwatch_notifications_total", METRIC_COUNTER,
	    { "receiver", "result" } },
	{ "churnwatch_http_requests_total", METRIC_COUNTER,
	    { "route", "code" } },
	{ "churnwatch_signature_failures_total", METRIC_COUNTER,
	    { "source" } },
	{ "churnwatch_notifications_grouped_total", METRIC_COUNTER,
	    { "receiver" } },
	{ "churnwatch_slack_rate_limited_total", METRIC_COUNTER,
	    { "receiver" } },
	{ "churnwatch_limit_reached_total", METRIC_COUNTER, { "limit" } },
	{ "churnwatch_rate_limited_total", METRIC_COUNTER, { "token" } },
	{ "churnwatch_db_reconnects_total", METRIC_COUNTER, { NULL } },
	{ "churnwatch_metrics_series_dropped_total", METRIC_COUNTER,
	    { "metric" } },
	{ "churnwatch_spool_bytes", METRIC_GAUGE, { NULL } },
	{ "churnwatch_accounts", METRIC_GAUGE, { NULL } },
	{ "churnwatch_accounts_by_status", METRIC_GAUGE, { "status" } },
	{ "churnwatch_signals_active", METRIC_GAUGE, { "signal" } },
	{ "churnwatch_notification_queue", METRIC_GAUGE, { NULL } },
	{ "churnwatch_db_up", METRIC_GAUGE, { NULL } },
	{ "churnwatch_ready", METRIC_GAUGE, { NULL } },
	{ "churnwatch_build_info", METRIC_GAUGE, { "version" } },
	{ "churnwatch_ingest_commit_seconds", METRIC_HISTOGRAM, { NULL } },
	{ "churnwatch_db_batch_events", METRIC_HISTOGRAM, { NULL } },
	{ "churnwatch_evaluation_seconds", METRIC_HISTOGRAM, { NULL } },
	{ "churnwatch_http_request_seconds", METRIC_HISTOGRAM, { "route" } },
	{ "churnwatch_event_to_alert_seconds", METRIC_HISTOGRAM, { NULL } },
	{ "process_cpu_seconds_total", METRIC_COUNTER, { NULL } },
	{ "process_resident_memory_bytes", METRIC_GAUGE, { NULL } },
	{ "process_virtual_memory_bytes", METRIC_GAUGE, { NULL } },
	{ "process_open_fds", METRIC_GAUGE, { NULL } },
	{ "process_max_fds", METRIC_GAUGE, { NULL } },
	{ "process_start_time_seconds", METRIC_GAUGE, { NULL } },
	};
	static const char *const types[] = { "counter", "gauge", "histogram" };
	enum metric_id	 id;
	size_t		 i;
	char		 line[256], *p;

	ck_assert_uint_eq(sizeof(want) / sizeof(want[0]), M__COUNT);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		id = find_id(want[i].name);
		ck_assert_int_eq(metrics_type(id), want[i].type);
		snprintf(line, sizeof(line), "# TYPE %s %s", want[i].name,
		    types[want[i].type]);
		ck_assert_msg(has_line(line), "%s", line);

		/* The label names, in order, on a sample line. */
		metrics_series_add(metrics_series(m, id, L("v0", "v1")), 1);
		metrics_series_set(metrics_series(m, id, L("v0", "v1")), 1);
		metrics_series_observe(metrics_series(m, id, L("v0", "v1")),
		    1);
		p = line + snprintf(line, sizeof(line), "%s%s", want[i].name,
		    want[i].type == METRIC_HISTOGRAM ? "_count" : "");
		if (want[i].labels[1] != NULL)
			snprintf(p, sizeof(line) - (size_t)(p - line),
			    "{%s=\"v0\",%s=\"v1\"} 1", want[i].labels[0],
			    want[i].labels[1]);
		else if (want[i].labels[0] != NULL)
			snprintf(p, sizeof(line) - (size_t)(p - line),
			    "{%s=\"v0\"} 1", want[i].labels[0]);
		else
			snprintf(p, sizeof(line) - (size_t)(p - line), " 1");
		ck_assert_msg(has_line(line), "%s", line);
	}
}
END_TEST

/* Every family once, HELP then TYPE, families sorted by name. */
START_TEST(families_sorted)
{
	char	*text, *p, *nl, prev[128] = "", name[128];
	int	 n = 0;

	text = render();
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		if (strncmp(p, "# HELP ", 7) != 0)
			continue;
		ck_assert_int_eq(sscanf(p + 7, "%127s", name), 1);
		ck_assert_msg(strcmp(prev, name) < 0, "%s after %s", name,
		    prev);
		ck_assert(strncmp(nl + 1, "# TYPE ", 7) == 0);
		ck_assert(strncmp(nl + 8, name, strlen(name)) == 0);
		snprintf(prev, sizeof(prev), "%s", name);
		n++;
	}
	ck_assert_int_eq(n, M__COUNT);
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	free(text);

	/* A labelled family with no series: HELP and TYPE only. */
	family_eq("churnwatch_events_rejected_total",
	    "# HELP churnwatch_events_rejected_total Events rejected at "
	    "ingest, by reason.\n"
	    "# TYPE churnwatch_events_rejected_total counter\n");
}
END_TEST

START_TEST(counter_render)
{
	family_eq("churnwatch_events_duplicate_total",
	    "# HELP churnwatch_events_duplicate_total Events dropped because "
	    "their id was already stored.\n"
	    "# TYPE churnwatch_events_duplicate_total counter\n"
	    "churnwatch_events_duplicate_total 0\n");
	metrics_inc(m, M_EVENTS_DUPLICATE, NULL, 1);
	metrics_inc(m, M_EVENTS_DUPLICATE, NULL, 2);
	ck_assert(has_line("churnwatch_events_duplicate_total 3"));

	/* Series sorted by label values, whatever the order of arrival. */
	metrics_inc(m, M_EVENTS_RECEIVED, L("ticket", "zendesk"), 3);
	metrics_inc(m, M_EVENTS_RECEIVED, L("login", "segment"), 1);
	metrics_inc(m, M_EVENTS_RECEIVED, L("login", "api"), 1);
	metrics_inc(m, M_EVENTS_RECEIVED, L("login", "segment"), 1);
	metrics_inc(m, M_EVENTS_RECEIVED, L("feature", "segment"), 0.5);
	family_eq("churnwatch_events_received_total",
	    "# HELP churnwatch_events_received_total Events accepted for "
	    "ingest, by event type and source.\n"
	    "# TYPE churnwatch_events_received_total counter\n"
	    "churnwatch_events_received_total{type=\"feature\","
	    "source=\"segment\"} 0.5\n"
	    "churnwatch_events_received_total{type=\"login\","
	    "source=\"api\"} 1\n"
	    "churnwatch_events_received_total{type=\"login\","
	    "source=\"segment\"} 2\n"
	    "churnwatch_events_received_total{type=\"ticket\","
	    "source=\"zendesk\"} 3\n");

	/* A NULL value is "". */
	metrics_inc(m, M_ALERTS, L("login_absent", NULL), 1);
	ck_assert(has_line("churnwatch_alerts_total{signal=\"login_absent\","
	    "status=\"\"} 1"));
}
END_TEST

START_TEST(gauge_render)
{
	metrics_set(m, M_SPOOL_BYTES, NULL, 1e6);
	metrics_inc(m, M_SPOOL_BYTES, NULL, -1);
	family_eq("churnwatch_spool_bytes",
	    "# HELP churnwatch_spool_bytes Bytes of events held in the local "
	    "spool.\n"
	    "# TYPE churnwatch_spool_bytes gauge\n"
	    "churnwatch_spool_bytes 999999\n");

	metrics_set(m, M_ACCOUNTS_BY_STATUS, L("yellow"), 5);
	metrics_set(m, M_ACCOUNTS_BY_STATUS, L("red"), 2);
	metrics_set(m, M_ACCOUNTS_BY_STATUS, L("green"), 10);
	metrics_set(m, M_ACCOUNTS_BY_STATUS, L("green"), 9);
	metrics_inc(m, M_ACCOUNTS_BY_STATUS, L("red"), -3);
	family_eq("churnwatch_accounts_by_status",
	    "# HELP churnwatch_accounts_by_status Accounts by health "
	    "status.\n"
	    "# TYPE churnwatch_accounts_by_status gauge\n"
	    "churnwatch_accounts_by_status{status=\"green\"} 9\n"
	    "churnwatch_accounts_by_status{status=\"red\"} -1\n"
	    "churnwatch_accounts_by_status{status=\"yellow\"} 5\n");

	/* Reset, then refill: only the new label sets remain. */
	metrics_set(m, M_SIGNALS_ACTIVE, L("login_absent"), 4);
	metrics_set(m, M_SIGNALS_ACTIVE, L("champion_left"), 1);
	metrics_reset_gauge(m, M_SIGNALS_ACTIVE);
	ck_assert_uint_eq(metrics_series_count(m, M_SIGNALS_ACTIVE), 0);
	ck_assert_int_eq(metrics_get(m, M_SIGNALS_ACTIVE, L("login_absent"),
	    &(double){ 0 }), -1);
	metrics_set(m, M_SIGNALS_ACTIVE, L("usage_spike"), 2);
	metrics_set(m, M_SIGNALS_ACTIVE, L("login_absent"), 3);
	family_eq("churnwatch_signals_active",
	    "# HELP churnwatch_signals_active Accounts on which a signal is "
	    "active, by signal.\n"
	    "# TYPE churnwatch_signals_active gauge\n"
	    "churnwatch_signals_active{signal=\"login_absent\"} 3\n"
	    "churnwatch_signals_active{signal=\"usage_spike\"} 2\n");

	/* An unlabelled gauge is reset to 0, not removed. */
	metrics_set(m, M_DB_UP, NULL, 1);
	ck_assert(has_line("churnwatch_db_up 1"));
	metrics_reset_gauge(m, M_DB_UP);
	ck_assert(has_line("churnwatch_db_up 0"));
}
END_TEST

START_TEST(histogram_render)
{
	/* Dyadic values, so the sum is exact; 0.25 and 0.5 are bounds. */
	metrics_observe(m, M_INGEST_COMMIT_SECONDS, NULL, 0.25);
	metrics_observe(m, M_INGEST_COMMIT_SECONDS, NULL, 0.0009765625);
	metrics_observe(m, M_INGEST_COMMIT_SECONDS, NULL, 3);
	metrics_observe(m, M_INGEST_COMMIT_SECONDS, NULL, 0.5);
	metrics_observe(m, M_INGEST_COMMIT_SECONDS, NULL, 0.125);
	family_eq("churnwatch_ingest_commit_seconds",
	    "# HELP churnwatch_ingest_commit_seconds Seconds taken to commit "
	    "a batch of ingested events.\n"
	    "# TYPE churnwatch_ingest_commit_seconds histogram\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.0005\"} 0\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.001\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.0025\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.005\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.01\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.025\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.05\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.1\"} 1\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.25\"} 3\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"0.5\"} 4\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"1\"} 4\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"2.5\"} 4\n"
	    "churnwatch_ingest_commit_seconds_bucket{le=\"+Inf\"} 5\n"
	    "churnwatch_ingest_commit_seconds_sum 3.8759765625\n"
	    "churnwatch_ingest_commit_seconds_count 5\n");
	ck_assert(get(M_INGEST_COMMIT_SECONDS, NULL) == 5);

	/* Bounds are inclusive; tiny bounds print as Go prints them. */
	metrics_observe(m, M_EVALUATION_SECONDS, NULL, 1e-6);
	metrics_observe(m, M_EVALUATION_SECONDS, NULL, 0.0000025);
	ck_assert(has_line("churnwatch_evaluation_seconds_bucket"
	    "{le=\"1e-06\"} 1"));
	ck_assert(has_line("churnwatch_evaluation_seconds_bucket"
	    "{le=\"2.5e-06\"} 2"));
	ck_assert(has_line("churnwatch_evaluation_seconds_bucket"
	    "{le=\"1e-05\"} 2"));
	ck_assert(has_line("churnwatch_evaluation_seconds_bucket"
	    "{le=\"+Inf\"} 2"));

	/* Batch sizes: integral bounds, the largest and beyond. */
	metrics_observe(m, M_DB_BATCH_EVENTS, NULL, 1000);
	metrics_observe(m, M_DB_BATCH_EVENTS, NULL, 20000);
	metrics_observe(m, M_DB_BATCH_EVENTS, NULL, 20001);
	ck_assert(has_line("churnwatch_db_batch_events_bucket"
	    "{le=\"500\"} 0"));
	ck_assert(has_line("churnwatch_db_batch_events_bucket"
	    "{le=\"1000\"} 1"));
	ck_assert(has_line("churnwatch_db_batch_events_bucket"
	    "{le=\"20000\"} 2"));
	ck_assert(has_line("churnwatch_db_batch_events_bucket"
	    "{le=\"+Inf\"} 3"));
	ck_assert(has_line("churnwatch_db_batch_events_sum 41001"));
	ck_assert(has_line("churnwatch_db_batch_events_count 3"));

	/* NaN and infinities are not observations. */
	metrics_observe(m, M_DB_BATCH_EVENTS, NULL, NAN);
	metrics_observe(m, M_DB_BATCH_EVENTS, NULL, INFINITY);
	metrics_observe(m, M_DB_BATCH_EVENTS, NULL, -INFINITY);
	ck_assert(get(M_DB_BATCH_EVENTS, NULL) == 3);
	ck_assert(has_line("churnwatch_db_batch_events_sum 41001"));
}
END_TEST

START_TEST(histogram_labelled)
{
	struct metric_series	*s;

	s = metrics_series(m, M_HTTP_REQUEST_SECONDS, L("/v1/events"));
	metrics_series_observe(s, 0.002);
	metrics_series_observe(s, 0.0625);
	metrics_observe(m, M_HTTP_REQUEST_SECONDS, L("/healthz"), 20);
	family_eq("churnwatch_http_request_seconds",
	    "# HELP churnwatch_http_request_seconds Seconds to answer an HTTP "
	    "request, by route.\n"
	    "# TYPE churnwatch_http_request_seconds histogram\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.0005\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.001\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.0025\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.005\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.01\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.025\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.05\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.1\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.25\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"0.5\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"1\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"2.5\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"5\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"10\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/healthz\","
	    "le=\"+Inf\"} 1\n"
	    "churnwatch_http_request_seconds_sum{route=\"/healthz\"} 20\n"
	    "churnwatch_http_request_seconds_count{route=\"/healthz\"} 1\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.0005\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.001\"} 0\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.0025\"} 1\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.005\"} 1\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.01\"} 1\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.025\"} 1\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.05\"} 1\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.1\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.25\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"0.5\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"1\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"2.5\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"5\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"10\"} 2\n"
	    "churnwatch_http_request_seconds_bucket{route=\"/v1/events\","
	    "le=\"+Inf\"} 2\n"
	    "churnwatch_http_request_seconds_sum{route=\"/v1/events\"} "
	    "0.0645\n"
	    "churnwatch_http_request_seconds_count{route=\"/v1/events\"} "
	    "2\n");
}
END_TEST

/* Shortest text that reads back as the same double, Go's way. */
START_TEST(number_format)
{
	static const struct {
		double		 v;
		const char	*text;
	} cases[] = {
		{ 0, "0" },
		{ -0.0, "0" },
		{ 1, "1" },
		{ -1.5, "-1.5" },
		{ 0.1, "0.1" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 123456789012.0, "123456789012" },
		{ 9007199254740993.0, "9007199254740992" },
		{ 1e300, "1e+300" },
		{ 1e-7, "1e-07" },
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
		{ NAN, "NaN" },
	};
	char	line[128];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_set(m, M_NOTIFICATION_QUEUE, NULL, cases[i].v);
		snprintf(line, sizeof(line), "churnwatch_notification_queue %s",
		    cases[i].text);
		ck_assert_msg(has_line(line), "%s", line);
	}
}
END_TEST

START_TEST(label_escaping)
{
	/* Backslash, double quote and newline are escaped; nothing else. */
	metrics_inc(m, M_EVENTS_REJECTED, L("say \"hi\"\\\nx"), 1);
	metrics_inc(m, M_EVENTS_REJECTED, L("tab\there {a=b}, 'q'"), 1);
	ck_assert(has_line("churnwatch_events_rejected_total"
	    "{reason=\"say \\\"hi\\\"\\\\\\nx\"} 1"));
	ck_assert(has_line("churnwatch_events_rejected_total"
	    "{reason=\"tab\there {a=b}, 'q'\"} 1"));
	/* Lookups use the raw value. */
	metrics_inc(m, M_EVENTS_REJECTED, L("say \"hi\"\\\nx"), 1);
	ck_assert(get(M_EVENTS_REJECTED, L("say \"hi\"\\\nx")) == 2);
	ck_assert_uint_eq(metrics_series_count(m, M_EVENTS_REJECTED), 2);

	/* Escaped in histogram lines too, before le. */
	metrics_observe(m, M_HTTP_REQUEST_SECONDS, L("/a\"b"), 1);
	ck_assert(has_line("churnwatch_http_request_seconds_bucket"
	    "{route=\"/a\\\"b\",le=\"+Inf\"} 1"));
	ck_assert(has_line("churnwatch_http_request_seconds_count"
	    "{route=\"/a\\\"b\"} 1"));
}
END_TEST

START_TEST(label_utf8)
{
	/* Valid UTF-8 is kept as is. */
	metrics_inc(m, M_SIGNATURE_FAILURES, L("解約"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"解約\"} 1"));

	/* Each bad byte becomes U+FFFD; raw and clean find one series. */
	metrics_inc(m, M_SIGNATURE_FAILURES, L("a\xff" "b"), 1);
	metrics_inc(m, M_SIGNATURE_FAILURES, L("a\xff" "b"), 1);
	metrics_inc(m, M_SIGNATURE_FAILURES, L("a\xef\xbf\xbd" "b"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"a\xef\xbf\xbd" "b\"} 3"));
	ck_assert(get(M_SIGNATURE_FAILURES, L("a\xef\xbf\xbd" "b")) == 3);
	ck_assert_uint_eq(metrics_series_count(m, M_SIGNATURE_FAILURES), 2);

	/* Overlong, surrogate, too large, truncated. */
	metrics_inc(m, M_SIGNATURE_FAILURES, L("\xc0\xaf"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"\xef\xbf\xbd\xef\xbf\xbd\"} 1"));
	metrics_inc(m, M_SIGNATURE_FAILURES, L("\xed\xa0\x80"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 1"));
	metrics_inc(m, M_SIGNATURE_FAILURES, L("\xf4\x90\x80\x80"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 1"));
	metrics_inc(m, M_SIGNATURE_FAILURES, L("x\xe8\xa7"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"x\xef\xbf\xbd\xef\xbf\xbd\"} 1"));
	/* 4-byte sequences are fine. */
	metrics_inc(m, M_SIGNATURE_FAILURES, L("\xf0\x9f\x93\x89"), 1);
	ck_assert(has_line("churnwatch_signature_failures_total"
	    "{source=\"\xf0\x9f\x93\x89\"} 1"));
}
END_TEST

START_TEST(handles)
{
	struct metric_series	*s, *t, *q;
	char			*type, *source;

	s = metrics_series(m, M_EVENTS_RECEIVED, L("login", "api"));
	ck_assert_ptr_nonnull(s);
	/* Same values in other memory: the same series. */
	type = strdup("login");
	source = strdup("api");
	t = metrics_series(m, M_EVENTS_RECEIVED, L(type, source));
	free(type);
	free(source);
	ck_assert_ptr_eq(s, t);
	/* Other metric, same values: another series. */
	ck_assert_ptr_ne(metrics_series(m, M_ALERTS, L("login", "api")), s);

	metrics_series_add(s, 5);
	metrics_inc(m, M_EVENTS_RECEIVED, L("login", "api"), 1);
	ck_assert(get(M_EVENTS_RECEIVED, L("login", "api")) == 6);

	/* Unlabelled handles survive a reset. */
	q = metrics_series(m, M_NOTIFICATION_QUEUE, NULL);
	ck_assert_ptr_eq(q, metrics_series(m, M_NOTIFICATION_QUEUE,
	    L("ignored")));
	metrics_series_set(q, 7);
	metrics_reset_gauge(m, M_NOTIFICATION_QUEUE);
	ck_assert(get(M_NOTIFICATION_QUEUE, NULL) == 0);
	metrics_series_set(q, 3);
	ck_assert(get(M_NOTIFICATION_QUEUE, NULL) == 3);
	ck_assert_uint_eq(metrics_series_count(m, M_NOTIFICATION_QUEUE), 1);

	/* metrics_get does not create. */
	ck_assert_int_eq(metrics_get(m, M_EVENTS_RECEIVED, L("x", "y"),
	    &(double){ 0 }), -1);
	ck_assert_uint_eq(metrics_series_count(m, M_EVENTS_RECEIVED), 1);
}
END_TEST

/* Calls that do not fit the type change nothing. */
START_TEST(type_mismatch)
{
	/* Counters only go up. */
	metrics_inc(m, M_DB_RECONNECTS, NULL, 2);
	metrics_inc(m, M_DB_RECONNECTS, NULL, -1);
	metrics_inc(m, M_DB_RECONNECTS, NULL, NAN);
	metrics_observe(m, M_DB_RECONNECTS, NULL, 1);
	metrics_reset_gauge(m, M_DB_RECONNECTS);
	ck_assert(get(M_DB_RECONNECTS, NULL) == 2);
	/* A counter may mirror a total sampled elsewhere. */
	metrics_set(m, M_DB_RECONNECTS, NULL, 10);
	ck_assert(get(M_DB_RECONNECTS, NULL) == 10);

	/* Histograms take only observations. */
	metrics_observe(m, M_EVENT_TO_ALERT_SECONDS, NULL, 0.5);
	metrics_inc(m, M_EVENT_TO_ALERT_SECONDS, NULL, 1);
	metrics_set(m, M_EVENT_TO_ALERT_SECONDS, NULL, 100);
	metrics_reset_gauge(m, M_EVENT_TO_ALERT_SECONDS);
	ck_assert(get(M_EVENT_TO_ALERT_SECONDS, NULL) == 1);
	ck_assert(has_line("churnwatch_event_to_alert_seconds_sum 0.5"));

	/* Gauges take no observations. */
	metrics_set(m, M_READY, NULL, 1);
	metrics_observe(m, M_READY, NULL, 5);
	ck_assert(get(M_READY, NULL) == 1);
}
END_TEST

START_TEST(series_cap)
{
	struct metric_series	*kept, *s;
	char			 route[32];
	int			 i;

	for (i = 0; i < METRICS_SERIES_MAX; i++) {
		snprintf(route, sizeof(route), "/r/%05d", i);
		s = metrics_series(m, M_HTTP_REQUESTS, L(route, "200"));
		ck_assert_ptr_nonnull(s);
		metrics_series_add(s, 1);
	}
	kept = metrics_series(m, M_HTTP_REQUESTS, L("/r/00042", "200"));
	ck_assert_uint_eq(metrics_series_count(m, M_HTTP_REQUESTS),
	    METRICS_SERIES_MAX);
	ck_assert_int_eq(metrics_get(m, M_SERIES_DROPPED,
	    L("churnwatch_http_requests_total"), &(double){ 0 }), -1);

	/* Over the cap: no new series, each attempt counted. */
	ck_assert_ptr_null(metrics_series(m, M_HTTP_REQUESTS,
	    L("/new", "200")));
	metrics_inc(m, M_HTTP_REQUESTS, L("/new", "200"), 1);
	metrics_inc(m, M_HTTP_REQUESTS, L("/new", "500"), 1);
	metrics_inc(m, M_HTTP_REQUESTS, L("/r/00042", "500"), 1);
	ck_assert_uint_eq(metrics_series_count(m, M_HTTP_REQUESTS),
	    METRICS_SERIES_MAX);
	family_eq("churnwatch_metrics_series_dropped_total",
	    "# HELP churnwatch_metrics_series_dropped_total Metric updates "
	    "dropped because their metric already had the most series "
	    "allowed, by metric.\n"
	    "# TYPE churnwatch_metrics_series_dropped_total counter\n"
	    "churnwatch_metrics_series_dropped_total"
	    "{metric=\"churnwatch_http_requests_total\"} 4\n");

	/* Existing series still count; other metrics still grow. */
	metrics_series_add(kept, 1);
	metrics_inc(m, M_HTTP_REQUESTS, L("/r/09999", "200"), 1);
	ck_assert(get(M_HTTP_REQUESTS, L("/r/00042", "200")) == 2);
	ck_assert(get(M_HTTP_REQUESTS, L("/r/09999", "200")) == 2);
	metrics_inc(m, M_EVENTS_REJECTED, L("bad_json"), 1);
	ck_assert(get(M_EVENTS_REJECTED, L("bad_json")) == 1);

	/* The rendered family has exactly the capped series, sorted. */
	{
		char	*text = family("churnwatch_http_requests_total"), *p;
		int	 n = 0;

		for (p = strchr(text, '\n'); p != NULL && p[1] != '\0';
		    p = strchr(p + 1, '\n'))
			if (p[1] != '#')
				n++;
		ck_assert_int_eq(n, METRICS_SERIES_MAX);
		ck_assert_ptr_nonnull(strstr(text, "# TYPE "
		    "churnwatch_http_requests_total counter\n"
		    "churnwatch_http_requests_total{route=\"/r/00000\","
		    "code=\"200\"} 1\n"
		    "churnwatch_http_requests_total{route=\"/r/00001\","));
		free(text);
	}

	/* A reset gauge has room again. */
	for (i = 0; i < METRICS_SERIES_MAX + 5; i++) {
		snprintf(route, sizeof(route), "s%d", i);
		metrics_set(m, M_SIGNALS_ACTIVE, L(route), i);
	}
	ck_assert(get(M_SERIES_DROPPED, L("churnwatch_signals_active")) == 5);
	metrics_reset_gauge(m, M_SIGNALS_ACTIVE);
	metrics_set(m, M_SIGNALS_ACTIVE, L("fresh"), 1);
	ck_assert(get(M_SIGNALS_ACTIVE, L("fresh")) == 1);
	ck_assert_uint_eq(metrics_series_count(m, M_SIGNALS_ACTIVE), 1);
}
END_TEST

/* Many series across metrics: every one is found with its own value. */
START_TEST(many_series)
{
	char	a[32], b[32];
	int	i, round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < 3000; i++) {
			snprintf(a, sizeof(a), "r%d", i);
			snprintf(b, sizeof(b), "%d", i % 7);
			metrics_inc(m, M_NOTIFICATIONS, L(a, b), i);
			metrics_inc(m, M_ALERTS, L(b, a), i + 1);
			metrics_set(m, M_ACCOUNTS_BY_STATUS, L(a), -i);
		}
		metrics_reset_gauge(m, M_ACCOUNTS_BY_STATUS);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(a, sizeof(a), "r%d", i);
		snprintf(b, sizeof(b), "%d", i % 7);
		ck_assert(get(M_NOTIFICATIONS, L(a, b)) == 2.0 * i);
		ck_assert(get(M_ALERTS, L(b, a)) == 2.0 * (i + 1));
	}
	ck_assert_uint_eq(metrics_series_count(m, M_NOTIFICATIONS), 3000);
	ck_assert_uint_eq(metrics_series_count(m, M_ACCOUNTS_BY_STATUS), 0);
}
END_TEST

START_TEST(process_metrics)
{
	double	cpu, rss, vsz, fds, maxfds, start, fds2;
	int	fd;

	ck_assert_int_eq(metrics_process_sample(m), 0);
	cpu = get(M_PROCESS_CPU_SECONDS, NULL);
	rss = get(M_PROCESS_RESIDENT_MEMORY, NULL);
	vsz = get(M_PROCESS_VIRTUAL_MEMORY, NULL);
	fds = get(M_PROCESS_OPEN_FDS, NULL);
	maxfds = get(M_PROCESS_MAX_FDS, NULL);
	start = get(M_PROCESS_START_TIME, NULL);

	ck_assert(cpu >= 0 && cpu < 3600);
	ck_assert(rss >= 4096 && rss < 1e11);
	ck_assert(vsz >= rss);
	ck_assert(fds >= 1 && fds <= maxfds);
	/* This process started moments ago (to a clock tick or so). */
	ck_assert_msg(start > (double)time(NULL) - 600 &&
	    start < (double)time(NULL) + 1, "start %f", start);

	/* One more descriptor is seen. */
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(metrics_process_sample(m), 0);
	fds2 = get(M_PROCESS_OPEN_FDS, NULL);
	close(fd);
	ck_assert(fds2 == fds + 1);
	/* The start time does not move. */
	ck_assert(get(M_PROCESS_START_TIME, NULL) == start);
	ck_assert(get(M_PROCESS_CPU_SECONDS, NULL) >= cpu);
	ck_assert(has_line("# TYPE process_cpu_seconds_total counter"));
	ck_assert(has_line("# TYPE process_resident_memory_bytes gauge"));
}
END_TEST

/* Every metric with hostile label values and some observations. */
static void
populate(void)
{
	static const char *const values[][METRICS_LABELS_MAX] = {
		{ "login", "segment" },
		{ "quote\"back\\slash", "new\nline" },
		{ "解約", "\xff\xfe" },
		{ "", "" },
	};
	size_t	i, j, k;

	for (i = 0; i < M__COUNT; i++) {
		for (j = 0; j < sizeof(values) / sizeof(values[0]); j++) {
			for (k = 0; k < 4; k++) {
				metrics_inc(m, i, values[j], (double)k + 0.5);
				metrics_observe(m, i, values[j],
				    (double)k * k * 0.004 * (j + 1));
			}
			if (metrics_type(i) == METRIC_GAUGE)
				metrics_set(m, i, values[j], -1.5 * j);
		}
	}
	metrics_set(m, M_BUILD_INFO, L(PACKAGE_VERSION), 1);
	ck_assert_int_eq(metrics_process_sample(m), 0);
}

/* promtool's exit status; its findings go to stderr, or nowhere. */
static int
run_promtool(const char *path, int quiet)
{
	char	cmd[512];
	int	status;

	snprintf(cmd, sizeof(cmd), "%s check metrics < '%s' %s", PROMTOOL,
	    path, quiet ? ">/dev/null 2>&1" : "1>&2");
	status = system(cmd);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(promtool)
{
	const char	*keep = getenv("CHECK_METRICS_SAMPLE");
	char		 path[] = "/tmp/check_metrics.XXXXXX", *text;
	size_t		 len;
	FILE		*f;
	int		 fd;

	populate();
	text = metrics_render(m, &len);
	ck_assert_ptr_nonnull(text);
	if (keep != NULL && *keep != '\0') {
		ck_assert_ptr_nonnull(f = fopen(keep, "w"));
		ck_assert_uint_eq(fwrite(text, 1, len, f), len);
		ck_assert_int_eq(fclose(f), 0);
	}
	if (access(PROMTOOL, X_OK) == -1) {
		fprintf(stderr, "check_metrics: %s not found: skipping the "
		    "promtool check\n", PROMTOOL);
		free(text);
		return;
	}
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	free(text);
	ck_assert_int_eq(run_promtool(path, 0), 0);

	/* promtool does reject what the format forbids (the check works). */
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("# TYPE x counter\nx{a=\"\xff\"} 1\n", f);
	fclose(f);
	ck_assert_int_ne(run_promtool(path, 1), 0);
	unlink(path);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("metrics");
	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lifecycle);
	tcase_add_test(tc, contract);
	tcase_add_test(tc, families_sorted);
	tcase_add_test(tc, counter_render);
	tcase_add_test(tc, gauge_render);
	tcase_add_test(tc, histogram_render);
	tcase_add_test(tc, histogram_labelled);
	tcase_add_test(tc, number_format);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, label_utf8);
	tcase_add_test(tc, handles);
	tcase_add_test(tc, type_mismatch);
	tcase_add_test(tc, series_cap);
	tcase_add_test(tc, many_series);
	tcase_add_test(tc, process_metrics);
	tcase_add_test(tc, promtool);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(metrics_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
