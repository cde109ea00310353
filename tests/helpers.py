"""Small builders for tests: a UTC time from its text, articles, today's edition, and
feeds written inline."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sqlalchemy import Integer, String, Text, cast, select, text
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.models import Base
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


def find_everywhere(engine, needle: str) -> list[str]:
    """Every (table.column) whose text holds `needle`, any case: all tables, all columns."""
    hits = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for column in table.c:
                as_text = column if isinstance(column.type, String | Text) else cast(column, String)
                if isinstance(column.type, Integer):
                    continue
                n = conn.execute(select(text("1")).select_from(table)
                                 .where(as_text.ilike(f"%{needle}%")).limit(1)).first()
                if n:
                    hits.append(f"{table.name}.{column.name}")
    return hits


def feed(tmp_path, items: list[tuple[str, str, datetime]], name="feed.xml") -> str:
    path = tmp_path / name
    path.write_bytes(rss([{"title": t, "link": f"https://x.example.com/{abs(hash(t))}", "category": s, "date": d}
                          for t, s, d in items]))
    return str(path)


# The day of the edition control tests' `built` edition (tests/unit/editions/conftest.py),
# built an hour before this cut-off.
BUILT_DAY = date(2026, 11, 26)
BUILT_CUT = at("2026-11-26T11:00:00")


class Scripted:
    """A backend that fails as told: {email: exception}. Records what it accepted."""

    def __init__(self, failures=None):
        self.failures = failures or {}
        self.accepted = []

    def open(self):
        pass

    def send(self, sender, recipient, data, name_hint, before_end=None, while_waiting=None, dot_safe=False,
             while_envelope=None):
        if while_envelope is not None:  # as the SMTP client: before the relay's answers are read
            while_envelope()
        exc = self.failures.get(recipient)
        if exc is not None:
            raise exc
        if before_end is not None:
            before_end()
        self.accepted.append(recipient)
        if while_waiting is not None:
            while_waiting()

    def reset(self):
        pass

    def close(self):
        pass


# A publications file that loads: two sections and a publication.
GOOD_PUBLICATIONS = """
[[sections]]
slug = "a"
name = "SECTION A"
[[sections]]
slug = "b"
name = "SECTION B"
[[publications]]
slug = "daily"
name = "Daily"
sender_name = "Daily"
sender_address = "news@example.com"
postal_address = "1 Street"
sections = ["b", "a"]
schedule = "30 7 * * 1-5"
timezone = "Europe/Paris"
list_id = "Daily <daily.example.com>"
"""
