/*
 * slackapp.h -- what Slack's requests do (SPEC 2.7): the Acknowledge,
 * Snooze 7 days and Why? buttons (POST /slack/interactions) and the
 * /churnwatch slash command (POST /slack/commands).  An edge: it runs on
 * the loop and reaches the engine, alerting and ingest only through the
 * functions it is given.
 *
 * Not here: the signature and replay checks (http.c, before anything is
 * parsed, with slack.h), the texts and parsing (slack.c, pure), sending
 * (the outbox, through respond()).
 *
 * Every request is answered at once -- Slack waits 3 seconds -- and
 * what takes longer (a database write) reports to the request's
 * response_url when it is done.
 */
#ifndef CW_SLACKAPP_H
#define CW_SLACKAPP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct cw_event;
struct cw_error;
struct slackapp;

enum slackapp_endpoint {
	SLACKAPP_INTERACTIONS,		/* POST /slack/interactions */
	SLACKAPP_COMMANDS		/* POST /slack/commands */
};

/* The reply contract of alerting_api(). */
typedef void (*slackapp_reply)(void *handle, unsigned status, char *json,
    const char *code, const char *msg);

struct slackapp_ops {
	/* GET /v1/accounts/{id}'s JSON (NULL: unknown), the risk list's. */
	char	*(*account_json)(void *arg, const char *id);
	char	*(*list_json)(void *arg, const char *owner, const char **err);
	/* alerting_slack_ack() and alerting_slack_snooze(). */
	int	(*ack)(void *arg, uint64_t alert_id, const char *by,
		    slackapp_reply, void *handle);
	int	(*snooze)(void *arg, const char *account, const char *signal,
		    unsigned days, const char *by, const char *reason,
		    slackapp_reply, void *handle);
	/*
	 * Commit n events from source; later slackapp_note_done(handle,
	 * ...) exactly once, or -1 at once.  admit: http_ops.admit's
	 * contract (may be NULL).
	 */
	int	(*note)(void *arg, const char *source,
		    const struct cw_event *ev, size_t n, void *handle);
	int	(*admit)(void *arg, const struct cw_event *ev, size_t n,
		    const char **limit, struct cw_error *err);
	/* POST json to a response_url (alerting_slack_respond()). */
	int	(*respond)(void *arg, const char *url, const char *json);
	/* Answer the HTTP request (http_api_done() / http_api_error()). */
	slackapp_reply	 reply;
	void	*arg;
};

/* The source of notes made with /churnwatch note (no config name has ':'). */
#define SLACKAPP_SOURCE	"slack:command"

struct slackapp	*slackapp_new(struct event_base *, const struct slackapp_ops *);
void		 slackapp_free(struct slackapp *);

/*
 * A verified request (body: form-encoded, len bytes).  Returns 0 and
 * answers handle later through ops.reply, exactly once; -1 when it
 * cannot (no memory): the caller answers 503.
 */
int		 slackapp_request(struct slackapp *, enum slackapp_endpoint,
		    const char *body, size_t len, void *handle);

/* 1 when handle is a note of this slackapp (ingest's completion). */
int		 slackapp_owns(const struct slackapp *, const void *handle);
/* ingest's completion of a note (http_ingest_done()'s contract). */
void		 slackapp_note_done(void *handle, int committed,
		    const uint8_t *fresh, const char *const *why);

#endif
