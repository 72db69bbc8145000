/*
 * backtest.h -- `churnwatchd --config NEW.conf --backtest --since DATE`
 * (SPEC 9): replays the events stored in PostgreSQL, day by day, through
 * the rules of a config with the code the daemon runs (window_apply,
 * account_evaluate, account_alerts_step), and prints which alerts would
 * have fired, next to those that fired with the config in force, and the
 * signal-quality report (quality.h).
 *
 * It sends nothing and writes nothing: one connection, one read-only
 * REPEATABLE READ transaction (a snapshot; no lock beyond what any SELECT
 * takes), so it can run next to a live daemon.  An edge: libevent and
 * db.c, on its own loop.
 */
#ifndef CW_BACKTEST_H
#define CW_BACKTEST_H

#include <stdint.h>

struct cw_config;

enum backtest_format {
	BACKTEST_TEXT,
	BACKTEST_JSON
};

struct backtest_args {
	const char		*since;		/* YYYY-MM-DD (or RFC 3339) */
	const char		*until;		/* NULL: today */
	const char		*within;	/* NULL: 90 days */
	enum backtest_format	 format;
	int			 raw;		/* read every raw event, not
						 * the usage rollup */
};

/*
 * Run the backtest of cfg over args and print the result to stdout;
 * problems go to stderr.  Returns the exit code: 0, 1 on a database
 * failure, 2 on bad arguments (among them a --since older than [ingest]
 * horizon_days, whose raw events retention has deleted; a warm-up that
 * reaches past it is only warned about on stderr).
 */
int	backtest_run(const struct cw_config *, const struct backtest_args *);

/*
 * The day number (window_day) of s, "YYYY-MM-DD" or an RFC 3339 time
 * (its UTC day); 0, or -1 when s is neither.
 */
int	backtest_parse_day(const char *s, int32_t *day);

#endif
