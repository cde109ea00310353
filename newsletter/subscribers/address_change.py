"""A subscriber changes their address: asked from the preference centre, done only when
the link sent to the new address is used.

    request (preference centre) --> pending row --> emails (mail/account_mail.py):
        the old address is told; the new one gets the link (or, if it is someone
        else's, a note that nothing changed; if it must never be mailed, nothing)
    confirm (the new address's link) --> the address changes, old links stop working

Nothing the person who asks can see depends on the new address: the answer is the same
whether it is free, another subscriber's or suppressed, and the emails are decided and
sent after the answer. People are never merged: an address that already belongs to a
subscriber is refused when the link is used (an unproven one excepted: a row made by
sign-ups never confirmed, with no other history, belongs to nobody yet, since anyone can
sign any address up; it counts as free, and confirming the change removes it and its
pending sign-ups, mailing no one), and one that an admin, a hard bounce, a
complaint or an erasure suppressed for every publication is never taken over. The
person's own unsubscribes move with them (they are theirs); every other suppression
stays with the old address (it is about that mailbox).

Tokens and links name the pending row, never an address; a newer request replaces the
older one (one pending change per subscriber).
"""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from newsletter.addresses import normalise_email
from newsletter.db import Base, UTCDateTime, utcnow
from newsletter.errors import Conflict, InvalidInput
from newsletter.lookups import valid_id
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import (
    OWN_SUPPRESSIONS,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    new_token_key,
)
from newsletter.tracking.models import Event, EventKind, Method
from newsletter.tracking.token_claims import AddressClaim
from newsletter.tracking.tokens import InvalidToken, check_key


class AddressChange(Base):
    __tablename__ = "address_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), unique=True)
    new_email: Mapped[str] = mapped_column(String(320))
    nonce: Mapped[int] = mapped_column(BigInteger)  # the link carries it; a newer request replaces it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Target(StrEnum):
    """What the new address is, decided when the emails go out (never shown to the asker)."""

    FREE = "free"
    TAKEN = "taken"  # another subscriber's
    NEVER = "never"  # suppressed for every publication by an admin, a bounce, a complaint, an erasure


def request_change(session: Session, subscriber: Subscriber, new_address: str) -> AddressChange:
    """Record the request (InvalidInput for a malformed address or the current one)."""
    email = normalise_email(new_address)
    if email == subscriber.email:
        raise InvalidInput("that is already your address")
    change = session.scalar(select(AddressChange).where(AddressChange.subscriber_id == subscriber.id))
    if change is None:
        change = AddressChange(subscriber_id=subscriber.id)
        session.add(change)
    change.new_email, change.nonce, change.created_at = email, secrets.randbits(62) or 1, utcnow()
    session.flush()
    return change


def pending(session: Session, subscriber: Subscriber) -> AddressChange | None:
    return session.scalar(select(AddressChange).where(AddressChange.subscriber_id == subscriber.id))


def withdraw(session: Session, change: AddressChange) -> None:
    """The link to the new address bounced (bounces/personal.py): the request ends; the
    subscriber and every address stay as they were."""
    session.delete(change)
    session.flush()


PREVIOUS_ADDRESS = "email:"  # a profile event's detail: the address before the change


def target_of(session: Session, secret: str, email: str, subscriber_id: int) -> Target:
    """NEVER first: an address that must not be mailed (suppressed, erased, or held by a
    subscriber an admin disabled) is not mailed, whoever holds it."""
    if lifecycle.admin_only_suppression(session, email, None, secret) is not None:
        return Target.NEVER
    other = session.scalar(select(Subscriber).where(Subscriber.email == email, Subscriber.id != subscriber_id))
    if other is None:
        return Target.FREE
    if other.status == SubscriberStatus.DISABLED:
        return Target.NEVER
    return Target.FREE if unproven(session, other.id) else Target.TAKEN


def unproven(session: Session, subscriber_id: int) -> bool:
    """A row that only sign-ups made: every subscription pending (never confirmed), and
    nothing ever recorded for it but those sign-ups (no confirm, no unsubscribe, no admin's
    act, no bounce)."""
    held = session.scalar(select(Subscription.id).where(Subscription.subscriber_id == subscriber_id,
                                                        Subscription.status != SubscriptionStatus.PENDING).limit(1))
    lived = session.scalar(select(Event.id).where(Event.subscriber_id == subscriber_id,
                                                  Event.kind != EventKind.SIGNUP).limit(1))
    return held is None and lived is None


def claimed(session: Session, claim: AddressClaim) -> tuple[AddressChange, Subscriber]:
    """The pending change a link names, if the link is still the one that counts."""
    change = session.get(AddressChange, claim.change_id) if valid_id(claim.change_id) else None
    subscriber = session.get(Subscriber, change.subscriber_id) if change is not None else None
    check_key(subscriber, claim.key)
    if change.nonce != claim.nonce:
        raise InvalidToken("this link was replaced by a newer one: use the most recent email")
    return change, subscriber


def confirm(session: Session, secret: str, claim: AddressClaim) -> Subscriber:
    """The owner of the new address confirms: the subscriber's address becomes it, their
    own unsubscribes move along, and every old link stops working (a new link key).
    Conflict, with nothing changed, when the address cannot be taken over."""
    change, subscriber = claimed(session, claim)
    old, new = subscriber.email, change.new_email
    if target_of(session, secret, new, subscriber.id) != Target.FREE:
        raise Conflict("this address cannot take over the subscription (it already has one of its own, or "
                       "must not be mailed); nothing was changed")
    for row in session.scalars(select(Suppression).where(Suppression.email == old,
                                                         Suppression.reason.in_(list(OWN_SUPPRESSIONS)))):
        lifecycle.suppress(session, new, row.publication_id, row.reason)
        session.delete(row)
    session.delete(change)
    taken = Conflict("this address already has a subscription of its own; nothing was changed")
    try:
        # Locked and judged again (PostgreSQL): its owner may have confirmed a sign-up since.
        for holder in session.scalars(select(Subscriber).where(Subscriber.email == new, Subscriber.id != subscriber.id)
                                      .with_for_update()):
            if not unproven(session, holder.id):
                raise taken
            session.delete(holder)  # unproven: its pending sign-ups and their links go with it
        session.flush()
        session.execute(update(Subscriber).where(Subscriber.id == subscriber.id)
                        .values(email=new, token_key=new_token_key()))
        session.flush()
    except IntegrityError:  # the address became a subscriber's since the check
        raise taken from None
    session.refresh(subscriber)
    # The old address is kept with the person's history (their export shows it), so that
    # erasing them later finds it too, in the database and in outbox files (people/erase.py).
    lifecycle.record_event(session, EventKind.PROFILE, Method.PREFERENCE_CENTRE, subscriber.id, None,
                           detail=f"{PREVIOUS_ADDRESS}{old}")
    session.flush()
    return subscriber
