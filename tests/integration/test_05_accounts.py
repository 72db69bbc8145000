"""PUT /v1/accounts/{id}: create (201), merge update (200), and refusal of
bad input (unknown field, bad types, scope, over-long id) with the stored
row left unchanged."""

import calendar
import time

from lib import Daemon, check, eq, expect_error, lit, sql

COLS = ("id, name, plan, segment, seats, owner, slack_channel, "
        "extract(epoch FROM onboarded_at)::bigint, "
        "extract(epoch FROM renewal_at)::bigint, "
        "array_to_json(core_features)::text")


def account(db, aid):
    rows = sql(db, "SELECT %s FROM accounts WHERE id = %s" % (COLS, lit(aid)))
    return rows[0] if rows else None


def epoch(s):
    return str(calendar.timegm(time.strptime(
        s, "%Y-%m-%dT%H:%M:%SZ")))


def put(d, aid, body, token="backend", **kw):
    return d.request("PUT", "/v1/accounts/" + aid, body=body, token=token,
                     **kw)


FULL = {
    "name": "Acme Corp",
    "plan": "pro",
    "segment": "mid-market",
    "seats": 25,
    "owner": "alice@example.com",
    "slack_channel": "#acme",
    "onboarded_at": "2024-03-01T00:00:00Z",
    "renewal_at": "2027-03-01T00:00:00Z",
    "core_features": ["reports", "export"],
}


def test_create_then_merge_update():
    with Daemon() as d:
        st, hdrs, body = put(d, "acme", FULL)
        eq(st, 201, "create status (%r)" % (body,))
        eq(body, {"id": "acme", "created": True}, "create body")
        want = ("acme", "Acme Corp", "pro", "mid-market", "25",
                "alice@example.com", "#acme", epoch(FULL["onboarded_at"]),
                epoch(FULL["renewal_at"]), '["reports","export"]')
        eq(account(d.db, "acme"), want, "row after create")

        # Only plan and seats: the rest is kept.
        st, _, body = put(d, "acme", {"plan": "enterprise", "seats": 40})
        eq(st, 200, "update status (%r)" % (body,))
        eq(body, {"id": "acme", "created": False}, "update body")
        want = want[:2] + ("enterprise", "mid-market", "40") + want[5:]
        eq(account(d.db, "acme"), want, "row after a partial update")

        # A time with an offset is the same instant; features replaced.
        st, _, _ = put(d, "acme", {"renewal_at": "2027-03-01T09:00:00+09:00",
                                   "core_features": ["alerts"]})
        eq(st, 200, "second update status")
        want = want[:9] + ('["alerts"]',)
        eq(account(d.db, "acme"), want, "row after the second update")

        # An empty object changes nothing but is still a 200.
        eq(put(d, "acme", {}).status, 200, "empty update status")
        eq(account(d.db, "acme"), want, "row after an empty update")

        # null clears a field; absent fields stay.
        eq(put(d, "acme", {"owner": None, "slack_channel": None}).status,
           200, "update with nulls status")
        want = want[:5] + (None, None) + want[7:]
        eq(account(d.db, "acme"), want, "row after clearing owner/slack")

        # A new account from an empty object.
        st, _, body = put(d, "beta", {})
        eq((st, body), (201, {"id": "beta", "created": True}),
           "create from {}")
        eq(account(d.db, "beta"), ("beta",) + (None,) * 8 + ("[]",),
           "row created from {}")
        eq(int(sql(d.db, "SELECT count(*) FROM accounts")[0][0]), 2,
           "accounts rows")
        # The id may be as long as 128 bytes.
        long_id = "L" * 128
        eq(put(d, long_id, {"name": "Long"}).status, 201, "128-byte id")
        eq(account(d.db, long_id)[1], "Long", "name of the 128-byte id")


def test_bad_input_changes_nothing():
    with Daemon() as d:
        eq(put(d, "acme", FULL).status, 201, "create")
        before = account(d.db, "acme")
        bad = [
            ({"name": "X", "colour": "red"}, 400, "unknown_field"),
            ({"Name": "X"}, 400, "unknown_field"),
            ({"seats": "ten"}, 400, "invalid_field"),
            ({"seats": -1}, 400, "invalid_field"),
            ({"seats": 2.5}, 400, "invalid_field"),
            ({"name": 5}, 400, "invalid_field"),
            ({"plan": ["pro"]}, 400, "invalid_field"),
            ({"owner": "x" * 257}, 400, "invalid_field"),
            ({"onboarded_at": "yesterday"}, 400, "invalid_field"),
            ({"renewal_at": 1700000000}, 400, "invalid_field"),
            ({"core_features": "reports"}, 400, "invalid_field"),
            ({"core_features": [1, 2]}, 400, "invalid_field"),
            ({"core_features": [""]}, 400, "invalid_field"),
            # A good field next to a bad one: nothing is applied.
            ({"name": "Changed", "seats": "many"}, 400, "invalid_field"),
            ("{not json", 400, "invalid_json"),
            ("[]", 400, "invalid_json"),
            ('"acme"', 400, "invalid_json"),
        ]
        for body, status, code in bad:
            expect_error(put(d, "acme", body), status, code,
                         "PUT body %r" % (body,))
            eq(account(d.db, "acme"), before, "row after PUT %r" % (body,))

        expect_error(put(d, "acme", {"name": "R"}, token="reader"), 403,
                     "forbidden", "PUT with the reader token")
        expect_error(put(d, "acme", {"name": "R"}, token=None), 401,
                     "unauthorized", "PUT without a token")
        expect_error(put(d, "acme", '{"name": "T"}',
                         headers={"Content-Type": "text/plain"}), 415,
                     "unsupported_media_type", "PUT as text/plain")
        expect_error(put(d, "acme", '{"name": "T"}',
                         headers={"Content-Type": "application/x-ndjson"}),
                     415, "unsupported_media_type", "PUT as NDJSON")
        eq(account(d.db, "acme"), before, "row after refused PUTs")

        expect_error(put(d, "x" * 129, {"name": "too long"}), 400,
                     "invalid_account_id", "PUT with a 129-byte id")
        eq(int(sql(d.db, "SELECT count(*) FROM accounts")[0][0]), 1,
           "accounts rows after bad input")
        check(account(d.db, "x" * 129) is None, "over-long id stored")
