-- 001_events: the stored events (a stable interface for analysts, SPEC 1)
-- and account metadata (SPEC 2.5).
--
-- events: one row per accepted event.  (source, id) is the idempotency key:
-- source is the name of the token or webhook source that sent the event.
-- Only the primary key is indexed: every index costs insert speed, and the
-- windows are rebuilt from rollups (later migrations), not from this table.

CREATE TABLE events (
	source		text		NOT NULL,
	id		text		NOT NULL,
	account_id	text		NOT NULL,
	type		text		NOT NULL,
	ts		timestamptz	NOT NULL,
	user_id		text,
	props		jsonb		NOT NULL DEFAULT '{}',
	received_at	timestamptz	NOT NULL DEFAULT now(),
	PRIMARY KEY (source, id)
);

COMMENT ON TABLE events IS 'churnwatch: one row per accepted event; (source, id) is the idempotency key';

CREATE TABLE accounts (
	id		text		PRIMARY KEY,
	name		text,
	plan		text,
	segment		text,
	seats		integer		CHECK (seats >= 0),
	owner		text,
	slack_channel	text,
	onboarded_at	timestamptz,
	renewal_at	timestamptz,
	core_features	text[]		NOT NULL DEFAULT '{}',
	created_at	timestamptz	NOT NULL DEFAULT now(),
	updated_at	timestamptz	NOT NULL DEFAULT now()
);
