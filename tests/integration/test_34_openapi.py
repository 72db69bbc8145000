"""The OpenAPI 3.1 description (issue 13, SPEC 2.8): api/openapi.json
passes a real linter (@redocly/cli, pinned), is what GET /openapi.json
serves, describes every route of src/http.c's table, and every answer
the daemon really gives -- good and bad requests on every documented
route -- has a documented status and validates against its schema (Ajv
with ajv-formats, pinned, run by node).

Routes of SPEC 2.7/2.8 built on other branches are listed in
NOT_YET_SERVED: they must answer 404 "no such endpoint" here, and this
test fails once one is served, so that the list is emptied when those
branches merge (their answers are then validated like the others)."""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse

from lib import (ROOT, TOKENS, Daemon, RawConn, check, eq, ev, fail,
                 npm_cache, rfc3339, uid, wait_for)

DOC_PATH = os.path.join(ROOT, "api", "openapi.json")
REDOCLY = ("@redocly/cli", "2.77.0")
AJV = {"ajv": "8.20.0", "ajv-formats": "3.0.1"}

NOT_YET_SERVED = [
]

EXTRA = """
[source:hook]
signature = none
type = login
pointer.id = /id
pointer.account_id = /a
pointer.user_id = /u

[receiver:journal]
type = log

[route:all]
receivers = journal

[alerts]
settle = 0

[slack]
signing_secret = openapi-test-signing-secret
"""
SLACK_SECRET = "openapi-test-signing-secret"


def slack_headers(body):
    """Slack's signature headers for a form body (bytes)."""
    ts = str(int(time.time()))
    sig = hmac.new(SLACK_SECRET.encode(), b"v0:" + ts.encode() + b":" +
                   body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + sig}


def load_doc():
    with open(DOC_PATH) as f:
        return json.load(f)


def template_key(path):
    """/v1/accounts/{id} and /v1/accounts/{x} are one route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def find_op(doc, method, path):
    """(template, operation) of the documented route a concrete path is
    (the most literal template wins), or (None, None)."""
    best = None
    path = path.split("?")[0]
    for tpl in doc["paths"]:
        rx = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(tpl)) + "$"
        if re.match(rx, path) and method.lower() in doc["paths"][tpl]:
            n = tpl.count("{")
            if best is None or n < best[0]:
                best = (n, tpl)
    if best is None:
        return None, None
    return best[1], doc["paths"][best[1]][method.lower()]


def http_routes():
    """(METHOD, template key) of every row of src/http.c's route table."""
    with open(os.path.join(ROOT, "src", "http.c")) as f:
        src = f.read()
    table = src[src.index("static const struct route routes[] = {"):]
    table = table[:table.index("\n};")]
    out = set()
    for m in re.finditer(r'\bR\("(\w+)", "([^"]+)", ([^,]+),', table):
        path = m.group(2) + ("{}" if "ROUTE_PREFIX" in m.group(3) else "")
        out.add((m.group(1), path))
    for m in re.finditer(r'\bAPI\("(\w+)", "([^"]+)", ([^,]+), [^,]+, '
                         r'\w+,\s*(NULL|"[^"]*")\)', table):
        path = m.group(2)
        if "ROUTE_PREFIX" in m.group(3):
            path += "{}"
        if m.group(4) != "NULL":
            path += m.group(4).strip('"')
        out.add((m.group(1), path))
    for m in re.finditer(r'\bSEG\("([^"]+)"', table):
        out.add(("POST", m.group(1)))
    check(len(out) >= 15, "read the route table: %r" % sorted(out))
    return out


def response_schema_pointer(doc, tpl, method, status, ctype):
    """JSON Pointer of the schema for this answer, or fail."""
    op = doc["paths"][tpl][method.lower()]
    resp = op["responses"].get(str(status))
    check(resp is not None, "%s %s answered %s, which is not documented "
          "(documented: %s)" % (method, tpl, status,
                                ", ".join(op["responses"])))
    if "$ref" in resp:
        base = resp["$ref"][1:]
        resp = doc["components"]["responses"][resp["$ref"].split("/")[-1]]
    else:
        esc = tpl.replace("~", "~0").replace("/", "~1")
        base = "/paths/%s/%s/responses/%s" % (esc, method.lower(), status)
    media = (ctype or "").split(";")[0].strip()
    check(media in resp.get("content", {}), "%s %s %s: Content-Type %r is "
          "not documented (%s)" % (method, tpl, status, ctype,
                                   list(resp.get("content", {}))))
    return "%s/content/%s/schema" % (base, media.replace("/", "~1"))


def test_openapi_lint():
    cache = npm_cache(REDOCLY[0], REDOCLY[1], "-redocly", "cw-openapi-lint")
    p = subprocess.run([os.path.join(cache, "node_modules", ".bin",
                                     "redocly"), "lint", "--config",
                        os.path.join(ROOT, "api", "redocly.yaml"), DOC_PATH],
                       capture_output=True, text=True, timeout=300)
    eq(p.returncode, 0, "redocly lint:\n%s%s" % (p.stdout[-4000:],
                                                  p.stderr[-2000:]))
    doc = load_doc()
    eq(doc["openapi"][:4], "3.1.", "OpenAPI version")


def test_every_route_is_described():
    doc = load_doc()
    described = {(m.upper(), template_key(p))
                 for p, item in doc["paths"].items()
                 for m in item if m in ("get", "put", "post", "delete",
                                        "patch")}
    missing = http_routes() - described
    check(not missing, "routes of src/http.c not in api/openapi.json: %r" %
          sorted(missing))
    for m, p in NOT_YET_SERVED:
        check((m, template_key(p)) in described,
              "NOT_YET_SERVED %s %s is not described" % (m, p))


def _calls(d):
    """Good and bad requests on every served documented route: a list of
    (label, method, concrete path, Response)."""
    out = []

    def call(label, method, path, **kw):
        kw.setdefault("token", "admin")
        r = d.request(method, path, **kw)
        out.append((label, method, path, r))
        return r

    now = time.time()
    hist = [ev(uid(), account="acme", type="login", user="u_1",
               ts=rfc3339(now - 86400 * k)) for k in range(40, 100)]
    call("ingest", "POST", "/v1/events", body=hist, token="backend")
    call("ingest ndjson", "POST", "/v1/events",
         body="\n".join(json.dumps(ev(uid(), account="beta"))
                        for _ in range(3)),
         token="backend", headers={"Content-Type": "application/x-ndjson"})
    call("ingest partly bad", "POST", "/v1/events",
         body=[ev(uid()), {"id": "x"}], token="backend")
    call("ingest all bad", "POST", "/v1/events", body=[{"id": "x"}],
         token="backend")
    call("ingest no token", "POST", "/v1/events", body=[ev(uid())],
         token=None)
    call("ingest read token", "POST", "/v1/events", body=[ev(uid())],
         token="reader")
    call("ingest not json", "POST", "/v1/events", body="{", token="backend")
    call("ingest text/plain", "POST", "/v1/events", body="[]",
         token="backend", headers={"Content-Type": "text/plain"})
    # Only the head: the daemon refuses by Content-Length and closes, and
    # a client still sending 2 MiB would get EPIPE instead of the answer.
    with RawConn(d.port) as c:
        c.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: "
               "Bearer %s\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % (TOKENS["backend"],
                                                   2 << 20))
        out.append(("ingest too big", "POST", "/v1/events",
                    c.read_response()))
    call("ingest bad encoding", "POST", "/v1/events", body=b"[]",
         token="backend", headers={"Content-Encoding": "br"})

    call("put account", "PUT", "/v1/accounts/acme",
         body={"name": "Acme", "owner": "ann", "seats": 10, "plan": "pro",
               "segment": "smb", "renewal_at": "2027-01-01T00:00:00Z",
               "core_features": ["reports"]}, token="backend")
    call("put account again", "PUT", "/v1/accounts/acme",
         body={"slack_channel": "#acme"}, token="backend")
    call("put account bad", "PUT", "/v1/accounts/acme",
         body={"seats": "many"}, token="backend")
    call("put account no token", "PUT", "/v1/accounts/acme",
         body={"name": "x"}, token=None)

    # Wait for the evaluation to fire login_absent's alert (settle = 0).
    alerts = wait_for(lambda: d.request("GET", "/v1/alerts?account_id=acme",
                                        token="reader").body["alerts"],
                      60, what="an alert for acme")
    call("get account", "GET", "/v1/accounts/acme", token="reader")
    call("get account unknown", "GET", "/v1/accounts/nope", token="reader")
    call("get account ingest token", "GET", "/v1/accounts/acme",
         token="backend")
    call("list accounts", "GET", "/v1/accounts?limit=1", token="reader")
    call("list accounts red", "GET", "/v1/accounts?status=red&sort=id",
         token="reader")
    call("list accounts bad status", "GET", "/v1/accounts?status=blue",
         token="reader")
    call("list accounts bad limit", "GET", "/v1/accounts?limit=0",
         token="reader")
    call("list accounts no token", "GET", "/v1/accounts", token=None)

    call("alerts", "GET", "/v1/alerts", token="reader")
    call("alerts firing", "GET", "/v1/alerts?state=firing&since=" +
         rfc3339(now - 86400), token="reader")
    call("alerts bad state", "GET", "/v1/alerts?state=angry",
         token="reader")
    call("alerts bad since", "GET", "/v1/alerts?since=yesterday",
         token="reader")
    call("ack", "POST", "/v1/alerts/%s/ack" % alerts[0]["id"])
    call("ack unknown", "POST", "/v1/alerts/99999999/ack")
    call("ack read token", "POST", "/v1/alerts/1/ack", token="reader")

    r = call("silence", "POST", "/v1/silences",
             body={"account_id": "acme", "signal": "login_absent",
                   "until": rfc3339(now + 86400), "comment": "on holiday",
                   "expire_on_resolve": True})
    call("silence no until", "POST", "/v1/silences",
         body={"account_id": "acme"})
    call("silence not json", "POST", "/v1/silences", body="nope")
    call("silences", "GET", "/v1/silences", token="reader")
    call("silences no token", "GET", "/v1/silences", token=None)
    call("unsilence", "DELETE", "/v1/silences/%s" % r.body["id"])
    call("unsilence again", "DELETE", "/v1/silences/%s" % r.body["id"])
    call("unsilence not a number", "DELETE", "/v1/silences/abc")

    call("webhook", "POST", "/v1/webhooks/hook",
         body={"id": uid(), "a": "acme", "u": "u_2"}, token="backend")
    call("webhook unknown source", "POST", "/v1/webhooks/nope",
         body={"id": uid()}, token="backend")
    call("webhook no token", "POST", "/v1/webhooks/hook",
         body={"id": uid(), "a": "acme", "u": "u_2"}, token=None)
    call("webhook no account", "POST", "/v1/webhooks/hook",
         body={"id": uid(), "u": "u_2"}, token="backend")

    basic = {"Authorization": "Basic " +
             base64.b64encode(b"backend-secret-1:").decode()}
    msg = {"userId": "u_1", "event": "Login", "context":
           {"groupId": "acme"}}
    for call_name in ("track", "identify", "group", "page", "screen"):
        body = dict(msg, messageId=uid(), type=call_name,
                    groupId="acme", traits={"name": "Acme"})
        call("segment " + call_name, "POST", "/segment/v1/" + call_name,
             body=body, token=None, headers=basic)
        call("segment alias " + call_name, "POST", "/v1/" + call_name,
             body=dict(body, messageId=uid()), token=None, headers=basic)
    batch = {"batch": [dict(msg, type="track", messageId=uid())]}
    call("segment batch", "POST", "/segment/v1/batch", body=batch,
         token=None, headers=basic)
    call("segment alias batch", "POST", "/v1/batch", body=batch, token=None,
         headers=basic)
    call("segment no key", "POST", "/segment/v1/track", body=msg,
         token=None)
    call("segment alias no key", "POST", "/v1/track", body=msg, token=None)
    call("segment bad batch", "POST", "/segment/v1/batch",
         body={"batch": "no"}, token=None, headers=basic)
    for alias in ("identify", "group", "page", "screen", "batch"):
        call("segment alias bad " + alias, "POST", "/v1/" + alias,
             body="{", token=None, headers=basic)

    # Slack (SPEC 2.7): signed forms; a wrong signature is 401.
    cmd = urllib.parse.urlencode({"command": "/churnwatch", "text": "help",
                                  "user_id": "U1", "user_name": "ann",
                                  "response_url": "https://hooks.slack.com/"
                                  "commands/T/1/x"}).encode()
    call("slack command", "POST", "/slack/commands", body=cmd, token=None,
         headers=slack_headers(cmd))
    call("slack command unsigned", "POST", "/slack/commands", body=cmd,
         token=None, headers={"Content-Type":
                              "application/x-www-form-urlencoded"})
    click = ("payload=" + urllib.parse.quote(json.dumps({
        "type": "block_actions", "user": {"id": "U1", "name": "ann"},
        "response_url": "https://hooks.slack.com/actions/T/1/x",
        "actions": [{"action_id": "cw_why", "type": "button",
                     "value": "1:login_absent:acme"}]}))).encode()
    call("slack click", "POST", "/slack/interactions", body=click,
         token=None, headers=slack_headers(click))
    call("slack click bad payload", "POST", "/slack/interactions",
         body=b"payload=nope", token=None,
         headers=slack_headers(b"payload=nope"))

    call("outcome", "POST", "/v1/events", token="backend",
         body=[{"id": uid(), "account_id": "acme", "type": "account.churned",
                "ts": rfc3339(now - 60)}])
    call("movers", "GET", "/v1/reports/movers?days=30", token="reader")
    call("movers default", "GET", "/v1/reports/movers", token="reader")
    call("movers bad days", "GET", "/v1/reports/movers?days=0",
         token="reader")
    call("movers no token", "GET", "/v1/reports/movers", token=None)
    call("signal quality", "GET", "/v1/reports/signal-quality?since=" +
         time.strftime("%Y-%m-%d", time.gmtime(now - 200 * 86400)) +
         "&within=90", token="reader")
    call("signal quality default", "GET", "/v1/reports/signal-quality",
         token="reader")
    call("signal quality bad within", "GET",
         "/v1/reports/signal-quality?within=-3", token="reader")
    call("signal quality bad since", "GET",
         "/v1/reports/signal-quality?since=june", token="reader")
    call("signal quality ingest token", "GET",
         "/v1/reports/signal-quality", token="backend")

    call("metrics", "GET", "/metrics", token=None)
    call("healthz", "GET", "/healthz", token=None)
    call("readyz", "GET", "/readyz", token=None)
    call("openapi", "GET", "/openapi.json", token=None)
    # Wrong methods: 405 on every path, in the error shape.
    for path in ("/metrics", "/healthz", "/readyz", "/openapi.json",
                 "/v1/events", "/v1/accounts", "/v1/alerts"):
        call("wrong method " + path, "DELETE", path, token=None)
    return out


def test_real_answers_validate():
    doc = load_doc()
    with Daemon(extra=EXTRA) as d:
        # NOT_YET_SERVED: still "no such endpoint" on this branch.
        for method, path in NOT_YET_SERVED:
            r = d.request(method, path, token="admin", body={} if
                          method == "POST" else None)
            served = not (r.status == 404 and isinstance(r.body, dict) and
                          r.body.get("message") == "no such endpoint")
            check(not served, "%s %s is served now (%s %r): take it out of "
                  "NOT_YET_SERVED so that its answers are checked" % (
                      method, path, r.status, r.body))
        r = d.request("GET", "/openapi.json", token=None)
        eq(r.status, 200, "GET /openapi.json without a token")
        check(r.body == doc, "GET /openapi.json is not api/openapi.json "
              "(a build from another copy?)")
        calls = _calls(d)
        unknown = d.request("GET", "/v1/nope", token=None)

    cases, ops = [], {}
    for label, method, path, r in calls:
        if r.status == 405:
            # A method no operation has: the error shape (info says so).
            eq(r.headers.get("Content-Type"), "application/json", label)
            cases.append({"label": label, "pointer":
                          "/components/schemas/Error", "body": r.body})
            tpl, _ = find_op(doc, "GET", path)
            tpl = tpl or find_op(doc, "POST", path)[0]
            ops.setdefault(("GET" if tpl and "get" in doc["paths"][tpl]
                            else "POST", tpl), set()).add(r.status)
            continue
        tpl, op = find_op(doc, method, path)
        check(op is not None, "%s: %s %s is not documented" % (label, method,
                                                              path))
        ptr = response_schema_pointer(doc, tpl, method, r.status,
                                      r.headers.get("Content-Type"))
        body = r.body
        if isinstance(body, bytes):
            body = body.decode()
        cases.append({"label": "%s (%s %s -> %s)" % (label, method, path,
                                                      r.status),
                      "pointer": ptr, "body": body})
        ops.setdefault((method, tpl), set()).add(r.status)
    eq(unknown.status, 404, "an unknown path")
    cases.append({"label": "unknown path", "pointer":
                  "/components/schemas/Error", "body": unknown.body})

    # Every served operation was called, with a good and a bad request.
    for tpl, item in doc["paths"].items():
        for method in item:
            if method not in ("get", "put", "post", "delete"):
                continue
            if (method.upper(), tpl) in NOT_YET_SERVED:
                continue
            got = ops.get((method.upper(), tpl), set())
            check(any(200 <= s < 300 for s in got) and
                  any(s >= 400 for s in got), "%s %s: no good and bad "
                  "request in the test (statuses %r)" % (method.upper(), tpl,
                                                        sorted(got)))

    cache = npm_cache("ajv-formats", AJV["ajv-formats"], "-ajv",
                      "cw-openapi-validate", extra={"ajv": AJV["ajv"]})
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(cases, f)
        f.flush()
        p = subprocess.run(["node", os.path.join(ROOT, "tests", "integration",
                                                 "openapi", "validate.js"),
                            DOC_PATH, f.name], capture_output=True,
                           text=True, timeout=120,
                           env=dict(os.environ, NODE_PATH=os.path.join(
                               cache, "node_modules")))
    eq(p.returncode, 0, "validate.js: %s" % p.stderr[-2000:])
    bad = json.loads(p.stdout)
    check(not bad, "answers that do not match api/openapi.json:\n" +
          "\n".join("  %s: %s" % (b["label"], json.dumps(b["errors"])[:600])
                    for b in bad))
    check(len(cases) >= 60, "validated %d answers" % len(cases))
