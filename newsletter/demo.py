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


def sample_articles(newest_at, feed: Path = SAMPLE_FEED):
    """The sample feed with its dates moved so that the newest headline is `newest_at`:
    the demo then always has a fresh 'today', whatever the day it runs."""
    parsed = parse_feed(feed.read_bytes())
    newest = max(r.published_at for _, r in parsed.records)
    shift = newest_at - newest
    parsed.records = [(pos, dataclasses.replace(r, published_at=r.published_at + shift))
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
    window_end = existing.window_end if existing else window_for(session, pub, day, now)[1]
    report = store_records(session, sample_articles(window_end - timedelta(minutes=20)))
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
