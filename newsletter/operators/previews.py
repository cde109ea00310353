"""Previews and test sends for staff: what a reader would get (everyone, a choice of
sections, or one subscriber as they would get it), for a stored edition or for a date
not built yet; and one test copy of it sent to someone.

The same functions serve the console, the API and the command line (`preview`,
`test-send`), with one date rule: no date is today in the publication's zone, and a
date must lie between FIRST_DAY and LAST_DAY. Previews need the operator role
(the role table: previews and test sends are operators' work) and write nothing; a
test send is audited, without the addresses involved.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.editions.models import Edition
from newsletter.editions.preview import Preview, preview, reader_for
from newsletter.errors import InvalidInput, NotFound
from newsletter.lookups import get_or_404
from newsletter.mail.proof import Proof, send_proof
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.render.preview import RenderedPreview, render_preview
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.staff.scope import check_seen
from newsletter.transport.backends import Backend

# Dates a preview may ask for: the schedule's arithmetic is only meaningful in between.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Target:
    """Which edition: a stored one by id, or a publication's edition of a date (built or
    not; no date: today in the publication's zone). Who reads it: `as_email` or
    `sections` ("a,b"), or neither for every section."""

    edition_id: int | None = None
    publication: str = ""
    day: date | None = None
    as_email: str = ""
    sections: str = ""


@dataclass
class Shown:
    preview: Preview
    publication: Publication
    rendered: RenderedPreview | None  # None: this reader gets no headline


def _publication(session: Session, slug: str) -> Publication:
    pub = session.scalar(select(Publication).where(Publication.slug == slug)) if slug else None
    if pub is None:
        raise NotFound(f"no publication {slug!r}")
    return pub


def show(session: Session, actor: Actor, settings: Settings, target: Target) -> Shown:
    """The preview and its rendering; changes nothing (a date not built yet is planned in
    memory and forgotten)."""
    require(actor, Permission.EDITIONS)
    if target.edition_id is not None:
        edition = get_or_404(session, Edition, target.edition_id, "edition")
        check_seen(actor, edition.publication_id, "edition", target.edition_id)
        pub = session.get(Publication, edition.publication_id)
        shown = Preview(edition, True, reader_for(session, pub, target.as_email or None, target.sections or None))
    else:
        pub = _publication(session, target.publication)
        check_seen(actor, pub.id, "publication", repr(pub.slug))
        day = target.day or local_date(pub.timezone, utcnow())
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(f"a preview date must be between {FIRST_DAY} and {LAST_DAY}")
        reader = reader_for(session, pub, target.as_email or None, target.sections or None)
        shown = preview(session, pub, day, reader)
    rendered = render_preview(settings, shown, pub) if shown.items else None
    return Shown(shown, pub, rendered)


def as_dict(shown: Shown) -> dict:
    ed, reader = shown.preview.edition, shown.preview.reader
    r = shown.rendered
    return {"publication": shown.publication.slug, "date": ed.date.isoformat(),
            "edition_id": ed.id if shown.preview.stored else None, "stored": shown.preview.stored,
            "status": ed.status, "reader": reader.label, "sections": list(reader.sections or []) or None,
            "headlines": len(shown.preview.items), "subject": r.subject if r else None,
            "html": r.html if r else None, "text": r.text if r else None}


def test_send(session: Session, actor: Actor, settings: Settings, backend: Backend, target: Target,
              to: str) -> Proof:
    """One test copy ("[TEST] ...", X-Newsletter-Test, inert links) to `to`; not a
    delivery. Refused (Conflict) for a suppressed or disabled recipient and for a
    reader who gets no headline."""
    return send_shown(session, actor, settings, backend, show(session, actor, settings, target), to)


def send_shown(session: Session, actor: Actor, settings: Settings, backend: Backend, shown: Shown,
               to: str) -> Proof:
    """`test_send` of a preview `show` gave (the command line shows it, then sends it)."""
    require(actor, Permission.EDITIONS)
    edition = shown.preview.edition
    where = f"edition:{edition.id}" if shown.preview.stored else f"publication:{shown.publication.slug}"
    with change(session, actor, Permission.EDITIONS, "edition.test_send", where) as ch:
        proof = send_proof(session, settings, backend, shown.preview, shown.publication, to)
        ch.detail = {"date": edition.date.isoformat(), "headlines": proof.headline_count,
                     "reader": "a subscriber" if shown.preview.reader.email else shown.preview.reader.label}
    return proof
