"""The spool (SPEC 6): while PostgreSQL is unreachable, ingest keeps
acknowledging into a local fsync'd spool, which drains into PostgreSQL, in
order and without duplicates, when it is back -- also after a SIGKILL.
When the spool is full, ingest answers 503 with Retry-After."""

import time

from lib import Daemon, check, db_cut, db_restore, eq, ev, sql, wait_for


def _wait_db_down(d):
    wait_for(lambda: d.metric("churnwatch_db_up") == 0.0, 10,
             what="the daemon noticed the database went away")


def test_spool_acknowledges_and_drains_once():
    with Daemon(spool_max_bytes=10 * 1024 * 1024) as d:
        db_cut(d.db)
        try:
            _wait_db_down(d)
            st, _, _ = d.request("GET", "/readyz", token=None)
            eq(st, 200, "ready: the spool can take writes")
            batches = [[ev(account="spooled", user="u%d" % k)
                        for k in range(5)] for _ in range(3)]
            for i, b in enumerate(batches):
                st, _, body = d.post(b)
                eq((st, body.get("accepted")), (202, 5),
                   "spooled batch %d: %r" % (i, body))
            dup = d.post(batches[0])
            eq(dup.status, 202, "a repeat while spooled")
            check(d.spool_bytes() > 0, "in the spool file")
            check((d.metric("churnwatch_spool_bytes") or 0) > 0,
                  "churnwatch_spool_bytes")
            eq(int(sql_count_safe(d)), -1, "nothing reached PostgreSQL")
        finally:
            db_restore(d.db)
        wait_for(lambda: d.count() == 15, 15,
                 what="the spool drained into PostgreSQL")
        time.sleep(1.5)
        eq(d.count(), 15, "every event once, duplicates caught")
        wait_for(lambda: d.spool_bytes() == 0, 5,
                 what="the spool emptied")
        st, _, acct = d.request("GET", "/v1/accounts/spooled",
                                token="reader")
        eq(st, 200, "the drained events reached the windows")
        eq(sum(acct["windows"]["logins_per_day_90d"]), 15,
           "15 logins in the window, the repeat not counted")


def sql_count_safe(d):
    """-1 while the database refuses connections."""
    try:
        return d.count()
    except Exception:
        return -1


def test_spool_survives_sigkill():
    d = Daemon(spool_max_bytes=10 * 1024 * 1024)
    with d:
        db_cut(d.db)
        try:
            _wait_db_down(d)
            sent = [ev(account="killed") for _ in range(7)]
            st, _, body = d.post(sent)
            eq((st, body.get("accepted")), (202, 7), "spooled: %r" % body)
            d.kill()
        finally:
            db_restore(d.db)
        d.start()
        wait_for(lambda: d.count() == 7, 15,
                 what="the spool of the killed daemon drained")
        ids = set(r[0] for r in sql(d.db, "SELECT id FROM events"))
        eq(ids, set(e["id"] for e in sent), "exactly the acknowledged ids")


def test_spool_full_answers_503():
    with Daemon(spool_max_bytes=3000) as d:
        db_cut(d.db)
        try:
            _wait_db_down(d)
            st, _, body = d.post([ev(account="full")])
            eq(st, 202, "a small batch fits: %r" % body)
            big = [ev(account="full", props={"pad": "x" * 200})
                   for _ in range(40)]
            resp = d.post(big)
            eq(resp.status, 503, "the spool is full: %r" % (resp.body,))
            check(resp.headers.get("Retry-After"), "with Retry-After")
        finally:
            db_restore(d.db)
        wait_for(lambda: d.count() == 1, 15, what="the one spooled event")
