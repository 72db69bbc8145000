/*
 * spool.c -- the local, fsync'd spool (see spool.h for the files and
 * what each rule protects against).
 *
 * Payload lines: {"s": source, "i": id, "a": account_id, "t": type, "ts":
 * microseconds, "u": user_id or null, "p": props}.  Header fields are
 * big-endian.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "event.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define REC_MAGIC	0x43575331u		/* "CWS1" */
#define REC_HDR		16
/* No record is larger: a request body is at most max_body_bytes. */
#define REC_MAX		(UINT32_C(1) << 30)
#define SEG_MIN		(UINT64_C(1) << 20)
#define SEG_MAX		(UINT64_C(64) << 20)

#ifdef CW_SPOOL_FAULTS
int		(*spool_fdatasync)(int) = fdatasync;
uint64_t	  spool_segment_bytes;
#define SYNC(fd)	spool_fdatasync(fd)
#else
#define SYNC(fd)	fdatasync(fd)
#endif

struct spool {
	char		*dir;
	int		 dirfd;
	uint64_t	 max;
	int		 broken;	/* a write or fdatasync failed */
	int		 sync_failed;	/* fdatasync failed: never again */
	int		 unsynced;	/* records written since the last sync */
	/* The newest segment, appended to. */
	uint64_t	 agen;
	int		 afd;
	uint64_t	 asize;
	/* Drained up to (dgen, doff); the chunk being read ends at (rgen, roff). */
	uint64_t	 dgen, doff;
	uint64_t	 rgen, roff;
	uint64_t	 rbytes;	/* bytes of that chunk */
	uint64_t	 pending;	/* bytes not drained, all segments */
};

static uint64_t
seg_limit(const struct spool *sp)
{
	uint64_t n = sp->max / 8;

#ifdef CW_SPOOL_FAULTS
	if (spool_segment_bytes > 0)
		return spool_segment_bytes;
#endif
	return n < SEG_MIN ? SEG_MIN : n > SEG_MAX ? SEG_MAX : n;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* CRC over flags, length and payload. */
static uint32_t
rec_crc(const unsigned char *hdr, const char *payload, size_t len)
{
	return util_crc32c(util_crc32c(0, hdr + 4, 8), payload, len);
}

static void
seg_name(char *buf, size_t len, uint64_t gen)
{
	snprintf(buf, len, "spool-%020" PRIu64 ".log", gen);
}

static int
seg_open(struct spool *sp, uint64_t gen, int flags)
{
	char name[64];

	seg_name(name, sizeof(name), gen);
	return openat(sp->dirfd, name, flags | O_CLOEXEC, 0600);
}

static int
sync_dir(struct spool *sp)
{
	return SYNC(sp->dirfd);
}

/* Write "gen off" to spool.pos durably. */
static int
pos_write(struct spool *sp, uint64_t gen, uint64_t off)
{
	char buf[64];
	int fd, n;

	n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 "\n", gen, off);
	if ((fd = openat(sp->dirfd, "spool.pos.tmp", O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (write(fd, buf, (size_t)n) != n || SYNC(fd) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if (renameat(sp->dirfd, "spool.pos.tmp", sp->dirfd, "spool.pos") == -1 ||
	    sync_dir(sp) == -1)
		return -1;
	return 0;
}

static int
pos_read(struct spool *sp, uint64_t *gen, uint64_t *off)
{
	char buf[64];
	ssize_t n;
	int fd;

	if ((fd = openat(sp->dirfd, "spool.pos", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%" SCNu64 " %" SCNu64, gen, off) == 2 ? 0 : -1;
}

/* Read exactly n bytes at off; 0, or -1 when short or failing. */
static int
pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/*
 * The record at off of fd (file size size): 0 with *len, *flags and, when
 * payload is not NULL, a malloc'd NUL-terminated copy; -1 when it is torn
 * or damaged.
 */
static int
rec_at(int fd, uint64_t off, uint64_t size, uint32_t *len, uint32_t *flags,
    char **payload)
{
	unsigned char hdr[REC_HDR];
	char *p;

	if (payload != NULL)
		*payload = NULL;
	if (size - off < REC_HDR || pread_all(fd, hdr, REC_HDR, off) == -1 ||
	    get32(hdr) != REC_MAGIC)
		return -1;
	*flags = get32(hdr + 4);
	*len = get32(hdr + 8);
	if (*len > REC_MAX || size - off - REC_HDR < *len ||
	    (p = malloc((size_t)*len + 1)) == NULL)
		return -1;
	if (pread_all(fd, p, *len, off + REC_HDR) == -1 ||
	    rec_crc(hdr, p, *len) != get32(hdr + 12)) {
		free(p);
		return -1;
	}
	p[*len] = '\0';
	if (payload != NULL)
		*payload = p;
	else
		free(p);
	return 0;
}

/*
 * Check every record of segment gen from off; cut a torn or damaged tail.
 * Returns the bytes of good records from off, or -1 on an I/O error.
 */
static int64_t
seg_validate(struct spool *sp, uint64_t gen, uint64_t off)
{
	uint32_t len, flags;
	uint64_t size, p;
	struct stat st;
	int fd;

	if ((fd = seg_open(sp, gen, O_RDWR)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	size = (uint64_t)st.st_size;
	for (p = off < size ? off : size; p < size; p += REC_HDR + len)
		if (rec_at(fd, p, size, &len, &flags, NULL) == -1)
			break;
	if (p < size) {
		log_warnx("spool: torn or damaged record cut gen=%" PRIu64
		    " offset=%" PRIu64 " bytes=%" PRIu64, gen, p, size - p);
		if (ftruncate(fd, (off_t)p) == -1 || SYNC(fd) == -1) {
			log_warn("spool: cannot cut gen=%" PRIu64, gen);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return (int64_t)(p - (off < size ? off : size));
}

/* The bytes of segment gen from off, or -1 on an I/O error. */
static int64_t
seg_bytes(struct spool *sp, uint64_t gen, uint64_t off)
{
	char name[64];
	struct stat st;

	seg_name(name, sizeof(name), gen);
	if (fstatat(sp->dirfd, name, &st, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	return (uint64_t)st.st_size > off ? (int64_t)((uint64_t)st.st_size -
	    off) : 0;
}

/* Start segment gen as the one appended to. */
static int
seg_start(struct spool *sp, uint64_t gen)
{
	struct stat st;
	int fd;

	if ((fd = seg_open(sp, gen, O_RDWR | O_APPEND | O_CREAT)) == -1 ||
	    fstat(fd, &st) == -1 || sync_dir(sp) == -1) {
		log_warn("spool: cannot start segment gen=%" PRIu64, gen);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (sp->afd != -1)
		close(sp->afd);
	sp->afd = fd;
	sp->agen = gen;
	sp->asize = (uint64_t)st.st_size;
	return 0;
}

static int
seg_unlink(struct spool *sp, uint64_t gen)
{
	char name[64];

	seg_name(name, sizeof(name), gen);
	if (unlinkat(sp->dirfd, name, 0) == -1 && errno != ENOENT) {
		log_warn("spool: cannot delete %s", name);
		return -1;
	}
	return 0;
}

/* Generations present, sorted; *n of them. */
static uint64_t *
seg_list(struct spool *sp, size_t *n)
{
	uint64_t *g = NULL, *t, v;
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;
	int fd;
	char end;

	*n = 0;
	if ((fd = dup(sp->dirfd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	while ((de = readdir(dir)) != NULL) {
		if (sscanf(de->d_name, "spool-%20" SCNu64 ".lo%c", &v,
		    &end) != 2 || end != 'g' || strlen(de->d_name) != 30)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((t = realloc(g, cap * sizeof(*g))) == NULL)
				break;
			g = t;
		}
		g[(*n)++] = v;
	}
	closedir(dir);
	for (size_t i = 1; i < *n; i++)		/* few: insertion sort */
		for (size_t j = i; j > 0 && g[j - 1] > g[j]; j--)
			v = g[j], g[j] = g[j - 1], g[j - 1] = v;
	return g;
}

static int	convert_legacy(struct spool *);

struct spool *
spool_open(const char *dir, uint64_t max_bytes)
{
	struct spool *sp;
	uint64_t *gens, gen, off;
	size_t n, i;
	int64_t good;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("spool: cannot create dir=%s", dir);
		return NULL;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->dir = strdup(dir)) == NULL)
		goto fail;
	sp->afd = -1;
	sp->max = max_bytes;
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("spool: cannot open dir=%s", dir);
		goto fail;
	}
	gens = seg_list(sp, &n);
	if (pos_read(sp, &gen, &off) == -1) {
		gen = n > 0 ? gens[0] : 1;
		off = 0;
	}
	sp->dgen = gen;
	sp->doff = off;
	/*
	 * Drained segments a crash left behind go.  Only the newest can be
	 * torn (a segment is complete and synced before the next starts):
	 * it alone is read through at start; damage in an older one is
	 * found by its checksums when it is drained.
	 */
	for (i = 0; i < n; i++) {
		if (gens[i] < gen) {
			seg_unlink(sp, gens[i]);
			continue;
		}
		if (i + 1 < n)
			good = seg_bytes(sp, gens[i], gens[i] == gen ? off : 0);
		else
			good = seg_validate(sp, gens[i], gens[i] == gen ? off :
			    0);
		if (good == -1) {
			free(gens);
			goto fail;
		}
		sp->pending += (uint64_t)good;
	}
	/* The newest segment takes appends: a crash never left it torn. */
	if (seg_start(sp, n > 0 && gens[n - 1] >= gen ? gens[n - 1] : gen) ==
	    -1) {
		free(gens);
		goto fail;
	}
	free(gens);
	if (sp->doff > sp->asize && sp->dgen == sp->agen)
		sp->doff = sp->asize;
	sp->rgen = sp->dgen;
	sp->roff = sp->doff;
	if (convert_legacy(sp) == -1)
		goto fail;
	if (sp->pending > 0)
		log_notice("spool: events waiting bytes=%" PRIu64, sp->pending);
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->afd != -1)
		close(sp->afd);
	if (sp->dirfd > 0)
		close(sp->dirfd);
	free(sp->dir);
	free(sp);
}

void
spool_set_max(struct spool *sp, uint64_t max_bytes)
{
	sp->max = max_bytes;
}

uint64_t
spool_pending(const struct spool *sp)
{
	return sp->pending;
}

int
spool_has_room(const struct spool *sp, size_t bytes)
{
	return !sp->broken && sp->pending + bytes <= sp->max;
}

int
spool_broken(const struct spool *sp)
{
	return sp->broken;
}

/* A growing buffer; err is set once anything fails. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t c;
	char *p;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		for (c = b->cap ? b->cap : 4096; c < b->len + n + 1; c *= 2)
			;
		if ((p = realloc(b->p, c)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = c;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * ,"key":value -- the comma unless the object just opened -- with value a
 * JSON string of s (raw: s is JSON already).
 */
static void
sb_field(struct sbuf *b, const char *key, const char *s, int raw)
{
	char *enc = NULL;
	json_t *j;

	if (b->len > 0 && b->p[b->len - 1] != '{')
		sb_add(b, ",", 1);
	sb_add(b, "\"", 1);
	sb_add(b, key, strlen(key));
	sb_add(b, "\":", 2);
	if (s == NULL)
		sb_add(b, "null", 4);
	else if (raw)
		sb_add(b, s, strlen(s));
	else if ((j = json_string(s)) != NULL &&
	    (enc = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT)) != NULL) {
		sb_add(b, enc, strlen(enc));
		json_decref(j);
	} else {
		json_decref(j);
		b->err = 1;
	}
	free(enc);
}

static void
sb_event(struct sbuf *b, const char *source, const struct cw_event *ev)
{
	char ts[32];

	snprintf(ts, sizeof(ts), "%" PRId64, ev->ts);
	sb_add(b, "{", 1);
	sb_field(b, "s", source, 0);
	sb_field(b, "i", ev->id, 0);
	sb_field(b, "a", ev->account_id, 0);
	sb_field(b, "t", event_type_name(ev->type), 0);
	sb_field(b, "ts", ts, 1);
	sb_field(b, "u", ev->user_id, 0);
	sb_field(b, "p", ev->props, 1);
	sb_add(b, "}\n", 2);
}

/* Append one record with payload p (len bytes); spool_sync() makes it durable. */
static int
rec_write(struct spool *sp, uint32_t flags, const char *p, size_t len)
{
	unsigned char hdr[REC_HDR];
	size_t reclen = REC_HDR + len, off;
	char *rec;
	ssize_t w;
	struct stat st;

	if (sp->broken || len > REC_MAX || !spool_has_room(sp, reclen))
		return -1;
	/* A segment is complete and synced before the next one starts. */
	if (sp->asize > 0 && sp->asize + reclen > seg_limit(sp) &&
	    (spool_sync(sp) == -1 || seg_start(sp, sp->agen + 1) == -1))
		return -1;
	if ((rec = malloc(reclen)) == NULL)
		return -1;
	put32(hdr, REC_MAGIC);
	put32(hdr + 4, flags);
	put32(hdr + 8, (uint32_t)len);
	put32(hdr + 12, rec_crc(hdr, p, len));
	memcpy(rec, hdr, REC_HDR);
	memcpy(rec + REC_HDR, p, len);
	for (off = 0; off < reclen; off += (size_t)w)
		if ((w = write(sp->afd, rec + off, reclen - off)) <= 0) {
			log_warn("spool: write failed");
			free(rec);
			/*
			 * Cut back to what is known good; if that cannot be
			 * made sure of, a later append would follow garbage.
			 */
			if (ftruncate(sp->afd, (off_t)sp->asize) == -1 ||
			    fstat(sp->afd, &st) == -1 ||
			    (uint64_t)st.st_size != sp->asize) {
				log_warnx("spool: cannot cut back a failed "
				    "write; taking no more events until a "
				    "restart");
				sp->broken = 1;
			}
			return -1;
		}
	free(rec);
	sp->asize += reclen;
	sp->pending += reclen;
	sp->unsynced = 1;
	return 0;
}

int
spool_sync(struct spool *sp)
{
	if (sp->sync_failed)
		return -1;
	if (!sp->unsynced)
		return 0;
	if (SYNC(sp->afd) == -1) {
		/*
		 * The kernel may have dropped the dirty pages and cleared
		 * the error: a second fdatasync could succeed without the
		 * data being on disk.  Stop until a restart re-reads it.
		 */
		log_warn("spool: fdatasync failed; taking no more events "
		    "until a restart re-validates the spool");
		sp->broken = sp->sync_failed = 1;
		return -1;
	}
	sp->unsynced = 0;
	return 0;
}

static int
rec_append(struct spool *sp, uint32_t flags, const char *p, size_t len)
{
	return rec_write(sp, flags, p, len) == 0 ? spool_sync(sp) : -1;
}

int
spool_write(struct spool *sp, const char *source,
    const struct cw_event *ev, size_t n)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		sb_event(&b, source, &ev[i]);
	if (b.err || b.len == 0) {
		free(b.p);
		return -1;
	}
	rc = rec_write(sp, 0, b.p, b.len);
	free(b.p);
	return rc;
}

int
spool_append(struct spool *sp, const char *source,
    const struct cw_event *ev, size_t n)
{
	return spool_write(sp, source, ev, n) == 0 ? spool_sync(sp) : -1;
}

void
spool_chunk_free(char *source, struct cw_event *ev, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		event_free_fields(&ev[i]);
	free(ev);
	free(source);
}

/* Parse a payload's lines into ev (room for *n + lines); 0 or -1. */
static int
payload_events(const char *payload, char **source, struct cw_event **evp,
    size_t *n, size_t *cap)
{
	const char *line, *nl, *s;
	struct cw_event *t;
	struct cw_error err;
	json_error_t jerr;
	char *props;
	json_t *o;

	for (line = payload; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if ((o = json_loadb(line, (size_t)(nl - line), 0, &jerr)) ==
		    NULL) {
			log_warnx("spool: unreadable line skipped");
			continue;
		}
		/*
		 * (source, id) is the event's key, and a chunk has one
		 * source: a line without one, or naming another than the
		 * chunk's, cannot be stored as what it was.  We never write
		 * such a record; a damaged file whose checksum still holds
		 * could hold one, and the store must never see a NULL
		 * source.
		 */
		s = json_string_value(json_object_get(o, "s"));
		if (s == NULL || (*source != NULL && strcmp(s, *source) != 0)) {
			log_warnx("spool: line without the record's source "
			    "skipped");
			json_decref(o);
			continue;
		}
		if (*source == NULL && (*source = strdup(s)) == NULL) {
			json_decref(o);
			return -1;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			if ((t = realloc(*evp, *cap * sizeof(*t))) == NULL) {
				json_decref(o);
				return -1;
			}
			*evp = t;
		}
		props = json_dumps(json_object_get(o, "p"), JSON_COMPACT);
		memset(&(*evp)[*n], 0, sizeof(**evp));
		if (event_from_row(json_string_value(json_object_get(o, "i")),
		    json_string_value(json_object_get(o, "a")),
		    json_string_value(json_object_get(o, "t")),
		    (int64_t)json_integer_value(json_object_get(o, "ts")),
		    json_string_value(json_object_get(o, "u")),
		    props != NULL ? props : "{}", &(*evp)[*n], &err) == 0)
			(*n)++;
		else
			log_warnx("spool: event skipped error=%s", err.code);
		free(props);
		json_decref(o);
	}
	return 0;
}

/* The first source named in a payload, or NULL. */
static char *
payload_source(const char *payload)
{
	const char *nl = strchr(payload, '\n');
	json_error_t jerr;
	char *s = NULL;
	json_t *o;

	if (nl != NULL && (o = json_loadb(payload, (size_t)(nl - payload), 0,
	    &jerr)) != NULL) {
		if (json_string_value(json_object_get(o, "s")) != NULL)
			s = strdup(json_string_value(json_object_get(o, "s")));
		json_decref(o);
	}
	return s;
}

/* Segment gen, to read from: the append fd, or a new one (*owned). */
static int
read_fd(struct spool *sp, uint64_t gen, int *owned, uint64_t *size)
{
	struct stat st;
	int fd;

	*owned = 0;
	if (gen == sp->agen) {
		*size = sp->asize;
		return sp->afd;
	}
	if ((fd = seg_open(sp, gen, O_RDONLY)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	*owned = 1;
	*size = (uint64_t)st.st_size;
	return fd;
}

/*
 * Move the drained position past segments that hold nothing more, and
 * delete them -- after the new position is durable.  1 when it moved
 * (spool.pos written), 0 when there was nothing to move past, -1.
 */
static int
advance(struct spool *sp)
{
	uint64_t size;
	int fd, owned, moved = 0;

	while (sp->dgen < sp->agen) {
		if ((fd = read_fd(sp, sp->dgen, &owned, &size)) == -1) {
			if (errno != ENOENT)
				return -1;
			size = 0;	/* gone: a crash after the unlink */
		} else if (owned)
			close(fd);
		if (sp->doff < size)
			break;
		if (pos_write(sp, sp->dgen + 1, 0) == -1) {
			log_warn("spool: cannot record the drained position");
			return -1;
		}
		seg_unlink(sp, sp->dgen);
		sp->dgen++;
		sp->doff = 0;
		moved = 1;
	}
	return moved;
}

int
spool_read(struct spool *sp, size_t max, char **source, struct cw_event **evp)
{
	uint64_t size, off;
	uint32_t len, flags;
	size_t n = 0, cap = 0;
	char *payload, *s;
	int fd, owned, rc = 0;

	*source = NULL;
	*evp = NULL;
	sp->rbytes = 0;
	if (sp->pending == 0 || max == 0 || advance(sp) == -1)
		return sp->pending == 0 || max == 0 ? 0 : -1;
	if ((fd = read_fd(sp, sp->dgen, &owned, &size)) == -1)
		return -1;
	for (off = sp->doff; off < size && n < max; off += REC_HDR + len) {
		if (rec_at(fd, off, size, &len, &flags, &payload) == -1) {
			/* Checked at open and written by us: a disk fault. */
			log_warnx("spool: damaged record gen=%" PRIu64
			    " offset=%" PRIu64 "; the rest of the segment is "
			    "skipped", sp->dgen, off);
			sp->rbytes += size - off;
			off = size;
			len = 0;
			break;
		}
		/* A chunk never mixes sources. */
		if (*source != NULL) {
			s = payload_source(payload);
			if (s == NULL || strcmp(s, *source) != 0) {
				free(s);
				free(payload);
				break;
			}
			free(s);
		}
		rc = payload_events(payload, source, evp, &n, &cap);
		free(payload);
		sp->rbytes += REC_HDR + len;
		if (rc == -1)
			break;
	}
	if (owned)
		close(fd);
	sp->rgen = sp->dgen;
	sp->roff = off;
	if (rc == -1) {
		spool_chunk_free(*source, *evp, n);
		*source = NULL;
		*evp = NULL;
		return -1;
	}
	if (n == 0) {
		/* Only skipped lines: count them as drained. */
		spool_chunk_free(*source, *evp, 0);
		*source = NULL;
		*evp = NULL;
		if (sp->rbytes > 0)
			spool_commit(sp);
		return 0;
	}
	return (int)n;
}

int
spool_commit(struct spool *sp)
{
	sp->pending -= sp->rbytes < sp->pending ? sp->rbytes : sp->pending;
	sp->rbytes = 0;
	sp->dgen = sp->rgen;
	sp->doff = sp->roff;
	/*
	 * All drained: start a new segment so this one can go (advance()
	 * moves the position durably, then deletes the file).
	 */
	if (sp->dgen == sp->agen && sp->doff >= sp->asize && !sp->broken)
		(void)seg_start(sp, sp->agen + 1);
	switch (advance(sp)) {
	case 1:
		return 0;
	case 0:
		if (pos_write(sp, sp->dgen, sp->doff) == 0)
			return 0;
		log_warn("spool: cannot record the drained position");
		/* FALLTHROUGH */
	default:
		return -1;
	}
}

int
spool_dead_letter(struct spool *sp, const char *source,
    const struct cw_event *ev, const char *why)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	char at[CW_RFC3339_LEN], ts[CW_RFC3339_LEN];
	size_t off;
	ssize_t w;
	int fd, rc = -1;

	util_format_rfc3339(util_now_us(), at, sizeof(at));
	util_format_rfc3339(ev->ts, ts, sizeof(ts));
	sb_add(&b, "{", 1);
	sb_field(&b, "at", at, 0);
	sb_field(&b, "error", why != NULL ? why : "unknown", 0);
	sb_field(&b, "source", source, 0);
	sb_field(&b, "id", ev->id, 0);
	sb_field(&b, "account_id", ev->account_id, 0);
	sb_field(&b, "type", event_type_name(ev->type), 0);
	sb_field(&b, "ts", ts, 0);
	sb_field(&b, "user_id", ev->user_id, 0);
	sb_field(&b, "props", ev->props, 1);
	sb_add(&b, "}\n", 2);
	if (b.err)
		goto done;
	if ((fd = openat(sp->dirfd, "dead-letter.ndjson", O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC, 0600)) == -1)
		goto done;
	for (off = 0; off < b.len; off += (size_t)w)
		if ((w = write(fd, b.p + off, b.len - off)) <= 0)
			break;
	if (off == b.len && SYNC(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0)
		log_warnx("spool: event set aside in dead-letter.ndjson "
		    "source=%s id=%s error=\"%s\"", source, ev->id,
		    why != NULL ? why : "unknown");
done:
	if (rc == -1)
		log_warn("spool: cannot write dead-letter.ndjson");
	free(b.p);
	return rc;
}

/*
 * The spool of earlier versions: spool.log, one JSON line per event (the
 * same line format), drained up to the offset in spool.done.  What waits
 * in it becomes records of the new spool, durably, before it is deleted.
 */
static int
convert_legacy(struct spool *sp)
{
	struct stat st;
	char buf[32], *text = NULL, *line, *nl, *src = NULL, *s;
	struct sbuf b = { NULL, 0, 0, 0 };
	uint64_t done = 0;
	ssize_t r;
	size_t got = 0;
	int fd, dfd, rc = -1;

	if ((fd = openat(sp->dirfd, "spool.log", O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((dfd = openat(sp->dirfd, "spool.done", O_RDONLY | O_CLOEXEC)) !=
	    -1) {
		if ((r = read(dfd, buf, sizeof(buf) - 1)) > 0) {
			buf[r] = '\0';
			done = strtoull(buf, NULL, 10);
		}
		close(dfd);
	}
	if (fstat(fd, &st) == -1 || (text = malloc((size_t)st.st_size + 1)) ==
	    NULL)
		goto out;
	while (got < (size_t)st.st_size && (r = read(fd, text + got,
	    (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	text[got] = '\0';
	/* Complete lines after the drained offset; one record per source run. */
	for (line = text + (done < got ? done : got);
	    (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if ((s = payload_source(line)) == NULL)
			continue;
		if (src != NULL && strcmp(s, src) != 0) {
			if (b.err || rec_append(sp, 0, b.p, b.len) == -1)
				goto out;
			b.len = 0;
			free(src);
			src = NULL;
		}
		if (src == NULL)
			src = s;
		else
			free(s);
		sb_add(&b, line, (size_t)(nl - line) + 1);
	}
	if (b.len > 0 && (b.err || rec_append(sp, 0, b.p, b.len) == -1))
		goto out;
	log_notice("spool: converted the spool of an earlier version");
	if (unlinkat(sp->dirfd, "spool.log", 0) == -1 ||
	    (unlinkat(sp->dirfd, "spool.done", 0) == -1 && errno != ENOENT))
		goto out;
	rc = sync_dir(sp);
out:
	if (rc == -1)
		log_warn("spool: cannot convert spool.log of an earlier version");
	close(fd);
	free(text);
	free(src);
	free(b.p);
	return rc;
}
