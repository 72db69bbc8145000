"""Contact events out of arrival order (issue 11, item 4): two systems, one
back-fill.  A champion's contact.left is posted before the contact.joined
it follows (whose ts is older, and which alone says is_champion): through
the real daemon champion_left fires, with the explanation and evidence of
the same events posted in ts order; after a restart (which replays the
stored events by ts, source, id) the org signals are the same, field by
field.  Also two title changes posted newest first (the downgrade is the
later one), and a joined and a left at the same instant, posted in one
order and stored with ids that replay them in the other.
"""

import time

from lib import Daemon, check, eq, ev, rfc3339

DAY = 86400
ORG = ("champion_left", "title_downgrade", "new_executive",
       "contact_turnover")


def contact(acct, type, ts, cid, eid=None, **props):
    props["contact_id"] = cid
    return ev(eid, account=acct, type="contact." + type, user=None, ts=ts,
              props=props)


def post(d, events):
    st, _, body = d.post(events)
    eq(st, 202, "post: %r" % (body,))
    eq(body["rejected"], [], "rejected events")


def org_signals(d, acct):
    st, _, body = d.request("GET", "/v1/accounts/" + acct, token="reader")
    eq(st, 200, "GET %s: %r" % (acct, body))
    return {s["name"]: (s["severity"], s["explanation"],
                        sorted(s["evidence"].items()))
            for s in body["signals"] if s["name"] in ORG}


def test_contact_events_out_of_order_fire_and_survive_a_restart():
    now = int(time.time())
    midnight = now - now % DAY

    def day(k, sec=60):
        return rfc3339(midnight - k * DAY + sec)

    with Daemon(extra="[signals]\ninterval = 1\n"
                "[alerts]\nsettle = 1s\n") as d:
        for acct in ("late", "inorder", "titles", "instant"):
            st, _, body = d.request("PUT", "/v1/accounts/" + acct, body={
                "name": acct, "onboarded_at": rfc3339(midnight - 365 * DAY)})
            check(st in (200, 201), "PUT %s: %d %r" % (acct, st, body))

        # The left first, in a request of its own; then its joined.
        post(d, [contact("late", "left", day(10), "c-ana")])
        post(d, [contact("late", "joined", day(150), "c-ana",
                         title="VP Sales", is_champion=True)])
        # The same events in ts order, for comparison.
        post(d, [contact("inorder", "joined", day(150), "c-ana",
                         title="VP Sales", is_champion=True),
                 contact("inorder", "left", day(10), "c-ana")])
        # Two title changes, the newest posted first: VP -> Manager.
        post(d, [contact("titles", "changed", day(30), "c-bob",
                         title="Manager")])
        post(d, [contact("titles", "changed", day(60), "c-bob",
                         title="VP Engineering")])
        post(d, [contact("titles", "joined", day(150), "c-bob",
                         title="Director of IT", is_champion=True)])
        # Joined and left at one instant: posted joined first, stored
        # with ids that a restart replays left first.  The leaving wins.
        t = day(5)
        post(d, [contact("instant", "joined", t, "c-cy", eid="z-join",
                         title="CTO", is_champion=True)])
        post(d, [contact("instant", "left", t, "c-cy", eid="a-left")])

        want_left = ("critical", "champion 'c-ana' left 10 days ago",
                     [("champions", 1), ("contact", "c-ana"),
                      ("days", 90), ("days_ago", 10)])
        late = org_signals(d, "late")
        eq(late.get("champion_left"), want_left, "late: champion_left")
        eq(late, org_signals(d, "inorder"), "late == in ts order")
        titles = org_signals(d, "titles")
        check("title_downgrade" in titles, "titles: %r" % titles)
        eq(titles["title_downgrade"][1], "champion 'c-bob' went from VP "
           "to Manager level 30 days ago", "titles: the later change")
        instant = org_signals(d, "instant")
        eq(instant.get("champion_left", (None, ""))[1],
           "champion 'c-cy' left 5 days ago", "instant: %r" % instant)
        check("new_executive" in instant, "instant: %r" % instant)

        before = {a: org_signals(d, a)
                  for a in ("late", "inorder", "titles", "instant")}
        d.restart()
        after = {a: org_signals(d, a) for a in before}
        for a in before:
            eq(after[a], before[a], "%s after a restart" % a)
