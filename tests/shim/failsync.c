/*
 * failsync.c -- an LD_PRELOAD shim for the spool fault tests: fdatasync()
 * and fsync() fail with EIO while the file named by $CW_FAILSYNC_FLAG
 * exists, and count their failures in $CW_FAILSYNC_FLAG.count.  Built
 * by the integration test itself (cc -shared -fPIC).  Nothing else is
 * changed, so the daemon under test is the real binary.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int
failing(void)
{
	const char *flag = getenv("CW_FAILSYNC_FLAG");
	char path[4096];
	FILE *f;

	if (flag == NULL || access(flag, F_OK) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s.count", flag);
	if ((f = fopen(path, "a")) != NULL) {
		fputs("x", f);
		fclose(f);
	}
	errno = EIO;
	return 1;
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (failing())
		return -1;
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real(fd);
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (failing())
		return -1;
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}
