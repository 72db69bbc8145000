-- bench/restart.sql -- the stored form of :accounts accounts with :days days
-- of history, written directly (generate_series), as today's daemon would
-- have left it after ingesting that history live.  Run by bench/restart
-- (see bench/README.md) on a freshly migrated database:
--
--   psql -v accounts=N -v days=D -v score_days=S -f bench/restart.sql
--
-- What the ingest statement (src/store.c, ingest_sql) and the daemon's
-- other writes store, per account "acct-NNNNNNN":
--
--   accounts       metadata (plan, seats, renewal, core features), as a
--                  CRM sync sends it (PUT /v1/accounts/{id})
--   rollup_daily   logins per UTC day, days today-D .. today-1; 4..12 a
--                  day, each in its own hour from 08:00
--   rollup_hourly  the same logins per UTC hour, for the hours retention
--                  keeps (the last 3 days; the loader reads 49 hours)
--   rollup_seen    the last day each of 10 users ('u') and 3 features
--                  ('f') was seen
--   health_daily   one score per account per day for S days (the daemon
--                  writes today's score every day)
--   coverage       'a': the account's first day; 'c': the first day of
--                  the usage, support and org classes
--   events         on every tenth account: 5 contacts joined on the first
--                  day (one a champion), a title change, one leaving, and
--                  a ticket created every 9 days and solved 2 days later
--
-- The events table holds no login or feature_used rows: a million accounts
-- x 90 days x ~10 logins would be ~900 M rows, and today's start-up never
-- reads them (it reads the rollups, and events only WHERE type NOT IN
-- ('login', 'feature_used') through the partial index events_context_ts).
-- So this measures today's restart path, not a design that replays raw
-- usage events; their absence also makes the context events denser on
-- disk than they would be between real usage rows.
--
-- All tables are truncated in the same transaction, so with wal_level =
-- minimal (which bench/restart sets while generating) none of it is
-- WAL-logged.  Rows go in key order, so every index grows at its right
-- edge.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET work_mem = '256MB';
SELECT (now() AT TIME ZONE 'UTC')::date AS today \gset

BEGIN;
TRUNCATE events, rollup_daily, rollup_hourly, rollup_seen, health_daily,
    coverage, accounts;

-- account number a (1..N) -> 'acct-0000042'; zero-padded so that numeric
-- order is key order.
CREATE FUNCTION pg_temp.acct(a integer) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'acct-' || lpad(a::text, 7, '0') $$;
-- logins of account a on day k (k = 1 is the oldest day): 4..12
CREATE FUNCTION pg_temp.logins(a integer, k integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 4 + (a * 37 + k * 11) % 9 $$;

INSERT INTO accounts (id, name, plan, seats, owner, onboarded_at,
    renewal_at, core_features)
SELECT pg_temp.acct(a), 'Customer ' || a,
    (ARRAY['starter', 'growth', 'enterprise'])[1 + a % 3], 10 + a % 40,
    'csm-' || a % 20 || '@example.com',
    (:'today'::date - 400)::timestamp AT TIME ZONE 'UTC',
    (:'today'::date + 1 + a % 365)::timestamp AT TIME ZONE 'UTC',
    '{reports,export}'
FROM generate_series(1, :accounts) a;

INSERT INTO rollup_daily (account_id, day, logins)
SELECT pg_temp.acct(a), :'today'::date - :days - 1 + k, pg_temp.logins(a, k)
FROM generate_series(1, :accounts) a
CROSS JOIN LATERAL generate_series(1, :days) k;

-- Login j of a day is at hour 8 + j.  The rows of the hours retention
-- keeps (3 days), as the ingest statement wrote them (one login each).
INSERT INTO rollup_hourly (account_id, hour_utc, logins)
SELECT pg_temp.acct(a), h, 1
FROM generate_series(1, :accounts) a
CROSS JOIN LATERAL generate_series(:days - 2, :days) k
CROSS JOIN LATERAL generate_series(0, pg_temp.logins(a, k) - 1) j
CROSS JOIN LATERAL (SELECT (:'today'::date - :days - 1 + k)::timestamp
    + make_interval(hours => 8 + j) AS h) x
WHERE k >= 1 AND h > (now() AT TIME ZONE 'UTC') - interval '3 days';

-- 10 users, last seen on one of the last three days; user 9 stopped 60
-- days ago.  3 features.  In key order: (account_id, kind, key).
INSERT INTO rollup_seen (account_id, kind, key, day)
SELECT pg_temp.acct(a), s.kind, s.key, s.day
FROM generate_series(1, :accounts) a
CROSS JOIN LATERAL (
	SELECT 'f'::"char" AS kind, f AS key, :'today'::date - 1 - n::integer AS day
	FROM unnest(ARRAY['dashboards', 'export', 'reports'])
	    WITH ORDINALITY AS t(f, n)
	UNION ALL
	SELECT 'u', 'u-' || a || '-' || u, :'today'::date -
	    CASE WHEN u = 9 THEN LEAST(60, :days) ELSE 1 + u % 3 END
	FROM generate_series(0, 9) u
) s;

INSERT INTO health_daily (account_id, day, score)
SELECT pg_temp.acct(a), :'today'::date - :score_days - 1 + k,
    50 + (a * 13 + k) % 40
FROM generate_series(1, :accounts) a
CROSS JOIN LATERAL generate_series(1, :score_days) k;

INSERT INTO coverage (kind, key, day)
SELECT 'a', pg_temp.acct(a), :'today'::date - :days
FROM generate_series(1, :accounts) a
UNION ALL
SELECT 'c', c, :'today'::date - :days
FROM unnest(ARRAY['org', 'support', 'usage']) c
ORDER BY 1, 2;

-- The context events of every tenth account, in ts order (as they would
-- have arrived).  ts: the day's 10:00 + the account's minute of the day.
INSERT INTO events (source, id, account_id, type, ts, user_id, props,
    received_at, commit_no)
SELECT 'bench', id, pg_temp.acct(a), type, ts, NULL, props, ts, cno
FROM (
	-- 5 contacts join on the first day; contact 0 is the champion
	SELECT a, 'cj-' || a || '-' || c AS id, 'contact.joined' AS type,
	    (:'today'::date - :days)::timestamp AT TIME ZONE 'UTC'
	    + make_interval(hours => 10, mins => a % 600 + c) AS ts,
	    jsonb_build_object('contact_id', 'c-' || a || '-' || c,
	    'name', 'Person ' || a || '-' || c,
	    'title', (ARRAY['VP Engineering', 'Head of Operations',
	    'IT Administrator', 'Data Analyst', 'CTO'])[1 + c],
	    'is_champion', c = 0) AS props
	FROM generate_series(10, :accounts, 10) a,
	    generate_series(0, 4) c
	UNION ALL
	-- contact 1 changes title halfway
	SELECT a, 'cc-' || a, 'contact.changed',
	    (:'today'::date - :days / 2)::timestamp AT TIME ZONE 'UTC'
	    + make_interval(hours => 10, mins => a % 600),
	    jsonb_build_object('contact_id', 'c-' || a || '-1',
	    'title', 'COO', 'previous_title', 'Head of Operations')
	FROM generate_series(10, :accounts, 10) a
	UNION ALL
	-- contact 3 leaves 20 days ago
	SELECT a, 'cl-' || a, 'contact.left',
	    (:'today'::date - LEAST(20, :days - 1))::timestamp AT TIME ZONE 'UTC'
	    + make_interval(hours => 10, mins => a % 600),
	    jsonb_build_object('contact_id', 'c-' || a || '-3')
	FROM generate_series(10, :accounts, 10) a
	UNION ALL
	-- a ticket every 9 days, solved 2 days later (if that is past)
	SELECT a, s || '-' || a || '-' || t,
	    CASE s WHEN 'tc' THEN 'ticket.created' ELSE 'ticket.solved' END,
	    (:'today'::date - :days + 9 * t + CASE s WHEN 'ts' THEN 2 ELSE 0 END)
	    ::timestamp AT TIME ZONE 'UTC'
	    + make_interval(hours => 10, mins => a % 600),
	    CASE s WHEN 'tc' THEN jsonb_build_object('ticket_id',
	    't-' || a || '-' || t, 'team', 'finance',
	    'category', (ARRAY['billing', 'bug', 'how-to'])[1 + (a + t) % 3],
	    'priority', (ARRAY['low', 'normal', 'high', 'urgent'])[1 + t % 4],
	    'subject', 'Question ' || t, 'sentiment', ((a + t) % 5 - 2) / 4.0)
	    ELSE jsonb_build_object('ticket_id', 't-' || a || '-' || t) END
	FROM generate_series(10, :accounts, 10) a,
	    generate_series(0, (:days - 1) / 9) t,
	    unnest(ARRAY['tc', 'ts']) s
	WHERE 9 * t + CASE s WHEN 'ts' THEN 2 ELSE 0 END < :days
) e, LATERAL (SELECT (extract(epoch FROM ts) / 60)::bigint AS cno) n
ORDER BY ts, id;

COMMIT;
