"""Edition state during delivery: pause, resume, cancel, completion, and the report."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update

from newsletter.db import utcnow
from newsletter.delivery.models import OPEN_STATES, PENDING, RETRY, SENDING, SENT, Delivery
from newsletter.editions.models import CANCELLED, PAUSED, Edition
from newsletter.editions.models import SENDING as ED_SENDING
from newsletter.editions.models import SENT as ED_SENT
from newsletter.errors import Conflict
from newsletter.tracking.models import BOUNCE, Event

editions = Edition.__table__
deliveries = Delivery.__table__


class EditionGate:
    """Answers "should I stop?" between messages, reading the edition's status at most
    every `interval` seconds: a pause takes effect within that time, mid-batch."""

    def __init__(self, conn: Connection, edition_id: int, interval: float = 0.2):
        self.conn, self.edition_id, self.interval = conn, edition_id, interval
        self.status = ED_SENDING
        self._checked = float("-inf")

    def stopped(self) -> bool:
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self.status = self.conn.scalar(select(editions.c.status).where(editions.c.id == self.edition_id))
            self.conn.commit()
            self._checked = now
        return self.status != ED_SENDING


class ControlError(Conflict):
    pass


def _transition(conn: Connection, edition_id: int, allowed: tuple[str, ...], to: str) -> str:
    current = conn.scalar(select(editions.c.status).where(editions.c.id == edition_id))
    if current is None:
        raise ControlError(f"no edition {edition_id}")
    if current == to:
        return to
    if current not in allowed:
        raise ControlError(f"edition {edition_id} is {current}: cannot change it to {to}")
    conn.execute(update(editions).where(editions.c.id == edition_id, editions.c.status == current)
                 .values(status=to))
    return to


def pause(conn: Connection, edition_id: int) -> str:
    return _transition(conn, edition_id, (ED_SENDING,), PAUSED)


def resume(conn: Connection, edition_id: int) -> str:
    return _transition(conn, edition_id, (PAUSED,), ED_SENDING)


def cancel(conn: Connection, edition_id: int) -> str:
    status = _transition(conn, edition_id, (ED_SENDING, PAUSED, "built"), CANCELLED)
    conn.execute(update(deliveries).where(deliveries.c.edition_id == edition_id,
                                          deliveries.c.status.in_((PENDING, RETRY)))
                 .values(status="skipped", last_error="edition cancelled"))
    return status


def maybe_finish(conn: Connection, edition_id: int) -> bool:
    """Mark the edition sent when the fan-out is done and no delivery is open."""
    ed = conn.execute(select(editions.c.status, editions.c.fanout_done)
                      .where(editions.c.id == edition_id)).one()
    if ed.status != ED_SENDING or not ed.fanout_done:
        return False
    still_open = conn.scalar(select(func.count()).select_from(deliveries).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status.in_(OPEN_STATES)))
    if still_open:
        return False
    conn.execute(update(editions).where(editions.c.id == edition_id, editions.c.status == ED_SENDING)
                 .values(status=ED_SENT, finished_at=utcnow()))
    return True


@dataclass
class Report:
    edition_id: int
    status: str
    counts: dict[str, int]
    hard_bounces: int
    started_at: datetime | None
    finished_at: datetime | None
    last_sent_at: datetime | None
    recent_rate: float  # messages a second over the last minute
    relay_error: str = ""  # set while pending rows wait for a relay that does not answer

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or self.last_sent_at or utcnow()
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def rate(self) -> float:
        d = self.duration
        return self.counts.get(SENT, 0) / d if d else 0.0


def report(conn: Connection, edition_id: int) -> Report:
    ed = conn.execute(select(editions).where(editions.c.id == edition_id)).one()
    counts = dict(conn.execute(select(deliveries.c.status, func.count())
                               .where(deliveries.c.edition_id == edition_id)
                               .group_by(deliveries.c.status)).all())
    for state in (PENDING, SENDING, SENT, RETRY, "failed", "skipped"):
        counts.setdefault(state, 0)
    bounces = conn.scalar(select(func.count()).select_from(Event.__table__).where(
        Event.__table__.c.edition_id == edition_id, Event.__table__.c.kind == BOUNCE))
    last = conn.scalar(select(func.max(deliveries.c.sent_at)).where(deliveries.c.edition_id == edition_id))
    since = utcnow() - timedelta(seconds=60)
    recent = conn.scalar(select(func.count()).select_from(deliveries).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == SENT,
        deliveries.c.sent_at > since))
    relay_error = conn.scalar(select(deliveries.c.last_error).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == PENDING,
        deliveries.c.last_error.like("cannot connect%")).limit(1)) or ""
    return Report(edition_id, ed.status, counts, bounces, ed.started_at, ed.finished_at, last,
                  recent / 60.0, relay_error)
