"""Webhook deliveries that are over (taken, or given up after the last attempt), and their
attempts, removed after retention_webhook_days by retention's daily pass
(newsletter/retention/run.py), in batches of ids, one transaction each. Pending ones
stay whatever their age: they are still to be posted."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from newsletter.webhooks.models import WebhookAttempt, WebhookDelivery

_deliveries, _attempts = WebhookDelivery.__table__, WebhookAttempt.__table__


def _over(before: datetime):
    d = _deliveries.c
    return d.status.in_(("delivered", "failed")), d.created_at < before


def found(conn: Connection, before: datetime) -> int:
    return conn.scalar(select(func.count()).select_from(_deliveries).where(*_over(before))) or 0


def remove(engine, before: datetime, batch_rows: int) -> int:
    done = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.scalars(select(_deliveries.c.id).where(*_over(before))
                                    .order_by(_deliveries.c.id).limit(batch_rows)))
            if ids:
                conn.execute(delete(_attempts).where(_attempts.c.delivery_id.in_(ids)))
                conn.execute(delete(_deliveries).where(_deliveries.c.id.in_(ids)))
        done += len(ids)
        if len(ids) < batch_rows:
            return done
