/*
 * window.h -- per-account rolling windows (SPEC 3).  Pure: values in,
 * values out; no I/O, no clock (callers pass "today").
 *
 * Days are UTC day numbers (days since 1970-01-01).  Usage is kept in
 * fixed rings (logins per day for WIN_DAYS days, per hour for WIN_HOURS
 * hours) and last-seen tables (users, features); the rarer events
 * (tickets, contacts, competitor signals, touchpoints, notes) are kept as
 * small arrays of compact records for WIN_DAYS days.  Strings (teams,
 * categories, features, competitors, contact ids, the risk phrases notes
 * matched) are interned (intern.h); ticket ids, which would grow the
 * intern table without end, are kept as a keyed 64-bit hash like user
 * ids.  Outcome events (account.churned, ...) change no window.
 *
 * Applying an event is O(1) amortised (records arrays append; old records
 * are pruned lazily).  A contact event older than (or as old as) the
 * newest applied event of its contact costs O(n + k log k), n the contact
 * records of the account, k those of the contact: the contact's records
 * are re-derived in contact order (window_cevent_cmp()), so contact state
 * and records are a function of the events, not of their arrival order.
 * The state before the window is a fold too, by ts: an event older than
 * the window and newer than what that state holds (win_contact.pre_ts)
 * is folded onto it; an older one only gives it a title it lacks, and
 * its is_champion when no event said one (the events themselves are
 * gone, so its place cannot be re-derived).  Applying the same event twice counts it twice: the
 * caller applies only events that were newly stored (store.c says which).
 *
 * The window covers the WIN_DAYS days (last_day - WIN_DAYS, last_day],
 * where last_day is the newest day it has seen: of any event, of any
 * restored rollup, or the today of window_prune().  Data older than that
 * is ignored by every query (and dropped by pruning), so answers never
 * depend on when pruning ran, nor on the order events arrived in.  The
 * hourly ring covers (last_hour - WIN_HOURS, last_hour], last_hour being
 * the newest login hour.  Days before 1970-01-02 (day <= 0) are ignored.
 *
 * After a restart the window is rebuilt from PostgreSQL: usage from the
 * daily/hourly rollups with the window_restore_*() functions, everything
 * else by window_apply() of the stored events in ts order.  Restoring
 * gives the same query answers as applying the original events.
 *
 * Memory: sizeof(struct window) is 416 bytes on LP64 (u8 counters that
 * move to an allocated u16 ring, 480 bytes more, for an account that
 * counts more than 255 logins in a day or an hour), plus 16..24 bytes
 * per tracked user (12-byte slots at load 1/2..3/4; ~2/3 as restored),
 * plus the records of the last WIN_DAYS days (a contact event 32 bytes:
 * its facts and the state before it, so that it can be replayed).
 * Contacts (24 bytes), whose state outlives the window, are an array;
 * past WIN_CONTACT_SCAN of them an index (8..16 bytes per contact) finds
 * one in O(1), so a client that sends thousands of contacts to one
 * account cannot make each event cost
 * a scan of them all.
 */
#ifndef CW_WINDOW_H
#define CW_WINDOW_H

#include <stddef.h>
#include <stdint.h>

struct cw_event;

#define WIN_DAYS	192	/* >= 180 days of history */
#define WIN_HOURS	48
#define WIN_CONTACT_SCAN 16	/* contact slots searched without an index */

/* Title ranks, lowest first (SPEC 4: C-level > VP > Head/Director > ...). */
enum title_rank {
	RANK_NONE = 0,		/* no title known */
	RANK_OTHER,
	RANK_MANAGER,
	RANK_SENIOR_MANAGER,
	RANK_HEAD,		/* Head of ..., Director, 部長 */
	RANK_VP,		/* VP, 本部長, 執行役員 */
	RANK_CLEVEL		/* CEO, CTO, ..., 取締役, 社長 */
};

enum win_ticket_kind { WT_CREATED, WT_UPDATED, WT_SOLVED };
enum win_contact_kind { WC_JOINED, WC_LEFT, WC_CHANGED };
enum win_competitor_kind {
	WCK_MENTION, WCK_EVENT, WCK_OUTREACH, WCK_CONTENT, WCK_EVALUATION,
	WCK_POC, WCK_UNKNOWN,
	WCK__COUNT
};

#define WIN_NO_SENTIMENT	INT8_MIN
#define WIN_NO_RATE		UINT16_MAX
#define WIN_RATE_ONE		10000	/* attendance rate 1.0 */

/*
 * The records below start with their day (window.c prunes them all
 * alike).  Arrays are in the order events were applied, not by day
 * (one contact's records are kept in contact order among the slots they
 * hold, see window_cevent_cmp()).
 */

/*
 * One ticket.* event.  ticket and ts tell which events are one ticket
 * and which of them is its latest (window_sentiment()).
 */
struct win_ticket {
	int32_t		 day;
	uint32_t	 team;		/* interned; 0 = none */
	uint32_t	 category;	/* interned; 0 = none */
	int8_t		 sentiment;	/* -100..100, WIN_NO_SENTIMENT */
	uint8_t		 kind;		/* enum win_ticket_kind */
	uint8_t		 intent;	/* matched the churn-intent patterns */
	uint64_t	 ticket;	/* keyed hash of ticket_id, never 0 */
	int64_t		 ts;		/* the event's ts, us */
};

/*
 * One touchpoint.  rate is a meeting's attendance, attendees / invited in
 * 1/WIN_RATE_ONE (rounded), for a kind "meeting" with invited > 0 and
 * attendees given; else WIN_NO_RATE.
 */
struct win_touch {
	int32_t		 day;
	uint16_t	 rate;
};

/*
 * One note.  phrase and cls (its class) are the first risk phrase of
 * win_rules.phrases (in its order) found in the text when it was
 * applied, both interned; 0 when none matched.
 */
struct win_note {
	int32_t		 day;
	uint32_t	 phrase;
	uint32_t	 cls;
};

/*
 * One contact.* event: its facts (ts, kind, title, previous_title,
 * is_champion, from_competitor) and what they meant given the contact's
 * events before it in contact order (window_cevent_cmp(): by ts, ties by
 * the facts), whatever order the events arrived in.  "before" and
 * before_title are the contact's state just before the event, so the
 * state at the oldest record in the window is known without the records
 * (or events) that came before it; window.c re-derives a contact's
 * records from there when one of its events arrives out of order.
 */
struct win_contact_event {
	int32_t		 day;
	uint32_t	 contact;	/* interned contact_id */
	int64_t		 ts;		/* the event's ts, us */
	uint32_t	 title;		/* interned title; 0 = none */
	uint32_t	 prev;		/* interned previous_title; 0 = none */
	uint32_t	 before_title;	/* the contact's title before; 0 none */
	int8_t		 is_champion;	/* as posted: -1 absent, 0, 1 */
	/* derived, in contact order: */
	uint8_t		 old_rank;	/* enum title_rank before the event */
	uint8_t		 new_rank;	/* after */
	uint8_t		 kind:2;	/* enum win_contact_kind */
	uint8_t		 from_competitor:1; /* previous_company: a competitor */
	uint8_t		 champion:1;	/* derived: is (was) a champion */
	uint8_t		 title_changed:1; /* derived: differs from the known */
	uint8_t		 before:3;	/* derived: WCB_* flags, state before */
};

#define WCB_KNOWN	0x01	/* the contact was known (not new, not gone) */
#define WCB_CHAMPION	0x02	/* ... a champion */
#define WCB_LEFT	0x04	/* ... and had left */

/*
 * Current state of one contact: its events folded in contact order.  A
 * contact that left before the window is forgotten (pruned; until then
 * it is looked up as unknown).
 */
struct win_contact {
	int64_t		 ts;		/* ts of its newest event, us */
	int64_t		 pre_ts;	/* with has_pre: ts of the newest event
					 * older than the window folded into
					 * the state before the window */
	int32_t		 day;		/* day of its latest event */
	uint32_t	 contact;	/* interned contact_id */
	uint32_t	 title;		/* interned title; 0 = none */
	uint8_t		 rank;		/* enum title_rank */
	uint8_t		 champion;
	uint8_t		 left;
	uint8_t		 has_pre:1;
	uint8_t		 champ_set:1;	/* an event said is_champion */
};

struct win_competitor {
	int32_t		 day;
	uint32_t	 competitor;	/* interned name */
	uint8_t		 kind;		/* enum win_competitor_kind */
};

/*
 * Last day something was seen: a user (key = 64-bit FNV-1a hash of
 * user_id) or a feature (key = interned id).  Both tables are open
 * addressing hash tables (key 0 = empty slot), private to window.c: use
 * the queries.  Packed to 12 bytes: it is the per-user cost.
 */
struct win_seen {
	uint64_t	 key;
	int32_t		 day;
} __attribute__((packed, aligned(4)));

struct window {
	int32_t			 last_day;	/* newest day seen; 0 none */
	int32_t			 first_day;	/* oldest event day; 0 none */
	int32_t			 last_login;	/* day; 0 none */
	int32_t			 last_touch;	/* day; 0 none */
	int64_t			 last_hour;	/* newest login hour; 0 none */
	/*
	 * Login counts per day [day % WIN_DAYS] and per hour [hour %
	 * WIN_HOURS], one byte each while every count fits; the first count
	 * past 255 moves both rings to wide (u16, saturating), and they stay
	 * there.  Read and write them with window_ring() and
	 * window_ring_set().
	 */
	uint8_t			 logins[WIN_DAYS];
	uint8_t			 hourly[WIN_HOURS];
	uint16_t		*wide;	/* NULL, or WIN_DAYS + WIN_HOURS */

	struct win_seen		*users;		/* hash table, capusers slots */
	uint32_t		 nusers, capusers;
	struct win_seen		*features;	/* hash table, capfeatures */
	uint32_t		 nfeatures, capfeatures;

	struct win_touch	*touches;
	uint32_t		 ntouches, captouches;
	struct win_note		*notes;
	uint32_t		 nnotes, capnotes;
	struct win_ticket	*tickets;
	uint32_t		 ntickets, captickets;
	struct win_contact_event *cevents;
	uint32_t		 ncevents, capcevents;
	struct win_contact	*contacts;
	uint32_t		 ncontacts, capcontacts;
	uint32_t		*cindex;	/* slot + 1 by contact; 0 empty */
	uint32_t		 capcindex;	/* 0: none, search linearly */
	struct win_competitor	*competitors;
	uint32_t		 ncompetitors, capcompetitors;
};

/* A risk phrase of a note and the class it belongs to ("budget"). */
struct win_phrase {
	char		*text;		/* lower-case substring */
	char		*cls;
};

/* What window_apply() needs besides the event: the configured tables. */
struct win_rules {
	/* Churn-intent patterns, lower-case substrings (NULL-terminated). */
	const char *const	*intent_patterns;
	/* Competitor names, lower-case (NULL-terminated). */
	const char *const	*competitors;
	/* Risk phrases of notes, in order (ends with text NULL); or NULL. */
	const struct win_phrase	*phrases;
};

void	window_init(struct window *);
/*
 * The login ring's counts: WIN_RING_DAYS slot day % WIN_DAYS, or
 * WIN_RING_HOURS slot hour % WIN_HOURS.  window_ring_set() stores v
 * (at most UINT16_MAX); it returns -1 when the rings must go wide and
 * there is no memory for it, and then stores 255.
 */
enum win_ring { WIN_RING_DAYS, WIN_RING_HOURS };
unsigned	window_ring(const struct window *, enum win_ring, size_t slot);
int		window_ring_set(struct window *, enum win_ring, size_t slot,
		    unsigned v);
/* Frees the arrays and re-initialises w (w itself is the caller's). */
void	window_free(struct window *);

/*
 * Apply one stored event (its props as extracted in ev->p); rules may be
 * NULL (no intent patterns, no competitors).  Data older than the window
 * is ignored, except by first_day, last_login and last_touch (and the
 * state of contacts); the last-seen tables skip it too, as no query could
 * see it.  Returns 0, or -1 on allocation failure (no query answer
 * changes).
 */
int	window_apply(struct window *, const struct cw_event *,
	    const struct win_rules *);

/*
 * Rebuilding after a restart, from the rollups.  Each returns 0, or -1 on
 * allocation failure.
 *
 * window_restore_logins: count logins on day (added, saturating), as if
 * that many logins had been applied on that day: the ring, last_login,
 * first_day, last_day.  window_restore_hour: count logins in hour (hours
 * since the epoch, added) in the hourly ring only.  window_restore_user /
 * window_restore_feature: the user / feature was last seen on day (the
 * maximum is kept), as a login / feature_used would record it.
 * window_restore_day: a usage event was seen on day (first_day, last_day),
 * as every login and feature_used records it, with or without a user or
 * feature that could be restored.
 */
int	window_restore_logins(struct window *, int32_t day, unsigned count);
int	window_restore_hour(struct window *, int64_t hour, unsigned count);
int	window_restore_user(struct window *, const char *user_id,
	    int32_t day);
int	window_restore_feature(struct window *, const char *feature,
	    int32_t day);
void	window_restore_day(struct window *, int32_t day);

/*
 * Move the window to today (if newer than last_day) and drop what is
 * older than today - WIN_DAYS + 1: records, users, features, contacts
 * that left; shrinks arrays that became mostly empty.
 */
void	window_prune(struct window *, int32_t today);

/* ---- queries; day ranges are inclusive, [from, to] ---- */

/* Logins per day on one day (0 outside the ring). */
unsigned	window_logins_on(const struct window *, int32_t day);
/* Logins in [from, to]. */
uint64_t	window_logins(const struct window *, int32_t from, int32_t to);
/* Logins in the 24 hours up to and including hour now_hour. */
uint64_t	window_logins_24h(const struct window *, int64_t now_hour);
/* Is user_id in the last-seen table (however old its day)? */
int		window_user_seen(const struct window *, const char *user_id);
/* Users seen on or after day since. */
unsigned	window_active_users(const struct window *, int32_t since);
/* Last day the feature (interned id) was used; 0 never (in the window). */
int32_t		window_feature_last(const struct window *, uint32_t feature);
/* Touchpoints in [from, to]. */
unsigned	window_touches(const struct window *, int32_t from, int32_t to);
/* Tickets created in [from, to]. */
unsigned	window_tickets_created(const struct window *, int32_t from,
		    int32_t to);
/*
 * Sum (in 1/100) and count of ticket sentiments in [from, to], one per
 * ticket: of the events of one ticket_id in [from, to] that carry a
 * sentiment, the latest (by ts, ties by the order applied).  O(m log m)
 * for the m rated events (a temporary sorted copy); O(m^2) without
 * memory for it.
 */
void		window_sentiment(const struct window *, int32_t from,
		    int32_t to, int64_t *sum, unsigned *n);
/*
 * Sum (in 1/WIN_RATE_ONE) and count of the attendance rates of the
 * meetings in [from, to] that have one.
 */
void		window_attendance(const struct window *, int32_t from,
		    int32_t to, uint64_t *sum, unsigned *n);
/*
 * The newest note in [from, to] that matched a risk phrase (the later
 * applied of one day), or NULL; *n receives how many matched.
 */
const struct win_note *window_risk_note(const struct window *,
		    int32_t from, int32_t to, unsigned *n);
/*
 * The (team, category) with most tickets created in [from, to]; ties go
 * to the most recent.  Returns the count (0 if none).
 */
unsigned	window_top_team_category(const struct window *, int32_t from,
		    int32_t to, uint32_t *team, uint32_t *category);
/* Newest intent-matching ticket day in [from, to]; 0 none. */
int32_t		window_intent_ticket(const struct window *, int32_t from,
		    int32_t to);
/*
 * Competitor signals in [from, to]; if bykind is not NULL it receives the
 * count of each enum win_competitor_kind (WCK__COUNT entries).
 */
unsigned	window_competitors(const struct window *, int32_t from,
		    int32_t to, unsigned *bykind);
/*
 * Contact order, a total order on records up to identical facts: by ts,
 * then (a tie) joined < changed < left (a leaving at the same instant as
 * a joining wins), then by title, previous_title (as strings, so the
 * same after a restart), is_champion, from_competitor, contact_id, then
 * the derived fields.  Returns < 0, 0, > 0 like strcmp().  Records equal
 * under it are interchangeable: which is applied first changes nothing.
 */
int		window_cevent_cmp(const struct win_contact_event *,
		    const struct win_contact_event *);
/* The state of a contact (interned contact_id), or NULL if unknown. */
const struct win_contact *window_contact(const struct window *,
		    uint32_t contact);
/*
 * Distinct contacts with a leaving or a title change (contact.changed
 * with title_changed) recorded in [from, to]; *left receives how many of
 * them have a leaving in [from, to].  The records are read as stored,
 * like signal.c's other contact loops (no clamp to the window).
 * O(m log m) for the m matching records (a temporary sorted copy);
 * O(m^2) without memory for it.
 */
unsigned	window_contact_turnover(const struct window *, int32_t from,
		    int32_t to, unsigned *left);

/*
 * ---- for snapshot.c: the private tables, read and filled as they are ----
 *
 * WIN_SEEN_USERS / WIN_SEEN_FEATURES name a last-seen table.
 *
 * window_seen_next: the next entry of the table from *pos (start at 0),
 * in slot order, stale or not; 1 with *key and *day set and *pos moved
 * past it, 0 at the end.
 *
 * window_seen_load: make the (empty) table hold exactly the n entries
 * key[i] -> day[i], stale ones included, at load 1/2 as a rebuild leaves
 * it.  0; -1 when out of memory; -2 when the table was not empty or a
 * key is 0 or given twice.  The table is left empty on failure.
 *
 * window_contacts_loaded: contacts[0..ncontacts) were filled directly
 * (capcontacts set to the array's size): build the index they need.
 * Returns 0, or -1 when two slots hold one contact id or one is 0
 * (nothing changed then but the index, which lookups do not need).
 */
enum win_seen_table { WIN_SEEN_USERS, WIN_SEEN_FEATURES };

int		window_seen_next(const struct window *, enum win_seen_table,
		    uint32_t *pos, uint64_t *key, int32_t *day);
int		window_seen_load(struct window *, enum win_seen_table,
		    const uint64_t *key, const int32_t *day, uint32_t n);
int		window_contacts_loaded(struct window *);

/* Bytes used by w, arrays included (for bench figures). */
size_t		window_bytes(const struct window *);

/* Day number of a time in microseconds since the epoch (floor). */
int32_t		window_day(int64_t us);
/* Hour number (hours since the epoch) of a time in us (floor). */
int64_t		window_hour(int64_t us);

#endif
