"""One client's bad event never holds up anyone else's (SPEC 2.2, 6).

The ways in that used to stop all ingestion -- a 2,400-byte feature (the
rollup index refused it), a props number jsonb cannot hold, year 0000, a
Segment skew correction landing near year -8000 -- are refused at the door
on their own while every other client's events commit and count.  Behind
the door, an event that PostgreSQL itself refuses (here a trigger standing
for whatever the door does not know of) is split out of the group commit,
answered as refused_by_database, and never sent to the spool; from the
spool it is set aside in dead-letter.ndjson and the drain moves on."""

import base64
import json
import os
import threading
import time

from lib import Daemon, check, db_cut, db_restore, eq, ev, psql, wait_for

WRITE_KEY = "backend-secret-1"


def _logins(d, account):
    st, _, acct = d.request("GET", "/v1/accounts/" + account, token="reader")
    eq(st, 200, "account %s is known: %r" % (account, acct))
    return sum(acct["windows"]["logins_per_day_90d"])


def _concurrently(*fns):
    out = [None] * len(fns)

    def run(i, fn):
        out[i] = fn()
    ts = [threading.Thread(target=run, args=(i, fn))
          for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    return out


def test_poison_refused_at_the_door_others_commit():
    now = time.time()
    with Daemon(spool_max_bytes=10 << 20) as d:
        bad = [
            ev(account="door-a", type="feature_used",
               props={"feature": "https://x.example/" + "p" * 2400}),
            ev(account="door-a", props={"n": 1}, ts=None),
            ev(account="door-a", type="touchpoint", ts="0000-03-01T00:00:00Z"),
        ]
        # jsonb refuses 1e-20000; jansson reads it as 0: sent raw.
        good_a = [ev(account="door-a", user="u%d" % i) for i in range(20)]
        body_a = json.dumps(good_a[:10] + bad + good_a[10:])
        body_a = body_a.replace('{"n": 1}', '{"n": 1e-20000}')
        good_b = [ev(account="door-b", user="v%d" % i) for i in range(30)]
        ra, rb = _concurrently(
            lambda: d.request("POST", "/v1/events", body=body_a.encode(),
                              headers={"Content-Type": "application/json"}),
            lambda: d.post(good_b, token="admin"))
        st, _, body = ra
        eq(st, 202, "client A: %r" % (body,))
        eq(body["accepted"], 20, "client A's good events")
        eq([(r["index"], r["error"]) for r in body["rejected"]],
           [(10, "invalid_props"), (11, "invalid_props"),
            (12, "invalid_ts")], "the bad ones, each on its own")
        check("1024 bytes" in body["rejected"][0]["message"],
              "a clear message: %r" % body["rejected"][0])
        eq(rb[0], 202, "client B: %r" % (rb[2],))
        eq(rb[2]["accepted"], 30, "client B's events")
        eq(d.count(), 50, "every good event stored")
        eq(_logins(d, "door-a"), 20, "client A's logins counted")
        eq(_logins(d, "door-b"), 30, "client B's logins counted")
        eq(d.spool_bytes(), 0, "nothing went to the spool")
        # Later traffic flows as before.
        st, _, body = d.post([ev(account="door-b")])
        eq((st, body["accepted"]), (202, 1), "ingest goes on")
        d.restart()
        eq(d.count(), 51, "the same after a restart")
        eq(_logins(d, "door-a"), 20, "client A's logins after the restart")
        eq(_logins(d, "door-b"), 31, "client B's logins after the restart")
        eq(d.spool_bytes(), 0, "still nothing spooled")


def test_year_zero_elsewhere_refused():
    with Daemon() as d:
        st, _, body = d.request("PUT", "/v1/accounts/y0", body={
            "name": "Y0", "onboarded_at": "0000-01-01T00:00:00Z"})
        eq((st, body.get("error")), (400, "invalid_field"),
           "onboarded_at in year 0000: %r" % body)
        st, _, body = d.request(
            "GET", "/v1/alerts?since=0000-01-01T00:00:00Z", token="reader")
        eq((st, body.get("error")), (400, "invalid_query"),
           "?since= in year 0000: %r" % body)
        st, _, body = d.request("PUT", "/v1/accounts/y0", body={
            "name": "Y0", "onboarded_at": "2026-01-01T00:00:00Z"})
        check(st in (200, 201), "a good PUT after: %r" % body)


def test_segment_skew_correction_out_of_range_refused():
    with Daemon() as d:
        auth = {"Authorization": "Basic " + base64.b64encode(
            (WRITE_KEY + ":").encode()).decode()}
        batch = {"batch": [
            {"type": "track", "event": "Signed In", "userId": "u1",
             "messageId": "seg-ok", "context": {"groupId": "seg-acct"}},
            {"type": "track", "event": "Signed In", "userId": "u2",
             "messageId": "seg-bad", "context": {"groupId": "seg-acct"},
             "originalTimestamp": "0001-01-01T00:00:00Z",
             "sentAt": "9999-01-01T00:00:00Z"}]}
        st, _, body = d.request("POST", "/segment/v1/batch", token=None,
                                body=batch, headers=auth)
        eq((st, body.get("error")), (400, "invalid_message"),
           "corrected to before year 0001: %r" % body)
        check("batch[1]" in body["message"], "names the message: %r" % body)
        eq(d.count(), 0, "all or nothing, as Segment's libraries expect")
        batch["batch"].pop()
        st, _, body = d.request("POST", "/segment/v1/batch", token=None,
                                body=batch, headers=auth)
        eq((st, body), (200, {"success": True}), "the good one alone")
        eq(d.count(), 1, "stored")


POISON_SQL = """
CREATE FUNCTION cw_test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id LIKE 'poison%' THEN
        RAISE EXCEPTION 'poisoned event %', NEW.id
            USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cw_test_poison BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION cw_test_poison();
"""


def test_database_refusal_split_out_of_the_group_commit():
    with Daemon(spool_max_bytes=10 << 20) as d:
        psql(d.db, "-qc", POISON_SQL)
        mine = [ev(account="grp-a", user="u%d" % i) for i in range(40)]
        mine[13]["id"] = "poison-1"
        mine[31]["id"] = "poison-2"
        theirs = [[ev(account="grp-b", user="v%d" % i) for i in range(25)]
                  for _ in range(4)]
        results = _concurrently(
            lambda: d.post(mine),
            *[(lambda b=b: d.post(b, token="admin")) for b in theirs])
        st, _, body = results[0]
        eq(st, 202, "the poisoned request: %r" % (body,))
        eq(body["accepted"], 38, "its good events")
        eq([(r["index"], r["error"]) for r in body["rejected"]],
           [(13, "refused_by_database"), (31, "refused_by_database")],
           "exactly the refused ones")
        check("poisoned event poison-1" in body["rejected"][0]["message"],
              "PostgreSQL's reason: %r" % body["rejected"][0])
        for r in results[1:]:
            eq((r[0], r[2].get("accepted")), (202, 25),
               "another client's batch: %r" % (r[2],))
        eq(d.count(), 138, "every other event stored")
        eq(_logins(d, "grp-a"), 38, "and counted")
        eq(_logins(d, "grp-b"), 100, "and counted")
        eq(d.spool_bytes(), 0, "a healthy database: nothing spooled")
        eq(d.metric('churnwatch_events_rejected_total{reason='
                   '"refused_by_database"}'), 2.0, "counted as rejected")
        # Only poison in a request: 400 with the list.
        st, _, body = d.post([ev(eid="poison-3", account="grp-a")])
        eq((st, body.get("error")), (400, "invalid_events"),
           "nothing stored: %r" % body)
        eq(body["rejected"][0]["error"], "refused_by_database", "why")


def test_spool_sets_refused_events_aside():
    with Daemon(spool_max_bytes=10 << 20) as d:
        psql(d.db, "-qc", POISON_SQL)
        db_cut(d.db)
        try:
            wait_for(lambda: d.metric("churnwatch_db_up") == 0.0, 10,
                     what="the daemon saw the database go")
            first = [ev(account="dl", user="u%d" % i) for i in range(5)]
            first[2]["id"] = "poison-spooled"
            st, _, body = d.post(first)
            eq((st, body.get("accepted")), (202, 5),
               "spooled while the database is away: %r" % body)
            st, _, body = d.post([ev(account="dl", user="w")],
                                 token="admin")
            eq(st, 202, "another client, spooled behind it")
        finally:
            db_restore(d.db)
        wait_for(lambda: d.count() == 5, 20,
                 what="the drain stored everything but the poison")
        wait_for(lambda: d.spool_bytes() == 0, 10,
                 what="the spool emptied: the drain moved on")
        path = os.path.join(d.dir, "spool", "dead-letter.ndjson")
        with open(path) as f:
            lines = [json.loads(x) for x in f]
        eq([(x["id"], x["source"]) for x in lines],
           [("poison-spooled", "backend")], "set aside once")
        check("poisoned event" in lines[0]["error"], "with its error")
        eq(d.metric("churnwatch_events_dead_letter_total"), 1.0,
           "counted")
        st, _, acct = d.request("GET", "/v1/accounts/dl", token="reader")
        eq(sum(acct["windows"]["logins_per_day_90d"]), 5,
           "the others reached the windows: %r" % (acct,))
        log = d.log()
        eq(log.count("set aside in dead-letter.ndjson"), 1, "logged once")
        # The direct path is back.
        st, _, body = d.post([ev(account="dl", user="x")])
        eq((st, body["accepted"]), (202, 1), "direct again")
        eq(d.spool_bytes(), 0, "not through the spool")
        eq(d.count(), 6, "stored")
