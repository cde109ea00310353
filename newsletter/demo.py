"""The demo: the whole flow on the embedded default, from an empty folder to an outbox."""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings, sample_file
from newsletter.db import utcnow
from newsletter.editions.build import build_edition, find_edition, window_for
from newsletter.editions.models import Edition
from newsletter.ingest.load import IngestReport, store_records
from newsletter.ingest.parse import parse_feed
from newsletter.links import Links
from newsletter.publications.load import load_publications
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.render.edition import EditionRenderer, Personal, personalise
from newsletter.subscribers.import_sql import import_csv

SAMPLE_FEED = sample_file("sample-feed.xml")
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemal", "Lena", "Mateo", "Nadia", "Owen", "Priya", "Quinn", "Rosa", "Sami", "Tove"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Ivanova", "Tanaka", "Haddad", "Novak", "García",
        "O'Neill", "Schmidt", "Kowalski", "Nguyen"]


def sample_articles(newest_at, feed: Path = SAMPLE_FEED, oldest_after=None):
    """The sample feed with its dates moved so that the newest headline is `newest_at`:
    the demo then always has a fresh 'today', whatever the day it runs. With
    `oldest_after` (the edition's window start), a feed whose span would reach back
    before it has its dates drawn closer, in their order, so that every headline falls
    in the window whatever the hour (the window is short early in the publication's day)."""
    parsed = parse_feed(feed.read_bytes())
    newest = max(r.published_at for _, r in parsed.records)
    oldest = min(r.published_at for _, r in parsed.records)
    room = newest_at - oldest_after - timedelta(minutes=1) if oldest_after is not None else None
    scale = max(min(room / (newest - oldest), 1.0), 0.0) if room is not None and newest > oldest else 1.0
    parsed.records = [(pos, dataclasses.replace(r, published_at=newest_at - (newest - r.published_at) * scale))
                      for pos, r in parsed.records]
    return parsed


def sample_subscribers_csv(count: int, sections: list[str], seed: int = 7) -> str:
    rng = random.Random(seed)
    lines = ["email,name,sections"]
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        prefs = ""
        if i % 4 == 3:  # a quarter pick a few sections
            prefs = " ".join(sorted(rng.sample(sections, rng.randint(1, 2)), key=sections.index))
        name = f"{first} {last}"
        local = f"{first}.{last}.{i}".lower().replace("'", "").replace("é", "e").replace("í", "i")
        lines.append(f'{local}@example.{rng.choice(["com", "org", "net"])},"{name}",{prefs}')
    return "\n".join(lines) + "\n"


@dataclass
class DemoSetup:
    publication_id: int
    edition_id: int
    edition_created: bool
    ingest: IngestReport
    subscribers_added: int


def set_up(session: Session, settings: Settings, subscribers: int) -> DemoSetup:
    load_publications(session, settings.publications_file)
    pub = session.scalar(select(Publication).order_by(Publication.id).limit(1))
    now = utcnow()
    day = local_date(pub.timezone, now)
    existing = find_edition(session, pub.id, day)
    window_start, window_end = (existing.window_start, existing.window_end) if existing else \
        window_for(session, pub, day, now)
    report = store_records(session, sample_articles(window_end - timedelta(minutes=20), oldest_after=window_start))
    csv_text = sample_subscribers_csv(subscribers, [s.slug for s in pub.ordered_sections()])
    imported = import_csv(session, pub, csv_text)
    session.flush()
    edition, created = build_edition(session, pub, day, now)
    return DemoSetup(pub.id, edition.id, created, report, imported.added)


def write_preview(settings: Settings, edition: Edition, publication: Publication) -> Path:
    """The edition as a subscriber sees it, with sample personal values, for a browser."""
    links = Links.from_settings(settings)
    renderer = EditionRenderer(edition, publication, settings.templates_dir, links.edition(edition.public_id))
    markup, _ = personalise(renderer.render(None, named=True), Personal(
        name="Reader",
        unsubscribe_url=links.absolute("/u/PREVIEW"), preferences_url=links.absolute("/preferences/PREVIEW")))
    path = settings.var_dir / "previews" / f"{publication.slug}-{edition.date.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markup, encoding="utf-8")
    return path
