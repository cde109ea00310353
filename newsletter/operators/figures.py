"""Figures for staff: per day, per edition, and what readers did (opens, clicks by
section and headline) per publication and per edition. Role and publication scope here
(a publication or edition outside the actor's ones answers as one that does not
exist); the counting is reports/figures.py's and reports/reader_figures.py's."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.editions.models import Edition
from newsletter.errors import NotFound
from newsletter.lookups import with_publication_slug
from newsletter.publications.models import Publication
from newsletter.reports import figures, reader_figures
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.scope import check_seen


def per_day(session: Session, actor: Actor, start: date, end: date, publication: str = "") -> list[dict]:
    """One entry per UTC day from `start` to `end` inclusive, of the actor's publications."""
    require(actor, Permission.READ)
    return figures.per_day(session, actor, start, end, publication)


def per_edition(session: Session, actor: Actor, edition_id: int) -> dict:
    require(actor, Permission.READ)
    _seen_edition(session, actor, edition_id)
    return figures.per_edition(session, edition_id)


def publication_figures(session: Session, actor: Actor, slug: str,
                        last: int = reader_figures.LAST_EDITIONS) -> dict:
    require(actor, Permission.READ)
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None or not actor.sees(pub.id):
        raise NotFound(f"no publication {slug!r}")
    return reader_figures.publication_figures(session, pub, last)


def edition_figures(session: Session, actor: Actor, edition_id: int) -> dict:
    require(actor, Permission.READ)
    _seen_edition(session, actor, edition_id)
    return reader_figures.edition_figures(session, edition_id)


def _seen_edition(session: Session, actor: Actor, edition_id: int) -> None:
    edition, _ = with_publication_slug(session, Edition, edition_id, "edition")
    check_seen(actor, edition.publication_id, "edition", edition_id)
