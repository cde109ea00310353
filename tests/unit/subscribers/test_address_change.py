"""Changing one's address: the pending change, what the new address is (free, someone
else's, never to be mailed: erased ones included), and the confirmation, which moves the
person's own unsubscribes, leaves every other suppression with the old address, ends
every old link and merges nobody."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.errors import Conflict, InvalidInput
from newsletter.limits import Counters
from newsletter.mail.account_mail import send_address_change
from newsletter.operators import subscribers as operator_subscribers
from newsletter.staff.access import cli_actor
from newsletter.subscribers import address_change, lifecycle
from newsletter.subscribers.address_change import Target, confirm, request_change, target_of
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Suppression, SuppressionReason
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Event, Method
from newsletter.tracking.token_claims import AddressClaim
from newsletter.tracking.tokens import InvalidToken
from newsletter.transport.backends import OutboxBackend

SECRET = "test-secret-key-for-signing"


@pytest.fixture
def ann(session, publication):
    sub = add_subscriber(session, publication, "ann@example.org", "Ann")
    session.commit()
    return sub.subscriber



def test_a_request_is_checked_and_a_newer_one_replaces_it(session, ann):
    with pytest.raises(InvalidInput):
        request_change(session, ann, "not an address")
    with pytest.raises(InvalidInput, match="already your address"):
        request_change(session, ann, " ANN@example.org ")
    first = request_change(session, ann, "Ann.New@Example.org")
    nonce = first.nonce
    second = request_change(session, ann, "ann.other@example.org")
    assert second.id == first.id and second.nonce != nonce and second.new_email == "ann.other@example.org"
    assert session.scalar(select(Subscriber.email).where(Subscriber.id == ann.id)) == "ann@example.org"
    with pytest.raises(InvalidToken, match="replaced by a newer one"):
        confirm(session, SECRET, AddressClaim(first.id, ann.token_key, nonce))


def test_what_the_new_address_is(session, settings, publication, ann):
    add_subscriber(session, publication, "bob@example.org", "Bob")
    lifecycle.suppress(session, "bounced@example.org", None, SuppressionReason.HARD_BOUNCE)
    lifecycle.suppress(session, "left@example.org", publication.id, SuppressionReason.UNSUBSCRIBE)
    cara = add_subscriber(session, publication, "cara@example.org", "Cara").subscriber
    session.commit()
    operator_subscribers.erase(session.get_bind(), settings, Counters(), cli_actor(), cara.id)
    assert target_of(session, SECRET, "free@example.org", ann.id) == Target.FREE
    assert target_of(session, SECRET, "left@example.org", ann.id) == Target.FREE  # no one's, not barred
    assert target_of(session, SECRET, "bob@example.org", ann.id) == Target.TAKEN
    assert target_of(session, SECRET, "bounced@example.org", ann.id) == Target.NEVER
    assert target_of(session, SECRET, "cara@example.org", ann.id) == Target.NEVER  # erased: by its hash
    session.expunge_all()  # the erased row's id may come back (SQLite): forget the old object
    dan = add_subscriber(session, publication, "dan@example.org", "Dan").subscriber
    dan.status = SubscriberStatus.DISABLED
    session.flush()
    assert target_of(session, SECRET, "dan@example.org", ann.id) == Target.NEVER  # disabled: never mailed


def test_a_disabled_subscriber_gets_no_notice(session, settings, ann, tmp_path):
    change = request_change(session, ann, "ann.new@example.org")
    ann.status = SubscriberStatus.DISABLED
    session.commit()
    backend = OutboxBackend(tmp_path / "outbox")
    assert send_address_change(session, settings, backend, change.id, "old") == ""
    assert not list((tmp_path / "outbox").glob("*.eml"))


def test_confirming_moves_the_person_not_the_mailbox(session, publication, ann):
    lifecycle.unsubscribe(session, ann, publication, Method.LINK)  # theirs: moves along
    lifecycle.suppress(session, "ann@example.org", None, SuppressionReason.ADMIN)  # about the mailbox: stays
    change = request_change(session, ann, "ann.new@example.org")
    old_key = ann.token_key
    moved = confirm(session, SECRET, AddressClaim(change.id, old_key, change.nonce))
    session.commit()
    assert moved.id == ann.id and moved.email == "ann.new@example.org" and moved.token_key != old_key
    rows = {(s.email, s.reason) for s in session.scalars(select(Suppression))}
    assert rows == {("ann.new@example.org", "unsubscribe"), ("ann@example.org", "admin")}
    assert session.scalar(select(Event.detail).order_by(Event.id.desc()).limit(1)) == "email:ann@example.org"
    assert address_change.pending(session, moved) is None
    with pytest.raises(InvalidToken):  # the link works once
        confirm(session, SECRET, AddressClaim(change.id, old_key, change.nonce))


def test_nobody_is_merged(session, publication, ann):
    change = request_change(session, ann, "bob@example.org")
    add_subscriber(session, publication, "bob@example.org", "Bob")  # taken after the request
    with pytest.raises(Conflict, match="nothing was changed"):
        confirm(session, SECRET, AddressClaim(change.id, ann.token_key, change.nonce))
    session.rollback()
    assert session.scalar(select(Subscriber.email).where(Subscriber.id == ann.id)) == "ann@example.org"
    with pytest.raises(InvalidToken):  # a link for someone else's key is nobody's
        confirm(session, SECRET, AddressClaim(change.id, ann.token_key + 1, change.nonce))


def test_an_erasure_takes_the_pending_change_with_it(session, settings, ann):
    change = request_change(session, ann, "ann.new@example.org")
    session.commit()
    change_id = change.id
    operator_subscribers.erase(session.get_bind(), settings, Counters(), cli_actor(), ann.id)
    session.expire_all()
    assert session.get(address_change.AddressChange, change_id) is None


def test_an_unconfirmed_sign_up_does_not_take_an_address_from_its_owner(session, settings, publication, ann):
    from newsletter.subscribers.models import Subscription
    from newsletter.subscribers.signup import sign_up, validate

    for email in ("ann.new@example.org", "bounced@example.org", "gone@example.org"):  # anyone, anonymously
        sign_up(session, publication, validate(publication, email, name="Squatter"), SECRET)
    lifecycle.suppress(session, "bounced@example.org", None, SuppressionReason.HARD_BOUNCE)
    gone = session.scalar(select(Subscriber).where(Subscriber.email == "gone@example.org"))
    gone.status = SubscriberStatus.DISABLED
    left = add_subscriber(session, publication, "left@example.org", "Left").subscriber
    lifecycle.unsubscribe(session, left, publication, Method.LINK)  # was subscribed: still someone's
    session.flush()
    assert target_of(session, SECRET, "ann.new@example.org", ann.id) == Target.FREE
    assert target_of(session, SECRET, "bounced@example.org", ann.id) == Target.NEVER
    assert target_of(session, SECRET, "gone@example.org", ann.id) == Target.NEVER
    assert target_of(session, SECRET, "left@example.org", ann.id) == Target.TAKEN
    squatter = session.scalar(select(Subscriber.id).where(Subscriber.email == "ann.new@example.org"))
    change = request_change(session, ann, "ann.new@example.org")
    moved = confirm(session, SECRET, AddressClaim(change.id, ann.token_key, change.nonce))
    session.commit()
    assert moved.id == ann.id and moved.email == "ann.new@example.org"
    rows = session.execute(select(Subscriber.id, Subscriber.name).where(Subscriber.email == "ann.new@example.org"))
    assert rows.all() == [(ann.id, "Ann")]
    assert session.get(Subscriber, squatter) is None  # removed, its pending sign-up with it
    assert session.scalar(select(Subscription.id).where(Subscription.subscriber_id == squatter)) is None
