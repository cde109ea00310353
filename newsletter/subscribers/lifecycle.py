"""The one owner of subscription state: subscribe, resubscribe, unsubscribe, bounce,
complain, suppress. Sign-up and confirmation (signup.py) are built on these.

The rules users trust us for, enforced here and nowhere else:
- only the subscriber changes their subscription: nobody is moved back in after
  leaving except by their own action (an undo, a confirmed sign-up) or by an admin
  acting at their request, recorded with the admin method;
- a suppression for a hard bounce, a complaint or by an admin is lifted by an admin
  only; the person's own unsubscribe is lifted when they come back;
- suppressed or disabled addresses are never mailed (the senders check at claim time);
- an erased address is suppressed by its keyed hash only (address_hash.py): the checks
  that can bring an address in (sign-up, an admin's add, import) pass the secret key,
  and so does the sender.

Functions take an ORM session; Core code (the batch) passes `Session(bind=conn)`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import Conflict
from newsletter.publications.models import Publication
from newsletter.subscribers.address_hash import address_hash
from newsletter.subscribers.models import (
    OWN_SUPPRESSIONS,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from newsletter.tracking.models import OWN_METHODS, Event, EventKind, Method
from newsletter.webhooks import outbox

S = SubscriptionStatus


def subscription(session: Session, subscriber_id: int, publication_id: int) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber_id,
                                                     Subscription.publication_id == publication_id))


def erased(session: Session, secret: str, email: str) -> Suppression | None:
    """The suppression left by erasing this address at its owner's request, if any."""
    return session.scalar(select(Suppression).where(Suppression.email_hash == address_hash(secret, email),
                                                    Suppression.email_hash != "").limit(1))


def suppressions(session: Session, email: str, publication_id: int | None,
                 secret: str | None = None) -> list[Suppression]:
    """Every suppression that stops mail to `email` for this publication (global ones too);
    with the secret key, the erasure of this address as well."""
    scope = Suppression.publication_id.is_(None)
    if publication_id is not None:
        scope = or_(scope, Suppression.publication_id == publication_id)
    match = Suppression.email == email
    if secret is not None:
        match = or_(match, (Suppression.email_hash == address_hash(secret, email)) & (Suppression.email_hash != ""))
    return list(session.scalars(select(Suppression).where(match, scope)))


def admin_only_suppression(session: Session, email: str, publication_id: int | None,
                           secret: str | None = None) -> Suppression | None:
    """A suppression the person cannot lift by coming back (hard bounce, complaint, admin,
    erasure: pass the secret key so that erased addresses are found too)."""
    return next((s for s in suppressions(session, email, publication_id, secret)
                 if s.reason not in OWN_SUPPRESSIONS), None)


def suppress(session: Session, email: str, publication_id: int | None, reason: SuppressionReason) -> None:
    known = session.scalar(select(Suppression.id).where(
        Suppression.email == email,
        Suppression.publication_id.is_(None) if publication_id is None
        else Suppression.publication_id == publication_id))
    if known is None:
        session.add(Suppression(email=email, publication_id=publication_id, reason=reason))
        session.flush()


def _lift_own(session: Session, email: str, publication_id: int) -> None:
    session.execute(delete(Suppression).where(
        Suppression.email == email, Suppression.reason.in_(list(OWN_SUPPRESSIONS)),
        or_(Suppression.publication_id == publication_id, Suppression.publication_id.is_(None))))


def record_event(session: Session, kind: EventKind, method: Method, subscriber_id: int, publication_id: int | None,
           edition_id: int | None = None, reason: str = "", detail: str = "", at: datetime | None = None) -> None:
    session.add(Event(kind=kind, method=method, subscriber_id=subscriber_id, publication_id=publication_id,
                      edition_id=edition_id, reason=reason[:64], detail=detail[:2000], created_at=at or utcnow()))
    outbox.subscriber_event(session.connection(), kind, method, subscriber_id, publication_id, edition_id, at)


def refuse_if_blocked(session: Session, subscriber, publication: Publication, secret: str | None = None) -> None:
    """Conflict, with the reason, when nobody but an admin may bring this person back."""
    if subscriber.status == SubscriberStatus.DISABLED:
        raise Conflict(f"{subscriber.email} is disabled by an admin; enable them first")
    blocking = admin_only_suppression(session, subscriber.email, publication.id, secret)
    if blocking is not None and blocking.reason == SuppressionReason.ERASED:
        raise Conflict("this address was erased at its owner's request and is never mailed again")
    if blocking is not None:
        raise Conflict(f"{subscriber.email} is suppressed ({blocking.reason}, since "
                       f"{blocking.created_at:%Y-%m-%d}); an admin must lift that suppression first")


def activate(session: Session, subscriber, publication: Publication, sections: list[str] | None,
             method: Method, kind: EventKind, edition_id: int | None = None, secret: str | None = None) -> Subscription:
    """Make the subscription active and lift the person's own unsubscribe. Callers have
    established that the person asked for it (or an admin at their request)."""
    refuse_if_blocked(session, subscriber, publication, secret)
    sub = subscription(session, subscriber.id, publication.id)
    if sub is None:
        sub = Subscription(subscriber_id=subscriber.id, publication_id=publication.id, status=S.ACTIVE,
                           sections=sections)
        session.add(sub)
    else:
        sub.status, sub.sections = S.ACTIVE, sections
        _clear_request(sub)
    _lift_own(session, subscriber.email, publication.id)
    record_event(session, kind, method, subscriber.id, publication.id, edition_id)
    session.flush()
    return sub


def _clear_request(sub: Subscription) -> None:
    """A pending sign-up's link and what it asked for (signup.py) end with any move."""
    sub.confirm_nonce, sub.requested_sections, sub.requested_name, sub.requested_timezone = 0, None, "", ""


def drop_request(session: Session, sub: Subscription) -> None:
    """A pending sign-up whose confirmation bounced (bounces/personal.py): its link and what
    it asked for end; the subscription stays as it was (pending, or left), and nothing is
    suppressed: whoever asked was not proven to own the address."""
    _clear_request(sub)
    session.flush()


def add_by_admin(session: Session, subscriber, publication: Publication, sections: list[str] | None,
                 secret: str | None = None) -> Subscription:
    """An admin adds someone. Someone who left is not moved back in by this: that is
    `resubscribe`, a separate and recorded act. Someone already subscribed is refused too:
    adding is not a way to change what they chose (an update is, and it is recorded)."""
    sub = subscription(session, subscriber.id, publication.id)
    if sub is not None and sub.status == S.UNSUBSCRIBED:
        raise Conflict(f"{subscriber.email} unsubscribed from {publication.slug}; only they can come back, "
                       "or an admin at their request: `newsletter subscribers resubscribe`")
    refuse_if_blocked(session, subscriber, publication, secret)
    if sub is not None and sub.status == S.ACTIVE:
        raise Conflict(f"{subscriber.email} is already subscribed to {publication.slug} (subscriber "
                       f"{subscriber.id}); change their name or sections with an update")
    return activate(session, subscriber, publication, sections, Method.ADMIN, EventKind.SUBSCRIBE, secret=secret)


def resubscribe(session: Session, subscriber, publication: Publication, method: Method,
                edition_id: int | None = None, secret: str | None = None) -> bool:
    """Undo an unsubscribe (their link or preference centre, or an admin at their request).
    Lifts their own unsubscribe; refuses (Conflict) for hard bounces, complaints, admin
    suppressions and disabled subscribers. Returns whether anything changed."""
    sub = subscription(session, subscriber.id, publication.id)
    if sub is not None and sub.status == S.ACTIVE:
        return False
    activate(session, subscriber, publication, sub.sections if sub else None, method, EventKind.RESUBSCRIBE,
             edition_id, secret)
    return True


def unsubscribe(session: Session, subscriber, publication: Publication, method: Method,
                edition_id: int | None = None, reason: str = "", detail: str = "") -> bool:
    """Leave one publication. Idempotent: repeating it changes and records nothing."""
    sub = subscription(session, subscriber.id, publication.id)
    changed = sub is not None and sub.status != S.UNSUBSCRIBED
    if sub is not None:
        sub.status = S.UNSUBSCRIBED
        _clear_request(sub)
    suppress(session, subscriber.email, publication.id, SuppressionReason.UNSUBSCRIBE)
    if changed:
        record_event(session, EventKind.UNSUBSCRIBE, method, subscriber.id, publication.id, edition_id, reason, detail)
    session.flush()
    return changed


def end_for_address(session: Session, subscriber_id: int, email: str, publication_id: int | None,
                    edition_id: int | None, kind: EventKind, detail: str, at: datetime | None = None,
                    source: Method = Method.SMTP) -> None:
    """A hard bounce or a complaint: the event (a bounce's `source`: the relay while sending,
    or a report), a global suppression, and the subscription ended (recorded as an
    unsubscribe by the bounce or complaint method)."""
    reason = SuppressionReason.HARD_BOUNCE if kind == EventKind.BOUNCE else SuppressionReason.COMPLAINT
    method = Method.BOUNCE if kind == EventKind.BOUNCE else Method.COMPLAINT
    record_event(session, kind, source if kind == EventKind.BOUNCE else Method.COMPLAINT, subscriber_id,
           publication_id, edition_id, "hard" if kind == EventKind.BOUNCE else "", detail, at)
    suppress(session, email, None, reason)
    sub = subscription(session, subscriber_id, publication_id) if publication_id is not None else None
    if sub is not None and sub.status != S.UNSUBSCRIBED:
        sub.status = S.UNSUBSCRIBED
        record_event(session, EventKind.UNSUBSCRIBE, method, subscriber_id, publication_id, edition_id, at=at)
    session.flush()


def lift_misread_bounce(session: Session, subscriber, detail: str, at: datetime | None = None) -> list[int]:
    """A hard-bounce suppression that only a misread report caused (bounces/rereading.py
    decides that) is lifted, and each subscription that bounce ended is active again; not
    one the person left, or an admin ended, since (the last word on it must be the bounce's),
    and nothing for a subscriber an admin disabled. Recorded in their history. Returns the
    publications they are back on."""
    row = session.scalar(select(Suppression).where(
        Suppression.email == subscriber.email, Suppression.publication_id.is_(None),
        Suppression.reason == SuppressionReason.HARD_BOUNCE))
    if row is None:
        return []
    session.delete(row)
    record_event(session, EventKind.CORRECTION, Method.CORRECTION, subscriber.id, None, detail=detail, at=at)
    back = []
    for sub in session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id,
                                                          Subscription.status == S.UNSUBSCRIBED)):
        last = session.scalar(select(Event.method).where(
            Event.kind == EventKind.UNSUBSCRIBE, Event.subscriber_id == subscriber.id,
            Event.publication_id == sub.publication_id).order_by(Event.id.desc()).limit(1))
        if last != Method.BOUNCE or subscriber.status == SubscriberStatus.DISABLED \
                or suppressions(session, subscriber.email, sub.publication_id):
            continue
        sub.status = S.ACTIVE
        record_event(session, EventKind.RESUBSCRIBE, Method.CORRECTION, subscriber.id, sub.publication_id,
                     detail=detail, at=at)
        back.append(sub.publication_id)
    session.flush()
    return back


def record_reason(session: Session, subscriber_id: int, publication_id: int, reason: str, detail: str) -> None:
    """The optional 'why did you leave': only on the person's own latest unsubscribe
    from this publication, and only once."""
    event = session.scalar(select(Event).where(
        Event.kind == EventKind.UNSUBSCRIBE, Event.subscriber_id == subscriber_id,
        Event.publication_id == publication_id).order_by(Event.id.desc()).limit(1))
    if event is None or event.method not in OWN_METHODS:
        raise Conflict("there is no unsubscribe of yours to add a reason to")
    if event.reason:
        raise Conflict("a reason was already given; thank you")
    event.reason, event.detail = reason[:64], detail[:2000]
    session.flush()
