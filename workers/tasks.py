"""Celery tasks: each takes ids and plain values, calls the domain, and schedules what
the domain decided (newsletter/delivery/driver.py). No policy lives here.

drive(edition)        start the edition and fan out: one send_batch per recorded range
send_batch(e, lo, hi) claim, send over one SMTP connection, record; follow up as told
sweep()               hand out again what nobody is doing; the next waves; finish editions; alerts
dispatch_due()        beat, every minute: build and start the editions that are due; alerts
poll_feeds()          beat, every minute: one poll_feed per feed that is due
poll_feed(name)       one conditional GET of one feed, its entries stored
send_confirmation(s)  the double opt-in email
send_welcome(s)       the welcome after a confirmed sign-up
send_address_change(c, side)  an address change: the old address told, the new one asked
process_signup(...)   a sign-up that the web already answered
process_bounces()     beat: read the bounce mailbox, process reports still waiting
"""
from __future__ import annotations

from datetime import datetime

from celery import shared_task
from sqlalchemy.orm import Session

from newsletter import runtime
from newsletter.bounces import intake as bounce_intake
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.delivery import account_mail, driver
from newsletter.delivery.confirmation import send_confirmation as send_confirmation_step
from newsletter.delivery.failures import SendFailure
from newsletter.editions.models import EditionStatus
from newsletter.ingest import feeds
from newsletter.subscribers import signup
from workers.leases import Lease


def _engine():
    return runtime.engine_for(get_settings())


def _enqueue(edition_id: int, lo: int, hi: int) -> None:
    send_batch.delay(edition_id, lo, hi)


@shared_task(name="newsletter.drive", bind=True, max_retries=None)
def drive(self, edition_id: int, hand_back: bool = True) -> None:
    """One drive per edition at a time (a Redis lease); a second one has nothing to do.
    hand_back=False: a re-drive by the sweeper (driver.fan_out says why)."""
    settings, engine = get_settings(), _engine()
    started = utcnow()
    if driver.start(engine, settings, edition_id) != EditionStatus.SENDING:
        return
    lease = Lease(runtime.redis_client(settings), f"nl:drive:{edition_id}", settings.lease_seconds,
                  driver.lease_renew_every(settings))
    if not lease.acquire():
        return
    try:
        driver.fan_out(engine, settings, edition_id, _enqueue, started, renew=lease.renew, hand_back=hand_back)
    finally:
        lease.release()


@shared_task(name="newsletter.send_batch", bind=True, max_retries=None)
def send_batch(self, edition_id: int, lo: int, hi: int) -> dict:
    settings, engine = get_settings(), _engine()
    token = self.request.id or driver.new_token(f"local-{edition_id}-{lo}-{hi}")
    lease = Lease(runtime.redis_client(settings), f"nl:lease:{token}", settings.lease_seconds,
                  driver.lease_renew_every(settings))
    if not lease.acquire():
        # The same task is running elsewhere (a broker redelivery while it is alive):
        # come back later instead of sending its claimed rows a second time.
        raise self.retry(countdown=driver.busy_retry_in(settings))
    try:
        publication = driver.composer_for(settings, edition_id).publication
        result, follow = driver.run_batch(engine, settings, edition_id, lo, hi, token, runtime.backend(settings),
                                          runtime.limiter(settings, publication.domain_rate_per_second),
                                          heartbeat=lease.renew)
    finally:
        lease.release()
    if follow.again_in is not None:
        send_batch.apply_async((edition_id, lo, hi), countdown=follow.again_in)
    return {"outcome": result.outcome, **result.counts}


@shared_task(name="newsletter.sweep")
def sweep() -> int:
    return driver.sweep(_engine(), get_settings(), _enqueue, redrive=lambda edition_id: drive.delay(edition_id, False))


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
