"""The crash test: clients post batches concurrently, the daemon is killed
with SIGKILL mid-stream, and after a restart every acknowledged event is
in the events table exactly once, nothing was invented, and the
unacknowledged batches can be re-sent without being stored twice."""

import http.client
import json
import re
import threading
import time

from lib import Daemon, TOKENS, check, eq, lit, scalar, sql, wait_for

THREADS = 4
BATCH = 50
RUN_SECONDS = 1.5


class Poster(threading.Thread):
    def __init__(self, port, k, stop):
        super().__init__(daemon=True)
        self.port = port
        self.k = k
        self.stop = stop
        self.batches = []       # (events, acknowledged)
        self.errors = 0
        self.unexpected = []    # answers that are neither 202 nor failures

    def run(self):
        conn = None
        seq = 0
        while not self.stop.is_set():
            events = [{"id": "crash-%d-%d-%d" % (self.k, seq, i),
                       "account_id": "crash-%d" % (i % 7),
                       "type": "feature_used", "user_id": "u%d" % i,
                       "props": {"feature": "f%d" % (i % 3), "seq": seq}}
                      for i in range(BATCH)]
            seq += 1
            entry = [events, False]
            self.batches.append(entry)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/v1/events", body=json.dumps(events),
                             headers={"Content-Type": "application/json",
                                      "Authorization": "Bearer " +
                                      TOKENS["backend"]})
                r = conn.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException):
                self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                if self.stop.is_set():
                    break
                time.sleep(0.05)
                continue
            if r.status == 202:
                body = json.loads(raw)
                if (body.get("accepted", 0) + body.get("duplicates", 0) ==
                        BATCH and body.get("rejected") == []):
                    entry[1] = True
                else:
                    self.unexpected.append((r.status, body))
            else:
                # 503 while the daemon is busy is allowed (retry later);
                # anything else is a bug.
                if r.status != 503:
                    self.unexpected.append((r.status, raw[:200]))
        if conn is not None:
            conn.close()


def _stored(db):
    return dict(sql(db, "SELECT id, account_id FROM events "
                    "WHERE source = 'backend'"))


def test_sigkill_mid_stream_loses_nothing_acknowledged():
    with Daemon() as d:
        stop = threading.Event()
        posters = [Poster(d.port, k, stop) for k in range(THREADS)]
        for p in posters:
            p.start()
        time.sleep(RUN_SECONDS)
        d.kill()                        # SIGKILL while requests fly
        stop.set()
        for p in posters:
            p.join(30)
            check(not p.is_alive(), "a client thread hangs")

        batches = [b for p in posters for b in p.batches]
        unexpected = [u for p in posters for u in p.unexpected]
        check(not unexpected, "unexpected answers: %r" % unexpected[:3])
        acked = {e["id"]: e["account_id"] for evs, ok in batches if ok
                 for e in evs}
        sent = {e["id"]: e["account_id"] for evs, _ in batches for e in evs}
        unacked = [evs for evs, ok in batches if not ok]
        check(len(acked) >= BATCH,
              "too few batches acknowledged before the kill (%d events) for "
              "the test to mean anything" % len(acked))

        # Let the killed daemon's PostgreSQL backend finish what it was
        # running (a commit may still land) before looking at the table.
        wait_for(lambda: scalar(d.db, "SELECT count(*) FROM "
                                "pg_stat_activity WHERE datname = %s AND "
                                "pid <> pg_backend_pid()" % lit(d.db)) ==
                 "0", 15, what="the killed daemon's backend to exit")
        d.start()                       # same database, after the crash
        stored = _stored(d.db)
        missing = [i for i in acked if i not in stored]
        check(not missing, "%d acknowledged events lost after SIGKILL, "
              "e.g. %s" % (len(missing), missing[:5]))
        invented = [i for i in stored if i not in sent]
        check(not invented, "events stored that were never sent: %s" %
              invented[:5])
        wrong = [i for i in stored if stored[i] != sent[i]]
        check(not wrong, "stored with the wrong account: %s" % wrong[:5])
        twice = sql(d.db, "SELECT source, id, count(*) FROM events "
                    "GROUP BY source, id HAVING count(*) <> 1")
        eq(twice, [], "keys stored more than once")
        n = d.count()
        check(n <= len(sent), "%d rows for %d events sent" % (n, len(sent)))
        check(n >= len(acked), "%d rows for %d acknowledged" % (n,
                                                                len(acked)))

        # Clients retry what was not acknowledged: accepted or duplicate,
        # never stored twice.
        fresh = dups = 0
        for evs in unacked:
            st, _, body = d.post(evs)
            eq(st, 202, "resend of an unacknowledged batch (%r)" % (body,))
            eq(body["accepted"] + body["duplicates"], BATCH,
               "accepted + duplicates of a resent batch")
            eq(body["rejected"], [], "rejected of a resent batch")
            fresh += body["accepted"]
            dups += body["duplicates"]
        stored = _stored(d.db)
        eq(len(stored), len(sent), "rows after the resend (all sent ids)")
        eq(set(stored), set(sent), "ids after the resend")
        eq(d.count(), len(sent), "rows in events after the resend")
        eq(fresh, len(sent) - n, "events newly accepted by the resend")
        # Committed-but-unanswered batches show up as duplicates; they are
        # the only ones allowed to.
        check(dups <= len(unacked) * BATCH, "duplicates %d" % dups)


def test_sigterm_mid_stream_drains():
    """SIGTERM while clients post: exit status 0, and every acknowledged
    event is stored (in-flight requests are finished, not dropped), and
    the windows are stored as snapshots before the exit: with passes an
    hour apart, the next start replays nothing and counts every event."""
    with Daemon(database={"snapshot_interval": "1h"}) as d:
        stop = threading.Event()
        posters = [Poster(d.port, k, stop) for k in range(THREADS)]
        for p in posters:
            p.start()
        time.sleep(1.0)
        try:
            d.stop()                # SIGTERM; asserts exit 0, clean log
        finally:
            stop.set()
            for p in posters:
                p.join(30)
        batches = [b for p in posters for b in p.batches]
        unexpected = [u for p in posters for u in p.unexpected]
        check(not unexpected, "unexpected answers: %r" % unexpected[:3])
        acked = {e["id"] for evs, ok in batches if ok for e in evs}
        sent = {e["id"] for evs, _ in batches for e in evs}
        check(len(acked) >= BATCH, "too few batches acknowledged (%d "
              "events)" % len(acked))
        stored = set(_stored(d.db))
        missing = acked - stored
        check(not missing, "%d acknowledged events lost by a graceful stop, "
              "e.g. %s" % (len(missing), sorted(missing)[:5]))
        check(stored <= sent, "events stored that were never sent")
        d.start()
        check(re.search(r"loaded snapshots=\d+ replayed=0 ", d.log()),
              "a start after a clean stop replays nothing:\n" +
              d.log_tail(20))
        for acct, users in sql(d.db, "SELECT account_id, count(DISTINCT "
                               "user_id) FROM events GROUP BY 1"):
            st, _, body = d.request("GET", "/v1/accounts/" + acct,
                                    token="reader")
            eq(st, 200, "GET %s" % acct)
            eq(body["windows"]["active_users_7d"], int(users),
               "%s: active users after the restart" % acct)
