/*
 * intern.h -- interned strings: teams, categories, features, competitors,
 * titles and contact ids are stored once and referred to by a 32-bit id,
 * so per-account windows stay small.  Pure; one process-wide table.
 * Interned strings are never freed until intern_purge().
 */
#ifndef CW_INTERN_H
#define CW_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Id (>= 1) of the string s[0..len), adding it if new; 0 on ENOMEM. */
uint32_t	 intern(const char *s, size_t len);
/* Id of s if already interned, else 0. */
uint32_t	 intern_find(const char *s, size_t len);
/* The string of an id (NUL-terminated), or "" for 0 / unknown. */
const char	*intern_str(uint32_t id);
/* Number of strings and bytes held (for metrics and benchmarks). */
size_t		 intern_count(void);
size_t		 intern_bytes(void);
/* Bytes of the strings alone, each with its NUL ([limits] max_name_bytes). */
size_t		 intern_str_bytes(void);
/* Free everything (tests, exit). */
void		 intern_purge(void);

#endif
