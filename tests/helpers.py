"""Small builders for tests: a UTC time from its text, articles, today's edition, and
feeds written inline."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.publications.schedule import local_date
from newsletter.store.models import Article, Section
from newsletter.subscribers.import_sql import import_csv


def at(text_: str) -> datetime:
    """`at("2026-03-01T06:00")`: that moment in UTC."""
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


def add_article(session: Session, section_slug: str, headline: str, published: datetime,
                url: str | None = None, teaser: str = "A teaser.", ingested: datetime | None = None) -> Article:
    """An article that entered the store when it was published, unless `ingested` says later."""
    section = session.scalar(select(Section).where(Section.slug == section_slug))
    article = Article(url=url or f"https://www.spacewar.example.com/{abs(hash((headline, published)))}.html",
                      headline=headline, teaser=teaser, section_id=section.id, source="AFP",
                      byline="AFP Staff Writers", dateline="Paris (AFP)", published_at=published,
                      ingested_at=ingested or published)
    session.add(article)
    session.flush()
    return article


def seed_edition(engine, publication, addresses: list[str]) -> int:
    """Today's edition of `publication`, built with one article for these subscribers; its id."""
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = local_date(pub.timezone, now)
        end = window_for(s, pub, day, now)[1]
        add_article(s, "superpowers", "A headline", end - timedelta(hours=1))
        import_csv(s, pub, "email,name\n" + "".join(f"{a},Reader\n" for a in addresses))
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
        return edition.id


def rss(items: list[dict]) -> bytes:
    out = []
    for it in items:
        parts = []
        for tag in ("title", "link", "description", "category"):
            if tag in it:
                parts.append(f"<{tag}>{escape(it[tag])}</{tag}>")
        if "date" in it:
            value = it["date"] if isinstance(it["date"], str) else format_datetime(it["date"])
            parts.append(f"<pubDate>{value}</pubDate>")
        out.append("<item>" + "".join(parts) + "</item>")
    return ("<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>t</title>"
            "<link>https://x.example.com/</link><description>d</description>"
            + "".join(out) + "</channel></rss>").encode()


# A second publication (publications files in tests: the sample's text + this).
WEEKLY = """
[[publications]]
slug = "spacewar-weekly"
name = "SpaceWar Weekly"
sender_name = "SpaceWar Weekly"
sender_address = "weekly@spacewar.example.com"
postal_address = "Space Media Network, 1 Orbit Way, Canberra ACT 2600, Australia"
site_url = "https://www.spacewar.example.com"
sections = ["superpowers", "drone-war"]
schedule = "0 7 * * 1"
timezone = "Europe/London"
list_id = "SpaceWar Weekly <spacewar-weekly.spacewar.example.com>"
"""
