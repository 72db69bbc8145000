"""The Slack app (issue 13, SPEC 2.7 and 5): a slack-app receiver posts
with chat.postMessage to the account's, the owner's or its own channel,
remembers the message, and updates it in place with chat.update when
the alert is acknowledged, snoozed or resolved; Slack's signed
interactions and slash commands act as the API would.  Against
tools/slack_standin.py, which speaks the Web API and response_url."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.parse

from lib import Daemon, check, eq, rfc3339, sql, uid, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "..", "..", "tools", "slack_standin.py")
BOT_TOKEN = "xoxb-1111-2222-secret-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5-signing"
DAY = 86400


class Slack:
    """tools/slack_standin.py on a free port."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, STANDIN, "--port", "0"],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        check("listening on" in line, "stand-in did not start: %r" % line)
        self.port = int(line.split()[-1])

    def _call(self, method, path, body=None):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=json.dumps(body) if body else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return json.loads(data) if data else None

    def control(self, **kw):
        return self._call("POST", "/_control", kw)

    def calls(self, method=None):
        return self._call("GET", "/_calls" + (
            "?method=" + method if method else ""))

    def wait(self, method, n, timeout=10.0):
        got = []

        def enough():
            got[:] = self.calls(method)
            return len(got) >= n
        wait_for(enough, timeout, what="%d %s calls" % (n, method))
        return got

    def response_url(self, name):
        return "http://127.0.0.1:%d/response/%s" % (self.port, name)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def config(slack, owners=True, digest=""):
    text = """
[alerts]
resolve_after = 2s
repeat_interval = 1h
settle = 1s
group_wait = 0

[signals]
interval = 1

[slack]
signing_secret = %s
bot_token = %s
api_url = http://127.0.0.1:%d/api

[receiver:app]
type = slack-app
channel = cs-alerts
timeout = 2

[route:absent]
signal = login_absent
receivers = app
""" % (SIGNING_SECRET, BOT_TOKEN, slack.port)
    if owners:
        text += """
[owner:alice]
slack_channel = cs-alice

[owner:bob]
slack_channel = cs-bob
"""
    return text + digest


def absent_logins(acct, now=None):
    """Logins 20..39 days ago: login_absent fires once settled."""
    now = now or time.time()
    return [{"id": uid("h"), "account_id": acct, "type": "login",
             "user_id": "u1", "ts": rfc3339(now - k * DAY)}
            for k in range(20, 40)]


def put_account(d, acct, **meta):
    st, _, body = d.request("PUT", "/v1/accounts/" + acct, body=meta)
    check(st in (200, 201), "PUT account %s: %s %r" % (acct, st, body))


def blocks_text(msg):
    return json.dumps(msg.get("blocks", []))


def buttons(msg):
    for b in msg.get("blocks", []):
        if b.get("type") == "actions":
            return [e["action_id"] for e in b["elements"]]
    return []


def alert_id(d, acct, signal="login_absent"):
    rows = sql(d.db, "SELECT id FROM alerts WHERE account_id = '%s' AND "
               "signal = '%s' AND state <> 'resolved'" % (acct, signal))
    check(rows, "an open %s alert of %s" % (signal, acct))
    return rows[0][0]


def check_no_secrets(d):
    log = d.log()
    check(BOT_TOKEN not in log, "the bot token is not in the log")
    check(SIGNING_SECRET not in log, "the signing secret is not in the log")
    st, _, body = d.request("GET", "/metrics", token=None)
    text = body if isinstance(body, str) else body.decode()
    check(BOT_TOKEN not in text and SIGNING_SECRET not in text,
          "no Slack secret in /metrics")


def test_post_then_update_on_ack_and_resolve():
    slack = Slack()
    try:
        with Daemon(extra=config(slack)) as d:
            put_account(d, "acme", name="Acme Corp", owner="alice")
            st, _, body = d.post(absent_logins("acme"))
            eq(st, 202, "post: %r" % body)
            posts = slack.wait("chat.postMessage", 1)
            eq(len(posts), 1, "one message")
            p = posts[0]
            eq(p["headers"].get("Authorization"), "Bearer " + BOT_TOKEN,
               "bot token as a bearer token")
            check(p["headers"].get("Content-Type", "").startswith(
                "application/json"), "JSON body")
            msg = p["body"]
            eq(msg["channel"], "cs-alice", "the owner's channel")
            check("ts" not in msg, "a post names no message")
            eq(buttons(msg), ["cw_ack", "cw_snooze", "cw_why"], "buttons")
            aid = alert_id(d, "acme")
            for b in msg["blocks"]:
                if b.get("type") == "actions":
                    check(all(e["value"].startswith(aid + ":login_absent:")
                              for e in b["elements"]),
                          "button values carry the alert id")
            ts = p["answer"]["ts"]
            # Remembered in PostgreSQL for the alert.
            wait_for(lambda: sql(d.db, "SELECT channel, ts FROM "
                                 "slack_messages WHERE alert_id = %s" % aid),
                     5, what="slack_messages row")
            eq(sql(d.db, "SELECT receiver, channel, ts FROM slack_messages"
                   " WHERE alert_id = %s" % aid), [("app", "cs-alice", ts)],
               "the message stored")

            # Acknowledged through the API: the message is updated.
            st, _, body = d.request("POST", "/v1/alerts/%s/ack" % aid,
                                    token="admin")
            eq(st, 200, "ack: %r" % body)
            ups = slack.wait("chat.update", 1)
            u = ups[0]["body"]
            eq((u["channel"], u["ts"]), ("cs-alice", ts), "same message")
            check("Acknowledged" in blocks_text(u), "says acknowledged")
            eq(buttons(u), ["cw_snooze", "cw_why"], "no Acknowledge now")
            eq(ups[0]["answer"]["ok"], True, "update accepted")

            # A restart keeps the message: the resolve updates it too.
            d.restart()
            d.post([{"id": uid("l"), "account_id": "acme", "type": "login",
                     "user_id": "u1"}])
            ups = slack.wait("chat.update", 2, timeout=15)
            u = ups[1]["body"]
            eq((u["channel"], u["ts"]), ("cs-alice", ts),
               "the resolve updates the same message")
            check("Resolved" in blocks_text(u), "says resolved")
            eq(buttons(u), [], "no buttons once resolved")
            eq(len(slack.calls("chat.postMessage")), 1, "no second post")
            check_no_secrets(d)
    finally:
        slack.close()


def test_web_api_errors():
    slack = Slack()
    try:
        with Daemon(extra=config(slack, owners=False)) as d:
            # ratelimited (HTTP 429, Retry-After 1): retried, then posted.
            slack.control(status=429, error="ratelimited", retry_after=1,
                          count=1, method="chat.postMessage")
            d.post(absent_logins("rl"))
            posts = slack.wait("chat.postMessage", 2, timeout=15)
            eq([c["status"] for c in posts], [429, 200], "429 then ok")
            # A channel that does not exist fails that message only.
            slack.control(error="channel_not_found", count=1,
                          method="chat.postMessage")
            d.post(absent_logins("gone"))
            wait_for(lambda: sql(d.db, "SELECT 1 FROM notifications n JOIN "
                                 "alerts a ON a.id = n.alert_id WHERE "
                                 "a.account_id = 'gone' AND n.state = "
                                 "'failed'"), 10, what="failed row")
            eq(sql(d.db, "SELECT n.detail FROM notifications n JOIN alerts "
                   "a ON a.id = n.alert_id WHERE a.account_id = 'gone'"),
               [("HTTP 200 channel_not_found",)], "the detail")
            d.post(absent_logins("after"))
            posts = slack.wait("chat.postMessage", 4, timeout=10)
            eq(posts[3]["answer"]["ok"], True, "the receiver goes on")
            # A revoked token: the receiver is marked failed.
            slack.control(error="token_revoked", method="chat.postMessage")
            d.post(absent_logins("revoked"))
            wait_for(lambda: "receiver app failed" in d.log(), 10,
                     what="receiver failed log line")
            check_no_secrets(d)
    finally:
        slack.close()
