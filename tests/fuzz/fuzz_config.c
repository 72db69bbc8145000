/*
 * fuzz_config.c -- libFuzzer target for config.c: any file must load or
 * be refused, with every problem reported, without a crash, leak or
 * sanitizer report.  config_load() only takes a path, so the input is
 * written to a memfd (no disk I/O per run) and loaded through
 * /proc/self/fd/N; problems go to a /dev/null FILE*.  A config that
 * loads must hold the facts the daemon relies on without checking:
 * a listen address, a database URL, the spool directory, sources that
 * pass webhook_source_check() and token names distinct from source
 * names.
 *
 * secret_file = PATH reads whatever PATH names; tests/fuzz/run runs this
 * target with stdin from /dev/null so that /dev/stdin cannot block.
 * Build and run: tests/fuzz/run [seconds]
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cwconfig.h"
#include "fuzz.h"
#include "log.h"
#include "webhook.h"

static int	 fd = -1;
static char	 path[64];
static FILE	*devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(-1);
	if ((fd = memfd_create("fuzz_config", MFD_CLOEXEC)) == -1) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((devnull = fopen("/dev/null", "w")) == NULL) {
		perror("/dev/null");
		exit(1);
	}
	return 0;
}

static void
check_config(const struct cw_config *cfg)
{
	char	why[256];
	size_t	i, j;

	if (cfg->listen == NULL || cfg->db_url == NULL ||
	    cfg->spool_dir == NULL || cfg->path == NULL)
		abort();
	for (i = 0; i < cfg->nsources; i++) {
		if (cfg->sources[i].name == NULL ||
		    webhook_source_check(&cfg->sources[i], why,
		    sizeof(why)) != 0)
			abort();
		for (j = 0; j < cfg->ntokens; j++)
			if (strcmp(cfg->tokens[j].name,
			    cfg->sources[i].name) == 0)
				abort();
	}
	for (i = 0; i < cfg->ntokens; i++)
		if (cfg->tokens[i].name == NULL ||
		    cfg->tokens[i].secret == NULL || cfg->tokens[i].scopes == 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_config	*cfg;
	size_t			 off;
	ssize_t			 w;
	int			 n;

	if (ftruncate(fd, 0) == -1)
		abort();
	for (off = 0; off < size; off += (size_t)w)
		if ((w = pwrite(fd, data + off, size - off, (off_t)off)) <= 0)
			abort();
	n = config_load(path, devnull, &cfg);
	if ((n == 0) != (cfg != NULL) || n < 0)
		abort();
	if (cfg != NULL) {
		check_config(cfg);
		config_free(cfg);
	}
	return 0;
}
