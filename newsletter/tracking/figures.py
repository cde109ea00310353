"""Figures as JSON for staff: per day (UTC days) and per edition. Sent, failed by class,
bounces, unsubscribes by method and by reason, complaints, sign-ups, confirmations.

(tracking/stats.py keeps the command line's per-edition summary.)
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.delivery import tallies
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import Edition
from newsletter.errors import InvalidInput
from newsletter.lookups import with_publication_slug
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.scope import check_seen, visible
from newsletter.tracking.models import Event, EventKind

MAX_DAYS = 366
_EVENT_KINDS = (EventKind.BOUNCE, EventKind.COMPLAINT, EventKind.UNSUBSCRIBE, EventKind.SIGNUP, EventKind.CONFIRM)


def _day(session: Session, column):
    """The UTC calendar day of a timestamp column, as a date."""
    return tallies.utc_day(session.get_bind().dialect.name, column)


_as_date = tallies.as_date


def _empty(day: date) -> dict:
    return {"date": day.isoformat(), "sent": 0, "failed": {}, "bounces": 0, "complaints": 0,
            "unsubscribes": {"total": 0, "by_method": {}, "by_reason": {}}, "signups": 0, "confirmations": 0}


def _add_event(entry: dict, kind: str, method: str, reason: str, n: int) -> None:
    if kind == EventKind.UNSUBSCRIBE:
        u = entry["unsubscribes"]
        u["total"] += n
        u["by_method"][method] = u["by_method"].get(method, 0) + n
        if reason:
            u["by_reason"][reason] = u["by_reason"].get(reason, 0) + n
    else:
        key = {EventKind.BOUNCE: "bounces", EventKind.COMPLAINT: "complaints", EventKind.SIGNUP: "signups",
               EventKind.CONFIRM: "confirmations"}[EventKind(kind)]
        entry[key] += n


def per_day(session: Session, actor: Actor, start: date, end: date, publication: str = "") -> list[dict]:
    """One entry per day from `start` to `end` inclusive (UTC)."""
    require(actor, Permission.READ)
    if end < start or (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"the range must run forwards and cover at most {MAX_DAYS} days")
    if end >= date.max:
        raise InvalidInput("the range must end before the last day of the calendar")
    lo = datetime.combine(start, time(0), UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), UTC)
    pub_id = None
    if publication:
        pub_id = session.scalar(select(Publication.id).where(Publication.slug == publication))
        if pub_id is None or not actor.sees(pub_id):
            raise InvalidInput(f"no publication {publication!r}")
    days = {start + timedelta(days=i): _empty(start + timedelta(days=i)) for i in range((end - start).days + 1)}

    clause = None
    if pub_id is not None:
        clause = Edition.publication_id == pub_id
    elif not actor.everywhere:  # the figures of the actor's publications only
        clause = visible(actor, Edition.publication_id)
    for (day, _klass), n in tallies.per_day(session, D.SENT, lo, hi, edition_clause=clause).items():
        days[day]["sent"] += n
    for (day, klass), n in tallies.per_day(session, D.FAILED, lo, hi, edition_clause=clause).items():
        failed = days[day]["failed"]
        failed[klass or "unknown"] = failed.get(klass or "unknown", 0) + n

    event_day = _day(session, Event.created_at)
    e = (select(event_day, Event.kind, Event.method, Event.reason, func.count())
         .where(Event.kind.in_(_EVENT_KINDS), Event.created_at >= lo, Event.created_at < hi)
         .group_by(event_day, Event.kind, Event.method, Event.reason))
    if pub_id is not None:
        e = e.where(Event.publication_id == pub_id)
    elif not actor.everywhere:
        e = e.where(visible(actor, Event.publication_id))
    for day, kind, method, reason, n in session.execute(e):
        _add_event(days[_as_date(day)], kind, method, reason, n)
    return list(days.values())


def per_edition(session: Session, actor: Actor, edition_id: int) -> dict:
    require(actor, Permission.READ)
    edition, slug = with_publication_slug(session, Edition, edition_id, "edition")
    check_seen(actor, edition.publication_id, "edition", edition_id)
    entry = _empty(edition.date)
    entry.pop("signups"), entry.pop("confirmations")
    states = tallies.states(session, [edition_id])[edition_id]
    entry["sent"] = states.get(D.SENT, 0)
    entry["deliveries"] = {s.value: states.get(s.value, 0) for s in D}
    entry["failed"] = {}
    for klass, n in tallies.failed(session, [edition_id])[edition_id].items():
        entry["failed"][klass or "unknown"] = entry["failed"].get(klass or "unknown", 0) + n
    for kind, method, reason, n in session.execute(
            select(Event.kind, Event.method, Event.reason, func.count())
            .where(Event.edition_id == edition_id, Event.kind.in_(_EVENT_KINDS[:3]))
            .group_by(Event.kind, Event.method, Event.reason)):
        _add_event(entry, kind, method, reason, n)
    entry.update(edition_id=edition.id, publication=slug, status=edition.status,
                 unsubscribe_rate=round(entry["unsubscribes"]["total"] / entry["sent"], 5) if entry["sent"] else 0.0)
    return entry
