"""What a batch run ended with (`BatchResult`), why it stopped early, and its one log
line: at WARNING when something failed or waits, with counts by failure class; and
its cleanup steps, whose own failure never hides what ended it (`quietly`)."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from newsletter.delivery.claims import Claim
from newsletter.delivery.gate import EditionGate
from newsletter.delivery.marks import SentMarks
from newsletter.delivery.states import BatchOutcome
from newsletter.editions.models import Edition, EditionStatus

log = logging.getLogger("newsletter.delivery.batch")  # the batch's own logger: operators filter on it


@dataclass
class BatchResult:
    outcome: BatchOutcome = BatchOutcome.DONE
    counts: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # by failure class
    alerted: bool = False  # an alert was recorded (an outage over): the caller sends it
    note: str = ""  # the relay's answer when it was unavailable, or the first unexpected error


def why_not(gate: EditionGate, run: Claim, marks: SentMarks) -> BatchOutcome:
    if run.lost or marks.lost:
        return BatchOutcome.LOST
    if gate.status != EditionStatus.SENDING:
        return stopped(gate.status)
    return BatchOutcome.INTERRUPTED  # the heartbeat lapsed: stop before the next MAIL


def stopped(status: EditionStatus) -> BatchOutcome:
    if status == EditionStatus.PAUSED:
        return BatchOutcome.PAUSED
    if status == EditionStatus.CANCELLED:
        return BatchOutcome.CANCELLED
    return BatchOutcome.NOT_SENDING


def log_batch(edition: Edition, lo: int, hi: int, result: BatchResult) -> None:
    """One line per batch: at WARNING when something failed or waits, with counts by class."""
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items()) if n) or "nothing to send"
    extra = {"edition_id": edition.id, "batch": f"{lo}-{hi}"}
    if result.failures or result.outcome in (BatchOutcome.RELAY_DOWN, BatchOutcome.LOST):
        failed = ", ".join(f"{k} {n}" for k, n in sorted(result.failures.items()))
        log.warning("batch %s-%s of edition %s: %s, %s%s%s", lo, hi, edition.id, result.outcome, counts,
                    f"; failures by class: {failed}" if failed else "",
                    f"; {result.note}" if result.note else "", extra=extra)
    else:
        log.info("batch %s-%s of edition %s: %s, %s", lo, hi, edition.id, result.outcome, counts, extra=extra)


def quietly(step) -> None:
    """A cleanup step whose own failure must not hide the error being handled."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001
        log.debug("cleanup step failed: %s: %s", type(exc).__name__, exc)
