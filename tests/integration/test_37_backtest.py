"""Backtest and signal quality (issue 12, SPEC 9 and 2.8).

A generated year of history -- 300 accounts, known churns, contractions
and renewals, stories planted a known number of days before each outcome,
and noise -- goes in through the API of a running daemon.  Then:

- `churnwatchd --backtest` reports exactly the counts, lead times and
  precision the generator planted, and a threshold change in the new
  config changes the would-have-fired list exactly as planted;
- it changes nothing in the database: it runs in read-only sessions
  (PGOPTIONS default_transaction_read_only, so a write would fail it) and
  pg_stat_database counts no row inserted, updated or deleted while it
  runs (with the daemon stopped);
- a daemon that lives through 40 days (libfaketime moves its wall clock:
  a sweep just after midnight, as its periodic sweep would run, then the
  day's events posted in the afternoon) raised the very alerts that a backtest of the same days with
  the same config says it would have raised.
"""

import json
import os
import subprocess
import tempfile
import time

from lib import (Daemon, check, check_sanitizer_output, cw_bin, eq,
                 http_request, rfc3339, sql, uid)

DAY = 86400
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
TODAY = int(time.time()) // DAY
UNTIL = TODAY - 1               # whole days only
SINCE = UNTIL - 364             # a year
N_QUIET = 150

HISTORY_CONFIG = """
[alerts]
settle = 1s
"""

# Churned accounts' stories: churn_intent lead times (days before the
# churn), a competitor poc 25 days before, or nothing at all.
INTENT_LEADS = [10, 20, 30, 45, 60]


def day_str(d):
    return time.strftime("%Y-%m-%d", time.gmtime(d * DAY))


def plan():
    """The planted history: (events, expectations)."""
    evs = []

    def at(day, acct, type, hour=9, user=None, **props):
        e = {"id": uid("h"), "account_id": acct, "type": type,
             "ts": rfc3339(day * DAY + hour * 3600)}
        if user:
            e["user_id"] = user
        if props:
            e["props"] = props
        evs.append(e)

    def logins(acct, first, last):
        for d in range(first, last + 1):
            at(d, acct, "login", user="u1")

    def intent(day, acct):
        at(day, acct, "ticket.created", hour=10, ticket_id=uid("t"),
           subject="Please cancel our subscription")

    def competitor(day, acct, kind, n=1):
        for _ in range(n):
            at(day, acct, "competitor.signal", hour=11,
               competitor="rival", kind=kind)

    start = SINCE - 10
    leads = []
    for k in range(40):                 # churned
        acct = "ch-%02d" % k
        c = SINCE + 120 + 5 * k
        logins(acct, start, c)
        if k < 20:
            lead = INTENT_LEADS[k % 5]
            intent(c - lead, acct)
            leads.append(lead)
        elif k < 30:
            competitor(c - 25, acct, "poc")
        at(c, acct, "account.churned", hour=12, reason="budget")
    for k in range(10):                 # contracted
        acct = "co-%02d" % k
        o = SINCE + 200 + 3 * k
        logins(acct, start, UNTIL)
        if k < 5:
            intent(o - 15, acct)
        at(o, acct, "account.contracted", hour=12, seats_before=50,
           seats_after=30)
    for k in range(100):                # renewed
        acct = "re-%03d" % k
        r = SINCE + 100 + 2 * k
        logins(acct, start, UNTIL)
        if k < 10:
            intent(r - 40, acct)        # noise: renewed all the same
        elif k < 15:
            competitor(r - 50, acct, "poc")
        at(r, acct, "account.renewed", hour=12)
    for k in range(N_QUIET):            # no outcome yet
        acct = "qu-%03d" % k
        logins(acct, start, UNTIL)
        if k < 5:
            intent(SINCE + 50 + 30 * k, acct)
        elif k < 13:                    # 3 mentions: fire at min 3
            competitor(SINCE + 60 + 10 * k, acct, "mention", 3)
        elif k < 19:                    # 2 mentions: only at min 2
            competitor(SINCE + 60 + 10 * k, acct, "mention", 2)
    return evs, sorted(leads)


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


LAST = {}


def backtest(d, extra="", since=SINCE, until=UNTIL, fmt="json",
             within=None, extra_args=()):
    """Run churnwatchd --backtest with d's config plus extra, its sessions
    read-only; returns the parsed JSON (or the text), its stderr in
    LAST["stderr"]."""
    path = os.path.join(d.dir, "new-%s.conf" % uid("c"))
    with open(path, "w") as f:
        f.write(d.config_text() + extra + "\n")
    cmd = [cw_bin(), "--config", path, "--backtest", "--since",
           day_str(since), "--until", day_str(until), "--format", fmt]
    if within is not None:
        cmd += ["--within", str(within)]
    cmd += list(extra_args)
    env = dict(d.env)
    env["PGOPTIONS"] = "-c default_transaction_read_only=on"
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=300)
    eq(p.returncode, 0, "backtest exit status (stderr %r)" % p.stderr)
    LAST["stderr"] = p.stderr.decode(errors="replace")
    check_sanitizer_output(LAST["stderr"], "backtest")
    out = p.stdout.decode()
    return json.loads(out) if fmt == "json" else out


def row(report, signal):
    for r in report["quality"]["signals"]:
        if r["signal"] == signal:
            return r
    raise AssertionError("no row for %s" % signal)


def opened(report, signal, key="would_fire"):
    return sorted((a["account_id"], a["opened"], a["resolved"])
                  for a in report[key] if a["signal"] == signal)


def db_state(db):
    """What a reader must never change."""
    return sql(db, "SELECT (SELECT count(*) FROM events),"
               " (SELECT count(*) FROM alerts),"
               " (SELECT coalesce(max(updated_at)::text, '') FROM alerts),"
               " (SELECT count(*) FROM notifications),"
               " (SELECT count(*) FROM health_daily),"
               " (SELECT count(*) FROM accounts),"
               " (SELECT count(*) FROM coverage)")


def tuple_stats(db):
    """Rows inserted, updated and deleted in db as pg_stat_database counts
    them, once two reads agree (a backend's counts reach it when its
    transaction ends or it exits)."""
    q = ("SELECT tup_inserted, tup_updated, tup_deleted"
         " FROM pg_stat_database WHERE datname = current_database()")
    last = None
    for _ in range(100):
        cur = sql(db, q)[0]
        if cur == last:
            return cur
        last = cur
        time.sleep(0.3)
    raise AssertionError("pg_stat_database never settled: %r" % (cur,))


def quiet_state(d):
    """db_state once the daemon has settled (two equal reads)."""
    last = None
    for _ in range(120):
        cur = db_state(d.db)
        if cur == last:
            return cur
        last = cur
        time.sleep(1)
    raise AssertionError("the daemon never settled: %r" % (cur,))


def post_all(d, evs, n=10000):
    for i in range(0, len(evs), n):
        st, _, body = d.post(evs[i:i + n])
        eq(st, 202, "history: %r" % (body,))
        eq(body["accepted"], len(evs[i:i + n]), "all accepted")


def test_planted_history():
    evs, leads = plan()
    d = Daemon(extra=HISTORY_CONFIG,
               server={"max_body_bytes": 16 * 1024 * 1024})
    with d:
        post_all(d, evs)
        before = quiet_state(d)
        r = backtest(d)
        eq(db_state(d.db), before, "the backtest changed nothing")
        # The year's warm-up (180 days before since) reaches past the
        # horizon (400 days): said loudly.
        check("WARNING: the windows of the first days are not full"
              in LAST["stderr"] and "horizon_days (400 days)"
              in LAST["stderr"], "horizon warning: %r" % LAST["stderr"])
        # With the daemon stopped, nothing else writes: no row of the
        # database is inserted, updated or deleted by the backtests
        # below.  Vacuumed and analyzed first so that autovacuum has
        # nothing left to do meanwhile.
        d.stop()
        sql(d.db, "VACUUM ANALYZE")
        stats = tuple_stats(d.db)

        q = r["quality"]
        eq(r["accounts"], 300, "accounts replayed")
        eq(q["accounts"], 300, "population")
        eq(q["outcomes"], {"churned": 40, "contracted": 10,
                           "renewed": 100}, "outcomes")
        check(abs(q["base_churn_rate"] - 40 / 300) < 1e-9, "base rate")

        ci = row(r, "churn_intent")
        eq(ci["churned"]["count"], 20, "churn_intent caught churns")
        eq(ci["churned"]["of"], 40, "of")
        eq(ci["median_lead_days"], median(leads), "churn_intent lead")
        eq(ci["contracted"]["count"], 5, "churn_intent contractions")
        eq(ci["fired"], 40, "churn_intent fired for")
        eq(ci["then"], {"churned": 20, "contracted": 5, "renewed": 10,
                        "no_outcome": 5}, "churn_intent outcomes")
        check(abs(ci["precision"] - 0.5) < 1e-9, "precision 20/40")
        check(abs(ci["lift"] - 0.5 / (40 / 300)) < 1e-9, "lift")

        ce = row(r, "competitor_exposure")
        eq(ce["churned"]["count"], 10, "poc caught churns")
        eq(ce["median_lead_days"], 25, "poc lead")
        eq(ce["fired"], 23, "10 churned + 5 renewed + 8 mentions")
        eq(ce["then"], {"churned": 10, "contracted": 0, "renewed": 5,
                        "no_outcome": 8}, "competitor outcomes")

        # Nothing made anyone yellow before they left.
        eq(q["green_before_churn"], {"days_30": {"green": 40, "known": 40},
                                     "days_90": {"green": 40,
                                                 "known": 40}},
           "still green before the churn")
        eq(row(r, "status not green")["churned"]["count"], 0,
           "the health status caught no churn")
        # The best leading signal comes first.
        eq(q["signals"][0]["signal"], "churn_intent", "first row")

        # Would-have-fired list: one churn_intent alert per planted
        # ticket, opened that day, resolved the day after its 30 days.
        ci_alerts = opened(r, "churn_intent")
        eq(len(ci_alerts), 40, "churn_intent alerts")
        # The ticket's 30 days end at midnight; the alert resolves
        # resolve_after (1 h) later, that same day, as in the daemon.
        c0 = SINCE + 120
        eq(("ch-00", day_str(c0 - 10), day_str(c0 - 10 + 30)),
           [a for a in ci_alerts if a[0] == "ch-00"][0], "ch-00's alert")
        per = {p["signal"]: p for p in r["per_signal"]}
        eq(per["churn_intent"]["would_fire"], 40, "per signal")
        # The daemon took the history as a back-fill today: none of its
        # alerts opened within these days.
        eq(per["churn_intent"]["fired"], 0, "in force, within the days")

        # A threshold change does exactly what was planted: min_signals
        # 4 drops the 8 three-mention alerts, 2 adds the 6 two-mention
        # ones; nothing else moves.
        base = opened(r, "competitor_exposure")
        three = {"qu-%03d" % k for k in range(5, 13)}
        two = {"qu-%03d" % k for k in range(13, 19)}
        eq(len(base), 23, "competitor alerts at min_signals 3")
        r4 = backtest(d, "[signal:competitor_exposure]\nmin_signals = 4\n")
        eq(opened(r4, "competitor_exposure"),
           [a for a in base if a[0] not in three], "min_signals 4")
        r2 = backtest(d, "[signal:competitor_exposure]\nmin_signals = 2\n")
        got2 = opened(r2, "competitor_exposure")
        eq([a for a in got2 if a[0] not in two], base, "min 2 keeps all")
        eq(sorted({a[0] for a in got2 if a[0] in two}), sorted(two),
           "min 2 adds the two-mention accounts")
        eq(len(got2), 23 + 6, "min_signals 2")
        others = [a for a in r["would_fire"]
                  if a["signal"] != "competitor_exposure"]
        eq([a for a in r4["would_fire"]
            if a["signal"] != "competitor_exposure"], others,
           "other signals unchanged at 4")
        eq(row(r4, "competitor_exposure")["fired"], 15, "fired at 4")

        # The text for people: the table, best first, counts for small
        # numbers.
        t = backtest(d, fmt="text")
        lines = t.splitlines()
        hdr = [i for i, ln in enumerate(lines) if ln.startswith("signal ")]
        eq(len(hdr), 1, "one quality table: %s" % t)
        first = lines[hdr[0] + 1].split()
        eq(first[:3], ["churn_intent", "20/40", "(50%)"], "first row")
        check("Still green before they churned: 40/40 (100%)" in t,
              "still green line: %s" % t)
        eq(db_state(d.db), before, "still nothing changed")
        eq(tuple_stats(d.db), stats, "no row inserted, updated or deleted")


def test_bad_arguments():
    d = Daemon()
    path = d.write_config()
    for args, what in [
            (["--backtest"], "no --since"),
            (["--backtest", "--since", "yesterday"], "bad date"),
            (["--backtest", "--since", "2026-13-01"], "bad month"),
            (["--backtest", "--since", day_str(TODAY - 5), "--until",
              day_str(TODAY - 9)], "since after until"),
            (["--backtest", "--since", day_str(TODAY - 5), "--until",
              day_str(TODAY + 3)], "until in the future"),
            (["--backtest", "--since", day_str(TODAY - 5), "--format",
              "xml"], "bad format"),
            (["--backtest", "--since", day_str(TODAY - 5), "--within",
              "0"], "within 0"),
            (["--backtest", "--since", day_str(TODAY - 401)],
             "since beyond the horizon (retention deleted it)"),
            (["--since", day_str(TODAY - 5)], "--since without backtest")]:
        p = subprocess.run([cw_bin(), "--config", path] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        eq(p.returncode, 2, what)
        eq(p.stdout, b"", what + ": nothing on stdout")
        check(p.stderr.strip() != b"", what + ": a message")


# ---- the daemon and the backtest agree ----

AGREE_CONFIG = """
[alerts]
settle = 0s
backfill_age = 3d

[signals]
interval = 1
"""
AGREE_DAYS = 40


def agree_history(day0):
    """Per day k (0..AGREE_DAYS-1): the events of day0 + k."""
    out = []
    for k in range(AGREE_DAYS):
        d = day0 + k
        evs = []

        def at(acct, type, hour, user=None, **props):
            e = {"id": uid("a"), "account_id": acct, "type": type,
                 "ts": rfc3339(d * DAY + hour * 3600)}
            if user:
                e["user_id"] = user
            if props:
                e["props"] = props
            evs.append(e)

        for i in range(30):
            acct = "ag-%02d" % i
            # Every account hears something every day.
            at(acct, "note", 8, text="weekly sync, all fine")
            if not (i < 5 and k >= 20):         # 0..4 stop logging in
                at(acct, "login", 9, user="u%d" % (i % 3))
            if 5 <= i < 10 and k == 5:
                at(acct, "ticket.created", 10, ticket_id=uid("t"),
                   subject="we will cancel the contract")
            if 10 <= i < 15 and k == 8 + i - 10:
                at(acct, "competitor.signal", 11, competitor="rival",
                   kind="poc")
            if 15 <= i < 20 and k in (12, 13, 14):
                at(acct, "touchpoint", 12, kind="call")
            # Outcomes: three intent accounts churn, two renew; a poc
            # account contracts; the first absent one churns late.
            if i in (5, 6, 7) and k == 25:
                at(acct, "account.churned", 13)
            if i in (8, 9) and k == 30:
                at(acct, "account.renewed", 13)
            if i == 10 and k == 20:
                at(acct, "account.contracted", 13)
            if i == 0 and k == 38:
                at(acct, "account.churned", 13)
        out.append(evs)
    return out


def evaluations(d):
    """churnwatch_evaluation_seconds_count from /metrics."""
    st, _, body = http_request(d.port, "GET", "/metrics", token=None)
    eq(st, 200, "metrics")
    text = body if isinstance(body, str) else body.decode()
    for ln in text.splitlines():
        if ln.startswith("churnwatch_evaluation_seconds_count"):
            return int(float(ln.split()[-1]))
    return 0


def test_daemon_and_backtest_agree():
    check(os.path.exists(FAKETIME_LIB), "libfaketime is installed "
          "(tools/deps installs the faketime package)")
    day0 = TODAY - AGREE_DAYS
    days = agree_history(day0)
    tdir = tempfile.mkdtemp(prefix="cwbt-")
    stamp = os.path.join(tdir, "faketime")

    def clock(day, hhmm):
        # A stopped wall clock (timers run on the monotonic one).
        with open(stamp, "w") as f:
            f.write(time.strftime("%Y-%m-%d " + hhmm + ":00\n",
                                  time.gmtime(day * DAY)))

    def sweep(k):
        # A whole sweep (every second) evaluates all 30 accounts at the
        # clock's time.
        e1 = evaluations(d)
        for _ in range(600):
            if evaluations(d) >= e1 + 30:
                break
            time.sleep(0.05)
        check(evaluations(d) >= e1 + 30, "a sweep on day %d" % k)

    clock(day0, "14:00")
    d = Daemon(extra=AGREE_CONFIG)
    d.env["LD_PRELOAD"] = FAKETIME_LIB
    d.env["FAKETIME_TIMESTAMP_FILE"] = stamp
    d.env["FAKETIME_NO_CACHE"] = "1"
    d.env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    d.env["ASAN_OPTIONS"] = (d.env.get("ASAN_OPTIONS", "") +
                             ":verify_asan_link_order=0").lstrip(":")
    with d:
        for k, evs in enumerate(days):
            if k > 0:
                # The periodic sweep just after midnight, before the
                # day's events: windows expired, signals go inactive.
                clock(day0 + k, "00:05")
                sweep(k)
            # The afternoon: the day's events (08:00 to 13:00); the post
            # evaluates its accounts, then a sweep all 30 again (more
            # than resolve_after, 1 h, after the night's: what went
            # inactive then resolves today), storing the day's scores.
            clock(day0 + k, "14:00")
            st, _, body = d.post(evs)
            eq(st, 202, "day %d: %r" % (k, body))
            eq(body["accepted"], len(evs), "day %d accepted" % k)
            sweep(k)
        quiet_state(d)
        raised = sorted(
            (r[0], r[1], r[2], r[3]) for r in sql(
                d.db, "SELECT account_id, signal,"
                " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
                " to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                " FROM alerts WHERE account_id <> ''"))
        check(len(raised) >= 30, "the stories fired: %r" % (raised,))
        sigs = {r[1] for r in raised}
        check({"churn_intent", "competitor_exposure", "login_absent"} <=
              sigs, "signals raised: %r" % sigs)
        check(any(r[1] == "churn_intent" and r[3] is not None
                  for r in raised), "some resolved: %r" % (raised,))

        d.env.pop("LD_PRELOAD")         # the backtest runs in real time;
        # d.config_text() is the config in force (AGREE_CONFIG in it).
        r = backtest(d, since=day0,
                     until=day0 + AGREE_DAYS - 1)
        would = sorted((a["account_id"], a["signal"], a["opened"],
                        a["resolved"]) for a in r["would_fire"])
        eq(would, raised, "the backtest says what the daemon raised")
        # Whatever part of those days the daemon's usage rollup holds
        # (it rolls a day up once its clock has passed it), reading
        # only raw events gives the same.
        raw = backtest(d, since=day0, until=day0 + AGREE_DAYS - 1,
                       extra_args=["--raw"])
        eq(sorted((a["account_id"], a["signal"], a["opened"],
                   a["resolved"]) for a in raw["would_fire"]), raised,
           "--raw says it too")
        eq(raw["quality"], r["quality"], "the same report")
        check(all(a["in_both"] for a in r["would_fire"] + r["fired"]),
              "every alert paired with the stored one")
        eq(r["quality"]["outcomes"], {"churned": 4, "contracted": 1,
                                      "renewed": 2}, "outcomes")
        eq(r["quality"]["signals"][0]["signal"], "churn_intent",
           "the best leading signal")
        eq(r["quality"]["signals"][0]["churned"]["count"], 3, "caught")
        eq(r["quality"]["signals"][0]["median_lead_days"], 20, "lead")

        # The report endpoint over what the daemon stored (alerts,
        # outcomes, daily scores) says what the backtest says.
        st, _, body = d.request(
            "GET", "/v1/reports/signal-quality?since=%s&until=%s&within=90"
            % (day_str(day0), day_str(day0 + AGREE_DAYS - 1)),
            token="reader")
        eq(st, 200, "report: %r" % (body,))
        eq(body, r["quality"], "stored history and replay agree")


# 40 days lived through under libfaketime: ~80 s here, twice that and
# more under the sanitizers on a busy machine.
test_daemon_and_backtest_agree.timeout = 480


def test_stored_coverage():
    """The replay's data coverage is the daemon's: the stored coverage
    rows (which outlive retention), not only what it replays."""
    d = Daemon()
    with d:
        evs = []
        for acct in ("cv-old", "cv-new"):
            for day in range(TODAY - 25, TODAY):
                evs.append({"id": uid("cv"), "account_id": acct,
                            "type": "login", "user_id": "u1",
                            "ts": rfc3339(day * DAY + 9 * 3600)})
        post_all(d, evs)
        quiet_state(d)
        # Retention deleted what the store had learnt from: touchpoints
        # since 300 days ago, cv-old's events since then.
        for kind, key in (("c", "engagement"), ("a", "cv-old")):
            sql(d.db, "INSERT INTO coverage VALUES ('%s', '%s',"
                " current_date - 300) ON CONFLICT (kind, key) DO UPDATE"
                " SET day = excluded.day" % (kind, key))
        r = backtest(d, since=TODAY - 10, until=TODAY - 1)
        # No touchpoint for 30 days, with engagement data for 300: cv-old
        # has been there long enough; cv-new's first event was 25 days
        # ago.
        eq([a["account_id"] for a in r["would_fire"]
            if a["signal"] == "no_touch"], ["cv-old"],
           "no_touch from the stored coverage: %r" % (r["would_fire"],))


def test_before_the_range():
    """The report sees the alerts of the within days before since, and
    an account that left before since is gone, not "no outcome"."""
    since, until = TODAY - 30, TODAY - 1
    evs = []

    def at(acct, day, type, hour=9, user=None, **props):
        e = {"id": uid("pr"), "account_id": acct, "type": type,
             "ts": rfc3339(day * DAY + hour * 3600)}
        if user:
            e["user_id"] = user
        if props:
            e["props"] = props
        evs.append(e)

    for day in range(since - 100, until + 1):
        at("pr-early", day, "login", user="u1")
        at("pr-other", day, "login", user="u1")
        if day <= since - 60:
            at("pr-gone", day, "login", user="u1")
    # churn_intent fires 40 days before since, for 30 days: over before
    # the range, 60 days before the churn.
    at("pr-early", since - 40, "ticket.created", hour=10,
       ticket_id=uid("t"), subject="Please cancel our subscription")
    at("pr-early", since + 20, "account.churned", hour=12)
    # pr-gone left 60 days before since; then its logins stop.
    at("pr-gone", since - 60, "account.churned", hour=12)
    d = Daemon()
    with d:
        post_all(d, evs)
        quiet_state(d)
        r = backtest(d, since=since, until=until)
    ci = row(r, "churn_intent")
    eq((ci["churned"]["count"], ci["median_lead_days"], ci["fired"]),
       (1, 60, 1), "the alert before the range caught the churn")
    eq(opened(r, "churn_intent"), [], "not listed: over before since")
    eq([(a["account_id"], a["firing_at_start"]) for a in r["would_fire"]
        if a["signal"] == "login_absent"], [("pr-gone", True)],
       "pr-gone's logins stopped: login_absent fires")
    la = row(r, "login_absent")
    eq((la["fired"], la["then"]["no_outcome"]), (0, 0),
       "pr-gone's absence after it left counts for nothing: %r" % (la,))
    eq(r["quality"]["outcomes"]["churned"], 1, "only the range's churns")


def test_report_params_and_movers():
    d = Daemon()
    with d:
        for path, what in [
                ("/v1/reports/signal-quality?since=yesterday", "bad since"),
                ("/v1/reports/signal-quality?until=2026-02-30", "bad until"),
                ("/v1/reports/signal-quality?until=%s" % day_str(TODAY + 2),
                 "until in the future"),
                ("/v1/reports/signal-quality?since=%s&until=%s" % (
                    day_str(TODAY - 3), day_str(TODAY - 5)),
                 "since after until"),
                ("/v1/reports/signal-quality?since=%s" % day_str(
                    TODAY - 900), "range too long"),
                ("/v1/reports/signal-quality?within=0", "within 0"),
                ("/v1/reports/signal-quality?within=401", "within 401"),
                ("/v1/reports/signal-quality?within=9x", "within 9x"),
                ("/v1/reports/movers?days=0", "days 0"),
                ("/v1/reports/movers?days=401", "days 401"),
                ("/v1/reports/movers?days=-3", "days -3")]:
            st, _, body = d.request("GET", path, token="reader")
            eq(st, 400, what)
            eq(body["error"], "invalid_query", what)
            check(body["message"], what + ": a message")
        st, _, body = d.request("GET", "/v1/reports/movers", token=None)
        eq(st, 401, "no token")
        st, _, body = d.request("GET", "/v1/reports/movers",
                                token="backend")
        eq(st, 403, "ingest scope")

        # An empty history: an empty report, not an error.
        st, _, body = d.request("GET", "/v1/reports/signal-quality",
                                token="reader")
        eq(st, 200, "empty report: %r" % (body,))
        eq(body["outcomes"], {"churned": 0, "contracted": 0, "renewed": 0},
           "no outcomes")
        eq(body["until"], day_str(TODAY), "until defaults to today")
        eq(body["since"], day_str(TODAY - 364), "since: a year before")

        # Movers: scores and alerts as the daemon stores them, for
        # accounts it does not hold (it never rewrites them).
        def score(acct, ago, sc):
            sql(d.db, "INSERT INTO health_daily VALUES ('%s', "
                "current_date - %d, %d)" % (acct, ago, sc))

        ids = iter(range(10 ** 12, 10 ** 12 + 100))

        def alert(acct, signal, started, resolved):
            sql(d.db, "INSERT INTO alerts (id, account_id, signal, category,"
                " fingerprint, state, severity, started_at, resolved_at)"
                " VALUES (%d, '%s', '%s', 'usage', 'f', '%s', 'warning',"
                " now() - interval '%d days', %s)" % (
                    next(ids), acct,
                    signal, "resolved" if resolved is not None else
                    "firing", started, "NULL" if resolved is None else
                    "now() - interval '%d days'" % resolved))

        sql(d.db, "INSERT INTO accounts (id, name) VALUES "
            "('mv-up', 'Up Inc')")
        score("mv-up", 31, 30)          # before then: ignored
        score("mv-up", 30, 40)
        score("mv-up", 2, 85)
        score("mv-up", 1, 85)
        alert("mv-up", "login_absent", 40, 10)          # went
        alert("mv-up", "no_touch", 50, 45)              # long gone
        score("mv-down", 33, 100)       # within the week before then
        score("mv-down", 0, 55)
        alert("mv-down", "churn_intent", 5, None)       # came
        alert("mv-down", "ticket_velocity", 35, None)   # stayed
        alert("mv-down", "login_decline", 20, 3)        # came and went
        score("mv-worse", 30, 90)
        score("mv-worse", 0, 20)
        score("mv-same", 30, 70)
        score("mv-same", 0, 70)
        score("mv-new", 3, 10)          # no score then: not a mover

        st, _, body = d.request("GET", "/v1/reports/movers?days=30",
                                token="reader")
        eq(st, 200, "movers: %r" % (body,))
        eq(body["days"], 30, "days")
        eq(body["since"], day_str(TODAY - 30), "since")
        eq([(m["account_id"], m["score_then"], m["score_now"], m["change"])
            for m in body["better"]], [("mv-up", 40, 85, 45)], "better")
        up = body["better"][0]
        eq((up["name"], up["status_then"], up["status_now"]),
           ("Up Inc", "yellow", "green"), "named, with statuses")
        eq((up["signals_came"], up["signals_went"]), ([], ["login_absent"]),
           "what went")
        eq([(m["account_id"], m["change"]) for m in body["worse"]],
           [("mv-worse", -70), ("mv-down", -45)], "worse, worst first")
        down = body["worse"][1]
        eq((down["signals_came"], down["signals_went"]),
           (["churn_intent"], []), "what came")
        st, _, body = d.request("GET", "/v1/reports/movers?days=2",
                                token="reader")
        eq(st, 200, "movers 2 days")
        # mv-up's score two days ago equals today's; nobody else has one
        # in the week before then and one after.
        eq(body["better"] + body["worse"], [], "nobody moved in 2 days")

        # The quality report over the same rows: what it cannot name (a
        # retired signal, the portfolio's alerts, an outcome type it does
        # not know) is left out, the rest counted.
        alert("mv-down", "no_such_signal", 4, None)
        sql(d.db, "INSERT INTO alerts (id, account_id, signal, category,"
            " fingerprint, state, severity, started_at) VALUES (%d, '',"
            " 'portfolio', 'usage', 'p', 'firing', 'warning', now())"
            % next(ids))
        sql(d.db, "INSERT INTO events (source, id, account_id, type, ts)"
            " VALUES ('t', 'out-1', 'mv-down', 'account.churned', now()),"
            " ('t', 'out-2', 'mv-up', 'account.renewed', now())")
        st, _, body = d.request("GET", "/v1/reports/signal-quality",
                                token="reader")
        eq(st, 200, "quality over odd rows: %r" % (body,))
        eq(body["outcomes"], {"churned": 1, "contracted": 0, "renewed": 1},
           "outcomes counted")
        names = [s["signal"] for s in body["signals"]]
        check("no_such_signal" not in names and "portfolio" not in names,
              "unknown signals listed: %r" % names)
        ci = [s for s in body["signals"] if s["signal"] == "churn_intent"]
        eq(ci[0]["churned"]["count"], 1, "churn_intent fired for the churn")
