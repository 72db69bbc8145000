/*
 * coding.h -- Content-Encoding of request bodies (SPEC 2): gzip and
 * deflate decoded as the body arrives, so that every limit applies to
 * the decoded size.
 *
 * Pure: bytes in, bytes out through a callback, nothing else.  zlib does
 * the inflating (a well-kept library beats writing inflate); its types
 * stay out of this header.  It does not read requests or answer them:
 * http.c feeds it the body as libmicrohttpd hands it over and turns its
 * status into 400/413.
 */
#ifndef CW_CODING_H
#define CW_CODING_H

#include <stddef.h>

#include "event.h"

enum coding_kind {
	CODING_IDENTITY,	/* none: the body as sent */
	CODING_GZIP,		/* RFC 1952, "gzip" or "x-gzip" */
	CODING_DEFLATE		/* RFC 1950 (zlib), "deflate" as RFC 9110 */
};

/* What coding_parse() takes, for a 415's message. */
#define CODING_ACCEPTED	"gzip, x-gzip, deflate or identity"

enum coding_status {
	CODING_OK,		/* all input taken; more may follow */
	CODING_LIMIT,		/* decodes (or is sent) past the limit */
	CODING_BAD,		/* not a valid stream: corrupt, truncated, ... */
	CODING_STOP,		/* the put callback refused */
	CODING_NOMEM		/* out of memory */
};

struct coding;

/*
 * Parse a Content-Encoding field value: a comma-separated list of
 * codings, case-insensitive, "identity" and empty members ignored.  0 and
 * *kind (CODING_IDENTITY for an empty value), or -1 when a coding is not
 * one of CODING_ACCEPTED or more than one coding was applied.
 */
int		 coding_parse(const char *value, enum coding_kind *kind);

/*
 * A decoder for kind (gzip or deflate) that hands on at most max decoded
 * bytes and takes at most coding_wire_max(max) encoded ones.  NULL when
 * out of memory or kind is CODING_IDENTITY.  Free with coding_free().
 */
struct coding	*coding_new(enum coding_kind kind, size_t max);
void		 coding_free(struct coding *);

/*
 * The most encoded bytes a body of at most max decoded bytes needs:
 * deflate's stored blocks (5 bytes per 64 KiB, less than max / 1024),
 * the gzip header and trailer, and room for a few concatenated members.
 * A longer body is refused (CODING_LIMIT) even if it decodes to little:
 * empty blocks or members would otherwise be an endless body.
 */
size_t		 coding_wire_max(size_t max);

/* About the memory one decoder holds (zlib's window and state, ours). */
size_t		 coding_mem(void);

/* Decoded bytes handed on; called with arg, returns 0, or -1 to stop. */
typedef int	(*coding_put_fn)(void *arg, const char *buf, size_t n);

/*
 * Decode in[0..n), the next bytes of the body, handing the decoded bytes
 * to put in order, at most 16 KiB at a time.  Returns CODING_OK once all
 * of in is taken.  Otherwise the decoder stops for good (later calls
 * return the same status) and err says why: CODING_LIMIT
 * ("body_too_large") as soon as the decoded size would pass max -- the
 * bytes past max are never handed on and the rest of the stream is never
 * inflated --, CODING_BAD ("bad_encoding"), CODING_STOP (put returned
 * -1; err->code NULL), CODING_NOMEM ("internal_error").  gzip allows
 * several members back to back (RFC 1952 2.2) and so do we; anything
 * after the end of the last member, or of a deflate stream, is
 * CODING_BAD.
 */
enum coding_status coding_feed(struct coding *, const void *in, size_t n,
		    coding_put_fn put, void *arg, struct cw_error *err);

/*
 * The body is complete: CODING_OK if the stream ended where it may (at
 * the end of a member), CODING_BAD if it is truncated or empty, or the
 * status that stopped the decoder before.
 */
enum coding_status coding_finish(struct coding *, struct cw_error *err);

/* Decoded bytes handed on so far. */
size_t		 coding_out(const struct coding *);

#endif
