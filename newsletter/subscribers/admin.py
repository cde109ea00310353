"""What admins do to one subscriber, the domain's part: look them up, create, change name,
sections, time zone and status (disable, enable). Each change is recorded in the
subscriber's own events with the admin method. The role, the publication scope and the
audit entry are operators/subscribers.py's, which calls these. Their page with their
history and their data are people/held.py's; erasing them, people/erase.py's."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.lookups import get_or_404
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.subscribers.service import add_subscriber, clean_name, clean_timezone, parse_sections
from newsletter.tracking.models import EventKind, Method


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
