"""Following a counted link: where it leads, and what is counted.

A link token names an edition and a position (render/click_links.py); the address is
read from that edition's item, never from the request, so a link can only lead to a URL
that is in its edition, and a token for a position the edition does not have leads
nowhere (None: the web answers 404). That is the whole defence against an open
redirect, and it does not depend on anything a client sends.

What is counted is an aggregate: one more click for (edition, position, UTC day, kind),
the kind being `reader` or why it was taken for a scanner (tracking/scanners.py). The
section is kept with the count. A click is counted only for an edition that went out
(not a test send of one that has not started) of a publication that counts clicks now.
A reader's click joins their own history only as subscribers/click_history.py allows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.editions.contents import items_as_read
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.subscribers import click_history
from newsletter.tracking.click_models import OPEN_PIXEL, ClickCount
from newsletter.tracking.scanners import ClickKind
from newsletter.tracking.token_claims import ClickClaim, MessageClaim


def count(session: Session, edition_id: int, position: int, section_slug: str, now: datetime,
          kind: ClickKind) -> None:
    """One more, atomically (INSERT ... ON CONFLICT DO UPDATE on both databases)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ClickCount.__table__
    statement = dialect.insert(table).values(edition_id=edition_id, position=position, section_slug=section_slug,
                                             day=now.date(), kind=str(kind), count=1)
    session.execute(statement.on_conflict_do_update(index_elements=["edition_id", "position", "day", "kind"],
                                                    set_={"count": table.c.count + 1}))


def _counting(session: Session, edition_id: int) -> tuple[Edition, Publication] | None:
    edition = session.get(Edition, edition_id)
    if edition is None:
        return None
    publication = session.get(Publication, edition.publication_id)
    return edition, publication


def follow(session: Session, claim: ClickClaim, message: MessageClaim | None, kind: ClickKind,
           now: datetime) -> str | None:
    """The item's URL, after counting the click; None when the edition has no such link."""
    if claim.position == OPEN_PIXEL:
        return None
    found = _counting(session, claim.edition_id)
    # The item as read (editions/contents.py): an added story is there, a taken-down one is not.
    item = next((i for i in items_as_read(found[0]) if i.position == claim.position), None) if found else None
    if item is None:
        return None
    edition, publication = found
    if publication.click_stats and edition.started_at is not None:
        count(session, edition.id, item.position, item.section_slug, now, kind)
        if kind == ClickKind.READER and message is not None and message.subscriber_id \
                and message.edition_id == edition.id:
            click_history.record(session, publication, message.subscriber_id, message.key, edition.id, item, now)
    return item.url


def opened(session: Session, claim: ClickClaim, kind: ClickKind, now: datetime) -> bool:
    """An open pixel's load: counted as an open, or as the scanner it was taken for."""
    if claim.position != OPEN_PIXEL:
        return False
    found = _counting(session, claim.edition_id)
    if found is None:
        return False
    edition, publication = found
    if publication.open_pixel and edition.started_at is not None:
        count(session, edition.id, OPEN_PIXEL, "", now, ClickKind.OPEN if kind == ClickKind.READER else kind)
    return True
