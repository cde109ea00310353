"""The delivery driver: dispatch, start, fan out, recover, run a batch, finish; and what
to do next (the sweeper that calls recover for every sending edition: sweeper.py).

One driver for every way of running: the inline dispatcher (jobs.py) and the Celery
tasks (workers/tasks.py) are both a few lines that schedule what this module decides.
Work is handed on through an `enqueue(edition_id, lo, hi)` callable; decisions about
timing come back as values (`FollowUp`), never as sleeps or retries made here, with one
exception: a batch interrupted by the database or the broker waits the outage out in its
own process (`run_batch`), retrying after half a second, doubling, at most
NEWSLETTER_INTERRUPTED_RETRY_MAX_SECONDS: the interrupted run's claim must go on beating
until its next run has settled what it left (claims.Handover), which a task handed back
to the broker (behind every batch queued before it) could not promise.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import alerts, claims, outage, plan
from newsletter.delivery.batch import send_batch
from newsletter.delivery.batch_result import BatchResult
from newsletter.delivery.claims import Claim, Handover
from newsletter.delivery.compose import Composer
from newsletter.delivery.interruptions import Interrupted, is_outage
from newsletter.delivery.states import BatchOutcome
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.due import check_schedule
from newsletter.editions.models import Edition, EditionStatus
from newsletter.errors import NotFound
from newsletter.links import check_sendable
from newsletter.publications.models import Publication
from newsletter.transport.backends import Backend, backend_from_settings
from newsletter.transport.failures import FailureClass, SendFailure
from newsletter.transport.ratelimit import Limiter

log = logging.getLogger(__name__)
Enqueue = Callable[[int, int, int], None]


@dataclass(frozen=True)
class FollowUp:
    """What should happen after a batch: nothing, or the same range again after a delay."""

    again_in: float | None = None
    why: str = ""


def start(engine: Engine, settings: Settings, edition_id: int, backend: Backend | None = None) -> EditionStatus:
    """Start sending (idempotent). An empty edition is never sent: its operators are told."""
    check_sendable(settings)
    with engine.begin() as conn:
        status = plan.start(conn, edition_id)
        raised = alerts.check_empty(conn, edition_id) if status == EditionStatus.EMPTY else None
    if raised:
        notify(engine, settings, backend)
    return status


def fan_out(engine: Engine, settings: Settings, edition_id: int, enqueue: Enqueue,
            started: datetime, renew=lambda: None, backend: Backend | None = None,
            now: datetime | None = None, hand_back: bool = True) -> None:
    """Record and hand out every batch from the checkpoint (for an edition sent in waves:
    every batch of the waves due by `now`); then, with `hand_back`, the work queued before
    this run (released by a pause, left by a crash); then finish if nothing is open.
    Each range is handed out only after its rows are committed.

    The sweeper's re-drives pass hand_back=False: an edition sent in waves is re-driven
    at every sweep until its last wave, and the rows its earlier drives queued may still
    be waiting in the broker; the sweeper hands out what is really lost itself, after
    the visibility timeout."""
    with engine.connect() as conn:
        while True:
            renew()
            with conn.begin():
                batch = plan.next_batch(conn, edition_id, settings.batch_size, now)
            if batch is None:
                break
            enqueue(edition_id, *batch)
    if hand_back:
        recover(engine, settings, edition_id, enqueue, queued_before=started, backend=backend)
    else:
        finish(engine, settings, edition_id, backend)


def recover(engine: Engine, settings: Settings, edition_id: int, enqueue: Enqueue,
            queued_before: datetime, backend: Backend | None = None) -> int:
    """Hand out again what nobody is doing: rows pending since before `queued_before`,
    due retries, rows of senders that show no life. Returns how many ranges."""
    with engine.connect() as conn:
        with conn.begin():
            ranges = plan.stale_ranges(conn, edition_id, settings.batch_size, queued_before,
                                       claims.dead_after(settings.lease_seconds))
        for lo, hi in ranges:
            enqueue(edition_id, lo, hi)
    finish(engine, settings, edition_id, backend)
    return len(ranges)


def finish(engine: Engine, settings: Settings, edition_id: int, backend: Backend | None = None) -> bool:
    """Mark the edition sent if its fan-out is done and no row is open; operators are told
    when its failures are over the threshold. True when it finished now."""
    with engine.begin() as conn:
        finished = plan.maybe_finish(conn, edition_id)
        raised = alerts.check_failures(conn, settings, edition_id) if finished else None
        back = outage.end(conn, edition_id, utcnow()) if finished else None  # its last message went out
    if raised or back:
        notify(engine, settings, backend)
    return finished


def dispatch(engine: Engine, settings: Settings, now: datetime, drive: Callable[[int], None],
             backend: Backend | None = None) -> list[int]:
    """Beat's dispatcher, every minute: build the editions that are due (due.py), tell the
    operators about empty and missed ones, and drive the built ones (after the commit, so
    the driver finds their rows). Returns the ids of the editions handed to `drive`."""
    with Session(engine, expire_on_commit=False) as session:
        schedule = check_schedule(session, now, settings.schedule_grace)
        session.commit()
    with engine.begin() as conn:
        for due in schedule.due:  # built now, or before (by `build`): told once either way
            if due.status == EditionStatus.EMPTY:
                alerts.check_empty(conn, due.edition_id)
        for missed in schedule.missed:
            late = int(missed.late.total_seconds() // 60)
            alerts.raise_alert(conn, missed.publication_id, missed.day, alerts.AlertKind.MISSED,
                               f"due at {missed.due_at:%Y-%m-%d %H:%M} UTC, {late} minutes late "
                               f"(grace {settings.schedule_grace_minutes} minutes): skipped")
    notify(engine, settings, backend)
    started = [d.edition_id for d in schedule.due if d.status == EditionStatus.BUILT]
    for edition_id in started:
        log.info("edition %s is due: sending", edition_id, extra={"edition_id": edition_id})
        drive(edition_id)
    return started


def notify(engine: Engine, settings: Settings, backend: Backend | None = None) -> int:
    """Email the alerts recorded and not sent yet (through `backend`, or the configured one)."""
    return alerts.send_pending(engine, settings, backend or backend_from_settings(settings))


def load(engine: Engine, edition_id: int) -> tuple[Edition, Publication]:
    with Session(engine, expire_on_commit=False) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            raise NotFound(f"no edition {edition_id}")
        publication = session.get(Publication, edition.publication_id)
        _ = edition.items, publication.sections  # loaded now, used after the session closes
        return edition, publication


_composers: dict[tuple, Composer] = {}


def composer_for(engine: Engine, settings: Settings, edition_id: int) -> Composer:
    """Editions are frozen: each is rendered once per process, not once per batch."""
    key = (settings.effective_database_url, settings.web_base_url, edition_id)
    if key not in _composers:
        if len(_composers) >= 8:
            _composers.pop(next(iter(_composers)))
        edition, publication = load(engine, edition_id)
        _composers[key] = Composer(settings, edition, publication)
    return _composers[key]


def run_batch(engine: Engine, settings: Settings, edition_id: int, lo: int, hi: int, owner: str,
              backend: Backend, limiter: Limiter, heartbeat=lambda: None, give_up_after: float | None = None,
              sleep=time.sleep) -> tuple[BatchResult, FollowUp]:
    """Run one batch; `owner` names who runs it (the task id), each run of it a claim of
    its own (claims.new_token). A database or broker error is waited out here, after a
    short back-off, and the batch runs again with what the interrupted run left; after
    `give_up_after` seconds (None: never) the batch is left to the sweeper instead."""
    handover: Handover | None = None
    attempt, started = 0, time.monotonic()
    while True:
        run = Claim(claims.new_token(owner), edition_id, lo, hi, settings.lease_seconds)
        try:
            return _run_once(engine, settings, edition_id, lo, hi, run, backend, limiter, heartbeat, handover)
        except Exception as exc:
            if not is_outage(exc) and not isinstance(exc, Interrupted):
                _settle(handover)
                raise
            if isinstance(exc, Interrupted):
                handover = exc.handover
            delay = interrupted_retry_in(settings, attempt)
            attempt += 1
            gave_up = give_up_after is not None and time.monotonic() - started + delay > give_up_after
            log.warning("batch %s-%s of edition %s interrupted (%s); %s", lo, hi, edition_id,
                        exc if isinstance(exc, Interrupted) else type(exc).__name__,
                        "left for later" if gave_up else f"again in {delay:.1f}s",
                        extra={"edition_id": edition_id, "batch": f"{lo}-{hi}"})
            if gave_up:
                _settle(handover)  # its claim falls silent: the sweeper takes its rows after a lease
                return BatchResult(outcome=BatchOutcome.INTERRUPTED), FollowUp()
        try:
            heartbeat()  # `newsletter run` stops here too
            sleep(delay)
        except BaseException:
            _settle(handover)
            raise


def _settle(handover: Handover | None) -> None:
    if handover is not None:
        handover.settled()


def _run_once(engine: Engine, settings: Settings, edition_id: int, lo: int, hi: int, run: Claim, backend: Backend,
              limiter: Limiter, heartbeat, handover: Handover | None) -> tuple[BatchResult, FollowUp]:
    composer = composer_for(engine, settings, edition_id)
    with engine.connect() as conn:
        result = send_batch(conn, settings, composer.edition, composer.publication, lo, hi, run, backend,
                            limiter, composer, heartbeat, handover)
        with conn.begin():
            now = utcnow()
            next_retry = plan.next_retry_at(conn, edition_id, lo, hi)
            raised = [alerts.check_paused(conn, settings, edition_id)
                      if result.outcome == BatchOutcome.PAUSED else None,
                      outage.check(conn, settings, edition_id, now)
                      if result.outcome == BatchOutcome.RELAY_DOWN else None,
                      outage.end(conn, edition_id, now) if result.counts[D.SENT] else None]
    if any(raised) or result.alerted:
        notify(engine, settings, backend)
    if result.outcome == BatchOutcome.DONE:
        finish(engine, settings, edition_id, backend)
    return result, follow_up(settings, result, next_retry, utcnow())


def follow_up(settings: Settings, result: BatchResult, next_retry: datetime | None, now: datetime) -> FollowUp:
    """The retry decision for a batch, as a value."""
    if result.outcome == BatchOutcome.RELAY_DOWN:
        return FollowUp(settings.relay_down_retry_seconds, "the relay is unavailable")
    if result.outcome == BatchOutcome.DONE and next_retry is not None:
        # Temporary failures in this range: come back when the first is due (a new task,
        # early enough that the broker does not think it lost).
        delay = max((next_retry - now).total_seconds(), 0) + 0.5
        return FollowUp(min(delay, settings.visibility_timeout / 2), "temporary failures are due again")
    return FollowUp()


def interrupted_retry_in(settings: Settings, attempt: int) -> float:
    """After a database or broker error: half a second, doubling, up to the setting."""
    return min(0.5 * 2 ** min(attempt, 16), settings.interrupted_retry_max_seconds)


def one_off_retry_in(settings: Settings, failure: SendFailure, retries: int) -> float | None:
    """When to try a personal email (confirmation, welcome, address change) again after
    `failure`, its `retries`-th; None: give up (a refusal, or too many tries)."""
    if failure.failure_class not in (FailureClass.TEMPORARY, FailureClass.RELAY_DOWN):
        return None
    if retries >= settings.confirmation_max_retries:
        return None
    return min(settings.retry_base_seconds * 2 ** retries, settings.confirmation_max_delay_seconds)


def lease_renew_every(settings: Settings) -> float:
    """How often a running task renews its lease: four times a lease, so a slow Redis
    call or two never lets it lapse under a live task."""
    return settings.lease_seconds / 4
