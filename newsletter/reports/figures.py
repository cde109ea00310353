"""Figures as JSON for staff: per day (UTC days) and per edition. Sent, failed by class,
bounces, unsubscribes by method and by reason, complaints, sign-ups, confirmations.

(reports/stats.py keeps the command line's per-edition summary.)
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from newsletter.delivery import tallies
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.delivery.tallies import DeliveryTally
from newsletter.editions.models import Edition
from newsletter.errors import InvalidInput
from newsletter.lookups import with_publication_slug
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor
from newsletter.staff.scope import visible
from newsletter.tracking.models import Event, EventKind

MAX_DAYS = 366
_EVENT_KINDS = (EventKind.BOUNCE, EventKind.COMPLAINT, EventKind.UNSUBSCRIBE, EventKind.SIGNUP, EventKind.CONFIRM)


def _day(session: Session, column):
    """The UTC calendar day of a timestamp column, as a date."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores UTC text


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


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
    """One entry per day from `start` to `end` inclusive (UTC), of the actor's publications
    (the role is checked by operators/figures.py)."""
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

    sent_day = _day(session, Delivery.sent_at)
    q = select(sent_day, func.count()).where(Delivery.status == D.SENT, Delivery.sent_at >= lo, Delivery.sent_at < hi)
    failed_day = _day(session, Delivery.claimed_at)
    f = (select(failed_day, Delivery.error_class, func.count())
         .where(Delivery.status == D.FAILED, Delivery.claimed_at >= lo, Delivery.claimed_at < hi))
    if pub_id is not None:
        q = q.join(Edition, Edition.id == Delivery.edition_id).where(Edition.publication_id == pub_id)
        f = f.join(Edition, Edition.id == Delivery.edition_id).where(Edition.publication_id == pub_id)
    elif not actor.everywhere:  # the figures of the actor's publications only
        q = q.join(Edition, Edition.id == Delivery.edition_id).where(visible(actor, Edition.publication_id))
        f = f.join(Edition, Edition.id == Delivery.edition_id).where(visible(actor, Edition.publication_id))
    # Erased people's outcomes, on the days their rows had (delivery/tallies.py).
    t = DeliveryTally
    tq = (select(t.day, t.status, t.error_class, func.sum(t.count))
          .where(t.status.in_([D.SENT, D.FAILED]), t.day >= start, t.day <= end))
    if pub_id is not None:
        tq = tq.join(Edition, Edition.id == t.edition_id).where(Edition.publication_id == pub_id)
    elif not actor.everywhere:
        tq = tq.join(Edition, Edition.id == t.edition_id).where(visible(actor, Edition.publication_id))
    for day, n in session.execute(q.group_by(sent_day)):
        days[_as_date(day)]["sent"] = n
    for day, klass, n in session.execute(f.group_by(failed_day, Delivery.error_class)):
        days[_as_date(day)]["failed"][klass or "unknown"] = n
    for day, status, klass, n in session.execute(tq.group_by(t.day, t.status, t.error_class)):
        entry = days[_as_date(day)]
        if status == D.SENT:
            entry["sent"] += int(n)
        else:
            entry["failed"][klass or "unknown"] = entry["failed"].get(klass or "unknown", 0) + int(n)

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


def per_edition(session: Session, edition_id: int) -> dict:
    """One edition's figures (the role and the publication scope: operators/figures.py)."""
    edition, slug = with_publication_slug(session, Edition, edition_id, "edition")
    entry = _empty(edition.date)
    entry.pop("signups"), entry.pop("confirmations")
    states = dict(session.execute(select(Delivery.status, func.count()).where(Delivery.edition_id == edition_id)
                                  .group_by(Delivery.status)).all())
    tallies.add_counts(states, tallies.counts(session, [edition_id])[edition_id])  # the erased ones' too
    entry["sent"] = states.get(D.SENT, 0)
    entry["deliveries"] = {s.value: states.get(s.value, 0) for s in D}
    entry["failed"] = {k or "unknown": n for k, n in session.execute(
        select(Delivery.error_class, func.count()).where(Delivery.edition_id == edition_id,
                                                         Delivery.status == D.FAILED)
        .group_by(Delivery.error_class))}
    for klass, n in tallies.failures(session, edition_id).items():
        entry["failed"][klass or "unknown"] = entry["failed"].get(klass or "unknown", 0) + n
    for kind, method, reason, n in session.execute(
            select(Event.kind, Event.method, Event.reason, func.count())
            .where(Event.edition_id == edition_id, Event.kind.in_(_EVENT_KINDS[:3]))
            .group_by(Event.kind, Event.method, Event.reason)):
        _add_event(entry, kind, method, reason, n)
    entry.update(edition_id=edition.id, publication=slug, status=edition.status,
                 unsubscribe_rate=round(entry["unsubscribes"]["total"] / entry["sent"], 5) if entry["sent"] else 0.0)
    return entry
