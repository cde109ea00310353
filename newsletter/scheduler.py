"""The schedule without a broker: beat and a worker in one thread of `newsletter run`.

On their intervals: the dispatcher (editions that are due: driver.dispatch), the sweeper
(sweeper.sweep: lost work, the next waves of editions sent at local time, alerts), feed
polling (ingest/feeds.py), outgoing webhooks (webhooks/deliver.py) and, daily, retention
(newsletter/retention/). Their work is done here, inline: batches wait in a local queue
ordered by when they are due, and run through the same driver as on workers
(driver.run_batch), follow-ups included. Small sites need no Redis or Celery to send
on time.

Stopping: `stop` is checked between messages (the batch gives back what it had not
sent, as a pause does) and between jobs. Rows given back, or left by a process that
was killed, are handed out again by the sweep that starts the next run.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from newsletter import runtime
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import driver, sweeper
from newsletter.delivery.interruptions import is_outage
from newsletter.editions.models import EditionStatus
from newsletter.ingest import feeds
from newsletter.retention import run as retention_run
from newsletter.transport.backends import Backend
from newsletter.webhooks import deliver as webhook_delivery

log = logging.getLogger(__name__)


class Stopping(Exception):
    """Raised between two messages when the process has been asked to stop."""


@dataclass
class Job:
    name: str
    every: float  # seconds
    action: Callable[[], object]
    next_at: float = 0.0  # monotonic; 0: at once


class Scheduler:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow, backend: Backend | None = None,
                 stop: threading.Event | None = None):
        self.settings, self.clock = settings, clock
        self.engine = runtime.engine_for(settings)
        self.backend = backend or runtime.backend(settings)
        self.stop = stop or threading.Event()
        self._queue: list[tuple[float, int, int, int, int]] = []  # (due, order, edition, lo, hi)
        self._order = itertools.count()
        self._limiters: dict[int, object] = {}
        # Feeds first: an edition that falls due in the same tick includes what they brought.
        self.jobs = [Job("feeds", settings.feed_check_seconds, self.poll_feeds),
                     Job("dispatch", settings.dispatch_interval_seconds, self.dispatch),
                     Job("sweep", settings.sweep_interval_seconds, self.sweep),
                     Job("webhooks", settings.webhook_check_seconds, self.deliver_webhooks),
                     # Daily, from the start (a site run now and then gets it too).
                     Job("retention", 24 * 3600, self.retention)]

    # The tasks, inline.
    def enqueue(self, edition_id: int, lo: int, hi: int, delay: float = 0.0) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), edition_id, lo, hi))

    def drive(self, edition_id: int, hand_back: bool = True) -> None:
        if driver.start(self.engine, self.settings, edition_id, self.backend) == EditionStatus.SENDING:
            driver.fan_out(self.engine, self.settings, edition_id, self.enqueue, started=utcnow(),
                           backend=self.backend, now=self.clock(), hand_back=hand_back)

    def redrive(self, edition_id: int) -> None:
        self.drive(edition_id, hand_back=False)

    def dispatch(self) -> list[int]:
        return driver.dispatch(self.engine, self.settings, self.clock(), self.drive, self.backend)

    def sweep(self, queued_before: datetime | None = None) -> int:
        return sweeper.sweep(self.engine, self.settings, self.enqueue, self.redrive, self.backend, queued_before,
                            in_flight=self.queued)

    def retention(self) -> None:
        retention_run.run(self.engine, self.settings, stop=self.stop.is_set)

    def queued(self, edition_id: int) -> int:
        """Batches of the edition waiting in this process's queue."""
        return sum(1 for item in self._queue if item[2] == edition_id)

    def poll_feeds(self) -> list:
        return feeds.poll_due(self.engine, self.settings, self.clock())

    def deliver_webhooks(self):
        return webhook_delivery.deliver_due(self.engine, self.settings, self.clock())

    def run_batch(self, edition_id: int, lo: int, hi: int) -> None:
        try:
            if edition_id not in self._limiters:
                pub = driver.composer_for(self.engine, self.settings, edition_id).publication
                self._limiters[edition_id] = runtime.limiter(self.settings, pub.domain_rate_per_second)
        except Exception as exc:  # nothing claimed yet: the batch again, soon
            if not is_outage(exc):
                raise
            self.enqueue(edition_id, lo, hi, self.settings.interrupted_retry_max_seconds)
            return
        _, follow = driver.run_batch(self.engine, self.settings, edition_id, lo, hi, "run", self.backend,
                                     self._limiters[edition_id], heartbeat=self._heartbeat)
        if follow.again_in is not None:
            log.info("edition %s (%s, %s]: %s; again in %.0fs", edition_id, lo, hi, follow.why, follow.again_in)
            self.enqueue(edition_id, lo, hi, follow.again_in)

    def _heartbeat(self) -> None:
        if self.stop.is_set():
            raise Stopping

    # The loop.
    def tick(self) -> None:
        """Run the jobs that are due, then every batch that is due."""
        for job in self.jobs:
            if self.stop.is_set():
                return
            if time.monotonic() >= job.next_at:
                job.next_at = time.monotonic() + job.every
                self._guarded(job.name, job.action)
        self.work()

    def work(self) -> int:
        """Run every queued batch that is due now; how many ran."""
        ran = 0
        while self._queue and self._queue[0][0] <= time.monotonic() and not self.stop.is_set():
            _, _, edition_id, lo, hi = heapq.heappop(self._queue)
            self._guarded(f"edition {edition_id} ({lo}, {hi}]", self.run_batch, edition_id, lo, hi)
            ran += 1
        return ran

    def run(self) -> None:
        log.info("scheduler started: editions every %ss, sweep every %ss, feeds every %ss",
                 self.settings.dispatch_interval_seconds, self.settings.sweep_interval_seconds,
                 self.settings.feed_check_seconds)
        # Whatever an earlier run left pending (given back at its stop, or claimed when it
        # was killed) is nobody's now.
        self._guarded("sweep", self.sweep, utcnow())
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(self._idle())
        log.info("scheduler stopped")

    def _idle(self) -> float:
        upcoming = [job.next_at for job in self.jobs] + ([self._queue[0][0]] if self._queue else [])
        return min(max(min(upcoming) - time.monotonic(), 0.01), 5.0)

    def _guarded(self, what: str, action: Callable[..., object], *args) -> None:
        """One failing job (the database restarting, a bad feed) never stops the schedule."""
        try:
            action(*args)
        except Stopping:
            log.info("%s: stopped between two messages; the rest is given back", what)
        except Exception:  # logged, and the next interval tries again
            log.exception("%s failed", what)
