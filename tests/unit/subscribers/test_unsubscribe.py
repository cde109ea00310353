import pytest
from sqlalchemy import select

from newsletter.subscribers.lifecycle import resubscribe
from newsletter.subscribers.models import Subscription, SubscriptionStatus, Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.subscribers.unsubscribe import unsubscribe_with_claim
from newsletter.tracking.models import Event
from newsletter.tracking.tokens import InvalidToken, Tokens


def test_unsubscribe_is_idempotent_and_records_the_edition(session, publication):
    tokens = Tokens("k")
    sub = add_subscriber(session, publication, "Ann@Example.org", "Ann")
    other = add_subscriber(session, publication, "bob@example.org", "Bob")
    token = tokens.unsubscribe(sub.subscriber_id, sub.subscriber.token_key, publication.id, 77)
    first = unsubscribe_with_claim(session, tokens.read_unsubscribe(token), "one-click")
    second = unsubscribe_with_claim(session, tokens.read_unsubscribe(token), "one-click")
    session.commit()
    assert first.changed and not second.changed
    assert session.get(Subscription, sub.id).status == SubscriptionStatus.UNSUBSCRIBED
    assert session.get(Subscription, other.id).status == SubscriptionStatus.ACTIVE
    events = session.scalars(select(Event).where(Event.kind != "subscribe")).all()
    assert [(e.kind, e.method, e.edition_id) for e in events] == [("unsubscribe", "one-click", 77)]
    sup = session.scalars(select(Suppression)).all()
    assert [(s.email, s.publication_id) for s in sup] == [("ann@example.org", publication.id)]


def test_resubscribe_lifts_the_unsubscribe(session, publication):
    tokens = Tokens("k")
    sub = add_subscriber(session, publication, "ann@example.org")
    token = tokens.unsubscribe(sub.subscriber_id, sub.subscriber.token_key, publication.id, None)
    out = unsubscribe_with_claim(session, tokens.read_unsubscribe(token), "link")
    assert resubscribe(session, out.subscriber, publication, "link")
    assert session.get(Subscription, sub.id).status == SubscriptionStatus.ACTIVE
    assert session.scalars(select(Suppression)).all() == []


def test_token_for_a_deleted_subscriber_changes_nothing(session, publication):
    tokens = Tokens("k")
    with pytest.raises(InvalidToken):
        unsubscribe_with_claim(session, tokens.read_unsubscribe(tokens.unsubscribe(999, 1, publication.id, 1)), "link")
    assert session.scalars(select(Event)).all() == []
