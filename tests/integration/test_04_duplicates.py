"""Idempotency: (source, id) is stored once, whether repeated inside one
batch, across batches, by concurrent requests, or after a restart; the
same id from two tokens is two events."""

import threading

from lib import Daemon, check, eq, ev, event_row, sql


def _ok(resp, accepted, dups, what):
    st, _, body = resp
    eq(st, 202, "%s: status (%r)" % (what, body))
    eq((body.get("accepted"), body.get("duplicates")), (accepted, dups),
       "%s: (accepted, duplicates)" % what)
    eq(body.get("rejected"), [], "%s: rejected" % what)


def test_within_and_across_batches():
    with Daemon() as d:
        a = ev(eid="dup-a", account="acc1", props={"n": 1})
        a2 = ev(eid="dup-a", account="acc2", props={"n": 2})  # same id
        b = ev(eid="dup-b")
        _ok(d.post([a, a2, b, a]), 2, 2, "one batch with repeats")
        eq(d.count(), 2, "rows after one batch with repeats")
        row = event_row(d.db, "backend", "dup-a")
        eq((row["account_id"], row["props"]), ("acc1", {"n": 1}),
           "the first occurrence in the batch wins")

        c = ev(eid="dup-c")
        _ok(d.post([a2, b, c]), 1, 2, "second batch")
        eq(d.count(), 3, "rows after the second batch")
        row = event_row(d.db, "backend", "dup-a")
        eq((row["account_id"], row["props"]), ("acc1", {"n": 1}),
           "a later duplicate does not overwrite")
        # The single-object form and NDJSON count duplicates the same way.
        _ok(d.post(c), 0, 1, "a single duplicate object")
        st, _, body = d.request(
            "POST", "/v1/events", body="%s\n%s\n" % (
                '{"id":"dup-b","account_id":"x","type":"login",'
                '"user_id":"u"}',
                '{"id":"dup-d","account_id":"x","type":"login",'
                '"user_id":"u"}'),
            headers={"Content-Type": "application/x-ndjson"})
        _ok((st, None, body), 1, 1, "NDJSON with a duplicate")
        eq(d.count(), 4, "rows at the end")
        # A batch mixing a duplicate and a rejected event.
        st, _, body = d.post([a, ev(type="bogus")])
        eq(st, 202, "duplicate + rejected: status (%r)" % (body,))
        eq((body["accepted"], body["duplicates"],
            [r["index"] for r in body["rejected"]]), (0, 1, [1]),
           "duplicate + rejected: (accepted, duplicates, rejected)")
        eq(d.count(), 4, "rows after duplicate + rejected")


def test_same_id_two_tokens_is_two_events():
    with Daemon() as d:
        e = ev(eid="shared-1")
        _ok(d.post([e], token="backend"), 1, 0, "backend")
        _ok(d.post([e], token="admin"), 1, 0, "admin, same id")
        _ok(d.post([e], token="admin"), 0, 1, "admin again")
        _ok(d.post([e], token="backend"), 0, 1, "backend again")
        rows = sql(d.db, "SELECT source FROM events WHERE id = 'shared-1' "
                   "ORDER BY source")
        eq(rows, [("admin",), ("backend",)], "sources of id shared-1")
        eq(d.count(), 2, "rows")


def test_concurrent_duplicates():
    with Daemon() as d:
        events = [ev(eid="conc-%d" % i) for i in range(200)]
        results = []
        lock = threading.Lock()
        go = threading.Event()

        def worker(k):
            go.wait()
            # Each thread sends the same events, in a different order.
            batch = events[k * 50:] + events[:k * 50]
            r = d.post(batch)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=worker, args=(k,))
                   for k in range(4)]
        for t in threads:
            t.start()
        go.set()
        for t in threads:
            t.join(60)
        eq(len(results), 4, "answers")
        for st, _, body in results:
            eq(st, 202, "concurrent status (%r)" % (body,))
        eq(sum(b["accepted"] for _, _, b in results), 200,
           "accepted over all concurrent requests")
        eq(sum(b["duplicates"] for _, _, b in results), 600,
           "duplicates over all concurrent requests")
        eq(d.count(), 200, "rows")
        eq(sql(d.db, "SELECT count(*) FROM (SELECT id FROM events GROUP BY "
               "source, id HAVING count(*) > 1) x"), [("0",)],
           "keys stored twice")


def test_duplicates_across_restart():
    with Daemon() as d:
        batch = [ev(eid="rs-%d" % i, account="rs") for i in range(20)]
        _ok(d.post(batch), 20, 0, "before the restart")
        before = sql(d.db, "SELECT source, id, account_id, type, ts, "
                     "user_id, props, received_at FROM events ORDER BY id")
        eq(len(before), 20, "rows before the restart")
        d.restart()         # SIGTERM (exit 0 asserted), start, ready
        _ok(d.post(batch), 0, 20, "after the restart")
        extra = ev(eid="rs-new", account="rs")
        _ok(d.post(batch[:5] + [extra]), 1, 5, "after the restart, mixed")
        after = sql(d.db, "SELECT source, id, account_id, type, ts, "
                    "user_id, props, received_at FROM events "
                    "WHERE id <> 'rs-new' ORDER BY id")
        eq(after, before, "stored rows after the restart and resend")
        eq(d.count(), 21, "rows at the end")
        check(event_row(d.db, "backend", "rs-new") is not None,
              "the new event after the restart is stored")
