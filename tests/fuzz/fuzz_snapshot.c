/*
 * fuzz_snapshot.c -- libFuzzer target for snapshot.c's decoder: any
 * bytes must decode or be refused without a crash, a leak, a read past
 * the input or a sanitizer report; and a window that decodes must encode
 * again, that image must decode, and encoding what it gave must give the
 * very same bytes (decode(encode(decode(x))) is decode(x), as far as an
 * image can tell).
 *
 * Input: byte 0 is a set of flags, the rest the image.
 *
 *   FLAG_RESEAL	write the right length and CRC-32C into the header
 *			first, so mutations reach the payload's parser
 *   FLAG_KEY		write this process's hash key check too
 *   FLAG_NO_ACCT	decode without asking for the account fields
 *
 * The hash key is check_snapshot's, so the seeds it writes
 * (SNAPSHOT_SEED_DIR; tests/fuzz/seeds/snapshot/) decode here.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz.h"
#include "intern.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"
#include "window.h"

#define FLAG_RESEAL	0x01
#define FLAG_KEY	0x02
#define FLAG_NO_ACCT	0x04

static const unsigned char test_key[16] = "churnwatch-fuzz!";
static unsigned char key_check[8];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct snapshot_buf	b = { NULL, 0, 0 };
	struct window		w;
	struct cw_error		err;

	log_init(-1);
	util_hash_set_key(test_key);
	util_hash_id_set_key(test_key);
	/* The key check as this process writes it: from an empty image. */
	window_init(&w);
	if (snapshot_encode(&w, NULL, &b, &err) != 0)
		abort();
	memcpy(key_check, b.p + 16, sizeof(key_check));
	snapshot_buf_free(&b);
	return 0;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	int	i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot_account	 a1, a2;
	struct snapshot_buf	 y1 = { NULL, 0, 0 }, y2 = { NULL, 0, 0 };
	struct window		 w1, w2;
	struct cw_error		 err;
	unsigned char		*img;
	size_t			 len;
	unsigned		 flags;
	int			 has1, has2;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	img = (unsigned char *)fuzz_copy(data + 1, len);
	if (len >= SNAPSHOT_HEADER_LEN) {
		if (flags & FLAG_KEY)
			memcpy(img + 16, key_check, sizeof(key_check));
		if (flags & FLAG_RESEAL) {
			put_le32(img + 8, (uint32_t)(len -
			    SNAPSHOT_HEADER_LEN));
			put_le32(img + 12, util_crc32c(util_crc32c(0, img, 12),
			    img + 16, len - 16));
		}
	}

	memset(&err, 0, sizeof(err));
	if (snapshot_decode(img, len, &w1, (flags & FLAG_NO_ACCT) ? NULL :
	    &a1, &has1, &err) != 0) {
		/* Refused: said why, and left nothing behind. */
		if (err.code == NULL || err.msg[0] == '\0' ||
		    w1.last_day != 0 || w1.users != NULL ||
		    w1.contacts != NULL || w1.tickets != NULL)
			abort();
		goto done;
	}
	if (snapshot_encode(&w1, has1 && !(flags & FLAG_NO_ACCT) ? &a1 :
	    NULL, &y1, &err) != 0)
		abort();		/* decoded, yet cannot be written */
	if (snapshot_decode(y1.p, y1.len, &w2, &a2, &has2, &err) != 0)
		abort();		/* written, yet cannot be read */
	if (snapshot_encode(&w2, has2 ? &a2 : NULL, &y2, &err) != 0)
		abort();
	if (y1.len != y2.len || memcmp(y1.p, y2.p, y1.len) != 0)
		abort();		/* not stable */
	/* What the queries see. */
	if (w1.nusers != w2.nusers || w1.ncontacts != w2.ncontacts ||
	    window_logins(&w1, 0, SNAPSHOT_DAY_MAX) !=
	    window_logins(&w2, 0, SNAPSHOT_DAY_MAX) ||
	    window_active_users(&w1, 0) != window_active_users(&w2, 0))
		abort();
	window_free(&w2);
	window_free(&w1);
done:
	snapshot_buf_free(&y1);
	snapshot_buf_free(&y2);
	free(img);
	intern_purge();
	return 0;
}
