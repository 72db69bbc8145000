"""Exactness under SIGKILL (issue 11, "What it must show"): random event
streams of every type -- back-fills up to 398 days old, live events,
duplicates of earlier ids (exact re-sends and reused ids with other
content), and now and then new account metadata -- go to two daemons on
two fresh databases with the same config: B never restarts, A is killed
with SIGKILL at random points and restarted.  Kill points: while a POST
to A is in flight (a client's request that got no answer is re-sent
after the restart, and must count once), at a random delay after a POST
(with [database] snapshot_interval = 1s that lands before, during or
after a snapshot), and now and then once more while A is loading.  After
every restart both are left to settle and every account view, the risk
list and the stored events of A must equal B's.

The seed is fixed and printed; CW_PROPERTY_SEED=N replays run N (the
stream, the kill points and their delays; not the daemon's timing).
"""

import calendar
import os
import random
import re
import threading
import time

from lib import (check, eq, fail, http_request, lit, rfc3339, scalar, sql,
                 wait_for)
from views import (SnapDaemon, compare_readings, post_ok, put_account,
                   read_all, summary, wait_quiet)

DAY = 86400
SEED = int(os.environ.get("CW_PROPERTY_SEED", "3131"))
ROUNDS = 7
N_ACCOUNTS = 10
HORIZON_DAYS = 410
OLDEST_DAYS = 398       # within the horizon also for a late re-send
LIMIT = 200             # differences collected per comparison

CONFIG = """
[signals]
interval = 1
competitors = Rivalry, Contendo

[alerts]
settle = 1s
"""

TITLES = ("CEO", "CTO", "Chief Revenue Officer", "VP Sales",
          "VP Engineering", "Head of IT", "Director of Ops",
          "Senior Manager", "Manager", "Analyst", "Engineer")
TEAMS = ("engineering", "finance", "ops")
CATEGORIES = ("api-latency", "billing", "sso", "how-to")
FEATURES = ("reports", "dashboards", "alerts", "api")
NOTES = ("they like the dashboards", "the budget is frozen",
         "too busy this quarter", "looking at other tools",
         "予算が厳しい", "all good")
SUBJECTS = ("slow dashboards", "SSO broken", "we want to cancel",
            "export data please", "question")


class Stream:
    """The seeded random event stream, batch by batch."""

    TYPES = (("login", 24), ("feature_used", 12), ("ticket.created", 8),
             ("ticket.updated", 5), ("ticket.solved", 4),
             ("contact.joined", 5), ("contact.left", 3),
             ("contact.changed", 4), ("competitor.signal", 4),
             ("touchpoint", 6), ("note", 4), ("account.churned", 1),
             ("account.renewed", 1), ("account.contracted", 1))

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 0
        self.sent = []          # every event of the earlier batches
        self.types = [t for t, w in self.TYPES for _ in range(w)]

    def ts(self):
        rng, now = self.rng, time.time()
        age = rng.choice((
            lambda: rng.uniform(0, 1800),                   # live
            lambda: rng.uniform(3600, 30 * DAY),            # recent
            lambda: rng.uniform(30 * DAY, 180 * DAY),       # back-fill
            lambda: rng.uniform(180 * DAY, OLDEST_DAYS * DAY)))()
        return rfc3339(now - age)

    def event(self):
        rng = self.rng
        self.n += 1
        acct = "prop-%d" % rng.randrange(N_ACCOUNTS)
        type = rng.choice(self.types)
        e = {"id": "p%d-%06d" % (SEED, self.n), "account_id": acct,
             "type": type, "ts": self.ts()}
        p = {}
        if type in ("login", "feature_used"):
            e["user_id"] = "u%d" % rng.randrange(6)
            if type == "feature_used":
                p["feature"] = rng.choice(FEATURES)
        elif type.startswith("ticket."):
            p["ticket_id"] = "t%d" % rng.randrange(20)
            if type == "ticket.created" or rng.random() < 0.3:
                p["team"] = rng.choice(TEAMS)
                p["category"] = rng.choice(CATEGORIES)
                p["subject"] = rng.choice(SUBJECTS)
                p["priority"] = rng.choice(("low", "normal", "urgent"))
            if rng.random() < 0.6:
                p["sentiment"] = round(rng.uniform(-1, 1), 2)
            if rng.random() < 0.2:
                p["tags"] = rng.sample(("cancel", "vip", "bug"), 2)
        elif type.startswith("contact."):
            p["contact_id"] = "c%d" % rng.randrange(8)
            if type != "contact.left" or rng.random() < 0.3:
                p["title"] = rng.choice(TITLES)
            if type == "contact.changed" and rng.random() < 0.5:
                p["previous_title"] = rng.choice(TITLES)
            if rng.random() < 0.5:
                p["is_champion"] = rng.random() < 0.6
            if type == "contact.joined" and rng.random() < 0.2:
                p["previous_company"] = rng.choice(("Rivalry", "Acme"))
        elif type == "competitor.signal":
            p["competitor"] = rng.choice(("Rivalry", "Contendo", "Other"))
            p["kind"] = rng.choice(("mention", "event", "outreach",
                                    "content", "evaluation", "poc"))
        elif type == "touchpoint":
            p["kind"] = rng.choice(("meeting", "call", "email", "chat"))
            p["by"] = "csm"
            if p["kind"] == "meeting" and rng.random() < 0.7:
                p["invited"] = rng.randrange(2, 9)
                p["attendees"] = rng.randrange(0, p["invited"] + 1)
        elif type == "note":
            p["text"] = rng.choice(NOTES)
            p["by"] = "csm"
            p["kind"] = rng.choice(("meeting", "call", "other"))
        else:
            p["reason"] = "renewal"
        if p:
            e["props"] = p
        return e

    def batch(self):
        """A batch: new events, exact copies of earlier ones (a client's
        retry, also within the batch), and earlier ids with other content
        (a client reusing an id: the first stored one stays)."""
        rng = self.rng
        out = []
        for _ in range(rng.choice((1, 5, 40, 120))):
            r = rng.random()
            if r < 0.06 and (self.sent or out):
                out.append(dict(rng.choice(self.sent + out)))
            elif r < 0.08 and self.sent:
                e = self.event()
                e["id"] = rng.choice(self.sent)["id"]
                out.append(e)
            else:
                out.append(self.event())
        # A reused id of an earlier batch may name another account: the
        # stored event decides.  Never the same id twice with different
        # content in one batch (which one wins there is not specified).
        seen = {}
        for e in out:
            while seen.setdefault(e["id"], e) != e:
                e["id"] += "x"
        self.sent.extend(out)
        return out


def metadata(rng, i, now):
    m = {"name": "Prop %d" % i, "owner": "csm%d" % (i % 3),
         "segment": ("smb", "ent")[i % 2],
         "onboarded_at": rfc3339(now - rng.choice((40, 120, 400)) * DAY),
         # an hour off the whole days: renewal.days stays put while the
         # test runs
         "renewal_at": rfc3339(now - 3600 + rng.randrange(10, 300) * DAY)}
    if rng.random() < 0.7:
        m["seats"] = rng.randrange(3, 30)
    if rng.random() < 0.5:
        m["core_features"] = rng.sample(FEATURES, 2)
    return m


# ---- what may differ between A and B, and why ----

_RESOLVED = re.compile(r"(^|, )was [a-z_]+ (?:\u2212\d+|\+\d+|0) now "
                       r"resolved (?:\u2212\d+|\+\d+|0)")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def normalised(reading, t0, who):
    """A reading with the fields that legitimately differ between a
    daemon that restarted and one that did not taken out, each checked
    for what can still be checked.

    - signals[].since: the start of the signal's open alert, i.e. the
      wall-clock time a daemon stepped its alerts once the account had
      settled -- it depends on when each daemon evaluated and on which
      intermediate states it saw between batches (A, down, skips some;
      A does not settle the batches replayed at start), not on the
      events.  Checked: an RFC 3339 time, not before the test began and
      not in the future.
    - health.previous_score, the "P -> S: " head and the "was X now
      resolved" parts of health.explanation, and breakdown entries'
      state and the resolved entries: the score *before the last change*
      is the previous evaluation's, so it depends on how the batches
      were grouped into evaluations (B evaluates after every batch; A
      replays many batches at once after a restart, and even B may
      evaluate between two group commits of one request) -- a path, not
      a function of the events.  Checked: the head says previous_score
      -> score.  Compared exactly: score, status, every active part of
      the breakdown (signal and contribution, in order) and the active
      parts of the explanation sentence with their notes.
    Everything else is compared as is."""
    now = time.time() + 5
    out = {"views": {}, "list": reading["list"]}
    for acct, v in reading["views"].items():
        v = dict(v)
        sigs = []
        for s in v["signals"]:
            s = dict(s)
            since = s.pop("since")
            check(isinstance(since, str) and _TIME.match(since),
                  "%s: %s signals[%s].since %r" % (who, acct, s["name"],
                                                   since))
            st = calendar.timegm(time.strptime(since[:19],
                                               "%Y-%m-%dT%H:%M:%S"))
            check(t0 - 2 <= st <= now, "%s: %s signals[%s].since %s is "
                  "not within the test's run" % (who, acct, s["name"],
                                                 since))
            sigs.append(s)
        v["signals"] = sigs
        h = dict(v["health"])
        head = "%d \u2192 %d: " % (h.pop("previous_score"), h["score"])
        check(h["explanation"].startswith(head), "%s: %s health.explanation"
              " %r does not start with %r" % (who, acct, h["explanation"],
                                              head))
        rest = _RESOLVED.sub("", h["explanation"][len(head):])
        h["explanation"] = rest or "no active signals"
        h["breakdown"] = [{k: x for k, x in part.items() if k != "state"}
                          for part in h["breakdown"]
                          if part.get("state") != "resolved"]
        v["health"] = h
        out["views"][acct] = v
    return out


def stored(db):
    """(count, digest) of the events table: every stored field."""
    return sql(db, "SELECT count(*), md5(coalesce(string_agg(source || ' ' "
               "|| id || ' ' || account_id || ' ' || type || ' ' || "
               "extract(epoch FROM ts)::text || ' ' || coalesce(user_id, "
               "'-') || ' ' || props::text, E'\\n' ORDER BY source, id), "
               "'')) FROM events")[0]


class InFlight(threading.Thread):
    """POST one batch to A on its own connection; answer or None."""

    def __init__(self, port, events):
        super().__init__(daemon=True)
        self.port, self.events, self.answer = port, events, None

    def run(self):
        try:
            st, _, body = http_request(self.port, "POST", "/v1/events",
                                       body=self.events, timeout=20)
            self.answer = (st, body)
        except Exception as e:      # reset or closed by the kill
            self.answer = ("no answer", repr(e))


def _backends_gone(d):
    wait_for(lambda: scalar(d.db, "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> "
                            "pg_backend_pid()" % lit(d.db)) == "0", 15,
             what="the killed daemon's backends to exit")


def test_sigkill_at_random_points_changes_no_view():
    t0 = time.time()
    rng = random.Random(SEED)
    stream = Stream(SEED + 1)
    ctx = "seed %d: CW_PROPERTY_SEED=%d replays it" % (SEED, SEED)
    print("    " + ctx)
    accounts = ["prop-%d" % i for i in range(N_ACCOUNTS)]
    kw = dict(ingest={"horizon_days": HORIZON_DAYS}, extra=CONFIG,
              log_level="info")
    with SnapDaemon(**kw) as b, SnapDaemon(**kw) as a:
        for i, acct in enumerate(accounts):
            meta = metadata(rng, i, t0)
            put_account(b, acct, meta)
            put_account(a, acct, meta)
        kills = {"in flight": 0, "after a post": 0, "while loading": 0}
        # Requests re-sent, and the events in them that the killed
        # daemon had committed without answering (duplicates beyond B's).
        resent = [0, 0]
        for rnd in range(ROUNDS):
            # Now and then new metadata (seats, core features, dates) for
            # an account: stored apart from the events, kept all the same.
            if rng.random() < 0.4:
                i = rng.randrange(N_ACCOUNTS)
                meta = metadata(rng, i, t0)
                put_account(b, accounts[i], meta)
                put_account(a, accounts[i], meta)
            # Batches to both; the last one is where A dies.
            nb = rng.randrange(2, 6)
            for k in range(nb):
                events = stream.batch()
                want = post_ok(b, events, "round %d batch %d to B" % (
                    rnd, k))
                eq(want["accepted"] + want["duplicates"], len(events),
                   "B: accepted + duplicates")
                if k < nb - 1:
                    got = post_ok(a, events, "round %d batch %d to A" % (
                        rnd, k))
                    eq((got["accepted"], got["duplicates"]),
                       (want["accepted"], want["duplicates"]),
                       "round %d batch %d: A's answer against B's" % (
                           rnd, k))
                    continue
                if rng.random() < 0.6:
                    kills["in flight"] += 1
                    t = InFlight(a.port, events)
                    t.start()
                    # Before the request is read, while it commits, or
                    # after the commit and before the answer.
                    delay = rng.choice((0, 0.001, 0.003, 0.01)) * \
                        rng.random()
                    time.sleep(delay)
                    a.kill()
                    t.join(30)
                    check(not t.is_alive(), "a POST to a killed daemon "
                          "hangs")
                    answered = t.answer[0] == 202
                    if answered:
                        eq(t.answer[1]["accepted"] +
                           t.answer[1]["duplicates"], len(events),
                           "round %d: A's answer before the kill" % rnd)
                    how = "killed %.1f ms into a POST of %d events (%s)" % (
                        delay * 1000, len(events), "answered" if answered
                        else "%s: %s" % t.answer)
                else:
                    kills["after a post"] += 1
                    post_ok(a, events, "round %d batch %d to A" % (rnd, k))
                    delay = rng.uniform(0, 1.5)
                    time.sleep(delay)
                    a.kill()
                    answered = True
                    how = "killed %.0f ms after a POST of %d events" % (
                        delay * 1000, len(events))
            _backends_gone(a)
            if rng.random() < 0.3:
                kills["while loading"] += 1
                a.start(wait=False)
                delay = rng.uniform(0.01, 0.3)
                time.sleep(delay)
                a.kill()
                _backends_gone(a)
                how += ", and again %.0f ms into its restart" % (
                    delay * 1000)
            a.start()
            if not answered:
                # The client's retry: stored once, whether or not the
                # killed daemon committed it.
                got = post_ok(a, events, "round %d: re-sent to A" % rnd)
                eq(got["accepted"] + got["duplicates"], len(events),
                   "round %d: the re-sent request's accepted + "
                   "duplicates" % rnd)
                committed = got["duplicates"] - want["duplicates"]
                check(committed >= 0, "round %d: the re-sent request has "
                      "%d duplicates at A, %d at B: A lost events it had "
                      "acknowledged" % (rnd, got["duplicates"],
                                        want["duplicates"]))
                resent[0] += 1
                resent[1] += committed
                how += "; re-sent: %d accepted, %d duplicates (%d " \
                    "committed before the kill)" % (
                        got["accepted"], got["duplicates"], committed)
            ctx_round = "round %d, A %s; %s" % (rnd, how, ctx)

            eq(stored(a.db), stored(b.db), "the events table of A (killed) "
               "against B's (%s)" % ctx_round)
            wait_quiet(b, accounts)
            wait_quiet(a, accounts)
            # Read A, B, A: if A's two readings differ the wall clock
            # moved a window (an hour or a day) meanwhile; read again.
            for _ in range(3):
                ra = read_all(a, accounts)
                rb = read_all(b, accounts)
                if read_all(a, accounts) == ra:
                    break
            else:
                fail("A's views keep changing (%s)" % ctx_round)
            found = compare_readings(normalised(rb, t0, "B"),
                                     normalised(ra, t0, "A"),
                                     ("B", "A"), LIMIT)
            if found:
                fail("after a SIGKILL and restart A's views differ from "
                     "B's: %s (%s)\n  by path:\n%s\n  the first of them:"
                     "\n%s" % (
                         found[0], ctx_round,
                         "\n".join("    " + x for x in summary(found)[:30]),
                         "\n".join("    " + x for x in found[:30])))
            nsig = sum(len(v["signals"]) for v in rb["views"].values())
            print("    round %d: %d events sent, %d signals active, A "
                  "equals B; A %s" % (rnd, len(stream.sent), nsig, how))
        check(nsig >= N_ACCOUNTS, "only %d active signals: the stream says "
              "too little for the comparison to mean much" % nsig)
        print("    kills: %s; %d requests re-sent (%d of their events "
              "committed before the kill)" % (
            ", ".join("%s %d" % kv for kv in kills.items()), resent[0],
            resent[1]))
