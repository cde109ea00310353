"""What operators do to an edition being delivered: pause, resume, cancel, release a
held domain. The command line, the web console and the API all call these."""
from __future__ import annotations

from sqlalchemy import Connection, update

from newsletter.delivery import holds
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.models import EditionStatus

deliveries = Delivery.__table__


def pause(conn: Connection, edition_id: int) -> EditionStatus:
    """Senders stop at their next message and give back what they had claimed."""
    return lifecycle.pause(conn, edition_id, "by an operator")


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
