"""Beat's sweeper: the work nobody is doing, found and handed out again; the alerts that
are due (an outage past its threshold, an edition paused by refusals) recorded and sent.

Lost work is found by ownership, never by the time since a last success: rows of a dead
claim (claims.py), retries that are due, pending rows queued longer ago than the
visibility timeout, and, when the broker tells that no task of an edition waits in it
and no claim on it is alive (queued.py), all of its due work at once: an edition whose
queue drained (the database away, a Redis flushed) is back at work within a sweep
interval, not after the visibility timeout.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import alerts, claims, driver, feed_alerts, outage, plan
from newsletter.transport.backends import Backend

log = logging.getLogger(__name__)
InFlight = Callable[[int], "int | None"]  # batch tasks of an edition waiting in the broker (queued.py)


def sweep(engine: Engine, settings: Settings, enqueue: driver.Enqueue, redrive: Callable[[int], None],
          backend: Backend | None = None, queued_before: datetime | None = None,
          in_flight: InFlight | None = None) -> int:
    """Beat's sweeper: for every edition that is sending, re-drive an unfinished fan-out
    (its drive may have been lost, or its next wave has come; `redrive` must not hand
    back earlier work: fan_out's hand_back=False) and recover work whose task was lost;
    alert the operators about a relay unavailable past the threshold and about editions
    paused by refusals, and send the alerts that have not gone out yet.

    Lost work: rows of dead claims, due retries, and pending rows queued longer ago than
    the visibility timeout; or, when `in_flight` tells that no task of the edition waits
    in the broker and no claim on it is alive (the queue drained while the database was
    away, a Redis flushed), every pending row queued more than a sweep interval ago: the
    edition is back at work within seconds, not after the visibility timeout."""
    handed = 0
    now = utcnow()
    with engine.connect() as conn:
        editions = plan.sending_editions(conn)
    for edition_id, fanout_done in editions:
        if not fanout_done:
            redrive(edition_id)
        before = queued_before or _queued_before(engine, settings, edition_id, in_flight, now)
        handed += driver.recover(engine, settings, edition_id, enqueue, backend=backend, queued_before=before)
    with engine.begin() as conn:
        for edition_id, _ in editions:
            outage.check(conn, settings, edition_id, now)
        for edition_id in alerts.paused_by_refusals(conn, settings):
            alerts.check_paused(conn, settings, edition_id)
        feed_alerts.check(conn, now)  # feeds failing past their threshold, and back
    driver.notify(engine, settings, backend)
    return handed


def _queued_before(engine: Engine, settings: Settings, edition_id: int, in_flight: InFlight | None,
                   now: datetime) -> datetime:
    """Pending rows queued before this are taken for lost (see sweep)."""
    patient = now - timedelta(seconds=settings.visibility_timeout)
    waiting = in_flight(edition_id) if in_flight is not None else None
    if waiting != 0:
        return patient
    with engine.connect() as conn:
        alive = claims.live_claims(conn, edition_id, now - claims.dead_after(settings.lease_seconds))
        due = plan.due_work(conn, edition_id, now)
    if alive or not due:
        return patient
    log.warning("edition %s: work is due and no task is queued or running: handing it out again",
                edition_id, extra={"edition_id": edition_id})
    return now - timedelta(seconds=settings.sweep_interval_seconds)
