"""Build the edition of one publication for one date, once.

The selection is the articles published since the previous edition's cut-off
(or the last 24 hours for the first), in the publication's section order,
newest first, capped per section, each headline once. The result is frozen:
building the same publication and date again returns the stored edition.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition, EditionItem, EditionStatus
from newsletter.publications.models import Publication
from newsletter.publications.schedule import cut_off
from newsletter.store.models import Article

FIRST_WINDOW = timedelta(hours=24)


def find_edition(session: Session, publication_id: int, day: date) -> Edition | None:
    return session.scalar(select(Edition).where(
        Edition.publication_id == publication_id, Edition.date == day))


def window_for(session: Session, pub: Publication, day: date, now: datetime) -> tuple[datetime, datetime]:
    end = min(cut_off(pub.schedule_cron, pub.timezone, day), now)
    previous_end = session.scalar(
        select(Edition.window_end).where(Edition.publication_id == pub.id, Edition.date < day)
        .order_by(Edition.date.desc()).limit(1))
    start = previous_end if previous_end is not None and previous_end < end else end - FIRST_WINDOW
    return start, end


def select_items(session: Session, pub: Publication, start: datetime, end: datetime) -> list[EditionItem]:
    sections = pub.ordered_sections()
    rows = session.scalars(
        select(Article)
        .where(Article.section_id.in_([s.id for s in sections]),
               Article.published_at > start, Article.published_at <= end)
        .order_by(Article.published_at.desc(), Article.id.desc())
    ).all()
    newest_first: dict[int, list[Article]] = {s.id: [] for s in sections}
    for article in rows:
        newest_first[article.section_id].append(article)
    # Sections in the publication's order; a headline already shown in an earlier
    # section is not repeated in a later one.
    by_section: dict[int, list[Article]] = {}
    seen_headlines: set[str] = set()
    for section in sections:
        chosen = by_section[section.id] = []
        for article in newest_first[section.id]:
            key = " ".join(article.headline.lower().split())
            if key in seen_headlines:
                continue
            seen_headlines.add(key)
            chosen.append(article)
            if len(chosen) >= pub.cap_per_section:
                break
    items, position = [], 0
    for section in sections:
        for a in by_section[section.id]:
            items.append(EditionItem(
                position=position, section_slug=section.slug, section_name=section.name,
                article_id=a.id, url=a.url, headline=a.headline, teaser=a.teaser,
                source=a.source, byline=a.byline, dateline=a.dateline, published_at=a.published_at))
            position += 1
    return items


def build_edition(session: Session, pub: Publication, day: date,
                  now: datetime | None = None) -> tuple[Edition, bool]:
    """Return (edition, created). Safe against a concurrent build of the same date."""
    existing = find_edition(session, pub.id, day)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    start, end = window_for(session, pub, day, now)
    items = select_items(session, pub, start, end)
    edition = Edition(publication_id=pub.id, date=day, window_start=start, window_end=end,
                      status=EditionStatus.BUILT if items else EditionStatus.EMPTY, built_at=now, items=items)
    try:
        with session.begin_nested():
            session.add(edition)
    except IntegrityError:
        # Someone else built it between our look and our insert: theirs is the edition.
        winner = find_edition(session, pub.id, day)
        assert winner is not None
        return winner, False
    return edition, True
