#!/usr/bin/env python3
"""slack_standin.py -- a stand-in for Slack's Web API and response_url
endpoints, for the demo and the tests (Python 3 standard library only).

    slack_standin.py --port N [--host 127.0.0.1]

Speaks what churnwatch's slack-app receiver uses (point [slack] api_url
at http://HOST:PORT/api):

    POST /api/chat.postMessage  JSON {"channel", "text", "blocks", ...}
        -> 200 {"ok": true, "channel": CHANNEL, "ts": "1700000000.000123",
                "message": {...}}
    POST /api/chat.update       JSON {"channel", "ts", "text", "blocks"}
        -> 200 {"ok": true, "channel", "ts", "text"}, or
           {"ok": false, "error": "message_not_found"} for a ts it never
           gave out
    POST /response/ANYTHING     a response_url: JSON message -> 200 "ok"

Both Web API methods need "Authorization: Bearer xoxb-..." (else
{"ok": false, "error": "not_authed"}), as Slack does.  Every call is
recorded (method, path, headers, parsed JSON body, answer).

Control (never recorded):

    POST /_control {"error": "channel_not_found" | "ratelimited" | ...,
                    "status": 429,        # HTTP status instead of 200
                    "retry_after": 1,     # Retry-After header
                    "count": N,           # the next N calls, then normal
                    "method": "chat.postMessage"}   # only this method
    GET  /_calls[?method=chat.update]   -> JSON array of recorded calls
    POST /_reset                        -> forget calls and rules

Prints "listening on PORT" once it accepts connections (--port 0 picks a
free port) and exits cleanly on SIGTERM or SIGINT.
"""

import argparse
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []
        self.rules = []
        self.ts = 1700000000000100
        self.given = set()

    def next_ts(self):
        with self.lock:
            self.ts += 1
            ts = "%d.%06d" % (self.ts // 1000000, self.ts % 1000000)
            self.given.add(ts)
            return ts

    def take_rule(self, method):
        with self.lock:
            for r in self.rules:
                if r.get("method") in (None, method):
                    if r.get("count") is not None:
                        r["count"] -= 1
                        if r["count"] <= 0:
                            self.rules.remove(r)
                    return dict(r)
        return None


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, obj, headers=None):
        data = (json.dumps(obj) if not isinstance(obj, str) else obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8"
                         if not isinstance(obj, str) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/_calls":
            q = parse_qs(u.query)
            want = q.get("method", [None])[0]
            with STATE.lock:
                calls = [c for c in STATE.calls
                         if want is None or c["method"] == want]
            return self._answer(200, calls)
        self._answer(404, {"ok": False, "error": "unknown_method"})

    def do_POST(self):
        u = urlsplit(self.path)
        raw = self._body()
        if u.path == "/_reset":
            with STATE.lock:
                STATE.calls = []
                STATE.rules = []
            return self._answer(200, {"ok": True})
        if u.path == "/_control":
            rule = json.loads(raw or b"{}")
            with STATE.lock:
                STATE.rules.append(rule)
            return self._answer(200, {"ok": True})
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k: v for k, v in self.headers.items()}
        if u.path.startswith("/response/"):
            call = {"method": "response_url", "path": u.path,
                    "headers": headers, "body": body}
            with STATE.lock:
                STATE.calls.append(call)
            return self._answer(200, "ok")
        method = u.path.rsplit("/", 1)[-1]
        call = {"method": method, "path": u.path, "headers": headers,
                "body": body}
        rule = STATE.take_rule(method)
        if rule is not None:
            status = int(rule.get("status", 200))
            extra = {}
            if rule.get("retry_after") is not None:
                extra["Retry-After"] = str(rule["retry_after"])
            answer = {"ok": False, "error": rule.get("error", "ratelimited")}
            call["answer"] = answer
            call["status"] = status
            with STATE.lock:
                STATE.calls.append(call)
            return self._answer(status, answer, extra)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer xox"):
            answer = {"ok": False, "error": "not_authed"}
        elif method not in ("chat.postMessage", "chat.update"):
            answer = {"ok": False, "error": "unknown_method"}
        elif not isinstance(body, dict) or not body.get("channel"):
            answer = {"ok": False, "error": "channel_not_found"}
        elif method == "chat.postMessage":
            answer = {"ok": True, "channel": body["channel"],
                      "ts": STATE.next_ts(),
                      "message": {"text": body.get("text")}}
        elif body.get("ts") not in STATE.given:
            answer = {"ok": False, "error": "message_not_found"}
        else:
            answer = {"ok": True, "channel": body["channel"],
                      "ts": body["ts"], "text": body.get("text")}
        call["answer"] = answer
        call["status"] = 200
        with STATE.lock:
            STATE.calls.append(call)
        self._answer(200, answer)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    main()
