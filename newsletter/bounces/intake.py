"""The actions the command line, the web and beat call: receive one report, collect a
mailbox, process what waits, reprocess after a fix, read old reports again with today's
rules (`reread`: rereading.py). Storing commits before processing
starts, each report in its own transaction: nothing received is ever lost to a bug
in what follows."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.bounces import process, rereading, store
from newsletter.bounces.models import ReportStatus
from newsletter.bounces.sources import open_source
from newsletter.config import Settings
from newsletter.errors import Conflict
from newsletter.staff.access import Actor
from newsletter.tracking.tokens import Tokens


@dataclass
class Collected:
    source: str
    stored: int = 0
    known: int = 0  # the same bytes were stored before
    statuses: Counter = field(default_factory=Counter)  # after processing


def receive(engine: Engine, settings: Settings, raw: bytes, source: str, envelope_to: str = "") -> store.Stored:
    """Store one report and commit; process it with `process_ids` afterwards."""
    with Session(engine) as session:
        stored = store.store(session, raw[:settings.bounce_max_bytes], source, envelope_to)
        session.commit()
    if stored.new:
        metrics.bounce_report_received(source.partition(":")[0])
    return stored


def process_ids(engine: Engine, settings: Settings, ids: list[int]) -> Counter:
    """Each report in its own transaction; the count of the statuses they ended in."""
    statuses: Counter = Counter()
    tokens = Tokens(settings.signing_key())
    for report_id in ids:
        with Session(engine) as session:
            statuses[process.process_report(session, settings, report_id, tokens)] += 1
            session.commit()
    return statuses


def collect(engine: Engine, settings: Settings, spec: str, keep: bool = False) -> Collected:
    """Store every message of a mailbox (removing it once stored, unless `keep`), then
    process the new reports."""
    source = open_source(spec, settings)
    result, new_ids = Collected(source.name), []
    try:
        for key, raw in source.messages():
            stored = receive(engine, settings, raw, source.name)
            result.stored += stored.new
            result.known += not stored.new
            if stored.new:
                new_ids.append(stored.report_id)
            if not keep:
                source.remove(key)
    finally:
        source.close()
    result.statuses = process_ids(engine, settings, new_ids)
    return result


def poll(engine: Engine, settings: Settings) -> Counter:
    """Beat: the configured mailbox, then whatever is still waiting (posted reports whose
    processing did not run)."""
    statuses: Counter = Counter()
    if settings.bounce_mailbox:
        statuses += collect(engine, settings, settings.bounce_mailbox).statuses
    with Session(engine) as session:
        waiting = process.pending(session)
    return statuses + process_ids(engine, settings, waiting)


def reprocess(engine: Engine, settings: Settings, ids: list[int] | None = None) -> Counter:
    """The given reports, or every failed and unmatched one. A report that was acted upon
    (parsed) is not run again: its subscriber was already dealt with."""
    with Session(engine) as session:
        for report_id in ids or []:
            report = store.get(session, report_id)
            if report.status == ReportStatus.PARSED:
                raise Conflict(f"bounce report {report_id} was processed already ({report.outcome})")
        todo = process.to_reprocess(session, ids)
    return process_ids(engine, settings, todo)


def reread(engine: Engine, settings: Settings, actor: Actor, since: str, dry_run: bool) -> rereading.Reread:
    """Every report received since the day `since` read again with today's rules: what
    changes, applied (one transaction) unless `dry_run`."""
    start = rereading.since_date(since)
    with Session(engine) as session:
        result = rereading.reread(session, settings, actor, start, dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return result
