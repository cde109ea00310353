"""The audit log: every change made by staff, recorded in the transaction of the change.

`change` is the one way a staff action changes anything: it checks the actor's role
first, lets the action run, and records one entry (who, when, from where, what) only
if the action succeeded; if it fails, the transaction rolls back with nothing recorded
and nothing changed. Entries name subscribers by id and never carry an address.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import InvalidInput
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.models import AuditEntry
from newsletter.text import has_controls


@dataclass
class Change:
    action: str
    target: str = ""
    detail: dict = field(default_factory=dict)
    nothing_changed: bool = False  # set by an idempotent act that found it done: nothing to record


def record(session: Session, actor: Actor, action: str, target: str = "", detail: dict | None = None) -> None:
    session.add(AuditEntry(created_at=utcnow(), staff_id=actor.staff_id, actor=actor.label[:320], via=actor.via,
                           address=(actor.address or "")[:64], action=action, target=target[:200],
                           detail=json.dumps(detail or {}, sort_keys=True, default=str)))
    session.flush()


@contextmanager
def change(session: Session, actor: Actor, permission: Permission, action: str, target: str = "") -> Iterator[Change]:
    """with change(session, actor, Permission.X, "thing.verb", "thing:1") as ch: ... ch.detail[...] = ..."""
    require(actor, permission)
    ch = Change(action, target)
    yield ch
    if not ch.nothing_changed:
        record(session, actor, ch.action, ch.target, ch.detail)


def entries(session: Session, actor: Actor, action: str = "", target: str = "", staff_id: int | None = None,
            before: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """Newest first, keyset-paged by id (`before`: the last id of the previous page)."""
    require(actor, Permission.AUDIT)
    if has_controls(action) or has_controls(target):
        raise InvalidInput("the filter holds control characters")
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    if action:
        q = q.where(AuditEntry.action.startswith(action, autoescape=True))
    if target:
        q = q.where(AuditEntry.target == target)
    if staff_id is not None:
        q = q.where(AuditEntry.staff_id == staff_id)
    if before is not None:
        q = q.where(AuditEntry.id < before)
    return list(session.scalars(q))


def as_dict(e: AuditEntry) -> dict:
    return {"id": e.id, "at": e.created_at.isoformat(), "staff_id": e.staff_id, "actor": e.actor, "via": e.via,
            "address": e.address, "action": e.action, "target": e.target, "detail": json.loads(e.detail or "{}")}


COLUMNS = ["id", "at", "staff_id", "actor", "via", "address", "action", "target", "detail"]


def export_rows(session: Session, actor: Actor, chunk: int = 5000) -> Iterator[list[str]]:
    """The whole log, oldest first, in chunks (constant memory); a header row first."""
    require(actor, Permission.AUDIT)
    yield COLUMNS
    after = 0
    while True:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.id > after)
                               .order_by(AuditEntry.id).limit(chunk)).all()
        if not rows:
            return
        for e in rows:
            yield [str(e.id), e.created_at.isoformat(), "" if e.staff_id is None else str(e.staff_id), e.actor, e.via,
                   e.address, e.action, e.target, e.detail]
        after = rows[-1].id
        session.expunge_all()
