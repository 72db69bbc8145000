/*
 * migrate.c -- schema migrations over the asynchronous connection.
 *
 * A chain of callbacks: ensure schema_migrations exists, read the applied
 * versions, then apply each pending file as one simple-protocol query that
 * also records it: several statements in one query string run as one
 * implicit transaction, so a file is applied whole or not at all.  An
 * advisory lock serialises two daemons migrating the same database.
 *
 * Every query here goes without a deadline (db_query_long(), 0): a file
 * may build an index on a large table, and the lock may be held by another
 * daemon's migration for as long as that takes.  Killing either at
 * statement_timeout would roll it back and retry it forever.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "migrate.h"

#define MIGRATE_LOCK_KEY	"7283019441"

static struct {
	struct db	*db;
	migrate_done_cb	 done;
	void		*arg;
	unsigned char	*applied;	/* by index into migrations[] */
	size_t		 next;
	int		 count;
	char		*sql;		/* the query on the wire */
	int		 running;
} mig;

static void	migrate_next(void);

int
migrate_latest(void)
{
	return nmigrations > 0 ? migrations[nmigrations - 1].version : 0;
}

static void
migrate_finish(enum migrate_result r)
{
	free(mig.applied);
	mig.applied = NULL;
	free(mig.sql);
	mig.sql = NULL;
	mig.running = 0;
	mig.done(r, mig.count, mig.arg);
}

static int
migrate_failed(enum db_status st, const struct db_res *res, const char *what)
{
	if (st == DB_OK)
		return 0;
	if (st == DB_LOST) {
		log_warnx("migrate: connection lost during %s; will retry",
		    what);
		migrate_finish(MIGRATE_RETRY);
	} else {
		log_warnx("migrate: failed step=\"%s\" error=\"%s\"", what,
		    db_res_error(res));
		migrate_finish(MIGRATE_FAILED);
	}
	return 1;
}

static void
migrate_applied_cb(enum db_status st, const struct db_res *res, void *arg)
{
	const struct migration *m = &migrations[mig.next];
	char what[128];

	snprintf(what, sizeof(what), "migration %03d_%s", m->version, m->name);
	if (migrate_failed(st, res, what))
		return;
	log_notice("migrate: applied version=%d name=%s", m->version,
	    m->name);
	mig.count++;
	mig.next++;
	migrate_next();
}

static void
migrate_next(void)
{
	const struct migration *m;
	size_t len;

	while (mig.next < nmigrations && mig.applied[mig.next])
		mig.next++;
	if (mig.next == nmigrations) {
		migrate_finish(MIGRATE_OK);
		return;
	}
	m = &migrations[mig.next];
	free(mig.sql);
	len = strlen(m->sql) + strlen(m->name) + 256;
	if ((mig.sql = malloc(len)) == NULL)
		fatal("%s", __func__);
	/*
	 * ON CONFLICT DO NOTHING is not used on purpose: if another daemon
	 * applied the file meanwhile, the file itself fails and this
	 * transaction rolls back; the caller retries and finds it applied.
	 */
	snprintf(mig.sql, len,
	    "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ");\n%s\n;"
	    "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s');",
	    m->sql, m->version, m->name);
	if (db_query_long(mig.db, 0, mig.sql, -1, NULL, NULL,
	    migrate_applied_cb, NULL) == -1)
		migrate_finish(MIGRATE_RETRY);
}

static void
migrate_versions_cb(enum db_status st, const struct db_res *res, void *arg)
{
	int i, n, v;
	size_t j;

	if (migrate_failed(st, res, "reading schema_migrations"))
		return;
	n = db_res_ntuples(res);
	for (i = 0; i < n; i++) {
		v = atoi(db_res_value(res, i, 0));
		for (j = 0; j < nmigrations; j++)
			if (migrations[j].version == v)
				mig.applied[j] = 1;
		if (v > migrate_latest()) {
			log_warnx("migrate: database has schema version %d, "
			    "newer than this churnwatchd (%d)", v,
			    migrate_latest());
		}
	}
	migrate_next();
}

static void
migrate_table_cb(enum db_status st, const struct db_res *res, void *arg)
{
	if (migrate_failed(st, res, "creating schema_migrations"))
		return;
	if (db_query_long(mig.db, 0, "SELECT version FROM schema_migrations",
	    0, NULL, NULL, migrate_versions_cb, NULL) == -1)
		migrate_finish(MIGRATE_RETRY);
}

void
migrate_run(struct db *db, migrate_done_cb done, void *arg)
{
	if (mig.running)
		return;
	memset(&mig, 0, sizeof(mig));
	mig.db = db;
	mig.done = done;
	mig.arg = arg;
	mig.running = 1;
	if ((mig.applied = calloc(nmigrations + 1, 1)) == NULL)
		fatal("%s", __func__);
	if (db_query_long(db, 0,
	    "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ");"
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version integer PRIMARY KEY,"
	    " name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now());"
	    "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ");",
	    -1, NULL, NULL, migrate_table_cb, NULL) == -1)
		migrate_finish(MIGRATE_RETRY);
}
