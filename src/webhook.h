/*
 * webhook.h -- turn a support desk's own webhook into one event envelope
 * (SPEC 2.3): RFC 6901 JSON Pointers, signature checks, field mapping.
 *
 * Pure: takes the raw body, the request's headers through a callback and
 * the clock value; returns the JSON text of one envelope for
 * event_decode_body() to validate.  It does not read the config file
 * (config.c fills struct wh_source), does not answer HTTP and does not
 * store anything.
 */
#ifndef CW_WEBHOOK_H
#define CW_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct json_t;		/* jansson's, kept out of this header */

/* signature = none | zendesk | hmac-sha256 | intercom */
enum wh_signature {
	WH_SIG_NONE,		/* a bearer token is required instead */
	WH_SIG_ZENDESK,		/* X-Zendesk-Webhook-Signature */
	WH_SIG_HMAC_SHA256,	/* X-Churnwatch-Signature: t=..,v1=.. */
	WH_SIG_INTERCOM,	/* X-Hub-Signature: sha1=.. */
	WH_SIG__COUNT
};

/*
 * The fields a source can map: the envelope's, then every prop of SPEC
 * 2.2.  pointer.NAME and default.NAME take these names (webhook_field_*).
 */
enum wh_field {
	WH_F_ID,
	WH_F_ACCOUNT_ID,
	WH_F_TS,
	WH_F_USER_ID,
	WH_F_TICKET_ID,
	WH_F_TEAM,
	WH_F_CATEGORY,
	WH_F_TAGS,
	WH_F_SUBJECT,
	WH_F_PRIORITY,
	WH_F_SENTIMENT,
	WH_F_CONTACT_ID,
	WH_F_NAME,
	WH_F_TITLE,
	WH_F_PREVIOUS_TITLE,
	WH_F_PREVIOUS_COMPANY,
	WH_F_IS_CHAMPION,
	WH_F_COMPETITOR,
	WH_F_KIND,
	WH_F_BY,
	WH_F_FEATURE,
	WH_F__COUNT
};

#define WH_MAX_SKEW_DEFAULT	300	/* s */

/*
 * One [source:NAME] section.  Every string is owned by the struct (free
 * with webhook_source_clear()); NULL when not set.
 */
struct wh_source {
	char			*name;		/* after "source:" */
	enum wh_signature	 signature;
	char			*secret;	/* never logged */
	char			*secret_previous; /* rotation; or NULL */
	unsigned		 max_skew;	/* s, for timestamps */
	int			 type;		/* enum cw_event_type,
						 * or -1: type_pointer */
	char			*type_pointer;	/* a JSON Pointer */
	/* Per type of ours, the sender's values (NULL-terminated). */
	char			**type_map[EV__COUNT];
	/* Per field (enum wh_field): pointer.FIELD and default.FIELD. */
	char			*pointer[WH_F__COUNT];
	char			*def[WH_F__COUNT];
};

/* Free every member of src (secrets wiped) and zero it; NULL is a no-op. */
void	 webhook_source_clear(struct wh_source *src);

/*
 * Whether the source as a whole makes sense: account_id mapped, the
 * required fields of each type it can produce (ticket_id for ticket.*,
 * user_id for login, ...) mapped, and no field mapped that none of its
 * types has.  0, or -1 with a sentence in why.  Does not check the
 * signature and secrets (config.c does).
 */
int	 webhook_source_check(const struct wh_source *src, char *why,
	    size_t whylen);

/* "zendesk" for WH_SIG_ZENDESK (NULL if out of range); the kind or -1. */
const char *webhook_signature_name(enum wh_signature);
int	 webhook_signature_parse(const char *);

/* "ticket_id" for WH_F_TICKET_ID (NULL if out of range); the field or -1. */
const char *webhook_field_name(enum wh_field);
int	 webhook_field_find(const char *);

/*
 * Whether value is a usable default.FIELD: 1, or 0 with why.  id and ts
 * take no default; priority must be low/normal/high/urgent, sentiment a
 * number from -1 to 1, is_champion true or false, tags a comma list.
 */
int	 webhook_default_valid(enum wh_field, const char *value, char *why,
	    size_t whylen);

/*
 * RFC 6901: "" is the whole document, else "/" tokens with "~1" for '/'
 * and "~0" for '~' (any other '~' is invalid).  1 when ptr is valid.
 */
int	 webhook_pointer_valid(const char *ptr);

/*
 * The value ptr points at in doc (a borrowed reference), or NULL when ptr
 * is invalid or points at nothing (a missing member, an index that is
 * out of range, "-", or not a plain decimal such as "01").
 */
struct json_t *webhook_pointer_get(const struct json_t *doc, const char *ptr);

/* Returns the value of the request header name (any case), or NULL. */
typedef const char *(*wh_header_fn)(void *arg, const char *name);

/*
 * Check the signature of the raw body (len bytes, before parsing it)
 * according to src->signature, against secret and then secret_previous,
 * in constant time.  now is the time of receipt (us); a timestamp more
 * than max_skew s away from it is stale.  Returns 0 (always for
 * WH_SIG_NONE), or -1 and err: "missing_signature" (no header),
 * "invalid_signature" (malformed, or no secret matches), or
 * "stale_signature" (a good signature on an old or future timestamp).
 * Messages name headers, never a secret or an expected value.
 */
int	 webhook_verify(const struct wh_source *src, const char *body,
	    size_t len, wh_header_fn get, void *arg, int64_t now,
	    struct cw_error *err);

/*
 * Parse body and build one compact JSON event envelope
 * {"id","account_id","type","ts","user_id","props"} from src's pointers
 * and defaults, for event_decode_body() to validate; *event_json is
 * allocated and the caller frees it with free().  Absent, null and ""
 * values count as absent (then default.FIELD applies).  Only mapped props
 * of the event's type are copied.  Without pointer.id the id is the
 * lower-case hex SHA-256 of the raw body.  Conversions: integer ids
 * become decimal strings; ts may be RFC 3339 or Unix seconds (a number or
 * a string of digits); priority and kind are lower-cased ("medium" and
 * "not_priority" are "normal", "priority" is "high"); tags may be an
 * array of strings or of {"name": ...} objects, or one string split at
 * commas and spaces; "true"/"false" and numeric strings become booleans
 * and numbers for is_champion and sentiment.  Returns 0, or -1 with err:
 * "invalid_json", "missing_account_id", "missing_id", "missing_type",
 * "unknown_type", "internal_error".
 */
int	 webhook_map(const struct wh_source *src, const char *body,
	    size_t len, char **event_json, struct cw_error *err);

#endif
