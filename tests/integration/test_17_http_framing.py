"""Requests too malformed to route, and bodies the daemon must not wait
for: every one gets a JSON error (SPEC 2) with the SPEC's status, nothing
is stored, the daemon keeps serving.  Also: Host on HTTP/1.1, auth before
the body on Segment and webhook routes, and the cap on request bodies in
flight ([server] max_inflight_body_bytes)."""

import base64
import json
import time

from lib import Daemon, check, eq, ev, expect_error, raw_http, rfc3339

CT = ("Content-Type", "application/json")


def _answer(d, data, what, timeout=10):
    """Send raw bytes on a new connection; the answer, and whether the
    server then closed the connection."""
    with d.raw(timeout=timeout) as c:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass        # it may answer and close before all is sent
        resp = c.read_response(timeout=timeout)
        _rest(c, what)
    return resp


def _error_at_once(d, data, status, code, what):
    """data on a new connection is refused with status and code, and not
    after a wait: 3 s catches an answer that waited for a body or for
    request_timeout (30 s), nothing finer."""
    t0 = time.monotonic()
    resp = _answer(d, data, what)
    expect_error(resp, status, code, what)
    check(time.monotonic() - t0 < 3, "%s: answered after %.1f s" % (
        what, time.monotonic() - t0))
    return resp


def _healthy(d, what):
    eq(d.request("GET", "/healthz", token=None, timeout=10).status, 200,
       "/healthz %s" % what)
    st, _, body = d.post([ev(account="alive")], timeout=10)
    eq(st, 202, "ingest %s (%r)" % (what, body))


def test_malformed_heads_get_json():
    """What libmicrohttpd 0.9.75 would answer itself (HTML or nothing)."""
    with Daemon(server={"max_header_bytes": 8192}) as d:
        body = json.dumps([ev(account="malformed")]).encode()
        post = "POST /v1/events HTTP/1.1\r\nHost: x\r\n" \
            "Authorization: Bearer backend-secret-1\r\n" \
            "Content-Type: application/json\r\n"
        cases = [
            ("Content-Length: abc", 400, "bad_framing",
             raw_http("POST", "/v1/events", [CT, ("Content-Length", "abc")],
                      body)),
            ("Content-Length: -1", 400, "bad_framing",
             raw_http("POST", "/v1/events", [CT, ("Content-Length", "-1")],
                      body)),
            ("Content-Length: 12x", 400, "bad_framing",
             raw_http("POST", "/v1/events", [CT, ("Content-Length", "12x")],
                      body)),
            ("empty Content-Length", 400, "bad_framing",
             raw_http("POST", "/v1/events", [CT, ("Content-Length", "")],
                      body)),
            ("Content-Length past 2^64", 413, "body_too_large",
             raw_http("POST", "/v1/events",
                      [CT, ("Content-Length", "9" * 30)], body)),
            ("Content-Length: abc with chunked", 400, "bad_framing",
             raw_http("POST", "/v1/events",
                      [CT, ("Transfer-Encoding", "chunked"),
                       ("Content-Length", "abc")], b"0\r\n\r\n")),
            ("HTTP/2.0", 400, "bad_version",
             raw_http("GET", "/healthz", token=None, version="HTTP/2.0")),
            ("HTTP/1.2", 400, "bad_version",
             raw_http("GET", "/healthz", token=None, version="HTTP/1.2")),
            ("HTTP/0.9", 400, "bad_version",
             raw_http("GET", "/healthz", token=None, version="HTTP/0.9")),
            ("HTTX/1.1", 400, "bad_version",
             raw_http("GET", "/healthz", token=None, version="HTTX/1.1")),
            ("no version", 400, "bad_request", b"GET /healthz\r\n\r\n"),
            ("garbage request line", 400, "bad_request",
             b"GARBAGE\r\nHost: x\r\n\r\n"),
            ("two spaces in the request line", 400, "bad_request",
             b"GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("header line without a colon", 400, "bad_request",
             b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"),
            ("space before the colon", 400, "bad_request",
             b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
            ("folded header line", 400, "bad_request",
             b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n"),
            ("NUL in a header", 400, "bad_request",
             b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
            ("bare CR in a header", 400, "bad_request",
             b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
            ("head far past max_header_bytes", 431, "headers_too_large",
             (post + "X-Big: " + "b" * 100000 + "\r\nContent-Length: "
              "%d\r\n\r\n" % len(body)).encode() + body),
            ("head just past max_header_bytes", 431, "headers_too_large",
             raw_http("GET", "/healthz", [("X-Big", "b" * 8200)],
                      token=None)),
        ]
        for what, status, code, data in cases:
            resp = _answer(d, data, what)
            expect_error(resp, status, code, what)
        eq(d.count(), 0, "rows after malformed heads")
        _healthy(d, "after malformed heads")
        # Counted like any answered request.
        text = d.request("GET", "/metrics", token=None).body
        if isinstance(text, bytes):
            text = text.decode()
        check('churnwatch_http_requests_total{route="other",code="400"}'
              in text, "malformed heads not counted in "
              "churnwatch_http_requests_total")


def test_what_libmicrohttpd_would_answer_gets_json():
    """Heads that wire.c once passed and libmicrohttpd 0.9.75 then answered
    itself (HTML or an empty body) or never answered: whitespace after a
    Content-Length (not a number to it) or after "chunked" (not chunked
    to it: a body read until the connection closes), and more fields
    (headers, query arguments, cookies, trailer fields) than its memory
    pool holds, each of which takes more of it than its bytes."""
    with Daemon(server={"max_header_bytes": 8192,
                        "request_timeout": 5}) as d:
        body = json.dumps([ev(account="mhd-own")]).encode()
        chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        cases = [
            ("Content-Length with a trailing space", 400, "bad_framing",
             raw_http("POST", "/v1/events",
                      [CT, ("Content-Length", "%d " % len(body))], body)),
            ("Content-Length with a trailing tab", 400, "bad_framing",
             raw_http("POST", "/v1/events",
                      [CT, ("Content-Length", "%d\t" % len(body))], body)),
            ("chunked with a trailing space", 400, "bad_framing",
             raw_http("POST", "/v1/events",
                      [CT, ("Transfer-Encoding", "chunked ")]) + chunked),
            ("1500 header fields", 431, "headers_too_large",
             raw_http("GET", "/healthz", [("a", "")] * 1500, token=None)),
            ("3000 query arguments", 431, "headers_too_large",
             raw_http("GET", "/healthz?" + "&".join(["a"] * 3000),
                      token=None)),
            ("1500 cookies", 431, "headers_too_large",
             raw_http("GET", "/healthz", [("Cookie", ";".join(["a"] * 1500))],
                      token=None)),
            ("2000 trailer fields", 431, "headers_too_large",
             raw_http("POST", "/v1/events",
                      [CT, ("Transfer-Encoding", "chunked")]) +
             chunked[:-2] + b"a:\r\n" * 2000 + b"\r\n"),
        ]
        for what, status, code, data in cases:
            _error_at_once(d, data, status, code, what)
            # The same as a later request of a keep-alive connection.
            with d.raw() as c:
                c.send(raw_http("GET", "/healthz", token=None) + data)
                eq(c.read_response().status, 200, "%s: first" % what)
                expect_error(c.read_response(), status, code,
                             "%s: second request" % what)
                _rest(c, what)
        eq(d.count("account_id = 'mhd-own'"), 0, "rows of the refused")
        # Well short of the limits: served.
        many = [("X-F%d" % i, "v") for i in range(60)]
        st, _, b = d.raw_request(raw_http(
            "POST", "/v1/events?" + "&".join(["a"] * 20),
            [CT, ("Content-Length", str(len(body))),
             ("Cookie", "; ".join(["c=1"] * 20))] + many, body))
        eq(st, 202, "60 headers, 20 arguments, 20 cookies (%r)" % (b,))
        _healthy(d, "after what libmicrohttpd would answer")


def test_head_and_trailer_together():
    """libmicrohttpd keeps a request's head until the request ends: a
    trailer's fields come on top of it.  At max_header_bytes 64 KiB, a
    full head (bytes and fields) and a trailer of 1000 small fields got
    its own 431 with no body; now ours, as JSON, and half of each still
    passes."""
    with Daemon(server={"max_header_bytes": 65536}) as d:
        body = json.dumps([ev(account="head-trailer")]).encode()
        chunk = b"%x\r\n" % len(body) + body + b"\r\n0\r\n"

        def request(nfields, vlen, ntrailer, tvlen):
            return raw_http("POST", "/v1/events", [
                CT, ("Transfer-Encoding", "chunked")] +
                [("a", "v" * vlen)] * nfields) + chunk + b"".join(
                b"t: " + b"w" * tvlen + b"\r\n"
                for _ in range(ntrailer)) + b"\r\n"

        full = request(1000, 58, 1000, 0)
        resp = _answer(d, full, "a full head and a trailer")
        expect_error(resp, 431, "headers_too_large",
                     "a full head and a trailer")
        with d.raw() as c:
            c.send(request(490, 58, 490, 58))
            eq(c.read_response().status, 202, "half a head, half a "
               "trailer")
        eq(d.count("account_id = 'head-trailer'"), 1, "rows")


def _post(account, n=1, extra=()):
    body = json.dumps([ev(account=account) for _ in range(n)]).encode()
    return raw_http("POST", "/v1/events",
                    [CT, ("Content-Length", str(len(body)))] + list(extra),
                    body)


def _chunked_post(body_bytes):
    return raw_http("POST", "/v1/events",
                    [CT, ("Transfer-Encoding", "chunked")]) + body_bytes


def _rest(c, what):
    """After the answers: the connection must close."""
    state = c.wait_closed(5)
    while state == "data":
        c.buf = b""
        state = c.wait_closed(5)
    check(state == "closed", "%s: connection not closed after the answer "
          "(%s)" % (what, state))


# Later requests of a keep-alive connection, malformed as the first heads
# above: libmicrohttpd reads them itself unless every byte is relayed.
LATER = [
    ("HTTP/2.0", 400, "bad_version",
     raw_http("GET", "/healthz", token=None, version="HTTP/2.0")),
    ("no version", 400, "bad_request", b"GET /healthz\r\n\r\n"),
    ("garbage", 400, "bad_request", b"GARBAGE\r\nHost: x\r\n\r\n"),
    ("space before the colon", 400, "bad_request",
     b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
    ("folded line", 400, "bad_request",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n"),
    ("Content-Length: abc", 400, "bad_framing",
     raw_http("POST", "/v1/events", [CT, ("Content-Length", "abc")])),
    ("Content-Length past 2^64", 413, "body_too_large",
     raw_http("POST", "/v1/events", [CT, ("Content-Length", "9" * 30)])),
    ("head past max_header_bytes", 431, "headers_too_large",
     raw_http("GET", "/healthz", [("X-Big", "b" * 9000)], token=None)),
]

# Chunked bodies whose framing breaks part way: (what, body after head).
BAD_CHUNKS = [
    ("size not hex", b"zz\r\n[]\r\n0\r\n\r\n"),
    ("no size", b"\r\n"),
    ("space after the size", b"2 \r\n[]\r\n0\r\n\r\n"),
    ("chunk longer than its size", b"1\r\n[]\r\n0\r\n\r\n"),
    ("control character in an extension", b"2;a\x01b\r\n[]\r\n"),
    ("trailer without a colon", b"2\r\n[]\r\n0\r\nNoColon\r\n\r\n"),
    ("chunk-size line over 4 KiB", b"2;" + b"e" * 5000 + b"\r\n"),
]


def test_later_heads_on_keep_alive_get_json():
    """A malformed head on a later request of a keep-alive connection: the
    requests before it are answered in order, then ours, as JSON."""
    with Daemon(server={"max_header_bytes": 8192}) as d:
        for i, (what, status, code, data) in enumerate(LATER):
            acc = "later-%d" % i
            # One request answered, then the bad head on its own.
            with d.raw() as c:
                c.send(_post(acc))
                eq(c.read_response().status, 202, "%s: first" % what)
                c.send(data)
                expect_error(c.read_response(), status, code,
                             "%s: second request" % what)
                _rest(c, what)
            # Pipelined: two good requests and the bad one in one send.
            with d.raw() as c:
                c.send(_post(acc) + raw_http("GET", "/healthz", token=None)
                       + data + _post(acc))
                eq(c.read_response().status, 202, "%s: pipelined 1" % what)
                eq(c.read_response().status, 200, "%s: pipelined 2" % what)
                expect_error(c.read_response(), status, code,
                             "%s: pipelined 3" % what)
                _rest(c, "%s, pipelined" % what)
            # Before the break: stored; after it: nothing.
            eq(d.count("account_id = '%s'" % acc), 2, "rows of " + what)
        _healthy(d, "after malformed later heads")


def test_bad_chunk_syntax_gets_json():
    """Bad chunk syntax in the middle of a body: 400 bad_framing as JSON,
    the cut request is not stored, the requests before it are."""
    with Daemon() as d:
        for i, (what, tail) in enumerate(BAD_CHUNKS):
            good = json.dumps([ev(account="chunk-good")]).encode()
            acc = "chunk-bad-%d" % i
            body = json.dumps([ev(account=acc)]).encode()
            # The body starts sound: one whole chunk of events first.
            data = _chunked_post(b"%x\r\n" % len(body) + body + b"\r\n"
                                 + tail)
            resp = _answer(d, data, what)
            expect_error(resp, 400, "bad_framing", what)
            eq(d.count("account_id = '%s'" % acc), 0, "rows of " + what)
            # Second on a keep-alive connection, sent in pieces.
            with d.raw() as c:
                c.send(_chunked_post(b"%x\r\n" % len(good) + good +
                                     b"\r\n0\r\n\r\n"))
                eq(c.read_response().status, 202, "%s: first" % what)
                for j in range(0, len(data), 5):
                    try:
                        c.send(data[j:j + 5])
                    except (BrokenPipeError, ConnectionResetError):
                        break
                expect_error(c.read_response(), 400, "bad_framing",
                             "%s: second request" % what)
                _rest(c, what)
            eq(d.count("account_id = '%s'" % acc), 0,
               "rows of %s, second" % what)
        eq(d.count("account_id = 'chunk-good'"), len(BAD_CHUNKS),
           "rows of the sound chunked requests")
        # A chunk size past 2^64.
        resp = _answer(d, _chunked_post(b"f" * 17 + b"\r\n"), "2^64")
        expect_error(resp, 413, "body_too_large", "a chunk past 2^64")
        _healthy(d, "after bad chunks")


def test_half_close_is_answered():
    """A client that sends its requests and shuts down its side (nc -N)
    still gets every answer, then the connection closes."""
    import socket
    with Daemon() as d:
        with d.raw() as c:
            c.send(_post("half") + raw_http("GET", "/healthz", token=None))
            c.sock.shutdown(socket.SHUT_WR)
            eq(c.read_response().status, 202, "first answer after SHUT_WR")
            eq(c.read_response().status, 200, "second answer after SHUT_WR")
            _rest(c, "half-closed")
        eq(d.count("account_id = 'half'"), 1, "rows of the half-closed")


def test_pipelined_and_slow_reader():
    """Many pipelined requests whose answers outgrow every socket buffer,
    read only once all are sent: the relay holds back on both sides
    without losing or reordering a byte."""
    import socket
    with Daemon() as d:
        spec = d.request("GET", "/openapi.json", token=None).body
        size = len(json.dumps(spec))
        n = max(8, 8 * 1024 * 1024 // max(size, 1))
        reqs = b"".join(raw_http("GET", "/openapi.json", token=None)
                        if i % 2 == 0 else _post("slow-%d" % i)
                        for i in range(n))
        with d.raw(timeout=60) as c:
            # Small, so that the daemon's side fills (smaller still makes
            # loopback TCP itself crawl).
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            c.send(reqs)
            time.sleep(1.0)
            for i in range(n):
                resp = c.read_response(timeout=60)
                if i % 2 == 0:
                    eq(resp.status, 200, "answer %d of %d" % (i, n))
                    eq(resp.body, spec, "openapi.json %d" % i)
                else:
                    eq(resp.status, 202, "answer %d of %d" % (i, n))
        eq(d.count("account_id LIKE 'slow-%'"), n // 2,
           "rows of the pipelined posts")
        _healthy(d, "after the slow reader")


def test_head_split_across_packets():
    """A sound head that arrives in pieces is served (the check waits for
    the whole head)."""
    with Daemon() as d:
        e = ev(account="split")
        body = json.dumps([e]).encode()
        data = raw_http("POST", "/v1/events",
                        [CT, ("Content-Length", str(len(body)))], body)
        with d.raw() as c:
            for i in range(0, len(data), 7):
                c.send(data[i:i + 7])
                time.sleep(0.002)
            st, _, b = c.read_response()
        eq(st, 202, "a head sent 7 bytes at a time (%r)" % (b,))
        # Empty lines before the request line are tolerated (RFC 9112 2.2).
        with d.raw() as c:
            c.send(b"\r\n" + raw_http("GET", "/healthz", token=None))
            eq(c.read_response().status, 200, "a leading empty line")
        eq(d.count("account_id = 'split'"), 1, "rows of the split head")


def test_host_required_on_http11():
    with Daemon() as d:
        resp = _answer(d, b"GET /healthz HTTP/1.1\r\n\r\n", "no Host")
        expect_error(resp, 400, "missing_host", "HTTP/1.1 without Host")
        resp = _answer(d, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b"
                       b"\r\n\r\n", "two Hosts")
        expect_error(resp, 400, "bad_request", "two Host headers")
        # HTTP/1.0 has no Host requirement.
        with d.raw() as c:
            c.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            eq(c.read_response().status, 200, "HTTP/1.0 without Host")
        # On a keep-alive connection, the second request too.
        with d.raw() as c:
            c.send(raw_http("GET", "/healthz", token=None))
            eq(c.read_response().status, 200, "first request")
            e = ev(account="nohost")
            body = json.dumps([e])
            c.send(("POST /v1/events HTTP/1.1\r\n"
                    "Authorization: Bearer backend-secret-1\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n%s" % (len(body), body))
                   .encode())
            expect_error(c.read_response(), 400, "missing_host",
                         "second request without Host")
        eq(d.count("account_id = 'nohost'"), 0, "rows without Host")


def test_no_body_on_bodiless_routes():
    """GET /healthz with a huge Content-Length: answered at once, closed,
    nothing reserved or waited for."""
    with Daemon() as d:
        for what, hdrs in (
                ("Content-Length: 8000000000",
                 [("Content-Length", "8000000000")]),
                ("Content-Length: 10", [("Content-Length", "10")]),
                ("chunked", [("Transfer-Encoding", "chunked")])):
            t0 = time.monotonic()
            # The body is never sent: the answer must not wait for it.
            resp = _answer(d, raw_http("GET", "/healthz", hdrs, token=None),
                           "GET /healthz with " + what)
            expect_error(resp, 413, "body_too_large",
                         "GET /healthz with " + what)
            check(time.monotonic() - t0 < 3, "GET /healthz with %s took "
                  "%.1f s" % (what, time.monotonic() - t0))
        resp = _answer(d, raw_http("GET", "/v1/accounts", [
            ("Content-Length", "8000000000")], token="reader"),
            "GET /v1/accounts with a body")
        expect_error(resp, 413, "body_too_large", "GET /v1/accounts")
        # Content-Length: 0 is no body: served, connection kept.
        with d.raw() as c:
            c.send(raw_http("GET", "/healthz", [("Content-Length", "0")],
                            token=None))
            eq(c.read_response().status, 200, "GET with Content-Length: 0")
            c.send(raw_http("GET", "/healthz", token=None))
            eq(c.read_response().status, 200, "the next request")
        _healthy(d, "after announced bodies")


SEGMENT_EXTRA = """
[source:plain]
signature = none
type = ticket.created
pointer.id = /id
pointer.account_id = /account
pointer.ticket_id = /ticket

[source:signed]
signature = hmac-sha256
secret = s3cr3t-signing
type = ticket.created
pointer.id = /id
pointer.account_id = /account
pointer.ticket_id = /ticket
"""


def _basic(key):
    return "Basic " + base64.b64encode((key + ":").encode()).decode()


def test_auth_before_the_body():
    """A wrong credential is refused from the head: the test announces a
    body and never sends it, so an answer proves nothing was waited for."""
    with Daemon(extra=SEGMENT_EXTRA) as d:
        big = ("Content-Length", "60000")
        cases = [
            ("Segment, wrong Basic key", 401, "unauthorized",
             raw_http("POST", "/segment/v1/batch", [
                 CT, big, ("Authorization", _basic("nope"))])),
            ("Segment /v1/batch, wrong Basic key", 401, "unauthorized",
             raw_http("POST", "/v1/batch", [
                 CT, big, ("Authorization", _basic("nope"))])),
            ("Segment, key without ingest", 403, "forbidden",
             raw_http("POST", "/segment/v1/track", [
                 CT, big, ("Authorization", _basic("reader-secret-1"))])),
            ("Segment, unreadable Basic", 401, "unauthorized",
             raw_http("POST", "/segment/v1/track", [
                 CT, big, ("Authorization", "Basic !!!notbase64")])),
            ("webhook without signature, no token", 401, "unauthorized",
             raw_http("POST", "/v1/webhooks/plain", [CT, big], token=None)),
            ("webhook without signature, wrong token", 401, "unauthorized",
             raw_http("POST", "/v1/webhooks/plain", [CT, big],
                      token="wrong")),
            ("webhook, unknown source", 404, "not_found",
             raw_http("POST", "/v1/webhooks/nosuch", [CT, big])),
            ("events, no token", 401, "unauthorized",
             raw_http("POST", "/v1/events", [CT, big], token=None)),
        ]
        for what, status, code, data in cases:
            _error_at_once(d, data, status, code, what)

        # The writeKey in the body still works (no Authorization header).
        msg = {"writeKey": "backend-secret-1", "batch": [{
            "type": "track", "event": "Signed In", "userId": "u1",
            "messageId": "m-body-key", "context": {"groupId": "acme"},
            "timestamp": rfc3339(time.time())}]}
        st, _, body = d.request("POST", "/segment/v1/batch", body=msg,
                                token=None)
        eq((st, body), (200, {"success": True}), "writeKey in the body")
        # And a right Basic key with no writeKey.
        del msg["writeKey"]
        msg["batch"][0]["messageId"] = "m-basic"
        st, _, body = d.request("POST", "/segment/v1/batch", body=msg,
                                token=None, headers={
                                    "Authorization":
                                    _basic("backend-secret-1")})
        eq((st, body), (200, {"success": True}), "Basic write key")

        # A signed source reads the body to verify it, bounded by
        # max_body_bytes, and refuses a bad signature before parsing:
        # a body that is not JSON gets 401, not invalid_json.
        st, hdrs, body = d.request("POST", "/v1/webhooks/signed",
                                   body=b"{not json", token=None,
                                   headers={"X-Churnwatch-Signature":
                                            "t=%d,v1=00" % time.time()})
        expect_error((st, hdrs, body), 401, "invalid_signature",
                     "signed webhook, bad signature, body not JSON")
        # Unsigned source with the token: served.
        st, _, body = d.request("POST", "/v1/webhooks/plain", body={
            "id": "w1", "account": "acme", "ticket": "t1"})
        eq(st, 202, "unsigned webhook with a token (%r)" % (body,))


def test_inflight_body_cap():
    with Daemon(server={"max_body_bytes": 65536,
                        "max_inflight_body_bytes": 100000}) as d:
        e = ev(account="inflight")
        base = len(json.dumps([e]).encode())
        # Whitespace, not a long props string (at most 1 KiB).
        body = json.dumps([e]).encode()[:-1] + b" " * (60000 - base) + b"]"
        eq(len(body), 60000, "body size")
        head = raw_http("POST", "/v1/events",
                        [CT, ("Content-Length", str(len(body)))])
        with d.raw() as a:
            # A holds 60,000 bytes while its body is on the way.
            a.send(head + body[:100])
            time.sleep(0.3)
            t0 = time.monotonic()
            resp = _answer(d, head + body, "second body past the cap")
            st, hdrs, _ = resp
            expect_error(resp, 503, "overloaded", "a body past "
                         "max_inflight_body_bytes")
            check(hdrs.get("Retry-After"), "503 without Retry-After")
            check(time.monotonic() - t0 < 3, "the 503 took %.1f s" % (
                time.monotonic() - t0))
            # Small bodies still fit next to A.
            st, _, b = d.post([ev(account="small")])
            eq(st, 202, "a small body under the cap (%r)" % (b,))
            # A finishes: served, and its bytes are released.
            a.send(body[100:])
            st, _, b = a.read_response()
            eq(st, 202, "the first big body (%r)" % (b,))
        with d.raw() as c:
            c.send(head + body)
            eq(c.read_response().status, 202, "a big body after A is done")
        text = d.request("GET", "/metrics", token=None).body
        if isinstance(text, bytes):
            text = text.decode()
        check('churnwatch_limit_reached_total{limit="max_inflight_body_'
              'bytes"} 1' in text, "the 503 not counted in "
              "churnwatch_limit_reached_total")
        # The same event twice: stored once, the second is a duplicate.
        eq(d.count("account_id = 'inflight'"), 1, "rows of the big bodies")

        # Chunked bodies count as they grow.
        with d.raw() as a:
            a.send(head + body[:100])
            time.sleep(0.3)
            chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
            with d.raw() as c:
                c.send(raw_http("POST", "/v1/events", [
                    CT, ("Transfer-Encoding", "chunked")]) + chunked)
                resp = c.read_response()
            expect_error(resp, 503, "overloaded", "a chunked body past "
                         "max_inflight_body_bytes")
            a.send(body[100:])
            eq(a.read_response().status, 202, "A after the chunked 503")
        _healthy(d, "after the inflight cap")
