"""What each outcome of one message does to its delivery row, and to everyone else.

The class of a failure (failures.py) decides: a retry with back-off, a hard bounce
(the only outcome that touches the subscription), a count towards pausing the
edition or holding a domain, or that delivery alone failing. Each call commits, so a
crash never loses an outcome the relay already gave.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.config import Settings
from newsletter.delivery import holds
from newsletter.delivery.compose import Recipient
from newsletter.delivery.failures import FailureClass, SendFailure
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition
from newsletter.errors import Conflict
from newsletter.subscribers import lifecycle as subscriptions
from newsletter.tracking.models import EventKind

deliveries = Delivery.__table__
editions = Edition.__table__
F = FailureClass


@dataclass(frozen=True)
class Recorded:
    status: D
    paused_edition: bool = False  # the refusals reached the threshold: the edition is paused now
    held_domain: str = ""  # the recipient's domain is held now: skip its other rows at once


def retry_delay(settings: Settings, attempts: int) -> float:
    """Back-off after the n-th failed attempt: base x 2^(n-1)."""
    return settings.retry_base_seconds * (2 ** (attempts - 1))


def give_back(conn: Connection, ids: list[int], now: datetime, error: SendFailure | None = None) -> None:
    """Rows claimed and not sent (pause, relay down, the end of a run) go back to pending,
    without costing an attempt."""
    if not ids:
        return
    values = {"status": D.PENDING, "claimed_by": "", "queued_at": now}
    if error is not None:
        values.update(last_error=str(error)[:500], error_class=error.failure_class)
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids), deliveries.c.status == D.SENDING)
                 .values(**values))


def set_status(conn: Connection, ids: list[int], status: D, error: str = "", error_class: str = "") -> None:
    if ids:
        conn.execute(update(deliveries).where(deliveries.c.id.in_(ids))
                     .values(status=status, claimed_by="", last_error=error[:500], error_class=error_class))


def record_failure(conn: Connection, settings: Settings, edition_id: int, publication_id: int, did: int,
                   recipient: Recipient, failure: SendFailure, now: datetime) -> Recorded:
    cls = failure.failure_class
    attempts = conn.scalar(select(deliveries.c.attempts).where(deliveries.c.id == did)) + 1
    row = {"attempts": attempts, "last_error": str(failure)[:500], "error_class": cls, "claimed_by": ""}
    used_up = attempts >= settings.max_attempts
    paused, held_domain = False, ""
    if cls in (F.RECIPIENT_REFUSED, F.UNDELIVERABLE, F.INTERNAL_ERROR) or used_up:
        status = D.FAILED
    elif cls == F.MESSAGE_REFUSED:
        status = D.RETRY  # due at once: the pause (if it comes) is what holds it back
        row["next_attempt_at"] = now
    else:  # temporary, policy
        status = D.RETRY
        row["next_attempt_at"] = now + timedelta(seconds=retry_delay(settings, attempts))
    conn.execute(update(deliveries).where(deliveries.c.id == did).values(status=status, **row))
    metrics.message_not_sent(cls, retried=status == D.RETRY)
    if cls == F.RECIPIENT_REFUSED:
        with Session(bind=conn) as session:
            subscriptions.end_for_address(session, recipient.subscriber_id, recipient.email, publication_id,
                                          edition_id, EventKind.BOUNCE, str(failure), now)
    elif cls == F.MESSAGE_REFUSED:
        paused = _count_message_refusal(conn, settings, edition_id, failure)
    elif cls == F.POLICY_REFUSED:
        domain = holds.email_domain(recipient.email)
        if holds.count_refusal(conn, edition_id, domain, str(failure), settings.policy_refusals_to_hold_domain, now):
            held_domain = domain
            if status == D.RETRY:  # the hold took this row too; one whose attempts are used up stays failed
                status = D.HELD
    conn.commit()
    return Recorded(status, paused, held_domain)


def _count_message_refusal(conn: Connection, settings: Settings, edition_id: int, failure: SendFailure) -> bool:
    count = conn.execute(update(editions).where(editions.c.id == edition_id)
                         .values(message_refusals=editions.c.message_refusals + 1)
                         .returning(editions.c.message_refusals)).scalar_one()
    if count < settings.message_refusals_to_pause:
        return False
    reason = (f"after {count} refusals of the message by the relay (nobody was suppressed); "
              f"last: {failure}. Fix the cause, then resume.")
    try:
        lifecycle.pause(conn, edition_id, reason)
    except Conflict:
        pass  # cancelled meanwhile: stopping is all that is left to do
    return True
