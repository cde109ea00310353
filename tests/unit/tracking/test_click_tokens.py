"""Counted links: the tokens, and what following one counts."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from newsletter.db import utcnow
from newsletter.editions.build import build_edition
from newsletter.editions.clicks import count, follow
from newsletter.render.click_links import STAMP_SECONDS, ClickLinks, stamp_of, stamp_time
from newsletter.tracking.click_models import OPEN_PIXEL, ClickCount
from newsletter.tracking.scanners import ClickKind
from newsletter.tracking.token_claims import ClickClaim
from newsletter.tracking.tokens import InvalidToken, Tokens
from tests.helpers import add_article, at

CUT = at("2026-11-26T11:00:00")


def test_tokens_name_an_edition_and_a_position_and_nothing_else():
    t = Tokens("secret")
    assert t.read_click(t.click(7, 0)) == ClickClaim(7, 0)
    assert t.read_click(t.click(7, OPEN_PIXEL)) == ClickClaim(7, OPEN_PIXEL)
    message = t.read_click_message(t.click_message(7, 123, 0, 0))
    assert (message.edition_id, message.stamp, message.subscriber_id) == (7, 123, None)
    with pytest.raises(InvalidToken):  # a purpose's token is refused by every other
        t.read_click(t.click_message(7, 123))
    with pytest.raises(InvalidToken):
        t.read_click(t.unsubscribe(1, 2, 3, 4))
    with pytest.raises(InvalidToken):
        Tokens("another secret").read_click(t.click(7, 0))


def test_the_stamp_is_a_step_at_or_before_the_send():
    moment = at("2026-11-26T06:00:07")
    assert moment.timestamp() - STAMP_SECONDS < stamp_time(stamp_of(moment)) <= moment.timestamp()


def test_links_are_made_once_per_position_with_the_message_placeholder():
    links = ClickLinks("https://n.example.com/", Tokens("s"), 9)

    class Item:
        position = 3
    assert links.href(Item()) == links.href(Item())
    assert links.href(Item()).startswith("https://n.example.com/r/")
    assert links.suffix(utcnow()).startswith("/") and links.pixel_url().startswith("https://n.example.com/o/")


@pytest.fixture
def edition(session, publication):
    publication.click_stats = True
    add_article(session, "superpowers", "Lead", CUT - timedelta(hours=1), url="https://www.example.com/lead")
    add_article(session, "drone-war", "Drones", CUT - timedelta(hours=2), url="https://www.example.com/drones")
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=CUT + timedelta(hours=1))
    ed.started_at = CUT + timedelta(hours=1)
    session.commit()
    return ed


def test_follow_leads_to_the_items_url_and_counts_once(session, edition):
    now = utcnow()
    drone = next(i for i in edition.items if i.section_slug == "drone-war")
    assert follow(session, ClickClaim(edition.id, drone.position), None, ClickKind.READER, now) == \
        "https://www.example.com/drones"
    rows = session.scalars(select(ClickCount)).all()
    assert [(r.position, r.section_slug, r.kind, r.count, r.day) for r in rows] == \
        [(drone.position, "drone-war", "reader", 1, now.date())]
    count(session, edition.id, drone.position, "drone-war", now, ClickKind.READER)
    count(session, edition.id, drone.position, "drone-war", now, ClickKind.HEAD)
    session.expire_all()  # the counts changed in the database (an upsert), not in these objects
    assert sorted((r.kind, r.count) for r in session.scalars(select(ClickCount))) == [("head", 1), ("reader", 2)]


def test_no_link_outside_the_edition(session, edition):
    now = utcnow()
    assert follow(session, ClickClaim(edition.id, 99), None, ClickKind.READER, now) is None
    assert follow(session, ClickClaim(edition.id + 1, 0), None, ClickKind.READER, now) is None
    assert follow(session, ClickClaim(edition.id, OPEN_PIXEL), None, ClickKind.READER, now) is None
    assert session.scalars(select(ClickCount)).all() == []


def test_nothing_is_counted_where_clicks_are_not(session, edition, publication):
    publication.click_stats = False
    session.merge(publication)
    session.commit()
    assert follow(session, ClickClaim(edition.id, 0), None, ClickKind.READER, utcnow()) is not None
    assert session.scalars(select(ClickCount)).all() == []


def test_the_open_pixel_counts_only_where_turned_on(session, edition, publication):
    from newsletter.editions.clicks import opened
    from newsletter.operators.figures import edition_figures
    from newsletter.reports.reader_figures import OPENS_WARNING
    from newsletter.staff.access import cli_actor
    now = utcnow()
    assert opened(session, ClickClaim(edition.id, OPEN_PIXEL), ClickKind.READER, now)
    assert session.scalars(select(ClickCount)).all() == []  # open_pixel is off
    publication.open_pixel = True
    session.merge(publication)
    opened(session, ClickClaim(edition.id, OPEN_PIXEL), ClickKind.READER, now)
    opened(session, ClickClaim(edition.id, OPEN_PIXEL), ClickKind.AGENT, now)
    assert sorted((c.position, c.kind) for c in session.scalars(select(ClickCount))) == \
        [(OPEN_PIXEL, "agent"), (OPEN_PIXEL, "open")]
    assert not opened(session, ClickClaim(edition.id, 0), ClickKind.READER, now)  # a link is not the pixel
    figures = edition_figures(session, cli_actor(), edition.id)
    assert sum(d["opens"] for d in figures["days"]) == 1 and OPENS_WARNING in figures["notes"]
    assert sum(d["clicks"] + d["scanner_clicks"] for d in figures["days"]) == 0
