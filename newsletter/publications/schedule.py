"""When a publication's editions are due, worked out in its own time zone."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
