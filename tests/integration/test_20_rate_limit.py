"""Per-token rate limits (SPEC 2, issue 9): a token bucket per [token:NAME]
counted in events.  Past it a request is refused whole with 429, a JSON
error and Retry-After; nothing of it is stored; other tokens and /healthz
are served meanwhile; after Retry-After the token is served again; every
refusal is counted in churnwatch_rate_limited_total{token}.  Every route a
token authenticates is limited, from the head before any body byte where
the token is known there, and a reload keeps the buckets."""

import base64
import time

from lib import (Daemon, TestError, check, eq, ev, expect_error, raw_http,
                 sql)

SLOW = "slow-secret-0001"
TINY = "tiny-secret-0001"

# slow: 1 event/s, 10 at once.  tiny: 1 unit/s, 1 at once, every scope.
# hook: an unsigned webhook source, so its requests need a bearer token.
EXTRA = """
[token:slow]
secret = %s
scopes = ingest, read
rate = 1
burst = 10

[token:tiny]
secret = %s
scopes = ingest, read, admin
rate = 1
burst = 1

[source:hook]
signature = none
type = login
pointer.id = /id
pointer.account_id = /a
pointer.user_id = /u
""" % (SLOW, TINY)


def _retry_after(resp, what):
    """The 429's Retry-After: whole seconds, at least 1."""
    body = expect_error(resp, 429, "rate_limited", what)
    ra = resp[1].get("Retry-After")
    check(ra is not None and ra.isdigit() and int(ra) >= 1,
          "%s: Retry-After is %r" % (what, ra))
    check("slow" in body["message"] or "tiny" in body["message"],
          "%s: the message names the token: %r" % (what, body["message"]))
    return int(ra)


def _batch(prefix, n):
    return [ev(eid="%s-%d" % (prefix, i), account="rl-acct",
               user="u%d" % i) for i in range(n)]


def _stored(d, prefix):
    return int(sql(d.db, "SELECT count(*) FROM events WHERE id LIKE '%s-%%'"
                   % prefix)[0][0])


def _limited(d, token):
    v = d.metric('churnwatch_rate_limited_total{token="%s"}' % token)
    return int(v or 0)


def test_past_the_burst_refused_whole_then_served_again():
    with Daemon(extra=EXTRA) as d:
        refused = 0
        st, _, body = d.post(_batch("a", 6), token=SLOW)
        eq((st, body.get("accepted")), (202, 6), "6 of the burst of 10")

        # About 4 left (plus what refilled since): 6 more are refused
        # whole, after decoding, and none of them is stored.
        r = d.post(_batch("b", 6), token=SLOW)
        ra = _retry_after(r, "6 events past the burst")
        refused += 1
        check(ra <= 4, "Retry-After %d s for a deficit of ~3 events at "
              "1/s" % ra)
        eq(_stored(d, "b"), 0, "events of the refused request stored")

        # Another token is served meanwhile, and /healthz stays fast.
        st, _, body = d.post(_batch("other", 50), token="backend")
        eq((st, body.get("accepted")), (202, 50), "backend meanwhile")
        t0 = time.monotonic()
        st, _, _ = d.request("GET", "/healthz", token=None)
        eq(st, 200, "/healthz")
        check(time.monotonic() - t0 < 0.5, "/healthz took %.3f s" % (
            time.monotonic() - t0))

        # A read costs one unit: served while units are left.
        st, _, _ = d.request("GET", "/v1/accounts", token=SLOW)
        eq(st, 200, "a read with units left")
        # Use the rest, one event at a time, until a 429.
        for i in range(20):
            st, hdrs, body = r = d.post(_batch("c%d" % i, 1), token=SLOW)
            if st == 429:
                break
            eq(st, 202, "single events while units are left (%r)" % (body,))
        _retry_after(r, "a single event with the bucket empty")
        refused += 1
        # Empty: a read is refused from its head, with Retry-After 1 (one
        # unit is all a head can ask for).
        ra = _retry_after(d.request("GET", "/v1/accounts", token=SLOW),
                          "a read with the bucket empty")
        refused += 1
        eq(ra, 1, "Retry-After of a head refused for one unit")

        # After that second the head passes, but the 6 events do not: the
        # Retry-After of that refusal covers all 6.
        time.sleep(ra)
        r = d.post(_batch("b", 6), token=SLOW)
        ra = _retry_after(r, "the 6 again, about one unit there")
        refused += 1
        check(5 <= ra <= 7, "Retry-After %d s: 6 events at 1/s from "
              "about 0" % ra)
        eq(_stored(d, "b"), 0, "events of the refused request stored")
        time.sleep(ra)
        st, _, body = d.post(_batch("b", 6), token=SLOW)
        eq((st, body.get("accepted")), (202, 6),
           "after Retry-After (%d s)" % ra)
        eq(_stored(d, "b"), 6, "the batch once served")
        eq(_stored(d, "other"), 50, "backend's events")

        eq(_limited(d, "slow"), refused, "churnwatch_rate_limited_total"
           "{token=\"slow\"}")
        eq(_limited(d, "backend"), 0, "backend was never limited")


def _basic(key):
    return {"Authorization": "Basic " + base64.b64encode(
        (key + ":").encode()).decode()}


def test_every_token_route_is_limited():
    with Daemon(extra=EXTRA) as d:
        # tiny holds one unit: the first request takes it.
        st, _, _ = d.request("GET", "/v1/alerts", token=TINY)
        eq(st, 200, "the one unit")
        before = d.count()
        t0 = time.monotonic()
        msg = {"userId": "u", "event": "Login", "messageId": "seg-rl-1",
               "context": {"groupId": "rl-acct"}}
        tries = [
            ("POST /v1/events", d.post(_batch("t", 1), token=TINY)),
            ("PUT /v1/accounts/x", d.request(
                "PUT", "/v1/accounts/rl-acct", body={"name": "X"},
                token=TINY)),
            ("GET /v1/accounts/x", d.request(
                "GET", "/v1/accounts/rl-acct", token=TINY)),
            ("GET /v1/accounts", d.request(
                "GET", "/v1/accounts", token=TINY)),
            ("POST /v1/silences", d.request(
                "POST", "/v1/silences", token=TINY, body={
                    "account_id": "rl-acct", "until":
                    "2099-01-01T00:00:00Z", "comment": "x"})),
            ("webhook with a bearer token", d.request(
                "POST", "/v1/webhooks/hook", token=TINY,
                body={"id": "wh-rl-1", "a": "rl-acct", "u": "u1"})),
            ("Segment, Basic write key", d.request(
                "POST", "/segment/v1/track", token=None, body=msg,
                headers=_basic(TINY))),
            ("Segment, writeKey in the body", d.request(
                "POST", "/v1/track", token=None,
                body=dict(msg, writeKey=TINY))),
        ]
        elapsed = time.monotonic() - t0
        if elapsed >= 0.9:
            raise TestError("the requests took %.2f s: the unit may have "
                            "come back; rerun" % elapsed)
        for what, r in tries:
            _retry_after(r, what)
        eq(d.count(), before, "rows after the refused requests")
        eq(int(sql(d.db, "SELECT count(*) FROM accounts WHERE id = "
                   "'rl-acct'")[0][0]), 0, "the refused PUT stored nothing")
        eq(_limited(d, "tiny"), len(tries), "refusals counted")

        # Refused from the head: a client that announces a body it never
        # sends still gets its 429 at once.
        with d.raw() as c:
            c.send(raw_http("POST", "/v1/events", token=TINY, headers=[
                ("Content-Type", "application/json"),
                ("Content-Length", "100000")]))
            r = c.read_response(timeout=3)
        _retry_after(r, "a head whose body never comes")


def test_reload_keeps_the_buckets():
    with Daemon(extra=EXTRA) as d:
        st, _, _ = d.post(_batch("r", 10), token=SLOW)
        eq(st, 202, "the whole burst")
        _retry_after(d.post(_batch("r2", 1), token=SLOW), "empty")
        d.reload()
        # Not refilled by the reload.
        _retry_after(d.post(_batch("r2", 1), token=SLOW), "after a reload")
        # A new rate and burst apply at once (the level is kept: still
        # empty, but it now refills at 1000/s).
        d.extra = EXTRA.replace("rate = 1\nburst = 10", "rate = 1000\n"
                                "burst = 5000")
        d.write_config()
        d.reload()
        time.sleep(0.2)
        st, _, body = d.post(_batch("r3", 100), token=SLOW)
        eq((st, body.get("accepted")), (202, 100), "after raising the rate")
