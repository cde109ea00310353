"""Starting an edition's delivery and walking its subscribers in keyset batches.

The fan-out records each batch's delivery rows (pending) in the same
transaction as the checkpoint, and only then is the batch handed to a sender.
A crash between the two leaves pending rows behind, never a gap: the sweeper
(`stale_ranges`) hands such rows out again. The highest subscriber id is frozen
when sending starts, so people who subscribe during a send wait for tomorrow. An
edition sent at each subscriber's local time walks its audience wave by wave, each
when its time has come (waves.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.db import utcnow
from newsletter.delivery import claims, waves
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import OPEN
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition, EditionStatus
from newsletter.publications.models import Publication
from newsletter.subscribers.models import Subscription, SubscriptionStatus

editions = Edition.__table__
deliveries = Delivery.__table__
subscriptions = Subscription.__table__
publications = Publication.__table__


def start(conn: Connection, edition_id: int) -> EditionStatus:
    """Move a built edition to sending and freeze its audience (and, for a publication sent
    at each subscriber's local time, its waves). Idempotent; returns the status."""
    row = conn.execute(select(editions.c.status, editions.c.publication_id, editions.c.date)
                       .where(editions.c.id == edition_id)).one_or_none()
    if row is None or row.status != EditionStatus.BUILT:
        return lifecycle.status_of(conn, edition_id)
    top = conn.scalar(select(func.max(subscriptions.c.subscriber_id))
                      .where(subscriptions.c.publication_id == row.publication_id)) or 0
    pub = conn.execute(select(publications.c.local_time, publications.c.schedule_cron, publications.c.timezone)
                       .where(publications.c.id == row.publication_id)).one()
    if pub.local_time:
        waves.plan_waves(conn, edition_id, row.publication_id, pub.schedule_cron, pub.timezone, row.date, top)
    return lifecycle.start(conn, edition_id, top)


def _insert_ignore(conn: Connection, rows: list[dict]) -> None:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(dialect.insert(deliveries).on_conflict_do_nothing(
        index_elements=["edition_id", "subscriber_id"]), rows)


def next_batch(conn: Connection, edition_id: int, batch_size: int,
               now: datetime | None = None) -> tuple[int, int] | None:
    """Record the next batch's deliveries and advance the checkpoint; (lo, hi] or None when
    there is nothing to hand out now (done, or the next wave's time has not come).

    Call inside a transaction; hand the range to a sender only after it commits.
    """
    now = now or utcnow()
    ed = conn.execute(select(editions).where(editions.c.id == edition_id)).one()
    if ed.status not in (EditionStatus.SENDING, EditionStatus.PAUSED) or ed.fanout_done:
        return None

    def record(ids: list[int]) -> None:
        _insert_ignore(conn, [{"edition_id": edition_id, "subscriber_id": i, "status": D.PENDING,
                               "queued_at": now, "attempts": 0, "message_id": "", "last_error": "",
                               "error_class": "", "claimed_by": ""} for i in ids])

    planned = waves.waves_of(conn, edition_id)
    if planned:
        batch = waves.next_wave_batch(conn, ed, planned, batch_size, now, record)
        if batch is None and waves.all_done(waves.waves_of(conn, edition_id)):
            conn.execute(update(editions).where(editions.c.id == edition_id).values(fanout_done=True))
        return batch
    audience = and_(subscriptions.c.publication_id == ed.publication_id,
                    subscriptions.c.status == SubscriptionStatus.ACTIVE,
                    subscriptions.c.subscriber_id > ed.fanout_cursor,
                    subscriptions.c.subscriber_id <= (ed.max_subscriber_id or 0))
    batch = select(subscriptions.c.subscriber_id).where(audience).order_by(subscriptions.c.subscriber_id) \
        .limit(batch_size).subquery()
    hi = conn.scalar(select(func.max(batch.c.subscriber_id)))
    if hi is None:
        conn.execute(update(editions).where(editions.c.id == edition_id).values(fanout_done=True))
        return None
    _record_range(conn, edition_id, and_(audience, subscriptions.c.subscriber_id <= hi), now)
    conn.execute(update(editions).where(editions.c.id == edition_id, editions.c.fanout_cursor == ed.fanout_cursor)
                 .values(fanout_cursor=hi))
    return ed.fanout_cursor, hi


def _record_range(conn: Connection, edition_id: int, audience, now: datetime) -> None:
    """The batch's rows, written by the database from the subscriptions themselves (INSERT
    ... SELECT): no subscriber id travels to this process and back, which cost as much
    CPU a row as the rest of the fan-out (bench/delivery.py)."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    values = {"edition_id": literal(edition_id), "subscriber_id": subscriptions.c.subscriber_id,
              "status": literal(D.PENDING.value), "queued_at": literal(now, deliveries.c.queued_at.type),
              "attempts": literal(0), "message_id": literal(""), "last_error": literal(""),
              "error_class": literal(""), "claimed_by": literal("")}
    conn.execute(dialect.insert(deliveries).from_select(list(values), select(*values.values()).where(audience))
                 .on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"]))


def stale_ranges(conn: Connection, edition_id: int, batch_size: int, queued_before: datetime,
                 dead_after: timedelta, now: datetime | None = None) -> list[tuple[int, int]]:
    """Ranges holding work nobody is doing: pending rows queued before `queued_before`
    (or never queued: released holds, rows sent again), retries that are due, and rows
    whose claim is dead: its heartbeat silent for `dead_after` (claims.py; never a sender
    that is alive, however slow its relay). The rows found are stamped as queued now.
    Walks the edition in keyset chunks, so memory stays flat however large the edition."""
    now = now or utcnow()
    d = deliveries.c
    # A dead sender's rows go back to pending: at most its in-flight message was sent.
    conn.execute(update(deliveries).where(d.edition_id == edition_id, claims.dead(now - dead_after, conn.dialect.name))
                 .values(status=D.PENDING, claimed_by="", queued_at=queued_before - timedelta(seconds=1)))
    claims.forget_dead(conn, now - dead_after)
    waiting = or_(and_(d.status == D.PENDING, or_(d.queued_at.is_(None), d.queued_at < queued_before)),
                  and_(d.status == D.RETRY, d.next_attempt_at <= now))
    ranges, after = [], 0
    while True:
        chunk = conn.scalars(select(d.subscriber_id).where(d.edition_id == edition_id, d.subscriber_id > after, waiting)
                             .order_by(d.subscriber_id).limit(batch_size)).all()
        if not chunk:
            return ranges
        ranges.append((after, chunk[-1]))
        conn.execute(update(deliveries).where(
            d.edition_id == edition_id, d.status == D.PENDING, d.subscriber_id > after,
            d.subscriber_id <= chunk[-1]).values(queued_at=now))
        after = chunk[-1]


def due_work(conn: Connection, edition_id: int, now: datetime | None = None) -> bool:
    """Has the edition rows that could be sent now (pending, or a retry that is due)?"""
    now = now or utcnow()
    d = deliveries.c
    return conn.scalar(select(d.id).where(d.edition_id == edition_id, or_(
        d.status == D.PENDING, and_(d.status == D.RETRY, d.next_attempt_at <= now))).limit(1)) is not None


def next_retry_at(conn: Connection, edition_id: int, lo: int | None = None,
                  hi: int | None = None) -> datetime | None:
    """When the first temporary failure (in the range, if given) is due again."""
    q = select(func.min(deliveries.c.next_attempt_at)).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.RETRY)
    if lo is not None:
        q = q.where(deliveries.c.subscriber_id > lo, deliveries.c.subscriber_id <= hi)
    return conn.scalar(q)


def maybe_finish(conn: Connection, edition_id: int) -> bool:
    """Mark the edition sent when the fan-out is done and no delivery is open."""
    ed = conn.execute(select(editions.c.status, editions.c.fanout_done)
                      .where(editions.c.id == edition_id)).one()
    if ed.status != EditionStatus.SENDING or not ed.fanout_done:
        return False
    still_open = conn.scalar(select(func.count()).select_from(deliveries).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status.in_(OPEN)))
    if still_open:
        return False
    lifecycle.finish(conn, edition_id)
    return True


def sending_editions(conn: Connection) -> list[tuple[int, bool]]:
    """(edition id, fan-out done) of every edition that is sending."""
    with conn.begin():
        return [tuple(r) for r in conn.execute(
            select(editions.c.id, editions.c.fanout_done).where(editions.c.status == EditionStatus.SENDING))]
