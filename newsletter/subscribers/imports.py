"""Import jobs: a CSV validated and reported by line, imported in one transaction, with a
record the console and the API poll for progress.

    queued -> validating -> importing -> done
                  |              '-----> failed (nothing imported; the message says why)
                  '-> invalid (bad rows and no skip_invalid: nothing imported)

The file is read from disk as it goes (the web writes an upload there as it arrives:
subscribers/uploads.py), checked and staged a chunk at a time inside the one transaction
that then applies it, so memory holds one chunk whatever the file's size, and a bad row
on the last line still leaves nothing behind. The job runs after the request that
started it was answered (the web), or in the command's own process; the data and the
job's final counts commit together.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import InvalidInput
from newsletter.lookups import with_publication_slug
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor
from newsletter.staff.audit import record
from newsletter.staff.models import Role
from newsletter.staff.scope import visible
from newsletter.subscribers import import_rows, import_sql
from newsletter.subscribers.models import ImportJob

log = logging.getLogger(__name__)
REPORT_LIMIT = import_rows.REPORT_LIMIT  # lines listed per kind of problem; the counts are complete
STALLED_AFTER = timedelta(minutes=10)


class JobStatus(StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    IMPORTING = "importing"
    DONE = "done"
    INVALID = "invalid"
    FAILED = "failed"


FINAL = frozenset({JobStatus.DONE, JobStatus.INVALID, JobStatus.FAILED})


def start(session: Session, pub: Publication, skip_invalid: bool, by: Actor) -> ImportJob:
    """Record a new job of `by` (the staff act, checked and audited, is operators/imports.py's);
    run it with `run`."""
    now = utcnow()
    job = ImportJob(publication_id=pub.id, status=JobStatus.QUEUED, skip_invalid=skip_invalid, report={},
                    staff_id=by.staff_id, actor=by.label, created_at=now, updated_at=now)
    session.add(job)
    session.flush()
    return job


def publication(session: Session, slug: str) -> Publication:
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None:
        raise InvalidInput(f"no publication {slug!r}")
    return pub


def _set(engine: Engine, job_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **values))


Source = str | Path  # the CSV's text, or a UTF-8 file (a byte order mark is skipped)


def run(engine: Engine, secret: str, job_id: int, source: Source,
        progress: Callable[[int], None] | None = None) -> JobStatus:
    """Validate and import; never raises (the job records what happened). `progress(rows
    read)` is told as the job's own record is, for a display in the same process."""
    try:
        return _run(engine, secret, job_id, source, progress)
    except InvalidInput as exc:
        _set(engine, job_id, status=JobStatus.INVALID, message=str(exc), finished_at=utcnow())
        return JobStatus.INVALID
    except Exception as exc:  # a background job reports, it cannot raise to anyone
        log.exception("import %s failed", job_id)
        _set(engine, job_id, status=JobStatus.FAILED, finished_at=utcnow(),
             message=f"the import failed and nothing was imported ({type(exc).__name__})")
        return JobStatus.FAILED


def _open(source: Source):
    if isinstance(source, Path):
        return source.open(encoding="utf-8-sig", newline="", errors="strict")
    return io.StringIO(source.removeprefix("\ufeff"))


def _run(engine: Engine, secret: str, job_id: int, source: Source,
         progress: Callable[[int], None] | None) -> JobStatus:
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        if job is None or job.status != JobStatus.QUEUED:
            return JobStatus(job.status) if job else JobStatus.FAILED
        pub = s.get(Publication, job.publication_id)
        s.expunge_all()
    _set(engine, job_id, status=JobStatus.VALIDATING)

    def read_so_far(n: int) -> None:
        _set(engine, job_id, processed=n)
        if progress is not None:
            progress(n)

    reader = import_rows.Reader(pub, REPORT_LIMIT)
    with Session(engine) as s, _open(source) as stream:  # one transaction: all of it or none of it
        stage = import_sql.Staging(s, secret)
        for chunk in reader.chunks(stream, progress=read_so_far):
            stage.add(chunk)
        repeats, repeated = stage.set_repeats_aside(REPORT_LIMIT)
        report = {"errors": reader.errors, "duplicates": repeated, "not_resubscribed": []}
        counts = {"rows": reader.total, "processed": reader.total, "invalid": reader.invalid, "duplicates": repeats}
        if reader.invalid and not job.skip_invalid:
            s.rollback()
            _set(engine, job_id, status=JobStatus.INVALID, report=report, finished_at=utcnow(), **counts,
                 message=f"{reader.invalid} invalid row(s): nothing imported (fix them, or skip invalid rows)")
            return JobStatus.INVALID
        _set(engine, job_id, status=JobStatus.IMPORTING, **counts)
        applied = stage.apply(pub.id, f"import #{job_id}", REPORT_LIMIT)
        report["not_resubscribed"] = applied.not_resubscribed
        s.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status=JobStatus.DONE, report=report, added=applied.added, existing=applied.existing,
            not_resubscribed=applied.left, finished_at=utcnow(), updated_at=utcnow()))
        record(s, Actor(Role.ADMIN, job.actor, "import", "", job.staff_id), "import.done", f"import:{job_id}",
               {"added": applied.added, "existing": applied.existing, "not_resubscribed": applied.left,
                "invalid": reader.invalid, "duplicates": repeats})
        s.commit()
    return JobStatus.DONE


def as_dict(job: ImportJob, publication_slug: str) -> dict:
    stalled = job.status not in FINAL and utcnow() - job.updated_at > STALLED_AFTER
    return {"id": job.id, "publication": publication_slug, "status": job.status, "stalled": stalled,
            "skip_invalid": job.skip_invalid, "rows": job.rows, "processed": job.processed, "invalid": job.invalid,
            "duplicates": job.duplicates, "added": job.added, "existing": job.existing,
            "not_resubscribed": job.not_resubscribed, "message": job.message,
            "errors": [{"line": n, "problem": p} for n, p in (job.report or {}).get("errors", [])],
            "duplicate_lines": [{"line": n, "same_as_line": m} for n, m in (job.report or {}).get("duplicates", [])],
            "not_resubscribed_lines": [{"line": n, "why": w}
                                       for n, w in (job.report or {}).get("not_resubscribed", [])],
            "created_by": job.actor, "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def get(session: Session, job_id: int) -> tuple[ImportJob, str]:
    """The job as it is now, and its publication's slug."""
    job, slug = with_publication_slug(session, ImportJob, job_id, "import")
    session.refresh(job)
    return job, slug


def recent(session: Session, actor: Actor, limit: int = 20) -> list[dict]:
    """Newest first, of the actor's publications."""
    rows = session.execute(select(ImportJob, Publication.slug).join(Publication)
                           .where(visible(actor, ImportJob.publication_id))
                           .order_by(ImportJob.id.desc()).limit(max(1, min(limit, 200)))).all()
    return [as_dict(job, slug) for job, slug in rows]
