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
#define DB_MAX_PREPARED		16

enum db_conn_state { DBC_DOWN, DBC_CONNECTING, DBC_UP };

struct dbq {
	TAILQ_ENTRY(dbq)	 entry;
	const char		*sql;
	const char		*stmt;		/* prepared statement name */
	int			 preparing;	/* Parse sent, Execute next */
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
	PGconn			*conn;
	enum db_conn_state	 state;
	struct event		*ev_io;		/* connect phase and reads */
	struct event		*ev_write;	/* pending PQflush */
	struct event		*ev_retry;
	struct event		*ev_lost;	/* deferred db_lost() */
	int			 backoff_ms;
	int			 was_up;	/* connected before: a reconnect */
	struct dbq_list		 queue;
	struct dbq		*inflight;
	PGresult		*keep;		/* result to report for inflight */
	size_t			 nqueued;
	const char		*prepared[DB_MAX_PREPARED]; /* this connection */
	int			 nprepared;
	db_state_cb		 state_cb;
	void			*state_arg;
};

static void	db_connect(struct db *);
static void	db_connect_cb(evutil_socket_t, short, void *);
static void	db_io_cb(evutil_socket_t, short, void *);
static void	db_write_cb(evutil_socket_t, short, void *);
static void	db_retry_cb(evutil_socket_t, short, void *);
static void	db_lost(struct db *, const char *);
static void	db_send_next(struct db *);
static void	db_lost_cb(evutil_socket_t, short, void *);

struct db *
db_new(struct event_base *base, const char *conninfo, db_state_cb cb,
    void *arg)
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
	db->state_cb = cb;
	db->state_arg = arg;
	db->backoff_ms = DB_BACKOFF_MIN_MS;
	db->ev_retry = evtimer_new(base, db_retry_cb, db);
	db->ev_lost = evtimer_new(base, db_lost_cb, db);
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

static void
db_close_conn(struct db *db)
{
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
	free(db->conninfo);
	free(db);
}

int
db_is_up(const struct db *db)
{
	return db->state == DBC_UP;
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

static void
db_connect(struct db *db)
{
	static const char *const keys[] = {
		"dbname", "fallback_application_name", NULL
	};
	const char *values[] = { db->conninfo, "churnwatchd", NULL };

	db->state = DBC_CONNECTING;
	db->conn = PQconnectStartParams(keys, values, 1);
	if (db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD) {
		if (db->conn == NULL)
			log_warnx("database: out of memory");
		else
			db_connect_failed(db);
		return;
	}
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
	if (db->was_up)
		metrics_inc(cw_metrics, M_DB_RECONNECTS, NULL, 1);
	db->was_up = 1;
	db->state = DBC_UP;
	db->backoff_ms = DB_BACKOFF_MIN_MS;
	log_info("database: connected server_version=%d",
	    PQserverVersion(db->conn));
	if (db->state_cb != NULL)
		db->state_cb(1, db->state_arg);
	db_send_next(db);
}

static void
db_lost(struct db *db, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", db->conn != NULL ?
	    PQerrorMessage(db->conn) : "");
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

static void
db_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	if (db->state == DBC_UP)
		db_lost(db, "send");
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
	if (db_flush(arg) == -1)
		db_lost(arg, "flush");
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
		    q->formats, 0);
	if (!db_is_prepared(db, q->stmt)) {
		q->preparing = 1;
		return PQsendPrepare(db->conn, q->stmt, q->sql, q->nparams,
		    q->types);
	}
	return PQsendQueryPrepared(db->conn, q->stmt, q->nparams,
	    (const char *const *)q->values, q->lengths, q->formats, 0);
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
		if (!db_send(db, q) || db_flush(db) == -1)
			db_lost(db, "send");
		return;
	}
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
		db_lost(db, "read");
		return;
	}
	while ((n = PQnotifies(db->conn)) != NULL)
		PQfreemem(n);
	if (db->inflight == NULL) {
		if (PQstatus(db->conn) == CONNECTION_BAD)
			db_lost(db, "closed");
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
		db_lost(db, "closed");
}

static int
db_enqueue(struct db *db, const char *stmt, const char *sql, int nparams,
    const unsigned int *types, const char *const *values, const int *lengths,
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
	q->nparams = nparams;
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
	return db_enqueue(db, NULL, sql, nparams, NULL, values, lengths, cb,
	    arg);
}

int
db_query_binary(struct db *db, const char *stmt, const char *sql,
    int nparams, const unsigned int *types, const char *const *values,
    const int *lengths, db_result_cb cb, void *arg)
{
	return db_enqueue(db, stmt, sql, nparams, types, values, lengths, cb,
	    arg);
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
