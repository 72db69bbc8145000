-- 012_usage_daily: what the usage events (login, feature_used) of each
-- account and UTC day say, kept so that a backtest (SPEC 9) replays a
-- year of history from ~10,000 rows a day instead of every raw login.
-- The daemon writes it in the background (store_usage_step), never at
-- ingest: an event's insert costs what it did.
--
-- usage_daily holds exactly the usage events stored by the daemon
-- (commit_no not null) with commit_no <= usage_mark.commit_no and a ts
-- before UTC day usage_mark.day; an account and day may have several
-- rows (a late back-fill adds one), which add up.  Everything else --
-- later commits, today's events, rows written by other programs
-- (commit_no null), the rarer event types -- a backtest reads raw.
CREATE TABLE usage_daily (
	day		integer		NOT NULL,	-- days since 1970-01-01
	account_id	text		NOT NULL,
	events		integer		NOT NULL,	-- usage events
	logins		integer		NOT NULL,
	hours		smallint[]	NOT NULL,	-- UTC hours with logins
	hour_logins	integer[]	NOT NULL,	-- ... and how many
	users		text[]		NOT NULL,	-- distinct user_id
	features	text[]		NOT NULL,	-- distinct features
	last_us		bigint		NOT NULL	-- newest ts, us
);
CREATE INDEX usage_daily_day ON usage_daily (day);
COMMENT ON TABLE usage_daily IS 'churnwatch: usage events per account and UTC day, for backtests (see usage_mark)';

-- One row: the rectangle usage_daily covers.  It starts empty, at the
-- first day of data the daemon knows of (or today) and the commits its
-- snapshots hold (coverage is written with their marks, so no event of
-- those commits is older than that day); the daemon then adds the commits
-- after, and a day at a time up to today.
CREATE TABLE usage_mark (
	one		boolean		PRIMARY KEY DEFAULT true CHECK (one),
	commit_no	bigint		NOT NULL,
	day		integer		NOT NULL
);
INSERT INTO usage_mark (commit_no, day)
SELECT coalesce((SELECT min(commit_no) FROM snapshot_marks), 0),
    coalesce((SELECT min(day) FROM coverage WHERE kind = 'c'),
    (now() AT TIME ZONE 'UTC')::date) - date '1970-01-01';

-- What a backtest still reads raw, by ts: the rarer event types (only
-- they pay for this index at ingest), and rows other programs wrote.
CREATE INDEX events_rare ON events (ts)
    WHERE type NOT IN ('login', 'feature_used');
CREATE INDEX events_foreign ON events (ts) WHERE commit_no IS NULL;
