/*
 * check_config.c -- unit tests for config.c: values, defaults, and that
 * every problem is one "path:line: message" line with the right line.
 *
 * Most cases write a small config to a temporary file so that the text
 * and its line numbers sit next to the assertions; the larger ones live in
 * tests/unit/data/config-*.conf.  Error text is compared with the file's
 * path replaced by "F".
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "cwconfig.h"
#include "log.h"
#include "signal.h"
#include "webhook.h"

#define DATA(f)		TEST_DATA_DIR "/" f
#define USEC		INT64_C(1000000)
#define CONF(f)		TEST_DATA_DIR "/../../../conf/" f

static char tmp_path[256];

static const char *
tmp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && *d != '\0' ? d : "/tmp";
}

/* Write text to a new temporary file, named in tmp_path. */
static void
write_tmp(const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "%s/check_config-XXXXXX",
	    tmp_dir());
	fd = mkstemp(tmp_path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* A copy of s with every occurrence of from replaced by to. */
static char *
replace(const char *s, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), n = 0;
	const char *p, *q;
	char *out, *o;

	for (p = s; (q = strstr(p, from)) != NULL; p = q + flen)
		n++;
	out = malloc(strlen(s) + n * tlen + 1);
	ck_assert_ptr_nonnull(out);
	for (o = out, p = s; (q = strstr(p, from)) != NULL; p = q + flen) {
		memcpy(o, p, q - p);
		o += q - p;
		memcpy(o, to, tlen);
		o += tlen;
	}
	strcpy(o, p);
	return out;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/*
 * Load path, returning the problem count; *errs gets the messages with
 * the path replaced by "F".  Checks what holds for every load: one line
 * per problem, and a config exactly when there is no problem.
 */
static int
load(const char *path, struct cw_config **cfg, char **errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int n;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	*cfg = (struct cw_config *)1;	/* must be overwritten */
	n = config_load(path, fp, cfg);
	ck_assert_int_eq(fclose(fp), 0);
	*errs = replace(buf, path, "F");
	free(buf);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(count_lines(*errs), n);
	if (n == 0)
		ck_assert_ptr_nonnull(*cfg);
	else
		ck_assert_ptr_null(*cfg);
	return n;
}

static int
load_text(const char *text, struct cw_config **cfg, char **errs)
{
	int n;

	write_tmp(text);
	n = load(tmp_path, cfg, errs);
	unlink(tmp_path);
	return n;
}

/* text must give exactly the messages in want (with "F" for the path). */
static void
expect_errors(const char *text, int nwant, const char *want)
{
	struct cw_config *cfg;
	char *errs;
	int n;

	n = load_text(text, &cfg, &errs);
	ck_assert_msg(strcmp(errs, want) == 0 && n == nwant,
	    "config:\n%s\nwant %d:\n%s\ngot %d:\n%s", text, nwant, want, n,
	    errs);
	free(errs);
}

/* text must be valid; returns the config. */
static struct cw_config *
expect_ok(const char *text)
{
	struct cw_config *cfg;
	char *errs;
	int n;

	n = load_text(text, &cfg, &errs);
	ck_assert_msg(n == 0, "config:\n%s\ngot errors:\n%s", text, errs);
	free(errs);
	return cfg;
}

/* expect_ok() of text with "@ARG@" replaced by arg. */
static struct cw_config *
expect_ok_arg(const char *text0, const char *arg)
{
	struct cw_config *cfg;
	char *text;

	text = replace(text0, "@ARG@", arg);
	cfg = expect_ok(text);
	free(text);
	return cfg;
}

static size_t
strv_len(char **v)
{
	size_t n = 0;

	ck_assert_ptr_nonnull(v);
	while (v[n] != NULL)
		n++;
	return n;
}

/* Every signal as signal.c's table has it; the [signals] defaults. */
static void
assert_signal_defaults(const struct sig_config *sc)
{
	static const char *const intent[] = {
		"cancel", "cancellation", "terminate", "contract", "downgrade",
		"export data", "usage report", "解約", "契約",
	};
	const struct sig_threshold *th;
	size_t i, j, n;

	for (i = 0; i < SIG__COUNT; i++) {
		ck_assert_int_eq(sc->sig[i].enabled, 1);
		ck_assert_int_eq(sc->sig[i].severity,
		    signal_default_severity(i));
		ck_assert_int_eq(sc->sig[i].weight, -1);
		ck_assert_ptr_null(sc->sig[i].play);
		th = signal_thresholds(i, &n);
		ck_assert_uint_gt(n, 0);
		for (j = 0; j < n; j++)
			ck_assert_msg(sc->sig[i].threshold[j] == th[j].def,
			    "%s %s", signal_name(i), th[j].key);
	}
	ck_assert_uint_eq(sc->interval, 60);
	ck_assert_uint_eq(strv_len(sc->competitors), 0);
	ck_assert_uint_eq(strv_len(sc->intent_patterns),
	    sizeof(intent) / sizeof(intent[0]));
	for (i = 0; i < sizeof(intent) / sizeof(intent[0]); i++)
		ck_assert_str_eq(sc->intent_patterns[i], intent[i]);
}

/* [alerts] and [digest] as they are by default; no receiver, no route. */
static void
assert_alert_defaults(const struct cw_config *cfg)
{
	ck_assert(cfg->alerts.resolve_after == 3600 * USEC);
	ck_assert(cfg->alerts.repeat_interval == 7 * 86400 * USEC);
	ck_assert(cfg->group_wait == 10 * USEC);
	ck_assert_uint_eq(cfg->group_max, 5);
	ck_assert_uint_eq(cfg->nreceivers, 0);
	ck_assert_uint_eq(cfg->nroutes, 0);
	ck_assert_int_eq(cfg->digest.enabled, 0);
	ck_assert_int_eq(cfg->digest.hour, 9);
	ck_assert_int_eq(cfg->digest.minute, 0);
	ck_assert_str_eq(cfg->digest.timezone, "UTC");
	ck_assert_uint_eq(strv_len(cfg->digest.receivers), 0);
	ck_assert_uint_eq(cfg->digest.top, 10);
	ck_assert_int_eq(cfg->portfolio.enabled, 1);
	ck_assert_uint_eq(cfg->portfolio.min_accounts, 5);
	ck_assert_uint_eq(cfg->portfolio.days, 14);
	ck_assert_int_eq(cfg->portfolio.severity, SEV_WARNING);
	ck_assert_ptr_null(cfg->portfolio.play);
	ck_assert_ptr_nonnull(strstr(config_portfolio_play(cfg), "trend"));
}

static void
assert_defaults(const struct cw_config *cfg)
{
	ck_assert_str_eq(cfg->listen, "127.0.0.1:8080");
	ck_assert_uint_eq(cfg->max_body_bytes, 1048576);
	ck_assert_uint_eq(cfg->max_events, 10000);
	ck_assert_uint_eq(cfg->max_connections, 1024);
	ck_assert_uint_eq(cfg->request_timeout, 30);
	ck_assert_uint_eq(cfg->idle_timeout, 60);
	ck_assert_uint_eq(cfg->max_header_bytes, 16384);
	ck_assert_uint_eq(cfg->max_inflight_body_bytes, 67108864);
	ck_assert_uint_eq(cfg->horizon_days, 400);
	ck_assert_uint_eq(cfg->future_skew, 300);
	ck_assert_uint_eq(cfg->max_batch_events, 20000);
	ck_assert_uint_eq(cfg->retention_interval, 86400);
	ck_assert_str_eq(cfg->db_url, "postgresql:///churnwatch");
	ck_assert_uint_eq(cfg->db_connections, 2);
	ck_assert(cfg->db_statement_timeout == 5 * USEC);
	ck_assert_str_eq(cfg->spool_dir, "/var/lib/churnwatch/spool");
	ck_assert_uint_eq(cfg->spool_max_bytes, UINT64_C(1073741824));
	ck_assert_int_eq(cfg->log_level, LOG_LVL_INFO);
	ck_assert_uint_eq(cfg->ntokens, 0);
	assert_signal_defaults(&cfg->signals);
	assert_alert_defaults(cfg);
}

START_TEST(test_free_null)
{
	config_free(NULL);
}
END_TEST

START_TEST(test_split_listen)
{
	static const struct {
		const char	*in;
		const char	*host;	/* NULL: must fail */
		unsigned	 port;
	} t[] = {
		{ "127.0.0.1:8080", "127.0.0.1", 8080 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "localhost:65535", "localhost", 65535 },
		{ "[::1]:9090", "::1", 9090 },
		{ "[fe80::1%eth0]:80", "fe80::1%eth0", 80 },
		{ "[::]:8080", "::", 8080 },
		{ "127.0.0.1", NULL, 0 },
		{ "127.0.0.1:", NULL, 0 },
		{ "127.0.0.1:0", NULL, 0 },
		{ "127.0.0.1:65536", NULL, 0 },
		{ "127.0.0.1:-1", NULL, 0 },
		{ "127.0.0.1:80x", NULL, 0 },
		{ "127.0.0.1: 80", NULL, 0 },
		{ ":8080", NULL, 0 },
		{ "::1:8080", NULL, 0 },
		{ "[::1]8080", NULL, 0 },
		{ "[::1]", NULL, 0 },
		{ "[]:80", NULL, 0 },
		{ "[127.0.0.1]:80", NULL, 0 },
		{ "host name:80", NULL, 0 },
		{ "", NULL, 0 },
	};
	char host[64];
	unsigned port;
	size_t i;
	int rv;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		port = 0;
		rv = config_split_listen(t[i].in, host, sizeof(host), &port);
		if (t[i].host == NULL) {
			ck_assert_msg(rv == -1, "\"%s\" accepted", t[i].in);
			continue;
		}
		ck_assert_msg(rv == 0, "\"%s\" rejected", t[i].in);
		ck_assert_str_eq(host, t[i].host);
		ck_assert_uint_eq(port, t[i].port);
	}
	/* The host must fit, with its NUL. */
	ck_assert_int_eq(config_split_listen("abcd:1", host, 4, &port), -1);
	ck_assert_int_eq(config_split_listen("abc:1", host, 4, &port), 0);
	ck_assert_str_eq(host, "abc");
}
END_TEST

START_TEST(test_defaults_empty_file)
{
	struct cw_config *cfg;

	cfg = expect_ok("");
	assert_defaults(cfg);
	config_free(cfg);

	cfg = expect_ok("# only a comment\n\n[server]\n[ingest]\n");
	assert_defaults(cfg);
	config_free(cfg);
}
END_TEST

START_TEST(test_defaults_partial)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_eq(load(DATA("config-partial.conf"), &cfg, &errs), 0);
	free(errs);
	ck_assert_str_eq(cfg->path, DATA("config-partial.conf"));
	ck_assert_str_eq(cfg->listen, "0.0.0.0:9000");
	ck_assert_int_eq(cfg->log_level, LOG_LVL_WARNING);
	ck_assert_uint_eq(cfg->max_body_bytes, 1048576);
	ck_assert_uint_eq(cfg->max_events, 10000);
	ck_assert_uint_eq(cfg->max_connections, 1024);
	ck_assert_uint_eq(cfg->request_timeout, 30);
	ck_assert_uint_eq(cfg->idle_timeout, 60);
	ck_assert_uint_eq(cfg->max_header_bytes, 16384);
	ck_assert_uint_eq(cfg->max_inflight_body_bytes, 67108864);
	ck_assert_uint_eq(cfg->horizon_days, 400);
	ck_assert_uint_eq(cfg->future_skew, 300);
	ck_assert_uint_eq(cfg->max_batch_events, 20000);
	ck_assert_str_eq(cfg->db_url, "postgresql:///churnwatch");
	ck_assert_uint_eq(cfg->db_connections, 2);
	ck_assert_str_eq(cfg->spool_dir, "/var/lib/churnwatch/spool");
	ck_assert_uint_eq(cfg->spool_max_bytes, UINT64_C(1073741824));
	ck_assert_uint_eq(cfg->ntokens, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_good_full)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_eq(load(DATA("config-good.conf"), &cfg, &errs), 0);
	free(errs);
	ck_assert_str_eq(cfg->listen, "[::1]:9090");
	ck_assert_uint_eq(cfg->max_body_bytes, 2097152);
	ck_assert_uint_eq(cfg->max_events, 5000);
	ck_assert_uint_eq(cfg->max_connections, 256);
	ck_assert_uint_eq(cfg->request_timeout, 10);
	ck_assert_uint_eq(cfg->idle_timeout, 20);
	ck_assert_uint_eq(cfg->max_header_bytes, 8192);
	ck_assert_uint_eq(cfg->max_inflight_body_bytes, 8388608);
	ck_assert_uint_eq(cfg->horizon_days, 90);
	ck_assert_uint_eq(cfg->future_skew, 0);
	ck_assert_uint_eq(cfg->max_batch_events, 1000);
	ck_assert_str_eq(cfg->db_url, "host=db.internal dbname=churn user=cw");
	ck_assert_uint_eq(cfg->db_connections, 4);
	ck_assert_str_eq(cfg->spool_dir, "/srv/churnwatch/spool");
	ck_assert_uint_eq(cfg->spool_max_bytes, 0);
	ck_assert_int_eq(cfg->log_level, LOG_LVL_DEBUG);
	ck_assert_uint_eq(cfg->ntokens, 2);
	ck_assert_str_eq(cfg->tokens[0].name, "backend");
	ck_assert_str_eq(cfg->tokens[0].secret, "backend-secret-0001");
	ck_assert_uint_eq(cfg->tokens[0].scopes, CW_SCOPE_INGEST);
	ck_assert_uint_eq(cfg->tokens[0].rate, 500);
	ck_assert_uint_eq(cfg->tokens[0].burst, 20000);
	ck_assert_str_eq(cfg->tokens[1].name, "dash.board-2");
	ck_assert_str_eq(cfg->tokens[1].secret, "dashboard-secret-0002");
	ck_assert_uint_eq(cfg->tokens[1].scopes,
	    CW_SCOPE_INGEST | CW_SCOPE_READ | CW_SCOPE_ADMIN);
	/* Not given: the defaults. */
	ck_assert_uint_eq(cfg->tokens[1].rate, 100000);
	ck_assert_uint_eq(cfg->tokens[1].burst, 1000000);
	config_free(cfg);
}
END_TEST

START_TEST(test_number_bounds)
{
	struct cw_config *cfg;

	/* Both ends of every range are accepted. */
	cfg = expect_ok(
	    "[server]\n"
	    "max_body_bytes = 1024\n"
	    "max_events = 1\n"
	    "max_connections = 100000\n"
	    "request_timeout = 3600\n"
	    "idle_timeout = 1\n"
	    "max_header_bytes = 1048576\n"
	    "max_inflight_body_bytes = 68719476736\n"
	    "[ingest]\n"
	    "horizon_days = 3650\n"
	    "future_skew = 86400\n"
	    "max_batch_events = 1000000\n"
	    "[spool]\n"
	    "max_bytes = 4611686018427387904\n");
	ck_assert_uint_eq(cfg->max_body_bytes, 1024);
	ck_assert_uint_eq(cfg->max_events, 1);
	ck_assert_uint_eq(cfg->max_connections, 100000);
	ck_assert_uint_eq(cfg->request_timeout, 3600);
	ck_assert_uint_eq(cfg->idle_timeout, 1);
	ck_assert_uint_eq(cfg->max_header_bytes, 1048576);
	ck_assert_uint_eq(cfg->max_inflight_body_bytes, UINT64_C(68719476736));
	ck_assert_uint_eq(cfg->horizon_days, 3650);
	ck_assert_uint_eq(cfg->future_skew, 86400);
	ck_assert_uint_eq(cfg->max_batch_events, 1000000);
	ck_assert_uint_eq(cfg->spool_max_bytes, UINT64_C(1) << 62);
	config_free(cfg);
}
END_TEST

START_TEST(test_comments)
{
	struct cw_config *cfg;

	cfg = expect_ok(
	    "\xef\xbb\xbf# a comment line, after a byte order mark\n"
	    "; a semicolon comment line\n"
	    "   # an indented comment\n"
	    "[server]    ; comment after a section\n"
	    "listen = 127.0.0.1:8081            ; host:port\n"
	    "max_events = 42\t# hash after a tab\n"
	    "max_body_bytes=4096\n"
	    "\n"
	    "   \t  \n"
	    "[database]\r\n"
	    "url = postgresql://h/db?a=b#frag\r\n"	/* '#' inside: kept */
	    "[token:t]\n"
	    "secret = semi;colon#hash   ; but this is a comment\n"
	    "scopes = read # and this\n");
	ck_assert_str_eq(cfg->listen, "127.0.0.1:8081");
	ck_assert_uint_eq(cfg->max_events, 42);
	ck_assert_str_eq(cfg->db_url, "postgresql://h/db?a=b#frag");
	ck_assert_str_eq(cfg->tokens[0].secret, "semi;colon#hash");
	ck_assert_uint_eq(cfg->tokens[0].scopes, CW_SCOPE_READ);
	config_free(cfg);
}
END_TEST

START_TEST(test_missing_file)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_eq(load(DATA("no-such-file.conf"), &cfg, &errs), 1);
	ck_assert_str_eq(errs, "F: cannot open: No such file or directory\n");
	free(errs);

	/* errs may be NULL: the count is still right. */
	cfg = (struct cw_config *)1;
	ck_assert_int_eq(config_load(DATA("no-such-file.conf"), NULL, &cfg), 1);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_errs_null)
{
	struct cw_config *cfg;

	cfg = (struct cw_config *)1;
	ck_assert_int_eq(config_load(DATA("config-three-errors.conf"), NULL,
	    &cfg), 3);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_unknown_section)
{
	expect_errors(
	    "[server]\n"
	    "listen = 127.0.0.1:8080\n"
	    "[signal-x:login_absent]\n"
	    "enabled = true\n"		/* keys of a bad section: not again */
	    "weight = 30\n"
	    "[Server]\n",
	    2,
	    "F:3: unknown section [signal-x:login_absent]\n"
	    "F:6: unknown section [Server]\n");
}
END_TEST

START_TEST(test_unknown_key)
{
	expect_errors(
	    "[server]\n"
	    "listen = 127.0.0.1:8080\n"
	    "max_body = 10\n"
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "scope = read\n"
	    "scopes = read\n",
	    2,
	    "F:3: unknown key \"max_body\" in [server]\n"
	    "F:6: unknown key \"scope\" in [token:a]\n");
}
END_TEST

START_TEST(test_key_outside_section)
{
	expect_errors(
	    "listen = 127.0.0.1:8080\n"
	    "[server]\n",
	    1,
	    "F:1: key \"listen\" is outside any section\n");
}
END_TEST

START_TEST(test_duplicate_key)
{
	expect_errors(
	    "[server]\n"
	    "listen = 127.0.0.1:8080\n"
	    "max_events = 5\n"
	    "listen = 127.0.0.1:8081\n"
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "scopes = read\n"
	    "scopes = admin\n",
	    2,
	    "F:4: duplicate key \"listen\" in [server]\n"
	    "F:8: duplicate key \"scopes\" in [token:a]\n");
}
END_TEST

START_TEST(test_duplicate_section)
{
	expect_errors(
	    "[server]\n"
	    "listen = 127.0.0.1:8080\n"
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "scopes = read\n"
	    "[server]\n"
	    "listen = 127.0.0.1:8081\n"
	    "[token:a]\n"
	    "secret = bbbbbbbbbb\n"
	    "scopes = read\n",
	    2,
	    "F:6: duplicate section [server]\n"
	    "F:8: duplicate section [token:a]\n");
}
END_TEST

START_TEST(test_bad_number)
{
	static const char *bad[] = {
		"abc", "-1", "+5", "1e3", "12 34", "0x10", "1.5", "10k",
		"99999999999999999999999", "env", "",
	};
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[server]\nmax_events = %s\n",
		    bad[i]);
		expect_errors(text, 1, "F:2: max_events: must be a whole "
		    "number from 1 to 1000000\n");
	}
}
END_TEST

START_TEST(test_out_of_range)
{
	expect_errors(
	    "[server]\n"
	    "max_body_bytes = 1023\n"
	    "max_events = 0\n"
	    "max_connections = 100001\n"
	    "request_timeout = 0\n"
	    "idle_timeout = 3601\n"
	    "max_header_bytes = 1048577\n"
	    "max_inflight_body_bytes = 1023\n"
	    "[ingest]\n"
	    "horizon_days = 3651\n"
	    "future_skew = 86401\n"
	    "max_batch_events = 0\n"
	    "[spool]\n"
	    "max_bytes = 4611686018427387905\n",
	    11,
	    "F:2: max_body_bytes: must be a whole number from 1024 to "
	    "1073741824\n"
	    "F:3: max_events: must be a whole number from 1 to 1000000\n"
	    "F:4: max_connections: must be a whole number from 1 to 100000\n"
	    "F:5: request_timeout: must be a whole number from 1 to 3600\n"
	    "F:6: idle_timeout: must be a whole number from 1 to 3600\n"
	    "F:7: max_header_bytes: must be a whole number from 1024 to "
	    "1048576\n"
	    "F:8: max_inflight_body_bytes: must be a whole number from 1024 "
	    "to 68719476736\n"
	    "F:10: horizon_days: must be a whole number from 1 to 3650\n"
	    "F:11: future_skew: must be a whole number from 0 to 86400\n"
	    "F:12: max_batch_events: must be a whole number from 1 to "
	    "1000000\n"
	    "F:14: max_bytes: must be a whole number from 0 to "
	    "4611686018427387904\n");
}
END_TEST

START_TEST(test_bad_listen)
{
	static const char *bad[] = {
		"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:8080",
		"[::1]", ":8080", "localhost:http", "",
	};
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[server]\nlisten = %s\n",
		    bad[i]);
		expect_errors(text, 1, "F:2: listen: must be host:port or "
		    "[ipv6]:port with a port from 1 to 65535\n");
	}
}
END_TEST

START_TEST(test_log_level)
{
	struct cw_config *cfg;

	cfg = expect_ok("[log]\nlevel = error\n");
	ck_assert_int_eq(cfg->log_level, LOG_LVL_ERR);
	config_free(cfg);
	cfg = expect_ok("[log]\nlevel = notice\n");
	ck_assert_int_eq(cfg->log_level, LOG_LVL_NOTICE);
	config_free(cfg);
	expect_errors("[log]\nlevel = verbose\n", 1, "F:2: level: must be "
	    "one of error, warning, notice, info, debug\n");
}
END_TEST

START_TEST(test_empty_string)
{
	expect_errors(
	    "[database]\n"
	    "url =\n"
	    "[spool]\n"
	    "dir =    ; nothing but a comment\n",
	    2,
	    "F:2: url: must not be empty\n"
	    "F:4: dir: must not be empty\n");
}
END_TEST

START_TEST(test_token_name)
{
	struct cw_config *cfg;

	expect_errors(
	    "[token:]\n"
	    "secret = aaaaaaaaaa\n"
	    "[token:a/b]\n"
	    "scopes = read\n"
	    "[token:"
	    "12345678901234567890123456789012345678901234567890123456789012345"
	    "]\n",
	    3,
	    "F:1: bad token name in [token:]: use 1 to 64 characters of "
	    "A-Z a-z 0-9 _ . -\n"
	    "F:3: bad token name in [token:a/b]: use 1 to 64 characters of "
	    "A-Z a-z 0-9 _ . -\n"
	    "F:5: bad token name in [token:"
	    "12345678901234567890123456789012345678901234567890123456789012345"
	    "]: use 1 to 64 characters of A-Z a-z 0-9 _ . -\n");

	cfg = expect_ok(
	    "[token:"
	    "1234567890123456789012345678901234567890123456789012345678901234"
	    "]\n"
	    "secret = aaaaaaaaaa\n"
	    "scopes = read\n"
	    "[token:A-z_0.9]\n"
	    "secret = bbbbbbbbbb\n"
	    "scopes = read\n");
	ck_assert_uint_eq(cfg->ntokens, 2);
	ck_assert_str_eq(cfg->tokens[1].name, "A-z_0.9");
	config_free(cfg);
}
END_TEST

START_TEST(test_bad_scope)
{
	expect_errors(
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "scopes = ingest, write\n"
	    "[token:b]\n"
	    "secret = bbbbbbbbbb\n"
	    "scopes = read,,admin\n"
	    "[token:c]\n"
	    "secret = cccccccccc\n"
	    "scopes =\n"
	    "[token:d]\n"
	    "secret = dddddddddd\n"
	    "scopes = Read\n",
	    4,
	    "F:3: scopes: unknown scope; each must be ingest, read or admin\n"
	    "F:6: scopes: empty scope; list one or more of ingest, read, "
	    "admin, separated by commas\n"
	    "F:9: scopes: empty scope; list one or more of ingest, read, "
	    "admin, separated by commas\n"
	    "F:12: scopes: unknown scope; each must be ingest, read or "
	    "admin\n");
}
END_TEST

START_TEST(test_token_rate)
{
	struct cw_config *cfg;

	/* Both ends of the ranges; either key alone. */
	cfg = expect_ok(
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "scopes = ingest\n"
	    "rate = 1\n"
	    "burst = 1000000000\n"
	    "[token:b]\n"
	    "secret = bbbbbbbbbb\n"
	    "scopes = read\n"
	    "rate = 1000000000\n"
	    "[token:c]\n"
	    "secret = cccccccccc\n"
	    "burst = 1\n"
	    "scopes = admin\n");
	ck_assert_uint_eq(cfg->tokens[0].rate, 1);
	ck_assert_uint_eq(cfg->tokens[0].burst, 1000000000);
	ck_assert_uint_eq(cfg->tokens[1].rate, 1000000000);
	ck_assert_uint_eq(cfg->tokens[1].burst, 1000000);
	ck_assert_uint_eq(cfg->tokens[2].rate, 100000);
	ck_assert_uint_eq(cfg->tokens[2].burst, 1);
	config_free(cfg);

	expect_errors(
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "scopes = ingest\n"
	    "rate = 0\n"
	    "burst = 1000000001\n"
	    "[token:b]\n"
	    "secret = bbbbbbbbbb\n"
	    "scopes = ingest\n"
	    "rate = 2.5\n"
	    "burst = -1\n"
	    "rate = 10\n",
	    5,
	    "F:4: rate: must be a whole number from 1 to 1000000000\n"
	    "F:5: burst: must be a whole number from 1 to 1000000000\n"
	    "F:9: rate: must be a whole number from 1 to 1000000000\n"
	    "F:10: burst: must be a whole number from 1 to 1000000000\n"
	    "F:11: duplicate key \"rate\" in [token:b]\n");
}
END_TEST

START_TEST(test_missing_secret_or_scopes)
{
	expect_errors(
	    "[token:a]\n"
	    "scopes = read\n"
	    "[token:b]\n"
	    "secret = bbbbbbbbbb\n"
	    "[token:c]\n",
	    4,
	    "F:1: [token:a]: secret or secret_file is required\n"
	    "F:3: [token:b]: scopes is required\n"
	    "F:5: [token:c]: secret or secret_file is required\n"
	    "F:5: [token:c]: scopes is required\n");
}
END_TEST

START_TEST(test_secret_and_secret_file)
{
	expect_errors(
	    "[token:a]\n"
	    "secret = aaaaaaaaaa\n"
	    "secret_file = /etc/passwd\n"
	    "scopes = read\n"
	    "[token:b]\n"
	    "secret_file = /nonexistent/b.token\n"
	    "scopes = read\n"
	    "secret = bbbbbbbbbb\n"
	    "[token:c]\n"
	    "secret = short\n"		/* bad, but given */
	    "secret_file = /etc/passwd\n"
	    "scopes = read\n",
	    5,
	    "F:3: secret_file: only one of secret and secret_file may be "
	    "given\n"
	    "F:6: secret_file: cannot open the file: No such file or "
	    "directory\n"
	    "F:8: secret: only one of secret and secret_file may be given\n"
	    "F:10: secret: the secret must be at least 8 bytes\n"
	    "F:11: secret_file: only one of secret and secret_file may be "
	    "given\n");
}
END_TEST

START_TEST(test_short_secret)
{
	struct cw_config *cfg;

	expect_errors(
	    "[token:a]\n"
	    "secret = 1234567\n"
	    "scopes = read\n",
	    1,
	    "F:2: secret: the secret must be at least 8 bytes\n");
	cfg = expect_ok("[token:a]\nsecret = 12345678\nscopes = read\n");
	config_free(cfg);
}
END_TEST

START_TEST(test_duplicate_secret)
{
	expect_errors(
	    "[token:a]\n"
	    "secret = same-secret\n"
	    "scopes = read\n"
	    "[token:b]\n"
	    "scopes = ingest\n"
	    "secret = same-secret\n"
	    "[token:c]\n"
	    "secret = same-secret-not\n"
	    "scopes = ingest\n",
	    1,
	    "F:6: secret: [token:b] has the same secret as [token:a]\n");
}
END_TEST

START_TEST(test_secret_file)
{
	struct cw_config *cfg;
	char spath[256], text[512];
	const char *content = "file-secret-0123 \n\n";
	int fd;

	snprintf(spath, sizeof(spath), "%s/check_config-secret-XXXXXX",
	    tmp_dir());
	fd = mkstemp(spath);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	ck_assert_int_eq(close(fd), 0);

	snprintf(text, sizeof(text),
	    "[token:filed]\n"
	    "secret_file = %s   ; trailing white space is trimmed\n"
	    "scopes = ingest\n", spath);
	cfg = expect_ok(text);
	ck_assert_str_eq(cfg->tokens[0].secret, "file-secret-0123");
	config_free(cfg);

	/* An empty (all white space) file is an error at that line. */
	fd = open(spath, O_WRONLY | O_TRUNC);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, " \n\n", 3), 3);
	ck_assert_int_eq(close(fd), 0);
	snprintf(text, sizeof(text),
	    "[token:filed]\n"
	    "scopes = ingest\n"
	    "secret_file = %s\n", spath);
	expect_errors(text, 1, "F:3: secret_file: the file is empty\n");

	/* So is an unreadable one (a directory) or a missing one. */
	unlink(spath);
	snprintf(text, sizeof(text),
	    "[token:a]\n"
	    "scopes = ingest\n"
	    "secret_file = %s\n"
	    "[token:b]\n"
	    "scopes = ingest\n"
	    "secret_file = %s\n", spath, tmp_dir());
	expect_errors(text, 2,
	    "F:3: secret_file: cannot open the file: No such file or "
	    "directory\n"
	    "F:6: secret_file: cannot read the file: Is a directory\n");
}
END_TEST

START_TEST(test_env)
{
	struct cw_config *cfg;

	ck_assert_int_eq(setenv("CW_TEST_DB_URL", "postgresql://envhost/db",
	    1), 0);
	ck_assert_int_eq(setenv("CW_TEST_SECRET", "secret-from-env", 1), 0);
	ck_assert_int_eq(setenv("CW_TEST_PORT", "127.0.0.1:7070", 1), 0);
	ck_assert_int_eq(setenv("CW_TEST_EVENTS", "77", 1), 0);
	cfg = expect_ok(
	    "[server]\n"
	    "listen = env:CW_TEST_PORT\n"
	    "max_events = env:CW_TEST_EVENTS   ; numbers too\n"
	    "[database]\n"
	    "url = env:CW_TEST_DB_URL\n"
	    "[token:e]\n"
	    "secret = env:CW_TEST_SECRET\n"
	    "scopes = read\n");
	ck_assert_str_eq(cfg->listen, "127.0.0.1:7070");
	ck_assert_uint_eq(cfg->max_events, 77);
	ck_assert_str_eq(cfg->db_url, "postgresql://envhost/db");
	ck_assert_str_eq(cfg->tokens[0].secret, "secret-from-env");
	config_free(cfg);

	/* The value from the environment is validated like any other. */
	ck_assert_int_eq(setenv("CW_TEST_EVENTS", "lots", 1), 0);
	expect_errors("[server]\nmax_events = env:CW_TEST_EVENTS\n", 1,
	    "F:2: max_events: must be a whole number from 1 to 1000000\n");

	unsetenv("CW_TEST_DB_URL");
	unsetenv("CW_TEST_SECRET");
	unsetenv("CW_TEST_PORT");
	unsetenv("CW_TEST_EVENTS");
}
END_TEST

START_TEST(test_env_unset)
{
	unsetenv("CW_TEST_UNSET");
	expect_errors(
	    "[database]\n"
	    "url = env:CW_TEST_UNSET\n"
	    "[token:e]\n"
	    "secret = env:CW_TEST_UNSET\n"
	    "scopes = read\n"
	    "[spool]\n"
	    "dir = env:\n"
	    "max_bytes = env:NOT-A-NAME\n",
	    4,
	    "F:2: url: env:CW_TEST_UNSET is not set\n"
	    "F:4: secret: env:CW_TEST_UNSET is not set\n"
	    "F:7: dir: env: must be followed by an environment variable "
	    "name\n"
	    "F:8: max_bytes: env: must be followed by an environment "
	    "variable name\n");
}
END_TEST

START_TEST(test_syntax_error)
{
	expect_errors(
	    "[server]\n"
	    "this line has no equals sign\n"
	    "[ingest\n"
	    "horizon_days = 1\n"	/* not blamed on [server] */
	    "[log] level = info\n"
	    "[]\n"
	    "[[log]]\n"
	    "[log]\n"
	    "= value without a key\n"
	    "level: info\n"
	    "level = info\n"
	    "   indented = not a continuation\n"
	    "bogus = 1\n",
	    9,
	    "F:2: syntax error\n"
	    "F:3: syntax error\n"
	    "F:5: syntax error\n"
	    "F:6: syntax error\n"
	    "F:7: syntax error\n"
	    "F:9: syntax error\n"
	    "F:10: syntax error\n"
	    "F:12: unknown key \"indented\" in [log]\n"
	    "F:13: unknown key \"bogus\" in [log]\n");
}
END_TEST

START_TEST(test_long_lines)
{
	struct cw_config *cfg;
	char text[1024], val[512];

	/* 150 characters of value fit in libinih's line buffer ... */
	memset(val, 'x', 150);
	val[150] = '\0';
	snprintf(text, sizeof(text), "[database]\nurl = %s\n", val);
	cfg = expect_ok(text);
	ck_assert_str_eq(cfg->db_url, val);
	config_free(cfg);

	/* ... and long comments do not count ... */
	snprintf(text, sizeof(text), "[database]\nurl = x  ; %s\n", val);
	cfg = expect_ok(text);
	ck_assert_str_eq(cfg->db_url, "x");
	config_free(cfg);

	/* ... but 300 do not, and that is reported, not truncated. */
	memset(val, 'x', 300);
	val[300] = '\0';
	snprintf(text, sizeof(text), "[database]\nurl = %s\n[log]\n"
	    "level = info\n", val);
	{
		struct cw_config *c;
		char *errs;

		ck_assert_int_eq(load_text(text, &c, &errs), 1);
		ck_assert_msg(strncmp(errs, "F:2: line too long: at most ",
		    28) == 0, "got %s", errs);
		free(errs);
	}
}
END_TEST

START_TEST(test_three_errors)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_eq(load(DATA("config-three-errors.conf"), &cfg, &errs),
	    3);
	ck_assert_str_eq(errs,
	    "F:4: max_body_bytes: must be a whole number from 1024 to "
	    "1073741824\n"
	    "F:7: unknown section [server-x]\n"
	    "F:11: scopes: unknown scope; each must be ingest, read or "
	    "admin\n");
	free(errs);
}
END_TEST

START_TEST(test_find_token)
{
	struct cw_config *cfg;
	const struct cw_token *t;

	cfg = expect_ok(
	    "[token:one]\n"
	    "secret = first-secret\n"
	    "scopes = ingest\n"
	    "[token:two]\n"
	    "secret = second-secret\n"
	    "scopes = read, admin\n"
	    "[token:three]\n"
	    "secret = second-secret-longer\n"
	    "scopes = read\n");
	t = config_find_token(cfg, "first-secret", 12);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "one");
	t = config_find_token(cfg, "second-secret", 13);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "two");
	ck_assert_uint_eq(t->scopes, CW_SCOPE_READ | CW_SCOPE_ADMIN);
	t = config_find_token(cfg, "second-secret-longer", 20);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "three");
	/* Only the given bytes count, not a NUL after them. */
	t = config_find_token(cfg, "second-secret-longer", 13);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "two");

	ck_assert_ptr_null(config_find_token(cfg, "first-secreT", 12));
	ck_assert_ptr_null(config_find_token(cfg, "first-secre", 11));
	ck_assert_ptr_null(config_find_token(cfg, "first-secret-", 13));
	ck_assert_ptr_null(config_find_token(cfg, "first", 5));
	ck_assert_ptr_null(config_find_token(cfg, "", 0));
	ck_assert_ptr_null(config_find_token(cfg, NULL, 0));
	ck_assert_ptr_null(config_find_token(NULL, "first-secret", 12));
	config_free(cfg);

	cfg = expect_ok("");
	ck_assert_ptr_null(config_find_token(cfg, "first-secret", 12));
	config_free(cfg);
}
END_TEST

START_TEST(test_no_secrets_in_errors)
{
	static const char *secrets[] = {
		"Sh0rt-1", "TOP-s3cret-scopes", "TOP-s3cret-path",
		"TOP-s3cret-dup", "TOP-s3cret-unknown", "TOP-s3cret-bare",
		"TOP-s3cret-listen", "TOP-s3cret-env", "TOP-s3cret-level",
		"TOP-s3cret-section",
	};
	struct cw_config *cfg;
	char *errs;
	size_t i;

	ck_assert_int_eq(setenv("CW_TEST_SHORT", "Sh0rt-1", 1), 0);
	ck_assert_int_eq(setenv("CW_TEST_ENVSECRET", "TOP-s3cret-env", 1), 0);
	ck_assert_int_eq(load_text(
	    "[token:a]\n"
	    "secret = Sh0rt-1\n"			/* too short */
	    "scopes = TOP-s3cret-scopes\n"		/* in the wrong key */
	    "[token:b]\n"
	    "secret_file = TOP-s3cret-path\n"		/* not a path */
	    "scopes = read\n"
	    "[token:c]\n"
	    "secret = TOP-s3cret-dup\n"
	    "scopes = read\n"
	    "[token:d]\n"
	    "secret = TOP-s3cret-dup\n"			/* same as c */
	    "scopes = read\n"
	    "password = TOP-s3cret-unknown\n"		/* unknown key */
	    "TOP-s3cret-bare\n"				/* no key at all */
	    "[token:e]\n"
	    "secret = env:CW_TEST_SHORT\n"		/* too short */
	    "scopes = read\n"
	    "secret = TOP-s3cret-dup\n"			/* duplicate key */
	    "[token:f]\n"
	    "secret = env:CW_TEST_ENVSECRET\n"
	    "secret_file = TOP-s3cret-path\n"		/* both */
	    "scopes = read\n"
	    "[server]\n"
	    "listen = TOP-s3cret-listen\n"
	    "[log]\n"
	    "level = TOP-s3cret-level\n"
	    "[database]\n"
	    "url = env:CW_TEST_UNSET_TOO\n",
	    &cfg, &errs), 12);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		ck_assert_msg(strstr(errs, secrets[i]) == NULL,
		    "%s in:\n%s", secrets[i], errs);
	ck_assert_ptr_null(strstr(errs, "TOP-"));
	free(errs);
	unsetenv("CW_TEST_SHORT");
	unsetenv("CW_TEST_ENVSECRET");
}
END_TEST

/*
 * Every row of the key tables has one line of help, and every default a
 * row writes parses and is the built-in one (issue 13): a key added
 * without help, or a default changed in one place only, fails here.
 */
START_TEST(test_key_table_selfcheck)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int n;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	n = config_selfcheck(fp);
	fclose(fp);
	ck_assert_msg(n == 0, "key table problems:\n%s", buf);
	ck_assert_str_eq(buf, "");
	free(buf);
}
END_TEST

/* --dump-config is a valid configuration that states every default. */
START_TEST(test_dump_config)
{
	struct cw_config *cfg;
	char *buf = NULL, *errs;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	config_dump(fp, "test");
	fclose(fp);
	/* Some keys of each kind, with their help and bounds. */
	ck_assert_ptr_nonnull(strstr(buf, "\n[server]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nlisten = 127.0.0.1:8080\n"));
	ck_assert_ptr_nonnull(strstr(buf, "needs a restart"));
	ck_assert_ptr_nonnull(strstr(buf, "(1 .. 1000000)\nmax_events = "
	    "10000\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n#[token:NAME]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n#rate = 100000\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n[signal:login_absent]\n"
	    "## a signal of category usage\nenabled = true\n"
	    "severity = critical\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nmin_baseline_daily = 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n#pointer.FIELD =\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n#voice_phrases.CLASS =\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nstatement_timeout = 5s\n"));
	ck_assert_ptr_null(strstr(buf, " \n"));	/* no trailing blanks */

	ck_assert_int_eq(load_text(buf, &cfg, &errs), 0);
	free(errs);
	assert_defaults(cfg);
	config_free(cfg);
	free(buf);
}
END_TEST

/* The reload warning names the restart keys that changed, and only them. */
START_TEST(test_restart_changes)
{
	struct cw_config *a, *b;
	char buf[256];

	a = expect_ok("[server]\nlisten = 127.0.0.1:8080\n");
	b = expect_ok("[server]\nlisten = 127.0.0.1:8080\n"
	    "max_body_bytes = 2048\n[log]\nlevel = debug\n");
	ck_assert_int_eq(config_restart_changes(a, b, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	config_free(b);
	b = expect_ok("[server]\nlisten = 127.0.0.1:9090\n"
	    "max_connections = 10\n[database]\nsnapshot_interval = 1m\n"
	    "[spool]\ndir = /tmp/x\nmax_bytes = 10\n");
	ck_assert_int_eq(config_restart_changes(a, b, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "[server] listen, [server] max_connections, "
	    "[database] snapshot_interval, [spool] dir");
	config_free(a);
	config_free(b);
}
END_TEST

START_TEST(test_example_configs)
{
	struct cw_config *cfg;
	char *errs;

	/* The documented example states every default. */
	ck_assert_int_eq(load(CONF("churnwatch.conf"), &cfg, &errs), 0);
	free(errs);
	assert_defaults(cfg);
	config_free(cfg);

	ck_assert_int_eq(setenv("CHURNWATCH_DB_URL", "postgresql:///demo", 1),
	    0);
	ck_assert_int_eq(setenv("CHURNWATCH_DEMO_TOKEN", "demo-token-123456",
	    1), 0);
	ck_assert_int_eq(setenv("CHURNWATCH_SPOOL_DIR", "/tmp/demo-spool", 1),
	    0);
	ck_assert_int_eq(setenv("CHURNWATCH_DEMO_SLACK_SECRET",
	    "demo-signing-secret-1", 1), 0);
	ck_assert_int_eq(setenv("CHURNWATCH_DEMO_SLACK_TOKEN",
	    "xoxb-demo-0001", 1), 0);
	ck_assert_int_eq(load(CONF("demo.conf"), &cfg, &errs), 0);
	free(errs);
	ck_assert_str_eq(cfg->listen, "127.0.0.1:8080");
	ck_assert_str_eq(cfg->db_url, "postgresql:///demo");
	ck_assert_str_eq(cfg->spool_dir, "/tmp/demo-spool");
	ck_assert_int_eq(cfg->log_level, LOG_LVL_INFO);
	ck_assert_uint_eq(cfg->ntokens, 1);
	ck_assert_str_eq(cfg->tokens[0].name, "demo");
	ck_assert_str_eq(cfg->tokens[0].secret, "demo-token-123456");
	ck_assert_uint_eq(cfg->tokens[0].scopes,
	    CW_SCOPE_INGEST | CW_SCOPE_READ | CW_SCOPE_ADMIN);
	config_free(cfg);

	/* Without its environment the demo config says what is missing. */
	unsetenv("CHURNWATCH_DB_URL");
	unsetenv("CHURNWATCH_DEMO_TOKEN");
	unsetenv("CHURNWATCH_SPOOL_DIR");
	unsetenv("CHURNWATCH_DEMO_SLACK_SECRET");
	unsetenv("CHURNWATCH_DEMO_SLACK_TOKEN");
	ck_assert_int_eq(load(CONF("demo.conf"), &cfg, &errs), 6);
	ck_assert_ptr_nonnull(strstr(errs, "env:CHURNWATCH_DB_URL is not set"));
	ck_assert_ptr_nonnull(strstr(errs,
	    "env:CHURNWATCH_DEMO_TOKEN is not set"));
	ck_assert_ptr_nonnull(strstr(errs,
	    "env:CHURNWATCH_SPOOL_DIR is not set"));
	ck_assert_ptr_nonnull(strstr(errs,
	    "env:CHURNWATCH_DEMO_SLACK_SECRET is not set"));
	free(errs);
}
END_TEST

START_TEST(test_signal_good)
{
	struct cw_config *cfg;
	const struct sig_config *sc;
	const struct sig_params *p;
	char *errs;
	size_t i;

	ck_assert_int_eq(load(DATA("config-signals.conf"), &cfg, &errs), 0);
	free(errs);
	sc = &cfg->signals;
	ck_assert_uint_eq(sc->interval, 30);
	ck_assert_uint_eq(strv_len(sc->intent_patterns), 4);
	ck_assert_str_eq(sc->intent_patterns[0], "cancel");
	ck_assert_str_eq(sc->intent_patterns[1], "export data");
	ck_assert_str_eq(sc->intent_patterns[2], "解約");
	ck_assert_str_eq(sc->intent_patterns[3], "kündigung");
	ck_assert_uint_eq(strv_len(sc->competitors), 2);
	ck_assert_str_eq(sc->competitors[0], "rivalco");
	ck_assert_str_eq(sc->competitors[1], "other corp");

	p = &sc->sig[SIG_LOGIN_ABSENT];
	ck_assert_int_eq(p->enabled, 1);
	ck_assert_int_eq(p->severity, SEV_WARNING);
	ck_assert_int_eq(p->weight, 20);
	ck_assert_int_eq(signal_weight(p, p->severity), 20);
	ck_assert_str_eq(p->play, "Call them; ask what changed.");
	ck_assert_str_eq(signal_play(sc, SIG_LOGIN_ABSENT),
	    "Call them; ask what changed.");
	ck_assert(p->threshold[signal_threshold_find(SIG_LOGIN_ABSENT,
	    "min_baseline_logins")] == 5);
	ck_assert(p->threshold[signal_threshold_find(SIG_LOGIN_ABSENT,
	    "recent_days")] == 21);
	ck_assert(p->threshold[signal_threshold_find(SIG_LOGIN_ABSENT,
	    "baseline_days")] == 60);

	ck_assert_int_eq(sc->sig[SIG_USAGE_SPIKE].enabled, 0);
	ck_assert_int_eq(sc->sig[SIG_CHURN_INTENT].enabled, 1);

	p = &sc->sig[SIG_TICKET_VELOCITY];
	ck_assert(p->threshold[signal_threshold_find(SIG_TICKET_VELOCITY,
	    "ratio")] == 2.5);
	ck_assert(p->threshold[signal_threshold_find(SIG_TICKET_VELOCITY,
	    "min_tickets")] == 8);
	ck_assert(p->threshold[signal_threshold_find(SIG_TICKET_VELOCITY,
	    "recent_days")] == 30);
	ck_assert_int_eq(p->weight, -1);
	ck_assert_int_eq(signal_weight(p, p->severity), 15);
	ck_assert_ptr_null(p->play);
	ck_assert_str_eq(signal_play(sc, SIG_TICKET_VELOCITY),
	    signal_default_play(SIG_TICKET_VELOCITY));

	/* A severity alone brings its weight along. */
	p = &sc->sig[SIG_NO_TOUCH];
	ck_assert_int_eq(p->severity, SEV_CRITICAL);
	ck_assert_int_eq(signal_weight(p, p->severity), 30);
	p = &sc->sig[SIG_SEAT_UNDERUSE];
	ck_assert_int_eq(p->weight, 0);
	ck_assert_int_eq(signal_weight(p, SEV_CRITICAL), 0);
	ck_assert(p->threshold[signal_threshold_find(SIG_SEAT_UNDERUSE,
	    "ratio")] == 0.25);

	/* The rest kept their defaults. */
	for (i = 0; i < SIG__COUNT; i++) {
		if (i == SIG_LOGIN_ABSENT || i == SIG_USAGE_SPIKE ||
		    i == SIG_TICKET_VELOCITY || i == SIG_NO_TOUCH ||
		    i == SIG_SEAT_UNDERUSE)
			continue;
		ck_assert_int_eq(sc->sig[i].severity,
		    signal_default_severity(i));
		ck_assert_int_eq(sc->sig[i].weight, -1);
	}
	config_free(cfg);
}
END_TEST

START_TEST(test_signal_bounds)
{
	struct cw_config *cfg;
	const struct sig_params *p;

	/* Both ends of ranges, whole and decimal. */
	cfg = expect_ok(
	    "[signal:ticket_velocity]\n"
	    "min_tickets = 1\n"
	    "ratio = 1000\n"
	    "recent_days = 1\n"
	    "baseline_days = 179\n"
	    "weight = 100\n"
	    "[signal:login_decline]\n"
	    "ratio = 0.01\n"
	    "min_baseline_daily = 1000000\n"
	    "weight = 0\n"
	    "severity = info\n"
	    "enabled = no\n"
	    "[signal:onboarding_stall]\n"
	    "grace_days = 0\n"
	    "ratio = 0\n"
	    "onboarding_days = 3650\n"
	    "[signal:support_silence]\n"
	    "recent_days = 90\n"
	    "baseline_days = 90\n"
	    "enabled = off\n"
	    "[signal:champion_left]\n"
	    "enabled = yes\n"
	    "days = 180\n");
	p = &cfg->signals.sig[SIG_TICKET_VELOCITY];
	ck_assert(p->threshold[0] == 1 && p->threshold[1] == 1000 &&
	    p->threshold[2] == 1 && p->threshold[3] == 179);
	ck_assert_int_eq(p->weight, 100);
	p = &cfg->signals.sig[SIG_LOGIN_DECLINE];
	ck_assert(p->threshold[0] == 0.01 && p->threshold[1] == 1000000);
	ck_assert_int_eq(p->weight, 0);
	ck_assert_int_eq(p->severity, SEV_INFO);
	ck_assert_int_eq(p->enabled, 0);
	ck_assert_int_eq(cfg->signals.sig[SIG_SUPPORT_SILENCE].enabled, 0);
	ck_assert_int_eq(cfg->signals.sig[SIG_CHAMPION_LEFT].enabled, 1);
	ck_assert(cfg->signals.sig[SIG_CHAMPION_LEFT].threshold[0] == 180);
	config_free(cfg);
}
END_TEST

START_TEST(test_signal_unknown)
{
	expect_errors(
	    "[signal:login_absnt]\n"
	    "enabled = true\n"		/* keys of a bad section: not again */
	    "[signal:]\n"
	    "[signal:Login_Absent]\n"
	    "[signal:health_degraded]\n"
	    "[signal:login_absent]\n"
	    "enabled = false\n",
	    4,
	    "F:1: unknown signal in [signal:login_absnt]\n"
	    "F:3: unknown signal in [signal:]\n"
	    "F:4: unknown signal in [signal:Login_Absent]\n"
	    "F:5: unknown signal in [signal:health_degraded]\n");
}
END_TEST

START_TEST(test_signal_unknown_key)
{
	/* Another signal's threshold is no key of this one. */
	expect_errors(
	    "[signal:churn_intent]\n"
	    "ratio = 2\n"
	    "min_tickets = 3\n"
	    "days = 20\n"
	    "threshold = 3\n"
	    "[signal:no_touch]\n"
	    "grace_days = 7\n"
	    "recent_days = 7\n",
	    4,
	    "F:2: unknown key \"ratio\" in [signal:churn_intent]\n"
	    "F:3: unknown key \"min_tickets\" in [signal:churn_intent]\n"
	    "F:5: unknown key \"threshold\" in [signal:churn_intent]\n"
	    "F:8: unknown key \"recent_days\" in [signal:no_touch]\n");
}
END_TEST

START_TEST(test_signal_bad_values)
{
	expect_errors(
	    "[signal:ticket_velocity]\n"
	    "min_tickets = 0\n"
	    "ratio = 0.5\n"
	    "recent_days = 181\n"
	    "severity = severe\n"
	    "weight = 101\n"
	    "enabled = maybe\n"
	    "play =\n"
	    "baseline_days = 2.5\n"
	    "[signal:ticket_velocity]\n"
	    "ratio = 3\n"
	    "[signal:login_decline]\n"
	    "ratio = 1.01\n"
	    "min_baseline_daily = 0\n"
	    "severity = Critical\n"
	    "weight = -1\n",
	    13,
	    "F:2: min_tickets: must be a whole number from 1 to 1000000\n"
	    "F:3: ratio: must be a number from 1 to 1000\n"
	    "F:4: recent_days: must be a whole number from 1 to 180\n"
	    "F:5: severity: must be info, warning or critical\n"
	    "F:6: weight: must be a whole number from 0 to 100\n"
	    "F:7: enabled: must be true or false\n"
	    "F:8: play: must not be empty\n"
	    "F:9: baseline_days: must be a whole number from 1 to 180\n"
	    "F:10: duplicate section [signal:ticket_velocity]\n"
	    "F:13: ratio: must be a number from 0.01 to 1\n"
	    "F:14: min_baseline_daily: must be a number from 0.01 to "
	    "1000000\n"
	    "F:15: severity: must be info, warning or critical\n"
	    "F:16: weight: must be a whole number from 0 to 100\n");
}
END_TEST

START_TEST(test_signal_bad_number)
{
	static const char *bad[] = {
		"2.", ".5", "2,5", "-1", "+2", "1e3", "nan", "inf", "0x2",
		"2.5.1", "two", "", "2 .5",
	};
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[signal:usage_spike]\n"
		    "sigmas = %s\n", bad[i]);
		expect_errors(text, 1, "F:2: sigmas: must be a number from 0 "
		    "to 100\n");
	}
}
END_TEST

START_TEST(test_signal_spans)
{
	struct cw_config *cfg;

	expect_errors(
	    "[signal:login_absent]\n"
	    "recent_days = 100\n"
	    "baseline_days = 90\n"
	    "[signal:ticket_velocity]\n"
	    "baseline_days = 151\n"	/* 30 + 151 */
	    "[signal:usage_spike]\n"
	    "baseline_days = 180\n",
	    3,
	    "F:1: [signal:login_absent]: recent_days + baseline_days must be "
	    "at most 180 days (the history the windows keep), not 190\n"
	    "F:4: [signal:ticket_velocity]: recent_days + baseline_days must "
	    "be at most 180 days (the history the windows keep), not 181\n"
	    "F:7: baseline_days: must be a whole number from 2 to 179\n");

	cfg = expect_ok(
	    "[signal:ticket_velocity]\n"
	    "baseline_days = 150\n"
	    "[signal:support_silence]\n"
	    "recent_days = 60\n"
	    "baseline_days = 120\n");
	config_free(cfg);
}
END_TEST

START_TEST(test_signals_section)
{
	struct cw_config *cfg;

	cfg = expect_ok(
	    "[signals]\n"
	    "intent_patterns =\n"
	    "competitors = Solo\n"
	    "interval = 86400\n");
	ck_assert_uint_eq(strv_len(cfg->signals.intent_patterns), 0);
	ck_assert_uint_eq(strv_len(cfg->signals.competitors), 1);
	ck_assert_str_eq(cfg->signals.competitors[0], "solo");
	ck_assert_uint_eq(cfg->signals.interval, 86400);
	config_free(cfg);

	expect_errors(
	    "[signals]\n"
	    "intent_patterns = cancel,,contract\n"
	    "competitors = ,\n"
	    "interval = 0\n"
	    "threshold = 3\n"
	    "[signals]\n",
	    5,
	    "F:2: intent_patterns: empty item; separate the items with "
	    "single commas\n"
	    "F:3: competitors: empty item; separate the items with single "
	    "commas\n"
	    "F:4: interval: must be a whole number from 1 to 86400\n"
	    "F:5: unknown key \"threshold\" in [signals]\n"
	    "F:6: duplicate section [signals]\n");
	expect_errors("[signals]\ncompetitors = a, b,\n", 1,
	    "F:2: competitors: empty item; separate the items with single "
	    "commas\n");
}
END_TEST

/* voice_phrases.CLASS: one key per class, replacing that class only. */
START_TEST(test_voice_phrases)
{
	struct cw_config *cfg;
	const struct win_phrase *v;

	cfg = expect_ok(
	    "[signals]\n"
	    "voice_phrases.budget = Tight Budget, 予算\n"
	    "voice_phrases.time =\n"
	    "voice_phrases.legal-review = NDA\n");
	v = cfg->signals.voice_phrases;
	ck_assert_str_eq(v[0].text, "tight budget");
	ck_assert_str_eq(v[0].cls, "budget");
	ck_assert_str_eq(v[1].text, "予算");
	ck_assert_str_eq(v[2].text, "other tools");
	ck_assert_str_eq(v[10].text, "nda");
	ck_assert_str_eq(v[10].cls, "legal-review");
	ck_assert_ptr_null(v[11].text);
	config_free(cfg);

	expect_errors(
	    "[signals]\n"
	    "voice_phrases.price = hike\n"
	    "voice_phrases.price = raise\n"
	    "voice_phrases.Price = raise\n"
	    "voice_phrases. = x\n"
	    "voice_phrases.time = busy,,late\n",
	    4,
	    "F:3: duplicate key \"voice_phrases.price\" in [signals]\n"
	    "F:4: voice_phrases.Price: the class after \"voice_phrases.\" "
	    "must be 1 to 32 of a-z 0-9 _ -\n"
	    "F:5: unknown key \"voice_phrases.\" in [signals]\n"
	    "F:6: voice_phrases.time: empty item; separate the items with "
	    "single commas\n");
}
END_TEST

/* ---- [alerts], [receiver:NAME], [route:NAME], [digest] ---- */

START_TEST(test_alerts_good)
{
	struct cw_config *cfg;
	const struct cw_receiver *r;
	const struct alert_route *rt;
	char *errs;

	ck_assert_int_eq(setenv("CW_TEST_HOOK_SECRET", "hook-secret-0003", 1),
	    0);
	ck_assert_int_eq(load(DATA("config-alerts.conf"), &cfg, &errs), 0);
	free(errs);
	unsetenv("CW_TEST_HOOK_SECRET");

	ck_assert(cfg->alerts.resolve_after == 90 * 60 * USEC);
	ck_assert(cfg->alerts.repeat_interval == 2 * 86400 * USEC);
	ck_assert(cfg->group_wait == 30 * USEC);
	ck_assert_uint_eq(cfg->group_max, 0);

	/* Receivers in file order, with their types' defaults. */
	ck_assert_uint_eq(cfg->nreceivers, 4);
	r = &cfg->receivers[0];
	ck_assert_str_eq(r->name, "cs-slack");
	ck_assert_int_eq(r->type, CW_RECEIVER_SLACK);
	ck_assert_str_eq(r->url,
	    "https://hooks.slack.com/services/T000/B000/XXXX");
	ck_assert_ptr_null(r->secret);
	ck_assert_uint_eq(r->timeout, 5);
	ck_assert(r->rate == 1.0);
	ck_assert_uint_eq(r->burst, 3);
	ck_assert(!r->group_wait_set && !r->group_max_set);
	r = &cfg->receivers[1];
	ck_assert_str_eq(r->name, "Ops.Hook_2");
	ck_assert_int_eq(r->type, CW_RECEIVER_WEBHOOK);
	ck_assert_str_eq(r->url, "http://127.0.0.1:9099/hook");
	ck_assert_str_eq(r->secret, "hook-secret-0003");
	ck_assert_uint_eq(r->timeout, 300);
	ck_assert(r->rate == 2.5);
	ck_assert_uint_eq(r->burst, 20);
	ck_assert(r->group_wait_set && r->group_wait == 0);
	ck_assert(r->group_max_set && r->group_max == 50);
	r = &cfg->receivers[2];
	ck_assert_str_eq(r->name, "audit");
	ck_assert_int_eq(r->type, CW_RECEIVER_LOG);
	ck_assert_ptr_null(r->url);
	ck_assert_ptr_null(r->secret);
	ck_assert_uint_eq(r->timeout, 10);
	ck_assert(r->rate == 10.0);
	ck_assert_uint_eq(r->burst, 10);
	r = &cfg->receivers[3];
	ck_assert_str_eq(r->name, "late");
	ck_assert_int_eq(r->type, CW_RECEIVER_WEBHOOK);
	ck_assert_str_eq(r->url, "HTTPS://example.com:8443/churn?x=1");
	ck_assert_ptr_null(r->secret);
	ck_assert_uint_eq(r->timeout, 10);
	ck_assert(r->rate == 10.0);
	ck_assert_uint_eq(r->burst, 10);

	ck_assert_ptr_eq(config_find_receiver(cfg, "audit"),
	    &cfg->receivers[2]);
	ck_assert_ptr_null(config_find_receiver(cfg, "Audit"));
	ck_assert_ptr_null(config_find_receiver(cfg, NULL));
	ck_assert_ptr_null(config_find_receiver(NULL, "audit"));
	ck_assert_str_eq(config_receiver_type_name(CW_RECEIVER_SLACK),
	    "slack");
	ck_assert_str_eq(config_receiver_type_name(CW_RECEIVER_WEBHOOK),
	    "webhook");
	ck_assert_str_eq(config_receiver_type_name(CW_RECEIVER_LOG), "log");
	ck_assert_str_eq(config_receiver_type_name(CW_RECEIVER_SLACK_APP),
	    "slack-app");
	ck_assert_ptr_null(config_receiver_type_name(4));
	ck_assert_ptr_null(config_receiver_type_name(-1));

	/* Routes in file order. */
	ck_assert_uint_eq(cfg->nroutes, 4);
	rt = &cfg->routes[0];
	ck_assert_str_eq(rt->name, "health");
	ck_assert_str_eq(rt->category, "health");
	ck_assert_ptr_null(rt->severity);
	ck_assert_ptr_null(rt->signal);
	ck_assert_ptr_null(rt->segment);
	ck_assert_ptr_null(rt->owner);
	ck_assert_uint_eq(strv_len(rt->receivers), 1);
	ck_assert_str_eq(rt->receivers[0], "audit");
	ck_assert_int_eq(rt->cont, 1);
	rt = &cfg->routes[1];
	ck_assert_str_eq(rt->name, "critical-to-slack");
	ck_assert_ptr_null(rt->category);
	ck_assert_str_eq(rt->severity, "critical");
	ck_assert_uint_eq(strv_len(rt->receivers), 2);
	ck_assert_str_eq(rt->receivers[0], "cs-slack");
	ck_assert_str_eq(rt->receivers[1], "Ops.Hook_2");	/* as written */
	ck_assert_int_eq(rt->cont, 0);
	rt = &cfg->routes[2];
	ck_assert_str_eq(rt->name, "enterprise");
	ck_assert_str_eq(rt->signal, "login_absent");
	ck_assert_str_eq(rt->segment, "Enterprise");
	ck_assert_str_eq(rt->owner, "alice@example.com");
	ck_assert_int_eq(rt->cont, 0);
	rt = &cfg->routes[3];
	ck_assert_str_eq(rt->name, "catch-all");
	ck_assert_ptr_null(rt->category);
	ck_assert_ptr_null(rt->severity);
	ck_assert_ptr_null(rt->signal);
	ck_assert_str_eq(rt->receivers[0], "late");

	ck_assert_int_eq(cfg->digest.enabled, 1);
	ck_assert_int_eq(cfg->digest.hour, 7);
	ck_assert_int_eq(cfg->digest.minute, 30);
	ck_assert_str_eq(cfg->digest.timezone, "Asia/Tokyo");
	ck_assert_uint_eq(strv_len(cfg->digest.receivers), 2);
	ck_assert_str_eq(cfg->digest.receivers[0], "cs-slack");
	ck_assert_str_eq(cfg->digest.receivers[1], "late");
	ck_assert_uint_eq(cfg->digest.top, 25);

	/* What alert_route() makes of them. */
	{
		struct alert_facts f = { "usage", "critical", "login_absent",
		    "Enterprise", "alice@example.com", "false" };
		const char *out[8];

		ck_assert_uint_eq(alert_route(cfg->routes, cfg->nroutes, &f,
		    out, 8), 2);
		ck_assert_str_eq(out[0], "cs-slack");
		ck_assert_str_eq(out[1], "Ops.Hook_2");
		f.category = "health";
		f.severity = "warning";
		f.signal = "health_degraded";
		ck_assert_uint_eq(alert_route(cfg->routes, cfg->nroutes, &f,
		    out, 8), 2);
		ck_assert_str_eq(out[0], "audit");
		ck_assert_str_eq(out[1], "late");
	}
	config_free(cfg);
}
END_TEST

START_TEST(test_portfolio)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_eq(load_text("[portfolio]\n"
	    "enabled = false\n"
	    "min_accounts = 3\n"
	    "days = 30\n"
	    "severity = info\n"
	    "play = Tell product.\n", &cfg, &errs), 0);
	free(errs);
	ck_assert_int_eq(cfg->portfolio.enabled, 0);
	ck_assert_uint_eq(cfg->portfolio.min_accounts, 3);
	ck_assert_uint_eq(cfg->portfolio.days, 30);
	ck_assert_int_eq(cfg->portfolio.severity, SEV_INFO);
	ck_assert_str_eq(config_portfolio_play(cfg), "Tell product.");
	config_free(cfg);

	/* The bounds: two accounts at least, days within the windows. */
	ck_assert_int_eq(load_text("[portfolio]\nmin_accounts = 2\n"
	    "days = 180\n", &cfg, &errs), 0);
	free(errs);
	config_free(cfg);
	expect_errors("[portfolio]\n"
	    "min_accounts = 1\n"
	    "days = 0\n"
	    "[portfolio]\n", 3,
	    "F:2: min_accounts: must be a whole number from 2 to 1000000\n"
	    "F:3: days: must be a whole number from 1 to 180\n"
	    "F:4: duplicate section [portfolio]\n");
	expect_errors("[portfolio]\n"
	    "days = 181\n"
	    "severity = high\n"
	    "enabled = maybe\n"
	    "accounts = 5\n", 4,
	    "F:2: days: must be a whole number from 1 to 180\n"
	    "F:3: severity: must be info, warning or critical\n"
	    "F:4: enabled: must be true or false\n"
	    "F:5: unknown key \"accounts\" in [portfolio]\n");

	/* Routes and silences name it. */
	ck_assert_int_eq(load_text("[receiver:r]\ntype = log\n"
	    "[route:p]\nsignal = portfolio\ncategory = portfolio\n"
	    "receivers = r\n", &cfg, &errs), 0);
	free(errs);
	ck_assert_str_eq(cfg->routes[0].signal, "portfolio");
	ck_assert_str_eq(cfg->routes[0].category, "portfolio");
	config_free(cfg);
}
END_TEST

START_TEST(test_durations)
{
	static const struct {
		const char	*in;
		int64_t		 secs;
	} good[] = {
		{ "0", 0 }, { "0s", 0 }, { "0d", 0 }, { "59", 59 },
		{ "60s", 60 }, { "1m", 60 }, { "90m", 5400 }, { "1h", 3600 },
		{ "36h", 129600 }, { "7d", 604800 }, { "365d", 31536000 },
		{ "8760h", 31536000 }, { "31536000", 31536000 },
		{ "007m", 420 },
	};
	static const char *bad[] = {
		"", "s", "h", "-1", "+1", "1.5h", "1 h", "1w", "1H", "1hs",
		"1d1h", "366d", "31536001", "525601m", "8761h",
		"99999999999999999999d", "0x10", "1e3", "h1", "env",
	};
	struct cw_config *cfg;
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[alerts]\nresolve_after = %s\n",
		    good[i].in);
		cfg = expect_ok(text);
		ck_assert_msg(cfg->alerts.resolve_after == good[i].secs * USEC,
		    "%s", good[i].in);
		ck_assert(cfg->alerts.repeat_interval == 7 * 86400 * USEC);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[alerts]\nresolve_after = %s\n",
		    bad[i]);
		expect_errors(text, 1, "F:2: resolve_after: must be from 0 to "
		    "31536000 seconds, as a whole number with an optional "
		    "unit s, m, h or d (\"90m\", \"7d\")\n");
	}

	/* repeat_interval: at least a second. */
	cfg = expect_ok("[alerts]\nrepeat_interval = 1m\nresolve_after = 1h\n");
	ck_assert(cfg->alerts.repeat_interval == 60 * USEC);
	ck_assert(cfg->alerts.resolve_after == 3600 * USEC);
	config_free(cfg);
	cfg = expect_ok("[alerts]\nrepeat_interval = 365d\n");
	ck_assert(cfg->alerts.repeat_interval == INT64_C(31536000) * USEC);
	config_free(cfg);
	expect_errors(
	    "[alerts]\n"
	    "repeat_interval = 0s\n"
	    "resolve_after = 1w\n"
	    "interval = 5\n"
	    "[alerts]\n",
	    4,
	    "F:2: repeat_interval: must be from 1 to 31536000 seconds, as a "
	    "whole number with an optional unit s, m, h or d (\"90m\", "
	    "\"7d\")\n"
	    "F:3: resolve_after: must be from 0 to 31536000 seconds, as a "
	    "whole number with an optional unit s, m, h or d (\"90m\", "
	    "\"7d\")\n"
	    "F:4: unknown key \"interval\" in [alerts]\n"
	    "F:5: duplicate section [alerts]\n");
}
END_TEST

/* ---- issue 10: [alerts] settling and renewal, [coverage], [health] ---- */

START_TEST(test_true_alert_keys)
{
	struct cw_config *cfg;
	const struct alert_route *rt;

	cfg = expect_ok("");
	ck_assert(cfg->alerts.backfill_age == 3600 * USEC);
	ck_assert(cfg->alerts.settle == 60 * USEC);
	ck_assert(cfg->alerts.renewal_window == 90 * 86400 * USEC);
	ck_assert_int_eq(cfg->coverage[SIGCAT_USAGE], 0);
	ck_assert_ptr_null(cfg->health_play[0]);
	ck_assert_ptr_nonnull(strstr(config_health_play(cfg, 0),
	    "expansion"));
	ck_assert_ptr_nonnull(strstr(config_health_play(cfg, 1),
	    "enablement"));
	ck_assert_ptr_nonnull(strstr(config_health_play(cfg, 2),
	    "manager calls"));
	ck_assert_ptr_null(config_health_play(cfg, 3));
	config_free(cfg);

	cfg = expect_ok("[alerts]\nbackfill_age = 2h\nsettle = 0\n"
	    "renewal_window = 30d\n"
	    "[coverage]\nusage = 2026-01-01\nsupport = 1970-01-02\n"
	    "[health]\nplay_yellow = Run the study group.\n"
	    "[receiver:r]\ntype = log\n"
	    "[route:renewing]\nrenewal = true\nreceivers = r\n");
	ck_assert(cfg->alerts.backfill_age == 7200 * USEC);
	ck_assert(cfg->alerts.settle == 0);
	ck_assert(cfg->alerts.renewal_window == 30 * 86400 * USEC);
	ck_assert_int_eq(cfg->coverage[SIGCAT_USAGE], 20454);
	ck_assert_int_eq(cfg->coverage[SIGCAT_SUPPORT], 1);
	ck_assert_int_eq(cfg->coverage[SIGCAT_ORG], 0);
	ck_assert_str_eq(config_health_play(cfg, 1), "Run the study group.");
	ck_assert_ptr_nonnull(strstr(config_health_play(cfg, 2),
	    "manager calls"));
	ck_assert_uint_eq(cfg->nroutes, 1);
	rt = &cfg->routes[0];
	ck_assert_str_eq(rt->renewal, "true");
	{
		struct alert_facts f = { "usage", "critical", "login_absent",
		    NULL, NULL, "true" };
		const char *out[4];

		ck_assert_uint_eq(alert_route(cfg->routes, cfg->nroutes, &f,
		    out, 4), 1);
		f.renewal = "false";
		ck_assert_uint_eq(alert_route(cfg->routes, cfg->nroutes, &f,
		    out, 4), 0);
	}
	config_free(cfg);

	expect_errors("[coverage]\nusage = 2026-13-01\nsales = 2026-01-01\n"
	    "org = yesterday\nsupport = 1970-01-01\n"
	    "[route:x]\nrenewal = yes\n",
	    6,
	    "F:2: usage: must be a date as YYYY-MM-DD\n"
	    "F:3: unknown key \"sales\" in [coverage]\n"
	    "F:4: org: must be a date as YYYY-MM-DD\n"
	    "F:5: support: must be a date as YYYY-MM-DD\n"
	    "F:7: renewal: must be true or false\n"
	    "F:6: [route:x]: receivers is required\n");
}
END_TEST

/* [database] statement_timeout: a duration of 1 s to 1 h, default 5 s. */
START_TEST(test_statement_timeout)
{
	static const struct {
		const char	*in;
		int64_t		 secs;
	} good[] = {
		{ "1", 1 }, { "1s", 1 }, { "5", 5 }, { "30s", 30 },
		{ "2m", 120 }, { "1h", 3600 }, { "3600", 3600 }, { "60m", 3600 },
	};
	static const char *bad[] = {
		"0", "0s", "", "-1", "1.5", "500ms", "1 s", "3601", "61m",
		"2h", "1d", "5x", "env",
	};
	struct cw_config *cfg;
	char text[128];
	size_t i;

	cfg = expect_ok("[database]\nurl = postgresql:///x\n");
	ck_assert(cfg->db_statement_timeout == 5 * USEC);
	config_free(cfg);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[database]\n"
		    "statement_timeout = %s\n", good[i].in);
		cfg = expect_ok(text);
		ck_assert_msg(cfg->db_statement_timeout == good[i].secs * USEC,
		    "%s", good[i].in);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[database]\n"
		    "statement_timeout = %s\n", bad[i]);
		expect_errors(text, 1, "F:2: statement_timeout: must be from 1 "
		    "to 3600 seconds, as a whole number with an optional unit "
		    "s, m, h or d (\"90m\", \"7d\")\n");
	}
	expect_errors("[database]\nstatement_timeout = 5\n"
	    "statement_timeout = 6\n", 1,
	    "F:3: duplicate key \"statement_timeout\" in [database]\n");
}
END_TEST

/* ---- [slack], type = slack-app, [owner:NAME] (SPEC 2.7, 5) ---- */

START_TEST(test_slack_app)
{
	struct cw_config *cfg;
	const struct cw_receiver *r;
	const struct cw_owner *o;
	char *errs;

	/* [slack] after the receivers: its token and api_url still apply. */
	ck_assert_int_eq(load_text(
	    "[receiver:app]\n"
	    "type = slack-app\n"
	    "channel = cs-alerts\n"
	    "[receiver:own]\n"
	    "type = slack-app\n"
	    "bot_token = xoxb-own-token-0001\n"
	    "channel = C0123ABCD\n"
	    "[owner:alice]\n"
	    "slack_channel = cs-alice\n"
	    "[owner:Bob Smith]\n"
	    "receivers = own\n"
	    "[slack]\n"
	    "signing_secret = 8f742231b10e8888abcd99yyyzzz85a5\n"
	    "bot_token = xoxb-shared-token-0002\n"
	    "api_url = http://127.0.0.1:9/api\n", &cfg, &errs), 0);
	free(errs);
	r = config_find_receiver(cfg, "app");
	ck_assert_int_eq(r->type, CW_RECEIVER_SLACK_APP);
	ck_assert_str_eq(r->secret, "xoxb-shared-token-0002");
	ck_assert_str_eq(r->url, "http://127.0.0.1:9/api");
	ck_assert_str_eq(r->channel, "cs-alerts");
	ck_assert(r->rate == 1.0);
	ck_assert_uint_eq(r->burst, 3);
	r = config_find_receiver(cfg, "own");
	ck_assert_str_eq(r->secret, "xoxb-own-token-0001");
	ck_assert_str_eq(cfg->slack.signing_secret,
	    "8f742231b10e8888abcd99yyyzzz85a5");
	ck_assert_uint_eq(cfg->nowners, 2);
	o = config_find_owner(cfg, "alice");
	ck_assert_str_eq(o->slack_channel, "cs-alice");
	ck_assert_ptr_null(o->receivers);
	o = config_find_owner(cfg, "Bob Smith");
	ck_assert_ptr_null(o->slack_channel);
	ck_assert_str_eq(o->receivers[0], "own");
	ck_assert_ptr_null(o->receivers[1]);
	ck_assert_ptr_null(config_find_owner(cfg, "carol"));
	ck_assert_ptr_null(config_find_owner(cfg, NULL));
	config_free(cfg);

	/* The default Web API, and what is missing or misplaced. */
	ck_assert_int_eq(load_text("[slack]\n"
	    "bot_token = xoxb-shared-token-0002\n"
	    "[receiver:app]\ntype = slack-app\nchannel = x\n", &cfg, &errs),
	    0);
	free(errs);
	ck_assert_str_eq(cfg->receivers[0].url, "https://slack.com/api");
	config_free(cfg);

	expect_errors(
	    "[receiver:notoken]\n"
	    "type = slack-app\n"
	    "channel = x\n"
	    "[receiver:nochan]\n"
	    "type = slack-app\n"
	    "bot_token = xoxb-own-token-0001\n"
	    "[receiver:hook]\n"
	    "type = webhook\n"
	    "url = https://example.com/\n"
	    "channel = x\n"
	    "bot_token = xoxb-own-token-0001\n"
	    "[receiver:app2]\n"
	    "type = slack-app\n"
	    "channel = has space\n"
	    "bot_token = xoxb-own-token-0001\n"
	    "webhook_url = https://hooks.slack.com/x\n"
	    "[owner:carol]\n"
	    "[owner:dave]\n"
	    "receivers = nowhere\n",
	    8,
	    "F:4: [receiver:nochan]: type slack-app needs channel (where "
	    "alerts of accounts without a slack_channel go)\n"
	    "F:11: bot_token: not a key of type webhook receivers\n"
	    "F:10: channel: not a key of type webhook receivers\n"
	    "F:14: channel: must be a Slack channel id or name, 1 to 80 "
	    "characters without spaces\n"
	    "F:16: webhook_url: not a key of type slack-app receivers\n"
	    "F:17: [owner:carol]: slack_channel or receivers is required\n"
	    "F:19: receivers: unknown receiver \"nowhere\" in [owner:dave]\n"
	    "F:1: [receiver:notoken]: type slack-app needs bot_token, here or "
	    "in [slack]\n");
}
END_TEST

/* Secrets of the Slack app are never echoed in errors. */
START_TEST(test_slack_secrets_not_echoed)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_ne(load_text("[slack]\n"
	    "signing_secret = short\n"
	    "bot_token = xoxb-tok\n", &cfg, &errs), 0);
	ck_assert_ptr_null(strstr(errs, "short"));
	ck_assert_ptr_null(strstr(errs, "xoxb-tok"));
	free(errs);
}
END_TEST

START_TEST(test_receiver_type)
{
	expect_errors(
	    "[receiver:a]\n"
	    "type = email\n"
	    "[receiver:b]\n"
	    "type = Slack\n"
	    "webhook_url = https://hooks.slack.com/x\n"
	    "[receiver:c]\n"
	    "url = https://example.com/\n"
	    "[receiver:d]\n"
	    "type =\n",
	    4,
	    "F:2: type: must be slack, slack-app, webhook or log\n"
	    "F:4: type: must be slack, slack-app, webhook or log\n"
	    "F:6: [receiver:c]: type is required\n"
	    "F:9: type: must be slack, slack-app, webhook or log\n");
}
END_TEST

START_TEST(test_receiver_keys_by_type)
{
	struct cw_config *cfg;

	/* Each type needs its URL and takes no other type's keys. */
	expect_errors(
	    "[receiver:s1]\n"
	    "type = slack\n"
	    "timeout = 3\n"
	    "[receiver:w1]\n"
	    "secret = abcdefghij\n"
	    "type = webhook\n"
	    "[receiver:s2]\n"
	    "type = slack\n"
	    "url = https://hooks.slack.com/x\n"
	    "secret = abcdefghij\n"
	    "[receiver:w2]\n"
	    "type = webhook\n"
	    "url = https://example.com/a\n"
	    "webhook_url = https://example.com/b\n"
	    "[receiver:l1]\n"
	    "type = log\n"
	    "webhook_url = https://hooks.slack.com/x\n"
	    "secret_file = /nonexistent\n",
	    9,
	    "F:1: [receiver:s1]: type slack needs webhook_url\n"
	    "F:4: [receiver:w1]: type webhook needs url\n"
	    "F:9: url: not a key of type slack receivers\n"
	    "F:7: [receiver:s2]: type slack needs webhook_url\n"
	    "F:10: secret: not a key of type slack receivers\n"
	    "F:14: webhook_url: not a key of type webhook receivers\n"
	    "F:18: secret_file: cannot open the file: No such file or "
	    "directory\n"
	    "F:17: webhook_url: not a key of type log receivers\n"
	    "F:18: secret_file: not a key of type log receivers\n");

	/* A log receiver needs nothing but its type. */
	cfg = expect_ok("[receiver:l]\ntype = log\ntimeout = 1\nrate = 0.5\n"
	    "burst = 1000\n");
	ck_assert_uint_eq(cfg->nreceivers, 1);
	ck_assert_uint_eq(cfg->receivers[0].timeout, 1);
	ck_assert(cfg->receivers[0].rate == 0.5);
	ck_assert_uint_eq(cfg->receivers[0].burst, 1000);
	config_free(cfg);
}
END_TEST

START_TEST(test_receiver_values)
{
	static const char *bad_url[] = {
		"ftp://example.com/", "hooks.slack.com/services/x", "https://",
		"https:///path", "http://?x", "https://exa mple.com/",
		"//example.com", "https:/example.com",
		"mailto:a@example.com",
	};
	struct cw_config *cfg;
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		snprintf(text, sizeof(text), "[receiver:s]\ntype = slack\n"
		    "webhook_url = %s\n", bad_url[i]);
		expect_errors(text, 1, "F:3: webhook_url: must be an http:// "
		    "or https:// URL\n");
	}
	expect_errors(
	    "[receiver:w]\n"
	    "type = webhook\n"
	    "url = example.com\n"
	    "timeout = 0\n"
	    "rate = 0\n"
	    "burst = 0\n"
	    "[receiver:x]\n"
	    "type = webhook\n"
	    "url = http://example.com\n"
	    "timeout = 301\n"
	    "rate = 1000.5\n"
	    "burst = 1001\n"
	    "[receiver:y]\n"
	    "type = slack\n"
	    "webhook_url = https://hooks.slack.com/y\n"
	    "rate = -1\n"
	    "[receiver:z]\n"
	    "type = slack\n"
	    "webhook_url = https://hooks.slack.com/z\n"
	    "rate = fast\n"
	    "secret = short\n",
	    11,
	    "F:3: url: must be an http:// or https:// URL\n"
	    "F:4: timeout: must be a whole number from 1 to 300\n"
	    "F:5: rate: must be a number of messages per second, more than 0 "
	    "and at most 1000\n"
	    "F:6: burst: must be a whole number from 1 to 1000\n"
	    "F:10: timeout: must be a whole number from 1 to 300\n"
	    "F:11: rate: must be a number of messages per second, more than "
	    "0 and at most 1000\n"
	    "F:12: burst: must be a whole number from 1 to 1000\n"
	    "F:16: rate: must be a number of messages per second, more than "
	    "0 and at most 1000\n"
	    "F:20: rate: must be a number of messages per second, more than "
	    "0 and at most 1000\n"
	    "F:21: secret: the secret must be at least 8 bytes\n"
	    "F:21: secret: not a key of type slack receivers\n");

	/* Both ends of the ranges. */
	cfg = expect_ok(
	    "[receiver:w]\n"
	    "type = webhook\n"
	    "url = http://h\n"
	    "timeout = 300\n"
	    "rate = 1000\n"
	    "burst = 1\n"
	    "[receiver:s]\n"
	    "type = slack\n"
	    "webhook_url = https://hooks.slack.com/services/T/B/X\n"
	    "timeout = 1\n"
	    "rate = 0.001\n");
	ck_assert_uint_eq(cfg->receivers[0].timeout, 300);
	ck_assert(cfg->receivers[0].rate == 1000);
	ck_assert_uint_eq(cfg->receivers[0].burst, 1);
	ck_assert(cfg->receivers[1].rate == 0.001);
	ck_assert_uint_eq(cfg->receivers[1].burst, 3);
	config_free(cfg);
}
END_TEST

START_TEST(test_receiver_name)
{
	expect_errors(
	    "[receiver:hook]\n"
	    "type = log\n"
	    "[receiver:other]\n"
	    "type = log\n"
	    "[receiver:hook]\n"
	    "type = webhook\n"		/* keys of a bad section: not again */
	    "url = nope\n"
	    "[receiver:]\n"
	    "[receiver:a b]\n"
	    "[receiver:Hook]\n"		/* names are case-sensitive */
	    "type = log\n",
	    3,
	    "F:5: duplicate section [receiver:hook]\n"
	    "F:8: bad receiver name in [receiver:]: use 1 to 64 characters of "
	    "A-Z a-z 0-9 _ . -\n"
	    "F:9: bad receiver name in [receiver:a b]: use 1 to 64 characters "
	    "of A-Z a-z 0-9 _ . -\n");
}
END_TEST

START_TEST(test_receiver_secret_file)
{
	struct cw_config *cfg;
	char spath[256], text[512];
	const char *content = "hook-file-secret\n";
	int fd;

	snprintf(spath, sizeof(spath), "%s/check_config-hook-XXXXXX",
	    tmp_dir());
	fd = mkstemp(spath);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	ck_assert_int_eq(close(fd), 0);

	snprintf(text, sizeof(text),
	    "[receiver:w]\n"
	    "type = webhook\n"
	    "url = https://example.com/hook\n"
	    "secret_file = %s\n", spath);
	cfg = expect_ok(text);
	ck_assert_str_eq(cfg->receivers[0].secret, "hook-file-secret");
	config_free(cfg);

	snprintf(text, sizeof(text),
	    "[receiver:w]\n"
	    "type = webhook\n"
	    "url = https://example.com/hook\n"
	    "secret = hook-secret-inline\n"
	    "secret_file = %s\n", spath);
	expect_errors(text, 1, "F:5: secret_file: only one of secret and "
	    "secret_file may be given\n");
	unlink(spath);

	/* A token and a receiver may share a secret: they sign different things. */
	cfg = expect_ok(
	    "[token:t]\n"
	    "secret = shared-secret\n"
	    "scopes = read\n"
	    "[receiver:w]\n"
	    "type = webhook\n"
	    "url = https://example.com/hook\n"
	    "secret = shared-secret\n");
	config_free(cfg);
}
END_TEST

START_TEST(test_route_unknown_receiver)
{
	expect_errors(
	    "[route:first]\n"
	    "severity = critical\n"
	    "receivers = cs-slack, nope\n"
	    "[receiver:cs-slack]\n"	/* after the route: fine */
	    "type = slack\n"
	    "webhook_url = https://hooks.slack.com/x\n"
	    "[route:second]\n"
	    "receivers = CS-Slack\n"	/* names are case-sensitive */
	    "[digest]\n"
	    "receivers = cs-slack, gone\n"
	    "[server]\n"
	    "listen = nowhere\n",
	    4,
	    "F:12: listen: must be host:port or [ipv6]:port with a port from "
	    "1 to 65535\n"
	    "F:3: receivers: unknown receiver \"nope\" in [route:first]\n"
	    "F:8: receivers: unknown receiver \"CS-Slack\" in [route:second]\n"
	    "F:10: receivers: unknown receiver \"gone\" in [digest]\n");

	/* A receiver whose section was rejected does not exist either. */
	expect_errors(
	    "[receiver:a/b]\n"
	    "type = log\n"
	    "[route:r]\n"
	    "receivers = a\n",
	    2,
	    "F:1: bad receiver name in [receiver:a/b]: use 1 to 64 characters "
	    "of A-Z a-z 0-9 _ . -\n"
	    "F:4: receivers: unknown receiver \"a\" in [route:r]\n");
}
END_TEST

START_TEST(test_route_values)
{
	struct cw_config *cfg;

	expect_errors(
	    "[receiver:r]\n"
	    "type = log\n"
	    "[route:a]\n"
	    "category = billing\n"
	    "severity = Critical\n"
	    "signal = login_absnt\n"
	    "segment =\n"
	    "owner =\n"
	    "continue = maybe\n"
	    "receivers = r\n"
	    "matcher = x\n"
	    "[route:b]\n"
	    "category = Usage\n"
	    "[route:c]\n"
	    "receivers =\n"
	    "[route:d]\n"
	    "receivers = r,,r\n"
	    "[route:e]\n"
	    "receivers = r, https://hooks.slack.com/x\n"
	    "[route:a]\n"
	    "receivers = r\n"
	    "[route:]\n"
	    "[route:x y]\n",
	    15,
	    "F:4: category: must be support, org, competitor, usage, "
	    "engagement, health or portfolio\n"
	    "F:5: severity: must be info, warning or critical\n"
	    "F:6: signal: must be the name of a signal, health_degraded or "
	    "portfolio\n"
	    "F:7: segment: must not be empty\n"
	    "F:8: owner: must not be empty\n"
	    "F:9: continue: must be true or false\n"
	    "F:11: unknown key \"matcher\" in [route:a]\n"
	    "F:13: category: must be support, org, competitor, usage, "
	    "engagement, health or portfolio\n"
	    "F:12: [route:b]: receivers is required\n"
	    "F:15: receivers: name one or more [receiver:NAME] sections\n"
	    "F:17: receivers: empty item; separate the items with single "
	    "commas\n"
	    "F:19: receivers: each item must be a receiver name: 1 to 64 "
	    "characters of A-Z a-z 0-9 _ . -\n"
	    "F:20: duplicate section [route:a]\n"
	    "F:22: bad route name in [route:]: use 1 to 64 characters of "
	    "A-Z a-z 0-9 _ . -\n"
	    "F:23: bad route name in [route:x y]: use 1 to 64 characters of "
	    "A-Z a-z 0-9 _ . -\n");

	/* Every category, severity and signal name is a valid matcher. */
	cfg = expect_ok(
	    "[receiver:r]\n"
	    "type = log\n"
	    "[route:1]\n"
	    "category = support\n"
	    "severity = info\n"
	    "signal = health_degraded\n"
	    "receivers = r, r\n"
	    "continue = yes\n"
	    "[route:2]\n"
	    "category = org\n"
	    "severity = warning\n"
	    "signal = no_touch\n"
	    "receivers = r\n"
	    "[route:3]\n"
	    "category = competitor\n"
	    "receivers = r\n"
	    "[route:4]\n"
	    "category = usage\n"
	    "receivers = r\n"
	    "[route:5]\n"
	    "category = engagement\n"
	    "receivers = r\n"
	    "[route:6]\n"
	    "category = health\n"
	    "receivers = r\n");
	ck_assert_uint_eq(cfg->nroutes, 6);
	ck_assert_str_eq(cfg->routes[0].signal, "health_degraded");
	ck_assert_int_eq(cfg->routes[0].cont, 1);
	ck_assert_str_eq(cfg->routes[1].signal, "no_touch");
	ck_assert_int_eq(cfg->routes[1].cont, 0);
	ck_assert_str_eq(cfg->routes[5].category, "health");
	config_free(cfg);
}
END_TEST

START_TEST(test_digest_at)
{
	static const char *bad[] = {
		"9:00", "24:00", "12:60", "0900", "12:00:00", "", "ab:cd",
		"-1:00", "12.30", " 9:00", "9h",
	};
	struct cw_config *cfg;
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[digest]\nat = %s\n", bad[i]);
		expect_errors(text, 1, "F:2: at: must be a time of day as HH:MM, "
		    "from 00:00 to 23:59\n");
	}
	cfg = expect_ok("[digest]\nat = 00:00\n");
	ck_assert_int_eq(cfg->digest.hour, 0);
	ck_assert_int_eq(cfg->digest.minute, 0);
	ck_assert_int_eq(cfg->digest.enabled, 0);	/* no receivers */
	config_free(cfg);
	cfg = expect_ok("[digest]\nat = 23:59\ntop = 100\nreceivers =\n");
	ck_assert_int_eq(cfg->digest.hour, 23);
	ck_assert_int_eq(cfg->digest.minute, 59);
	ck_assert_uint_eq(cfg->digest.top, 100);
	ck_assert_int_eq(cfg->digest.enabled, 0);
	config_free(cfg);
	expect_errors(
	    "[digest]\n"
	    "top = 0\n"
	    "[digest]\n"
	    "top = 101\n",
	    2,
	    "F:2: top: must be a whole number from 1 to 100\n"
	    "F:3: duplicate section [digest]\n");
}
END_TEST

START_TEST(test_digest_timezone)
{
	static const char *good[] = {
		"UTC", "Asia/Tokyo", "Etc/GMT+9", "Europe/Paris",
		"America/Argentina/Buenos_Aires", "Etc/UTC",
	};
	static const char *bad[] = {
		"Asia/Tokio", "../../../etc/passwd", "/usr/share/zoneinfo/UTC",
		"/etc/localtime", "Asia/../UTC", "Asia/./Tokyo", "Asia",
		"Asia/", "Europe//Paris", ".", "..", "utc", "zone.tab",
		"iso3166.tab", "UTC+9", "",
	};
	struct cw_config *cfg;
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[digest]\ntimezone = %s\n",
		    good[i]);
		cfg = expect_ok(text);
		ck_assert_str_eq(cfg->digest.timezone, good[i]);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[digest]\ntimezone = %s\n",
		    bad[i]);
		expect_errors(text, 1, "F:2: timezone: must be a time zone of "
		    "/usr/share/zoneinfo, such as Asia/Tokyo or UTC\n");
	}
}
END_TEST

START_TEST(test_no_alert_secrets_in_errors)
{
	static const char *secrets[] = {
		"TOP-s3cret-url", "TOP-s3cret-slack", "TOP-s3cret-short",
		"TOP-s3cret-path", "TOP-s3cret-rate", "TOP-s3cret-type",
		"TOP-s3cret-tz", "TOP-s3cret-at", "TOP-s3cret/recv",
		"TOP-s3cret-env", "TOP-s3cret-dur", "TOP-s3cret-cat",
		"TOP-s3cret-log",
	};
	struct cw_config *cfg;
	char *errs;
	size_t i;

	ck_assert_int_eq(setenv("CW_TEST_HOOKSHORT", "TOP-s3c", 1), 0);
	ck_assert_int_eq(setenv("CW_TEST_HOOKURL", "TOP-s3cret-env", 1), 0);
	ck_assert_int_eq(load_text(
	    "[receiver:s]\n"
	    "type = slack\n"
	    "webhook_url = TOP-s3cret-url\n"		/* not a URL */
	    "secret = TOP-s3cret-slack\n"		/* not for slack */
	    "[receiver:w]\n"
	    "type = webhook\n"
	    "url = env:CW_TEST_HOOKURL\n"		/* not a URL */
	    "secret = env:CW_TEST_HOOKSHORT\n"		/* too short */
	    "rate = TOP-s3cret-rate\n"
	    "[receiver:w2]\n"
	    "type = TOP-s3cret-type\n"
	    "secret_file = TOP-s3cret-path\n"
	    "[receiver:l]\n"
	    "type = log\n"
	    "webhook_url = https://TOP-s3cret-log/\n"	/* not for log */
	    "[route:r]\n"
	    "receivers = TOP-s3cret/recv\n"
	    "category = TOP-s3cret-cat\n"
	    "[alerts]\n"
	    "resolve_after = TOP-s3cret-dur\n"
	    "[digest]\n"
	    "timezone = TOP-s3cret-tz\n"
	    "at = TOP-s3cret-at\n",
	    &cfg, &errs), 13);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		ck_assert_msg(strstr(errs, secrets[i]) == NULL,
		    "%s in:\n%s", secrets[i], errs);
	ck_assert_ptr_null(strstr(errs, "TOP-"));
	free(errs);
	unsetenv("CW_TEST_HOOKSHORT");
	unsetenv("CW_TEST_HOOKURL");
}
END_TEST

/* ---- [source:NAME] ---- */

START_TEST(test_source_good)
{
	struct cw_config *cfg;
	const struct wh_source *z, *f;
	char path[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/check_config-prev-XXXXXX",
	    tmp_dir());
	ck_assert_int_ne(mkstemp(path), -1);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("old-secret-from-file\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(setenv("CW_TEST_ZD_SECRET", "zendesk-secret-1", 1),
	    0);

	cfg = expect_ok_arg(
	    "[source:zendesk]\n"
	    "signature = zendesk\n"
	    "secret = env:CW_TEST_ZD_SECRET\n"
	    "secret_previous_file = @ARG@\n"
	    "max_skew = 600\n"
	    "type_pointer = /type\n"
	    "type_map.ticket.created = zen:event-type:ticket.created\n"
	    "type_map.ticket.updated = a:b , c:d\n"
	    "pointer.id = /id\n"
	    "pointer.ts = /time\n"
	    "pointer.account_id = /detail/organization_id\n"
	    "pointer.ticket_id = /detail/id\n"
	    "pointer.subject = /detail/subject\n"
	    "pointer.tags = /detail/tags\n"
	    "default.priority = normal\n"
	    "default.sentiment = -0.5\n"
	    "[source:form]\n"
	    "type = contact.joined\n"
	    "pointer.account_id = \n"		/* "": the whole body */
	    "default.account_id = acme\n"
	    "pointer.contact_id = /a~1b/~0c/0\n"
	    "default.is_champion = true\n", path);
	ck_assert_uint_eq(cfg->nsources, 2);
	z = config_find_source(cfg, "zendesk");
	ck_assert_ptr_eq(z, &cfg->sources[0]);
	ck_assert_str_eq(z->name, "zendesk");
	ck_assert_int_eq(z->signature, WH_SIG_ZENDESK);
	ck_assert_str_eq(z->secret, "zendesk-secret-1");
	ck_assert_str_eq(z->secret_previous, "old-secret-from-file");
	ck_assert_uint_eq(z->max_skew, 600);
	ck_assert_int_eq(z->type, -1);
	ck_assert_str_eq(z->type_pointer, "/type");
	ck_assert_uint_eq(strv_len(z->type_map[EV_TICKET_CREATED]), 1);
	ck_assert_str_eq(z->type_map[EV_TICKET_CREATED][0],
	    "zen:event-type:ticket.created");
	ck_assert_uint_eq(strv_len(z->type_map[EV_TICKET_UPDATED]), 2);
	ck_assert_str_eq(z->type_map[EV_TICKET_UPDATED][1], "c:d");
	ck_assert_ptr_null(z->type_map[EV_TICKET_SOLVED]);
	ck_assert_str_eq(z->pointer[WH_F_ID], "/id");
	ck_assert_str_eq(z->pointer[WH_F_ACCOUNT_ID],
	    "/detail/organization_id");
	ck_assert_ptr_null(z->pointer[WH_F_USER_ID]);
	ck_assert_str_eq(z->def[WH_F_PRIORITY], "normal");
	ck_assert_str_eq(z->def[WH_F_SENTIMENT], "-0.5");

	f = config_find_source(cfg, "form");
	ck_assert_ptr_eq(f, &cfg->sources[1]);
	ck_assert_int_eq(f->signature, WH_SIG_NONE);
	ck_assert_ptr_null(f->secret);
	ck_assert_uint_eq(f->max_skew, 300);		/* the default */
	ck_assert_int_eq(f->type, EV_CONTACT_JOINED);
	ck_assert_ptr_null(f->type_pointer);
	ck_assert_str_eq(f->pointer[WH_F_ACCOUNT_ID], "");
	ck_assert_str_eq(f->def[WH_F_ACCOUNT_ID], "acme");
	ck_assert_str_eq(f->pointer[WH_F_CONTACT_ID], "/a~1b/~0c/0");
	ck_assert_str_eq(f->def[WH_F_IS_CHAMPION], "true");
	ck_assert_ptr_null(config_find_source(cfg, "Zendesk"));
	ck_assert_ptr_null(config_find_source(cfg, NULL));
	ck_assert_ptr_null(config_find_source(NULL, "form"));
	config_free(cfg);
	unlink(path);
	unsetenv("CW_TEST_ZD_SECRET");

	/* No source: none. */
	cfg = expect_ok("[server]\n");
	ck_assert_uint_eq(cfg->nsources, 0);
	ck_assert_ptr_null(config_find_source(cfg, "zendesk"));
	config_free(cfg);
}
END_TEST

START_TEST(test_source_signature)
{
	struct cw_config *cfg;

	expect_errors(
	    "[source:a]\n"
	    "signature = github\n"
	    "secret = aaaaaaaaaa\n"
	    "type = login\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n"
	    "[source:b]\n"			/* no secret */
	    "signature = hmac-sha256\n"
	    "type = login\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n"
	    "[source:c]\n"			/* secrets, no signature */
	    "secret = aaaaaaaaaa\n"
	    "secret_previous = bbbbbbbbbb\n"
	    "type = login\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n"
	    "[source:d]\n"
	    "signature = intercom\n"
	    "secret = short\n"
	    "secret_previous = aaaaaaaaaa\n"
	    "secret_previous_file = /nonexistent\n"
	    "max_skew = 0\n"
	    "type = login\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n",
	    7,
	    "F:2: signature: must be none, zendesk, hmac-sha256 or intercom\n"
	    "F:7: [source:b]: signature hmac-sha256 needs secret or "
	    "secret_file\n"
	    "F:13: secret: only with a signature (zendesk, hmac-sha256 or "
	    "intercom)\n"
	    "F:14: secret_previous: only with a signature (zendesk, "
	    "hmac-sha256 or intercom)\n"
	    "F:20: secret: the secret must be at least 8 bytes\n"
	    "F:22: secret_previous_file: only one of secret_previous and "
	    "secret_previous_file may be given\n"
	    "F:23: max_skew: must be a whole number from 1 to 86400\n");

	/* An empty secret_previous (or env: to an empty value) is none. */
	ck_assert_int_eq(setenv("CW_TEST_EMPTY", "", 1), 0);
	cfg = expect_ok(
	    "[source:a]\n"
	    "signature = intercom\n"
	    "secret = aaaaaaaaaa\n"
	    "secret_previous =\n"
	    "type = login\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n"
	    "[source:b]\n"
	    "signature = zendesk\n"
	    "secret = aaaaaaaaaa\n"
	    "secret_previous = env:CW_TEST_EMPTY\n"
	    "type = login\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n");
	ck_assert_int_eq(cfg->sources[0].signature, WH_SIG_INTERCOM);
	ck_assert_ptr_null(cfg->sources[0].secret_previous);
	ck_assert_ptr_null(cfg->sources[1].secret_previous);
	config_free(cfg);
	unsetenv("CW_TEST_EMPTY");
}
END_TEST

START_TEST(test_source_type)
{
	expect_errors(
	    "[source:a]\n"			/* neither */
	    "pointer.account_id = /a\n"
	    "[source:b]\n"			/* both */
	    "type = login\n"
	    "type_pointer = /t\n"
	    "type_map.login = in\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n"
	    "[source:c]\n"			/* pointer without map */
	    "type_pointer = /t\n"
	    "pointer.account_id = /a\n"
	    "[source:d]\n"			/* map without pointer */
	    "type = login\n"
	    "type_map.login = in\n"
	    "pointer.account_id = /a\n"
	    "pointer.user_id = /u\n"
	    "[source:e]\n"
	    "type = Login\n"
	    "type_pointer = t\n"
	    "type_map.login = \n"
	    "type_map.ticket.solved = a,,b\n"
	    "pointer.account_id = /a\n"
	    "[source:f]\n"			/* one value, two types */
	    "type_pointer = /t\n"
	    "type_map.ticket.created = new, open\n"
	    "type_map.ticket.updated = changed, new\n"
	    "pointer.account_id = /a\n"
	    "pointer.ticket_id = /id\n"
	    "[source:g]\n"			/* twice in one list */
	    "type_pointer = /t\n"
	    "type_map.ticket.created = new, new\n"
	    "pointer.account_id = /a\n"
	    "pointer.ticket_id = /id\n",
	    11,
	    "F:1: [source:a]: type or type_pointer is required\n"
	    "F:5: type_pointer: only one of type and type_pointer may be "
	    "given\n"
	    "F:10: type_pointer: needs one or more type_map.TYPE = VALUE "
	    "keys\n"
	    "F:14: type_map.login: only with type_pointer\n"
	    "F:18: type: must be an event type: login, feature_used, "
	    "ticket.created, ticket.updated, ticket.solved, contact.joined, "
	    "contact.left, contact.changed, competitor.signal, touchpoint, "
	    "note, account.churned, account.renewed or account.contracted\n"
	    "F:19: type_pointer: must be a JSON Pointer (RFC 6901) such as "
	    "/ticket/id: empty, or \"/\" and tokens, with ~ only in ~0 and "
	    "~1\n"
	    "F:20: type_map.login: name one or more of the sender's values, "
	    "separated by commas\n"
	    "F:21: type_map.ticket.solved: empty item; separate the items "
	    "with single commas\n"
	    "F:19: type_pointer: only one of type and type_pointer may be "
	    "given\n"
	    "F:26: type_map.ticket.updated: a value is listed twice (here or "
	    "in type_map.ticket.created)\n"
	    "F:31: type_map.ticket.created: a value is listed twice (here or "
	    "in type_map.ticket.created)\n");
}
END_TEST

START_TEST(test_source_fields)
{
	expect_errors(
	    "[source:a]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = org\n"		/* no leading / */
	    "pointer.ticket_id = /a~2\n"
	    "pointer.props = /p\n"			/* not a field */
	    "pointer.Subject = /s\n"
	    "type_map.signup = x\n"			/* not a type */
	    "default.id = abc\n"
	    "default.ts = 2026-11-20T09:30:00Z\n"
	    "default.priority = Normal\n"
	    "default.sentiment = 1.5\n"
	    "default.is_champion = yes\n"
	    "default.team =\n"
	    "pointer.ticket_id = /b\n"			/* duplicate */
	    "[source:b]\n"			/* checked as a whole */
	    "type = ticket.created\n"
	    "pointer.ticket_id = /id\n"
	    "[source:c]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = /a\n"
	    "[source:d]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = /a\n"
	    "pointer.ticket_id = /id\n"
	    "pointer.feature = /f\n"
	    "[source:e]\n"
	    "type_pointer = /t\n"
	    "type_map.login = in\n"
	    "type_map.feature_used = used\n"
	    "default.account_id = acme\n"
	    "pointer.user_id = /u\n"
	    "[source:bad/name]\n"
	    "type = login\n"
	    "[source:e]\n"
	    "type = login\n",
	    18,
	    "F:3: pointer.account_id: must be a JSON Pointer (RFC 6901) such "
	    "as /ticket/id: empty, or \"/\" and tokens, with ~ only in ~0 and "
	    "~1\n"
	    "F:4: pointer.ticket_id: must be a JSON Pointer (RFC 6901) such as "
	    "/ticket/id: empty, or \"/\" and tokens, with ~ only in ~0 and "
	    "~1\n"
	    "F:5: unknown key \"pointer.props\" in [source:a]\n"
	    "F:6: unknown key \"pointer.Subject\" in [source:a]\n"
	    "F:7: unknown key \"type_map.signup\" in [source:a]\n"
	    "F:8: default.id: id takes no default\n"
	    "F:9: default.ts: ts takes no default\n"
	    "F:10: default.priority: must be low, normal, high or urgent\n"
	    "F:11: default.sentiment: must be a number from -1 to 1\n"
	    "F:12: default.is_champion: must be true or false\n"
	    "F:13: default.team: must not be empty\n"
	    "F:14: duplicate key \"pointer.ticket_id\" in [source:a]\n"
	    "F:15: [source:b]: pointer.account_id or default.account_id is "
	    "required\n"
	    "F:18: [source:c]: pointer.ticket_id or default.ticket_id is "
	    "required (ticket.created needs ticket_id)\n"
	    "F:21: [source:d]: pointer.feature: feature is not a prop of "
	    "ticket.created\n"
	    "F:26: [source:e]: pointer.feature or default.feature is required "
	    "(feature_used needs feature)\n"
	    "F:32: bad source name in [source:bad/name]: use 1 to 64 "
	    "characters of A-Z a-z 0-9 _ . -\n"
	    "F:34: duplicate section [source:e]\n");
}
END_TEST

START_TEST(test_no_source_secrets_in_errors)
{
	struct cw_config *cfg;
	char *errs;

	ck_assert_int_eq(load_text(
	    "[source:a]\n"
	    "signature = TOP-s3cret-sig\n"
	    "secret = TOP-s3\n"
	    "secret_previous_file = TOP-s3cret-path\n"
	    "type = TOP-s3cret-type\n"
	    "pointer.account_id = TOP-s3cret-ptr\n"
	    "default.priority = TOP-s3cret-prio\n"
	    "pointer.TOP-s3cret-key = /x\n",
	    &cfg, &errs), 7);
	ck_assert_msg(strstr(errs, "s3cret-") == NULL || strstr(errs,
	    "\"pointer.TOP-s3cret-key\"") != NULL, "%s", errs);
	ck_assert_ptr_null(strstr(errs, "TOP-s3cret-sig"));
	ck_assert_ptr_null(strstr(errs, "TOP-s3cret-path"));
	ck_assert_ptr_null(strstr(errs, "TOP-s3cret-type"));
	ck_assert_ptr_null(strstr(errs, "TOP-s3cret-ptr"));
	ck_assert_ptr_null(strstr(errs, "TOP-s3cret-prio"));
	ck_assert_ptr_null(strstr(errs, "TOP-s3\n"));
	free(errs);
}
END_TEST

START_TEST(test_segment_login_events)
{
	struct cw_config *cfg;

	cfg = expect_ok("");
	ck_assert_ptr_null(cfg->segment_logins);
	ck_assert_uint_eq(cfg->nsegment_logins, 0);
	config_free(cfg);
	cfg = expect_ok("[segment]\nlogin_events = Logged On, Session Start\n");
	ck_assert_uint_eq(cfg->nsegment_logins, 2);
	ck_assert_str_eq(cfg->segment_logins[0], "Logged On");
	ck_assert_str_eq(cfg->segment_logins[1], "Session Start");
	ck_assert_ptr_null(cfg->segment_logins[2]);
	config_free(cfg);
	expect_errors("[segment]\nlogins = x\n", 1,
	    "F:2: unknown key \"logins\" in [segment]\n");
}
END_TEST

/*
 * A token and a source with the same name would share an idempotency
 * namespace: an error at the later section, whichever comes first.
 */
START_TEST(test_source_token_name_clash)
{
	struct cw_config *cfg;

	expect_errors(
	    "[token:zendesk]\n"
	    "secret = token-secret-1\n"
	    "scopes = ingest\n"
	    "[source:zendesk]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = /org\n"
	    "pointer.ticket_id = /id\n", 1,
	    "F:4: [source:zendesk]: a [token:zendesk] has the same name; "
	    "tokens and sources share one idempotency namespace, so their "
	    "names must differ\n");
	expect_errors(
	    "[source:zendesk]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = /org\n"
	    "pointer.ticket_id = /id\n"
	    "[token:other]\n"
	    "secret = token-secret-2\n"
	    "scopes = read\n"
	    "[token:zendesk]\n"
	    "secret = token-secret-1\n"
	    "scopes = ingest\n", 1,
	    "F:8: [token:zendesk]: a [source:zendesk] has the same name; "
	    "tokens and sources share one idempotency namespace, so their "
	    "names must differ\n");
	/* The section is still read: its own problems show as well. */
	expect_errors(
	    "[source:x]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = /org\n"
	    "pointer.ticket_id = /id\n"
	    "[token:x]\n"
	    "secret = token-secret-1\n"
	    "scopes = bogus\n", 2,
	    "F:5: [token:x]: a [source:x] has the same name; tokens and "
	    "sources share one idempotency namespace, so their names must "
	    "differ\n"
	    "F:7: scopes: unknown scope; each must be ingest, read or admin\n");
	/* Names differing only in case are different names. */
	cfg = expect_ok(
	    "[token:Zendesk]\n"
	    "secret = token-secret-1\n"
	    "scopes = ingest\n"
	    "[source:zendesk]\n"
	    "type = ticket.created\n"
	    "pointer.account_id = /org\n"
	    "pointer.ticket_id = /id\n");
	ck_assert_uint_eq(cfg->ntokens, 1);
	ck_assert_uint_eq(cfg->nsources, 1);
	config_free(cfg);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("config");

	tc = tcase_create("basic");
	tcase_add_test(tc, test_free_null);
	tcase_add_test(tc, test_split_listen);
	tcase_add_test(tc, test_defaults_empty_file);
	tcase_add_test(tc, test_defaults_partial);
	tcase_add_test(tc, test_good_full);
	tcase_add_test(tc, test_number_bounds);
	tcase_add_test(tc, test_comments);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_errs_null);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_key_outside_section);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_duplicate_section);
	tcase_add_test(tc, test_bad_number);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_bad_listen);
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_empty_string);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_three_errors);
	tcase_add_test(tc, test_statement_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("tokens");
	tcase_add_test(tc, test_token_name);
	tcase_add_test(tc, test_bad_scope);
	tcase_add_test(tc, test_token_rate);
	tcase_add_test(tc, test_missing_secret_or_scopes);
	tcase_add_test(tc, test_secret_and_secret_file);
	tcase_add_test(tc, test_short_secret);
	tcase_add_test(tc, test_duplicate_secret);
	tcase_add_test(tc, test_secret_file);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_env_unset);
	tcase_add_test(tc, test_find_token);
	tcase_add_test(tc, test_no_secrets_in_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_test(tc, test_signal_good);
	tcase_add_test(tc, test_signal_bounds);
	tcase_add_test(tc, test_signal_unknown);
	tcase_add_test(tc, test_signal_unknown_key);
	tcase_add_test(tc, test_signal_bad_values);
	tcase_add_test(tc, test_signal_bad_number);
	tcase_add_test(tc, test_signal_spans);
	tcase_add_test(tc, test_signals_section);
	tcase_add_test(tc, test_voice_phrases);
	suite_add_tcase(s, tc);

	tc = tcase_create("alerts");
	tcase_add_test(tc, test_alerts_good);
	tcase_add_test(tc, test_true_alert_keys);
	tcase_add_test(tc, test_portfolio);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_receiver_type);
	tcase_add_test(tc, test_slack_app);
	tcase_add_test(tc, test_slack_secrets_not_echoed);
	tcase_add_test(tc, test_receiver_keys_by_type);
	tcase_add_test(tc, test_receiver_values);
	tcase_add_test(tc, test_receiver_name);
	tcase_add_test(tc, test_receiver_secret_file);
	tcase_add_test(tc, test_route_unknown_receiver);
	tcase_add_test(tc, test_route_values);
	tcase_add_test(tc, test_digest_at);
	tcase_add_test(tc, test_digest_timezone);
	tcase_add_test(tc, test_no_alert_secrets_in_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("sources");
	tcase_add_test(tc, test_source_good);
	tcase_add_test(tc, test_source_signature);
	tcase_add_test(tc, test_source_type);
	tcase_add_test(tc, test_source_fields);
	tcase_add_test(tc, test_no_source_secrets_in_errors);
	tcase_add_test(tc, test_source_token_name_clash);
	suite_add_tcase(s, tc);

	tc = tcase_create("segment");
	tcase_add_test(tc, test_segment_login_events);
	suite_add_tcase(s, tc);

	tc = tcase_create("examples");
	tcase_add_test(tc, test_example_configs);
	suite_add_tcase(s, tc);

	tc = tcase_create("key table");
	tcase_add_test(tc, test_key_table_selfcheck);
	tcase_add_test(tc, test_dump_config);
	tcase_add_test(tc, test_restart_changes);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
