/*
 * engine.h -- the accounts at run time: applies committed events to the
 * windows, evaluates accounts (when their events arrive, and all of them
 * in bounded slices on a timer), keeps daily health scores in PostgreSQL,
 * rebuilds everything after a restart, and renders the account API's
 * JSON.  An edge (libevent timers, store.c); the rules themselves are in
 * the pure modules (account, window, signal, score).
 */
#ifndef CW_ENGINE_H
#define CW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct cw_config;
struct cw_error;
struct cw_event;
struct engine;

struct engine	*engine_new(struct event_base *, struct store *,
		    const struct cw_config *);
void		 engine_free(struct engine *);
void		 engine_set_config(struct engine *, const struct cw_config *);

/*
 * At a clean stop, once ingest is closed: store the snapshots of what
 * changed since the last pass (checkpoint_flush); done(ok, arg) once.
 */
void		 engine_flush(struct engine *, void (*done)(int, void *),
		    void *arg);

/*
 * Rebuild the windows from PostgreSQL (store_load), evaluate every
 * account, then call done(ok, arg).  Until then engine_loaded() is 0.
 */
int		 engine_load(struct engine *, void (*done)(int, void *),
		    void *arg);
int		 engine_loaded(const struct engine *);
size_t		 engine_accounts(const struct engine *);

/* Events of a committed request: fresh[i] = 1 for the newly stored ones
 * (STORE_FRESH); every other value (duplicate, refused) is skipped. */
void		 engine_apply(struct engine *, const struct cw_event *ev,
		    size_t n, const uint8_t *fresh);
/*
 * Admission (cwlimits.h): would a request with these events, other
 * account ids and Segment member user ids fit [limits]?  0, or -1 with
 * *limit (the bound's key) and err set.  Reserves on 0 (new accounts
 * exist, pending).
 */
int		 engine_admit(struct engine *, const struct cw_event *ev,
		    size_t n, const char *const *accounts, size_t naccounts,
		    const char *const *members, size_t nmembers,
		    const char **limit, struct cw_error *err);
/* Metadata committed by PUT /v1/accounts/{id} (account_meta_decode JSON). */
void		 engine_account_meta(struct engine *, const char *id,
		    const char *json);

/*
 * The account API.  engine_account_json: the account as a new JSON
 * string, NULL if unknown.  engine_list_json: the risk list for the
 * query parameters (NULL when absent); NULL with *err set (a static
 * message) when a parameter is invalid.  The caller frees the strings.
 */
char		*engine_account_json(struct engine *, const char *id);
struct engine_list_query {
	const char	*status;
	const char	*owner;
	const char	*segment;
	const char	*sort;
	const char	*limit;
	const char	*cursor;
};
char		*engine_list_json(struct engine *,
		    const struct engine_list_query *, const char **err);

/* The alert and silence API: see alerting_api(). */
int		 engine_api(struct engine *, int call, const char *id,
		    const char *body, size_t len, const char *const q[3],
		    const char *token, void (*reply)(void *, unsigned, char *, const char *,
		    const char *), void *handle);
/* The Slack app's actions: see alerting_slack_ack(), _snooze(),
 * _respond(). */
int		 engine_slack_ack(struct engine *, uint64_t alert_id,
		    const char *by, void (*reply)(void *, unsigned, char *,
		    const char *, const char *), void *handle);
int		 engine_slack_snooze(struct engine *, const char *account_id,
		    const char *signal, unsigned days, const char *by,
		    const char *reason, void (*reply)(void *, unsigned, char *,
		    const char *, const char *), void *handle);
int		 engine_slack_respond(struct engine *, const char *url,
		    const char *json);
/* Segment group memberships (committed ones only). */
const char	*engine_member_find(const struct engine *, const char *user_id);
void		 engine_member_set(struct engine *, const char *user_id,
		    const char *account_id);

/* Notifications not yet delivered. */
size_t		 engine_backlog(const struct engine *);

#endif
