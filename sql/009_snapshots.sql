-- 009_snapshots: the windows as a checkpointed view of the events log
-- (issue 11).  Ingest now stores events only; the daemon writes each
-- changed account's windows as a binary snapshot (src/snapshot.c) and,
-- per partition of accounts, a watermark of the commits they hold.  A
-- restart reads the snapshots and replays the events committed after.
--
-- The rollup tables of 002 are no longer written.  They are still read
-- once, by the first start after this migration, to build the first
-- snapshots; retention empties them afterwards.

-- Replay finds the events after a watermark by commit number; commits are
-- numbered in order, so inserts land at the right edge of the index.
CREATE INDEX events_commit_no ON events (commit_no);

-- Only the rollup rebuild read it, and it costs every non-usage insert.
DROP INDEX IF EXISTS events_context_ts;

-- One image per account (format version, CRC-checked); part is
-- account_part(account_id), so one node can read one partition.
CREATE TABLE snapshots (
	account_id	text		PRIMARY KEY,
	part		smallint	NOT NULL,
	version		smallint	NOT NULL,
	image		bytea		NOT NULL,
	written_at	timestamptz	NOT NULL DEFAULT now()
);
CREATE INDEX snapshots_part ON snapshots (part);

-- Per partition: its snapshots hold every event of commits up to
-- commit_no, and of the commits in applied above it, and no other.
CREATE TABLE snapshot_marks (
	part		smallint	PRIMARY KEY,
	commit_no	bigint		NOT NULL,
	applied		bigint[]	NOT NULL DEFAULT '{}',
	written_at	timestamptz	NOT NULL DEFAULT now()
);

-- Values the daemon keeps across restarts: the key of the hash under
-- which windows keep user and ticket ids (and so their snapshots).
CREATE TABLE settings (
	name		text		PRIMARY KEY,
	value		bytea		NOT NULL
);
