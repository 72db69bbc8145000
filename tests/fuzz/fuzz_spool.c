/*
 * fuzz_spool.c -- libFuzzer target for spool.c's recovery: whatever a
 * crash, a disk or a person left in the spool directory, spool_open()
 * must take it or refuse it, and draining must end -- no crash, leak,
 * sanitizer report or endless loop -- with every event it hands out
 * valid, an event appended after the open read back last, and
 * nothing left pending or replayed by a reopen.
 *
 * Input: byte 0 is a set of flags, byte 1 a number of bytes, then the
 * files' contents.  The contents are cut at 0x1d (GS) into segment files
 * spool-...1.log, ...2.log, ... (at most 4).  With FLAG_FRAMED each
 * segment's text is cut at 0x1e (RS) into payloads, each written as one
 * well-framed record (right magic, length, CRC), so the fuzzer reaches
 * the JSON lines inside; without it the bytes are the file as is.
 *
 *   FLAG_FRAMED	frame payloads (see above)
 *   FLAG_POS		the first line of the contents is spool.pos
 *   FLAG_CUT		cut byte 1's count of bytes off the newest segment
 *   FLAG_LEGACY	the last part is spool.log (the spool of earlier
 *			versions), not a segment
 *   bits 4-5		at most 1, 2, 16 or 1000 events per spool_read()
 *
 * fdatasync is a no-op here (spool.c built with -DCW_SPOOL_FAULTS, as
 * tests/unit/check_spool does) and the directory lives in /dev/shm when
 * it can: the target exercises the logic, not the disk.
 * Build and run: tests/fuzz/run [seconds]
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "fuzz.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define FLAG_FRAMED	0x01
#define FLAG_POS	0x02
#define FLAG_CUT	0x04
#define FLAG_LEGACY	0x08

#define SEGS_MAX	4
#define TAIL_SOURCE	"fuzz-tail"
#define TAIL_ID		"fuzz-tail-id"

static char	dir[64];
static int	dirfd_ = -1;

static int
nosync(int fd)
{
	(void)fd;
	return 0;
}

/* Empty the directory. */
static void
clean(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if ((fd = dup(dirfd_)) == -1 || (d = fdopendir(fd)) == NULL)
		abort();
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd_, de->d_name, 0);
	closedir(d);
}

static void
bye(void)
{
	if (dirfd_ != -1) {
		clean();
		close(dirfd_);
		(void)rmdir(dir);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	spool_fdatasync = nosync;
	snprintf(dir, sizeof(dir), "/dev/shm/fuzz_spool.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_spool.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
	}
	if ((dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		perror(dir);
		exit(1);
	}
	atexit(bye);
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
write_all(int fd, const void *p, size_t n)
{
	ssize_t	w;
	size_t	off;

	for (off = 0; off < n; off += (size_t)w)
		if ((w = write(fd, (const char *)p + off, n - off)) <= 0)
			abort();
}

static int
create(const char *name)
{
	int	fd;

	if ((fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1)
		abort();
	return fd;
}

/* One segment file: the bytes as is, or RS-separated payloads framed. */
static void
write_segment(const char *name, const uint8_t *p, size_t n, int framed)
{
	unsigned char	 hdr[16];
	const uint8_t	*rs, *end = p + n;
	size_t		 len;
	int		 fd = create(name);

	if (!framed)
		write_all(fd, p, n);
	else
		for (;;) {
			rs = memchr(p, 0x1e, (size_t)(end - p));
			len = rs != NULL ? (size_t)(rs - p) : (size_t)(end - p);
			put32(hdr, 0x43575331u);	/* "CWS1" */
			put32(hdr + 4, 0);
			put32(hdr + 8, (uint32_t)len);
			put32(hdr + 12, util_crc32c(util_crc32c(0, hdr + 4, 8),
			    p, len));
			write_all(fd, hdr, sizeof(hdr));
			write_all(fd, p, len);
			if (rs == NULL)
				break;
			p = rs + 1;
		}
	close(fd);
}

static void
lay_out(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data + 2, *end = data + size, *nl, *gs;
	unsigned	 flags = data[0];
	char		 name[64];
	struct stat	 st;
	size_t		 n;
	int		 fd, gen, last = 0;

	if (flags & FLAG_POS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		fd = create("spool.pos");
		write_all(fd, p, n);
		close(fd);
		p += n;
	}
	for (gen = 1; gen <= SEGS_MAX; gen++) {
		gs = gen < SEGS_MAX ? memchr(p, 0x1d, (size_t)(end - p)) : NULL;
		n = gs != NULL ? (size_t)(gs - p) : (size_t)(end - p);
		if (gs == NULL && (flags & FLAG_LEGACY)) {
			fd = create("spool.log");
			write_all(fd, p, n);
			close(fd);
			break;
		}
		snprintf(name, sizeof(name), "spool-%020d.log", gen);
		write_segment(name, p, n, flags & FLAG_FRAMED);
		last = gen;
		if (gs == NULL)
			break;
		p = gs + 1;
	}
	if ((flags & FLAG_CUT) && last > 0) {
		snprintf(name, sizeof(name), "spool-%020d.log", last);
		if ((fd = openat(dirfd_, name, O_WRONLY)) == -1 ||
		    fstat(fd, &st) == -1)
			abort();
		if (ftruncate(fd, st.st_size > data[1] ? st.st_size - data[1] :
		    0) == -1)
			abort();
		close(fd);
	}
}

/*
 * Read until nothing is pending; 1 when the last event handed out was
 * the one appended after the open (the input may forge its id and source
 * earlier on, never after it).
 */
static int
drain(struct spool *sp, size_t max, size_t bound)
{
	struct cw_event	*ev;
	char		*source;
	size_t		 i, rounds = 0;
	int		 n, tail = 0;

	while (spool_pending(sp) > 0) {
		if (rounds++ > bound)
			abort();	/* no progress: the drain would stall */
		if ((n = spool_read(sp, max, &source, &ev)) < 0)
			abort();	/* no I/O fails here */
		if (n == 0)
			continue;
		/* Whole records: more than max when one holds more. */
		if (source == NULL)
			abort();	/* store.c hashes it */
		for (i = 0; i < (size_t)n; i++) {
			fuzz_check_event(&ev[i], 1);
			tail = strcmp(ev[i].id, TAIL_ID) == 0 &&
			    strcmp(source, TAIL_SOURCE) == 0;
		}
		spool_chunk_free(source, ev, (size_t)n);
		if (spool_commit(sp) != 0)
			abort();
	}
	return tail;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[4] = { 1, 2, 16, 1000 };
	struct cw_event	 tail;
	struct spool	*sp;
	size_t		 max, bound;

	if (size < 2)
		return 0;
	lay_out(data, size);
	max = maxes[(data[0] >> 4) & 3];
	/* Every round drains a record (>= 16 bytes) or moves a segment on. */
	bound = size + 4 * SEGS_MAX + 16;

	if ((sp = spool_open(dir, UINT64_C(1) << 30)) != NULL) {
		memset(&tail, 0, sizeof(tail));
		tail.id = TAIL_ID;
		tail.account_id = "acme";
		tail.type = EV_LOGIN;
		tail.ts = FUZZ_NOW;
		tail.user_id = "u1";
		tail.props = "{}";
		tail.p.is_champion = -1;
		if (spool_append(sp, TAIL_SOURCE, &tail, 1) != 0)
			abort();
		if (drain(sp, max, bound) != 1)
			abort();	/* lost, or not last */
		spool_close(sp);
		/* What was drained stays drained. */
		if ((sp = spool_open(dir, UINT64_C(1) << 30)) == NULL ||
		    spool_pending(sp) != 0)
			abort();
		spool_close(sp);
	}
	clean();
	return 0;
}
