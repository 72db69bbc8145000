"""Portfolio trends (issue 10, SPEC 4): a budget remark at four accounts
and a ticket category at four others say nothing; at the fifth account
each becomes exactly one portfolio alert that reaches a real webhook
receiver naming the five accounts; GET /v1/alerts lists them without
breaking its account filter; a restart sends nothing new; and when the
key falls below min_accounts (a SIGHUP raises it) each resolves once."""

import json
import os
import sys
import time

from lib import Daemon, check, eq, ev, rfc3339

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_10_alerts import Receiver  # noqa: E402

NOW = time.time()
DAY = 86400
KEYS = {"voice_risk:budget", "ticket_category:billing"}


def config(port, min_accounts=5):
    return """
[alerts]
resolve_after = 1s
repeat_interval = 1h
settle = 1s
group_wait = 1s

[signals]
interval = 1

[portfolio]
min_accounts = %d
days = 14

[receiver:hook]
type = webhook
url = http://127.0.0.1:%d/hook
timeout = 2

[route:trends]
signal = portfolio
category = portfolio
receivers = hook
""" % (min_accounts, port)


def note(acct, days_ago):
    # Two days old: back-filled, so the account settles first (SPEC 5).
    return ev(account=acct, type="note", user=None,
              ts=rfc3339(NOW - days_ago * DAY),
              props={"text": "Their budget is tight this year.",
                     "by": "csm", "kind": "call"})


def ticket(acct, tid, days_ago):
    return ev(account=acct, type="ticket.created", user=None,
              ts=rfc3339(NOW - days_ago * DAY),
              props={"ticket_id": tid, "category": "billing",
                     "subject": "Invoice question"})


def portfolio_bodies(rc):
    """Every portfolio notification delivered, grouped ones flattened."""
    out = []
    for r in rc.requests("/hook"):
        if r["status"] is None:
            continue
        b = json.loads(r["body"])
        for x in b if isinstance(b, list) else [b]:
            if x.get("type") == "portfolio":
                out.append(x)
    return out


def wait_bodies(rc, n, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        got = portfolio_bodies(rc)
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


def firing_portfolio(d, query=""):
    st, _, body = d.request("GET", "/v1/alerts?state=firing" + query,
                            token="reader")
    eq(st, 200, "GET /v1/alerts")
    return [a for a in body["alerts"] if a["signal"] == "portfolio"]


def test_portfolio_alert_fires_once_per_key_and_resolves():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port)) as d:
            voices = ["voice-%d" % i for i in range(5)]
            billers = ["bill-%d" % i for i in range(5)]
            # Four accounts each, many records at some: nothing.
            evs = [note(a, 2) for a in voices[:4]] + [note(voices[0], 3)]
            evs += [ticket(a, a + "-t1", 2) for a in billers[:4]]
            evs += [ticket(billers[0], "bill-0-t2", 3)]
            st, _, body = d.post(evs)
            eq(st, 202, "post: %r" % body)
            time.sleep(4)		# settle, then several sweeps
            eq(portfolio_bodies(rc), [], "four accounts are an anecdote")
            eq(firing_portfolio(d), [], "no portfolio alert at four")

            # The fifth account of each: one alert per key.
            st, _, body = d.post([note(voices[4], 1),
                                  ticket(billers[4], "bill-4-t1", 1)])
            eq(st, 202, "post: %r" % body)
            got = wait_bodies(rc, 2)
            time.sleep(3)		# more sweeps: no repeats
            got = portfolio_bodies(rc)
            eq(sorted(b["key"] for b in got), sorted(KEYS),
               "exactly one portfolio alert per key")
            for b in got:
                eq(b["status"], "firing", "status")
                want = voices if b["kind"] == "voice_risk" else billers
                eq([a["id"] for a in b["accounts"]], want,
                   "%s names its accounts, sorted" % b["key"])
                eq(b["accounts"][0]["count"], 2,
                   "the first account's two records")
                eq(b["accounts"][1]["count"], 1, "one record")
                check(b["fingerprint"] and b["notification_id"] and
                      b["alert_id"] and b["play"] and b["started_at"],
                      "ids, play and start of %r" % b)
                check(b["resolved_at"] is None, "not resolved")
                check("at 5 accounts in the last 14 days" in
                      b["explanation"], "explanation %r" % b["explanation"])
            budget = [b for b in got if b["kind"] == "voice_risk"][0]
            check(budget["explanation"].startswith('"budget" remarks'),
                  "the explanation names the phrase class")

            listed = firing_portfolio(d)
            eq(sorted(a["key"] for a in listed), sorted(KEYS),
               "GET /v1/alerts lists both")
            eq([a["account_id"] for a in listed], [None, None],
               "no account's alert")
            eq(firing_portfolio(d, "&account_id=voice-1"), [],
               "an account filter still works (and has none of them)")

            # A restart neither loses nor repeats it.
            d.restart()
            time.sleep(3)
            eq(len(portfolio_bodies(rc)), 2, "nothing new after a restart")
            eq(len(firing_portfolio(d)), 2, "still firing after a restart")

            # Five accounts are below a threshold of six: each resolves,
            # once, after resolve_after.
            d.reload(config(rc.port, min_accounts=6))
            got = wait_bodies(rc, 4)
            time.sleep(2)
            got = portfolio_bodies(rc)
            resolved = [b for b in got if b["status"] == "resolved"]
            eq(sorted(b["key"] for b in resolved), sorted(KEYS),
               "each key resolved once")
            for b in resolved:
                check(b["resolved_at"] is not None, "resolved_at is set")
                fired = [x for x in got if x["key"] == b["key"] and
                         x["status"] == "firing"][0]
                eq(b["alert_id"], fired["alert_id"], "the same alert")
                eq(b["fingerprint"], fired["fingerprint"],
                   "the same fingerprint")
            eq(len(got), 4, "two fired, two resolved, nothing else")
            eq(firing_portfolio(d), [], "none firing")
    finally:
        rc.close()
