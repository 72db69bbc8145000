/*
 * webhook.c -- webhook sources (SPEC 2.3): RFC 6901 JSON Pointers, the
 * signature schemes, and the mapping of a sender's payload to one event
 * envelope.
 *
 * Two tables drive it: wh_fields (every field a source can map: its kind,
 * which event types have it, which require it) and wh_kinds (how a value
 * of each kind is converted, e.g. an integer id to a decimal string).
 * The signature schemes are a third (wh_sigs).  The result of
 * webhook_map() is envelope text that event_decode_body() validates like
 * any other ingest body; this file only converts and copies, it does not
 * judge values beyond what the conversions need.
 *
 * Not owned here: reading [source:NAME] (config.c), the HTTP route, the
 * bearer token of unsigned sources, and storing events (http.c, store.c).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "event.h"
#include "util.h"
#include "webhook.h"

#define NITEMS(t)	(sizeof(t) / sizeof((t)[0]))

#define T(t)		(1u << (t))
#define T_ALL		((1u << EV__COUNT) - 1)
#define T_TICKET	(T(EV_TICKET_CREATED) | T(EV_TICKET_UPDATED) | \
			    T(EV_TICKET_SOLVED))
#define T_CONTACT	(T(EV_CONTACT_JOINED) | T(EV_CONTACT_LEFT) | \
			    T(EV_CONTACT_CHANGED))
#define T_USER		(T(EV_LOGIN) | T(EV_FEATURE_USED))

#define WH_TS_MAX	INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define WH_MAX_V1	8	/* v1= values read from one header */
#define WH_EXCERPT	48	/* bytes of a sender's value in a message */

/* How a field's value is converted (wh_kinds). */
enum wh_kind {
	WK_ID,		/* string; an integer becomes its decimal text */
	WK_TEXT,	/* as is */
	WK_TS,		/* RFC 3339 as is; Unix seconds formatted */
	WK_TAGS,	/* array of strings */
	WK_ENUM,	/* lower-cased, synonyms applied */
	WK_NUMBER,	/* number; a numeric string parsed */
	WK_BOOL,	/* true/false; "true"/"false" parsed */
	WK__COUNT
};

static const struct wh_field_rule {
	const char	*name;
	enum wh_kind	 kind;
	int		 envelope;	/* else a prop */
	unsigned	 types;		/* T() of the types with it */
	unsigned	 required;	/* T() of the types that need it */
	int		 has_default;	/* default.NAME allowed */
} wh_fields[WH_F__COUNT] = {
	[WH_F_ID] =		{ "id", WK_ID, 1, T_ALL, 0, 0 },
	[WH_F_ACCOUNT_ID] =	{ "account_id", WK_ID, 1, T_ALL, T_ALL, 1 },
	[WH_F_TS] =		{ "ts", WK_TS, 1, T_ALL, 0, 0 },
	[WH_F_USER_ID] =	{ "user_id", WK_ID, 1, T_ALL, T_USER, 1 },
	[WH_F_TICKET_ID] =	{ "ticket_id", WK_ID, 0, T_TICKET, T_TICKET,
				    1 },
	[WH_F_TEAM] =		{ "team", WK_TEXT, 0, T_TICKET, 0, 1 },
	[WH_F_CATEGORY] =	{ "category", WK_TEXT, 0, T_TICKET, 0, 1 },
	[WH_F_TAGS] =		{ "tags", WK_TAGS, 0, T_TICKET, 0, 1 },
	[WH_F_SUBJECT] =	{ "subject", WK_TEXT, 0, T_TICKET, 0, 1 },
	[WH_F_PRIORITY] =	{ "priority", WK_ENUM, 0, T_TICKET, 0, 1 },
	[WH_F_SENTIMENT] =	{ "sentiment", WK_NUMBER, 0, T_TICKET, 0, 1 },
	[WH_F_CONTACT_ID] =	{ "contact_id", WK_ID, 0, T_CONTACT,
				    T_CONTACT, 1 },
	[WH_F_NAME] =		{ "name", WK_TEXT, 0, T_CONTACT, 0, 1 },
	[WH_F_TITLE] =		{ "title", WK_TEXT, 0, T_CONTACT, 0, 1 },
	[WH_F_PREVIOUS_TITLE] = { "previous_title", WK_TEXT, 0,
				    T_CONTACT, 0, 1 },
	[WH_F_PREVIOUS_COMPANY] = { "previous_company", WK_TEXT, 0,
				    T_CONTACT, 0, 1 },
	[WH_F_IS_CHAMPION] =	{ "is_champion", WK_BOOL, 0, T_CONTACT, 0,
				    1 },
	[WH_F_COMPETITOR] =	{ "competitor", WK_TEXT, 0,
				    T(EV_COMPETITOR_SIGNAL),
				    T(EV_COMPETITOR_SIGNAL), 1 },
	[WH_F_KIND] =		{ "kind", WK_ENUM, 0,
				    T(EV_COMPETITOR_SIGNAL) | T(EV_TOUCHPOINT) |
				    T(EV_NOTE), 0, 1 },
	[WH_F_BY] =		{ "by", WK_TEXT, 0, T(EV_TOUCHPOINT) |
				    T(EV_NOTE), 0, 1 },
	[WH_F_FEATURE] =	{ "feature", WK_TEXT, 0, T(EV_FEATURE_USED),
				    T(EV_FEATURE_USED), 1 },
};

/* What desks call the values SPEC 2.2 names otherwise (lower case). */
static const struct {
	enum wh_field	 field;
	const char	*from;
	const char	*to;
} wh_synonyms[] = {
	{ WH_F_PRIORITY, "medium", "normal" },	/* Freshdesk */
	{ WH_F_PRIORITY, "priority", "high" },	/* Intercom */
	{ WH_F_PRIORITY, "not_priority", "normal" },
};

static const char *const wh_priorities[] = {
	"low", "normal", "high", "urgent", NULL
};

static int	conv_id(enum wh_field, json_t *, json_t **);
static int	conv_text(enum wh_field, json_t *, json_t **);
static int	conv_ts(enum wh_field, json_t *, json_t **);
static int	conv_tags(enum wh_field, json_t *, json_t **);
static int	conv_enum(enum wh_field, json_t *, json_t **);
static int	conv_number(enum wh_field, json_t *, json_t **);
static int	conv_bool(enum wh_field, json_t *, json_t **);

/*
 * Convert a present, non-null, non-empty value: *out is a new reference,
 * or NULL when nothing usable is left (an empty tag list).  -1 only when
 * out of memory.  A value of the wrong JSON type is passed on as is, for
 * the event validator to reject with its own message.
 */
static int	(*const wh_kinds[WK__COUNT])(enum wh_field, json_t *,
		    json_t **) = {
	[WK_ID] = conv_id,
	[WK_TEXT] = conv_text,
	[WK_TS] = conv_ts,
	[WK_TAGS] = conv_tags,
	[WK_ENUM] = conv_enum,
	[WK_NUMBER] = conv_number,
	[WK_BOOL] = conv_bool,
};

static int	verify_zendesk(const struct wh_source *, const char *, size_t,
		    wh_header_fn, void *, int64_t, struct cw_error *);
static int	verify_hmac_sha256(const struct wh_source *, const char *,
		    size_t, wh_header_fn, void *, int64_t, struct cw_error *);
static int	verify_intercom(const struct wh_source *, const char *,
		    size_t, wh_header_fn, void *, int64_t, struct cw_error *);

static const struct {
	const char	*name;
	int		(*verify)(const struct wh_source *, const char *,
			    size_t, wh_header_fn, void *, int64_t,
			    struct cw_error *);
} wh_sigs[WH_SIG__COUNT] = {
	[WH_SIG_NONE] = { "none", NULL },
	[WH_SIG_ZENDESK] = { "zendesk", verify_zendesk },
	[WH_SIG_HMAC_SHA256] = { "hmac-sha256", verify_hmac_sha256 },
	[WH_SIG_INTERCOM] = { "intercom", verify_intercom },
};

static int	fail(struct cw_error *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(struct cw_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * What fits of s[0..n) for a message: printable ASCII only, '"' and '\'
 * too become '?', and "..." when cut.  dst holds WH_EXCERPT + 4 bytes.
 */
static const char *
excerpt(char *dst, const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < WH_EXCERPT; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\') ? s[i] : '?';
	if (i < n)
		dst[i++] = '.', dst[i++] = '.', dst[i++] = '.';
	dst[i] = '\0';
	return dst;
}

/* ---- names ---- */

const char *
webhook_signature_name(enum wh_signature s)
{
	if ((unsigned)s >= WH_SIG__COUNT)
		return NULL;
	return wh_sigs[s].name;
}

int
webhook_signature_parse(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < NITEMS(wh_sigs); i++)
		if (strcmp(wh_sigs[i].name, s) == 0)
			return (int)i;
	return -1;
}

const char *
webhook_field_name(enum wh_field f)
{
	if ((unsigned)f >= WH_F__COUNT)
		return NULL;
	return wh_fields[f].name;
}

int
webhook_field_find(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < NITEMS(wh_fields); i++)
		if (strcmp(wh_fields[i].name, s) == 0)
			return (int)i;
	return -1;
}

/* ---- sources ---- */

static void
strv_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
webhook_source_clear(struct wh_source *src)
{
	size_t	i;

	if (src == NULL)
		return;
	free(src->name);
	secret_free(src->secret);
	secret_free(src->secret_previous);
	free(src->type_pointer);
	for (i = 0; i < EV__COUNT; i++)
		strv_free(src->type_map[i]);
	for (i = 0; i < WH_F__COUNT; i++) {
		free(src->pointer[i]);
		free(src->def[i]);
	}
	memset(src, 0, sizeof(*src));
}

/* T() of the types src can produce. */
static unsigned
source_types(const struct wh_source *src)
{
	unsigned	mask = 0;
	size_t		i;

	if (src->type >= 0 && src->type < EV__COUNT)
		return T(src->type);
	for (i = 0; i < EV__COUNT; i++)
		if (src->type_map[i] != NULL && src->type_map[i][0] != NULL)
			mask |= T(i);
	return mask;
}

int
webhook_source_check(const struct wh_source *src, char *why, size_t whylen)
{
	const struct wh_field_rule	*f;
	unsigned			 mask, need;
	size_t				 i, t;

	mask = source_types(src);
	for (i = 0; i < WH_F__COUNT; i++) {
		f = &wh_fields[i];
		if (src->pointer[i] == NULL && src->def[i] == NULL) {
			if ((need = f->required & mask) == 0)
				continue;
			for (t = 0; !(need & T(t)); t++)
				;
			if (f->required == T_ALL)
				snprintf(why, whylen, "pointer.%s or "
				    "default.%s is required", f->name,
				    f->name);
			else
				snprintf(why, whylen, "pointer.%s or "
				    "default.%s is required (%s needs %s)",
				    f->name,
				    f->name, event_type_name(t), f->name);
			return -1;
		}
		if (mask != 0 && (f->types & mask) == 0) {
			snprintf(why, whylen, "%s.%s: %s is not a prop of %s",
			    src->pointer[i] != NULL ? "pointer" : "default",
			    f->name, f->name, src->type >= 0 ?
			    event_type_name(src->type) : "any mapped type");
			return -1;
		}
	}
	return 0;
}

/* Whether s is a decimal number (JSON-like: sign, digits, fraction). */
static int
parse_number(const char *s, double *out)
{
	char	*end;
	double	 d;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	d = strtod(s, &end);
	if (*end != '\0' || !isfinite(d) || strpbrk(s, "xXnNiI") != NULL)
		return -1;	/* no hex, nan or inf */
	*out = d;
	return 0;
}

int
webhook_default_valid(enum wh_field f, const char *value, char *why,
    size_t whylen)
{
	const char *const	*p;
	const unsigned char	*c;
	double			 d;

	if ((unsigned)f >= WH_F__COUNT || !wh_fields[f].has_default) {
		snprintf(why, whylen, "%s takes no default",
		    webhook_field_name(f) != NULL ? webhook_field_name(f) :
		    "this field");
		return 0;
	}
	if (*value == '\0') {
		snprintf(why, whylen, "must not be empty");
		return 0;
	}
	for (c = (const unsigned char *)value; *c != '\0'; c++)
		if (*c < 0x20 || *c == 0x7f) {
			snprintf(why, whylen, "must not contain control "
			    "characters");
			return 0;
		}
	switch (wh_fields[f].kind) {
	case WK_NUMBER:
		if (parse_number(value, &d) == -1 || d < -1.0 || d > 1.0) {
			snprintf(why, whylen, "must be a number from -1 to 1");
			return 0;
		}
		break;
	case WK_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(why, whylen, "must be true or false");
			return 0;
		}
		break;
	case WK_ENUM:
		if (f != WH_F_PRIORITY)
			break;
		for (p = wh_priorities; *p != NULL; p++)
			if (strcmp(*p, value) == 0)
				break;
		if (*p == NULL) {
			snprintf(why, whylen, "must be low, normal, high or "
			    "urgent");
			return 0;
		}
		break;
	default:
		break;
	}
	return 1;
}

/* ---- RFC 6901 JSON Pointer ---- */

int
webhook_pointer_valid(const char *ptr)
{
	const char	*c;

	if (ptr == NULL)
		return 0;
	if (*ptr == '\0')
		return 1;
	if (*ptr != '/')
		return 0;
	for (c = ptr; *c != '\0'; c++)
		if (*c == '~' && c[1] != '0' && c[1] != '1')
			return 0;
	return 1;
}

/* An array index: "0" or digits without a leading zero, fitting size_t. */
static int
array_index(const char *s, size_t *out)
{
	size_t	v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return 0;
}

json_t *
webhook_pointer_get(const json_t *doc, const char *ptr)
{
	json_t		*cur = (json_t *)doc;
	const char	*c;
	char		*tok, *t;
	size_t		 idx;

	if (doc == NULL || !webhook_pointer_valid(ptr))
		return NULL;
	if (*ptr == '\0')
		return cur;
	if ((tok = malloc(strlen(ptr))) == NULL)
		return NULL;
	for (c = ptr; cur != NULL && *c == '/'; ) {
		/* Unescape one reference token: ~1 is '/', ~0 is '~'. */
		for (c++, t = tok; *c != '\0' && *c != '/'; c++) {
			if (*c == '~') {
				*t++ = c[1] == '1' ? '/' : '~';
				c++;
			} else
				*t++ = *c;
		}
		*t = '\0';
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur) && array_index(tok, &idx) == 0)
			cur = json_array_get(cur, idx);
		else
			cur = NULL;
	}
	free(tok);
	return cur;
}

/* ---- signatures ---- */

/* A header's value; "" counts as absent. */
static const char *
header(wh_header_fn get, void *arg, const char *name)
{
	const char	*v;

	if (get == NULL || (v = get(arg, name)) == NULL || *v == '\0')
		return NULL;
	return v;
}

/* The source's secrets: secret, then secret_previous; returns how many. */
static size_t
secrets(const struct wh_source *src, const char *out[2])
{
	size_t	n = 0;

	if (src->secret != NULL && *src->secret != '\0')
		out[n++] = src->secret;
	if (src->secret_previous != NULL && *src->secret_previous != '\0')
		out[n++] = src->secret_previous;
	return n;
}

/* HMAC(md, key, a || b) into out; its length, or 0 on failure. */
static unsigned
hmac2(const EVP_MD *md, const char *key, const char *a, size_t alen,
    const char *b, size_t blen, unsigned char *out)
{
	unsigned char	*buf;
	unsigned	 n = 0;

	if ((buf = malloc(alen + blen + 1)) == NULL)
		return 0;
	memcpy(buf, a, alen);
	memcpy(buf + alen, b, blen);
	if (HMAC(md, key, (int)strlen(key), buf, alen + blen, out, &n) ==
	    NULL)
		n = 0;
	free(buf);
	return n;
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* |now - t| > skew, t in seconds, now in us. */
static int
stale(int64_t t_us, int64_t now, unsigned skew)
{
	int64_t	d = now > t_us ? now - t_us : t_us - now;

	return d > (int64_t)skew * CW_USEC_PER_SEC;
}

static int
verify_zendesk(const struct wh_source *src, const char *body, size_t len,
    wh_header_fn get, void *arg, int64_t now, struct cw_error *err)
{
	static const char	H_SIG[] = "X-Zendesk-Webhook-Signature";
	static const char	H_TS[] =
	    "X-Zendesk-Webhook-Signature-Timestamp";
	unsigned char		mac[EVP_MAX_MD_SIZE];
	char			b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	const char		*sig, *ts, *keys[2];
	size_t			i, n;
	unsigned		mlen;
	int64_t			t;
	int			ok = 0;

	sig = header(get, arg, H_SIG);
	ts = header(get, arg, H_TS);
	if (sig == NULL || ts == NULL)
		return fail(err, "missing_signature", "%s and %s are required",
		    H_SIG, H_TS);
	if (util_parse_rfc3339(ts, strlen(ts), &t) == -1)
		return fail(err, "invalid_signature", "%s is not an RFC 3339 "
		    "time", H_TS);
	n = secrets(src, keys);
	for (i = 0; i < n; i++) {
		mlen = hmac2(EVP_sha256(), keys[i], ts, strlen(ts), body, len,
		    mac);
		if (mlen == 0)
			return fail(err, "internal_error", "cannot compute "
			    "the signature");
		EVP_EncodeBlock((unsigned char *)b64, mac, (int)mlen);
		ok |= util_ct_equal(b64, strlen(b64), sig, strlen(sig));
	}
	explicit_bzero(mac, sizeof(mac));
	if (!ok)
		return fail(err, "invalid_signature", "%s does not match the "
		    "body", H_SIG);
	if (stale(t, now, src->max_skew))
		return fail(err, "stale_signature", "%s is more than %u "
		    "seconds from now", H_TS, src->max_skew);
	return 0;
}

/*
 * "t=<unix>,v1=<hex>[,v1=<hex>...]": items in any order, space around
 * them ignored, other items (v0=, ...) skipped, as Stripe does.
 */
static int
verify_hmac_sha256(const struct wh_source *src, const char *body,
    size_t len, wh_header_fn get, void *arg, int64_t now,
    struct cw_error *err)
{
	static const char	H[] = "X-Churnwatch-Signature";
	unsigned char		mac[EVP_MAX_MD_SIZE];
	char			want[2 * EVP_MAX_MD_SIZE + 1];
	char			got[WH_MAX_V1][2 * EVP_MAX_MD_SIZE + 1];
	char			tbuf[24];
	const char		*h, *s, *e, *end, *keys[2];
	size_t			i, j, n, nkeys, nv1 = 0, tlen = 0;
	unsigned		mlen;
	uint64_t		t = 0;
	int			ok = 0, bad = 0;

	if ((h = header(get, arg, H)) == NULL)
		return fail(err, "missing_signature", "%s is required", H);
	for (s = h; !bad; s = e + 1) {
		if ((e = strchr(s, ',')) == NULL)
			e = s + strlen(s);
		end = e;
		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		n = end - s;
		if (n > 2 && strncmp(s, "t=", 2) == 0) {
			if (tlen != 0 || n - 2 >= sizeof(tbuf))
				bad = 1;
			else {
				memcpy(tbuf, s + 2, n - 2);
				tbuf[tlen = n - 2] = '\0';
				bad = util_parse_u64(tbuf, 0, WH_TS_MAX, &t) ==
				    -1;
			}
		} else if (n > 3 && strncmp(s, "v1=", 3) == 0) {
			if (nv1 == WH_MAX_V1 || n - 3 >= sizeof(got[0]))
				bad = 1;
			else {
				/* Hex digits compare in lower case. */
				for (j = 0; j < n - 3; j++)
					got[nv1][j] = (char)tolower(
					    (unsigned char)s[3 + j]);
				got[nv1++][j] = '\0';
			}
		}
		if (*e == '\0')
			break;
	}
	if (bad || tlen == 0 || nv1 == 0)
		return fail(err, "invalid_signature", "%s must be "
		    "t=<unix seconds>,v1=<hex HMAC-SHA256>", H);
	/* The signed text is t as sent, ".", then the body. */
	tbuf[tlen++] = '.';
	nkeys = secrets(src, keys);
	for (i = 0; i < nkeys; i++) {
		if ((mlen = hmac2(EVP_sha256(), keys[i], tbuf, tlen, body, len,
		    mac)) == 0)
			return fail(err, "internal_error", "cannot compute "
			    "the signature");
		hex(mac, mlen, want);
		for (j = 0; j < nv1; j++)
			ok |= util_ct_equal(want, 2 * mlen, got[j],
			    strlen(got[j]));
	}
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(want, sizeof(want));
	if (!ok)
		return fail(err, "invalid_signature", "%s does not match the "
		    "body", H);
	if (stale((int64_t)t * CW_USEC_PER_SEC, now, src->max_skew))
		return fail(err, "stale_signature", "%s: t is more than %u "
		    "seconds from now", H, src->max_skew);
	return 0;
}

static int
verify_intercom(const struct wh_source *src, const char *body, size_t len,
    wh_header_fn get, void *arg, int64_t now, struct cw_error *err)
{
	static const char	H[] = "X-Hub-Signature";
	unsigned char		mac[EVP_MAX_MD_SIZE];
	char			want[2 * EVP_MAX_MD_SIZE + 1];
	char			got[2 * EVP_MAX_MD_SIZE + 1];
	const char		*h, *keys[2];
	size_t			i, n, glen;
	unsigned		mlen;
	int			ok = 0;

	if ((h = header(get, arg, H)) == NULL)
		return fail(err, "missing_signature", "%s is required", H);
	if (strncmp(h, "sha1=", 5) != 0 || (glen = strlen(h + 5)) == 0 ||
	    glen >= sizeof(got))
		return fail(err, "invalid_signature", "%s must be "
		    "sha1=<hex HMAC-SHA1>", H);
	for (i = 0; i < glen; i++)
		got[i] = (char)tolower((unsigned char)h[5 + i]);
	got[glen] = '\0';
	n = secrets(src, keys);
	for (i = 0; i < n; i++) {
		if ((mlen = hmac2(EVP_sha1(), keys[i], "", 0, body, len,
		    mac)) == 0)
			return fail(err, "internal_error", "cannot compute "
			    "the signature");
		hex(mac, mlen, want);
		ok |= util_ct_equal(want, 2 * mlen, got, glen);
	}
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(want, sizeof(want));
	if (!ok)
		return fail(err, "invalid_signature", "%s does not match the "
		    "body", H);
	return 0;
}

int
webhook_verify(const struct wh_source *src, const char *body, size_t len,
    wh_header_fn get, void *arg, int64_t now, struct cw_error *err)
{
	const char	*keys[2];

	if (src == NULL || (unsigned)src->signature >= WH_SIG__COUNT)
		return fail(err, "internal_error", "no such source");
	if (wh_sigs[src->signature].verify == NULL)
		return 0;
	if (secrets(src, keys) == 0)
		return fail(err, "invalid_signature", "the source has no "
		    "secret to verify the signature with");
	if (body == NULL)
		body = "";
	return wh_sigs[src->signature].verify(src, body, len, get, arg, now,
	    err);
}

/* ---- mapping ---- */

static int
conv_id(enum wh_field f, json_t *v, json_t **out)
{
	char	buf[32];

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return (*out = json_string(buf)) == NULL ? -1 : 0;
	}
	*out = json_incref(v);
	return 0;
}

static int
conv_text(enum wh_field f, json_t *v, json_t **out)
{
	*out = json_incref(v);
	return 0;
}

/* Unix seconds (a number, or a string of 1 to 12 digits) to RFC 3339. */
static int
conv_ts(enum wh_field f, json_t *v, json_t **out)
{
	char		buf[CW_RFC3339_LEN];
	const char	*s;
	uint64_t	u;
	double		d = -1;
	size_t		n;

	if (json_is_number(v))
		d = json_number_value(v);
	else if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		if (n <= 12 && strspn(s, "0123456789") == n &&
		    util_parse_u64(s, 0, WH_TS_MAX, &u) == 0)
			d = (double)u;
	}
	if (d < 0 || d > (double)WH_TS_MAX) {
		*out = json_incref(v);
		return 0;
	}
	util_format_rfc3339((int64_t)(d * 1e6), buf, sizeof(buf));
	return (*out = json_string(buf)) == NULL ? -1 : 0;
}

/* Split s at commas and white space into arr. */
static int
tags_split(const char *s, json_t *arr)
{
	static const char	sep[] = ", \t\r\n";
	size_t			n;
	char			*t;
	int			rv;

	for (;;) {
		s += strspn(s, sep);
		if ((n = strcspn(s, sep)) == 0)
			return 0;
		if ((t = strndup(s, n)) == NULL)
			return -1;
		rv = json_array_append_new(arr, json_string(t));
		free(t);
		if (rv == -1)
			return -1;
		s += n;
	}
}

static int
conv_tags(enum wh_field f, json_t *v, json_t **out)
{
	json_t	*arr, *e, *name;
	size_t	 i;
	int	 rv = 0;

	*out = NULL;
	if (!json_is_array(v) && !json_is_string(v)) {
		*out = json_incref(v);
		return 0;
	}
	if ((arr = json_array()) == NULL)
		return -1;
	if (json_is_string(v))
		rv = tags_split(json_string_value(v), arr);
	else
		json_array_foreach(v, i, e) {
			/* Intercom: {"type": "tag", "name": "vip", ...} */
			if (json_is_object(e) && json_is_string(name =
			    json_object_get(e, "name")))
				e = name;
			if (json_is_string(e) && json_string_length(e) == 0)
				continue;
			if ((rv = json_array_append(arr, e)) == -1)
				break;
		}
	if (rv == -1 || json_array_size(arr) == 0) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return 0;
}

static int
conv_enum(enum wh_field f, json_t *v, json_t **out)
{
	char	*s;
	size_t	 i, n;

	if (!json_is_string(v)) {
		*out = json_incref(v);
		return 0;
	}
	n = json_string_length(v);
	if ((s = strndup(json_string_value(v), n)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] += 'a' - 'A';
	for (i = 0; i < NITEMS(wh_synonyms); i++)
		if (wh_synonyms[i].field == f &&
		    strcmp(wh_synonyms[i].from, s) == 0)
			break;
	*out = json_string(i < NITEMS(wh_synonyms) ? wh_synonyms[i].to : s);
	free(s);
	return *out == NULL ? -1 : 0;
}

static int
conv_number(enum wh_field f, json_t *v, json_t **out)
{
	double	d;

	if (json_is_string(v) && parse_number(json_string_value(v), &d) == 0)
		return (*out = json_real(d)) == NULL ? -1 : 0;
	*out = json_incref(v);
	return 0;
}

static int
conv_bool(enum wh_field f, json_t *v, json_t **out)
{
	const char	*s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strcasecmp(s, "true") == 0) {
			*out = json_true();
			return 0;
		}
		if (strcasecmp(s, "false") == 0) {
			*out = json_false();
			return 0;
		}
	}
	*out = json_incref(v);
	return 0;
}

static int
absent(const json_t *v)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0);
}

/*
 * The value of field f: what pointer.f points at, converted; else
 * default.f, converted.  *out is a new reference or NULL (absent).
 */
static int
field_value(const struct wh_source *src, const json_t *doc, enum wh_field f,
    json_t **out)
{
	int	(*conv)(enum wh_field, json_t *, json_t **);
	json_t	*v, *d;
	int	 rv;

	conv = wh_kinds[wh_fields[f].kind];
	*out = NULL;
	if (src->pointer[f] != NULL) {
		v = webhook_pointer_get(doc, src->pointer[f]);
		if (!absent(v) && conv(f, v, out) == -1)
			return -1;
	}
	if (*out == NULL && src->def[f] != NULL && *src->def[f] != '\0') {
		if ((d = json_string(src->def[f])) == NULL)
			return -1;
		rv = conv(f, d, out);
		json_decref(d);
		return rv;
	}
	return 0;
}

/* The event type from type_pointer and type_map; -1 with err. */
static int
map_type(const struct wh_source *src, const json_t *doc,
    struct cw_error *err)
{
	char		 buf[32], ex[WH_EXCERPT + 4];
	const char	*s;
	char *const	*p;
	json_t		*v;
	size_t		 t, n;

	if (src->type >= 0 && src->type < EV__COUNT)
		return src->type;
	if (src->type_pointer == NULL)
		return fail(err, "internal_error", "the source has no type");
	v = webhook_pointer_get(doc, src->type_pointer);
	if (absent(v))
		return fail(err, "missing_type", "type_pointer %s: no value "
		    "in the body", excerpt(ex, src->type_pointer,
		    strlen(src->type_pointer)));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = buf;
		n = strlen(buf);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else
		return fail(err, "unknown_type", "type_pointer %s: the value "
		    "is not a string", excerpt(ex, src->type_pointer,
		    strlen(src->type_pointer)));
	for (t = 0; t < EV__COUNT; t++)
		for (p = src->type_map[t]; p != NULL && *p != NULL; p++)
			if (strlen(*p) == n && memcmp(*p, s, n) == 0)
				return (int)t;
	return fail(err, "unknown_type", "\"%s\" is not in any type_map of "
	    "this source", excerpt(ex, s, n));
}

/* Lower-case hex SHA-256 of the raw body: the id of a re-delivery too. */
static json_t *
body_id(const char *body, size_t len)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	char		buf[2 * EVP_MAX_MD_SIZE + 1];
	unsigned	n;

	if (EVP_Digest(body, len, md, &n, EVP_sha256(), NULL) != 1)
		return NULL;
	hex(md, n, buf);
	return json_string(buf);
}

/* Set o[key] to v (stealing it) when v is not NULL; -1 on failure. */
static int
set_opt(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, v);
}

int
webhook_map(const struct wh_source *src, const char *body, size_t len,
    char **event_json, struct cw_error *err)
{
	json_error_t	 je;
	json_t		*doc, *ev = NULL, *props = NULL, *v;
	size_t		 f;
	int		 type, rv = -1;

	*event_json = NULL;
	if (src == NULL)
		return fail(err, "internal_error", "no such source");
	if ((doc = json_loadb(body != NULL ? body : "", len, 0, &je)) ==
	    NULL)
		return fail(err, "invalid_json", "the body is not a JSON "
		    "object or array (line %d, column %d)", je.line,
		    je.column);
	if ((type = map_type(src, doc, err)) == -1)
		goto fail;
	if ((ev = json_object()) == NULL || (props = json_object()) == NULL)
		goto oom;

	/* The envelope, in the order of SPEC 2.1. */
	if (src->pointer[WH_F_ID] != NULL) {
		if (field_value(src, doc, WH_F_ID, &v) == -1)
			goto oom;
		if (v == NULL) {
			fail(err, "missing_id", "pointer.id: no value in the "
			    "body");
			goto fail;
		}
	} else if ((v = body_id(body != NULL ? body : "", len)) == NULL)
		goto oom;
	if (json_object_set_new(ev, "id", v) == -1)
		goto oom;
	if (field_value(src, doc, WH_F_ACCOUNT_ID, &v) == -1)
		goto oom;
	if (v == NULL) {
		fail(err, "missing_account_id", "pointer.account_id: no value "
		    "in the body");
		goto fail;
	}
	if (json_object_set_new(ev, "account_id", v) == -1 ||
	    json_object_set_new(ev, "type",
	    json_string(event_type_name(type))) == -1)
		goto oom;
	if (field_value(src, doc, WH_F_TS, &v) == -1 ||
	    set_opt(ev, "ts", v) == -1 ||
	    field_value(src, doc, WH_F_USER_ID, &v) == -1 ||
	    set_opt(ev, "user_id", v) == -1)
		goto oom;

	/* The props of this type that the source maps, and no others. */
	for (f = 0; f < WH_F__COUNT; f++) {
		if (wh_fields[f].envelope || !(wh_fields[f].types & T(type)))
			continue;
		if (field_value(src, doc, f, &v) == -1 ||
		    set_opt(props, wh_fields[f].name, v) == -1)
			goto oom;
	}
	if (json_object_set_new(ev, "props", props) == -1) {
		props = NULL;
		goto oom;
	}
	props = NULL;
	if ((*event_json = json_dumps(ev, JSON_COMPACT)) == NULL)
		goto oom;
	rv = 0;
	goto fail;
oom:
	fail(err, "internal_error", "out of memory");
fail:
	json_decref(props);
	json_decref(ev);
	json_decref(doc);
	return rv;
}
