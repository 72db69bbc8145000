/*
 * segment.h -- decode Segment HTTP Tracking API requests (SPEC 2.4) into
 * churnwatch events, group memberships and account upserts.
 *
 * Pure: bytes, the time of receipt and a lookup callback in, C structs
 * out.  Not here: authentication (the caller checks Basic auth or
 * out->write_key), idempotency (messageId is the event id; store.c
 * dedups), status codes and the error writer (http.c).
 */
#ifndef CW_SEGMENT_H
#define CW_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SEG_MESSAGE_MAX		32768	/* bytes, one message serialised */
#define SEG_BATCH_MAX		512000	/* bytes, a raw request body */
#define SEG_BATCH_MESSAGES	2500	/* messages per batch */
#define SEG_NAME_MAX		1024	/* bytes, track event / page name */

/* The endpoint: /segment/v1/{batch,track,identify,group,page,screen}. */
enum seg_call {
	SEG_BATCH,
	SEG_TRACK,
	SEG_IDENTIFY,
	SEG_GROUP,
	SEG_PAGE,
	SEG_SCREEN,
	SEG__COUNT
};

/* "track" -> SEG_TRACK (s need not be NUL-terminated); -1 if unknown. */
int		 segment_call_parse(const char *s, size_t len);
const char	*segment_call_name(enum seg_call);	/* NULL if invalid */

/*
 * Decoding rules.  login_events: track event names (case-sensitive,
 * exact) that become "login"; NULL means the defaults "Signed In",
 * "Logged In", "Login".  future_us: a corrected ts more than this ahead
 * of the time of receipt is replaced by the time of receipt.  A NULL
 * rules pointer means all defaults (future_us = 5 minutes).
 */
struct seg_rules {
	const char *const	*login_events;
	size_t			 nlogin_events;
	int64_t			 future_us;
};

/*
 * The account user_id was last grouped with, or NULL.  The string is
 * borrowed: it is copied before the next call.  Only called with a
 * userId (never an anonymousId).  NULL lookup, or NULL account_of:
 * no one is grouped.
 */
struct seg_lookup {
	const char	*(*account_of)(const char *user_id, void *arg);
	void		*arg;
};

struct seg_member {			/* from a group call with a userId */
	char		*user_id;
	char		*account_id;
};

struct seg_account {			/* from every group call */
	char		*account_id;	/* the groupId */
	char		*meta_json;	/* for account_meta_apply(), "{}" or more */
};

/* Everything decoded from one request; owns all of it. */
struct seg_result {
	struct cw_event		*ev;		/* one per message, in order */
	size_t			 nev;
	struct seg_member	*members;	/* in request order */
	size_t			 nmembers;
	struct seg_account	*accounts;	/* in request order */
	size_t			 naccounts;
	char			*write_key;	/* body's writeKey, or NULL */
};

/*
 * Decode one request body (len bytes, need not be NUL-terminated) sent to
 * the endpoint call, received at received_at (us).  All or nothing, as the
 * Segment libraries expect: returns 0 with out filled (every message
 * became an event), or -1 with out empty and err set to one of
 *
 *   batch_too_large	body over SEG_BATCH_MAX bytes (on a single call:
 *			message_too_large, without parsing)
 *   invalid_json	not JSON, not an object, or (batch) no "batch" array
 *   too_many_messages	more than SEG_BATCH_MESSAGES in "batch"
 *   message_too_large	a message over SEG_MESSAGE_MAX bytes as compact JSON
 *   invalid_message	a message that is not an object; a corrected ts or
 *			props PostgreSQL would refuse (see below); an unknown "type"
 *			(batch only: a single call's type is its endpoint);
 *			messageId missing, empty, not a string, longer than
 *			CW_ID_MAX or with control characters; neither userId
 *			nor anonymousId (a non-empty string or an integer),
 *			or one over CW_USER_MAX; a track without an event
 *			name; a group without a groupId; a groupId or
 *			context.groupId over CW_ACCOUNT_MAX bytes; a track or
 *			page/screen name over SEG_NAME_MAX bytes
 *   internal_error	out of memory
 *
 * The message names the failing index ("batch[3]: messageId is
 * missing").  Messages are checked in order, the first failure wins.
 *
 * Each message becomes one struct cw_event: id = messageId, user_id =
 * userId, else anonymousId, and
 *
 *   track, name in login_events	login
 *   track, other names			feature_used, feature = the name
 *   page / screen			feature_used, feature = "page:NAME"
 *					/ "screen:NAME" ("unnamed" without one)
 *   identify				feature_used, feature = "identify",
 *					account_id ""
 *   group				feature_used, feature = "group",
 *					account_id ""
 *
 * track/page/screen take account_id from context.groupId (the message's,
 * else the batch's context), else the groupId of the latest earlier
 * group call in the same request by that userId, else lookup, else ""
 * (also for anonymous-only messages).  An event whose account_id is ""
 * is stored but counts in no window: identify and group are kept for the
 * record without inflating anyone's usage.
 *
 * ts corrects client clock skew as Segment does: received_at - (sentAt -
 * originalTimestamp), with sentAt from the message else the batch, and
 * timestamp standing in for originalTimestamp when that is absent; without
 * sentAt, timestamp, else originalTimestamp, else received_at.  A
 * timestamp that does not parse as RFC 3339 counts as absent; a client's
 * receivedAt is ignored.  A ts more than rules->future_us ahead of
 * received_at becomes received_at; an old ts is kept (windows ignore
 * what is older than their range).  A message is refused for its ts
 * (invalid_message) only when the correction lands outside years
 * 0001-9999, and for its props only when PostgreSQL could not store them
 * (event_json_storable(): a \u0000, a number numeric cannot hold).
 *
 * props is compact JSON: {"feature"?, "segment_type", then "event" and
 * "properties" (track), "name" and "properties" (page, screen), "traits"
 * (identify), "group_id" and "traits" (group), "anonymous_id" when a
 * userId was given too}.  If that would exceed SEG_MESSAGE_MAX bytes,
 * "properties"/"traits" is left out and "properties_dropped": true set.
 *
 * A group call also yields a seg_account (groupId; meta_json with those of
 * the traits name, plan, segment, owner, slack_channel (strings of 1..256
 * bytes without control characters) and seats (an integer 0..100000000)
 * that are valid; others are ignored) and, when it has a userId, a
 * seg_member.  The body's "writeKey", when a string, is copied to
 * out->write_key.  Free with segment_result_free().
 */
int	segment_decode(enum seg_call call, const char *body, size_t len,
	    int64_t received_at, const struct seg_rules *rules,
	    const struct seg_lookup *lookup, struct seg_result *out,
	    struct cw_error *err);

/* Frees everything out holds and zeroes it (keeps the struct); NULL ok. */
void	segment_result_free(struct seg_result *out);

#endif
