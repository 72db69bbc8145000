/*
 * spool.c -- the local, fsync'd spool (see spool.h).
 *
 * One JSON object per line: {"s": source, "i": id, "a": account_id,
 * "t": type, "ts": microseconds, "u": user_id or null, "p": props}.  The
 * log only grows while events wait; once everything in it has been
 * committed to PostgreSQL it is truncated to nothing.
 */
#include "config.h"

#include <sys/stat.h>

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

#define SPOOL_READ_MAX	(4 * 1024 * 1024)	/* bytes per read */

struct spool {
	char		*log_path;
	char		*done_path;
	int		 fd;
	uint64_t	 size;		/* bytes in the log */
	uint64_t	 done;		/* committed up to here */
	uint64_t	 read_end;	/* end of the chunk being drained */
	uint64_t	 max;
};

static char *
path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static uint64_t
read_done(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* Write the committed offset durably: a new file renamed over the old. */
static int
write_done(struct spool *sp)
{
	char tmp[4096], buf[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", sp->done_path);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", sp->done);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	if (write(fd, buf, (size_t)n) != n || fdatasync(fd) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(tmp, sp->done_path);
}

struct spool *
spool_open(const char *dir, uint64_t max_bytes)
{
	struct spool *sp;
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("spool: cannot create dir=%s", dir);
		return NULL;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->log_path = path_join(dir, "spool.log")) == NULL ||
	    (sp->done_path = path_join(dir, "spool.done")) == NULL)
		goto fail;
	if ((sp->fd = open(sp->log_path, O_RDWR | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1) {
		log_warn("spool: cannot open path=%s", sp->log_path);
		goto fail;
	}
	if (fstat(sp->fd, &st) == -1) {
		close(sp->fd);
		goto fail;
	}
	sp->size = (uint64_t)st.st_size;
	sp->done = read_done(sp->done_path);
	if (sp->done > sp->size)
		sp->done = sp->size;
	sp->read_end = sp->done;
	sp->max = max_bytes;
	if (sp->size > sp->done)
		log_notice("spool: events waiting bytes=%" PRIu64,
		    sp->size - sp->done);
	return sp;
fail:
	if (sp != NULL) {
		free(sp->log_path);
		free(sp->done_path);
		free(sp);
	}
	return NULL;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	close(sp->fd);
	free(sp->log_path);
	free(sp->done_path);
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
	return sp->size - sp->done;
}

int
spool_has_room(const struct spool *sp, size_t bytes)
{
	return sp->size + bytes <= sp->max;
}

/* Append s as a JSON string value. */
static int
put_str(char **buf, size_t *len, size_t *cap, const char *key,
    const char *s, int raw)
{
	char *enc = NULL;
	size_t need;
	json_t *j;

	if (s == NULL)
		enc = strdup("null");
	else if (raw)
		enc = strdup(s);
	else if ((j = json_string(s)) != NULL) {
		enc = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		json_decref(j);
	}
	if (enc == NULL)
		return -1;
	need = strlen(key) + strlen(enc) + 8;
	if (*len + need > *cap) {
		char *n;
		size_t c = *cap ? *cap : 4096;

		while (c < *len + need)
			c *= 2;
		if ((n = realloc(*buf, c)) == NULL) {
			free(enc);
			return -1;
		}
		*buf = n;
		*cap = c;
	}
	*len += (size_t)snprintf(*buf + *len, *cap - *len, "\"%s\":%s,", key,
	    enc);
	free(enc);
	return 0;
}

int
spool_append(struct spool *sp, const char *source,
    const struct cw_event *ev, size_t n)
{
	char *buf = NULL, ts[32];
	size_t len = 0, cap = 0, i, off;
	ssize_t w;
	int err = 0;

	for (i = 0; i < n && !err; i++) {
		snprintf(ts, sizeof(ts), "%" PRId64, ev[i].ts);
		if (len + 1 > cap || cap == 0) {
			char *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (nb == NULL) {
				err = 1;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		buf[len++] = '{';
		err |= put_str(&buf, &len, &cap, "s", source, 0);
		err |= put_str(&buf, &len, &cap, "i", ev[i].id, 0);
		err |= put_str(&buf, &len, &cap, "a", ev[i].account_id, 0);
		err |= put_str(&buf, &len, &cap, "t",
		    event_type_name(ev[i].type), 0);
		err |= put_str(&buf, &len, &cap, "ts", ts, 1);
		err |= put_str(&buf, &len, &cap, "u", ev[i].user_id, 0);
		err |= put_str(&buf, &len, &cap, "p", ev[i].props, 1);
		if (!err)
			memcpy(buf + len - 1, "}\n", 2), len++;
	}
	if (err || !spool_has_room(sp, len)) {
		free(buf);
		return -1;
	}
	for (off = 0; off < len; off += (size_t)w)
		if ((w = write(sp->fd, buf + off, len - off)) <= 0) {
			log_warn("spool: write failed");
			/* Cut back to what is known good. */
			if (ftruncate(sp->fd, (off_t)sp->size) == -1)
				log_warn("spool: cannot cut back");
			free(buf);
			return -1;
		}
	free(buf);
	if (fdatasync(sp->fd) == -1) {
		log_warn("spool: fdatasync failed");
		return -1;
	}
	sp->size += len;
	return 0;
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

int
spool_read(struct spool *sp, size_t max, char **source, struct cw_event **evp)
{
	size_t want, got = 0, n = 0;
	struct cw_event *ev;
	struct cw_error err;
	json_error_t jerr;
	char *buf, *line, *nl, *props;
	ssize_t r;
	json_t *o;
	const char *s;

	*source = NULL;
	*evp = NULL;
	if (sp->done >= sp->size || max == 0)
		return 0;
	want = sp->size - sp->done > SPOOL_READ_MAX ? SPOOL_READ_MAX :
	    (size_t)(sp->size - sp->done);
	if ((buf = malloc(want + 1)) == NULL ||
	    (ev = calloc(max, sizeof(*ev))) == NULL) {
		free(buf);
		return -1;
	}
	while (got < want) {
		r = pread(sp->fd, buf + got, want - got,
		    (off_t)(sp->done + got));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	sp->read_end = sp->done;
	for (line = buf; n < max && (nl = strchr(line, '\n')) != NULL;
	    line = nl + 1) {
		*nl = '\0';
		if ((o = json_loads(line, 0, &jerr)) == NULL) {
			log_warnx("spool: unreadable line skipped");
			sp->read_end += (uint64_t)(nl - line) + 1;
			continue;
		}
		s = json_string_value(json_object_get(o, "s"));
		if (s == NULL || (*source != NULL && strcmp(s, *source) != 0)) {
			json_decref(o);
			if (s != NULL)
				break;		/* a new source: next chunk */
			sp->read_end += (uint64_t)(nl - line) + 1;
			continue;
		}
		if (*source == NULL)
			*source = strdup(s);
		props = json_dumps(json_object_get(o, "p"), JSON_COMPACT);
		if (event_from_row(
		    json_string_value(json_object_get(o, "i")),
		    json_string_value(json_object_get(o, "a")),
		    json_string_value(json_object_get(o, "t")),
		    (int64_t)json_integer_value(json_object_get(o, "ts")),
		    json_string_value(json_object_get(o, "u")),
		    props != NULL ? props : "{}", &ev[n], &err) == 0)
			n++;
		else
			log_warnx("spool: event skipped error=%s", err.code);
		free(props);
		json_decref(o);
		sp->read_end += (uint64_t)(nl - line) + 1;
	}
	free(buf);
	if (n == 0) {
		free(ev);
		free(*source);
		*source = NULL;
		/* Only skipped lines: count them as done. */
		if (sp->read_end > sp->done)
			spool_commit(sp);
		return 0;
	}
	*evp = ev;
	return (int)n;
}

int
spool_commit(struct spool *sp)
{
	sp->done = sp->read_end;
	if (sp->done >= sp->size) {
		/* Everything is in PostgreSQL: start the log afresh. */
		if (ftruncate(sp->fd, 0) == -1) {
			log_warn("spool: cannot truncate");
			return write_done(sp);
		}
		sp->size = sp->done = sp->read_end = 0;
	}
	if (write_done(sp) == -1) {
		log_warn("spool: cannot record the drained offset");
		return -1;
	}
	return 0;
}
