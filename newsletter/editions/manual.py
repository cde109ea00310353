"""Editions built by hand (`newsletter build`, `newsletter send`): the same build as the
scheduler's, after the checks that keep an operator from losing headlines by building
the wrong date. The scheduler never needs them: it builds send days, when they are due.

  1. The publication is active: one taken out of the publications file sends nothing.
  2. The date is a send day of its schedule. An edition of another day takes the
     headlines of its window, and the schedule never sends it: the next scheduled
     edition starts where it ended, so its readers would never get them.
  3. Its window has opened: the send time before its own is past. Built earlier, it
     would be frozen now with nothing in it (a date days ahead) while the editions
     before it have yet to go out. Building today's edition before its send time is
     fine: it is sent early, and the next one starts where it ended.

An edition that exists already is returned as it is, whatever the checks say: building
is idempotent, and `send` of a built date carries on with it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import build_edition, find_edition
from newsletter.editions.models import Edition
from newsletter.errors import Conflict
from newsletter.publications.models import Publication
from newsletter.publications.schedule import (
    describe,
    local_date,
    next_send_times,
    period_start,
    send_times_on,
)


def check(pub: Publication, day: date, now: datetime) -> None:
    """Conflict, saying why and what to do, when `day` must not be built by hand now."""
    if not pub.active:
        raise Conflict(f"{pub.slug} is not active (it is not in the publications file): nothing is built or sent")
    times = send_times_on(pub.schedule_cron, pub.timezone, day)
    if not times:
        upcoming = next_send_times(pub.schedule_cron, pub.timezone, now, 1)
        after = f"; the next is {local_date(pub.timezone, upcoming[0])}" if upcoming else ""
        raise Conflict(f"{day} is not a send day of {pub.slug} ({describe(pub.schedule_cron)}){after}: "
                       "an edition of that day would take headlines that no scheduled edition then carries")
    opens = period_start(pub.schedule_cron, pub.timezone, times[0])
    if opens > now:
        raise Conflict(f"the edition of {day} covers what is published from {opens:%Y-%m-%d %H:%M} UTC on, "
                       f"which has not begun: build or send it once the edition before it has gone out "
                       f"(`newsletter preview {pub.slug} --date {day}` shows it now and changes nothing)")


def build_by_hand(session: Session, pub: Publication, day: date,
                  now: datetime | None = None) -> tuple[Edition, bool]:
    """(the edition, whether it was built now): the stored one, or a new one if `check` allows it."""
    existing = find_edition(session, pub.id, day)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    check(pub, day, now)
    return build_edition(session, pub, day, now)
