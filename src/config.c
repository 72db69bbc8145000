/*
 * config.c -- load the INI configuration (SPEC section 7) with libinih.
 *
 * Every section type has one const key table; a key is a name, a type, an
 * offset into the struct it fills (struct cw_config, struct cw_token or
 * struct sig_params), bounds, and for the odd ones a setter.  All defaults
 * are set in config_defaults(); the signals' come from signal.c's table.
 * A [signal:NAME] section's keys are the common ones (signal_keys) plus
 * that signal's thresholds, from the same table (signal_open builds
 * them).  A [receiver:NAME]'s keys depend on its type (receiver_types);
 * the receivers that [route:NAME] and [digest] name are checked once the
 * whole file is read (check_receiver_refs).  A [source:NAME]'s keys are
 * source_keys plus the dotted ones built from webhook.c's field list and
 * event.c's types (type_map.TYPE, pointer.FIELD, default.FIELD; see
 * source_open); webhook.c judges the mapping as a whole.  Problems are
 * counted and written as "path:line: message"; parsing goes on after one
 * so that a single run shows them all.
 *
 * libinih only reports the first syntax error, has no line numbers in the
 * Debian build (INI_HANDLER_LINENO is 0), treats indented lines as
 * continuations and knows only ';' as an inline comment.  So we feed it
 * through ini_parse_stream() and our own reader (cfg_reader), which counts
 * lines, strips ';' and '#' comments, checks the syntax of every line,
 * notes where each section begins, and hands inih only clean lines.
 *
 * This file does not own what the values mean at run time: it does not
 * bind, connect or open the spool; churnwatchd.c does.
 *
 * Messages name keys, sections and environment variables but never echo a
 * value: a secret pasted into the wrong key (or given as a secret_file
 * path) must not end up in a log.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "alert.h"
#include "cwconfig.h"
#include "log.h"
#include "proxy.h"
#include "signal.h"
#include "util.h"
#include "webhook.h"

#define CFG_TOKEN_NAME_MAX	64	/* also receiver and route names */
#define CFG_SECRET_MIN		8
#define CFG_SECRET_FILE_MAX	4096
#define CFG_HOST_MAX		256
#define CFG_DURATION_MAX	31536000	/* s: 365 days */
#define CFG_RATE_MAX		1000.0		/* receiver messages/s */
#define CFG_ZONEINFO		"/usr/share/zoneinfo"
#define CFG_TZ_NAME_MAX		128
#define CFG_CLASS_MAX		32	/* a risk phrase class name */

struct cfg_parse;
struct cfg_key;

typedef int	(*cfg_set_fn)(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);

enum cfg_type {
	CFG_STRING,		/* char *, non-empty */
	CFG_SIZE,		/* size_t in [min, max] */
	CFG_UINT,		/* unsigned in [min, max] */
	CFG_U64,		/* uint64_t in [min, max] */
	CFG_BOOL,		/* int: true/yes/on 1, false/no/off 0 */
	CFG_DURATION,		/* int64_t us; [min, max] in s; "90m", "7d" */
	CFG_FN			/* the setter does it all */
};

/*
 * A key and all its facts (tmux options-table.c): what it fills, its
 * bounds, its default as it would be written (NULL: none, or one that
 * depends on something else, which help then says), whether SIGHUP can
 * change it, and one line of help.  --dump-config, the reload warning,
 * the example config check and churnwatch.conf(5) all come from these
 * rows; config_selfcheck() holds them to account.
 */
#define CFG_RESTART	0x01	/* SIGHUP cannot change it: restart */

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;		/* into the section's struct */
	uint64_t	 min;
	uint64_t	 max;
	cfg_set_fn	 set;		/* CFG_FN only */
	const char	*def;		/* the default, as written; or NULL */
	int		 flags;		/* CFG_RESTART */
	const char	*help;		/* one line, never NULL */
};

struct cfg_section {
	const char		*name;	/* "server"; "token:" takes a NAME */
	const struct cfg_key	*keys;	/* NULL: open() sets p->keys */
	size_t			 nkeys;
	/* Named sections: return the struct to fill, or NULL (reported). */
	void			*(*open)(struct cfg_parse *, const char *);
	void			 (*close)(struct cfg_parse *);
	const char		*help;	/* what the section is for */
};

struct cfg_parse {
	struct cw_config	*cfg;
	const char		*path;
	FILE			*fp;
	FILE			*errs;
	int			 nerr;
	int			 lineno;
	int			 synerr_line;	/* last syntax error reported */
	int			 read_errno;
	char			*buf;		/* getline() buffer */
	size_t			 bufsz;

	/* The section being read. */
	const struct cfg_section *sec;		/* NULL: none, or skipped */
	const struct cfg_key	*keys;		/* its keys */
	size_t			 nkeys;
	int			 skip;		/* bad section: ignore keys */
	void			*base;		/* what its keys fill */
	char			 secname[16 + CFG_TOKEN_NAME_MAX];
	int			 sec_line;
	uint64_t		 seen;		/* bit per key index, <= 64 */
	int			 key_line[64];	/* where each seen key is */
	unsigned		 fixed_seen;	/* bit per section index */

	/* The key being read, as written (a prefix key's full name). */
	const char		*key_name;
	char			 classes[32][CFG_CLASS_MAX + 1];
	size_t			 nclasses;	/* voice_phrases.CLASS seen */

	/* The [token:NAME] being read: where its secret came from. */
	int			 secret_line;
	const char		*secret_key;	/* "secret" or "secret_file" */

	/* The [signal:NAME] being read, its keys; sections seen. */
	int			 sig_id;
	struct cfg_key		 sig_keys[4 + SIG_MAX_THRESHOLDS];
	uint32_t		 sig_seen;	/* bit per enum sig_id */

	/* The [source:NAME] being read: its keys and their names. */
	struct cfg_key		 src_keys[64];
	char			 src_names[64][32];
	int			 src_nerr;	/* problems before it */
	int			 src_sig_bad;	/* bad signature */

	/* Lines of the receivers keys, checked at the end of the file. */
	int			*route_line;	/* per cfg->routes[i] */
	int			 digest_line;
	int			*owner_line;	/* per cfg->owners[i] */
	int			*receiver_line;	/* per cfg->receivers[i] */
};

static int	set_listen(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	set_login_events(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_trusted_proxies(struct cfg_parse *,
		    const struct cfg_key *, void *, const char *);
static int	set_log_level(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_secret(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	set_secret_file(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_scopes(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static void	*token_open(struct cfg_parse *, const char *);
static void	 token_close(struct cfg_parse *);
static int	set_phrases(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_list(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	set_severity(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_threshold(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static void	*signal_open(struct cfg_parse *, const char *);
static void	 signal_close(struct cfg_parse *);
static int	set_receiver_type(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_url(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	set_rate(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static void	*receiver_open(struct cfg_parse *, const char *);
static void	 receiver_close(struct cfg_parse *);
static int	set_matcher(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_names(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static void	*owner_open(struct cfg_parse *, const char *);
static void	 owner_close(struct cfg_parse *);
static int	set_channel(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static void	*route_open(struct cfg_parse *, const char *);
static void	 route_close(struct cfg_parse *);
static int	set_digest_at(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_date(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_timezone(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static void	 digest_close(struct cfg_parse *);
static int	set_signature(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_secret_previous(struct cfg_parse *,
		    const struct cfg_key *, void *, const char *);
static int	set_event_type(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_pointer(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_type_map(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	set_default(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static void	*source_open(struct cfg_parse *, const char *);
static void	 source_close(struct cfg_parse *);
static void	 strv_free(char **);

#define CFG_OFF(f)	offsetof(struct cw_config, f)
#define TOK_OFF(f)	offsetof(struct cw_token, f)
#define SIG_OFF(f)	offsetof(struct sig_params, f)
#define RCV_OFF(f)	offsetof(struct cw_receiver, f)
#define ROUTE_OFF(f)	offsetof(struct alert_route, f)
#define SRC_OFF(f)	offsetof(struct wh_source, f)

static const struct cfg_key server_keys[] = {
	{ "listen", CFG_FN, CFG_OFF(listen), 0, 0, set_listen,
	    "127.0.0.1:8080", CFG_RESTART,
	    "address to listen on, host:port or [ipv6]:port; ignored under "
	    "socket activation" },
	{ "max_body_bytes", CFG_SIZE, CFG_OFF(max_body_bytes),
	    1024, 1073741824, NULL,
	    "1048576", 0,
	    "largest request body, in bytes once decoded; larger gets 413" },
	{ "max_events", CFG_SIZE, CFG_OFF(max_events), 1, 1000000, NULL,
	    "10000", 0,
	    "most events in one ingest request" },
	{ "max_connections", CFG_UINT, CFG_OFF(max_connections),
	    1, 100000, NULL,
	    "1024", CFG_RESTART,
	    "most client connections open at once" },
	{ "request_timeout", CFG_UINT, CFG_OFF(request_timeout),
	    1, 3600, NULL,
	    "30", 0,
	    "seconds a client has to send a whole request, head and body" },
	{ "idle_timeout", CFG_UINT, CFG_OFF(idle_timeout), 1, 3600, NULL,
	    "60", CFG_RESTART,
	    "seconds an idle keep-alive connection is kept open" },
	{ "max_header_bytes", CFG_SIZE, CFG_OFF(max_header_bytes),
	    1024, 1048576, NULL,
	    "16384", CFG_RESTART,
	    "largest request head (request line and headers), in bytes" },
	{ "max_inflight_body_bytes", CFG_SIZE,
	    CFG_OFF(max_inflight_body_bytes), 1024, UINT64_C(68719476736), NULL,
	    "67108864", 0,
	    "most bytes of request bodies held at once; past it 503 with "
	    "Retry-After" },
	{ "metrics_token", CFG_STRING, CFG_OFF(metrics_token), 0, 0, NULL,
	    NULL, 0,
	    "bearer token GET /metrics requires; unset, /metrics is open" },
	{ "trusted_proxies", CFG_FN, CFG_OFF(trusted_proxies), 0, 0,
	    set_trusted_proxies, NULL, 0,
	    "reverse proxies whose X-Forwarded-For is believed: addresses "
	    "and CIDRs, IPv4 or IPv6 (comma separated); unset, the header is "
	    "ignored" },
};

static const struct cfg_key ingest_keys[] = {
	{ "horizon_days", CFG_UINT, CFG_OFF(horizon_days), 1, 3650, NULL,
	    "400", 0,
	    "days an event's ts may lie in the past; raw events are kept as "
	    "long" },
	{ "future_skew", CFG_UINT, CFG_OFF(future_skew), 0, 86400, NULL,
	    "300", 0,
	    "seconds an event's ts may lie in the future" },
	{ "max_batch_events", CFG_SIZE, CFG_OFF(max_batch_events),
	    1, 1000000, NULL,
	    "20000", 0,
	    "most events written to PostgreSQL in one transaction" },
	{ "retention_interval", CFG_UINT, CFG_OFF(retention_interval),
	    1, 31536000, NULL,
	    "86400", 0,
	    "seconds between runs of the retention job" },
};

static const struct cfg_key database_keys[] = {
	{ "url", CFG_STRING, CFG_OFF(db_url), 0, 0, NULL,
	    "postgresql:///churnwatch", CFG_RESTART,
	    "libpq connection string or URI; keep passwords in ~/.pgpass or "
	    "env:NAME" },
	{ "connections", CFG_UINT, CFG_OFF(db_connections), 1, 16, NULL,
	    "2", CFG_RESTART,
	    "PostgreSQL connections that carry ingest transactions" },
	{ "statement_timeout", CFG_DURATION, CFG_OFF(db_statement_timeout),
	    1, 3600, NULL,
	    "5s", CFG_RESTART,
	    "how long a query may go unanswered before the connection counts "
	    "as lost" },
	{ "snapshot_interval", CFG_DURATION, CFG_OFF(db_snapshot_interval),
	    1, 3600, NULL,
	    "30s", CFG_RESTART,
	    "how often the windows of changed accounts are stored as "
	    "snapshots" },
	{ "rollup_interval", CFG_DURATION, CFG_OFF(db_rollup_interval),
	    1, 3600, NULL,
	    "60s", CFG_RESTART,
	    "how often the daily usage rollup that backtests read takes in "
	    "new commits" },
};

static const struct cfg_key spool_keys[] = {
	{ "dir", CFG_STRING, CFG_OFF(spool_dir), 0, 0, NULL,
	    "/var/lib/churnwatch/spool", CFG_RESTART,
	    "directory of the local spool that takes events while PostgreSQL "
	    "is away" },
	{ "max_bytes", CFG_U64, CFG_OFF(spool_max_bytes),
	    0, UINT64_C(1) << 62, NULL,
	    "1073741824", 0,
	    "most bytes the spool may hold; past it ingest answers 503" },
};

static const struct cfg_key limits_keys[] = {
	{ "max_accounts", CFG_SIZE, CFG_OFF(limits.accounts),
	    1, UINT32_MAX, NULL,
	    "1000000", 0,
	    "most accounts kept; events for more are rejected" },
	{ "max_names", CFG_SIZE, CFG_OFF(limits.names), 1, UINT32_MAX - 1,
	    NULL,
	    "1000000", 0,
	    "most distinct names (users, features, teams, ...) kept" },
	{ "max_name_bytes", CFG_SIZE, CFG_OFF(limits.name_bytes),
	    1024, UINT64_C(1) << 40, NULL,
	    "134217728", 0,
	    "most bytes of those names" },
	{ "max_contacts_per_account", CFG_SIZE,
	    CFG_OFF(limits.contacts_per_account), 1, UINT32_MAX / 8, NULL,
	    "50000", 0,
	    "most contacts kept per account" },
	{ "max_records_per_account", CFG_SIZE,
	    CFG_OFF(limits.records_per_account), 1, UINT32_MAX / 8, NULL,
	    "200000", 0,
	    "most ticket and contact records kept per account" },
	{ "max_users_per_account", CFG_SIZE,
	    CFG_OFF(limits.users_per_account), 1, UINT32_MAX / 8, NULL,
	    "200000", 0,
	    "most distinct users kept per account" },
	{ "max_memberships", CFG_SIZE, CFG_OFF(limits.memberships),
	    1, UINT32_MAX, NULL,
	    "5000000", 0,
	    "most user-account memberships (Segment group calls) kept" },
	{ "max_queued_notifications", CFG_SIZE,
	    CFG_OFF(limits.queued_notifications), 1, UINT32_MAX, NULL,
	    "100000", 0,
	    "most notifications waiting to be sent" },
};

static const struct cfg_key log_keys[] = {
	{ "level", CFG_FN, CFG_OFF(log_level), 0, 0, set_log_level,
	    "info", 0,
	    "least priority logged: error, warning, notice, info or debug" },
};

static const struct cfg_key token_keys[] = {
	{ "secret", CFG_FN, TOK_OFF(secret), 0, 0, set_secret,
	    NULL, 0,
	    "the bearer token, at least 8 characters (or secret_file)" },
	{ "secret_file", CFG_FN, TOK_OFF(secret), 0, 0, set_secret_file,
	    NULL, 0,
	    "a file that holds the bearer token" },
	{ "scopes", CFG_FN, TOK_OFF(scopes), 0, 0, set_scopes,
	    NULL, 0,
	    "what the token may do: ingest, read, admin (comma separated)" },
	{ "rate", CFG_U64, TOK_OFF(rate), 1, UTIL_BUCKET_MAX, NULL,
	    "100000", 0,
	    "events per second the token may send" },
	{ "burst", CFG_U64, TOK_OFF(burst), 1, UTIL_BUCKET_MAX, NULL,
	    "1000000", 0,
	    "events the token may send at once above its rate" },
};

static const struct cfg_key signals_keys[] = {
	{ "intent_patterns", CFG_FN, CFG_OFF(signals.intent_patterns),
	    0, 0, set_list,
	    NULL, 0,
	    "phrases in a ticket's category, tags or subject that mean churn "
	    "intent (comma separated; default: a built-in list)" },
	{ "competitors", CFG_FN, CFG_OFF(signals.competitors), 0, 0, set_list,
	    NULL, 0,
	    "competitor names, for new_executive's previous_company (comma "
	    "separated)" },
	{ "interval", CFG_UINT, CFG_OFF(signals.interval), 1, 86400, NULL,
	    "60", 0,
	    "seconds between evaluation sweeps" },
	/* A prefix: voice_phrases.CLASS, one key per class. */
	{ "voice_phrases.", CFG_FN, CFG_OFF(signals), 0, 0, set_phrases,
	    NULL, 0,
	    "voice_phrases.CLASS = phrases in notes that voice_risk reads as "
	    "CLASS (comma separated; default: a built-in list)" },
};

static const struct cfg_key segment_keys[] = {
	{ "login_events", CFG_FN, 0, 0, 0, set_login_events,
	    "Signed In, Logged In, Login", 0,
	    "track event names that count as login (comma separated)" },
};

/* Every [signal:NAME] has these, then its thresholds (signal.h). */
static const struct cfg_key signal_keys[] = {
	{ "enabled", CFG_BOOL, SIG_OFF(enabled), 0, 0, NULL,
	    "true", 0,
	    "whether the signal is evaluated" },
	{ "severity", CFG_FN, SIG_OFF(severity), 0, 0, set_severity,
	    NULL, 0,
	    "info, warning or critical (default: the signal's own)" },
	{ "weight", CFG_UINT, SIG_OFF(weight), 0, 100, NULL,
	    NULL, 0,
	    "score points the signal costs (default: info 5, "
	    "warning 15, critical 30)" },
	{ "play", CFG_STRING, SIG_OFF(play), 0, 0, NULL,
	    NULL, 0,
	    "the play sent with its alerts (default: the signal's play from "
	    "PLAYS.md)" },
};

static const struct cfg_key alerts_keys[] = {
	{ "resolve_after", CFG_DURATION, CFG_OFF(alerts.resolve_after),
	    0, CFG_DURATION_MAX, NULL,
	    "1h", 0,
	    "how long a signal must stay inactive before its alert resolves" },
	{ "repeat_interval", CFG_DURATION, CFG_OFF(alerts.repeat_interval),
	    1, CFG_DURATION_MAX, NULL,
	    "7d", 0,
	    "how often a firing alert nobody acknowledged is sent again" },
	{ "backfill_age", CFG_DURATION, CFG_OFF(alerts.backfill_age),
	    1, CFG_DURATION_MAX, NULL,
	    "1h", 0,
	    "events older than this when applied are back-fill and settle "
	    "their account" },
	{ "settle", CFG_DURATION, CFG_OFF(alerts.settle),
	    0, CFG_DURATION_MAX, NULL,
	    "60s", 0,
	    "how long a back-filled account settles before its alerts fire "
	    "(0: off)" },
	{ "renewal_window", CFG_DURATION, CFG_OFF(alerts.renewal_window),
	    0, CFG_DURATION_MAX, NULL,
	    "90d", 0,
	    "accounts renewing within this escalate and match renewal = true" },
	{ "group_wait", CFG_DURATION, CFG_OFF(group_wait), 0, 3600, NULL,
	    "10s", 0,
	    "grouping window per receiver (0: no grouping)" },
	{ "group_max", CFG_UINT, CFG_OFF(group_max), 0, 100000, NULL,
	    "5", 0,
	    "notifications sent at once per window; the rest go as one "
	    "message" },
};

/* [coverage]: one key per data class (signal category), a UTC date. */
static const struct cfg_key coverage_keys[] = {
	{ "support", CFG_FN, CFG_OFF(coverage[SIGCAT_SUPPORT]), 0, 0,
	    set_date,
	    NULL, 0,
	    "UTC date (YYYY-MM-DD) from which ticket data is complete" },
	{ "org", CFG_FN, CFG_OFF(coverage[SIGCAT_ORG]), 0, 0, set_date,
	    NULL, 0,
	    "UTC date (YYYY-MM-DD) from which contact data is complete" },
	{ "competitor", CFG_FN, CFG_OFF(coverage[SIGCAT_COMPETITOR]), 0, 0,
	    set_date,
	    NULL, 0,
	    "UTC date (YYYY-MM-DD) from which competitor data is complete" },
	{ "usage", CFG_FN, CFG_OFF(coverage[SIGCAT_USAGE]), 0, 0, set_date,
	    NULL, 0,
	    "UTC date (YYYY-MM-DD) from which login and feature data is "
	    "complete" },
	{ "engagement", CFG_FN, CFG_OFF(coverage[SIGCAT_ENGAGEMENT]), 0, 0,
	    set_date,
	    NULL, 0,
	    "UTC date (YYYY-MM-DD) from which touchpoint and note data is "
	    "complete" },
};

static const struct cfg_key health_keys[] = {
	{ "play_green", CFG_STRING, CFG_OFF(health_play[0]), 0, 0, NULL,
	    NULL, 0,
	    "the play for an account that turns green (default: SPEC 5's)" },
	{ "play_yellow", CFG_STRING, CFG_OFF(health_play[1]), 0, 0, NULL,
	    NULL, 0,
	    "the play for an account that turns yellow (default: SPEC 5's)" },
	{ "play_red", CFG_STRING, CFG_OFF(health_play[2]), 0, 0, NULL,
	    NULL, 0,
	    "the play for an account that turns red (default: SPEC 5's)" },
};

static const struct cfg_key portfolio_keys[] = {
	{ "enabled", CFG_BOOL, CFG_OFF(portfolio.enabled), 0, 0, NULL,
	    "true", 0,
	    "whether portfolio trends are looked for" },
	{ "min_accounts", CFG_UINT, CFG_OFF(portfolio.min_accounts),
	    2, 1000000, NULL,
	    "5", 0,
	    "distinct accounts with the same phrase class or ticket category" },
	/* Within the windows' 180 days (window.h WIN_DAYS). */
	{ "days", CFG_UINT, CFG_OFF(portfolio.days), 1, 180, NULL,
	    "14", 0,
	    "days within which they must appear" },
	{ "severity", CFG_FN, CFG_OFF(portfolio.severity), 0, 0,
	    set_severity,
	    "warning", 0,
	    "severity of a portfolio alert: info, warning or critical" },
	{ "play", CFG_STRING, CFG_OFF(portfolio.play), 0, 0, NULL,
	    NULL, 0,
	    "the play of a portfolio alert (default: PLAYS.md's)" },
};

/*
 * Every [receiver:NAME] key; which of the URL and secret keys a receiver
 * may use depends on its type (receiver_types).  webhook_url and url
 * both fill url.
 */
static const struct cfg_key receiver_keys[] = {
	{ "type", CFG_FN, RCV_OFF(type), 0, 0, set_receiver_type,
	    NULL, 0,
	    "slack, slack-app, webhook or log (required)" },
	{ "webhook_url", CFG_FN, RCV_OFF(url), 0, 0, set_url,
	    NULL, 0,
	    "the Slack incoming webhook URL (type slack, required)" },
	{ "url", CFG_FN, RCV_OFF(url), 0, 0, set_url,
	    NULL, 0,
	    "the URL notifications are POSTed to (type webhook, required)" },
	{ "secret", CFG_FN, RCV_OFF(secret), 0, 0, set_secret,
	    NULL, 0,
	    "secret that signs each POST in X-Churnwatch-Signature (type "
	    "webhook)" },
	{ "secret_file", CFG_FN, RCV_OFF(secret), 0, 0, set_secret_file,
	    NULL, 0,
	    "a file that holds that secret" },
	{ "bot_token", CFG_FN, RCV_OFF(secret), 0, 0, set_secret,
	    NULL, 0,
	    "the Slack app's bot token (type slack-app; default: [slack] "
	    "bot_token)" },
	{ "bot_token_file", CFG_FN, RCV_OFF(secret), 0, 0, set_secret_file,
	    NULL, 0,
	    "a file that holds that bot token" },
	{ "channel", CFG_FN, RCV_OFF(channel), 0, 0, set_channel,
	    NULL, 0,
	    "the channel of accounts and owners without one (type slack-app, "
	    "required)" },
	{ "timeout", CFG_UINT, RCV_OFF(timeout), 1, 300, NULL,
	    "10", 0,
	    "seconds per request" },
	{ "rate", CFG_FN, RCV_OFF(rate), 0, 0, set_rate,
	    NULL, 0,
	    "messages per second (default: slack 1, others 10)" },
	{ "burst", CFG_UINT, RCV_OFF(burst), 1, 1000, NULL,
	    NULL, 0,
	    "messages at once above the rate (default: slack 3, others 10)" },
	{ "group_wait", CFG_DURATION, RCV_OFF(group_wait), 0, 3600, NULL,
	    NULL, 0,
	    "this receiver's [alerts] group_wait" },
	{ "group_max", CFG_UINT, RCV_OFF(group_max), 0, 100000, NULL,
	    NULL, 0,
	    "this receiver's [alerts] group_max" },
};

/* The receiver types, their keys and defaults: receiver.h's rows. */

#define SLK_OFF(f)	offsetof(struct cw_slack, f)
#define OWN_OFF(f)	offsetof(struct cw_owner, f)

/* [slack]: the Slack app (SPEC 2.7). */
static const struct cfg_key slack_keys[] = {
	{ "signing_secret", CFG_FN, CFG_OFF(slack.signing_secret), 0, 0,
	    set_secret,
	    NULL, 0,
	    "the app's signing secret: verifies /slack/interactions and "
	    "/slack/commands (none: they answer 401)" },
	{ "signing_secret_file", CFG_FN, CFG_OFF(slack.signing_secret), 0, 0,
	    set_secret_file,
	    NULL, 0,
	    "a file that holds the signing secret" },
	{ "bot_token", CFG_FN, CFG_OFF(slack.bot_token), 0, 0, set_secret,
	    NULL, 0,
	    "the bot token (xoxb-...) of slack-app receivers without their own" },
	{ "bot_token_file", CFG_FN, CFG_OFF(slack.bot_token), 0, 0,
	    set_secret_file,
	    NULL, 0,
	    "a file that holds the bot token" },
	{ "api_url", CFG_FN, CFG_OFF(slack.api_url), 0, 0, set_url,
	    "https://slack.com/api", 0,
	    "Slack's Web API (a proxy or a test stand-in may replace it)" },
};

/* [owner:NAME]: where an owner's alerts and digest go (SPEC 5). */
static const struct cfg_key owner_keys[] = {
	{ "slack_channel", CFG_FN, OWN_OFF(slack_channel), 0, 0,
	    set_channel,
	    NULL, 0,
	    "where slack-app receivers post the owner's alerts and digest" },
	{ "receivers", CFG_FN, OWN_OFF(receivers), 0, 0, set_names,
	    NULL, 0,
	    "receivers added to the routes' for the owner's alerts, and of "
	    "the owner's digest (comma separated)" },
};

static const struct cfg_key route_keys[] = {
	{ "category", CFG_FN, ROUTE_OFF(category), 0, 0, set_matcher,
	    NULL, 0,
	    "categories to match: support, org, competitor, usage, "
	    "engagement, health, portfolio" },
	{ "severity", CFG_FN, ROUTE_OFF(severity), 0, 0, set_matcher,
	    NULL, 0,
	    "severities to match: info, warning, critical" },
	{ "signal", CFG_FN, ROUTE_OFF(signal), 0, 0, set_matcher,
	    NULL, 0,
	    "signals to match (names, health_degraded, portfolio)" },
	{ "segment", CFG_STRING, ROUTE_OFF(segment), 0, 0, NULL,
	    NULL, 0,
	    "the account segment to match" },
	{ "owner", CFG_STRING, ROUTE_OFF(owner), 0, 0, NULL,
	    NULL, 0,
	    "the account owner to match" },
	{ "renewal", CFG_FN, ROUTE_OFF(renewal), 0, 0, set_matcher,
	    NULL, 0,
	    "true: match only accounts within [alerts] renewal_window" },
	{ "receivers", CFG_FN, ROUTE_OFF(receivers), 0, 0, set_names,
	    NULL, 0,
	    "receivers that get the matching alerts (comma separated, "
	    "required)" },
	{ "continue", CFG_BOOL, ROUTE_OFF(cont), 0, 0, NULL,
	    "false", 0,
	    "go on matching the routes after this one" },
};

static const struct cfg_key digest_keys[] = {
	{ "at", CFG_FN, CFG_OFF(digest), 0, 0, set_digest_at,
	    "09:00", 0,
	    "local time of day the digest is sent, HH:MM" },
	{ "timezone", CFG_FN, CFG_OFF(digest.timezone), 0, 0, set_timezone,
	    "UTC", 0,
	    "zoneinfo name of that local time" },
	{ "receivers", CFG_FN, CFG_OFF(digest.receivers), 0, 0, set_names,
	    NULL, 0,
	    "receivers of the digest (comma separated; none: no digest)" },
	{ "top", CFG_UINT, CFG_OFF(digest.top), 1, 100, NULL,
	    "10", 0,
	    "accounts listed per owner" },
};

/*
 * Every [source:NAME] has these; source_open adds type_map.TYPE for each
 * event type, pointer.FIELD and default.FIELD for each webhook field.
 */
static const struct cfg_key source_keys[] = {
	{ "signature", CFG_FN, SRC_OFF(signature), 0, 0, set_signature,
	    "none", 0,
	    "zendesk, hmac-sha256, intercom, or none (then a bearer token is "
	    "required)" },
	{ "secret", CFG_FN, SRC_OFF(secret), 0, 0, set_secret,
	    NULL, 0,
	    "the signing secret (or secret_file)" },
	{ "secret_file", CFG_FN, SRC_OFF(secret), 0, 0, set_secret_file,
	    NULL, 0,
	    "a file that holds the signing secret" },
	{ "secret_previous", CFG_FN, SRC_OFF(secret_previous), 0, 0,
	    set_secret_previous,
	    NULL, 0,
	    "the previous signing secret, accepted too while rotating" },
	{ "secret_previous_file", CFG_FN, SRC_OFF(secret_previous), 0, 0,
	    set_secret_file,
	    NULL, 0,
	    "a file that holds the previous signing secret" },
	{ "max_skew", CFG_UINT, SRC_OFF(max_skew), 1, 86400, NULL,
	    "300", 0,
	    "seconds a signed request's timestamp may be off" },
	{ "type", CFG_FN, SRC_OFF(type), 0, 0, set_event_type,
	    NULL, 0,
	    "the event type of every request (or type_pointer)" },
	{ "type_pointer", CFG_FN, SRC_OFF(type_pointer), 0, 0, set_pointer,
	    NULL, 0,
	    "JSON Pointer to the sender's event name, mapped by type_map.TYPE" },
};

/* The dotted keys of [source:NAME]: prefix, count, where, setter. */
static const struct {
	const char	*prefix;
	size_t		 n;
	size_t		 off;		/* of element 0 */
	size_t		 size;		/* of one element */
	cfg_set_fn	 set;
	const char	*help;
} source_dotted[] = {
	{ "type_map.", EV__COUNT, SRC_OFF(type_map), sizeof(char **),
	    set_type_map, "the values at type_pointer that mean this event "
	    "type (comma separated)" },
	{ "pointer.", WH_F__COUNT, SRC_OFF(pointer), sizeof(char *),
	    set_pointer, "JSON Pointer (RFC 6901) to this envelope field or "
	    "prop in the body" },
	{ "default.", WH_F__COUNT, SRC_OFF(def), sizeof(char *),
	    set_default, "the value of this field when the body has none" },
};

#define NKEYS(t)	(sizeof(t) / sizeof((t)[0]))

static const struct cfg_section cfg_sections[] = {
	{ "server", server_keys, NKEYS(server_keys), NULL, NULL,
	    "the HTTP server (SPEC 2)" },
	{ "ingest", ingest_keys, NKEYS(ingest_keys), NULL, NULL,
	    "what ingest accepts and how it writes (SPEC 2.1)" },
	{ "database", database_keys, NKEYS(database_keys), NULL, NULL,
	    "the PostgreSQL connection" },
	{ "spool", spool_keys, NKEYS(spool_keys), NULL, NULL,
	    "the local spool that takes events while PostgreSQL is away (SPEC 6)" },
	{ "limits", limits_keys, NKEYS(limits_keys), NULL, NULL,
	    "bounds on what clients can make the daemon remember (SPEC 6)" },
	{ "log", log_keys, NKEYS(log_keys), NULL, NULL,
	    "logging to standard error (the journal under systemd)" },
	{ "token:", token_keys, NKEYS(token_keys), token_open, token_close,
	    "one per API client: NAME is how logs and metrics name it" },
	{ "signals", signals_keys, NKEYS(signals_keys), NULL, NULL,
	    "settings shared by the signals (SPEC 4)" },
	{ "signal:", NULL, 0, signal_open, signal_close,
	    "one per signal of SPEC 4 to change: NAME is the signal" },
	{ "alerts", alerts_keys, NKEYS(alerts_keys), NULL, NULL,
	    "when alerts fire, resolve, repeat and group (SPEC 5)" },
	{ "coverage", coverage_keys, NKEYS(coverage_keys), NULL, NULL,
	    "per data class, the UTC day from which its data is complete (SPEC 4)" },
	{ "health", health_keys, NKEYS(health_keys), NULL, NULL,
	    "the play sent with each health status (SPEC 5)" },
	{ "portfolio", portfolio_keys, NKEYS(portfolio_keys), NULL, NULL,
	    "portfolio trends: the same risk at several accounts (SPEC 4)" },
	{ "receiver:", receiver_keys, NKEYS(receiver_keys), receiver_open,
	    receiver_close,
	    "where notifications go: NAME is named by routes and the digest" },
	{ "route:", route_keys, NKEYS(route_keys), route_open, route_close,
	    "which alerts go to which receivers, first match wins (in file order)" },
	{ "slack", slack_keys, NKEYS(slack_keys), NULL, NULL,
	    "the Slack app: its buttons, slash command and Web API (SPEC 2.7)" },
	{ "owner:", owner_keys, NKEYS(owner_keys), owner_open, owner_close,
	    "where an owner's alerts and digest go: NAME as accounts' owner "
	    "says" },
	{ "digest", digest_keys, NKEYS(digest_keys), NULL, digest_close,
	    "the morning list of the worst accounts per owner" },
	{ "source:", NULL, 0, source_open, source_close,
	    "a webhook source: POST /v1/webhooks/NAME (SPEC 2.3)" },
	{ "segment", segment_keys, NKEYS(segment_keys), NULL, NULL,
	    "the Segment-compatible API (SPEC 2.4)" },
};

static const struct {
	const char	*name;
	unsigned	 bit;
} cfg_scopes[] = {
	{ "ingest", CW_SCOPE_INGEST },
	{ "read", CW_SCOPE_READ },
	{ "admin", CW_SCOPE_ADMIN },
};

static void	cfg_err(struct cfg_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Count a problem and, if errs is set, write "path:line: message". */
static void
cfg_err(struct cfg_parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	if (p->errs == NULL)
		return;
	if (line > 0)
		fprintf(p->errs, "%s:%d: ", p->path, line);
	else
		fprintf(p->errs, "%s: ", p->path);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

static char *
cfg_strdup(struct cfg_parse *p, const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL)
		cfg_err(p, p->lineno, "out of memory");
	return d;
}

/* Replace the string at *dst, which the config owns. */
static int
cfg_set_string(struct cfg_parse *p, char **dst, const char *s)
{
	char *d;

	if ((d = cfg_strdup(p, s)) == NULL)
		return -1;
	free(*dst);
	*dst = d;
	return 0;
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * The one place that knows the defaults.  Strings are copies the config
 * owns, so that config_free() need not tell them apart from parsed ones.
 */
static int
config_defaults(struct cw_config *cfg)
{
	cfg->listen = strdup("127.0.0.1:8080");
	cfg->max_body_bytes = 1048576;
	cfg->max_events = 10000;
	cfg->max_connections = 1024;
	cfg->request_timeout = 30;
	cfg->idle_timeout = 60;
	cfg->max_header_bytes = 16384;
	cfg->max_inflight_body_bytes = 67108864;

	cfg->horizon_days = 400;
	cfg->future_skew = 300;
	cfg->max_batch_events = 20000;
	cfg->retention_interval = 86400;

	cfg->db_url = strdup("postgresql:///churnwatch");
	cfg->db_connections = 2;
	cfg->db_statement_timeout = 5 * CW_USEC_PER_SEC;
	cfg->db_snapshot_interval = 30 * CW_USEC_PER_SEC;
	cfg->db_rollup_interval = 60 * CW_USEC_PER_SEC;

	cfg->spool_dir = strdup("/var/lib/churnwatch/spool");
	cfg->spool_max_bytes = UINT64_C(1073741824);

	/* Far above real use, far below what exhausts a host: README. */
	cfg->limits.accounts = 1000000;
	cfg->limits.names = 1000000;
	cfg->limits.name_bytes = 134217728;
	cfg->limits.contacts_per_account = 50000;
	cfg->limits.records_per_account = 200000;
	cfg->limits.users_per_account = 200000;
	cfg->limits.memberships = 5000000;
	cfg->limits.queued_notifications = 100000;

	cfg->log_level = LOG_LVL_INFO;

	cfg->tokens = NULL;
	cfg->ntokens = 0;

	if (signal_config_defaults(&cfg->signals) == -1)
		return -1;

	cfg->alerts.resolve_after = 3600 * CW_USEC_PER_SEC;
	cfg->alerts.repeat_interval = 7 * CW_USEC_PER_DAY;
	cfg->alerts.backfill_age = 3600 * CW_USEC_PER_SEC;
	cfg->alerts.settle = 60 * CW_USEC_PER_SEC;
	cfg->alerts.renewal_window = 90 * CW_USEC_PER_DAY;
	cfg->group_wait = 10 * CW_USEC_PER_SEC;
	cfg->group_max = 5;

	/* Heard at five customers in two weeks: a trend (SPEC 4). */
	cfg->portfolio.enabled = 1;
	cfg->portfolio.min_accounts = 5;
	cfg->portfolio.days = 14;
	cfg->portfolio.severity = SEV_WARNING;
	cfg->portfolio.play = NULL;

	/* Receivers and routes: none.  Their keys' defaults: see below. */
	cfg->receivers = NULL;
	cfg->nreceivers = 0;
	cfg->routes = NULL;
	cfg->nroutes = 0;

	/* Webhook sources: none; a new one's defaults: source_defaults. */
	cfg->sources = NULL;
	cfg->nsources = 0;

	cfg->digest.enabled = 0;	/* set from receivers at the end */
	cfg->digest.hour = 9;
	cfg->digest.minute = 0;
	cfg->digest.timezone = strdup("UTC");
	cfg->digest.receivers = calloc(1, sizeof(char *));
	cfg->digest.top = 10;

	/* The Slack app: not configured; its Web API at Slack. */
	cfg->slack.api_url = strdup("https://slack.com/api");
	cfg->owners = NULL;
	cfg->nowners = 0;

	if (cfg->listen == NULL || cfg->db_url == NULL ||
	    cfg->slack.api_url == NULL ||
	    cfg->spool_dir == NULL || cfg->digest.timezone == NULL ||
	    cfg->digest.receivers == NULL)
		return -1;
	return 0;
}

/*
 * The defaults of a new [token:NAME]: a rate limit above what one daemon
 * can store (~70k events/s on 2 cores, bench/README.md), so that a lone
 * client is held back by the database, never by its bucket, and a burst
 * of 100 full requests (max_events) or 10 s at the rate, so that a
 * backfill after an outage pours in.  Tokens that share a daemon get a
 * share of it by setting their own.
 */
static void
token_defaults(struct cw_token *t)
{
	t->rate = 100000;
	t->burst = 1000000;
}

/*
 * The defaults of a new [receiver:NAME]; rate and burst depend on the
 * type and are set when the section ends (receiver_types).
 */
static void
receiver_defaults(struct cw_receiver *r)
{
	r->type = -1;		/* none yet: type is required */
	r->timeout = 10;
}

/* The defaults of a new [source:NAME]: unsigned, no type yet. */
static void
source_defaults(struct wh_source *s)
{
	s->signature = WH_SIG_NONE;
	s->max_skew = WH_MAX_SKEW_DEFAULT;
	s->type = -1;		/* type or type_pointer is required */
}

void
config_free(struct cw_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ntokens; i++) {
		free(cfg->tokens[i].name);
		secret_free(cfg->tokens[i].secret);
	}
	free(cfg->tokens);
	signal_config_free(&cfg->signals);
	for (i = 0; i < cfg->nreceivers; i++) {
		free(cfg->receivers[i].name);
		secret_free(cfg->receivers[i].url);
		secret_free(cfg->receivers[i].secret);
		free(cfg->receivers[i].channel);
	}
	free(cfg->receivers);
	for (i = 0; i < cfg->nowners; i++) {
		free(cfg->owners[i].name);
		free(cfg->owners[i].slack_channel);
		strv_free(cfg->owners[i].receivers);
	}
	free(cfg->owners);
	secret_free(cfg->slack.signing_secret);
	secret_free(cfg->slack.bot_token);
	free(cfg->slack.api_url);
	for (i = 0; i < cfg->nroutes; i++) {
		free(cfg->routes[i].name);
		free(cfg->routes[i].category);
		free(cfg->routes[i].severity);
		free(cfg->routes[i].signal);
		free(cfg->routes[i].segment);
		free(cfg->routes[i].owner);
		free(cfg->routes[i].renewal);
		strv_free(cfg->routes[i].receivers);
	}
	free(cfg->routes);
	for (i = 0; i < cfg->nsources; i++)
		webhook_source_clear(&cfg->sources[i]);
	free(cfg->sources);
	free(cfg->digest.timezone);
	strv_free(cfg->digest.receivers);
	free(cfg->path);
	free(cfg->listen);
	free(cfg->db_url);
	free(cfg->metrics_token);
	free(cfg->trusted_proxies);
	for (i = 0; i < NKEYS(cfg->health_play); i++)
		free(cfg->health_play[i]);
	free(cfg->portfolio.play);
	strv_free(cfg->segment_logins);
	free(cfg->spool_dir);
	free(cfg);
}

/*
 * Split "host:port" or "[v6addr]:port".  host gets the address without
 * brackets; the port must be 1..65535.  Returns 0, or -1 when the string
 * is malformed or the host does not fit in hostlen.
 */
int
config_split_listen(const char *listen, char *host, size_t hostlen,
    unsigned *port)
{
	const char *h, *hend, *ps, *c;
	uint64_t v;
	size_t len;

	if (listen == NULL)
		return -1;
	if (listen[0] == '[') {
		h = listen + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			return -1;
		ps = hend + 2;
		if (memchr(h, ':', hend - h) == NULL)
			return -1;	/* brackets are for IPv6 only */
	} else {
		if ((ps = strrchr(listen, ':')) == NULL)
			return -1;
		h = listen;
		hend = ps++;
		if (memchr(h, ':', hend - h) != NULL)
			return -1;	/* a bare IPv6 address is ambiguous */
	}
	len = hend - h;
	if (len == 0 || len >= hostlen)
		return -1;
	for (c = h; c < hend; c++)
		if (!isalnum((unsigned char)*c) && strchr(".-_:%", *c) == NULL)
			return -1;
	if (util_parse_u64(ps, 1, 65535, &v) == -1)
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = (unsigned)v;
	return 0;
}

static int
set_listen(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char host[CFG_HOST_MAX];
	unsigned port;

	if (config_split_listen(value, host, sizeof(host), &port) == -1) {
		cfg_err(p, p->lineno, "%s: must be host:port or [ipv6]:port "
		    "with a port from 1 to 65535", k->name);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), value);
}

/* [server] trusted_proxies: addresses and CIDRs (proxy.h). */
static int
set_trusted_proxies(struct cfg_parse *p, const struct cfg_key *k,
    void *base, const char *value)
{
	struct cw_config *cfg = base;
	struct proxy_net *nets;
	char why[128];
	size_t n;

	if (proxy_list_parse(value, &nets, &n, why, sizeof(why)) == -1) {
		cfg_err(p, p->lineno, "%s: %s", k->name, why);
		return -1;
	}
	free(cfg->trusted_proxies);
	cfg->trusted_proxies = nets;
	cfg->ntrusted_proxies = n;
	return 0;
}

static int
set_log_level(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int lvl;

	if ((lvl = log_level_parse(value)) == -1) {
		cfg_err(p, p->lineno, "%s: must be one of error, warning, "
		    "notice, info, debug", k->name);
		return -1;
	}
	*(int *)((char *)base + k->off) = lvl;
	return 0;
}

/* The index of a key of the section being read, or -1. */
static int
key_index(const struct cfg_parse *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether the section being read has set the key. */
static int
key_seen(const struct cfg_parse *p, const char *name)
{
	int i;

	return (i = key_index(p, name)) != -1 &&
	    (p->seen & (UINT64_C(1) << i)) != 0;
}

/* The line where the section being read set the key; 0 if it did not. */
static int
key_line(const struct cfg_parse *p, const char *name)
{
	return key_seen(p, name) ? p->key_line[key_index(p, name)] : 0;
}

/*
 * Both keys of a secret (secret and secret_file, secret_previous and
 * secret_previous_file): only one of them per section.  Presence counts,
 * even when the other one's value was bad (and reported).
 */
static int
secret_begin(struct cfg_parse *p, const struct cfg_key *k)
{
	char base[32], other[40];
	size_t len;

	len = strlen(k->name);
	if (len > 5 && strcmp(k->name + len - 5, "_file") == 0)
		len -= 5;
	snprintf(base, sizeof(base), "%.*s", (int)len, k->name);
	snprintf(other, sizeof(other), "%s%s", base,
	    k->name[len] == '\0' ? "_file" : "");
	if (key_seen(p, other)) {
		cfg_err(p, p->lineno, "%s: only one of %s and %s_file may be "
		    "given", k->name, base, base);
		return -1;
	}
	p->secret_line = p->lineno;
	p->secret_key = k->name;
	return 0;
}

static int
secret_store(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *secret, size_t len)
{
	if (memchr(secret, '\0', len) != NULL) {
		cfg_err(p, p->lineno, "%s: the secret contains a NUL byte",
		    k->name);
		return -1;
	}
	if (len < CFG_SECRET_MIN) {
		cfg_err(p, p->lineno, "%s: the secret must be at least %d "
		    "bytes", k->name, CFG_SECRET_MIN);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), secret);
}

static int
set_secret(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	if (secret_begin(p, k) == -1)
		return -1;
	return secret_store(p, k, base, value, strlen(value));
}

/*
 * The file holds the secret; trailing white space (the newline an editor
 * or "echo" adds) is not part of it.  The path is not echoed in messages:
 * it may well be the secret itself, given to the wrong key.
 */
static int
set_secret_file(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char buf[CFG_SECRET_FILE_MAX + 1];
	FILE *fp;
	size_t n;
	int rv = -1;

	if (secret_begin(p, k) == -1)
		return -1;
	if ((fp = fopen(value, "re")) == NULL) {
		cfg_err(p, p->lineno, "%s: cannot open the file: %s", k->name,
		    strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), fp);
	if (ferror(fp)) {
		cfg_err(p, p->lineno, "%s: cannot read the file: %s", k->name,
		    strerror(errno));
		goto fail;
	}
	if (n > CFG_SECRET_FILE_MAX) {
		cfg_err(p, p->lineno, "%s: the file is larger than %d bytes",
		    k->name, CFG_SECRET_FILE_MAX);
		goto fail;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		cfg_err(p, p->lineno, "%s: the file is empty", k->name);
		goto fail;
	}
	rv = secret_store(p, k, base, buf, n);
fail:
	explicit_bzero(buf, sizeof(buf));
	fclose(fp);
	return rv;
}

/* "ingest, read" -> CW_SCOPE_INGEST | CW_SCOPE_READ. */
static int
set_scopes(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const char *s, *e, *end;
	unsigned scopes = 0;
	size_t i, len;
	int rv = 0;

	for (s = value; ; s = e + 1) {
		if ((e = strchr(s, ',')) == NULL)
			e = s + strlen(s);
		end = e;
		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		len = end - s;
		for (i = 0; i < NKEYS(cfg_scopes); i++)
			if (strlen(cfg_scopes[i].name) == len &&
			    strncmp(cfg_scopes[i].name, s, len) == 0)
				break;
		if (len == 0) {
			cfg_err(p, p->lineno, "%s: empty scope; list one or "
			    "more of ingest, read, admin, separated by commas",
			    k->name);
			rv = -1;
		} else if (i == NKEYS(cfg_scopes)) {
			cfg_err(p, p->lineno, "%s: unknown scope; each must be "
			    "ingest, read or admin", k->name);
			rv = -1;
		} else
			scopes |= cfg_scopes[i].bit;
		if (*e == '\0')
			break;
	}
	if (rv == 0)
		*(unsigned *)((char *)base + k->off) = scopes;
	return rv;
}

/* A token, receiver or route name: 1 to 64 of A-Z a-z 0-9 _ . - */
static int
cfg_name_valid(const char *name)
{
	size_t len;

	len = strlen(name);
	if (len == 0 || len > CFG_TOKEN_NAME_MAX)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/*
 * The NAME of a new [KIND:NAME] section: valid, and not taken by an
 * earlier section of the kind.  1, or 0 (reported).
 */
static int
section_name_ok(struct cfg_parse *p, const char *kind, const char *name,
    int taken)
{
	if (!cfg_name_valid(name)) {
		cfg_err(p, p->lineno, "bad %s name in [%s:%s]: use 1 to %d "
		    "characters of A-Z a-z 0-9 _ . -", kind, kind, name,
		    CFG_TOKEN_NAME_MAX);
		return 0;
	}
	if (taken) {
		cfg_err(p, p->lineno, "duplicate section [%s:%s]", kind, name);
		return 0;
	}
	return 1;
}

/*
 * The shared start of a [kind:NAME] section.  *arr holds n elements of
 * size bytes, each starting with its char *name: NAME must be valid and
 * new among them; the array grows by one zeroed element named NAME (n
 * counts it), which is returned.  NULL after reporting a problem; *arr
 * is always the array to keep.
 */
static void *
named_section(struct cfg_parse *p, const char *kind, const char *name,
    void **arr, size_t *n, size_t size)
{
	char *base = *arr, *e;
	size_t i;
	int taken = 0;

	for (i = 0; i < *n; i++)
		taken |= strcmp(*(char **)(void *)(base + i * size), name) == 0;
	if (!section_name_ok(p, kind, name, taken))
		return NULL;
	if ((base = reallocarray(*arr, *n + 1, size)) == NULL) {
		cfg_err(p, p->lineno, "out of memory");
		return NULL;
	}
	*arr = base;
	e = base + *n * size;
	memset(e, 0, size);
	if ((*(char **)(void *)e = cfg_strdup(p, name)) == NULL)
		return NULL;
	(*n)++;
	return e;
}

/*
 * A token's or a webhook source's name is the source of the events it
 * brings in, and (source, id) is the idempotency key: a [token:X] and a
 * [source:X] would take each other's events for duplicates.  Reported at
 * the later of the two; the section is still read, so that its other
 * problems show too.
 */
static void
name_shared(struct cfg_parse *p, const char *kind, const char *other,
    const char *name)
{
	cfg_err(p, p->lineno, "[%s:%s]: a [%s:%s] has the same name; tokens "
	    "and sources share one idempotency namespace, so their names "
	    "must differ", kind, name, other, name);
}

static void *
token_open(struct cfg_parse *p, const char *name)
{
	struct cw_config *cfg = p->cfg;
	void *arr = cfg->tokens;
	struct cw_token *t;

	t = named_section(p, "token", name, &arr, &cfg->ntokens, sizeof(*t));
	cfg->tokens = arr;
	if (t == NULL)
		return NULL;
	token_defaults(t);
	if (config_find_source(cfg, name) != NULL)
		name_shared(p, "token", "source", name);
	p->secret_line = 0;
	p->secret_key = NULL;
	return t;
}

/* The checks that need the whole [token:NAME] section. */
static void
token_close(struct cfg_parse *p)
{
	struct cw_config *cfg = p->cfg;
	struct cw_token *t = p->base;
	size_t i, len;

	if (!key_seen(p, "secret") && !key_seen(p, "secret_file"))
		cfg_err(p, p->sec_line, "[%s]: secret or secret_file is "
		    "required", p->secname);
	if (!key_seen(p, "scopes"))
		cfg_err(p, p->sec_line, "[%s]: scopes is required",
		    p->secname);
	if (t->secret == NULL)
		return;
	len = strlen(t->secret);
	for (i = 0; i < cfg->ntokens; i++) {
		if (&cfg->tokens[i] == t || cfg->tokens[i].secret == NULL)
			continue;
		if (util_ct_equal(t->secret, len, cfg->tokens[i].secret,
		    strlen(cfg->tokens[i].secret))) {
			cfg_err(p, p->secret_line, "%s: [token:%s] has the "
			    "same secret as [token:%s]", p->secret_key,
			    t->name, cfg->tokens[i].name);
			break;
		}
	}
}

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

/*
 * "a, B c,d" -> {"a", "B c", "d", NULL} in *out: a comma-separated list,
 * each item trimmed, and lower-cased (ASCII only) if lower is set.  An
 * empty value is an empty list; an empty item is an error.
 */
static int
list_split(struct cfg_parse *p, const struct cfg_key *k, const char *value,
    int lower, char ***out)
{
	const char *s, *e, *end;
	char **v, *item;
	size_t n = 0, i, len;
	int rv = 0;

	if (*value != '\0')
		for (n = 1, s = value; (s = strchr(s, ',')) != NULL; s++)
			n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		cfg_err(p, p->lineno, "out of memory");
		return -1;
	}
	for (s = value, i = 0; i < n; s = e + 1, i++) {
		if ((e = strchr(s, ',')) == NULL)
			e = s + strlen(s);
		end = e;
		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		len = end - s;
		if (len == 0) {
			if (rv == 0)
				cfg_err(p, p->lineno, "%s: empty item; "
				    "separate the items with single commas",
				    k->name);
			rv = -1;
			continue;
		}
		if ((item = strndup(s, len)) == NULL) {
			cfg_err(p, p->lineno, "out of memory");
			rv = -1;
			break;
		}
		for (len = 0; lower && item[len] != '\0'; len++)
			if (item[len] >= 'A' && item[len] <= 'Z')
				item[len] += 'a' - 'A';
		v[i] = item;
	}
	if (rv == -1) {
		/* v may have holes: free every slot. */
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * A list of text the window rules match case-insensitively: items are
 * lower-cased (see list_split).
 */
static int
set_list(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char ***dst = (char ***)((char *)base + k->off);
	char **v;

	if (list_split(p, k, value, 1, &v) == -1)
		return -1;
	strv_free(*dst);
	*dst = v;
	return 0;
}

/*
 * [signals] voice_phrases.CLASS: the risk phrases of CLASS (lower-case,
 * a-z 0-9 _ -), lower-cased like set_list's, in place of the defaults of
 * that class; empty drops the class.  Each class once.
 */
static int
set_phrases(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const char *cls = p->key_name + strlen(k->name);
	struct cfg_key full;
	char **v;
	size_t i, n = strlen(cls);
	int rv;

	if (n > CFG_CLASS_MAX || strspn(cls, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") != n) {
		cfg_err(p, p->lineno, "%s: the class after \"%s\" must be 1 "
		    "to %d of a-z 0-9 _ -", p->key_name, k->name,
		    CFG_CLASS_MAX);
		return -1;
	}
	for (i = 0; i < p->nclasses; i++)
		if (strcmp(p->classes[i], cls) == 0) {
			cfg_err(p, p->lineno, "duplicate key \"%s\" in [%s]",
			    p->key_name, p->secname);
			return -1;
		}
	if (p->nclasses == NKEYS(p->classes)) {
		cfg_err(p, p->lineno, "%s: at most %zu classes of voice "
		    "phrases", p->key_name, NKEYS(p->classes));
		return -1;
	}
	memcpy(p->classes[p->nclasses++], cls, n + 1);
	full = *k;
	full.name = p->key_name;	/* for list_split's messages */
	if (list_split(p, &full, value, 1, &v) == -1)
		return -1;
	rv = signal_phrases_set((struct sig_config *)((char *)base + k->off),
	    cls, (const char *const *)v);
	strv_free(v);
	if (rv == -1)
		cfg_err(p, p->lineno, "out of memory");
	return rv;
}

/* [segment] login_events: Segment event names, kept as written. */
static int
set_login_events(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	struct cw_config *cfg = base;
	char **v;
	size_t n;

	if (list_split(p, k, value, 0, &v) == -1)
		return -1;
	for (n = 0; v[n] != NULL; n++)
		;
	strv_free(cfg->segment_logins);
	cfg->segment_logins = v;
	cfg->nsegment_logins = n;
	return 0;
}

static int
set_severity(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int sev;

	if ((sev = severity_parse(value)) == -1) {
		cfg_err(p, p->lineno, "%s: must be info, warning or critical",
		    k->name);
		return -1;
	}
	*(enum sig_severity *)((char *)base + k->off) = sev;
	return 0;
}

/* A plain decimal number: digits, optionally "." and more digits. */
static int
parse_decimal(const char *s, double *out)
{
	const char *c = s;
	char *end;

	if (!isdigit((unsigned char)*c))
		return -1;
	while (isdigit((unsigned char)*c))
		c++;
	if (*c == '.') {
		c++;
		if (!isdigit((unsigned char)*c))
			return -1;
		while (isdigit((unsigned char)*c))
			c++;
	}
	if (*c != '\0' || c - s > 32)
		return -1;
	*out = strtod(s, &end);
	return end == c ? 0 : -1;
}

/* A threshold of the [signal:NAME] being read; bounds from signal.c. */
static int
set_threshold(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const struct sig_threshold *th;
	uint64_t u;
	double v;
	size_t n;
	int i;

	th = signal_thresholds(p->sig_id, &n);
	if ((i = signal_threshold_find(p->sig_id, k->name)) == -1)
		return -1;	/* not reached: the key came from the table */
	th = &th[i];
	if (th->kind == TH_REAL) {
		if (parse_decimal(value, &v) == -1 || v < th->min ||
		    v > th->max) {
			cfg_err(p, p->lineno, "%s: must be a number from %.7g "
			    "to %.7g", k->name, th->min, th->max);
			return -1;
		}
	} else {
		if (util_parse_u64(value, (uint64_t)th->min,
		    (uint64_t)th->max, &u) == -1) {
			cfg_err(p, p->lineno, "%s: must be a whole number from "
			    "%llu to %llu", k->name,
			    (unsigned long long)th->min,
			    (unsigned long long)th->max);
			return -1;
		}
		v = (double)u;
	}
	*(double *)((char *)base + k->off) = v;
	return 0;
}

/*
 * [signal:NAME]: NAME is one of the signals of signal.h, once.  Its keys
 * are signal_keys plus the signal's thresholds.
 */
static void *
signal_open(struct cfg_parse *p, const char *name)
{
	const struct sig_threshold *th;
	struct cfg_key *k;
	size_t i, n;
	int id;

	if ((id = signal_find(name)) == -1) {
		cfg_err(p, p->lineno, "unknown signal in [signal:%s]", name);
		return NULL;
	}
	if (p->sig_seen & (UINT32_C(1) << id)) {
		cfg_err(p, p->lineno, "duplicate section [signal:%s]", name);
		return NULL;
	}
	_Static_assert(NKEYS(signal_keys) + SIG_MAX_THRESHOLDS <=
	    NKEYS(((struct cfg_parse *)NULL)->sig_keys),
	    "cfg_parse.sig_keys is too small");
	_Static_assert(SIG__COUNT <= 32, "cfg_parse.sig_seen is too small");
	p->sig_seen |= UINT32_C(1) << id;
	p->sig_id = id;
	memcpy(p->sig_keys, signal_keys, sizeof(signal_keys));
	th = signal_thresholds(id, &n);
	for (i = 0; i < n; i++) {
		k = &p->sig_keys[NKEYS(signal_keys) + i];
		memset(k, 0, sizeof(*k));
		k->name = th[i].key;
		k->type = CFG_FN;
		k->off = SIG_OFF(threshold) + i * sizeof(double);
		k->set = set_threshold;
		k->help = th[i].help;
	}
	p->keys = p->sig_keys;
	p->nkeys = NKEYS(signal_keys) + n;
	return &p->cfg->signals.sig[id];
}

/* The checks that need the whole section: spans within the history. */
static void
signal_close(struct cfg_parse *p)
{
	char why[160];

	if (signal_params_check(p->sig_id, p->base, why, sizeof(why)) == -1)
		cfg_err(p, p->sec_line, "[%s]: %s", p->secname, why);
}

/* ---- [alerts] ---- */

static const struct {
	char		 unit;
	uint64_t	 secs;
} duration_units[] = {
	{ 's', 1 },
	{ 'm', 60 },
	{ 'h', 3600 },
	{ 'd', 86400 },
};

/*
 * A duration: a whole number of seconds, or of the unit after it
 * ("90m", "7d").  Stores it in seconds if it is in [min, max] seconds.
 */
static int
parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char num[24];
	uint64_t mult = 1, v;
	size_t i, len;

	len = strlen(s);
	for (i = 0; len > 0 && i < NKEYS(duration_units); i++)
		if (s[len - 1] == duration_units[i].unit) {
			mult = duration_units[i].secs;
			len--;
			break;
		}
	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	/* v <= max keeps v * mult far from overflow. */
	if (util_parse_u64(num, 0, max, &v) == -1)
		return -1;
	v *= mult;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- [receiver:NAME] ---- */

static int
set_receiver_type(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int kind;

	if ((kind = receiver_kind_find(value)) != -1) {
		*(int *)((char *)base + k->off) = kind;
		return 0;
	}
	cfg_err(p, p->lineno, "%s: must be %s", k->name, receiver_kind_list());
	return -1;
}

/*
 * An http:// or https:// URL with a host, without white space or
 * control characters.  Never echoed: a Slack webhook URL is a secret.
 */
static int
set_url(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char **dst = (char **)((char *)base + k->off);
	const unsigned char *c;
	const char *host;
	char *d;

	if (strncasecmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncasecmp(value, "http://", 7) == 0)
		host = value + 7;
	else
		host = NULL;
	for (c = (const unsigned char *)value; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f)
			host = NULL;
	if (host == NULL || *host == '\0' || strchr("/?#", *host) != NULL) {
		cfg_err(p, p->lineno, "%s: must be an http:// or https:// URL",
		    k->name);
		return -1;
	}
	if ((d = cfg_strdup(p, value)) == NULL)
		return -1;
	secret_free(*dst);
	*dst = d;
	return 0;
}

/*
 * A Slack channel: an id (C0123ABCD) or a name (#cs-acme), 1 to 80
 * printable characters without white space.
 */
static int
set_channel(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const unsigned char *c;
	size_t len = strlen(value);

	for (c = (const unsigned char *)value; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f)
			len = 0;
	if (len == 0 || len > 80) {
		cfg_err(p, p->lineno, "%s: must be a Slack channel id or "
		    "name, 1 to 80 characters without spaces", k->name);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), value);
}

/* Messages per second: a decimal number, > 0. */
static int
set_rate(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	double v;

	if (parse_decimal(value, &v) == -1 || v <= 0 || v > CFG_RATE_MAX) {
		cfg_err(p, p->lineno, "%s: must be a number of messages per "
		    "second, more than 0 and at most %g", k->name,
		    CFG_RATE_MAX);
		return -1;
	}
	*(double *)((char *)base + k->off) = v;
	return 0;
}

static void *
receiver_open(struct cfg_parse *p, const char *name)
{
	struct cw_config *cfg = p->cfg;
	void *arr = cfg->receivers;
	struct cw_receiver *r;

	int *lines;

	lines = reallocarray(p->receiver_line, cfg->nreceivers + 1,
	    sizeof(*lines));
	if (lines == NULL) {
		cfg_err(p, p->lineno, "out of memory");
		return NULL;
	}
	p->receiver_line = lines;
	r = named_section(p, "receiver", name, &arr, &cfg->nreceivers,
	    sizeof(*r));
	cfg->receivers = arr;
	if (r == NULL)
		return NULL;
	lines[cfg->nreceivers - 1] = p->lineno;
	receiver_defaults(r);
	p->secret_line = 0;
	p->secret_key = NULL;
	return r;
}

/*
 * The checks that need the whole [receiver:NAME] section: its type, the
 * keys that type takes, and the type's pacing defaults.
 */
static void
receiver_close(struct cfg_parse *p)
{
	static const char *const url_keys[] = { "webhook_url", "url" };
	static const char *const secret_keys[] = { "secret", "secret_file" };
	static const char *const app_keys[] = { "bot_token", "bot_token_file",
	    "channel" };
	struct cw_receiver *r = p->base;
	const struct receiver_type *rt;
	const char *tname, *want;
	size_t i;

	if (!key_seen(p, "type")) {
		cfg_err(p, p->sec_line, "[%s]: type is required", p->secname);
		return;
	}
	if (r->type < 0)
		return;		/* a bad type, reported */
	rt = receiver_type_get(r->type);
	tname = rt->name;
	want = rt->url_key;
	for (i = 0; i < NKEYS(url_keys); i++)
		if (key_seen(p, url_keys[i]) &&
		    (want == NULL || strcmp(want, url_keys[i]) != 0))
			cfg_err(p, key_line(p, url_keys[i]), "%s: not a key of "
			    "type %s receivers", url_keys[i], tname);
	if (want != NULL && !key_seen(p, want))
		cfg_err(p, p->sec_line, "[%s]: type %s needs %s", p->secname,
		    tname, want);
	for (i = 0; i < NKEYS(secret_keys); i++)
		if (key_seen(p, secret_keys[i]) && !rt->secret_keys)
			cfg_err(p, key_line(p, secret_keys[i]), "%s: not a key "
			    "of type %s receivers", secret_keys[i], tname);
	for (i = 0; i < NKEYS(app_keys); i++)
		if (key_seen(p, app_keys[i]) && !rt->app_keys)
			cfg_err(p, key_line(p, app_keys[i]), "%s: not a key "
			    "of type %s receivers", app_keys[i], tname);
	if (rt->app_keys && !key_seen(p, "channel"))
		cfg_err(p, p->sec_line, "[%s]: type %s needs channel (where "
		    "alerts of accounts without a slack_channel go)",
		    p->secname, tname);
	if (!key_seen(p, "rate"))
		r->rate = rt->rate;
	if (!key_seen(p, "burst"))
		r->burst = rt->burst;
	r->group_wait_set = key_seen(p, "group_wait");
	r->group_max_set = key_seen(p, "group_max");
}

/* ---- [route:NAME] ---- */

static int
route_category_valid(const char *s)
{
	return alert_category_valid(s);
}

static int
route_severity_valid(const char *s)
{
	return severity_parse(s) != -1;
}

static int
route_signal_valid(const char *s)
{
	return alert_signal_find(s) != -1;
}

static int
route_bool_valid(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
}

/* The route matchers that take one of a fixed set of values. */
static const struct {
	const char	*key;
	int		 (*valid)(const char *);
	const char	*want;
} route_matchers[] = {
	{ "category", route_category_valid,
	    "support, org, competitor, usage, engagement, health or "
	    "portfolio" },
	{ "severity", route_severity_valid, "info, warning or critical" },
	{ "signal", route_signal_valid,
	    "the name of a signal, health_degraded or portfolio" },
	{ "renewal", route_bool_valid, "true or false" },
};

static int
set_matcher(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	size_t i;

	for (i = 0; i < NKEYS(route_matchers); i++)
		if (strcmp(route_matchers[i].key, k->name) == 0)
			break;
	if (i == NKEYS(route_matchers))
		return -1;	/* not reached: every CFG_FN key has a row */
	if (!route_matchers[i].valid(value)) {
		cfg_err(p, p->lineno, "%s: must be %s", k->name,
		    route_matchers[i].want);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), value);
}

/*
 * Receiver names, comma-separated, as written (names are
 * case-sensitive).  Whether they exist is checked at the end of the
 * file (check_receiver_refs); an empty list is for the caller to judge.
 */
static int
set_names(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char ***dst = (char ***)((char *)base + k->off);
	char **v;
	size_t i;

	if (list_split(p, k, value, 0, &v) == -1)
		return -1;
	for (i = 0; v[i] != NULL; i++)
		if (!cfg_name_valid(v[i])) {
			cfg_err(p, p->lineno, "%s: each item must be a "
			    "receiver name: 1 to %d characters of A-Z a-z "
			    "0-9 _ . -", k->name, CFG_TOKEN_NAME_MAX);
			strv_free(v);
			return -1;
		}
	strv_free(*dst);
	*dst = v;
	return 0;
}

static void *
route_open(struct cfg_parse *p, const char *name)
{
	struct cw_config *cfg = p->cfg;
	void *arr = cfg->routes;
	struct alert_route *r;
	int *lines;

	lines = reallocarray(p->route_line, cfg->nroutes + 1, sizeof(*lines));
	if (lines == NULL) {
		cfg_err(p, p->lineno, "out of memory");
		return NULL;
	}
	p->route_line = lines;
	/* No matchers, continue = false: the zeroed element. */
	r = named_section(p, "route", name, &arr, &cfg->nroutes, sizeof(*r));
	cfg->routes = arr;
	if (r == NULL)
		return NULL;
	lines[cfg->nroutes - 1] = p->lineno;
	return r;
}

static void
route_close(struct cfg_parse *p)
{
	struct alert_route *r = p->base;

	if (!key_seen(p, "receivers")) {
		cfg_err(p, p->sec_line, "[%s]: receivers is required",
		    p->secname);
		return;
	}
	p->route_line[r - p->cfg->routes] = key_line(p, "receivers");
	if (r->receivers != NULL && r->receivers[0] == NULL)
		cfg_err(p, key_line(p, "receivers"), "receivers: name one or "
		    "more [receiver:NAME] sections");
}

/* ---- [owner:NAME] ---- */

/* An owner's name is what accounts say: any text but ']' (INI). */
static void *
owner_open(struct cfg_parse *p, const char *name)
{
	struct cw_config *cfg = p->cfg;
	void *arr = cfg->owners;
	struct cw_owner *o;
	size_t i;
	int *lines;

	for (i = 0; i < cfg->nowners; i++)
		if (strcmp(cfg->owners[i].name, name) == 0) {
			cfg_err(p, p->lineno, "[owner:%s]: given twice", name);
			return NULL;
		}
	if (*name == '\0' || strlen(name) > 128 ||
	    util_has_control(name, strlen(name))) {
		cfg_err(p, p->lineno, "[owner:NAME]: the name must be 1 to "
		    "128 characters, as accounts' owner says");
		return NULL;
	}
	lines = reallocarray(p->owner_line, cfg->nowners + 1, sizeof(*lines));
	if (lines == NULL || (o = reallocarray(arr, cfg->nowners + 1,
	    sizeof(*o))) == NULL) {
		if (lines != NULL)
			p->owner_line = lines;
		cfg_err(p, p->lineno, "out of memory");
		return NULL;
	}
	p->owner_line = lines;
	cfg->owners = o;
	o = &cfg->owners[cfg->nowners];
	memset(o, 0, sizeof(*o));
	if ((o->name = cfg_strdup(p, name)) == NULL)
		return NULL;
	lines[cfg->nowners++] = p->lineno;
	return o;
}

static void
owner_close(struct cfg_parse *p)
{
	struct cw_owner *o = p->base;

	if (!key_seen(p, "slack_channel") && !key_seen(p, "receivers"))
		cfg_err(p, p->sec_line, "[%s]: slack_channel or receivers is "
		    "required", p->secname);
	if (key_seen(p, "receivers"))
		p->owner_line[o - p->cfg->owners] = key_line(p, "receivers");
	if (o->receivers != NULL && o->receivers[0] == NULL)
		cfg_err(p, key_line(p, "receivers"), "receivers: name one or "
		    "more [receiver:NAME] sections");
}

/* ---- [digest] ---- */

/* "HH:MM", two digits each, 00:00 to 23:59. */
static int
set_digest_at(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	struct cw_digest *d = (struct cw_digest *)((char *)base + k->off);
	const char *c = value;
	int h, m;

	if (strlen(c) != 5 || !isdigit((unsigned char)c[0]) ||
	    !isdigit((unsigned char)c[1]) || c[2] != ':' ||
	    !isdigit((unsigned char)c[3]) || !isdigit((unsigned char)c[4]) ||
	    (h = (c[0] - '0') * 10 + c[1] - '0') > 23 ||
	    (m = (c[3] - '0') * 10 + c[4] - '0') > 59) {
		cfg_err(p, p->lineno, "%s: must be a time of day as HH:MM, "
		    "from 00:00 to 23:59", k->name);
		return -1;
	}
	d->hour = h;
	d->minute = m;
	return 0;
}

/* A UTC date YYYY-MM-DD, stored as a day number (int32_t). */
static int
set_date(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char buf[40];
	int64_t us;

	if (strlen(value) != 10 || snprintf(buf, sizeof(buf),
	    "%sT00:00:00Z", value) >= (int)sizeof(buf) ||
	    util_parse_rfc3339(buf, strlen(buf), &us) == -1 ||
	    !util_ts_valid(us) || us < CW_USEC_PER_DAY) {
		cfg_err(p, p->lineno, "%s: must be a date as YYYY-MM-DD",
		    k->name);
		return -1;
	}
	*(int32_t *)((char *)base + k->off) =
	    (int32_t)(us / CW_USEC_PER_DAY);
	return 0;
}

/*
 * Whether name is a time zone of the system's database: a relative path
 * of A-Z a-z 0-9 _ + - . / whose components are not empty and do not
 * begin with '.' (so no "..", no absolute path), naming a TZif file
 * under CFG_ZONEINFO.
 */
static int
tz_valid(const char *name)
{
	char path[sizeof(CFG_ZONEINFO) + 1 + CFG_TZ_NAME_MAX], magic[4];
	const char *c;
	FILE *fp;
	size_t n, len;

	len = strlen(name);
	if (len == 0 || len > CFG_TZ_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_+-./") != len)
		return 0;
	for (c = name; *c != '\0'; c++)
		if ((c == name || c[-1] == '/') && (*c == '/' || *c == '.'))
			return 0;
	if (name[len - 1] == '/')
		return 0;
	snprintf(path, sizeof(path), "%s/%s", CFG_ZONEINFO, name);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	n = fread(magic, 1, sizeof(magic), fp);
	fclose(fp);
	return n == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

/*
 * A zoneinfo name.  "UTC", the default, needs no file: the default must
 * hold where the time zone database is not installed.
 */
static int
set_timezone(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	if (strcmp(value, "UTC") != 0 && !tz_valid(value)) {
		cfg_err(p, p->lineno, "%s: must be a time zone of "
		    CFG_ZONEINFO ", such as Asia/Tokyo or UTC", k->name);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), value);
}

static void
digest_close(struct cfg_parse *p)
{
	p->digest_line = key_line(p, "receivers");
}

/* ---- [source:NAME] ---- */

static int
set_signature(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int sig;

	if ((sig = webhook_signature_parse(value)) == -1) {
		cfg_err(p, p->lineno, "%s: must be none, zendesk, hmac-sha256 "
		    "or intercom", k->name);
		p->src_sig_bad = 1;	/* do not judge the secrets by it */
		return -1;
	}
	*(enum wh_signature *)((char *)base + k->off) = sig;
	return 0;
}

/* Like secret, but empty (or an empty env:NAME) means no second secret. */
static int
set_secret_previous(struct cfg_parse *p, const struct cfg_key *k,
    void *base, const char *value)
{
	char **dst = (char **)((char *)base + k->off);

	if (*value == '\0') {
		if (secret_begin(p, k) == -1)
			return -1;
		secret_free(*dst);
		*dst = NULL;
		return 0;
	}
	return set_secret(p, k, base, value);
}

static int
set_event_type(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char names[512];
	size_t off = 0;
	int t;

	if ((t = event_type_parse(value, strlen(value))) == -1) {
		/* The list from event.c's table: it grows with the types. */
		for (t = 0; t < EV__COUNT && off < sizeof(names); t++)
			off += snprintf(names + off, sizeof(names) - off,
			    "%s%s", t == 0 ? "" : t + 1 == EV__COUNT ?
			    " or " : ", ", event_type_name(t));
		cfg_err(p, p->lineno, "%s: must be an event type: %s",
		    k->name, names);
		return -1;
	}
	*(int *)((char *)base + k->off) = t;
	return 0;
}

static int
set_pointer(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	if (!webhook_pointer_valid(value)) {
		cfg_err(p, p->lineno, "%s: must be a JSON Pointer (RFC 6901) "
		    "such as /ticket/id: empty, or \"/\" and tokens, with ~ "
		    "only in ~0 and ~1", k->name);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), value);
}

/* The sender's values for one of our types, comma-separated, as is. */
static int
set_type_map(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char ***dst = (char ***)((char *)base + k->off);
	char **v;

	if (list_split(p, k, value, 0, &v) == -1)
		return -1;
	if (v[0] == NULL) {
		cfg_err(p, p->lineno, "%s: name one or more of the sender's "
		    "values, separated by commas", k->name);
		strv_free(v);
		return -1;
	}
	strv_free(*dst);
	*dst = v;
	return 0;
}

static int
set_default(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char why[120];
	int f;

	f = (int)((k->off - SRC_OFF(def)) / sizeof(char *));
	if (!webhook_default_valid(f, value, why, sizeof(why))) {
		cfg_err(p, p->lineno, "%s: %s", k->name, why);
		return -1;
	}
	return cfg_set_string(p, (char **)((char *)base + k->off), value);
}

/* Add the dotted keys to p->src_keys after n fixed ones; the new count. */
static size_t
source_keys_build(struct cfg_parse *p, size_t n)
{
	struct cfg_key *k;
	const char *name;
	size_t i, j;

	for (i = 0; i < NKEYS(source_dotted); i++)
		for (j = 0; j < source_dotted[i].n; j++) {
			name = source_dotted[i].set == set_type_map ?
			    event_type_name(j) : webhook_field_name(j);
			snprintf(p->src_names[n], sizeof(p->src_names[n]),
			    "%s%s", source_dotted[i].prefix, name);
			k = &p->src_keys[n];
			memset(k, 0, sizeof(*k));
			k->name = p->src_names[n];
			k->type = CFG_FN;
			k->off = source_dotted[i].off +
			    j * source_dotted[i].size;
			k->set = source_dotted[i].set;
			k->help = source_dotted[i].help;
			n++;
		}
	return n;
}

static void *
source_open(struct cfg_parse *p, const char *name)
{
	struct cw_config *cfg = p->cfg;
	void *arr = cfg->sources;
	struct wh_source *s;
	size_t i;

	_Static_assert(NKEYS(source_keys) + EV__COUNT + 2 * WH_F__COUNT <=
	    NKEYS(((struct cfg_parse *)NULL)->src_keys),
	    "cfg_parse.src_keys is too small");
	_Static_assert(NKEYS(((struct cfg_parse *)NULL)->src_keys) <= 64,
	    "cfg_parse.seen has a bit per key");
	s = named_section(p, "source", name, &arr, &cfg->nsources,
	    sizeof(*s));
	cfg->sources = arr;
	if (s == NULL)
		return NULL;
	for (i = 0; i < cfg->ntokens; i++)
		if (strcmp(cfg->tokens[i].name, name) == 0)
			name_shared(p, "source", "token", name);
	source_defaults(s);
	memcpy(p->src_keys, source_keys, sizeof(source_keys));
	p->keys = p->src_keys;
	p->nkeys = source_keys_build(p, NKEYS(source_keys));
	p->secret_line = 0;
	p->secret_key = NULL;
	p->src_nerr = p->nerr;
	p->src_sig_bad = 0;
	return s;
}

/* The type_map keys: no sender's value may map to two of our types. */
static void
source_type_maps(struct cfg_parse *p, const struct wh_source *s)
{
	char key[40];
	char **a, **b;
	size_t t, u;

	for (t = 0; t < EV__COUNT; t++)
		for (a = s->type_map[t]; a != NULL && *a != NULL; a++) {
			for (u = 0; u <= t; u++)
				for (b = s->type_map[u]; b != NULL &&
				    *b != NULL && b != a; b++)
					if (strcmp(*a, *b) == 0)
						goto dup;
			continue;
dup:
			snprintf(key, sizeof(key), "type_map.%s",
			    event_type_name(t));
			cfg_err(p, key_line(p, key), "%s: a value is listed "
			    "twice (here or in type_map.%s)", key,
			    event_type_name(u));
			return;
		}
}

/*
 * The checks that need the whole [source:NAME] section: one of type and
 * type_pointer, type_map only with type_pointer, the secrets the
 * signature needs, then the mapping as a whole (webhook_source_check),
 * unless a key of the section was already reported.
 */
static void
source_close(struct cfg_parse *p)
{
	static const char *const secret_keys[] = { "secret", "secret_file",
	    "secret_previous", "secret_previous_file" };
	struct wh_source *s = p->base;
	char key[40], why[160];
	size_t t, i, nmap = 0;
	int has_type, has_ptr, has_secret;

	has_type = key_seen(p, "type");
	has_ptr = key_seen(p, "type_pointer");
	for (t = 0; t < EV__COUNT; t++) {
		snprintf(key, sizeof(key), "type_map.%s", event_type_name(t));
		if (!key_seen(p, key))
			continue;
		nmap++;
		if (!has_ptr)
			cfg_err(p, key_line(p, key), "%s: only with "
			    "type_pointer", key);
	}
	if (has_type && has_ptr)
		cfg_err(p, key_line(p, "type_pointer"), "type_pointer: only "
		    "one of type and type_pointer may be given");
	else if (!has_type && !has_ptr)
		cfg_err(p, p->sec_line, "[%s]: type or type_pointer is "
		    "required", p->secname);
	else if (has_ptr && nmap == 0)
		cfg_err(p, key_line(p, "type_pointer"), "type_pointer: needs "
		    "one or more type_map.TYPE = VALUE keys");
	source_type_maps(p, s);

	has_secret = key_seen(p, "secret") || key_seen(p, "secret_file");
	if (p->src_sig_bad)
		;		/* no telling which secrets it needs */
	else if (s->signature != WH_SIG_NONE && !has_secret)
		cfg_err(p, p->sec_line, "[%s]: signature %s needs secret or "
		    "secret_file", p->secname,
		    webhook_signature_name(s->signature));
	for (i = 0; i < NKEYS(secret_keys); i++)
		if (s->signature == WH_SIG_NONE && !p->src_sig_bad &&
		    key_seen(p, secret_keys[i]))
			cfg_err(p, key_line(p, secret_keys[i]), "%s: only with "
			    "a signature (zendesk, hmac-sha256 or intercom)",
			    secret_keys[i]);

	if (p->nerr == p->src_nerr &&
	    webhook_source_check(s, why, sizeof(why)) == -1)
		cfg_err(p, p->sec_line, "[%s]: %s", p->secname, why);
}

/* ---- after the whole file ---- */

static void
receiver_refs(struct cfg_parse *p, int line, const char *section,
    char **names)
{
	for (; names != NULL && *names != NULL; names++)
		if (config_find_receiver(p->cfg, *names) == NULL)
			cfg_err(p, line, "receivers: unknown receiver \"%s\" "
			    "in [%s]", *names, section);
}

/*
 * Every receiver a route or the digest names must have a [receiver:NAME]
 * section, wherever it is in the file.  Reported at the receivers key.
 */
static void
check_receiver_refs(struct cfg_parse *p)
{
	struct cw_config *cfg = p->cfg;
	char section[16 + CFG_TOKEN_NAME_MAX];
	size_t i;

	for (i = 0; i < cfg->nroutes; i++) {
		snprintf(section, sizeof(section), "route:%s",
		    cfg->routes[i].name);
		receiver_refs(p, p->route_line[i], section,
		    cfg->routes[i].receivers);
	}
	receiver_refs(p, p->digest_line, "digest", cfg->digest.receivers);
	for (i = 0; i < cfg->nowners; i++) {
		snprintf(section, sizeof(section), "owner:%.*s",
		    CFG_TOKEN_NAME_MAX, cfg->owners[i].name);
		receiver_refs(p, p->owner_line[i], section,
		    cfg->owners[i].receivers);
	}
	cfg->digest.enabled = cfg->digest.receivers != NULL &&
	    cfg->digest.receivers[0] != NULL;
	/* An owner's own receivers get their digest too (SPEC 5). */
	for (i = 0; i < cfg->nowners; i++)
		if (cfg->owners[i].receivers != NULL &&
		    cfg->owners[i].receivers[0] != NULL)
			cfg->digest.enabled = 1;
}

/*
 * The Slack app's receivers take [slack] bot_token when they have none
 * of their own, and [slack] api_url, wherever [slack] is in the file.
 */
static void
check_slack_app(struct cfg_parse *p)
{
	struct cw_config *cfg = p->cfg;
	struct cw_receiver *r;
	const struct receiver_type *rt;
	size_t i;

	for (i = 0; i < cfg->nreceivers; i++) {
		r = &cfg->receivers[i];
		if ((rt = receiver_type_get(r->type)) == NULL || !rt->app_keys)
			continue;
		if (r->secret == NULL && cfg->slack.bot_token != NULL &&
		    (r->secret = strdup(cfg->slack.bot_token)) == NULL)
			cfg_err(p, 0, "out of memory");
		if (r->secret == NULL)
			cfg_err(p, p->receiver_line[i], "[receiver:%s]: type "
			    "%s needs bot_token, here or in [slack]", r->name,
			    rt->name);
		free(r->url);
		if ((r->url = strdup(cfg->slack.api_url)) == NULL)
			cfg_err(p, 0, "out of memory");
	}
}

static void
section_end(struct cfg_parse *p)
{
	if (p->sec != NULL && p->sec->close != NULL)
		p->sec->close(p);
	p->sec = NULL;
	p->keys = NULL;
	p->nkeys = 0;
	p->base = NULL;
	p->skip = 0;
	p->seen = 0;
}

static void
section_begin(struct cfg_parse *p, const char *name)
{
	const struct cfg_section *s;
	const char *arg = NULL;
	size_t i, len;
	unsigned bit;

	section_end(p);
	p->skip = 1;		/* until we know the section is good */
	for (i = 0; i < NKEYS(cfg_sections); i++) {
		s = &cfg_sections[i];
		len = strlen(s->name);
		if (s->name[len - 1] == ':') {
			if (strncmp(name, s->name, len) == 0) {
				arg = name + len;
				break;
			}
		} else if (strcmp(name, s->name) == 0)
			break;
	}
	if (i == NKEYS(cfg_sections)) {
		cfg_err(p, p->lineno, "unknown section [%s]", name);
		return;
	}
	p->keys = s->keys;
	p->nkeys = s->nkeys;
	if (s->open != NULL) {
		if ((p->base = s->open(p, arg)) == NULL)
			return;
	} else {
		bit = 1u << i;
		if (p->fixed_seen & bit) {
			cfg_err(p, p->lineno, "duplicate section [%s]", name);
			return;
		}
		p->fixed_seen |= bit;
		p->base = p->cfg;
	}
	p->sec = s;
	snprintf(p->secname, sizeof(p->secname), "%s", name);
	p->sec_line = p->lineno;
	p->skip = 0;
}

/*
 * "env:NAME" is replaced by the variable's value; anything else is used
 * as is.  NULL (reported) when the variable is not set.
 */
static const char *
cfg_expand(struct cfg_parse *p, const struct cfg_key *k, const char *value)
{
	const char *name, *v;

	if (strncmp(value, "env:", 4) != 0)
		return value;
	name = value + 4;
	if (*name == '\0' || isdigit((unsigned char)*name) ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name)) {
		cfg_err(p, p->lineno, "%s: env: must be followed by an "
		    "environment variable name", k->name);
		return NULL;
	}
	if ((v = getenv(name)) == NULL) {
		cfg_err(p, p->lineno, "%s: env:%s is not set", k->name, name);
		return NULL;
	}
	return v;
}

static int
cfg_set(struct cfg_parse *p, const struct cfg_key *k, const char *value)
{
	char *field = (char *)p->base + k->off;
	uint64_t v;

	switch (k->type) {
	case CFG_STRING:
		if (*value == '\0') {
			cfg_err(p, p->lineno, "%s: must not be empty", k->name);
			return -1;
		}
		return cfg_set_string(p, (char **)field, value);
	case CFG_SIZE:
	case CFG_UINT:
	case CFG_U64:
		if (util_parse_u64(value, k->min, k->max, &v) == -1) {
			cfg_err(p, p->lineno, "%s: must be a whole number from "
			    "%llu to %llu", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
			return -1;
		}
		if (k->type == CFG_SIZE)
			*(size_t *)field = (size_t)v;
		else if (k->type == CFG_UINT)
			*(unsigned *)field = (unsigned)v;
		else
			*(uint64_t *)field = v;
		return 0;
	case CFG_DURATION:
		if (parse_duration(value, k->min, k->max, &v) == -1) {
			cfg_err(p, p->lineno, "%s: must be from %llu to %llu "
			    "seconds, as a whole number with an optional unit "
			    "s, m, h or d (\"90m\", \"7d\")", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
			return -1;
		}
		*(int64_t *)field = (int64_t)v * CW_USEC_PER_SEC;
		return 0;
	case CFG_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "on") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "no") == 0 || strcmp(value, "off") == 0)
			*(int *)field = 0;
		else {
			cfg_err(p, p->lineno, "%s: must be true or false",
			    k->name);
			return -1;
		}
		return 0;
	case CFG_FN:
		return k->set(p, k, p->base, value);
	}
	return -1;
}

/* A key name ending in '.' stands for every "NAME.SOMETHING". */
static int
is_prefix(const struct cfg_key *k)
{
	size_t n = strlen(k->name);

	return n > 0 && k->name[n - 1] == '.';
}

static int
key_matches(const struct cfg_key *k, const char *name)
{
	size_t n = strlen(k->name);

	if (is_prefix(k))
		return strncmp(name, k->name, n) == 0 && name[n] != '\0';
	return strcmp(k->name, name) == 0;
}

/* inih calls this for every key; the reader has set p->lineno. */
static int
cfg_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *p = arg;
	const struct cfg_key *k;
	size_t i;
	uint64_t bit;

	(void)section;		/* the reader tracks sections itself */
	if (p->skip)
		return 1;	/* the section header was reported */
	if (p->sec == NULL) {
		cfg_err(p, p->lineno, "key \"%s\" is outside any section",
		    name);
		return 1;
	}
	for (i = 0; i < p->nkeys; i++)
		if (key_matches(&p->keys[i], name))
			break;
	if (i == p->nkeys) {
		cfg_err(p, p->lineno, "unknown key \"%s\" in [%s]", name,
		    p->secname);
		return 1;
	}
	k = &p->keys[i];
	p->key_name = name;
	bit = UINT64_C(1) << i;
	if (is_prefix(k))
		;		/* many keys: the setter finds duplicates */
	else if (p->seen & bit) {
		cfg_err(p, p->lineno, "duplicate key \"%s\" in [%s]", name,
		    p->secname);
		return 1;
	}
	p->seen |= bit;
	p->key_line[i] = p->lineno;
	if ((value = cfg_expand(p, k, value)) != NULL)
		cfg_set(p, k, value);
	return 1;	/* carry on: every problem is counted */
}

/*
 * Cut a ';' or '#' comment (at the start of the line or after white
 * space) and the white space around what is left.
 */
static char *
cfg_strip(char *s)
{
	char *c, *e;

	while (isspace((unsigned char)*s))
		s++;
	for (c = s; *c != '\0'; c++)
		if ((*c == ';' || *c == '#') &&
		    (c == s || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			break;
		}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

static void
cfg_syntax_error(struct cfg_parse *p)
{
	cfg_err(p, p->lineno, "syntax error");
	p->synerr_line = p->lineno;
}

/*
 * The fgets()-like reader inih pulls lines through.  Each call reads one
 * line, so p->lineno is the line of the keys inih passes on next.  Lines
 * inih must not see (comments, blanks, errors) become empty lines.
 */
static char *
cfg_reader(char *str, int num, void *arg)
{
	struct cfg_parse *p = arg;
	ssize_t n;
	size_t len;
	char *s, *e;

	if (num < 4)
		return NULL;
	if ((n = getline(&p->buf, &p->bufsz, p->fp)) == -1) {
		if (ferror(p->fp))
			p->read_errno = errno;
		return NULL;
	}
	p->lineno++;
	s = p->buf;
	if (memchr(s, '\0', n) != NULL) {
		cfg_syntax_error(p);
		goto empty;
	}
	if (p->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;		/* UTF-8 byte order mark */
	s = cfg_strip(s);
	if (*s == '\0')
		goto empty;
	if (*s == '[') {
		/* "[name]", nothing after it; the name is trimmed. */
		if ((e = strchr(s, ']')) == NULL || e[1] != '\0')
			goto badsection;
		*e = '\0';
		s = cfg_strip(s + 1);
		if (*s == '\0' || strchr(s, '[') != NULL)
			goto badsection;
		section_begin(p, s);
		/* inih needs the header only to pass it back to us. */
		snprintf(str, num, "[]\n");
		return str;
	}
	/* "key = value": inih would also split at ':', we do not. */
	if ((e = strpbrk(s, "=:")) == NULL || *e != '=' || e == s) {
		cfg_syntax_error(p);
		goto empty;
	}
	len = strlen(s);
	if (len > (size_t)num - 2) {
		cfg_err(p, p->lineno, "line too long: at most %d characters "
		    "of key = value (use env:NAME for longer values)", num - 2);
		goto empty;
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
badsection:
	/* Skip its keys rather than blame them on the section before. */
	cfg_syntax_error(p);
	section_end(p);
	p->skip = 1;
empty:
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/*
 * Parse path into a new config.  Returns the number of problems, each
 * written to errs (if not NULL) as "path:line: message".  *out is the
 * config on 0, NULL otherwise; the caller frees it with config_free().
 */
int
config_load(const char *path, FILE *errs, struct cw_config **out)
{
	struct cfg_parse p;
	struct cw_config *cfg;
	int rv;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.errs = errs;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    config_defaults(cfg) == -1 ||
	    (cfg->path = strdup(path)) == NULL) {
		cfg_err(&p, 0, "out of memory");
		config_free(cfg);
		return p.nerr;
	}
	p.cfg = cfg;

	if ((p.fp = fopen(path, "re")) == NULL) {
		cfg_err(&p, 0, "cannot open: %s", strerror(errno));
		config_free(cfg);
		return p.nerr;
	}
	rv = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	section_end(&p);
	check_receiver_refs(&p);
	check_slack_app(&p);
	free(p.route_line);
	free(p.owner_line);
	free(p.receiver_line);
	if (p.read_errno != 0)
		cfg_err(&p, 0, "read error: %s", strerror(p.read_errno));
	else if (rv == -2)
		cfg_err(&p, 0, "out of memory");
	else if (rv > 0 && rv != p.synerr_line)
		cfg_err(&p, rv, "syntax error");	/* not caught above */
	fclose(p.fp);
	if (p.buf != NULL) {
		explicit_bzero(p.buf, p.bufsz);	/* may hold a secret */
		free(p.buf);
	}

	if (p.nerr > 0) {
		config_free(cfg);
		return p.nerr;
	}
	*out = cfg;
	return 0;
}

/*
 * Find the token whose secret is the len bytes at secret.  Every token is
 * compared, and the first match is picked with masks rather than a
 * branch, so the time taken does not tell which token matched.
 */
const struct cw_token *
config_find_token(const struct cw_config *cfg, const char *secret,
    size_t len)
{
	const struct cw_token *t;
	uintptr_t match = 0, found = 0, eq;
	size_t i;

	if (cfg == NULL || secret == NULL)
		return NULL;
	for (i = 0; i < cfg->ntokens; i++) {
		t = &cfg->tokens[i];
		if (t->secret == NULL)
			continue;	/* only in a hand-built config */
		eq = (uintptr_t)(util_ct_equal(secret, len, t->secret,
		    strlen(t->secret)) != 0);
		eq = -eq & ~found;	/* all ones for the first match */
		match |= (uintptr_t)t & eq;
		found |= eq;
	}
	return (const struct cw_token *)match;
}

/* SPEC 5: each health status has its own play. */
static const char *const health_play_default[3] = {
	"Things go well: propose the next level of value -- an expansion "
	"conversation about the teams or use cases not yet on board.",
	"Offer an enablement session or a study group on the features the "
	"team under-uses, and agree on one goal for the next month.",
	"The manager calls this week: hear what is wrong, agree on a "
	"recovery plan with dates, and review it every week until green.",
};

const char *
config_health_play(const struct cw_config *cfg, int status)
{
	if (status < 0 || status > 2)
		return NULL;
	if (cfg != NULL && cfg->health_play[status] != NULL)
		return cfg->health_play[status];
	return health_play_default[status];
}

/* PLAYS.md's play for portfolio, which has no [signal:] section. */
static const char portfolio_play_default[] =
    "Bring it to the team review and to product: the same remark at "
    "several customers is a trend, not an anecdote -- agree on one answer "
    "(a fix, a guide, a price story) and send it to all of them.";

const char *
config_portfolio_play(const struct cw_config *cfg)
{
	if (cfg != NULL && cfg->portfolio.play != NULL)
		return cfg->portfolio.play;
	return portfolio_play_default;
}

const struct cw_receiver *
config_find_receiver(const struct cw_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nreceivers; i++)
		if (strcmp(cfg->receivers[i].name, name) == 0)
			return &cfg->receivers[i];
	return NULL;
}

const char *
config_receiver_type_name(int type)
{
	const struct receiver_type *rt = receiver_type_get(type);

	return rt != NULL && !rt->internal ? rt->name : NULL;
}

const struct cw_owner *
config_find_owner(const struct cw_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nowners; i++)
		if (strcmp(cfg->owners[i].name, name) == 0)
			return &cfg->owners[i];
	return NULL;
}

const struct wh_source *
config_find_source(const struct cw_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nsources; i++)
		if (strcmp(cfg->sources[i].name, name) == 0)
			return &cfg->sources[i];
	return NULL;
}

/* ---- the key table as documentation: dump, restart, self-check ---- */

/* prefix ("# ", "## ") lines of at most 72 columns. */
static void
dump_lines(FILE *f, const char *prefix, const char *text)
{
	const char *p = text, *sp, *e;
	size_t len;

	while (*p != '\0') {
		len = strlen(p);
		if (len <= 70) {
			fprintf(f, "%s%s\n", prefix, p);
			return;
		}
		/* The last space within 70 columns, else the first after. */
		for (e = NULL, sp = p; sp < p + 70 && *sp != '\0'; sp++)
			if (*sp == ' ')
				e = sp;
		if (e == NULL && (e = strchr(p + 70, ' ')) == NULL) {
			fprintf(f, "%s%s\n", prefix, p);
			return;
		}
		fprintf(f, "%s%.*s\n", prefix, (int)(e - p), p);
		p = e + 1;
	}
}

/* A key's help: "# " lines. */
static void
dump_comment(FILE *f, const char *text)
{
	dump_lines(f, "# ", text);
}

/* A section's: "## " lines. */
static void
dump_section_help(FILE *f, const char *text)
{
	dump_lines(f, "## ", text);
}

/* A key's help, then its bounds and whether it needs a restart. */
static void
key_help(const struct cfg_key *k, char *buf, size_t len)
{
	size_t n;

	n = (size_t)snprintf(buf, len, "%s", k->help != NULL ? k->help : "");
	if (n >= len)
		return;
	switch (k->type) {
	case CFG_SIZE:
	case CFG_UINT:
	case CFG_U64:
		n += (size_t)snprintf(buf + n, len - n, " (%llu .. %llu)",
		    (unsigned long long)k->min, (unsigned long long)k->max);
		break;
	case CFG_DURATION:
		n += (size_t)snprintf(buf + n, len - n, " (%llus .. %llus; "
		    "whole seconds, or with a unit s, m, h or d)",
		    (unsigned long long)k->min, (unsigned long long)k->max);
		break;
	case CFG_BOOL:
		n += (size_t)snprintf(buf + n, len - n, " (true or false)");
		break;
	default:
		break;
	}
	if (n < len && (k->flags & CFG_RESTART))
		snprintf(buf + n, len - n, "; a change needs a restart, "
		    "SIGHUP keeps the old value");
}

/*
 * One key: its help (unless quiet), then "key = default", or "#key =
 * default" when commented (a named section's, or one with no default).
 */
static void
dump_key(FILE *f, const struct cfg_key *k, const char *def, int commented,
    int quiet)
{
	char help[512];

	if (!quiet) {
		key_help(k, help, sizeof(help));
		dump_comment(f, help);
	}
	/* A prefix key stands for many: voice_phrases.CLASS. */
	fprintf(f, "%s%s%s =%s%s\n", commented || def == NULL ? "#" : "",
	    k->name, is_prefix(k) ? "CLASS" : "", def != NULL ? " " : "",
	    def != NULL ? def : "");
}

static void
dump_signals(FILE *f, const struct cfg_section *s)
{
	struct sig_config defs;
	const struct sig_threshold *th;
	struct cfg_key k;
	char help[512], def[32];
	size_t i, j, n;
	int id;

	if (signal_config_defaults(&defs) == -1) {
		signal_config_free(&defs);
		return;
	}
	/* The common keys once, then each signal at its defaults. */
	fprintf(f, "#[signal:NAME]\n");
	dump_section_help(f, s->help);
	for (i = 0; i < NKEYS(signal_keys); i++)
		dump_key(f, &signal_keys[i], signal_keys[i].def, 1, 0);
	for (id = 0; id < SIG__COUNT; id++) {
		fprintf(f, "\n[signal:%s]\n", signal_name(id));
		snprintf(help, sizeof(help), "a signal of category %s",
		    signal_category_name(id));
		dump_section_help(f, help);
		for (i = 0; i < NKEYS(signal_keys); i++) {
			k = signal_keys[i];
			if (strcmp(k.name, "severity") == 0)
				k.def = severity_name(defs.sig[id].severity);
			dump_key(f, &k, k.def, 0, 1);
		}
		th = signal_thresholds(id, &n);
		for (j = 0; j < n; j++) {
			snprintf(help, sizeof(help), "%s (%s%.7g .. %.7g)",
			    th[j].help, th[j].kind == TH_DAYS ? "a span of "
			    "days; the spans add up to at most 180; " : "",
			    th[j].min, th[j].max);
			dump_comment(f, help);
			snprintf(def, sizeof(def), "%.7g", th[j].def);
			fprintf(f, "%s = %s\n", th[j].key, def);
		}
	}
	signal_config_free(&defs);
}

static void
dump_source(FILE *f, const struct cfg_section *s)
{
	char help[1024];
	size_t i, j, n;

	fprintf(f, "\n#[source:NAME]\n");
	dump_section_help(f, s->help);
	for (i = 0; i < NKEYS(source_keys); i++)
		dump_key(f, &source_keys[i], source_keys[i].def, 1, 0);
	for (i = 0; i < NKEYS(source_dotted); i++) {
		n = (size_t)snprintf(help, sizeof(help), "%s; %s is one of:",
		    source_dotted[i].help, source_dotted[i].set ==
		    set_type_map ? "TYPE" : "FIELD");
		for (j = 0; j < source_dotted[i].n && n < sizeof(help); j++)
			n += (size_t)snprintf(help + n, sizeof(help) - n,
			    "%s %s", j > 0 ? "," : "",
			    source_dotted[i].set == set_type_map ?
			    event_type_name(j) : webhook_field_name(j));
		dump_comment(f, help);
		fprintf(f, "#%s%s =\n", source_dotted[i].prefix,
		    source_dotted[i].set == set_type_map ? "TYPE" : "FIELD");
	}
}

/*
 * Write every section and key to f as an INI file: the fixed sections
 * with each key at its default (commented out where it has none), the
 * signals' sections at theirs, the named sections commented out, and
 * before each key its help, bounds and restart flag.  The output is a
 * valid configuration that changes nothing.
 */
void
config_dump(FILE *f, const char *version)
{
	const struct cfg_section *s;
	size_t i, j, len;

	fprintf(f, "# churnwatch.conf -- every section and key of churnwatchd "
	    "%s,\n# each at its default; a key without one is commented "
	    "out,\n# and so are the sections that take a NAME.  Written by "
	    "churnwatchd\n# --dump-config; see churnwatch.conf(5).\n",
	    version);
	for (i = 0; i < NKEYS(cfg_sections); i++) {
		s = &cfg_sections[i];
		len = strlen(s->name);
		if (strcmp(s->name, "signal:") == 0) {
			fputc('\n', f);
			dump_signals(f, s);
			continue;
		}
		if (strcmp(s->name, "source:") == 0) {
			dump_source(f, s);
			continue;
		}
		if (s->name[len - 1] == ':')
			fprintf(f, "\n#[%sNAME]\n", s->name);
		else
			fprintf(f, "\n[%s]\n", s->name);
		dump_section_help(f, s->help);
		for (j = 0; j < s->nkeys; j++)
			dump_key(f, &s->keys[j], s->keys[j].def,
			    s->name[len - 1] == ':', 0);
	}
}

/* Whether the field k fills is the same in a and b (strings by value). */
static int
field_equal(const struct cfg_key *k, const void *a, const void *b)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b +
	    k->off;
	const char *sa, *sb;

	switch (k->type) {
	case CFG_STRING:
	case CFG_FN:		/* a restart key set by a function: listen */
		sa = *(char *const *)(const void *)fa;
		sb = *(char *const *)(const void *)fb;
		return sa == sb || (sa != NULL && sb != NULL &&
		    strcmp(sa, sb) == 0);
	case CFG_SIZE:
		return *(const size_t *)(const void *)fa ==
		    *(const size_t *)(const void *)fb;
	case CFG_UINT:
		return *(const unsigned *)(const void *)fa ==
		    *(const unsigned *)(const void *)fb;
	case CFG_U64:
		return *(const uint64_t *)(const void *)fa ==
		    *(const uint64_t *)(const void *)fb;
	case CFG_BOOL:
		return *(const int *)(const void *)fa ==
		    *(const int *)(const void *)fb;
	case CFG_DURATION:
		return *(const int64_t *)(const void *)fa ==
		    *(const int64_t *)(const void *)fb;
	}
	return 1;
}

/*
 * The keys marked CFG_RESTART whose values differ between the running
 * config and a new one, as "[section] key" words in buf ("" if none).
 * Returns how many.
 */
int
config_restart_changes(const struct cw_config *old,
    const struct cw_config *new, char *buf, size_t len)
{
	const struct cfg_section *s;
	const struct cfg_key *k;
	size_t i, j, n = 0;
	int count = 0;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < NKEYS(cfg_sections); i++) {
		s = &cfg_sections[i];
		if (s->open != NULL)
			continue;	/* named sections: none is restart */
		for (j = 0; j < s->nkeys; j++) {
			k = &s->keys[j];
			if (!(k->flags & CFG_RESTART) ||
			    field_equal(k, old, new))
				continue;
			count++;
			if (n < len)
				n += (size_t)snprintf(buf + n, len - n,
				    "%s[%s] %s", n > 0 ? ", " : "", s->name,
				    k->name);
		}
	}
	return count;
}

/* One table's rows: help present, on one line; a default that parses. */
static int
selfcheck_keys(struct cfg_parse *p, const char *sec,
    const struct cfg_key *keys, size_t n, void *defaults, void *scratch,
    size_t size)
{
	const struct cfg_key *k;
	int nerr = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		k = &keys[i];
		if (k->help == NULL || *k->help == '\0' ||
		    strchr(k->help, '\n') != NULL) {
			cfg_err(p, 0, "[%s] %s: no one-line help in its row",
			    sec, k->name);
			nerr++;
		}
		if (k->def == NULL || defaults == NULL)
			continue;
		p->base = scratch;
		p->key_name = k->name;
		if (cfg_set(p, k, k->def) == -1) {
			cfg_err(p, 0, "[%s] %s: its default \"%s\" does not "
			    "parse", sec, k->name, k->def);
			nerr++;
		} else if (k->type != CFG_FN &&
		    !field_equal(k, defaults, scratch)) {
			cfg_err(p, 0, "[%s] %s: its row says \"%s\", the "
			    "built-in default differs", sec, k->name, k->def);
			nerr++;
		}
		if (size > 0)
			memcpy(scratch, defaults, size);
	}
	return nerr;
}

/*
 * Check the key tables against themselves: every row (also a signal's
 * thresholds and the dotted keys) has one line of help, and every
 * default a row writes parses and, for the plain types, equals the
 * built-in one (config_defaults() and the named sections' own).
 * Returns the number of problems, each written to errs.
 */
int
config_selfcheck(FILE *errs)
{
	struct cfg_parse p;
	struct cw_config *a = NULL, *b = NULL;
	struct cw_token ta, tb;
	struct cw_receiver ra, rb;
	struct wh_source sa, sb;
	const struct cfg_section *s;
	const struct sig_threshold *th;
	size_t i, n;
	int id;

	memset(&p, 0, sizeof(p));
	p.path = "(key table)";
	p.errs = errs;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (b = calloc(1, sizeof(*b))) == NULL ||
	    config_defaults(a) == -1 || config_defaults(b) == -1) {
		cfg_err(&p, 0, "out of memory");
		goto done;
	}
	p.cfg = b;
	for (i = 0; i < NKEYS(cfg_sections); i++) {
		s = &cfg_sections[i];
		if (s->help == NULL || *s->help == '\0')
			cfg_err(&p, 0, "[%s]: no help in its row", s->name);
		if (s->open == NULL)
			selfcheck_keys(&p, s->name, s->keys, s->nkeys, a, b, 0);
	}
	/* Named sections: their keys' defaults against their _defaults(). */
	memset(&ta, 0, sizeof(ta));
	token_defaults(&ta);
	tb = ta;
	selfcheck_keys(&p, "token:", token_keys, NKEYS(token_keys), &ta, &tb,
	    sizeof(ta));
	memset(&ra, 0, sizeof(ra));
	receiver_defaults(&ra);
	rb = ra;
	selfcheck_keys(&p, "receiver:", receiver_keys, NKEYS(receiver_keys),
	    &ra, &rb, sizeof(ra));
	selfcheck_keys(&p, "route:", route_keys, NKEYS(route_keys), NULL,
	    NULL, 0);
	memset(&sa, 0, sizeof(sa));
	source_defaults(&sa);
	sb = sa;
	selfcheck_keys(&p, "source:", source_keys, NKEYS(source_keys), &sa,
	    &sb, sizeof(sa));
	for (i = 0; i < NKEYS(source_dotted); i++)
		if (source_dotted[i].help == NULL)
			cfg_err(&p, 0, "[source:] %s: no help in its row",
			    source_dotted[i].prefix);
	selfcheck_keys(&p, "signal:", signal_keys, NKEYS(signal_keys), NULL,
	    NULL, 0);
	for (id = 0; id < SIG__COUNT; id++) {
		th = signal_thresholds(id, &n);
		for (i = 0; i < n; i++)
			if (th[i].help == NULL || *th[i].help == '\0')
				cfg_err(&p, 0, "[signal:%s] %s: no help in its "
				    "row (signal.c)", signal_name(id), th[i].key);
	}
done:
	config_free(a);
	config_free(b);
	return p.nerr;
}
