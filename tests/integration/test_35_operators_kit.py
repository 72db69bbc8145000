"""The operators' kit in conf/ (issue 13): Prometheus alerting rules that
pass promtool check rules and their own promtool unit tests, and a Grafana
dashboard over the SPEC 8 metrics -- every metric name the rules and the
dashboard use is one a real daemon exports, every label they name is one
that metric has (src/metrics.h), and every SPEC 8 metric is on the
dashboard."""

import json
import os
import re
import subprocess

from lib import ROOT, Daemon, check, eq

RULES = os.path.join(ROOT, "conf", "prometheus", "churnwatch.rules.yml")
RULE_TESTS = os.path.join(ROOT, "conf", "prometheus",
                          "churnwatch.rules.test.yml")
DASHBOARD = os.path.join(ROOT, "conf", "grafana", "churnwatch-dashboard.json")

# SPEC 8: the names are part of the contract.
SPEC8 = """churnwatch_events_received_total churnwatch_events_rejected_total
churnwatch_events_duplicate_total churnwatch_ingest_commit_seconds
churnwatch_db_batch_events churnwatch_spool_bytes churnwatch_accounts
churnwatch_accounts_by_status churnwatch_signals_active
churnwatch_evaluation_seconds churnwatch_alerts_total
churnwatch_notifications_total churnwatch_notification_queue
churnwatch_http_requests_total churnwatch_http_request_seconds
churnwatch_events_dead_letter_total churnwatch_rate_limited_total
churnwatch_limit_reached_total churnwatch_notifications_grouped_total
""".split()

# Series Prometheus makes itself, not the daemon.
PROMETHEUS_OWN = {"up"}
# Labels every scraped series gets from Prometheus, and histograms' le.
TARGET_LABELS = {"instance", "job", "le"}
METRIC = re.compile(r"\b((?:churnwatch|process)_[a-z0-9_]+|up)\b")


def rule_exprs():
    """The expr of every rule (a small reader for this file's layout:
    'expr: ...' on one line, or 'expr: |' and an indented block)."""
    with open(RULES) as f:
        lines = f.read().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        i += 1
        if not m:
            continue
        if m.group(2) != "|":
            out.append(m.group(2))
            continue
        block = []
        while i < len(lines) and (lines[i].strip() == "" or
                                  len(lines[i]) - len(lines[i].lstrip()) >
                                  len(m.group(1))):
            block.append(lines[i].strip())
            i += 1
        out.append(" ".join(block))
    return out


def dashboard_exprs(dash):
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append(t["expr"])
    for v in dash["templating"]["list"]:
        if v.get("type") == "query":
            out.append(v["definition"])
    return out


def declared_labels():
    """{metric family: set of label names} from src/metrics.h's table."""
    with open(os.path.join(ROOT, "src", "metrics.h")) as f:
        text = f.read().replace("\\\n", " ")
    out = {}
    for m in re.finditer(r'X\(M_\w+,\s*\w+,\s*"([a-z0-9_]+)",\s*'
                         r'(METRIC_NOLABELS|METRIC_LABELS\(([^)]*)\))', text):
        out[m.group(1)] = set(re.findall(r'"([a-z_]+)"', m.group(3) or ""))
    check(len(out) > 25, "read src/metrics.h's table: %r" % sorted(out))
    return out


def family(name, families):
    """The family of a series name (histograms add _bucket, _sum,
    _count), or None."""
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[:-len(suffix)] in families:
            return name[:-len(suffix)]
    return None


def test_promtool_check_and_test_rules():
    p = subprocess.run(["promtool", "check", "rules", RULES],
                       capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, "promtool check rules: %s%s" % (p.stdout, p.stderr))
    m = re.search(r"SUCCESS: (\d+) rules found", p.stdout)
    check(m and int(m.group(1)) >= 6, "rules found: %r" % p.stdout)
    names = set(re.findall(r"alert: (\w+)", open(RULES).read()))
    for want in ("ChurnwatchIngestStalled", "ChurnwatchSpoolGrowing",
                 "ChurnwatchReceiverFailing", "ChurnwatchEvaluationSlow",
                 "ChurnwatchDown", "ChurnwatchNotReady"):
        check(want in names, "rule %s" % want)
    p = subprocess.run(["promtool", "test", "rules",
                        os.path.basename(RULE_TESTS)],
                       cwd=os.path.dirname(RULE_TESTS), capture_output=True,
                       text=True, timeout=120)
    eq(p.returncode, 0, "promtool test rules: %s%s" % (p.stdout, p.stderr))
    # Each of those rules is shown firing by a unit test.
    tests = open(RULE_TESTS).read()
    for want in ("ChurnwatchIngestStalled", "ChurnwatchSpoolGrowing",
                 "ChurnwatchReceiverFailing", "ChurnwatchEvaluationSlow",
                 "ChurnwatchDown", "ChurnwatchNotReady"):
        check(re.search(r"alertname: %s\n\s+exp_alerts:\n\s+- exp_labels"
                        % want, tests), "a unit test where %s fires" % want)


def test_dashboard_is_well_formed():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    ids = [p["id"] for p in dash["panels"]]
    eq(len(ids), len(set(ids)), "unique panel ids")
    check(dash["uid"] and dash["title"], "uid and title")
    for p in dash["panels"]:
        g = p["gridPos"]
        check(0 <= g["x"] and g["x"] + g["w"] <= 24, "panel %r fits the "
              "grid" % p["title"])
        if p["type"] == "row":
            continue
        check(p.get("targets"), "panel %r has queries" % p["title"])
        eq(p["datasource"], {"type": "prometheus", "uid": "${datasource}"},
           "panel %r datasource" % p["title"])
        for t in p["targets"]:
            check(t["expr"].strip(), "panel %r: empty query" % p["title"])
            eq(t["expr"].count("("), t["expr"].count(")"),
               "panel %r: parentheses of %r" % (p["title"], t["expr"]))
    names = [v["name"] for v in dash["templating"]["list"]]
    check("datasource" in names and "instance" in names, "variables")


def test_every_metric_used_is_exported():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = [("dashboard", e) for e in dashboard_exprs(dash)] + \
        [("rules", e) for e in rule_exprs()]
    check(len([1 for w, _ in exprs if w == "rules"]) >= 6, "rule exprs")
    with Daemon() as d:
        r = d.request("GET", "/metrics", token=None)
        eq(r.status, 200, "GET /metrics")
        text = r.body if isinstance(r.body, str) else r.body.decode()
    families = set(re.findall(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", text,
                              re.M))
    check(len(families) > 25, "families exported: %r" % sorted(families))
    labels = declared_labels()
    check(set(labels) <= families | set(),
          "src/metrics.h and /metrics agree: %r" % (set(labels) - families))
    unknown, badlabels, used = [], [], set()
    for where, e in exprs:
        for name in METRIC.findall(e):
            if name in PROMETHEUS_OWN:
                continue
            fam = family(name, families)
            if fam is None:
                unknown.append("%s: %s in %s" % (where, name, e))
                continue
            if where == "dashboard":
                used.add(fam)
        # Label names in selectors belong to their metric.
        for m in re.finditer(r"\b((?:churnwatch|process)_[a-z0-9_]+)\{"
                             r"([^}]*)\}", e):
            fam = family(m.group(1), families)
            for lab in re.findall(r"([a-z_]+)\s*(?:=~|!=|!~|=)",
                                  m.group(2)):
                if fam and lab not in labels.get(fam, set()) | \
                        TARGET_LABELS:
                    badlabels.append("%s: %s has no label %s" % (where, fam,
                                                                 lab))
        # Grouping labels belong to some metric of the expression.
        fams = {family(n, families) for n in METRIC.findall(e)} - {None}
        have = set().union(*(labels.get(f, set()) for f in fams)) | \
            TARGET_LABELS
        for m in re.finditer(r"\bby \(([^)]*)\)", e):
            for lab in [x.strip() for x in m.group(1).split(",")]:
                if lab not in have:
                    badlabels.append("%s: by (%s) in %s" % (where, lab, e))
    check(not unknown, "metrics not exported by churnwatchd:\n  " +
          "\n  ".join(unknown))
    check(not badlabels, "labels churnwatchd does not export:\n  " +
          "\n  ".join(badlabels))
    missing = [m for m in SPEC8 if m not in used]
    check(not missing, "SPEC 8 metrics not on the dashboard: %r" % missing)
