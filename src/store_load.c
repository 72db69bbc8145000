/*
 * store_load.c -- what start-up reads (the id hash key, the watermarks,
 * accounts, snapshots, the events to replay; or, before any snapshot,
 * the rollups) and the snapshot writes (see store.h).
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

/* ---- recovery ---- */

/*
 * A paged query: rows come back in key order, LIMIT at a time; the next
 * page starts after the last key seen (keyset paging), so memory stays
 * bounded and no cursor is held open across the loop.
 */
#define LOAD_PAGE	20000

struct store_loader;

/* Which start a step belongs to (see store_load). */
enum load_when { LOAD_ALWAYS, LOAD_LEGACY, LOAD_SNAPSHOTS };

struct load_step {
	const char	*sql_first;	/* $1 = since_day */
	const char	*sql_next;	/* $1 = since_day, $2.. = last key */
	int		 nkeys;		/* key columns, first in each row */
	void		(*row)(struct store_loader *, const struct db_res *,
			    int);
	/* Or a step of its own, which calls load_next() when done. */
	void		(*run)(struct store_loader *);
	enum load_when	 when;
};

/* A partition's watermark as stored (snapshot_marks). */
struct load_mark {
	int64_t		 mark;
	int64_t		*above;		/* sorted */
	size_t		 nabove;
};

struct store_loader {
	struct store			*st;
	const struct store_load_ops	*ops;
	void				*arg;
	char				 since[16];
	size_t				 step;
	char				*key[3];
	int				 legacy;	/* no snapshots yet */
	struct load_mark		 marks[ACCOUNT_PARTS];
	int64_t				 replay_from;	/* min mark */
	char				**rebuild;	/* sorted account ids */
	size_t				 nrebuild, caprebuild;
	int64_t				 t_step;	/* when the step began */
	int				 in_txn;	/* BEGIN sent, no COMMIT */
	int				 cursor;	/* cw_load is open */
	int				 oom;		/* finish at the next batch */
	size_t				 nsnap, nreplay;
};

static void
row_daily(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->daily(ld->arg, db_res_value(r, i, 0),
	    (int32_t)atol(db_res_value(r, i, 2)),
	    (unsigned)strtoul(db_res_value(r, i, 3), NULL, 10));
}

static void
row_hourly(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->hourly(ld->arg, db_res_value(r, i, 0),
	    strtoll(db_res_value(r, i, 2), NULL, 10),
	    (unsigned)strtoul(db_res_value(r, i, 3), NULL, 10));
}

static void
row_seen(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->seen(ld->arg, db_res_value(r, i, 0), db_res_value(r, i, 1)[0],
	    db_res_value(r, i, 2), (int32_t)atol(db_res_value(r, i, 3)));
}

static void
row_event(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->event(ld->arg, db_res_value(r, i, 2), db_res_value(r, i, 3),
	    db_res_value(r, i, 4), strtoll(db_res_value(r, i, 5), NULL, 10),
	    db_res_value(r, i, 6), db_res_value(r, i, 7));
}

static void
row_score(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->score(ld->arg, db_res_value(r, i, 0),
	    (int32_t)atol(db_res_value(r, i, 2)),
	    atoi(db_res_value(r, i, 3)));
}

static int64_t
us_or_zero(const char *v)
{
	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

static void
row_alert(struct store_loader *ld, const struct db_res *r, int i)
{
	struct store_alert a;

	a.id = strtoull(db_res_value(r, i, 0), NULL, 10);
	a.account_id = db_res_value(r, i, 1);
	a.signal = db_res_value(r, i, 2);
	a.fingerprint = db_res_value(r, i, 3);
	a.state = db_res_value(r, i, 4);
	a.severity = db_res_value(r, i, 5);
	a.started_at = us_or_zero(db_res_value(r, i, 6));
	a.inactive_since = us_or_zero(db_res_value(r, i, 7));
	a.resolved_at = us_or_zero(db_res_value(r, i, 8));
	a.last_notified = us_or_zero(db_res_value(r, i, 9));
	a.explanation = db_res_value(r, i, 11);
	a.key = db_res_value(r, i, 12);
	ld->ops->alert(ld->arg, &a, us_or_zero(db_res_value(r, i, 10)));
}

static void
row_notification(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->notification(ld->arg, db_res_value(r, i, 1),
	    db_res_value(r, i, 2), db_res_value(r, i, 3));
}

static void
row_silence(struct store_loader *ld, const struct db_res *r, int i)
{
	const char *eor = db_res_value(r, i, 5);

	ld->ops->silence(ld->arg, strtoull(db_res_value(r, i, 0), NULL, 10),
	    db_res_value(r, i, 1), db_res_value(r, i, 2),
	    db_res_value(r, i, 3), us_or_zero(db_res_value(r, i, 4)),
	    eor != NULL && eor[0] == 't');
}

static void
row_coverage(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->coverage(ld->arg, db_res_value(r, i, 0)[0],
	    db_res_value(r, i, 1), (int32_t)atol(db_res_value(r, i, 3)));
}

static void
row_member(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->member(ld->arg, db_res_value(r, i, 0), db_res_value(r, i, 1));
}

static void
row_slack_message(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->slack_message(ld->arg, strtoull(db_res_value(r, i, 0), NULL,
	    10), db_res_value(r, i, 1), db_res_value(r, i, 2),
	    db_res_value(r, i, 3));
}

#define US(col)		"(extract(epoch FROM " col ") * 1000000)::bigint"
#define DAYNUM(col)	"(" col " - date '1970-01-01')"
#define SINCE_DATE	"(date '1970-01-01' + $1::integer)"

static void	step_key(struct store_loader *);
static void	step_marks(struct store_loader *);
static void	step_accounts(struct store_loader *);
static void	step_snapshots(struct store_loader *);
static void	step_rebuild(struct store_loader *);
static void	step_replay(struct store_loader *);

#define CUSTOM(fn, when)	{ NULL, NULL, 0, NULL, fn, when }

static const struct load_step load_steps[] = {
	CUSTOM(step_key, LOAD_ALWAYS),
	CUSTOM(step_marks, LOAD_ALWAYS),
	CUSTOM(step_accounts, LOAD_ALWAYS),
	{ "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL ORDER BY kind, key LIMIT 20000",
	  "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL AND (kind, key) > ($2::\"char\", $3)"
	  " ORDER BY kind, key LIMIT 20000",
	  2, row_coverage, NULL, LOAD_LEGACY },
	/* An account's first day is in its snapshot: only the classes. */
	{ "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL AND kind = 'c'"
	  " ORDER BY kind, key LIMIT 20000",
	  "SELECT kind, key, day, " DAYNUM("day") " FROM coverage"
	  " WHERE $1::integer IS NOT NULL AND kind = 'c'"
	  " AND (kind, key) > ($2::\"char\", $3)"
	  " ORDER BY kind, key LIMIT 20000",
	  2, row_coverage, NULL, LOAD_SNAPSHOTS },
	{ "SELECT account_id, day, " DAYNUM("day") ", logins FROM rollup_daily"
	  " WHERE day >= " SINCE_DATE
	  " ORDER BY account_id, day LIMIT 20000",
	  "SELECT account_id, day, " DAYNUM("day") ", logins FROM rollup_daily"
	  " WHERE day >= " SINCE_DATE " AND (account_id, day) > ($2, $3::date)"
	  " ORDER BY account_id, day LIMIT 20000",
	  2, row_daily, NULL, LOAD_LEGACY },
	{ "SELECT account_id, hour_utc,"
	  " (extract(epoch FROM hour_utc) / 3600)::bigint, logins"
	  " FROM rollup_hourly"
	  " WHERE $1::integer IS NOT NULL"
	  " AND hour_utc > (now() AT TIME ZONE 'UTC') - interval '49 hours'"
	  " ORDER BY account_id, hour_utc LIMIT 20000",
	  "SELECT account_id, hour_utc,"
	  " (extract(epoch FROM hour_utc) / 3600)::bigint, logins"
	  " FROM rollup_hourly"
	  " WHERE $1::integer IS NOT NULL"
	  " AND hour_utc > (now() AT TIME ZONE 'UTC') - interval '49 hours'"
	  " AND (account_id, hour_utc) > ($2, $3::timestamp)"
	  " ORDER BY account_id, hour_utc LIMIT 20000",
	  2, row_hourly, NULL, LOAD_LEGACY },
	{ "SELECT account_id, kind, key, " DAYNUM("day") " FROM rollup_seen"
	  " WHERE day >= " SINCE_DATE
	  " ORDER BY account_id, kind, key LIMIT 20000",
	  "SELECT account_id, kind, key, " DAYNUM("day") " FROM rollup_seen"
	  " WHERE day >= " SINCE_DATE
	  " AND (account_id, kind, key) > ($2, $3::\"char\", $4)"
	  " ORDER BY account_id, kind, key LIMIT 20000",
	  3, row_seen, NULL, LOAD_LEGACY },
	{ "SELECT ts, source, id, account_id, type,"
	  " (extract(epoch FROM ts) * 1000000)::bigint, user_id, props::text"
	  " FROM events WHERE type NOT IN ('login', 'feature_used')"
	  " AND ts >= " SINCE_DATE
	  " ORDER BY ts, source, id LIMIT 20000",
	  "SELECT ts, source, id, account_id, type,"
	  " (extract(epoch FROM ts) * 1000000)::bigint, user_id, props::text"
	  " FROM events WHERE type NOT IN ('login', 'feature_used')"
	  " AND ts >= " SINCE_DATE
	  " AND (ts, source, id) > ($2::timestamptz, $3, $4)"
	  " ORDER BY ts, source, id LIMIT 20000",
	  3, row_event, NULL, LOAD_LEGACY },
	CUSTOM(step_snapshots, LOAD_SNAPSHOTS),
	CUSTOM(step_rebuild, LOAD_SNAPSHOTS),
	CUSTOM(step_replay, LOAD_SNAPSHOTS),
	{ "SELECT account_id, day, " DAYNUM("day") ", score FROM health_daily"
	  " WHERE day >= " SINCE_DATE
	  " ORDER BY account_id, day LIMIT 20000",
	  "SELECT account_id, day, " DAYNUM("day") ", score FROM health_daily"
	  " WHERE day >= " SINCE_DATE " AND (account_id, day) > ($2, $3::date)"
	  " ORDER BY account_id, day LIMIT 20000",
	  2, row_score, NULL, LOAD_LEGACY },
	{ "SELECT id, account_id, signal, fingerprint, state, severity, "
	  US("started_at") ", " US("inactive_since") ", " US("resolved_at")
	  ", " US("last_notified") ", " US("acked_at") ", explanation, key"
	  " FROM alerts WHERE (state <> 'resolved'"
	  " OR resolved_at >= now() - interval '1 day')"
	  " AND $1::integer IS NOT NULL"
	  " ORDER BY id LIMIT 20000",
	  "SELECT id, account_id, signal, fingerprint, state, severity, "
	  US("started_at") ", " US("inactive_since") ", " US("resolved_at")
	  ", " US("last_notified") ", " US("acked_at") ", explanation, key"
	  " FROM alerts WHERE (state <> 'resolved'"
	  " OR resolved_at >= now() - interval '1 day')"
	  " AND $1::integer IS NOT NULL"
	  " AND id > $2::bigint ORDER BY id LIMIT 20000",
	  1, row_alert, NULL, LOAD_ALWAYS },
	{ "SELECT created_at, id, receiver, body FROM notifications"
	  " WHERE state = 'pending' AND $1::integer IS NOT NULL"
	  " ORDER BY created_at, id LIMIT 20000",
	  "SELECT created_at, id, receiver, body FROM notifications"
	  " WHERE state = 'pending' AND $1::integer IS NOT NULL"
	  " AND (created_at, id) > ($2::timestamptz, $3)"
	  " ORDER BY created_at, id LIMIT 20000",
	  2, row_notification, NULL, LOAD_ALWAYS },
	{ "SELECT id, account_id, signal, category, " US("until")
	  ", expire_on_resolve FROM silences"
	  " WHERE ended_at IS NULL AND until > now()"
	  " AND $1::integer IS NOT NULL ORDER BY id LIMIT 20000",
	  "SELECT id, account_id, signal, category, " US("until")
	  ", expire_on_resolve FROM silences"
	  " WHERE ended_at IS NULL AND until > now()"
	  " AND $1::integer IS NOT NULL AND id > $2::bigint"
	  " ORDER BY id LIMIT 20000",
	  1, row_silence, NULL, LOAD_ALWAYS },
	{ "SELECT user_id, account_id FROM segment_members"
	  " WHERE $1::integer IS NOT NULL ORDER BY user_id LIMIT 20000",
	  "SELECT user_id, account_id FROM segment_members"
	  " WHERE $1::integer IS NOT NULL AND user_id > $2"
	  " ORDER BY user_id LIMIT 20000",
	  1, row_member, NULL, LOAD_ALWAYS },
	{ "SELECT m.alert_id, m.receiver, m.channel, m.ts FROM slack_messages m"
	  " JOIN alerts a ON a.id = m.alert_id WHERE a.state <> 'resolved'"
	  " AND $1::integer IS NOT NULL ORDER BY m.alert_id, m.receiver"
	  " LIMIT 20000",
	  "SELECT m.alert_id, m.receiver, m.channel, m.ts FROM slack_messages m"
	  " JOIN alerts a ON a.id = m.alert_id WHERE a.state <> 'resolved'"
	  " AND $1::integer IS NOT NULL"
	  " AND (m.alert_id, m.receiver) > ($2::bigint, $3)"
	  " ORDER BY m.alert_id, m.receiver LIMIT 20000",
	  2, row_slack_message, NULL, LOAD_ALWAYS },
};
#define NLOAD_STEPS	(sizeof(load_steps) / sizeof(load_steps[0]))

static void	load_page(struct store_loader *);

static void
load_finish(struct store_loader *ld, int ok)
{
	size_t i;
	int k;

	/* A cursor left open by a failure: end its transaction. */
	if (ld->in_txn)
		(void)db_query(store_db(ld->st), "ROLLBACK", -1, NULL,
		    NULL, store_simple_cb, NULL);
	for (k = 0; k < 3; k++)
		free(ld->key[k]);
	for (i = 0; i < ACCOUNT_PARTS; i++)
		free(ld->marks[i].above);
	for (i = 0; i < ld->nrebuild; i++)
		free(ld->rebuild[i]);
	free(ld->rebuild);
	if (ok && !ld->legacy)
		log_info("store: loaded snapshots=%zu replayed=%zu "
		    "rebuilt=%zu", ld->nsnap, ld->nreplay, ld->nrebuild);
	ld->ops->done(ld->arg, ok);
	free(ld);
}

/* The step is over: on to the next one of this kind of start. */
static void
load_next(struct store_loader *ld)
{
	const struct load_step *step;
	int64_t now = util_now_us();

	log_debug("store: load step=%zu ms=%lld", ld->step,
	    (long long)((now - ld->t_step) / 1000));
	ld->t_step = now;
	for (ld->step++; ld->step < NLOAD_STEPS; ld->step++) {
		step = &load_steps[ld->step];
		if (step->when == LOAD_ALWAYS ||
		    (step->when == LOAD_LEGACY) == (ld->legacy != 0))
			break;
	}
	load_page(ld);
}

static void
load_page_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	const struct load_step *step = &load_steps[ld->step];
	int i, k, n;

	if (status != DB_OK) {
		if (status == DB_ERROR)
			log_warnx("store: loading failed error=\"%s\"",
			    db_res_error(res));
		load_finish(ld, 0);
		return;
	}
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++)
		step->row(ld, res, i);
	if (n == LOAD_PAGE) {
		for (k = 0; k < step->nkeys; k++) {
			free(ld->key[k]);
			if ((ld->key[k] = strdup(db_res_value(res, n - 1,
			    k))) == NULL) {
				load_finish(ld, 0);
				return;
			}
		}
		load_page(ld);
		return;
	}
	for (k = 0; k < 3; k++) {
		free(ld->key[k]);
		ld->key[k] = NULL;
	}
	load_next(ld);
}

static void
load_page(struct store_loader *ld)
{
	const struct load_step *step;
	const char *values[4];
	int lengths[4], k, n = 1;

	if (ld->step == NLOAD_STEPS) {
		load_finish(ld, 1);
		return;
	}
	step = &load_steps[ld->step];
	if (step->run != NULL) {
		step->run(ld);
		return;
	}
	values[0] = ld->since;
	lengths[0] = (int)strlen(ld->since);
	if (ld->key[0] != NULL) {
		for (k = 0; k < step->nkeys; k++) {
			values[1 + k] = ld->key[k];
			lengths[1 + k] = (int)strlen(ld->key[k]);
		}
		n += step->nkeys;
	}
	if (db_query(store_db(ld->st), ld->key[0] != NULL ?
	    step->sql_next : step->sql_first, n, values, lengths,
	    load_page_cb, ld) == -1)
		load_finish(ld, 0);
}

/* A query of a step of its own could not be queued: give up. */
#define LOAD_QUERY(ld, call)	do {					\
	if ((call) == -1)						\
		load_finish((ld), 0);					\
} while (0)

static int
load_failed(struct store_loader *ld, enum db_status status,
    const struct db_res *res, const char *what)
{
	if (status == DB_OK)
		return 0;
	if (status == DB_ERROR)
		log_warnx("store: loading %s failed error=\"%s\"", what,
		    db_res_error(res));
	load_finish(ld, 0);
	return 1;
}

/* ---- the id hash key (util_hash_id) ---- */

/*
 * Drawn once, by whichever daemon starts first, and kept: the window ids
 * in every snapshot were hashed with it.  The CTE inserts a new key only
 * when there is none; the UNION reads whichever is there.
 */
static const char key_sql[] =
    "WITH k AS (INSERT INTO settings (name, value)"
    " VALUES ('window_hash_key', $1::bytea) ON CONFLICT (name) DO NOTHING"
    " RETURNING value)"
    " SELECT value FROM k UNION ALL"
    " SELECT value FROM settings WHERE name = 'window_hash_key'";

static void
key_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	if (load_failed(ld, status, res, "the hash key"))
		return;
	if (db_res_ntuples(res) < 1 || db_res_length(res, 0, 0) != 16) {
		log_warnx("store: settings.window_hash_key is not 16 bytes");
		load_finish(ld, 0);
		return;
	}
	util_hash_id_set_key((const unsigned char *)db_res_value(res, 0, 0));
	load_next(ld);
}

static void
step_key(struct store_loader *ld)
{
	static const unsigned int types[1] = { OID_BYTEA };
	unsigned char key[16];
	const char *values[1] = { (const char *)key };
	int lengths[1] = { 16 };

	if (util_random(key, sizeof(key)) == -1) {
		log_warnx("store: no randomness for a new hash key");
		load_finish(ld, 0);
		return;
	}
	LOAD_QUERY(ld, db_query_binres(store_db(ld->st), key_sql, 1, types,
	    values, lengths, key_cb, ld));
}

/* ---- the watermarks ---- */

/*
 * The last commit number used.  Commits that stored nothing (duplicates
 * only) leave no row, but watermarks pass them: the usage rollup's mark
 * may stand above every stored one, and a number it has passed must not
 * be handed out again.
 */
static const char last_sql[] =
    "SELECT greatest((SELECT max(commit_no) FROM events),"
    " (SELECT max(commit_no) FROM snapshot_marks),"
    " (SELECT max(commit_no) FROM usage_mark),"
    " (SELECT max(a) FROM snapshot_marks, unnest(applied) a), 0)";
static const char marks_sql[] =
    "SELECT part, commit_no, array_to_string(applied, ' ')"
    " FROM snapshot_marks";

/* "1 5 7" -> a sorted array; -1 when out of memory. */
static int
parse_above(const char *s, int64_t **out, size_t *n)
{
	size_t cap = 0;
	int64_t *p, v;
	char *end;

	*out = NULL;
	*n = 0;
	while (s != NULL && *s != '\0') {
		v = strtoll(s, &end, 10);
		if (end == s)
			break;
		s = end;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((p = reallocarray(*out, cap, sizeof(*p))) == NULL)
				return -1;
			*out = p;
		}
		(*out)[(*n)++] = v;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), util_cmp_i64);
	return 0;
}

static void
marks_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	struct load_mark *m;
	int i, n, part, have = 0;

	if (load_failed(ld, status, res, "the snapshot marks"))
		return;
	n = db_res_ntuples(res);
	ld->replay_from = INT64_MAX;
	for (i = 0; i < n; i++) {
		part = atoi(db_res_value(res, i, 0));
		if (part < 0 || part >= ACCOUNT_PARTS)
			continue;	/* written with more partitions */
		m = &ld->marks[part];
		m->mark = strtoll(db_res_value(res, i, 1), NULL, 10);
		if (parse_above(db_res_value(res, i, 2), &m->above,
		    &m->nabove) == -1) {
			load_finish(ld, 0);
			return;
		}
		if (m->mark < ld->replay_from)
			ld->replay_from = m->mark;
		have++;
	}
	/*
	 * Every partition has a mark once the first full pass is stored
	 * (engine); fewer: the windows are still what the rollups say
	 * (a database from before snapshots, or a first pass cut short,
	 * while ingest was held).
	 */
	ld->legacy = have < ACCOUNT_PARTS;
	if (ld->ops->marks != NULL)
		ld->ops->marks(ld->arg, ld->legacy);
	log_info("store: loading from %s", ld->legacy ? "rollups and events "
	    "(no snapshots yet)" : "snapshots");
	ld->step = 0;		/* load_next skips what this start does not do */
	while (load_steps[ld->step].run != step_marks)
		ld->step++;
	load_next(ld);
}

static void
last_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	if (load_failed(ld, status, res, "the last commit"))
		return;
	store_commit_start(ld->st, strtoll(db_res_value(res, 0, 0), NULL,
	    10));
	LOAD_QUERY(ld, db_query(store_db(ld->st), marks_sql, 0, NULL,
	    NULL, marks_cb, ld));
}

static void
step_marks(struct store_loader *ld)
{
	LOAD_QUERY(ld, db_query(store_db(ld->st), last_sql, 0, NULL, NULL,
	    last_cb, ld));
}

/* ---- accounts: one cursor, large fetches in binary ---- */

static void	cursor_open_cb(enum db_status, const struct db_res *, void *);
static void	cursor_close(struct store_loader *);

/*
 * A one-dimensional text[] in binary (array_send): its elements into
 * el/len (not NUL-terminated), at most max of them.  -1 if malformed.
 */
static int
parse_text_array(const unsigned char *p, size_t n, const char **el,
    size_t *len, size_t max, size_t *nel)
{
	uint32_t ndim, count, l, i;
	size_t off;

	*nel = 0;
	if (n < 12)
		return -1;
	ndim = get32(p);
	if (ndim == 0)
		return 0;
	if (ndim != 1 || n < 20)
		return -1;
	count = get32(p + 12);
	off = 20;
	for (i = 0; i < count; i++) {
		if (n - off < 4)
			return -1;
		l = get32(p + off);
		off += 4;
		if (l == UINT32_MAX)
			continue;		/* NULL: no feature */
		if (n - off < l)
			return -1;
		if (*nel < max) {
			el[*nel] = (const char *)p + off;
			len[(*nel)++] = l;
		}
		off += l;
	}
	return 0;
}

#define ACCOUNT_FETCH_N	20000
#define ACCOUNT_FETCH	"FETCH 20000 FROM cw_load"

static void
account_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	const char *core[255], *v;
	size_t core_len[255];
	struct account_meta m;
	int i, n;

	if (load_failed(ld, status, res, "accounts"))
		return;
	n = db_res_ntuples(res);
	/* The next batch is produced while this one is taken in. */
	if (n == ACCOUNT_FETCH_N && db_query_binres(store_db(ld->st),
	    ACCOUNT_FETCH, 0, NULL, NULL, NULL, account_rows_cb, ld) == -1) {
		load_finish(ld, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.name = db_res_value(res, i, 1);
		m.plan = db_res_value(res, i, 2);
		m.segment = db_res_value(res, i, 3);
		m.owner = db_res_value(res, i, 5);
		m.slack_channel = db_res_value(res, i, 6);
		v = db_res_value(res, i, 4);
		m.seats = v != NULL && db_res_length(res, i, 4) == 4 ?
		    (int32_t)get32((const unsigned char *)v) : -1;
		v = db_res_value(res, i, 7);
		m.onboarded_at = v != NULL && db_res_length(res, i, 7) == 8 ?
		    get64((const unsigned char *)v) : 0;
		v = db_res_value(res, i, 8);
		m.renewal_at = v != NULL && db_res_length(res, i, 8) == 8 ?
		    get64((const unsigned char *)v) : 0;
		v = db_res_value(res, i, 9);
		if (v != NULL && parse_text_array((const unsigned char *)v,
		    (size_t)db_res_length(res, i, 9), core, core_len, 255,
		    &m.ncore) == -1)
			m.ncore = 0;
		m.core = core;
		m.core_len = core_len;
		ld->ops->account(ld->arg, db_res_value(res, i, 0), &m);
	}
	if (n < ACCOUNT_FETCH_N)
		cursor_close(ld);
}

static void
step_accounts(struct store_loader *ld)
{
	if (!ld->cursor) {
		ld->in_txn = 1;
		LOAD_QUERY(ld, db_query(store_db(ld->st),
		    "BEGIN READ ONLY; DECLARE cw_load NO SCROLL CURSOR FOR"
		    " SELECT id, name, plan, segment, seats, owner,"
		    " slack_channel, " US("onboarded_at") ", "
		    US("renewal_at") ", core_features FROM accounts"
		    " ORDER BY id",
		    -1, NULL, NULL, cursor_open_cb, ld));
		return;
	}
	LOAD_QUERY(ld, db_query_binres(store_db(ld->st), ACCOUNT_FETCH, 0,
	    NULL, NULL, NULL, account_rows_cb, ld));
}

/* ---- snapshots: one cursor, large fetches in binary ---- */

#define SNAP_FETCH	"FETCH 20000 FROM cw_load"
#define SNAP_FETCH_N	20000

static int
rebuild_add(struct store_loader *ld, const char *id)
{
	char **p;
	size_t cap;

	if (ld->nrebuild == ld->caprebuild) {
		cap = ld->caprebuild ? ld->caprebuild * 2 : 64;
		if ((p = reallocarray(ld->rebuild, cap, sizeof(*p))) == NULL)
			return -1;
		ld->rebuild = p;
		ld->caprebuild = cap;
	}
	if ((ld->rebuild[ld->nrebuild] = strdup(id)) == NULL)
		return -1;
	ld->nrebuild++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
rebuilding(const struct store_loader *ld, const char *id)
{
	return ld->nrebuild > 0 && bsearch(&id, ld->rebuild, ld->nrebuild,
	    sizeof(*ld->rebuild), cmp_str) != NULL;
}

static void
cursor_closed_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	ld->in_txn = 0;
	ld->cursor = 0;
	if (load_failed(ld, status, res, "(closing a cursor)"))
		return;
	load_next(ld);
}

static void
cursor_close(struct store_loader *ld)
{
	LOAD_QUERY(ld, db_query(store_db(ld->st), "COMMIT", -1, NULL,
	    NULL, cursor_closed_cb, ld));
}

static void
snap_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	const char *id;
	int i, n;

	if (load_failed(ld, status, res, "snapshots"))
		return;
	if (ld->oom) {		/* an earlier batch ran out of memory */
		load_finish(ld, 0);
		return;
	}
	n = db_res_ntuples(res);
	/* The next batch is produced while this one is decoded. */
	if (n == SNAP_FETCH_N && db_query_binres(store_db(ld->st),
	    SNAP_FETCH, 0, NULL, NULL, NULL, snap_rows_cb, ld) == -1) {
		load_finish(ld, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		id = db_res_value(res, i, 0);
		ld->nsnap++;
		if (ld->ops->snapshot(ld->arg, id, db_res_value(res, i, 1),
		    (size_t)db_res_length(res, i, 1)) == 0)
			continue;
		/* Not readable here: rebuilt from all its events. */
		if (rebuild_add(ld, id) == -1)
			ld->oom = 1;
	}
	if (n == SNAP_FETCH_N)
		return;
	if (ld->oom) {
		load_finish(ld, 0);
		return;
	}
	if (ld->nrebuild > 1)
		qsort(ld->rebuild, ld->nrebuild, sizeof(*ld->rebuild),
		    cmp_str);
	cursor_close(ld);
}

static void
cursor_open_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;

	if (load_failed(ld, status, res, "(opening a cursor)"))
		return;
	ld->cursor = 1;
	load_page(ld);		/* the step's second stage: fetch */
}

static void
step_snapshots(struct store_loader *ld)
{
	if (!ld->cursor) {
		ld->in_txn = 1;
		LOAD_QUERY(ld, db_query(store_db(ld->st),
		    "BEGIN READ ONLY; DECLARE cw_load NO SCROLL CURSOR FOR"
		    " SELECT account_id, image FROM snapshots"
		    " ORDER BY account_id", -1, NULL, NULL,
		    cursor_open_cb, ld));
		return;
	}
	LOAD_QUERY(ld, db_query_binres(store_db(ld->st), SNAP_FETCH, 0,
	    NULL, NULL, NULL, snap_rows_cb, ld));
}

/* ---- events: of accounts to rebuild, and after the watermarks ---- */

#define EVENT_COLS \
    "commit_no, id, account_id, type," \
    " (extract(epoch FROM ts) * 1000000)::bigint, user_id, props::text"

static void
event_row(struct store_loader *ld, const struct db_res *r, int i)
{
	ld->ops->event(ld->arg, db_res_value(r, i, 1), db_res_value(r, i, 2),
	    db_res_value(r, i, 3), strtoll(db_res_value(r, i, 4), NULL, 10),
	    db_res_value(r, i, 5), db_res_value(r, i, 6));
}

static void
rebuild_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	int i, n;

	if (load_failed(ld, status, res, "events to rebuild from"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++)
		event_row(ld, res, i);
	log_notice("store: rebuilt from events accounts=%zu events=%d",
	    ld->nrebuild, n);
	load_next(ld);
}

/*
 * Snapshots this build cannot read (another format, another key, a torn
 * write): every stored event of those accounts, by ts.  Rare, and each
 * account's history is bounded by the horizon, so one query.
 */
static void
step_rebuild(struct store_loader *ld)
{
	static const char sql[] =
	    "SELECT " EVENT_COLS " FROM events"
	    " WHERE account_id = ANY($1) ORDER BY ts, source, id";
	static const unsigned int types[1] = { OID_TEXT_ARRAY };
	struct buf b = { NULL, 0, 0 };
	const char *values[1];
	int lengths[1], err;
	size_t i;

	if (ld->nrebuild == 0) {
		load_next(ld);
		return;
	}
	for (i = 0; i < ld->nrebuild; i++)
		log_warnx("store: snapshot not readable, rebuilding from "
		    "events account=%s", ld->rebuild[i]);
	err = arr_begin(&b, OID_TEXT);
	for (i = 0; i < ld->nrebuild; i++)
		err |= arr_text(&b, NULL, ld->rebuild[i]);
	if (err) {
		free(b.p);
		load_finish(ld, 0);
		return;
	}
	arr_end(&b, ld->nrebuild);
	values[0] = b.p;
	lengths[0] = (int)b.len;
	err = db_query_binary(store_db(ld->st), NULL, sql, 1, types,
	    values, lengths, rebuild_cb, ld);
	free(b.p);
	if (err == -1)
		load_finish(ld, 0);
}

/* Whether the snapshot of the event's account already holds it. */
static int
replay_wanted(const struct store_loader *ld, int64_t commit,
    const char *account_id)
{
	const struct load_mark *m;

	if (account_id[0] == '\0' || rebuilding(ld, account_id))
		return 0;
	m = &ld->marks[account_part(account_id)];
	if (commit <= m->mark)
		return 0;
	return m->nabove == 0 || bsearch(&commit, m->above, m->nabove,
	    sizeof(*m->above), util_cmp_i64) == NULL;
}

static void
replay_rows_cb(enum db_status status, const struct db_res *res, void *arg)
{
	struct store_loader *ld = arg;
	int i, n;

	if (load_failed(ld, status, res, "events after the snapshots"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++)
		if (replay_wanted(ld, strtoll(db_res_value(res, i, 0), NULL,
		    10), db_res_value(res, i, 2))) {
			event_row(ld, res, i);
			ld->nreplay++;
		}
	if (n == SNAP_FETCH_N) {
		LOAD_QUERY(ld, db_query(store_db(ld->st), SNAP_FETCH, 0,
		    NULL, NULL, replay_rows_cb, ld));
		return;
	}
	cursor_close(ld);
}

/*
 * The events committed after the oldest watermark, in commit order (a
 * commit's own events by ts), through the same apply code as live ones;
 * each is skipped where its partition's snapshot already holds it.
 */
static void
step_replay(struct store_loader *ld)
{
	static const char sql[] =
	    "DECLARE cw_load NO SCROLL CURSOR FOR"
	    " SELECT " EVENT_COLS " FROM events WHERE commit_no > $1::bigint"
	    " ORDER BY commit_no, ts, source, id";
	char from[24];
	const char *values[1] = { from };
	int lengths[1];

	if (ld->cursor) {
		LOAD_QUERY(ld, db_query(store_db(ld->st), SNAP_FETCH, 0,
		    NULL, NULL, replay_rows_cb, ld));
		return;
	}
	ld->in_txn = 1;
	lengths[0] = snprintf(from, sizeof(from), "%lld",
	    (long long)ld->replay_from);
	if (db_query(store_db(ld->st), "BEGIN READ ONLY", -1, NULL, NULL,
	    store_simple_cb, NULL) == -1 ||
	    db_query(store_db(ld->st), sql, 1, values, lengths,
	    cursor_open_cb, ld) == -1)
		load_finish(ld, 0);
}

int
store_load(struct store *st, const struct store_load_ops *ops,
    int32_t since_day, void *arg)
{
	struct store_loader *ld;

	if (!db_is_up(store_db(st)) ||
	    (ld = calloc(1, sizeof(*ld))) == NULL)
		return -1;
	ld->st = st;
	ld->ops = ops;
	ld->arg = arg;
	ld->t_step = util_now_us();
	snprintf(ld->since, sizeof(ld->since), "%ld", (long)since_day);
	load_page(ld);
	return 0;
}


/* ---- writing snapshots ---- */

/*
 * One statement, one transaction: the images of some accounts of
 * partition part, then the watermark of every partition in parts (which
 * then hold exactly the events up to it).  A partition's mark is never
 * stored without the images it speaks for.
 */
static const char snapshot_sql[] =
    "WITH c AS (INSERT INTO coverage AS c (kind, key, day)"
    " SELECT 'c', k, date '1970-01-01' + d"
    " FROM unnest($8::text[], $9::int4[]) u(k, d)"
    " ON CONFLICT (kind, key) DO UPDATE SET day = least(c.day,"
    " EXCLUDED.day)),"
    " s AS (INSERT INTO snapshots AS s"
    " (account_id, part, version, image, written_at)"
    " SELECT a, $6::int4, $7::int4, i, now()"
    " FROM unnest($4::text[], $5::bytea[]) u(a, i)"
    " ON CONFLICT (account_id) DO UPDATE SET part = EXCLUDED.part,"
    " version = EXCLUDED.version, image = EXCLUDED.image,"
    " written_at = EXCLUDED.written_at)"
    " INSERT INTO snapshot_marks AS m (part, commit_no, applied, written_at)"
    " SELECT p, $2::int8, $3::int8[], now() FROM unnest($1::int4[]) p"
    " ON CONFLICT (part) DO UPDATE SET commit_no = EXCLUDED.commit_no,"
    " applied = EXCLUDED.applied, written_at = EXCLUDED.written_at";

int
store_snapshot(struct store *st, const int32_t *parts, size_t nparts,
    int64_t mark, const int64_t *above, size_t nabove, int32_t part,
    int32_t version, const char *const *ids,
    const unsigned char *const *images, const uint32_t *lens, size_t n,
    const char *const *classes, const int32_t *class_days, size_t nclasses,
    store_done_cb cb, void *arg)
{
	static const unsigned int types[9] = { OID_INT4_ARRAY, OID_INT8,
	    OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT4,
	    OID_INT4, OID_TEXT_ARRAY, OID_INT4_ARRAY };
	struct buf b[5] = { { NULL, 0, 0 }, { NULL, 0, 0 }, { NULL, 0, 0 },
	    { NULL, 0, 0 }, { NULL, 0, 0 } };
	struct buf im = { NULL, 0, 0 };
	struct write_done *p;
	const char *values[9];
	int lengths[9], err = 0, rc = -1;
	char v_mark[8], v_part[4], v_version[4];
	size_t i;

	err |= arr_begin(&b[0], OID_INT4);
	for (i = 0; i < nparts; i++)
		err |= arr_int4(&b[0], parts[i]);
	arr_end(&b[0], nparts);
	err |= arr_begin(&b[1], OID_INT8);
	for (i = 0; i < nabove; i++)
		err |= arr_int8(&b[1], above[i]);
	arr_end(&b[1], nabove);
	err |= arr_begin(&b[3], OID_TEXT);
	err |= arr_begin(&b[4], OID_INT4);
	for (i = 0; i < nclasses; i++) {
		err |= arr_text(&b[3], NULL, classes[i]);
		err |= arr_int4(&b[4], class_days[i]);
	}
	arr_end(&b[3], nclasses);
	arr_end(&b[4], nclasses);
	err |= arr_begin(&b[2], OID_TEXT);
	err |= arr_begin(&im, OID_BYTEA);
	for (i = 0; i < n && !err; i++) {
		err |= arr_text(&b[2], NULL, ids[i]);
		if (buf_reserve(&im, 4 + (size_t)lens[i]) == -1) {
			err = 1;
			break;
		}
		put32(im.p + im.len, lens[i]);
		memcpy(im.p + im.len + 4, images[i], lens[i]);
		im.len += 4 + (size_t)lens[i];
	}
	if (err || (p = write_done_new(cb, arg, "snapshots")) == NULL)
		goto out;
	arr_end(&b[2], n);
	arr_end(&im, n);
	put64(v_mark, mark);
	put32(v_part, (uint32_t)part);
	put32(v_version, (uint32_t)version);
	values[0] = b[0].p;
	lengths[0] = (int)b[0].len;
	values[1] = v_mark;
	lengths[1] = 8;
	values[2] = b[1].p;
	lengths[2] = (int)b[1].len;
	values[3] = b[2].p;
	lengths[3] = (int)b[2].len;
	values[4] = im.p;
	lengths[4] = (int)im.len;
	values[5] = v_part;
	lengths[5] = 4;
	values[6] = v_version;
	lengths[6] = 4;
	values[7] = b[3].p;
	lengths[7] = (int)b[3].len;
	values[8] = b[4].p;
	lengths[8] = (int)b[4].len;
	/* The last lane: the first carries account and alert writes. */
	if ((rc = db_query_binary(store_db_snapshots(st), "cw_snapshot",
	    snapshot_sql, 9, types, values, lengths, store_write_cb, p)) == -1)
		free(p);
out:
	for (i = 0; i < 5; i++)
		free(b[i].p);
	free(im.p);
	return rc;
}

