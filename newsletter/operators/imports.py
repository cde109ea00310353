"""Staff acts on subscriber imports: start one (audited), the refusals it would give
before an upload is read, one job, recent jobs, and an import run in this process (the
command line). Role, publication scope and audit here; the jobs themselves are
subscribers/imports.py's."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.staff.scope import check_acts, check_seen
from newsletter.subscribers import imports as jobs
from newsletter.subscribers.imports import FINAL, JobStatus, Source

__all__ = ["FINAL", "JobStatus"]
from newsletter.subscribers.models import ImportJob


def check_start(session: Session, actor: Actor, publication: str) -> None:
    """The refusals `start` would give, before anything is read or recorded (the web
    calls this before it reads an upload's first byte)."""
    require(actor, Permission.SUBSCRIBERS)
    pub = jobs.publication(session, publication)
    check_acts(actor, pub.id, pub.slug)


def start(session: Session, actor: Actor, publication: str, skip_invalid: bool = False) -> ImportJob:
    """Record a new job (audited); run it with subscribers/imports.py's `run`."""
    check_start(session, actor, publication)
    with change(session, actor, Permission.SUBSCRIBERS, "import.start") as ch:
        pub = jobs.publication(session, publication)
        job = jobs.start(session, pub, skip_invalid, actor)
        ch.target, ch.detail = f"import:{job.id}", {"publication": pub.slug, "skip_invalid": skip_invalid}
    return job


def get(session: Session, actor: Actor, job_id: int) -> dict:
    require(actor, Permission.READ)
    job, slug = jobs.get(session, job_id)
    check_seen(actor, job.publication_id, "import", job_id)
    return jobs.as_dict(job, slug)


def recent(session: Session, actor: Actor, limit: int = 20) -> list[dict]:
    require(actor, Permission.READ)
    return jobs.recent(session, actor, limit)


def import_now(engine: Engine, secret: str, actor: Actor, publication: str, source: Source,
               skip_invalid: bool = False, progress: Callable[[int], None] | None = None) -> dict:
    """Start and run a job in this process (the command line); returns its report."""
    with Session(engine) as s:
        job_id = start(s, actor, publication, skip_invalid).id
        s.commit()
    jobs.run(engine, secret, job_id, source, progress)
    with Session(engine) as s:
        return get(s, actor, job_id)
