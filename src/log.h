/*
 * log.h -- logging to stderr with syslog priority prefixes ("<3>" ...),
 * so that journald keeps the levels (sd-daemon(3)).  One line per call.
 * Never pass secrets.
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stdarg.h>

#define LOG_LVL_ERR	3
#define LOG_LVL_WARNING	4
#define LOG_LVL_NOTICE	5
#define LOG_LVL_INFO	6
#define LOG_LVL_DEBUG	7

void	log_init(int level);		/* messages above level are dropped */
int	log_level_parse(const char *s);	/* "info" -> 6, -1 if unknown */
int	log_enabled(int level);		/* messages at level are written */
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));	/* appends strerror(errno) */
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
