"""Keeping every report exactly as it came, before anything reads it.

The same bytes are kept once (a SHA-256 is unique): a relay that posts again after a
timeout, or a mailbox read twice, adds nothing. A provider's event is kept once by its
own id (`key`), whatever the bytes it came in: a provider may send an event again
differently serialised, and a signature may not cover every byte (bounces/webhooks.py).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceReport, ReportStatus
from newsletter.errors import InvalidInput, NotFound
from newsletter.lookups import valid_id
from newsletter.text import one_line


@dataclass(frozen=True)
class Stored:
    report_id: int
    new: bool  # False: these bytes were stored before


def store(session: Session, raw: bytes, source: str, envelope_to: str = "", provider: str = "",
          key: str = "") -> Stored:
    """Store and flush (the caller commits). InvalidInput for an empty report. `provider`
    and `key`: a webhook's event and its id (the same id is stored once)."""
    if not raw or not raw.strip():
        raise InvalidInput("the report is empty")
    digest = hashlib.sha256(f"{provider}:{key}".encode() if key else raw).hexdigest()
    known = session.scalar(select(BounceReport.id).where(BounceReport.sha256 == digest))
    if known is not None:
        return Stored(known, False)
    report = BounceReport(source=one_line(source)[:255], envelope_to=one_line(envelope_to)[:320], sha256=digest,
                          raw=raw, status=ReportStatus.RECEIVED, provider=provider)
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:  # stored by someone else a moment ago
        return Stored(session.scalar(select(BounceReport.id).where(BounceReport.sha256 == digest)), False)
    return Stored(report.id, True)


def get(session: Session, report_id: int) -> BounceReport:
    report = session.get(BounceReport, report_id) if valid_id(report_id) else None
    if report is None:
        raise NotFound(f"no bounce report {report_id}")
    return report


def recent(session: Session, status: str | None = None, limit: int = 30) -> list[BounceReport]:
    q = select(BounceReport).order_by(BounceReport.id.desc()).limit(limit)
    if status:
        if status not in set(ReportStatus):
            raise InvalidInput(f"unknown status {status!r} (one of: {', '.join(ReportStatus)})")
        q = q.where(BounceReport.status == status)
    return list(session.scalars(q))
