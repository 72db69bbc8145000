"""POST /v1/events in its three forms (one object, an array, NDJSON), and
what lands in the events table: every column, ts defaults and bounds, and
props kept as sent (unknown props too)."""

import json
import time

from lib import Daemon, check, eq, ev, event_row, rfc3339

DAY = 86400.0


def _accepted(resp, n, dups=0, what="ingest"):
    st, hdrs, body = resp
    eq(st, 202, "%s status (body %r)" % (what, body))
    check(isinstance(body, dict), "%s: body is not JSON: %r" % (what, body))
    eq(body.get("accepted"), n, "%s: accepted" % what)
    eq(body.get("duplicates"), dups, "%s: duplicates" % what)
    eq(body.get("rejected"), [], "%s: rejected" % what)
    check(hdrs.get("Content-Type", "").startswith("application/json"),
          "%s: Content-Type %r" % (what, hdrs.get("Content-Type")))


def test_single_object():
    with Daemon() as d:
        t = int(time.time() - 3600)
        e = ev(account="acme", type="login", user="u_42", ts=rfc3339(t))
        t0 = time.time()
        _accepted(d.post(e), 1)
        t1 = time.time()
        eq(d.count(), 1, "rows after one event")
        row = event_row(d.db, "backend", e["id"])
        check(row is not None, "event %s not stored" % e["id"])
        eq(row["account_id"], "acme", "account_id")
        eq(row["type"], "login", "type")
        eq(row["user_id"], "u_42", "user_id")
        eq(row["props"], {}, "props when absent")
        eq(row["ts"], float(t), "ts as sent")
        check(t0 - 5 <= row["received_at"] <= t1 + 5,
              "received_at %.1f not between %.1f and %.1f" % (
                  row["received_at"], t0, t1))


def test_array_of_types():
    with Daemon() as d:
        now = time.time()
        events = [
            ev(type="login", user="u_1", account="a1"),
            ev(type="feature_used", user="u_2", account="a1",
               props={"feature": "export", "format": "csv"}),
            ev(type="ticket.created", user=None, account="a2",
               props={"ticket_id": 123, "team": "billing",
                      "tags": ["refund", "angry"], "priority": "urgent",
                      "sentiment": -0.75, "subject": "Refund please"}),
            ev(type="ticket.solved", user=None, account="a2",
               props={"ticket_id": "T-9"}),
            ev(type="contact.changed", user=None, account="a3",
               props={"contact_id": "c1", "title": "VP",
                      "previous_title": "Director", "is_champion": True}),
            ev(type="competitor.signal", user=None, account="a3",
               props={"competitor": "Rival", "kind": "poc"}),
            ev(type="touchpoint", user=None, account="a3",
               props={"kind": "call", "by": "alice"}),
        ]
        _accepted(d.post(events), len(events))
        eq(d.count(), len(events), "rows after an array")
        for e in events:
            row = event_row(d.db, "backend", e["id"])
            check(row is not None, "event %s not stored" % e["id"])
            eq(row["type"], e["type"], "type of %s" % e["id"])
            eq(row["account_id"], e["account_id"], "account of %s" % e["id"])
            eq(row["user_id"], e.get("user_id"), "user_id of %s" % e["id"])
            eq(row["props"], e.get("props", {}), "props of %s" % e["id"])
            check(abs(row["ts"] - now) < 60,
                  "ts of %s defaults to now: %.1f vs %.1f" % (
                      e["id"], row["ts"], now))


def test_ndjson_blank_lines_and_crlf():
    with Daemon() as d:
        events = [ev(user="u_%d" % i, account="nd") for i in range(3)]
        lines = [json.dumps(events[0]), "", json.dumps(events[1]),
                 "   ", json.dumps(events[2])]
        body = "\r\n".join(lines) + "\r\n"
        resp = d.request("POST", "/v1/events", body=body,
                         headers={"Content-Type": "application/x-ndjson"})
        _accepted(resp, 3, what="NDJSON")
        # A Content-Type parameter does not change the media type.
        e4 = ev(account="nd")
        resp = d.request("POST", "/v1/events", body=json.dumps(e4) + "\n",
                         headers={"Content-Type":
                                  "application/x-ndjson; charset=utf-8"})
        _accepted(resp, 1, what="NDJSON with charset")
        eq(d.count("account_id = 'nd'"), 4, "NDJSON rows")
        for e in events + [e4]:
            row = event_row(d.db, "backend", e["id"])
            check(row is not None, "NDJSON event %s not stored" % e["id"])
            eq(row["user_id"], e["user_id"], "user_id of %s" % e["id"])
        # Rejections in NDJSON are numbered by event, blank lines skipped.
        good = ev(account="nd2")
        body = "\n".join([json.dumps(good), "", "{not json",
                          json.dumps(ev(account="nd2", type="nope"))])
        st, _, b = d.request("POST", "/v1/events", body=body,
                             headers={"Content-Type": "application/x-ndjson"})
        eq(st, 202, "NDJSON with bad lines: status (%r)" % (b,))
        eq(b["accepted"], 1, "NDJSON with bad lines: accepted")
        eq([(r["index"], r["error"]) for r in b["rejected"]],
           [(1, "invalid_json"), (2, "unknown_type")],
           "NDJSON rejections (index, error)")
        eq(d.count("account_id = 'nd2'"), 1, "NDJSON rows with bad lines")


def test_ts_default_backfill_and_bounds():
    with Daemon() as d:
        now = time.time()
        e_now = ev(account="ts")                               # 0: no ts
        e_null = ev(account="ts", ts=None)                     # 1
        e_null["ts"] = None                                    # null = absent
        e_back = ev(account="ts", ts=rfc3339(now - 300 * DAY))     # 2
        e_old = ev(account="ts", ts=rfc3339(now - 401 * DAY))      # 3
        e_future = ev(account="ts", ts=rfc3339(now + 600))         # 4
        e_near = ev(account="ts", ts=rfc3339(now + 120))           # 5
        # +09:00 and fractional seconds: the instant is what counts.
        t_off = int(now - 2 * DAY)
        lt = time.gmtime(t_off + 9 * 3600)
        e_off = ev(account="ts", ts=time.strftime(
            "%Y-%m-%dT%H:%M:%S", lt) + ".250+09:00")               # 6
        e_bad = ev(account="ts", ts="yesterday")                   # 7
        batch = [e_now, e_null, e_back, e_old, e_future, e_near, e_off,
                 e_bad]
        st, _, body = d.post(batch)
        eq(st, 202, "status (%r)" % (body,))
        eq(body["accepted"], 5, "accepted")
        rej = {r["index"]: r["error"] for r in body["rejected"]}
        eq(rej, {3: "invalid_ts", 4: "invalid_ts", 7: "invalid_ts"},
           "rejections by index")
        for r in body["rejected"]:
            check(isinstance(r.get("message"), str) and r["message"],
                  "rejection without a message: %r" % r)
        eq(d.count("account_id = 'ts'"), 5, "rows")
        for e in (e_old, e_future, e_bad):
            check(event_row(d.db, "backend", e["id"]) is None,
                  "rejected event %s (ts %s) was stored" % (e["id"], e["ts"]))
        for e in (e_now, e_null):
            row = event_row(d.db, "backend", e["id"])
            check(abs(row["ts"] - now) < 60,
                  "default ts %.1f is not about now (%.1f)" % (row["ts"],
                                                              now))
            check(abs(row["ts"] - row["received_at"]) < 10,
                  "default ts %.1f is not about received_at %.1f" % (
                      row["ts"], row["received_at"]))
        eq(event_row(d.db, "backend", e_back["id"])["ts"],
           float(int(now - 300 * DAY)), "back-filled ts (300 days ago)")
        eq(event_row(d.db, "backend", e_near["id"])["ts"],
           float(int(now + 120)), "ts 2 minutes ahead")
        eq(event_row(d.db, "backend", e_off["id"])["ts"], t_off + 0.25,
           "ts with a +09:00 offset and fractions")


def test_props_verbatim():
    with Daemon() as d:
        props = {
            "feature": "reports",
            "unknown_prop": {"nested": [1, 2.5, "x", None, True]},
            # 2**53 + 1: exact only if the text is kept, not a double.
            "big": 9007199254740993,
            "neg": -9223372036854775808,
            "precise": 0.1,
            "text": "caf\u00e9 \u65e5\u672c \"quoted\" back\\slash",
            "empty": {},
            "list": [],
            "nothing": None,
        }
        e = ev(type="feature_used", user="u_7", props=props)
        # Odd spacing inside the request must not matter.
        body = json.dumps(e, indent=3, ensure_ascii=False).encode("utf-8")
        _accepted(d.request("POST", "/v1/events", body=body), 1)
        row = event_row(d.db, "backend", e["id"])
        check(row is not None, "event not stored")
        eq(row["props"], props, "props as stored")
        # Type-specific props of other types are unknown props here: kept
        # and not checked (priority is a ticket prop).
        e2 = ev(type="login", props={"priority": "whatever", "n": -0.0})
        _accepted(d.post(e2), 1)
        eq(event_row(d.db, "backend", e2["id"])["props"],
           {"priority": "whatever", "n": -0.0}, "foreign props kept")
        # Two events with a long unique id and account id at the limits.
        e3 = ev(eid="i" * 256, account="a" * 128)
        _accepted(d.post(e3), 1)
        row = event_row(d.db, "backend", "i" * 256)
        check(row is not None and row["account_id"] == "a" * 128,
              "256-byte id / 128-byte account_id not stored as sent")
        eq(d.count(), 3, "rows")
