"""Leaving and coming back: idempotent, recorded as events with their edition."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.publications.models import Publication
from newsletter.subscribers.models import ACTIVE, UNSUBSCRIBED, Subscriber, Subscription, Suppression
from newsletter.tracking.models import RESUBSCRIBE, UNSUBSCRIBE, Event
from newsletter.tracking.tokens import GONE, InvalidToken, Tokens, UnsubscribeClaim, check_key


@dataclass
class Outcome:
    subscriber: Subscriber
    publication: Publication
    changed: bool  # False when the subscriber was already in the asked-for state
    edition_id: int | None = None


def resolve(session: Session, claim: UnsubscribeClaim) -> tuple[Subscriber, Publication]:
    subscriber = session.get(Subscriber, claim.subscriber_id)
    check_key(subscriber, claim.key)
    publication = session.get(Publication, claim.publication_id)
    if publication is None:
        raise InvalidToken(GONE)
    return subscriber, publication


def suppress(session: Session, email: str, publication_id: int | None, reason: str) -> None:
    exists = session.scalar(select(Suppression.id).where(
        Suppression.email == email,
        Suppression.publication_id.is_(None) if publication_id is None
        else Suppression.publication_id == publication_id))
    if exists is None:
        session.add(Suppression(email=email, publication_id=publication_id, reason=reason))


def set_unsubscribed(session: Session, subscriber: Subscriber, publication: Publication,
                     method: str, edition_id: int | None, reason: str = "", detail: str = "") -> bool:
    sub = session.scalar(select(Subscription).where(
        Subscription.subscriber_id == subscriber.id, Subscription.publication_id == publication.id))
    changed = sub is not None and sub.status != UNSUBSCRIBED
    if sub is not None:
        sub.status = UNSUBSCRIBED
    suppress(session, subscriber.email, publication.id, "unsubscribe")
    if changed:
        session.add(Event(kind=UNSUBSCRIBE, method=method, subscriber_id=subscriber.id,
                          publication_id=publication.id, edition_id=edition_id,
                          reason=reason[:64], detail=detail[:2000]))
    session.flush()
    return changed


def unsubscribe_with_token(session: Session, tokens: Tokens, token: str, method: str) -> Outcome:
    """What the List-Unsubscribe URL does. Repeating it changes nothing and records nothing."""
    claim = tokens.read_unsubscribe(token)
    subscriber, publication = resolve(session, claim)
    changed = set_unsubscribed(session, subscriber, publication, method, claim.edition_id)
    return Outcome(subscriber, publication, changed, claim.edition_id)


def resubscribe(session: Session, subscriber: Subscriber, publication: Publication,
                method: str, edition_id: int | None = None) -> bool:
    """Undo an unsubscribe: the person holding a signed link asked for it."""
    sub = session.scalar(select(Subscription).where(
        Subscription.subscriber_id == subscriber.id, Subscription.publication_id == publication.id))
    changed = sub is None or sub.status != ACTIVE
    if sub is None:
        session.add(Subscription(subscriber_id=subscriber.id, publication_id=publication.id, status=ACTIVE))
    else:
        sub.status = ACTIVE
    # Their own unsubscribe is lifted; a hard bounce or complaint is not lifted by a link.
    session.execute(delete(Suppression).where(
        Suppression.email == subscriber.email, Suppression.reason == "unsubscribe",
        (Suppression.publication_id == publication.id) | Suppression.publication_id.is_(None)))
    if changed:
        session.add(Event(kind=RESUBSCRIBE, method=method, subscriber_id=subscriber.id,
                          publication_id=publication.id, edition_id=edition_id))
    session.flush()
    return changed


def record_reason(session: Session, subscriber_id: int, publication_id: int,
                  reason: str, detail: str) -> None:
    """Attach the optional 'why did you leave' answer to the latest unsubscribe event."""
    event = session.scalar(select(Event).where(
        Event.kind == UNSUBSCRIBE, Event.subscriber_id == subscriber_id,
        Event.publication_id == publication_id).order_by(Event.id.desc()).limit(1))
    if event is not None:
        event.reason, event.detail = reason[:64], detail[:2000]
