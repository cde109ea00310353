"""The wave schedule of an edition sent at each subscriber's local time: pure functions.

2026: Europe moves its clocks forward on March 29, New Zealand back on April 5; Los
Angeles has been on summer time since March 8."""
from datetime import date

from newsletter.publications.schedule import Wave, effective_zone, local_days_around, waves_on
from tests.helpers import at

AKL, BER, LAX = "Pacific/Auckland", "Europe/Berlin", "America/Los_Angeles"
ZONES = [AKL, BER, LAX, ""]  # "": subscribers without a zone of their own


def test_each_zone_gets_its_own_six_o_clock_earliest_first():
    assert waves_on("0 6 * * *", BER, ZONES, date(2026, 3, 28)) == [
        Wave(at("2026-03-27T17:00:00"), (AKL,)),  # 06:00 NZDT (+13) is the evening before in UTC
        Wave(at("2026-03-28T05:00:00"), ("", BER)),  # the publication's zone: with the zone-less
        Wave(at("2026-03-28T13:00:00"), (LAX,)),  # 06:00 PDT (-7)
    ]


def test_the_day_berlin_springs_forward():
    # 02:00 -> 03:00 that night: 06:00 CEST is an hour earlier in UTC; the others do not move.
    assert [w.send_at for w in waves_on("0 6 * * *", BER, ZONES, date(2026, 3, 29))] == [
        at("2026-03-28T17:00:00"), at("2026-03-29T04:00:00"), at("2026-03-29T13:00:00")]


def test_the_day_auckland_falls_back():
    # 03:00 -> 02:00 that night: 06:00 NZST (+12) is an hour later in UTC.
    assert [w.send_at for w in waves_on("0 6 * * *", BER, ZONES, date(2026, 4, 5))] == [
        at("2026-04-04T18:00:00"), at("2026-04-05T04:00:00"), at("2026-04-05T13:00:00")]


def test_zones_with_the_same_instant_share_a_wave_and_the_publication_zone_is_always_one():
    assert waves_on("0 6 * * *", BER, ["Europe/Paris", BER], date(2026, 6, 1)) == [
        Wave(at("2026-06-01T04:00:00"), ("", BER, "Europe/Paris"))]
    assert waves_on("0 6 * * *", "UTC", [], date(2026, 6, 1)) == [Wave(at("2026-06-01T06:00:00"), ("",))]


def test_an_unknown_zone_is_sent_with_the_publication():
    assert effective_zone("Mars/Olympus_Mons", BER) == BER and effective_zone("", BER) == BER
    assert effective_zone(LAX, BER) == LAX
    (wave,) = waves_on("0 6 * * *", BER, ["Mars/Olympus_Mons"], date(2026, 6, 1))
    assert wave.zones == ("", "Mars/Olympus_Mons")


def test_a_time_in_the_gap_is_sent_after_the_gap_in_that_zone_only():
    # 02:30 does not exist in Berlin on March 29: sent when the gap ends (03:00 CEST, as
    # send_times_on does for any publication); Los Angeles's 02:30 exists and is kept.
    waves = waves_on("30 2 * * *", BER, [LAX], date(2026, 3, 29))
    assert [w.send_at for w in waves] == [at("2026-03-29T01:00:00"), at("2026-03-29T09:30:00")]


def test_a_weekly_schedule_has_waves_on_its_day_only():
    assert waves_on("0 6 * * 1", BER, ZONES, date(2026, 3, 28)) == []  # a Saturday
    assert len(waves_on("0 6 * * 1", BER, ZONES, date(2026, 3, 30))) == 3  # Monday, in every zone


def test_local_days_around_an_instant_cover_every_zone():
    # At 23:00 UTC it is already the next day in Auckland and still the same day in LA.
    days = local_days_around(at("2026-03-28T23:00:00"))
    assert days == [date(2026, 3, 27), date(2026, 3, 28), date(2026, 3, 29)]
