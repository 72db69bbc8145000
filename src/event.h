/*
 * event.h -- decode and validate ingest bodies (SPEC 2.1, 2.2).
 *
 * Pure: takes bytes and the clock value, returns C structs.  The decoder
 * (jansson today) stays behind this interface so it can be swapped.
 */
#ifndef CW_EVENT_H
#define CW_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* Maps one-to-one to the API's {"error", "message"}. */
struct cw_error {
	const char	*code;		/* static string, e.g. "invalid_json" */
	char		 msg[160];
};

enum cw_event_type {
	EV_LOGIN,
	EV_FEATURE_USED,
	EV_TICKET_CREATED,
	EV_TICKET_UPDATED,
	EV_TICKET_SOLVED,
	EV_CONTACT_JOINED,
	EV_CONTACT_LEFT,
	EV_CONTACT_CHANGED,
	EV_COMPETITOR_SIGNAL,
	EV_TOUCHPOINT,
	EV_NOTE,
	EV_ACCOUNT_CHURNED,		/* outcomes: stored, in no window */
	EV_ACCOUNT_RENEWED,
	EV_ACCOUNT_CONTRACTED,
	EV__COUNT
};

/* "ticket.created" (NULL if out of range); the type, or -1 if unknown. */
const char	*event_type_name(enum cw_event_type);
int		 event_type_parse(const char *, size_t);

#define CW_ID_MAX	256	/* bytes, event id */
#define CW_ACCOUNT_MAX	128	/* bytes, account_id (SPEC: 1..128) */
#define CW_USER_MAX	256	/* bytes, user_id */
#define CW_PROP_STR_MAX	1024	/* bytes, any string in props (SPEC 2.2) */
#define CW_NOTE_TEXT_MAX 4096	/* bytes, a note's text: the one exception */
#define CW_COUNT_MAX	UINT32_MAX /* attendees, invited */

/*
 * The props the rules read, extracted at decode time (so windows never
 * parse JSON again).  Only the props of the event's own type are filled;
 * strings are owned by the event, NULL when absent (or JSON null); an
 * empty tags array is tags == NULL, ntags == 0.  ticket_id and contact_id
 * given as JSON integers are turned into decimal strings.  An event
 * without props allocates nothing here.  Note is_champion, attendees and
 * invited: absent is -1, so an event built by hand (tests, other
 * decoders) must set them (event_props_init()).
 */
struct cw_event_props {
	char		*feature;		/* feature_used */
	char		*ticket_id;		/* ticket.* */
	char		*team;
	char		*category;
	char		*subject;
	char		**tags;			/* ntags strings */
	size_t		 ntags;
	int		 has_sentiment;
	double		 sentiment;		/* -1..1 */
	char		*contact_id;		/* contact.* */
	char		*title;
	char		*previous_title;
	char		*previous_company;
	int		 is_champion;		/* -1 absent, 0, 1 */
	char		*competitor;		/* competitor.signal */
	char		*kind;			/* competitor.signal, touchpoint,
						 * note */
	int64_t		 attendees;		/* touchpoint; -1 absent */
	int64_t		 invited;		/* touchpoint; -1 absent */
	char		*text;			/* note */
};

/* Empty props: every string NULL, is_champion, attendees, invited -1. */
void	event_props_init(struct cw_event_props *);

struct cw_event {
	char			*id;		/* 1..CW_ID_MAX bytes */
	char			*account_id;	/* 1..CW_ACCOUNT_MAX bytes */
	enum cw_event_type	 type;
	int64_t			 ts;		/* us since epoch, UTC */
	char			*user_id;	/* NULL when absent */
	char			*props;		/* compact JSON object, never NULL */
	struct cw_event_props	 p;		/* extracted known props */
};

struct cw_rejection {
	size_t		 index;		/* position in the request, from 0 */
	struct cw_error	 err;
};

struct cw_event_limits {
	size_t		 max_events;	/* more -> whole body refused */
	int64_t		 horizon_us;	/* oldest accepted ts = now - horizon */
	int64_t		 future_us;	/* newest accepted ts = now + future */
};

enum cw_body_format {
	BODY_JSON,	/* one object or an array of objects */
	BODY_NDJSON	/* one object per line; blank lines skipped */
};

/* The result of decoding one request body; owns everything in it. */
struct cw_event_batch {
	struct cw_event		*ev;	/* valid events, in request order */
	size_t			 nev;
	struct cw_rejection	*rej;	/* rejected ones, by index */
	size_t			 nrej;
	size_t			 total;	/* events in the body */
};

/*
 * Decode body (len bytes, need not be NUL-terminated).  now is the time of
 * receipt (us), used for a missing ts and the ts bounds.  Returns 0 and
 * fills out (events may still all be rejected) or -1 and fills err when the
 * body as a whole is unusable: "invalid_json" (not JSON / not an object or
 * array of objects at the top), "empty_body", "too_many_events".
 * On -1, out is left empty.  Free with event_batch_free().
 * "internal_error" (out of memory) is the only other -1 code.
 *
 * Per-event rules, first failure wins (codes in SPEC 2.1 terms):
 * invalid_event, missing_id / invalid_id, missing_account_id /
 * invalid_account_id, missing_type / unknown_type, invalid_ts,
 * invalid_user_id / missing_user_id, invalid_props, missing_prop,
 * invalid_prop (a touchpoint's attendees above its invited is one too).
 * A JSON null member counts as absent (a null ts defaults to
 * now, a null optional prop is not checked).  Known props are checked only
 * on the types SPEC 2.2 lists them for; other props are kept unchecked.  A
 * required prop that is an empty string is invalid_prop.  Strings (ids,
 * user_id) must not contain C0/C1 control characters or DEL.
 * props holds the request's own text of the object (whitespace outside
 * strings removed; numbers and escapes as sent), or "{}" when absent.
 */
int	event_decode_body(const char *body, size_t len, enum cw_body_format,
	    int64_t now, const struct cw_event_limits *,
	    struct cw_event_batch *out, struct cw_error *err);

/*
 * 0 when the JSON text s (n bytes, already accepted by jansson) is one
 * PostgreSQL's jsonb stores; else 1 with err (code "invalid_props",
 * naming the nearest key).  jsonb refuses what jansson takes: a \u0000
 * escape (text holds no NUL) and numbers outside numeric's range (more
 * than 16383 digits after the point -- 1e-20000, which jansson reads as
 * 0 -- or more than 131072 before it).  With str_max > 0 a string, key or
 * value, that decodes to more than str_max bytes is refused too.  The
 * event decoder runs it on every event's props, so that nothing it
 * accepts can fail the group commit for what it is.
 */
int	event_json_storable(const char *s, size_t n, size_t str_max,
	    struct cw_error *err);

/*
 * event_json_storable() with the string limits of SPEC 2.2 for props of
 * type t: CW_PROP_STR_MAX bytes, except a note's top-level "text" value,
 * CW_NOTE_TEXT_MAX.  What the decoder holds every accepted event to.
 */
int	event_props_storable(enum cw_event_type t, const char *s, size_t n,
	    struct cw_error *err);

/*
 * Rebuild an event from its stored row (recovery: events loaded back from
 * PostgreSQL): type name, ts, user_id (NULL when absent), props as JSON
 * text (jsonb's output, spaces and all; NULL, "{}" or "null" for none).
 * The same checks as at ingest run, except the horizon and future bounds
 * (a stored event may be older than any horizon; ts must still lie in
 * years 0001..9999, "invalid_ts"), and the same props are extracted into
 * ev->p; strings are copied and ev->props is the compacted text.  Returns
 * 0, or -1 with err (and ev empty) when the row does not validate (it
 * then counts in no window) or on "internal_error".  Free with
 * event_free_fields().
 */
int	event_from_row(const char *id, const char *account_id,
	    const char *type, int64_t ts, const char *user_id,
	    const char *props, struct cw_event *ev, struct cw_error *err);

void	event_batch_free(struct cw_event_batch *);	/* keeps the struct */
/* Frees the strings of ev and of ev->p, leaving them as
 * event_props_init() does; NULL is a no-op. */
void	event_free_fields(struct cw_event *);

#endif
