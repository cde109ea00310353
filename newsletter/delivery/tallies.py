"""What an erased person leaves in the figures: counts, never a person.

An erasure deletes the person's delivery rows (people/erase.py), and every figure
of a past edition (sent, failed by class, skipped; sent per day; the rate over the time
the edition took) is counted from delivery rows. So before the rows go, their outcome is
added here, per (edition, state, failure class, UTC day, relay): no subscriber id, no address,
no Message-ID. Every reader of delivery counts adds these (report.py, reports/stats.py,
reports/figures.py, reports/reader_figures.py, operators/editions.py), so the figures
of the past do not move when someone is erased.

Why tallies of the erased rows rather than counts frozen on the edition at erasure time:
the tallies are additive, so they stay right for an edition still sending (its live rows
keep counting) and need no snapshot of every edition at every erasure; and rows that
were still to go (pending, sending, retry, held) are not tallied: that person will not
be mailed, so the edition's total is one less, as it should be.

Rows are only ever added (one per group per erasure), never updated: two erasures at
once cannot collide, and readers sum them. Retention (newsletter/retention/deliveries.py)
rolls the rows of old editions up into the same tallies, by the same rule, and merges an
edition's tallies into one per group once it has no row left.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import Connection, Date, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from newsletter.db import Base, UTCDateTime
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D

# The outcomes that are history; rows still open are work that will not be done.
TALLIED = (D.SENT, D.FAILED, D.SKIPPED)


class DeliveryTally(Base):
    __tablename__ = "delivery_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # one of TALLIED
    error_class: Mapped[str] = mapped_column(String(32), default="")
    # The UTC day the figures put these rows on: sent_at for sent, claimed_at otherwise
    # (reports/figures.py counts failures by the day they were claimed).
    day: Mapped[date | None] = mapped_column(Date, default=None)
    # The relay of the pool that took the sent ones ("" for the outbox, failures and rows
    # from before relays were recorded): editions status splits sent mail by relay.
    relay: Mapped[str] = mapped_column(String(64), default="", server_default="")
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # the latest such time


def keep(session: Session, subscriber_id: int) -> int:
    """Tally the outcomes of the person's deliveries, in the caller's transaction, before
    they are deleted. Returns the number of rows tallied."""
    groups: dict[tuple, list] = defaultdict(lambda: [0, None])
    for edition_id, status, klass, sent_at, claimed_at, relay in session.execute(
            select(Delivery.edition_id, Delivery.status, Delivery.error_class, Delivery.sent_at,
                   Delivery.claimed_at, Delivery.relay).where(Delivery.subscriber_id == subscriber_id,
                                                              Delivery.status.in_(list(TALLIED)))):
        at = sent_at if status == D.SENT else claimed_at
        group = groups[(edition_id, status, klass or "", at.date() if at else None, relay or "")]
        group[0] += 1
        group[1] = max(filter(None, (group[1], at)), default=None)
    for (edition_id, status, klass, day, relay), (n, last) in groups.items():
        session.add(DeliveryTally(edition_id=edition_id, status=status, error_class=klass, day=day, relay=relay,
                                  count=n, last_at=last))
    session.flush()
    return sum(n for n, _ in groups.values())


_t = DeliveryTally.__table__.c


def counts(conn: Connection | Session, edition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Tallied rows by edition and state."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    if edition_ids:
        for edition_id, status, n in conn.execute(
                select(_t.edition_id, _t.status, func.sum(_t.count)).where(_t.edition_id.in_(edition_ids))
                .group_by(_t.edition_id, _t.status)):
            out[edition_id][status] = int(n)
    return out


def add_counts(live: dict[str, int], tallied: dict[str, int]) -> dict[str, int]:
    """`live` (counts of delivery rows by state) with the tallies added, in place."""
    for status, n in tallied.items():
        live[status] = live.get(status, 0) + n
    return live


def failures(conn: Connection | Session, edition_id: int) -> dict[str, int]:
    """Tallied failed rows of one edition by failure class."""
    return {k: int(n) for k, n in conn.execute(
        select(_t.error_class, func.sum(_t.count)).where(_t.edition_id == edition_id, _t.status == D.FAILED)
        .group_by(_t.error_class))}


def sent_by_relay(conn: Connection | Session, edition_id: int) -> dict[str, int]:
    """Tallied sent rows of one edition by the relay that took them."""
    return {relay: int(n) for relay, n in conn.execute(
        select(_t.relay, func.sum(_t.count)).where(_t.edition_id == edition_id, _t.status == D.SENT)
        .group_by(_t.relay))}


def last_sent_at(conn: Connection | Session, edition_id: int) -> datetime | None:
    return conn.execute(select(DeliveryTally.last_at).where(
        _t.edition_id == edition_id, _t.status == D.SENT).order_by(_t.last_at.desc()).limit(1)).scalar()


def was_sent(edition_id_column):
    """A clause: the edition (by its id column) has a message sent, in a live row or in
    tallies (erased people's, or rows rolled up by retention: newsletter/retention/)."""
    d = Delivery.__table__.c
    return (select(d.id).where(d.edition_id == edition_id_column, d.status == D.SENT).exists()
            | select(_t.id).where(_t.edition_id == edition_id_column, _t.status == D.SENT, _t.count > 0).exists())
