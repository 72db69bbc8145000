"""The command line: --version, --help, --check-config, --migrate, and a
plain start -> ready -> SIGTERM -> exit 0."""

import glob
import os
import re
import socket

from lib import (ROOT, Daemon, check, eq, fail, fresh_db, run_cli, scalar,
                 sql)


def test_version():
    rc, out, err = run_cli("--version")
    eq(rc, 0, "--version exit status")
    check(re.match(r"^churnwatchd \d+\.\d+(\.\d+)?\S*\n$", out),
          "--version prints 'churnwatchd X.Y.Z': got %r" % out)


def test_help():
    rc, out, err = run_cli("--help")
    eq(rc, 0, "--help exit status")
    for opt in ("--config", "--check-config", "--migrate", "--version",
                "--help"):
        check(opt in out, "--help does not mention %s:\n%s" % (opt, out))
    rc, out, err = run_cli("--no-such-option")
    check(rc != 0, "an unknown option must fail, got status 0")
    check("usage" in (out + err).lower(),
          "an unknown option prints the usage: %r" % (out + err))


def test_check_config_good():
    d = Daemon()
    try:
        path = d.write_config(d.config_text(port=8080))
        rc, out, err = run_cli("--config", path, "--check-config")
        eq(rc, 0, "--check-config status on a good file (stderr %r)" % err)
        check("configuration OK" in out,
              "--check-config prints 'configuration OK': %r" % out)
    finally:
        d.cleanup(True)


def test_check_config_bad():
    d = Daemon()
    try:
        good = d.config_text(port=8080).splitlines()
        # Insert problems after known lines, and remember their numbers.
        lines = []
        bad = {}
        for line in good:
            lines.append(line)
            if line == "[server]":
                lines.append("no_such_key = 1")
                bad["unknown key"] = len(lines)
                lines.append("max_body_bytes = lots")
                bad["bad number"] = len(lines)
        lines.append("[no_such_section]")
        bad["unknown section"] = len(lines)
        lines.append("x = y")
        path = d.write_config("\n".join(lines) + "\n")
        rc, out, err = run_cli("--config", path, "--check-config")
        eq(rc, 1, "--check-config status on a bad file")
        text = out + err
        check("configuration OK" not in text,
              "a bad file must not be reported OK: %r" % text)
        for what, n in bad.items():
            check("%s:%d:" % (path, n) in text,
                  "the %s on line %d is not reported as %s:%d: ...; "
                  "output:\n%s" % (what, n, path, n, text))
        # The daemon itself refuses to start with it.
        rc, out, err = run_cli("--config", path, timeout=20)
        eq(rc, 1, "churnwatchd start with a bad config: status")
        # A file that does not exist.
        missing = os.path.join(d.dir, "missing.conf")
        rc, out, err = run_cli("--config", missing, "--check-config")
        eq(rc, 1, "--check-config on a missing file: status")
        check(missing in out + err, "the missing file is named: %r" %
              (out + err))
    finally:
        d.cleanup(True)


def _migrations(db):
    return sql(db, "SELECT version, name, applied_at FROM schema_migrations "
               "ORDER BY version")


def test_migrate_twice_is_noop():
    files = sorted(glob.glob(os.path.join(ROOT, "sql", "[0-9]*.sql")))
    check(files, "no sql/NNN_*.sql files found under %s" % ROOT)
    db = fresh_db()
    d = Daemon(db=db)
    try:
        path = d.write_config(d.config_text(port=8080))
        rc, out, err = run_cli("--config", path, "--migrate", timeout=60)
        eq(rc, 0, "first --migrate status (stderr %r)" % err)
        first = _migrations(db)
        eq(len(first), len(files), "schema_migrations rows after --migrate "
           "(one per file in sql/)")
        versions = [int(r[0]) for r in first]
        want = [int(os.path.basename(f).split("_")[0]) for f in files]
        eq(versions, want, "schema_migrations versions")
        cols = [r[0] for r in sql(db, "SELECT column_name FROM "
                                  "information_schema.columns WHERE "
                                  "table_name = 'events'")]
        for c in ("source", "id", "account_id", "type", "ts", "user_id",
                  "props", "received_at"):
            check(c in cols, "events has no column %s (has %s)" % (c, cols))
        check(scalar(db, "SELECT to_regclass('accounts')") == "accounts",
              "no accounts table after --migrate")

        rc, out, err = run_cli("--config", path, "--migrate", timeout=60)
        eq(rc, 0, "second --migrate status (stderr %r)" % err)
        eq(_migrations(db), first, "schema_migrations after a second "
           "--migrate (must be unchanged)")

        # And a daemon started on the migrated database applies nothing.
        with Daemon(db=db) as d2:
            eq(d2.request("GET", "/readyz", token=None).status, 200,
               "/readyz")
        eq(_migrations(db), first, "schema_migrations after a start")
    finally:
        d.cleanup(True)


def test_start_ready_sigterm():
    d = Daemon()
    try:
        d.start()
        st, hdrs, body = d.request("GET", "/healthz", token=None)
        eq(st, 200, "/healthz status")
        check(hdrs.get("Content-Type", "").startswith("application/json"),
              "/healthz Content-Type: %r" % hdrs.get("Content-Type"))
        st, hdrs, body = d.request("GET", "/readyz", token=None)
        eq(st, 200, "/readyz status")
        check(isinstance(body, dict), "/readyz body is JSON: %r" % (body,))
        # The daemon migrated its fresh database at start-up.
        n = int(scalar(d.db, "SELECT count(*) FROM schema_migrations"))
        check(n >= 1, "no migration recorded after start-up")
        port = d.port
        d.stop()            # asserts exit status 0 and a clean log
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            fail("port %d still accepts connections after the stop" % port)
        except (ConnectionRefusedError, socket.timeout):
            pass
        finally:
            s.close()
    finally:
        d.cleanup(True)
