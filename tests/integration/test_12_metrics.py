"""/metrics (issue 5): the page passes `promtool check metrics`, carries
every metric name of SPEC 8 and the process_* metrics, and its counters
move as events, rejects, duplicates, requests and alerts happen; with
metrics_token set it needs that token."""

import os
import re
import shutil
import subprocess
import time

from lib import Daemon, check, eq, rfc3339, uid

SPEC_NAMES = [
    "churnwatch_events_received_total", "churnwatch_events_rejected_total",
    "churnwatch_events_duplicate_total", "churnwatch_ingest_commit_seconds",
    "churnwatch_db_batch_events", "churnwatch_spool_bytes",
    "churnwatch_accounts", "churnwatch_accounts_by_status",
    "churnwatch_signals_active", "churnwatch_evaluation_seconds",
    "churnwatch_alerts_total", "churnwatch_notifications_total",
    "churnwatch_notification_queue", "churnwatch_http_requests_total",
    "churnwatch_http_request_seconds", "churnwatch_event_to_alert_seconds",
    "process_cpu_seconds_total", "process_resident_memory_bytes",
    "process_open_fds", "process_start_time_seconds",
]


def scrape(d, token=None):
    st, hdrs, body = d.request("GET", "/metrics", token=token)
    eq(st, 200, "GET /metrics")
    check(hdrs.get("Content-Type", "").startswith("text/plain"),
          "Content-Type %r" % hdrs.get("Content-Type"))
    return body if isinstance(body, str) else body.decode()


def value(text, name, **labels):
    """The value of the series name{labels} (labels matched exactly)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r'^([a-z_:]+)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"',
                              m.group(3) or ""))
        if got == {k: str(v) for k, v in labels.items()}:
            return float(m.group(4))
    return None


def promtool(text):
    tool = shutil.which("promtool")
    check(tool is not None, "promtool is installed (tools/deps)")
    p = subprocess.run([tool, "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    eq(p.returncode, 0, "promtool check metrics: %s" %
       p.stdout.decode()[:2000])


def test_metrics_move_and_pass_promtool():
    extra = """
[alerts]
resolve_after = 1h

[receiver:log]
type = log

[route:all]
receivers = log
"""
    with Daemon(extra=extra) as d:
        before = scrape(d)
        promtool(before)
        for name in SPEC_NAMES:
            check(re.search(r"^# TYPE %s " % name, before, re.M),
                  "TYPE line for %s" % name)
        eq(value(before, "churnwatch_events_duplicate_total"), 0.0,
           "no duplicates yet")

        e1 = {"id": uid("m"), "account_id": "metrics", "type": "login",
              "user_id": "u1"}
        st, _, body = d.post([e1, e1, {"id": uid("m"),
                                       "account_id": "metrics",
                                       "type": "bogus"}])
        eq(st, 202, "post: %r" % body)
        st, _, _ = d.post([{"id": uid("p"), "account_id": "metrics",
                            "type": "competitor.signal",
                            "ts": rfc3339(time.time() - 60),
                            "props": {"competitor": "X", "kind": "poc"}}])
        eq(st, 202, "poc")
        deadline = time.time() + 5
        while time.time() < deadline:
            after = scrape(d)
            if value(after, "churnwatch_notifications_total",
                     receiver="log", result="sent"):
                break
            time.sleep(0.1)
        promtool(after)
        eq(value(after, "churnwatch_events_received_total", type="login",
                 source="backend"), 2.0, "received logins (one repeated)")
        eq(value(after, "churnwatch_events_duplicate_total"), 1.0,
           "duplicates")
        eq(value(after, "churnwatch_events_rejected_total",
                 reason="unknown_type"), 1.0, "rejected")
        eq(value(after, "churnwatch_alerts_total",
                 signal="competitor_exposure", status="firing"), 1.0,
           "alerts fired")
        check((value(after, "churnwatch_notifications_total",
                     receiver="log", result="sent") or 0) >= 1,
              "notifications sent")
        check((value(after, "churnwatch_http_requests_total",
                     route="/v1/events", code="202") or 0) >= 2,
              "requests counted by route and code")
        check((value(after, "churnwatch_ingest_commit_seconds_count") or 0)
              >= 2, "commit latency observed")
        check((value(after, "churnwatch_event_to_alert_seconds_count") or 0)
              >= 1, "event-to-alert latency observed")
        check((value(after, "process_resident_memory_bytes") or 0) > 0,
              "process_resident_memory_bytes")
        eq(value(after, "churnwatch_db_up"), 1.0, "db up")
        check("backend-secret-1" not in after, "no token in /metrics")


def test_metrics_token():
    with Daemon(server={"metrics_token": "metrics-token-123"}) as d:
        st, _, body = d.request("GET", "/metrics", token=None)
        eq(st, 401, "no token: %r" % body)
        st, _, body = d.request("GET", "/metrics", token="backend")
        eq(st, 401, "another token")
        text = scrape(d, token="metrics-token-123")
        check("churnwatch_build_info" in text, "with the token")
        check("metrics-token-123" not in text, "the token is not shown")
