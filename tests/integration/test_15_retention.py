"""Retention (SPEC 3): raw events older than the horizon are deleted by
the retention job; newer ones, and everything the windows need, stay."""

import time

from lib import Daemon, check, eq, rfc3339, sql, uid

DAY = 86400


def logins(d):
    st, _, body = d.request("GET", "/v1/accounts/keep", token="reader")
    eq(st, 200, "GET keep: %r" % (body,))
    return sum(body["windows"]["logins_per_day_90d"])


def test_retention_deletes_events_past_the_horizon():
    d = Daemon(ingest={"horizon_days": 5})
    with d:
        old = [{"id": uid("old"), "account_id": "keep", "type": "login",
                "user_id": "u1", "ts": rfc3339(time.time() - 1.5 * DAY)}
               for _ in range(30)]
        new = [{"id": uid("new"), "account_id": "keep", "type": "login",
                "user_id": "u1"} for _ in range(3)]
        st, _, body = d.post(old + new)
        eq((st, body["accepted"]), (202, 33), "posted: %r" % body)
        d.stop()
        # A shorter horizon and a retention run every second.
        d.ingest = {"horizon_days": 1, "retention_interval": 1}
        d.start()
        deadline = time.time() + 15
        while time.time() < deadline:
            n = int(sql(d.db, "SELECT count(*) FROM events")[0][0])
            if n == 3:
                break
            time.sleep(0.2)
        eq(n, 3, "only the events inside the 1-day horizon are left")
        eq(int(sql(d.db, "SELECT count(*) FROM events WHERE id LIKE "
                   "'new%'")[0][0]), 3, "the new ones")
        check("retention: done deleted_events=30" in d.log(),
              "logged: %s" % d.log_tail(5))
        # The windows still count the deleted logins of a day and a
        # half ago -- also after a restart: the snapshots hold them, and
        # retention only deletes events that every snapshot holds.
        eq(logins(d), 33, "logins counted after the deletion")
        d.restart()
        eq(logins(d), 33, "logins counted after a restart")
