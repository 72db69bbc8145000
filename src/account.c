/*
 * account.c -- account metadata validation (pure).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "event.h"
#include "util.h"

#define META_STR_MAX	256
#define META_FEATURES_MAX 64

enum meta_kind { META_STRING, META_COUNT, META_TIME, META_STRINGS };

static const struct meta_field {
	const char	*key;
	enum meta_kind	 kind;
} meta_fields[] = {
	{ "name",		META_STRING },
	{ "plan",		META_STRING },
	{ "segment",		META_STRING },
	{ "owner",		META_STRING },
	{ "slack_channel",	META_STRING },
	{ "seats",		META_COUNT },
	{ "onboarded_at",	META_TIME },
	{ "renewal_at",		META_TIME },
	{ "core_features",	META_STRINGS },
};

/* err = code, "<key> <what>" */
static void
seterr(struct cw_error *err, const char *code, const char *key,
    const char *what)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "%.60s %s", key, what);
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
account_id_valid(const char *id, struct cw_error *err)
{
	size_t len = strlen(id);

	if (len == 0 || len > CW_ACCOUNT_MAX || has_ctl(id)) {
		err->code = "invalid_account_id";
		snprintf(err->msg, sizeof(err->msg),
		    "account id must be 1 to %d bytes without control "
		    "characters", CW_ACCOUNT_MAX);
		return -1;
	}
	return 0;
}

static const struct meta_field *
meta_find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++)
		if (strcmp(meta_fields[i].key, key) == 0)
			return &meta_fields[i];
	return NULL;
}

/* Check one value; may replace it in obj (normalised time). */
static int
meta_check(json_t *obj, const char *key, json_t *v,
    const struct meta_field *f, struct cw_error *err)
{
	char tbuf[CW_RFC3339_LEN];
	const char *s;
	int64_t us;
	size_t i;
	json_t *x;

	if (json_is_null(v))
		return 0;
	switch (f->kind) {
	case META_STRING:
		if (!json_is_string(v) || json_string_length(v) > META_STR_MAX ||
		    has_ctl(json_string_value(v))) {
			seterr(err, "invalid_field", key, "must be a string of "
			    "at most 256 bytes, or null");
			return -1;
		}
		return 0;
	case META_COUNT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 100000000) {
			seterr(err, "invalid_field", key, "must be a whole "
			    "number from 0 to 100000000, or null");
			return -1;
		}
		return 0;
	case META_TIME:
		if (!json_is_string(v) || (s = json_string_value(v),
		    util_parse_rfc3339(s, strlen(s), &us) == -1)) {
			seterr(err, "invalid_field", key, "must be an RFC 3339 "
			    "date-time, or null");
			return -1;
		}
		util_format_rfc3339(us, tbuf, sizeof(tbuf));
		json_object_set_new(obj, key, json_string(tbuf));
		return 0;
	case META_STRINGS:
		if (!json_is_array(v) || json_array_size(v) > META_FEATURES_MAX)
			goto bad;
		json_array_foreach(v, i, x)
			if (!json_is_string(x) || json_string_length(x) == 0 ||
			    json_string_length(x) > META_STR_MAX)
				goto bad;
		return 0;
	}
bad:
	seterr(err, "invalid_field", key, "must be an array of at most "
	    "64 non-empty strings, or null");
	return -1;
}

int
account_meta_decode(const char *body, size_t len, char **json,
    struct cw_error *err)
{
	const struct meta_field *f;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	void *tmp;

	*json = NULL;
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL) {
		err->code = "invalid_json";
		snprintf(err->msg, sizeof(err->msg),
		    "body is not valid JSON: %.80s at line %d column %d",
		    jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		err->code = "invalid_json";
		snprintf(err->msg, sizeof(err->msg), "body must be a JSON "
		    "object");
		goto fail;
	}
	json_object_foreach_safe(root, tmp, key, v) {
		if ((f = meta_find(key)) == NULL) {
			err->code = "unknown_field";
			snprintf(err->msg, sizeof(err->msg),
			    "unknown field \"%.40s\"; see the API reference "
			    "for account fields", key);
			goto fail;
		}
		if (meta_check(root, key, v, f, err) == -1)
			goto fail;
	}
	if ((*json = json_dumps(root, JSON_COMPACT)) == NULL) {
		err->code = "internal";
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}
