"""Celery tasks: each takes ids and plain values and calls one domain step.

drive(edition)        start the edition, walk the subscribers, enqueue a batch per range
send_batch(e, lo, hi) claim, send over one SMTP connection, record (newsletter.delivery.batch)
sweep()               hand out again what nobody is doing; finish editions
dispatch_due()        beat, every minute: build and start the editions that are due
"""
from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache

from celery import shared_task
from sqlalchemy.orm import Session

from newsletter import runtime
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.delivery import plan
from newsletter.delivery.batch import send_batch as send_batch_step
from newsletter.delivery.compose import Composer
from newsletter.delivery.progress import maybe_finish
from newsletter.delivery.run import load
from newsletter.editions.due import due_editions
from workers.leases import Lease

log = logging.getLogger(__name__)


def _engine():
    return runtime.engine_for(get_settings())


@shared_task(name="newsletter.drive", bind=True, max_retries=None)
def drive(self, edition_id: int) -> None:
    """Fan out from the checkpoint. Each range is enqueued only after its rows commit.
    One drive per edition at a time (a Redis lease); a second one has nothing to do."""
    settings, engine = get_settings(), _engine()
    started = utcnow()
    with engine.begin() as conn:
        status = plan.start(conn, edition_id)
    if status != "sending":
        return
    lease = Lease(runtime.redis_client(settings), f"nl:drive:{edition_id}", settings.lease_seconds)
    if not lease.acquire():
        return
    try:
        _fan_out(settings, engine, edition_id, started, lease)
    finally:
        lease.release()


def _fan_out(settings, engine, edition_id: int, started, lease: Lease) -> None:
    with engine.connect() as conn:
        while True:
            lease.renew()
            with conn.begin():
                batch = plan.next_batch(conn, edition_id, settings.batch_size)
            if batch is None:
                break
            send_batch.delay(edition_id, *batch)
        with conn.begin():
            # Work queued before this run (released by a pause, left by a crash) goes out again.
            ranges = plan.stale_ranges(conn, edition_id, settings.batch_size, started,
                                       timedelta(seconds=settings.lease_seconds))
        for lo, hi in ranges:
            send_batch.delay(edition_id, lo, hi)
        with conn.begin():
            maybe_finish(conn, edition_id)


@shared_task(name="newsletter.send_batch", bind=True, max_retries=None)
def send_batch(self, edition_id: int, lo: int, hi: int) -> dict:
    settings, engine = get_settings(), _engine()
    token = self.request.id or f"local-{edition_id}-{lo}-{hi}"
    redis = runtime.redis_client(settings)
    lease = Lease(redis, f"nl:lease:{token}", settings.lease_seconds)
    if not lease.acquire():
        # The same task is running elsewhere (a broker redelivery while it is alive):
        # come back later instead of sending its claimed rows a second time.
        raise self.retry(countdown=settings.lease_seconds)
    try:
        edition, publication, composer = _composer(edition_id)
        limiter = runtime.limiter(settings, publication.domain_rate_per_second)
        with engine.connect() as conn:
            result = send_batch_step(conn, settings, edition, publication, lo, hi, token,
                                     runtime.backend(settings), limiter, composer, heartbeat=lease.renew)
            next_retry = plan.next_retry_at(conn, edition_id, lo, hi)
            conn.commit()
    finally:
        lease.release()
    if result.outcome == "relay_down":
        log.warning("relay down for edition %s (%s, %s]: retrying in %ss", edition_id, lo, hi,
                    settings.relay_down_retry_seconds)
        raise self.retry(countdown=settings.relay_down_retry_seconds)
    if result.outcome == "done" and next_retry is not None:
        # Temporary failures in this range: come back when the first is due, as a new task.
        delay = max((next_retry - utcnow()).total_seconds(), 0) + 0.5
        send_batch.apply_async((edition_id, lo, hi), countdown=min(delay, settings.visibility_timeout / 2))
    return {"outcome": result.outcome, **result.counts}


@lru_cache(maxsize=4)
def _composer(edition_id: int):
    """Editions are frozen: render each one once per worker process, not once per batch."""
    edition, publication = load(_engine(), edition_id)
    return edition, publication, Composer(get_settings(), edition, publication)


@shared_task(name="newsletter.sweep")
def sweep() -> int:
    settings, engine = get_settings(), _engine()
    handed = 0
    with engine.connect() as conn:
        for edition_id, fanout_done in plan.sending_editions(conn):
            if not fanout_done:
                drive.delay(edition_id)  # its drive may have been lost; the lease stops a second
            with conn.begin():
                # Pending longer than the broker's visibility timeout: its task was lost.
                ranges = plan.stale_ranges(
                    conn, edition_id, settings.batch_size,
                    utcnow() - timedelta(seconds=settings.visibility_timeout),
                    timedelta(seconds=settings.lease_seconds))
            for lo, hi in ranges:
                send_batch.delay(edition_id, lo, hi)
                handed += 1
            with conn.begin():
                maybe_finish(conn, edition_id)
    return handed


@shared_task(name="newsletter.dispatch_due")
def dispatch_due(now_iso: str | None = None) -> list[int]:
    settings, engine = get_settings(), _engine()
    from datetime import datetime

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with Session(engine, expire_on_commit=False) as session:
        due = due_editions(session, now, timedelta(minutes=settings.schedule_grace_minutes))
        session.commit()
    started = [d.edition_id for d in due if d.status == "built"]
    for edition_id in started:
        drive.delay(edition_id)  # after the commit above: the worker will find the rows
    return started


@shared_task(name="newsletter.send_confirmation", bind=True, max_retries=8)
def send_confirmation(self, subscription_id: int) -> str:
    from newsletter.delivery.backends import PermanentFailure, RelayDown, TemporaryFailure
    from newsletter.delivery.confirmation import send_confirmation as send_step

    settings = get_settings()
    with Session(_engine()) as session:
        try:
            return send_step(session, settings, runtime.backend(settings), subscription_id)
        except (TemporaryFailure, RelayDown) as exc:
            raise self.retry(exc=exc, countdown=min(2 ** self.request.retries * 10, 600)) from exc
        except PermanentFailure:
            log.warning("confirmation for subscription %s refused permanently", subscription_id)
            return ""
