"""Double opt-in: a sign-up makes a pending subscription; the signed link activates it.

The answer to a sign-up is the same whether the address was new, pending or already
active (the caller cannot tell who subscribes); only whether a confirmation email
should go out differs, and that stays on the server.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.publications.models import Publication
from newsletter.subscribers.models import ACTIVE, PENDING, Subscriber, Subscription, Suppression
from newsletter.subscribers.service import clean_name, normalise_email, parse_sections
from newsletter.tracking.models import CONFIRM, SIGNUP, WEB, Event
from newsletter.tracking.tokens import ConfirmClaim, check_key

CONFIRM_MAX_AGE = 7 * 24 * 3600  # a confirmation link works for a week


@dataclass
class SignupResult:
    subscription_id: int
    send_confirmation: bool  # False when already active: nothing to confirm


def sign_up(session: Session, publication: Publication, email: str, name: str = "",
            sections=None) -> SignupResult:
    """Validate (SubscriberError on bad input) and record a pending subscription."""
    address = normalise_email(email)
    name = clean_name(name)
    chosen = parse_sections(publication, sections)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if subscriber is None:
        subscriber = Subscriber(email=address, name=name)
        session.add(subscriber)
        session.flush()
    sub = session.scalar(select(Subscription).where(
        Subscription.subscriber_id == subscriber.id, Subscription.publication_id == publication.id))
    if sub is not None and sub.status == ACTIVE:
        return SignupResult(sub.id, False)  # nothing changes until they confirm anything
    if sub is None:
        sub = Subscription(subscriber_id=subscriber.id, publication_id=publication.id,
                           status=PENDING, sections=chosen)
        session.add(sub)
    else:
        sub.status, sub.sections = PENDING, chosen
    session.flush()
    session.add(Event(kind=SIGNUP, method=WEB, subscriber_id=subscriber.id, publication_id=publication.id))
    return SignupResult(sub.id, True)


def confirmation_target(session: Session, claim: ConfirmClaim) -> Subscription:
    """The subscription a confirm link names, if it still exists for the same person."""
    sub = session.get(Subscription, claim.subscription_id)
    check_key(sub.subscriber if sub is not None else None, claim.key)
    return sub


def confirm(session: Session, claim: ConfirmClaim) -> Subscription:
    """Activate a pending subscription; lifts suppressions (this is the way back)."""
    sub = confirmation_target(session, claim)
    if sub.status != ACTIVE:
        sub.status = ACTIVE
        email = sub.subscriber.email
        session.execute(delete(Suppression).where(
            Suppression.email == email,
            (Suppression.publication_id == sub.publication_id) | Suppression.publication_id.is_(None)))
        session.add(Event(kind=CONFIRM, method=WEB, subscriber_id=sub.subscriber_id,
                          publication_id=sub.publication_id, created_at=utcnow()))
    session.flush()
    return sub
