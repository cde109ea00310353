"""Previews write nothing (issue 9, item 1) and show what one reader would get (item 9)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition, EditionItem
from newsletter.editions.preview import preview, reader_for
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.render.preview import render_preview
from newsletter.subscribers import lifecycle
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Method
from tests.helpers import add_article, at

SATURDAY, MONDAY = date(2026, 11, 28), date(2026, 11, 30)


def _rows(session):
    return (session.scalar(select(func.count()).select_from(Edition)),
            session.scalar(select(func.count()).select_from(EditionItem)))


@pytest.fixture
def weekdays(session, publication):
    publication.schedule_cron = "0 6 * * 1-5"  # 06:00 New York, Monday to Friday
    session.flush()
    build_edition(session, publication, date(2026, 11, 27), now=at("2026-11-27T11:00:00"))  # Friday
    session.commit()
    return publication


def test_a_preview_on_a_day_without_a_send_keeps_its_headlines_for_the_next_edition(session, weekdays):
    for n in range(6):
        add_article(session, "superpowers", f"Saturday story {n}", at("2026-11-28T12:00:00") + timedelta(minutes=n))
    session.commit()
    shown = preview(session, weekdays, SATURDAY, reader_for(session, weekdays), now=at("2026-11-28T20:00:00"))
    assert len(shown.items) == 5 and not shown.stored  # capped at 5 a section, like a build
    assert not session.new and not session.dirty and _rows(session) == (1, 0)
    session.commit()
    monday, _ = build_edition(session, weekdays, MONDAY, now=at("2026-11-30T11:00:00"))
    assert {i.headline for i in monday.items} == {i.headline for i in shown.items}


def test_a_preview_of_tomorrow_leaves_no_edition(session, weekdays):
    add_article(session, "drone-war", "Early news", at("2026-11-28T01:00:00"))
    session.commit()
    shown = preview(session, weekdays, MONDAY, reader_for(session, weekdays), now=at("2026-11-28T02:00:00"))
    assert [i.headline for i in shown.items] == ["Early news"] and shown.edition.window_end == at("2026-11-28T02:00:00")
    session.commit()
    assert _rows(session) == (1, 0)
    assert session.scalar(select(Edition).where(Edition.date == MONDAY)) is None


def test_a_built_edition_is_previewed_as_frozen(session, publication):
    add_article(session, "superpowers", "Frozen", at("2026-11-26T10:00:00"))
    built, _ = build_edition(session, publication, date(2026, 11, 26), now=at("2026-11-26T12:00:00"))
    add_article(session, "superpowers", "After", at("2026-11-26T10:30:00"))
    shown = preview(session, publication, date(2026, 11, 26), reader_for(session, publication))
    assert shown.stored and shown.edition.id == built.id and [i.headline for i in shown.items] == ["Frozen"]


def test_a_preview_as_a_subscriber_or_for_sections(session, settings, publication):
    add_article(session, "superpowers", "Summit", at("2026-11-26T10:00:00"))
    add_article(session, "drone-war", "Drones", at("2026-11-26T09:00:00"))
    add_subscriber(session, publication, "Ann@Example.org", "Ann Reader", "drone-war")
    day, now = date(2026, 11, 26), at("2026-11-26T12:00:00")

    ann = reader_for(session, publication, as_email="ann@example.org")
    assert (ann.sections, ann.name, ann.label) == (("drone-war",), "Ann Reader", "ann@example.org")
    shown = preview(session, publication, day, ann, now=now)
    assert [i.headline for i in shown.items] == ["Drones"]
    rendered = render_preview(settings, shown, publication)
    assert "Ann Reader" in rendered.html and "Summit" not in rendered.html and "Drones" in rendered.text
    assert rendered.personal.unsubscribe_url == "https://news.example.com/u/PREVIEW"  # inert

    chosen = reader_for(session, publication, sections="drone-war, superpowers")
    assert chosen.sections == ("superpowers", "drone-war") and chosen.name == ""
    assert render_preview(settings, preview(session, publication, day, chosen, now=now),
                          publication).headline_count == 2
    assert not session.new


def test_who_cannot_be_previewed(session, publication):
    sub = add_subscriber(session, publication, "bob@example.org", "Bob")
    with pytest.raises(InvalidInput):
        reader_for(session, publication, as_email="bob@example.org", sections="drone-war")
    with pytest.raises(InvalidInput, match="unknown sections"):
        reader_for(session, publication, sections="cooking")
    with pytest.raises(NotFound):
        reader_for(session, publication, as_email="nobody@example.org")
    with pytest.raises(InvalidInput):
        reader_for(session, publication, as_email="not an address")
    lifecycle.unsubscribe(session, sub.subscriber, publication, Method.LINK)
    with pytest.raises(Conflict, match="they get nothing"):
        reader_for(session, publication, as_email="bob@example.org")
