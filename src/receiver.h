/*
 * receiver.h -- the kinds of receiver (SPEC 5) as one table: a backend is
 * a row, not a branch (STYLE.md).  Each row says how its notifications
 * are rendered (notify.c, slack.c), how a request is made (URL and
 * headers), how an answer is classified, and the kind's config and
 * pacing defaults.  Adding a kind is one row and its functions; nothing
 * outside a row asks which kind a receiver is.
 *
 * Pure: no I/O.  config.c reads the rows for keys and defaults,
 * alerting.c for rendering, outbox.c for requests and classification.
 */
#ifndef CW_RECEIVER_H
#define CW_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

enum receiver_kind {
	RECEIVER_SLACK,		/* Slack incoming webhook */
	RECEIVER_WEBHOOK,	/* our JSON, signed when a secret is set */
	RECEIVER_LOG,		/* one log line, no request */
	RECEIVER_SLACK_APP,	/* Slack Web API: chat.postMessage/update */
	RECEIVER_SLACK_RESPONSE, /* internal: posts to a response_url */
	RECEIVER__COUNT
};

#define RECEIVER_HDR_LEN	512	/* one header line */
#define RECEIVER_HDR_MAX	6	/* header lines of one request */
#define RECEIVER_URL_LEN	2048

/* What a request is made of; the row fills url and headers from it. */
struct receiver_request {
	const char	*url;		/* the receiver's (slack-app: api_url) */
	const char	*secret;	/* webhook: signing; slack-app: token */
	const char	*body;
	size_t		 len;
	uint64_t	 id;		/* the notification (a group: first) */
	size_t		 nmembers;	/* 0: one notification */
	int64_t		 now;		/* unix seconds, for signatures */
};

/* How one answer is judged (an extension of enum notify_result). */
struct receiver_verdict {
	enum notify_result result;
	int		 gone;		/* the receiver itself is unusable:
					 * mark it failed */
	char		 why[64];	/* "HTTP 404", "channel_not_found" */
};

struct receiver_type {
	const char	*name;		/* the config value of type = */
	int		 internal;	/* not a config type: churnwatch's own */
	const char	*url_key;	/* the key of its URL; NULL: none */
	int		 secret_keys;	/* secret / secret_file allowed */
	/*
	 * The Slack app's keys: bot_token / bot_token_file (else [slack]
	 * bot_token) and channel (required); its URL is [slack] api_url.
	 */
	int		 app_keys;
	int		 sends;		/* 0: logged, no request */
	int		 slack;		/* a Slack kind: counts in
					 * churnwatch_slack_rate_limited */
	/* Config defaults: messages/s and burst. */
	double		 rate;
	unsigned	 burst;
	/* The outbox with rate 0: paced at rate/burst (1) or unpaced (0). */
	int		 paced;
	/*
	 * Held notifications are grouped by their briefs (notify_brief,
	 * one group per channel) when 1, by bodies (a JSON array) when 0.
	 */
	int		 briefs;
	/* 1: its successful answers carry what a later update needs. */
	int		 receipt;
	/* May this body be grouped with others?  NULL: yes. */
	int		(*groupable)(const char *body);

	/* Renderers: a new malloc'd body, NULL on bad input or memory. */
	char	*(*render_alert)(const struct notify_view *);
	char	*(*render_portfolio)(const struct notify_portfolio *);
	char	*(*render_digest)(const char *owner, const char *date,
		    const char *channel, const struct notify_digest_row *,
		    const struct notify_digest_check *, size_t);
	/* A group of n members, from their briefs and bodies. */
	char	*(*render_group)(const struct notify_brief *const *,
		    const char *const *bodies, size_t n);
	/*
	 * The request for rq: the URL into url (RECEIVER_URL_LEN) and up
	 * to RECEIVER_HDR_MAX header lines into hdr; *nhdr is set.
	 * 0, or -1 when they do not fit or signing fails.
	 */
	int	(*request)(const struct receiver_request *rq, char *url,
		    char hdr[][RECEIVER_HDR_LEN], size_t *nhdr);
	/*
	 * Judge one answer: transport is non-zero when none came, status
	 * is the HTTP status, reply the body (NUL-terminated, maybe cut).
	 */
	void	(*classify)(long status, int transport, const char *reply,
		    struct receiver_verdict *);
};

/* The row of kind, or NULL. */
const struct receiver_type *receiver_type_get(int kind);
/* The configurable kind called name ("slack-app"), or -1. */
int	 receiver_kind_find(const char *name);
/* "slack, webhook, log or slack-app", for error messages. */
const char *receiver_kind_list(void);

#endif
