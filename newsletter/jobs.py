"""Jobs run in the calling process: the embedded default, with no broker configured.

The same driver decisions as the Celery tasks, executed here: batches from a local
queue, follow-ups waited for in this process. A command must end, so the waiting is
bounded (`inline_wait_seconds`); what is left stays recorded and the next `send` (or
`newsletter run`'s sweeper) carries on from it. The Dispatcher protocol is here too:
what the front doors call, whichever runs the work (dispatchers.py chooses).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections import Counter
from typing import Protocol

from sqlalchemy.orm import Session

from newsletter import runtime
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import driver
from newsletter.editions import lifecycle
from newsletter.editions.models import EditionStatus
from newsletter.mail import account_mail
from newsletter.mail.confirmation import rehearse, send_confirmation
from newsletter.subscribers import signup
from newsletter.subscribers.signup import SignupRequest
from newsletter.transport.backends import Backend
from newsletter.transport.failures import SendFailure

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Starts work, inline or on workers. Every caller goes through these methods."""

    def deliver_edition(self, edition_id: int) -> str: ...
    def send_confirmation(self, subscription_id: int) -> None: ...
    def send_welcome(self, subscription_id: int) -> None: ...
    def send_address_change(self, change_id: int) -> None: ...
    def process_signup(self, request: SignupRequest) -> None: ...


class InlineDispatcher:
    def __init__(self, settings: Settings, backend: Backend | None = None):
        self.settings = settings
        self.backend = backend  # default: the one the settings name
        self._counters = None

    def deliver_edition(self, edition_id: int) -> str:
        status, counts = self.run_edition(edition_id)
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if v)
        return f"edition {edition_id}: {status}" + (f" ({parts})" if parts else "")

    def run_edition(self, edition_id: int) -> tuple[str, Counter]:
        settings = self.settings
        engine = runtime.engine_for(settings)
        totals: Counter = Counter()
        status = driver.start(engine, settings, edition_id, self.backend)
        if status != EditionStatus.SENDING:
            return status, totals
        queue: list[tuple[float, int, int, int]] = []  # (due, order, lo, hi)
        order = itertools.count()

        def enqueue(_edition_id: int, lo: int, hi: int, delay: float = 0.0) -> None:
            heapq.heappush(queue, (time.monotonic() + delay, next(order), lo, hi))

        driver.fan_out(engine, settings, edition_id, enqueue, started=utcnow(), backend=self.backend)
        publication = driver.composer_for(engine, settings, edition_id).publication
        limiter = runtime.limiter(settings, publication.domain_rate_per_second)
        backend = self.backend or runtime.backend(settings)
        deadline = time.monotonic() + settings.inline_wait_seconds
        while queue:
            due, _, lo, hi = heapq.heappop(queue)
            if due > deadline:
                log.warning("edition %s: work is left for later (the next send or the sweeper)", edition_id)
                break
            time.sleep(max(due - time.monotonic(), 0))
            result, follow = driver.run_batch(engine, settings, edition_id, lo, hi, "inline", backend, limiter,
                                              give_up_after=max(deadline - time.monotonic(), 0))
            totals.update(result.counts)
            if follow.again_in is not None:
                log.info("edition %s (%s, %s]: %s; again in %.0fs", edition_id, lo, hi, follow.why, follow.again_in)
                enqueue(edition_id, lo, hi, follow.again_in)
        driver.finish(engine, settings, edition_id, self.backend)
        with engine.begin() as conn:
            status = lifecycle.status_of(conn, edition_id)
        return status, totals

    def deliver_webhooks(self) -> str:
        """The webhook deliveries due now, one attempt each, in this process."""
        from newsletter import runtime
        from newsletter.webhooks import deliver

        done = deliver.deliver_due(runtime.engine_for(self.settings), self.settings)
        return ", ".join(f"{n} {k}" for k, n in sorted(done.items())) or "no webhooks due"

    def process_signup(self, request: SignupRequest) -> None:
        """The work after a sign-up's answer, in this process (the next request waits for
        it): a confirmation is rendered whatever the address's state and sent only when
        one is due, so the costly part takes the same time whichever it was (the send
        itself remains; see subscribers/signup.py)."""
        settings = self.settings
        with Session(runtime.engine_for(settings)) as session:
            if self._counters is None:
                self._counters = runtime.counters(settings)
            subscription_id = signup.process(session, self._counters, settings.signing_key(), request,
                                             settings.signup_emails_per_address)
            session.commit()
        if subscription_id is not None:
            self.send_confirmation(subscription_id)
        else:
            try:
                with Session(runtime.engine_for(settings)) as session:
                    rehearse(session, settings, request.publication_id, request.email)
            except Exception:  # nothing is sent: a failure here must not differ from a sending's
                log.debug("sign-up: rendering the unsent confirmation failed", exc_info=True)

    def send_confirmation(self, subscription_id: int) -> None:
        self._one_off(f"confirmation for subscription {subscription_id}",
                      lambda session, backend: send_confirmation(session, self.settings, backend, subscription_id))

    def send_welcome(self, subscription_id: int) -> None:
        self._one_off(f"welcome for subscription {subscription_id}", lambda session, backend:
                      account_mail.send_welcome(session, self.settings, backend, subscription_id))

    def send_address_change(self, change_id: int) -> None:
        for side in ("old", "new"):
            self._one_off(f"address change {change_id} ({side} address)", lambda session, backend, side=side:
                          account_mail.send_address_change(session, self.settings, backend, change_id, side))

    def _one_off(self, what: str, send) -> None:
        """One personal email, with retries after temporary failures while this process waits."""
        settings = self.settings
        for retries in itertools.count():
            try:
                with Session(runtime.engine_for(settings)) as session:
                    send(session, self.backend or runtime.backend(settings))
                return
            except SendFailure as exc:
                delay = driver.one_off_retry_in(settings, exc, retries)
                if delay is None or delay > settings.inline_wait_seconds:
                    log.warning("%s not sent: %s", what, exc)
                    return
                time.sleep(delay)
