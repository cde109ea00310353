"""What will happen and what did: publications with their schedules and next sends,
editions with their states and timings. Read only; the command line lists these, the
web console and the API can show the same. Delivery counts are delivery/report.py's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.editions.contents import ReadItem, items_as_read
from newsletter.editions.history import EditionHistory, history_of
from newsletter.editions.models import Edition, EditionEdit, EditionItem
from newsletter.publications.models import Publication


@dataclass
class EditionSummary:
    id: int
    publication_id: int
    date: date
    status: str
    headlines: int
    window_start: datetime
    window_end: datetime
    built_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    superseded_at: datetime | None
    replaces_id: int | None

    @property
    def duration(self) -> float | None:
        """Seconds from the start of sending to the end (None until both happened)."""
        if self.started_at and self.finished_at:
            return max((self.finished_at - self.started_at).total_seconds(), 0.0)
        return None


_COLUMNS = (Edition.id, Edition.publication_id, Edition.date, Edition.status)
_TIMES = (Edition.window_start, Edition.window_end, Edition.built_at, Edition.started_at, Edition.finished_at,
          Edition.superseded_at, Edition.replaces_id)


def _summaries(session: Session, query) -> list[EditionSummary]:
    headlines = (select(func.count()).where(EditionItem.edition_id == Edition.id)
                 .correlate(Edition).scalar_subquery())
    rows = session.execute(query.add_columns(headlines)).all()
    out = [EditionSummary(r.id, r.publication_id, r.date, r.status, r[-1], *r[4:-1]) for r in rows]
    edited = set(session.scalars(select(EditionEdit.edition_id).where(
        EditionEdit.edition_id.in_([e.id for e in out])).distinct())) if out else set()
    for summary in out:  # headlines as read, where an editor changed the edition (editions/contents.py)
        if summary.id in edited:
            summary.headlines = len(items_as_read(session.get(Edition, summary.id)))
    return out


def _select():
    return select(*_COLUMNS, *_TIMES)


def editions_of(session: Session, publication_id: int, limit: int | None = None) -> list[EditionSummary]:
    """Newest first; superseded editions included (they say which replaced them)."""
    query = (_select().where(Edition.publication_id == publication_id)
             .order_by(Edition.date.desc(), Edition.id.desc()))
    return _summaries(session, query.limit(limit) if limit else query)


def edition_summary(session: Session, edition_id: int) -> EditionSummary | None:
    found = _summaries(session, _select().where(Edition.id == edition_id))
    return found[0] if found else None


@dataclass
class EditionDetail:
    summary: EditionSummary
    publication_slug: str
    items: list[ReadItem]  # as read: the selection with the editors' changes
    history: list[EditionHistory] = field(default_factory=list)
    superseded_by: int | None = None
    edits: list = field(default_factory=list)  # the editors' changes (EditionEdit), oldest first


def edition_detail(session: Session, edition_id: int) -> EditionDetail | None:
    summary = edition_summary(session, edition_id)
    if summary is None:
        return None
    edition = session.get(Edition, edition_id)
    slug = session.scalar(select(Publication.slug).where(Publication.id == summary.publication_id))
    by = session.scalar(select(Edition.id).where(Edition.replaces_id == edition_id).limit(1))
    return EditionDetail(summary, slug, items_as_read(edition), history_of(session, edition_id), by,
                         list(edition.edits))
