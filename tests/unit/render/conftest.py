"""A fixed edition for rendering tests: every kind of item the templates must set well."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from newsletter.editions.build import build_edition
from newsletter.render.edition import EditionRenderer, Personal, personalise
from newsletter.store.models import Article, Section
from tests.helpers import at

CUT = at("2026-11-26T11:00:00")
VIEW_URL = "https://news.example.com/editions/PUBLIC-ID"
ANN = Personal(name="Ann Reader", unsubscribe_url="https://news.example.com/u/UNSUB-TOKEN",
               preferences_url="https://news.example.com/preferences/PREFS-TOKEN")
LONG_WORD = "Supercalifragilistic" * 10  # 200 characters, no place to break

ARTICLES = [
    # section, headline, teaser, source, byline, dateline
    ("superpowers", "Foreign ministers of three Pacific allies meet ahead of Beijing talks",
     "Officials said the talks would focus on maritime security and trade, with all three capitals "
     "seeking to keep lines of communication open before the summit.",
     "AFP", "AFP Staff Writers", "Tokyo (AFP)"),
    ("superpowers", "Envoy lands in Beijing for the first high-level visit in five years, and both sides "
     "say they want the channels to stay open",
     "Both sides voiced guarded hope. " * 14, "AFP", "", "Beijing (AFP)"),
    ("drone-war", "Drone makers court the army at a trade fair", "", "", "", ""),
    ("nuclear-weapons", "Zürich talks on verification end without a deal",
     f"Delegates could not agree on the word {LONG_WORD} in the final text.",
     "Reuters", "Anna Müller", ""),
]


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


def render_for(settings, edition, publication, personal: Personal = ANN, sections=None):
    """(html, text, subject) as `personal` reads them."""
    rendered = EditionRenderer(edition, publication, settings.templates_dir, VIEW_URL).render(
        sections, named=bool(personal.name))
    markup, text = personalise(rendered, personal)
    return markup, text, rendered.subject
