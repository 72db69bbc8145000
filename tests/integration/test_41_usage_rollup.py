"""The daily usage rollup and the backtest (issue 12, 012_usage_daily.sql).

A backtest reads a day's logins and feature uses from usage_daily instead
of every raw row: the rollup the daemon writes in the background, for the
commits it has settled and the days that are over.  Whatever the rollup
covers or not, the answer must be the one the raw events give
(`--backtest --raw` reads only them):

- a history posted through the API, rolled up by the daemon after a
  restart: rollup and raw backtests print the same report, for a config
  whose sweep within the day comes at a round hour and for one at 01:30
  (logins before it are read raw and taken off the rollup);
- then a late back-fill into old days (commits after the mark) and rows
  written by another program (commit_no null): both still read raw, the
  answers still equal; after the next restart the back-fill is rolled up
  too, and they are still equal;
- the rollup holds exactly the usage events it claims (a direct count);
- a rollup that no longer matches the events (a day deleted by hand) is
  refused loudly, not replayed into wrong answers;
- retention keeps rollup days as long as the daily scores (twice the
  horizon) and deletes older ones.
"""

import json
import os
import subprocess
import time

from lib import (Daemon, check, check_sanitizer_output, cw_bin, eq, rfc3339,
                 sql, uid)

DAY = 86400
TODAY = int(time.time()) // DAY
DAYS = 50
DAY0 = TODAY - DAYS
N = 24

CONFIG = """
[alerts]
settle = 1s
"""


def day_str(d):
    return time.strftime("%Y-%m-%d", time.gmtime(d * DAY))


def history():
    """DAYS days of usage (some before 01:30, one account past 255 logins
    a day, feature-only days, features never named twice) and the rarer
    events among them."""
    evs = []

    def at(acct, type, day, secs, user=None, **props):
        e = {"id": uid("h"), "account_id": acct, "type": type,
             "ts": rfc3339(day * DAY + secs)}
        if user is not None:
            e["user_id"] = user
        if props:
            e["props"] = props
        evs.append(e)

    for k in range(DAYS):
        day = DAY0 + k
        for i in range(N):
            acct = "ru-%02d" % i
            if i < 4 and k >= 30:
                continue                # these stop using the product
            if (k + i) % 7 >= 5:
                continue                # weekends
            for j in range(3 + (i * 7 + k) % 9):
                # Some before the night's sweeps (00:10 .. 01:50).
                secs = 600 + j * 2400 + i * 37 if (i + j) % 4 == 0 \
                    else 8 * 3600 + j * 900 + i * 11
                at(acct, "login", day, secs, user="u%d" % ((i + j) % 5))
            if i % 3 == 0:
                at(acct, "feature_used", day, 10 * 3600 + i,
                   user="u%d" % (k % 4), feature="f%d" % ((k + i) % 6))
            if i % 5 == 1:
                # Before midnight's next sweep, and an empty feature.
                at(acct, "feature_used", day, 1200 + i, user="v1",
                   feature="")
            if i == 7 and k % 10 == 3:
                at(acct, "ticket.created", day, 11 * 3600,
                   ticket_id=uid("t"), subject="we plan to cancel")
            if i == 9 and k in (20, 21, 22):
                at(acct, "competitor.signal", day, 12 * 3600,
                   competitor="rival", kind="poc")
        # A feature-only account on odd days.
        if k % 2:
            at("ru-fo", "feature_used", day, 14 * 3600, user="w",
               feature="export")
        # A heavy account: 300 logins on one day (the ring goes wide),
        # 40 of them in the first hour.
        if k == 12:
            for j in range(300):
                at("ru-heavy", "login", day, (j * 90 if j < 40
                                               else 7200 + j * 200),
                   user="h%d" % (j % 12))
        elif k % 3 == 0:
            at("ru-heavy", "login", day, 9 * 3600, user="h1")
    # Two absent accounts come back on one day, before the night's
    # second sweep: at 00:40 (before 01:00) and at 01:15 (before 01:30).
    # That sweep sees it, so login_absent resolves that same day.
    at("ru-03", "login", DAY0 + 47, 2400, user="back")
    at("ru-02", "login", DAY0 + 47, 4500, user="back")
    at("ru-05", "account.churned", DAY0 + 45, 13 * 3600)
    at("ru-06", "account.renewed", DAY0 + 40, 13 * 3600)
    return evs


def backtest(d, raw=False, extra="", expect_rc=0):
    path = os.path.join(d.dir, "bt-%s.conf" % uid("c"))
    with open(path, "w") as f:
        # extra: keys of [alerts] (the daemon's config has the section)
        f.write(d.config_text().replace("settle = 1s\n",
                                        "settle = 1s\n" + extra))
    cmd = [cw_bin(), "--config", path, "--backtest", "--since",
           day_str(DAY0 + 20), "--until", day_str(TODAY - 1),
           "--format", "json"]
    if raw:
        cmd.append("--raw")
        # (checked below: a raw replay reads no rollup)
    env = dict(d.env)
    env["PGOPTIONS"] = "-c default_transaction_read_only=on"
    # Each account's usage windows at the end, in a form that does not
    # depend on arrival order (backtest.c, bt_dump_windows()).
    wpath = path + ".windows"
    env["CW_BACKTEST_WINDOWS"] = wpath
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=300)
    err = p.stderr.decode(errors="replace")
    check_sanitizer_output(err, "backtest")
    eq(p.returncode, expect_rc, "backtest exit status (stderr %r)" % err)
    if expect_rc != 0:
        return err
    r = json.loads(p.stdout.decode())
    with open(wpath) as f:
        r["windows"] = f.read()
    check(r["windows"].count("\n") == r["accounts"], "a line per account")
    if raw:
        eq(r["events_from_rollup"], 0, "--raw reads no rollup")
    return r


def same(r, raw, what):
    """Everything but the timing and where the events came from."""
    a, b = dict(r), dict(raw)
    for k in ("replay_seconds", "events_from_rollup", "config"):
        a.pop(k, None)
        b.pop(k, None)
    eq(a.pop("windows"), b.pop("windows"), what + ": the windows")
    eq(a, b, what)


def rolled_up(d, timeout=60):
    """Wait until the rollup has every settled commit and every day
    before today."""
    for _ in range(int(timeout / 0.2)):
        r = sql(d.db, "SELECT u.commit_no >= coalesce((SELECT"
                " max(commit_no) FROM events), 0), u.day FROM usage_mark u")
        if r and r[0][0] == "t" and int(r[0][1]) == TODAY:
            return
        time.sleep(0.2)
    raise AssertionError("the rollup never caught up: %r" % (r,))


def direct_count(d):
    """The usage events the rollup claims to hold, counted raw."""
    return int(sql(d.db, "SELECT count(*) FROM events e, usage_mark u"
                   " WHERE e.type IN ('login', 'feature_used')"
                   " AND e.account_id <> '' AND e.commit_no IS NOT NULL"
                   " AND e.commit_no <= u.commit_no AND e.ts <"
                   " to_timestamp(u.day * 86400::float8)")[0][0])


def rollup_sum(d):
    return int(sql(d.db, "SELECT coalesce(sum(events), 0)"
                   " FROM usage_daily")[0][0])


NIGHT = "resolve_after = 90m\n"


def test_rollup_equals_raw():
    d = Daemon(extra=CONFIG, server={"max_body_bytes": 8 * 1024 * 1024})
    with d:
        evs = history()
        for i in range(0, len(evs), 5000):
            st, _, body = d.post(evs[i:i + 5000])
            eq(st, 202, "history: %r" % (body,))
        # Before any rollup of these commits: all raw either way.
        r0 = backtest(d)
        eq(r0["events_from_rollup"], 0, "nothing rolled up yet")
        # A restart settles every commit; the rollup job runs at ready.
        d.restart()
        rolled_up(d)
        eq(rollup_sum(d), direct_count(d), "the rollup holds what it says")
        n_days = int(sql(d.db, "SELECT count(DISTINCT day)"
                         " FROM usage_daily")[0][0])
        check(n_days >= DAYS - 2, "days rolled up: %d" % n_days)

        raw = backtest(d, raw=True)
        r = backtest(d)
        same(r, raw, "rollup and raw agree")
        check(r["events_from_rollup"] > r["events"] // 2,
              "mostly from the rollup: %d of %d"
              % (r["events_from_rollup"], r["events"]))
        same(r, r0, "and both are what the first, all-raw replay said")
        check(any(a["signal"] == "login_absent" for a in r["would_fire"]),
              "the quiet accounts fired: %r" % (r["would_fire"],))
        # A sweep at 01:30: the logins before it are read raw and taken
        # off their day's rollup.
        rn = backtest(d, extra=NIGHT)
        same(rn, backtest(d, raw=True, extra=NIGHT),
             "agree with the sweep at 01:30")
        back = day_str(DAY0 + 47)
        absent = {a["account_id"]: a["resolved"] for a in r["would_fire"]
                  if a["signal"] == "login_absent"}
        eq((absent.get("ru-03"), absent.get("ru-02")),
           (back, day_str(DAY0 + 48)), "back before 01:00 / after")
        absent = {a["account_id"]: a["resolved"] for a in rn["would_fire"]
                  if a["signal"] == "login_absent"}
        eq((absent.get("ru-03"), absent.get("ru-02")), (back, back),
           "back before the sweep at 01:30")

        # A late back-fill into old days (commits after the mark), and
        # rows written by another program (no commit_no).
        late = []
        for k in (5, 25, 33):
            for i in (0, 1, 2, 8):
                late.append({"id": uid("late"), "account_id": "ru-%02d" % i,
                             "type": "login", "user_id": "late",
                             "ts": rfc3339((DAY0 + k) * DAY + 1800 + i)})
                late.append({"id": uid("late"), "account_id": "ru-%02d" % i,
                             "type": "feature_used", "user_id": "late2",
                             "props": {"feature": "late-f"},
                             "ts": rfc3339((DAY0 + k) * DAY + 50000)})
        st, _, body = d.post(late)
        eq(st, 202, "back-fill: %r" % (body,))
        sql(d.db, "INSERT INTO events (source, id, account_id, type, ts,"
            " user_id, props) SELECT 'other', 'o' || k || '-' || a,"
            " 'ru-0' || a, 'login', to_timestamp((%d + k) * 86400 + 3000"
            " + a * 5000), 'ext', '{}' FROM generate_series(31, 45) k,"
            " generate_series(0, 3) a" % DAY0)
        r1 = backtest(d)
        same(r1, backtest(d, raw=True), "agree with the back-fill raw")
        check(r1["events"] == r["events"] + len(late) + 60,
              "the new rows count: %d" % r1["events"])
        check(r1 != r, "and they changed the answer")
        d.restart()
        rolled_up(d)
        eq(rollup_sum(d), direct_count(d), "the rollup still holds it all")
        r2 = backtest(d)
        same(r2, r1, "the back-fill rolled up: the same answer")
        # Half the back-fill are logins at 00:30, before the sweep at
        # 01:00: read raw (and taken off the rollup), as before.
        eq(r2["events_from_rollup"], r["events_from_rollup"] + len(late)
           // 2, "the back-fill now comes from the rollup")
        same(backtest(d, extra=NIGHT), backtest(d, raw=True, extra=NIGHT),
             "agree at 01:30 with the back-fill")

        # A rollup that does not match the events is refused.
        d.stop()
        sql(d.db, "DELETE FROM usage_daily WHERE day = %d"
            % (DAY0 + 33))
        err = backtest(d, expect_rc=1)
        check("the usage rollup (usage_daily) does not match the stored"
              " events" in err and "--raw" in err, "refused: %r" % err)
        same(backtest(d, raw=True), r2, "--raw still answers")
        d.start()


def test_rollup_retention():
    d = Daemon(ingest={"retention_interval": 1, "horizon_days": 30})
    with d:
        sql(d.db, "INSERT INTO usage_daily (day, account_id, events, logins,"
            " hours, hour_logins, users, features, last_us) VALUES"
            " (%d, 'old', 1, 1, '{3}', '{1}', '{u}', '{}', 0),"
            " (%d, 'kept', 1, 1, '{3}', '{1}', '{u}', '{}', 0)"
            % (TODAY - 61, TODAY - 59))
        for _ in range(150):
            left = [x[0] for x in sql(d.db, "SELECT account_id FROM"
                                      " usage_daily ORDER BY 1")]
            if left == ["kept"]:
                break
            time.sleep(0.2)
        eq(left, ["kept"], "rollup days older than twice the horizon go")


def test_backfill_while_running():
    """The commits after the mark are read only when one carried a usage
    event of an earlier day (the sending lane notes it); else the mark
    just moves.  Either way the rollup holds exactly what it claims."""
    d = Daemon(extra=CONFIG, database={"rollup_interval": "1s"})
    with d:
        def wait(what):
            rolled_up(d)
            eq(rollup_sum(d), direct_count(d), what)
            return rollup_sum(d)

        def logins(day, n, tag):
            return [{"id": uid(tag), "account_id": "bf-%d" % (i % 3),
                     "type": "login", "user_id": "u%d" % (i % 4),
                     "ts": rfc3339(day * DAY + 3600 + i * 60)}
                    for i in range(n)]

        st, _, body = d.post(logins(TODAY - 5, 30, "a") +
                             logins(TODAY - 4, 30, "b"))
        eq(st, 202, "history: %r" % (body,))
        eq(wait("the history rolled up"), 60, "60 logins")
        # Today's events: not rolled up (the day is not over); the mark
        # moves past their commits without reading them.
        st, _, body = d.post(logins(TODAY, 20, "c"))
        eq(st, 202, "today: %r" % (body,))
        eq(wait("today's commits passed"), 60, "today's are not in it")
        # A back-fill read in the running daemon, no restart.
        st, _, body = d.post(logins(TODAY - 4, 7, "d") +
                             logins(TODAY - 30, 5, "e"))
        eq(st, 202, "back-fill: %r" % (body,))
        eq(wait("the back-fill rolled up"), 72, "and it counts")
        eq(int(sql(d.db, "SELECT count(*) FROM usage_daily WHERE day = %d"
                   % (TODAY - 4))[0][0]), 6,
           "a back-fill adds rows (3 accounts, twice)")
        same(backtest(d), backtest(d, raw=True), "rollup and raw agree")
