from datetime import date, timedelta

from newsletter.editions.build import build_edition
from newsletter.editions.overview import edition_detail, editions_of
from newsletter.operators.publications import publications_overview
from newsletter.subscribers.service import add_subscriber
from tests.helpers import add_article, at


def test_publications_and_editions_as_operators_see_them(session, publication):
    add_article(session, "superpowers", "One", at("2026-11-26T10:00:00"))
    add_subscriber(session, publication, "ann@example.org")
    add_subscriber(session, publication, "bob@example.org")
    first, _ = build_edition(session, publication, date(2026, 11, 26), now=at("2026-11-26T12:00:00"))
    second, _ = build_edition(session, publication, date(2026, 11, 27), now=at("2026-11-27T12:00:00"))
    (row,) = publications_overview(session, at("2026-11-28T12:00:00"), count=3)
    assert (row.slug, row.active, row.schedule, row.timezone, row.subscribers) == (
        "spacewar-daily", True, "every day at 06:00", "America/New_York", 2)
    assert row.next_sends == [at("2026-11-29T11:00:00") + timedelta(days=n) for n in range(3)]
    early, _ = build_edition(session, publication, date(2026, 11, 29), now=at("2026-11-28T12:30:00"))  # sent early
    (later,) = publications_overview(session, at("2026-11-28T13:00:00"), count=3)
    assert later.next_sends == [at("2026-11-30T11:00:00") + timedelta(days=n) for n in range(3)]  # not the 29th
    session.delete(early)
    session.flush()
    assert row.last_edition.id == second.id and row.last_edition.status == "empty"
    assert [(e.id, e.headlines) for e in editions_of(session, publication.id)] == [(second.id, 0), (first.id, 1)]
    detail = edition_detail(session, first.id)
    assert detail.publication_slug == "spacewar-daily" and [i.headline for i in detail.items] == ["One"]
    assert edition_detail(session, 999) is None
    publication.active = False
    assert publications_overview(session, at("2026-11-28T12:00:00"))[0].next_sends == []
