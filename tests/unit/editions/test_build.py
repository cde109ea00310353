from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition, EditionStatus
from tests.helpers import add_article, at

# Both databases: the conditional updates, the row lock and the NOT IN subquery are SQL.
pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)

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


# Late arrivals (issue 9, item 2): the rule is in editions/build.py's docstring.

def test_an_article_ingested_after_the_cut_off_goes_in_the_next_edition(session, publication):
    add_article(session, "superpowers", "On time", CUT - timedelta(hours=1))
    first, _ = build_edition(session, publication, DAY, now=CUT + timedelta(minutes=1))
    # A feed that is late (or a site that backdates): published before Monday's cut-off,
    # in the store only after Monday's edition was built.
    add_article(session, "superpowers", "Late", CUT - timedelta(minutes=10), ingested=CUT + timedelta(hours=1))
    add_article(session, "drone-war", "Tuesday", CUT + timedelta(hours=3))
    second, _ = build_edition(session, publication, DAY + timedelta(days=1), now=LATE + timedelta(days=1))
    assert [i.headline for i in first.items] == ["On time"]
    assert [i.headline for i in second.items] == ["Late", "Tuesday"]
    third, _ = build_edition(session, publication, DAY + timedelta(days=2), now=LATE + timedelta(days=2))
    assert third.items == []  # and never again


def test_an_article_is_never_selected_twice(session, publication):
    article = add_article(session, "superpowers", "Moves", CUT - timedelta(hours=1))
    first, _ = build_edition(session, publication, DAY, now=LATE)
    # The feed changes the article's date to the next window (an update keeps ingested_at).
    article.published_at = CUT + timedelta(hours=2)
    session.flush()
    second, _ = build_edition(session, publication, DAY + timedelta(days=1), now=LATE + timedelta(days=1))
    assert [i.headline for i in first.items] == ["Moves"] and second.items == []


def test_a_stale_late_arrival_is_left_out(session, publication):
    build_edition(session, publication, DAY, now=LATE)
    add_article(session, "superpowers", "Archive", CUT - timedelta(days=3), ingested=CUT + timedelta(hours=1))
    add_article(session, "superpowers", "Late but fresh", CUT - timedelta(days=1), ingested=CUT + timedelta(hours=1))
    nxt, _ = build_edition(session, publication, DAY + timedelta(days=1), now=LATE + timedelta(days=1),
                           max_late_age=timedelta(hours=48))
    assert [i.headline for i in nxt.items] == ["Late but fresh"]


def test_the_staleness_limit_is_a_setting(session, publication, monkeypatch):
    from newsletter.config import reset_settings

    build_edition(session, publication, DAY, now=LATE)
    add_article(session, "superpowers", "Three days old", CUT - timedelta(days=3), ingested=CUT + timedelta(hours=1))
    monkeypatch.setenv("NEWSLETTER_LATE_ARTICLE_MAX_HOURS", "96")
    reset_settings()
    try:
        nxt, _ = build_edition(session, publication, DAY + timedelta(days=1), now=LATE + timedelta(days=1))
    finally:
        monkeypatch.undo()
        reset_settings()
    assert [i.headline for i in nxt.items] == ["Three days old"]


def test_headlines_of_a_cancelled_edition_are_not_taken_as_shown(session, publication):
    from newsletter.editions.build import select_items

    add_article(session, "superpowers", "Withdrawn", CUT - timedelta(hours=1))
    first, _ = build_edition(session, publication, DAY, now=LATE)
    assert select_items(session, publication, first.window_start, first.window_end) == []
    first.status = EditionStatus.CANCELLED
    session.flush()
    again = select_items(session, publication, first.window_start, first.window_end)
    assert [i.headline for i in again] == ["Withdrawn"]


def test_ingesting_stamps_the_first_arrival_only(session, publication):
    from newsletter.ingest.load import store_records
    from newsletter.ingest.parse import parse_feed
    from tests.helpers import rss

    feed = rss([{"title": "A", "link": "https://x.example.com/a", "category": "SUPERPOWERS",
                 "date": CUT - timedelta(hours=1)}])
    store_records(session, parse_feed(feed), now=CUT + timedelta(hours=1))
    store_records(session, parse_feed(feed), now=CUT + timedelta(hours=5))  # an update
    from newsletter.store.models import Article

    assert session.scalar(select(Article.ingested_at)) == CUT + timedelta(hours=1)


# The first window (issue 9, item 3): one schedule period, not 24 hours.

WEEKLY_CUT = at("2026-11-30T11:00:00")  # Monday 06:00 in New York


def test_a_weekly_first_edition_covers_the_week(session, publication):
    publication.schedule_cron = "0 6 * * 1"
    session.flush()
    for n in range(11):  # one every 14 hours over the week before Monday's cut-off
        add_article(session, "superpowers" if n % 2 else "drone-war", f"Week story {n}",
                    WEEKLY_CUT - timedelta(hours=14 * n + 1))
    add_article(session, "superpowers", "Last week", WEEKLY_CUT - timedelta(days=7, hours=1))
    publication.cap_per_section = 20
    edition, _ = build_edition(session, publication, date(2026, 11, 30), now=WEEKLY_CUT + timedelta(hours=1))
    assert edition.window_start == WEEKLY_CUT - timedelta(days=7)
    assert len(edition.items) == 11 and "Last week" not in [i.headline for i in edition.items]


def test_a_daily_first_window_follows_daylight_saving(session, publication):
    # November 1 2026: New York falls back; the previous 06:00 was 25 hours before.
    edition, _ = build_edition(session, publication, date(2026, 11, 1), now=at("2026-11-01T12:00:00"))
    assert edition.window_end - edition.window_start == timedelta(hours=25)
