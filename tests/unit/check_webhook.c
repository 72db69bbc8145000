/*
 * check_webhook.c -- unit tests for webhook.c: RFC 6901 JSON Pointers
 * (the RFC's own examples), the three signature schemes, the mapping of
 * a payload to one envelope, and the shipped examples: every
 * conf/sources/NAME.conf loaded through config_load() maps its sample
 * payload in tests/payloads/ to an event that event_decode_body()
 * accepts.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cwconfig.h"
#include "event.h"
#include "util.h"
#include "webhook.h"

#define USEC		INT64_C(1000000)
#define CONF(f)		TEST_DATA_DIR "/../../../conf/sources/" f
#define PAYLOAD(f)	TEST_DATA_DIR "/../../payloads/" f

#define SECRET		"current-secret-123"
#define OLD_SECRET	"previous-secret-456"
#define WRONG_SECRET	"wrong-secret-789"

/* 2026-11-20T09:30:00Z */
#define T0		INT64_C(1795167000)

/* ---- helpers ---- */

struct hdrs {
	const char	*name[4];
	const char	*value[4];
};

static const char *
get_hdr(void *arg, const char *name)
{
	struct hdrs	*h = arg;
	size_t		 i;

	for (i = 0; i < 4 && h->name[i] != NULL; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static void
set(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? strdup(v) : NULL;
	if (v != NULL)
		ck_assert_ptr_nonnull(*dst);
}

static char **
strv(const char *a, const char *b)
{
	char	**v;

	v = calloc(3, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	v[0] = strdup(a);
	v[1] = b != NULL ? strdup(b) : NULL;
	return v;
}

static void
src_init(struct wh_source *s, enum wh_signature sig)
{
	memset(s, 0, sizeof(*s));
	set(&s->name, "test");
	s->signature = sig;
	s->max_skew = WH_MAX_SKEW_DEFAULT;
	s->type = -1;
	if (sig != WH_SIG_NONE)
		set(&s->secret, SECRET);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	ck_assert_int_ge(n, 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
hexs(const unsigned char *d, unsigned n, char *out)
{
	unsigned	i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * n] = '\0';
}

/* hex(HMAC(md, key, a || b)) */
static void
hmac_hex(const EVP_MD *md, const char *key, const char *a, const char *b,
    char *out)
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	char		*buf;
	unsigned	 n;

	ck_assert_int_ne(asprintf(&buf, "%s%s", a, b), -1);
	ck_assert_ptr_nonnull(HMAC(md, key, (int)strlen(key),
	    (unsigned char *)buf, strlen(buf), mac, &n));
	free(buf);
	hexs(mac, n, out);
}

/* base64(HMAC-SHA256(key, ts || body)), as Zendesk signs. */
static void
zendesk_sig(const char *key, const char *ts, const char *body, char *out)
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	char		*buf;
	unsigned	 n;

	ck_assert_int_ne(asprintf(&buf, "%s%s", ts, body), -1);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key),
	    (unsigned char *)buf, strlen(buf), mac, &n));
	free(buf);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
}

static void
expect_err(int rv, const struct cw_error *err, const char *code)
{
	ck_assert_int_eq(rv, -1);
	ck_assert_ptr_nonnull(err->code);
	ck_assert_msg(strcmp(err->code, code) == 0, "want %s, got %s: %s",
	    code, err->code, err->msg);
	ck_assert_ptr_null(strstr(err->msg, SECRET));
	ck_assert_ptr_null(strstr(err->msg, OLD_SECRET));
	ck_assert_ptr_null(strstr(err->msg, WRONG_SECRET));
}

static int
map_str(const struct wh_source *s, const char *str, char **json,
    struct cw_error *err)
{
	return webhook_map(s, str, strlen(str), json, err);
}

/* Map body with s and decode the result as ingest would: one event. */
static void
map_decode(const struct wh_source *s, const char *body, int64_t now,
    struct cw_event_batch *b, char **json)
{
	struct cw_event_limits	lim = { 100, 400 * 86400 * USEC,
				    300 * USEC };
	struct cw_error		err;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(webhook_map(s, body, strlen(body), json, &err) == 0,
	    "map: %s: %s", err.code, err.msg);
	memset(b, 0, sizeof(*b));
	ck_assert_int_eq(event_decode_body(*json, strlen(*json), BODY_JSON, now,
	    &lim, b, &err), 0);
	ck_assert_msg(b->nev == 1, "%s: rejected: %s: %s", *json,
	    b->nrej > 0 ? b->rej[0].err.code : "",
	    b->nrej > 0 ? b->rej[0].err.msg : "");
}

/* ---- RFC 6901 ---- */

/* RFC 6901 section 5's document. */
static const char rfc_doc[] =
    "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, "
    "\"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, "
    "\"m~n\": 8, \"~1\": 9, \"o\": {\"p\": [{\"q\": true}]}}";

START_TEST(test_pointer_rfc_examples)
{
	static const struct {
		const char	*ptr;
		json_int_t	 want;
	} ints[] = {
		{ "/", 0 }, { "/a~1b", 1 }, { "/c%d", 2 }, { "/e^f", 3 },
		{ "/g|h", 4 }, { "/i\\j", 5 }, { "/k\"l", 6 }, { "/ ", 7 },
		{ "/m~0n", 8 }, { "/~01", 9 },
	};
	json_error_t	 je;
	json_t		*doc, *v;
	size_t		 i;

	doc = json_loads(rfc_doc, 0, &je);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_eq(webhook_pointer_get(doc, ""), doc);
	v = webhook_pointer_get(doc, "/foo");
	ck_assert(json_is_array(v) && json_array_size(v) == 2);
	ck_assert_str_eq(json_string_value(webhook_pointer_get(doc, "/foo/0")),
	    "bar");
	ck_assert_str_eq(json_string_value(webhook_pointer_get(doc, "/foo/1")),
	    "baz");
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		v = webhook_pointer_get(doc, ints[i].ptr);
		ck_assert_msg(json_is_integer(v) &&
		    json_integer_value(v) == ints[i].want, "%s", ints[i].ptr);
	}
	ck_assert(json_is_true(webhook_pointer_get(doc, "/o/p/0/q")));
	json_decref(doc);
}
END_TEST

START_TEST(test_pointer_absent)
{
	static const char *const absent[] = {
		"/foo/2", "/foo/-", "/foo/01", "/foo/-1", "/foo/+1",
		"/foo/1x", "/foo/", "/nope", "/foo/0/x", "/o/p/0/q/r",
		"/m~1n", "/a~0b", "/~1", "/foo/99999999999999999999999",
	};
	json_error_t	 je;
	json_t		*doc;
	size_t		 i;

	doc = json_loads(rfc_doc, 0, &je);
	ck_assert_ptr_nonnull(doc);
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		ck_assert_msg(webhook_pointer_get(doc, absent[i]) == NULL,
		    "%s", absent[i]);
	ck_assert_ptr_null(webhook_pointer_get(NULL, "/foo"));
	json_decref(doc);
}
END_TEST

START_TEST(test_pointer_syntax)
{
	static const char *const good[] = {
		"", "/", "//", "/a", "/a/b", "/~0", "/~1", "/~01", "/a~0~1b",
		"/ ", "/0",
	};
	static const char *const bad[] = {
		"a", "a/b", " /a", "~0", "/~", "/~2", "/a~", "/a~b", "/~~0",
		"#/a",
	};
	json_t	*doc;
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(webhook_pointer_valid(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!webhook_pointer_valid(bad[i]), "%s", bad[i]);
	ck_assert(!webhook_pointer_valid(NULL));
	/* An invalid pointer points at nothing. */
	doc = json_pack("{s:i}", "a", 1);
	ck_assert_ptr_null(webhook_pointer_get(doc, "a"));
	ck_assert_ptr_null(webhook_pointer_get(doc, "/a~2"));
	json_decref(doc);
}
END_TEST

START_TEST(test_names)
{
	int	i;

	ck_assert_str_eq(webhook_signature_name(WH_SIG_HMAC_SHA256),
	    "hmac-sha256");
	ck_assert_ptr_null(webhook_signature_name(WH_SIG__COUNT));
	for (i = 0; i < WH_SIG__COUNT; i++)
		ck_assert_int_eq(webhook_signature_parse(
		    webhook_signature_name(i)), i);
	ck_assert_int_eq(webhook_signature_parse("HMAC-SHA256"), -1);
	ck_assert_int_eq(webhook_signature_parse(""), -1);
	for (i = 0; i < WH_F__COUNT; i++)
		ck_assert_int_eq(webhook_field_find(webhook_field_name(i)), i);
	ck_assert_int_eq(webhook_field_find("previous_company"),
	    WH_F_PREVIOUS_COMPANY);
	ck_assert_int_eq(webhook_field_find("props"), -1);
	ck_assert_ptr_null(webhook_field_name(WH_F__COUNT));
	webhook_source_clear(NULL);
}
END_TEST

START_TEST(test_default_valid)
{
	char	why[120];

	ck_assert(webhook_default_valid(WH_F_PRIORITY, "normal", why,
	    sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_PRIORITY, "Normal", why,
	    sizeof(why)));
	ck_assert(webhook_default_valid(WH_F_SENTIMENT, "-0.5", why,
	    sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_SENTIMENT, "2", why,
	    sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_SENTIMENT, "nan", why,
	    sizeof(why)));
	ck_assert(webhook_default_valid(WH_F_IS_CHAMPION, "true", why,
	    sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_IS_CHAMPION, "yes", why,
	    sizeof(why)));
	ck_assert(webhook_default_valid(WH_F_TEAM, "support", why,
	    sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_TEAM, "", why, sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_TEAM, "a\tb", why,
	    sizeof(why)));
	ck_assert(!webhook_default_valid(WH_F_ID, "x", why, sizeof(why)));
	ck_assert_str_eq(why, "id takes no default");
	ck_assert(!webhook_default_valid(WH_F_TS, "x", why, sizeof(why)));
}
END_TEST

/* ---- signatures ---- */

static const char sbody[] = "{\"ticket\":{\"id\":1,\"org\":\"acme\"}}";

START_TEST(test_sig_none)
{
	struct wh_source	s;
	struct cw_error		err;
	struct hdrs		h = { { NULL }, { NULL } };

	src_init(&s, WH_SIG_NONE);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    T0 * USEC, &err), 0);
	ck_assert_int_eq(webhook_verify(&s, NULL, 0, NULL, NULL, 0, &err), 0);
	webhook_source_clear(&s);
	ck_assert_ptr_null(s.name);
}
END_TEST

START_TEST(test_sig_zendesk)
{
	static const char	ts[] = "2026-11-20T09:30:00Z";
	struct wh_source	s;
	struct cw_error		err;
	struct hdrs		h;
	char			sig[64], old[64], wrong[64], tampered[64];
	int64_t			now = T0 * USEC;

	src_init(&s, WH_SIG_ZENDESK);
	zendesk_sig(SECRET, ts, sbody, sig);
	zendesk_sig(OLD_SECRET, ts, sbody, old);
	zendesk_sig(WRONG_SECRET, ts, sbody, wrong);
	zendesk_sig(SECRET, ts, "{}", tampered);
	memset(&h, 0, sizeof(h));
	h.name[0] = "x-zendesk-webhook-signature";
	h.name[1] = "X-Zendesk-Webhook-Signature-Timestamp";
	h.value[0] = sig;
	h.value[1] = ts;

	/* Valid, also at the edges of max_skew. */
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now + 300 * USEC, &err), 0);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now - 300 * USEC, &err), 0);

	/* Stale both ways; a custom max_skew. */
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now + 301 * USEC, &err), &err, "stale_signature");
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now - 301 * USEC, &err), &err, "stale_signature");
	s.max_skew = 3600;
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now + 3600 * USEC, &err), 0);
	s.max_skew = WH_MAX_SKEW_DEFAULT;

	/* Tampered body, tampered timestamp, wrong secret. */
	expect_err(webhook_verify(&s, "{}", 2, get_hdr, &h, now, &err), &err,
	    "invalid_signature");
	h.value[1] = "2026-11-20T09:30:01Z";
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	h.value[1] = ts;
	h.value[0] = wrong;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	/* A bad signature on an old timestamp is invalid, not stale. */
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now + 3600 * USEC, &err), &err, "invalid_signature");
	h.value[0] = tampered;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");

	/* Rotation: the previous secret is accepted while it is set. */
	h.value[0] = old;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	set(&s.secret_previous, OLD_SECRET);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);
	h.value[0] = sig;
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);

	/* Missing and malformed headers. */
	h.value[0] = NULL;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "missing_signature");
	h.value[0] = "";
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "missing_signature");
	h.value[0] = sig;
	h.value[1] = NULL;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "missing_signature");
	expect_err(webhook_verify(&s, sbody, strlen(sbody), NULL, NULL,
	    now, &err), &err, "missing_signature");
	h.value[1] = "1795167000";
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	ck_assert_ptr_nonnull(strstr(err.msg, "RFC 3339"));
	h.value[1] = ts;
	h.value[0] = "not base64 at all";
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");

	/* No secret at all: nothing can match. */
	set(&s.secret, NULL);
	set(&s.secret_previous, NULL);
	h.value[0] = sig;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_sig_hmac_sha256)
{
	struct wh_source	s;
	struct cw_error		err;
	struct hdrs		h;
	char			mac[2 * EVP_MAX_MD_SIZE + 1];
	char			oldmac[2 * EVP_MAX_MD_SIZE + 1];
	char			wrong[2 * EVP_MAX_MD_SIZE + 1];
	char			hdr[512], up[2 * EVP_MAX_MD_SIZE + 1];
	int64_t			now = T0 * USEC;
	size_t			i;

	src_init(&s, WH_SIG_HMAC_SHA256);
	hmac_hex(EVP_sha256(), SECRET, "1795167000.", sbody, mac);
	hmac_hex(EVP_sha256(), OLD_SECRET, "1795167000.", sbody, oldmac);
	hmac_hex(EVP_sha256(), WRONG_SECRET, "1795167000.", sbody, wrong);
	memset(&h, 0, sizeof(h));
	h.name[0] = "X-Churnwatch-Signature";
	h.value[0] = hdr;

	snprintf(hdr, sizeof(hdr), "t=1795167000,v1=%s", mac);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now - 300 * USEC, &err), 0);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now + 301 * USEC, &err), &err, "stale_signature");
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now - 301 * USEC, &err), &err, "stale_signature");
	expect_err(webhook_verify(&s, sbody, strlen(sbody) - 1, get_hdr, &h,
	    now, &err), &err, "invalid_signature");

	/* Several v1 values, in any order, spaces, v0 ignored, upper case. */
	snprintf(hdr, sizeof(hdr), " v0=abc , v1=%s, t=1795167000 ,v1=%s ",
	    wrong, mac);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);
	for (i = 0; mac[i] != '\0'; i++)
		up[i] = (char)(mac[i] >= 'a' ? mac[i] - 'a' + 'A' : mac[i]);
	up[i] = '\0';
	snprintf(hdr, sizeof(hdr), "t=1795167000,v1=%s", up);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);

	/* The timestamp is signed: another t does not verify. */
	snprintf(hdr, sizeof(hdr), "t=1795167001,v1=%s", mac);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");

	/* Wrong secret; then the previous one. */
	snprintf(hdr, sizeof(hdr), "t=1795167000,v1=%s", wrong);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	snprintf(hdr, sizeof(hdr), "t=1795167000,v1=%s", oldmac);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "invalid_signature");
	set(&s.secret_previous, OLD_SECRET);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), 0);

	/* Missing, malformed. */
	h.value[0] = NULL;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    now, &err), &err, "missing_signature");
	h.value[0] = hdr;
	{
		static const char *const bad[][2] = {
			{ "v1=", NULL }, { "t=1795167000", "" },
			{ "t=,v1=", NULL }, { "t=17951x7000,v1=", NULL },
			{ "t=-1,v1=", NULL },
			{ "t=1795167000,t=1795167000,v1=", NULL },
			{ "sha1=", NULL }, { "t=1795167000,v1=", "" },
			{ "garbage", "" },
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(hdr, sizeof(hdr), "%s%s", bad[i][0],
			    bad[i][1] != NULL ? bad[i][1] : mac);
			expect_err(webhook_verify(&s, sbody, strlen(sbody),
			    get_hdr, &h, now, &err), &err,
			    "invalid_signature");
		}
	}
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_sig_intercom)
{
	struct wh_source	s;
	struct cw_error		err;
	struct hdrs		h;
	char			mac[2 * EVP_MAX_MD_SIZE + 1];
	char			oldmac[2 * EVP_MAX_MD_SIZE + 1];
	char			wrong[2 * EVP_MAX_MD_SIZE + 1];
	char			hdr[256];

	src_init(&s, WH_SIG_INTERCOM);
	hmac_hex(EVP_sha1(), SECRET, "", sbody, mac);
	hmac_hex(EVP_sha1(), OLD_SECRET, "", sbody, oldmac);
	hmac_hex(EVP_sha1(), WRONG_SECRET, "", sbody, wrong);
	ck_assert_uint_eq(strlen(mac), 40);
	memset(&h, 0, sizeof(h));
	h.name[0] = "X-Hub-Signature";
	h.value[0] = hdr;

	snprintf(hdr, sizeof(hdr), "sha1=%s", mac);
	/* No timestamp: any clock value. */
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    0, &err), 0);
	expect_err(webhook_verify(&s, "{}", 2, get_hdr, &h, 0, &err), &err,
	    "invalid_signature");
	snprintf(hdr, sizeof(hdr), "sha1=%s", wrong);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h, 0,
	    &err), &err, "invalid_signature");
	snprintf(hdr, sizeof(hdr), "sha1=%s", oldmac);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h, 0,
	    &err), &err, "invalid_signature");
	set(&s.secret_previous, OLD_SECRET);
	ck_assert_int_eq(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h,
	    0, &err), 0);

	h.value[0] = NULL;
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h, 0,
	    &err), &err, "missing_signature");
	h.value[0] = hdr;
	snprintf(hdr, sizeof(hdr), "%s", mac);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h, 0,
	    &err), &err, "invalid_signature");
	ck_assert_ptr_nonnull(strstr(err.msg, "sha1="));
	snprintf(hdr, sizeof(hdr), "sha256=%s", mac);
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h, 0,
	    &err), &err, "invalid_signature");
	snprintf(hdr, sizeof(hdr), "sha1=");
	expect_err(webhook_verify(&s, sbody, strlen(sbody), get_hdr, &h, 0,
	    &err), &err, "invalid_signature");
	webhook_source_clear(&s);
}
END_TEST

/* ---- mapping ---- */

START_TEST(test_map_fixed_type)
{
	static const char in[] =
	    "{\"ticket\": {\"id\": 42, \"org\": \"acme\", \"subject\": "
	    "\"Help\","
	    " \"priority\": \"URGENT\", \"tags\": [\"a\", \"b\"],"
	    " \"secret_field\": \"x\"}, \"at\": \"2026-11-20T09:00:00Z\","
	    " \"uuid\": \"d-1\"}";
	struct wh_source	s;
	struct cw_event_batch	b;
	struct cw_event		*e;
	char			*json;

	src_init(&s, WH_SIG_NONE);
	s.type = EV_TICKET_CREATED;
	set(&s.pointer[WH_F_ID], "/uuid");
	set(&s.pointer[WH_F_ACCOUNT_ID], "/ticket/org");
	set(&s.pointer[WH_F_TS], "/at");
	set(&s.pointer[WH_F_TICKET_ID], "/ticket/id");
	set(&s.pointer[WH_F_SUBJECT], "/ticket/subject");
	set(&s.pointer[WH_F_PRIORITY], "/ticket/priority");
	set(&s.pointer[WH_F_TAGS], "/ticket/tags");
	set(&s.pointer[WH_F_TEAM], "/ticket/team");	/* absent */
	map_decode(&s, in, T0 * USEC, &b, &json);
	ck_assert_str_eq(json, "{\"id\":\"d-1\",\"account_id\":\"acme\","
	    "\"type\":\"ticket.created\",\"ts\":\"2026-11-20T09:00:00Z\","
	    "\"props\":{\"ticket_id\":\"42\",\"tags\":[\"a\",\"b\"],"
	    "\"subject\":\"Help\",\"priority\":\"urgent\"}}");
	e = &b.ev[0];
	ck_assert_str_eq(e->id, "d-1");
	ck_assert_str_eq(e->account_id, "acme");
	ck_assert_int_eq(e->type, EV_TICKET_CREATED);
	ck_assert_int_eq(e->ts, (T0 - 1800) * USEC);
	ck_assert_ptr_null(e->user_id);
	ck_assert_str_eq(e->p.ticket_id, "42");
	ck_assert_uint_eq(e->p.ntags, 2);
	ck_assert_ptr_null(strstr(e->props, "secret_field"));
	event_batch_free(&b);
	free(json);
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_map_type_map)
{
	struct wh_source	 s;
	struct cw_event_batch	 b;
	struct cw_error		 err;
	char			*json;
	char			 big[400];

	src_init(&s, WH_SIG_NONE);
	set(&s.type_pointer, "/topic");
	s.type_map[EV_TICKET_CREATED] = strv("conversation.user.created",
	    NULL);
	s.type_map[EV_TICKET_SOLVED] = strv("conversation.admin.closed",
	    "7");
	s.type_map[EV_CONTACT_JOINED] = strv("contact.created", NULL);
	set(&s.pointer[WH_F_ACCOUNT_ID], "/acct");
	set(&s.pointer[WH_F_TICKET_ID], "/item/id");
	set(&s.pointer[WH_F_CONTACT_ID], "/item/id");
	set(&s.pointer[WH_F_SUBJECT], "/item/subject");
	set(&s.pointer[WH_F_NAME], "/item/name");

	map_decode(&s, "{\"topic\": \"conversation.admin.closed\", \"acct\": "
	    "\"a1\", \"item\": {\"id\": \"c9\", \"subject\": \"S\", \"name\": "
	    "\"N\"}}", T0 * USEC, &b, &json);
	ck_assert_int_eq(b.ev[0].type, EV_TICKET_SOLVED);
	/* Only the props of the event's own type. */
	ck_assert_str_eq(b.ev[0].props, "{\"ticket_id\":\"c9\",\"subject\":"
	    "\"S\"}");
	event_batch_free(&b);
	free(json);

	map_decode(&s, "{\"topic\": \"contact.created\", \"acct\": \"a1\", "
	    "\"item\": {\"id\": \"c9\", \"subject\": \"S\", \"name\": "
	    "\"N\"}}", T0 * USEC, &b, &json);
	ck_assert_int_eq(b.ev[0].type, EV_CONTACT_JOINED);
	ck_assert_str_eq(b.ev[0].props, "{\"contact_id\":\"c9\",\"name\":"
	    "\"N\"}");
	event_batch_free(&b);
	free(json);

	/* A number is matched as its decimal text. */
	map_decode(&s, "{\"topic\": 7, \"acct\": \"a1\", \"item\": {\"id\": "
	    "1}}", T0 * USEC, &b, &json);
	ck_assert_int_eq(b.ev[0].type, EV_TICKET_SOLVED);
	event_batch_free(&b);
	free(json);

	/* Unmapped: the value, made safe and cut, in the message. */
	expect_err(map_str(&s, "{\"topic\": \"conversation.admin.noted\","
	    " \"acct\": \"a1\"}", &json, &err), &err, "unknown_type");
	ck_assert_ptr_null(json);
	ck_assert_ptr_nonnull(strstr(err.msg,
	    "\"conversation.admin.noted\""));
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"topic\": \"a\\n\\\"", 16);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	expect_err(webhook_map(&s, big, strlen(big), &json, &err), &err,
	    "unknown_type");
	ck_assert_ptr_nonnull(strstr(err.msg, "\"a??xxx"));
	ck_assert_ptr_nonnull(strstr(err.msg, "...\""));
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	expect_err(map_str(&s, "{\"topic\": {}, \"acct\": \"a1\"}",
	    &json, &err), &err, "unknown_type");
	expect_err(map_str(&s, "{\"acct\": \"a1\"}", &json, &err),
	    &err, "missing_type");
	expect_err(map_str(&s, "{\"topic\": null}", &json, &err),
	    &err, "missing_type");
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_map_defaults)
{
	struct wh_source	 s;
	struct cw_event_batch	 b;
	char			*json;

	src_init(&s, WH_SIG_NONE);
	s.type = EV_TICKET_UPDATED;
	set(&s.pointer[WH_F_ACCOUNT_ID], "/org");
	set(&s.def[WH_F_ACCOUNT_ID], "unassigned");
	set(&s.pointer[WH_F_TICKET_ID], "/id");
	set(&s.pointer[WH_F_PRIORITY], "/prio");
	set(&s.def[WH_F_PRIORITY], "normal");
	set(&s.def[WH_F_TEAM], "support");	/* a constant, no pointer */
	set(&s.pointer[WH_F_SENTIMENT], "/mood");
	set(&s.def[WH_F_SENTIMENT], "0.25");
	set(&s.def[WH_F_TAGS], "webhook, zendesk");

	/* Absent, null and "" all fall back to the default. */
	map_decode(&s, "{\"id\": \"t1\", \"prio\": null, \"org\": \"\"}",
	    T0 * USEC, &b, &json);
	ck_assert_str_eq(b.ev[0].account_id, "unassigned");
	ck_assert_str_eq(b.ev[0].props, "{\"ticket_id\":\"t1\",\"team\":"
	    "\"support\",\"tags\":[\"webhook\",\"zendesk\"],\"priority\":"
	    "\"normal\",\"sentiment\":0.25}");
	ck_assert(b.ev[0].p.has_sentiment);
	event_batch_free(&b);
	free(json);

	/* A value present wins; "Medium" and a numeric string converted. */
	map_decode(&s, "{\"id\": \"t1\", \"prio\": \"Medium\", \"org\": "
	    "\"acme\", \"mood\": \"-0.5\"}", T0 * USEC, &b, &json);
	ck_assert_str_eq(b.ev[0].account_id, "acme");
	ck_assert_ptr_nonnull(strstr(b.ev[0].props,
	    "\"priority\":\"normal\""));
	ck_assert_ptr_nonnull(strstr(b.ev[0].props, "\"sentiment\":-0.5"));
	event_batch_free(&b);
	free(json);
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_map_numbers)
{
	struct wh_source	 s;
	struct cw_event_batch	 b;
	char			*json;

	src_init(&s, WH_SIG_NONE);
	s.type = EV_CONTACT_CHANGED;
	set(&s.pointer[WH_F_ID], "/n");
	set(&s.pointer[WH_F_ACCOUNT_ID], "/org");
	set(&s.pointer[WH_F_USER_ID], "/user");
	set(&s.pointer[WH_F_TS], "/at");
	set(&s.pointer[WH_F_CONTACT_ID], "/c");
	set(&s.pointer[WH_F_IS_CHAMPION], "/champ");

	/* Numeric ids become decimal strings; ts in Unix seconds. */
	map_decode(&s, "{\"n\": 9007199254740993, \"org\": 12514403, "
	    "\"user\": 77, \"at\": 1795167000, \"c\": -5, \"champ\": "
	    "\"TRUE\"}", T0 * USEC, &b, &json);
	ck_assert_str_eq(json, "{\"id\":\"9007199254740993\",\"account_id\":"
	    "\"12514403\",\"type\":\"contact.changed\",\"ts\":"
	    "\"2026-11-20T09:30:00.000000Z\",\"user_id\":\"77\",\"props\":"
	    "{\"contact_id\":\"-5\",\"is_champion\":true}}");
	ck_assert_int_eq(b.ev[0].ts, T0 * USEC);
	ck_assert_int_eq(b.ev[0].p.is_champion, 1);
	event_batch_free(&b);
	free(json);

	/* A fraction of a second, and seconds as a string of digits. */
	map_decode(&s, "{\"n\": \"x\", \"org\": \"o\", \"at\": 1795167000.5, "
	    "\"c\": \"c1\"}", T0 * USEC, &b, &json);
	ck_assert_int_eq(b.ev[0].ts, T0 * USEC + USEC / 2);
	event_batch_free(&b);
	free(json);
	map_decode(&s, "{\"n\": \"x\", \"org\": \"o\", \"at\": \"1795167000\","
	    " \"c\": \"c1\", \"champ\": false}", T0 * USEC, &b, &json);
	ck_assert_int_eq(b.ev[0].ts, T0 * USEC);
	ck_assert_int_eq(b.ev[0].p.is_champion, 0);
	event_batch_free(&b);
	free(json);

	/* No ts: the time of receipt. */
	map_decode(&s, "{\"n\": \"x\", \"org\": \"o\", \"c\": \"c1\"}",
	    T0 * USEC + 7, &b, &json);
	ck_assert_int_eq(b.ev[0].ts, T0 * USEC + 7);
	ck_assert_ptr_null(strstr(json, "\"ts\""));
	event_batch_free(&b);
	free(json);
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_map_body_id)
{
	static const char	in[] = "{\"org\":\"acme\",\"id\":5}";
	unsigned char		md[EVP_MAX_MD_SIZE];
	char			want[2 * EVP_MAX_MD_SIZE + 1];
	struct wh_source	s;
	struct cw_event_batch	b;
	char			*json, *json2;
	unsigned		n;

	ck_assert_int_eq(EVP_Digest(in, strlen(in), md, &n, EVP_sha256(),
	    NULL), 1);
	hexs(md, n, want);
	src_init(&s, WH_SIG_NONE);
	s.type = EV_TICKET_CREATED;
	set(&s.pointer[WH_F_ACCOUNT_ID], "/org");
	set(&s.pointer[WH_F_TICKET_ID], "/id");
	map_decode(&s, in, T0 * USEC, &b, &json);
	ck_assert_uint_eq(strlen(b.ev[0].id), 64);
	ck_assert_str_eq(b.ev[0].id, want);
	event_batch_free(&b);
	/* A re-delivery has the same id. */
	map_decode(&s, in, T0 * USEC + 60 * USEC, &b, &json2);
	ck_assert_str_eq(b.ev[0].id, want);
	ck_assert_str_eq(json, json2);
	event_batch_free(&b);
	free(json);
	free(json2);
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_map_errors)
{
	struct wh_source	 s;
	struct cw_error		 err;
	char			*json = (char *)1;

	src_init(&s, WH_SIG_NONE);
	s.type = EV_TICKET_CREATED;
	set(&s.pointer[WH_F_ID], "/id");
	set(&s.pointer[WH_F_ACCOUNT_ID], "/org/id");
	set(&s.pointer[WH_F_TICKET_ID], "/t");

	expect_err(map_str(&s, "{\"id\": \"1\", \"t\": 1}", &json,
	    &err), &err, "missing_account_id");
	ck_assert_ptr_null(json);
	expect_err(map_str(&s, "{\"id\": \"1\", \"org\": {\"id\": "
	    "null}}", &json, &err), &err, "missing_account_id");
	expect_err(map_str(&s, "{\"org\": {\"id\": \"a\"}}", &json,
	    &err), &err, "missing_id");
	expect_err(map_str(&s, "{\"org\": ", &json, &err), &err,
	    "invalid_json");
	expect_err(map_str(&s, "\"just a string\"", &json, &err),
	    &err, "invalid_json");
	expect_err(map_str(&s, "", &json, &err), &err, "invalid_json");
	expect_err(webhook_map(&s, NULL, 0, &json, &err), &err,
	    "invalid_json");
	/* Not NUL-terminated: only len bytes are read. */
	expect_err(webhook_map(&s, "{\"id\": \"1\"}garbage", 11, &json,
	    &err), &err, "missing_account_id");
	webhook_source_clear(&s);
}
END_TEST

/* Values of the wrong kind pass through for the validator to reject. */
START_TEST(test_map_passthrough)
{
	struct cw_event_limits	 lim = { 100, 400 * 86400 * USEC,
				     300 * USEC };
	struct wh_source	 s;
	struct cw_event_batch	 b;
	struct cw_error		 err;
	char			*json;

	src_init(&s, WH_SIG_NONE);
	s.type = EV_TICKET_CREATED;
	set(&s.pointer[WH_F_ACCOUNT_ID], "/org");
	set(&s.pointer[WH_F_TICKET_ID], "/t");
	set(&s.pointer[WH_F_PRIORITY], "/p");
	set(&s.pointer[WH_F_TAGS], "/tags");

	ck_assert_int_eq(map_str(&s, "{\"org\": \"a\", \"t\": \"1\", "
	    "\"p\": \"whenever\"}", &json, &err), 0);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(event_decode_body(json, strlen(json), BODY_JSON,
	    T0 * USEC, &lim, &b, &err), 0);
	ck_assert_uint_eq(b.nrej, 1);
	ck_assert_str_eq(b.rej[0].err.code, "invalid_prop");
	event_batch_free(&b);
	free(json);

	/* Tags: strings split, {"name"} objects read, "" dropped. */
	ck_assert_int_eq(map_str(&s, "{\"org\": \"a\", \"t\": \"1\", "
	    "\"tags\": [{\"name\": \"x\"}, \"\", \"y\"]}", &json, &err), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"tags\":[\"x\",\"y\"]"));
	free(json);
	ck_assert_int_eq(map_str(&s, "{\"org\": \"a\", \"t\": \"1\", "
	    "\"tags\": [{\"id\": 1}]}", &json, &err), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"tags\":[{\"id\":1}]"));
	free(json);
	ck_assert_int_eq(map_str(&s, "{\"org\": \"a\", \"t\": \"1\", "
	    "\"tags\": \" , \"}", &json, &err), 0);
	ck_assert_ptr_null(strstr(json, "tags"));
	free(json);
	webhook_source_clear(&s);
}
END_TEST

START_TEST(test_source_check)
{
	struct wh_source	s;
	char			why[160];

	src_init(&s, WH_SIG_NONE);
	s.type = EV_TICKET_CREATED;
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "pointer.account_id or default.account_id is "
	    "required");
	set(&s.pointer[WH_F_ACCOUNT_ID], "/a");
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "pointer.ticket_id or default.ticket_id is "
	    "required (ticket.created needs ticket_id)");
	set(&s.pointer[WH_F_TICKET_ID], "/t");
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), 0);
	set(&s.def[WH_F_FEATURE], "x");
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "default.feature: feature is not a prop of "
	    "ticket.created");
	set(&s.def[WH_F_FEATURE], NULL);

	/* With type_map: the union of its types. */
	s.type = -1;
	set(&s.type_pointer, "/x");
	s.type_map[EV_LOGIN] = strv("in", NULL);
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "pointer.user_id or default.user_id is "
	    "required (login needs user_id)");
	set(&s.pointer[WH_F_USER_ID], "/u");
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "pointer.ticket_id: ticket_id is not a prop of "
	    "any mapped type");
	s.type_map[EV_TICKET_SOLVED] = strv("done", NULL);
	ck_assert_int_eq(webhook_source_check(&s, why, sizeof(why)), 0);
	webhook_source_clear(&s);
}
END_TEST

/* ---- the shipped examples ---- */

/* Load conf/sources/file and return its one source. */
static struct cw_config *
load_example(const char *file, const char *name,
    const struct wh_source **src)
{
	struct cw_config	*cfg = NULL;
	char			*buf = NULL;
	size_t			 len = 0;
	FILE			*fp;
	int			 n;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	n = config_load(file, fp, &cfg);
	fclose(fp);
	ck_assert_msg(n == 0, "%s:\n%s", file, buf);
	free(buf);
	ck_assert_uint_eq(cfg->nsources, 1);
	*src = config_find_source(cfg, name);
	ck_assert_ptr_nonnull(*src);
	ck_assert_ptr_null(config_find_source(cfg, "nope"));
	return cfg;
}

static void
map_example(const struct wh_source *src, const char *file, int64_t now,
    struct cw_event_batch *b, char **json)
{
	char	*body;
	size_t	 len;

	body = read_file(file, &len);
	map_decode(src, body, now, b, json);
	free(body);
}

START_TEST(test_example_zendesk)
{
	static const char	ts[] = "2026-11-20T09:30:00Z";
	const struct wh_source	*src;
	struct cw_config	*cfg;
	struct cw_event_batch	 b;
	struct cw_event		*e;
	struct cw_error		 err;
	struct hdrs		 h;
	char			*json, *body, sig[64];
	size_t			 len;

	ck_assert_int_eq(setenv("ZENDESK_WEBHOOK_SECRET", SECRET, 1), 0);
	cfg = load_example(CONF("zendesk.conf"), "zendesk", &src);
	ck_assert_int_eq(src->signature, WH_SIG_ZENDESK);
	ck_assert_str_eq(src->secret, SECRET);
	ck_assert_ptr_null(src->secret_previous);

	/* Signed as Zendesk signs it, then mapped. */
	body = read_file(PAYLOAD("zendesk.json"), &len);
	zendesk_sig(SECRET, ts, body, sig);
	memset(&h, 0, sizeof(h));
	h.name[0] = "X-Zendesk-Webhook-Signature";
	h.name[1] = "X-Zendesk-Webhook-Signature-Timestamp";
	h.value[0] = sig;
	h.value[1] = ts;
	ck_assert_int_eq(webhook_verify(src, body, len, get_hdr, &h,
	    T0 * USEC + 5 * USEC, &err), 0);
	free(body);

	map_example(src, PAYLOAD("zendesk.json"), T0 * USEC, &b, &json);
	e = &b.ev[0];
	ck_assert_uint_eq(strlen(e->id), 64);		/* SHA-256 */
	ck_assert_str_eq(e->account_id, "acme");
	ck_assert_int_eq(e->type, EV_TICKET_CREATED);
	ck_assert_int_eq(e->ts, T0 * USEC);		/* receipt */
	ck_assert_str_eq(e->p.ticket_id, "35436");
	ck_assert_str_eq(e->p.team, "Finance");
	ck_assert_str_eq(e->p.category, "Incident");
	ck_assert_str_eq(e->p.subject, "Invoices export keeps timing out");
	ck_assert_uint_eq(e->p.ntags, 3);
	ck_assert_str_eq(e->p.tags[2], "vip");
	ck_assert_ptr_nonnull(strstr(e->props, "\"priority\":\"urgent\""));
	event_batch_free(&b);
	free(json);
	config_free(cfg);
	unsetenv("ZENDESK_WEBHOOK_SECRET");
}
END_TEST

START_TEST(test_example_zendesk_events)
{
	const struct wh_source	*src;
	struct cw_config	*cfg;
	struct cw_event_batch	 b;
	struct cw_event		*e;
	char			*json;

	ck_assert_int_eq(setenv("ZENDESK_EVENTS_SECRET", SECRET, 1), 0);
	cfg = load_example(CONF("zendesk-events.conf"), "zendesk-events",
	    &src);
	ck_assert_int_eq(src->type, -1);
	ck_assert_str_eq(src->type_map[EV_TICKET_UPDATED][3],
	    "zen:event-type:ticket.comment_added");

	map_example(src, PAYLOAD("zendesk-events.json"), T0 * USEC, &b,
	    &json);
	e = &b.ev[0];
	ck_assert_str_eq(e->id, "2b24ef10-19d4-4740-93cf-8f98ec4776c0");
	ck_assert_str_eq(e->account_id, "9001");
	ck_assert_int_eq(e->type, EV_TICKET_CREATED);
	ck_assert_int_eq(e->ts, T0 * USEC);
	ck_assert_str_eq(e->p.ticket_id, "35436");
	ck_assert_str_eq(e->p.subject, "Invoices export keeps timing out");
	ck_assert_uint_eq(e->p.ntags, 2);
	ck_assert_ptr_nonnull(strstr(e->props, "\"priority\":\"high\""));
	ck_assert_ptr_null(strstr(e->props, "requester"));
	event_batch_free(&b);
	free(json);

	map_example(src, PAYLOAD("zendesk-events-status.json"),
	    (T0 + 110112 + 60) * USEC, &b, &json);
	e = &b.ev[0];
	ck_assert_str_eq(e->id, "7c1d0a52-7a0e-4b8e-9a8e-3f3a4f2c9d11");
	ck_assert_int_eq(e->type, EV_TICKET_UPDATED);
	ck_assert_int_eq(e->ts, (T0 + 110112) * USEC);
	ck_assert_str_eq(e->p.ticket_id, "35436");
	event_batch_free(&b);
	free(json);
	config_free(cfg);
	unsetenv("ZENDESK_EVENTS_SECRET");
}
END_TEST

START_TEST(test_example_freshdesk)
{
	const struct wh_source	*src;
	struct cw_config	*cfg;
	struct cw_event_batch	 b;
	struct cw_event		*e;
	struct cw_error		 err;
	char			*json;

	cfg = load_example(CONF("freshdesk.conf"), "freshdesk", &src);
	ck_assert_int_eq(src->signature, WH_SIG_NONE);
	ck_assert_ptr_null(src->secret);
	/* Unsigned: the bearer token is checked at the HTTP layer. */
	ck_assert_int_eq(webhook_verify(src, "{}", 2, NULL, NULL, 0, &err),
	    0);

	map_example(src, PAYLOAD("freshdesk.json"), T0 * USEC, &b, &json);
	e = &b.ev[0];
	ck_assert_uint_eq(strlen(e->id), 64);
	ck_assert_str_eq(e->account_id, "Globex");
	ck_assert_int_eq(e->type, EV_TICKET_CREATED);
	ck_assert_str_eq(e->p.ticket_id, "4127");	/* was a number */
	ck_assert_str_eq(e->p.team, "Billing");
	ck_assert_str_eq(e->p.category, "Problem");
	ck_assert_uint_eq(e->p.ntags, 2);
	ck_assert_str_eq(e->p.tags[0], "upgrade");
	ck_assert_str_eq(e->p.tags[1], "seats");
	ck_assert_ptr_nonnull(strstr(e->props, "\"priority\":\"normal\""));
	ck_assert_ptr_null(strstr(e->props, "hank"));
	event_batch_free(&b);
	free(json);
	config_free(cfg);
}
END_TEST

START_TEST(test_example_intercom)
{
	const struct wh_source	*src;
	struct cw_config	*cfg;
	struct cw_event_batch	 b;
	struct cw_event		*e;
	struct cw_error		 err;
	struct hdrs		 h;
	char			*json, *body, mac[2 * EVP_MAX_MD_SIZE + 1];
	char			 hdr[2 * EVP_MAX_MD_SIZE + 8];
	size_t			 len;

	ck_assert_int_eq(setenv("INTERCOM_CLIENT_SECRET", SECRET, 1), 0);
	cfg = load_example(CONF("intercom.conf"), "intercom", &src);
	ck_assert_int_eq(src->signature, WH_SIG_INTERCOM);

	body = read_file(PAYLOAD("intercom.json"), &len);
	hmac_hex(EVP_sha1(), SECRET, "", body, mac);
	snprintf(hdr, sizeof(hdr), "sha1=%s", mac);
	memset(&h, 0, sizeof(h));
	h.name[0] = "X-Hub-Signature";
	h.value[0] = hdr;
	ck_assert_int_eq(webhook_verify(src, body, len, get_hdr, &h, 0, &err),
	    0);
	free(body);

	/* created_at is T0 in Unix seconds; received a minute later. */
	map_example(src, PAYLOAD("intercom.json"), (T0 + 60) * USEC, &b,
	    &json);
	e = &b.ev[0];
	ck_assert_str_eq(e->id, "notif_0a1b2c3d-4e5f-6789-abcd-ef0123456789");
	ck_assert_str_eq(e->account_id, "initech");
	ck_assert_int_eq(e->type, EV_TICKET_CREATED);
	ck_assert_int_eq(e->ts, T0 * USEC);
	ck_assert_str_eq(e->user_id, "u_ana");
	ck_assert_str_eq(e->p.ticket_id, "147000123");
	ck_assert_str_eq(e->p.subject, "Dashboard is empty for our team");
	ck_assert_uint_eq(e->p.ntags, 2);
	ck_assert_str_eq(e->p.tags[0], "dashboard");
	ck_assert_ptr_nonnull(strstr(e->props, "\"priority\":\"high\""));
	event_batch_free(&b);
	free(json);
	config_free(cfg);
	unsetenv("INTERCOM_CLIENT_SECRET");
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("webhook");

	tc = tcase_create("pointer");
	tcase_add_test(tc, test_pointer_rfc_examples);
	tcase_add_test(tc, test_pointer_absent);
	tcase_add_test(tc, test_pointer_syntax);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_default_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("signature");
	tcase_add_test(tc, test_sig_none);
	tcase_add_test(tc, test_sig_zendesk);
	tcase_add_test(tc, test_sig_hmac_sha256);
	tcase_add_test(tc, test_sig_intercom);
	suite_add_tcase(s, tc);

	tc = tcase_create("map");
	tcase_add_test(tc, test_map_fixed_type);
	tcase_add_test(tc, test_map_type_map);
	tcase_add_test(tc, test_map_defaults);
	tcase_add_test(tc, test_map_numbers);
	tcase_add_test(tc, test_map_body_id);
	tcase_add_test(tc, test_map_errors);
	tcase_add_test(tc, test_map_passthrough);
	tcase_add_test(tc, test_source_check);
	suite_add_tcase(s, tc);

	tc = tcase_create("examples");
	tcase_add_test(tc, test_example_zendesk);
	tcase_add_test(tc, test_example_zendesk_events);
	tcase_add_test(tc, test_example_freshdesk);
	tcase_add_test(tc, test_example_intercom);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(webhook_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
