/*
 * store.h -- what churnwatch keeps in PostgreSQL: events (group commit),
 * account metadata.  Speaks SQL through db.c; knows nothing of HTTP.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stddef.h>
#include <stdint.h>

struct account_meta;
struct db;
struct event_base;
struct cw_event;
struct store;

enum store_status {
	STORE_OK,		/* committed */
	STORE_UNAVAILABLE	/* not committed (or unknown): retry later */
};

/*
 * Ingest result: for each of the n events ev of the request, fresh[i] is
 * STORE_FRESH when it was stored now, STORE_DUPLICATE when its (source,
 * id) was already stored, and STORE_REFUSED when PostgreSQL refused the
 * event itself (a data exception, a constraint, a size limit: SQLSTATE
 * classes 22, 23, 54), with why[i] its error; why is NULL when nothing
 * was refused.  A group commit refused that way is split until only the
 * offending events are left out, so one bad event never holds up the
 * others.  With STORE_UNAVAILABLE, the events still STORE_UNDECIDED were
 * not committed, or their outcome is unknown (the connection dropped
 * under the commit); the others are decided even so (a split that lost
 * its connection half-way): the STORE_FRESH ones must be counted, and
 * only the undecided ones retried.  fresh and why are valid only during
 * the call.
 */
enum { STORE_DUPLICATE = 0, STORE_FRESH = 1, STORE_REFUSED = 2,
	STORE_UNDECIDED = 3 };
typedef void (*store_ingest_cb)(enum store_status, const struct cw_event *ev,
    size_t n, const uint8_t *fresh, const char *const *why, void *arg);

/*
 * One lane per connection in dbs (not owned; dbs[0] also carries account
 * writes); base carries the group commit's gathering timer.  To stop:
 * store_shutdown() (pending requests get UNAVAILABLE, nothing more is
 * sent), then free the dbs (in-flight ones complete with UNAVAILABLE),
 * then store_free().
 */
struct store	*store_new(struct event_base *base, struct db **dbs,
		    size_t ndb, size_t max_batch_events);
void		 store_shutdown(struct store *);
void		 store_free(struct store *);

/*
 * Queue n events from source for the next group commit.  Does not take
 * ownership: source and ev must stay valid until cb, which is called
 * exactly once, never from inside store_ingest().  Returns 0, or -1 when
 * the database is down (cb is not called).
 */
int		 store_ingest(struct store *, const char *source,
		    const struct cw_event *ev, size_t n, store_ingest_cb cb,
		    void *arg);

/*
 * Commits of unknown outcome (SPEC 6: they reach the windows exactly
 * once, whether they were stored then or later).  When a connection
 * drops under a commit, its events are kept; store_resolve() (call it
 * now and then, e.g. each second) waits until the backend that ran the
 * commit is gone (asking it to go), then hands the events that commit
 * stored to cb with fresh[i] = STORE_FRESH, once.  Their copies, spooled
 * or retried by the client, are duplicates by then -- or, if the commit
 * did not happen, they are stored and counted as usual.
 */
typedef void (*store_late_cb)(const struct cw_event *ev, size_t n,
    const uint8_t *fresh, void *arg);
void		 store_set_late(struct store *, store_late_cb, void *arg);
void		 store_resolve(struct store *);

/* 1 while at least one connection is up. */
int		 store_is_up(const struct store *);

/* Events queued or in flight; for back-pressure and graceful stop. */
size_t		 store_pending(const struct store *);

/*
 * Upsert account metadata.  meta is a JSON object of validated fields
 * (absent fields keep their stored value, null clears).  cb gets
 * STORE_OK and created = 1 when the account is new.
 */
typedef void (*store_account_cb)(enum store_status, int created, void *arg);
int		 store_account_put(struct store *, const char *id,
		    const char *meta_json, store_account_cb cb, void *arg);

/*
 * Alerts and the outbox.  store_alerts() writes alert rows (insert or
 * update by id) and new notifications in one transaction; only after its
 * callback says STORE_OK may the notifications be sent.  Strings are
 * copied; times are us since the epoch, 0 = NULL.
 */
struct store_alert {
	uint64_t	 id;
	const char	*account_id;
	const char	*signal;
	const char	*category;
	const char	*fingerprint;
	const char	*state;		/* firing, resolving, resolved */
	const char	*severity;
	int64_t		 started_at;
	int64_t		 inactive_since;
	int64_t		 resolved_at;
	int64_t		 last_notified;
	const char	*explanation;
	/* A portfolio alert's key ("voice_risk:budget"; account_id is
	 * then ""), else NULL or "" (stored as ""). */
	const char	*key;
};
struct store_notification {
	const char	*id;
	uint64_t	 alert_id;
	const char	*receiver;
	const char	*kind;		/* fire, repeat, escalate, resolve */
	const char	*body;
	const char	*state;		/* pending or silenced */
};
/*
 * Recovery: stream back what the windows are rebuilt from, page by page
 * (bounded memory whatever the size), then call done(ok).  Each callback
 * gets one row; strings are valid only during the call.  Days are UTC day
 * numbers, hours are hours since the epoch, ts is in microseconds.
 */
struct store_load_ops {
	void	(*account)(void *, const char *id,
		    const struct account_meta *);
	void	(*daily)(void *, const char *account_id, int32_t day,
		    unsigned logins);
	void	(*hourly)(void *, const char *account_id, int64_t hour,
		    unsigned logins);
	void	(*seen)(void *, const char *account_id, char kind,
		    const char *key, int32_t day);
	void	(*event)(void *, const char *id, const char *account_id,
		    const char *type, int64_t ts, const char *user_id,
		    const char *props);
	void	(*score)(void *, const char *account_id, int32_t day,
		    int score);
	/* Open alerts (state firing or resolving), and those resolved
	 * within the last day (the digest's "since yesterday"). */
	void	(*alert)(void *, const struct store_alert *, int64_t acked_at);
	/* Notifications still to send, oldest first. */
	void	(*notification)(void *, const char *id, const char *receiver,
		    const char *body);
	/* Silences that may still apply. */
	void	(*silence)(void *, uint64_t id, const char *account_id,
		    const char *signal, const char *category, int64_t until,
		    int expire_on_resolve);
	/* Segment group memberships. */
	void	(*member)(void *, const char *user_id, const char *account_id);
	/* The Slack messages of open alerts (slack_messages). */
	void	(*slack_message)(void *, uint64_t alert_id,
		    const char *receiver, const char *channel, const char *ts);
	/* Data coverage: kind 'c' (key a data class) or 'a' (an account). */
	void	(*coverage)(void *, char kind, const char *key, int32_t day);
	/*
	 * Whether this start reads snapshots (legacy 0) or, with no
	 * complete set of them yet, the rollups and events (legacy 1); told
	 * before any account's windows.
	 */
	void	(*marks)(void *, int legacy);
	/*
	 * An account's snapshot image (binary, len bytes, valid during the
	 * call).  -1: it could not be read (another format version, another
	 * hash key, a torn image); the store then replays every stored event
	 * of that account instead (event), and skips it in the replay.
	 */
	int	(*snapshot)(void *, const char *account_id, const void *image,
		    size_t len);
	void	(*done)(void *, int ok);
};
typedef void (*store_done_cb)(enum store_status, void *arg);

/*
 * Rebuild the windows.  First the id hash key (settings; drawn and stored
 * on the first start) and the last commit number stored.  Then, when
 * every partition has a watermark (snapshot_marks): the snapshots, then
 * the events committed after each partition's watermark, replayed through
 * event.  Otherwise (a database from before snapshots): the rollups and
 * the rarer events since since_day (today - window length), as before.
 */
int	store_load(struct store *, const struct store_load_ops *,
	    int32_t since_day, void *arg);

/*
 * The watermark of the events the windows hold (issue 11): every commit
 * up to *mark, and the commits above[0..nabove) above it, are applied or
 * stored nothing.  A snapshot of an account taken now holds exactly its
 * events of those commits.  Valid until the next callback of the store.
 */
void	store_watermark(const struct store *, int64_t *mark,
	    const int64_t **above, size_t *nabove);
/* Number commits from last + 1 (the loader, from what is stored). */
void	store_commit_start(struct store *, int64_t last);

/*
 * Store n account snapshots (ids[i], images[i] of lens[i] bytes, all of
 * partition part, format version), the watermark (mark, above) of every
 * partition in parts, and the first days of data classes (coverage 'c'
 * rows: what the windows hold, so never behind the mark), in one
 * transaction; cb(status, arg) once.  Everything is copied.
 */
int	store_snapshot(struct store *, const int32_t *parts, size_t nparts,
	    int64_t mark, const int64_t *above, size_t nabove, int32_t part,
	    int32_t version, const char *const *ids,
	    const unsigned char *const *images, const uint32_t *lens,
	    size_t n, const char *const *classes, const int32_t *class_days,
	    size_t nclasses, store_done_cb cb, void *arg);

/*
 * Store today's health scores: n (account id, day, score) triples in one
 * statement; cb(status, arg) once.  ids are copied.
 */
int	store_scores(struct store *, const char *const *ids,
	    const int32_t *days, const int *scores, size_t n,
	    store_done_cb cb, void *arg);

int	store_alerts(struct store *, const struct store_alert *, size_t na,
	    const struct store_notification *, size_t nn, store_done_cb cb,
	    void *arg);
/*
 * Record data coverage (SPEC 4): n (kind, key, first day) rows, kind 'c'
 * for a data class and 'a' for an account; a stored day only ever moves
 * earlier.  cb(status, arg) once.  Strings are copied.
 */
int	store_coverage(struct store *, const char *kinds,
	    const char *const *keys, const int32_t *days, size_t n,
	    store_done_cb cb, void *arg);
/*
 * Record Segment group memberships (user -> account, the last one wins);
 * cb(status, arg) once.  Strings are copied.
 */
int	store_members(struct store *, const char *const *users,
	    const char *const *accounts, size_t n, store_done_cb cb,
	    void *arg);

/*
 * Retention (SPEC 3): delete raw events older than horizon_days, in
 * chunks so that no statement runs long, then the rollups, daily scores,
 * resolved alerts and finished notifications older than twice that, and
 * hourly rollups older than three days.  cb(status, deleted events, arg)
 * once at the end.
 */
typedef void (*store_retention_cb)(enum store_status, uint64_t deleted,
    void *arg);
int	store_retention(struct store *, unsigned horizon_days,
	    store_retention_cb cb, void *arg);

/*
 * The usage rollup (012_usage_daily.sql): usage_daily holds the usage
 * events stored with commit_no <= mark.commit and a ts before UTC day
 * mark.day.  Both run on db, a connection of their own (a day of a large
 * install takes seconds to read), and call cb once: STORE_OK with the
 * mark as it now is and the rows written; STORE_UNAVAILABLE with the
 * mark as it was, or NULL when another process moved it (read it
 * again).
 *
 * store_usage_read: the stored mark.  store_usage_step: one step towards
 * (commit, today): the commits after the mark up to commit (settled
 * ones: store_watermark()) -- read for back-fills only when scan, else
 * the mark just moves --, or else the next day before today.  Returns
 * 0, 1 when there is nothing to do (cb is not called), -1 when the
 * connection is down.
 */
/*
 * What the daemon's sends tell the usage rollup, so that the commits
 * after its mark are read only when they may hold a back-fill.
 * store_usage_flags: from now on a commit holding a usage event older
 * than UTC day today counts as a back-fill; *lo is the first commit
 * that did since the last store_usage_consumed() (0 none; every commit
 * of the last process counts), *day_commit the last commit sent before
 * today became today -- a day before it may join the rollup once every
 * commit up to that one has (its late events were sent unflagged).
 * store_usage_consumed: the rollup holds the commits up to upto.
 */
void	store_usage_flags(struct store *, int32_t today, int64_t *lo,
	    int64_t *day_commit);
void	store_usage_consumed(struct store *, int64_t upto);

struct store_usage_mark {
	int64_t		 commit;
	int32_t		 day;
};
typedef void (*store_usage_cb)(enum store_status,
    const struct store_usage_mark *, uint64_t rows, void *arg);
int	store_usage_read(struct db *, store_usage_cb, void *arg);
int	store_usage_step(struct db *, const struct store_usage_mark *,
	    int64_t commit, int scan, int32_t today, store_usage_cb,
	    void *arg);

/*
 * The Slack message chat.postMessage made for notification_id (channel
 * and ts), remembered for its alert and receiver; errors are logged.
 */
int	store_slack_message(struct store *, const char *notification_id,
	    const char *receiver, const char *channel, const char *ts);

/* A silence ended (expire_on_resolve): record it; errors are logged. */
int	store_silence_end(struct store *, uint64_t id);

/*
 * The alert and silence API (SPEC 2.6) builds its answers in SQL: each
 * call is one query whose first column of its first row is the JSON
 * answer.  cb gets it, or NULL when there is no row (no such id).
 * values are the call's parameters, NULL for SQL NULL, copied:
 *	STORE_API_ALERTS		state, account_id, since
 *	STORE_API_ACK			alert id, by (NULL: unknown)
 *	STORE_API_SILENCE_CREATE	account_id, signal, category, until,
 *					comment, expire_on_resolve
 *	STORE_API_SILENCES		(none)
 *	STORE_API_SILENCE_DELETE	silence id
 *	STORE_API_REPORT_MOVERS		days, today (day number), green and
 *					yellow minimum scores: the movers
 *					report (SPEC 2.8) as its final JSON
 * Returns 0 (cb will be called), -1 (not sent), or -2 when a report is
 * asked for while another one runs.
 */
enum store_api {
	STORE_API_ALERTS,
	STORE_API_ACK,
	STORE_API_SILENCE_CREATE,
	STORE_API_SILENCES,
	STORE_API_SILENCE_DELETE,
	STORE_API_REPORT_MOVERS,
	STORE_API__COUNT
};
typedef void (*store_json_cb)(enum store_status, const char *json,
    void *arg);
/*
 * The connection the reports (STORE_API_REPORT_*) run on, one at a time;
 * without one they go on the first lane.  Not owned.
 */
void	store_set_reports_db(struct store *, struct db *);
int	store_api(struct store *, enum store_api, const char *const *values,
	    store_json_cb cb, void *arg);

/*
 * Signal quality over stored history (SPEC 2.8, 9), streamed as the
 * server reduces it (store_write.c), on the reports' connection in a
 * read-only transaction of its own.  row() is called for each row:
 * kind 0, once: a = the accounts numbered, b = the accounts scored in
 * [since, until]; kind 1, an alert: a = account (0..numbered-1), b =
 * signal (its index in signals), c = from day, d = to day (INT32_MAX:
 * open); kind 2, an outcome: a = account, b = kind (its index in kinds),
 * c = day; kind 3, a status change: a = account, b = day, c = status.
 * It returns 0, or -1 to stop (done then gets STORE_UNAVAILABLE).
 * done() is called once, at the end.
 *
 * values: since, until, within (day numbers, days), green and yellow
 * minimum scores; signals, kinds: PostgreSQL text[] literals
 * ("{login_absent,...}"; "" for a slot never to match).  0 (done will be
 * called), -1 (not sent), -2 (another report runs).
 */
typedef int (*store_quality_row_cb)(void *arg, int32_t kind, int32_t a,
    int32_t b, int32_t c, int32_t d);
typedef void (*store_quality_done_cb)(enum store_status, void *arg);
int	store_report_quality(struct store *, const char *const values[5],
	    const char *signals, const char *kinds, store_quality_row_cb,
	    store_quality_done_cb, void *arg);

/* Record a delivery's end (sent = 1) or permanent failure (sent = 0). */
int	store_notification_done(struct store *, const char *id, int sent,
	    int attempts, const char *detail);

#endif
