"""Celery tasks: each takes ids and plain values, calls the domain, and schedules what
the domain decided (newsletter/delivery/driver.py). No policy lives here.

drive(edition)        start the edition and fan out: one send_batch per recorded range
send_batch(e, lo, hi) claim, send over one SMTP connection, record; follow up as told;
                      a database or broker error is waited out, within seconds of its end
sweep()               hand out again what nobody is doing; the next waves; finish editions; alerts
dispatch_due()        beat, every minute: build and start the editions that are due; alerts
poll_feeds()          beat, every minute: one poll_feed per feed that is due
poll_feed(name)       one conditional GET of one feed, its entries stored
send_confirmation(s)  the double opt-in email
send_welcome(s)       the welcome after a confirmed sign-up
send_address_change(c, side)  an address change: the old address told, the new one asked
process_signup(...)   a sign-up that the web already answered
process_bounces()     beat: read the bounce mailbox, process reports still waiting
webhooks_due()        beat: one deliver_webhook per webhook delivery that is due
deliver_webhook(d)    one signed POST of one event to one endpoint (webhooks/deliver.py decides)
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

from celery import shared_task
from sqlalchemy.orm import Session

from newsletter import runtime
from newsletter.bounces import intake as bounce_intake
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.delivery import driver, queued, sweeper
from newsletter.delivery.interruptions import is_outage
from newsletter.editions.models import EditionStatus
from newsletter.ingest import feeds
from newsletter.mail import account_mail
from newsletter.mail.confirmation import send_confirmation as send_confirmation_step
from newsletter.retention import run as retention_run
from newsletter.subscribers import signup
from newsletter.transport.failures import SendFailure
from newsletter.webhooks import deliver as webhook_delivery
from newsletter.workers.leases import Lease, LeaseLost

log = logging.getLogger(__name__)


def _engine():
    return runtime.engine_for(get_settings())


def _enqueue(edition_id: int, lo: int, hi: int, countdown: float = 0.0) -> None:
    """Hand a batch to the broker, noting it as queued work of its edition (queued.py)."""
    task_id = str(uuid.uuid4())
    notes = queued.for_settings(get_settings())
    if notes is not None:
        notes.add(edition_id, task_id, countdown)
    send_batch.apply_async((edition_id, lo, hi), task_id=task_id, countdown=countdown or None)


def _in_flight(edition_id: int) -> int | None:
    notes = queued.for_settings(get_settings())
    return notes.count(edition_id) if notes is not None else None


@shared_task(name="newsletter.drive", bind=True, max_retries=None)
def drive(self, edition_id: int, hand_back: bool = True) -> None:
    """One drive per edition at a time (a Redis lease); a second one has nothing to do.
    hand_back=False: a re-drive by the sweeper (driver.fan_out says why). A database or
    broker error sends it round again after a short back-off."""
    settings = get_settings()
    try:
        engine = _engine()
        started = utcnow()
        if driver.start(engine, settings, edition_id) != EditionStatus.SENDING:
            return
        lease = Lease(runtime.redis_client(settings), f"nl:drive:{edition_id}", settings.lease_seconds,
                      driver.lease_renew_every(settings))
        if not lease.acquire():
            return
        try:
            driver.fan_out(engine, settings, edition_id, _enqueue, started, renew=lease.renew, hand_back=hand_back)
        except LeaseLost:  # another drive holds the edition now (logged): it carries on
            return
        finally:
            lease.release()
    except Exception as exc:
        if not _infrastructure(exc):
            raise
        delay = driver.interrupted_retry_in(settings, self.request.retries)
        log.warning("drive of edition %s interrupted (%s); again in %.1fs", edition_id, type(exc).__name__, delay,
                    extra={"edition_id": edition_id})
        raise self.retry(countdown=delay, exc=exc) from exc


@shared_task(name="newsletter.send_batch", bind=True, max_retries=None)
def send_batch(self, edition_id: int, lo: int, hi: int) -> dict:
    """One batch, each run of it under a claim of its own (claims.py). Interrupted by the
    database or the broker, it waits the outage out in this process and goes on
    (driver.run_batch): not acknowledged as done, not left to the sweeper."""
    settings = get_settings()
    task_id = self.request.id or f"local-{edition_id}-{lo}-{hi}"
    notes = queued.for_settings(settings)
    if notes is not None:
        notes.started(edition_id, task_id)
    try:
        engine = _engine()
        publication = driver.composer_for(engine, settings, edition_id).publication
        limiter = runtime.limiter(settings, publication.domain_rate_per_second)
    except Exception as exc:  # nothing claimed yet: the same task again, soon
        if not _infrastructure(exc):
            raise
        delay = driver.interrupted_retry_in(settings, self.request.retries)
        if notes is not None:
            notes.add(edition_id, task_id, delay)
        raise self.retry(countdown=delay, exc=exc) from exc
    result, follow = driver.run_batch(engine, settings, edition_id, lo, hi, task_id, runtime.backend(settings),
                                      limiter)
    if follow.again_in is not None:
        _enqueue(edition_id, lo, hi, follow.again_in)
    return {"outcome": result.outcome, **result.counts}


def _infrastructure(exc: BaseException) -> bool:
    """A database or broker error (a retry gets past it), as opposed to a bug."""
    if is_outage(exc):
        return True
    from kombu.exceptions import OperationalError as BrokerError

    return isinstance(exc, BrokerError)


@shared_task(name="newsletter.sweep")
def sweep() -> int:
    return sweeper.sweep(_engine(), get_settings(), _enqueue, redrive=lambda edition_id: drive.delay(edition_id, False),
                        in_flight=_in_flight)


@shared_task(name="newsletter.dispatch_due")
def dispatch_due(now_iso: str | None = None) -> list[int]:
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    return driver.dispatch(_engine(), get_settings(), now, drive=drive.delay)


@shared_task(name="newsletter.poll_feeds")
def poll_feeds(now_iso: str | None = None) -> list[str]:
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with Session(_engine()) as session:
        names = feeds.due_feeds(session, now)
    for name in names:
        poll_feed.delay(name)
    return names


@shared_task(name="newsletter.poll_feed")
def poll_feed(name: str) -> dict:
    result = feeds.poll_feed(_engine(), get_settings(), name)
    return {"outcome": result.outcome, "added": result.added, "error": result.error}


@shared_task(name="newsletter.send_confirmation", bind=True, max_retries=None)
def send_confirmation(self, subscription_id: int) -> str:
    return _one_off(self, lambda s, settings, backend: send_confirmation_step(s, settings, backend,
                                                                              subscription_id))


def _one_off(task, send) -> str:
    """A personal email; tried again when the driver says so (driver.one_off_retry_in)."""
    settings = get_settings()
    with Session(_engine()) as session:
        try:
            return send(session, settings, runtime.backend(settings))
        except SendFailure as exc:
            delay = driver.one_off_retry_in(settings, exc, task.request.retries)
            if delay is not None:
                raise task.retry(exc=exc, countdown=delay) from exc
            return ""


@shared_task(name="newsletter.send_welcome", bind=True, max_retries=None)
def send_welcome(self, subscription_id: int) -> str:
    return _one_off(self, lambda s, settings, backend: account_mail.send_welcome(s, settings, backend,
                                                                                  subscription_id))


@shared_task(name="newsletter.send_address_change", bind=True, max_retries=None)
def send_address_change(self, change_id: int, side: str) -> str:
    return _one_off(self, lambda s, settings, backend: account_mail.send_address_change(s, settings, backend,
                                                                                         change_id, side))


@shared_task(name="newsletter.process_signup")
def process_signup(publication_id: int, email: str, name: str, sections: list[str] | None,
                   timezone: str = "") -> None:
    settings = get_settings()
    request = signup.SignupRequest(publication_id, email, name, sections, timezone)
    with Session(_engine()) as session:
        subscription_id = signup.process(session, runtime.counters(settings), settings.signing_key(), request,
                                         settings.signup_emails_per_address)
        session.commit()
    if subscription_id is not None:
        send_confirmation.delay(subscription_id)


@shared_task(name="newsletter.process_bounces")
def process_bounces() -> dict:
    return dict(bounce_intake.poll(_engine(), get_settings()))


@shared_task(name="newsletter.webhooks_due")
def webhooks_due(now_iso: str | None = None) -> list[int]:
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with Session(_engine()) as session:
        ids = webhook_delivery.due(session, now)
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return ids


@shared_task(name="newsletter.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    return webhook_delivery.attempt(_engine(), get_settings(), delivery_id)


@shared_task(name="newsletter.retention")
def retention() -> dict:
    """Daily (beat): old delivery rows rolled up, old records removed (newsletter/retention/)."""
    outcome = retention_run.run(_engine(), get_settings())
    return {p.what: p.count for p in outcome.parts}
