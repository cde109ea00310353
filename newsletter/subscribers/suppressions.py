"""The suppression list as admins see it: list, search, add (with a reason), remove (with
a reason). An erased person's suppression holds no address, only its keyed hash
(address_hash.py): a search by the whole address finds it only for those who may erase
(an admin for every publication); for anyone else an erased address answers as any
address nobody ever suppressed. A role for named publications sees and changes their
suppressions and sees those of every publication. The role, the scope and the audit
entry of a change are operators/suppressions.py's, which calls these."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from newsletter.addresses import InvalidAddress, normalise_email
from newsletter.db import utcnow
from newsletter.errors import Conflict, InvalidInput
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor, Permission
from newsletter.staff.scope import visible
from newsletter.subscribers.address_hash import address_hash
from newsletter.subscribers.lifecycle import erased
from newsletter.subscribers.models import Suppression, SuppressionReason
from newsletter.text import clean_field, has_controls

# Removing these needs an explicit override: a complaint is the person's own "never again"
# and an erasure was asked for by the person.
NEEDS_OVERRIDE = frozenset({SuppressionReason.COMPLAINT, SuppressionReason.ERASED})


def as_dict(s: Suppression, publication_slug: str | None = None) -> dict:
    return {"id": s.id, "email": s.email or None, "erased": s.reason == SuppressionReason.ERASED,
            "email_hash": s.email_hash[:12] if s.email_hash else None, "publication": publication_slug,
            "reason": s.reason, "note": s.note, "created_at": s.created_at.isoformat()}


@dataclass
class Page:
    items: list[dict]
    next_cursor: int | None


def _publication(session: Session, slug: str) -> Publication:
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None:
        raise InvalidInput(f"no publication {slug!r}")
    return pub


def search(session: Session, actor: Actor, secret: str, q: str = "", reason: str = "", publication: str = "",
           before: int | None = None, limit: int = 50) -> Page:
    """Newest first, within the actor's publications. `q`: an address prefix; a whole
    address also finds its erased row (for who may erase)."""
    query = (select(Suppression, Publication.slug).outerjoin(Publication, Publication.id == Suppression.publication_id)
             .where(or_(Suppression.publication_id.is_(None), visible(actor, Suppression.publication_id)))
             .order_by(Suppression.id.desc()).limit(max(1, min(limit, 500))))
    q = (q or "").strip().lower()
    if has_controls(q):
        raise InvalidInput("the search text holds control characters")
    if q:
        match = Suppression.email.startswith(q, autoescape=True)
        # Always hashed, used only with erase rights: the same work, so the same time, for all.
        hashed = address_hash(secret, q) if "@" in q else ""
        if hashed and actor.can(Permission.SUBSCRIBERS) and actor.everywhere:
            match = or_(match, and_(Suppression.email_hash == hashed, Suppression.email_hash != ""))
        query = query.where(match)
    if reason:
        try:
            query = query.where(Suppression.reason == SuppressionReason(reason))
        except ValueError:
            raise InvalidInput(f"unknown reason {reason!r} ({', '.join(r.value for r in SuppressionReason)})") from None
    if publication:
        pub = _publication(session, publication)
        if not actor.sees(pub.id):
            raise InvalidInput(f"no publication {publication!r}")
        query = query.where(Suppression.publication_id == pub.id)
    if before is not None:
        query = query.where(Suppression.id < before)
    rows = session.execute(query).all()
    items = [as_dict(s, slug) for s, slug in rows]
    return Page(items, rows[-1][0].id if len(rows) == limit else None)


def publication(session: Session, slug: str) -> Publication:
    return _publication(session, slug)


def add(session: Session, secret: str, email: str, note: str, pub: Publication | None,
        may_know_erased: bool) -> Suppression:
    """Stop mail to an address (for one publication or all), with the admin's reason.
    `may_know_erased`: who may erase is told an address was erased; anyone else is told
    it is suppressed."""
    try:
        email = normalise_email(email)
    except InvalidAddress as exc:
        raise InvalidInput(str(exc)) from None
    note = clean_note(note, "give the reason for the suppression")
    if erased(session, secret, email) is not None:
        if may_know_erased:
            raise Conflict("this address was erased at its owner's request; it is suppressed already")
        raise Conflict(f"{email} is already suppressed")
    scope = Suppression.publication_id.is_(None) if pub is None else Suppression.publication_id == pub.id
    if session.scalar(select(Suppression.id).where(Suppression.email == email, scope)) is not None:
        raise Conflict(f"{email} is already suppressed" + (f" for {pub.slug}" if pub else ""))
    row = Suppression(email=email, publication_id=pub.id if pub else None, reason=SuppressionReason.ADMIN,
                      note=note, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def clean_note(note: str, missing: str) -> str:
    note = clean_field(note, "reason", 500)
    if not note:
        raise InvalidInput(missing)
    return note


def remove(session: Session, row: Suppression, note: str, override: bool = False) -> dict:
    """Lift a suppression, with the reason (complaints and erasures only with `override`);
    what the audit entry says."""
    note = clean_note(note, "give the reason for lifting the suppression")
    if row.reason in NEEDS_OVERRIDE and not override:
        raise Conflict(f"this suppression is for a {row.reason.replace('_', ' ')}: lifting it needs an "
                       "explicit override (the person must have asked for mail again)")
    detail = {"reason": row.reason, "publication_id": row.publication_id, "note": note, "override": bool(override)}
    session.delete(row)
    session.flush()
    return detail
