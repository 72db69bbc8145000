"""Segment-compatible ingestion (issue 6), end to end with the real,
unmodified @segment/analytics-node library from npm, run by Node.js, with
only its host changed.  A proxy in front of churnwatch loses the answer to
the library's first batch after churnwatch committed it, so the library
retries the same batch: every message must land exactly once, in the
right account's windows, and the group membership must survive a
restart.  Then the Segment endpoints' own errors."""

import base64
import json
import os
import subprocess
import time

from lib import Daemon, HttpProxy, check, eq, npm_cache, sql

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "segment")
WRITE_KEY = "backend-secret-1"      # the [token:backend] secret (ingest)


def npm_install():
    """Install the library into a cache directory once per machine: the
    current release on Node.js >= 20, else 2.2.1, the last release that
    supports Node.js 18 (Debian 12's own)."""
    out = subprocess.run(["node", "--version"], stdout=subprocess.PIPE,
                         timeout=30).stdout.decode().strip()
    major = int(out.lstrip("v").split(".")[0])
    version = json.load(open(os.path.join(CLIENT, "package.json")))[
        "dependencies"]["@segment/analytics-node"] if major >= 20 else "2.2.1"
    return npm_cache("@segment/analytics-node", version,
                     "" if major >= 20 else "-node%d" % major,
                     "churnwatch-segment-e2e")


class LosingProxy(HttpProxy):
    """Forwards the daemon's HTTP/1.1 connections; for the first request
    it forwards the request, waits for churnwatch's answer, and then
    closes the client's connection without passing the answer on."""

    def __init__(self, target_port):
        self.lost = 0
        self.requests = 0
        HttpProxy.__init__(self, target_port)

    def on_request(self, req):
        self.requests += 1
        lose = self.lost == 0
        if lose:
            self.lost += 1          # committed, answer lost
        return lose


def test_analytics_node_library_end_to_end():
    cache = npm_install()
    with Daemon() as d:
        proxy = LosingProxy(d.port)
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
            check(proxy.lost == 1 and proxy.requests >= 2,
                  "the first batch's answer was lost and the batch retried "
                  "(%d requests)" % proxy.requests)
        finally:
            proxy.close()
        rows = sql(d.db, "SELECT type, count(*) FROM events WHERE "
                   "source = 'backend' GROUP BY 1 ORDER BY 1")
        counts = dict((t, int(n)) for t, n in rows)
        eq(counts.get("login"), 1, "Signed In became one login: %r" % counts)
        check(counts.get("feature_used", 0) >= 2,
              "Report Exported and the page are feature uses: %r" % counts)
        eq(int(sql(d.db, "SELECT count(*) - count(DISTINCT id) FROM "
                   "events")[0][0]), 0, "nothing stored twice")
        eq(sql(d.db, "SELECT account_id FROM segment_members WHERE "
               "user_id = 'seg-user-1'"), [("seg-acct",)], "membership")
        st, _, acct = d.request("GET", "/v1/accounts/seg-acct",
                                token="reader")
        eq(st, 200, "the grouped account exists: %r" % acct)
        eq((acct["name"], acct["seats"]), ("Segment Co", 12),
           "group traits became account metadata")
        eq(sum(acct["windows"]["logins_per_day_90d"]), 1,
           "the login counts in the account's window")
        # The membership survives a restart: a later track without
        # groupId is still attributed.
        d.restart()
        st, _, body = d.request(
            "POST", "/segment/v1/track", token=None,
            body={"userId": "seg-user-1", "event": "Login",
                  "messageId": "after-restart-1",
                  "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime())},
            headers={"Authorization": "Basic " + base64.b64encode(
                (WRITE_KEY + ":").encode()).decode()})
        eq((st, body), (200, {"success": True}), "track after a restart")
        eq(sql(d.db, "SELECT account_id, type FROM events WHERE id = "
               "'after-restart-1'"), [("seg-acct", "login")],
           "attributed through the stored membership")


def _basic(key):
    return {"Authorization": "Basic " + base64.b64encode(
        (key + ":").encode()).decode()}


def test_segment_errors():
    with Daemon() as d:
        msg = {"userId": "u", "event": "Signed In", "messageId": "m1"}
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body=msg)
        eq(st, 401, "no write key: %r" % body)
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body=msg, headers=_basic("wrong-key-123"))
        eq(st, 401, "unknown write key")
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body=msg, headers=_basic("reader-secret-1"))
        eq(st, 403, "a write key without the ingest scope")
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body=dict(msg, writeKey=WRITE_KEY))
        eq((st, body), (200, {"success": True}), "writeKey in the body")
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body=msg, headers=_basic(WRITE_KEY))
        eq(st, 200, "the same messageId again")
        eq(int(sql(d.db, "SELECT count(*) FROM events WHERE id = 'm1'")
               [0][0]), 1, "messageId is the idempotency key")
        big = dict(msg, messageId="m2", properties={"x": "y" * 40000})
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body=big, headers=_basic(WRITE_KEY))
        eq(st, 400, "a message over 32 KB is refused: %r" % body)
        batch = {"batch": [dict(msg, messageId="b%d" % i)
                           for i in range(2501)]}
        st, _, body = d.request("POST", "/segment/v1/batch", token=None,
                                body=batch, headers=_basic(WRITE_KEY))
        eq(st, 400, "2,501 messages are refused, not dropped: %r" % body)
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body="{nope", headers=_basic(WRITE_KEY))
        eq(st, 400, "malformed JSON")
        st, _, body = d.request("POST", "/segment/v1/track", token=None,
                                body={"userId": "u", "event": "x"},
                                headers=_basic(WRITE_KEY))
        eq(st, 400, "missing messageId")
        eq(int(sql(d.db, "SELECT count(*) FROM events")[0][0]), 1,
           "refused requests stored nothing")
