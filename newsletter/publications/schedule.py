"""When a publication's editions are due, worked out in its own time zone."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


def send_times_on(cron: str, tz_name: str, day: date) -> list[datetime]:
    """Every instant (aware, UTC) the cron expression fires on this local calendar day.

    Local times that do not exist (spring forward) move to the same wall-clock time
    after the gap; times that happen twice (fall back) fire once, the first time.
    """
    tz = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0, 0), tz) - timedelta(seconds=1)
    it = croniter(cron, start)
    out: list[datetime] = []
    while True:
        nxt = it.get_next(datetime)
        local = nxt.astimezone(tz)
        if local.date() != day:
            break
        instant = local.astimezone(UTC)
        if instant not in out:
            out.append(instant)
        if len(out) > 1440:
            break
    return out


def cut_off(cron: str, tz_name: str, day: date) -> datetime:
    """The instant an edition for `day` closes: its first send time, or the end of that day."""
    times = send_times_on(cron, tz_name, day)
    if times:
        return times[0]
    tz = ZoneInfo(tz_name)
    return datetime.combine(day + timedelta(days=1), time(0, 0), tz).astimezone(UTC)


def local_date(tz_name: str, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(tz_name)).date()


# Delivery at each subscriber's local time ("06:00 wherever you are"). An edition for
# local date D goes to each zone at the schedule's first time on D in that zone: the
# zones make waves, earliest first (Pacific/Auckland before Europe/Berlin before
# America/Los_Angeles). Each zone's instant comes from `send_times_on`, so the DST rules
# above hold per zone: a zone that changes its clocks on D still gets 06:00 local.


@dataclass(frozen=True)
class Wave:
    send_at: datetime  # aware, UTC
    zones: tuple[str, ...]  # as stored on subscribers; "" stands for the publication's zone


def effective_zone(zone: str, publication_zone: str) -> str:
    """A subscriber's zone; the publication's when they have none or one this system does
    not know (a zone removed from the tz database must not stop a send)."""
    if not zone:
        return publication_zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return publication_zone
    return zone


def waves_on(cron: str, publication_zone: str, zones: Iterable[str], day: date) -> list[Wave]:
    """The waves of the edition for local date `day`: zones grouped by the instant the
    schedule first fires on `day` in each, earliest first. The publication's own zone is
    always among them (as ""); zones where the schedule does not fire on `day` are left out."""
    by_instant: dict[datetime, set[str]] = {}
    times: dict[str, datetime | None] = {}
    for zone in {"", *zones}:
        real = effective_zone(zone, publication_zone)
        if real not in times:
            fires = send_times_on(cron, real, day)
            times[real] = fires[0] if fires else None
        if times[real] is not None:
            by_instant.setdefault(times[real], set()).add(zone)
    return [Wave(at, tuple(sorted(by_instant[at]))) for at in sorted(by_instant)]


def local_days_around(instant: datetime) -> list[date]:
    """Every local calendar date that some zone is in at `instant` (UTC-12 to UTC+14 spans
    at most three dates), earliest first: the editions that can have a wave due now."""
    utc_day = instant.astimezone(UTC).date()
    return [utc_day + timedelta(days=n) for n in (-1, 0, 1)]
