-- 008_portfolio: portfolio alerts (SPEC 4, "Portfolio trends") belong to
-- no account: one alert per key -- a risk phrase class of voice_risk or a
-- ticket category seen at many accounts, "voice_risk:budget",
-- "ticket_category:billing".  They are stored with account_id '' (never
-- an account's: account ids are 1..128 bytes) and signal 'portfolio', the
-- key in the new column; every other alert keeps key ''.  The open-alert
-- index takes the key in, so each key has at most one open alert.
ALTER TABLE alerts ADD COLUMN key text NOT NULL DEFAULT '';
DROP INDEX alerts_open;
CREATE UNIQUE INDEX alerts_open ON alerts (account_id, signal, key)
	WHERE state <> 'resolved';
