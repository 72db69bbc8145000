#!/usr/bin/env python3
"""receiver.py -- a small HTTP receiver standing in for Slack and webhook
endpoints in the demo and the tests (Python 3 standard library only).

    receiver.py --port N [--host 127.0.0.1] [--log FILE]

Every request (any method, any path but the control paths below) is
recorded as one JSON line in FILE and kept in memory:

    {"seq": 1, "time": 1763800000.123, "method": "POST", "path": "/x",
     "headers": {"Content-Type": "application/json", ...},
     "body": "...", "status": 200, "mode": "ok"}

"time" is when the request was fully read (Unix seconds, float); "status"
is what the receiver answered (null for "hang" requests whose client went
away).  By default it answers 200 "ok".

Control (never recorded):

    POST /_control  {"mode": "ok" | "500" | "429" | "404" | "410" | "hang"
                             | any status code 100..599 as a string,
                     "retry_after": 2,   # 429 (or any mode): Retry-After value
                     "count": N,         # next N requests, then back to ok;
                                         # absent = until changed
                     "path": "/x"}       # only requests to this path;
                                         # absent = every path
                    -> 200 {"rules": [...]}
    GET  /_requests[?path=/x]  -> 200 JSON array of the recorded requests
    POST /_reset    -> clears the requests and every rule

"hang" waits 60 s (or until the receiver shuts down) before answering 200.
A path rule wins over the global one.  The receiver prints
"listening on PORT" on stdout once it accepts connections (--port 0 picks
a free port and prints it) and exits cleanly on SIGTERM or SIGINT.
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HANG_SECONDS = 60.0
MAX_BODY = 16 * 1024 * 1024


class State:
    """Requests and rules, shared by the handler threads."""

    def __init__(self, logfile):
        self.lock = threading.Lock()
        self.requests = []
        self.rules = {}         # path (None = any) -> rule dict
        self.seq = 0
        self.logfile = logfile
        self.stopping = threading.Event()

    def reset(self):
        with self.lock:
            self.requests = []
            self.rules = {}

    def set_rule(self, path, mode, retry_after, count):
        with self.lock:
            if mode == "ok" and count is None and retry_after is None:
                # Back to normal: for one path, or (no path) everywhere.
                if path is None:
                    self.rules = {}
                else:
                    self.rules.pop(path, None)
            else:
                self.rules[path] = {"path": path, "mode": mode,
                                    "retry_after": retry_after,
                                    "count": count}
            return list(self.rules.values())

    def take_rule(self, path):
        """The rule for one request, counting it down; None = plain ok."""
        with self.lock:
            for key in (path, None):
                rule = self.rules.get(key)
                if rule is None:
                    continue
                if rule["count"] is not None:
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        del self.rules[key]
                return dict(rule)
            return None

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.requests.append(entry)
            if self.logfile is not None:
                self.logfile.write(json.dumps(entry) + "\n")
                self.logfile.flush()

    def set_status(self, entry, status):
        with self.lock:
            entry["status"] = status

    def snapshot(self, path=None):
        with self.lock:
            return [dict(r) for r in self.requests
                    if path is None or r["path"] == path]


def parse_mode(mode):
    """Returns (status, hang) for a mode string, or None if invalid."""
    if mode == "ok":
        return 200, False
    if mode == "hang":
        return 200, True
    if isinstance(mode, str) and mode.isdigit() and 100 <= int(mode) <= 599:
        return int(mode), False
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as Slack and curl expect
    server_version = "receiver.py"
    state = None                    # set in main()

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("eof in chunk size")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, ctype="text/plain", extra=None):
        data = body.encode() if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
            return False

    def reply_json(self, status, obj):
        return self.reply(status, json.dumps(obj), "application/json")

    def handle_any(self):
        try:
            body = self.read_body()
        except (ValueError, ConnectionError, OSError):
            self.close_connection = True
            self.reply(400, "bad request\n")
            return
        url = urlsplit(self.path)
        if url.path == "/_control" and self.command == "POST":
            self.control(body)
        elif url.path == "/_requests" and self.command == "GET":
            path = parse_qs(url.query).get("path", [None])[0]
            self.reply_json(200, self.state.snapshot(path))
        elif url.path == "/_reset" and self.command == "POST":
            self.state.reset()
            self.reply_json(200, {"reset": True})
        else:
            self.serve(url.path, body)

    def control(self, body):
        try:
            req = json.loads(body or b"{}")
            mode = str(req.get("mode", "ok"))
            if parse_mode(mode) is None:
                raise ValueError("unknown mode %r" % mode)
            count = req.get("count")
            if count is not None:
                count = int(count)
                if count < 1:
                    raise ValueError("count must be >= 1")
            retry_after = req.get("retry_after")
            if retry_after is not None:
                retry_after = str(retry_after)
            path = req.get("path")
        except (ValueError, TypeError, AttributeError) as e:
            self.reply_json(400, {"error": "bad_control", "message": str(e)})
            return
        rules = self.state.set_rule(path, mode, retry_after, count)
        self.reply_json(200, {"rules": rules})

    def serve(self, path, body):
        rule = self.state.take_rule(path)
        mode = rule["mode"] if rule else "ok"
        status, hang = parse_mode(mode)
        entry = {
            "time": time.time(),
            "method": self.command,
            "path": path,
            "query": urlsplit(self.path).query,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
            "status": None if hang else status,
            "mode": mode,
        }
        self.state.record(entry)
        if hang:
            self.state.stopping.wait(HANG_SECONDS)
        extra = {}
        if rule and rule.get("retry_after") is not None:
            extra["Retry-After"] = rule["retry_after"]
        text = {200: "ok", 404: "no_service", 410: "channel_is_archived",
                429: "rate_limited"}.get(status, "error %d" % status)
        if self.reply(status, text + "\n", extra=extra) and hang:
            self.state.set_status(entry, status)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that went away is not an error worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError,
                            TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True,
                    help="TCP port (0 = any free port)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log", help="append one JSON line per request here")
    args = ap.parse_args()

    logfile = open(args.log, "a", encoding="utf-8") if args.log else None
    state = State(logfile)
    Handler.state = state
    server = Server((args.host, args.port), Handler)

    def stop(signum, frame):
        state.stopping.set()
        # shutdown() waits for serve_forever(): call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        state.stopping.set()
        server.server_close()
        if logfile is not None:
            logfile.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
