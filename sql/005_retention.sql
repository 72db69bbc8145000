-- 005_retention: a BRIN index on events.ts for the daily retention job
-- (SPEC 3: raw events older than the horizon are removed).  BRIN costs
-- next to nothing on insert and finds the oldest block ranges of an
-- append-mostly table.
CREATE INDEX events_ts_brin ON events USING brin (ts);
