/*
 * migrate.h -- apply the schema migrations compiled into the binary
 * (sql/NNN_name.sql, see tools/embed-sql.sh) in order, each in its own
 * transaction, recording them in schema_migrations.  Running it again is a
 * no-op.  Uses db.c's asynchronous connection; never blocks the loop.
 */
#ifndef CW_MIGRATE_H
#define CW_MIGRATE_H

#include <stddef.h>

struct db;

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct migration	migrations[];
extern const size_t		nmigrations;

enum migrate_result {
	MIGRATE_OK,		/* schema is current */
	MIGRATE_FAILED,		/* a migration was refused: see the log */
	MIGRATE_RETRY		/* the connection dropped: run again later */
};

/*
 * Start applying pending migrations on db (which must be up).  done is
 * called once with the result and the number applied.  Only one run at a
 * time.
 */
typedef void (*migrate_done_cb)(enum migrate_result, int applied, void *);
void	migrate_run(struct db *, migrate_done_cb, void *);

/* Highest version compiled in. */
int	migrate_latest(void);

#endif
