"""Put parsed records into the article store, deduplicated by canonical URL."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.ingest.fetch import AddressRefused, FetchError, fetch
from newsletter.ingest.parse import FeedError, ParseResult, parse_any
from newsletter.store.models import Article, Section
from newsletter.text import shown

MAX_FEED_BYTES = 20 * 1024 * 1024


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def section_lookup(session: Session) -> dict[str, Section]:
    """Sections by slug and by slugified display name, so 'MISSILE DEFENSE' finds missile-defense."""
    table: dict[str, Section] = {}
    for section in session.scalars(select(Section)):
        table[section.slug] = section
        table[slugify(section.name)] = section
    return table


def store_records(session: Session, parsed: ParseResult, now: datetime | None = None) -> IngestReport:
    """Insert new articles and update known ones; an unmappable section skips the entry.
    New articles are stamped with the moment they enter the store (`now`); an update keeps
    the first stamp, so editions (editions/build.py) see each article arrive once."""
    now = now or utcnow()
    report = IngestReport(problems=list(parsed.problems))
    sections = section_lookup(session)
    wanted: dict[str, tuple[int, object, Section]] = {}
    for position, record in parsed.records:
        section = sections.get(slugify(record.section))
        if section is None:
            report.problems.append((position, f"unknown section {record.section!r}"))
            continue
        wanted[record.url] = (position, record, section)  # a later duplicate in the feed wins
    existing = {
        a.url: a for a in session.scalars(select(Article).where(Article.url.in_(list(wanted))))
    } if wanted else {}
    for url, (_, record, section) in wanted.items():
        fields = dict(headline=record.headline, teaser=record.teaser, section_id=section.id,
                      source=record.source, byline=record.byline, dateline=record.dateline,
                      published_at=record.published_at)
        image = record.image
        fields.update(image_url=image.url if image else "", image_width=image.width if image else None,
                      image_height=image.height if image else None, image_alt=image.alt if image else "")
        article = existing.get(url)
        if article is None:
            session.add(Article(url=url, ingested_at=now, **fields))
            report.added += 1
        else:
            for key, value in fields.items():
                setattr(article, key, value)
            report.updated += 1
    report.problems.sort()
    return report


def read_source(source: str, allow_private: bool = False) -> bytes:
    """A path or an http(s) URL, bounded in size. A URL is fetched the way feeds are
    (ingest/fetch.py): only public addresses, every redirect checked, unless
    `allow_private` (the command's --allow-private, as a feed's allow_private)."""
    if source.startswith(("http://", "https://")):
        try:
            data = fetch(source, timeout=30, max_bytes=MAX_FEED_BYTES, allow_private=allow_private).body
        except AddressRefused as exc:
            why = str(exc).removesuffix(" (set allow_private = true on a feed that must fetch it)")
            raise FeedError(f"cannot fetch {shown(source)}: {why} (--allow-private fetches it)") from None
        except FetchError as exc:
            raise FeedError(f"cannot fetch {shown(source)}: {exc}") from None
    else:
        path = Path(source)
        if not path.is_file():
            raise FeedError(f"no such file: {shown(source)}")
        data = path.read_bytes()
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"feed larger than {MAX_FEED_BYTES} bytes: {source}")
    return data


def ingest(session: Session, source: str, default_section: str = "", allow_private: bool = False) -> IngestReport:
    data = read_source(source, allow_private)
    return store_records(session, parse_any(data, source, default_section))
