"""Restart equality over 400-day histories (issue 11, "What it must show";
SPEC 3: after a restart every signal, evidence number, explanation and
score is the same as before, for every event type, for histories of any
length within the horizon, whatever order the events arrived in).

A seeded history of 30 accounts over 400 days -- logins and feature use by
several users (thinning on some accounts), tickets created, updated and
solved with teams, categories and sentiment, touchpoints (on some accounts
none younger than 250 days), competitor signals, notes, contacts that
joined 300 and more days ago as champions and left later (the
contact.left without is_champion), title changes old and recent, outcome
events -- is posted shuffled, out of ts order, over many requests, with a
few requests re-sent as a client's retry.  Once every account has settled,
every account view and the whole risk list are read; the daemon is
restarted twice (SIGTERM, then SIGKILL a few seconds after a snapshot
could be written) and each time every field of every view is compared
with the reading before, and the planted facts are asserted directly so
that equality cannot hold vacuously.

CW_RESTART_SEED overrides the seed (printed on failure).
"""

import os
import random
import time

from lib import check, eq, fail, lit, rfc3339, scalar, wait_for
from views import (SnapDaemon, compare_readings, post_ok, put_account,
                   summary, wait_quiet)

DAY = 86400
HISTORY_DAYS = 400
N_ACCOUNTS = 30
SEED = int(os.environ.get("CW_RESTART_SEED", "30400"))
LIMIT = 2000           # differences collected per comparison

# The stories; account i has STORIES[i % len(STORIES)] on top of the
# ordinary life every account has.
STORIES = ("champ300", "oldtouch", "thinning", "absent", "tickets", "org",
           "competitor", "voice", "silence", "stall")

CONFIG = """
[signals]
interval = 1
competitors = Rivalry, Contendo

[alerts]
settle = 1s
"""

TEAMS = ("engineering", "finance", "marketing", "ops")
CATEGORIES = ("api-latency", "billing", "sso", "export", "how-to")
FEATURES = ("reports", "dashboards", "alerts", "export", "api")
COMPETITOR_KINDS = ("mention", "event", "outreach", "content")
TOUCH_KINDS = ("meeting", "call", "email", "chat")


class History:
    """The events of one run, every ts at least two days old (so that no
    hourly window -- usage_spike's last 24 h -- moves while the test runs)
    and at most HISTORY_DAYS old."""

    def __init__(self, seed, now):
        self.rng = random.Random(seed)
        self.now = now
        self.midnight = now - now % DAY
        self.events = []
        self.meta = {}
        self.n = 0

    def ts(self, days_ago):
        check(2 <= days_ago <= HISTORY_DAYS, "days_ago %r" % days_ago)
        return rfc3339(self.midnight - days_ago * DAY +
                       self.rng.randrange(3600, 20 * 3600))

    def add(self, acct, type, days_ago, user=None, **props):
        self.n += 1
        e = {"id": "r%d-%06d" % (SEED, self.n), "account_id": acct,
             "type": type, "ts": self.ts(days_ago)}
        if user is not None:
            e["user_id"] = user
        props = {k: v for k, v in props.items() if v is not None}
        if props:
            e["props"] = props
        self.events.append(e)
        return e

    def contact(self, acct, kind, days_ago, cid, **props):
        return self.add(acct, "contact." + kind, days_ago, contact_id=cid,
                        **props)

    def ticket(self, acct, days_ago, tid, team, category, sentiments=(),
               subject=None, solve=True):
        """A ticket's life: created, updated with each sentiment a few
        days apart, solved."""
        self.add(acct, "ticket.created", days_ago, ticket_id=tid, team=team,
                 category=category, subject=subject or "about " + category,
                 priority=self.rng.choice(("low", "normal", "high")),
                 sentiment=sentiments[0] if sentiments else None)
        d = days_ago
        for s in sentiments[1:]:
            d = max(2, d - self.rng.randrange(0, 3))
            self.add(acct, "ticket.updated", d, ticket_id=tid, sentiment=s)
        if solve:
            d = max(2, d - self.rng.randrange(0, 4))
            self.add(acct, "ticket.solved", d, ticket_id=tid)

    def account(self, i):
        rng = self.rng
        acct = "hist-%02d" % i
        story = STORIES[i % len(STORIES)]
        nusers = rng.randrange(3, 7)
        onboarded = HISTORY_DAYS + 5
        if story == "stall":
            onboarded = 50
        self.meta[acct] = {
            "name": "History %d" % i, "owner": "csm%d" % (i % 4),
            "segment": ("smb", "mid", "ent")[i % 3],
            "plan": ("basic", "pro")[i % 2],
            "seats": nusers * (5 if story in ("thinning", "stall") else 2),
            "onboarded_at": rfc3339(self.midnight - onboarded * DAY),
            # renewal.days rounds up the time left: at an hour before now
            # (+ whole days) it does not change while the test runs.
            "renewal_at": rfc3339(self.now - 3600 +
                                  rng.randrange(20, 200) * DAY),
            "core_features": (["reports"] if i % 3 == 0 else []),
        }
        first = min(onboarded, HISTORY_DAYS)
        if story == "stall":
            first = 48

        # Usage: each user logs in on some days; thinning accounts lose
        # most users in the last month, absent ones stop altogether.
        for u in range(nusers):
            user = "u%d" % u
            p = rng.uniform(0.2, 0.6)
            stop = 2
            if story == "thinning" and u > 0:
                stop = rng.randrange(20, 40)
            if story == "absent":
                stop = 20
            if story == "stall" and u > 0:
                continue
            for d in range(first, stop - 1, -1):
                if rng.random() < p:
                    self.add(acct, "login", d, user=user)
                    if rng.random() < 0.3:
                        feat = rng.choice(FEATURES)
                        if i % 3 == 0 and feat == "reports" and d < 20:
                            feat = "api"    # core_feature_unused
                        self.add(acct, "feature_used", d, user=user,
                                 feature=feat)

        # Touchpoints: every 10-30 days; oldtouch accounts none younger
        # than 250 days; meetings with attendance on voice accounts.
        d = first - rng.randrange(0, 10)
        while d >= 2:
            if story != "oldtouch" or d >= 250:
                kind = rng.choice(TOUCH_KINDS)
                extra = {}
                if kind == "meeting" or story == "voice":
                    kind = "meeting"
                    invited = rng.randrange(4, 9)
                    att = invited if (story != "voice" or d > 60) else 1
                    extra = {"attendees": att, "invited": invited}
                self.add(acct, "touchpoint", d, kind=kind, by="csm", **extra)
            d -= rng.randrange(10, 31) if story != "voice" else 8
        if story == "oldtouch":
            self.add(acct, "touchpoint", 250, kind="call", by="csm")

        # Tickets: a few over the whole history, and the stories'.
        for k in range(rng.randrange(2, 8)):
            self.ticket(acct, rng.randrange(2, first + 1), "t-%d" % k,
                        rng.choice(TEAMS), rng.choice(CATEGORIES),
                        [round(rng.uniform(-1, 1), 2)
                         for _ in range(rng.randrange(0, 3))])
        if story == "tickets":
            for k in range(12):        # ticket_repeat_team, velocity
                self.ticket(acct, rng.randrange(2, 29), "rep-%d" % k,
                            "engineering", "api-latency",
                            [-0.6, -0.8], solve=k % 2 == 0)
            for k in range(4):         # the baseline of the sentiment
                self.ticket(acct, rng.randrange(40, 110), "base-%d" % k,
                            "ops", "how-to", [0.6, 0.7])
            self.ticket(acct, 5, "t-cancel", "finance", "billing", [-0.9],
                        subject="We want to cancel our contract",
                        solve=False)
        if story == "silence":
            for k in range(8):
                self.ticket(acct, rng.randrange(70, 170), "old-%d" % k,
                            rng.choice(TEAMS), rng.choice(CATEGORIES))

        # Contacts: every account has some who joined long ago, one of
        # them a champion, some promoted more than 192 days ago.
        self.contact(acct, "joined", first, "c-lead", title="Director of IT",
                     is_champion=True, name="Lead")
        if first > 260:
            self.contact(acct, "changed", 260, "c-lead", title="VP of IT",
                         previous_title="Director of IT")
        for k in range(rng.randrange(1, 4)):
            self.contact(acct, "joined", rng.randrange(min(200, first),
                                                       first + 1),
                         "c-%d" % k, title=rng.choice(
                             ("Manager", "Senior Manager", "Analyst")))
        if story == "champ300":
            # Joined 300 days ago as a champion; the contact.left says
            # nothing about it: only the old joined does.
            self.contact(acct, "joined", 300, "c-champ", title="VP Sales",
                         is_champion=True, name="Champ")
            self.contact(acct, "left", 20, "c-champ")
        if story == "org":
            # c-lead (champion since `first`, VP since 260 days ago)
            # drops to Manager: title_downgrade.  A competitor's exec
            # joins: new_executive.  Three old contacts leave: turnover.
            self.contact(acct, "changed", 40, "c-lead", title="Manager")
            self.contact(acct, "joined", 30, "c-exec",
                         title="Chief Revenue Officer",
                         previous_company="Rivalry")
            for k in range(3):
                self.contact(acct, "joined", 330 - k, "c-old-%d" % k,
                             title="Engineer")
                self.contact(acct, "left", 10 + k * 7, "c-old-%d" % k)

        # Competitors, notes, outcomes.
        for _ in range(rng.randrange(0, 3)):
            self.add(acct, "competitor.signal", rng.randrange(35, first + 1),
                     competitor=rng.choice(("Rivalry", "Contendo")),
                     kind=rng.choice(COMPETITOR_KINDS))
        if story == "competitor":
            self.add(acct, "competitor.signal", 10, competitor="Rivalry",
                     kind="poc")
            for d in (4, 9, 15):
                self.add(acct, "competitor.signal", d, competitor="Contendo",
                         kind="mention")
        for _ in range(rng.randrange(1, 4)):
            self.add(acct, "note", rng.randrange(2, first + 1), by="csm",
                     kind="call", text="they like the dashboards")
        if story == "voice":
            self.add(acct, "note", 5, by="csm", kind="meeting",
                     text="The CFO says the budget is frozen this year")
        if i % 4 == 1:
            self.add(acct, "account.renewed", min(first, 365),
                     reason="happy", seats_before=10, seats_after=12)
        return acct


def _post_shuffled(d, hist, rng):
    events = list(hist.events)
    rng.shuffle(events)
    requests = []
    i = 0
    while i < len(events):
        n = rng.choice((1, 7, 50, 200, 400, 800))
        requests.append(events[i:i + n])
        i += n
    accepted = 0
    conn = d.connection()
    try:
        for k, part in enumerate(requests):
            st, _, body = d.request("POST", "/v1/events", body=part,
                                    conn=conn)
            eq(st, 202, "request %d of the history: %r" % (k, body))
            eq(body["rejected"], [], "rejected events")
            accepted += body["accepted"]
    finally:
        conn.close()
    eq(accepted, len(events), "events accepted")
    # A client's retry of requests it did not see answered: duplicates,
    # which change nothing.
    for part in rng.sample(requests, 3):
        body = post_ok(d, part, "re-sent request")
        eq((body["accepted"], body["duplicates"]), (0, len(part)),
           "a re-sent request is all duplicates")
    return len(requests)


def _day(midnight, days_ago):
    return rfc3339(midnight - days_ago * DAY)[:10]


def _planted(reading, hist, when):
    """The planted facts, asserted directly; returns failure lines."""
    bad = []
    for acct in sorted(reading["views"]):
        v = reading["views"][acct]
        i = int(acct.split("-")[1])
        story = STORIES[i % len(STORIES)]
        sigs = {s["name"]: s for s in v["signals"]}
        if story == "champ300":
            s = sigs.get("champion_left")
            if s is None:
                bad.append("%s %s: champion_left (the champion who joined "
                           "300 days ago left 20 days ago) is not active; "
                           "active: %s" % (acct, when, sorted(sigs)))
            elif (s["explanation"] != "champion 'c-champ' left 20 days "
                  "ago" or s["evidence"].get("days_ago") != 20):
                bad.append("%s %s: champion_left %r %r" % (
                    acct, when, s["explanation"], s["evidence"]))
        if story == "oldtouch":
            want = _day(hist.midnight, 250)
            got = v["windows"]["last_touchpoint"]
            if got != want:
                bad.append("%s %s: windows.last_touchpoint %r, want %r (a "
                           "touchpoint 250 days ago, none since)" % (
                               acct, when, got, want))
            s = sigs.get("no_touch")
            want_x = ("no touchpoint in the last 30 days; the last one 250 "
                      "days ago")
            if s is None or s["explanation"] != want_x:
                bad.append("%s %s: no_touch %r, want %r" % (
                    acct, when, s and s["explanation"], want_x))
        if story == "org":
            for name in ("title_downgrade", "new_executive",
                         "contact_turnover"):
                if name not in sigs:
                    bad.append("%s %s: %s not active; active: %s" % (
                        acct, when, name, sorted(sigs)))
            s = sigs.get("title_downgrade")
            if s is not None and "from VP to Manager" not in \
                    s["explanation"]:
                bad.append("%s %s: title_downgrade %r (the VP title is "
                           "from 260 days ago)" % (acct, when,
                                                   s["explanation"]))
    return bad


def test_restart_keeps_every_view_of_400_day_histories():
    # The views count days from today (UTC): do not straddle midnight.
    left = DAY - time.time() % DAY
    if left < 75:
        time.sleep(left + 2)
    now = int(time.time())
    hist = History(SEED, now)
    accounts = [hist.account(i) for i in range(N_ACCOUNTS)]
    rng = random.Random(SEED + 1)
    ctx = "seed %d (CW_RESTART_SEED)" % SEED

    with SnapDaemon(ingest={"horizon_days": HISTORY_DAYS + 10},
                    server={"max_body_bytes": 4 << 20},
                    extra=CONFIG, log_level="info") as d:
        for acct in accounts:
            put_account(d, acct, hist.meta[acct])
        nreq = _post_shuffled(d, hist, rng)
        before = wait_quiet(d, accounts)
        today = time.gmtime().tm_yday
        print("    %d events for %d accounts over %d days in %d requests, "
              "%s" % (len(hist.events), len(accounts), HISTORY_DAYS, nreq,
                      ctx))

        # Wrong before any restart is a failure of its own (the live
        # state must be a function of the events by ts, not of their
        # arrival order); the restarts are still compared, to report all.
        bad_live = _planted(before, hist, "before the restart")
        nsig = sum(len(v["signals"]) for v in before["views"].values())
        check(nsig >= N_ACCOUNTS, "only %d active signals: the histories "
              "say too little" % nsig)

        problems = []
        for how in ("SIGTERM", "SIGKILL"):
            if how == "SIGTERM":
                d.stop()
            else:
                # Time for a snapshot (snapshot_interval = 1s) and the
                # alert rows behind `since` to be written.
                time.sleep(3)
                d.kill()
                wait_for(lambda: scalar(d.db, "SELECT count(*) FROM "
                                        "pg_stat_activity WHERE datname = "
                                        "%s AND pid <> pg_backend_pid()" %
                                        lit(d.db)) == "0", 15,
                         what="the killed daemon's backend to exit")
            d.start()
            after = wait_quiet(d, accounts)
            names = ("before", "after " + how)
            bad = _planted(after, hist, "after a %s restart" % how)
            found = compare_readings(before, after, names, LIMIT)
            if bad or found:
                problems.append((how, bad, found))
        eq(time.gmtime().tm_yday, today, "UTC day (the run crossed "
           "midnight: views count days from today; run it again)")

        if problems or bad_live:
            lines = []
            if bad_live:
                lines.append("before any restart: %d planted facts "
                             "wrong" % len(bad_live))
                lines.extend("    " + x for x in bad_live)
            for how, bad, found in problems:
                lines.append("after a %s restart: %d planted facts lost, "
                             "%d fields differ%s" % (
                                 how, len(bad), len(found),
                                 "" if len(found) < LIMIT else " or more"))
                lines.extend("    " + x for x in bad)
                lines.append("  the fields that differ, by path:")
                lines.extend("    " + x for x in summary(found)[:30])
                lines.append("  the first of them:")
                lines.extend("    " + x for x in found[:30])
            if bad_live:
                first = bad_live[0]
            else:
                first = problems[0][1][0] if problems[0][1] else \
                    problems[0][2][0]
            fail("%s (%s)\n%s" % (first, ctx, "\n".join(lines)))
