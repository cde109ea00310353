from datetime import date, timedelta

from sqlalchemy import func, select

from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition, EditionStatus
from tests.conftest import at
from tests.helpers import add_article

DAY = date(2026, 11, 26)
# spacewar-daily: 06:00 America/New_York, which is 11:00 UTC in November.
CUT = at("2026-11-26T11:00:00")
LATE = at("2026-11-26T20:00:00")


def test_selection_order_cap_dedup_and_window(session, publication):
    publication.cap_per_section = 2
    add_article(session, "missile-defense", "MD old", CUT - timedelta(hours=5))
    add_article(session, "missile-defense", "MD new", CUT - timedelta(hours=1))
    add_article(session, "superpowers", "SP three", CUT - timedelta(hours=3))
    add_article(session, "superpowers", "SP two", CUT - timedelta(hours=2))
    add_article(session, "superpowers", "SP one", CUT - timedelta(hours=1, minutes=30))
    add_article(session, "drone-war", "sp one", CUT - timedelta(minutes=10))  # same headline, other case
    add_article(session, "drone-war", "Too old", CUT - timedelta(hours=25))
    add_article(session, "drone-war", "After the cut-off", CUT + timedelta(minutes=1))
    edition, created = build_edition(session, publication, DAY, now=LATE)
    session.commit()
    assert created
    assert [(i.section_slug, i.headline) for i in edition.items] == [
        ("superpowers", "SP one"), ("superpowers", "SP two"),      # newest first, capped at 2
        ("missile-defense", "MD new"), ("missile-defense", "MD old"),
    ]  # "sp one" in drone-war is newer but a repeat: a headline is shown once
    assert (edition.window_start, edition.window_end) == (CUT - timedelta(hours=24), CUT)


def test_an_edition_is_frozen_and_built_once(session, publication):
    add_article(session, "superpowers", "First", CUT - timedelta(hours=1))
    edition, _ = build_edition(session, publication, DAY, now=LATE)
    session.commit()
    add_article(session, "superpowers", "Arrived later", CUT - timedelta(minutes=30))
    again, created = build_edition(session, publication, DAY, now=LATE)
    assert not created and again.id == edition.id
    assert [i.headline for i in again.items] == ["First"]
    assert session.scalar(select(func.count()).select_from(Edition)) == 1


def test_next_edition_starts_at_the_previous_cut_off(session, publication):
    add_article(session, "superpowers", "Day one", CUT - timedelta(hours=1))
    build_edition(session, publication, DAY, now=LATE)
    add_article(session, "superpowers", "Day two", CUT + timedelta(hours=2))
    nxt, _ = build_edition(session, publication, DAY + timedelta(days=1), now=LATE + timedelta(days=1))
    assert nxt.window_start == CUT
    assert [i.headline for i in nxt.items] == ["Day two"]


def test_building_before_the_send_time_closes_the_window_now(session, publication):
    early = at("2026-11-26T09:00:00")
    edition, _ = build_edition(session, publication, DAY, now=early)
    assert edition.window_end == early


def test_an_edition_with_no_articles_is_recorded_empty(session, publication):
    edition, created = build_edition(session, publication, DAY, now=LATE)
    assert created and edition.status == EditionStatus.EMPTY and edition.items == []
