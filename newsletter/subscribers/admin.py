"""What admins do to one subscriber, the domain's part: look them up with their history,
create, change name, sections, time zone and status (disable, enable). Each change is
recorded in the subscriber's own events with the admin method. The role, the
publication scope and the audit entry are operators/subscribers.py's, which calls these.
Erasing is erase.py's; the data export, export.py's."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.delivery.models import Delivery
from newsletter.editions.models import Edition
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.lookups import get_or_404
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Suppression
from newsletter.subscribers.search import summary
from newsletter.subscribers.service import add_subscriber, clean_name, clean_timezone, parse_sections
from newsletter.tracking.models import Event, EventKind, Method

HISTORY = 200  # deliveries and events shown, newest first


def get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = get_or_404(session, Subscriber, subscriber_id, "subscriber")
    return subscriber


def find(session: Session, ref: str) -> Subscriber:
    """By id or by address (the command line)."""
    ref = (ref or "").strip()
    if ref.isdigit():
        return get(session, int(ref))
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == normalise_email(ref)))
    if subscriber is None:
        raise NotFound(f"no subscriber {ref}")
    return subscriber


def publication(session: Session, slug: str) -> Publication:
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None:
        raise InvalidInput(f"no publication {slug!r}")
    return pub


def detail(session: Session, s: Subscriber, sees: Callable[[int | None], bool]) -> dict:
    """The subscriber with subscriptions, suppressions and history (deliveries, events),
    as far as `sees` (the actor's publications) goes (events and suppressions of no
    publication too)."""
    pubs = dict(session.execute(select(Publication.id, Publication.slug)).all())
    subs = [{"publication": pubs.get(x.publication_id), "status": x.status, "sections": x.sections or None,
             "created_at": x.created_at.isoformat(), "updated_at": x.updated_at.isoformat()}
            for x in s.subscriptions if sees(x.publication_id)]
    out = summary(s, subs)
    out["suppressions"] = [{"id": x.id, "publication": pubs.get(x.publication_id), "reason": x.reason,
                            "note": x.note, "created_at": x.created_at.isoformat()}
                           for x in session.scalars(select(Suppression).where(Suppression.email == s.email))
                           if x.publication_id is None or sees(x.publication_id)]
    out["deliveries"] = [
        {"edition_id": d.edition_id, "publication": pubs.get(pid), "date": day.isoformat(), "status": d.status,
         "attempts": d.attempts, "error_class": d.error_class or None, "error": d.last_error or None,
         "sent_at": d.sent_at.isoformat() if d.sent_at else None}
        for d, day, pid in session.execute(
            select(Delivery, Edition.date, Edition.publication_id).join(Edition, Edition.id == Delivery.edition_id)
            .where(Delivery.subscriber_id == s.id).order_by(Delivery.id.desc()).limit(HISTORY))
        if sees(pid)]
    out["events"] = [
        {"at": e.created_at.isoformat(), "kind": e.kind, "method": e.method, "publication": pubs.get(e.publication_id),
         "edition_id": e.edition_id, "reason": e.reason or None, "detail": e.detail or None}
        for e in session.scalars(select(Event).where(Event.subscriber_id == s.id)
                                 .order_by(Event.id.desc()).limit(HISTORY))
        if e.publication_id is None or sees(e.publication_id)]
    return out


def create(session: Session, secret: str, pub: Publication, email: str, name: str = "", sections=None,
           timezone: str = "") -> Subscriber:
    """Add someone (active at once: the admin has their consent). Someone who left, is
    suppressed, disabled or erased is refused with the reason (Conflict)."""
    zone = clean_timezone(timezone)
    sub = add_subscriber(session, pub, email, name, sections, secret)
    if zone:
        sub.subscriber.timezone = zone
    session.flush()
    return sub.subscriber


@dataclass
class Changes:
    """What an update asks for; None leaves a field as it is."""

    name: str | None = None
    timezone: str | None = None
    status: str | None = None
    sections: dict[str, list[str] | None] | None = None  # publication slug -> slugs (None: every section)


def person_changes(changes: Changes) -> bool:
    """Whether the changes touch the person as a whole (every publication's)."""
    return changes.name is not None or changes.timezone is not None or changes.status is not None


def update(session: Session, s: Subscriber, changes: Changes) -> list[str]:
    """Apply what changes; the fields that did ("sections:<slug>" for a publication's)."""
    fields = []
    if changes.name is not None and clean_name(changes.name) != s.name:
        s.name = clean_name(changes.name)
        fields.append("name")
    if changes.timezone is not None and clean_timezone(changes.timezone) != s.timezone:
        s.timezone = clean_timezone(changes.timezone)
        fields.append("timezone")
    if fields:
        lifecycle.record_event(session, EventKind.PROFILE, Method.ADMIN, s.id, None, detail=",".join(fields))
    for slug, wanted in (changes.sections or {}).items():
        pub = publication(session, slug)
        sub = lifecycle.subscription(session, s.id, pub.id)
        if sub is None:
            raise Conflict(f"subscriber {s.id} has no subscription to {pub.slug}")
        chosen = parse_sections(pub, wanted)
        if chosen != (sub.sections or None):
            sub.sections = chosen
            lifecycle.record_event(session, EventKind.PREFERENCES, Method.ADMIN, s.id, pub.id,
                                   detail=",".join(chosen) if chosen else "all")
            fields.append(f"sections:{pub.slug}")
    if changes.status is not None:
        if changes.status not in {x.value for x in SubscriberStatus}:
            raise InvalidInput(f"unknown status {changes.status!r} (active or disabled)")
        if changes.status != s.status:
            s.status = changes.status
            kind = EventKind.DISABLE if changes.status == SubscriberStatus.DISABLED else EventKind.ENABLE
            lifecycle.record_event(session, kind, Method.ADMIN, s.id, None)
            fields.append("status")
    session.flush()
    return fields
