"""Bounds on what a client can make churnwatch remember (SPEC 6, issue 9):
one ingest token floods distinct accounts, names, contacts, records,
users and Segment memberships.  Each bound is reached with a clear error
(503, Retry-After, limit_reached naming the [limits] key) before anything
of the refused request is acknowledged, counted in
churnwatch_limit_reached_total{limit}; another token's events for
existing accounts are still served, /healthz stays fast, and every
acknowledged event is stored and counted in the windows, before and
after a restart.  Then the risk list pages through its ordered index
exactly like a full sort."""

import base64
import time

from lib import Daemon, check, eq, ev, expect_error, sql, uid

LIMITS = """
[limits]
max_accounts = 40
max_names = 120
max_contacts_per_account = 60
max_records_per_account = 150
max_users_per_account = 50
max_memberships = 5
"""


def refused(resp, key, what):
    """A bound's refusal: 503, Retry-After, limit_reached naming key."""
    body = expect_error(resp, 503, "limit_reached", what)
    check(resp[1].get("Retry-After") is not None,
          "%s: Retry-After missing" % what)
    check(key in body["message"], "%s: the message names %s: %r" %
          (what, key, body["message"]))


def limit_count(d, key):
    return d.metric('churnwatch_limit_reached_total{limit="%s"}' % key) or 0


def stored(d, ids):
    rows = sql(d.db, "SELECT id FROM events")
    have = set(r[0] for r in rows)
    return [i for i in ids if i in have]


def healthz_fast(d, what):
    t0 = time.monotonic()
    st, _, _ = d.request("GET", "/healthz", token=None)
    dt = time.monotonic() - t0
    eq(st, 200, "healthz (%s)" % what)
    check(dt < 0.5, "healthz took %.3f s (%s)" % (dt, what))


def logins(d, account):
    st, _, a = d.request("GET", "/v1/accounts/" + account, token="reader")
    eq(st, 200, "account %s: %r" % (account, a))
    return sum(a["windows"]["logins_per_day_90d"])


def test_flood_reaches_every_bound():
    with Daemon(extra=LIMITS) as d:
        acked, refused_ids = [], []

        # Another client's accounts exist before the flood.
        steady = [ev(account="steady-%d" % i, user="s") for i in range(3)]
        st, _, body = d.post(steady, token="admin")
        eq(st, 202, "steady accounts: %r" % body)
        acked += [e["id"] for e in steady]

        # Accounts: batches of 10 new ones, then one at a time.
        n_ok = 0
        for size in (10, 10, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1):
            batch = [ev(account="flood-%s" % uid("a"), user="f")
                     for _ in range(size)]
            resp = d.post(batch)
            if resp[0] == 202:
                eq(resp[2]["accepted"], size, "a batch is taken whole")
                acked += [e["id"] for e in batch]
                n_ok += size
            else:
                refused(resp, "max_accounts", "accounts flood")
                refused_ids += [e["id"] for e in batch]
            healthz_fast(d, "during the accounts flood")
        eq(3 + n_ok, 40, "exactly max_accounts accounts were admitted")
        check(limit_count(d, "max_accounts") >= 2, "max_accounts counted")
        # At the bound, events for existing accounts are served, from
        # both tokens.
        one = [ev(account="steady-0", user="s")]
        st, _, body = d.post(one, token="admin")
        eq(st, 202, "another token, existing account: %r" % body)
        more = [ev(account="steady-1", user="s"),
                ev(account="steady-2", user="s")]
        eq(d.post(more, token="admin")[0], 202, "existing accounts served")
        acked += [e["id"] for e in more]
        # A mixed request (one new account) is refused whole.
        mixed = [ev(account="steady-0", user="s"),
                 ev(account="one-too-many", user="s")]
        refused(d.post(mixed, token="admin"), "max_accounts",
                "a request with one new account")
        refused_ids += [e["id"] for e in mixed]
        st, _, _ = d.request("GET", "/v1/accounts/one-too-many",
                             token="reader")
        eq(st, 404, "a refused account is not shown")

        # Names: distinct features on an existing account.
        n_names = 0
        for i in range(20):
            batch = [ev(account="steady-0", type="feature_used", user="s",
                        props={"feature": "feat-%d-%d" % (i, k)})
                     for k in range(10)]
            resp = d.post(batch)
            if resp[0] == 202:
                acked += [e["id"] for e in batch]
                n_names += 10
            else:
                refused(resp, "max_names", "names flood")
                refused_ids += [e["id"] for e in batch]
                break
        check(0 < n_names <= 120, "some names fit, then the bound: %d" %
              n_names)
        check(limit_count(d, "max_names") >= 1, "max_names counted")
        # Known names only: served.
        again = [ev(account="steady-1", type="feature_used", user="s",
                    props={"feature": "feat-0-0"})]
        eq(d.post(again, token="admin")[0], 202, "known names are served")
        acked += [e["id"] for e in again]

        # Users per account: distinct user ids on one account.
        users = [ev(account="steady-2", user="user-%d" % k)
                 for k in range(60)]
        refused(d.post(users), "max_users_per_account", "users flood")
        refused_ids += [e["id"] for e in users]
        users = users[:40]
        for e in users:
            e["id"] = uid()
        eq(d.post(users)[0], 202, "40 users fit")
        acked += [e["id"] for e in users]
        check(limit_count(d, "max_users_per_account") >= 1, "users counted")

        # Records per account: touchpoints are records.
        tps = [ev(account="steady-1", type="touchpoint", user=None,
                  props={"kind": "call"}) for _ in range(100)]
        eq(d.post(tps)[0], 202, "100 records fit")
        acked += [e["id"] for e in tps]
        tps = [ev(account="steady-1", type="touchpoint", user=None,
                  props={"kind": "call"}) for _ in range(60)]
        refused(d.post(tps), "max_records_per_account", "records flood")
        refused_ids += [e["id"] for e in tps]

        # Contacts per account.  The names bound is reached already, so
        # the contact ids reuse the feature names.
        cs = [ev(account="steady-2", type="contact.joined", user=None,
                 props={"contact_id": "feat-%d-%d" % (k // 10, k % 10)})
              for k in range(n_names)]
        resp = d.post(cs)
        if n_names > 60:
            refused(resp, "max_contacts_per_account", "contacts flood")
            refused_ids += [e["id"] for e in cs]
            cs = cs[:60]
            for e in cs:
                e["id"] = uid()
            resp = d.post(cs)
        eq(resp[0], 202, "contacts up to the bound: %r" % (resp[2],))
        acked += [e["id"] for e in cs]

        # Nothing of a refused request was stored; everything acked was.
        eq(stored(d, refused_ids), [], "refused events are not stored")
        eq(len(stored(d, acked)), len(acked), "acknowledged events stored")
        healthz_fast(d, "after the floods")
        eq(logins(d, "steady-0"), 2, "steady-0's logins in its window")
        total = d.count()
        d.restart()
        eq(d.count(), total, "the same events after a restart")
        eq(logins(d, "steady-0"), 2, "steady-0's window after a restart")
        st, _, lst = d.request("GET", "/v1/accounts?limit=1000",
                               token="reader")
        eq(len(lst["accounts"]), 40, "every admitted account is listed")
        # After the restart, the bound still holds (counted from the
        # loaded accounts).
        refused(d.post([ev(account="after-restart", user="s")]),
                "max_accounts", "a new account after the restart")


def _basic(key):
    return {"Authorization": "Basic " +
            base64.b64encode((key + ":").encode()).decode()}


def test_memberships_and_segment():
    with Daemon(extra=LIMITS) as d:
        def group(user, n):
            return d.request("POST", "/segment/v1/group", token=None,
                             headers=_basic("backend-secret-1"),
                             body={"userId": user, "groupId": "seg-acct",
                                   "messageId": "g-%s-%d" % (user, n)})
        for k in range(5):
            st, _, body = group("member-%d" % k, 0)
            eq(st, 200, "membership %d: %r" % (k, body))
        refused(group("member-5", 0), "max_memberships",
                "a sixth membership")
        # Regrouping a known user is no new membership.
        eq(group("member-0", 1)[0], 200, "a known member again")
        eq(int(sql(d.db, "SELECT count(*) FROM segment_members")[0][0]), 5,
           "five memberships stored")
        check(limit_count(d, "max_memberships") >= 1, "memberships counted")


def test_risk_list_pages_like_a_sort():
    with Daemon() as d:
        # Accounts at different scores: a champion leaving (critical),
        # competitor exposure (warning) or nothing.
        events = []
        for i in range(30):
            a = "acct-%02d" % i
            events.append(ev(account=a, user="u"))
            if i % 3 == 0:
                events.append(ev(account=a, type="contact.left", user=None,
                                 props={"contact_id": "c", "is_champion":
                                        True}))
            if i % 2 == 0:
                events.append(ev(account=a, type="competitor.signal",
                                 user=None, props={"competitor": "x",
                                                   "kind": "poc"}))
        eq(d.post(events)[0], 202, "accounts")
        deadline = time.time() + 10
        while time.time() < deadline:
            st, _, full = d.request("GET", "/v1/accounts?limit=1000",
                                    token="reader")
            if len(full["accounts"]) == 30:
                break
            time.sleep(0.2)
        rows = full["accounts"]
        eq(len(rows), 30, "all listed")
        want = sorted(rows, key=lambda r: (r["score"], r["id"]))
        eq([r["id"] for r in rows], [r["id"] for r in want], "worst first")
        check(len(set(r["score"] for r in rows)) >= 3, "several scores")
        for q, key in (("", lambda r: (r["score"], r["id"])),
                       ("&sort=id", lambda r: r["id"]),
                       ("&status=green", None), ("&status=red", None),
                       ("&status=yellow&sort=id", None)):
            sel = rows
            if "status=" in q:
                s = q.split("status=")[1].split("&")[0]
                sel = [r for r in rows if r["status"] == s]
            order = (lambda r: r["id"]) if "sort=id" in q else (
                lambda r: (r["score"], r["id"]))
            want = [r["id"] for r in sorted(sel, key=order)]
            seen, cursor = [], None
            for _ in range(40):
                st, _, page = d.request(
                    "GET", "/v1/accounts?limit=4" + q +
                    ("&cursor=" + cursor if cursor else ""), token="reader")
                eq(st, 200, "page %s: %r" % (q, page))
                seen += [r["id"] for r in page["accounts"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            eq(seen, want, "paging %r" % q)
