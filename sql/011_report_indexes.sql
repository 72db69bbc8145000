-- 011_report_indexes.sql -- what the reports (SPEC 2.8, 9) read without a
-- scan of whole tables: the daily scores of a range of days (health_daily
-- is keyed by account first), and the outcome events of a range of days
-- (a partial index: only the rare outcome events pay for it at ingest).
CREATE INDEX health_daily_day ON health_daily (day);
CREATE INDEX events_outcomes ON events (ts)
    WHERE type IN ('account.churned', 'account.contracted',
    'account.renewed');
