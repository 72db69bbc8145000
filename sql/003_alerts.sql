-- 003_alerts: alerts, their notifications (the outbox) and silences
-- (SPEC 5, 2.6).  Every alert transition and every notification to send
-- is written here first; delivery reads from it, so a restart neither
-- loses nor repeats a notification.

-- One row per alert; (account_id, signal) has at most one open alert.
-- ids are made by churnwatchd (time-ordered), so that a notification can
-- name its alert before either is stored.
CREATE TABLE alerts (
	id		bigint		PRIMARY KEY,
	account_id	text		NOT NULL,
	signal		text		NOT NULL,
	category	text		NOT NULL,
	fingerprint	text		NOT NULL,
	state		text		NOT NULL
			CHECK (state IN ('firing', 'resolving', 'resolved')),
	severity	text		NOT NULL,
	started_at	timestamptz	NOT NULL,
	inactive_since	timestamptz,
	resolved_at	timestamptz,
	last_notified	timestamptz,
	acked_at	timestamptz,
	explanation	text,
	updated_at	timestamptz	NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_open ON alerts (account_id, signal)
	WHERE state <> 'resolved';
CREATE INDEX alerts_started ON alerts (started_at);

-- The outbox: one row per notification per receiver, with the exact body
-- to send.  state: pending (to send), sent, failed (permanently), or
-- silenced (stored, not sent).
CREATE TABLE notifications (
	id		text		PRIMARY KEY,
	alert_id	bigint		NOT NULL,
	receiver	text		NOT NULL,
	kind		text		NOT NULL,
	body		text		NOT NULL,
	state		text		NOT NULL
			CHECK (state IN ('pending', 'sent', 'failed', 'silenced')),
	attempts	integer		NOT NULL DEFAULT 0,
	detail		text,
	created_at	timestamptz	NOT NULL DEFAULT now(),
	done_at		timestamptz
);
CREATE INDEX notifications_pending ON notifications (created_at)
	WHERE state = 'pending';
CREATE INDEX notifications_alert ON notifications (alert_id);

CREATE TABLE silences (
	id		bigserial	PRIMARY KEY,
	account_id	text,
	signal		text,
	category	text,
	until		timestamptz	NOT NULL,
	comment		text		NOT NULL DEFAULT '',
	expire_on_resolve boolean	NOT NULL DEFAULT false,
	created_at	timestamptz	NOT NULL DEFAULT now(),
	ended_at	timestamptz
);
