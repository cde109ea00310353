"""Who a claimed batch is for: its recipients as they stand now, and whether each is
still wanted (the check made at claim time, not at queueing; the same condition keeps an
operator's retry from reaching anyone who left: control.retry_failed)."""
from __future__ import annotations

from sqlalchemy import Connection, and_, exists, or_, select

from newsletter.delivery.compose import Recipient
from newsletter.delivery.models import Delivery
from newsletter.subscribers.address_hash import address_hasher
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from newsletter.subscribers.order import sender_orders

deliveries = Delivery.__table__


def wanted(publication_id: int):
    """The condition on a subscriber (joined as `subscribers`, with their subscription to
    the publication as `subscriptions`) who may be mailed now."""
    sub, s, sup = Subscriber.__table__, Subscription.__table__, Suppression.__table__
    suppressed = exists().where(sup.c.email == sub.c.email,
                                or_(sup.c.publication_id.is_(None), sup.c.publication_id == publication_id))
    return and_(s.c.status == SubscriptionStatus.ACTIVE, sub.c.status == SubscriberStatus.ACTIVE, ~suppressed)


def recipients(conn: Connection, delivery_ids: list[int], publication_id: int, secret: str | None = None):
    """(delivery id, Recipient, still wanted) for the claimed rows, in subscriber order.
    Wanted: subscribed, not disabled, not suppressed, checked now (not at queueing); with
    the secret key, not erased either (an erased address is suppressed by its keyed hash)."""
    sub, s, sup = Subscriber.__table__, Subscription.__table__, Suppression.__table__
    rows = conn.execute(
        select(deliveries.c.id, sub.c.id, sub.c.email, sub.c.name, s.c.sections,
               wanted(publication_id).label("wanted"), sub.c.token_key,
               s.c.section_order, s.c.click_order, s.c.most_clicked_first, s.c.click_history_since)
        .join(sub, sub.c.id == deliveries.c.subscriber_id)
        .outerjoin(s, and_(s.c.subscriber_id == sub.c.id, s.c.publication_id == publication_id))
        .where(deliveries.c.id.in_(delivery_ids))
        .order_by(deliveries.c.subscriber_id)).all()
    digest = address_hasher(secret) if secret is not None and rows else None
    hashes = {r.email: digest(r.email) for r in rows} if digest else {}
    erased = set(conn.scalars(select(sup.c.email_hash).where(sup.c.email_hash.in_(set(hashes.values()))))) \
        if hashes else set()
    for did, sid, email, name, sections, is_wanted, key, *reading in rows:
        order, click_order = sender_orders(*reading)  # the reader's own order (subscribers/order.py)
        yield (did, Recipient(sid, email, name or "", tuple(sections) if sections else None, key, did,
                              clicks_named=reading[3] is not None, order=order, click_order=click_order),
               bool(is_wanted) and hashes.get(email) not in erased)
