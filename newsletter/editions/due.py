"""Which editions are due now: the dispatcher's decision, in each publication's zone.

Run every minute by beat. Creating an edition is idempotent in the database (one per
publication and date), so two beats, a restarted beat or a redelivered task never
make two. After downtime an edition is still built if its send time passed less than
the grace period ago, and skipped with a log line otherwise.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.editions.build import build_edition, find_edition
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date, send_times_on

log = logging.getLogger(__name__)


@dataclass
class Due:
    publication_id: int
    edition_id: int
    created: bool
    status: str


def due_editions(session: Session, now: datetime, grace: timedelta) -> list[Due]:
    """Build every edition whose send time has come; return them (new and already built)."""
    out: list[Due] = []
    for pub in session.scalars(select(Publication).where(Publication.active.is_(True))):
        today = local_date(pub.timezone, now)
        for day in (today - timedelta(days=1), today):
            times = send_times_on(pub.schedule_cron, pub.timezone, day)
            if not times or times[0] > now:
                continue
            existing = find_edition(session, pub.id, day)
            if existing is not None:
                out.append(Due(pub.id, existing.id, False, existing.status))
                continue
            late = now - times[0]
            if late > grace:
                log.warning("skipping %s edition of %s: due at %s, %s late (grace %s)",
                            pub.slug, day, times[0].isoformat(), late, grace)
                continue
            edition, created = build_edition(session, pub, day, now)
            out.append(Due(pub.id, edition.id, created, edition.status))
    return out
