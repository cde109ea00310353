"""What each outcome of one message does to its delivery row, and to everyone else.

The class of a failure (transport/failures.py) decides: a retry with back-off, a hard bounce
(the only outcome that touches the subscription), a count towards pausing the
edition or holding a domain, or that delivery alone failing. Each call commits, so a
crash never loses an outcome the relay already gave.

Temporary failures are tried `NEWSLETTER_MAX_ATTEMPTS` times with back-off, then once
more after `NEWSLETTER_LAST_ROUND_SECONDS` (an hour): a bad hour at the relay or at the
reader's provider does not lose the reader. Only then is the delivery final (`failed`).

Every write here is fenced (claims.py): it applies only where the row is still the
writer's own claim, and says so when it is not (`Recorded.lost`, or the count given back).
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
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition
from newsletter.errors import Conflict
from newsletter.subscribers import lifecycle as subscriptions
from newsletter.tracking.models import EventKind
from newsletter.transport.failures import FailureClass, SendFailure

deliveries = Delivery.__table__
editions = Edition.__table__
F = FailureClass


@dataclass(frozen=True)
class Recorded:
    status: D | None  # None: the row was no longer ours (lost), nothing was written
    paused_edition: bool = False  # the refusals reached the threshold: the edition is paused now
    held_domain: str = ""  # the recipient's domain is held now: skip its other rows at once

    @property
    def lost(self) -> bool:
        return self.status is None


def retry_delay(settings: Settings, attempts: int) -> float:
    """Back-off after the n-th failed attempt: base x 2^(n-1)."""
    return settings.retry_base_seconds * (2 ** (attempts - 1))


def _ours(ids: list[int], token: str):
    d = deliveries.c
    return (d.id.in_(ids), d.claimed_by == token, d.status == D.SENDING)


def give_back(conn: Connection, ids: list[int], token: str, now: datetime, error: SendFailure | None = None) -> int:
    """Rows claimed and not sent (pause, relay down, the end of a run) go back to pending,
    without costing an attempt. Returns how many were still ours."""
    if not ids:
        return 0
    values = {"status": D.PENDING, "claimed_by": "", "queued_at": now}
    if error is not None:
        values.update(last_error=str(error)[:500], error_class=error.failure_class)
    return conn.execute(update(deliveries).where(*_ours(ids, token)).values(**values)).rowcount


def set_status(conn: Connection, ids: list[int], token: str, status: D, error: str = "",
               error_class: str = "") -> int:
    """Our claimed rows to a final or waiting state; how many were still ours."""
    if not ids:
        return 0
    return conn.execute(update(deliveries).where(*_ours(ids, token)).values(
        status=status, claimed_by="", last_error=error[:500], error_class=error_class)).rowcount


def next_try(settings: Settings, failure_class: str, attempts: int) -> float | None:
    """Seconds until the next try after the `attempts`-th failure of this class; None: final.
    A temporary failure gets its back-off up to the last attempt, then a last round."""
    if failure_class in (F.RECIPIENT_REFUSED, F.UNDELIVERABLE, F.INTERNAL_ERROR):
        return None
    if attempts < settings.max_attempts:
        return 0.0 if failure_class == F.MESSAGE_REFUSED else retry_delay(settings, attempts)
    if attempts == settings.max_attempts and failure_class == F.TEMPORARY:
        return settings.last_round_seconds
    return None


def record_failure(conn: Connection, settings: Settings, edition_id: int, publication_id: int, did: int,
                   token: str, recipient: Recipient, failure: SendFailure, now: datetime) -> Recorded:
    cls = failure.failure_class
    attempts = conn.scalar(select(deliveries.c.attempts).where(*_ours([did], token)))
    if attempts is None:
        conn.rollback()
        return Recorded(None)
    attempts += 1
    row = {"attempts": attempts, "last_error": str(failure)[:500], "error_class": cls, "claimed_by": ""}
    paused, held_domain = False, ""
    delay = next_try(settings, cls, attempts)
    if delay is None:
        status = D.FAILED
    else:  # a message refusal is due at once: the pause (if it comes) is what holds it back
        status = D.RETRY
        row["next_attempt_at"] = now + timedelta(seconds=delay)
    if not conn.execute(update(deliveries).where(*_ours([did], token)).values(status=status, **row)).rowcount:
        conn.rollback()
        return Recorded(None)
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
