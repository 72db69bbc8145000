"""X-Forwarded-For (SPEC 2, issue 13): believed only from [server]
trusted_proxies.  Requests come over real connections from 127.0.0.1; the
daemon logs each request's client (at debug) and names it in the rate
limit notice.  Rate limits are per token, so the address changes no
limit.  Untrusted, the header is ignored; trusted (after a SIGHUP
that adds 127.0.0.1), the right-most untrusted address of the header is
the client, also across several X-Forwarded-For headers."""

from lib import Daemon, check, eq, ev, run_cli, uid, wait_for

SLOW = ("\n[token:slow]\nsecret = slow-secret-1\nscopes = ingest\n"
        "rate = 1\nburst = 1\n")


def _logged(d, mark, needle):
    """Wait until the log past mark has needle."""
    return wait_for(lambda: needle in d.log()[mark:], 10,
                    what="log line %r" % needle)


def _healthz(d, xff):
    mark = len(d.log())
    st, _, _ = d.request("GET", "/healthz", token=None,
                         headers={"X-Forwarded-For": xff})
    eq(st, 200, "GET /healthz")
    return mark


def _overdraw(d, xff):
    """A full bucket admits one request past its burst, leaving it 59
    events in debt (59 s at 1/s): the next request is refused."""
    hdrs = {"X-Forwarded-For": xff}
    r = d.post([ev(uid()) for _ in range(60)], token="slow-secret-1",
               headers=hdrs)
    check(r.status in (202, 429), "60 events on token slow: %r" % (r,))
    if r.status == 202:
        r = d.post([ev(uid())], token="slow-secret-1", headers=hdrs)
    eq(r.status, 429, "a request on an overdrawn token")
    return r


def test_forwarded_for_only_from_trusted_proxies():
    with Daemon(extra=SLOW) as d:
        # Not trusted: the header is ignored, the peer is the client.
        mark = _healthz(d, "203.0.113.7")
        _logged(d, mark, "http: request client=127.0.0.1 route=/healthz "
                "status=200")
        check("203.0.113.7" not in d.log(), "an untrusted header is not "
              "logged")
        # The 429 notice names the client too.
        mark = len(d.log())
        r = _overdraw(d, "203.0.113.7")
        _logged(d, mark, "token=slow client=127.0.0.1 over its rate limit")

        # 127.0.0.1 trusted, by a reload: the right-most address that
        # is not a trusted proxy is the client.
        d.server["trusted_proxies"] = "10.0.0.0/8, 127.0.0.1, ::1"
        d.reload(SLOW)
        mark = _healthz(d, "198.51.100.1, 203.0.113.7, 10.1.2.3")
        _logged(d, mark, "client=203.0.113.7 route=/healthz status=200")
        # Garbage from the client's side stops the walk.
        mark = _healthz(d, "203.0.113.7, not-an-address")
        _logged(d, mark, "client=127.0.0.1 route=/healthz status=200")
        # IPv6 entries, with brackets and a port.
        mark = _healthz(d, "[2001:db8::7]:4711")
        _logged(d, mark, "client=2001:db8::7 route=/healthz status=200")
        # Several headers are one list, in order.
        mark = len(d.log())
        with d.raw() as c:
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                   b"X-Forwarded-For: 192.0.2.50\r\n"
                   b"X-Forwarded-For: 192.0.2.60, 10.9.9.9\r\n"
                   b"Connection: close\r\n\r\n")
            eq(c.read_response().status, 200, "raw GET /healthz")
        _logged(d, mark, "client=192.0.2.60 route=/healthz status=200")
        # A refused request is logged with the forwarded client (the
        # rate limit notice comes once a minute per token: above).
        mark = len(d.log())
        _overdraw(d, "203.0.113.9")
        _logged(d, mark, "client=203.0.113.9 route=/v1/events status=429")


def test_bad_trusted_proxies_is_a_config_error():
    d = Daemon(server={"trusted_proxies": "127.0.0.1, example.com"})
    try:
        path = d.write_config(d.config_text(port=8080))
        rc, out, err = run_cli("--config", path, "--check-config")
        eq(rc, 1, "--check-config status")
        check(":1: trusted_proxies: entry 2 is not an IPv4 or IPv6 address "
              "or CIDR" in err or "trusted_proxies: entry 2 is not" in err,
              "the problem is named: %r" % err)
        check("example.com" not in err, "the value is not echoed")
    finally:
        d.cleanup(True)
