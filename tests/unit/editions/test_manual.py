"""Builds by hand (`build`, `send`): only an active publication's send days, once their
window has opened; an existing edition is returned as it is."""
from datetime import date

import pytest
from sqlalchemy import func, select

from newsletter.delivery import send_acts
from newsletter.editions import edition_acts
from newsletter.editions.manual import build_by_hand
from newsletter.editions.models import Edition
from newsletter.errors import Conflict
from tests.helpers import add_article, at

SUNDAY, MONDAY, NEXT_MONDAY = date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 7)
NOW = at("2026-11-29T05:10:00")  # a Sunday morning, UTC


@pytest.fixture
def weekly(session, publication):
    publication.schedule_cron, publication.timezone = "0 6 * * 1", "Europe/Berlin"  # Mondays at 06:00
    add_article(session, "superpowers", "This week", at("2026-11-27T10:00:00"))
    session.commit()
    return publication


def editions(session) -> int:
    return session.scalar(select(func.count()).select_from(Edition))


def test_a_day_that_is_not_a_send_day_is_refused(session, weekly):
    with pytest.raises(Conflict, match="2026-11-29 is not a send day of spacewar-daily .*the next is 2026-11-30"):
        build_by_hand(session, weekly, SUNDAY, NOW)
    assert editions(session) == 0


def test_a_date_whose_window_has_not_opened_is_refused(session, weekly):
    with pytest.raises(Conflict, match="covers what is published from 2026-11-30 05:00 UTC on"):
        build_by_hand(session, weekly, NEXT_MONDAY, NOW)
    assert editions(session) == 0


def test_the_next_send_day_can_go_out_early(session, weekly):
    edition, built = build_by_hand(session, weekly, MONDAY, NOW)
    assert built and edition.status == "built" and edition.window_end == NOW
    again, built = build_by_hand(session, weekly, MONDAY, at("2026-11-30T09:00:00"))
    assert again.id == edition.id and not built


def test_an_inactive_publication_builds_nothing_but_keeps_what_it_has(session, weekly):
    edition, _ = build_by_hand(session, weekly, MONDAY, NOW)
    weekly.active = False
    session.commit()
    assert build_by_hand(session, weekly, MONDAY, NOW)[0].id == edition.id
    with pytest.raises(Conflict, match="not active"):
        build_by_hand(session, weekly, NEXT_MONDAY, at("2026-12-07T09:00:00"))


def test_an_empty_edition_can_be_cancelled_and_replaced(session, engine, weekly):
    edition, _ = build_by_hand(session, weekly, MONDAY, at("2026-11-27T09:00:00"))  # before the headline
    session.commit()
    assert edition.status == "empty"
    with engine.begin() as conn:
        assert send_acts.cancel(conn, edition.id) == "cancelled"
    session.expire_all()
    weekly.active = False  # taken out of the publications file: nothing is sent, not even by --force
    with pytest.raises(Conflict, match="not active"):
        edition_acts.replace_cancelled(session, weekly, MONDAY, "built before the headlines")
    weekly.active = True
    old, new = edition_acts.replace_cancelled(session, weekly, MONDAY, "built before the headlines",
                                                 now=at("2026-11-30T05:00:00"))
    assert old.id == edition.id and new.status == "built" and len(new.items) == 1
