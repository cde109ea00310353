"""A pending sign-up's link applies its own request and nothing else (signup.py): the
sections, name and time zone asked for wait beside the nonce, a newer request replaces
them with a new link, and nothing of an unproven request reaches the person before that."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.config import sample_file
from newsletter.errors import Conflict
from newsletter.jobs import InlineDispatcher
from newsletter.limits import Counters
from newsletter.publications.load import load_publications
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus, Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.subscribers.signup import confirm, pending, process, sign_up, validate
from newsletter.tracking.token_claims import ConfirmClaim
from newsletter.tracking.tokens import InvalidToken
from newsletter.transport.backends import OutboxBackend
from tests.helpers import WEEKLY

SECRET = "test-secret-key-for-signing"


def ask(session, publication, email, **fields):
    decision = sign_up(session, publication, validate(publication, email, **fields), SECRET)
    sub = session.get(Subscription, decision.subscription_id)
    return ConfirmClaim(sub.id, sub.subscriber.token_key, sub.confirm_nonce)


def test_a_later_request_never_decides_what_an_earlier_link_applies(session, publication):
    hanks = ask(session, publication, "hank@example.org", sections=["superpowers"])
    anyones = ask(session, publication, "hank@example.org", sections=["nuclear-weapons"])
    assert anyones.nonce != hanks.nonce  # each request its own link
    with pytest.raises(InvalidToken, match="replaced by a newer one"):
        confirm(session, hanks)  # Hank's link does not apply someone else's sections
    sub = session.get(Subscription, hanks.subscription_id)
    assert sub.status == SubscriptionStatus.PENDING and pending(session, sub).sections == ["nuclear-weapons"]


def test_nothing_of_an_unproven_request_reaches_the_person_before_its_link(session, publication):
    ask(session, publication, "george@example.org", name="Buy pills at http://spam.example",
        timezone="Pacific/Kiritimati")
    george = session.scalar(select(Subscriber).where(Subscriber.email == "george@example.org"))
    assert (george.name, george.timezone) == ("", "")
    own = ask(session, publication, "george@example.org", name="George", timezone="Europe/London",
              sections=["drone-war"])
    asked = pending(session, session.get(Subscription, own.subscription_id))
    assert (asked.name, asked.timezone, asked.sections) == ("George", "Europe/London", ["drone-war"])
    sub = confirm(session, own)
    assert (george.name, george.timezone, sub.sections) == ("George", "Europe/London", ["drone-war"])
    assert (sub.requested_name, sub.requested_timezone, sub.requested_sections, sub.confirm_nonce) == ("", "", None, 0)


def test_a_known_subscribers_name_and_zone_stay_even_when_confirmed(session, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(sample_file("publications.toml").read_text() + WEEKLY)
    daily, other = load_publications(session, path)
    add_subscriber(session, daily, "ann@example.org", "Ann")
    claim = ask(session, other, "ann@example.org", name="Someone", timezone="Asia/Tokyo")
    assert pending(session, session.get(Subscription, claim.subscription_id)).name is None
    confirm(session, claim)
    ann = session.scalar(select(Subscriber).where(Subscriber.email == "ann@example.org"))
    assert (ann.name, ann.timezone) == ("Ann", "")


def test_a_request_past_the_limit_per_address_leaves_the_last_link_as_it_was(session, publication):
    first = ask(session, publication, "ivy@example.org", name="Ivy")
    counters = Counters()
    request = validate(publication, "ivy@example.org", name="Not Ivy", sections=["superpowers"])
    assert process(session, counters, SECRET, request, (1, 3600)) == first.subscription_id
    refused = validate(publication, "ivy@example.org", name="Mallory")
    assert process(session, counters, SECRET, refused, (1, 3600)) is None  # no email: nothing changes
    sub = session.get(Subscription, first.subscription_id)
    assert sub.requested_name == "Not Ivy" and sub.requested_sections == ["superpowers"]


def test_every_sign_up_renders_a_confirmation_and_only_a_due_one_is_sent(session, settings, publication,
                                                                         monkeypatch):
    """The work after the answer is the same whatever the state (the next request waits
    for it with the inline dispatcher): a confirmation is rendered each time."""
    from newsletter.mail import confirmation

    add_subscriber(session, publication, "active@example.org", "A")
    session.add(Suppression(email="gone@example.org", publication_id=None, reason="hard_bounce"))
    session.commit()
    rendered = []
    real = confirmation.render_email
    monkeypatch.setattr(confirmation, "render_email", lambda *a: rendered.append(a[0]) or real(*a))
    outbox = settings.var_dir / "outbox-test"
    dispatcher = InlineDispatcher(settings, OutboxBackend(outbox))
    for email in ("new@example.org", "active@example.org", "gone@example.org"):
        dispatcher.process_signup(validate(publication, email))
    assert rendered == ["confirm"] * 3
    assert len(list(outbox.glob("*.eml"))) == 1


def test_a_confirmation_applies_only_what_its_page_showed(session, publication):
    """The page shows 'name: unchanged' while Ann has another active subscription; if that
    ends before she presses, the press would apply the request's name: refused instead."""
    claim = ask(session, publication, "ann@example.org", name="Ann", timezone="Europe/Paris")
    sub = session.get(Subscription, claim.subscription_id)
    shown = pending(session, sub).fingerprint()
    sub.requested_name = "Someone Else"  # what confirming applies changed after the page was shown
    session.flush()
    with pytest.raises(Conflict, match="changed since the page was shown"):
        confirm(session, claim, shown)
    assert session.get(Subscription, claim.subscription_id).status == SubscriptionStatus.PENDING
    sub.requested_name = "Ann"
    session.flush()
    assert confirm(session, claim, shown).status == SubscriptionStatus.ACTIVE
