"""Fan-out in waves: an edition sent at the schedule's time in each subscriber's own zone.

When such an edition starts, the zones of its frozen audience are grouped into waves
by their local send time (publications/schedule.py:waves_on) and stored, each with its
own keyset checkpoint. A wave is fanned out only once its time has come; until the
last one is done the edition's fan-out is not done, so the sweeper keeps re-driving it
and each re-drive records the waves that have become due. The same delivery rows, the
same claims, the same sweeper: nobody missing and at most one duplicate per SMTP
connection open when a worker dies hold as for any edition, because waves
only decide *when* a (edition, subscriber) row is recorded, never whether twice.

A subscriber who changes zone during the send is not lost: the last wave takes every
active subscriber of the audience who has no delivery row yet, whatever their zone.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.delivery.models import Delivery, EditionWave
from newsletter.publications.schedule import waves_on
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus

waves_table = EditionWave.__table__
deliveries = Delivery.__table__
subscriptions = Subscription.__table__
subscribers = Subscriber.__table__


def audience_zones(conn: Connection, publication_id: int, top: int | None = None) -> list[str]:
    """The distinct zones stored on the publication's active subscribers ("" included)."""
    q = (select(subscribers.c.timezone).distinct()
         .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
         .where(subscriptions.c.publication_id == publication_id,
                subscriptions.c.status == SubscriptionStatus.ACTIVE))
    if top is not None:
        q = q.where(subscriptions.c.subscriber_id <= top)
    return list(conn.scalars(q))


def plan_waves(conn: Connection, edition_id: int, publication_id: int, cron: str, zone: str, day: date,
               top: int) -> int:
    """Record the waves of an edition that is starting; idempotent. Returns how many."""
    planned = waves_on(cron, zone, audience_zones(conn, publication_id, top), day)
    rows = [{"edition_id": edition_id, "position": n, "send_at": w.send_at, "zones": list(w.zones),
             "catch_all": n == len(planned) - 1, "cursor": 0, "done": False}
            for n, w in enumerate(planned)]
    if rows:
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        conn.execute(dialect.insert(waves_table).on_conflict_do_nothing(
            index_elements=["edition_id", "position"]), rows)
    return len(rows)


def waves_of(conn: Connection, edition_id: int) -> list:
    return conn.execute(select(waves_table).where(waves_table.c.edition_id == edition_id)
                        .order_by(waves_table.c.position)).all()


def next_wave_batch(conn: Connection, ed, waves: list, batch_size: int, now: datetime,
                    insert_rows) -> tuple[int, int] | None:
    """The next batch of the first wave that is due and not done: its rows recorded
    (through `insert_rows`), its checkpoint advanced. None when the next wave is not due
    yet, or when every wave is done (then the edition's fan-out is marked done by the caller)."""
    for wave in waves:
        if wave.done:
            continue
        if wave.send_at > now:
            return None  # the next wave waits for its local time
        ids = _next_ids(conn, ed, wave, batch_size)
        if not ids:
            conn.execute(update(waves_table).where(waves_table.c.id == wave.id).values(done=True))
            continue
        insert_rows(ids)
        conn.execute(update(waves_table).where(waves_table.c.id == wave.id, waves_table.c.cursor == wave.cursor)
                     .values(cursor=ids[-1]))
        return wave.cursor, ids[-1]
    return None


def all_done(waves: list) -> bool:
    return all(w.done for w in waves)


def _next_ids(conn: Connection, ed, wave, batch_size: int) -> list[int]:
    s = subscriptions.c
    q = (select(s.subscriber_id)
         .where(s.publication_id == ed.publication_id, s.status == SubscriptionStatus.ACTIVE,
                s.subscriber_id > wave.cursor, s.subscriber_id <= (ed.max_subscriber_id or 0))
         .order_by(s.subscriber_id).limit(batch_size))
    if wave.catch_all:
        recorded = exists().where(and_(deliveries.c.edition_id == ed.id,
                                       deliveries.c.subscriber_id == s.subscriber_id))
        q = q.where(~recorded)
    else:
        q = q.join(subscribers, subscribers.c.id == s.subscriber_id).where(
            subscribers.c.timezone.in_(list(wave.zones)))
    return list(conn.scalars(q))
