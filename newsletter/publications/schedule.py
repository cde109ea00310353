"""When a publication's editions are due, worked out in its own time zone.

Pure functions of (cron expression, IANA zone name, instant or local day). Daylight
saving time: a cron fires at local wall-clock times; `send_times_on` is the one place
that turns a local day's firings into UTC instants, and every other function here
(next sends, the previous send, the schedule period) is built on it, so they all agree:
a local time that does not exist (spring forward) fires once, just after the gap; a
local time that happens twice (fall back) fires once, the first time.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTH_NAMES = ["", "January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]


def send_times_on(cron: str, tz_name: str, day: date) -> list[datetime]:
    """Every instant (aware, UTC) the cron expression fires on this local calendar day.

    Local times that do not exist (spring forward) move to just after the gap; times
    that happen twice (fall back) fire once, the first time.
    """
    tz = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0, 0), tz) - timedelta(seconds=1)
    it = croniter(cron, start)
    out: list[datetime] = []
    wall_clock: set[datetime] = set()  # naive local times: the repeated hour's second pass is equal
    while True:
        nxt = it.get_next(datetime)
        local = nxt.astimezone(tz)
        if local.date() != day:
            break
        instant = local.astimezone(UTC)
        if instant not in out and local.replace(tzinfo=None) not in wall_clock:
            out.append(instant)
            wall_clock.add(local.replace(tzinfo=None))
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


def _firing_days(cron: str, from_day: date, forward: bool) -> Iterator[date]:
    """Local calendar days on which the cron fires, from `from_day` (included) onwards or
    backwards. Found on naive wall-clock time, a day at a time (a cron that fires every
    minute costs one step a day); ends when croniter finds no more (`0 7 30 2 *`)."""
    day = from_day
    while True:
        try:
            if forward:
                found = croniter(cron, datetime.combine(day, time(0, 0)) - timedelta(seconds=1)).get_next(datetime)
            else:
                found = croniter(cron, datetime.combine(day + timedelta(days=1), time(0, 0))).get_prev(datetime)
        except CroniterBadDateError:
            return
        yield found.date()
        day = found.date() + timedelta(days=1 if forward else -1)


def next_send_times(cron: str, tz_name: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` send instants (UTC) strictly after `after`; fewer if the cron
    stops firing, none if it never fires."""
    out: list[datetime] = []
    for day in _firing_days(cron, local_date(tz_name, after) - timedelta(days=1), forward=True):
        out.extend(t for t in send_times_on(cron, tz_name, day) if t > after)
        if len(out) >= count:
            break
    return sorted(out)[:count]


def previous_send_time(cron: str, tz_name: str, before: datetime) -> datetime | None:
    """The last send instant (UTC) strictly before `before`, or None if there was none."""
    for day in _firing_days(cron, local_date(tz_name, before) + timedelta(days=1), forward=False):
        earlier = [t for t in send_times_on(cron, tz_name, day) if t < before]
        if earlier:
            return max(earlier)
    return None


def period_start(cron: str, tz_name: str, cut: datetime) -> datetime:
    """One schedule period before a cut-off: the send time before it (a week for a weekly,
    23 or 25 hours for a daily across a DST change). A day when there is none."""
    return previous_send_time(cron, tz_name, cut) or cut - timedelta(days=1)


def fires_more_than_daily(cron: str) -> bool:
    """More than one send time on a day it fires (`*/5 * * * *`, `0 6,18 * * *`)."""
    fields = croniter(cron).expanded
    times_of_day = [fields[0], fields[1], *fields[5:]]  # minutes, hours, (seconds)
    return any(f == ["*"] or len(f) > 1 for f in times_of_day)


def never_fires(cron: str) -> bool:
    """True for a cron that names a day that does not exist (`0 7 30 2 *`, `0 7 31 4 *`)."""
    return next(_firing_days(cron, date(2000, 1, 1), forward=True), None) is None


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _days_of_week(values: list[int]) -> str:
    days = sorted(set(values))
    if days == [1, 2, 3, 4, 5]:
        return "Monday to Friday"
    if days == [0, 6]:
        return "Saturday and Sunday"
    return _join([DAY_NAMES[d] for d in days[1:] + days[:1]] if days[0] == 0 else [DAY_NAMES[d] for d in days])


def describe(cron: str) -> str:
    """The schedule in words, for operators: 'every day at 06:00', 'every Monday at 07:30',
    'on day 1 of every month at 07:00'. Local wall-clock time; several times a day are
    listed as cron gives them (the loader refuses such schedules)."""
    minutes, hours, doms, months, dows = croniter(cron).expanded[:5]
    if fires_more_than_daily(cron):
        return f"several times a day ({cron})"
    at = f"at {hours[0]:02d}:{minutes[0]:02d}"
    fields = cron.split()
    if len(fields) >= 5 and any(mark in fields[2] + fields[4] for mark in "#W"):
        return f"on the days '{' '.join(fields[2:5])}' names {at}"  # nth weekday, nearest weekday: cron's words
    in_months = "" if months == ["*"] else " in " + _join([MONTH_NAMES[m] for m in sorted(months)])
    if doms == ["*"] and dows == ["*"]:
        when = "every day" + in_months
    elif doms == ["*"]:
        when = f"every {_days_of_week(dows)}" + in_months
    else:
        numbers = sorted(d for d in doms if isinstance(d, int))
        dom_words = _join((["day " + _join([str(d) for d in numbers])] if numbers else [])
                          + (["the last day"] if "l" in doms else []))
        when = f"on {dom_words} of " + ("every month" if months == ["*"] else _join(
            [MONTH_NAMES[m] for m in sorted(months)]))
        if dows != ["*"]:  # cron: day of month OR day of week
            when += f", and every {_days_of_week(dows)}"
    return f"{when} {at}"


def period_words(cron: str) -> str:
    """How the default greeting names what an edition holds: "today's" for a daily,
    "this week's" for one a week, "this month's" for one a month, "the latest" otherwise."""
    _, _, doms, months, dows = croniter(cron).expanded[:5]
    if doms == ["*"] and dows == ["*"]:
        return "today's"
    if doms == ["*"] and len(dows) == 1:
        return "this week's"
    if dows == ["*"] and months == ["*"] and len(doms) == 1:
        return "this month's"
    return "the latest"


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
