/*
 * store_write.c -- account metadata, scores, coverage, alerts and the
 * outbox, silences, API queries, memberships and retention (see
 * store.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "db.h"
#include "event.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/* ---- accounts ---- */

struct account_put {
	store_account_cb	 cb;
	void			*arg;
};

static const char account_sql[] =
    "INSERT INTO accounts AS a (id, name, plan, segment, seats, owner, "
    "slack_channel, onboarded_at, renewal_at, core_features) "
    "SELECT $1, j->>'name', j->>'plan', j->>'segment', "
    "(j->>'seats')::integer, j->>'owner', j->>'slack_channel', "
    "(j->>'onboarded_at')::timestamptz, (j->>'renewal_at')::timestamptz, "
    "CASE WHEN jsonb_typeof(j->'core_features') = 'array' THEN "
    "ARRAY(SELECT jsonb_array_elements_text(j->'core_features')) "
    "ELSE '{}'::text[] END "
    "FROM (SELECT $2::jsonb AS j) s "
    "ON CONFLICT (id) DO UPDATE SET "
    "name = CASE WHEN $2::jsonb ? 'name' THEN EXCLUDED.name ELSE a.name END, "
    "plan = CASE WHEN $2::jsonb ? 'plan' THEN EXCLUDED.plan ELSE a.plan END, "
    "segment = CASE WHEN $2::jsonb ? 'segment' THEN EXCLUDED.segment "
    "ELSE a.segment END, "
    "seats = CASE WHEN $2::jsonb ? 'seats' THEN EXCLUDED.seats "
    "ELSE a.seats END, "
    "owner = CASE WHEN $2::jsonb ? 'owner' THEN EXCLUDED.owner "
    "ELSE a.owner END, "
    "slack_channel = CASE WHEN $2::jsonb ? 'slack_channel' THEN "
    "EXCLUDED.slack_channel ELSE a.slack_channel END, "
    "onboarded_at = CASE WHEN $2::jsonb ? 'onboarded_at' THEN "
    "EXCLUDED.onboarded_at ELSE a.onboarded_at END, "
    "renewal_at = CASE WHEN $2::jsonb ? 'renewal_at' THEN "
    "EXCLUDED.renewal_at ELSE a.renewal_at END, "
    "core_features = CASE WHEN $2::jsonb ? 'core_features' THEN "
    "EXCLUDED.core_features ELSE a.core_features END, "
    "updated_at = now() "
    "RETURNING (xmax = 0)";

static void
store_account_cb_(enum db_status status, const struct db_res *res, void *arg)
{
	struct account_put *p = arg;
	const char *v;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: account upsert refused error=\"%s\"",
			    db_res_error(res));
		p->cb(STORE_UNAVAILABLE, 0, p->arg);
	} else {
		v = db_res_ntuples(res) > 0 ? db_res_value(res, 0, 0) : NULL;
		p->cb(STORE_OK, v != NULL && v[0] == 't', p->arg);
	}
	free(p);
}

int
store_account_put(struct store *st, const char *id, const char *meta_json,
    store_account_cb cb, void *arg)
{
	struct account_put *p;
	const char *values[2] = { id, meta_json };
	int lengths[2] = { (int)strlen(id), (int)strlen(meta_json) };

	if ((p = malloc(sizeof(*p))) == NULL)
		return -1;
	p->cb = cb;
	p->arg = arg;
	if (db_query(store_db(st), account_sql, 2, values, lengths,
	    store_account_cb_, p) == -1) {
		free(p);
		return -1;
	}
	return 0;
}


/*
 * The completion of a write whose result is only "done or not": log the
 * refusal, call the caller's callback once.
 */
#define ALERT_COLS	13
#define NOTIF_COLS	6

struct write_done {
	store_done_cb	 cb;
	void		*arg;
	const char	*what;		/* for the log */
};

void
store_write_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct write_done *p = arg;

	if (status == DB_ERROR)
		log_warnx("store: storing %s failed error=\"%s\"", p->what,
		    db_res_error(res));
	p->cb(status == DB_OK ? STORE_OK : STORE_UNAVAILABLE, p->arg);
	free(p);
}

struct write_done *
write_done_new(store_done_cb cb, void *arg, const char *what)
{
	struct write_done *p;

	if ((p = malloc(sizeof(*p))) == NULL)
		return NULL;
	p->cb = cb;
	p->arg = arg;
	p->what = what;
	return p;
}

/*
 * The tail every array write shares: close the ncols arrays (counts[c]
 * elements each), send them as one prepared statement, report through
 * cb, and free the arrays.  err: building the arrays already failed.
 */
static int
write_arrays(struct store *st, const char *stmt, const char *sql,
    struct buf *col, const size_t *counts, int ncols,
    const unsigned int *types, int err, store_done_cb cb, void *arg,
    const char *what)
{
	const char *values[ALERT_COLS + NOTIF_COLS] = { NULL };
	int lengths[ALERT_COLS + NOTIF_COLS] = { 0 }, c, rc = -1;
	struct write_done *p;

	if (!err && ncols <= ALERT_COLS + NOTIF_COLS &&
	    (p = write_done_new(cb, arg, what)) != NULL) {
		for (c = 0; c < ncols; c++) {
			arr_end(&col[c], counts[c]);
			values[c] = col[c].p;
			lengths[c] = (int)col[c].len;
		}
		rc = db_query_binary(store_db(st), stmt, sql, ncols, types,
		    values, lengths, store_write_cb, p);
		if (rc == -1)
			free(p);
	}
	for (c = 0; c < ncols; c++)
		free(col[c].p);
	return rc;
}


/* ---- health scores ---- */

int
store_scores(struct store *st, const char *const *ids, const int32_t *days,
    const int *scores, size_t n, store_done_cb cb, void *arg)
{
	static const unsigned int types[3] = { OID_TEXT_ARRAY,
	    OID_INT4_ARRAY, OID_INT4_ARRAY };
	struct buf col[3];
	size_t i, counts[3] = { n, n, n };
	int err = 0;

	memset(col, 0, sizeof(col));
	err |= arr_begin(&col[0], OID_TEXT);
	err |= arr_begin(&col[1], OID_INT4);
	err |= arr_begin(&col[2], OID_INT4);
	for (i = 0; i < n && !err; i++) {
		err |= arr_text(&col[0], NULL, ids[i]);
		err |= arr_int4(&col[1], days[i]);
		err |= arr_int4(&col[2], scores[i]);
	}
	return write_arrays(st, "cw_scores",
	    "INSERT INTO health_daily AS h (account_id, day, score)"
	    " SELECT a, date '1970-01-01' + d, s FROM unnest($1, $2, $3)"
	    " AS t(a, d, s) ORDER BY 1, 2"
	    " ON CONFLICT (account_id, day) DO UPDATE SET score = EXCLUDED.score",
	    col, counts, 3, types, err, cb, arg, "scores");
}

/* ---- data coverage ---- */

int
store_coverage(struct store *st, const char *kinds, const char *const *keys,
    const int32_t *days, size_t n, store_done_cb cb, void *arg)
{
	static const unsigned int types[3] = { OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_INT4_ARRAY };
	struct buf col[3];
	size_t i, counts[3] = { n, n, n };
	char kind[2] = { 0, 0 };
	int err = 0;

	memset(col, 0, sizeof(col));
	err |= arr_begin(&col[0], OID_TEXT);
	err |= arr_begin(&col[1], OID_TEXT);
	err |= arr_begin(&col[2], OID_INT4);
	for (i = 0; i < n && !err; i++) {
		kind[0] = kinds[i];
		err |= arr_text(&col[0], NULL, kind);
		err |= arr_text(&col[1], NULL, keys[i]);
		err |= arr_int4(&col[2], days[i]);
	}
	/* Only ever earlier: a late writer cannot move a day forward. */
	return write_arrays(st, "cw_coverage",
	    "INSERT INTO coverage AS c (kind, key, day)"
	    " SELECT k::\"char\", key, date '1970-01-01' + d"
	    " FROM unnest($1, $2, $3) AS u(k, key, d)"
	    " ON CONFLICT (kind, key) DO UPDATE SET day = least(c.day,"
	    " EXCLUDED.day)", col, counts, 3, types, err, cb, arg,
	    "data coverage");
}

/* ---- alerts and the outbox ---- */

int
store_alerts(struct store *st, const struct store_alert *al, size_t na,
    const struct store_notification *nt, size_t nn, store_done_cb cb,
    void *arg)
{
	static const unsigned int types[ALERT_COLS + NOTIF_COLS] = {
	    OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY, OID_TIMESTAMPTZ_ARRAY,
	    OID_TIMESTAMPTZ_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY, OID_TEXT_ARRAY };
	static const uint32_t elem[ALERT_COLS + NOTIF_COLS] = {
	    OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT,
	    OID_TEXT,
	    OID_TIMESTAMPTZ, OID_TIMESTAMPTZ, OID_TIMESTAMPTZ, OID_TIMESTAMPTZ,
	    OID_TEXT, OID_TEXT,
	    OID_TEXT, OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT };
	struct buf col[ALERT_COLS + NOTIF_COLS];
	size_t i, counts[ALERT_COLS + NOTIF_COLS];
	int c, err = 0;

	memset(col, 0, sizeof(col));
	for (c = 0; c < ALERT_COLS + NOTIF_COLS; c++) {
		err |= arr_begin(&col[c], elem[c]);
		counts[c] = c < ALERT_COLS ? na : nn;
	}
	for (i = 0; i < na && !err; i++) {
		err |= arr_int8(&col[0], (int64_t)al[i].id);
		err |= arr_text(&col[1], NULL, al[i].account_id);
		err |= arr_text(&col[2], NULL, al[i].signal);
		err |= arr_text(&col[3], NULL, al[i].category);
		err |= arr_text(&col[4], NULL, al[i].fingerprint);
		err |= arr_text(&col[5], NULL, al[i].state);
		err |= arr_text(&col[6], NULL, al[i].severity);
		err |= arr_ts(&col[7], al[i].started_at);
		err |= arr_ts_or_null(&col[8], al[i].inactive_since);
		err |= arr_ts_or_null(&col[9], al[i].resolved_at);
		err |= arr_ts_or_null(&col[10], al[i].last_notified);
		err |= arr_text(&col[11], NULL, al[i].explanation);
		err |= arr_text(&col[12], NULL, al[i].key != NULL ?
		    al[i].key : "");
	}
	for (i = 0; i < nn && !err; i++) {
		err |= arr_text(&col[13], NULL, nt[i].id);
		err |= arr_int8(&col[14], (int64_t)nt[i].alert_id);
		err |= arr_text(&col[15], NULL, nt[i].receiver);
		err |= arr_text(&col[16], NULL, nt[i].kind);
		err |= arr_text(&col[17], NULL, nt[i].body);
		err |= arr_text(&col[18], NULL, nt[i].state);
	}
	/*
	 * acked_at is not written here: it changes only through the ack
	 * endpoint, so a transition can never undo an acknowledgement.
	 */
	return write_arrays(st, "cw_alerts",
	    "WITH a AS ("
	    " INSERT INTO alerts AS x (id, account_id, signal, category,"
	    "  fingerprint, state, severity, started_at, inactive_since,"
	    "  resolved_at, last_notified, explanation, key)"
	    " SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
	    "  $11, $12, $13) ORDER BY 1"
	    " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state,"
	    "  severity = EXCLUDED.severity,"
	    "  inactive_since = EXCLUDED.inactive_since,"
	    "  resolved_at = EXCLUDED.resolved_at,"
	    "  last_notified = EXCLUDED.last_notified,"
	    "  explanation = EXCLUDED.explanation, updated_at = now()"
	    "), n AS ("
	    " INSERT INTO notifications (id, alert_id, receiver, kind, body,"
	    "  state)"
	    " SELECT * FROM unnest($14, $15, $16, $17, $18, $19)"
	    " ON CONFLICT (id) DO NOTHING"
	    ") SELECT 1",
	    col, counts, ALERT_COLS + NOTIF_COLS, types, err, cb, arg,
	    "alerts");
}

void
store_simple_cb(enum db_status status, const struct db_res *res, void *arg)
{
	if (status == DB_ERROR)
		log_warnx("store: update failed error=\"%s\"", db_res_error(res));
}

int
store_notification_done(struct store *st, const char *id, int sent,
    int attempts, const char *detail)
{
	char att[16];
	const char *values[4] = { id, sent ? "sent" : "failed", att,
	    detail != NULL ? detail : "" };
	int lengths[4];
	int i;

	snprintf(att, sizeof(att), "%d", attempts);
	for (i = 0; i < 4; i++)
		lengths[i] = (int)strlen(values[i]);
	return db_query(store_db(st),
	    "UPDATE notifications SET state = $2, attempts = $3::integer,"
	    " detail = $4, done_at = now() WHERE id = $1",
	    4, values, lengths, store_simple_cb, NULL);
}

int
store_slack_message(struct store *st, const char *notification_id,
    const char *receiver, const char *channel, const char *ts)
{
	const char *values[4] = { notification_id, receiver, channel, ts };
	int lengths[4], i;

	for (i = 0; i < 4; i++)
		lengths[i] = (int)strlen(values[i]);
	return db_query(store_db(st),
	    "INSERT INTO slack_messages (alert_id, receiver, channel, ts)"
	    " SELECT alert_id, $2, $3, $4 FROM notifications WHERE id = $1"
	    " AND alert_id <> 0"
	    " ON CONFLICT (alert_id, receiver) DO UPDATE SET"
	    " channel = excluded.channel, ts = excluded.ts, updated_at = now()",
	    4, values, lengths, store_simple_cb, NULL);
}

int
store_silence_end(struct store *st, uint64_t id)
{
	char sid[24];
	const char *values[1] = { sid };
	int lengths[1];

	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
	lengths[0] = (int)strlen(sid);
	return db_query(store_db(st),
	    "UPDATE silences SET ended_at = now()"
	    " WHERE id = $1::bigint AND ended_at IS NULL",
	    1, values, lengths, store_simple_cb, NULL);
}

struct json_query {
	store_json_cb	 cb;
	void		*arg;
	struct store	*report;	/* a report: clears report_busy */
};

static void
store_json_cb_(enum db_status status, const struct db_res *res, void *arg)
{
	struct json_query *q = arg;

	if (status == DB_ERROR)
		log_warnx("store: query failed error=\"%s\"",
		    db_res_error(res));
	if (q->report != NULL)
		store_reports(q->report)->busy = 0;
	q->cb(status == DB_OK ? STORE_OK : STORE_UNAVAILABLE,
	    status == DB_OK && db_res_ntuples(res) > 0 ?
	    db_res_value(res, 0, 0) : NULL, q->arg);
	free(q);
}

/* The alert state as the API shows it (SPEC 2.6 states). */
#define ALERT_VIEW_SQL \
	"CASE WHEN a.state = 'resolved' THEN 'resolved'" \
	" WHEN EXISTS (SELECT 1 FROM silences s WHERE s.ended_at IS NULL" \
	"  AND s.until > now()" \
	"  AND (s.account_id IS NULL OR s.account_id = a.account_id)" \
	"  AND (s.signal IS NULL OR s.signal = a.signal)" \
	"  AND (s.category IS NULL OR s.category = a.category))" \
	" THEN 'silenced' ELSE 'firing' END"

static const char api_alerts_sql[] =
    "SELECT json_build_object('alerts', coalesce(json_agg(x), '[]'))::text"
    " FROM (SELECT * FROM (SELECT a.id::text AS id,"
    "  nullif(a.account_id, '') AS account_id, nullif(a.key, '') AS key,"
    "  a.signal,"
    "  a.category, a.severity, " ALERT_VIEW_SQL " AS state, a.fingerprint,"
    "  a.started_at, a.resolved_at, a.last_notified, a.acked_at,"
    "  a.acked_by, a.explanation FROM alerts a"
    "  WHERE ($2::text IS NULL OR a.account_id = $2)"
    "  AND ($3::timestamptz IS NULL OR a.started_at >= $3"
    "   OR a.resolved_at >= $3)) y"
    " WHERE $1::text IS NULL OR y.state = $1"
    " ORDER BY y.started_at DESC, y.id DESC LIMIT 1000) x";

static const char api_ack_sql[] =
    "UPDATE alerts SET acked_at = coalesce(acked_at, now()),"
    " acked_by = CASE WHEN acked_at IS NULL THEN $2 ELSE acked_by END,"
    " updated_at = now() WHERE id = $1::bigint AND state <> 'resolved'"
    " RETURNING json_build_object('id', id::text, 'account_id', account_id,"
    " 'signal', signal, 'acked_at', acked_at, 'acked_by', acked_by)::text";

static const char api_silence_create_sql[] =
    "INSERT INTO silences (account_id, signal, category, until, comment,"
    " expire_on_resolve) VALUES ($1, $2, $3, $4::timestamptz, $5,"
    " $6::boolean) RETURNING json_build_object('id', id::text)::text";

static const char api_silences_sql[] =
    "SELECT json_build_object('silences', coalesce(json_agg(x"
    " ORDER BY x.created_at), '[]'))::text FROM (SELECT id::text AS id,"
    " account_id, signal, category, until, comment, expire_on_resolve,"
    " created_at FROM silences WHERE ended_at IS NULL AND until > now()) x";

static const char api_silence_delete_sql[] =
    "UPDATE silences SET ended_at = now() WHERE id = $1::bigint"
    " AND ended_at IS NULL AND until > now()"
    " RETURNING json_build_object('id', id::text, 'ended_at',"
    " ended_at)::text";

/*
 * Signal quality over stored history (SPEC 2.8, 9): the alerts that
 * were open on some day of [since - within, until], the outcome events
 * of the same days (those before since only say that an account had
 * already left: quality.h), and the daily statuses (health_daily, from
 * 90 days before since) reduced to the days the status changed.  quality.c
 * computes the report from this document.
 */
#define REPORT_DEADLINE_MS	60000
#define D0	"date '1970-01-01'"
#define UTCDAY(col)	"((" col " AT TIME ZONE 'UTC')::date - " D0 ")"
/*
 * Signal quality over stored history (SPEC 2.8, 9), reduced by the server
 * to rows of five int4 (in binary, through a cursor, QUALITY_FETCH rows at
 * a time): the alerts firing in [since - within, until] as (1, account,
 * signal, from, to), the outcome events of the same days as (2, account,
 * kind, day), each account's daily status where it changed, from 90 days
 * before since, as (3, account, day, status), and one row (0, accounts
 * numbered, accounts scored in [since, until]).  Accounts are numbered
 * 0..n-1 here, signals and kinds by their place in $6 and $7 (the
 * caller's ids; unknown ones are left out), days are UTC day numbers; an
 * open alert ends on 2147483647.  No JSON, and never the whole history in
 * one result: at 200,000 accounts a JSON document took 1.35 GB and 5 s of
 * the event loop (bench/README.md).
 */
static const char api_report_quality_sql[] =
    "DECLARE cw_quality NO SCROLL CURSOR FOR"
    " WITH f AS (SELECT account_id,"
    "  array_position($6::text[], signal) - 1 AS sig,"
    "  " UTCDAY("started_at") " AS d0,"
    "  coalesce(" UTCDAY("resolved_at") ", 2147483647) AS d1"
    "  FROM alerts WHERE account_id <> ''"
    "  AND started_at < (" D0 " + $2::integer + 1)::timestamp"
    "   AT TIME ZONE 'UTC'"
    "  AND (resolved_at IS NULL OR resolved_at >= (" D0 " + $1::integer"
    "   - $3::integer)::timestamp AT TIME ZONE 'UTC')),"
    " o AS (SELECT account_id, array_position($7::text[], type) - 1 AS k,"
    "  " UTCDAY("ts") " AS d FROM events"
    "  WHERE type IN ('account.churned', 'account.contracted',"
    "  'account.renewed')"
    "  AND ts >= (" D0 " + $1::integer - $3::integer)::timestamp"
    "   AT TIME ZONE 'UTC'"
    "  AND ts < (" D0 " + $2::integer + 1)::timestamp AT TIME ZONE 'UTC'),"
    " s AS (SELECT account_id, day - " D0 " AS d, st FROM (SELECT account_id,"
    "  day, st, lag(st) OVER (PARTITION BY account_id ORDER BY day) AS prev"
    "  FROM (SELECT account_id, day, CASE WHEN score >= $4::integer THEN 0"
    "   WHEN score >= $5::integer THEN 1 ELSE 2 END AS st"
    "   FROM health_daily WHERE day BETWEEN " D0 " + $1::integer - 90"
    "   AND " D0 " + $2::integer) x) y"
    "  WHERE prev IS NULL OR prev <> st),"
    " ids AS (SELECT account_id, (row_number() OVER () - 1)::int4 AS i"
    "  FROM (SELECT account_id FROM f WHERE sig IS NOT NULL"
    "  UNION SELECT account_id FROM o WHERE k IS NOT NULL"
    "  UNION SELECT account_id FROM s) u)"
    " SELECT 0::int4, (SELECT count(*) FROM ids)::int4,"
    "  (SELECT count(DISTINCT account_id) FROM health_daily"
    "  WHERE day BETWEEN " D0 " + $1::integer AND " D0 " + $2::integer)::int4,"
    "  0::int4, 0::int4"
    " UNION ALL SELECT 1, ids.i, f.sig::int4, f.d0::int4, f.d1::int4"
    "  FROM f JOIN ids USING (account_id) WHERE f.sig IS NOT NULL"
    " UNION ALL SELECT 2, ids.i, o.k::int4, o.d::int4, 0"
    "  FROM o JOIN ids USING (account_id) WHERE o.k IS NOT NULL"
    " UNION ALL SELECT 3, ids.i, s.d::int4, s.st::int4, 0"
    "  FROM s JOIN ids USING (account_id)";

#define QUALITY_FETCH		100000
static const char quality_fetch_sql[] = "FETCH 100000 FROM cw_quality";

/*
 * Movers (SPEC 2.8): each account's last score of today and the days
 * before (the latest stored), against its last score on or up to a week
 * before $1 days ago; the signals open then and now (alerts), those that
 * came and those that went.  The 50 that rose and the 50 that fell most.
 */
static const char api_report_movers_sql[] =
    "WITH p AS (SELECT " D0 " + $2::integer AS today,"
    "  " D0 " + $2::integer - $1::integer AS then_day),"
    " now_s AS (SELECT DISTINCT ON (h.account_id) h.account_id, h.score"
    "  FROM health_daily h, p WHERE h.day > p.then_day AND h.day <= p.today"
    "  ORDER BY h.account_id, h.day DESC),"
    " then_s AS (SELECT DISTINCT ON (h.account_id) h.account_id, h.score"
    "  FROM health_daily h, p WHERE h.day <= p.then_day"
    "  AND h.day > p.then_day - 7 ORDER BY h.account_id, h.day DESC),"
    " m AS (SELECT n.account_id, t.score AS score_then,"
    "  n.score AS score_now, n.score - t.score AS change"
    "  FROM now_s n JOIN then_s t USING (account_id)"
    "  WHERE n.score <> t.score),"
    " sig AS (SELECT a.account_id, a.signal,"
    "  bool_or(a.started_at < (p.then_day + 1)::timestamp AT TIME ZONE 'UTC'"
    "   AND (a.resolved_at IS NULL OR a.resolved_at >="
    "   (p.then_day + 1)::timestamp AT TIME ZONE 'UTC')) AS was_open,"
    "  bool_or(a.state <> 'resolved') AS is_open"
    "  FROM alerts a, p WHERE a.account_id IN (SELECT account_id FROM m)"
    "  AND a.signal <> 'health_degraded'"
    "  AND (a.resolved_at IS NULL OR a.resolved_at >="
    "   (p.then_day + 1)::timestamp AT TIME ZONE 'UTC')"
    "  GROUP BY a.account_id, a.signal),"
    " r AS (SELECT m.*, acc.name,"
    "  CASE WHEN score_then >= $3::integer THEN 'green'"
    "   WHEN score_then >= $4::integer THEN 'yellow' ELSE 'red' END"
    "   AS status_then,"
    "  CASE WHEN score_now >= $3::integer THEN 'green'"
    "   WHEN score_now >= $4::integer THEN 'yellow' ELSE 'red' END"
    "   AS status_now,"
    "  coalesce((SELECT json_agg(signal ORDER BY signal) FROM sig"
    "   WHERE sig.account_id = m.account_id AND is_open"
    "   AND NOT was_open), '[]')"
    "   AS signals_came,"
    "  coalesce((SELECT json_agg(signal ORDER BY signal) FROM sig"
    "   WHERE sig.account_id = m.account_id AND was_open"
    "   AND NOT is_open), '[]')"
    "   AS signals_went"
    "  FROM m LEFT JOIN accounts acc ON acc.id = m.account_id)"
    " SELECT json_build_object('days', $1::integer,"
    " 'since', (SELECT then_day FROM p)::text,"
    " 'better', coalesce((SELECT json_agg(x ORDER BY x.change DESC,"
    "  x.account_id) FROM (SELECT * FROM r WHERE change > 0"
    "  ORDER BY change DESC, account_id LIMIT 50) x), '[]'),"
    " 'worse', coalesce((SELECT json_agg(x ORDER BY x.change,"
    "  x.account_id) FROM (SELECT * FROM r WHERE change < 0"
    "  ORDER BY change, account_id LIMIT 50) x), '[]'))::text";

/* The API's queries and how many parameters each takes. */
static const struct {
	const char	*sql;
	int		 nparams;
} api_queries[STORE_API__COUNT] = {
	[STORE_API_ALERTS] = { api_alerts_sql, 3 },
	[STORE_API_ACK] = { api_ack_sql, 2 },
	[STORE_API_SILENCE_CREATE] = { api_silence_create_sql, 6 },
	[STORE_API_SILENCES] = { api_silences_sql, 0 },
	[STORE_API_SILENCE_DELETE] = { api_silence_delete_sql, 1 },
	[STORE_API_REPORT_MOVERS] = { api_report_movers_sql, 4 },
};

/*
 * A report reads a year of history: on its own connection (not an ingest
 * lane, whose batches would wait behind it), one at a time, ended by the
 * server after REPORT_DEADLINE_MS (statement_timeout on that session)
 * and by us a little later if the server says nothing at all.
 */
static int
report_session(struct store_reports *rp)
{
	static char set_sql[64];

	if (rp->busy)
		return -2;
	if (set_sql[0] == '\0')
		snprintf(set_sql, sizeof(set_sql),
		    "SET statement_timeout = %d", REPORT_DEADLINE_MS);
	return db_query(rp->db, set_sql, 0, NULL, NULL, store_simple_cb,
	    NULL);
}

/* A report of one statement (the movers): -2 while another one runs. */
static int
store_report(struct store *st, const char *sql, int nparams,
    const char *const *values, const int *lengths, db_result_cb cb,
    void *arg)
{
	struct store_reports *rp = store_reports(st);
	int rc;

	if (rp->db == NULL)	/* no connection of their own: lane 0 */
		return db_query_long(store_db(st), REPORT_DEADLINE_MS, sql,
		    nparams, values, lengths, cb, arg);
	if ((rc = report_session(rp)) != 0)
		return rc;
	rc = db_query_long(rp->db, REPORT_DEADLINE_MS + 5000, sql, nparams,
	    values, lengths, cb, arg);
	if (rc == 0)
		rp->busy = 1;
	return rc;
}

int
store_api(struct store *st, enum store_api call, const char *const *values,
    store_json_cb cb, void *arg)
{
	struct json_query *q;
	int lengths[8], i, nparams, rc;

	if ((unsigned)call >= STORE_API__COUNT ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	nparams = api_queries[call].nparams;
	q->cb = cb;
	q->arg = arg;
	for (i = 0; i < nparams; i++)
		lengths[i] = values[i] != NULL ? (int)strlen(values[i]) : 0;
	if (call == STORE_API_REPORT_MOVERS) {
		if ((rc = store_report(st, api_queries[call].sql, nparams,
		    values, lengths, store_json_cb_, q)) == 0 &&
		    store_reports(st)->db != NULL)
			q->report = st;
	} else
		rc = db_query(store_db(st), api_queries[call].sql, nparams,
		    nparams > 0 ? values : NULL, lengths, store_json_cb_, q);
	if (rc != 0)
		free(q);
	return rc;
}

/* ---- the signal-quality report ---- */

struct quality_query {
	struct store		*st;
	struct db		*db;
	store_quality_row_cb	 row;
	store_quality_done_cb	 done;
	void			*arg;
	int			 failed;	/* the DECLARE did not go */
	int			 last;		/* no FETCH queued after it */
};

/* The end: the transaction closed, the connection free for the next. */
static void
quality_end(struct quality_query *q, int ok)
{
	(void)db_query(q->db, ok ? "COMMIT" : "ROLLBACK", -1, NULL, NULL,
	    store_simple_cb, NULL);
	store_reports(q->st)->busy = 0;
	q->done(ok ? STORE_OK : STORE_UNAVAILABLE, q->arg);
	free(q);
}

static void
quality_step_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct quality_query *q = arg;

	if (status == DB_ERROR && !q->failed)
		log_warnx("store: quality report failed error=\"%s\"",
		    db_res_error(res));
	if (status != DB_OK)
		q->failed = 1;
	if (q->last)
		quality_end(q, 0);
}

static void
quality_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct quality_query *q = arg;
	int32_t v[5];
	int i, n, c;

	if (status == DB_ERROR && !q->failed)
		log_warnx("store: quality report failed error=\"%s\"",
		    db_res_error(res));
	if (status != DB_OK || q->failed) {
		quality_end(q, 0);
		return;
	}
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		for (c = 0; c < 5; c++) {
			if (db_res_length(res, i, c) != 4) {
				log_warnx("store: quality report: a malformed "
				    "row");
				quality_end(q, 0);
				return;
			}
			v[c] = (int32_t)get32((const unsigned char *)
			    db_res_value(res, i, c));
		}
		if (q->row(q->arg, v[0], v[1], v[2], v[3], v[4]) == -1) {
			quality_end(q, 0);
			return;
		}
	}
	if (n < QUALITY_FETCH)
		quality_end(q, 1);
	else if (db_query_long_binres(q->db, REPORT_DEADLINE_MS + 5000,
	    quality_fetch_sql, 0, NULL, NULL, quality_rows_cb, q) == -1)
		quality_end(q, 0);
}

int
store_report_quality(struct store *st, const char *const values[5],
    const char *signals, const char *kinds, store_quality_row_cb row,
    store_quality_done_cb done, void *arg)
{
	struct store_reports *rp = store_reports(st);
	struct quality_query *q;
	const char *v[7];
	int lengths[7], i, rc;

	/* A transaction of its own: never on an ingest lane. */
	if (rp->db == NULL)
		return -1;
	if (rp->busy)
		return -2;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->st = st;
	q->db = rp->db;
	q->row = row;
	q->done = done;
	q->arg = arg;
	for (i = 0; i < 5; i++)
		v[i] = values[i];
	v[5] = signals;
	v[6] = kinds;
	for (i = 0; i < 7; i++)
		lengths[i] = (int)strlen(v[i]);
	/*
	 * In order on the one connection; a failure fails what follows
	 * (DECLARE outside a transaction is an error).  The FETCH's
	 * callback is the one that ends it, or, if it could not be queued,
	 * the DECLARE's.
	 */
	if ((rc = report_session(rp)) != 0 || db_query(q->db, "BEGIN "
	    "ISOLATION LEVEL REPEATABLE READ READ ONLY", -1, NULL, NULL,
	    store_simple_cb, NULL) == -1) {
		free(q);
		return rc != 0 ? rc : -1;
	}
	if (db_query_long(q->db, REPORT_DEADLINE_MS + 5000,
	    api_report_quality_sql, 7, v, lengths, quality_step_cb, q) == -1) {
		(void)db_query(q->db, "ROLLBACK", -1, NULL, NULL,
		    store_simple_cb, NULL);
		free(q);
		return -1;
	}
	rp->busy = 1;
	if (db_query_long_binres(q->db, REPORT_DEADLINE_MS + 5000,
	    quality_fetch_sql, 0, NULL, NULL, quality_rows_cb, q) == -1)
		q->last = 1;
	return 0;
}

/* ---- Segment memberships ---- */

int
store_members(struct store *st, const char *const *users,
    const char *const *accounts, size_t n, store_done_cb cb, void *arg)
{
	static const unsigned int types[2] = { OID_TEXT_ARRAY,
	    OID_TEXT_ARRAY };
	struct buf col[2];
	size_t i, counts[2] = { n, n };
	int err = 0;

	memset(col, 0, sizeof(col));
	err |= arr_begin(&col[0], OID_TEXT);
	err |= arr_begin(&col[1], OID_TEXT);
	for (i = 0; i < n && !err; i++) {
		err |= arr_text(&col[0], NULL, users[i]);
		err |= arr_text(&col[1], NULL, accounts[i]);
	}
	/* The last membership of a user in the request wins. */
	return write_arrays(st, "cw_members",
	    "INSERT INTO segment_members AS m (user_id, account_id)"
	    " SELECT DISTINCT ON (u) u, a FROM unnest($1, $2)"
	    " WITH ORDINALITY AS t(u, a, o) ORDER BY u, o DESC"
	    " ON CONFLICT (user_id) DO UPDATE SET account_id ="
	    " EXCLUDED.account_id, updated_at = now()",
	    col, counts, 2, types, err, cb, arg, "memberships");
}

/* ---- retention ---- */

#define RETENTION_CHUNK	"50000"

struct retention {
	struct store		*st;
	char			 horizon[16];
	store_retention_cb	 cb;
	void			*arg;
	uint64_t		 deleted;
	int			 step;
};

/*
 * Events past the horizon, but only those every partition's snapshots
 * already hold (commit_no at most the lowest watermark): an event that a
 * snapshot does not hold yet is still needed by the next restart's
 * replay.  Without a complete set of watermarks, the first start has not
 * stored its snapshots yet: nothing is deleted.
 */
#define STR_(x)	#x
#define STR(x)	STR_(x)
#define MARKS_COMPLETE \
    "(SELECT count(*) FROM snapshot_marks) >= " STR(ACCOUNT_PARTS)

static const char retention_events_sql[] =
    "WITH m AS (SELECT CASE WHEN " MARKS_COMPLETE " THEN"
    " (SELECT min(commit_no) FROM snapshot_marks) END AS mark),"
    " d AS (DELETE FROM events WHERE ctid = ANY (ARRAY("
    " SELECT ctid FROM events, m WHERE ts < now() - make_interval(days =>"
    " $1::integer) AND m.mark IS NOT NULL"
    " AND (commit_no IS NULL OR commit_no <= m.mark)"
    " LIMIT " RETENTION_CHUNK ")) RETURNING 1)"
    " SELECT count(*) FROM d";

/*
 * The rollups are read only by a first start without snapshots: once the
 * snapshots are stored, nothing reads them again.
 */
static const char *const retention_rest_sql[] = {
	"DELETE FROM rollup_daily WHERE $1::integer IS NOT NULL AND "
	MARKS_COMPLETE,
	"DELETE FROM rollup_seen WHERE $1::integer IS NOT NULL AND "
	MARKS_COMPLETE,
	"DELETE FROM rollup_hourly WHERE $1::integer IS NOT NULL AND "
	MARKS_COMPLETE,
	"DELETE FROM health_daily WHERE day < (now() AT TIME ZONE 'UTC')::date"
	" - 2 * $1::integer",
	/* Kept as long as the daily scores (SPEC 3: the daily rollups). */
	"DELETE FROM usage_daily WHERE day < (now() AT TIME ZONE 'UTC')::date"
	" - date '1970-01-01' - 2 * $1::integer",
	"DELETE FROM alerts WHERE state = 'resolved' AND resolved_at <"
	" now() - make_interval(days => 2 * $1::integer)",
	"DELETE FROM notifications WHERE state <> 'pending' AND created_at <"
	" now() - make_interval(days => 2 * $1::integer)",
	"DELETE FROM slack_messages m WHERE $1::integer IS NOT NULL AND"
	" NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = m.alert_id)",
};
#define NRETENTION_REST	(sizeof(retention_rest_sql) / \
	sizeof(retention_rest_sql[0]))

static void	retention_next(struct retention *);

static void
retention_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct retention *r = arg;
	uint64_t n;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: retention failed error=\"%s\"",
			    db_res_error(res));
		r->cb(STORE_UNAVAILABLE, r->deleted, r->arg);
		free(r);
		return;
	}
	if (r->step == 0) {
		n = db_res_ntuples(res) > 0 ?
		    strtoull(db_res_value(res, 0, 0), NULL, 10) : 0;
		r->deleted += n;
		if (n >= 50000) {		/* more old events: again */
			retention_next(r);
			return;
		}
	}
	r->step++;
	retention_next(r);
}

static void
retention_next(struct retention *r)
{
	const char *values[1] = { r->horizon };
	int lengths[1] = { (int)strlen(r->horizon) };
	const char *sql;

	if (r->step > (int)NRETENTION_REST) {
		r->cb(STORE_OK, r->deleted, r->arg);
		free(r);
		return;
	}
	sql = r->step == 0 ? retention_events_sql :
	    retention_rest_sql[r->step - 1];
	if (db_query(store_db(r->st), sql, 1, values, lengths,
	    retention_cb, r) == -1) {
		r->cb(STORE_UNAVAILABLE, r->deleted, r->arg);
		free(r);
	}
}

int
store_retention(struct store *st, unsigned horizon_days,
    store_retention_cb cb, void *arg)
{
	struct retention *r;

	if (!db_is_up(store_db(st)) || (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->st = st;
	r->cb = cb;
	r->arg = arg;
	snprintf(r->horizon, sizeof(r->horizon), "%u", horizon_days);
	retention_next(r);
	return 0;
}



/* ---- the usage rollup (012_usage_daily.sql) ---- */

/*
 * The usage events among e, per account and UTC day: counts, the logins
 * per hour (only hours with logins: from each group's login hours, a
 * subquery over its own array), the distinct users and features, the
 * newest ts.  WHERE is the step's.  One aggregation and no join: planned
 * on a table whose statistics are stale (it is being written), a join
 * of two grouped sets can become a nested loop over both.
 */
#define USAGE_AGG(where) \
    " a AS (SELECT (e.ts AT TIME ZONE 'UTC')::date - date '1970-01-01'" \
    "  AS day, e.account_id, count(*)::integer AS n," \
    "  (count(*) FILTER (WHERE e.type = 'login'))::integer AS logins," \
    "  array_agg(extract(hour FROM e.ts AT TIME ZONE 'UTC')::smallint)" \
    "   FILTER (WHERE e.type = 'login') AS lh," \
    "  coalesce(array_agg(DISTINCT e.user_id) FILTER (WHERE e.user_id IS" \
    "   NOT NULL), '{}') AS users," \
    "  coalesce(array_agg(DISTINCT e.props->>'feature') FILTER (WHERE" \
    "   e.type = 'feature_used' AND e.props->>'feature' IS NOT NULL)," \
    "   '{}') AS features," \
    "  max((extract(epoch FROM e.ts) * 1000000)::bigint) AS last_us" \
    "  FROM events e WHERE e.type IN ('login', 'feature_used')" \
    "  AND e.account_id <> '' AND e.commit_no IS NOT NULL AND " where \
    "  AND EXISTS (SELECT 1 FROM u) GROUP BY 1, 2)," \
    " i AS (INSERT INTO usage_daily (day, account_id, events, logins," \
    "  hours, hour_logins, users, features, last_us)" \
    "  SELECT day, account_id, n, logins," \
    "  coalesce((SELECT array_agg(h ORDER BY h) FROM (SELECT h" \
    "   FROM unnest(a.lh) h GROUP BY h) x), '{}')," \
    "  coalesce((SELECT array_agg(c ORDER BY h) FROM (SELECT h," \
    "   count(*)::integer AS c FROM unnest(a.lh) h GROUP BY h) y), '{}')," \
    "  users, features, last_us FROM a RETURNING 1)" \
    " SELECT u.commit_no, u.day, (SELECT count(*) FROM i) FROM u"

/*
 * The commits in ($1, $3] of the days before $2.  The mark moves only
 * from where this daemon last saw it ($1, $2): should another process
 * have moved it, u is empty and nothing is inserted.
 */
static const char usage_commits_sql[] =
    "WITH u AS (UPDATE usage_mark SET commit_no = $3::int8"
    " WHERE commit_no = $1::int8 AND day = $2::integer"
    " RETURNING commit_no, day),"
    USAGE_AGG("e.commit_no > $1::int8 AND e.commit_no <= $3::int8"
    " AND e.ts < to_timestamp($2::integer * 86400::float8)");

/* The same with no back-fill among them (store_usage_flags()). */
static const char usage_skip_sql[] =
    "UPDATE usage_mark SET commit_no = $3::int8"
    " WHERE commit_no = $1::int8 AND day = $2::integer"
    " RETURNING commit_no, day, 0";

/* The commits up to $1 of day $2, which then joins the rectangle. */
static const char usage_day_sql[] =
    "WITH u AS (UPDATE usage_mark SET day = $2::integer + 1"
    " WHERE commit_no = $1::int8 AND day = $2::integer"
    " RETURNING commit_no, day),"
    USAGE_AGG("e.commit_no <= $1::int8"
    " AND e.ts >= to_timestamp($2::integer * 86400::float8)"
    " AND e.ts < to_timestamp(($2::integer + 1) * 86400::float8)");

struct usage_q {
	store_usage_cb		 cb;
	void			*arg;
	struct store_usage_mark	 mark;
};

static void
usage_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct usage_q *q = arg;
	uint64_t rows = 0;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: usage rollup failed error=\"%s\"",
			    db_res_error(res));
		q->cb(STORE_UNAVAILABLE, &q->mark, 0, q->arg);
		free(q);
		return;
	}
	if (db_res_ntuples(res) > 0) {
		q->mark.commit = strtoll(db_res_value(res, 0, 0), NULL, 10);
		q->mark.day = (int32_t)atol(db_res_value(res, 0, 1));
		rows = strtoull(db_res_value(res, 0, 2), NULL, 10);
		q->cb(STORE_OK, &q->mark, rows, q->arg);
	} else {
		log_warnx("store: usage rollup: the mark moved under us; "
		    "reading it again");
		q->cb(STORE_UNAVAILABLE, NULL, 0, q->arg);
	}
	free(q);
}

int
store_usage_read(struct db *db, store_usage_cb cb, void *arg)
{
	struct usage_q *q;

	if (!db_is_up(db) || (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->cb = cb;
	q->arg = arg;
	if (db_query(db, "SELECT commit_no, day, 0 FROM usage_mark", 0, NULL,
	    NULL, usage_cb, q) == -1) {
		free(q);
		return -1;
	}
	return 0;
}

int
store_usage_step(struct db *db, const struct store_usage_mark *mark,
    int64_t commit, int scan, int32_t today, store_usage_cb cb, void *arg)
{
	char v0[24], v1[24], v2[24];
	const char *values[3] = { v0, v1, v2 };
	int lengths[3];
	struct usage_q *q;
	const char *sql;

	if (commit > mark->commit)
		sql = scan ? usage_commits_sql : usage_skip_sql;
	else if (mark->day < today)
		sql = usage_day_sql;
	else
		return 1;	/* nothing to do */
	if (!db_is_up(db) || (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->cb = cb;
	q->arg = arg;
	q->mark = *mark;
	lengths[0] = snprintf(v0, sizeof(v0), "%lld", (long long)mark->commit);
	lengths[1] = snprintf(v1, sizeof(v1), "%ld", (long)mark->day);
	lengths[2] = snprintf(v2, sizeof(v2), "%lld", (long long)commit);
	if (db_query_long(db, 0, sql, sql == usage_day_sql ? 2 : 3,
	    values, lengths, usage_cb, q) == -1) {
		free(q);
		return -1;
	}
	return 0;
}
