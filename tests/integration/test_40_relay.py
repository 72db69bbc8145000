"""The relay in front of libmicrohttpd (src/http.c, relay_*): every client
connection passes through a socket pair.  What it must not do: hold a
connection that libmicrohttpd has given up (a client that never reads its
answers), answer again after an answer that closed the connection, or
judge heads by a max_header_bytes libmicrohttpd was not started with."""

import os
import socket
import time

from lib import Daemon, check, eq, expect_error, raw_http


def _holds(d, s):
    """Whether the daemon holds a descriptor of the TCP connection whose
    client end is the socket s."""
    port = s.getsockname()[1]
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            if int(x[1].split(":")[1], 16) == d.port and \
                    int(x[2].split(":")[1], 16) == port:
                inodes.add("socket:[%s]" % x[9])
    fd_dir = "/proc/%d/fd" % d.proc.pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) in inodes:
                return True
        except OSError:
            pass
    return False


def _cpu_ticks(d):
    with open("/proc/%d/stat" % d.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_client_that_never_reads_is_closed():
    """A client that pipelines requests and never reads their answers:
    once libmicrohttpd closes its side (idle_timeout: no progress), the
    relay must let go of the client too, not keep its descriptors (and
    a slot under max_connections) for as long as the client stays."""
    with Daemon(server={"idle_timeout": 2}) as d:
        s = socket.create_connection(("127.0.0.1", d.port))
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(3)
            try:
                s.sendall(raw_http("GET", "/openapi.json", token=None) * 200)
            except (socket.timeout, OSError):
                pass    # the daemon stopped reading: that is the point
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not _holds(d, s):
                time.sleep(0.05)    # until it is accepted
            check(_holds(d, s), "the connection is not open")
            t0 = _cpu_ticks(d)
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline and _holds(d, s):
                time.sleep(0.2)
            check(not _holds(d, s), "the daemon still holds the "
                  "connection of a client that never reads, 10 s after "
                  "idle_timeout (2 s)")
            # Waiting on a client that does not read costs no CPU.
            check(_cpu_ticks(d) - t0 < 100, "%d ticks of CPU while the "
                  "client did not read" % (_cpu_ticks(d) - t0))
        finally:
            s.close()
        eq(d.request("GET", "/healthz", token=None).status, 200,
           "/healthz after")


def test_nothing_after_a_closing_answer():
    """A request that ends its connection (HTTP/1.0, Connection: close,
    an early answer that leaves its body unread) followed by a malformed
    one: the answer says "Connection: close" and is the last thing sent
    (RFC 9112 9.6); no error for what came after it."""
    body_head = raw_http("POST", "/v1/events", [
        ("Content-Type", "application/json"), ("Content-Length", "2")],
        b"[]", token="wrong")
    cases = [
        ("HTTP/1.0", 200, b"GET /healthz HTTP/1.0\r\n\r\n"),
        ("Connection: close", 200, raw_http(
            "GET", "/healthz", [("Connection", "close")], token=None)),
        ("early 401", 401, body_head),
    ]
    with Daemon() as d:
        for what, status, first in cases:
            for i in range(3):
                with d.raw(timeout=10) as c:
                    c.send(first + b"GARBAGE\r\n\r\n")
                    resp = c.read_response()
                    eq(resp.status, status, what)
                    check("close" in resp.headers.get("Connection", ""),
                          "%s: the answer does not close" % what)
                    state = c.wait_closed(5)
                    check(state == "closed", "%s: after an answer with "
                          "Connection: close: %s %r" % (
                              what, state, c.buf[:40]))


def test_head_limit_waits_for_a_restart():
    """max_header_bytes takes effect at the next restart (its memory
    pool in libmicrohttpd is sized once): after a reload that raises it,
    a head over the old limit is still ours to refuse, as JSON."""
    with Daemon(server={"max_header_bytes": 8192}) as d:
        d.server["max_header_bytes"] = 262144
        d.write_config()
        d.reload()
        for what, hdrs in (
                ("one 40 KB header", [("X-Big", "b" * 40000)]),
                ("one 200 KB header", [("X-Big", "b" * 200000)]),
                ("1000 fields", [("a", "")] * 1000)):
            with d.raw() as c:
                c.send(raw_http("GET", "/healthz", hdrs, token=None))
                resp = c.read_response()
            expect_error(resp, 431, "headers_too_large", what)
        eq(d.request("GET", "/healthz", token=None).status, 200,
           "/healthz after")


def test_connection_cap_waits_for_a_restart():
    """max_connections takes effect at the next restart too (the
    open-files limit and libmicrohttpd's own limit follow it once): a
    reload that raises it does not let more connections in."""
    with Daemon(server={"max_connections": 2}) as d:
        d.server["max_connections"] = 500
        d.write_config()
        d.reload()
        held = [d.raw() for _ in range(2)]
        try:
            for c in held:
                c.send(raw_http("GET", "/healthz", token=None))
                eq(c.read_response().status, 200, "a connection under "
                   "the cap")
            with d.raw() as c:
                try:
                    c.send(raw_http("GET", "/healthz", token=None))
                except OSError:
                    pass
                state = c.wait_closed(5)
                check(state == "closed", "a third connection past "
                      "max_connections = 2 (reloaded as 500): %s %r" % (
                          state, c.buf[:30]))
        finally:
            for c in held:
                c.close()


def test_a_head_on_its_way_is_traffic():
    """The relay holds a head back until it is whole, so libmicrohttpd
    sees nothing of it: a client sending its head slowly but steadily
    must not be taken for idle (idle_timeout is for connections with no
    traffic at all; request_timeout bounds the whole request)."""
    with Daemon(server={"idle_timeout": 2, "request_timeout": 30}) as d:
        data = raw_http("GET", "/healthz", [("X-Pad", "p" * 40)],
                        token=None)
        with d.raw(timeout=10) as c:
            t0 = time.monotonic()
            for i in range(0, len(data), 8):
                c.send(data[i:i + 8])
                time.sleep(0.4)
            check(time.monotonic() - t0 > 4, "the head took too little")
            eq(c.read_response().status, 200, "a head sent over %.1f s "
               "with idle_timeout = 2" % (time.monotonic() - t0))
