"""The public archive over HTTP: a publication with several sent editions (one delivered
for real, the others written as the send leaves them), and the editions that must not
show (built, cancelled, superseded, sending). The Atom feed is read back by feedparser,
the sitemap by an XML parser; no page carries a personal link or token."""
from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree as ET

import feedparser
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition, EditionItem, EditionStatus
from newsletter.publications.models import Publication
from newsletter.render.personal import _NONCE
from tests.integration.web.readers import outbox_messages
from tests.integration.web.site import deliver_today

TODAY = None  # set by the fixture: the date of the edition delivered for real


def _edition(s, pub, day: date, status: str, headlines: list[tuple[str, str]], superseded=False) -> Edition:
    now = utcnow()
    edition = Edition(publication_id=pub.id, date=day, status=status, window_start=now - timedelta(days=1),
                      window_end=now, started_at=now - timedelta(hours=1),
                      finished_at=now if status == EditionStatus.SENT else None,
                      superseded_at=now if superseded else None)
    edition.items = [EditionItem(position=n, section_slug=slug, section_name=slug.upper(), url=f"https://www.spacewar.example.com/{day}/{n}",
                                 headline=headline, published_at=now - timedelta(hours=2),
                                 image_url="https://img.example.com/lead.jpg" if n == 0 else "",
                                 image_width=1200 if n == 0 else None, image_height=675 if n == 0 else None,
                                 image_alt="A launch pad at dawn" if n == 0 else "")
                     for n, (slug, headline) in enumerate(headlines)]
    s.add(edition)
    s.flush()
    return edition


@pytest.fixture
def archive(engine, web_settings, publication, server):
    """Today's edition delivered to three readers, 25 past editions sent, and one each of
    the kinds the archive never shows."""
    today_id = deliver_today(engine, web_settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("cara@example.org", "Cara", "drone-war")])
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        today = s.get(Edition, today_id).date
        for n in range(1, 26):
            _edition(s, pub, today - timedelta(days=n), EditionStatus.SENT,
                     [("superpowers", f"Day {n} lead & <story>"), ("drone-war", f"Day {n} drones")])
        hidden = {
            "built": today + timedelta(days=1), "cancelled": today - timedelta(days=40),
            "sending": today - timedelta(days=41), "superseded": today - timedelta(days=42)}
        _edition(s, pub, hidden["built"], EditionStatus.BUILT, [("superpowers", "Not yet")])
        _edition(s, pub, hidden["cancelled"], EditionStatus.CANCELLED, [("superpowers", "Never went")])
        _edition(s, pub, hidden["sending"], EditionStatus.SENDING, [("superpowers", "Half way")])
        _edition(s, pub, hidden["superseded"], EditionStatus.SENT, [("superpowers", "Replaced")], superseded=True)
        s.commit()
    return {"today": today, "hidden": hidden, "edition_id": today_id}


def no_personal_data(text: str, settings) -> None:
    assert _NONCE not in text.upper()
    for marker in ("/u/", "/preferences/", "/r/", "?t=", "ann@example.org", "cara@example.org", "Ann Reader"):
        assert marker not in text, marker
    for msg in outbox_messages(settings):  # nothing of any reader's own links
        for token in re.findall(r"/(?:u|preferences)/([A-Za-z0-9_.-]{20,})", msg.as_string()):
            assert token not in text


def test_the_archive_lists_sent_editions_newest_first_in_pages(http, archive, web_settings):
    first = http.get("/p/spacewar-daily/")
    assert first.status_code == 200
    page = first.text
    assert 'name="robots" content="index, follow"' in page
    assert f'<link rel="canonical" href="{web_settings.web_base_url}/p/spacewar-daily/">' in page
    assert 'type="application/atom+xml"' in page and "/p/spacewar-daily/feed.xml" in page
    dates = re.findall(r'href="/p/spacewar-daily/(\d{4}-\d{2}-\d{2})"', page)
    assert dates[0] == archive["today"].isoformat() and len(dates) == 20
    assert dates == sorted(dates, reverse=True)
    assert "Day 1 lead &amp; &lt;story&gt; · Day 1 drones" in page  # the lead headlines, escaped
    assert "2 headlines" in page
    assert 'rel="next"' in page and "?page=2" in page
    second = http.get("/p/spacewar-daily/?page=2").text
    older = re.findall(r'href="/p/spacewar-daily/(\d{4}-\d{2}-\d{2})"', second)
    assert len(older) == 6 and older[-1] == (archive["today"] - timedelta(days=25)).isoformat()
    assert 'rel="prev"' in second
    for hidden in archive["hidden"].values():
        assert hidden.isoformat() not in page + second
    assert http.get("/p/spacewar-daily/?page=3").status_code == 404
    assert http.get("/p/spacewar-daily/?page=0").status_code == 404
    assert http.get("/p/spacewar-daily/?page=x").status_code == 404
    moved = http.get("/p/spacewar-daily")
    assert moved.status_code == 308 and moved.headers["location"] == "/p/spacewar-daily/"
    assert first.headers["cache-control"] == "public, max-age=300"
    assert "img-src 'self' data: https:" in first.headers["content-security-policy"]
    assert "script-src" not in first.headers["content-security-policy"]
    no_personal_data(page + second, web_settings)


def test_an_edition_page_is_the_whole_edition_with_open_graph_and_a_signup_form(http, archive, web_settings):
    day = archive["today"].isoformat()
    response = http.get(f"/p/spacewar-daily/{day}")
    assert response.status_code == 200
    page = response.text
    canonical = f"{web_settings.web_base_url}/p/spacewar-daily/{day}"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert f'<meta property="og:url" content="{canonical}">' in page
    assert '<meta property="og:type" content="article">' in page
    assert re.search(r'<meta property="og:title" content="SpaceWar Daily, \w+day, ', page)
    assert '<meta property="og:description" content="Superpowers headline' in page
    # Every section, although Cara reads only drone war: the archive is nobody's own choice.
    for headline in ("Superpowers headline", "Drone War headline", "Missile Defense headline",
                     "Nuclear Weapons headline"):
        assert headline in page
    form = re.search(r'<form method="post" action="/subscribe" class="signup".*?</form>', page, re.S).group(0)
    assert 'name="publication" value="spacewar-daily"' in form and 'name="email"' in form
    no_personal_data(page, web_settings)

    past = http.get(f"/p/spacewar-daily/{(archive['today'] - timedelta(days=3)).isoformat()}").text
    assert 'src="https://img.example.com/lead.jpg" width="592" height="333" alt="A launch pad at dawn"' in past
    assert '<meta property="og:image" content="https://img.example.com/lead.jpg">' in past
    assert "Day 3 lead &amp; &lt;story&gt;" in past


@pytest.mark.parametrize("which", ["built", "cancelled", "sending", "superseded"])
def test_editions_not_sent_to_the_end_are_not_there(http, archive, which):
    response = http.get(f"/p/spacewar-daily/{archive['hidden'][which].isoformat()}")
    assert response.status_code == 404
    assert "no such page" in response.text


@pytest.mark.parametrize("path", ["/p/spacewar-daily/2026-13-01", "/p/spacewar-daily/yesterday",
                                  "/p/spacewar-daily/1999-01-01", "/p/no-such-publication/",
                                  "/p/no-such-publication/feed.xml", "/p/UPPER/", "/p/spacewar-daily/2026-1-1"])
def test_anything_else_is_a_404(http, archive, path):
    assert http.get(path).status_code == 404


def test_the_atom_feed_is_valid_and_lists_the_editions(http, archive, web_settings):
    response = http.get("/p/spacewar-daily/feed.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "SpaceWar Daily: the archive"
    assert feed.feed.id == f"{web_settings.web_base_url}/p/spacewar-daily/"
    assert any(link.rel == "self" and link.href.endswith("/p/spacewar-daily/feed.xml") for link in feed.feed.links)
    assert len(feed.entries) == 20
    newest = feed.entries[0]
    assert newest.link == f"{web_settings.web_base_url}/p/spacewar-daily/{archive['today'].isoformat()}"
    assert newest.id == newest.link
    assert newest.updated_parsed and newest.published_parsed
    past = feed.entries[3]
    assert "Day 3 lead & <story>" in past.summary
    assert '<a href="https://www.spacewar.example.com/' in past.content[0].value
    ids = [e.id for e in feed.entries]
    assert len(set(ids)) == len(ids)
    for hidden in archive["hidden"].values():
        assert f"/p/spacewar-daily/{hidden.isoformat()}" not in response.text  # a link; the date alone
        # may be in a timestamp (after midnight UTC, New York's tomorrow is UTC's today)
    no_personal_data(response.text, web_settings)


def test_the_sitemap_lists_the_archives_and_their_editions(http, archive, web_settings):
    response = http.get("/sitemap.xml")
    assert response.status_code == 200
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.fromstring(response.content)
    locs = [u.findtext("s:loc", namespaces=ns) for u in root.findall("s:url", ns)]
    base = web_settings.web_base_url
    assert locs[0] == f"{base}/p/spacewar-daily/"
    assert f"{base}/p/spacewar-daily/{archive['today'].isoformat()}" in locs
    assert len(locs) == 1 + 26
    assert all(u.findtext("s:lastmod", namespaces=ns) for u in root.findall("s:url", ns))
    for hidden in archive["hidden"].values():
        assert f"/p/spacewar-daily/{hidden.isoformat()}" not in response.text  # a link; the date alone
        # may be in a timestamp (after midnight UTC, New York's tomorrow is UTC's today)


def test_a_publication_can_turn_its_archive_off(http, archive, engine):
    with Session(engine) as s:
        s.scalar(select(Publication).where(Publication.slug == "spacewar-daily")).archive = False
        s.commit()
    day = archive["today"].isoformat()
    for path in ("/p/spacewar-daily/", f"/p/spacewar-daily/{day}", "/p/spacewar-daily/feed.xml"):
        assert http.get(path).status_code == 404, path
    assert "spacewar-daily" not in http.get("/sitemap.xml").text
    # The readers' own "view in browser" links are not the archive: they still work.
    with Session(engine) as s:
        public_id = s.get(Edition, archive["edition_id"]).public_id
    assert http.get(f"/editions/{public_id}").status_code == 200
