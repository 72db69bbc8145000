-- 006_commit_no: the number of the daemon's commit that stored each event.
-- When the connection drops under a commit its outcome is unknown; the
-- daemon asks afterwards which of that commit's events are stored, so
-- they reach the windows exactly once (SPEC 6).  Nullable without a
-- default: adding it rewrites nothing; rows written by others stay NULL.
ALTER TABLE events ADD COLUMN commit_no bigint;
