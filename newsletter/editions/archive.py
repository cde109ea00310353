"""The public archive: which editions of a publication anyone may read, and how to find them.

An edition is in the archive when it was sent to the end (status `sent`) and is the
current edition of its date (not superseded). Built, held, sending, paused, cancelled
and superseded editions are not, whatever address is tried; nor is anything of a
publication whose `archive` is false. One edition per publication and date, so the
date is the edition's public address (/p/<slug>/<date>); the random public id stays
the address of the reader's own "view in browser" version.

Items are read as readers get them (editions/contents.py): what the editors' desk does
to an edition's items after the send (a takedown) shows here as it shows in the browser
view.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.editions.contents import items_as_read
from newsletter.editions.models import Edition, EditionStatus
from newsletter.publications.models import Publication

PER_PAGE = 20
LEAD_HEADLINES = 3  # shown per edition in the list
SITEMAP_LIMIT = 50_000  # URLs in one sitemap file (sitemaps.org)


@dataclass(frozen=True)
class ArchivedEdition:
    date: date
    sent_at: datetime | None
    headline_count: int
    lead_headlines: list[str]


def _archived():
    return (Edition.status == EditionStatus.SENT, Edition.superseded_at.is_(None))


def archived_publication(session: Session, slug: str) -> Publication | None:
    """The publication, if it keeps an archive."""
    return session.scalar(select(Publication).where(Publication.slug == slug, Publication.archive.is_(True)))


def archived_edition(session: Session, publication: Publication, day: date) -> Edition | None:
    return session.scalar(select(Edition).where(Edition.publication_id == publication.id, Edition.date == day,
                                                *_archived()))


def page_count(session: Session, publication: Publication, per_page: int = PER_PAGE) -> int:
    total = session.scalar(select(func.count()).select_from(Edition)
                           .where(Edition.publication_id == publication.id, *_archived())) or 0
    return max(1, -(-total // per_page))


def archive_page(session: Session, publication: Publication, page: int = 1,
                 per_page: int = PER_PAGE) -> list[ArchivedEdition]:
    """Newest first: the date, when it went out, how many headlines, the first few."""
    editions = session.scalars(
        select(Edition).where(Edition.publication_id == publication.id, *_archived())
        .order_by(Edition.date.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    out = []
    for e in editions:
        items = items_as_read(e)  # the editors' changes, a takedown included
        out.append(ArchivedEdition(e.date, e.finished_at, len(items), [i.headline for i in items[:LEAD_HEADLINES]]))
    return out


def latest_editions(session: Session, publication: Publication, limit: int = PER_PAGE) -> list[Edition]:
    """For the Atom feed: the newest editions with their items."""
    return list(session.scalars(select(Edition).where(Edition.publication_id == publication.id, *_archived())
                                .order_by(Edition.date.desc()).limit(limit)))


def sitemap(session: Session, limit: int = SITEMAP_LIMIT) -> list[tuple[str, date | None, datetime | None]]:
    """(publication slug, edition date or None for the archive's first page, last change),
    every publication with an archive, newest editions first, at most `limit` in all."""
    out: list[tuple[str, date | None, datetime | None]] = []
    pubs = session.execute(select(Publication.id, Publication.slug).where(Publication.archive.is_(True))
                           .order_by(Publication.slug)).all()
    newest = dict(session.execute(select(Edition.publication_id, func.max(Edition.finished_at))
                                  .where(*_archived()).group_by(Edition.publication_id)).all())
    out += [(p.slug, None, newest.get(p.id)) for p in pubs]
    slugs = {p.id: p.slug for p in pubs}
    if slugs:
        for pid, day, finished in session.execute(
                select(Edition.publication_id, Edition.date, Edition.finished_at)
                .where(Edition.publication_id.in_(list(slugs)), *_archived())
                .order_by(Edition.date.desc(), Edition.id.desc()).limit(max(0, limit - len(out)))):
            out.append((slugs[pid], day, finished))
    return out
