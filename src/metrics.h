/*
 * metrics.h -- the metrics registry behind GET /metrics (SPEC 8, 2.7):
 * one table of every metric churnwatch exports, counters, gauges and
 * histograms keyed by label values, and the Prometheus text exposition
 * format 0.0.4.
 *
 * Pure apart from metrics_process_sample(), which reads /proc/self and
 * getrlimit(2) for the standard process_* metrics.  One thread; no
 * logging (a series over the cap is counted in
 * churnwatch_metrics_series_dropped_total, the caller logs if it cares).
 *
 * Metric names are part of the contract (SPEC 8): adding a metric is one
 * row in METRICS_TABLE; renaming one is a breaking change.
 */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stddef.h>

/* Series per metric beyond which new label sets are dropped (counted). */
#define METRICS_SERIES_MAX	10000
/* Most label names a metric may declare (le of histograms not counted). */
#define METRICS_LABELS_MAX	2

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM
};

/*
 * Helpers for the table: label names (NULL-terminated) and histogram
 * upper bounds (strictly increasing, ending in +Inf, which the helper
 * adds).  Only metrics.c expands them; they need <math.h>.
 */
#define METRIC_LABELS(...)	((const char *const []){ __VA_ARGS__, NULL })
#define METRIC_NOLABELS		NULL
#define METRIC_BUCKETS(...)	((const double []){ __VA_ARGS__, INFINITY })
#define METRIC_NOBUCKETS	NULL

/*
 * The one table: X(id, type, name, label names, buckets, help).
 * Families are rendered sorted by name, so the order here is free; it
 * follows SPEC 8.
 */
#define METRICS_TABLE(X)						\
	/* Ingest. */							\
	X(M_EVENTS_RECEIVED, COUNTER,					\
	    "churnwatch_events_received_total",				\
	    METRIC_LABELS("type", "source"), METRIC_NOBUCKETS,		\
	    "Events accepted for ingest, by event type and source.")	\
	X(M_EVENTS_REJECTED, COUNTER,					\
	    "churnwatch_events_rejected_total",				\
	    METRIC_LABELS("reason"), METRIC_NOBUCKETS,			\
	    "Events rejected at ingest, by reason.")			\
	X(M_EVENTS_DUPLICATE, COUNTER,					\
	    "churnwatch_events_duplicate_total",			\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Events dropped because their id was already stored.")	\
	X(M_EVENTS_DEAD_LETTER, COUNTER,				\
	    "churnwatch_events_dead_letter_total",			\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Spooled events PostgreSQL refused, set aside in "		\
	    "dead-letter.ndjson.")					\
	X(M_INGEST_COMMIT_SECONDS, HISTOGRAM,				\
	    "churnwatch_ingest_commit_seconds",				\
	    METRIC_NOLABELS, METRIC_BUCKETS(.0005, .001, .0025, .005,	\
	    .01, .025, .05, .1, .25, .5, 1, 2.5),			\
	    "Seconds taken to commit a batch of ingested events.")	\
	X(M_DB_BATCH_EVENTS, HISTOGRAM,					\
	    "churnwatch_db_batch_events",				\
	    METRIC_NOLABELS, METRIC_BUCKETS(1, 2, 5, 10, 20, 50, 100,	\
	    200, 500, 1000, 2000, 5000, 10000, 20000),			\
	    "Events per database commit batch.")			\
	X(M_SPOOL_BYTES, GAUGE,						\
	    "churnwatch_spool_bytes",					\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Bytes of events held in the local spool.")		\
	X(M_SIGNATURE_FAILURES, COUNTER,				\
	    "churnwatch_signature_failures_total",			\
	    METRIC_LABELS("source"), METRIC_NOBUCKETS,			\
	    "Webhook requests with a missing or bad signature, "	\
	    "by source.")						\
	/* Accounts and signals. */					\
	X(M_ACCOUNTS, GAUGE,						\
	    "churnwatch_accounts",					\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Accounts known.")						\
	X(M_ACCOUNTS_BY_STATUS, GAUGE,					\
	    "churnwatch_accounts_by_status",				\
	    METRIC_LABELS("status"), METRIC_NOBUCKETS,			\
	    "Accounts by health status.")				\
	X(M_SIGNALS_ACTIVE, GAUGE,					\
	    "churnwatch_signals_active",				\
	    METRIC_LABELS("signal"), METRIC_NOBUCKETS,			\
	    "Accounts on which a signal is active, by signal.")	\
	X(M_EVALUATION_SECONDS, HISTOGRAM,				\
	    "churnwatch_evaluation_seconds",				\
	    METRIC_NOLABELS, METRIC_BUCKETS(1e-6, 2.5e-6, 5e-6, 1e-5,	\
	    2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,	\
	    2.5e-2, 5e-2, .1, .25, .5, 1),				\
	    "Seconds spent evaluating signals and scores.")		\
	/* Alerts and notifications. */					\
	X(M_ALERTS, COUNTER,						\
	    "churnwatch_alerts_total",					\
	    METRIC_LABELS("signal", "status"), METRIC_NOBUCKETS,	\
	    "Alert transitions, by signal and status "			\
	    "(firing, resolved).")					\
	X(M_EVENT_TO_ALERT_SECONDS, HISTOGRAM,				\
	    "churnwatch_event_to_alert_seconds",			\
	    METRIC_NOLABELS, METRIC_BUCKETS(.001, .0025, .005, .01,	\
	    .025, .05, .1, .25, .5, 1, 2.5, 5, 10),			\
	    "Seconds from receiving an event to the alert it fired.")	\
	X(M_NOTIFICATIONS, COUNTER,					\
	    "churnwatch_notifications_total",				\
	    METRIC_LABELS("receiver", "result"), METRIC_NOBUCKETS,	\
	    "Notifications, by receiver and result "			\
	    "(sent, failed, retried, silenced).")			\
	X(M_NOTIFICATION_QUEUE, GAUGE,					\
	    "churnwatch_notification_queue",				\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Notifications waiting to be sent.")			\
	X(M_NOTIFICATIONS_GROUPED, COUNTER,				\
	    "churnwatch_notifications_grouped_total",			\
	    METRIC_LABELS("receiver"), METRIC_NOBUCKETS,		\
	    "Notifications sent as members of a grouped message, "	\
	    "by receiver.")						\
	X(M_SLACK_RATE_LIMITED, COUNTER,				\
	    "churnwatch_slack_rate_limited_total",			\
	    METRIC_LABELS("receiver"), METRIC_NOBUCKETS,		\
	    "Slack answers of 429 Too Many Requests, by receiver.")	\
	/* HTTP. */							\
	X(M_HTTP_REQUESTS, COUNTER,					\
	    "churnwatch_http_requests_total",				\
	    METRIC_LABELS("route", "code"), METRIC_NOBUCKETS,		\
	    "HTTP requests answered, by route and status code.")	\
	X(M_HTTP_REQUEST_SECONDS, HISTOGRAM,				\
	    "churnwatch_http_request_seconds",				\
	    METRIC_LABELS("route"), METRIC_BUCKETS(.0005, .001, .0025,	\
	    .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10),		\
	    "Seconds to answer an HTTP request, by route.")		\
	X(M_LIMIT_REACHED, COUNTER,					\
	    "churnwatch_limit_reached_total",				\
	    METRIC_LABELS("limit"), METRIC_NOBUCKETS,			\
	    "Requests refused at a configured bound, by bound.")	\
	X(M_RATE_LIMITED, COUNTER,					\
	    "churnwatch_rate_limited_total",				\
	    METRIC_LABELS("token"), METRIC_NOBUCKETS,			\
	    "Requests refused with 429 past their token's rate limit, "	\
	    "by token.")						\
	/* Health of the daemon. */					\
	X(M_DB_UP, GAUGE,						\
	    "churnwatch_db_up",						\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "1 while connected to PostgreSQL, else 0.")		\
	X(M_DB_RECONNECTS, COUNTER,					\
	    "churnwatch_db_reconnects_total",				\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Reconnections to PostgreSQL.")				\
	X(M_READY, GAUGE,						\
	    "churnwatch_ready",						\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "1 while /readyz answers 200, else 0.")			\
	X(M_BUILD_INFO, GAUGE,						\
	    "churnwatch_build_info",					\
	    METRIC_LABELS("version"), METRIC_NOBUCKETS,		\
	    "Always 1; the version label is churnwatch's version.")	\
	X(M_SERIES_DROPPED, COUNTER,					\
	    "churnwatch_metrics_series_dropped_total",			\
	    METRIC_LABELS("metric"), METRIC_NOBUCKETS,			\
	    "Metric updates dropped because their metric already had "	\
	    "the most series allowed, by metric.")			\
	/* The process, as the Prometheus client libraries name it. */	\
	X(M_PROCESS_CPU_SECONDS, COUNTER,				\
	    "process_cpu_seconds_total",				\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Total user and system CPU time spent in seconds.")	\
	X(M_PROCESS_RESIDENT_MEMORY, GAUGE,				\
	    "process_resident_memory_bytes",				\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Resident memory size in bytes.")				\
	X(M_PROCESS_VIRTUAL_MEMORY, GAUGE,				\
	    "process_virtual_memory_bytes",				\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Virtual memory size in bytes.")				\
	X(M_PROCESS_OPEN_FDS, GAUGE,					\
	    "process_open_fds",						\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Number of open file descriptors.")			\
	X(M_PROCESS_MAX_FDS, GAUGE,					\
	    "process_max_fds",						\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Maximum number of open file descriptors.")		\
	X(M_PROCESS_START_TIME, GAUGE,					\
	    "process_start_time_seconds",				\
	    METRIC_NOLABELS, METRIC_NOBUCKETS,				\
	    "Start time of the process since unix epoch in seconds.")

enum metric_id {
#define METRIC_ID(id, type, name, labels, buckets, help)	id,
	METRICS_TABLE(METRIC_ID)
#undef METRIC_ID
	M__COUNT
};

struct metrics;
/* One label set of one metric: a handle for hot paths. */
struct metric_series;

/*
 * A new registry (free with metrics_free()), or NULL on ENOMEM.  Every
 * unlabelled metric starts with its one series at 0, so it is always
 * exported; churnwatch_build_info{version=PACKAGE_VERSION} is 1.
 */
struct metrics	*metrics_new(void);
/* Free m and every series; NULL is a no-op. */
void		 metrics_free(struct metrics *m);

/* The metric's exported name and type (for tests and callers' logs). */
const char	*metrics_name(enum metric_id id);
enum metric_type metrics_type(enum metric_id id);

/*
 * Label values: labels[i] is the value of the metric's i-th declared
 * label name, in table order; NULL (or any NULL value) is "".  For an
 * unlabelled metric labels is ignored (pass NULL).  Values are copied;
 * bytes that are not UTF-8 become U+FFFD (the format requires UTF-8).
 * Keeping label values few is the caller's job: past METRICS_SERIES_MAX
 * series a metric takes no new label set, and each update that would
 * have made one counts in churnwatch_metrics_series_dropped_total.
 */

/*
 * The series of id with these label values, created (at 0) if new; NULL
 * when over the cap or on ENOMEM.  The handle stays valid until
 * metrics_free(), except that metrics_reset_gauge() frees the labelled
 * series of its gauge.  An unlabelled series is never freed before
 * metrics_free().  Lookup hashes the values: hot paths keep the handle.
 */
struct metric_series *metrics_series(struct metrics *m, enum metric_id id,
		    const char *const *labels);
/*
 * Update a series; s may be NULL (a dropped series: nothing happens).
 * add: counters and gauges (a counter ignores by < 0 and NaN);
 * set: gauges, and counters mirroring a total sampled elsewhere (which
 * must not go down); observe: histograms (NaN and infinities are
 * ignored).  A call that does not fit the metric's type is ignored.
 */
void		 metrics_series_add(struct metric_series *s, double by);
void		 metrics_series_set(struct metric_series *s, double value);
void		 metrics_series_observe(struct metric_series *s, double value);

/* The same, looking the series up (metrics_series()) on each call. */
void		 metrics_inc(struct metrics *m, enum metric_id id,
		    const char *const *labels, double by);
void		 metrics_set(struct metrics *m, enum metric_id id,
		    const char *const *labels, double value);
void		 metrics_observe(struct metrics *m, enum metric_id id,
		    const char *const *labels, double value);

/*
 * Forget every label set of a gauge (before re-filling it, e.g.
 * churnwatch_signals_active after an evaluation sweep); an unlabelled
 * gauge is set to 0 instead.  Handles to the freed series become
 * invalid.  Not a gauge: nothing happens.
 */
void		 metrics_reset_gauge(struct metrics *m, enum metric_id id);

/*
 * The value of an existing series without creating it: a counter's or
 * gauge's value, a histogram's count.  Returns 0, or -1 if there is no
 * such series.  For tests and callers that read back (readiness).
 */
int		 metrics_get(const struct metrics *m, enum metric_id id,
		    const char *const *labels, double *value);
/* Number of series a metric holds. */
size_t		 metrics_series_count(const struct metrics *m,
		    enum metric_id id);

/*
 * The exposition text (format 0.0.4): HELP and TYPE for every metric,
 * families sorted by name and series by label values, histograms as
 * cumulative _bucket{le} through "+Inf", then _sum and _count.  Returns
 * a NUL-terminated string the caller frees, its length in *len (may be
 * NULL), or NULL on ENOMEM.  Call metrics_process_sample() first for
 * fresh process_* values.
 */
char		*metrics_render(const struct metrics *m, size_t *len);

/*
 * The only I/O here: set the process_* metrics from /proc/self/stat,
 * /proc/self/statm, /proc/self/fd, getrlimit(RLIMIT_NOFILE) and the
 * clocks.  Returns 0, or -1 if some could not be read (those keep their
 * previous values).
 */
int		 metrics_process_sample(struct metrics *m);

/*
 * The daemon's registry, set by churnwatchd.c at start-up; NULL in unit
 * tests, where every call above is then a no-op.
 */
extern struct metrics *cw_metrics;

#endif
