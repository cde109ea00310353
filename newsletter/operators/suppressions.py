"""Staff acts on the suppression list: search, add (with a reason), remove (with a
reason). Role (staff/access.py), publication scope (staff/scope.py) and audit entry
(staff/audit.py) here; the list itself is subscribers/suppressions.py's."""
from __future__ import annotations

from sqlalchemy.orm import Session

from newsletter.errors import InvalidInput
from newsletter.lookups import get_or_404
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.staff.scope import check_acts, check_seen
from newsletter.subscribers import suppressions as suppression_list
from newsletter.subscribers.models import Suppression
from newsletter.subscribers.suppressions import NEEDS_OVERRIDE, Page, as_dict

__all__ = ["NEEDS_OVERRIDE", "Page", "as_dict"]


def search(session: Session, actor: Actor, secret: str, q: str = "", reason: str = "", publication: str = "",
           before: int | None = None, limit: int = 50) -> Page:
    require(actor, Permission.READ)
    return suppression_list.search(session, actor, secret, q, reason, publication, before, limit)


def add(session: Session, actor: Actor, secret: str, email: str, note: str, publication: str = "") -> Suppression:
    """Stop mail to an address (for one publication, or all with a role for every one)."""
    require(actor, Permission.SUPPRESSIONS)
    pub = suppression_list.publication(session, publication) if publication else None
    if pub is None and not actor.everywhere:
        raise InvalidInput("name the publication: your role holds for named publications only")
    if pub is not None:
        check_acts(actor, pub.id, pub.slug)
    with change(session, actor, Permission.SUPPRESSIONS, "suppression.add") as ch:
        # who may erase may know an address was erased; to anyone else it is just suppressed
        row = suppression_list.add(session, secret, email, note, pub, may_know_erased=actor.everywhere)
        ch.target, ch.detail = f"suppression:{row.id}", {"publication": pub.slug if pub else None, "note": row.note}
    return row


def remove(session: Session, actor: Actor, suppression_id: int, note: str, override: bool = False) -> None:
    """Lift a suppression, with the reason. Complaints and erasures only with `override`."""
    require(actor, Permission.SUPPRESSIONS)  # before any lookup: a refusal tells nothing
    row = get_or_404(session, Suppression, suppression_id, "suppression")
    if row.publication_id is not None:
        check_seen(actor, row.publication_id, "suppression", suppression_id)
    elif not actor.everywhere:
        raise InvalidInput("this suppression is for every publication; your role holds for named ones only")
    with change(session, actor, Permission.SUPPRESSIONS, "suppression.remove", f"suppression:{row.id}") as ch:
        ch.detail = suppression_list.remove(session, row, note, override)
