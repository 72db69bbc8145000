"""systemd integration and live reload (issue 5): sd_notify messages on a
datagram socket the test owns (READY=1, STATUS=, WATCHDOG=1, RELOADING=1
with MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM), socket
activation through LISTEN_FDS, and SIGHUP reloads: a changed threshold
takes effect, a broken config is refused while the old one keeps working,
and connections are not dropped."""

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

from lib import Daemon, check, cw_bin, eq, free_port, rfc3339, uid


class NotifySocket:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cwnotify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs = []

    def drain(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            try:
                self.msgs.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return self.msgs

    def wait_for(self, text, seconds=10):
        end = time.time() + seconds
        while time.time() < end:
            if any(text in m for m in self.msgs):
                return True
            try:
                self.msgs.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return False

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def test_sd_notify_ready_watchdog_reload_stopping():
    ns = NotifySocket()
    try:
        d = Daemon()
        d.env["NOTIFY_SOCKET"] = ns.path
        d.env["WATCHDOG_USEC"] = "400000"
        d.env.pop("WATCHDOG_PID", None)
        with d:
            check(ns.wait_for("READY=1"), "READY=1: %r" % ns.msgs)
            check(any("STATUS=" in m for m in ns.msgs), "STATUS=")
            ns.drain(1.0)
            pings = sum(m.count("WATCHDOG=1") for m in ns.msgs)
            check(pings >= 3, "WATCHDOG=1 from the loop: %d in ~1 s" %
                  pings)
            ns.msgs.clear()
            os.kill(d.proc.pid, signal.SIGHUP)
            check(ns.wait_for("RELOADING=1"), "RELOADING=1: %r" % ns.msgs)
            rel = [m for m in ns.msgs if "RELOADING=1" in m][0]
            check("MONOTONIC_USEC=" in rel, "MONOTONIC_USEC with it")
            check(ns.wait_for("READY=1"), "READY=1 after the reload")
            ns.msgs.clear()
            d.stop()
            check(ns.wait_for("STOPPING=1", 2), "STOPPING=1: %r" % ns.msgs)
    finally:
        ns.close()


def test_socket_activation():
    d = Daemon()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    d.port = free_port()          # the configured listen, to be ignored
    cfg = d.write_config()
    log = open(d.log_path, "ab")
    fd = lsock.fileno()
    move = "" if fd == 3 else "exec 3<&%d %d<&-; " % (fd, fd)
    p = subprocess.Popen(
        ["sh", "-c", move + 'LISTEN_PID=$$ LISTEN_FDS=1 '
         'exec "$0" --config "$1"', cw_bin(), cfg],
        pass_fds=(fd,), env=d.env, stdout=log, stderr=log)
    lsock.close()
    try:
        deadline = time.time() + 20
        st = None
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                st = c.getresponse().status
                c.close()
                if st == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        eq(st, 200, "ready on the socket passed by LISTEN_FDS")
        check("listen=systemd-socket" in d.log(), "logged: %s" %
              d.log_tail(5))
        # The configured port was not bound.
        s = socket.socket()
        try:
            check(s.connect_ex(("127.0.0.1", d.port)) != 0,
                  "the configured listen address is not used")
        finally:
            s.close()
    finally:
        p.send_signal(signal.SIGTERM)
        eq(p.wait(15), 0, "exit status after SIGTERM")
        log.close()
        d.check_log()
        d.cleanup(True)


def _competitor(acct, n):
    return [{"id": uid("c"), "account_id": acct, "type": "competitor.signal",
             "ts": rfc3339(time.time() - 3600 * (k + 1)),
             "props": {"competitor": "Rivalry", "kind": "mention"}}
            for k in range(n)]


def _signals(d, acct):
    st, _, body = d.request("GET", "/v1/accounts/" + acct, token="reader")
    eq(st, 200, "GET %s" % acct)
    return [s["name"] for s in body["signals"]]


def test_reload_threshold_broken_config_and_open_connections():
    with Daemon() as d:
        d.post(_competitor("rivals", 2))
        check("competitor_exposure" not in _signals(d, "rivals"),
              "2 mentions are under the default threshold of 3")

        # A keep-alive connection opened before the reload.
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        conn.request("GET", "/healthz")
        eq(conn.getresponse().read() and 200, 200, "before")

        text = d.reload("[signal:competitor_exposure]\nmin_signals = 2\n",
                        refused_ok=True)
        check("reload: done" in text, "reloaded: %s" % text)
        check("competitor_exposure" in _signals(d, "rivals"),
              "the lowered threshold took effect")

        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        eq(r.status, 200, "the connection opened before the reload works")

        # A broken file: refused, logged, the old configuration stays.
        text = d.reload("[signal:competitor_exposure]\nmin_signals = 2\n"
                        "[nonsense\nbogus_key = 1\n", refused_ok=True)
        check("keeping the running configuration" in text,
              "refused: %s" % text)
        check("<4>reload:" in text and ":" in text, "problems logged with "
              "their lines and a priority")
        check("competitor_exposure" in _signals(d, "rivals"),
              "the running configuration (threshold 2) still applies")
        st, _, body = d.post([{"id": uid("x"), "account_id": "rivals",
                               "type": "login", "user_id": "u"}])
        eq(st, 202, "ingest still works: %r" % body)
        conn.request("GET", "/readyz")
        r = conn.getresponse()
        r.read()
        eq(r.status, 200, "still ready, same connection")
        conn.close()
