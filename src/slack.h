/*
 * slack.h -- the Slack app (SPEC 2.7, 5): what churnwatch says to the
 * Web API and what it makes of Slack's requests.  Pure: it renders
 * chat.postMessage / chat.update bodies with Block Kit buttons, reads
 * the Web API's answers and classifies its error codes, verifies the
 * request signature and remembers recent ones against replays, and
 * decodes interaction payloads and slash commands.  It never sends,
 * stores or logs.
 *
 * Not here: delivery (outbox.c, through receiver.c's slack-app row),
 * the HTTP endpoints (http.c) and what a click does (alerting.c).
 *
 * Bodies are malloc'd compact JSON; the caller frees them.
 */
#ifndef CW_SLACK_H
#define CW_SLACK_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

/* The action_id of each button; the value is "ALERT_ID:SIGNAL:ACCOUNT". */
#define SLACK_ACTION_ACK	"cw_ack"
#define SLACK_ACTION_SNOOZE	"cw_snooze"
#define SLACK_ACTION_WHY	"cw_why"

/*
 * The Slack app's message for an alert: notify_slack_body()'s blocks
 * with "channel" (v->channel, else the account's slack_channel), "ts"
 * when v->message_ts is set (the body of a chat.update), a context line
 * with v->status_note, and -- unless the alert is resolved -- an actions
 * block with Acknowledge (not when v->acked), Snooze 7 days and Why?.
 * NULL as notify_slack_body(), or when no channel is known.
 */
char	*slack_app_alert(const struct notify_view *);
/* A portfolio alert, to v->channel; no buttons (it has no account). */
char	*slack_app_portfolio(const struct notify_portfolio *);
/* A digest (notify_digest_slack()) to channel; NULL without one. */
char	*slack_app_digest(const char *owner, const char *date,
	    const char *channel, const struct notify_digest_row *,
	    const struct notify_digest_check *, size_t n);

/* 1 when body is a chat.update body (it names a message by "ts"). */
int	 slack_body_is_update(const char *body);

/*
 * What a Web API answer says: ok, or the error code; chat.postMessage's
 * channel and ts.  Returns -1 when reply is not a JSON object with a
 * boolean "ok".
 */
struct slack_reply {
	int		 ok;
	char		 error[64];
	char		 channel[64];
	char		 ts[32];
};
int	 slack_reply_parse(const char *reply, struct slack_reply *);

/*
 * The class of a Web API error code (Slack's method docs): ratelimited
 * -> NOTIFY_RETRY_AFTER; internal_error, fatal_error,
 * service_unavailable, request_timeout -> NOTIFY_RETRY; everything else
 * -> NOTIFY_PERMANENT.  *gone is set to 1 when the error means the
 * receiver itself cannot work (invalid_auth, not_authed,
 * account_inactive, token_revoked, token_expired, missing_scope,
 * no_permission, ekm_access_denied, ...), 0 when only this message
 * failed (channel_not_found, not_in_channel, is_archived,
 * msg_too_long, invalid_blocks, message_not_found, ...).
 */
enum notify_result slack_error_class(const char *error, int *gone);

/* ---- requests from Slack ---- */

#define SLACK_MAX_SKEW		300	/* s, the 5-minute window */
#define SLACK_SIG_LEN		68	/* "v0=" + 64 hex, NUL */

/*
 * Verify X-Slack-Signature (sig) over X-Slack-Request-Timestamp (ts) and
 * the raw body: v0=hex(HMAC-SHA256(secret, "v0:" ts ":" body)), compared
 * in constant time, ts within SLACK_MAX_SKEW of now (unix seconds).
 * Returns 0, or -1 with *why set to a static sentence.
 */
int	 slack_verify(const char *secret, const char *ts, const char *sig,
	    const char *body, size_t len, int64_t now, const char **why);
/* The v0= signature for the test tools and the unit tests; 0 or -1. */
int	 slack_sign(const char *secret, const char *ts, const char *body,
	    size_t len, char out[SLACK_SIG_LEN]);

/*
 * Replay protection: the signatures seen within SLACK_MAX_SKEW.  A body
 * whose signature was already seen (and is not stale) is a replay.
 * Bounded: at SLACK_REPLAY_MAX entries the oldest goes.
 */
#define SLACK_REPLAY_MAX	4096
struct slack_replay;
struct slack_replay *slack_replay_new(void);
void	 slack_replay_free(struct slack_replay *);
/* 1: seen before (a replay); 0: new, remembered until ts is stale. */
int	 slack_replay_check(struct slack_replay *, const char *sig,
	    int64_t ts, int64_t now);

/*
 * An application/x-www-form-urlencoded value: the value of key in body
 * (len bytes), decoded (+ and %XX), malloc'd; NULL when absent or on
 * bad encoding or memory.
 */
char	*slack_form_get(const char *body, size_t len, const char *key);

/* A block_actions click, copied out of the payload JSON. */
struct slack_action {
	char		 action[32];	/* SLACK_ACTION_* */
	uint64_t	 alert_id;
	char		 signal[64];
	char		 account[129];
	char		 user_id[64];
	char		 user_name[128];	/* name, else username, else id */
	char		 response_url[512];
	char		 channel[64];
	char		 message_ts[32];
};
/*
 * Decode the payload= JSON of an interaction; 0, or -1 with *why when
 * it is not a block_actions click on one of our buttons.
 */
int	 slack_action_parse(const char *payload, struct slack_action *,
	    const char **why);

/*
 * An ephemeral reply ({"response_type":"ephemeral","text":...,
 * "replace_original":false}) with text as mrkdwn; NULL on no memory.
 */
char	*slack_ephemeral(const char *text);

/*
 * Whether a response_url may be posted to: https://hooks.slack.com/...,
 * or one on the scheme, host and port of api_url (a proxy or a test
 * stand-in).  Anything else is refused: a payload names where
 * churnwatch sends a request.
 */
int	 slack_response_url_ok(const char *url, const char *api_url);

/* ---- /churnwatch ---- */

enum slack_cmd {
	SLACK_CMD_HELP,		/* help, or nothing */
	SLACK_CMD_AT_RISK,	/* at-risk [owner] */
	SLACK_CMD_WHY,		/* why ACCOUNT */
	SLACK_CMD_SNOOZE,	/* snooze ACCOUNT 7d REASON */
	SLACK_CMD_NOTE,		/* note ACCOUNT TEXT */
	SLACK_CMD_UNKNOWN
};
#define SLACK_SNOOZE_MAX_DAYS	90
struct slack_command {
	enum slack_cmd	 cmd;
	char		 word[32];	/* as typed, for an unknown one */
	char		 account[129];	/* why, snooze, note */
	char		 owner[129];	/* at-risk; "" = everyone */
	unsigned	 days;		/* snooze */
	char		 rest[4097];	/* snooze reason, note text */
};
/*
 * Parse the text of a slash command.  Returns 0, or -1 with *why (a
 * static usage sentence) when a known subcommand lacks or has bad
 * arguments.  An unknown word gives SLACK_CMD_UNKNOWN and 0.
 */
int	 slack_command_parse(const char *text, struct slack_command *,
	    const char **why);

/* The help text (mrkdwn), static. */
const char *slack_help_text(void);
/*
 * mrkdwn texts from the API's JSON (view.c): the risk list (GET
 * /v1/accounts' answer; owner "" or NULL: everyone) and why an account
 * is at risk (GET /v1/accounts/{id}'s: score decomposition, each active
 * signal with its explanation, evidence and play, the health play).
 * NULL on bad JSON or no memory.  The caller frees.
 */
char	*slack_at_risk_text(const char *list_json, const char *owner);
char	*slack_why_text(const char *account_json);

#endif
