"""Per-edition and per-day figures: sent, unsubscribes (by method), bounces, complaints.

The complaint rate is what Gmail's and Yahoo's bulk-sender rules (2024) watch: spam
complaints over messages delivered, to stay under 0.3%. Per edition it is that
edition's complaints over its messages sent. Per day it is the same summed over the
editions of that date (the day the mail went out), with the complaints that name no
edition (matched by address only) counted on the day they arrived.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import tallies
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.tracking.models import Event, EventKind

COMPLAINT_RATE_LIMIT = 0.003  # 0.3%: the Gmail/Yahoo bulk-sender limit


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass
class EditionStats:
    edition_id: int
    publication: str
    date: str
    sent: int
    unsubscribes: int
    by_method: dict[str, int] = field(default_factory=dict)
    complaints: int = 0
    bounces: int = 0  # bounce events: refusals while sending and reports that arrived later

    @property
    def rate(self) -> float:
        return _rate(self.unsubscribes, self.sent)

    @property
    def complaint_rate(self) -> float:
        return _rate(self.complaints, self.sent)


@dataclass
class DayStats:
    date: str
    sent: int
    complaints: int

    @property
    def complaint_rate(self) -> float:
        return _rate(self.complaints, self.sent)


def edition_stats(session: Session, publication_slug: str | None = None, limit: int = 30) -> list[EditionStats]:
    q = (select(Edition.id, Publication.slug, Edition.date).join(Publication)
         .order_by(Edition.date.desc(), Edition.id.desc()).limit(limit))
    if publication_slug:
        q = q.where(Publication.slug == publication_slug)
    editions = session.execute(q).all()
    ids = [e.id for e in editions]
    sent = dict(session.execute(select(Delivery.edition_id, func.count()).where(
        Delivery.edition_id.in_(ids), Delivery.status == DeliveryStatus.SENT).group_by(Delivery.edition_id)).all())
    for edition_id, tallied in tallies.counts(session, ids).items():  # erased people's messages count still
        sent[edition_id] = sent.get(edition_id, 0) + tallied.get(DeliveryStatus.SENT, 0)
    methods: dict[int, dict[str, int]] = defaultdict(dict)
    events: dict[tuple[int, str], int] = defaultdict(int)
    for edition_id, kind, method, count in session.execute(
            select(Event.edition_id, Event.kind, Event.method, func.count()).where(
                Event.edition_id.in_(ids),
                Event.kind.in_([EventKind.UNSUBSCRIBE, EventKind.COMPLAINT, EventKind.BOUNCE]))
            .group_by(Event.edition_id, Event.kind, Event.method)):
        if kind == EventKind.UNSUBSCRIBE:
            methods[edition_id][method] = count
        events[(edition_id, kind)] += count
    return [EditionStats(e.id, e.slug, e.date.isoformat(), sent.get(e.id, 0), sum(methods[e.id].values()),
                         dict(methods[e.id]), events[(e.id, EventKind.COMPLAINT)], events[(e.id, EventKind.BOUNCE)])
            for e in editions]


def daily_stats(session: Session, editions: list[EditionStats]) -> list[DayStats]:
    """Per date of the given editions, newest first."""
    days: dict[str, DayStats] = {}
    for e in editions:
        day = days.setdefault(e.date, DayStats(e.date, 0, 0))
        day.sent += e.sent
        day.complaints += e.complaints
    if days:
        first = datetime.combine(date.fromisoformat(min(days)), time.min).replace(tzinfo=utcnow().tzinfo)
        for at in session.scalars(select(Event.created_at).where(
                Event.kind == EventKind.COMPLAINT, Event.edition_id.is_(None), Event.created_at >= first,
                Event.created_at < first + timedelta(days=len(days) + 366))):
            key = at.date().isoformat()
            if key in days:
                days[key].complaints += 1
    return [days[k] for k in sorted(days, reverse=True)]


def complaint_warnings(editions: list[EditionStats], days: list[DayStats]) -> list[str]:
    limit = f"{COMPLAINT_RATE_LIMIT:.1%}"
    found = [f"edition {e.edition_id} ({e.publication}, {e.date}): complaint rate {e.complaint_rate:.2%} "
             f"({e.complaints} of {e.sent}) is above {limit}, the Gmail/Yahoo bulk-sender limit"
             for e in editions if e.complaint_rate > COMPLAINT_RATE_LIMIT]
    found += [f"{d.date}: complaint rate {d.complaint_rate:.2%} ({d.complaints} of {d.sent}) is above {limit}, "
              "the Gmail/Yahoo bulk-sender limit" for d in days if d.complaint_rate > COMPLAINT_RATE_LIMIT]
    return found
