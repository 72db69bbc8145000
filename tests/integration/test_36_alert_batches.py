"""Alert rows are written in transactions of at most 10,000 (issue 11: the
first evaluation of a million accounts raised 475,000 alerts at once, and
one statement of them all outlasted statement_timeout on every retry, so
none was ever stored).  24,000 accounts hold a competitor POC while the
signal is disabled; a reload enables it, and one evaluation sweep fires all
24,000: every alert and every notification is stored, each write holds at
most 10,000 alert rows, and no notification was written before its alert
(the foreign key would refuse it)."""

import os
import re
import signal
import time

from lib import Daemon, check, eq, sql, uid

N = 24000


def poc(acct):
    return {"id": uid("poc"), "account_id": acct, "type": "competitor.signal",
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                time.gmtime(time.time() - 60)),
            "props": {"competitor": "Rivalry", "kind": "poc"}}


CONFIG = """
[signals]
interval = 1

[signal:competitor_exposure]
enabled = %s

[receiver:audit]
type = log

[route:everything]
receivers = audit
"""


def test_many_alerts_at_once_are_stored_in_bounded_writes():
    with Daemon(extra=CONFIG % "false") as d:
        for i in range(0, N, 1000):
            st, _, body = d.post([poc("burst-%05d" % j)
                                  for j in range(i, i + 1000)])
            eq(st, 202, "post: %r" % body)
        time.sleep(2)
        eq(int(sql(d.db, "SELECT count(*) FROM alerts")[0][0]), 0,
           "nothing fired while the signal was disabled")
        d.extra = CONFIG % "true"
        d.write_config()
        os.kill(d.proc.pid, signal.SIGHUP)
        deadline = time.time() + 60
        while time.time() < deadline:
            n = int(sql(d.db, "SELECT count(*) FROM alerts WHERE"
                        " signal = 'competitor_exposure'")[0][0])
            m = int(sql(d.db, "SELECT count(*) FROM notifications")[0][0])
            if n >= N and m >= N:
                break
            time.sleep(0.5)
        eq(n, N, "every account's alert is stored")
        eq(m, N, "every notification is stored")
        writes = [(int(a), int(b)) for a, b in re.findall(
            r"alerting: stored alerts=(\d+) notifications=(\d+)", d.log())]
        check(writes, "the writes are logged")
        print("    alert writes (rows, notifications): %r" % writes)
        eq(sum(a for a, _ in writes), N, "alert rows written, in all")
        eq(sum(b for _, b in writes), N, "notifications written, in all")
        check(max(a for a, _ in writes) <= 10000,
              "each write holds at most 10,000 alert rows: %r" % writes)
        check(10000 in [a for a, _ in writes],
              "one sweep's alerts went in a full write of 10,000: %r"
              % writes)
        check("storing failed" not in d.log(), "no write failed")
