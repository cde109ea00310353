"""The other records that grow every day, each kept for its own time
(newsletter/settings/housekeeping.py says why):

- raw bounce reports: the bytes go (set empty), the report's parsed fields and its
  findings stay, so the soft-bounce scores, the lists and `bounces show` still answer;
  reports never read (received, failed) keep theirs for reprocessing;
- the staff audit log: entries older than its time are removed;
- outbox .eml files (the embedded default's sent mail): removed by their file time.

Each works in batches of ids, one transaction each, like the delivery rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, delete, func, select, update

from newsletter.bounces.models import BounceReport, ReportStatus
from newsletter.staff.models import AuditEntry

reports, audit = BounceReport.__table__, AuditEntry.__table__
READ = (ReportStatus.PARSED, ReportStatus.UNMATCHED)


@dataclass
class Found:
    count: int
    size: int = 0  # bytes, where known


def _old_reports(before: datetime):
    r = reports.c
    return (r.received_at < before, r.status.in_([s.value for s in READ]), func.length(r.raw) > 0)


def bounce_raw_found(conn: Connection, before: datetime) -> Found:
    count, size = conn.execute(select(func.count(), func.coalesce(func.sum(func.length(reports.c.raw)), 0))
                               .where(*_old_reports(before))).one()
    return Found(count, int(size))


def clear_bounce_raw(engine, before: datetime, batch_rows: int) -> int:
    done = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.scalars(select(reports.c.id).where(*_old_reports(before))
                                    .order_by(reports.c.id).limit(batch_rows)))
            if ids:
                conn.execute(update(reports).where(reports.c.id.in_(ids)).values(raw=b""))
        done += len(ids)
        if len(ids) < batch_rows:
            return done


def audit_found(conn: Connection, before: datetime) -> Found:
    return Found(conn.scalar(select(func.count()).select_from(audit).where(audit.c.created_at < before)) or 0)


def remove_audit(engine, before: datetime, batch_rows: int) -> int:
    done = 0
    while True:
        with engine.begin() as conn:
            hi = conn.scalar(select(func.max(select(audit.c.id).where(audit.c.created_at < before)
                                             .order_by(audit.c.id).limit(batch_rows).subquery().c.id)))
            n = conn.execute(delete(audit).where(audit.c.id <= hi, audit.c.created_at < before)).rowcount \
                if hi is not None else 0
        done += n
        if n < batch_rows:
            return done


def _old_files(folder: Path, before: datetime):
    if not folder.is_dir():
        return
    limit = before.timestamp()
    for path in folder.glob("*.eml"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # removed meanwhile
        if stat.st_mtime < limit:
            yield path, stat.st_size


def outbox_found(folder: Path, before: datetime) -> Found:
    found = list(_old_files(folder, before))
    return Found(len(found), sum(size for _, size in found))


def remove_outbox(folder: Path, before: datetime) -> int:
    done = 0
    for path, _size in list(_old_files(folder, before)):
        path.unlink(missing_ok=True)
        done += 1
    return done
