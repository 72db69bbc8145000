"""Every error status of POST /v1/events, each with its JSON error body and
nothing stored; and every per-event rejection code in one mixed batch whose
valid events are still accepted."""

import json

from lib import Daemon, check, eq, ev, event_row, expect_error, raw_http


def test_invalid_json_and_empty_body():
    with Daemon() as d:
        for body in ("{not json", "[{\"id\": \"a\"},", "42", "\"str\"",
                     "null", "{\"id\": \"x\"} trailing"):
            expect_error(d.post(body), 400, "invalid_json",
                         "body %r" % body)
        for body in ("", "   \n", "[]"):
            expect_error(d.post(body), 400, "empty_body", "body %r" % body)
        for body in ("", "\n\r\n  \n"):
            expect_error(d.request("POST", "/v1/events", body=body,
                                   headers={"Content-Type":
                                            "application/x-ndjson"}),
                         400, "empty_body", "NDJSON body %r" % body)
        eq(d.count(), 0, "rows after bad bodies")


def test_invalid_events_all_rejected():
    with Daemon() as d:
        batch = [
            {"account_id": "a", "type": "login", "user_id": "u"},   # 0
            ev(type="no_such_type"),                                # 1
            ev(type="login", user=None),                            # 2
        ]
        body = expect_error(d.post(batch), 400, "invalid_events",
                            "all-invalid batch")
        eq([(r.get("index"), r.get("error")) for r in body.get("rejected",
                                                               [])],
           [(0, "missing_id"), (1, "unknown_type"), (2, "missing_user_id")],
           "rejected (index, error)")
        for r in body["rejected"]:
            check(isinstance(r.get("message"), str) and r["message"],
                  "rejection without message: %r" % r)
        # A single invalid object is a batch of one.
        body = expect_error(d.post(ev(type="login", user=None)), 400,
                            "invalid_events", "one invalid object")
        eq([(r["index"], r["error"]) for r in body["rejected"]],
           [(0, "missing_user_id")], "rejected of a single object")
        eq(d.count(), 0, "rows after invalid events")


def test_unauthorized():
    with Daemon() as d:
        e = ev()
        for token, headers, what in (
                (None, None, "no Authorization"),
                ("no-such-secret-1", None, "unknown token"),
                ("backend-secret-", None, "prefix of a token"),
                (None, {"Authorization": "Basic YmFja2VuZDpzZWNyZXQ="},
                 "Basic auth"),
                (None, {"Authorization": "Bearer"}, "empty bearer")):
            st, hdrs, body = resp = d.post([e], token=token, headers=headers)
            expect_error(resp, 401, "unauthorized", what)
            www = hdrs.get("WWW-Authenticate") or ""
            check(www.lower().startswith("bearer"),
                  "%s: WWW-Authenticate is %r" % (what, www))
        eq(d.count(), 0, "rows after 401s")


def test_forbidden():
    with Daemon() as d:
        expect_error(d.post([ev()], token="reader"), 403, "forbidden",
                     "reader token on ingest")
        eq(d.count(), 0, "rows after 403")
        # The admin token has ingest: accepted.
        eq(d.post([ev()], token="admin").status, 202, "admin token ingest")
        eq(d.count("source = 'admin'"), 1, "rows from the admin token")


def test_not_found():
    with Daemon() as d:
        for method, path in (("GET", "/"), ("GET", "/nope"),
                             ("POST", "/v1/event"), ("POST", "/v1/events/"),
                             ("POST", "/v1/eventsx"),
                             ("PUT", "/v1/accounts/a/b"),
                             ("PUT", "/v1/accounts/")):
            body = [ev()] if method != "GET" else None
            expect_error(d.request(method, path, body=body), 404,
                         "not_found", "%s %s" % (method, path))
        eq(d.count(), 0, "rows after 404s")


def test_method_not_allowed():
    with Daemon() as d:
        for method, path, allow in (("GET", "/v1/events", "POST"),
                                    ("PUT", "/v1/events", "POST"),
                                    ("DELETE", "/v1/events", "POST"),
                                    ("POST", "/healthz", "GET"),
                                    ("POST", "/readyz", "GET"),
                                    ("DELETE", "/v1/accounts/acme", "PUT"),
                                    ("POST", "/v1/accounts", "GET")):
            body = [ev()] if method in ("POST", "PUT") else None
            st, hdrs, _ = resp = d.request(method, path, body=body)
            expect_error(resp, 405, "method_not_allowed",
                         "%s %s" % (method, path))
            got = [m.strip() for m in (hdrs.get("Allow") or "").split(",")]
            check(allow in got, "%s %s: Allow is %r, want %s in it" % (
                method, path, hdrs.get("Allow"), allow))
        eq(d.count(), 0, "rows after 405s")


def test_length_required():
    with Daemon() as d:
        body = json.dumps([ev()]).encode()
        # No Content-Length, no Transfer-Encoding; the body follows but
        # cannot be framed.
        with d.raw() as c:
            c.send(raw_http("POST", "/v1/events",
                            [("Content-Type", "application/json")]) + body)
            resp = c.read_response()
        expect_error(resp, 411, "length_required", "POST without length")
        eq(d.count(), 0, "rows after 411")
        eq(d.request("GET", "/healthz", token=None).status, 200,
           "/healthz after 411")


def test_too_many_events():
    with Daemon(server={"max_events": 5}) as d:
        six = [ev() for _ in range(6)]
        expect_error(d.post(six), 413, "too_many_events", "6 events, max 5")
        nd = "\n".join(json.dumps(e) for e in six)
        expect_error(d.request("POST", "/v1/events", body=nd,
                               headers={"Content-Type":
                                        "application/x-ndjson"}),
                     413, "too_many_events", "6 NDJSON events, max 5")
        eq(d.count(), 0, "rows after 413 too_many_events")
        st, _, body = d.post(six[:5])
        eq(st, 202, "5 events, max 5 (%r)" % (body,))
        eq(body["accepted"], 5, "accepted at the limit")
        eq(d.count(), 5, "rows at the limit")


def test_unsupported_media_type():
    with Daemon() as d:
        body = json.dumps([ev()])
        for ctype in ("text/plain", None, "application/xml",
                      "application/jsonx", "multipart/form-data"):
            expect_error(d.post(body, headers={"Content-Type": ctype}), 415,
                         "unsupported_media_type", "Content-Type %r" % ctype)
        # Parameters and case do not matter.
        eq(d.post(body, headers={"Content-Type":
                                 "Application/JSON; charset=utf-8"}).status,
           202, "Application/JSON; charset=utf-8")
        eq(d.count(), 1, "rows after 415s (only the last one stored)")


def test_mixed_batch_every_rejection_code():
    with Daemon() as d:
        valid = [
            ev(account="mix"),
            ev(account="mix", type="feature_used",
               props={"feature": "search"}),
            ev(account="mix", type="ticket.created", user=None,
               props={"ticket_id": 1}),
        ]
        cases = [
            (42, "invalid_event"),
            (["nested"], "invalid_event"),
            ({"account_id": "mix", "type": "login", "user_id": "u"},
             "missing_id"),
            (dict(ev(account="mix"), id=None), "missing_id"),
            (dict(ev(account="mix"), id=12), "invalid_id"),
            (dict(ev(account="mix"), id=""), "invalid_id"),
            (dict(ev(account="mix"), id="x" * 257), "invalid_id"),
            (dict(ev(account="mix"), id="a\u0001b"), "invalid_id"),
            ({"id": "m1", "type": "login", "user_id": "u"},
             "missing_account_id"),
            (ev(account="a" * 129), "invalid_account_id"),
            (ev(account=""), "invalid_account_id"),
            ({"id": "m2", "account_id": "mix", "user_id": "u"},
             "missing_type"),
            (ev(account="mix", type="logout"), "unknown_type"),
            (dict(ev(account="mix"), type=3), "unknown_type"),
            (ev(account="mix", ts="2024-13-01T00:00:00Z"), "invalid_ts"),
            (ev(account="mix", ts=1700000000), "invalid_ts"),
            (ev(account="mix", user=17), "invalid_user_id"),
            (ev(account="mix", user=""), "invalid_user_id"),
            (ev(account="mix", type="login", user=None), "missing_user_id"),
            (ev(account="mix", type="feature_used", user=None,
                props={"feature": "x"}), "missing_user_id"),
            (ev(account="mix", props=[1, 2]), "invalid_props"),
            (ev(account="mix", props="x"), "invalid_props"),
            (ev(account="mix", type="feature_used"), "missing_prop"),
            (ev(account="mix", type="competitor.signal", user=None,
                props={"kind": "poc"}), "missing_prop"),
            (ev(account="mix", type="feature_used", props={"feature": ""}),
             "invalid_prop"),
            (ev(account="mix", type="ticket.created", user=None,
                props={"ticket_id": 5, "priority": "meh"}), "invalid_prop"),
            (ev(account="mix", type="ticket.created", user=None,
                props={"ticket_id": 5, "sentiment": 2}), "invalid_prop"),
            (ev(account="mix", type="contact.joined", user=None,
                props={"contact_id": "c", "is_champion": "yes"}),
             "invalid_prop"),
        ]
        batch, want = [], []
        vi = 0
        for i, (e, code) in enumerate(cases):
            if i % 9 == 0 and vi < len(valid):
                batch.append(valid[vi])         # valid events in between
                vi += 1
            want.append((len(batch), code))
            batch.append(e)
        batch.extend(valid[vi:])
        st, _, body = d.post(batch)
        eq(st, 202, "mixed batch status (%r)" % (body,))
        eq(body["accepted"], len(valid), "accepted of the mixed batch")
        eq(body["duplicates"], 0, "duplicates of the mixed batch")
        eq([(r["index"], r["error"]) for r in body["rejected"]], want,
           "rejected (index, error) of the mixed batch")
        codes = {c for _, c in want}
        for c in ("invalid_event", "missing_id", "invalid_id",
                  "missing_account_id", "invalid_account_id", "missing_type",
                  "unknown_type", "invalid_ts", "invalid_user_id",
                  "missing_user_id", "invalid_props", "missing_prop",
                  "invalid_prop"):
            check(c in codes, "code %s not exercised" % c)
        eq(d.count(), len(valid), "rows after the mixed batch")
        for e in valid:
            check(event_row(d.db, "backend", e["id"]) is not None,
                  "valid event %s not stored" % e["id"])
