"""Delivery rows of old editions: rolled up into tallies, then removed, in short batches.

The rule: an edition is old when its date is more than `retention_delivery_days` ago, it
is sent or cancelled (or superseded), and none of its rows has work left (OPEN states).
Each batch is one transaction over at most `retention_batch_rows` rows of one edition
(by id range): the rows are locked (PostgreSQL), counted into the tallies an erasure
writes too (delivery/tallies.py: state, failure class, UTC day), and deleted. A batch
is all or nothing, so a figure read at any moment, or after a crash, counts every row
once. When an edition has no row left its tallies are merged into one row per group.

What must keep working without the rows, and why it does:
- an unsubscribe link names subscriber, publication and edition ids (tracking/tokens.py),
  never a delivery; its event records the edition id, a plain column;
- a late bounce: its VERP token names the removed row, so the report's Message-ID (which
  names edition and subscriber) or its recipient's address finds the reader
  (bounces/match.py); the suppression and the bounce event need no delivery row;
- the archive page of an edition asks whether it was sent: tallies count (tallies.was_sent).

Chosen over partitioning `deliveries` by month after measuring both on a million rows
(bench/retention.py, README "Retention"): see the figures there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Date, case, cast, delete, func, insert, select

from newsletter.delivery.models import Delivery
from newsletter.delivery.states import OPEN
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.delivery.tallies import TALLIED, DeliveryTally
from newsletter.editions.models import Edition, EditionStatus

deliveries, tallies, editions = Delivery.__table__, DeliveryTally.__table__, Edition.__table__
DONE = (EditionStatus.SENT, EditionStatus.CANCELLED)


@dataclass
class Rolled:
    editions: int = 0
    rows: int = 0
    batches: int = 0


def old_editions(conn: Connection, cutoff: date) -> list[int]:
    """Editions dated before `cutoff`, finished (or superseded), that still have rows and
    none with work left; oldest first."""
    e, d = editions.c, deliveries.c
    has_rows = select(d.id).where(d.edition_id == e.id).exists()
    has_open = select(d.id).where(d.edition_id == e.id, d.status.in_([s.value for s in OPEN])).exists()
    finished = e.status.in_([s.value for s in DONE]) | e.superseded_at.is_not(None)
    return list(conn.scalars(select(e.id).where(e.date < cutoff, finished, has_rows, ~has_open).order_by(e.id)))


def utc_day(dialect: str, column):
    """The UTC calendar day of a timestamp column (as reports/figures.py counts days)."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores UTC text


def rows_of(conn: Connection, edition_ids: list[int]) -> int:
    if not edition_ids:
        return 0
    return conn.scalar(select(func.count()).select_from(deliveries)
                       .where(deliveries.c.edition_id.in_(edition_ids))) or 0


def roll_up_batch(conn: Connection, edition_id: int, batch_rows: int) -> int:
    """Roll up and delete the edition's first `batch_rows` rows (by id); the rows removed.
    The caller commits (one batch, one transaction)."""
    d, dialect = deliveries.c, conn.dialect.name
    lo = conn.scalar(select(func.min(d.id)).where(d.edition_id == edition_id))
    if lo is None:
        return 0
    ids = select(d.id).where(d.edition_id == edition_id, d.id >= lo).order_by(d.id).limit(batch_rows)
    if dialect == "postgresql":
        # Lock the batch's rows (and nothing else): an operator's retry of a failed row
        # waits for this batch, or happens before it and leaves the edition with work.
        hi = max(conn.scalars(ids.with_for_update()).all())
    else:
        hi = conn.scalar(select(func.max(ids.subquery().c.id)))
    in_batch = (d.edition_id == edition_id, d.id >= lo, d.id <= hi)
    if conn.scalar(select(func.count()).select_from(deliveries)
                   .where(*in_batch, d.status.not_in([s.value for s in TALLIED]))):
        return 0  # work came back (an operator's retry): not old any more
    # The rule of tallies.keep (an erasure's): the day and time of sent_at for sent rows,
    # of claimed_at for the others.
    at = case((d.status == D.SENT, d.sent_at), else_=d.claimed_at)
    rows = select(d.edition_id, d.status, d.error_class, utc_day(dialect, at).label("day"), d.relay,
                  at.label("at")).where(*in_batch).subquery()
    grouped = select(rows.c.edition_id, rows.c.status, rows.c.error_class, rows.c.day, rows.c.relay, func.count(),
                     func.max(rows.c.at)).group_by(rows.c.edition_id, rows.c.status, rows.c.error_class, rows.c.day,
                                                   rows.c.relay)
    t = tallies.c
    conn.execute(insert(tallies).from_select(
        [t.edition_id, t.status, t.error_class, t.day, t.relay, t.count, t.last_at], grouped))
    return conn.execute(delete(deliveries).where(*in_batch)).rowcount


def merge_tallies(conn: Connection, edition_id: int) -> None:
    """One tally row per (state, class, day, relay) for an edition all rolled up."""
    t = tallies.c
    groups = conn.execute(select(t.status, t.error_class, t.day, t.relay, func.sum(t.count), func.max(t.last_at))
                          .where(t.edition_id == edition_id)
                          .group_by(t.status, t.error_class, t.day, t.relay)).all()
    conn.execute(delete(tallies).where(t.edition_id == edition_id))
    if groups:
        conn.execute(insert(tallies), [{"edition_id": edition_id, "status": s, "error_class": k, "day": day,
                                        "relay": relay, "count": int(n), "last_at": last}
                                       for s, k, day, relay, n, last in groups])


def roll_up(engine, cutoff: date, batch_rows: int, stop=lambda: False) -> Rolled:
    """Every old edition, batch by batch, each batch committed on its own."""
    done = Rolled()
    with engine.connect() as conn:
        ids = old_editions(conn, cutoff)
    for edition_id in ids:
        while not stop():
            with engine.begin() as conn:
                n = roll_up_batch(conn, edition_id, batch_rows)
            done.rows += n
            done.batches += 1 if n else 0
            if n < batch_rows:
                break
        with engine.begin() as conn:
            merge_tallies(conn, edition_id)
        done.editions += 1
    return done
