"""Content-Encoding on ingest (issue 10): the real, unmodified
@rudderstack/rudder-sdk-node library from npm, with its defaults (gzip
on) and only dataPlaneUrl changed, delivers group, identify and track
calls exactly once; then gzip and deflate bodies on every ingest route,
and the refusals -- a decompression bomb (413, never inflated in full,
the daemon's memory stays small), corrupt and truncated streams (400),
an unknown coding (415), the decoded size counted against
max_inflight_body_bytes (503) -- with nothing stored for any of them and
authentication still decided before any body byte."""

import base64
import gzip
import hashlib
import hmac
import json
import os
import subprocess
import time
import zlib

from lib import (Daemon, HttpProxy, check, eq, expect_error, ev, npm_cache,
                 raw_http, sql, uid)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "rudderstack")
WRITE_KEY = "backend-secret-1"      # the [token:backend] secret (ingest)
ZD_SECRET = "zd-secret-0123456789"


def npm_install():
    """Install the library into a cache directory once per machine, as
    test_13 does for Segment's."""
    version = json.load(open(os.path.join(CLIENT, "package.json")))[
        "dependencies"]["@rudderstack/rudder-sdk-node"]
    return npm_cache("@rudderstack/rudder-sdk-node", version, "-rudder",
                     "churnwatch-rudderstack-e2e")


class RecordingProxy(HttpProxy):
    """Forwards HTTP/1.1 requests to the daemon and keeps each request's
    head, so the test can see what the library really sent."""

    def __init__(self, target_port):
        self.heads = []
        HttpProxy.__init__(self, target_port)

    def on_request(self, req):
        self.heads.append(req.split(b"\r\n\r\n", 1)[0].decode("latin-1"))
        return False


def header(head, name):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def test_rudderstack_node_sdk_end_to_end():
    cache = npm_install()
    with Daemon() as d:
        proxy = RecordingProxy(d.port)
        try:
            env = dict(os.environ, NODE_PATH=os.path.join(cache,
                                                         "node_modules"))
            p = subprocess.run(
                ["node", os.path.join(CLIENT, "client.js"),
                 "http://127.0.0.1:%d/segment" % proxy.port, WRITE_KEY],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=120)
            out = p.stdout.decode()
            eq(p.returncode, 0, "the library flushed: %s" % out)
            check("flushed" in out, "the library flushed: %s" % out)
        finally:
            proxy.close()
        check(len(proxy.heads) >= 1, "the library sent requests")
        for h in proxy.heads:
            check(h.startswith("POST /segment/v1/batch "),
                  "dataPlaneUrl + /v1/batch: %r" % h.split("\r\n")[0])
            eq(header(h, "Content-Encoding"), "gzip",
               "the library gzips by default")
            check((header(h, "Authorization") or "").startswith("Basic "),
                  "the write key as HTTP Basic user name")
        rows = sql(d.db, "SELECT type, account_id, props->>'feature' FROM "
                   "events WHERE source = 'backend'")
        # Each call once; the tracks in the group's account (SPEC 2.4),
        # group and identify kept but in no account's windows.
        eq(sorted(rows), [("feature_used", "", "group"),
                          ("feature_used", "", "identify"),
                          ("feature_used", "rs-acct", "Report Exported"),
                          ("login", "rs-acct", None)],
           "group, identify and two tracks, each stored once")
        eq(int(sql(d.db, "SELECT count(*) - count(DISTINCT id) FROM "
                   "events")[0][0]), 0, "nothing stored twice")
        eq(sql(d.db, "SELECT account_id FROM segment_members WHERE "
               "user_id = 'rs-user-1'"), [("rs-acct",)], "membership")
        st, _, body = d.request("GET", "/v1/accounts/rs-acct",
                                token="reader")
        eq(st, 200, "the grouped account: %r" % body)
        eq((body.get("name"), body.get("plan")), ("Rudder Co", "pro"),
           "group traits upserted the account")


def gz(data):
    return gzip.compress(data if isinstance(data, bytes) else
                         json.dumps(data).encode())


def bomb(n=1 << 30):
    """n bytes of zeros, gzipped: about n / 1000 bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [c.compress(chunk) for _ in range(n >> 20)]
    parts.append(c.flush())
    return b"".join(parts)


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_encoded_bodies_and_refusals():
    big = bomb()
    check(len(big) < 1100000, "1 GB of zeros gzips to about 1 MB (%d)" %
          len(big))
    with Daemon() as d:
        enc = {"Content-Encoding": "gzip"}

        # Refusals first: nothing may be stored by any of them.
        # Who asks is decided from the head: no body byte is needed.
        with d.raw() as c:
            c.send(raw_http("POST", "/v1/events", [
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(big)))], token=None))
            expect_error(c.read_response(), 401, "unauthorized",
                         "a bomb's head without a token")
        expect_error(d.request("POST", "/v1/events", body=gz([ev()]),
                               headers={"Content-Encoding": "br"},
                               token=None), 401, "unauthorized",
                     "an unknown coding without a token: auth first")
        t0 = time.time()
        body = expect_error(d.request("POST", "/v1/events", body=big,
                                      headers=enc), 413, "body_too_large",
                            "1 GB of zeros, gzipped")
        check(time.time() - t0 < 10, "the bomb was refused quickly")
        check("decod" in body["message"], "says decoded: %r" % body)
        check(vm_hwm_kb(d.proc.pid) < 96 * 1024,
              "the bomb was never inflated in full (peak RSS %d kB)" %
              vm_hwm_kb(d.proc.pid))
        expect_error(d.request("POST", "/segment/v1/batch", body=big,
                               headers=dict(enc, Authorization="Basic " +
                                            base64.b64encode(
                                                (WRITE_KEY + ":").encode())
                                            .decode()), token=None),
                     413, "body_too_large", "a bomb on the Segment route")
        good = gz([ev(uid())])
        body = expect_error(d.request("POST", "/v1/events",
                                      body=good[:len(good) // 2] +
                                      b"\xff" * 8 + good[len(good) // 2 + 8:],
                                      headers=enc), 400, "bad_encoding",
                            "a corrupt gzip stream")
        expect_error(d.request("POST", "/v1/events", body=good[:-5],
                               headers=enc), 400, "bad_encoding",
                     "a truncated gzip stream")
        expect_error(d.request("POST", "/v1/events", body=good + b"junk",
                               headers=enc), 400, "bad_encoding",
                     "trailing garbage after the gzip stream")
        expect_error(d.request("POST", "/v1/events",
                               body=json.dumps([ev(uid())]).encode(),
                               headers=enc), 400, "bad_encoding",
                     "plain JSON labelled gzip")
        body = expect_error(d.request("POST", "/v1/events", body=good,
                                      headers={"Content-Encoding": "br"}),
                            415, "unsupported_encoding", "Content-Encoding br")
        check("gzip" in body["message"] and "br" in body["message"],
              "the 415 names what is accepted: %r" % body)
        expect_error(d.request("POST", "/v1/events", body=good,
                               headers={"Content-Encoding": "gzip, gzip"}),
                     415, "unsupported_encoding", "gzip twice")
        expect_error(d.request("PUT", "/v1/accounts/enc-acct",
                               body=b"\x1f\x8b\x08\x00garbage",
                               headers=enc), 400, "bad_encoding",
                     "a corrupt account PUT")
        eq(int(sql(d.db, "SELECT count(*) FROM events")[0][0]), 0,
           "nothing stored for refused bodies")

        # Accepted: gzip, x-gzip, deflate, identity, on every ingest route.
        batch = [ev(uid(), account="enc-acct", user="u_%d" % i)
                 for i in range(50)]
        st, _, body = d.request("POST", "/v1/events", body=gz(batch),
                                headers=enc)
        eq((st, body.get("accepted")), (202, 50),
           "a gzipped batch: %r" % body)
        nd = "\n".join(json.dumps(e) for e in [ev(uid(), account="enc-acct"),
                                               ev(uid(), account="enc-acct")])
        st, _, body = d.request("POST", "/v1/events",
                                body=zlib.compress(nd.encode()),
                                headers={"Content-Encoding": "deflate",
                                         "Content-Type":
                                         "application/x-ndjson"})
        eq((st, body.get("accepted")), (202, 2), "deflate NDJSON: %r" % body)
        st, _, body = d.request("POST", "/v1/events",
                                body=gz([ev(uid(), account="enc-acct")]),
                                headers={"Content-Encoding": "x-gzip"})
        eq(st, 202, "x-gzip: %r" % body)
        st, _, body = d.request("POST", "/v1/events",
                                body=[ev(uid(), account="enc-acct")],
                                headers={"Content-Encoding": "identity"})
        eq(st, 202, "identity: %r" % body)
        # gzip members back to back make one body.
        text = json.dumps([ev(uid(), account="enc-acct")]).encode()
        st, _, body = d.request("POST", "/v1/events",
                                body=gzip.compress(text[:10]) +
                                gzip.compress(text[10:]), headers=enc)
        eq(st, 202, "concatenated gzip members: %r" % body)
        st, _, body = d.request("PUT", "/v1/accounts/enc-acct",
                                body=gz({"name": "Encoded Inc",
                                         "plan": "team"}), headers=enc)
        check(st in (200, 201, 204), "a gzipped account PUT: %d %r" %
              (st, body))
        eq(int(sql(d.db, "SELECT count(*) FROM events WHERE account_id = "
                   "'enc-acct'")[0][0]), 55, "every accepted event stored")
        eq(int(sql(d.db, "SELECT count(*) - count(DISTINCT id) FROM "
                   "events")[0][0]), 0, "nothing stored twice")
        st, _, body = d.request("GET", "/v1/accounts/enc-acct",
                                token="reader")
        eq((st, body.get("name")), (200, "Encoded Inc"), "the PUT landed")
        # Chunked and gzipped, in 7-byte chunks: decoded as they come.
        z = gz([ev(uid(), account="enc-acct")])
        chunked = b"".join(b"%x\r\n" % len(z[i:i + 7]) + z[i:i + 7] +
                           b"\r\n" for i in range(0, len(z), 7))
        st, _, body = d.raw_request(raw_http("POST", "/v1/events", [
            ("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked")]) + chunked + b"0\r\n\r\n")
        eq((st, body.get("accepted")), (202, 1), "chunked gzip: %r" % body)
        eq(int(sql(d.db, "SELECT count(*) FROM events")[0][0]), 56,
           "every accepted event stored")


def test_inflight_counts_decoded_bytes():
    """A body small on the wire but large decoded takes its decoded size
    from max_inflight_body_bytes: with room for 256 KiB in flight, a
    600 KB batch gzipped to a few KB is shed (503), while the same batch
    fits once max_inflight_body_bytes leaves room for it."""
    batch = [ev(uid(), account="infl-acct", user="u_%d" % i,
                props={"pad": "x" * 500}) for i in range(1000)]
    raw = json.dumps(batch).encode()
    z = gzip.compress(raw)
    check(len(raw) > 512 * 1024 and len(z) < 64 * 1024,
          "sizes %d / %d" % (len(raw), len(z)))
    with Daemon(server={"max_inflight_body_bytes": 256 * 1024}) as d:
        r = d.request("POST", "/v1/events", body=z,
                      headers={"Content-Encoding": "gzip"})
        expect_error(r, 503, "overloaded", "decoded past the in-flight cap")
        eq(int(sql(d.db, "SELECT count(*) FROM events")[0][0]), 0,
           "nothing stored")
    with Daemon(server={"max_inflight_body_bytes": 4 << 20}) as d:
        st, _, body = d.request("POST", "/v1/events", body=z,
                                headers={"Content-Encoding": "gzip"})
        eq((st, body.get("accepted")), (202, 1000), "room for it: %r" %
           body)


def zendesk_source():
    return ("[source:zendesk]\nsignature = zendesk\nsecret = %s\n"
            "max_skew = 300\ntype = ticket.created\n"
            "pointer.account_id = /account\npointer.ticket_id = /ticket_id\n"
            % ZD_SECRET)


def zendesk_headers(body, ts=None):
    ts = ts or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sig = base64.b64encode(hmac.new(ZD_SECRET.encode(), ts.encode() + body,
                                    hashlib.sha256).digest()).decode()
    return {"X-Zendesk-Webhook-Signature": sig,
            "X-Zendesk-Webhook-Signature-Timestamp": ts}


def test_webhook_signature_covers_the_decoded_body():
    """A sender signs its payload and compresses it for the trip: the
    signature is checked over the decoded body, so one over the gzip
    bytes is refused, and the same payload sent plain is a duplicate."""
    payload = json.dumps({"ticket_id": "T-1", "account": "zd-acct"}).encode()
    with Daemon(extra=zendesk_source()) as d:
        z = gzip.compress(payload)
        hdrs = dict(zendesk_headers(z), **{"Content-Encoding": "gzip"})
        st, _, body = d.request("POST", "/v1/webhooks/zendesk", body=z,
                                headers=hdrs, token=None)
        eq(st, 401, "signed over the gzip bytes: %r" % body)
        eq(int(sql(d.db, "SELECT count(*) FROM events")[0][0]), 0,
           "nothing stored for a bad signature")
        hdrs = dict(zendesk_headers(payload), **{"Content-Encoding": "gzip"})
        st, _, body = d.request("POST", "/v1/webhooks/zendesk", body=z,
                                headers=hdrs, token=None)
        eq((st, body.get("accepted")), (202, 1),
           "signed over the payload, sent gzipped: %r" % body)
        st, _, body = d.request("POST", "/v1/webhooks/zendesk",
                                body=payload, headers=zendesk_headers(
                                    payload), token=None)
        eq((st, body.get("duplicates")), (202, 1),
           "the same payload sent plain is a duplicate: %r" % body)
        eq(sql(d.db, "SELECT account_id, type FROM events"),
           [("zd-acct", "ticket.created")], "one event")
        expect_error(d.request("POST", "/v1/webhooks/zendesk",
                               body=z[:-3], headers=dict(
                                   zendesk_headers(payload),
                                   **{"Content-Encoding": "gzip"}),
                               token=None), 400, "bad_encoding",
                     "a truncated signed webhook")
