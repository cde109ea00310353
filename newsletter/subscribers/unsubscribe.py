"""The List-Unsubscribe token's side: resolve a link to its subscriber and act on it.

The state changes themselves are subscribers/lifecycle.py's; this module only reads
the token (its subscriber must exist and hold the token's key) and records where the
click came from (the edition).

The link itself never brings anyone back: it sits in every old email, forwarded copies
and mailbox providers' logs. The undo is a token of its own, given only on the page that
answered an unsubscribe which ended an active subscription, valid for a short while, and
bound to that unsubscribe: it works while that is still the latest event of the
subscription (so once, and never after a later resubscribe and unsubscribe).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.tracking.models import Event, EventKind, Method
from newsletter.tracking.token_claims import UndoClaim, UnsubscribeClaim
from newsletter.tracking.tokens import GONE, InvalidToken, Tokens, check_key

UNDONE = "this undo no longer applies (it was used, or your subscription changed since)"


@dataclass
class Outcome:
    subscriber: Subscriber
    publication: Publication
    changed: bool  # False when the subscriber was already in the asked-for state
    edition_id: int | None = None


def resolve(session: Session, claim: UnsubscribeClaim | UndoClaim) -> tuple[Subscriber, Publication]:
    subscriber = session.get(Subscriber, claim.subscriber_id)
    check_key(subscriber, claim.key)
    publication = session.get(Publication, claim.publication_id)
    if publication is None:
        raise InvalidToken(GONE)
    return subscriber, publication


def unsubscribe_with_claim(session: Session, claim: UnsubscribeClaim, method: Method) -> Outcome:
    """What the List-Unsubscribe URL (one-click or the link's form: web/unsubscribe_routes.py)
    and the mailto: address (bounces/unsubscribe_mail.py) do, from their token once read.
    Repeating it changes nothing and records nothing. InvalidToken when the token's
    subscriber is gone or no longer holds its key."""
    subscriber, publication = resolve(session, claim)
    changed = lifecycle.unsubscribe(session, subscriber, publication, method, claim.edition_id)
    return Outcome(subscriber, publication, changed, claim.edition_id)


def _latest_event(session: Session, subscriber_id: int, publication_id: int) -> Event | None:
    """The latest change of the subscription; a sign-up is not one (anyone can make it,
    and it must not cancel the owner's undo)."""
    return session.scalar(select(Event).where(Event.subscriber_id == subscriber_id,
                                              Event.publication_id == publication_id,
                                              Event.kind != EventKind.SIGNUP)
                          .order_by(Event.id.desc()).limit(1))


def undo_token(session: Session, tokens: Tokens, subscriber: Subscriber, publication: Publication) -> str:
    """The undo of the link unsubscribe just recorded (the caller knows it ended an
    active subscription)."""
    event = _latest_event(session, subscriber.id, publication.id)
    if event is None or event.kind != EventKind.UNSUBSCRIBE or event.method != Method.LINK:
        raise RuntimeError("no link unsubscribe to undo")
    return tokens.undo_unsubscribe(subscriber.id, subscriber.token_key, publication.id, event.id)


def undo_with_token(session: Session, tokens: Tokens, link: str, token: str, max_age: int) -> Outcome:
    """Resubscribe with the undo token posted with the link's; InvalidToken, nothing
    changed, unless both are genuine, the undo is unexpired and made for the link's
    subscriber and publication, and its unsubscribe is still the latest event."""
    link_claim = tokens.read_unsubscribe(link)
    claim = tokens.read_undo_unsubscribe(token, max_age)
    if (claim.subscriber_id, claim.key, claim.publication_id) != (link_claim.subscriber_id, link_claim.key,
                                                                  link_claim.publication_id):
        raise InvalidToken("this undo belongs to another link")
    subscriber, publication = resolve(session, claim)
    # Locked (PostgreSQL) so that two posts of one undo resubscribe once: the second waits,
    # then finds the unsubscribe no longer the latest change.
    sub = session.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber.id,
                                                    Subscription.publication_id == publication.id)
                         .with_for_update())
    event = _latest_event(session, subscriber.id, publication.id)
    if event is None or event.id != claim.event_id or sub is None or sub.status != SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidToken(UNDONE)
    changed = lifecycle.resubscribe(session, subscriber, publication, Method.LINK, event.edition_id)
    return Outcome(subscriber, publication, changed, event.edition_id)
