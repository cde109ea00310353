"""Staff acts on subscribers, for the console, the API and the command line alike:
search, one subscriber's page, create, update (disable, enable), re-subscribe at their
request, the CSV export of a search, one person's data, erasure.

Each act checks the role (staff/access.py) and the publication scope (staff/scope.py)
before any lookup, so that a refusal tells nothing; a change is recorded by
`audit.change` in its own transaction. The work itself is the domain's:
subscribers/admin.py, search.py, export.py, lifecycle.py; people/held.py, erase.py.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import purge_deleted
from newsletter.limits import Counters
from newsletter.lookups import get_or_404
from newsletter.people import erase as erasure
from newsletter.people import held
from newsletter.staff.access import Actor, Permission, require, require_everywhere
from newsletter.staff.audit import change
from newsletter.staff.scope import check_acts
from newsletter.subscribers import admin, export, lifecycle
from newsletter.subscribers import search as finding
from newsletter.subscribers.admin import Changes
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.subscribers.search import Filters, Page
from newsletter.tracking.models import Method

__all__ = ["Changes", "Filters", "Page"]


def search(session: Session, actor: Actor, f: Filters, before: int | None = None, limit: int = 50) -> Page:
    require(actor, Permission.READ)
    return finding.search(session, actor, f, before, limit)


def find(session: Session, actor: Actor, ref: str) -> Subscriber:
    """By id or by address (the command line), as far as the actor's publications go."""
    require(actor, Permission.READ)
    s = admin.find(session, ref)
    finding.seen_subscriber(session, actor, s.id)
    return s


def detail(session: Session, actor: Actor, subscriber_id: int) -> dict:
    require(actor, Permission.READ)
    s = admin.get(session, subscriber_id)
    finding.seen_subscriber(session, actor, s.id)
    return held.detail(session, s, actor.sees)


def create(session: Session, actor: Actor, secret: str, publication_slug: str, email: str, name: str = "",
           sections=None, timezone: str = "") -> Subscriber:
    """Add someone (active at once: the admin has their consent)."""
    require(actor, Permission.SUBSCRIBERS)
    pub = admin.publication(session, publication_slug)
    check_acts(actor, pub.id, pub.slug)
    with change(session, actor, Permission.SUBSCRIBERS, "subscriber.create") as ch:
        s = admin.create(session, secret, pub, email, name, sections, timezone)
        ch.target, ch.detail = f"subscriber:{s.id}", {"publication": pub.slug}
    return s


def update(session: Session, actor: Actor, subscriber_id: int, changes: Changes) -> Subscriber:
    """Name, time zone and status are the person's in every publication: they need a role
    for every one; sections, a role for that publication."""
    require(actor, Permission.SUBSCRIBERS)  # before any lookup: a refusal tells nothing
    if admin.person_changes(changes):
        require_everywhere(actor, Permission.SUBSCRIBERS, "a change to the person (name, time zone, status)")
    s = admin.get(session, subscriber_id)
    finding.seen_subscriber(session, actor, s.id)
    for slug in changes.sections or {}:
        pub = admin.publication(session, slug)
        check_acts(actor, pub.id, pub.slug)
    with change(session, actor, Permission.SUBSCRIBERS, "subscriber.update", f"subscriber:{s.id}") as ch:
        fields = admin.update(session, s, changes)
        ch.detail = {"fields": fields, "status": s.status} if "status" in fields else {"fields": fields}
        ch.nothing_changed = not fields  # asked for what already is: nothing to record
    return s


def disable(session: Session, actor: Actor, subscriber_id: int) -> Subscriber:
    """Never mailed again, whatever the subscriptions say, until enabled."""
    return update(session, actor, subscriber_id, Changes(status=SubscriberStatus.DISABLED))


def enable(session: Session, actor: Actor, subscriber_id: int) -> Subscriber:
    return update(session, actor, subscriber_id, Changes(status=SubscriberStatus.ACTIVE))


def resubscribe(session: Session, actor: Actor, secret: str, subscriber_id: int, publication_slug: str) -> bool:
    """At their request: lifts only their own unsubscribe. A hard bounce, a complaint or an
    admin suppression must be removed first (suppressions.remove); Conflict says which."""
    require(actor, Permission.SUBSCRIBERS)
    s = admin.get(session, subscriber_id)
    finding.seen_subscriber(session, actor, s.id)
    pub = admin.publication(session, publication_slug)
    check_acts(actor, pub.id, pub.slug)
    with change(session, actor, Permission.SUBSCRIBERS, "subscriber.resubscribe", f"subscriber:{s.id}") as ch:
        changed = lifecycle.resubscribe(session, s, pub, Method.ADMIN, secret=secret)
        ch.detail = {"publication": pub.slug, "changed": changed}
        ch.nothing_changed = not changed
    return changed


def export_csv(engine: Engine, actor: Actor, f: Filters, chunk: int = export.CHUNK) -> Iterator[str]:
    """Checks the role and the filters and records the export now (errors surface before
    the first byte); the returned iterator streams the CSV from its own session."""
    with Session(engine) as s:
        with change(s, actor, Permission.EXPORT, "subscribers.export") as ch:
            finding.conditions(s, f, actor)
            ch.detail = {"filters": f.as_dict()}
        s.commit()
    return export.stream_csv(engine, actor, f, chunk)


def export_person(session: Session, actor: Actor, subscriber_id: int) -> dict:
    """Everything about the person, every publication's included: a role for every one."""
    require_everywhere(actor, Permission.EXPORT, "a person's data export")
    with change(session, actor, Permission.EXPORT, "subscriber.data_export", f"subscriber:{subscriber_id}"):
        return held.person_data(session, get_or_404(session, Subscriber, subscriber_id, "subscriber"))


def erase(engine: Engine, settings: Settings, counters: Counters, actor: Actor, subscriber_id: int) -> erasure.Erasure:
    """The person goes from every publication: a role for every one, checked before any
    lookup. The database work is one transaction; files and counters go after it commits."""
    require_everywhere(actor, Permission.SUBSCRIBERS, "erasing a person")
    with Session(engine) as session:
        subscriber = admin.get(session, subscriber_id)
        with change(session, actor, Permission.SUBSCRIBERS, "subscriber.erase", f"subscriber:{subscriber.id}") as ch:
            done = erasure.erase_rows(session, settings.signing_key(), subscriber)
            ch.detail = {"deliveries": done.deliveries, "events": done.events, "scrubbed": done.scrubbed}
        session.commit()
    purge_deleted(engine)
    done.outbox_files = erasure.forget_outside(settings, counters, done.addresses)
    return done
