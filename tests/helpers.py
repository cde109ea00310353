"""Small builders for tests: articles and feeds written inline."""
from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.store.models import Article, Section


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
