"""Alerts (issue 4): an alert reaches a real local HTTP receiver
(tools/receiver.py) within a second of the event that crossed the
threshold; retries (500, 429 Retry-After, a hung receiver), pacing, the
outbox across a SIGKILL, restarts that send nothing new, silences,
acknowledgements and resolution."""

import hashlib
import hmac
import json
import time

from lib import Daemon, StandIn, check, eq, rfc3339, sql, uid, wait_for

SECRET = "hook-secret-123"
DAY = 86400


class Receiver(StandIn):
    def __init__(self):
        super().__init__("receiver.py")

    def mode(self, **kw):
        return self._call("POST", "/_control", kw)

    def requests(self, path=None):
        return self._call("GET", "/_requests" + (
            "?path=" + path if path else ""))

    def wait(self, n, path=None, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            got = [r for r in self.requests(path) if r["status"] is not None]
            if len(got) >= n or time.time() > deadline:
                return got
            time.sleep(0.05)


def config(port, slack_rate=50, slack_burst=50, timeout=2, slack_extra=""):
    return """
[alerts]
resolve_after = 2s
repeat_interval = 1h
settle = 1s

[signals]
interval = 1

[receiver:slack]
type = slack
webhook_url = http://127.0.0.1:%d/slack
rate = %s
burst = %d
timeout = %d
%s
[receiver:hook]
type = webhook
url = http://127.0.0.1:%d/hook
secret = %s
timeout = %d

[route:everything]
receivers = slack, hook
""" % (port, slack_rate, slack_burst, timeout, slack_extra, port, SECRET,
       timeout)


def poc(acct):
    return {"id": uid("poc"), "account_id": acct, "type": "competitor.signal",
            "ts": rfc3339(time.time() - 60),
            "props": {"competitor": "Rivalry", "kind": "poc"}}


def bodies(reqs):
    return [json.loads(r["body"]) for r in reqs]


def check_signature(req):
    sig = req["headers"].get("X-Churnwatch-Signature")
    check(sig, "the webhook carries X-Churnwatch-Signature")
    parts = dict(p.split("=", 1) for p in sig.split(","))
    want = hmac.new(SECRET.encode(), (parts["t"] + ".").encode() +
                    req["body"].encode(), hashlib.sha256).hexdigest()
    eq(parts["v1"], want, "signature")


def sent_notifications(d, alert_id=None):
    where = "" if alert_id is None else " AND alert_id = %s" % alert_id
    return sql(d.db, "SELECT receiver, state, attempts FROM notifications"
               " WHERE true" + where + " ORDER BY receiver")


def test_alert_reaches_receivers_within_a_second():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port)) as d:
            t0 = time.time()
            st, _, body = d.post([poc("acme")])
            eq(st, 202, "post: %r" % body)
            got = rc.wait(2, timeout=5)
            eq(len(got), 2, "slack and webhook each got the alert")
            hook = [r for r in got if r["path"] == "/hook"][0]
            slack = [r for r in got if r["path"] == "/slack"][0]
            check(hook["time"] - t0 < 1.0, "webhook within one second "
                  "(%.3f s)" % (hook["time"] - t0))
            check(slack["time"] - t0 < 1.0, "slack within one second")
            b = json.loads(hook["body"])
            eq((b["status"], b["signal"]["name"], b["signal"]["severity"],
                b["account"]["id"]), ("firing", "competitor_exposure",
                                      "critical", "acme"), "webhook body")
            check(b.get("fingerprint") and b.get("notification_id") and
                  b.get("alert_id") and b.get("play"), "ids and play")
            check_signature(hook)
            s = json.loads(slack["body"])
            check(s.get("blocks") and s.get("text"), "Slack blocks, text")
            # Stored before sent; recorded as sent.
            eq([r[1] for r in sent_notifications(d)], ["sent", "sent"],
               "notification rows")
            st, _, al = d.request("GET", "/v1/alerts?state=firing",
                                  token="reader")
            eq(st, 200, "GET /v1/alerts")
            eq([a["signal"] for a in al["alerts"]],
               ["competitor_exposure"], "firing alerts")
            # A restart while it fires sends nothing new.
            d.restart()
            time.sleep(2.5)
            eq(len(rc.requests()), 2, "requests after a restart")
    finally:
        rc.close()


def test_retries_500_429_and_a_hung_receiver():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port, timeout=1)) as d:
            # 500 then 200: delivered exactly once.
            rc.mode(mode="500", count=1, path="/hook")
            d.post([poc("r500")])
            got = rc.wait(2, path="/hook", timeout=10)
            eq([r["status"] for r in got], [500, 200], "500 then 200")
            eq(len(set(json.loads(r["body"])["notification_id"]
                       for r in got)), 1, "the same notification")
            time.sleep(0.5)
            eq(len(rc.requests("/hook")), 2, "no third delivery")
            # 429 with Retry-After: 2 -- the retry waits at least 2 s.
            rc.mode(mode="429", retry_after=2, count=1, path="/hook")
            d.post([poc("r429")])
            got = rc.wait(4, path="/hook", timeout=10)[2:]
            eq([r["status"] for r in got], [429, 200], "429 then 200")
            check(got[1]["time"] - got[0]["time"] >= 1.95,
                  "Retry-After honoured (%.2f s)" % (
                      got[1]["time"] - got[0]["time"]))
            # A hung receiver: the request times out (1 s) and is retried.
            rc.mode(mode="hang", count=1, path="/hook")
            d.post([poc("rhang")])
            deadline = time.time() + 15
            while time.time() < deadline:
                ok = [r for r in rc.requests("/hook")
                      if json.loads(r["body"])["account"]["id"] == "rhang"
                      and r["status"] == 200]
                if ok:
                    break
                time.sleep(0.1)
            eq(len(ok), 1, "the hung delivery was retried once")
            rows = sql(d.db, "SELECT state, attempts FROM notifications "
                       "WHERE receiver = 'hook' ORDER BY created_at")
            eq([r[0] for r in rows], ["sent"] * 3, "all sent")
            eq([int(r[1]) for r in rows], [2, 2, 2], "two attempts each")
    finally:
        rc.close()


def test_burst_is_paced_and_none_lost():
    rc = Receiver()
    try:
        # Pacing alone: grouping (test_23) would make this 6 messages.
        with Daemon(extra=config(rc.port, slack_rate=20, slack_burst=3,
                                 slack_extra="group_wait = 0")) as d:
            d.post([poc("burst-%d" % i) for i in range(100)])
            got = rc.wait(100, path="/slack", timeout=30)
            eq(len(got), 100, "all 100 Slack messages arrived")
            accounts = set(json.loads(r["body"])["blocks"] and r["body"]
                           for r in got)
            eq(len(accounts), 100, "100 different messages")
            span = got[-1]["time"] - got[0]["time"]
            check(span >= (100 - 3) / 20.0 * 0.9,
                  "paced at 20/s burst 3: %.2f s" % span)
    finally:
        rc.close()


def test_outbox_survives_sigkill():
    rc = Receiver()
    try:
        d = Daemon(extra=config(rc.port, timeout=30))
        with d:
            rc.mode(mode="hang", path="/hook")
            d.post([poc("killed")])
            # Committed to the outbox, not delivered yet.
            deadline = time.time() + 5
            while time.time() < deadline and not rc.requests("/hook"):
                time.sleep(0.05)
            rows = sql(d.db, "SELECT state FROM notifications "
                       "WHERE receiver = 'hook'")
            eq(rows, [("pending",)], "pending in the outbox")
            d.kill()
            rc.mode(mode="ok", path="/hook")
            d.start()
            got = rc.wait(1, path="/hook", timeout=10)
            eq([r["status"] for r in got], [200], "delivered after the "
               "restart, once")
            time.sleep(1.5)
            eq(len([r for r in rc.requests("/hook")
                    if r["status"] == 200]), 1, "still once")
            eq(sql(d.db, "SELECT state FROM notifications "
                   "WHERE receiver = 'hook'"), [("sent",)], "sent")
    finally:
        rc.close()


def test_silence_ack_and_resolve():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port)) as d:
            until = rfc3339(time.time() + 3)
            st, _, body = d.request("POST", "/v1/silences", body={
                "account_id": "quiet", "until": until, "comment": "demo"},
                token="admin")
            eq(st, 201, "silence created: %r" % body)
            sid = body["id"]
            st, _, body = d.request("POST", "/v1/silences", body={
                "until": until, "nope": 1}, token="admin")
            eq(st, 400, "unknown field in a silence")
            st, _, body = d.request("POST", "/v1/silences", body={
                "until": until}, token="backend")
            eq(st, 403, "silences need the admin scope")
            st, _, lst = d.request("GET", "/v1/silences", token="reader")
            eq([s["id"] for s in lst["silences"]], [sid], "listed")

            d.post([poc("quiet")])
            time.sleep(1.0)
            eq(rc.requests(), [], "a silenced alert is not sent")
            eq(sorted(r[1] for r in sent_notifications(d)),
               ["silenced", "silenced"], "stored as silenced")
            st, _, al = d.request("GET", "/v1/alerts?state=silenced",
                                  token="reader")
            eq([a["account_id"] for a in al["alerts"]], ["quiet"],
               "shown as silenced")
            # The silence ends while the alert still fires: sent at once.
            got = rc.wait(2, timeout=6)
            eq(len(got), 2, "sent when the silence ended")

            # Acknowledge: 200 once, 404 for an unknown id.
            aid = al["alerts"][0]["id"]
            st, _, body = d.request("POST", "/v1/alerts/%s/ack" % aid,
                                    token="admin")
            eq(st, 200, "ack: %r" % body)
            st, _, body = d.request("POST", "/v1/alerts/1/ack",
                                    token="admin")
            eq(st, 404, "ack of an unknown alert")
            eq(sql(d.db, "SELECT acked_at IS NOT NULL, acked_by FROM alerts "
                   "WHERE id = %s" % aid), [("t", "token:admin")],
               "acked_at and acked_by stored")
            st, _, al = d.request("GET", "/v1/alerts", token="reader")
            eq([a["acked_by"] for a in al["alerts"] if a["id"] == aid],
               ["token:admin"], "acked_by in GET /v1/alerts")
            # A second ack keeps the first acknowledger.
            st, _, body = d.request("POST", "/v1/alerts/%s/ack" % aid,
                                    token="admin")
            eq((st, body.get("acked_by")), (200, "token:admin"),
               "second ack")

            # Resolution: login_absent fires on an old history, a login
            # resolves it after resolve_after (2 s).
            now = time.time()
            hist = [{"id": uid("h"), "account_id": "absent",
                     "type": "login", "user_id": "u1",
                     "ts": rfc3339(now - k * DAY)} for k in range(20, 40)]
            d.post(hist)
            deadline = time.time() + 5
            while time.time() < deadline:
                fired = [b for b in bodies(rc.requests("/hook"))
                         if b["account"]["id"] == "absent" and
                         b["signal"]["name"] == "login_absent"]
                if fired:
                    break
                time.sleep(0.1)
            eq([(b["signal"]["name"], b["status"]) for b in fired],
               [("login_absent", "firing")], "login_absent fires")
            d.post([{"id": uid("h"), "account_id": "absent",
                     "type": "login", "user_id": "u1"}])
            deadline = time.time() + 8
            while time.time() < deadline:
                res = [b for b in bodies(rc.requests("/hook"))
                       if b["account"]["id"] == "absent" and
                       b["signal"]["name"] == "login_absent" and
                       b["status"] == "resolved"]
                if res:
                    break
                time.sleep(0.1)
            eq(len(res), 1, "resolved after resolve_after")
            check(res[0]["resolved_at"], "resolved_at set")
            st, _, al = d.request("GET", "/v1/alerts?state=resolved"
                                  "&account_id=absent", token="reader")
            check("login_absent" in [a["signal"] for a in al["alerts"]],
                  "listed as resolved: %r" % al)
    finally:
        rc.close()


def digest_config(ahead):
    """A [digest] to hook, at the UTC minute that ahead seconds from now
    falls in."""
    t = time.gmtime(time.time() + ahead)
    return """
[digest]
at = %02d:%02d
timezone = UTC
receivers = hook
top = 5
""" % (t.tm_hour, t.tm_min)


def wait_digests(rc, owner, timeout):
    """The digests the receiver got for owner, once there is one."""
    deadline = time.time() + timeout
    digests = []
    while not digests and time.time() < deadline:
        digests = [b for b in bodies(rc.requests("/hook"))
                   if b.get("type") == "digest" and b.get("owner") == owner]
        time.sleep(0.5)
    eq(len(digests), 1, "one digest for owner " + owner)
    return digests


def test_repeat_ack_and_digest():
    """repeat_interval repeats an unacknowledged firing alert; an ack stops
    it.  The morning digest (here: at the next minute, UTC) lists each
    owner's worst accounts with their active signals."""
    rc = Receiver()
    try:
        extra = config(rc.port).replace("repeat_interval = 1h",
                                        "repeat_interval = 2s")
        extra += digest_config(60)
        with Daemon(extra=extra) as d:
            st, _, _ = d.request("PUT", "/v1/accounts/rep", body={
                "name": "Repeat Co", "owner": "dana"})
            eq(st, 201, "account")
            d.post([poc("rep")])

            def firing():
                return [b for b in bodies(rc.requests("/hook"))
                        if b.get("type") != "digest" and
                        b["account"]["id"] == "rep" and
                        b["signal"]["name"] == "competitor_exposure"]
            deadline = time.time() + 10
            while len(firing()) < 2 and time.time() < deadline:
                time.sleep(0.1)
            got = firing()
            check(len(got) >= 2, "repeated after repeat_interval: %d" %
                  len(got))
            eq(len(set(b["alert_id"] for b in got)), 1, "the same alert")
            eq(len(set(b["notification_id"] for b in got)), len(got),
               "each repeat is a new notification")
            st, _, _ = d.request("POST", "/v1/alerts/%s/ack" %
                                 got[0]["alert_id"], token="admin")
            eq(st, 200, "ack")
            time.sleep(0.5)
            n = len(firing())
            time.sleep(3.5)
            eq(len(firing()), n, "no repeat after the ack")

            # The digest, at the next minute.
            digests = wait_digests(rc, "dana", 75)
            rows = digests[0]["accounts"]
            eq([r["id"] for r in rows], ["rep"], "dana's accounts")
            check("competitor_exposure" in rows[0]["signals"],
                  "digest lists the active signals: %r" % rows)
    finally:
        rc.close()


def test_digest_resolutions_survive_a_restart():
    """The digest's "since yesterday" names the signals resolved within
    the last day, also those resolved before a restart."""
    rc = Receiver()
    try:
        # The digest at a minute at least 40 s away (restart included).
        extra = config(rc.port) + digest_config(100)
        with Daemon(extra=extra) as d:
            st, _, _ = d.request("PUT", "/v1/accounts/res", body={
                "name": "Resolved Co", "owner": "erin"})
            eq(st, 201, "account")
            now = time.time()
            d.post([{"id": uid("h"), "account_id": "res", "type": "login",
                     "user_id": "u1", "ts": rfc3339(now - k * DAY)}
                    for k in range(20, 40)] + [poc("res")])
            q = ("SELECT state FROM alerts WHERE account_id = 'res' AND "
                 "signal = 'login_absent'")
            wait_for(lambda: sql(d.db, q) == [("firing",)], 10,
                     what="login_absent firing")
            d.post([{"id": uid("h"), "account_id": "res", "type": "login",
                     "user_id": "u1"}])
            wait_for(lambda: sql(d.db, q) == [("resolved",)], 10,
                     what="login_absent resolved")
            d.restart()
            digests = wait_digests(rc, "erin", 150)
            row = digests[0]["accounts"][0]
            eq(row["id"], "res", "erin's account")
            check("competitor_exposure" in row["signals"], "active: %r" % row)
            eq(row["check"]["resolved_signals"], ["login_absent"],
               "resolved before the restart, named after it")
    finally:
        rc.close()


test_digest_resolutions_survive_a_restart.timeout = 300


def test_silence_expire_on_resolve():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port)) as d:
            st, _, body = d.request("POST", "/v1/silences", body={
                "account_id": "eor", "signal": "login_absent",
                "until": rfc3339(time.time() + 3600),
                "expire_on_resolve": True}, token="admin")
            eq(st, 201, "silence: %r" % body)
            now = time.time()
            d.post([{"id": uid("h"), "account_id": "eor", "type": "login",
                     "user_id": "u1", "ts": rfc3339(now - k * DAY)}
                    for k in range(20, 40)])
            # Back-filled: notified once the account has settled (1 s).
            q = ("SELECT n.state FROM notifications n JOIN alerts a "
                 "ON a.id = n.alert_id WHERE a.signal = 'login_absent'")
            deadline = time.time() + 5
            while not sql(d.db, q) and time.time() < deadline:
                time.sleep(0.1)
            eq(sql(d.db, q), [("silenced",), ("silenced",)],
               "stored, not sent")
            d.post([{"id": uid("h"), "account_id": "eor", "type": "login",
                     "user_id": "u1"}])
            deadline = time.time() + 8
            while time.time() < deadline:
                st, _, lst = d.request("GET", "/v1/silences",
                                       token="reader")
                if not lst["silences"]:
                    break
                time.sleep(0.2)
            eq(lst["silences"], [], "the silence ended when its alert "
               "resolved")
            eq([b for b in bodies(rc.requests())
                if b.get("account", {}).get("id") == "eor" and
                b["signal"]["name"] == "login_absent"], [],
               "nothing about the silenced alert was sent")
    finally:
        rc.close()
