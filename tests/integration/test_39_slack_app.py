"""The Slack app (issue 13, SPEC 2.7 and 5): a slack-app receiver posts
with chat.postMessage to the account's, the owner's or its own channel,
remembers the message, and updates it in place with chat.update when
the alert is acknowledged, snoozed or resolved; Slack's signed
interactions and slash commands act as the API would.  Against
tools/slack_standin.py, which speaks the Web API and response_url."""

import hashlib
import hmac
import json
import time
import urllib.parse

from lib import Daemon, StandIn, check, eq, rfc3339, sql, uid, wait_for

BOT_TOKEN = "xoxb-1111-2222-secret-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5-signing"
DAY = 86400


class Slack(StandIn):
    """tools/slack_standin.py on a free port."""

    def __init__(self):
        super().__init__("slack_standin.py")

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


# ---- Slack's requests, signed as Slack signs them ----

def sign(body, ts=None, secret=SIGNING_SECRET):
    ts = str(int(time.time()) if ts is None else ts)
    base = ("v0:%s:" % ts).encode() + body
    return ts, "v0=" + hmac.new(secret.encode(), base,
                                hashlib.sha256).hexdigest()


def slack_post(d, path, body, ts=None, sig=None):
    """POST a form body to the daemon as Slack does; the answer.  The
    client gives up after 3 s: Slack's limit."""
    if isinstance(body, str):
        body = body.encode()
    t, s = sign(body, ts)
    return d.request("POST", path, body=body, token=None, timeout=3.0,
                     headers={"Content-Type":
                              "application/x-www-form-urlencoded",
                              "X-Slack-Request-Timestamp": t,
                              "X-Slack-Signature": sig or s})


def block_actions(slack, msg, ts, action, name):
    """A block_actions payload for a click on one of msg's buttons, in
    the shape Slack's interactivity docs give."""
    value = [e for b in msg["blocks"] if b.get("type") == "actions"
             for e in b["elements"] if e["action_id"] == action][0]["value"]
    payload = {
        "type": "block_actions",
        "user": {"id": "U0BOB", "username": "bob", "name": "bob",
                 "team_id": "T0001"},
        "api_app_id": "A0APP", "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts,
                      "channel_id": msg["channel"], "is_ephemeral": False},
        "trigger_id": "123.456.abc",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": msg["channel"], "name": msg["channel"]},
        "message": {"type": "message", "ts": ts, "text": msg["text"],
                    "blocks": msg["blocks"]},
        "response_url": slack.response_url(name),
        "actions": [{"action_id": action, "block_id": "churnwatch_alert",
                     "text": {"type": "plain_text", "text": action},
                     "value": value, "type": "button",
                     "action_ts": "%.6f" % time.time()}],
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


def slash(slack, text, name):
    """A /churnwatch slash command in the shape Slack's docs give."""
    return urllib.parse.urlencode({
        "token": "legacy-verification-token", "team_id": "T0001",
        "team_domain": "example", "channel_id": "C0CS",
        "channel_name": "cs-alice", "user_id": "U0BOB", "user_name": "bob",
        "command": "/churnwatch", "text": text, "api_app_id": "A0APP",
        "response_url": slack.response_url(name),
        "trigger_id": "123.456.abc"})


def responses(slack, name):
    return [c["body"] for c in slack.calls("response_url")
            if c["path"] == "/response/" + name]


def wait_response(slack, name, timeout=10.0):
    return wait_for(lambda: responses(slack, name), timeout,
                    what="a response_url answer for " + name)[0]


def state(d):
    """What a refused request must not change."""
    return (sql(d.db, "SELECT count(*) FROM silences"),
            sql(d.db, "SELECT id, acked_at, acked_by FROM alerts ORDER BY id"),
            sql(d.db, "SELECT count(*) FROM events WHERE type = 'note'"))


def test_buttons():
    slack = Slack()
    try:
        with Daemon(extra=config(slack)) as d:
            put_account(d, "acme", name="Acme Corp", owner="alice")
            d.post(absent_logins("acme"))
            p = slack.wait("chat.postMessage", 1)[0]
            msg, ts = p["body"], p["answer"]["ts"]
            aid = alert_id(d, "acme")

            # Why?: an ephemeral answer with explanation, evidence, play.
            st, _, body = slack_post(d, "/slack/interactions",
                                     block_actions(slack, msg, ts, "cw_why",
                                                   "why"))
            eq(st, 200, "why click: %r" % body)
            w = wait_response(slack, "why")
            eq(w["response_type"], "ephemeral", "ephemeral")
            eq(w["replace_original"], False, "the alert message stays")
            for want in ("login_absent", "evidence", "play", "Acme Corp"):
                check(want in w["text"], "why says %s: %r" % (want,
                                                              w["text"]))

            # Refused before anything is parsed: nothing changes.
            before = state(d)
            ack = block_actions(slack, msg, ts, "cw_ack", "ack")
            st, _, body = slack_post(d, "/slack/interactions", ack,
                                     sig="v0=" + "0" * 64)
            eq((st, body["error"]), (401, "invalid_signature"),
               "a wrong signature")
            st, _, body = slack_post(d, "/slack/interactions", ack,
                                     ts=int(time.time()) - 600)
            eq(st, 401, "a stale timestamp: %r" % body)
            check("5 minutes" in body["message"], "says why: %r" % body)
            st, _, body = d.request(
                "POST", "/slack/interactions", body=ack.encode(),
                token=None, headers={"Content-Type":
                                     "application/x-www-form-urlencoded"})
            eq(st, 401, "no signature at all")
            time.sleep(0.3)
            eq(state(d), before, "refused requests changed nothing")

            # Acknowledge: acked as the API would, by bob; message updated.
            t, s = sign(ack.encode())
            st, _, body = slack_post(d, "/slack/interactions", ack, ts=t)
            eq(st, 200, "ack click: %r" % body)
            up = slack.wait("chat.update", 1)[0]["body"]
            eq((up["channel"], up["ts"]), ("cs-alice", ts), "in place")
            check("Acknowledged by bob (U0BOB)" in blocks_text(up),
                  "the update names who acknowledged")
            eq(buttons(up), ["cw_snooze", "cw_why"], "no Acknowledge now")
            eq(sql(d.db, "SELECT acked_by FROM alerts WHERE id = %s" % aid),
               [("bob (U0BOB)",)], "recorded with the Slack user")
            st, _, body = d.request("GET", "/v1/alerts?account_id=acme",
                                    token="reader")
            eq([a["acked_by"] for a in body["alerts"] if a["id"] == str(aid)],
               ["bob (U0BOB)"], "GET /v1/alerts shows who acknowledged")
            check("Acknowledged" in wait_response(slack, "ack")["text"],
                  "told to the clicker")
            # The same request again (same timestamp and signature): a
            # replay, refused, nothing changes.
            before = state(d)
            st, _, body = slack_post(d, "/slack/interactions", ack, ts=t,
                                     sig=s)
            eq(st, 401, "a replayed body: %r" % body)
            check("replay" in body["message"], "says replay")
            eq(state(d), before, "the replay changed nothing")

            # Snooze 7 days: a silence on acme + login_absent, by bob.
            st, _, body = slack_post(d, "/slack/interactions",
                                     block_actions(slack, msg, ts,
                                                   "cw_snooze", "snooze"))
            eq(st, 200, "snooze click: %r" % body)
            rows = wait_for(lambda: sql(
                d.db, "SELECT account_id, signal, comment, "
                "round(extract(epoch FROM until - now()) / 86400) "
                "FROM silences"), 5, what="a silence")
            eq(rows, [("acme", "login_absent",
                       "Snoozed from Slack by bob (U0BOB)", "7")],
               "the silence")
            up = slack.wait("chat.update", 2)[1]["body"]
            eq(up["ts"], ts, "the same message again")
            check("Snoozed for 7 days by bob" in blocks_text(up),
                  "the update says snoozed")
            check("Snoozed" in wait_response(slack, "snooze")["text"],
                  "told to the clicker")
            st, _, al = d.request("GET", "/v1/alerts?account_id=acme",
                                  token="reader")
            eq([a["state"] for a in al["alerts"]], ["silenced"],
               "the API sees it silenced")
            check_no_secrets(d)
    finally:
        slack.close()


def test_slash_commands():
    slack = Slack()
    try:
        with Daemon(extra=config(slack)) as d:
            put_account(d, "acme", name="Acme Corp", owner="alice")
            put_account(d, "bolt", name="Bolt Inc", owner="bob")
            d.post(absent_logins("acme"))
            slack.wait("chat.postMessage", 1)

            def cmd(text, name):
                st, _, body = slack_post(d, "/slack/commands",
                                         slash(slack, text, name))
                eq(st, 200, "/churnwatch %s: %r" % (text, body))
                eq(body["response_type"], "ephemeral", "ephemeral")
                return body["text"]

            check("/churnwatch at-risk" in cmd("help", "h"), "help")
            t = cmd("frobnicate now", "u")
            check("I do not know `frobnicate`" in t and "at-risk" in t,
                  "an unknown subcommand gets help: %r" % t)
            t = cmd("at-risk", "r1")
            check("Acme Corp" in t and "login_absent" in t, "at-risk: %r" % t)
            check("Acme Corp" in cmd("at-risk alice", "r2"), "alice's")
            check("No account at risk for bob" in cmd("at-risk bob", "r3"),
                  "bob has none")
            t = cmd("why acme", "w")
            check("login_absent" in t and "play" in t, "why: %r" % t)
            check("No account `nope`" in cmd("why nope", "w2"), "unknown")
            check("usage" in cmd("snooze acme soon", "s0"), "bad days")

            t = cmd("snooze acme 3d on holiday until Monday", "s")
            check("Snoozing `acme` for 3 days" in t, "answered now: %r" % t)
            check("Snoozed acme for 3 days" in
                  wait_response(slack, "s")["text"], "then done")
            eq(sql(d.db, "SELECT account_id, signal, comment FROM silences"),
               [("acme", None, "Snoozed from Slack by bob (U0BOB): on "
                 "holiday until Monday")], "the silence")

            t = cmd("note acme Their CFO said the budget is frozen", "n")
            check("Keeping your note on `acme`" in t, "answered now")
            check("Noted on `acme`" in wait_response(slack, "n")["text"],
                  "then stored")
            eq(sql(d.db, "SELECT source, account_id, props->>'text', "
                   "props->>'by' FROM events WHERE type = 'note'"),
               [("slack:command", "acme",
                 "Their CFO said the budget is frozen", "bob")],
               "a note event through the ingest path")
            check("No account `ghost`" in cmd("note ghost hello", "n2"),
                  "a note needs a known account")
            check_no_secrets(d)
    finally:
        slack.close()


def test_owners_get_their_alerts_and_digest():
    """Two owners with their own channels: each gets only its accounts'
    alerts, and its own morning digest with the five-minute check."""
    slack = Slack()
    try:
        # The digest's minute starts 30 to 90 s from now: after the
        # history below is in, even under the sanitizers.
        t = time.gmtime(time.time() + 90)
        digest = """
[digest]
at = %02d:%02d
timezone = UTC
receivers = app
top = 5
""" % (t.tm_hour, t.tm_min)
        with Daemon(extra=config(slack, digest=digest)) as d:
            now = time.time()
            put_account(d, "acme", name="Acme Corp", owner="alice",
                        renewal_at=rfc3339(now + 30 * DAY - 3600))
            put_account(d, "bolt", name="Bolt Inc", owner="bob")
            # acme: 10 logins in the last 30 days (20..29 days ago), 16
            # in the 30 before; a call 12 days ago; a risk note 3 days
            # ago.  bolt: no login for 20 days either.
            evs = [{"id": uid("h"), "account_id": "acme", "type": "login",
                    "user_id": "u1", "ts": rfc3339(now - k * DAY)}
                   for k in range(20, 46)]
            evs.append({"id": uid("t"), "account_id": "acme",
                        "type": "touchpoint", "ts": rfc3339(now - 12 * DAY),
                        "props": {"kind": "call", "by": "alice"}})
            evs.append({"id": uid("n"), "account_id": "acme", "type": "note",
                        "ts": rfc3339(now - 3 * DAY),
                        "props": {"text": "They mentioned budget cuts",
                                  "by": "alice"}})
            evs += absent_logins("bolt")
            st, _, body = d.post(evs)
            eq(st, 202, "post: %r" % body)
            def alert_posts():
                # Alert messages carry the buttons; the digest does not.
                return [p["body"] for p in slack.calls("chat.postMessage")
                        if any(blk.get("type") == "actions"
                               for blk in p["body"].get("blocks", []))]
            posts = wait_for(lambda: len(alert_posts()) >= 2 and
                             alert_posts(), 20, what="two alert messages")
            by_channel = {}
            for b in posts:
                acct = [e["value"].split(":", 2)[2] for blk in b["blocks"]
                        if blk.get("type") == "actions"
                        for e in blk["elements"]][0]
                by_channel.setdefault(b["channel"], set()).add(acct)
            eq(by_channel, {"cs-alice": {"acme"}, "cs-bob": {"bolt"}},
               "each owner's channel gets only its accounts' alerts")

            def digests():
                return [c["body"] for c in slack.calls("chat.postMessage")
                        if "Churn digest" in c["body"].get("text", "")]
            got = wait_for(lambda: len(digests()) >= 2 and digests(), 150,
                           what="two digests")
            eq(len(got), 2, "one digest per owner")
            dg = {g["channel"]: blocks_text(g) for g in got}
            eq(sorted(dg), ["cs-alice", "cs-bob"], "to each owner's channel")
            check("Acme Corp" in dg["cs-alice"] and
                  "Bolt" not in dg["cs-alice"], "alice's digest: her account")
            check("Bolt Inc" in dg["cs-bob"] and
                  "Acme" not in dg["cs-bob"], "bob's digest: his account")
            a = json.loads(dg["cs-alice"])
            text = [b["text"]["text"] for b in a
                    if b.get("type") == "section" and
                    "Acme Corp" in b["text"]["text"]][0]
            for want in ("login_absent",
                         "*Since yesterday:* new login_absent",
                         "*Last touchpoint:* 12 days ago",
                         "*Usage:* 10 logins in 30 d, -38 % vs the 30 d "
                         "before",
                         "*Renews in 30 days*",
                         "*Risk note* (3 days ago): “budget” (budget)"):
                check(want in text, "the five-minute check has %r: %r" % (
                    want, text))
            b = [b["text"]["text"] for b in json.loads(dg["cs-bob"])
                 if b.get("type") == "section" and
                 "Bolt Inc" in b["text"]["text"]][0]
            check("*Last touchpoint:* none" in b, "bob's: %r" % b)
            check("Renews" not in b and "Risk note" not in b,
                  "nothing invented: %r" % b)
            check_no_secrets(d)
    finally:
        slack.close()


# Waits for the digest's minute, 30 to 90 s.
test_owners_get_their_alerts_and_digest.timeout = 300
