-- 002_rollups: what the in-memory windows are rebuilt from after a restart,
-- so that start-up reads a bounded amount (accounts x days), never the
-- whole raw event history.  Written in the same transaction as the events
-- they summarise (store.c), so they can never disagree with them.
--
-- Usage events (login, feature_used) are summarised; the rarer events
-- (tickets, contacts, competitor signals, touchpoints) are read back from
-- events itself through a partial index that only they pay for.

-- Logins per account per UTC day.
CREATE TABLE rollup_daily (
	account_id	text		NOT NULL,
	day		date		NOT NULL,
	logins		integer		NOT NULL,
	PRIMARY KEY (account_id, day)
);

-- Logins per account per UTC hour, for the last two days (usage_spike).
CREATE TABLE rollup_hourly (
	account_id	text		NOT NULL,
	hour_utc	timestamp	NOT NULL,
	logins		integer		NOT NULL,
	PRIMARY KEY (account_id, hour_utc)
);

-- Last UTC day a user ('u') or a feature ('f') was seen in an account.
CREATE TABLE rollup_seen (
	account_id	text		NOT NULL,
	kind		"char"		NOT NULL,
	key		text		NOT NULL,
	day		date		NOT NULL,
	PRIMARY KEY (account_id, kind, key)
);

CREATE INDEX events_context_ts ON events (ts)
	WHERE type NOT IN ('login', 'feature_used');

-- One health score per account per UTC day (trend_7d), the last of the day.
CREATE TABLE health_daily (
	account_id	text		NOT NULL,
	day		date		NOT NULL,
	score		smallint	NOT NULL,
	PRIMARY KEY (account_id, day)
);

-- Events stored before this migration: summarise them once.
INSERT INTO rollup_daily (account_id, day, logins)
SELECT account_id, (ts AT TIME ZONE 'UTC')::date, count(*)
FROM events WHERE type = 'login' GROUP BY 1, 2;

INSERT INTO rollup_hourly (account_id, hour_utc, logins)
SELECT account_id, date_trunc('hour', ts AT TIME ZONE 'UTC'), count(*)
FROM events WHERE type = 'login' AND ts > now() - interval '49 hours'
GROUP BY 1, 2;

INSERT INTO rollup_seen (account_id, kind, key, day)
SELECT account_id, kind, key, max(day) FROM (
	SELECT account_id, 'u'::"char" AS kind, user_id AS key,
	    (ts AT TIME ZONE 'UTC')::date AS day
	FROM events
	WHERE user_id IS NOT NULL AND type IN ('login', 'feature_used')
	UNION ALL
	SELECT account_id, 'f', props->>'feature', (ts AT TIME ZONE 'UTC')::date
	FROM events WHERE type = 'feature_used'
) x GROUP BY 1, 2, 3;
