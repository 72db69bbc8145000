/*
 * db.c -- one asynchronous PostgreSQL connection driven by libevent.
 *
 * Owns: the PGconn, its socket events, the FIFO of queries and the
 * reconnect timer.  Does not own: what the queries mean.  Only one query is
 * on the wire at a time; callers batch (store.c) so that this costs nothing.
 *
 * A query's callback runs only after libpq has returned every result of it
 * and then NULL, i.e. after ReadyForQuery: for an autocommit statement that
 * is after the commit, so DB_OK means durably committed.
 *
 * Deadlines ([database] statement_timeout, SPEC 6).  A PostgreSQL that
 * stops answering with its socket still open -- a lock wait, a lost
 * synchronous standby, a network black hole, a stopped backend -- would
 * otherwise hold every query, and the HTTP clients behind them, for as long
 * as TCP takes to give up (~15 min).  So the query on the wire has a
 * deadline: when the server has sent nothing at all for it within
 * deadline_ms, the connection counts as lost, exactly as if it had dropped:
 * the query in flight and every queued one complete with DB_LOST, the state
 * callback says down (ingest moves to the spool), the socket is closed and
 * the usual backoff reconnects.  The clock
 *   - starts when a query goes on the wire, not when it is queued: a query
 *     waiting behind another is covered by that one's deadline;
 *   - restarts whenever the server sends anything (a row, a result, a
 *     notice) or takes more of a large query from us: a slow but living
 *     server, or a long result, is not a stall;
 *   - restarts for each query, so paged work gets the whole deadline per
 *     page: store_load() reads LIMIT 20000 rows per query, retention
 *     deletes 50000 events per query, each far below the 5 s default on
 *     the indexes they use.
 * Statements that may legitimately run long in silence (migrations: an
 * index build, another daemon holding the advisory lock) are queued with
 * db_query_long() and their own bound, or none.  A connection attempt gets
 * its own deadline too (libpq ignores connect_timeout in asynchronous
 * mode): connect_timeout from the conninfo if set, else the larger of
 * deadline_ms and DB_CONNECT_MIN_MS.
 *
 * TCP keepalives and tcp_user_timeout (libpq defaults below) notice a dead
 * peer on an idle connection and bound how long sent data may stay
 * unacknowledged; a stopped backend is still acknowledged by its kernel, so
 * only the deadline catches that.  Both are ignored on Unix sockets.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "metrics.h"

#define DB_BACKOFF_MIN_MS	100
#define DB_BACKOFF_MAX_MS	5000
#define DB_CONNECT_MIN_MS	10000	/* connection attempt deadline */
#define DB_MAX_PREPARED		16

enum db_conn_state { DBC_DOWN, DBC_CONNECTING, DBC_UP };

struct dbq {
	TAILQ_ENTRY(dbq)	 entry;
	const char		*sql;
	const char		*stmt;		/* prepared statement name */
	int			 preparing;	/* Parse sent, Execute next */
	int			 binres;	/* results in binary format */
	unsigned		 deadline_ms;	/* 0: none */
	int			 nparams;
	Oid			*types;		/* into buf, or NULL */
	int			*formats;	/* into buf, or NULL */
	char			**values;	/* into buf */
	int			*lengths;
	db_result_cb		 cb;
	void			*arg;
	char			 buf[];
};
TAILQ_HEAD(dbq_list, dbq);

struct db_res {
	PGresult	*res;
};

struct db {
	struct event_base	*base;
	char			*conninfo;
	unsigned		 deadline_ms;	/* per query; 0: none */
	PGconn			*conn;
	enum db_conn_state	 state;
	struct event		*ev_io;		/* connect phase and reads */
	struct event		*ev_write;	/* pending PQflush */
	struct event		*ev_retry;
	struct event		*ev_lost;	/* deferred db_lost() */
	struct event		*ev_deadline;	/* connect or inflight deadline */
	int			 backoff_ms;
	int			 was_up;	/* connected before: a reconnect */
	int			 stalled;	/* lost to a deadline, no answer
						 * since: keep backing off */
	struct dbq_list		 queue;
	struct dbq		*inflight;
	PGresult		*keep;		/* result to report for inflight */
	size_t			 nqueued;
	const char		*prepared[DB_MAX_PREPARED]; /* this connection */
	int			 nprepared;
	db_state_cb		 state_cb;
	void			*state_arg;
	int			 backend_pid;
};

static void	db_connect(struct db *);
static void	db_connect_cb(evutil_socket_t, short, void *);
static void	db_io_cb(evutil_socket_t, short, void *);
static void	db_write_cb(evutil_socket_t, short, void *);
static void	db_retry_cb(evutil_socket_t, short, void *);
static void	db_lost(struct db *, const char *, const char *);
static void	db_deadline_cb(evutil_socket_t, short, void *);
static void	db_send_next(struct db *);
static void	db_lost_cb(evutil_socket_t, short, void *);

struct db *
db_new(struct event_base *base, const char *conninfo, unsigned deadline_ms,
    db_state_cb cb, void *arg)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->base = base;
	if ((db->conninfo = strdup(conninfo)) == NULL) {
		free(db);
		return NULL;
	}
	TAILQ_INIT(&db->queue);
	db->deadline_ms = deadline_ms;
	db->state_cb = cb;
	db->state_arg = arg;
	db->backoff_ms = DB_BACKOFF_MIN_MS;
	db->ev_retry = evtimer_new(base, db_retry_cb, db);
	db->ev_lost = evtimer_new(base, db_lost_cb, db);
	db->ev_deadline = evtimer_new(base, db_deadline_cb, db);
	db_connect(db);
	return db;
}

static void
db_fail_all(struct db *db, enum db_status st)
{
	struct dbq *q;
	struct db_res r = { NULL };

	/* Callers may queue new queries from their callbacks: detach first. */
	while ((q = db->inflight) != NULL || (q = TAILQ_FIRST(&db->queue))) {
		if (q == db->inflight)
			db->inflight = NULL;
		else {
			TAILQ_REMOVE(&db->queue, q, entry);
			db->nqueued--;
		}
		q->cb(st, &r, q->arg);
		free(q);
	}
}

/* (Re)start the deadline: ms from now, or none for 0. */
static void
db_deadline_arm(struct db *db, unsigned ms)
{
	struct timeval tv;

	if (ms == 0) {
		evtimer_del(db->ev_deadline);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(db->ev_deadline, &tv);
}

/* The server showed life for the query in flight: its clock restarts. */
static void
db_progress(struct db *db)
{
	if (db->inflight != NULL)
		db_deadline_arm(db, db->inflight->deadline_ms);
}

static void
db_close_conn(struct db *db)
{
	evtimer_del(db->ev_deadline);
	if (db->ev_io != NULL) {
		event_free(db->ev_io);
		db->ev_io = NULL;
	}
	if (db->ev_write != NULL) {
		event_free(db->ev_write);
		db->ev_write = NULL;
	}
	if (db->keep != NULL) {
		PQclear(db->keep);
		db->keep = NULL;
	}
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->nprepared = 0;	/* statements die with the session */
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db->state = DBC_DOWN;
	db->state_cb = NULL;
	db_fail_all(db, DB_LOST);
	db_close_conn(db);
	event_free(db->ev_retry);
	event_free(db->ev_lost);
	event_free(db->ev_deadline);
	free(db->conninfo);
	free(db);
}

int
db_is_up(const struct db *db)
{
	return db->state == DBC_UP;
}

int
db_backend_pid(const struct db *db)
{
	return db->backend_pid;
}

size_t
db_queue_len(const struct db *db)
{
	return db->nqueued + (db->inflight != NULL);
}

static void
db_schedule_retry(struct db *db)
{
	struct timeval tv;
	int ms;

	/* Exponential backoff with +-20% jitter. */
	ms = db->backoff_ms;
	ms += (int)((random() % (ms * 2 / 5 + 1)) - ms / 5);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(db->ev_retry, &tv);
	db->backoff_ms *= 2;
	if (db->backoff_ms > DB_BACKOFF_MAX_MS)
		db->backoff_ms = DB_BACKOFF_MAX_MS;
}

static void
db_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	db_connect(arg);
}

static void
db_connect_wait(struct db *db, short what)
{
	if (db->ev_io != NULL)
		event_free(db->ev_io);
	/* The socket may change between PQconnectPoll steps: re-read it. */
	db->ev_io = event_new(db->base, PQsocket(db->conn), what,
	    db_connect_cb, db);
	event_add(db->ev_io, NULL);
}

static void
db_connect_failed(struct db *db)
{
	char msg[256];
	size_t n;

	strncpy(msg, PQerrorMessage(db->conn), sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (n = 0; msg[n] != '\0'; n++)
		if (msg[n] == '\n')
			msg[n] = ' ';
	/* Log the first failure of a run of retries, not every retry. */
	if (db->backoff_ms == DB_BACKOFF_MIN_MS)
		log_warnx("database: connect failed error=\"%s\"", msg);
	else
		log_debug("database: connect failed error=\"%s\"", msg);
	db_close_conn(db);
	db->state = DBC_DOWN;
	db_schedule_retry(db);
}

/*
 * The deadline of a connection attempt: connect_timeout (s) from the
 * conninfo if the user set one, as libpq would honour it in blocking mode;
 * else the query deadline, but never below DB_CONNECT_MIN_MS: a TLS
 * handshake and SCRAM over a slow link must not be cut by a short
 * statement_timeout.  While connecting the database counts as down, so
 * ingest goes to the spool meanwhile and holds no client.
 */
static unsigned
db_connect_ms(const struct db *db)
{
	PQconninfoOption *opts, *o;
	unsigned ms = 0;
	long v;

	if ((opts = PQconninfo(db->conn)) != NULL) {
		for (o = opts; o->keyword != NULL; o++)
			if (strcmp(o->keyword, "connect_timeout") == 0 &&
			    o->val != NULL && (v = strtol(o->val, NULL,
			    10)) > 0 && v < 86400) {
				/* libpq raises 1 s to 2 s; so do we. */
				ms = (unsigned)(v < 2 ? 2 : v) * 1000;
				break;
			}
		PQconninfoFree(opts);
	}
	if (ms == 0)
		ms = db->deadline_ms > DB_CONNECT_MIN_MS ? db->deadline_ms :
		    DB_CONNECT_MIN_MS;
	return ms;
}

static void
db_connect(struct db *db)
{
	/*
	 * Our defaults come before dbname: with expand_dbname, the keys of
	 * the user's URL or connection string override what precedes it, so
	 * e.g. "?keepalives_idle=60" in [database] url wins.  Keepalives find
	 * a dead peer of an idle connection in about 10 + 3 * 5 s; data we
	 * sent may stay unacknowledged for 30 s before the kernel gives up
	 * (instead of ~15 min of retransmissions).
	 */
	static const char *const keys[] = {
		"keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "tcp_user_timeout",
		"dbname", "fallback_application_name", NULL
	};
	const char *values[] = {
		"1", "10", "5",
		"3", "30000",
		db->conninfo, "churnwatchd", NULL
	};

	db->state = DBC_CONNECTING;
	db->conn = PQconnectStartParams(keys, values, 1);
	if (db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD) {
		if (db->conn == NULL)
			log_warnx("database: out of memory");
		else
			db_connect_failed(db);
		return;
	}
	db_deadline_arm(db, db_connect_ms(db));
	db_connect_wait(db, EV_WRITE);
}

/* Server notices go to our log, not raw to stderr. */
static void
db_notice_cb(void *arg, const char *msg)
{
	log_debug("database: %.*s", (int)strcspn(msg, "\n"), msg);
}

static void
db_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	switch (PQconnectPoll(db->conn)) {
	case PGRES_POLLING_READING:
		db_connect_wait(db, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		db_connect_wait(db, EV_WRITE);
		return;
	case PGRES_POLLING_FAILED:
		db_connect_failed(db);
		return;
	case PGRES_POLLING_OK:
	default:
		break;
	}
	PQsetNoticeProcessor(db->conn, db_notice_cb, NULL);
	if (PQsetnonblocking(db->conn, 1) != 0) {
		db_connect_failed(db);
		return;
	}
	event_free(db->ev_io);
	db->ev_io = event_new(db->base, PQsocket(db->conn), EV_READ | EV_PERSIST,
	    db_io_cb, db);
	db->ev_write = event_new(db->base, PQsocket(db->conn), EV_WRITE,
	    db_write_cb, db);
	event_add(db->ev_io, NULL);
	evtimer_del(db->ev_deadline);	/* connected: queries arm it */
	if (db->was_up)
		metrics_inc(cw_metrics, M_DB_RECONNECTS, NULL, 1);
	db->was_up = 1;
	db->state = DBC_UP;
	db->backend_pid = PQbackendPID(db->conn);
	/*
	 * After a stall the backoff goes on growing until a query is answered
	 * again: a server that accepts connections but answers no query
	 * would otherwise see a new session every deadline, each leaving a
	 * backend behind that waits until it can run its query.
	 */
	if (!db->stalled)
		db->backoff_ms = DB_BACKOFF_MIN_MS;
	log_info("database: connected server_version=%d",
	    PQserverVersion(db->conn));
	if (db->state_cb != NULL)
		db->state_cb(1, db->state_arg);
	db_send_next(db);
}

/* err: what went wrong, or NULL for libpq's last error message. */
static void
db_lost(struct db *db, const char *why, const char *err)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", err != NULL ? err :
	    db->conn != NULL ? PQerrorMessage(db->conn) : "");
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("database: connection lost during=%s error=\"%s\"", why,
	    msg);
	db_close_conn(db);
	db->state = DBC_DOWN;
	if (db->state_cb != NULL)
		db->state_cb(0, db->state_arg);
	db_fail_all(db, DB_LOST);
	db_schedule_retry(db);
}

/*
 * The server sent nothing for the query in flight, or for the connection
 * attempt, within its deadline: treat the connection as lost.  Whether a
 * query in flight committed is unknown (DB_LOST), as after a drop.
 */
static void
db_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	char msg[128];

	switch (db->state) {
	case DBC_CONNECTING:
		/* Like db_connect_failed(): log the first of a run. */
		if (db->backoff_ms == DB_BACKOFF_MIN_MS)
			log_warnx("database: connect failed error=\"no answer "
			    "within %u ms\"", db_connect_ms(db));
		db_close_conn(db);
		db->state = DBC_DOWN;
		db_schedule_retry(db);
		break;
	case DBC_UP:
		if (db->inflight == NULL)
			break;		/* cannot happen: disarmed */
		snprintf(msg, sizeof(msg), "no answer within %u ms "
		    "(statement_timeout)", db->inflight->deadline_ms);
		db->stalled = 1;
		db_lost(db, "deadline", msg);
		break;
	case DBC_DOWN:
		break;
	}
}

static void
db_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	if (db->state == DBC_UP)
		db_lost(db, "send", NULL);
}

static int
db_flush(struct db *db)
{
	switch (PQflush(db->conn)) {
	case 0:
		return 0;
	case 1:
		event_add(db->ev_write, NULL);
		return 0;
	default:
		return -1;
	}
}

static void
db_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	if (db_flush(db) == -1) {
		db_lost(db, "flush", NULL);
		return;
	}
	db_progress(db);	/* the server is taking our query */
}

static int
db_is_prepared(const struct db *db, const char *stmt)
{
	int i;

	for (i = 0; i < db->nprepared; i++)
		if (strcmp(db->prepared[i], stmt) == 0)
			return 1;
	return 0;
}

/* Put q on the wire: Parse first when its statement is new here. */
static int
db_send(struct db *db, struct dbq *q)
{
	if (q->nparams < 0)
		return PQsendQuery(db->conn, q->sql);
	if (q->stmt == NULL)
		return PQsendQueryParams(db->conn, q->sql, q->nparams,
		    q->types, (const char *const *)q->values, q->lengths,
		    q->formats, q->binres);
	if (!db_is_prepared(db, q->stmt)) {
		q->preparing = 1;
		return PQsendPrepare(db->conn, q->stmt, q->sql, q->nparams,
		    q->types);
	}
	return PQsendQueryPrepared(db->conn, q->stmt, q->nparams,
	    (const char *const *)q->values, q->lengths, q->formats, q->binres);
}

static void
db_send_next(struct db *db)
{
	struct dbq *q;
	int ok;

	if (db->state != DBC_UP || db->inflight != NULL ||
	    (q = TAILQ_FIRST(&db->queue)) == NULL)
		return;
	TAILQ_REMOVE(&db->queue, q, entry);
	db->nqueued--;
	db->inflight = q;
	db_deadline_arm(db, q->deadline_ms);	/* on the wire from now */
	ok = db_send(db, q);
	/*
	 * Never fail a query from inside db_query(): the caller would get
	 * its callback before db_query() returns.  Defer to the loop.
	 */
	if (!ok || db_flush(db) == -1) {
		struct timeval tv = { 0, 0 };

		evtimer_add(db->ev_lost, &tv);
	}
}

static void
db_complete(struct db *db)
{
	struct dbq *q = db->inflight;
	struct db_res r;
	enum db_status st = DB_OK;
	ExecStatusType es;

	r.res = db->keep;
	db->keep = NULL;
	if (db->stalled) {		/* answered: the server is back */
		db->stalled = 0;
		db->backoff_ms = DB_BACKOFF_MIN_MS;
	}
	if (r.res != NULL) {
		es = PQresultStatus(r.res);
		if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK &&
		    es != PGRES_EMPTY_QUERY)
			st = DB_ERROR;
	}
	if (q->preparing && st == DB_OK) {
		/* Prepared: now run it, still as the query in flight. */
		q->preparing = 0;
		if (db->nprepared < DB_MAX_PREPARED)
			db->prepared[db->nprepared++] = q->stmt;
		PQclear(r.res);
		db_deadline_arm(db, q->deadline_ms);
		if (!db_send(db, q) || db_flush(db) == -1)
			db_lost(db, "send", NULL);
		return;
	}
	evtimer_del(db->ev_deadline);
	db->inflight = NULL;
	q->cb(st, &r, q->arg);
	free(q);
	PQclear(r.res);
}

static void
db_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	PGresult *res;
	PGnotify *n;

	if (!PQconsumeInput(db->conn)) {
		db_lost(db, "read", NULL);
		return;
	}
	db_progress(db);	/* anything from the server is a sign of life */
	while ((n = PQnotifies(db->conn)) != NULL)
		PQfreemem(n);
	if (db->inflight == NULL) {
		if (PQstatus(db->conn) == CONNECTION_BAD)
			db_lost(db, "closed", NULL);
		return;
	}
	while (!PQisBusy(db->conn)) {
		if ((res = PQgetResult(db->conn)) == NULL) {
			db_complete(db);
			if (db->state != DBC_UP)
				return;
			if (db->inflight != NULL)
				continue;	/* the Execute after a Parse */
			db_send_next(db);
			return;
		}
		/* Keep the first error, else the last result. */
		if (db->keep == NULL ||
		    (PQresultStatus(db->keep) != PGRES_FATAL_ERROR &&
		    PQresultStatus(res) != PGRES_EMPTY_QUERY)) {
			PQclear(db->keep);
			db->keep = res;
		} else
			PQclear(res);
	}
	if (PQstatus(db->conn) == CONNECTION_BAD)
		db_lost(db, "closed", NULL);
}

static int
db_enqueue(struct db *db, unsigned deadline_ms, const char *stmt,
    const char *sql, int nparams, const unsigned int *types,
    const char *const *values, const int *lengths, int binres,
    db_result_cb cb, void *arg)
{
	struct dbq *q;
	size_t need = 0, off;
	int i, n = nparams > 0 ? nparams : 0;

	if (db->state != DBC_UP)
		return -1;
	for (i = 0; i < n; i++)
		if (values[i] != NULL)
			need += (size_t)lengths[i] + 1;
	need += (size_t)n * (sizeof(char *) + 3 * sizeof(int)) +
	    sizeof(char *);
	if ((q = calloc(1, sizeof(*q) + need)) == NULL)
		return -1;
	q->sql = sql;
	q->stmt = stmt;
	q->deadline_ms = deadline_ms;
	q->nparams = nparams;
	q->binres = binres;
	q->cb = cb;
	q->arg = arg;
	/*
	 * Layout in buf: values[n], lengths[n], types[n], formats[n], then
	 * the bytes (pointers first keeps everything aligned).
	 */
	q->values = (char **)(void *)q->buf;
	off = (size_t)n * sizeof(char *);
	q->lengths = (int *)(void *)(q->buf + off);
	off += (size_t)n * sizeof(int);
	if (types != NULL) {
		q->types = (Oid *)(void *)(q->buf + off);
		q->formats = (int *)(void *)(q->buf + off + (size_t)n *
		    sizeof(Oid));
		for (i = 0; i < n; i++) {
			q->types[i] = types[i];
			q->formats[i] = 1;
		}
	}
	off += (size_t)n * (sizeof(Oid) + sizeof(int));
	for (i = 0; i < n; i++) {
		q->lengths[i] = lengths[i];
		if (values[i] == NULL) {
			q->values[i] = NULL;
			continue;
		}
		q->values[i] = q->buf + off;
		memcpy(q->values[i], values[i], (size_t)lengths[i]);
		q->values[i][lengths[i]] = '\0';
		off += (size_t)lengths[i] + 1;
	}
	TAILQ_INSERT_TAIL(&db->queue, q, entry);
	db->nqueued++;
	db_send_next(db);
	return 0;
}

int
db_query(struct db *db, const char *sql, int nparams,
    const char *const *values, const int *lengths, db_result_cb cb,
    void *arg)
{
	return db_enqueue(db, db->deadline_ms, NULL, sql, nparams, NULL,
	    values, lengths, 0, cb, arg);
}

int
db_query_long(struct db *db, unsigned deadline_ms, const char *sql,
    int nparams, const char *const *values, const int *lengths,
    db_result_cb cb, void *arg)
{
	return db_enqueue(db, deadline_ms, NULL, sql, nparams, NULL, values,
	    lengths, 0, cb, arg);
}

int
db_query_long_binres(struct db *db, unsigned deadline_ms, const char *sql,
    int nparams, const char *const *values, const int *lengths,
    db_result_cb cb, void *arg)
{
	if (nparams < 0)
		return -1;	/* the simple protocol answers in text */
	return db_enqueue(db, deadline_ms, NULL, sql, nparams, NULL, values,
	    lengths, 1, cb, arg);
}

int
db_query_binary(struct db *db, const char *stmt, const char *sql,
    int nparams, const unsigned int *types, const char *const *values,
    const int *lengths, db_result_cb cb, void *arg)
{
	return db_enqueue(db, db->deadline_ms, stmt, sql, nparams, types,
	    values, lengths, 0, cb, arg);
}

int
db_query_binres(struct db *db, const char *sql, int nparams,
    const unsigned int *types, const char *const *values,
    const int *lengths, db_result_cb cb, void *arg)
{
	if (nparams < 0)
		return -1;	/* the simple protocol answers in text */
	return db_enqueue(db, db->deadline_ms, NULL, sql, nparams, types,
	    values, lengths, 1, cb, arg);
}

int
db_res_ntuples(const struct db_res *r)
{
	return r->res != NULL ? PQntuples(r->res) : 0;
}

const char *
db_res_value(const struct db_res *r, int row, int col)
{
	if (r->res == NULL || PQgetisnull(r->res, row, col))
		return NULL;
	return PQgetvalue(r->res, row, col);
}

int
db_res_length(const struct db_res *r, int row, int col)
{
	return r->res != NULL ? PQgetlength(r->res, row, col) : 0;
}

/* The error on one line (for the log): newlines become spaces. */
const char *
db_res_error(const struct db_res *r)
{
	static char buf[512];
	const char *m;
	size_t i;

	if (r->res == NULL)
		return "connection lost";
	m = PQresultErrorMessage(r->res);
	for (i = 0; m[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = m[i] == '\n' || m[i] == '"' ? ' ' : m[i];
	while (i > 0 && buf[i - 1] == ' ')
		i--;
	buf[i] = '\0';
	return buf;
}

const char *
db_res_sqlstate(const struct db_res *r)
{
	const char *s;

	if (r->res == NULL ||
	    (s = PQresultErrorField(r->res, PG_DIAG_SQLSTATE)) == NULL)
		return "";
	return s;
}
