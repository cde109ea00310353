"""A fixed edition for rendering tests: every kind of item the templates must set well."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from newsletter.editions.build import build_edition
from newsletter.store.models import Article, Section
from tests.unit.render.rendering import ARTICLES, CUT


@pytest.fixture
def fixed_edition(session, publication):
    sections = {s.slug: s for s in session.scalars(select(Section))}
    for n, (slug, headline, teaser, source, byline, dateline) in enumerate(ARTICLES):
        session.add(Article(url=f"https://www.spacewar.example.com/reports/{n + 1}.html", headline=headline,
                            teaser=teaser, section_id=sections[slug].id, source=source, byline=byline,
                            dateline=dateline, published_at=CUT - timedelta(minutes=10 * (n + 1))))
    session.flush()
    edition, _ = build_edition(session, publication, date(2026, 11, 26), now=CUT + timedelta(hours=1))
    session.commit()
    return edition


