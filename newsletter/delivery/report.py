"""What `editions status` and `editions show` show: counts by state, failures by class
(with the recipients and their errors), holds, pauses, the total, the rate over the real
elapsed time and an estimate of the time left.

Total: the audience frozen when sending started, counted before the fan-out has
recorded every row (rows recorded + active subscriptions the fan-out has not reached).
Rate: messages sent over the time since sending started: up to now while the edition
is sending (a relay that stalls brings the rate down, and the estimate up), up to the
last message sent otherwise. Time left: what is still to go at that rate, while sending.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from newsletter.db import utcnow
from newsletter.delivery import holds
from newsletter.delivery.failures import FailureClass
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import OPEN
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition, EditionStatus
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.tracking.models import Event, EventKind

editions = Edition.__table__
deliveries = Delivery.__table__


@dataclass
class Report:
    edition_id: int
    status: str
    counts: dict[str, int]  # by delivery state, every state present
    failures: dict[str, int]  # failed rows by failure class
    hard_bounces: int
    started_at: datetime | None
    finished_at: datetime | None
    last_sent_at: datetime | None
    audience: int  # rows recorded so far (the fan-out may still be adding)
    pause_reason: str = ""
    relay_error: str = ""  # set while rows wait for a relay that does not answer
    held_domains: list[tuple[str, int, str]] = field(default_factory=list)
    not_yet_recorded: int = 0  # subscribers of the frozen audience the fan-out has not reached
    now: datetime = field(default_factory=utcnow)

    @property
    def total(self) -> int:
        return self.audience + self.not_yet_recorded

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or (self.now if self.status == EditionStatus.SENDING else self.last_sent_at) or self.now
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def rate(self) -> float:
        """Messages a second since sending started: up to now while sending, up to the last
        message sent otherwise."""
        if not self.started_at or not self.counts[D.SENT]:
            return 0.0
        end = self.now if self.status == EditionStatus.SENDING else (self.last_sent_at or self.now)
        span = (end - self.started_at).total_seconds()
        return self.counts[D.SENT] / span if span > 0 else 0.0

    @property
    def remaining(self) -> int:
        return sum(self.counts[s] for s in OPEN if s != D.HELD) + self.not_yet_recorded

    @property
    def eta_seconds(self) -> float | None:
        return self.remaining / self.rate if self.rate and self.status == EditionStatus.SENDING else None


def report(conn: Connection, edition_id: int, now: datetime | None = None) -> Report:
    lifecycle.status_of(conn, edition_id)  # NotFound for a wrong id
    ed = conn.execute(select(editions).where(editions.c.id == edition_id)).one()
    counts = {s.value: 0 for s in D}
    counts.update(conn.execute(select(deliveries.c.status, func.count())
                               .where(deliveries.c.edition_id == edition_id)
                               .group_by(deliveries.c.status)).all())
    failures = dict(conn.execute(select(deliveries.c.error_class, func.count()).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.FAILED)
        .group_by(deliveries.c.error_class)).all())
    bounces = conn.scalar(select(func.count()).select_from(Event.__table__).where(
        Event.__table__.c.edition_id == edition_id, Event.__table__.c.kind == EventKind.BOUNCE))
    last = conn.scalar(select(func.max(deliveries.c.sent_at)).where(deliveries.c.edition_id == edition_id))
    relay_error = conn.scalar(select(deliveries.c.last_error).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.PENDING,
        deliveries.c.error_class == FailureClass.RELAY_DOWN).limit(1)) or ""
    return Report(edition_id, ed.status, counts, failures, bounces, ed.started_at, ed.finished_at, last,
                  sum(counts.values()), ed.pause_reason, relay_error, holds.held(conn, edition_id),
                  _not_yet_recorded(conn, ed), now or utcnow())


def _not_yet_recorded(conn: Connection, ed) -> int:
    if ed.fanout_done or ed.max_subscriber_id is None:
        return 0
    s = Subscription.__table__.c
    return conn.scalar(select(func.count()).where(
        s.publication_id == ed.publication_id, s.status == SubscriptionStatus.ACTIVE,
        s.subscriber_id > ed.fanout_cursor, s.subscriber_id <= ed.max_subscriber_id)) or 0


def counts_by_edition(conn: Connection, edition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Delivery rows by state for several editions at once (lists of editions)."""
    out: dict[int, dict[str, int]] = {i: {} for i in edition_ids}
    if edition_ids:
        for edition_id, status, n in conn.execute(
                select(deliveries.c.edition_id, deliveries.c.status, func.count())
                .where(deliveries.c.edition_id.in_(edition_ids))
                .group_by(deliveries.c.edition_id, deliveries.c.status)):
            out[edition_id][status] = n
    return out


@dataclass
class FailureGroup:
    failure_class: str  # a FailureClass value ("" for rows recorded before classes existed)
    count: int
    recipients: list[tuple[str, int, str]]  # (email, attempts, last error), the first few


def failures_by_class(conn: Connection, edition_id: int, per_class: int = 10) -> list[FailureGroup]:
    """Failed deliveries grouped by failure class, largest group first, each with its
    first `per_class` recipients and their errors."""
    lifecycle.status_of(conn, edition_id)
    d, sub = deliveries.c, Subscriber.__table__.c
    groups = []
    for klass, count in conn.execute(select(d.error_class, func.count()).where(
            d.edition_id == edition_id, d.status == D.FAILED).group_by(d.error_class)
            .order_by(func.count().desc(), d.error_class)).all():
        rows = conn.execute(select(sub.email, d.attempts, d.last_error).join(Subscriber.__table__,
                                                                              sub.id == d.subscriber_id)
                            .where(d.edition_id == edition_id, d.status == D.FAILED, d.error_class == klass)
                            .order_by(d.subscriber_id).limit(per_class)).all()
        groups.append(FailureGroup(klass, count, [tuple(r) for r in rows]))
    return groups
