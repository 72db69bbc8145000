"""Signals from realistic back-filled histories (issue 3): each account's
story is posted through POST /v1/events and PUT /v1/accounts, and
GET /v1/accounts/{id} must report the signals the story implies; a
healthy control shows none.  Then the risk list, and a restart that must
change no signal, score, explanation or since (the alerts keep it)."""

import os
import sys

import time

from lib import Daemon, check, eq, sql

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tools"))
from demo_history import EXPECTED, HEALTHY, histories  # noqa: E402


def post(d, events):
    for i in range(0, len(events), 2000):
        st, _, body = d.post(events[i:i + 2000])
        eq(st, 202, "post: %r" % (body,))
        eq(body["rejected"], [], "rejected events")


def account(d, acct):
    st, _, body = d.request("GET", "/v1/accounts/" + acct, token="reader")
    eq(st, 200, "GET %s: %r" % (acct, body))
    return body


def names(body):
    return sorted(s["name"] for s in body["signals"])


def expect(d, acct, want, exactly=False):
    body = account(d, acct)
    got = names(body)
    if exactly:
        eq(got, sorted(want), "%s: signals" % acct)
    else:
        missing = [w for w in want if w not in got]
        check(not missing, "%s: missing %s; active %s" % (acct, missing,
                                                          got))
    for s in body["signals"]:
        check(s["explanation"], "%s: %s has an explanation" % (acct,
                                                               s["name"]))
        check(isinstance(s["evidence"], dict) and s["evidence"],
              "%s: %s has evidence" % (acct, s["name"]))
    return body


def build_histories(d):
    accounts, events = histories()
    for acct, meta in accounts.items():
        st, _, body = d.request("PUT", "/v1/accounts/" + acct, body=meta)
        check(st in (200, 201), "PUT %s: %d %r" % (acct, st, body))
    post(d, events)


def snapshot(d):
    out = {}
    for acct in list(EXPECTED) + HEALTHY:
        b = account(d, acct)
        out[acct] = {
            "score": b["health"]["score"],
            "status": b["health"]["status"],
            "signals": sorted((s["name"], s["severity"], s["explanation"],
                               sorted(s["evidence"].items()), s["since"])
                              for s in b["signals"]),
        }
    return out


def test_histories_restart_and_risk_list():
    with Daemon(extra="[signals]\ninterval = 1\n[alerts]\nsettle = 1s\n") as d:
        build_histories(d)
        for acct, want in EXPECTED.items():
            expect(d, acct, want, exactly=True)
        for acct in HEALTHY:
            body = expect(d, acct, [], exactly=True)
            eq(body["health"]["score"], 100, "%s score" % acct)
            eq(body["health"]["status"], "green", "%s status" % acct)
        body = account(d, "healthy")
        eq(len(body["windows"]["logins_per_day_90d"]), 90,
           "90 days of logins")
        eq(body["windows"]["active_users_7d"], 8, "healthy active users")

        poc = account(d, "poc")
        sev = {s["name"]: s["severity"] for s in poc["signals"]}
        eq(sev.get("competitor_exposure"), "critical", "poc severity")
        rt = [s for s in account(d, "apilat")["signals"]
              if s["name"] == "ticket_repeat_team"][0]
        eq(rt["evidence"].get("tickets"), 23, "repeat-team evidence")
        check("23" in rt["explanation"] and "engineering" in
              rt["explanation"], "explanation: %r" % rt["explanation"])

        crm = account(d, "crm-new")
        check(crm["health"]["score"] < 40, "crm-new is red: %r" %
              crm["health"])
        eq(crm["health"]["status"], "red", "crm-new status")

        st, _, body = d.request("GET", "/v1/accounts/nope", token="reader")
        eq(st, 404, "unknown account")
        st, _, body = d.request("GET", "/v1/accounts/crm-new")
        eq(st, 403, "ingest token reading an account")

        # The risk list: worst first, filters, cursor paging.
        st, _, lst = d.request("GET", "/v1/accounts?limit=100",
                               token="reader")
        eq(st, 200, "risk list")
        scores = [r["score"] for r in lst["accounts"]]
        eq(scores, sorted(scores), "worst first")
        eq(sorted(r["id"] for r in lst["accounts"][-2:]), sorted(HEALTHY),
           "the healthy accounts come last")
        st, _, red = d.request("GET", "/v1/accounts?status=red",
                               token="reader")
        check(all(r["status"] == "red" for r in red["accounts"]) and
              any(r["id"] == "crm-new" for r in red["accounts"]),
              "status=red: %r" % red)
        st, _, al = d.request("GET", "/v1/accounts?owner=alice",
                              token="reader")
        eq(sorted(r["id"] for r in al["accounts"]),
           ["crm-new", "healthy", "sales300"], "owner=alice")
        seen, cursor = [], None
        for _ in range(10):
            q = "/v1/accounts?limit=2" + (
                "&cursor=" + cursor if cursor else "")
            st, _, page = d.request("GET", q, token="reader")
            eq(st, 200, "page %r" % page)
            seen += [r["id"] for r in page["accounts"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            cursor = cursor.replace("%", "%25").replace("&", "%26")
        eq(seen, [r["id"] for r in lst["accounts"]], "paged = unpaged")
        st, _, body = d.request("GET", "/v1/accounts?status=purple",
                                token="reader")
        eq(st, 400, "bad status filter")

        # Daily scores reach health_daily (the sweep runs every second
        # here); a score from 7 days ago gives trend_7d.
        want = {a: account(d, a)["health"]["score"]
                for a in list(EXPECTED) + HEALTHY}
        deadline = time.time() + 15
        while True:
            rows = dict((r[0], int(r[1])) for r in sql(
                d.db, "SELECT account_id, score FROM health_daily "
                "WHERE day = (now() AT TIME ZONE 'UTC')::date"))
            if rows == want or time.time() > deadline:
                break
            time.sleep(0.3)
        eq(rows, want, "today's scores in health_daily")
        eq(account(d, "crm-new")["health"]["trend_7d"], None,
           "no trend without a score 7 days ago")

        # The history was back-filled: the accounts settle (1 s), then
        # their alerts, which keep each signal's since, are stored.
        deadline = time.time() + 15
        while any(account(d, a)["settling_until"] for a in want) and \
                time.time() < deadline:
            time.sleep(0.3)
        time.sleep(1.5)
        before = snapshot(d)
        d.restart()
        after = snapshot(d)
        for acct in before:
            eq(after[acct], before[acct], "%s after a restart" % acct)
        # The daily scores (trend_7d's history) come back from the
        # snapshots, not from health_daily, which only analysts read:
        # a row written there behind the daemon's back changes nothing.
        sql(d.db, "INSERT INTO health_daily VALUES ('crm-new', "
            "(now() AT TIME ZONE 'UTC')::date - 7, 90)")
        d.restart()
        eq(account(d, "crm-new")["health"]["trend_7d"], None,
           "trend_7d after a restart")
        eq(snapshot(d), before, "views after a second restart")
