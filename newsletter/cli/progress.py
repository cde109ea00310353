"""Progress on the command line: a rich bar on a terminal (counts, rate, time left),
plain lines otherwise (a log file, a pipe, CI), one every few seconds and one at the end.

Delivery progress is read from the database (delivery/report.py), not from the code
doing the work, so the same display follows an inline send in this process and an
edition that Celery workers are sending elsewhere.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine

from newsletter.delivery.report import Report, report
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import EditionStatus

PLAIN_EVERY = 5.0  # seconds between plain lines
POLL = 0.5
STOPPED = {EditionStatus.SENT, EditionStatus.CANCELLED, EditionStatus.PAUSED, EditionStatus.EMPTY,
           EditionStatus.HELD}


def done_count(r: Report) -> int:
    return r.counts[D.SENT] + r.counts[D.FAILED] + r.counts[D.SKIPPED]


def summary_line(r: Report) -> str:
    eta = f", about {r.eta_seconds:.0f}s left" if r.eta_seconds is not None else ""
    line = (f"edition {r.edition_id}: {r.status}, {done_count(r)}/{r.total} done ({r.counts[D.SENT]} sent, "
            f"{r.counts[D.FAILED]} failed, {r.counts[D.SKIPPED]} skipped), {r.rate:.1f} messages/s{eta}")
    p = r.wave_progress
    if p is not None:  # in waves: the time left is the due waves'; when the rest starts
        line += f"; {r.due_remaining} due now, {r.waiting} waiting for their wave"
        if p.next_wave_at:
            line += f" (next at {p.next_wave_at:%H:%M} UTC, the last at {p.last_wave_at:%H:%M} UTC)"
    return line


class _Display:
    """A rich bar or plain lines, fed (done, total, words) as things move."""

    def __init__(self, console: Console, label: str, plain_every: float = PLAIN_EVERY):
        self.console, self.label, self.plain_every = console, label, plain_every
        self.rich = console.is_terminal
        self._last_line = 0.0
        self._progress: Progress | None = None

    def __enter__(self) -> _Display:
        self._last_line = time.monotonic()  # a first plain line after `plain_every`: short runs print the summary only
        if self.rich:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TaskProgressColumn(), TextColumn("{task.fields[words]}"),
                                      TimeRemainingColumn(), console=self.console, transient=False)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None, words="")
        return self

    def update(self, done: int, total: int | None, words: str, line: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total or None, words=words)
        elif time.monotonic() - self._last_line >= self.plain_every:
            self.console.print(line, highlight=False)
            self._last_line = time.monotonic()

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


def follow_edition(engine: Engine, edition_id: int, console: Console, work: Callable[[], str] | None = None,
                   poll: float = POLL, plain_every: float = PLAIN_EVERY) -> tuple[str | None, Report]:
    """Run `work` (an inline send) here while a thread shows the edition's progress; without
    work, follow the edition (sent by workers) until it stops sending. Returns (what work
    returned, the last report)."""
    stop = threading.Event()
    last: list[Report] = []

    def read() -> Report:
        with engine.connect() as conn:
            r = report(conn, edition_id)
        last[:] = [r]
        return r

    with _Display(console, f"edition {edition_id}", plain_every) as display:
        def show(r: Report) -> None:
            words = f"{r.counts[D.SENT]} sent, {r.counts[D.FAILED]} failed, {r.rate:.1f}/s"
            if r.waiting:
                words += f", {r.waiting} waiting for their wave"
            display.update(done_count(r), r.total, words, summary_line(r))

        if work is None:
            while True:
                r = read()
                show(r)
                if r.status in STOPPED:
                    break
                time.sleep(poll)
            result = None
        else:
            def watch() -> None:
                while not stop.wait(poll):
                    show(read())

            watcher = threading.Thread(target=watch, name="progress", daemon=True)
            watcher.start()
            try:
                result = work()
            finally:
                stop.set()
                watcher.join()
            show(read())
    console.print(summary_line(last[0]), highlight=False)
    return result, last[0]


@contextmanager
def counting(console: Console, label: str, total: int = 0, plain_every: float = PLAIN_EVERY):
    """For work that counts itself (an import): yields `advance(done, total)`."""
    started = time.monotonic()
    with _Display(console, label, plain_every) as display:
        def advance(done: int, new_total: int | None = None) -> None:
            nonlocal total
            total = new_total if new_total is not None else total
            elapsed = max(time.monotonic() - started, 1e-9)
            rate = done / elapsed
            eta = f", about {(total - done) / rate:.0f}s left" if rate and done < total else ""
            display.update(done, total, f"{rate:,.0f}/s", f"{label}: {done}/{total}, {rate:,.0f}/s{eta}")

        yield advance
