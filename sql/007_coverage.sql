-- 007_coverage: since when churnwatch has data (SPEC 4, "Data coverage"),
-- so that a signal reading the absence of something never fires on data
-- it has not had.  kind 'c': a data class (usage, support, engagement,
-- org, competitor), the first UTC day of any event of it; kind 'a': an
-- account, the day of its earliest event.  Only ever moves earlier; kept
-- when retention removes the events it was learnt from.
CREATE TABLE coverage (
	kind		"char"		NOT NULL,
	key		text		NOT NULL,
	day		date		NOT NULL,
	PRIMARY KEY (kind, key)
);

INSERT INTO coverage (kind, key, day)
SELECT 'a', account_id, min((ts AT TIME ZONE 'UTC')::date)
FROM events WHERE account_id <> '' GROUP BY account_id;

INSERT INTO coverage (kind, key, day)
SELECT 'c', class, min(day) FROM (
	SELECT CASE
		WHEN type IN ('login', 'feature_used') THEN 'usage'
		WHEN type LIKE 'ticket.%' THEN 'support'
		WHEN type IN ('touchpoint', 'note') THEN 'engagement'
		WHEN type LIKE 'contact.%' THEN 'org'
		WHEN type = 'competitor.signal' THEN 'competitor'
	END AS class, (ts AT TIME ZONE 'UTC')::date AS day
	FROM events WHERE account_id <> ''
) x WHERE class IS NOT NULL GROUP BY class;
