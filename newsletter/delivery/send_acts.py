"""What operators do to an edition being delivered: pause, resume, cancel, release a
held domain, send failed deliveries again. The command line, the web console and the API
all call these (through operators/editions.py, which checks roles and audits)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select, update

from newsletter.delivery import holds
from newsletter.delivery.models import Delivery
from newsletter.delivery.recipients import wanted
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition, EditionStatus
from newsletter.errors import Conflict, InvalidInput
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.transport.failures import FailureClass

deliveries = Delivery.__table__


def pause(conn: Connection, edition_id: int, reason: str = "") -> EditionStatus:
    """Senders stop at their next message and give back what they had claimed; the
    operator's reason, if any, is what `editions status` shows."""
    return lifecycle.pause(conn, edition_id, f"by an operator: {reason}" if reason else "by an operator")


def resume(conn: Connection, edition_id: int) -> EditionStatus:
    """Continue from the checkpoint; the refusal count starts again from zero."""
    return lifecycle.resume(conn, edition_id)


def cancel(conn: Connection, edition_id: int) -> EditionStatus:
    """Send nothing more: every delivery that has not gone out is skipped."""
    status = lifecycle.cancel(conn, edition_id)
    conn.execute(update(deliveries).where(deliveries.c.edition_id == edition_id,
                                          deliveries.c.status.in_((D.PENDING, D.RETRY, D.HELD)))
                 .values(status=D.SKIPPED, last_error="edition cancelled", claimed_by=""))
    return status


def release_domain(conn: Connection, edition_id: int, domain: str) -> int:
    """Let a held domain's deliveries go again; the caller re-drives the edition."""
    lifecycle.status_of(conn, edition_id)  # NotFound for a wrong id
    return holds.release(conn, edition_id, domain)


@dataclass(frozen=True)
class Retried:
    reopened: int  # failed deliveries pending again
    left: int  # failed deliveries of people no longer wanted (unsubscribed, disabled, suppressed): left failed
    status: EditionStatus


def retry_failed(conn: Connection, edition_id: int, failure_class: str = "") -> Retried:
    """Send an edition's failed deliveries (of one failure class, or all) again, on purpose:
    they are pending again with their attempts reset, and a sent edition is sending again
    until they are final. Never to anyone unsubscribed, disabled or suppressed since:
    those stay failed, and each one is checked again when it is claimed (batch.recipients),
    erasure included. A cancelled edition sends nothing more."""
    if failure_class and failure_class not in {c.value for c in FailureClass}:
        raise InvalidInput(f"unknown failure class {failure_class!r} "
                           f"(one of: {', '.join(c.value for c in FailureClass)})")
    status = lifecycle.status_of(conn, edition_id, lock=True)
    if status not in (EditionStatus.SENT, EditionStatus.SENDING, EditionStatus.PAUSED):
        raise Conflict(f"edition {edition_id} is {status}: only the failed deliveries of an edition that is sent, "
                       "sending or paused can be sent again")
    def failed(t):
        return [t.c.edition_id == edition_id, t.c.status == D.FAILED] + (
            [t.c.error_class == failure_class] if failure_class else [])

    publication_id = conn.scalar(select(Edition.__table__.c.publication_id)
                                 .where(Edition.__table__.c.id == edition_id))
    sub, sn, f = Subscriber.__table__, Subscription.__table__, deliveries.alias("failed")
    still_wanted = (select(f.c.id).select_from(f).join(sub, sub.c.id == f.c.subscriber_id)
                    .outerjoin(sn, and_(sn.c.subscriber_id == sub.c.id, sn.c.publication_id == publication_id))
                    .where(*failed(f), wanted(publication_id)))
    total = conn.scalar(select(func.count()).select_from(deliveries).where(*failed(deliveries)))
    reopened = conn.execute(update(deliveries).where(deliveries.c.id.in_(still_wanted)).values(
        status=D.PENDING, attempts=0, next_attempt_at=None, queued_at=None, claimed_by="")).rowcount
    if reopened and status == EditionStatus.SENT:
        status = lifecycle.reopen(conn, edition_id)
    return Retried(reopened, total - reopened, status)
