"""Grouping (issue 10, SPEC 5): a quiet alert keeps the sub-second path
and goes as itself; a burst of 300 alerts to a Slack and a webhook
receiver becomes a few messages whose members add up to exactly the 300
(each notification_id once); a kill -9 while a grouped message is in
flight delivers every member at least once, and none twice after a
success."""

import json
import os
import sys
import time

from lib import Daemon, check, eq, sql

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_10_alerts import Receiver, poc  # noqa: E402

GROUP_WAIT = 2


def config(port, receivers="slack, hook", timeout=2):
    return """
[alerts]
resolve_after = 1h
repeat_interval = 1h
group_wait = %ds
group_max = 5

[signals]
interval = 1

[receiver:slack]
type = slack
webhook_url = http://127.0.0.1:%d/slack
rate = 50
burst = 50
timeout = %d

[receiver:hook]
type = webhook
url = http://127.0.0.1:%d/hook
timeout = %d

[route:everything]
receivers = %s
""" % (GROUP_WAIT, port, timeout, port, timeout, receivers)


def hook_ids(req):
    """The notification_ids a webhook request carried, in order."""
    b = json.loads(req["body"])
    if isinstance(b, list):
        check(req["headers"].get("X-Churnwatch-Group-Size") == str(len(b)),
              "X-Churnwatch-Group-Size is the array's length")
        return [x["notification_id"] for x in b]
    return [b["notification_id"]]


def slack_members(req):
    """How many notifications a Slack message carries."""
    b = json.loads(req["body"])
    check(len(b["blocks"]) <= 50, "at most 50 blocks")
    head = b["blocks"][0]["text"]["text"]
    if " notifications: " in head:
        return int(head.split()[1].replace(",", ""))
    return 1


def wait_members(rc, path, count, want, timeout):
    deadline = time.time() + timeout
    while True:
        got = [r for r in rc.requests(path) if r["status"] == 200]
        n = sum(count(r) for r in got)
        if n >= want or time.time() > deadline:
            return got, n
        time.sleep(0.1)


def test_quiet_alert_goes_at_once_and_alone():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port)) as d:
            t0 = time.time()
            st, _, body = d.post([poc("quiet")])
            eq(st, 202, "post: %r" % body)
            got = rc.wait(2, timeout=5)
            eq(len(got), 2, "slack and webhook each got one message")
            for r in got:
                check(r["time"] - t0 < 1.0, "%s within a second (%.3f s)"
                      % (r["path"], r["time"] - t0))
            hook = [r for r in got if r["path"] == "/hook"][0]
            check(isinstance(json.loads(hook["body"]), dict),
                  "a single notification is not an array")
            check(hook["headers"].get("X-Churnwatch-Notification-Id"),
                  "a single carries its notification id header")
            time.sleep(GROUP_WAIT + 0.5)
            eq(len(rc.requests()), 2, "nothing more after the window")
    finally:
        rc.close()


def test_burst_of_300_is_a_few_messages():
    rc = Receiver()
    try:
        with Daemon(extra=config(rc.port)) as d:
            t0 = time.time()
            st, _, body = d.post([poc("burst-%03d" % i) for i in range(300)])
            eq(st, 202, "post: %r" % body)
            hooks, n = wait_members(rc, "/hook", lambda r: len(hook_ids(r)),
                                    300, 30)
            eq(n, 300, "webhook members add up to 300")
            ids = [i for r in hooks for i in hook_ids(r)]
            eq(len(ids), len(set(ids)), "each notification_id once")
            check(len(hooks) <= 10, "300 alerts in %d webhook messages"
                  % len(hooks))
            slacks, n = wait_members(rc, "/slack", slack_members, 300, 30)
            eq(n, 300, "Slack members add up to 300")
            check(len(slacks) <= 10, "300 alerts in %d Slack messages"
                  % len(slacks))
            singles = [r for r in slacks if slack_members(r) == 1]
            check(all(r["time"] - t0 < 1.5 for r in singles[:5]),
                  "the first five went at once")
            print("    webhook: %d messages, Slack: %d messages, last "
                  "after %.2f s" % (len(hooks), len(slacks),
                                    max(r["time"] for r in slacks) - t0))
            # Every member is stored and marked sent (one UPDATE each,
            # after the group's success); ids match the rows.
            deadline = time.time() + 10
            while time.time() < deadline:
                left = sql(d.db, "SELECT count(*) FROM notifications"
                           " WHERE state <> 'sent'")[0][0]
                if int(left) == 0:
                    break
                time.sleep(0.1)
            eq(int(left), 0, "all 600 rows sent")
            rows = sql(d.db, "SELECT id FROM notifications WHERE receiver ="
                       " 'hook' AND state = 'sent'")
            check(set(r[0] for r in rows) == set(ids),
                  "the webhook's ids are the rows' ids")
            st, _, text = d.request("GET", "/metrics")
            text = text if isinstance(text, str) else text.decode()
            check('churnwatch_notifications_total{receiver="hook",'
                  'result="sent"} 300' in text, "metrics count members")
            check('churnwatch_notifications_grouped_total{receiver="hook"} '
                  '295' in text, "295 members went grouped")
    finally:
        rc.close()


def test_kill_during_a_grouped_send():
    rc = Receiver()
    try:
        d = Daemon(extra=config(rc.port, receivers="hook", timeout=30))
        with d:
            d.post([poc("kill-%02d" % i) for i in range(50)])
            got = rc.wait(5, path="/hook", timeout=5)
            eq(len(got), 5, "five went at once")
            rc.mode(mode="hang", path="/hook")
            deadline = time.time() + GROUP_WAIT + 5
            while time.time() < deadline:
                hung = [r for r in rc.requests("/hook")
                        if isinstance(json.loads(r["body"]), list)]
                if hung:
                    break
                time.sleep(0.05)
            eq(len(hung), 1, "the grouped message is in flight")
            eq(len(json.loads(hung[0]["body"])), 45, "with 45 members")
            d.kill()
            rc.mode(mode="ok", path="/hook")
            d.start()
            got, n = wait_members(rc, "/hook", lambda r: len(hook_ids(r)),
                                  50, GROUP_WAIT + 10)
            eq(n, 50, "every member delivered after the restart")
            ids = [i for r in got for i in hook_ids(r)]
            eq(len(set(ids)), 50, "50 different notifications")
            eq(len(ids), 50, "none twice after a success")
            time.sleep(GROUP_WAIT + 1)
            ok = [i for r in rc.requests("/hook") if r["status"] == 200
                  for i in hook_ids(r)]
            eq(len(ok), 50, "still none twice")
            eq(sql(d.db, "SELECT count(*) FROM notifications WHERE"
                   " state = 'sent'"), [("50",)], "all 50 rows sent")
    finally:
        rc.close()
