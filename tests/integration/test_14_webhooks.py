"""Webhook sources (issue 6): the shipped example sections of conf/sources/
with sample payloads in the shapes Zendesk (triggers and event
subscriptions), Freshdesk and Intercom send, each signed as that system
signs; wrong signatures, stale timestamps, missing headers, missing fields
and unknown event types get the right status and change nothing."""

import base64
import glob
import hashlib
import hmac
import json
import os
import re
import time

from lib import Daemon, check, eq, sql

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
SECRETS = {
    "ZENDESK_WEBHOOK_SECRET": "zd-secret-0123456789",
    "ZENDESK_EVENTS_SECRET": "zde-secret-0123456789",
    "INTERCOM_CLIENT_SECRET": "ic-secret-0123456789",
    "FRESHDESK_TOKEN": "fd-token-0123456789",
}


def sources_config():
    """Every [source:...] section shipped in conf/sources/."""
    out = []
    for path in sorted(glob.glob(os.path.join(TOP, "conf", "sources",
                                              "*.conf"))):
        text = open(path).read()
        start = re.search(r"^\[source:", text, re.M).start()
        out.append(text[start:])
    out.append("[token:freshdesk-sender]\nsecret = env:FRESHDESK_TOKEN\n"
               "scopes = ingest\n")
    return "\n".join(out)


def payload(name):
    with open(os.path.join(TOP, "tests", "payloads", name + ".json"),
              "rb") as f:
        return f.read()


def zendesk_headers(body, secret, ts=None):
    ts = ts or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sig = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body,
                                    hashlib.sha256).digest()).decode()
    return {"X-Zendesk-Webhook-Signature": sig,
            "X-Zendesk-Webhook-Signature-Timestamp": ts}


def intercom_headers(body, secret):
    return {"X-Hub-Signature": "sha1=" + hmac.new(
        secret.encode(), body, hashlib.sha1).hexdigest()}


def post(d, source, body, headers, token=None):
    return d.request("POST", "/v1/webhooks/" + source, body=body,
                     headers=headers, token=token)


def rows(d):
    return sql(d.db, "SELECT source, account_id, type FROM events "
               "ORDER BY received_at, id")


def test_webhook_sources():
    d = Daemon(extra=sources_config())
    d.env.update(SECRETS)
    with d:
        zd = payload("zendesk")
        secret = SECRETS["ZENDESK_WEBHOOK_SECRET"]
        # Refusals first: nothing may be stored by any of them.
        st, _, body = post(d, "zendesk", zd, {})
        eq((st, body.get("error")), (401, "missing_signature"),
           "no signature headers")
        st, _, body = post(d, "zendesk", zd,
                           zendesk_headers(zd, "not-the-secret"))
        eq((st, body.get("error")), (401, "invalid_signature"),
           "wrong secret")
        st, _, body = post(d, "zendesk", zd + b" ",
                           zendesk_headers(zd, secret))
        eq(st, 401, "a body changed after signing")
        old = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                            time.gmtime(time.time() - 3600))
        st, _, body = post(d, "zendesk", zd, zendesk_headers(zd, secret,
                                                             old))
        eq((st, body.get("error")), (401, "stale_signature"),
           "a timestamp an hour old")
        bad = json.loads(zd)
        bad["event"] = "deleted"
        bad = json.dumps(bad).encode()
        st, _, body = post(d, "zendesk", bad, zendesk_headers(bad, secret))
        eq((st, body.get("error")), (400, "unknown_type"),
           "an event type the source does not map: %r" % body)
        noacct = json.loads(zd)
        del noacct["account"]
        noacct = json.dumps(noacct).encode()
        st, _, body = post(d, "zendesk", noacct,
                           zendesk_headers(noacct, secret))
        eq((st, body.get("error")), (400, "missing_account_id"),
           "no account: %r" % body)
        wrong = json.loads(zd)
        wrong["ticket_id"] = {"not": "an id"}
        wrong = json.dumps(wrong).encode()
        st, _, body = post(d, "zendesk", wrong,
                           zendesk_headers(wrong, secret))
        eq(st, 400, "a field of the wrong type: %r" % body)
        check(body.get("error") in ("invalid_events", "invalid_prop"),
              "rejected as an invalid event: %r" % body)
        st, _, body = post(d, "zendesk", b"{not json",
                           zendesk_headers(b"{not json", secret))
        eq((st, body.get("error")), (400, "invalid_json"), "not JSON")
        st, _, body = post(d, "nosuch", zd, zendesk_headers(zd, secret))
        eq(st, 404, "unknown source")
        eq(rows(d), [], "refused webhooks stored nothing")

        # Zendesk trigger: accepted; a re-delivery is a duplicate.
        st, _, body = post(d, "zendesk", zd, zendesk_headers(zd, secret))
        eq((st, body.get("accepted")), (202, 1), "zendesk: %r" % body)
        st, _, body = post(d, "zendesk", zd, zendesk_headers(zd, secret))
        eq((st, body.get("duplicates")), (202, 1), "re-delivered")
        # Zendesk event subscriptions.
        for name in ("zendesk-events", "zendesk-events-status"):
            b = payload(name)
            st, _, body = post(d, "zendesk-events", b, zendesk_headers(
                b, SECRETS["ZENDESK_EVENTS_SECRET"]))
            eq((st, body.get("accepted")), (202, 1), "%s: %r" % (name,
                                                                  body))
        # Intercom.
        ic = payload("intercom")
        st, _, body = post(d, "intercom", ic, intercom_headers(
            ic, "wrong-secret"))
        eq(st, 401, "intercom, wrong secret")
        st, _, body = post(d, "intercom", ic, intercom_headers(
            ic, SECRETS["INTERCOM_CLIENT_SECRET"]))
        eq((st, body.get("accepted")), (202, 1), "intercom: %r" % body)
        # Freshdesk: no signature, a bearer token instead.
        fd = payload("freshdesk")
        st, _, body = post(d, "freshdesk", fd, {})
        eq(st, 401, "freshdesk without its token")
        st, _, body = post(d, "freshdesk", fd, {},
                           token=SECRETS["FRESHDESK_TOKEN"])
        eq((st, body.get("accepted")), (202, 1), "freshdesk: %r" % body)

        got = rows(d)
        eq([r[0] for r in got], ["zendesk", "zendesk-events",
                                 "zendesk-events", "intercom", "freshdesk"],
           "one event per accepted delivery, by source")
        check(all(r[2].startswith("ticket.") for r in got),
              "all ticket events: %r" % got)
        st, _, acct = d.request("GET", "/v1/accounts/acme", token="reader")
        eq(st, 200, "the ticket reached the account's windows")
        check(acct["windows"]["tickets_30d"] >= 1, "tickets counted: %r" %
              acct["windows"])
