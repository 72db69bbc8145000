"""Account views for the restart-equality tests (issue 11): read every
account view and the risk list of a daemon once it is quiet, and compare
two such readings field by field, naming the path of each difference.

Not a test file (run.py only loads test_*.py); test_30 and test_31 import
it."""

import os
import re
import time
import urllib.parse

from lib import Daemon, check, eq, fail

# [database] snapshot_interval is issue 11's new key: set unless
# CW_SNAPSHOTS=0, so that the tests can also run against a daemon that
# does not know it yet (an unknown key is a config error).
SNAPSHOTS = os.environ.get("CW_SNAPSHOTS", "1") != "0"


class SnapDaemon(Daemon):
    """A Daemon whose [database] section also sets snapshot_interval
    (unless CW_SNAPSHOTS=0)."""

    def __init__(self, snapshot_interval="1s", **kw):
        Daemon.__init__(self, **kw)
        self.snapshot_interval = snapshot_interval

    def config_text(self, port=None):
        # Whatever lib.Daemon says about the key (a later lib.py may set
        # it by default), this class decides: drop it, then add it.
        text = re.sub(r"(?m)^snapshot_interval\s*=.*\n", "",
                      Daemon.config_text(self, port))
        if not SNAPSHOTS:
            return text
        check("[database]\n" in text, "config without [database]")
        return text.replace("[database]\n", "[database]\nsnapshot_interval"
                            " = %s\n" % self.snapshot_interval, 1)


def post_ok(d, events, what="post", tries=20):
    """POST events until a 202 (503 is back-pressure: wait and resend, as
    a client does); returns the body."""
    for _ in range(tries):
        st, hdrs, body = d.post(events)
        if st != 503:
            break
        time.sleep(float(hdrs.get("Retry-After") or 1) / 4)
    eq(st, 202, "%s: status (body %r)" % (what, body))
    eq(body["rejected"], [], "%s: rejected events" % what)
    return body


def put_account(d, acct, meta):
    st, _, body = d.request("PUT", "/v1/accounts/" + acct, body=meta)
    check(st in (200, 201), "PUT %s: %d %r" % (acct, st, body))


def account_view(d, acct):
    st, _, body = d.request("GET", "/v1/accounts/" +
                            urllib.parse.quote(acct, safe=""),
                            token="reader")
    eq(st, 200, "GET /v1/accounts/%s (body %r)" % (acct, body))
    check(isinstance(body, dict), "view of %s is not an object" % acct)
    return body


def risk_list(d):
    """Every page of GET /v1/accounts?sort=score, concatenated."""
    rows, cursor = [], None
    for _ in range(1000):
        path = "/v1/accounts?sort=score&limit=1000"
        if cursor is not None:
            path += "&cursor=" + urllib.parse.quote(cursor, safe="")
        st, _, body = d.request("GET", path, token="reader")
        eq(st, 200, "GET %s (body %r)" % (path, body))
        rows.extend(body["accounts"])
        cursor = body.get("next_cursor")
        if cursor is None:
            return rows
    fail("the risk list does not end")


def read_all(d, accounts):
    """{"views": {id: view}, "list": [rows]}."""
    return {"views": {a: account_view(d, a) for a in accounts},
            "list": risk_list(d)}


def settled(reading):
    """The accounts of a reading that still settle."""
    return sorted(a for a, v in reading["views"].items()
                  if v.get("settling_until") is not None)


def wait_quiet(d, accounts, timeout=30.0, gap=1.2):
    """Read d until no account settles and two readings gap seconds apart
    are equal: the sweep after settling has stepped the alerts (a signal's
    `since` becomes its alert's start then), nothing is left to apply.
    Returns the last reading."""
    deadline = time.monotonic() + timeout
    prev = None
    while True:
        cur = read_all(d, accounts)
        if not settled(cur) and cur == prev:
            return cur
        if time.monotonic() > deadline:
            first = diffs(prev, cur, limit=3) if prev else []
            fail("daemon on port %s not quiet within %.0f s: settling %s; "
                 "changing %s" % (d.port, timeout, settled(cur)[:5], first))
        prev = None if settled(cur) else cur
        time.sleep(gap)


# ---- field-by-field comparison ----

# Lists of objects compared by a key rather than by position (the order is
# compared too, as a list of keys): a missing signal then reads as
# "signals[champion_left]: only before", not as a shifted list.
LIST_KEYS = ("name", "signal", "id")


def _list_key(items):
    for k in LIST_KEYS:
        if items and all(isinstance(x, dict) and k in x for x in items):
            keys = [x[k] for x in items]
            if len(set(keys)) == len(keys):
                return k
    return None


def diffs(a, b, path="", limit=50, out=None, names=("before", "after")):
    """The differences of b from a, as "path: ..." strings, at most
    limit, in document order."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            p = "%s.%s" % (path, k) if path else str(k)
            if k not in b:
                out.append("%s: only %s (%r)" % (p, names[0], a[k]))
            elif k not in a:
                out.append("%s: only %s (%r)" % (p, names[1], b[k]))
            else:
                diffs(a[k], b[k], p, limit, out, names)
            if len(out) >= limit:
                break
        return out
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _list_key(a), _list_key(b)
        if ka is not None and ka == kb:
            ia = {x[ka]: x for x in a}
            ib = {x[ka]: x for x in b}
            for k in [x[ka] for x in a] + [x[kb] for x in b
                                            if x[kb] not in ia]:
                p = "%s[%s]" % (path, k)
                if k not in ib:
                    out.append("%s: only %s (%r)" % (p, names[0], ia[k]))
                elif k not in ia:
                    out.append("%s: only %s (%r)" % (p, names[1], ib[k]))
                else:
                    diffs(ia[k], ib[k], p, limit, out, names)
                if len(out) >= limit:
                    return out
            order_a = [x[ka] for x in a if x[ka] in ib]
            order_b = [x[kb] for x in b if x[kb] in ia]
            if order_a != order_b and len(out) < limit:
                out.append("%s: order %s %r, %s %r" % (
                    path, names[0], order_a, names[1], order_b))
            return out
        if len(a) != len(b):
            out.append("%s: length %s %d, %s %d (%r vs %r)" % (
                path, names[0], len(a), names[1], len(b), a[:5], b[:5]))
            return out
        for i, (x, y) in enumerate(zip(a, b)):
            diffs(x, y, "%s[%d]" % (path, i), limit, out, names)
            if len(out) >= limit:
                break
        return out
    if type(a) != type(b) or a != b:
        out.append("%s: %s %r, %s %r" % (path, names[0], a, names[1], b))
    return out


def compare_readings(want, got, names, limit=40):
    """Differences between two read_all() readings (views by account, then
    the risk list), paths prefixed with the account id or "list"."""
    out = []
    accts = sorted(set(want["views"]) | set(got["views"]))
    for a in accts:
        if a not in got["views"] or a not in want["views"]:
            out.append("%s: view only %s" % (
                a, names[0] if a in want["views"] else names[1]))
            continue
        diffs(want["views"][a], got["views"][a], "views[%s]" % a, limit,
              out, names)
        if len(out) >= limit:
            return out
    diffs(want["list"], got["list"], "list", limit, out, names)
    return out


def summary(found):
    """Differences grouped by path with the account left out: ["path:
    N accounts", ...], most accounts first -- which fields a restart
    changes, at a glance."""
    groups = {}
    for line in found:
        path = line.split(": ", 1)[0]
        acct = None
        for top in ("views[", "list["):
            if path.startswith(top):
                acct, _, rest = path[len(top):].partition("]")
                path = top + "*]" + rest
        groups.setdefault(path, set()).add(acct)
    return ["%s: %d account%s" % (p, len(a), "" if len(a) == 1 else "s")
            for p, a in sorted(groups.items(),
                               key=lambda kv: (-len(kv[1]), kv[0]))]
