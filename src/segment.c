/*
 * segment.c -- decode Segment HTTP Tracking API requests (SPEC 2.4):
 * batch, track, identify, group, page and screen bodies become churnwatch
 * events (struct cw_event), group memberships and account upserts.
 *
 * Pure: jansson parses and stays inside this file; every json_t is
 * released before segment_decode() returns.  The message types are one
 * const table (msg_types); each row names the props builder for its type.
 * A request is all or nothing, as the Segment libraries expect: the first
 * bad message refuses the whole request.
 *
 * Not here: authentication, idempotency (store.c), the user -> account
 * map the lookup callback reads (its owner updates it from the members we
 * return), status codes and the error writer (http.c).
 */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "segment.h"
#include "util.h"

#define META_STR_MAX	256		/* as account_meta_decode() */
#define META_SEATS_MAX	100000000

static const char *const default_logins[] = {
	"Signed In", "Logged In", "Login"
};

static const struct seg_rules default_rules = {
	default_logins, sizeof(default_logins) / sizeof(default_logins[0]),
	300 * CW_USEC_PER_SEC
};

struct decoder;
struct msg;

static int	props_track(struct decoder *, struct msg *, json_t *);
static int	props_identify(struct decoder *, struct msg *, json_t *);
static int	props_group(struct decoder *, struct msg *, json_t *);
static int	props_page(struct decoder *, struct msg *, json_t *);

/*
 * The message types.  attributed: the event takes the account from
 * context.groupId / the memberships; otherwise it is stored with "".
 * prefix: feature = prefix + name for page and screen.
 */
static const struct msg_type {
	const char	*name;
	int		 attributed;
	const char	*prefix;
	int		(*props)(struct decoder *, struct msg *, json_t *);
} msg_types[SEG__COUNT] = {
	[SEG_BATCH] =		{ "batch", 0, NULL, NULL },
	[SEG_TRACK] =		{ "track", 1, NULL, props_track },
	[SEG_IDENTIFY] =	{ "identify", 0, NULL, props_identify },
	[SEG_GROUP] =		{ "group", 0, NULL, props_group },
	[SEG_PAGE] =		{ "page", 1, "page:", props_page },
	[SEG_SCREEN] =		{ "screen", 1, "screen:", props_page },
};

/* Traits of a group call copied into the account metadata. */
static const char *const meta_strings[] = {
	"name", "plan", "segment", "owner", "slack_channel"
};

struct decoder {
	const struct seg_rules	*rules;
	const struct seg_lookup	*lookup;
	int64_t			 now;
	const json_t		*envelope;	/* the batch object, or NULL */
	const json_t		*env_context;	/* the batch's, or NULL */
	struct seg_result	*out;
	char			 where[32];	/* "batch[12]: " or "" */
};

/* One message being decoded; strings point into the parsed JSON or ibuf. */
struct msg {
	const json_t		*o;
	const struct msg_type	*t;
	enum seg_call		 call;
	const char		*user;		/* userId, else anonymousId */
	const char		*anon;		/* anonymousId beside a userId */
	int			 has_user_id;	/* user came from userId */
	const char		*name;		/* track event / page name */
	char			*feature;	/* malloc'd, or NULL: login */
	const char		*group_id;	/* group calls */
	char			 ubuf[24], abuf[24], gbuf[24];
};

static int	fail(struct decoder *, struct cw_error *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

int
segment_call_parse(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < SEG__COUNT; i++)
		if (strlen(msg_types[i].name) == len &&
		    memcmp(msg_types[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

const char *
segment_call_name(enum seg_call c)
{
	if ((unsigned)c >= SEG__COUNT)
		return NULL;
	return msg_types[c].name;
}

/* err = code, "<where><message>"; returns 1 (a refused request). */
static int
fail(struct decoder *d, struct cw_error *err, const char *code,
    const char *fmt, ...)
{
	va_list	ap;
	size_t	n;

	err->code = code;
	n = (size_t)snprintf(err->msg, sizeof(err->msg), "%s",
	    d == NULL ? "" : d->where);
	va_start(ap, fmt);
	(void)vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return 1;
}

/* A member, with JSON null read as absent. */
static json_t *
member(const json_t *o, const char *key)
{
	json_t	*v;

	v = json_object_get(o, key);
	return json_is_null(v) ? NULL : v;
}

/*
 * An id given as a string or an integer (some backends send numeric user
 * and group ids).  Returns the text (in buf for an integer), NULL when
 * absent, an empty string or another type (*bad set for the last).
 * Strings hold no NUL: jansson refuses "\u0000" without JSON_ALLOW_NUL.
 */
static const char *
id_text(const json_t *v, char *buf, size_t len, int *bad)
{
	*bad = 0;
	if (v == NULL)
		return NULL;
	if (json_is_string(v))
		return json_string_length(v) == 0 ? NULL : json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	}
	*bad = 1;
	return NULL;
}

/*
 * Checks an id-like string for what the store and event_from_row()
 * accept: at most max bytes, no control characters, no NUL.  0 or 1.
 */
static int
check_id(struct decoder *d, const char *field, const char *s, size_t max,
    struct cw_error *err)
{
	size_t	n = strlen(s);

	if (n > max)
		return fail(d, err, "invalid_message", "%s is longer than %zu "
		    "bytes", field, max);
	if (util_has_control(s, n))
		return fail(d, err, "invalid_message", "%s contains control "
		    "characters", field);
	return 0;
}

/* A string member as text (NUL inside refused by the caller's checks). */
static const char *
str_member(const json_t *o, const char *key)
{
	const json_t	*v = member(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An RFC 3339 member: 0 and *us, or -1 when absent or unparseable. */
static int
time_member(const json_t *o, const char *key, int64_t *us)
{
	const json_t	*v;

	if (o == NULL || (v = member(o, key)) == NULL || !json_is_string(v))
		return -1;
	return util_parse_rfc3339(json_string_value(v), json_string_length(v),
	    us);
}

/* Segment's clock-skew correction (segment.h has the rules). */
static int64_t
message_ts(struct decoder *d, const json_t *o)
{
	int64_t	sent, base, ts;
	int	has_sent, has_base;

	has_sent = time_member(o, "sentAt", &sent) == 0 ||
	    time_member(d->envelope, "sentAt", &sent) == 0;
	has_base = time_member(o, "originalTimestamp", &base) == 0 ||
	    time_member(o, "timestamp", &base) == 0;
	if (has_sent && has_base)
		/* Each term lies within years 0..9999: no overflow. */
		ts = d->now - (sent - base);
	else if (time_member(o, "timestamp", &ts) == 0 ||
	    time_member(o, "originalTimestamp", &ts) == 0)
		;
	else
		ts = d->now;
	if (ts > d->now && ts - d->now > d->rules->future_us)
		ts = d->now;
	return ts;
}

static int
is_login(const struct seg_rules *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nlogin_events; i++)
		if (r->login_events[i] != NULL &&
		    strcmp(r->login_events[i], name) == 0)
			return 1;
	return 0;
}

/* json_object_set_new() that reports failure; takes ownership of v. */
static int
set_new(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) == -1 ? -1 : 0;
}

/* Copy o[key] into p under pkey when it is an object (else skip). */
static int
set_object(json_t *p, const char *pkey, const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_object(v))
		return 0;
	return json_object_set(p, pkey, v);
}

static int
props_track(struct decoder *d, struct msg *m, json_t *p)
{
	(void)d;
	if (set_new(p, "event", json_string(m->name)) == -1)
		return -1;
	return set_object(p, "properties", m->o, "properties");
}

static int
props_page(struct decoder *d, struct msg *m, json_t *p)
{
	(void)d;
	if (m->name != NULL && set_new(p, "name", json_string(m->name)) == -1)
		return -1;
	return set_object(p, "properties", m->o, "properties");
}

static int
props_identify(struct decoder *d, struct msg *m, json_t *p)
{
	(void)d;
	return set_object(p, "traits", m->o, "traits");
}

static int
props_group(struct decoder *d, struct msg *m, json_t *p)
{
	(void)d;
	if (set_new(p, "group_id", json_string(m->group_id)) == -1)
		return -1;
	return set_object(p, "traits", m->o, "traits");
}

/* Compact text of o, or NULL (out of memory). */
static char *
dump(const json_t *o, size_t *len)
{
	char	*s;

	if ((s = json_dumps(o, JSON_COMPACT)) != NULL)
		*len = strlen(s);
	return s;
}

/*
 * The stored props; dropped: leave out properties/traits (the whole would
 * exceed SEG_MESSAGE_MAX).  NULL on out of memory.
 */
static char *
build_props(struct decoder *d, struct msg *m, int dropped, size_t *len)
{
	json_t	*p;
	char	*s = NULL;

	if ((p = json_object()) == NULL)
		return NULL;
	if (m->feature != NULL &&
	    set_new(p, "feature", json_string(m->feature)) == -1)
		goto fail;
	if (set_new(p, "segment_type", json_string(m->t->name)) == -1 ||
	    m->t->props(d, m, p) == -1)
		goto fail;
	if (dropped && (json_object_del(p, "properties"),
	    json_object_del(p, "traits"),
	    set_new(p, "properties_dropped", json_true()) == -1))
		goto fail;
	if (m->anon != NULL &&
	    set_new(p, "anonymous_id", json_string(m->anon)) == -1)
		goto fail;
	s = dump(p, len);
fail:
	json_decref(p);
	return s;
}

/* The account of a track/page/screen message, or "". 0, 1 or -1. */
static int
attribute(struct decoder *d, struct msg *m, const char **acct,
    char *buf, size_t len, struct cw_error *err)
{
	const json_t	*ctx, *g = NULL;
	const char	*s;
	size_t		 i;
	int		 bad;

	*acct = "";
	if ((ctx = member(m->o, "context")) != NULL && json_is_object(ctx))
		g = member(ctx, "groupId");
	if (g == NULL && d->env_context != NULL)
		g = member(d->env_context, "groupId");
	if ((s = id_text(g, buf, len, &bad)) != NULL) {
		if (check_id(d, "context.groupId", s, CW_ACCOUNT_MAX, err))
			return 1;
		*acct = s;
		return 0;
	}
	if (!m->has_user_id)
		return 0;
	/* A group call earlier in this request wins over the lookup. */
	for (i = d->out->nmembers; i-- > 0;)
		if (strcmp(d->out->members[i].user_id, m->user) == 0) {
			*acct = d->out->members[i].account_id;
			return 0;
		}
	if (d->lookup != NULL && d->lookup->account_of != NULL &&
	    (s = d->lookup->account_of(m->user, d->lookup->arg)) != NULL &&
	    *s != '\0' && strlen(s) <= CW_ACCOUNT_MAX)
		*acct = s;
	return 0;
}

/* The account metadata from a group call's traits; NULL out of memory. */
static char *
group_meta(const json_t *o)
{
	const json_t	*traits;
	json_t		*meta, *v;
	char		*s = NULL;
	size_t		 i, n;

	if ((meta = json_object()) == NULL)
		return NULL;
	if ((traits = member(o, "traits")) == NULL || !json_is_object(traits))
		goto done;
	for (i = 0; i < sizeof(meta_strings) / sizeof(meta_strings[0]); i++) {
		v = member(traits, meta_strings[i]);
		if (!json_is_string(v) || (n = json_string_length(v)) == 0 ||
		    n > META_STR_MAX || util_has_control(json_string_value(v), n))
			continue;
		if (json_object_set(meta, meta_strings[i], v) == -1)
			goto fail;
	}
	v = member(traits, "seats");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= META_SEATS_MAX &&
	    json_object_set(meta, "seats", v) == -1)
		goto fail;
done:
	s = json_dumps(meta, JSON_COMPACT);
fail:
	json_decref(meta);
	return s;
}

/* The who of a message: userId, else anonymousId.  0 or 1. */
static int
identify_user(struct decoder *d, struct msg *m, struct cw_error *err)
{
	const char	*uid, *aid;
	int		 bad;

	uid = id_text(member(m->o, "userId"), m->ubuf, sizeof(m->ubuf), &bad);
	if (bad)
		return fail(d, err, "invalid_message", "userId must be a "
		    "string or an integer");
	aid = id_text(member(m->o, "anonymousId"), m->abuf, sizeof(m->abuf),
	    &bad);
	if (bad)
		return fail(d, err, "invalid_message", "anonymousId must be a "
		    "string or an integer");
	if (uid == NULL && aid == NULL)
		return fail(d, err, "invalid_message", "userId or anonymousId "
		    "is required");
	if (uid != NULL && check_id(d, "userId", uid, CW_USER_MAX, err))
		return 1;
	if (aid != NULL && check_id(d, "anonymousId", aid, CW_USER_MAX, err))
		return 1;
	m->has_user_id = uid != NULL;
	m->user = uid != NULL ? uid : aid;
	m->anon = uid != NULL ? aid : NULL;
	return 0;
}

/* The per-type fields: event name, page name, groupId.  0, 1 or -1. */
static int
type_fields(struct decoder *d, struct msg *m, struct cw_error *err)
{
	const char	*name;
	size_t		 n;
	int		 bad;

	switch (m->call) {
	case SEG_TRACK:
		if ((name = str_member(m->o, "event")) == NULL || *name == '\0')
			return fail(d, err, "invalid_message", "track needs "
			    "an event name");
		if (strlen(name) > SEG_NAME_MAX)
			return fail(d, err, "invalid_message", "event is "
			    "longer than %d bytes", SEG_NAME_MAX);
		m->name = name;
		if (!is_login(d->rules, name) &&
		    (m->feature = strdup(name)) == NULL)
			return -1;
		return 0;
	case SEG_PAGE:
	case SEG_SCREEN:
		if ((name = str_member(m->o, "name")) != NULL &&
		    *name == '\0')
			name = NULL;
		if (name != NULL && strlen(name) > SEG_NAME_MAX)
			return fail(d, err, "invalid_message", "name is "
			    "longer than %d bytes", SEG_NAME_MAX);
		m->name = name;
		if (name == NULL)
			name = "unnamed";
		n = strlen(m->t->prefix) + strlen(name) + 1;
		if ((m->feature = malloc(n)) == NULL)
			return -1;
		snprintf(m->feature, n, "%s%s", m->t->prefix, name);
		return 0;
	case SEG_IDENTIFY:
		return (m->feature = strdup("identify")) == NULL ? -1 : 0;
	case SEG_GROUP:
		m->group_id = id_text(member(m->o, "groupId"), m->gbuf,
		    sizeof(m->gbuf), &bad);
		if (m->group_id == NULL)
			return fail(d, err, "invalid_message", "group needs "
			    "a groupId (a string or an integer)");
		if (check_id(d, "groupId", m->group_id, CW_ACCOUNT_MAX, err))
			return 1;
		return (m->feature = strdup("group")) == NULL ? -1 : 0;
	case SEG_BATCH:
	case SEG__COUNT:
		break;
	}
	return fail(d, err, "invalid_message", "type is not a message type");
}

/* The message's own type in a batch, else the endpoint's.  0 or 1. */
static int
message_type(struct decoder *d, struct msg *m, enum seg_call call,
    struct cw_error *err)
{
	const json_t	*t;
	char		 buf[24];
	const char	*s;
	size_t		 i, n;
	int		 c;

	if (call != SEG_BATCH) {
		m->call = call;
		m->t = &msg_types[call];
		return 0;
	}
	if ((t = member(m->o, "type")) == NULL)
		return fail(d, err, "invalid_message", "type is missing");
	if (!json_is_string(t))
		return fail(d, err, "invalid_message", "type must be a string");
	s = json_string_value(t);
	n = json_string_length(t);
	if ((c = segment_call_parse(s, n)) == -1 || c == SEG_BATCH) {
		for (i = 0; i < n && i < sizeof(buf) - 1; i++)
			buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
		buf[i] = '\0';
		return fail(d, err, "invalid_message", "unknown type \"%s\"; "
		    "expected track, identify, group, page or screen", buf);
	}
	m->call = (enum seg_call)c;
	m->t = &msg_types[c];
	return 0;
}

/* One message into the next event (and member/account).  0, 1 or -1. */
static int
decode_message(struct decoder *d, enum seg_call call, const json_t *o,
    struct cw_error *err)
{
	struct seg_result	*out = d->out;
	struct cw_event		*ev = &out->ev[out->nev];
	struct seg_member	*mem;
	struct seg_account	*acc;
	struct msg		 m;
	const json_t		*id;
	const char		*acct = "";
	struct cw_error		 serr;
	char			 abuf[24];
	size_t			 n, plen;
	int			 rc;

	memset(&m, 0, sizeof(m));
	m.o = o;
	if (!json_is_object(o))
		return fail(d, err, "invalid_message", "a message must be a "
		    "JSON object");
	/* Measured as the libraries do: the message's JSON text. */
	if ((n = json_dumpb(o, NULL, 0, JSON_COMPACT)) > SEG_MESSAGE_MAX)
		return fail(d, err, "message_too_large", "message is %zu "
		    "bytes; the limit is %d", n, SEG_MESSAGE_MAX);
	if ((rc = message_type(d, &m, call, err)) != 0)
		return rc;
	if ((id = member(o, "messageId")) == NULL)
		return fail(d, err, "invalid_message", "messageId is missing");
	if (!json_is_string(id) || json_string_length(id) == 0)
		return fail(d, err, "invalid_message", "messageId must be a "
		    "non-empty string");
	if (check_id(d, "messageId", json_string_value(id), CW_ID_MAX, err))
		return 1;
	if ((rc = identify_user(d, &m, err)) != 0)
		return rc;
	if ((rc = type_fields(d, &m, err)) != 0)
		goto done;
	if (m.t->attributed &&
	    (rc = attribute(d, &m, &acct, abuf, sizeof(abuf), err)) != 0)
		goto done;

	rc = -1;
	event_props_init(&ev->p);
	ev->type = m.feature == NULL ? EV_LOGIN : EV_FEATURE_USED;
	ev->ts = message_ts(d, o);
	if ((ev->props = build_props(d, &m, 0, &plen)) != NULL &&
	    plen > SEG_MESSAGE_MAX) {
		free(ev->props);
		ev->props = build_props(d, &m, 1, &plen);
	}
	/* What PostgreSQL would refuse fails here, never in the commit. */
	if (!util_ts_valid(ev->ts)) {
		free(ev->props);
		ev->props = NULL;
		rc = fail(d, err, "invalid_message", "the corrected timestamp "
		    "(receivedAt - (sentAt - originalTimestamp)) lies outside "
		    "years 0001-9999");
		goto done;
	}
	if (ev->props != NULL && event_json_storable(ev->props, plen, 0,
	    &serr)) {
		free(ev->props);
		ev->props = NULL;
		rc = fail(d, err, "invalid_message", "%s", serr.msg);
		goto done;
	}
	ev->id = strdup(json_string_value(id));
	ev->account_id = strdup(acct);
	ev->user_id = strdup(m.user);
	ev->p.feature = m.feature;
	m.feature = NULL;
	out->nev++;
	if (ev->props == NULL || ev->id == NULL || ev->account_id == NULL ||
	    ev->user_id == NULL)
		goto done;

	if (m.call == SEG_GROUP) {
		acc = &out->accounts[out->naccounts++];
		if ((acc->account_id = strdup(m.group_id)) == NULL ||
		    (acc->meta_json = group_meta(o)) == NULL)
			goto done;
		if (m.has_user_id) {
			mem = &out->members[out->nmembers++];
			if ((mem->user_id = strdup(m.user)) == NULL ||
			    (mem->account_id = strdup(m.group_id)) == NULL)
				goto done;
		}
	}
	rc = 0;
done:
	free(m.feature);
	return rc;
}

/* Room for n messages' worth of output.  0 or -1. */
static int
alloc_result(struct seg_result *out, size_t n)
{
	if (n == 0)
		return 0;
	out->ev = calloc(n, sizeof(*out->ev));
	out->members = calloc(n, sizeof(*out->members));
	out->accounts = calloc(n, sizeof(*out->accounts));
	return out->ev == NULL || out->members == NULL ||
	    out->accounts == NULL ? -1 : 0;
}

int
segment_decode(enum seg_call call, const char *body, size_t len,
    int64_t received_at, const struct seg_rules *rules,
    const struct seg_lookup *lookup, struct seg_result *out,
    struct cw_error *err)
{
	struct decoder	 d;
	struct seg_rules r;
	json_error_t	 je;
	json_t		*root = NULL;
	const json_t	*msgs = NULL, *v;
	size_t		 i, n;
	int		 rc = 1;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	r = rules == NULL ? default_rules : *rules;
	if (r.login_events == NULL) {
		r.login_events = default_rules.login_events;
		r.nlogin_events = default_rules.nlogin_events;
	}
	d.rules = &r;
	d.lookup = lookup;
	d.now = received_at;
	d.out = out;

	if ((unsigned)call >= SEG__COUNT) {
		fail(NULL, err, "invalid_message", "unknown endpoint");
		goto done;
	}
	/* Before parsing: never spend a parse on an over-limit body. */
	if (len > SEG_BATCH_MAX) {
		if (call == SEG_BATCH)
			fail(NULL, err, "batch_too_large", "batch is %zu "
			    "bytes; the limit is %d", len, SEG_BATCH_MAX);
		else
			fail(NULL, err, "message_too_large", "message is "
			    "%zu bytes; the limit is %d", len,
			    SEG_MESSAGE_MAX);
		goto done;
	}
	if ((root = json_loadb(body, len, 0, &je)) == NULL) {
		fail(NULL, err, "invalid_json", "body is not valid JSON: %.80s "
		    "at line %d column %d", je.text, je.line, je.column);
		goto done;
	}
	if (!json_is_object(root)) {
		fail(NULL, err, "invalid_json", "body must be a JSON object");
		goto done;
	}
	if (call == SEG_BATCH) {
		if ((msgs = json_object_get(root, "batch")) == NULL ||
		    !json_is_array(msgs)) {
			fail(NULL, err, "invalid_json", "body must be an object "
			    "with a \"batch\" array");
			goto done;
		}
		if ((n = json_array_size(msgs)) > SEG_BATCH_MESSAGES) {
			fail(NULL, err, "too_many_messages", "batch has %zu "
			    "messages; the limit is %d", n,
			    SEG_BATCH_MESSAGES);
			goto done;
		}
		d.envelope = root;
		if ((v = member(root, "context")) != NULL && json_is_object(v))
			d.env_context = v;
	} else
		n = 1;

	if (alloc_result(out, n) == -1) {
		rc = -1;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (call == SEG_BATCH) {
			snprintf(d.where, sizeof(d.where), "batch[%zu]: ", i);
			v = json_array_get(msgs, i);
		} else
			v = root;
		if ((rc = decode_message(&d, call, v, err)) != 0)
			goto done;
	}
	if ((v = member(root, "writeKey")) != NULL && json_is_string(v) &&
	    (out->write_key = strdup(json_string_value(v))) == NULL) {
		rc = -1;
		goto done;
	}
	rc = 0;
done:
	json_decref(root);
	if (rc == -1)
		fail(NULL, err, "internal_error", "out of memory");
	if (rc != 0)
		segment_result_free(out);
	return rc == 0 ? 0 : -1;
}

void
segment_result_free(struct seg_result *out)
{
	size_t	i;

	if (out == NULL)
		return;
	for (i = 0; i < out->nev; i++)
		event_free_fields(&out->ev[i]);
	for (i = 0; i < out->nmembers; i++) {
		free(out->members[i].user_id);
		free(out->members[i].account_id);
	}
	for (i = 0; i < out->naccounts; i++) {
		free(out->accounts[i].account_id);
		free(out->accounts[i].meta_json);
	}
	free(out->ev);
	free(out->members);
	free(out->accounts);
	free(out->write_key);
	memset(out, 0, sizeof(*out));
}
