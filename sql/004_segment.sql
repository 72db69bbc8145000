-- 004_segment: which account a Segment user was last grouped with
-- (SPEC 2.4: track/identify/page/screen without context.groupId are
-- attributed through it).  Survives restarts; read back at start-up.
CREATE TABLE segment_members (
	user_id		text		PRIMARY KEY,
	account_id	text		NOT NULL,
	updated_at	timestamptz	NOT NULL DEFAULT now()
);
