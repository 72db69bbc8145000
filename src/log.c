/*
 * log.c -- stderr logging with journald priority prefixes (OpenBSD log.c
 * style: log_warn appends errno, log_warnx does not).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static int log_max = LOG_LVL_INFO;

void
log_init(int level)
{
	log_max = level;
}

int
log_enabled(int level)
{
	return level <= log_max;
}

int
log_level_parse(const char *s)
{
	static const struct { const char *name; int lvl; } t[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARNING },
		{ "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(s, t[i].name) == 0)
			return t[i].lvl;
	return -1;
}

static void
vlog(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char buf[1024];

	if (pri > log_max)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (errstr != NULL)
		fprintf(stderr, "<%d>%s: %s\n", pri, buf, errstr);
	else
		fprintf(stderr, "<%d>%s\n", pri, buf);
}

#define LOGFN(name, pri)						\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	va_start(ap, fmt);						\
	vlog(pri, NULL, fmt, ap);					\
	va_end(ap);							\
}

LOGFN(log_debug, LOG_LVL_DEBUG)
LOGFN(log_info, LOG_LVL_INFO)
LOGFN(log_notice, LOG_LVL_NOTICE)
LOGFN(log_warnx, LOG_LVL_WARNING)

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
