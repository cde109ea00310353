"""Mail to List-Unsubscribe's mailto: address, through the same intake as bounces (a
mailbox, or a relay's post with the envelope recipient): it unsubscribes the person its
token names, once, with the method mailto and the edition it came from."""
from __future__ import annotations

import mailbox

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.bounces.models import BounceReport
from newsletter.subscribers.models import Subscription, Suppression
from newsletter.tracking.models import Event
from tests.bounce_samples import deliver
from tests.personal_mail import mailto_of, request

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


def state(engine, subscriber_id: int):
    with Session(engine) as s:
        return (s.scalar(select(Subscription.status).where(Subscription.subscriber_id == subscriber_id)),
                s.execute(select(Event.method, Event.edition_id).where(Event.subscriber_id == subscriber_id,
                                                                       Event.kind == "unsubscribe")).all())


def reports(engine):
    with Session(engine) as s:
        return s.execute(select(BounceReport.status, BounceReport.report_type, BounceReport.outcome)
                         .order_by(BounceReport.id)).all()


def test_mail_to_the_mailto_address_unsubscribes_once(engine, settings, publication):
    ann, bob = deliver(engine, settings, publication, ["ann@example.org", "bob@example.org"])
    address = mailto_of(settings, ann)
    assert address.endswith("@" + publication.effective_bounce_domain)
    raw = request(address)
    first = intake.receive(engine, settings, raw, "http")
    assert intake.process_ids(engine, settings, [first.report_id]) == {"parsed": 1}
    assert state(engine, ann.subscriber_id) == ("unsubscribed", [("mailto", ann.edition_id)])
    with Session(engine) as s:
        assert s.scalar(select(Suppression.reason).where(Suppression.email == ann.email)) == "unsubscribe"
        report = s.get(BounceReport, first.report_id)
        assert (report.report_type, report.matched_by, report.subscriber_id, report.edition_id) == (
            "mailto", "mailto", ann.subscriber_id, ann.edition_id)
    # The same mail again is stored once; another mail with the same token changes nothing.
    assert not intake.receive(engine, settings, raw, "http").new
    again = intake.receive(engine, settings, request(address, n=2), "http")
    intake.process_ids(engine, settings, [again.report_id])
    assert state(engine, ann.subscriber_id) == ("unsubscribed", [("mailto", ann.edition_id)])
    assert reports(engine)[-1].outcome.endswith("already left, nothing changed")
    assert state(engine, bob.subscriber_id) == ("active", [])


def test_from_a_mailbox_the_address_is_read_where_mail_systems_write_it(engine, settings, publication, tmp_path):
    ann, bob, cat = deliver(engine, settings, publication, ["ann@example.org", "bob@example.org", "cat@example.org"])
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(request("unsubscribe-box@bounces.example.com", n=1,
                    headers=f"Delivered-To: {mailto_of(settings, ann).upper()}\r\n"))  # case changed on the way
    box.add(request(f"Unsubscribe <{mailto_of(settings, bob)}>", n=2))
    result = intake.collect(engine, settings, str(tmp_path / "Maildir"))
    assert (result.stored, result.statuses) == (2, {"parsed": 2})
    assert state(engine, ann.subscriber_id)[0] == state(engine, bob.subscriber_id)[0] == "unsubscribed"
    assert state(engine, cat.subscriber_id) == ("active", [])


def test_a_forged_token_does_nothing(engine, settings, publication):
    (ann,) = deliver(engine, settings, publication, ["ann@example.org"])
    address = mailto_of(settings, ann)
    local, _, domain = address.partition("@")
    forged = local[:-3] + ("aaa" if not local.endswith("aaa") else "bbb") + "@" + domain
    def events():
        with Session(engine) as s:
            return s.scalar(select(func.count(Event.id)))
    before = events()
    for n, raw in enumerate([request(forged), request("unsubscribe+x@" + domain, n=2)]):
        stored = intake.receive(engine, settings, raw, "http")
        assert intake.process_ids(engine, settings, [stored.report_id]) == {"unmatched": 1}, n
    assert state(engine, ann.subscriber_id) == ("active", []) and events() == before
    assert {r.outcome for r in reports(engine)} == {
        "mail to an unsubscribe address whose token is not valid: nothing done"}


def test_a_bounce_quoting_our_list_unsubscribe_is_a_bounce_not_a_request(engine, settings, publication):
    """Only the addresses the mail was sent to count, never what it quotes."""
    ann, bob = deliver(engine, settings, publication, ["ann@example.org", "bob@example.org"])
    raw = ann.report("gmail_no_such_user.eml").replace(
        b"List-Id: ", f"List-Unsubscribe: <mailto:{mailto_of(settings, bob)}>\r\nList-Id: ".encode(), 1)
    assert mailto_of(settings, bob).encode() in raw
    stored = intake.receive(engine, settings, raw, "http")
    intake.process_ids(engine, settings, [stored.report_id])
    assert state(engine, ann.subscriber_id) == ("unsubscribed", [("bounce", ann.edition_id)])
    assert state(engine, bob.subscriber_id) == ("active", [])


def test_the_relay_may_give_the_envelope_recipient(engine, settings, publication):
    """POST /bounces/inbound?recipient=...: the address in To: may be anything."""
    (ann,) = deliver(engine, settings, publication, ["ann@example.org"])
    stored = intake.receive(engine, settings, request("list@example.com"), "http", envelope_to=mailto_of(settings, ann))
    intake.process_ids(engine, settings, [stored.report_id])
    assert state(engine, ann.subscriber_id) == ("unsubscribed", [("mailto", ann.edition_id)])
