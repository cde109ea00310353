"""Delivering an edition in this process (the embedded default and `newsletter send`).

The Celery tasks in workers/ call the same steps (plan.start, plan.next_batch,
batch.send_batch) one task each; this module strings them together inline.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import plan
from newsletter.delivery.backends import Backend
from newsletter.delivery.batch import send_batch
from newsletter.delivery.compose import Composer
from newsletter.delivery.progress import maybe_finish
from newsletter.delivery.ratelimit import Limiter
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication


def load(engine: Engine, edition_id: int) -> tuple[Edition, Publication]:
    with Session(engine, expire_on_commit=False) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            raise ValueError(f"no edition {edition_id}")
        publication = session.get(Publication, edition.publication_id)
        _ = edition.items, publication.sections  # loaded now, used after the session closes
        return edition, publication


def deliver_inline(engine: Engine, settings: Settings, edition_id: int, backend: Backend,
                   limiter_for: Callable[[Publication], Limiter]) -> tuple[str, Counter]:
    """Start (if needed), fan out and send every batch; then the retries that are due."""
    with engine.begin() as conn:
        status = plan.start(conn, edition_id)
    totals: Counter = Counter()
    if status not in ("sending",):
        return status, totals
    edition, publication = load(engine, edition_id)
    composer = Composer(settings, edition, publication)
    limiter = limiter_for(publication)
    token = f"inline-{uuid.uuid4().hex[:12]}"
    outcome = "done"
    with engine.connect() as conn:
        while outcome == "done":
            with conn.begin():
                batch = plan.next_batch(conn, edition_id, settings.batch_size)
            if batch is None:
                break
            result = send_batch(conn, settings, edition, publication, *batch, token, backend,
                                limiter, composer)
            totals.update(result.counts)
            outcome = result.outcome
        if outcome == "done":
            # Rows left pending by an earlier run that died, and retries already due.
            with conn.begin():
                ranges = plan.stale_ranges(conn, edition_id, settings.batch_size, utcnow(),
                                           timedelta(seconds=settings.lease_seconds))
            for lo, hi in ranges:
                result = send_batch(conn, settings, edition, publication, lo, hi, token, backend,
                                    limiter, composer)
                totals.update(result.counts)
        with conn.begin():
            maybe_finish(conn, edition_id)
        with conn.begin():
            status = conn.scalar(plan.select(plan.editions.c.status)
                                 .where(plan.editions.c.id == edition_id))
    return status, totals
