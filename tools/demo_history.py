#!/usr/bin/env python3
"""Back-filled demo histories: a few healthy accounts and a few whose story
should raise churn signals (SPEC 4).  Used by tools/demo and by the
integration test tests/integration/test_09_signals.py.

    demo_history.py OUTDIR     writes OUTDIR/accounts.jsonl (one
                               {"id":..., "meta": {...}} per line) and
                               OUTDIR/events-N.ndjson (at most 2,000
                               events each)

Times are relative to now; every event id is unique per run.
"""

import itertools
import json
import os
import sys
import time
import uuid

DAY = 86400

# What each story raises: the rest of each account is healthy, so nothing
# else fires (the test checks exactly these).
EXPECTED = {
    "crm-new": ["onboarding_stall", "login_absent", "no_touch"],
    "spiky": ["usage_spike"],
    "sales300": ["seat_underuse"],
    "apilat": ["ticket_repeat_team", "ticket_velocity"],
    "champ": ["title_downgrade", "champion_left"],
    "poc": ["competitor_exposure"],
}
HEALTHY = ["healthy", "steady"]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def histories(now=None):
    """Returns (accounts, events): accounts maps id -> metadata for
    PUT /v1/accounts/{id}; events is a list of event envelopes."""
    now = now or time.time()
    run = uuid.uuid4().hex[:8]
    seq = itertools.count()

    def at(days_ago, hour=10):
        t = (int(now // DAY) - days_ago) * DAY + hour * 3600
        return rfc3339(min(t, now - 60))

    def ev(acct, type, days_ago=None, hour=10, ts=None, user=None,
           props=None):
        e = {"id": "demo-%s-%d" % (run, next(seq)), "account_id": acct,
             "type": type, "ts": ts or at(days_ago, hour)}
        if user is not None:
            e["user_id"] = user
        if props is not None:
            e["props"] = props
        return e

    accounts, events = {}, []

    def background(acct, users, owner, touch=True):
        """The rest of a story's account is healthy: its users log in
        every third day and CS meets them every two weeks, so only the
        story itself raises a signal."""
        for day in range(0, 180):
            for u in range(users):
                if (day + u) % 3 == 0:
                    events.append(ev(acct, "login", day, 8,
                                     user="b%d" % u))
            if touch and day % 14 == 4:
                events.append(ev(acct, "touchpoint", day, 11,
                                 props={"kind": "meeting", "by": owner}))

    # A CRM customer onboarded 35 days ago: two users logged in during the
    # first week only, and nobody from CS has talked to them.
    accounts["crm-new"] = {"name": "Stalled CRM", "seats": 2,
                           "owner": "alice", "segment": "smb",
                           "onboarded_at": at(35)}
    for day in range(35, 28, -1):
        events += [ev("crm-new", "login", day, user="u1"),
                   ev("crm-new", "login", day, user="u2")]

    # A 30-person company: ~10 logins a day, then 200 in the last hours
    # (often a bug being worked around).
    accounts["spiky"] = {"name": "Spiky Inc", "seats": 30, "owner": "bob",
                         "segment": "smb", "onboarded_at": at(200)}
    for day in range(1, 40):
        for k in range(8 + day % 5):
            events.append(ev("spiky", "login", day, 9, user="u%d" % (k % 30)))
    hour = int(now // 3600) * 3600
    for k in range(200):
        events.append(ev("spiky", "login", user="u%d" % (k % 30),
                         ts=rfc3339(min(hour - (k % 20) * 600, now - 60))))
    events.append(ev("spiky", "touchpoint", 3,
                     props={"kind": "call", "by": "bob"}))

    # A 300-seat sales company where 60 people use the product.
    accounts["sales300"] = {"name": "Big Sales", "seats": 300,
                            "owner": "alice", "segment": "enterprise",
                            "onboarded_at": at(150)}
    for u in range(60):
        for day in (2, 9, 16):
            events.append(ev("sales300", "login", day, user="rep%d" % u))
    for day in range(4, 180, 14):
        events.append(ev("sales300", "touchpoint", day, 11,
                         props={"kind": "call", "by": "alice"}))

    # An engineering team filing its 23rd API-latency ticket in four
    # months: 10 in the 90 days before the last 30, then 13.
    accounts["apilat"] = {"name": "Latency Ltd", "seats": 20, "owner": "bob",
                          "onboarded_at": at(300)}
    days = [110, 100, 95, 85, 75, 70, 60, 50, 45, 40,
            29, 27, 25, 22, 20, 18, 15, 12, 10, 7, 5, 3, 1]
    for i, day in enumerate(days):
        events.append(ev("apilat", "ticket.created", day, props={
            "ticket_id": "T-%d" % i, "team": "engineering",
            "category": "api-latency", "subject": "API slow again"}))
    background("apilat", 15, "bob")

    # The champion is moved from Head of CS to Senior Manager, then leaves.
    accounts["champ"] = {"name": "Champion Co", "seats": 50,
                         "owner": "carol", "onboarded_at": at(400)}
    events += [
        ev("champ", "contact.joined", 170, props={
            "contact_id": "c1", "name": "Kim",
            "title": "Head of Customer Success", "is_champion": True}),
        ev("champ", "contact.changed", 40, props={
            "contact_id": "c1", "title": "Senior Manager",
            "previous_title": "Head of Customer Success",
            "is_champion": True}),
        ev("champ", "contact.left", 10, props={"contact_id": "c1"}),
    ]
    background("champ", 40, "carol")

    # A competitor proof of concept.
    accounts["poc"] = {"name": "Evaluating", "seats": 10, "owner": "carol",
                       "onboarded_at": at(300)}
    events.append(ev("poc", "competitor.signal", 5,
                     props={"competitor": "Rivalry", "kind": "poc"}))
    background("poc", 8, "carol")

    # Healthy accounts: most seats in daily use for 180 days, the core
    # feature in use, a CS touchpoint every two weeks.
    for acct, seats, users, owner in (("healthy", 10, 8, "alice"),
                                      ("steady", 5, 4, "bob")):
        accounts[acct] = {"name": acct.title() + " Co", "seats": seats,
                          "owner": owner, "segment": "smb",
                          "onboarded_at": at(400),
                          "core_features": ["reports"]}
        for day in range(0, 180):
            for u in range(users):
                events.append(ev(acct, "login", day, 8, user="h%d" % u))
            events.append(ev(acct, "feature_used", day, 9,
                             user="h%d" % (day % users),
                             props={"feature": "reports"}))
            if day % 14 == 0:
                events.append(ev(acct, "touchpoint", day, 11,
                                 props={"kind": "meeting", "by": owner}))
    return accounts, events


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    accounts, events = histories()
    with open(os.path.join(out, "accounts.jsonl"), "w") as f:
        for acct, meta in accounts.items():
            f.write(json.dumps({"id": acct, "meta": meta}) + "\n")
    for n, i in enumerate(range(0, len(events), 2000)):
        with open(os.path.join(out, "events-%03d.ndjson" % n), "w") as f:
            for e in events[i:i + 2000]:
                f.write(json.dumps(e, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
