"""Create or update sections and publications from config/publications.toml.

The whole file is validated before anything is written (publications/spec.py), and
every problem is reported: a mistake in the file changes nothing in the database. A
publication that is no longer in the file is deactivated, never deleted: its editions,
subscribers and history stay, and putting it back in the file reactivates it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.ingest.feeds import sync_feeds
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication, PublicationSection
from newsletter.publications.problems import PublicationsFileError
from newsletter.publications.reader_settings import apply_reader_settings
from newsletter.publications.spec import (
    DkimSpec,
    PublicationSpec,
    SectionSpec,
    read_publications_file,
)
from newsletter.store.models import Section

__all__ = ["PublicationsFileError", "LoadResult", "apply_publications_file", "load_publications",
           "apply_publication", "apply_sections"]


def _set_dkim(pub: Publication, dkim: DkimSpec | None, base: Path) -> None:
    pub.dkim_domain = dkim.domain if dkim else ""
    pub.dkim_selector = dkim.selector if dkim else ""
    pub.dkim_key_file = str((base / dkim.key_file).absolute()) if dkim and dkim.key_file else ""
    pub.dkim_key_env = dkim.key_env if dkim else ""
    pub.dkim_algorithm = dkim.algorithm if dkim else "rsa-sha256"


def apply_sections(session: Session, specs: list[SectionSpec]) -> dict[str, Section]:
    """Sections are created or renamed, never deleted; returns every section by slug."""
    sections = {s.slug: s for s in session.scalars(select(Section))}
    for s in specs:
        if s.slug in sections:
            sections[s.slug].name = s.name
        else:
            sections[s.slug] = Section(slug=s.slug, name=s.name)
            session.add(sections[s.slug])
    session.flush()
    return sections


def apply_publication(session: Session, p: PublicationSpec, sections: dict[str, Section], base: Path,
                      pub: Publication | None = None) -> Publication:
    """One validated entry onto its row (a new row when `pub` is None). `base`: the folder
    a relative DKIM key_file is read from."""
    if pub is None:
        pub = Publication(slug=p.slug)
        session.add(pub)
    fields = p.model_dump(exclude={"sections", "slug", "schedule", "dkim", "logo"})
    for key, value in fields.items():
        setattr(pub, key, value)
    _set_dkim(pub, p.dkim, base)
    apply_reader_settings(pub, p)
    pub.schedule_cron = p.schedule
    pub.sections.clear()
    session.flush()  # old rows go before new ones arrive: (publication, section) is unique
    pub.sections = [
        PublicationSection(section_id=sections[slug].id, position=i)
        for i, slug in enumerate(p.sections)
    ]
    return pub


CONSOLE_SKIPPED = ("managed in the console: the file's entry is left unloaded (in the console, "
                   "'Hand back to the file' gives it back to the file)")


@dataclass
class LoadResult:
    loaded: list[Publication] = field(default_factory=list)
    deactivated: list[Publication] = field(default_factory=list)  # active before, no longer in the file
    feeds: list[str] = field(default_factory=list)  # declared in the file
    feeds_stopped: list[str] = field(default_factory=list)  # active before, no longer in the file
    skipped: list[str] = field(default_factory=list)  # entries left alone, one line each: why


def load_publications(session: Session, path: Path) -> list[Publication]:
    return apply_publications_file(session, path).loaded


def apply_publications_file(session: Session, path: Path) -> LoadResult:
    """The file's publications and feeds onto the database, except those managed in the
    console: their entries are skipped, each with a line saying so, and they are never
    deactivated or stopped for being absent from the file (publications/managed.py)."""
    spec = read_publications_file(path)
    sections = apply_sections(session, spec.sections)
    result = LoadResult()
    for p in spec.publications:
        pub = session.scalar(select(Publication).where(Publication.slug == p.slug))
        if pub is not None and pub.managed_by == "console":
            result.skipped.append(f"publication {p.slug!r}: {CONSOLE_SKIPPED}")
            continue
        result.loaded.append(apply_publication(session, p, sections, path.parent, pub))
    in_file = {p.slug for p in spec.publications}
    for pub in session.scalars(select(Publication).where(Publication.active.is_(True),
                                                         Publication.managed_by != "console")):
        if pub.slug not in in_file:
            pub.active = False  # the scheduler leaves it be; nothing of it is deleted
            result.deactivated.append(pub)
    console_feeds = set(session.scalars(select(Feed.name).where(Feed.managed_by == "console")))
    result.skipped += [f"feed {f.name!r}: {CONSOLE_SKIPPED}" for f in spec.feeds if f.name in console_feeds]
    file_feeds = [f for f in spec.feeds if f.name not in console_feeds]
    result.feeds = [f.name for f in file_feeds]
    result.feeds_stopped = sync_feeds(session, file_feeds)
    session.flush()
    return result
