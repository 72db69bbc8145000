"""The spool under what disks and kernels do (SPEC 6), through the real
daemon: a record torn by a crash is cut at the next start and never merged
with the next append; a failed fdatasync (an LD_PRELOAD shim makes it
fail) stops the spool acknowledging until a restart, and is never retried
as if it had covered the write; sustained load through a short outage
drains, and the direct path comes back.  In each, every acknowledged event
is stored exactly once and counted once in the windows."""

import os
import subprocess
import tempfile
import threading
import time

from lib import (ROOT, Daemon, check, db_cut, db_restore, eq, ev, sql,
                 wait_for)


def _segments(d):
    sp = os.path.join(d.dir, "spool")
    return sorted(f for f in os.listdir(sp) if f.startswith("spool-"))


def _logins(d, account):
    st, _, acct = d.request("GET", "/v1/accounts/" + account,
                            token="reader")
    return sum(acct["windows"]["logins_per_day_90d"]) if st == 200 else -1


def _stored_once(d, sent, what):
    rows = sorted(r[0] for r in sql(d.db, "SELECT id FROM events"))
    eq(rows, sorted(e["id"] for e in sent), "%s: stored ids, each once"
       % what)


def _wait_down(d):
    wait_for(lambda: d.metric("churnwatch_db_up") == 0.0, 10,
             what="the daemon saw the database go")


def _spool_once_more(d, account, sent):
    """The spool still takes events and drains them: cut, post, restore."""
    db_cut(d.db)
    try:
        _wait_down(d)
        more = [ev(account=account, user="again%d" % k) for k in range(2)]
        st, _, body = d.post(more)
        eq((st, body.get("accepted")), (202, 2), "spooled again")
        sent += more
    finally:
        db_restore(d.db)
    wait_for(lambda: d.count() == len(sent) and d.spool_bytes() == 0, 20,
             what="drained again")


def test_torn_tail_cut_at_restart_never_merged():
    d = Daemon(spool_max_bytes=10 << 20)
    with d:
        db_cut(d.db)
        try:
            _wait_down(d)
            sent = []
            for i in range(3):
                b = [ev(account="torn", user="u%d_%d" % (i, k))
                     for k in range(4)]
                st, _, body = d.post(b)
                eq((st, body.get("accepted")), (202, 4), "spooled %d" % i)
                sent += b
            d.kill()
            # A crash in the middle of the next append: a header that
            # promises more than follows, and some of its payload.
            seg = os.path.join(d.dir, "spool", _segments(d)[-1])
            with open(seg, "ab") as f:
                f.write(b"CWS1\0\0\0\0\0\0\x10\0\0\0\0\0{\"s\":\"backend\"")
            d.start(wait=False)
            wait_for(lambda: "torn or damaged record cut" in d.log(), 10,
                     what="the torn record cut at start")
        finally:
            db_restore(d.db)
        d.wait_ready()
        wait_for(lambda: d.count() == len(sent) and d.spool_bytes() == 0,
                 20, what="drained")
        _stored_once(d, sent, "after the torn tail")
        _spool_once_more(d, "torn", sent)
        _stored_once(d, sent, "appends after the cut")
        wait_for(lambda: _logins(d, "torn") == len(sent), 10,
                 what="counted once in the windows")


def _shim():
    """Build the fdatasync shim once; its path."""
    out = os.path.join(tempfile.gettempdir(), "cw-failsync-%d.so" %
                       os.getuid())
    src = os.path.join(ROOT, "tests", "shim", "failsync.c")
    if (not os.path.exists(out) or
            os.path.getmtime(out) < os.path.getmtime(src)):
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", out, src,
                        "-ldl"], check=True)
    return out


def test_failed_fdatasync_stops_the_spool_until_a_restart():
    d = Daemon(spool_max_bytes=10 << 20)
    flag = os.path.join(d.dir, "failsync")
    d.env["LD_PRELOAD"] = _shim()
    d.env["CW_FAILSYNC_FLAG"] = flag
    # An ASan build wants its runtime first; the shim only wraps libc.
    d.env["ASAN_OPTIONS"] = (d.env.get("ASAN_OPTIONS", "") +
                             ":verify_asan_link_order=0").lstrip(":")
    with d:
        db_cut(d.db)
        try:
            _wait_down(d)
            ok = [ev(account="sync", user="u%d" % k) for k in range(3)]
            st, _, body = d.post(ok)
            eq((st, body.get("accepted")), (202, 3), "spooled, synced")
            open(flag, "w").close()
            failed = [ev(account="sync", user="f%d" % k) for k in range(2)]
            resp = d.post(failed)
            eq(resp.status, 503, "the fdatasync failed: not acknowledged "
               "(%r)" % (resp.body,))
            check(resp.headers.get("Retry-After"), "with Retry-After")
            os.unlink(flag)
            # The disk "works" again, but the failed sync is not retried
            # as if it had covered the write: no more appends.
            resp = d.post([ev(account="sync", user="later")])
            eq(resp.status, 503, "still refused until a restart")
            with open(flag + ".count") as f:
                eq(len(f.read()), 1, "the failed fdatasync was not retried")
            eq(d.request("GET", "/readyz", token=None).status, 503,
               "not ready: the spool takes nothing")
            check("fdatasync failed" in d.log(), "logged")
        finally:
            db_restore(d.db)
        sent = ok + failed
        # The records written before the failed sync are read and drained
        # (at worst a client's retry is then a duplicate); the direct path
        # works, the spool does not until a restart.
        wait_for(lambda: d.metric("churnwatch_spool_bytes") == 0.0, 20,
                 what="drained")
        st, _, body = d.post(failed)
        eq(st, 202, "the client's retry, on the direct path: %r" % (body,))
        _stored_once(d, sent, "after the failed sync")
        d.restart()     # re-reads and re-validates the spool
        _spool_once_more(d, "sync", sent)
        _stored_once(d, sent, "after the restart")
        wait_for(lambda: _logins(d, "sync") == len(sent), 10,
                 what="counted once in the windows")


def test_sustained_load_through_an_outage():
    """Four clients post without pause; the database goes away for two
    seconds in the middle.  Every acknowledged event is stored once, the
    spool empties while the load goes on, and the direct path returns."""
    with Daemon(spool_max_bytes=50 << 20) as d:
        acked, lock, stop = [], threading.Lock(), threading.Event()
        errors = []

        def client(c):
            i = 0
            # Paced and capped: a window counts at most 65,535 logins of
            # one account a day (u16), and this is about the spool.
            while not stop.is_set() and i < 2000:
                time.sleep(0.01)
                b = [ev(account="load%d" % c, user="u%d" % (i % 7))
                     for _ in range(20)]
                i += 1
                try:
                    st, _, body = d.post(b, timeout=20)
                except Exception as e:      # noqa: BLE001
                    errors.append(repr(e))
                    continue
                if st == 202:
                    eq(body["accepted"], 20, "a whole batch accepted")
                    with lock:
                        acked.extend(b)
                elif st != 503:
                    errors.append("status %d: %r" % (st, body))

        ts = [threading.Thread(target=client, args=(c,)) for c in range(4)]
        for t in ts:
            t.start()
        try:
            time.sleep(1.5)
            db_cut(d.db)
            time.sleep(2.0)
            during = len(acked)
            db_restore(d.db)
            # The load goes on while the spool drains.
            wait_for(lambda: d.spool_bytes() == 0, 30,
                     what="the spool emptied under load")
            n_drained = len(acked)
            time.sleep(1.0)
            check(len(acked) > n_drained, "the load went on")
            eq(d.spool_bytes(), 0, "new events take the direct path")
        finally:
            stop.set()
            for t in ts:
                t.join(30)
        eq(errors, [], "no client errors")
        check(during > 0, "nothing was acknowledged at all")
        wait_for(lambda: d.count() == len(acked), 20,
                 what="every acknowledged event stored (%d)" % len(acked))
        _stored_once(d, acked, "after the outage")
        for c in range(4):
            want = sum(1 for e in acked if e["account_id"] == "load%d" % c)
            wait_for(lambda: _logins(d, "load%d" % c) == want, 10,
                     what="load%d counted once: %d" % (c, want))
