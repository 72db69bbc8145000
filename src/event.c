/*
 * event.c -- decode an ingest body (one JSON object, a JSON array of them,
 * or NDJSON) and validate each event envelope (SPEC 2.1, 2.2).
 *
 * Pure: bytes and the clock value in, C structs out.  jansson parses and
 * stays inside this file; every json_t is released before
 * event_decode_body() returns.  The envelope rules are two const tables:
 * type_rules (per type: required prop, user_id required, which props are
 * known) and prop_rules (per known prop: which types, how it is checked).
 *
 * The props the rules read (struct cw_event_props) are copied out of
 * the parsed object by the same prop_rules table, for the event's own
 * type only; an event without props (a login) allocates nothing more.
 * event_from_row() runs the same checks and extraction on a stored row.
 *
 * props is stored as the request's own bytes, with the whitespace outside
 * strings removed, not re-serialised by jansson: that saves a dump per
 * event and keeps numbers exactly as sent (jansson prints -0.3 as
 * -0.29999999999999999).  A small scanner finds those bytes; it relies on
 * jansson having accepted the same text first.
 *
 * Not here: idempotency (store.c), HTTP status codes and the error writer
 * (http.c).
 */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "util.h"

#define PG_FEATURE	0x01u
#define PG_TICKET	0x02u
#define PG_CONTACT	0x04u
#define PG_COMPETITOR	0x08u
#define PG_TOUCHPOINT	0x10u
#define PG_NOTE		0x20u
#define PG_OUTCOME	0x40u

#define STR(s)		s, sizeof(s) - 1

static int	check_attendance(const json_t *, struct cw_error *);

static const struct type_rule {
	const char	*name;
	size_t		 len;
	const char	*required;	/* prop that must be present, or NULL */
	int		 needs_user;	/* user_id is required */
	unsigned	 props;		/* PG_* group of known props */
	/* Rules across props, run once each prop is valid; or NULL. */
	int		(*check)(const json_t *, struct cw_error *);
} type_rules[EV__COUNT] = {
	[EV_LOGIN] =		{ STR("login"), NULL, 1, 0 },
	[EV_FEATURE_USED] =	{ STR("feature_used"), "feature", 1,
				    PG_FEATURE },
	[EV_TICKET_CREATED] =	{ STR("ticket.created"), "ticket_id", 0,
				    PG_TICKET },
	[EV_TICKET_UPDATED] =	{ STR("ticket.updated"), "ticket_id", 0,
				    PG_TICKET },
	[EV_TICKET_SOLVED] =	{ STR("ticket.solved"), "ticket_id", 0,
				    PG_TICKET },
	[EV_CONTACT_JOINED] =	{ STR("contact.joined"), "contact_id", 0,
				    PG_CONTACT },
	[EV_CONTACT_LEFT] =	{ STR("contact.left"), "contact_id", 0,
				    PG_CONTACT },
	[EV_CONTACT_CHANGED] =	{ STR("contact.changed"), "contact_id", 0,
				    PG_CONTACT },
	[EV_COMPETITOR_SIGNAL] = { STR("competitor.signal"), "competitor", 0,
				    PG_COMPETITOR },
	[EV_TOUCHPOINT] =	{ STR("touchpoint"), NULL, 0, PG_TOUCHPOINT,
				    check_attendance },
	[EV_NOTE] =		{ STR("note"), "text", 0, PG_NOTE },
	[EV_ACCOUNT_CHURNED] =	{ STR("account.churned"), NULL, 0, PG_OUTCOME },
	[EV_ACCOUNT_RENEWED] =	{ STR("account.renewed"), NULL, 0, PG_OUTCOME },
	[EV_ACCOUNT_CONTRACTED] = { STR("account.contracted"), NULL, 0,
				    PG_OUTCOME },
};

static const char *const priorities[] = {
	"low", "normal", "high", "urgent", NULL
};
static const char *const competitor_kinds[] = {
	"mention", "event", "outreach", "content", "evaluation", "poc", NULL
};
static const char *const touchpoint_kinds[] = {
	"meeting", "call", "email", "chat", NULL
};
static const char *const note_kinds[] = {
	"meeting", "call", "email", "chat", "other", NULL
};

static int	check_string(const json_t *, const char *const *);
static int	check_id(const json_t *, const char *const *);
static int	check_tags(const json_t *, const char *const *);
static int	check_enum(const json_t *, const char *const *);
static int	check_sentiment(const json_t *, const char *const *);
static int	check_bool(const json_t *, const char *const *);
static int	check_count(const json_t *, const char *const *);
static int	check_amount(const json_t *, const char *const *);
static int	check_note_text(const json_t *, const char *const *);

static char	*dupn(const char *, size_t);
static json_t	*member(const json_t *, const char *);
static int	key_equals(const char *, size_t, const char *);
static int	get_string(const json_t *, struct cw_event_props *, size_t);
static int	get_id(const json_t *, struct cw_event_props *, size_t);
static int	get_tags(const json_t *, struct cw_event_props *, size_t);
static int	get_sentiment(const json_t *, struct cw_event_props *, size_t);
static int	get_bool(const json_t *, struct cw_event_props *, size_t);
static int	get_count(const json_t *, struct cw_event_props *, size_t);

#define P(f)	offsetof(struct cw_event_props, f)
#define NOGET	NULL, 0

/*
 * Known props.  A prop is checked only on the types whose group it is in;
 * on other types it is an unknown prop, kept and not checked.  JSON null
 * counts as absent.  want completes "props.NAME must be ...".  get copies
 * a valid value into struct cw_event_props at off (NULL: not read by the
 * rules, kept only in the raw props).
 */
static const struct prop_rule {
	const char		*name;
	unsigned		 groups;
	int			(*check)(const json_t *, const char *const *);
	const char *const	*values;	/* check_enum */
	const char		*want;
	int			(*get)(const json_t *, struct cw_event_props *,
				    size_t);
	size_t			 off;
} prop_rules[] = {
	{ "feature",	PG_FEATURE,	check_string,	NULL, "a string",
	    get_string, P(feature) },
	{ "ticket_id",	PG_TICKET,	check_id,	NULL,
	    "a string or an integer", get_id, P(ticket_id) },
	{ "team",	PG_TICKET,	check_string,	NULL, "a string",
	    get_string, P(team) },
	{ "category",	PG_TICKET,	check_string,	NULL, "a string",
	    get_string, P(category) },
	{ "tags",	PG_TICKET,	check_tags,	NULL,
	    "an array of strings", get_tags, P(tags) },
	{ "subject",	PG_TICKET,	check_string,	NULL, "a string",
	    get_string, P(subject) },
	{ "priority",	PG_TICKET,	check_enum,	priorities,
	    "one of low, normal, high, urgent", NOGET },
	{ "sentiment",	PG_TICKET,	check_sentiment, NULL,
	    "a number from -1 to 1", get_sentiment, P(sentiment) },
	{ "contact_id",	PG_CONTACT,	check_id,	NULL,
	    "a string or an integer", get_id, P(contact_id) },
	{ "name",	PG_CONTACT,	check_string,	NULL, "a string",
	    NOGET },
	{ "title",	PG_CONTACT,	check_string,	NULL, "a string",
	    get_string, P(title) },
	{ "previous_title", PG_CONTACT,	check_string,	NULL, "a string",
	    get_string, P(previous_title) },
	{ "is_champion", PG_CONTACT,	check_bool,	NULL, "true or false",
	    get_bool, P(is_champion) },
	{ "previous_company", PG_CONTACT, check_string,	NULL, "a string",
	    get_string, P(previous_company) },
	{ "competitor",	PG_COMPETITOR,	check_string,	NULL, "a string",
	    get_string, P(competitor) },
	{ "kind",	PG_COMPETITOR,	check_enum,	competitor_kinds,
	    "one of mention, event, outreach, content, evaluation, poc",
	    get_string, P(kind) },
	{ "kind",	PG_TOUCHPOINT,	check_enum,	touchpoint_kinds,
	    "one of meeting, call, email, chat", get_string, P(kind) },
	{ "by",		PG_TOUCHPOINT | PG_NOTE, check_string, NULL,
	    "a string", NOGET },
	{ "attendees",	PG_TOUCHPOINT,	check_count,	NULL,
	    "a whole number from 0 to 4294967295", get_count, P(attendees) },
	{ "invited",	PG_TOUCHPOINT,	check_count,	NULL,
	    "a whole number from 0 to 4294967295", get_count, P(invited) },
	{ "text",	PG_NOTE,	check_note_text, NULL,
	    "a string of at most 4096 bytes", get_string, P(text) },
	{ "kind",	PG_NOTE,	check_enum,	note_kinds,
	    "one of meeting, call, email, chat, other", get_string, P(kind) },
	{ "reason",	PG_OUTCOME,	check_string,	NULL, "a string",
	    NOGET },
	{ "seats_before", PG_OUTCOME,	check_amount,	NULL,
	    "a number, 0 or more", NOGET },
	{ "seats_after", PG_OUTCOME,	check_amount,	NULL,
	    "a number, 0 or more", NOGET },
	{ "mrr_before",	PG_OUTCOME,	check_amount,	NULL,
	    "a number, 0 or more", NOGET },
	{ "mrr_after",	PG_OUTCOME,	check_amount,	NULL,
	    "a number, 0 or more", NOGET },
};

/* Envelope string fields. */
static const struct str_field {
	const char	*name;
	size_t		 max;
	const char	*missing;
	const char	*invalid;
} f_id = { "id", CW_ID_MAX, "missing_id", "invalid_id" },
  f_account = { "account_id", CW_ACCOUNT_MAX, "missing_account_id",
    "invalid_account_id" },
  f_user = { "user_id", CW_USER_MAX, "missing_user_id", "invalid_user_id" };

/* Decoding state for one body. */
struct decoder {
	struct cw_event_batch		*out;
	size_t				 rejcap;
	int64_t				 now;
	const struct cw_event_limits	*lim;
};

static int	fail(struct cw_error *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

const char *
event_type_name(enum cw_event_type t)
{
	if ((unsigned)t >= EV__COUNT)
		return NULL;
	return type_rules[t].name;
}

int
event_type_parse(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < EV__COUNT; i++)
		if (type_rules[i].len == len &&
		    memcmp(type_rules[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

static int
fail(struct cw_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	err->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return 1;
}

/* "an array", "a string", ... for messages. */
static const char *
json_kind(const json_t *v)
{
	static const char *const kinds[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string", [JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
	};

	return kinds[json_typeof(v)];
}

/*
 * Copy what fits of s into dst (dstlen > 4) for a message: printable ASCII
 * only (others become '?'), so no control character or broken UTF-8 reaches
 * a log or a response, and "..." when cut.
 */
static const char *
safe_excerpt(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t	i, max = dstlen - 4;

	for (i = 0; i < n && i < max; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < n)
		dst[i++] = '.', dst[i++] = '.', dst[i++] = '.';
	dst[i] = '\0';
	return dst;
}

/* A member, with JSON null read as absent. */
static json_t *
member(const json_t *o, const char *key)
{
	json_t	*v;

	v = json_object_get(o, key);
	return json_is_null(v) ? NULL : v;
}

/* s[0..n) is a usable value for f: 0, else 1 and err. */
static int
check_str_bytes(const char *s, size_t n, const struct str_field *f,
    struct cw_error *err)
{
	if (n == 0)
		return fail(err, f->invalid, "%s is empty", f->name);
	if (n > f->max)
		return fail(err, f->invalid, "%s is longer than %zu bytes",
		    f->name, f->max);
	if (util_has_control(s, n))
		return fail(err, f->invalid, "%s contains control characters",
		    f->name);
	return 0;
}

/* v is present; 0 if it is a usable string for f, else 1 and err. */
static int
check_str_field(const json_t *v, const struct str_field *f,
    struct cw_error *err)
{
	if (!json_is_string(v))
		return fail(err, f->invalid, "%s must be a string, not %s",
		    f->name, json_kind(v));
	return check_str_bytes(json_string_value(v), json_string_length(v),
	    f, err);
}

static int
check_string(const json_t *v, const char *const *values)
{
	return json_is_string(v);
}

static int
check_id(const json_t *v, const char *const *values)
{
	return json_is_string(v) || json_is_integer(v);
}

static int
check_tags(const json_t *v, const char *const *values)
{
	size_t	i;

	if (!json_is_array(v))
		return 0;
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return 0;
	return 1;
}

static int
check_enum(const json_t *v, const char *const *values)
{
	const char	*s;

	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	for (; *values != NULL; values++)
		if (strcmp(s, *values) == 0)
			return 1;
	return 0;
}

static int
check_sentiment(const json_t *v, const char *const *values)
{
	double	d;

	if (!json_is_number(v))
		return 0;
	d = json_number_value(v);
	return d >= -1.0 && d <= 1.0;
}

static int
check_bool(const json_t *v, const char *const *values)
{
	return json_is_boolean(v);
}

/* A whole number of people: an integer, or a real with no fraction. */
static int
check_count(const json_t *v, const char *const *values)
{
	double	d;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= (json_int_t)CW_COUNT_MAX;
	if (!json_is_real(v))
		return 0;
	d = json_real_value(v);
	return d >= 0 && d <= (double)CW_COUNT_MAX && d == (double)(int64_t)d;
}

static int
check_amount(const json_t *v, const char *const *values)
{
	return json_is_number(v) && json_number_value(v) >= 0;
}

/* json_string_length() is the decoded UTF-8 length, as jsonb keeps it. */
static int
check_note_text(const json_t *v, const char *const *values)
{
	return json_is_string(v) && json_string_length(v) <= CW_NOTE_TEXT_MAX;
}

/* Both valid counts (or absent) already: fewer came than were invited. */
static int
check_attendance(const json_t *props, struct cw_error *err)
{
	const json_t	*a, *i;
	double		 na, ni;

	if (props == NULL || (a = member(props, "attendees")) == NULL ||
	    (i = member(props, "invited")) == NULL)
		return 0;
	na = json_number_value(a);
	ni = json_number_value(i);
	if (na > ni)
		return fail(err, "invalid_prop", "props.attendees (%.0f) must "
		    "not be more than props.invited (%.0f)", na, ni);
	return 0;
}

/*
 * The getters run on values their check accepted; 0, or -1 when out of
 * memory.  An empty array of tags stays NULL.
 */
static int
get_string(const json_t *v, struct cw_event_props *p, size_t off)
{
	char	**dst = (char **)((char *)p + off);

	free(*dst);		/* "kind" is one field for two groups */
	*dst = dupn(json_string_value(v), json_string_length(v));
	return *dst == NULL ? -1 : 0;
}

static int
get_id(const json_t *v, struct cw_event_props *p, size_t off)
{
	char	**dst = (char **)((char *)p + off), buf[24];
	int	  n;

	if (json_is_string(v))
		return get_string(v, p, off);
	n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(v));
	free(*dst);
	*dst = dupn(buf, (size_t)n);
	return *dst == NULL ? -1 : 0;
}

static int
get_tags(const json_t *v, struct cw_event_props *p, size_t off)
{
	size_t	i, n = json_array_size(v);

	if (n == 0)
		return 0;
	if ((p->tags = calloc(n, sizeof(*p->tags))) == NULL)
		return -1;
	for (p->ntags = 0; p->ntags < n; p->ntags++) {
		i = p->ntags;
		if ((p->tags[i] = dupn(json_string_value(json_array_get(v, i)),
		    json_string_length(json_array_get(v, i)))) == NULL)
			return -1;
	}
	return 0;
}

static int
get_sentiment(const json_t *v, struct cw_event_props *p, size_t off)
{
	p->has_sentiment = 1;
	p->sentiment = json_number_value(v);
	return 0;
}

static int
get_bool(const json_t *v, struct cw_event_props *p, size_t off)
{
	p->is_champion = json_is_true(v) ? 1 : 0;
	return 0;
}

static int
get_count(const json_t *v, struct cw_event_props *p, size_t off)
{
	*(int64_t *)((char *)p + off) = (int64_t)json_number_value(v);
	return 0;
}

/* Copy the known props of the type out of props (NULL: none). */
static int
extract_props(const json_t *props, const struct type_rule *tr,
    struct cw_event_props *p)
{
	const struct prop_rule	*pr;
	const json_t		*v;
	size_t			 i;

	if (props == NULL || json_object_size(props) == 0)
		return 0;
	for (i = 0; i < sizeof(prop_rules) / sizeof(prop_rules[0]); i++) {
		pr = &prop_rules[i];
		if ((pr->groups & tr->props) == 0 || pr->get == NULL ||
		    (v = member(props, pr->name)) == NULL)
			continue;
		if (pr->get(v, p, pr->off) == -1)
			return -1;
	}
	return 0;
}

/* The largest whole unit of a duration, for "5 minutes", "400-day". */
static const struct unit {
	int64_t		 us;
	const char	*one;
	const char	*many;
} units[] = {
	{ CW_USEC_PER_DAY, "day", "days" },
	{ INT64_C(3600) * CW_USEC_PER_SEC, "hour", "hours" },
	{ INT64_C(60) * CW_USEC_PER_SEC, "minute", "minutes" },
	{ CW_USEC_PER_SEC, "second", "seconds" },
	{ 1, "microsecond", "microseconds" },
};

static const struct unit *
whole_unit(int64_t us)
{
	size_t	i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (us >= units[i].us && us % units[i].us == 0)
			break;
	return &units[i];
}

/* ts is present; 0 and *ts, or 1 and err. */
static int
check_ts(const json_t *v, struct decoder *d, int64_t *ts,
    struct cw_error *err)
{
	const struct unit	*u;
	long long		 n;

	if (!json_is_string(v))
		return fail(err, "invalid_ts", "ts must be an RFC 3339 string, "
		    "not %s", json_kind(v));
	if (util_parse_rfc3339(json_string_value(v), json_string_length(v),
	    ts) == -1)
		return fail(err, "invalid_ts", "ts is not RFC 3339");
	if (*ts > d->now && *ts - d->now > d->lim->future_us) {
		u = whole_unit(d->lim->future_us);
		n = (long long)(d->lim->future_us / u->us);
		return fail(err, "invalid_ts", "ts is more than %lld %s in the "
		    "future", n, n == 1 ? u->one : u->many);
	}
	if (*ts < d->now && d->now - *ts > d->lim->horizon_us) {
		u = whole_unit(d->lim->horizon_us);
		return fail(err, "invalid_ts", "ts is older than the %lld-%s "
		    "horizon", (long long)(d->lim->horizon_us / u->us), u->one);
	}
	return 0;
}

/* The type's required prop, then every known prop present. */
static int
check_props(const json_t *props, const struct type_rule *tr,
    struct cw_error *err)
{
	const struct prop_rule	*pr;
	const json_t		*v;
	size_t			 i;

	if (tr->required != NULL) {
		v = props == NULL ? NULL : member(props, tr->required);
		if (v == NULL)
			return fail(err, "missing_prop", "props.%s is required "
			    "for %s events", tr->required, tr->name);
		if (json_is_string(v) && json_string_length(v) == 0)
			return fail(err, "invalid_prop", "props.%s is empty",
			    tr->required);
	}
	if (props == NULL)
		return 0;
	for (i = 0; i < sizeof(prop_rules) / sizeof(prop_rules[0]); i++) {
		pr = &prop_rules[i];
		if ((pr->groups & tr->props) == 0 ||
		    (v = member(props, pr->name)) == NULL)
			continue;
		if (!pr->check(v, pr->values))
			return fail(err, "invalid_prop", "props.%s must be %s",
			    pr->name, pr->want);
	}
	return tr->check != NULL ? tr->check(props, err) : 0;
}

static char *
dupn(const char *s, size_t n)
{
	char	*p;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *
dup_json_string(const json_t *v)
{
	return dupn(json_string_value(v), json_string_length(v));
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copy JSON text dropping whitespace outside strings; NUL-terminates. */
static size_t
copy_compact(char *dst, const char *src, size_t n)
{
	size_t	i, j = 0;
	int	instr = 0;

	for (i = 0; i < n; i++) {
		if (instr) {
			dst[j++] = src[i];
			if (src[i] == '\\' && i + 1 < n)
				dst[j++] = src[++i];
			else if (src[i] == '"')
				instr = 0;
		} else if (!is_ws(src[i])) {
			dst[j++] = src[i];
			if (src[i] == '"')
				instr = 1;
		}
	}
	dst[j] = '\0';
	return j;
}

/* Fallback when the raw bytes of props were not found. */
static char *
dump_props(const json_t *props)
{
	char	 small[1024], *s;
	size_t	 n;

	if ((n = json_dumpb(props, small, sizeof(small), JSON_COMPACT)) == 0)
		return NULL;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	if (n <= sizeof(small))
		memcpy(s, small, n);
	else if (json_dumpb(props, s, n, JSON_COMPACT) != n) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

/* numeric's limits (PostgreSQL's NUMERIC_DSCALE_MAX and int16 weight). */
#define PG_NUMERIC_DSCALE_MAX	16383
#define PG_NUMERIC_DWEIGHT_MAX	131071

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Skip a JSON string whose opening quote is at s[*i]; its decoded bytes. */
static size_t
scan_string(const char *s, size_t n, size_t *i, int *has_nul)
{
	size_t	dec = 0;
	int	cp, k, h;

	for ((*i)++; *i < n && s[*i] != '"'; ) {
		if (s[*i] != '\\') {
			dec++, (*i)++;
			continue;
		}
		if (*i + 1 < n && s[*i + 1] == 'u' && *i + 5 < n) {
			for (cp = 0, k = 2; k < 6; k++)
				cp = (h = hexval(s[*i + k])) < 0 ? cp : cp * 16 + h;
			*has_nul |= cp == 0;
			/* A surrogate pair is 4 bytes: 4 + 0. */
			dec += cp < 0x80 ? 1 : cp < 0x800 ? 2 :
			    cp >= 0xd800 && cp < 0xdc00 ? 4 :
			    cp >= 0xdc00 && cp < 0xe000 ? 0 : 3;
			*i += 6;
		} else
			dec++, *i += 2;
	}
	(*i)++;		/* the closing quote */
	return dec;
}

/* Skip a JSON number at s[*i]; 0 when numeric holds it, else 1. */
static int
scan_number(const char *s, size_t n, size_t *i)
{
	int64_t	sig = 0, lead = 0, frac = 0, exp = 0, dscale, dweight;
	int	neg = 0;

	if (s[*i] == '-')
		(*i)++;
	for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
		if (sig > 0 || s[*i] != '0')
			sig++;
	if (*i < n && s[*i] == '.')
		for ((*i)++; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
			frac++;
			if (sig == 0 && lead + 1 == frac && s[*i] == '0')
				lead++;
		}
	if (*i < n && (s[*i] == 'e' || s[*i] == 'E')) {
		(*i)++;
		if (*i < n && (s[*i] == '+' || s[*i] == '-'))
			neg = s[(*i)++] == '-';
		for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
			if (exp < INT64_C(1000000000))
				exp = exp * 10 + (s[*i] - '0');
		if (neg)
			exp = -exp;
	}
	dscale = frac - exp;
	dweight = (sig > 0 ? sig - 1 : -lead - 1) + exp;
	return dscale > PG_NUMERIC_DSCALE_MAX ||
	    dweight > PG_NUMERIC_DWEIGHT_MAX;
}

/*
 * event_json_storable(), except that a string value of the top-level key
 * long_key (if not NULL) may have up to long_max bytes.  Depth counts
 * the brackets outside strings: the object itself is depth 1.
 */
static int
json_storable(const char *s, size_t n, size_t str_max, const char *long_key,
    size_t long_max, struct cw_error *err)
{
	const char	*key = NULL;
	size_t		 i = 0, j, start, dec, keylen = 0, max;
	char		 kbuf[48];
	int		 nul, is_key, depth = 0;

	while (i < n) {
		if (s[i] == '"') {
			start = i + 1;
			nul = 0;
			dec = scan_string(s, n, &i, &nul);
			for (j = i; j < n && is_ws(s[j]); j++)
				;
			if ((is_key = j < n && s[j] == ':')) {
				key = s + start;
				keylen = i - 1 - start;
			}
			max = str_max;
			if (!is_key && long_key != NULL && depth == 1 &&
			    key != NULL && key_equals(key, keylen, long_key))
				max = long_max;
			if (nul)
				return fail(err, "invalid_props", "props.%s "
				    "holds \\u0000, which PostgreSQL cannot "
				    "store", safe_excerpt(kbuf, sizeof(kbuf),
				    key ? key : "", keylen));
			if (max > 0 && dec > max)
				return fail(err, "invalid_props", "props.%s: "
				    "a string longer than %zu bytes",
				    safe_excerpt(kbuf, sizeof(kbuf),
				    key ? key : "", keylen), max);
		} else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			if (scan_number(s, n, &i))
				return fail(err, "invalid_props", "props.%s: "
				    "a number PostgreSQL cannot store (more "
				    "than %d digits after the point or %d "
				    "before it)", safe_excerpt(kbuf,
				    sizeof(kbuf), key ? key : "", keylen),
				    PG_NUMERIC_DSCALE_MAX,
				    PG_NUMERIC_DWEIGHT_MAX + 1);
		} else {
			if (s[i] == '{' || s[i] == '[')
				depth++;
			else if (s[i] == '}' || s[i] == ']')
				depth--;
			i++;
		}
	}
	return 0;
}

int
event_json_storable(const char *s, size_t n, size_t str_max,
    struct cw_error *err)
{
	return json_storable(s, n, str_max, NULL, 0, err);
}

int
event_props_storable(enum cw_event_type t, const char *s, size_t n,
    struct cw_error *err)
{
	return json_storable(s, n, CW_PROP_STR_MAX, t == EV_NOTE ? "text" :
	    NULL, CW_NOTE_TEXT_MAX, err);
}

/*
 * Validate one event and, when valid, fill ev (malloc'd strings).  raw is
 * the text of its props value when the scanner found it, else NULL.
 * Returns 0 (valid), 1 (rejected, err filled) or -1 (out of memory).
 * The rules run in envelope order and the first failure wins.
 */
static int
event_build(const json_t *o, const char *raw, size_t rawlen,
    struct decoder *d, struct cw_event *ev, struct cw_error *err)
{
	const struct type_rule	*tr;
	const json_t		*id, *acct, *type, *ts, *user, *props;
	char			 buf[40];
	int			 t;

	event_props_init(&ev->p);
	if (!json_is_object(o))
		return fail(err, "invalid_event", "event must be a JSON "
		    "object, not %s", json_kind(o));

	if ((id = member(o, "id")) == NULL)
		return fail(err, f_id.missing, "id is missing");
	if (check_str_field(id, &f_id, err))
		return 1;

	if ((acct = member(o, "account_id")) == NULL)
		return fail(err, f_account.missing, "account_id is missing");
	if (check_str_field(acct, &f_account, err))
		return 1;

	if ((type = member(o, "type")) == NULL)
		return fail(err, "missing_type", "type is missing");
	if (!json_is_string(type))
		return fail(err, "unknown_type", "type must be a string, "
		    "not %s", json_kind(type));
	if ((t = event_type_parse(json_string_value(type),
	    json_string_length(type))) == -1)
		return fail(err, "unknown_type", "type \"%s\" is not a known "
		    "event type", safe_excerpt(buf, sizeof(buf),
		    json_string_value(type), json_string_length(type)));
	tr = &type_rules[t];

	ev->ts = d->now;
	if ((ts = member(o, "ts")) != NULL && check_ts(ts, d, &ev->ts, err))
		return 1;

	if ((user = member(o, "user_id")) != NULL) {
		if (check_str_field(user, &f_user, err))
			return 1;
	} else if (tr->needs_user)
		return fail(err, f_user.missing, "user_id is required for %s "
		    "events", tr->name);

	if ((props = member(o, "props")) != NULL && !json_is_object(props))
		return fail(err, "invalid_props", "props must be a JSON "
		    "object, not %s", json_kind(props));
	if (check_props(props, tr, err))
		return 1;

	ev->type = (enum cw_event_type)t;
	ev->id = dup_json_string(id);
	ev->account_id = dup_json_string(acct);
	ev->user_id = user == NULL ? NULL : dup_json_string(user);
	if (props == NULL)
		ev->props = dupn("{}", 2);
	else if (raw != NULL) {
		if ((ev->props = malloc(rawlen + 1)) != NULL)
			copy_compact(ev->props, raw, rawlen);
	} else
		ev->props = dump_props(props);
	if (ev->id == NULL || ev->account_id == NULL || ev->props == NULL ||
	    (user != NULL && ev->user_id == NULL) ||
	    extract_props(props, tr, &ev->p) == -1) {
		event_free_fields(ev);
		return -1;
	}
	if (event_props_storable(ev->type, ev->props, strlen(ev->props),
	    err)) {
		event_free_fields(ev);
		return 1;
	}
	return 0;
}

/*
 * The raw-text scanner.  It runs over text jansson has already accepted,
 * so it only has to find boundaries; it still never reads past end and
 * returns NULL if the text is not what it expects.  Text with a NUL byte
 * never gets here: jansson 2.14 silently accepts a NUL right after a number
 * or literal ("[1\0]"), which would cut the copied props short.
 */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

/* p is at an opening quote; returns just past the closing one. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *
skip_value(const char *p, const char *end)
{
	int	depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && !is_ws(*p) && *p != ',' && *p != ']' &&
		    *p != '}')
			p++;
		return p;
	}
	while (p < end) {
		if (*p == '"') {
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/* Does the raw (still escaped) key text equal the ASCII string want? */
static int
key_equals(const char *k, size_t n, const char *want)
{
	size_t	i, j;
	int	c, h;

	for (i = 0; i < n; i++, want++) {
		if (*want == '\0')
			return 0;
		c = (unsigned char)k[i];
		if (c == '\\') {
			/* Only \uXXXX can spell a letter. */
			if (i + 5 >= n || k[i + 1] != 'u')
				return 0;
			for (c = 0, j = i + 2; j < i + 6; j++) {
				if ((h = hexval(k[j])) == -1)
					return 0;
				c = c * 16 + h;
			}
			i += 5;
		}
		if (c != (unsigned char)*want)
			return 0;
	}
	return *want == '\0';
}

/*
 * p is at the '{' of an object: find the text of its last "props" member
 * (jansson also keeps the last of duplicate keys) and return just past the
 * closing '}', or NULL.
 */
static const char *
scan_object(const char *p, const char *end, const char **val, size_t *vlen)
{
	const char	*k, *v;

	*val = NULL;
	*vlen = 0;
	for (p++;;) {
		p = skip_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == '}')
			return p + 1;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != '"')
			return NULL;
		k = p;
		if ((p = skip_string(p, end)) == NULL)
			return NULL;
		if (key_equals(k + 1, (size_t)(p - k - 2), "props"))
			k = NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		v = skip_ws(p + 1, end);
		if ((p = skip_value(v, end)) == NULL)
			return NULL;
		if (k == NULL) {
			*val = v;
			*vlen = (size_t)(p - v);
		}
	}
}

static int
add_rejection(struct decoder *d, size_t index, const struct cw_error *err)
{
	struct cw_event_batch	*b = d->out;
	struct cw_rejection	*r;
	size_t			 cap;

	if (b->nrej == d->rejcap) {
		cap = d->rejcap == 0 ? 8 : d->rejcap * 2;
		if ((r = realloc(b->rej, cap * sizeof(*r))) == NULL)
			return -1;
		b->rej = r;
		d->rejcap = cap;
	}
	b->rej[b->nrej].index = index;
	b->rej[b->nrej].err = *err;
	b->nrej++;
	return 0;
}

/* One event at index: accepted into ev[] or listed as rejected. */
static int
decode_one(struct decoder *d, size_t index, const json_t *o,
    const char *raw, size_t rawlen)
{
	struct cw_event_batch	*b = d->out;
	struct cw_error		 rerr;
	int			 rc;

	memset(&b->ev[b->nev], 0, sizeof(b->ev[b->nev]));
	rc = event_build(o, raw, rawlen, d, &b->ev[b->nev], &rerr);
	if (rc == 0)
		b->nev++;
	else if (rc == 1)
		return add_rejection(d, index, &rerr);
	return rc;
}

static int
is_blank(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!is_ws(p[i]))
			return 0;
	return 1;
}

/* jansson's error text for a message: printable ASCII only. */
static const char *
json_error_text(const json_error_t *je, char *buf, size_t len)
{
	return safe_excerpt(buf, len, je->text, strnlen(je->text,
	    sizeof(je->text)));
}

static int
whole(struct cw_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
whole(struct cw_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	err->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
too_many(struct decoder *d, struct cw_error *err)
{
	return whole(err, "too_many_events", "the body holds more than %zu "
	    "events, the limit per request", d->lim->max_events);
}

static int
alloc_events(struct decoder *d, size_t n, struct cw_error *err)
{
	if ((d->out->ev = calloc(n, sizeof(*d->out->ev))) == NULL)
		return whole(err, "internal_error", "out of memory");
	d->out->total = n;
	return 0;
}

static int
decode_json(struct decoder *d, const char *body, size_t len,
    struct cw_error *err)
{
	const char	*end = body + len, *p, *raw, *next;
	json_t		*root, *el;
	json_error_t	 je;
	char		 jt[96];
	size_t		 n, i, rawlen;
	int		 rc = 0;

	if (is_blank(body, len))
		return whole(err, "empty_body", "the body is empty");
	if ((p = memchr(body, '\0', len)) != NULL)
		return whole(err, "invalid_json", "the body is not valid JSON: "
		    "it contains a NUL byte at offset %zu",
		    (size_t)(p - body));
	if ((root = json_loadb(body, len, JSON_DECODE_ANY, &je)) == NULL)
		return whole(err, "invalid_json", "the body is not valid JSON: "
		    "%s (line %d, column %d)", json_error_text(&je, jt,
		    sizeof(jt)), je.line, je.column);

	if (json_is_object(root))
		n = 1;
	else if (json_is_array(root))
		n = json_array_size(root);
	else {
		rc = whole(err, "invalid_json", "the body must be a JSON "
		    "object or an array of objects, not %s", json_kind(root));
		goto done;
	}
	if (n == 0) {
		rc = whole(err, "empty_body", "the body is an empty array");
		goto done;
	}
	if (n > d->lim->max_events) {
		rc = too_many(d, err);
		goto done;
	}
	if ((rc = alloc_events(d, n, err)) == -1)
		goto done;

	p = skip_ws(body, end);
	if (json_is_object(root)) {
		if (scan_object(p, end, &raw, &rawlen) == NULL)
			raw = NULL;
		if (decode_one(d, 0, root, raw, rawlen) == -1)
			rc = whole(err, "internal_error", "out of memory");
		goto done;
	}
	p = p < end ? p + 1 : NULL;		/* past '[' */
	for (i = 0; i < n; i++) {
		el = json_array_get(root, i);
		raw = NULL;
		rawlen = 0;
		if (p != NULL) {
			p = skip_ws(p, end);
			if (p < end && *p == ',')
				p = skip_ws(p + 1, end);
			if (json_is_object(el) && p < end && *p == '{')
				next = scan_object(p, end, &raw, &rawlen);
			else
				next = skip_value(p, end);
			if ((p = next) == NULL)
				raw = NULL;	/* lost: dump the rest */
		}
		if (decode_one(d, i, el, raw, rawlen) == -1) {
			rc = whole(err, "internal_error", "out of memory");
			goto done;
		}
	}
done:
	json_decref(root);
	return rc;
}

/* The next line from *p (without "\n" or "\r\n"); 0 at the end. */
static int
next_line(const char **p, const char *end, const char **line, size_t *n)
{
	const char	*nl;

	if (*p >= end)
		return 0;
	*line = *p;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		nl = end;
	*n = (size_t)(nl - *p);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	*p = nl < end ? nl + 1 : end;
	return 1;
}

static int
decode_ndjson(struct decoder *d, const char *body, size_t len,
    struct cw_error *err)
{
	const char	*end = body + len, *p, *line, *raw;
	json_t		*o;
	json_error_t	 je;
	struct cw_error	 rerr;
	char		 jt[96];
	size_t		 n = 0, ln, index, lineno, rawlen;
	int		 rc;

	/* Count first: an oversized body is refused before any parsing. */
	for (p = body; next_line(&p, end, &line, &ln);)
		if (!is_blank(line, ln) && ++n > d->lim->max_events)
			return too_many(d, err);
	if (n == 0)
		return whole(err, "empty_body", "the body has no events");
	if (alloc_events(d, n, err) == -1)
		return -1;

	for (p = body, index = 0, lineno = 1; next_line(&p, end, &line, &ln);
	    lineno++) {
		if (is_blank(line, ln))
			continue;
		if (memchr(line, '\0', ln) != NULL) {
			fail(&rerr, "invalid_json", "line %zu is not valid "
			    "JSON: it contains a NUL byte", lineno);
			rc = add_rejection(d, index, &rerr);
		} else if ((o = json_loadb(line, ln, JSON_DECODE_ANY, &je)) ==
		    NULL) {
			fail(&rerr, "invalid_json", "line %zu is not valid "
			    "JSON: %s (column %d)", lineno, json_error_text(&je,
			    jt, sizeof(jt)), je.column);
			rc = add_rejection(d, index, &rerr);
		} else {
			raw = NULL;
			rawlen = 0;
			if (json_is_object(o) && scan_object(skip_ws(line,
			    line + ln), line + ln, &raw, &rawlen) == NULL)
				raw = NULL;
			rc = decode_one(d, index, o, raw, rawlen);
			json_decref(o);
		}
		if (rc == -1)
			return whole(err, "internal_error", "out of memory");
		index++;
	}
	return 0;
}

int
event_decode_body(const char *body, size_t len, enum cw_body_format fmt,
    int64_t now, const struct cw_event_limits *lim,
    struct cw_event_batch *out, struct cw_error *err)
{
	struct decoder	d;
	int		rc;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	d.out = out;
	d.now = now;
	d.lim = lim;
	if (body == NULL)
		len = 0, body = "";
	/* RFC 8259 lets a parser ignore a byte order mark. */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		body += 3, len -= 3;
	if (fmt == BODY_NDJSON)
		rc = decode_ndjson(&d, body, len, err);
	else
		rc = decode_json(&d, body, len, err);
	if (rc == -1)
		event_batch_free(out);
	return rc;
}

/*
 * The stored row's checks are the ingest checks that do not depend on the
 * time of receipt (the ts bounds do): a row that fails them was stored by
 * an older or buggier version and counts in no window.
 */
int
event_from_row(const char *id, const char *account_id, const char *type,
    int64_t ts, const char *user_id, const char *props, struct cw_event *ev,
    struct cw_error *err)
{
	const struct type_rule	*tr;
	json_t			*o = NULL;
	json_error_t		 je;
	char			 buf[40], jt[96];
	size_t			 n;
	int			 t, rc = -1;

	memset(ev, 0, sizeof(*ev));
	event_props_init(&ev->p);
	if (id == NULL || *id == '\0') {
		fail(err, f_id.missing, "id is missing");
		return -1;
	}
	if (check_str_bytes(id, strlen(id), &f_id, err))
		return -1;
	if (account_id == NULL || *account_id == '\0') {
		fail(err, f_account.missing, "account_id is missing");
		return -1;
	}
	if (check_str_bytes(account_id, strlen(account_id), &f_account, err))
		return -1;
	if (type == NULL || *type == '\0') {
		fail(err, "missing_type", "type is missing");
		return -1;
	}
	if ((t = event_type_parse(type, strlen(type))) == -1) {
		fail(err, "unknown_type", "type \"%s\" is not a known event "
		    "type", safe_excerpt(buf, sizeof(buf), type, strlen(type)));
		return -1;
	}
	tr = &type_rules[t];
	/*
	 * No horizon (a stored event may be older than any), but a ts
	 * PostgreSQL cannot hold never came from it or from our ingest: a
	 * damaged spool line, say.  Handing it on would only fail a commit.
	 */
	if (!util_ts_valid(ts)) {
		fail(err, "invalid_ts", "ts is outside years 0001-9999");
		return -1;
	}
	if (user_id != NULL) {
		if (check_str_bytes(user_id, strlen(user_id), &f_user, err))
			return -1;
	} else if (tr->needs_user) {
		fail(err, f_user.missing, "user_id is required for %s events",
		    tr->name);
		return -1;
	}

	/* Most rows have no props: no parse for "{}". */
	if (props == NULL || strcmp(props, "{}") == 0)
		props = NULL;
	else if ((o = json_loads(props, JSON_DECODE_ANY, &je)) == NULL) {
		fail(err, "invalid_props", "props is not valid JSON: %s",
		    json_error_text(&je, jt, sizeof(jt)));
		return -1;
	} else if (json_is_null(o)) {
		json_decref(o);
		o = NULL;
		props = NULL;
	} else if (!json_is_object(o)) {
		fail(err, "invalid_props", "props must be a JSON object, "
		    "not %s", json_kind(o));
		goto done;
	}
	if (check_props(o, tr, err))
		goto done;

	ev->type = (enum cw_event_type)t;
	ev->ts = ts;
	ev->id = strdup(id);
	ev->account_id = strdup(account_id);
	ev->user_id = user_id == NULL ? NULL : strdup(user_id);
	if (props == NULL)
		ev->props = dupn("{}", 2);
	else if ((ev->props = malloc((n = strlen(props)) + 1)) != NULL)
		copy_compact(ev->props, props, n);
	if (ev->id == NULL || ev->account_id == NULL || ev->props == NULL ||
	    (user_id != NULL && ev->user_id == NULL) ||
	    extract_props(o, tr, &ev->p) == -1) {
		event_free_fields(ev);
		fail(err, "internal_error", "out of memory");
		goto done;
	}
	rc = 0;
done:
	json_decref(o);
	return rc;
}

void
event_free_fields(struct cw_event *ev)
{
	struct cw_event_props	*p;
	size_t			 i;

	if (ev == NULL)
		return;
	free(ev->id);
	free(ev->account_id);
	free(ev->user_id);
	free(ev->props);
	ev->id = ev->account_id = ev->user_id = ev->props = NULL;

	p = &ev->p;
	free(p->feature);
	free(p->ticket_id);
	free(p->team);
	free(p->category);
	free(p->subject);
	for (i = 0; i < p->ntags; i++)
		free(p->tags[i]);
	free(p->tags);
	free(p->contact_id);
	free(p->title);
	free(p->previous_title);
	free(p->previous_company);
	free(p->competitor);
	free(p->kind);
	free(p->text);
	event_props_init(p);
}

void
event_props_init(struct cw_event_props *p)
{
	memset(p, 0, sizeof(*p));
	p->is_champion = -1;
	p->attendees = p->invited = -1;
}

void
event_batch_free(struct cw_event_batch *b)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nev; i++)
		event_free_fields(&b->ev[i]);
	free(b->ev);
	free(b->rej);
	memset(b, 0, sizeof(*b));
}
