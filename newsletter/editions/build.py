"""Build the edition of one publication for one date, once.

The window. An edition covers (start, end]: `end` is its cut-off, the first send time
of its date in the publication's zone (or the end of that day when the schedule does
not fire on it), or the moment it is built if that is earlier. `start` is the cut-off
of the publication's previous edition; for the first edition, one schedule period
before the cut-off (the send time before it: a day for a daily, a week for a weekly).

The rule. An edition takes the articles of the publication's sections that
  1. were published by its cut-off (published_at <= end);
  2. are new to its window: published after `start`, or, late arrivals, entered the
     store after `start` (articles.ingested_at, looked at from SETTLE before `start`,
     for an ingest that wrote its rows just before the previous build read and
     committed just after it). The first edition has no late arrivals;
  3. are not stale: a late arrival published more than the staleness limit
     (NEWSLETTER_LATE_ARTICLE_MAX_HOURS, 48 h) before `start` is left out; an archive
     imported today is not news;
  4. are in no other edition of this publication (nor added to one by an editor:
     editions/contents.py). Cancelled editions do not count:
     their headlines were withdrawn, and a replacement (`send --force`) carries them.
Then: sections in the publication's order, newest first, capped per section, each
headline once across sections.

Why nothing is lost and nothing comes twice: consecutive windows meet end to end, so an
article is new to the first edition built after it is both published and in the
store (its time is max(published_at, ingested_at)); rule 4 keeps it out of every other.
SETTLE's overlap can bring back an article that the previous edition saw and dropped
because its section was full in the last minutes before its cut-off: rare, and never a
repeat.

Built once: one current edition per (publication, date) is a unique index. A build
locks the publication's row (PostgreSQL), so builds of one publication run one at a
time and each sees the editions the others made; two builds of the same date make one
edition either way (the loser returns the winner's). The result is frozen: building
again returns the stored edition; `plan_edition` computes a selection without writing
(previews), `editions/edition_acts.py` rebuilds one that has not started sending.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition, EditionEdit, EditionItem, EditionStatus, EditKind
from newsletter.publications.models import Publication
from newsletter.publications.schedule import cut_off, period_start
from newsletter.store.models import Article

SETTLE = timedelta(minutes=10)


@dataclass
class Plan:
    """A selection computed in memory: what `build_edition` would freeze now."""

    start: datetime
    end: datetime
    late: bool  # late arrivals count: there is a previous edition
    items: list[EditionItem]

    def edition(self, pub: Publication, day: date, now: datetime, **extra) -> Edition:
        """The edition this selection makes (not added to any session)."""
        return Edition(publication_id=pub.id, date=day, window_start=self.start, window_end=self.end,
                       status=EditionStatus.BUILT if self.items else EditionStatus.EMPTY, built_at=now,
                       items=self.items, **extra)


def find_edition(session: Session, publication_id: int, day: date) -> Edition | None:
    """The current edition of that date (a superseded one is not)."""
    return session.scalar(select(Edition).where(
        Edition.publication_id == publication_id, Edition.date == day, Edition.superseded_at.is_(None)))


def previous_cut_off(session: Session, publication_id: int, day: date) -> datetime | None:
    return session.scalar(
        select(Edition.window_end).where(Edition.publication_id == publication_id, Edition.date < day,
                                         Edition.superseded_at.is_(None))
        .order_by(Edition.date.desc()).limit(1))


def window_for(session: Session, pub: Publication, day: date, now: datetime) -> tuple[datetime, datetime]:
    start, end, _ = _window(session, pub, day, now)
    return start, end


def _window(session: Session, pub: Publication, day: date, now: datetime) -> tuple[datetime, datetime, bool]:
    cut = cut_off(pub.schedule_cron, pub.timezone, day)
    end = min(cut, now)
    previous_end = previous_cut_off(session, pub.id, day)
    if previous_end is not None and previous_end < end:
        return previous_end, end, True
    return min(period_start(pub.schedule_cron, pub.timezone, cut), end), end, False


def _max_late_age(value: timedelta | None) -> timedelta:
    if value is not None:
        return value
    from newsletter.config import get_settings

    return get_settings().late_article_max_age


def select_items(session: Session, pub: Publication, start: datetime, end: datetime, *, late: bool = True,
                 max_late_age: timedelta | None = None, other_than: int | None = None) -> list[EditionItem]:
    """The rule above, for this window; `other_than`: the edition being rebuilt."""
    sections = pub.ordered_sections()
    new = Article.published_at > start
    if late:
        new = or_(new, and_(Article.ingested_at > start - SETTLE,
                            Article.published_at > start - _max_late_age(max_late_age)))
    shown = (select(EditionItem.article_id).join(Edition, Edition.id == EditionItem.edition_id)
             .where(Edition.publication_id == pub.id, Edition.status != EditionStatus.CANCELLED,
                    EditionItem.article_id.is_not(None)))
    added = (select(EditionEdit.article_id).join(Edition, Edition.id == EditionEdit.edition_id)  # by an editor
             .where(Edition.publication_id == pub.id, Edition.status != EditionStatus.CANCELLED,
                    EditionEdit.kind == EditKind.ADD, EditionEdit.article_id.is_not(None)))
    if other_than is not None:
        shown = shown.where(Edition.id != other_than)
        added = added.where(Edition.id != other_than)
    shown = shown.union(added)
    rows = session.scalars(
        select(Article)
        .where(Article.section_id.in_([s.id for s in sections]), Article.published_at <= end, new,
               Article.id.not_in(shown))
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
                source=a.source, byline=a.byline, dateline=a.dateline, published_at=a.published_at,
                image_url=a.image_url, image_width=a.image_width, image_height=a.image_height,
                image_alt=a.image_alt))
            position += 1
    return items


def plan_edition(session: Session, pub: Publication, day: date, now: datetime | None = None,
                 max_late_age: timedelta | None = None) -> Plan:
    """The selection an edition built now would freeze. Reads only: nothing is added to
    the session, nothing is flushed, no row is locked."""
    start, end, late = _window(session, pub, day, now or utcnow())
    return Plan(start, end, late, select_items(session, pub, start, end, late=late, max_late_age=max_late_age))


def lock_publication(session: Session, publication_id: int) -> None:
    """Builds of one publication, one at a time (a row lock until the caller commits;
    SQLite serialises writers by itself)."""
    session.execute(select(Publication.id).where(Publication.id == publication_id).with_for_update())


def build_edition(session: Session, pub: Publication, day: date, now: datetime | None = None,
                  max_late_age: timedelta | None = None, replaces: int | None = None) -> tuple[Edition, bool]:
    """Return (edition, created). Safe against a concurrent build of the same date."""
    existing = find_edition(session, pub.id, day)
    if existing is not None:
        return existing, False
    lock_publication(session, pub.id)
    existing = find_edition(session, pub.id, day)  # built by whoever held the lock before us
    if existing is not None:
        return existing, False
    now = now or utcnow()
    plan = plan_edition(session, pub, day, now, max_late_age)
    edition = plan.edition(pub, day, now, replaces_id=replaces)
    try:
        with session.begin_nested():
            session.add(edition)
    except IntegrityError:
        # Someone else built it between our look and our insert: theirs is the edition.
        winner = find_edition(session, pub.id, day)
        assert winner is not None
        return winner, False
    return edition, True
