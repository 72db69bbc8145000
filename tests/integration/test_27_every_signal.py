"""Every signal end to end (issue 10, "What it must show"): for each of
the 19 signals of SPEC 4, one account whose posted history crosses the
default threshold exactly and a twin whose history is the same but one
step below it (one ticket, contact, user or login fewer, a ratio just on
the quiet side, or the decisive event one day older).  Through the real
daemon: the account view lists the signal with its explanation and
evidence for the firing account and not for the twin; the alert reaches
a local webhook receiver for the firing account and nothing for that
signal arrives about the twin; after a restart the same signals are
active with the same explanations and evidence, and nothing is sent
again.

Time: every ts is computed from one "now" captured at the start.  A
back-filled event of "k days ago" lies at the start of that UTC day (plus
a few seconds), so its day is exact whatever the time of day, and
yesterday's events never fall in usage_spike's last 24 hours.  Only the
usage_spike logins are live (within the last hour, and today).  The test
does not start in the last minute of a UTC day (it waits for the next
one), so "today" is one day throughout.
"""

import json
import os
import sys
import time

from lib import Daemon, check, eq, ev, rfc3339

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_10_alerts import Receiver  # noqa: E402
from test_23_true_alerts import members  # noqa: E402

DAY = 86400

CONFIG = """
[alerts]
settle = 1s
group_wait = 0s
resolve_after = 1h
repeat_interval = 1h

[signals]
interval = 1

[coverage]
usage = %(cov)s
support = %(cov)s
engagement = %(cov)s
org = %(cov)s
competitor = %(cov)s

[receiver:hook]
type = webhook
url = http://127.0.0.1:%(port)d/hook
rate = 1000
burst = 1000

[route:everything]
receivers = hook
"""


class Clock:
    """Every ts of the test, from one whole-second "now"."""

    def __init__(self, now):
        self.now = now
        self.midnight = now - now % DAY      # start of today, UTC
        self.tod = now % DAY                 # seconds into today

    def day(self, k, sec=0):
        """sec seconds into the UTC day k days before today: a back-fill
        for k >= 1."""
        check(k >= 1 and 0 <= sec < 3600, "day(%r, %r)" % (k, sec))
        return rfc3339(self.midnight - k * DAY + sec)

    def date(self, k):
        return time.strftime("%Y-%m-%d",
                             time.gmtime(self.midnight - k * DAY))

    def live(self, j, n):
        """The j-th of n live ts, spread over the last five minutes (or
        the part of today there is): today and within the last hour."""
        span = min(300, self.tod)
        return rfc3339(self.now - span * j // max(1, n))


# ---- histories ----
#
# A builder takes (clock, account id, fire) and returns (metadata for
# PUT /v1/accounts/{id}, events).  Every account is onboarded a year ago
# unless the rule needs otherwise, and has had a call 5 days ago unless
# the rule is about touchpoints, so that nothing but the signal under
# test is active on it.


def _login(c, acct, k, user, sec=0):
    return ev(account=acct, type="login", user=user, ts=c.day(k, sec))


def _ticket(c, acct, k, tid, sec=0, **props):
    props["ticket_id"] = tid
    return ev(account=acct, type="ticket.created", user=None,
              ts=c.day(k, sec), props=props)


def _contact(c, acct, type, k, cid, **props):
    props["contact_id"] = cid
    return ev(account=acct, type="contact." + type, user=None,
              ts=c.day(k), props=props)


def _touch(c, acct, k, kind="call", **props):
    props["kind"] = kind
    props.setdefault("by", "csm")
    return ev(account=acct, type="touchpoint", user=None, ts=c.day(k),
              props=props)


def _call(c, acct):
    return _touch(c, acct, 5)


def _meta(c, acct, onboarded=365, **kw):
    m = {"name": acct, "owner": "csm-e2e",
         "onboarded_at": rfc3339(c.midnight - onboarded * DAY + 3600)}
    m.update(kw)
    return m


def ticket_velocity(c, a, fire):
    """9 tickets in the 90 days before the last 30 (3 per 30 days);
    6 (2.0 x) in the last 30 fires, 5 (1.67 x, above min_tickets 5)
    does not."""
    evs = [_ticket(c, a, 35 + 10 * i, "b%d" % i, subject="Login is slow")
           for i in range(9)]
    evs += [_ticket(c, a, 2 + 5 * i, "r%d" % i, subject="Login is slow")
            for i in range(6 if fire else 5)]
    return _meta(c, a), evs + [_call(c, a)]


def ticket_repeat_team(c, a, fire):
    """10 (9) tickets from team engineering, category api-latency, in the
    last 120 days: 2 in the last 30, so no ticket_velocity."""
    evs = [_ticket(c, a, 20 + 8 * i, "t%d" % i, team="engineering",
                   category="api-latency", subject="API is slow")
           for i in range(10 if fire else 9)]
    return _meta(c, a), evs + [_call(c, a)]


def ticket_sentiment_decline(c, a, fire):
    """Three tickets at 0.5 in the 90 days before the last 30; three at
    0.2 (a drop of 0.30) or 0.21 (0.29) in the last 30."""
    last = 0.2 if fire else 0.21
    evs = [_ticket(c, a, 40 + 10 * i, "b%d" % i, sentiment=0.5)
           for i in range(3)]
    evs += [_ticket(c, a, 3 + 5 * i, "r%d" % i, sentiment=last)
            for i in range(3)]
    return _meta(c, a), evs + [_call(c, a)]


def churn_intent(c, a, fire):
    """A ticket asking to cancel 29 days ago (in the last 30) or 30 days
    ago (not)."""
    evs = [_ticket(c, a, 29 if fire else 30, "cx", category="billing",
                   subject="We want to cancel our subscription")]
    return _meta(c, a), evs + [_call(c, a)]


def support_silence(c, a, fire):
    """6 (5) tickets in the 120 days before the last 60, none since."""
    evs = [_ticket(c, a, 65 + 10 * i, "s%d" % i, subject="How do I ...")
           for i in range(6 if fire else 5)]
    return _meta(c, a), evs + [_call(c, a)]


def champion_left(c, a, fire):
    """A champion (so flagged when she joined, not when she left) left
    89 days ago (in the last 90) or 90 days ago (not)."""
    evs = [_contact(c, a, "joined", 150, "c-ada", name="Ada",
                    title="Director of IT", is_champion=True),
           _contact(c, a, "left", 89 if fire else 90, "c-ada")]
    return _meta(c, a), evs + [_call(c, a)]


def title_downgrade(c, a, fire):
    """A champion went from VP to Head/Director 89 (90) days ago."""
    evs = [_contact(c, a, "joined", 150, "c-bob", name="Bob",
                    title="VP Operations", is_champion=True),
           _contact(c, a, "changed", 89 if fire else 90, "c-bob",
                    title="Director of Operations",
                    previous_title="VP Operations")]
    return _meta(c, a), evs + [_call(c, a)]


def new_executive(c, a, fire):
    """A VP joined 89 (90) days ago."""
    evs = [_contact(c, a, "joined", 89 if fire else 90, "c-eve",
                    name="Eve", title="VP Engineering")]
    return _meta(c, a), evs + [_call(c, a)]


def contact_turnover(c, a, fire):
    """Two contacts left and one changed title in the last 60 days (the
    twin: without the title change)."""
    evs = [_contact(c, a, "joined", 150, "c-%d" % i, title="Engineer",
                    is_champion=False) for i in range(3)]
    evs += [_contact(c, a, "left", 10, "c-0"),
            _contact(c, a, "left", 20, "c-1")]
    if fire:
        evs.append(_contact(c, a, "changed", 59, "c-2", title="Manager",
                            previous_title="Engineer"))
    return _meta(c, a), evs + [_call(c, a)]


def competitor_exposure(c, a, fire):
    """Three (two) competitor mentions in the last 30 days."""
    evs = [ev(account=a, type="competitor.signal", user=None,
              ts=c.day(k), props={"competitor": "Rivalry",
                                  "kind": "mention"})
           for k in (29, 10, 1)[0 if fire else 1:]]
    return _meta(c, a), evs + [_call(c, a)]


def login_decline(c, a, fire):
    """One login a day in the 28 days before the last 14 (1.0 a day, the
    minimum); 6 logins (43 %) or 7 (50 %, not below) in the last 14."""
    evs = [_login(c, a, k, "u%d" % (k % 3)) for k in range(14, 42)]
    evs += [_login(c, a, 1 + 2 * i, "u%d" % i) for i in range(6 if fire
                                                             else 7)]
    return _meta(c, a), evs + [_call(c, a)]


def login_absent(c, a, fire):
    """One login 14 days ago (before the last 14) or 13 days ago."""
    evs = [_login(c, a, 14 if fire else 13, "u1")]
    return _meta(c, a), evs + [_call(c, a)]


def seat_underuse(c, a, fire):
    """10 seats; 2 (20 %) or 3 (30 %, not below) users in the last 30
    days."""
    evs = [_login(c, a, 5 + 7 * i, "u%d" % i) for i in range(2 if fire
                                                           else 3)]
    return _meta(c, a, seats=10), evs + [_call(c, a)]


SPIKE_BASE = 7          # logins a day in the 28 days before today


def usage_spike(c, a, fire):
    """7 logins a day for 28 days (mean 7, sigma 0); 22 logins in the
    last 24 hours (over 3 x 7 and at least 20) or 21 (not over)."""
    evs = [_login(c, a, k, "u%d" % j, sec=j)
           for k in range(1, 29) for j in range(SPIKE_BASE)]
    n = 22 if fire else 21
    evs += [ev(account=a, type="login", user="u%d" % (j % 5),
               ts=c.live(j, n)) for j in range(n)]
    return _meta(c, a), evs + [_call(c, a)]


def core_feature_unused(c, a, fire):
    """The core feature 'reports' last used 14 days ago (before the
    last 14) or 13 days ago, while users logged in 3 times."""
    evs = [ev(account=a, type="feature_used", user="u1",
              ts=c.day(14 if fire else 13), props={"feature": "reports"})]
    evs += [_login(c, a, k, "u1") for k in (2, 4, 6)]
    return (_meta(c, a, core_features=["reports"]),
            evs + [_call(c, a)])


def onboarding_stall(c, a, fire):
    """Onboarded 20 days ago with 20 seats (4 users expected): 3 users
    active in the last 14 days, or 4."""
    evs = [_login(c, a, 2 + i, "u%d" % i) for i in range(3 if fire else 4)]
    return (_meta(c, a, onboarded=20, seats=20), evs + [_call(c, a)])


def no_touch(c, a, fire):
    """The last touchpoint 30 days ago (before the last 30) or 29."""
    return _meta(c, a), [_touch(c, a, 30 if fire else 29)]


def meeting_attendance_decline(c, a, fire):
    """Two meetings fully attended in the 120 days before the last 60;
    in the last 60, 15/20 and 3/4 (mean 0.75, a drop of 0.25) or 16/20
    and 3/4 (0.775, a drop of 0.225)."""
    evs = [_touch(c, a, k, "meeting", attendees=10, invited=10)
           for k in (150, 90)]
    evs += [_touch(c, a, 40, "meeting", attendees=15 if fire else 16,
                   invited=20),
            _touch(c, a, 10, "meeting", attendees=3, invited=4)]
    return _meta(c, a), evs + [_call(c, a)]


def voice_risk(c, a, fire):
    """A note about the budget 29 days ago (in the last 30) or 30 days
    ago (not)."""
    evs = [ev(account=a, type="note", user=None, ts=c.day(29 if fire
                                                          else 30),
              props={"text": "They said the Budget for tools is frozen.",
                     "by": "csm", "kind": "call"})]
    return _meta(c, a), evs + [_call(c, a)]


# ---- what the firing account must show ----
#
# (signal, builder, severity, explanation(clock), evidence subset)

def CASES(c):
    return [
        ("ticket_velocity", ticket_velocity, "warning",
         "6 tickets opened in the last 30 days, 2.0 × this account's "
         "average of 3.0 per 30 days over the 90 days before (threshold 5 "
         "tickets and 2.0 ×)",
         {"tickets": 6, "baseline_tickets": 9, "ratio": 2, "threshold": 5,
          "threshold_ratio": 2}),
        ("ticket_repeat_team", ticket_repeat_team, "critical",
         "10 tickets from team 'engineering' in category 'api-latency' in "
         "the last 120 days (threshold 10)",
         {"tickets": 10, "team": "engineering", "category": "api-latency",
          "days": 120, "threshold": 10}),
        ("ticket_sentiment_decline", ticket_sentiment_decline, "warning",
         "mean ticket sentiment fell to 0.20 over 3 rated tickets in the "
         "last 30 days from 0.50 over 3 in the 90 days before, a drop of "
         "0.30 (threshold 0.30)",
         {"mean": 0.2, "tickets": 3, "baseline_mean": 0.5,
          "baseline_tickets": 3, "drop": 0.3, "threshold": 0.3}),
        ("churn_intent", churn_intent, "critical",
         "a ticket 29 days ago matches the churn-intent patterns "
         "(cancelling, contract terms, downgrading, exporting data, ...)",
         {"tickets": 1, "days": 30, "latest_days_ago": 29}),
        ("support_silence", support_silence, "info",
         "no ticket in the last 60 days after 6 in the 120 days before "
         "(threshold 6)",
         {"tickets": 0, "baseline_tickets": 6, "threshold": 6}),
        ("champion_left", champion_left, "critical",
         "champion 'c-ada' left 89 days ago",
         {"contact": "c-ada", "days_ago": 89, "champions": 1}),
        ("title_downgrade", title_downgrade, "warning",
         "champion 'c-bob' went from VP to Head/Director level 89 days ago",
         {"contact": "c-bob", "from_rank": "VP",
          "to_rank": "Head/Director", "days_ago": 89}),
        ("new_executive", new_executive, "info",
         "'c-eve' joined at rank VP 89 days ago",
         {"contact": "c-eve", "rank": "VP", "days_ago": 89,
          "from_competitor": 0}),
        ("contact_turnover", contact_turnover, "warning",
         "3 contacts left or changed title in the last 60 days (2 left, 1 "
         "changed title; threshold 3)",
         {"contacts": 3, "left": 2, "title_changed": 1, "threshold": 3}),
        ("competitor_exposure", competitor_exposure, "warning",
         "3 competitor signals in the last 30 days, the latest 'Rivalry' "
         "(mention) yesterday (threshold 3)",
         {"signals": 3, "competitor": "Rivalry", "kind": "mention",
          "days_ago": 1, "threshold": 3}),
        ("login_decline", login_decline, "warning",
         "logins fell to 0.4 a day in the last 14 days from 1.0 a day in "
         "the 28 days before, 43% of before (threshold: below 50%)",
         {"logins": 6, "baseline_logins": 28, "baseline_daily_mean": 1,
          "ratio": 0.43, "threshold_ratio": 0.5}),
        ("login_absent", login_absent, "critical",
         "no login in the last 14 days after 1 in the 90 days before; the "
         "last one 14 days ago",
         {"logins": 0, "baseline_logins": 1, "last_login_days_ago": 14}),
        ("seat_underuse", seat_underuse, "warning",
         "2 of 10 seats (20%) were used in the last 30 days (threshold "
         "30%)",
         {"active_users": 2, "seats": 10, "share": 0.2,
          "threshold_ratio": 0.3}),
        ("usage_spike", usage_spike, "warning",
         "22 logins in the last 24 hours, 3.1 × the daily mean of 7.0 "
         "(σ 0.0) over the 28 days before (threshold: over 3.0 × and mean "
         "+ 4.0 σ, at least 20)",
         {"logins_24h": 22, "baseline_daily_mean": 7, "baseline_stddev": 0,
          "ratio": 3.14, "threshold": 20}),
        ("core_feature_unused", core_feature_unused, "warning",
         "the core feature 'reports' was not used in the last 14 days, "
         "while users logged in 3 times",
         {"core_features": 1, "logins": 3, "last_used_days_ago": 14}),
        ("onboarding_stall", onboarding_stall, "critical",
         "3 users active in the last 14 days, 20 days after onboarding "
         "(expected at least 4: 2 or 20% of 20 seats, whichever is more)",
         {"active_users": 3, "days_since_onboarding": 20, "threshold": 4,
          "seats": 20}),
        ("no_touch", no_touch, "warning",
         "no touchpoint in the last 30 days; the last one 30 days ago",
         {"touchpoints": 0, "days": 30, "last_touch_days_ago": 30}),
        ("meeting_attendance_decline", meeting_attendance_decline,
         "warning",
         "meetings were attended by 75% of the invited on average over 2 "
         "meetings in the last 60 days, down from 100% over 2 in the 120 "
         "days before (threshold: a drop of 25 points)",
         {"rate": 0.75, "meetings": 2, "baseline_rate": 1,
          "baseline_meetings": 2, "drop": 0.25, "threshold": 0.25}),
        ("voice_risk", voice_risk, "warning",
         'a note on %s says "budget" (budget)' % c.date(29),
         {"phrase": "budget", "class": "budget", "days_ago": 29}),
    ]


SIGNALS = [
    "ticket_velocity", "ticket_repeat_team", "ticket_sentiment_decline",
    "churn_intent", "support_silence", "champion_left", "title_downgrade",
    "new_executive", "contact_turnover", "competitor_exposure",
    "login_decline", "login_absent", "seat_underuse", "usage_spike",
    "core_feature_unused", "onboarding_stall", "no_touch",
    "meeting_attendance_decline", "voice_risk",
]


def acct_id(signal, fire):
    return "e27-%s-%s" % (signal.replace("_", "-"),
                          "fire" if fire else "twin")


def account(d, acct):
    st, _, body = d.request("GET", "/v1/accounts/" + acct, token="reader")
    eq(st, 200, "GET %s: %r" % (acct, body))
    return body


def snapshot(d, accts):
    """acct -> its health score and the sorted (name, severity,
    explanation, evidence, since) of its active signals."""
    out = {}
    for acct in accts:
        b = account(d, acct)
        out[acct] = (b["health"]["score"], sorted(
            (s["name"], s["severity"], s["explanation"],
             json.dumps(s["evidence"], sort_keys=True), s["since"])
            for s in b["signals"]))
    return out


def wait_for_day_start():
    """Not in the last minute of a UTC day: the test (about half a
    minute) must see one "today" throughout."""
    left = DAY - time.time() % DAY
    if left < 60:
        time.sleep(left + 2)


def fired(rc):
    """(account, signal) -> the firing webhook notifications received."""
    out = {}
    reqs = [r for r in rc.requests("/hook") if r["status"] is not None]
    for m in members(reqs):
        if m.get("status") != "firing":
            continue
        key = ((m.get("account") or {}).get("id"),
               (m.get("signal") or {}).get("name"))
        out.setdefault(key, []).append(m)
    return out


def test_every_signal_fires_and_its_twin_stays_quiet():
    wait_for_day_start()
    c = Clock(int(time.time()))
    cases = CASES(c)
    eq([x[0] for x in cases], SIGNALS, "one case per signal, table order")

    metas, events = {}, []
    for name, build, _, _, _ in cases:
        for fire in (True, False):
            a = acct_id(name, fire)
            meta, evs = build(c, a, fire)
            metas[a] = meta
            events.extend(evs)
    accts = sorted(metas)
    eq(len(accts), 2 * len(SIGNALS), "unique account ids")

    rc = Receiver()
    try:
        extra = CONFIG % {"cov": c.date(300), "port": rc.port}
        with Daemon(extra=extra, log_level="info") as d:
            for a in accts:
                st, _, body = d.request("PUT", "/v1/accounts/" + a,
                                        body=metas[a])
                check(st in (200, 201), "PUT %s: %d %r" % (a, st, body))
            st, _, body = d.post(events)
            eq(st, 202, "post: %r" % (body,))
            eq(body["rejected"], [], "rejected events")
            eq(body["accepted"], len(events), "accepted")

            # (b) each firing account's alert reaches the receiver once
            # its back-fill has settled.
            want = {(acct_id(n, True), n) for n in SIGNALS}
            deadline = time.time() + 20
            while time.time() < deadline:
                if want <= set(fired(rc)):
                    break
                time.sleep(0.2)
            # Whatever else is coming (a twin's alert would be due at the
            # same time as its firing account's) has had time to arrive.
            time.sleep(2.5)
            got = fired(rc)

            # (a) the account view, and (b) what was sent.
            problems = []
            views = {}
            for name, _, severity, explanation, evidence in cases:
                fa, ta = acct_id(name, True), acct_id(name, False)
                views[fa] = account(d, fa)
                views[ta] = account(d, ta)
                sig = [s for s in views[fa]["signals"] if s["name"] == name]
                if not sig:
                    problems.append("%s: not active on %s (active: %s)" % (
                        name, fa, [s["name"] for s in
                                   views[fa]["signals"]]))
                else:
                    s = sig[0]
                    if s["explanation"] != explanation:
                        problems.append("%s: explanation %r, expected %r" %
                                        (name, s["explanation"],
                                         explanation))
                    if s["severity"] != severity:
                        problems.append("%s: severity %r, expected %r" % (
                            name, s["severity"], severity))
                    bad = {k: (s["evidence"].get(k), v)
                           for k, v in evidence.items()
                           if s["evidence"].get(k) != v}
                    if bad:
                        problems.append("%s: evidence (got, expected): "
                                        "%r" % (name, bad))
                    sent = got.get((fa, name), [])
                    if len(sent) != 1:
                        problems.append("%s: %d firing notifications for "
                                        "%s, expected 1" % (name, len(sent),
                                                            fa))
                    else:
                        m = sent[0]
                        if (m["explanation"], m["signal"]["severity"],
                                m["evidence"]) != (s["explanation"],
                                                   s["severity"],
                                                   s["evidence"]):
                            problems.append("%s: the notification says %r "
                                            "%r %r, the account view %r %r "
                                            "%r" % (name, m["explanation"],
                                                    m["signal"]["severity"],
                                                    m["evidence"],
                                                    s["explanation"],
                                                    s["severity"],
                                                    s["evidence"]))
                # The twin: one step below, quiet in the view and at the
                # receiver.
                if any(s["name"] == name for s in views[ta]["signals"]):
                    problems.append("%s: active on the twin %s" % (name,
                                                                    ta))
                if got.get((ta, name)):
                    problems.append("%s: notified about the twin %s" % (
                        name, ta))
            # Nothing but the signal under test on either account: a
            # history that fired something else would not test this one.
            for name in SIGNALS:
                for fire in (True, False):
                    a = acct_id(name, fire)
                    other = [s["name"] for s in views[a]["signals"]
                             if s["name"] != name]
                    if other:
                        problems.append("%s: also active: %s" % (a, other))
            check(not problems, "%d problems:\n    %s" % (
                len(problems), "\n    ".join(problems)))

            # (c) a restart: the same signals, explanations and evidence,
            # and nothing sent again.
            before = snapshot(d, accts)
            sent_before = len(rc.requests("/hook"))
            d.restart()
            after = snapshot(d, accts)
            for a in accts:
                eq(after[a], before[a], "%s after a restart" % a)
            time.sleep(2.5)         # evaluated again on the timer
            eq(snapshot(d, accts), before, "signals a while after the "
               "restart")
            eq(len(rc.requests("/hook")), sent_before,
               "webhook requests after the restart")
    finally:
        rc.close()
