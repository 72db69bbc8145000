"""Notes, meetings and outcomes through the real daemon (issue 10): the
new event types are accepted and stored, bad ones are rejected one by
one with clear codes; meeting_attendance_decline and voice_risk (an
English and a Japanese phrase) fire with their explanations and stay
quiet one step below their thresholds; ticket_sentiment_decline counts
tickets, not ticket events; and a restart changes no signal, evidence
or explanation."""

import time

from lib import Daemon, check, eq, ev, expect_error, rfc3339, scalar

NOW = time.time()
DAY = 86400


def at(days_ago, hours=0):
    """An RFC 3339 ts days_ago days (and hours) before the test began."""
    return rfc3339(NOW - days_ago * DAY - hours * 3600)


def date(days_ago):
    return time.strftime("%Y-%m-%d", time.gmtime(NOW - days_ago * DAY))


def meeting(acct, days_ago, attendees, invited):
    return ev(account=acct, type="touchpoint", user=None, ts=at(days_ago),
              props={"kind": "meeting", "attendees": attendees,
                     "invited": invited, "by": "csm"})


def note(acct, days_ago, text):
    return ev(account=acct, type="note", user=None, ts=at(days_ago),
              props={"text": text, "by": "csm", "kind": "meeting"})


def rated(acct, kind, tid, days_ago, sentiment, hours=0):
    return ev(account=acct, type="ticket." + kind, user=None,
              ts=at(days_ago, hours),
              props={"ticket_id": tid, "sentiment": sentiment})


def attendance_history(acct, last):
    """Meetings at 0.75 and 1.0 in the 120 days before the last 60, then
    0.625 and last (attendees, invited) in the last 60."""
    return [meeting(acct, 60, 3, 4), meeting(acct, 150, 8, 8),
            meeting(acct, 59, 5, 8), meeting(acct, 1, *last)]


def sentiment_baseline(acct):
    """Three tickets rated 0.5 in the 90 days before the last 30."""
    return [rated(acct, "created", acct + "-b%d" % i, 40 + 10 * i, 0.5)
            for i in range(3)]


def histories():
    evs = []
    evs += attendance_history("meet-fire", (5, 8))     # 0.625: drop 0.25
    evs += attendance_history("meet-quiet", (51, 80))  # 0.6375: 0.2375
    evs += [note("voice-en", 29, "Their Budget is tight this year."),
            note("voice-en", 3, "Lunch was nice, no complaints.")]
    evs += [note("voice-quiet", 30, "Their budget is tight this year."),
            note("voice-quiet", 0, "Great quarter, the team loves it.")]
    evs += [note("voice-ja", 2, "来期は他社も見ているとのこと")]
    # One ticket created, updated and solved at 0.1: three rated events
    # but one ticket, below min_tickets 3.
    evs += sentiment_baseline("senti-one")
    evs += [rated("senti-one", "created", "X", 20, 0.1),
            rated("senti-one", "updated", "X", 10, 0.1),
            rated("senti-one", "solved", "X", 2, 0.1)]
    # Three tickets whose latest ratings are 0.1 (X was 0.9, then 0.5):
    # per event the mean would be 0.34, per ticket it is 0.1.
    evs += sentiment_baseline("senti-three")
    evs += [rated("senti-three", "created", "X", 20, 0.9),
            rated("senti-three", "solved", "X", 2, 0.1),
            rated("senti-three", "updated", "X", 10, 0.5),
            rated("senti-three", "created", "Y", 5, 0.1),
            rated("senti-three", "created", "Z", 4, 0.1)]
    evs += [ev(account="outcome", type="account.contracted", user=None,
               ts=at(1), props={"reason": "budget cut", "seats_before": 300,
                                "seats_after": 120, "mrr_before": 4500,
                                "mrr_after": 1800}),
            ev(account="outcome", type="account.renewed", user=None,
               ts=at(0), props={}),
            ev(account="outcome", type="account.churned", user=None)]
    return evs


def account(d, acct):
    st, _, body = d.request("GET", "/v1/accounts/" + acct, token="reader")
    eq(st, 200, "GET %s: %r" % (acct, body))
    return body


def signal(d, acct, name):
    """The active signal name of acct, or None."""
    for s in account(d, acct)["signals"]:
        if s["name"] == name:
            return s
    return None


def snapshot(d, accts):
    out = {}
    for acct in accts:
        b = account(d, acct)
        out[acct] = (b["health"]["score"], sorted(
            (s["name"], s["severity"], s["explanation"],
             sorted(s["evidence"].items())) for s in b["signals"]))
    return out


ACCOUNTS = ["meet-fire", "meet-quiet", "voice-en", "voice-quiet",
            "voice-ja", "senti-one", "senti-three", "outcome"]


def test_new_types_and_rules():
    with Daemon() as d:
        evs = histories()
        st, _, body = d.post(evs)
        eq(st, 202, "post: %r" % (body,))
        eq(body["rejected"], [], "rejected events")
        eq(body["accepted"], len(evs), "accepted")

        # meeting_attendance_decline: at the threshold, one step below.
        s = signal(d, "meet-fire", "meeting_attendance_decline")
        check(s is not None, "meet-fire: meeting_attendance_decline fires")
        eq(s["explanation"], "meetings were attended by 62% of the invited "
           "on average over 2 meetings in the last 60 days, down from 88% "
           "over 2 in the 120 days before (threshold: a drop of 25 points)",
           "attendance explanation")
        eq(s["category"], "engagement", "attendance category")
        eq(s["severity"], "warning", "attendance severity")
        eq((s["evidence"]["meetings"], s["evidence"]["baseline_meetings"],
            s["evidence"]["drop"], s["evidence"]["threshold"]),
           (2, 2, 0.25, 0.25), "attendance evidence")
        eq(signal(d, "meet-quiet", "meeting_attendance_decline"), None,
           "meet-quiet: a drop of 0.2375 stays quiet")

        # voice_risk: English, Japanese; a note 30 days ago is too old.
        s = signal(d, "voice-en", "voice_risk")
        check(s is not None, "voice-en: voice_risk fires")
        eq(s["explanation"], 'a note on %s says "budget" (budget)' %
           date(29), "voice_risk explanation")
        eq((s["evidence"]["phrase"], s["evidence"]["class"],
            s["evidence"]["days_ago"]), ("budget", "budget", 29),
           "voice_risk evidence")
        s = signal(d, "voice-ja", "voice_risk")
        check(s is not None, "voice-ja: voice_risk fires")
        eq(s["explanation"], 'a note on %s says "他社" (alternatives)' %
           date(2), "voice_risk explanation (JA)")
        eq(signal(d, "voice-quiet", "voice_risk"), None,
           "voice-quiet: a note 30 days ago stays quiet")

        # ticket_sentiment_decline counts tickets, each at its latest.
        eq(signal(d, "senti-one", "ticket_sentiment_decline"), None,
           "senti-one: three events of one ticket are one ticket")
        s = signal(d, "senti-three", "ticket_sentiment_decline")
        check(s is not None, "senti-three: ticket_sentiment_decline fires")
        eq((s["evidence"]["tickets"], s["evidence"]["mean"],
            s["evidence"]["baseline_tickets"]), (3, 0.1, 3),
           "sentiment evidence")
        check("over 3 rated tickets" in s["explanation"],
              "sentiment explanation: %r" % s["explanation"])

        # Outcomes are stored and change nothing.
        b = account(d, "outcome")
        eq(b["signals"], [], "outcome: no signal")
        eq(b["health"]["score"], 100, "outcome: score")
        eq(int(scalar(d.db, "SELECT count(*) FROM events WHERE account_id "
                      "= 'outcome' AND type LIKE 'account.%'")), 3,
           "outcomes stored")
        eq(scalar(d.db, "SELECT props->>'seats_after' FROM events WHERE "
                  "type = 'account.contracted'"), "120",
           "outcome props stored")
        eq(int(scalar(d.db, "SELECT count(*) FROM events WHERE "
                      "type = 'note'")), 5, "notes stored")

        before = snapshot(d, ACCOUNTS)
        d.restart()
        after = snapshot(d, ACCOUNTS)
        for acct in ACCOUNTS:
            eq(after[acct], before[acct], "%s after a restart" % acct)


def test_note_limits_and_rejections():
    with Daemon() as d:
        long_ok = "予" * 1365 + "a"              # 4096 bytes of UTF-8
        too_long = "x" * 4097
        bad = [
            ev(account="r", type="note", user=None),
            ev(account="r", type="note", user=None, props={"text": ""}),
            ev(account="r", type="note", user=None,
               props={"text": too_long}),
            ev(account="r", type="note", user=None,
               props={"text": "t", "kind": "sms"}),
            ev(account="r", type="note", user=None,
               props={"text": "t", "by": "x" * 1025}),
            ev(account="r", type="touchpoint", user=None,
               props={"kind": "meeting", "attendees": 6, "invited": 5}),
            ev(account="r", type="touchpoint", user=None,
               props={"attendees": -1}),
            ev(account="r", type="touchpoint", user=None,
               props={"invited": 2.5}),
            ev(account="r", type="account.contracted", user=None,
               props={"seats_after": -1}),
            ev(account="r", type="account.renewed", user=None,
               props={"reason": 7}),
            ev(account="r", type="account.lost", user=None),
        ]
        want = [
            ("missing_prop", "props.text is required for note events"),
            ("invalid_prop", "props.text is empty"),
            ("invalid_prop", "props.text must be a string of at most 4096 "
             "bytes"),
            ("invalid_prop", "props.kind must be one of meeting, call, "
             "email, chat, other"),
            ("invalid_props", "props.by: a string longer than 1024 bytes"),
            ("invalid_prop", "props.attendees (6) must not be more than "
             "props.invited (5)"),
            ("invalid_prop", "props.attendees must be a whole number from "
             "0 to 4294967295"),
            ("invalid_prop", "props.invited must be a whole number from 0 "
             "to 4294967295"),
            ("invalid_prop", "props.seats_after must be a number, 0 or "
             "more"),
            ("invalid_prop", "props.reason must be a string"),
            ("unknown_type", 'type "account.lost" is not a known event '
             "type"),
        ]
        good = [ev(account="r", type="note", user=None,
                   props={"text": long_ok, "kind": "other"}),
                ev(account="r", type="touchpoint", user=None,
                   props={"kind": "meeting", "attendees": 5,
                          "invited": 5})]
        st, _, body = d.post(good[:1] + bad + good[1:])
        eq(st, 202, "mixed batch: %r" % (body,))
        eq(body["accepted"], 2, "the good ones are accepted")
        eq([(r["index"], r["error"], r["message"]) for r in
            body["rejected"]],
           [(i + 1, c, m) for i, (c, m) in enumerate(want)],
           "each bad event rejected on its own")
        eq(scalar(d.db, "SELECT octet_length(props->>'text') FROM events "
                  "WHERE type = 'note'"), "4096", "a 4 KiB note is stored")
        body = expect_error(d.post(bad[:2]), 400, "invalid_events",
                            "a batch of bad notes only")
        eq([(r["index"], r["error"]) for r in body["rejected"]],
           [(0, "missing_prop"), (1, "invalid_prop")], "its rejections")
        eq(int(scalar(d.db, "SELECT count(*) FROM events")), 2,
           "nothing else stored")
