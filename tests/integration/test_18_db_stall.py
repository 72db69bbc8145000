"""A stalled PostgreSQL (SPEC 6): the daemon's backends stop answering
with their sockets still open -- here they are SIGSTOPped, which is how a
lock wait, a lost synchronous standby or a network black hole looks from
the daemon's side.  After [database] statement_timeout the connection
counts as lost: ingest acknowledges through the spool within seconds
instead of holding its clients, and once the backends run again every
acknowledged event is stored exactly once and the spool empties.  The
deadline is per query, so start-up loading of a real history, page by
page, is not cut by a short one."""

import os
import re
import signal
import time

from lib import (Daemon, check, eq, ev, lit, psql, rfc3339, sql, wait_for)

class StallDaemon(Daemon):
    """A Daemon with the spool on and a short statement_timeout."""

    def __init__(self, statement_timeout="1s", **kw):
        kw.setdefault("spool_max_bytes", 10 * 1024 * 1024)
        Daemon.__init__(self, **kw)
        self.statement_timeout = statement_timeout

    def config_text(self, port=None):
        text = Daemon.config_text(self, port)
        return text.replace("[database]\n", "[database]\nstatement_timeout"
                            " = %s\n" % self.statement_timeout, 1)


def _backends(db):
    """PIDs of the daemon's server processes on db: its client backends
    only -- never the postmaster, another test's database, or this psql."""
    rows = sql(db, "SELECT pid FROM pg_stat_activity WHERE datname = %s "
               "AND backend_type = 'client backend' "
               "AND application_name = 'churnwatchd' "
               "AND pid <> pg_backend_pid()" % lit(db))
    return [int(r[0]) for r in rows]


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _allow_connections(db, allow):
    psql("postgres", "-qc", 'ALTER DATABASE "%s" ALLOW_CONNECTIONS %s' % (
        db, "true" if allow else "false"))


def _logins(d, account):
    st, _, acct = d.request("GET", "/v1/accounts/" + account,
                            token="reader")
    return sum(acct["windows"]["logins_per_day_90d"]) if st == 200 else -1


def _timed_post(d, batch, what, limit):
    """POST batch; it must be accepted whole within limit seconds."""
    t0 = time.monotonic()
    st, _, body = d.post(batch, timeout=limit + 10)
    took = time.monotonic() - t0
    eq((st, body.get("accepted") if isinstance(body, dict) else body),
       (202, len(batch)), "%s: answer" % what)
    check(took < limit, "%s: acknowledged after %.1f s, not within %.0f s"
          % (what, took, limit))
    return took


def _stored_exactly(d, sent, what):
    ids = sorted(e["id"] for e in sent)
    rows = sorted(r[0] for r in sql(d.db, "SELECT id FROM events "
                                    "WHERE source = 'backend'"))
    eq(rows, ids, "%s: stored ids (each once)" % what)


def _settled(db, pids):
    """None of pids is running a query any more: a backend that was
    dropped mid-query has run it (late) and exited; one that was idle
    stays idle."""
    rows = sql(db, "SELECT count(*) FROM pg_stat_activity WHERE pid IN "
               "(%s) AND state <> 'idle'" % ", ".join(str(p) for p in pids))
    return rows[0][0] == "0"


def _deadline_hits(d):
    return d.log().count("connection lost during=deadline")


def test_stall_acknowledges_through_spool_and_drains_once():
    """Every backend of the daemon stopped and no new session possible:
    ingest still answers 202 within a few seconds, from the spool; after
    SIGCONT the spool drains and nothing is stored twice -- also not the
    batch whose commit was in flight when the deadline struck (its stopped
    backend commits it late, the drain finds it a duplicate)."""
    with StallDaemon() as d:
        warm = [ev(account="stall")]
        _timed_post(d, warm, "ingest before the stall", 5)
        pids = _backends(d.db)
        check(pids, "no backend of the daemon found")
        sent = list(warm)
        try:
            _signal(pids, signal.SIGSTOP)
            _allow_connections(d.db, False)
            # The first batch waits for its commit until the deadline (1 s),
            # then goes to the spool; later ones go there at once.
            first = [ev(account="stall", user="u%d" % k) for k in range(5)]
            _timed_post(d, first, "the batch in flight at the stall", 4)
            sent += first
            for i in range(3):
                b = [ev(account="stall", user="v%d" % k) for k in range(4)]
                _timed_post(d, b, "batch %d during the stall" % i, 2)
                sent += b
            check(_deadline_hits(d) >= 1, "no 'connection lost during="
                  "deadline' in the log:\n" + d.log_tail())
            check(d.spool_bytes() > 0, "the acknowledged events are not in "
                  "the spool")
            st, _, _ = d.request("GET", "/readyz", token=None, timeout=5)
            eq(st, 200, "/readyz while the spool takes the writes")
            eq(d.request("GET", "/healthz", token=None, timeout=5).status,
               200, "/healthz during the stall")
        finally:
            _signal(pids, signal.SIGCONT)
            _allow_connections(d.db, True)
        wait_for(lambda: d.spool_bytes() == 0 and d.count() == len(sent), 20,
                 what="the spool drained into PostgreSQL")
        # Whatever the woken backends still held has run by now: it may
        # not have added a row.
        time.sleep(0.5)
        wait_for(lambda: _settled(d.db, pids), 10,
                 what="the woken backends finished")
        _stored_exactly(d, sent, "after the stall")
        # The direct path is back: a new batch is stored at once.
        after = [ev(account="stall")]
        _timed_post(d, after, "ingest after the stall", 5)
        sent += after
        wait_for(lambda: d.count() == len(sent), 10,
                 what="the batch after the stall stored")
        _stored_exactly(d, sent, "at the end")
        # The batch whose commit landed late reached the windows too, once
        # (SPEC 6: unknown-outcome commits count exactly once).
        wait_for(lambda: _logins(d, "stall") == len(sent), 10,
                 what="every stored login counted in the window once "
                 "(have %d of %d)" % (_logins(d, "stall"), len(sent)))
        time.sleep(1.5)
        eq(_logins(d, "stall"), len(sent), "and never twice")


def test_stall_recovers_through_a_new_session():
    """Only the daemon's backends are stuck; the server still takes new
    sessions.  The deadline drops the stuck connection, the reconnect gets
    a fresh backend and the acknowledged events are stored while the old
    backends are still stopped; waking them later adds nothing."""
    with StallDaemon() as d:
        _timed_post(d, [ev(account="stall2")], "ingest before the stall", 5)
        sent = []
        pids = _backends(d.db)
        check(pids, "no backend of the daemon found")
        try:
            _signal(pids, signal.SIGSTOP)
            for i in range(4):
                b = [ev(account="stall2", user="w%d" % k) for k in range(3)]
                _timed_post(d, b, "batch %d during the stall" % i, 4)
                sent += b
            wait_for(lambda: d.count("account_id = 'stall2'") ==
                     len(sent) + 1 and d.spool_bytes() == 0, 20,
                     what="stored through a new session while the old "
                     "backends are stopped")
            check(_deadline_hits(d) >= 1, "no 'connection lost during="
                  "deadline' in the log:\n" + d.log_tail())
            now = set(_backends(d.db))
            check(now - set(pids), "no new backend after the reconnect")
        finally:
            _signal(pids, signal.SIGCONT)
        time.sleep(0.5)
        wait_for(lambda: _settled(d.db, pids), 10,
                 what="the woken backends finished")
        eq(d.count("account_id = 'stall2'"), len(sent) + 1,
           "rows after the old backends woke")
        ids = set(r[0] for r in sql(d.db, "SELECT id FROM events"))
        check(set(e["id"] for e in sent) <= ids, "an acknowledged event is "
              "missing")
        wait_for(lambda: _logins(d, "stall2") == len(sent) + 1, 10,
                 what="every stored login counted once (have %d of %d)" % (
                     _logins(d, "stall2"), len(sent) + 1))
        time.sleep(1.5)
        eq(_logins(d, "stall2"), len(sent) + 1, "and never twice")


def test_loading_a_history_is_not_cut_by_the_deadline():
    """Start-up loading reads many pages; the deadline is per query, so a
    history whose loading takes longer than statement_timeout as a whole
    still loads, without a single lost connection.  About 1.3 million
    rows in 70 pages: some 2 s of loading on the 2-core test machines,
    twice the 1 s deadline."""
    naccounts, days = 16000, 80
    with StallDaemon() as d:
        d.stop()
        now = time.time()
        # A database from before snapshots: its windows are in the
        # rollups, read once, then stored as the first snapshots.
        psql(d.db, "-qc", """
            DELETE FROM snapshots;
            DELETE FROM snapshot_marks;
            INSERT INTO accounts (id, name)
              SELECT 'h' || a, 'History ' || a
              FROM generate_series(1, %(n)d) a;
            INSERT INTO rollup_daily (account_id, day, logins)
              SELECT 'h' || a, (now() AT TIME ZONE 'UTC')::date - g, 1
              FROM generate_series(1, %(n)d) a,
                   generate_series(1, %(days)d) g;
            INSERT INTO rollup_seen (account_id, kind, key, day)
              SELECT 'h' || a, 'u', 'user' || u,
                     (now() AT TIME ZONE 'UTC')::date - 1
              FROM generate_series(1, %(n)d) a, generate_series(1, 20) u;
            INSERT INTO events (source, id, account_id, type, ts, props)
              SELECT 'backend', 'hist' || a || '_' || g, 'h' || a,
                     'ticket.created', now() - g * interval '1 day',
                     jsonb_build_object('ticket_id', 't' || a || '_' || g)
              FROM generate_series(1, %(n)d) a,
                   generate_series(1, 10) g;
            ANALYZE;
        """ % {"n": naccounts, "days": days}, timeout=300)
        rows = int(sql(d.db, "SELECT (SELECT count(*) FROM rollup_daily) + "
                       "(SELECT count(*) FROM rollup_seen) + "
                       "(SELECT count(*) FROM events)")[0][0])
        check(rows > 8 * 20000, "history too small to page: %d rows" % rows)
        t0 = time.monotonic()
        d.start(timeout=120)
        took = time.monotonic() - t0
        eq(_deadline_hits(d), 0, "connections lost while loading (%.1f s)"
           % took)
        check(re.search(r"ready accounts=%d\b" % naccounts, d.log()),
              "not every account loaded:\n" + d.log_tail())
        st, _, acct = d.request("GET", "/v1/accounts/h7", token="reader")
        eq(st, 200, "a loaded account")
        eq(sum(acct["windows"]["logins_per_day_90d"]), days,
           "logins of a loaded account")
        eq(int(sql(d.db, "SELECT count(*) FROM snapshot_marks")[0][0]), 64,
           "a watermark for every partition once ready")
        # Again, from the snapshots this time.
        d.restart()
        check("loaded snapshots=%d " % naccounts in d.log(),
              "read from the snapshots:\n" + d.log_tail())
        # The posted event was snapshotted at the clean stop: nothing
        # is left to replay.
        check("replayed=0 " in d.log(), "replayed nothing after a "
              "clean stop:\n" + d.log_tail())
        st, _, acct = d.request("GET", "/v1/accounts/h7", token="reader")
        eq(sum(acct["windows"]["logins_per_day_90d"]), days,
           "logins of an account read from its snapshot")
        # The loaded daemon still ingests.
        _timed_post(d, [ev(account="h7", ts=rfc3339(now - 60))],
                    "ingest after loading", 5)
