"""Delivery figures that survive retention: the live rows plus the rows rolled up.

Retention (newsletter/retention/deliveries.py) replaces the delivery rows of old editions
by DeliveryTally rows: counts by state, failure class and UTC day. Every figure of
deliveries (editions list, status, stats, the JSON figures, the archive's "was sent")
reads them through here, so a figure is the same before and after retention runs.
The rule of `day`: the UTC day of `sent_at` for sent rows, of `claimed_at` (the last
attempt) for failed rows, as tracking/figures.py counts them; none for other states.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import Date, cast, func, select

from newsletter.delivery.models import Delivery, DeliveryTally
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import Edition

deliveries, tallies = Delivery.__table__, DeliveryTally.__table__


def utc_day(dialect: str, column):
    """The UTC calendar day of a timestamp column, as a date."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores UTC text


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _dialect(conn) -> str:
    return conn.get_bind().dialect.name if hasattr(conn, "get_bind") else conn.dialect.name


def states(conn, edition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows by state, per edition (only the states that have rows)."""
    out: dict[int, dict[str, int]] = {i: {} for i in edition_ids}
    if not edition_ids:
        return out
    d, t = deliveries.c, tallies.c
    for eid, status, n in [*conn.execute(select(d.edition_id, d.status, func.count())
                                         .where(d.edition_id.in_(edition_ids)).group_by(d.edition_id, d.status)),
                           *conn.execute(select(t.edition_id, t.status, func.sum(t.count))
                                         .where(t.edition_id.in_(edition_ids)).group_by(t.edition_id, t.status))]:
        out[eid][status] = out[eid].get(status, 0) + int(n)
    return out


def failed(conn, edition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Failed rows by failure class ("" for rows from before classes), per edition."""
    out: dict[int, dict[str, int]] = {i: {} for i in edition_ids}
    if not edition_ids:
        return out
    d, t = deliveries.c, tallies.c
    for eid, klass, n in [*conn.execute(select(d.edition_id, d.error_class, func.count())
                                        .where(d.edition_id.in_(edition_ids), d.status == D.FAILED)
                                        .group_by(d.edition_id, d.error_class)),
                          *conn.execute(select(t.edition_id, t.error_class, func.sum(t.count))
                                        .where(t.edition_id.in_(edition_ids), t.status == D.FAILED)
                                        .group_by(t.edition_id, t.error_class))]:
        out[eid][klass] = out[eid].get(klass, 0) + int(n)
    return out


def last_sent_at(conn, edition_id: int) -> datetime | None:
    live = conn.scalar(select(func.max(deliveries.c.sent_at)).where(deliveries.c.edition_id == edition_id))
    rolled = conn.scalar(select(func.max(tallies.c.last_at)).where(tallies.c.edition_id == edition_id,
                                                                   tallies.c.status == D.SENT))
    return max((t for t in (live, rolled) if t is not None), default=None)


def was_sent(edition_id_column):
    """A clause: the edition (by its id column) has a message sent, live or rolled up."""
    return (select(deliveries.c.id).where(deliveries.c.edition_id == edition_id_column,
                                          deliveries.c.status == D.SENT).exists()
            | select(tallies.c.id).where(tallies.c.edition_id == edition_id_column,
                                         tallies.c.status == D.SENT, tallies.c.count > 0).exists())


def per_day(conn, status: D, lo: datetime | None = None, hi: datetime | None = None,
            edition_ids: list[int] | None = None, edition_clause=None) -> dict[tuple[date, str], int]:
    """(UTC day, failure class) -> rows in `status`, by `sent_at` for sent rows and
    `claimed_at` for failed ones, in [lo, hi) (both UTC midnights) if given; of the
    given editions, or of those `edition_clause` (on Edition's columns) admits, or all."""
    column = deliveries.c.sent_at if status == D.SENT else deliveries.c.claimed_at
    day = utc_day(_dialect(conn), column)
    t = tallies.c
    live = (select(day, deliveries.c.error_class, func.count())
            .where(deliveries.c.status == status, column.is_not(None)))
    rolled = select(t.day, t.error_class, func.sum(t.count)).where(t.status == status, t.day.is_not(None))
    if lo is not None and hi is not None:
        live = live.where(column >= lo, column < hi)
        rolled = rolled.where(t.day >= lo.date(), t.day < hi.date())
    if edition_ids is not None:
        live = live.where(deliveries.c.edition_id.in_(edition_ids))
        rolled = rolled.where(t.edition_id.in_(edition_ids))
    if edition_clause is not None:
        live = live.join(Edition, Edition.id == deliveries.c.edition_id).where(edition_clause)
        rolled = rolled.join(Edition, Edition.id == t.edition_id).where(edition_clause)
    out: dict[tuple[date, str], int] = defaultdict(int)
    for rows in (conn.execute(live.group_by(day, deliveries.c.error_class)),
                 conn.execute(rolled.group_by(t.day, t.error_class))):
        for d, klass, n in rows:
            out[(as_date(d), klass)] += int(n)
    return out
