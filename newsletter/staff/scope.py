"""Per-publication roles: which publications an account's role holds for, and the checks
and filters every list, search, export, figure and act uses, so that a desk editor of
one publication neither sees nor touches another's subscribers, editions, imports,
suppressions or figures.

An account with no rows in staff_publications acts for every publication. Reads of
something outside the actor's publications answer as for something that does not exist
(NotFound, or absent from a list); acts on a publication outside them are refused
(Forbidden), as its name was given by the caller.
"""
from __future__ import annotations

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from newsletter.errors import Forbidden, NotFound
from newsletter.staff.access import Actor
from newsletter.staff.models import StaffPublication


def publications_of(session: Session, staff_id: int | None) -> frozenset[int] | None:
    """The ids an account's role is limited to; None when it holds for every publication."""
    if staff_id is None:
        return None
    ids = frozenset(session.scalars(select(StaffPublication.publication_id)
                                    .where(StaffPublication.staff_id == staff_id)))
    return ids or None


def visible(actor: Actor, column):
    """A WHERE clause: rows whose publication `column` the actor's role holds for."""
    if actor.everywhere:
        return true()
    return column.in_(sorted(actor.publications)) if actor.publications else false()


def check_seen(actor: Actor, publication_id: int | None, what: str, ident) -> None:
    """NotFound, worded as for a row that does not exist, outside the actor's publications."""
    if not actor.sees(publication_id):
        raise NotFound(f"no {what} {ident}")


def check_acts(actor: Actor, publication_id: int | None, slug: str = "") -> None:
    """Forbidden for an act on a publication outside the actor's ones."""
    if not actor.sees(publication_id):
        named = f"{slug}: " if slug else ""
        raise Forbidden(f"{named}{actor.label} acts for named publications only, not this one")
