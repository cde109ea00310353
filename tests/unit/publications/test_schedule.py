from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from newsletter.editions.due import check_schedule
from newsletter.editions.models import Edition
from newsletter.publications.schedule import (
    cut_off,
    describe,
    fires_more_than_daily,
    never_fires,
    next_send_times,
    period_start,
    period_words,
    previous_send_time,
    send_times_on,
)
from tests.helpers import at

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
    # 01:30 happens twice on November 1 (EDT, then EST): it fires the first time only.
    assert send_times_on("30 1 * * *", NY, date(2026, 11, 1)) == [at("2026-11-01T05:30:00")]


def test_cut_off_is_the_first_send_time_or_the_end_of_the_day():
    assert cut_off("0 6 * * 1-5", NY, date(2026, 11, 27)) == at("2026-11-27T11:00:00")
    assert cut_off("0 6 * * 1-5", NY, date(2026, 11, 28)) == at("2026-11-29T05:00:00")  # Saturday


def test_due_at_the_right_instant_and_once(session, publication):
    grace = timedelta(hours=3)
    # March 9 2026, after the change: 06:00 in New York is 10:00 UTC.
    assert check_schedule(session, at("2026-03-09T09:59:00"), grace).due == []
    first = check_schedule(session, at("2026-03-09T10:00:30"), grace).due
    second = check_schedule(session, at("2026-03-09T10:00:40"), grace).due
    session.commit()
    assert [d.created for d in first] == [True] and [d.created for d in second] == [False]
    assert first[0].edition_id == second[0].edition_id
    assert session.scalar(select(func.count()).select_from(Edition)) == 1
    # March 7, before the change: 06:00 is 11:00 UTC.
    assert check_schedule(session, at("2026-03-07T10:59:00"), grace).due == []
    assert [d.created for d in check_schedule(session, at("2026-03-07T11:00:00"), grace).due] == [True]


def test_a_missed_edition_is_built_within_the_grace_period_and_skipped_after(session, publication):
    grace = timedelta(hours=3)
    assert [d.created for d in check_schedule(session, at("2026-11-27T13:30:00"), grace).due] == [True]
    later = check_schedule(session, at("2026-11-28T16:00:00"), grace)  # 5 hours late
    assert [d.created for d in later.due] == [False]  # only the 27th, built before
    assert session.scalar(select(Edition).where(Edition.date == date(2026, 11, 28))) is None
    # Reported as missed (the dispatcher alerts once: tests/unit/delivery/test_alerts.py),
    # as the publication had sent before; a new one has missed nothing.
    assert check_schedule(session, at("2026-11-26T16:00:00"), grace).missed == []
    assert [(m.day, m.due_at, m.late) for m in later.missed] == [
        (date(2026, 11, 28), at("2026-11-28T11:00:00"), timedelta(hours=5))]



def test_next_send_times_cross_the_spring_change_in_local_wall_clock_time():
    # 06:00 in New York stays 06:00 local: 11:00 UTC before March 8 2026, 10:00 after.
    times = next_send_times("0 6 * * *", NY, at("2026-03-06T12:00:00"), 4)
    assert times == [at("2026-03-07T11:00:00"), at("2026-03-08T10:00:00"), at("2026-03-09T10:00:00"),
                     at("2026-03-10T10:00:00")]


def test_next_send_times_skip_days_the_schedule_does_not_fire_and_count_from_after():
    fri = at("2026-11-27T11:00:00")  # a send time: strictly after it, the next is Monday
    assert next_send_times("0 6 * * 1-5", NY, fri, 2) == [at("2026-11-30T11:00:00"), at("2026-12-01T11:00:00")]
    assert next_send_times("0 7 29 2 *", "Europe/Paris", fri, 2) == [at("2028-02-29T06:00:00"),
                                                                      at("2032-02-29T06:00:00")]
    assert next_send_times("0 7 30 2 *", NY, fri) == []


def test_the_dst_gap_and_overlap_fire_once_in_next_send_times():
    gap = next_send_times("30 2 * * *", NY, at("2026-03-07T12:00:00"), 2)
    assert len(gap) == 2 and gap[0].date() == date(2026, 3, 8) and gap[1] == at("2026-03-09T06:30:00")
    overlap = next_send_times("30 1 * * *", NY, at("2026-10-31T12:00:00"), 2)
    assert overlap == [at("2026-11-01T05:30:00"), at("2026-11-02T06:30:00")]  # the first 01:30, EDT


def test_the_previous_send_time_and_one_schedule_period():
    monday = at("2026-11-30T11:00:00")
    assert previous_send_time("0 6 * * 1", NY, monday) == at("2026-11-23T11:00:00")
    assert period_start("0 6 * * 1", NY, monday) == at("2026-11-23T11:00:00")
    # Across the fall-back change a daily period is 25 hours, across spring forward 23.
    assert period_start("0 6 * * *", NY, at("2026-11-01T11:00:00")) == at("2026-10-31T10:00:00")
    assert period_start("0 6 * * *", NY, at("2026-03-08T10:00:00")) == at("2026-03-07T11:00:00")
    assert previous_send_time("0 7 30 2 *", NY, monday) is None


@pytest.mark.parametrize(("cron", "words"), [
    ("0 6 * * *", "every day at 06:00"),
    ("30 7 * * 1-5", "every Monday to Friday at 07:30"),
    ("0 7 * * 1", "every Monday at 07:00"),
    ("0 7 * * 1,4", "every Monday and Thursday at 07:00"),
    ("0 8 * * 0,6", "every Saturday and Sunday at 08:00"),
    ("0 8 * * 0,1,3", "every Monday, Wednesday and Sunday at 08:00"),
    ("0 7 1,15 * *", "on day 1 and 15 of every month at 07:00"),
    ("0 7 L * *", "on the last day of every month at 07:00"),
    ("0 7 1 1 *", "on day 1 of January at 07:00"),
    ("0 7 1 * 1", "on day 1 of every month, and every Monday at 07:00"),
    ("5 9 * 6,7 *", "every day in June and July at 09:05"),
    ("*/5 * * * *", "several times a day (*/5 * * * *)"),
    ("0 7 * * 1#2", "on the days '* * 1#2' names at 07:00"),
])
def test_a_schedule_in_words(cron, words):
    assert describe(cron) == words


def test_schedules_that_never_fire_or_fire_more_than_daily():
    assert never_fires("0 7 30 2 *") and never_fires("0 7 31 4 *")
    assert not never_fires("0 7 29 2 *") and not never_fires("0 6 * * *")
    assert fires_more_than_daily("*/5 * * * *") and fires_more_than_daily("0 6,18 * * *")
    assert fires_more_than_daily("0 * * * *")
    assert not fires_more_than_daily("0 6 * * 1-5") and not fires_more_than_daily("@weekly")


@pytest.mark.parametrize("cron, words", [("0 6 * * *", "today's"), ("30 7 * * 1", "this week's"),
                                         ("0 7 1 * *", "this month's"), ("0 6 * * 1,4", "the latest"),
                                         ("0 7 1 1 *", "the latest")])
def test_the_greeting_names_the_period(cron, words):
    assert period_words(cron) == words
