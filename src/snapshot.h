/*
 * snapshot.h -- one account's window state as a compact, versioned,
 * little-endian binary image, and back (issue 11, item 2).  Pure: bytes
 * in, bytes out; no I/O, no clock.
 *
 * The image holds everything a struct window holds that a query or a
 * signal can see -- both rings, both last-seen tables (stale entries
 * included), every records array in its order, the contacts -- plus the
 * few account fields that no window derives (struct snapshot_account).
 * Interned ids are per process, so the image carries the strings
 * themselves in a local table and decoding interns them again.
 *
 * "Equivalent" after decode: every window query and signal_evaluate()
 * give the answers they gave before encode.  Hash-table slot layout,
 * array capacities and the contact index may differ (none is visible).
 *
 * User ids and ticket ids are not kept by the window, only their keyed
 * 64-bit hash (util_hash_id(), under the key kept in PostgreSQL): the
 * image carries those hashes and a check value of the hash key that made
 * them.  An image decodes only in a process hashing with the same key;
 * any other refuses it with code "snapshot_hash_key", and the caller
 * rebuilds that state from events.
 *
 * Not here: where images are stored, the watermark of events they
 * include, when they are written (the store and the engine).
 */
#ifndef CW_SNAPSHOT_H
#define CW_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "window.h"

struct cw_error;

/*
 * The format version written.  Decoding an image of another version:
 *
 * - newer (a downgrade, or a node of a later release): refused with code
 *   "snapshot_version"; never guessed at.
 * - older: a decoder for it is kept here (a case in snapshot_decode's
 *   version switch) for as long as that costs little; once dropped, the
 *   image is refused with code "snapshot_old" and the caller rebuilds the
 *   account from its events after the snapshot's own horizon (issue 11,
 *   item 3) -- possible only while the events are retained.
 *
 * Bump it for any change in the layout, and also when an enum stored by
 * value changes meaning: enum win_ticket_kind, win_contact_kind,
 * win_competitor_kind, title_rank, sig_id (the since[] bits), the
 * sentiment and rate scales, WIN_DAYS, WIN_HOURS, ACCOUNT_SCORE_DAYS.
 */
#define SNAPSHOT_VERSION	1

#define SNAPSHOT_HEADER_LEN	24
/* Largest image accepted (and written): bounds what decoding allocates. */
#define SNAPSHOT_MAX_LEN	(UINT32_C(16) << 20)

/*
 * The account fields a snapshot carries besides the window: state that
 * events alone do not give back (scores and since depend on when the
 * evaluations ran), or that the coverage table keeps apart (first_day).
 * snapshot_account_get / _put copy them from / to a struct account.
 */
struct snapshot_account {
	int32_t		first_day;	/* account.first_day; 0 none */
	int32_t		score_day;	/* 0: no history */
	uint8_t		scores[ACCOUNT_SCORE_DAYS]; /* 0..100, ACCOUNT_NO_SCORE */
	uint32_t	active;		/* bit per enum sig_id */
	uint32_t	since[SIG__COUNT];	/* unix s, for the active bits */
	/* The last evaluation and the one before it (the account view's
	 * previous_score, the breakdown's "continuing" and "resolved"). */
	uint8_t		score;
	uint8_t		prev_score;
	uint32_t	prev_active;
	uint8_t		weight[SIG__COUNT];	/* for the active bits */
	uint8_t		prev_weight[SIG__COUNT]; /* for the prev_active bits */
};

void	snapshot_account_get(const struct account *,
	    struct snapshot_account *);
int	snapshot_account_put(struct account *,
	    const struct snapshot_account *);

/*
 * An output buffer, reusable across encodes (len is reset by each); the
 * caller owns it: start zeroed, snapshot_buf_free() at the end.
 */
struct snapshot_buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

void	snapshot_buf_free(struct snapshot_buf *);

/*
 * Encode w and, if acct is not NULL, the account fields into out
 * (replacing what it held).  Returns 0, or -1 with err filled: code
 * "internal_error" when out of memory, "snapshot_invalid" when w holds a
 * value the format cannot carry (a day outside 1..SNAPSHOT_DAY_MAX, an
 * image over SNAPSHOT_MAX_LEN) -- which apply and restore never produce.
 * Deterministic: one state gives one image in a process.
 */
int	snapshot_encode(const struct window *w,
	    const struct snapshot_account *acct, struct snapshot_buf *out,
	    struct cw_error *err);

/*
 * Decode the image p[0..len) into *w (window_init'ed here; whatever it
 * held is not freed) and, when the image has them, the account fields
 * into *acct (may be NULL; *has_acct, if not NULL, says whether it had).
 * Returns 0, or -1 with err filled and *w empty:
 *   "snapshot_truncated"	shorter than its header says
 *   "snapshot_crc"		the CRC-32C does not match
 *   "snapshot_version"		a newer format version (see above)
 *   "snapshot_old"		an older version no longer read
 *   "snapshot_hash_key"	hashed with another key (see above)
 *   "snapshot_invalid"		anything else malformed
 *   "internal_error"		out of memory (interning included)
 * Never reads outside p[0..len); allocates at most about 20 times len
 * (a feature costs 2 bytes in an image, 40 while decoding it), len being
 * at most SNAPSHOT_MAX_LEN.  Strings are interned only once the whole
 * image has validated, so a refused image leaves no trace.
 */
int	snapshot_decode(const void *p, size_t len, struct window *w,
	    struct snapshot_account *acct, int *has_acct,
	    struct cw_error *err);

/* Days an image can carry: 1 .. the day of CW_TS_MAX. */
#define SNAPSHOT_DAY_MAX	2932896

#endif
