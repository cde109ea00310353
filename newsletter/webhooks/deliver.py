"""Which webhook deliveries are due, and one attempt at each: the rule.

A delivery is due when it is pending, its endpoint is active and its next attempt time
has come. An attempt first claims it (a conditional UPDATE moving the next attempt past
the attempt's own time limit), so two workers never post it at once and a worker that
dies mid-attempt leaves it due again a minute later. Any 2xx answer delivers it;
anything else (another status, a redirect, no answer, a refused address) is a failed
attempt, logged with its status code, and retried after base x 2^(attempts - 1) seconds
(at most webhook_max_backoff_seconds) until webhook_max_attempts, then failed for good.
Webhooks are at least once: an answer lost after the receiver acted means a repeat,
with the same event id.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.webhooks import post as posting
from newsletter.webhooks import signing
from newsletter.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)
Poster = Callable[..., posting.Answer]
BATCH = 200


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    return min(settings.webhook_backoff_seconds * 2 ** max(attempts - 1, 0), settings.webhook_max_backoff_seconds)


def due(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    return list(session.scalars(
        select(WebhookDelivery.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.active.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)))


def attempt(engine: Engine, settings: Settings, delivery_id: int, now: datetime | None = None,
            post: Poster = posting.post) -> str:
    """One attempt: "delivered", "retry", "failed", or "busy" (not due, or claimed elsewhere)."""
    now = now or utcnow()
    lease = now + timedelta(seconds=settings.webhook_timeout_seconds + 60)
    with Session(engine) as session:
        claimed = session.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now).values(next_attempt_at=lease)).rowcount
        row = session.execute(select(WebhookDelivery.payload, WebhookDelivery.event_id, WebhookDelivery.type,
                                     WebhookDelivery.attempts, WebhookEndpoint.id, WebhookEndpoint.url,
                                     WebhookEndpoint.secret)
                              .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                              .where(WebhookDelivery.id == delivery_id)).first()
        session.commit()
    if not claimed or row is None:
        return "busy"
    body = row.payload.encode()
    signed_at = int(time.time())  # the receiver checks it against its own clock
    headers = {signing.HEADER: signing.header(row.secret, signed_at, body), "Newsletter-Event-Id": row.event_id,
               "Newsletter-Event": row.type, "Newsletter-Attempt": str(row.attempts + 1)}
    began = time.monotonic()
    answer = post(row.url, body, headers, settings.webhook_timeout_seconds, settings.webhooks_allow_private)
    took = int((time.monotonic() - began) * 1000)
    ok = answer.status is not None and 200 <= answer.status < 300
    attempts = row.attempts + 1
    outcome = "delivered" if ok else ("failed" if attempts >= settings.webhook_max_attempts else "retry")
    values = {"attempts": attempts, "status": "pending" if outcome == "retry" else outcome}
    if ok:
        values["delivered_at"] = utcnow()
    elif outcome == "retry":
        values["next_attempt_at"] = now + timedelta(seconds=backoff(settings, attempts))
    with Session(engine) as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))
        error = answer.error or ("" if ok or answer.status is None else f"HTTP {answer.status}")
        session.add(WebhookAttempt(delivery_id=delivery_id, endpoint_id=row.id, at=utcnow(),
                                   status_code=answer.status, error=error[:300], milliseconds=took))
        session.commit()
    if not ok:
        log.warning("webhook %s (%s) to endpoint %s: %s; %s", delivery_id, row.type, row.id,
                    error or "no answer", outcome)
    return outcome


def deliver_due(engine: Engine, settings: Settings, now: datetime | None = None,
                post: Poster = posting.post) -> Counter:
    """Every delivery due now, one attempt each (beat's task, `newsletter run`)."""
    now = now or utcnow()
    with Session(engine) as session:
        ids = due(session, now)
    return Counter(attempt(engine, settings, i, now, post) for i in ids)
