from datetime import date, timedelta

from sqlalchemy import func, select

from newsletter.editions.due import check_schedule, due_editions
from newsletter.editions.models import Edition
from newsletter.publications.schedule import cut_off, send_times_on
from tests.conftest import at

NY = "America/New_York"


def test_new_york_send_time_on_both_sides_of_daylight_saving():
    # 2026: clocks go forward on March 8 and back on November 1.
    assert send_times_on("0 6 * * *", NY, date(2026, 3, 7)) == [at("2026-03-07T11:00:00")]
    assert send_times_on("0 6 * * *", NY, date(2026, 3, 9)) == [at("2026-03-09T10:00:00")]
    assert send_times_on("0 6 * * *", NY, date(2026, 10, 31)) == [at("2026-10-31T10:00:00")]
    assert send_times_on("0 6 * * *", NY, date(2026, 11, 2)) == [at("2026-11-02T11:00:00")]


def test_times_inside_the_dst_gap_and_overlap():
    # 02:30 does not exist on March 8 and happens twice on November 1: one send each day.
    assert len(send_times_on("30 2 * * *", NY, date(2026, 3, 8))) == 1
    assert len(send_times_on("30 2 * * *", NY, date(2026, 11, 1))) == 1


def test_cut_off_is_the_first_send_time_or_the_end_of_the_day():
    assert cut_off("0 6 * * 1-5", NY, date(2026, 11, 27)) == at("2026-11-27T11:00:00")
    assert cut_off("0 6 * * 1-5", NY, date(2026, 11, 28)) == at("2026-11-29T05:00:00")  # Saturday


def test_due_at_the_right_instant_and_once(session, publication):
    grace = timedelta(hours=3)
    # March 9 2026, after the change: 06:00 in New York is 10:00 UTC.
    assert due_editions(session, at("2026-03-09T09:59:00"), grace) == []
    first = due_editions(session, at("2026-03-09T10:00:30"), grace)
    second = due_editions(session, at("2026-03-09T10:00:40"), grace)
    session.commit()
    assert [d.created for d in first] == [True] and [d.created for d in second] == [False]
    assert first[0].edition_id == second[0].edition_id
    assert session.scalar(select(func.count()).select_from(Edition)) == 1
    # March 7, before the change: 06:00 is 11:00 UTC.
    assert due_editions(session, at("2026-03-07T10:59:00"), grace) == []
    assert [d.created for d in due_editions(session, at("2026-03-07T11:00:00"), grace)] == [True]


def test_a_missed_edition_is_built_within_the_grace_period_and_skipped_after(session, publication):
    grace = timedelta(hours=3)
    assert [d.created for d in due_editions(session, at("2026-11-27T13:30:00"), grace)] == [True]
    later = check_schedule(session, at("2026-11-28T16:00:00"), grace)  # 5 hours late
    assert [d.created for d in later.due] == [False]  # only the 27th, built before
    assert session.scalar(select(Edition).where(Edition.date == date(2026, 11, 28))) is None
    # Reported as missed (the dispatcher alerts once: tests/unit/delivery/test_alerts.py),
    # as the publication had sent before; a new one has missed nothing.
    assert check_schedule(session, at("2026-11-26T16:00:00"), grace).missed == []
    assert [(m.day, m.due_at, m.late) for m in later.missed] == [
        (date(2026, 11, 28), at("2026-11-28T11:00:00"), timedelta(hours=5))]
