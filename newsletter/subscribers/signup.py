"""Double opt-in: a sign-up asks, the confirmation link decides.

A sign-up never changes an active or disabled subscription, never moves someone who
left back in, and never mails an address that is disabled or suppressed for a hard
bounce, a complaint or by an admin. What it may do is send a confirmation link; only
that link, opened by the owner of the address, changes anything. Each sign-up that
needs confirming gets a nonce that its link carries; confirming clears it, so a link
works once, and an old link kept after unsubscribing re-subscribes nobody.

The web answers every well-formed sign-up identically and before any of this runs
(web/signup_routes.py): nothing here is visible to the person who asked, not even in
the time the answer takes.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.limits import Counters, person_key
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.subscribers.service import (
    SubscriberError,
    clean_name,
    clean_timezone,
    normalise_email,
    parse_sections,
)
from newsletter.tracking.models import EventKind, Method
from newsletter.tracking.tokens import ConfirmClaim, InvalidToken, check_key

S = SubscriptionStatus


@dataclass(frozen=True)
class SignupRequest:
    """A validated sign-up, as plain values (it may travel to a worker)."""

    publication_id: int
    email: str
    name: str
    sections: list[str] | None
    timezone: str = ""  # the browser's IANA zone; "" : none (or one we did not recognise)


@dataclass(frozen=True)
class SignupDecision:
    subscription_id: int | None
    send_confirmation: bool


def validate(publication: Publication, email: str, name: str = "", sections=None,
             timezone: str = "") -> SignupRequest:
    """InvalidInput on bad input; nothing is read or written. The time zone comes from
    the browser, not from the person: one we do not recognise is dropped, not refused."""
    try:
        zone = clean_timezone(timezone)
    except SubscriberError:
        zone = ""
    return SignupRequest(publication.id, normalise_email(email), clean_name(name),
                         parse_sections(publication, sections), zone)


def _new_nonce() -> int:
    return secrets.randbits(62) or 1


def sign_up(session: Session, publication: Publication, request: SignupRequest,
            secret: str | None = None) -> SignupDecision:
    """Record the request and decide whether a confirmation email goes out. With the secret
    key, an address erased at its owner's request is recognised and nothing is recorded."""
    if secret is not None and lifecycle.erased(session, secret, request.email) is not None:
        return SignupDecision(None, False)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == request.email))
    if subscriber is None:
        # The zone is taken for a new subscriber only: a sign-up is not proof of owning the
        # address, so it never moves a known subscriber's delivery time.
        subscriber = Subscriber(email=request.email, name=request.name, timezone=request.timezone)
        session.add(subscriber)
        session.flush()
    if subscriber.status == SubscriberStatus.DISABLED:
        return SignupDecision(None, False)
    if lifecycle.admin_only_suppression(session, subscriber.email, publication.id, secret) is not None:
        return SignupDecision(None, False)
    sub = lifecycle.subscription(session, subscriber.id, publication.id)
    if sub is not None and sub.status == S.ACTIVE:
        return SignupDecision(sub.id, False)  # nothing to confirm, nothing changes
    if sub is None:
        sub = Subscription(subscriber_id=subscriber.id, publication_id=publication.id, status=S.PENDING,
                           sections=request.sections, confirm_nonce=_new_nonce())
        session.add(sub)
    else:
        # Pending (never confirmed) or unsubscribed: the state stays as it is until the
        # owner confirms; the sections asked for wait beside it.
        sub.requested_sections = request.sections if request.sections is not None else []  # []: all
        if sub.status == S.UNSUBSCRIBED or not sub.confirm_nonce:
            sub.confirm_nonce = _new_nonce()
    session.flush()
    lifecycle.record_event(session, EventKind.SIGNUP, Method.WEB, subscriber.id, publication.id)
    metrics.signed_up()
    return SignupDecision(sub.id, True)


def process(session: Session, counters: Counters, secret: str, request: SignupRequest,
            per_email: tuple[int, int]) -> int | None:
    """Run a sign-up that was already answered: record it, and return the subscription
    whose confirmation email should go out now (None: no email; the limit per address
    also stops anyone from flooding an inbox with confirmations)."""
    publication = session.get(Publication, request.publication_id)
    if publication is None or not publication.active:
        return None
    decision = sign_up(session, publication, request, secret)
    if not decision.send_confirmation:
        return None
    if not counters.hit(f"email:{person_key(secret, request.email)}", *per_email):
        return None
    return decision.subscription_id


def confirmation_target(session: Session, claim: ConfirmClaim) -> Subscription:
    """The subscription a confirm link names, if the link is still the one that counts."""
    sub = session.get(Subscription, claim.subscription_id)
    check_key(sub.subscriber if sub is not None else None, claim.key)
    if not sub.confirm_nonce or sub.confirm_nonce != claim.nonce:
        raise InvalidToken("this confirmation link was already used or replaced by a newer one")
    return sub


def confirm(session: Session, claim: ConfirmClaim) -> Subscription:
    """The owner of the address confirms: active, with the sections they asked for, and
    their own unsubscribe lifted. Conflict when an admin must act first."""
    sub = confirmation_target(session, claim)
    publication = session.get(Publication, sub.publication_id)
    asked = sub.requested_sections  # None: nothing asked beyond the sign-up itself; []: every section
    sections = sub.sections if asked is None else (asked or None)
    activated = lifecycle.activate(session, sub.subscriber, publication, sections, Method.WEB, EventKind.CONFIRM)
    metrics.confirmed()
    return activated
