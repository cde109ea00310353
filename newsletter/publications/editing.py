"""Publications, sections and feeds changed in the console (or the API), judged by the
file's own validation (spec.py) and written by the file's own code (load.py), so that what the
console accepts is exactly what `publications load` would accept in the file.

An edit is an entry in the file's form (file_form.py) checked as a small file: every
section the database holds (with the new or renamed one), the one publication or feed.
Who manages what (`managed_by`): a publication or feed is the file's or the console's.
A load skips the console's (and says so); the console changes only its own, and takes
one from the file only when asked to (`take_over`); `hand_back` gives it back, and the
next load writes the file's entry over it (or deactivates it when the file has none).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.ingest.feeds import apply_feed
from newsletter.ingest.models import Feed
from newsletter.publications.file_form import section_entry
from newsletter.publications.load import apply_publication, apply_sections
from newsletter.publications.models import Publication
from newsletter.publications.spec import PublicationsFile, validate_data
from newsletter.store.models import Section

FILE, CONSOLE = "file", "console"


class Problems(InvalidInput):
    """The entry would not load from the file either; `problems`: one line each. Nothing changed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems, nothing saved: " + "; ".join(problems))


def check(session: Session, publications: list[dict] = (), sections: list[dict] = (),
          feeds: list[dict] = ()) -> PublicationsFile:
    """Entries validated as a file holding them and the database's sections (spec.py:
    validate_data). Problems: raises Problems."""
    given = {s.get("slug") for s in sections if isinstance(s, dict)}
    known = [section_entry(s) for s in session.scalars(select(Section).order_by(Section.slug))
             if s.slug not in given]
    spec, problems = validate_data({"sections": known + list(sections), "publications": list(publications),
                                    "feeds": list(feeds)})
    if problems:
        raise Problems(problems)
    return spec


def find(session: Session, slug: str) -> Publication:
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None:
        raise NotFound(f"no publication {slug!r}")
    return pub


def find_feed(session: Session, name: str) -> Feed:
    feed = session.scalar(select(Feed).where(Feed.name == name))
    if feed is None:
        raise NotFound(f"no feed {name!r}")
    return feed


def _console_owns(thing, what: str) -> None:
    if thing.managed_by != CONSOLE:
        raise Conflict(f"{what} is managed by the publications file: take it over in the console first "
                       "(the next `publications load` then leaves it alone), or change the file")


def save_publication(session: Session, entry: dict, base: Path, slug: str = "") -> Publication:
    """Create (no `slug`) or update the publication `slug` from a file-form entry; `base`:
    the folder a relative DKIM key_file is read from (the publications file's, as in a load)."""
    if slug:
        pub = find(session, slug)
        _console_owns(pub, f"publication {slug!r}")
        entry = {**entry, "slug": slug}  # the slug names things that are never renamed (links, List-Id)
    else:
        pub = None
        if session.scalar(select(Publication.id).where(Publication.slug == entry.get("slug"))) is not None:
            raise Problems([f"publication {entry.get('slug')!r} exists already: edit it instead"])
    spec = check(session, publications=[entry])
    sections = {s.slug: s for s in session.scalars(select(Section))}
    pub = apply_publication(session, spec.publications[0], sections, base, pub)
    pub.managed_by = CONSOLE
    session.flush()
    return pub


def save_section(session: Session, slug: str, name: str) -> Section:
    """Add a section, or rename one (a section declared in the file takes the file's name
    again at the next load: sections are shared, never owned)."""
    spec = check(session, sections=[{"slug": slug, "name": name}])
    return apply_sections(session, [s for s in spec.sections if s.slug == slug])[slug]


def save_feed(session: Session, entry: dict, name: str = "") -> Feed:
    """Create (no `name`) or update the feed `name` from a file-form entry."""
    if name:
        feed = find_feed(session, name)
        _console_owns(feed, f"feed {name!r}")
        entry = {**entry, "name": name}
    else:
        feed = None
        if session.scalar(select(Feed.id).where(Feed.name == entry.get("name"))) is not None:
            raise Problems([f"feed {entry.get('name')!r} exists already: edit it instead"])
    spec = check(session, feeds=[entry])
    feed = apply_feed(session, feed, spec.feeds[0])
    feed.managed_by = CONSOLE
    session.flush()
    return feed


def set_manager(thing, manager: str) -> bool:
    """take_over (CONSOLE) or hand_back (FILE); False when it was so already."""
    if thing.managed_by == manager:
        return False
    thing.managed_by = manager
    return True

