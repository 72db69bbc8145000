/*
 * fuzz_webhook.c -- libFuzzer target for webhook.c: signature checks on
 * fuzzed headers and body, and the mapping of a body to an envelope that
 * event.c then validates, as the daemon's webhook route does.
 *
 * Input: byte 0 is a set of flags, byte 1 picks a type, then two lines
 * (the signature header's value, the timestamp header's value), then --
 * with FLAG_POINTER -- a line holding a JSON Pointer, then the body.
 *
 *   bits 0-1	signature: none, zendesk, hmac-sha256, intercom
 *   bits 2-3	source: the shipped zendesk, zendesk-events, freshdesk or
 *		intercom mapping (conf/sources/)
 *   FLAG_SIGN	replace the signature with the right one for the body
 *   FLAG_PREV	the source has a secret_previous; FLAG_SIGN signs with it
 *   FLAG_TYPE	a fixed type (byte 1) instead of the source's type_pointer
 *   FLAG_POINTER every field the source leaves unmapped reads the pointer
 *		line, and some fields get a default
 *
 * Checks: a signature not made with a secret never verifies; one made
 * with a secret verifies (or is stale) whenever its timestamp is
 * well-formed; every verdict carries a code.  A mapped envelope is a
 * JSON object, and what event_decode_body() accepts of it passes
 * fuzz_check_event().
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "event.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"
#include "webhook.h"

#define FLAG_SIGN	0x10
#define FLAG_PREV	0x20
#define FLAG_TYPE	0x40
#define FLAG_POINTER	0x80

#define SECRET		"fuzz-secret-current"
#define SECRET_PREV	"fuzz-secret-previous"
#define TS_MAX		INT64_C(253402300799)	/* webhook.c's WH_TS_MAX */

/* The shipped mappings (conf/sources/NAME.conf), minus the secrets. */
struct tmpl {
	const char	*type_pointer;
	const char	*types[3][5];	/* created, updated, solved values */
	const char	*pointer[WH_F__COUNT];
	const char	*def[WH_F__COUNT];
};

static const struct tmpl tmpls[4] = {
	{ "/event", { { "created" }, { "updated" }, { "solved" } },
	  { [WH_F_ACCOUNT_ID] = "/account", [WH_F_TICKET_ID] = "/ticket_id",
	    [WH_F_TEAM] = "/team", [WH_F_CATEGORY] = "/category",
	    [WH_F_SUBJECT] = "/subject", [WH_F_PRIORITY] = "/priority",
	    [WH_F_TAGS] = "/tags" },
	  { [WH_F_PRIORITY] = "normal" } },
	{ "/type", { { "zen:event-type:ticket.created" },
	    { "zen:event-type:ticket.status_changed",
	      "zen:event-type:ticket.priority_changed",
	      "zen:event-type:ticket.tags_changed",
	      "zen:event-type:ticket.comment_added" } },
	  { [WH_F_ID] = "/id", [WH_F_TS] = "/time",
	    [WH_F_ACCOUNT_ID] = "/detail/organization_id",
	    [WH_F_TICKET_ID] = "/detail/id",
	    [WH_F_SUBJECT] = "/detail/subject",
	    [WH_F_PRIORITY] = "/detail/priority",
	    [WH_F_TAGS] = "/detail/tags" },
	  { 0 } },
	{ "/event", { { "created" }, { "updated" }, { "resolved", "closed" } },
	  { [WH_F_ACCOUNT_ID] = "/company", [WH_F_TICKET_ID] = "/ticket_id",
	    [WH_F_TEAM] = "/group", [WH_F_CATEGORY] = "/type",
	    [WH_F_SUBJECT] = "/subject", [WH_F_PRIORITY] = "/priority",
	    [WH_F_TAGS] = "/tags" },
	  { 0 } },
	{ "/topic", { { "conversation.user.created" },
	    { "conversation.user.replied", "conversation.admin.replied",
	      "conversation.admin.assigned",
	      "conversation.priority.updated" },
	    { "conversation.admin.closed" } },
	  { [WH_F_ID] = "/id", [WH_F_TS] = "/created_at",
	    [WH_F_ACCOUNT_ID] = "/data/item/custom_attributes/account_id",
	    [WH_F_USER_ID] = "/data/item/contacts/contacts/0/external_id",
	    [WH_F_TICKET_ID] = "/data/item/id",
	    [WH_F_SUBJECT] = "/data/item/source/subject",
	    [WH_F_TAGS] = "/data/item/tags/tags",
	    [WH_F_PRIORITY] = "/data/item/priority" },
	  { 0 } },
};

/* With FLAG_POINTER: defaults webhook_default_valid() accepts. */
static const char *const extra_def[WH_F__COUNT] = {
	[WH_F_PRIORITY] = "urgent", [WH_F_SENTIMENT] = "-0.5",
	[WH_F_IS_CHAMPION] = "true", [WH_F_TAGS] = "vip, churn",
	[WH_F_KIND] = "meeting", [WH_F_FEATURE] = "export",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	return 0;
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

static void
source_build(struct wh_source *src, unsigned flags, unsigned type,
    const char *ptr)
{
	static const int ticket[3] = { EV_TICKET_CREATED, EV_TICKET_UPDATED,
	    EV_TICKET_SOLVED };
	const struct tmpl *t = &tmpls[(flags >> 2) & 3];
	size_t i, j, n;

	memset(src, 0, sizeof(*src));
	src->name = xstrdup("fuzz");
	src->signature = (enum wh_signature)(flags & 3);
	src->max_skew = WH_MAX_SKEW_DEFAULT;
	if (src->signature != WH_SIG_NONE) {
		src->secret = xstrdup(SECRET);
		if (flags & FLAG_PREV)
			src->secret_previous = xstrdup(SECRET_PREV);
	}
	if (flags & FLAG_TYPE)
		src->type = (int)(type % EV__COUNT);
	else {
		src->type = -1;
		src->type_pointer = xstrdup(t->type_pointer);
		for (i = 0; i < 3; i++) {
			for (n = 0; n < 5 && t->types[i][n] != NULL; n++)
				;
			if (n == 0)
				continue;
			if ((src->type_map[ticket[i]] = calloc(n + 1,
			    sizeof(char *))) == NULL)
				abort();
			for (j = 0; j < n; j++)
				src->type_map[ticket[i]][j] =
				    xstrdup(t->types[i][j]);
		}
	}
	for (i = 0; i < WH_F__COUNT; i++) {
		src->pointer[i] = xstrdup(t->pointer[i]);
		src->def[i] = xstrdup(t->def[i]);
		if (flags & FLAG_POINTER) {
			if (src->pointer[i] == NULL)
				src->pointer[i] = xstrdup(ptr);
			if (src->def[i] == NULL)
				src->def[i] = xstrdup(extra_def[i]);
		}
	}
}

struct hdrs {
	const char	*sig;
	const char	*ts;
};

static const char *
get_hdr(void *arg, const char *name)
{
	struct hdrs	*h = arg;

	if (strcasecmp(name, "X-Zendesk-Webhook-Signature-Timestamp") == 0)
		return h->ts;
	if (strcasecmp(name, "X-Zendesk-Webhook-Signature") == 0 ||
	    strcasecmp(name, "X-Churnwatch-Signature") == 0 ||
	    strcasecmp(name, "X-Hub-Signature") == 0)
		return h->sig;
	return NULL;
}

static void
hexs(const unsigned char *d, unsigned n, char *out)
{
	unsigned	i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[2 * n] = '\0';
}

/*
 * The right signature header for body under key, into out (malloc'd);
 * 1 when the verifier must then accept it (or find it stale).
 */
static int
sign(enum wh_signature sig, const char *key, const char *ts,
    const char *body, size_t len, char **out)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	char		 b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned char	*buf;
	size_t		 tlen = strlen(ts);
	unsigned	 n;
	uint64_t	 t;
	int64_t		 us;
	int		 good = 0;

	if ((buf = malloc(tlen + 1 + len + 1)) == NULL)
		abort();
	memcpy(buf, ts, tlen);
	switch (sig) {
	case WH_SIG_ZENDESK:
		memcpy(buf + tlen, body, len);
		HMAC(EVP_sha256(), key, (int)strlen(key), buf, tlen + len, mac,
		    &n);
		EVP_EncodeBlock((unsigned char *)b64, mac, (int)n);
		*out = xstrdup(b64);
		good = tlen > 0 && util_parse_rfc3339(ts, tlen, &us) == 0;
		break;
	case WH_SIG_HMAC_SHA256:
		buf[tlen] = '.';
		memcpy(buf + tlen + 1, body, len);
		HMAC(EVP_sha256(), key, (int)strlen(key), buf, tlen + 1 + len,
		    mac, &n);
		hexs(mac, n, hex);
		if ((*out = malloc(tlen + strlen(hex) + 8)) == NULL)
			abort();
		sprintf(*out, "t=%s,v1=%s", ts, hex);
		good = tlen > 0 && tlen < 21 &&
		    util_parse_u64(ts, 0, (uint64_t)TS_MAX, &t) == 0;
		break;
	default:	/* WH_SIG_INTERCOM */
		HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)
		    body, len, mac, &n);
		hexs(mac, n, hex);
		if ((*out = malloc(strlen(hex) + 6)) == NULL)
			abort();
		sprintf(*out, "sha1=%s", hex);
		good = 1;
		break;
	}
	free(buf);
	return good;
}

/* The next '\n'-terminated line of [*p, end) as a C string; free() it. */
static char *
line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t	*nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t		 n = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	char		*s = fuzz_strndup(*p, n);

	*p += nl != NULL ? n + 1 : n;
	return s;
}

static void
check_envelope(const char *json)
{
	struct cw_event_limits l = { 10, 400 * CW_USEC_PER_DAY,
	    300 * CW_USEC_PER_SEC };
	struct cw_event_batch b;
	struct cw_error	 e;
	json_error_t	 je;
	json_t		*o;
	size_t		 i;

	if ((o = json_loads(json, 0, &je)) == NULL || !json_is_object(o))
		abort();
	json_decref(o);
	if (event_decode_body(json, strlen(json), BODY_JSON, FUZZ_NOW, &l, &b,
	    &e) == -1) {
		if (e.code == NULL)
			abort();
		return;
	}
	if (b.total != 1)
		abort();
	for (i = 0; i < b.nev; i++)
		fuzz_check_event(&b.ev[i], 0);
	event_batch_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p, *end = data + size;
	struct wh_source src;
	struct cw_error	 err;
	struct hdrs	 h;
	char		*sig, *ts, *ptr = NULL, *good_sig = NULL, *body, *json;
	char		 why[160];
	unsigned	 flags;
	int		 rc, must = 0;

	if (size < 2)
		return 0;
	flags = data[0];
	p = data + 2;
	sig = line(&p, end);
	ts = line(&p, end);
	if (flags & FLAG_POINTER)
		ptr = line(&p, end);
	body = fuzz_copy(p, (size_t)(end - p));
	source_build(&src, flags, data[1], ptr);

	h.sig = sig;
	h.ts = ts;
	if ((flags & FLAG_SIGN) && src.signature != WH_SIG_NONE) {
		must = sign(src.signature, (flags & FLAG_PREV) ? SECRET_PREV :
		    SECRET, ts, body, (size_t)(end - p), &good_sig);
		h.sig = good_sig;
	}
	rc = webhook_verify(&src, body, (size_t)(end - p), get_hdr, &h,
	    FUZZ_NOW, &err);
	if (rc != 0 && (err.code == NULL || strlen(err.msg) >= sizeof(err.msg)))
		abort();
	if (rc == 0 && src.signature != WH_SIG_NONE && good_sig == NULL)
		abort();	/* forged */
	if (must && rc != 0 && strcmp(err.code, "stale_signature") != 0)
		abort();	/* a right signature refused */

	(void)webhook_source_check(&src, why, sizeof(why));
	if (webhook_map(&src, body, (size_t)(end - p), &json, &err) == 0) {
		if (json == NULL)
			abort();
		check_envelope(json);
		free(json);
	} else if (err.code == NULL || json != NULL)
		abort();

	webhook_source_clear(&src);
	free(good_sig);
	free(body);
	free(ptr);
	free(ts);
	free(sig);
	return 0;
}
