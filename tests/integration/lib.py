"""Shared helpers for the churnwatchd integration tests (stdlib only).

Environment (set by tests/run):
  CW_BIN      path of the churnwatchd binary under test
  CW_PG_DIR   directory of a running private PostgreSQL cluster (socket in
              $CW_PG_DIR/sock, user postgres, trust authentication)
  CW_PG_PORT  its port

Every test gets its own database (fresh_db()) and its own daemon (Daemon),
so tests do not depend on each other and may run in any order.
"""

import atexit
import http.client
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections import namedtuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG_CLUSTER = os.path.join(ROOT, "tools", "pg-cluster")

TOKENS = {
    "backend": "backend-secret-1",
    "reader": "reader-secret-1",
    "admin": "admin-secret-1",
}
TOKEN_SCOPES = {
    "backend": "ingest",
    "reader": "read",
    "admin": "ingest, read, admin",
}

# Markers that a sanitizer build writes to stderr when it finds a bug.
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

# Keep the whole suite quiet on success but debuggable on failure: the
# temporary directories of failed daemons are kept and named in the error.
KEEP_TMP = os.environ.get("CW_IT_KEEP") == "1"


class TestError(AssertionError):
    """A test failure with a readable message."""


def fail(msg):
    raise TestError(msg)


def check(cond, msg):
    if not cond:
        raise TestError(msg)


def eq(got, want, what="value"):
    if got != want:
        raise TestError("%s: expected %r, got %r" % (what, want, got))


def expect_error(resp, status, code, what):
    """Assert an error response: status, JSON {"error": code, "message"}.
    Returns the body."""
    st, hdrs, body = resp
    eq(st, status, "%s: status (body %r)" % (what, body))
    ctype = hdrs.get("Content-Type")
    check(ctype is not None and ctype.startswith("application/json"),
          "%s: error Content-Type is %r" % (what, ctype))
    check(isinstance(body, dict), "%s: error body is not a JSON object: "
          "%r" % (what, body))
    eq(body.get("error"), code, "%s: error code" % what)
    check(isinstance(body.get("message"), str) and body["message"],
          "%s: error without a message: %r" % (what, body))
    return body


def check_sanitizer_output(text, where):
    """Fail if text holds a sanitizer report; the reason names its
    SUMMARY line."""
    hits = [text.find(m) for m in SANITIZER_MARKERS if m in text]
    if not hits:
        return
    i = min(hits)
    start = text.rfind("\n", 0, i) + 1
    summary = [ln for ln in text.splitlines() if "SUMMARY:" in ln or
               "runtime error:" in ln]
    fail("sanitizer report in %s: %s\n%s" % (
        where, summary[0].strip() if summary else text[i:i + 100],
        text[start:start + 6000]))


def _env(name):
    v = os.environ.get(name)
    if not v:
        raise TestError("environment variable %s is not set (see "
                        "tests/integration/lib.py)" % name)
    return v


def cw_bin():
    return _env("CW_BIN")


def pg_dir():
    return _env("CW_PG_DIR")


def pg_port():
    return _env("CW_PG_PORT")


# ---- PostgreSQL ----

_NULL = "\x01NULL\x01"
_FS = "\x1f"
_RS = "\x1e"


def psql(db, *args, timeout=60):
    """Run psql (through tools/pg-cluster) on database db; returns stdout."""
    cmd = [PG_CLUSTER, "psql", pg_dir(), pg_port(), db, "-X",
           "-v", "ON_ERROR_STOP=1"] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if p.returncode != 0:
        raise TestError("psql on %s failed (%d): %s" % (
            db, p.returncode, p.stderr.decode(errors="replace").strip()))
    return p.stdout.decode()


def sql(db, query):
    """Rows of query as a list of tuples of str (None for SQL NULL)."""
    out = psql(db, "-qAt", "-F", _FS, "-R", _RS, "-P", "null=" + _NULL,
               "-c", query)
    if out.endswith("\n"):
        out = out[:-1]          # psql ends the output with one newline
    if out == "":
        return []
    rows = []
    for rec in out.split(_RS):
        rows.append(tuple(None if f == _NULL else f for f in rec.split(_FS)))
    return rows


def scalar(db, query):
    rows = sql(db, query)
    if not rows:
        return None
    return rows[0][0]


def lit(s):
    """A SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def db_cut(db):
    """Make db unreachable: no new connections, existing ones killed."""
    psql("postgres", "-qc",
         'ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % db)
    psql("postgres", "-qAtc",
         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
         "WHERE datname = %s AND pid <> pg_backend_pid()" % lit(db))


def db_restore(db):
    """Undo db_cut()."""
    psql("postgres", "-qc",
         'ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % db)


def count_events(db, where="true"):
    return int(scalar(db, "SELECT count(*) FROM events WHERE " + where))


def event_row(db, source, eid):
    """The stored event as a dict, or None."""
    rows = sql(db, "SELECT source, id, account_id, type, "
               "extract(epoch FROM ts)::float8, user_id, props::text, "
               "extract(epoch FROM received_at)::float8 FROM events "
               "WHERE source = %s AND id = %s" % (lit(source), lit(eid)))
    if not rows:
        return None
    r = rows[0]
    return {
        "source": r[0], "id": r[1], "account_id": r[2], "type": r[3],
        "ts": float(r[4]), "user_id": r[5], "props": json.loads(r[6]),
        "received_at": float(r[7]),
    }


_db_seq = itertools.count(1)
_db_lock = threading.Lock()
_created_dbs = []


def fresh_db(prefix="cwit"):
    """Create a new, empty database; returns its name."""
    with _db_lock:
        n = next(_db_seq)
    name = "%s_%d_%d_%s" % (prefix, os.getpid(), n, uuid.uuid4().hex[:6])
    psql("postgres", "-qc", 'CREATE DATABASE "%s"' % name)
    with _db_lock:
        _created_dbs.append(name)
    return name


def drop_dbs():
    """Drop every database fresh_db() made (called by run.py at the end)."""
    with _db_lock:
        names = list(_created_dbs)
        del _created_dbs[:]
    for name in names:
        try:
            psql("postgres", "-qc",
                 'ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % name)
            psql("postgres", "-qc",
                 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        except Exception:
            pass


atexit.register(drop_dbs)     # also when lib is used outside run.py


def db_url(db):
    p = subprocess.run([PG_CLUSTER, "url", pg_dir(), pg_port(), db],
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().strip()


# ---- events ----

_id_seq = itertools.count(1)


def uid(prefix="evt"):
    """A unique event id."""
    return "%s_%s_%d" % (prefix, uuid.uuid4().hex[:12], next(_id_seq))


def ev(eid=None, account="acme", type="login", user="u_1", **kw):
    """An event envelope; keyword arguments add or override members
    (a value of None leaves the member out)."""
    e = {"id": eid or uid(), "account_id": account, "type": type}
    if user is not None:
        e["user_id"] = user
    for k, v in kw.items():
        if v is not None:
            e[k] = v
    return e


def rfc3339(t):
    """An RFC 3339 UTC timestamp for the epoch time t (seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---- network ----

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


Response = namedtuple("Response", "status headers body")


class Headers(dict):
    """Response headers of RawConn: names are case-insensitive; repeated
    headers are joined with ", "."""

    def __setitem__(self, k, v):
        dict.__setitem__(self, k.lower(), v)

    def __getitem__(self, k):
        return dict.__getitem__(self, k.lower())

    def __contains__(self, k):
        return dict.__contains__(self, k.lower())

    def get(self, k, default=None):
        return dict.get(self, k.lower(), default)


def _parse_body(raw, ctype):
    if ctype and "json" in ctype and raw:
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            return raw
    return raw


class ConnectionClosed(Exception):
    pass


class RawConn:
    """A hand-driven HTTP/1.1 client connection."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out reading a response")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("connection closed by the server")
        self.buf += chunk

    def _read_until(self, marker, deadline):
        while marker not in self.buf:
            self._fill(deadline)
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_n(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, timeout=None):
        """Read one response: Response(status, headers, body).  headers is
        a Headers (case-insensitive dict); body is parsed JSON when it is JSON.
        Raises ConnectionClosed if the server closes before a full one."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            head = self._read_until(b"\r\n\r\n", deadline).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise TestError("bad status line %r" % lines[0])
            status = int(parts[1])
            headers = Headers()
            for line in lines[1:]:
                if not line:
                    continue
                k, _, v = line.partition(":")
                k = k.strip().lower()
                v = v.strip()
                headers[k] = headers[k] + ", " + v if k in headers else v
            if 100 <= status < 200:
                continue        # 100 Continue: the real answer follows
            break
        if "content-length" in headers:
            raw = self._read_n(int(headers["content-length"]), deadline)
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            raw = b""
            while True:
                size = int(self._read_until(b"\r\n", deadline).split(b";")[0]
                           .strip(), 16)
                if size == 0:
                    self._read_until(b"\r\n", deadline)
                    break
                raw += self._read_n(size, deadline)
                self._read_n(2, deadline)
        else:
            raw = self.buf
            self.buf = b""
            try:
                while True:
                    self._fill(deadline)
                    raw += self.buf
                    self.buf = b""
            except ConnectionClosed:
                pass
        return Response(status, headers,
                        _parse_body(raw, headers.get("content-type")))

    def wait_closed(self, timeout):
        """Wait for the server to close.  Returns "closed" (EOF or reset),
        "data" (it sent something; kept in self.buf) or "timeout".  Bytes
        already received but not read as a response count as "data"."""
        if self.buf:
            return "data"
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return "timeout"
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return "closed"
            if not chunk:
                return "closed"
            self.buf += chunk
            return "data"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def http_request(port, method, path, body=None, headers=None,
                 token="backend", timeout=15.0, conn=None):
    """One request with http.client; returns Response(status, headers,
    body).  body: dict/list (sent as JSON), str or bytes (sent as is).
    token: a name from TOKENS, a raw secret, or None for no Authorization.
    headers override the defaults; a header set to None is not sent.  With
    conn (an http.client.HTTPConnection) the request goes on it and it is
    left open; otherwise a new connection is made and closed."""
    hdrs = {}
    if token is not None:
        hdrs["Authorization"] = "Bearer " + TOKENS.get(token, token)
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    for k, v in (headers or {}).items():
        for have in list(hdrs):
            if have.lower() == k.lower():
                del hdrs[have]
        if v is not None:
            hdrs[k] = v
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        raw = r.read()
        return Response(r.status, r.headers,
                        _parse_body(raw, r.headers.get("Content-Type")))
    finally:
        if own:
            c.close()


def post_events(port, events, token="backend", **kw):
    return http_request(port, "POST", "/v1/events", body=events,
                        token=token, **kw)


# ---- the daemon ----

def _ini(sections):
    out = []
    for name, keys in sections:
        out.append("[%s]" % name)
        for k, v in keys.items():
            if v is not None:
                out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


_daemons = weakref.WeakSet()


def kill_all():
    """Kill every daemon a test left running (called by run.py)."""
    for d in list(_daemons):
        if d.proc is not None:
            d.cleanup(False)


class Daemon:
    """churnwatchd on its own port, temp dir and (by default) database.

        with Daemon(server={"max_events": 5}) as d:
            st, hdrs, body = d.request("GET", "/readyz")

    server / ingest / database: extra keys of [server] / [ingest] /
    [database] (snapshot_interval is 1 s unless given); extra: raw config
    text appended at the end.  The context manager starts the daemon, waits
    for /readyz, and on exit stops it with SIGTERM (asserting exit status 0
    and a clean log), or kills it if the test failed.
    """

    def __init__(self, db=None, server=None, ingest=None, extra="",
                 log_level="debug", spool_max_bytes=0, database=None):
        self.db = db or fresh_db()
        # Snapshots every second (30 s by default): restarts in tests
        # then read them, rather than replaying everything.
        self.database = {"snapshot_interval": "1s"}
        self.database.update(database or {})
        # The spool is off (0 bytes) unless a test asks for one: most
        # tests are about what happens without it.
        self.spool_max_bytes = spool_max_bytes
        self.server = dict(server or {})
        self.ingest = dict(ingest or {})
        self.extra = extra
        self.log_level = log_level
        self.dir = tempfile.mkdtemp(prefix="cwit-")
        self.config_path = os.path.join(self.dir, "churnwatch.conf")
        self.log_path = os.path.join(self.dir, "churnwatchd.log")
        self.proc = None
        self.port = None
        self.env = dict(os.environ)
        self.starts = 0
        self._log_mark = 0
        _daemons.add(self)

    # -- configuration --

    def config_text(self, port=None):
        url = db_url(self.db)
        if len(url) > 150:
            # inih lines are short: long values go through env:NAME.
            self.env["CW_IT_DB_URL"] = url
            url = "env:CW_IT_DB_URL"
        server = {"listen": "127.0.0.1:%d" % (port or self.port or 1)}
        server.update(self.server)
        sections = [("server", server)]
        if self.ingest:
            sections.append(("ingest", self.ingest))
        database = {"url": url}
        database.update(self.database)
        sections.append(("database", database))
        sections.append(("spool", {"dir": os.path.join(self.dir, "spool"),
                                   "max_bytes": self.spool_max_bytes}))
        for name, secret in TOKENS.items():
            sections.append(("token:" + name, {
                "secret": secret, "scopes": TOKEN_SCOPES[name]}))
        sections.append(("log", {"level": self.log_level}))
        return _ini(sections) + self.extra + "\n"

    def write_config(self, text=None):
        with open(self.config_path, "w") as f:
            f.write(text if text is not None else self.config_text())
        return self.config_path

    # -- life cycle --

    def start(self, wait=True, timeout=20.0):
        """Start on a free port; with wait, until /readyz is 200.  If the
        port was taken meanwhile (a race with free_port()), try another."""
        for attempt in range(3):
            try:
                return self._start(wait, timeout)
            except TestError:
                if attempt == 2 or "cannot listen" not in self.log()[
                        self._log_mark:]:
                    raise

    def _start(self, wait, timeout):
        check(self.proc is None, "daemon already running")
        self._log_mark = len(self.log())
        self.port = free_port()
        self.write_config()
        log = open(self.log_path, "ab")
        log.write(("---- start %d on port %d ----\n" % (
            self.starts + 1, self.port)).encode())
        log.flush()
        self.proc = subprocess.Popen(
            [cw_bin(), "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env)
        log.close()
        self.starts += 1
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                fail("churnwatchd exited with status %d while starting; "
                     "log:\n%s" % (rc, self.log_tail()))
            try:
                st = self.request("GET", "/readyz", token=None,
                                  timeout=2).status
                if st == 200:
                    return
                last = "status %d" % st
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        fail("churnwatchd not ready within %.0f s (%s); log:\n%s" % (
            timeout, last, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM; assert exit status 0 within timeout and a clean log."""
        check(self.proc is not None, "daemon not running")
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            fail("churnwatchd did not exit within %.0f s of SIGTERM; "
                 "log:\n%s" % (timeout, self.log_tail()))
        self.check_log()
        if rc != 0:
            fail("churnwatchd exited with status %d after SIGTERM; "
                 "log:\n%s" % (rc, self.log_tail()))

    def kill(self):
        """SIGKILL, as a crash would."""
        check(self.proc is not None, "daemon not running")
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()
        self.check_log()

    def restart(self):
        self.stop()
        return self.start()

    def reload(self, extra=None, refused_ok=False):
        """SIGHUP, once the config is rewritten (with extra, when given),
        and wait for the outcome in the log; returns what it logged.  A
        reload the daemon refuses fails the test unless refused_ok."""
        if extra is not None:
            self.extra = extra
        self.write_config()
        mark = len(self.log())
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            text = self.log()[mark:]
            if "reload: done" in text:
                return text
            if "keeping the running" in text:
                check(refused_ok, "reload refused: %s" % text)
                return text
            time.sleep(0.05)
        raise TestError("no reload outcome in the log: %s" %
                        self.log_tail(10))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60):
        lines = self.log().splitlines()
        return "\n".join("    | " + x for x in lines[-n:])

    def check_log(self):
        check_sanitizer_output(self.log(), "the daemon log " + self.log_path)

    def cleanup(self, ok):
        if self.proc is not None:
            p, self.proc = self.proc, None
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
        if ok and not KEEP_TMP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.cleanup(False)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # The test failed: still look for sanitizer reports, but do not
            # hide the original error.
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            self.cleanup(False)
            if isinstance(exc, TestError):
                exc.args = (str(exc) + "\n(daemon files kept in %s)" %
                            self.dir,)
            return False
        try:
            if self.proc is not None:
                self.stop()
            else:
                self.check_log()
        except BaseException:
            self.cleanup(False)
            raise
        self.cleanup(True)
        return False

    # -- clients --

    def request(self, method, path, body=None, headers=None, token="backend",
                timeout=15.0, conn=None):
        return http_request(self.port, method, path, body=body,
                            headers=headers, token=token, timeout=timeout,
                            conn=conn)

    def post(self, events, token="backend", **kw):
        return self.request("POST", "/v1/events", body=events, token=token,
                            **kw)

    def connection(self, timeout=15.0):
        """A keep-alive http.client connection to the daemon."""
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def raw(self, timeout=10.0):
        """A RawConn to the daemon."""
        return RawConn(self.port, timeout=timeout)

    def raw_request(self, data, timeout=10.0):
        """Send hand-written bytes on a new connection; read one answer."""
        with self.raw(timeout) as c:
            c.send(data)
            return c.read_response()

    def count(self, where="true"):
        return count_events(self.db, where)

    def metric(self, name):
        """The value of the unlabelled sample name (or name{labels} as
        written) on /metrics, or None."""
        st, _, body = self.request("GET", "/metrics", token=None)
        text = body if isinstance(body, str) else body.decode()
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        return float(m.group(1)) if m else None

    def spool_bytes(self):
        """Bytes in the spool's segment files."""
        sp = os.path.join(self.dir, "spool")
        try:
            return sum(os.path.getsize(os.path.join(sp, f))
                       for f in os.listdir(sp) if f.startswith("spool-"))
        except FileNotFoundError:
            return 0


def raw_http(method, path, headers=(), body=b"", token="backend",
             version="HTTP/1.1"):
    """Hand-written request bytes.  headers is a list of (name, value)
    pairs sent as given (duplicates allowed); Host and Authorization are
    added unless given."""
    names = {k.lower() for k, _ in headers}
    lines = ["%s %s %s" % (method, path, version)]
    if "host" not in names:
        lines.append("Host: 127.0.0.1")
    if token is not None and "authorization" not in names:
        lines.append("Authorization: Bearer " + TOKENS.get(token, token))
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if isinstance(body, str):
        body = body.encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def run_cli(*args, timeout=30, env=None):
    """Run churnwatchd with args; returns (status, stdout, stderr)."""
    p = subprocess.run([cw_bin()] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       env=env or os.environ)
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    check_sanitizer_output(out + err, "the output of churnwatchd " +
                           " ".join(args))
    return p.returncode, out, err


def wait_for(pred, timeout, interval=0.1, what="condition"):
    """Poll pred() until it is true; returns its value or fails."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = v
        except Exception as e:      # keep polling through transient errors
            last = e
        if time.monotonic() >= deadline:
            fail("%s not reached within %.1f s (last: %r)" % (
                what, timeout, last))
        time.sleep(interval)


# ---- real client libraries from npm, and a proxy in front of the daemon ----

def npm_cache(package, version, cache_suffix, name, extra=None):
    """Install package@version from npm into a cache directory (once per
    machine) and return the directory, for node to run a client from.
    extra: more {package: version} to install with it."""
    cache = os.environ.get("CW_NPM_DIR", "/tmp/churnwatch-npm") + cache_suffix
    deps = {package: version}
    deps.update(extra or {})
    if not all(os.path.isdir(os.path.join(cache, "node_modules",
                                          *p.split("/"))) for p in deps):
        os.makedirs(cache, exist_ok=True)
        with open(os.path.join(cache, "package.json"), "w") as f:
            json.dump({"name": name, "private": True,
                       "dependencies": deps}, f)
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                            "--loglevel=error"], cwd=cache,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300)
        eq(p.returncode, 0, "npm install: %s" % p.stdout.decode()[-2000:])
    return cache


class HttpProxy:
    """Forwards HTTP/1.1 connections to the daemon, one request and its
    answer at a time (Content-Length bodies only).  Subclasses decide per
    request through on_request(req): True forwards the request but closes
    the client's connection instead of passing the answer on."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def on_request(self, req):
        return False

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        u = socket.create_connection(("127.0.0.1", self.target))
        try:
            while True:
                req = self._read_message(c)
                if req is None:
                    return
                with self.lock:
                    lose = self.on_request(req)
                u.sendall(req)
                resp = self._read_message(u)
                if lose or resp is None:
                    return
                c.sendall(resp)
        finally:
            c.close()
            u.close()

    @staticmethod
    def _read_message(s):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v.strip())
        while len(rest) < n:
            chunk = s.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return head + b"\r\n\r\n" + rest

    def close(self):
        self.sock.close()


class StandIn:
    """A local HTTP stand-in (tools/receiver.py, tools/slack_standin.py)
    started on a free port, with its JSON control calls."""

    def __init__(self, script):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tools", script),
             "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        check("listening on" in line, "%s did not start: %r" % (script,
                                                                 line))
        self.port = int(line.split()[-1])

    def _call(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=json.dumps(body) if body else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return json.loads(data) if data else None

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
