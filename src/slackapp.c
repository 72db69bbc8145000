/*
 * slackapp.c -- Slack's buttons and slash command at run time (see
 * slackapp.h).
 *
 * Owns the jobs that outlive the HTTP answer (an ack, a snooze, a note
 * waiting for the database) and their response_url.  Does not own the
 * answers' texts (slack.c) nor what an ack or a silence is (alerting.c).
 */
#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "event.h"
#include "log.h"
#include "slack.h"
#include "slackapp.h"
#include "util.h"

#define SA_NOTE_HORIZON	(INT64_C(400) * CW_USEC_PER_DAY)
#define SA_NOTE_FUTURE	(INT64_C(300) * CW_USEC_PER_SEC)

enum sa_kind { SA_ACK, SA_SNOOZE, SA_NOTE };

struct sa_job {
	TAILQ_ENTRY(sa_job)	 entry;
	struct slackapp		*sa;
	enum sa_kind		 kind;
	char			 response_url[512];
	char			 account[129];
	char			 by[200];
	unsigned		 days;
	struct cw_event_batch	 batch;		/* a note's event */
};
TAILQ_HEAD(sa_job_list, sa_job);

struct slackapp {
	struct event_base	*base;
	struct slackapp_ops	 ops;
	struct sa_job_list	 jobs;		/* waiting for their answer */
	uint64_t		 seq;		/* note ids */
};

/* An answer decided now, given from the loop (never inside the call). */
struct sa_answer {
	struct slackapp		*sa;
	void			*handle;
	unsigned		 status;
	char			*json;
	const char		*code;
	char			 msg[200];
};

struct slackapp *
slackapp_new(struct event_base *base, const struct slackapp_ops *ops)
{
	struct slackapp *sa;

	if ((sa = calloc(1, sizeof(*sa))) == NULL)
		return NULL;
	sa->base = base;
	sa->ops = *ops;
	TAILQ_INIT(&sa->jobs);
	return sa;
}

static void
job_free(struct sa_job *j)
{
	event_batch_free(&j->batch);
	free(j);
}

void
slackapp_free(struct slackapp *sa)
{
	struct sa_job *j;

	if (sa == NULL)
		return;
	/* Jobs still waiting: their callbacks come no more (shutdown). */
	while ((j = TAILQ_FIRST(&sa->jobs)) != NULL) {
		TAILQ_REMOVE(&sa->jobs, j, entry);
		job_free(j);
	}
	free(sa);
}

static void
answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sa_answer *a = arg;

	a->sa->ops.reply(a->handle, a->status, a->json, a->code, a->msg);
	free(a);
}

/*
 * Answer the request from the loop: json (taken over) with status, or
 * when json is NULL the error code and message.
 */
static int
answer(struct slackapp *sa, void *handle, unsigned status, char *json,
    const char *code, const char *msg)
{
	struct timeval tv = { 0, 0 };
	struct sa_answer *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		free(json);
		return -1;
	}
	a->sa = sa;
	a->handle = handle;
	a->status = status;
	a->json = json;
	a->code = code;
	snprintf(a->msg, sizeof(a->msg), "%s", msg != NULL ? msg : "");
	if (event_base_once(sa->base, -1, EV_TIMEOUT, answer_cb, a, &tv) ==
	    -1) {
		free(json);
		free(a);
		return -1;
	}
	return 0;
}

/* An ephemeral message as the HTTP answer. */
static int
answer_text(struct slackapp *sa, void *handle, const char *text)
{
	char *json = slack_ephemeral(text);

	if (json == NULL)
		return -1;
	return answer(sa, handle, 200, json, NULL, NULL);
}

/* An ephemeral message to a response_url. */
static void
respond_text(struct slackapp *sa, const char *url, const char *text)
{
	char *json;

	if (url == NULL || *url == '\0' || (json = slack_ephemeral(text)) ==
	    NULL)
		return;
	(void)sa->ops.respond(sa->ops.arg, url, json);
	free(json);
}

static struct sa_job *
job_new(struct slackapp *sa, enum sa_kind kind, const char *url,
    const char *account, const char *by)
{
	struct sa_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->sa = sa;
	j->kind = kind;
	snprintf(j->response_url, sizeof(j->response_url), "%s",
	    url != NULL ? url : "");
	snprintf(j->account, sizeof(j->account), "%s",
	    account != NULL ? account : "");
	snprintf(j->by, sizeof(j->by), "%s", by != NULL ? by : "");
	TAILQ_INSERT_TAIL(&sa->jobs, j, entry);
	return j;
}

static void
job_done(struct sa_job *j)
{
	TAILQ_REMOVE(&j->sa->jobs, j, entry);
	job_free(j);
}

/* An ack's or a snooze's outcome, told to whoever clicked or typed. */
static void
job_reply_cb(void *handle, unsigned status, char *json, const char *code,
    const char *msg)
{
	struct sa_job *j = handle;
	char text[512];

	if (json == NULL) {
		snprintf(text, sizeof(text), ":warning: Could not %s: %s",
		    j->kind == SA_ACK ? "acknowledge the alert" :
		    "snooze the account", msg != NULL ? msg : "error");
		log_info("slack: %s by %s failed: %s", j->kind == SA_ACK ?
		    "ack" : "snooze", j->by, code != NULL ? code : "?");
	} else if (j->kind == SA_ACK)
		snprintf(text, sizeof(text), ":white_check_mark: "
		    "Acknowledged the %s alert.", j->account);
	else
		snprintf(text, sizeof(text), ":zzz: Snoozed %s for %u "
		    "day%s.", j->account, j->days, j->days == 1 ? "" : "s");
	if (json != NULL)
		log_info("slack: %s account=%s by=\"%s\"", j->kind == SA_ACK ?
		    "ack" : "snooze", j->account, j->by);
	free(json);
	respond_text(j->sa, j->response_url, text);
	job_done(j);
}

/* ---- interactions ---- */

static int
interaction(struct slackapp *sa, const char *body, size_t len, void *handle)
{
	struct slack_action act;
	struct sa_job *j;
	const char *why;
	char *payload, *acc, *text, by[200];

	if ((payload = slack_form_get(body, len, "payload")) == NULL)
		return answer(sa, handle, 400, NULL, "invalid_payload",
		    "the body must be a form with payload=<JSON>");
	if (slack_action_parse(payload, &act, &why) == -1) {
		free(payload);
		return answer(sa, handle, 400, NULL, "invalid_payload", why);
	}
	free(payload);
	snprintf(by, sizeof(by), "%s (%s)", act.user_name, act.user_id);
	if (strcmp(act.action, SLACK_ACTION_WHY) == 0) {
		acc = sa->ops.account_json(sa->ops.arg, act.account);
		text = acc != NULL ? slack_why_text(acc) : NULL;
		free(acc);
		respond_text(sa, act.response_url, text != NULL ? text :
		    "That account is no longer known.");
		free(text);
		log_info("slack: why account=%s by=\"%s\"", act.account, by);
		return answer(sa, handle, 200, strdup("{}"), NULL, NULL);
	}
	j = job_new(sa, strcmp(act.action, SLACK_ACTION_ACK) == 0 ? SA_ACK :
	    SA_SNOOZE, act.response_url, act.account, by);
	if (j == NULL)
		return -1;
	j->days = 7;
	if ((j->kind == SA_ACK ? sa->ops.ack(sa->ops.arg, act.alert_id, by,
	    job_reply_cb, j) : sa->ops.snooze(sa->ops.arg, act.account,
	    act.signal, 7, by, NULL, job_reply_cb, j)) == -1) {
		job_done(j);
		return answer(sa, handle, 503, NULL, "unavailable",
		    "the database is not available; retry later");
	}
	/*
	 * Slack wants its 200 now (the body of a block_actions answer is
	 * not shown); the message changes by chat.update.
	 */
	return answer(sa, handle, 200, strdup("{}"), NULL, NULL);
}

/* ---- /churnwatch ---- */

/* A note event from Slack, decoded as any ingested event is. */
static int
note_event(struct slackapp *sa, struct sa_job *j, const char *text,
    struct cw_error *err)
{
	struct cw_event_limits lim;
	json_t *o;
	char id[64], *json;
	int rc;

	snprintf(id, sizeof(id), "slack-%" PRId64 "-%" PRIu64,
	    util_now_us(), ++sa->seq);
	o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", id,
	    "account_id", j->account, "type", "note", "props", "text", text,
	    "by", j->by, "kind", "chat");
	if (o == NULL || (json = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		err->code = "internal_error";
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	json_decref(o);
	lim.max_events = 1;
	lim.horizon_us = SA_NOTE_HORIZON;
	lim.future_us = SA_NOTE_FUTURE;
	rc = event_decode_body(json, strlen(json), BODY_JSON, util_now_us(),
	    &lim, &j->batch, err);
	free(json);
	if (rc == 0 && j->batch.nev == 0) {
		*err = j->batch.rej[0].err;
		rc = -1;
	}
	return rc;
}

static int
command(struct slackapp *sa, const char *body, size_t len, void *handle)
{
	struct slack_command c;
	struct cw_error err;
	struct sa_job *j;
	const char *why, *limit;
	char *text = NULL, *url, *user, *uid, *acc, buf[640], by[200];
	int rc = 0;

	text = slack_form_get(body, len, "text");
	url = slack_form_get(body, len, "response_url");
	user = slack_form_get(body, len, "user_name");
	uid = slack_form_get(body, len, "user_id");
	snprintf(by, sizeof(by), "%s (%s)", user != NULL ? user : "?",
	    uid != NULL ? uid : "?");
	if (slack_command_parse(text, &c, &why) == -1) {
		rc = answer_text(sa, handle, why);
		goto done;
	}
	free(text);
	text = NULL;
	switch (c.cmd) {
	case SLACK_CMD_HELP:
		rc = answer_text(sa, handle, slack_help_text());
		break;
	case SLACK_CMD_UNKNOWN:
		snprintf(buf, sizeof(buf), "I do not know `%s`.\n%s", c.word,
		    slack_help_text());
		rc = answer_text(sa, handle, buf);
		break;
	case SLACK_CMD_AT_RISK:
		acc = sa->ops.list_json(sa->ops.arg, c.owner, &why);
		text = acc != NULL ? slack_at_risk_text(acc, c.owner) : NULL;
		free(acc);
		rc = answer_text(sa, handle, text != NULL ? text :
		    "The risk list is not available right now.");
		break;
	case SLACK_CMD_WHY:
		acc = sa->ops.account_json(sa->ops.arg, c.account);
		text = acc != NULL ? slack_why_text(acc) : NULL;
		free(acc);
		if (text == NULL)
			snprintf(buf, sizeof(buf), "No account `%s`.",
			    c.account);
		rc = answer_text(sa, handle, text != NULL ? text : buf);
		break;
	case SLACK_CMD_SNOOZE:
		if ((j = job_new(sa, SA_SNOOZE, url, c.account, by)) == NULL) {
			rc = -1;
			break;
		}
		j->days = c.days;
		if (sa->ops.snooze(sa->ops.arg, c.account, NULL, c.days, by,
		    c.rest, job_reply_cb, j) == -1) {
			job_done(j);
			rc = answer_text(sa, handle, ":warning: The database is "
			    "not available; retry later.");
			break;
		}
		snprintf(buf, sizeof(buf), "Snoozing `%s` for %u day%s…",
		    c.account, c.days, c.days == 1 ? "" : "s");
		rc = answer_text(sa, handle, buf);
		break;
	case SLACK_CMD_NOTE:
		acc = sa->ops.account_json(sa->ops.arg, c.account);
		rc = acc != NULL;
		free(acc);
		if (!rc) {
			snprintf(buf, sizeof(buf), "No account `%s`: a note "
			    "goes to a known account.", c.account);
			rc = answer_text(sa, handle, buf);
			break;
		}
		if ((j = job_new(sa, SA_NOTE, url, c.account, user != NULL ?
		    user : by)) == NULL) {
			rc = -1;
			break;
		}
		if (note_event(sa, j, c.rest, &err) == -1 ||
		    (sa->ops.admit != NULL && sa->ops.admit(sa->ops.arg,
		    j->batch.ev, j->batch.nev, &limit, &err) == -1)) {
			snprintf(buf, sizeof(buf), ":warning: The note was not "
			    "kept: %s", err.msg);
			job_done(j);
			rc = answer_text(sa, handle, buf);
			break;
		}
		if (sa->ops.note(sa->ops.arg, SLACKAPP_SOURCE, j->batch.ev,
		    j->batch.nev, j) == -1) {
			job_done(j);
			rc = answer_text(sa, handle, ":warning: The database "
			    "is not available; retry later.");
			break;
		}
		snprintf(buf, sizeof(buf), "Keeping your note on `%s`…",
		    c.account);
		rc = answer_text(sa, handle, buf);
		break;
	}
done:
	free(text);
	free(url);
	free(user);
	free(uid);
	return rc;
}

int
slackapp_request(struct slackapp *sa, enum slackapp_endpoint ep,
    const char *body, size_t len, void *handle)
{
	return ep == SLACKAPP_INTERACTIONS ? interaction(sa, body, len,
	    handle) : command(sa, body, len, handle);
}

int
slackapp_owns(const struct slackapp *sa, const void *handle)
{
	const struct sa_job *j;

	if (sa == NULL)
		return 0;
	TAILQ_FOREACH(j, &sa->jobs, entry)
		if (j == handle)
			return 1;
	return 0;
}

void
slackapp_note_done(void *handle, int committed, const uint8_t *fresh,
    const char *const *why)
{
	struct sa_job *j = handle;
	char text[400];

	if (!committed)
		snprintf(text, sizeof(text), ":warning: The note on `%s` was "
		    "not kept: the database is not available; retry later.",
		    j->account);
	else if (fresh != NULL && fresh[0] == 2)
		snprintf(text, sizeof(text), ":warning: The note on `%s` was "
		    "refused: %s", j->account, why != NULL && why[0] != NULL ?
		    why[0] : "refused");
	else {
		snprintf(text, sizeof(text), ":memo: Noted on `%s`.",
		    j->account);
		log_info("slack: note account=%s by=\"%s\"", j->account,
		    j->by);
	}
	respond_text(j->sa, j->response_url, text);
	job_done(j);
}
