"""What an edition holds, or would hold if it were built now, for one reader; read only.

A preview never writes: when the edition of that date is built, it is shown as frozen;
when it is not, the selection is computed in memory by the same function the real
build uses (`plan_edition`) and shown as a transient edition that is never added to the
session. Previewing tomorrow, or a day the schedule skips, changes nothing that a later
build, the scheduler or a subscriber will see.

The reader: everyone (every section), a section choice (`--sections a,b`), or a
subscriber (`--as EMAIL`: their sections and their name, as they would get it). The
rendering (render/) and the test send (mail/proof.py) take what this returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.db import utcnow
from newsletter.editions.build import find_edition, plan_edition
from newsletter.editions.contents import ReadItem, items_as_read
from newsletter.editions.models import Edition
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.publications.models import Publication
from newsletter.subscribers.models import Subscriber, SubscriberStatus, SubscriptionStatus
from newsletter.text import one_line

TRANSIENT_ID = "preview"  # public id of an edition that exists only in a preview


@dataclass(frozen=True)
class Reader:
    """Whom a preview is for."""

    sections: tuple[str, ...] | None  # None: every section
    name: str = ""  # "" : the greeting for a reader without a name
    email: str = ""  # the subscriber previewed as, if any
    label: str = "every section"


@dataclass
class Preview:
    edition: Edition  # the stored edition, or a transient one (never added to a session)
    stored: bool
    reader: Reader

    @property
    def items(self) -> list[ReadItem]:
        """The headlines this reader gets, in edition order, as read (editions/contents.py)."""
        wanted = self.reader.sections
        return [i for i in items_as_read(self.edition) if wanted is None or i.section_slug in wanted]


def reader_for(session: Session, pub: Publication, as_email: str | None = None,
               sections: str | None = None) -> Reader:
    """Everyone, a section choice ("a,b") or a subscriber of this publication."""
    if as_email and sections:
        raise InvalidInput("preview as a subscriber or for a choice of sections, not both")
    if sections:
        return _for_sections(pub, sections)
    if as_email:
        return _for_subscriber(session, pub, as_email)
    return Reader(None)


def _for_sections(pub: Publication, raw: str) -> Reader:
    wanted = [s for s in raw.replace(";", ",").replace(" ", ",").split(",") if s]
    known = [s.slug for s in pub.ordered_sections()]
    unknown = [s for s in wanted if s not in known]
    if unknown or not wanted:
        raise InvalidInput(f"unknown sections for {pub.slug}: {', '.join(unknown) or raw!r} "
                           f"(known: {', '.join(known)})")
    chosen = tuple(s for s in known if s in wanted)
    return Reader(chosen, label="sections " + ", ".join(chosen))


def _for_subscriber(session: Session, pub: Publication, email: str) -> Reader:
    from newsletter.subscribers.lifecycle import subscription, suppressions

    address = normalise_email(email)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == address))
    sub = subscription(session, subscriber.id, pub.id) if subscriber else None
    if sub is None:
        raise NotFound(f"{address} is not a subscriber of {pub.slug}")
    if subscriber.status != SubscriberStatus.ACTIVE:
        raise Conflict(f"{address} is {subscriber.status} by an admin: they get nothing")
    if sub.status != SubscriptionStatus.ACTIVE or suppressions(session, address, pub.id):
        raise Conflict(f"{address} is not receiving {pub.slug} ({sub.status}"
                       f"{', suppressed' if sub.status == SubscriptionStatus.ACTIVE else ''}): they get nothing")
    sections = tuple(sub.sections) if sub.sections else None
    return Reader(sections, one_line(subscriber.name or ""), address, address)


def edition_or_plan(session: Session, pub: Publication, day: date, now: datetime | None = None,
                    max_late_age: timedelta | None = None) -> tuple[Edition, bool]:
    """(the stored edition, True), or (a transient edition of what a build now would
    freeze, False). Adds nothing to the session."""
    existing = find_edition(session, pub.id, day)
    if existing is not None:
        return existing, True
    now = now or utcnow()
    plan = plan_edition(session, pub, day, now, max_late_age)
    transient = plan.edition(pub, day, now, public_id=TRANSIENT_ID, fanout_cursor=0, fanout_done=False)
    return transient, False


def preview(session: Session, pub: Publication, day: date, reader: Reader, now: datetime | None = None,
            max_late_age: timedelta | None = None) -> Preview:
    edition, stored = edition_or_plan(session, pub, day, now, max_late_age)
    return Preview(edition, stored, reader)
