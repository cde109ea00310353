"""What operators do to an edition before it goes out, or instead: rebuild, hold,
release, and replace a cancelled one. The command line, the web console and the API
call these; each act is recorded in the edition's history (editions/history.py).

- Rebuild: only before sending starts (built, held or empty). The selection is run
  again over the same window (same cut-off), the edition's own items set aside; the
  items it held go to its history. A held edition stays held; no headlines: empty.
- Hold / release: a held edition is never started, by the scheduler or by `send`
  (delivery starts only a built edition); release makes it built again.
- Replace: a cancelled edition's date can be sent again only by an explicit act with a
  reason (`send --force --reason`). One *current* edition per (publication, date) is
  the unique rule, so the cancelled one is marked superseded (which frees its date) and
  the new edition points back at it; both keep their deliveries, events and history.
  A sequence number per date would have done too, but would make every lookup of "the
  edition of that date" pick the highest; superseded editions simply drop out of them.

Each change starts with a conditional UPDATE of the edition's row on the state it must
be in: it locks the row (PostgreSQL) until the caller commits, so a delivery start or a
second operator waits and then sees the result, or the change is refused (Conflict).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions import lifecycle
from newsletter.editions.build import build_edition, find_edition, lock_publication, previous_cut_off, select_items
from newsletter.editions.diff import Diff, diff_items
from newsletter.editions.history import Act, EditionHistory, item_record, record
from newsletter.editions.models import Edition, EditionStatus
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.publications.models import Publication
from newsletter.text import clean_reason

E = EditionStatus


@dataclass
class Rebuilt:
    edition: Edition
    before: list[dict]
    diff: Diff


def get_edition(session: Session, edition_id: int) -> Edition:
    edition = session.get(Edition, edition_id)
    if edition is None:
        raise NotFound(f"no edition {edition_id}")
    return edition


def rebuild(session: Session, edition_id: int, now: datetime | None = None,
            max_late_age: timedelta | None = None) -> Rebuilt:
    now = now or utcnow()
    edition = get_edition(session, edition_id)
    claimed = session.execute(update(Edition).where(
        Edition.id == edition_id, Edition.status.in_(lifecycle.NOT_STARTED), Edition.started_at.is_(None),
        Edition.superseded_at.is_(None)).values(built_at=now)).rowcount
    session.refresh(edition)
    if not claimed:
        raise Conflict(f"edition {edition_id} is {edition.status}: only an edition that has not started "
                       "sending can be rebuilt")
    pub = session.get(Publication, edition.publication_id)
    before = [item_record(i) for i in edition.items]
    late = previous_cut_off(session, pub.id, edition.date) is not None
    items = select_items(session, pub, edition.window_start, edition.window_end, late=late,
                         max_late_age=max_late_age, other_than=edition.id)
    edition.items = items
    session.flush()
    status = E(edition.status)
    target = E.EMPTY if not items else (_back_from_empty(session, edition_id) if status == E.EMPTY else status)
    if target != status:
        lifecycle.move(session.connection(), edition_id, target)
        session.expire(edition, ["status"])
    record(session, edition_id, Act.REBUILT, detail={"items": before, "status": str(status)}, at=now)
    session.flush()
    return Rebuilt(edition, before, diff_items(before, edition.items))


def _back_from_empty(session: Session, edition_id: int) -> EditionStatus:
    """An empty edition that gets headlines again: held if an operator held it before it
    went empty (the hold is theirs to lift, not a rebuild's), built otherwise."""
    last = session.scalar(select(EditionHistory.act).where(
        EditionHistory.edition_id == edition_id, EditionHistory.act.in_((Act.HELD, Act.RELEASED)))
        .order_by(EditionHistory.id.desc()).limit(1))
    return E.HELD if last == Act.HELD else E.BUILT


def hold(session: Session, edition_id: int, reason: str = "") -> EditionStatus:
    """Idempotent: holding a held edition changes and records nothing."""
    reason = clean_reason(reason)  # refused before anything changes
    edition = get_edition(session, edition_id)
    if lifecycle.status_of(session.connection(), edition_id) == E.HELD:
        return E.HELD
    status = lifecycle.hold(session.connection(), edition_id)
    session.expire(edition, ["status"])  # changed underneath the ORM object
    record(session, edition_id, Act.HELD, reason)
    session.flush()
    return status


def release(session: Session, edition_id: int, reason: str = "") -> EditionStatus:
    reason = clean_reason(reason)
    edition = get_edition(session, edition_id)
    current = lifecycle.status_of(session.connection(), edition_id)
    if current != E.HELD:
        raise Conflict(f"edition {edition_id} is {current}: only a held edition can be released")
    status = lifecycle.release(session.connection(), edition_id)
    session.expire(edition, ["status"])
    record(session, edition_id, Act.RELEASED, reason)
    session.flush()
    return status


def replace_cancelled(session: Session, pub: Publication, day: date, reason: str,
                      now: datetime | None = None) -> tuple[Edition, Edition]:
    """(the cancelled edition, its replacement, built now). Needs a reason."""
    reason = clean_reason(reason)
    if not reason:
        raise InvalidInput("replacing a cancelled edition needs a reason (--reason \"...\")")
    if not pub.active:
        raise Conflict(f"{pub.slug} is not active (it is not in the publications file): nothing is built or sent")
    now = now or utcnow()
    old = find_edition(session, pub.id, day)
    if old is None:
        raise Conflict(f"{pub.slug} has no edition for {day} to replace: send it without --force")
    if old.status != E.CANCELLED:
        raise Conflict(f"edition {old.id} of {pub.slug} for {day} is {old.status}: --force replaces only a "
                       "cancelled edition (cancel it first)")
    lock_publication(session, pub.id)
    freed = session.execute(update(Edition).where(
        Edition.id == old.id, Edition.status == E.CANCELLED, Edition.superseded_at.is_(None))
        .values(superseded_at=now)).rowcount
    if not freed:
        raise Conflict(f"edition {old.id} was replaced meanwhile")
    session.expire(old)
    new, _ = build_edition(session, pub, day, now, replaces=old.id)
    record(session, old.id, Act.SUPERSEDED, reason, {"by": new.id}, at=now)
    record(session, new.id, Act.REPLACES, reason, {"replaces": old.id}, at=now)
    session.flush()
    return old, new
