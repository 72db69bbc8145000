"""PostgreSQL goes away under a running daemon: ingest answers 503 with
Retry-After and /readyz 503; when it is back the daemon reconnects by
itself (with backoff) and ingest works again.  Nothing is acknowledged
that is not stored."""

import subprocess
import threading
import time

from lib import (PG_CLUSTER, Daemon, check, db_cut, db_restore, eq, ev,
                 event_row, expect_error, lit, pg_dir, pg_port, psql, scalar,
                 sql, wait_for)


def _status(d, path):
    try:
        return d.request("GET", path, token=None, timeout=5).status
    except OSError as e:
        return repr(e)


def test_db_outage_and_recovery():
    with Daemon() as d:
        before = ev(account="outage")
        eq(d.post([before]).status, 202, "ingest before the outage")
        eq(d.count(), 1, "rows before the outage")
        db_cut(d.db)
        try:
            # At once, whether or not the daemon has noticed yet: the
            # batch cannot be committed, so it must not be acknowledged.
            early = [ev(account="outage")]
            expect_error(d.post(early), 503, "unavailable",
                         "ingest right after the cut")
            # The daemon notices the lost connection on its own.
            wait_for(lambda: _status(d, "/readyz") == 503, 10,
                     what="/readyz 503 after the database went away")
            st, hdrs, body = d.request("GET", "/readyz", token=None)
            check(hdrs.get("Retry-After"), "/readyz 503 without Retry-After")
            eq(_status(d, "/healthz"), 200, "/healthz during the outage")
            lost = [ev(account="outage") for _ in range(3)]
            for i in range(3):
                resp = d.post(lost)
                expect_error(resp, 503, "unavailable",
                             "ingest during the outage (try %d)" % (i + 1))
                ra = resp.headers.get("Retry-After")
                check(ra is not None and ra.strip().isdigit() and
                      int(ra) > 0, "503 Retry-After is %r" % ra)
            resp = d.request("PUT", "/v1/accounts/outage", body={"name": "x"})
            expect_error(resp, 503, "unavailable", "PUT account, outage")
            # Still nothing is answered 2xx while it lasts.
            time.sleep(1.0)
            eq(d.post(lost).status, 503, "ingest 1 s into the outage")
        finally:
            db_restore(d.db)
        t0 = time.monotonic()
        wait_for(lambda: _status(d, "/readyz") == 200, 15,
                 what="/readyz 200 after the database came back")
        took = time.monotonic() - t0
        after = [ev(account="outage") for _ in range(3)]
        st, _, body = d.post(after)
        eq(st, 202, "ingest after the outage (%r)" % (body,))
        eq(body["accepted"], 3, "accepted after the outage")
        # The refused events were not stored behind the client's back;
        # resending them now works.
        for e in lost + early:
            check(event_row(d.db, "backend", e["id"]) is None,
                  "event %s answered 503 was stored" % e["id"])
        st, _, body = d.post(lost)
        eq((st, body.get("accepted"), body.get("duplicates")), (202, 3, 0),
           "resend of the refused events")
        eq(d.count(), 7, "rows at the end")
        eq(d.request("PUT", "/v1/accounts/outage", body={"name": "x"}).status,
           201, "PUT account after the outage")
        check(took < 15, "recovery took %.1f s" % took)


def test_start_while_db_down():
    """A daemon started while its database refuses connections serves
    /healthz, answers 503 on /readyz and ingest, and becomes ready once the
    database is back."""
    d = Daemon()
    try:
        db_cut(d.db)
        try:
            d.start(wait=False)
            wait_for(lambda: _status(d, "/healthz") == 200, 20,
                     what="/healthz while the database is down")
            eq(_status(d, "/readyz"), 503, "/readyz while the database "
               "is down")
            resp = d.post([ev()])
            expect_error(resp, 503, "unavailable", "ingest before ready")
            check(resp.headers.get("Retry-After"), "no Retry-After")
        finally:
            db_restore(d.db)
        d.wait_ready(20)
        st, _, body = d.post([ev(account="late")])
        eq(st, 202, "ingest once ready (%r)" % (body,))
        eq(sql(d.db, "SELECT account_id FROM events"), [("late",)],
           "rows once ready")
        d.stop()
    except BaseException:
        d.cleanup(False)
        raise
    d.cleanup(True)


def test_commit_cut_mid_flight_is_not_acknowledged():
    """The connection dies while the daemon's INSERT is in flight: the
    client must get 503, not 202, and nothing is stored."""
    with Daemon() as d:
        eq(d.post([ev(account="warm")]).status, 202, "ingest before")
        # Hold a lock so that the daemon's next INSERT waits in PostgreSQL.
        locker = subprocess.Popen(
            [PG_CLUSTER, "psql", pg_dir(), pg_port(), d.db, "-X", "-qAt"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        try:
            locker.stdin.write(b"BEGIN;\nLOCK TABLE events IN ACCESS "
                               b"EXCLUSIVE MODE;\nSELECT 'locked';\n")
            locker.stdin.flush()
            eq(locker.stdout.readline().strip(), b"locked", "lock taken")
            batch = [ev(account="inflight") for _ in range(5)]
            result = []
            t = threading.Thread(target=lambda: result.append(
                d.post(batch, timeout=20)), daemon=True)
            t.start()
            wait_for(lambda: scalar(
                d.db, "SELECT count(*) FROM pg_stat_activity WHERE "
                "datname = %s AND wait_event_type = 'Lock'" % lit(d.db)) ==
                "1", 10, what="the daemon's INSERT waiting on the lock")
            check(t.is_alive() and not result,
                  "ingest answered while its INSERT waits: %r" % result)
            db_cut(d.db)          # kills the daemon's backend and the locker
            t.join(20)
            check(result, "no answer to the interrupted ingest")
            expect_error(result[0], 503, "unavailable",
                         "ingest whose commit was cut")
            check(result[0].headers.get("Retry-After"), "no Retry-After")
        finally:
            db_restore(d.db)
            try:
                locker.stdin.close()
            except OSError:
                pass
            try:
                locker.wait(5)
            except subprocess.TimeoutExpired:
                locker.kill()
                locker.wait()
        wait_for(lambda: _status(d, "/readyz") == 200, 15,
                 what="/readyz 200 after the database came back")
        eq(d.count("account_id = 'inflight'"), 0,
           "rows of the interrupted batch")
        st, _, body = d.post(batch)
        eq((st, body.get("accepted")), (202, 5), "resend after recovery")
        eq(d.count(), 6, "rows at the end")
