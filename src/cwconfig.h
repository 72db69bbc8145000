/*
 * cwconfig.h -- the INI configuration (SPEC section 7), parsed with libinih.
 *
 * config_load() parses one file into a fresh struct cw_config; unknown
 * sections and keys are errors.  Parsing continues after an error so that
 * every problem is reported, one "file:line: message" line each.  All
 * defaults live in config.c (config_defaults()), except the signals' own,
 * which sit in signal.c's table (signal_config_defaults()).  SIGHUP parses
 * into a new struct and swaps only when it is valid.
 *
 * (Named cwconfig.h because autoconf owns config.h.)
 */
#ifndef CW_CWCONFIG_H
#define CW_CWCONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "proxy.h"
#include "receiver.h"
#include "signal.h"
#include "webhook.h"

#define CW_SCOPE_INGEST	0x01u
#define CW_SCOPE_READ	0x02u
#define CW_SCOPE_ADMIN	0x04u

struct cw_token {
	char		*name;		/* section name after "token:" */
	char		*secret;	/* the bearer token; never logged */
	unsigned	 scopes;	/* CW_SCOPE_* */
	uint64_t	 rate;		/* events/s, 100000 (SPEC 2) */
	uint64_t	 burst;		/* events at once, 1000000 */
};

/* [receiver:NAME] types: the rows of receiver.h. */
#define CW_RECEIVER_SLACK	RECEIVER_SLACK
#define CW_RECEIVER_WEBHOOK	RECEIVER_WEBHOOK
#define CW_RECEIVER_LOG		RECEIVER_LOG
#define CW_RECEIVER_SLACK_APP	RECEIVER_SLACK_APP

struct cw_receiver {
	char		*name;		/* section name after "receiver:" */
	int		 type;		/* CW_RECEIVER_* */
	char		*url;		/* slack webhook_url, webhook url,
					 * slack-app [slack] api_url; NULL
					 * for log; never logged */
	char		*secret;	/* webhook signing secret, slack-app
					 * bot token, or NULL; never logged */
	char		*channel;	/* slack-app: the default channel */
	unsigned	 timeout;	/* s per request, 10 */
	double		 rate;		/* messages/s: slack 1, else 10 */
	unsigned	 burst;		/* slack 3, else 10 */
	/* Grouping: [alerts] group_wait, group_max unless set here. */
	int64_t		 group_wait;	/* us, when group_wait_set */
	unsigned	 group_max;	/* when group_max_set */
	int		 group_wait_set;
	int		 group_max_set;
};

/* [digest]: the morning list of the worst accounts per owner. */
struct cw_digest {
	int		 enabled;	/* receivers is not empty */
	int		 hour, minute;	/* local time of day, 09:00 */
	char		*timezone;	/* zoneinfo name, "UTC" */
	char		**receivers;	/* names, NULL-terminated, may be
					 * empty (then no digest) */
	unsigned	 top;		/* accounts per owner, 10 */
};

/*
 * [portfolio]: portfolio trends (SPEC 4): one alert when the same risk
 * phrase class or ticket category appears at min_accounts accounts
 * within days days (portfolio.h).
 */
struct cw_portfolio {
	int		 enabled;	/* true */
	unsigned	 min_accounts;	/* 5 */
	unsigned	 days;		/* 14, at most 180 */
	enum sig_severity severity;	/* warning */
	char		*play;		/* NULL = the default
					 * (config_portfolio_play()) */
};

/*
 * [limits]: bounds on what clients can make the daemon remember (SPEC 6),
 * enforced at admission (limits.c).  Defaults in config_defaults(), the
 * reasons in the README.
 */
struct cw_limits {
	size_t		 accounts;		/* max_accounts, 1,000,000 */
	size_t		 names;			/* max_names, 1,000,000 */
	size_t		 name_bytes;		/* max_name_bytes, 128 MiB */
	size_t		 contacts_per_account;	/* 50,000 */
	size_t		 records_per_account;	/* 200,000 */
	size_t		 users_per_account;	/* 200,000 */
	size_t		 memberships;		/* max_memberships, 5,000,000 */
	size_t		 queued_notifications;	/* 100,000 */
};

/* [slack]: the Slack app (SPEC 2.7).  Secrets are never logged. */
struct cw_slack {
	char		*signing_secret;	/* NULL: /slack/ answers 401 */
	char		*bot_token;		/* slack-app receivers' default */
	char		*api_url;		/* https://slack.com/api */
};

/* [owner:NAME]: where an owner's alerts and digest go (SPEC 5). */
struct cw_owner {
	char		*name;		/* as accounts' "owner" says */
	char		*slack_channel;	/* for slack-app receivers, or NULL */
	char		**receivers;	/* NULL-terminated, or NULL */
};

struct cw_config {
	char		*path;

	/* [server] */
	char		*listen;		/* "host:port", "[v6]:port" */
	size_t		 max_body_bytes;	/* 1 MiB */
	size_t		 max_events;		/* per request, 10000 */
	unsigned	 max_connections;	/* 1024 */
	unsigned	 request_timeout;	/* s, whole request deadline: 30 */
	unsigned	 idle_timeout;		/* s, keep-alive idle: 60 */
	size_t		 max_header_bytes;	/* 16 KiB */
	size_t		 max_inflight_body_bytes; /* all bodies held: 64 MiB */
	char		*metrics_token;		/* NULL: /metrics is open */
	/* trusted_proxies: X-Forwarded-For is read only from these. */
	struct proxy_net *trusted_proxies;
	size_t		 ntrusted_proxies;

	/* [segment] login_events: track names that are logins; NULL =
	 * the defaults (Signed In, Logged In, Login). */
	char		**segment_logins;
	size_t		 nsegment_logins;

	/* [ingest] */
	unsigned	 horizon_days;		/* 400 */
	unsigned	 future_skew;		/* s, 300 */
	size_t		 max_batch_events;	/* per DB transaction, 20000 */
	unsigned	 retention_interval;	/* s between retention runs */

	/* [database] */
	char		*db_url;		/* libpq conninfo or URI */
	unsigned	 db_connections;	/* ingest transactions in flight, 2 */
	int64_t		 db_statement_timeout;	/* us, 5 s: no answer to a query
						 * in this long = connection lost */
	int64_t		 db_snapshot_interval;	/* us, 30 s: between passes that
						 * store changed windows */
	int64_t		 db_rollup_interval;	/* us, 60 s: between usage rollup
						 * runs (012_usage_daily.sql) */

	/* [spool] */
	char		*spool_dir;
	uint64_t	 spool_max_bytes;

	/* [limits] */
	struct cw_limits limits;

	/* [log] */
	int		 log_level;		/* LOG_LVL_*, default info */

	struct cw_token	*tokens;
	size_t		 ntokens;

	/* [signals] and [signal:NAME]; defaults in signal.c */
	struct sig_config signals;

	/* [alerts]: us; resolve_after 1 h, repeat_interval 7 d,
	 * backfill_age 1 h, settle 60 s, renewal_window 90 d */
	struct alert_policy alerts;
	/*
	 * [alerts] group_wait (us, 10 s; 0 = no grouping) and group_max (5:
	 * sent at once per window; 0 = all wait), SPEC 5; outbox.h.
	 */
	int64_t		 group_wait;
	unsigned	 group_max;

	/* [coverage] CLASS = DATE: classes known complete from a UTC day
	 * (day number; 0 = not declared), by enum sig_category. */
	int32_t		 coverage[SIGCAT__COUNT];

	/* [health] play_green, play_yellow, play_red: NULL = the default
	 * (config_health_play()). */
	char		*health_play[3];

	/* [portfolio] */
	struct cw_portfolio portfolio;

	/* [receiver:NAME], [route:NAME] (file order), [digest] */
	struct cw_receiver *receivers;
	size_t		 nreceivers;
	struct alert_route *routes;
	size_t		 nroutes;
	struct cw_digest digest;

	/* [slack], [owner:NAME] (file order) */
	struct cw_slack	 slack;
	struct cw_owner	*owners;
	size_t		 nowners;

	/* [source:NAME] (file order); defaults in config.c */
	struct wh_source *sources;
	size_t		 nsources;
};

/*
 * Parse path.  Returns the number of problems found (0 = valid), each
 * written to errs as "path:line: message\n".  On 0, *out is a new config
 * the caller frees with config_free(); otherwise *out is NULL.
 */
int	config_load(const char *path, FILE *errs, struct cw_config **out);
void	config_free(struct cw_config *);

/*
 * Find the token whose secret equals the given bytes; compares against
 * every token in constant time per token.  NULL if none.
 */
const struct cw_token *config_find_token(const struct cw_config *,
	    const char *secret, size_t len);

/* The receiver called name, or NULL. */
const struct cw_receiver *config_find_receiver(const struct cw_config *,
	    const char *name);
/* The owner called name ([owner:NAME]), or NULL (also for NULL). */
const struct cw_owner *config_find_owner(const struct cw_config *,
	    const char *name);
/* The webhook source called name ([source:NAME]), or NULL. */
const struct wh_source *config_find_source(const struct cw_config *,
	    const char *name);
/* The play for a health status (enum health_status order: green,
 * yellow, red): the configured one, else the default. */
const char *config_health_play(const struct cw_config *, int status);
/* The play of a portfolio alert: [portfolio] play, else the default. */
const char *config_portfolio_play(const struct cw_config *);

/* "slack", "webhook", "log", "slack-app"; NULL if type is not a
 * CW_RECEIVER_*. */
const char *config_receiver_type_name(int type);

/*
 * Write every section and key, with its default, bounds, restart flag
 * and help, as a commented INI file (churnwatchd --dump-config): a valid
 * configuration that changes nothing.
 */
void	config_dump(FILE *, const char *version);
/*
 * The keys SIGHUP cannot change whose values differ between old and new,
 * named "[section] key" in buf (comma separated, "" if none); how many.
 */
int	config_restart_changes(const struct cw_config *old,
	    const struct cw_config *new, char *buf, size_t len);
/*
 * Check the key tables: one line of help in every row, every default a
 * row writes parses and equals the built-in one.  The number of
 * problems, each written to errs (may be NULL).
 */
int	config_selfcheck(FILE *errs);

/* Split "host:port" / "[v6]:port" into host and port; 0 or -1. */
int	config_split_listen(const char *listen, char *host, size_t hostlen,
	    unsigned *port);

#endif
