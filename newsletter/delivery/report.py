"""What `editions status` shows: counts by state, failures by class, holds, pauses,
the rate over the real elapsed time and an estimate of the time left."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from newsletter.db import utcnow
from newsletter.delivery import holds
from newsletter.delivery.failures import FailureClass
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition
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

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or (utcnow() if self.status == "sending" else self.last_sent_at) or utcnow()
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def rate(self) -> float:
        """Messages a second from the start to the last message sent (or now, while sending)."""
        if not self.started_at or not self.last_sent_at:
            return 0.0
        span = (self.last_sent_at - self.started_at).total_seconds()
        return self.counts[D.SENT] / span if span > 0 else 0.0

    @property
    def remaining(self) -> int:
        return sum(self.counts[s] for s in (D.PENDING, D.SENDING, D.RETRY))

    @property
    def eta_seconds(self) -> float | None:
        return self.remaining / self.rate if self.rate and self.status == "sending" else None


def report(conn: Connection, edition_id: int) -> Report:
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
                  sum(counts.values()), ed.pause_reason, relay_error, holds.held(conn, edition_id))
