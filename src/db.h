/*
 * db.h -- the one PostgreSQL connection, asynchronous, on the libevent loop.
 *
 * db.c is the only file that includes libpq-fe.h.  It owns the connection,
 * reconnects with backoff when it drops, and runs queued queries one at a
 * time, in order.  It does not know what the queries mean (store.c and
 * migrate.c do).
 */
#ifndef CW_DB_H
#define CW_DB_H

#include <stddef.h>

struct event_base;
struct db;
struct db_res;

enum db_status {
	DB_OK,		/* the query (and its implicit commit) succeeded */
	DB_ERROR,	/* the server refused it: nothing was committed */
	DB_LOST		/* the connection dropped: outcome unknown */
};

/* Called once per query, with a result valid only during the call. */
typedef void (*db_result_cb)(enum db_status, const struct db_res *, void *);
/* Called when the connection comes up (up = 1) or goes down (up = 0). */
typedef void (*db_state_cb)(int up, void *);

/*
 * conninfo: any libpq connection string or URI; copied.  deadline_ms
 * ([database] statement_timeout; 0: none): a query on the wire that gets
 * nothing back from the server for this long makes the connection count
 * as lost -- it and every queued query complete with DB_LOST, the state
 * callback says down, and the connection is re-made with backoff.  The
 * clock restarts with every query and whenever the server sends anything
 * (see db.c).
 */
struct db	*db_new(struct event_base *, const char *conninfo,
		    unsigned deadline_ms, db_state_cb, void *arg);
void		 db_free(struct db *);	/* pending queries get DB_LOST */
int		 db_is_up(const struct db *);
/* The server process of the connection (the last one while down), 0. */
int		 db_backend_pid(const struct db *);
size_t		 db_queue_len(const struct db *);

/*
 * Queue a query.  sql must stay valid until the callback (use static
 * strings); params are copied.  nparams < 0 sends sql as a simple query
 * (several statements run as one implicit transaction, no parameters).
 * Returns 0, or -1 when the connection is down (cb is not called).
 */
int		 db_query(struct db *, const char *sql, int nparams,
		    const char *const *values, const int *lengths,
		    db_result_cb cb, void *arg);

/*
 * db_query() with its own deadline instead of the connection's; 0 waits
 * as long as it takes (TCP keepalives still notice a dead peer).  For
 * statements that may rightly run long without a word: migrations (an
 * index build, another daemon holding the advisory lock).
 */
int		 db_query_long(struct db *, unsigned deadline_ms,
		    const char *sql, int nparams, const char *const *values,
		    const int *lengths, db_result_cb cb, void *arg);

/* db_query_long() whose results come in binary (db_query_binres()). */
int		 db_query_long_binres(struct db *, unsigned deadline_ms,
		    const char *sql, int nparams, const char *const *values,
		    const int *lengths, db_result_cb cb, void *arg);

/*
 * db_query() with every parameter in PostgreSQL's binary format, of the
 * given type OIDs (e.g. 1009 text[]).  Results are text.  With stmt (a
 * static name) the statement is prepared once per connection and then
 * only executed, which spares the server its parse and plan.
 */
int		 db_query_binary(struct db *, const char *stmt,
		    const char *sql, int nparams, const unsigned int *types,
		    const char *const *values, const int *lengths,
		    db_result_cb cb, void *arg);

/*
 * A query whose results come in PostgreSQL's binary format (bytea as its
 * bytes, int8 as 8 big-endian bytes); parameters in binary when types is
 * not NULL, else text.  Read values with db_res_value and db_res_length.
 */
int		 db_query_binres(struct db *, const char *sql, int nparams,
		    const unsigned int *types, const char *const *values,
		    const int *lengths, db_result_cb cb, void *arg);

/* Result access; row/col from 0.  NULL value for SQL NULL. */
int		 db_res_ntuples(const struct db_res *);
const char	*db_res_value(const struct db_res *, int row, int col);
int		 db_res_length(const struct db_res *, int row, int col);
const char	*db_res_error(const struct db_res *);	/* "" if none */
const char	*db_res_sqlstate(const struct db_res *);	/* "" if none */

#endif
