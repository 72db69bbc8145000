-- 010_slack: the Slack app (SPEC 2.7, 5).  slack_messages remembers,
-- per alert and slack-app receiver, the message chat.postMessage made
-- (its channel and ts), so that an ack, a snooze or the resolve updates
-- that message with chat.update instead of posting another.  acked_by
-- records who acknowledged an alert (a Slack user, "name (U123)").
CREATE TABLE slack_messages (
	alert_id	bigint		NOT NULL,
	receiver	text		NOT NULL,
	channel		text		NOT NULL,
	ts		text		NOT NULL,
	updated_at	timestamptz	NOT NULL DEFAULT now(),
	PRIMARY KEY (alert_id, receiver)
);
ALTER TABLE alerts ADD COLUMN acked_by text;
