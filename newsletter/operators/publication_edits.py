"""Publications, sections and feeds changed by staff (console and API), role-checked and
audited; publications/editing.py validates and writes them as a load would.

Who may: the admin role. An admin for named publications edits those (and takes them
over or hands them back); what reaches beyond them (a new publication, sections and
feeds, which any publication may use) needs the admin role for every publication.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from newsletter.errors import NotFound
from newsletter.publications import editing
from newsletter.publications.file_form import feed_entry, publication_entry
from newsletter.publications.schedule import next_send_times
from newsletter.publications.spec import schedule_problem, zone_problem
from newsletter.staff.access import Actor, Permission, require, require_everywhere
from newsletter.staff.audit import change


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _theirs(session: Session, actor: Actor, slug: str):
    pub = editing.find(session, slug)
    if not actor.sees(pub.id):
        raise NotFound(f"no publication {slug!r}")
    return pub


def editable(session: Session, actor: Actor, slug: str) -> tuple[dict, str]:
    """The publication's file-form entry and who manages it (the form to edit)."""
    require(actor, Permission.READ)
    pub = _theirs(session, actor, slug)
    return publication_entry(pub), pub.managed_by


def create_publication(session: Session, actor: Actor, entry: dict, base: Path) -> str:
    require_everywhere(actor, Permission.PUBLICATIONS, "a new publication")
    with change(session, actor, Permission.PUBLICATIONS, "publication.create") as ch:
        pub = editing.save_publication(session, entry, base)
        ch.target, ch.detail = f"publication:{pub.id}", {"slug": pub.slug}
    return pub.slug


def update_publication(session: Session, actor: Actor, slug: str, entry: dict, base: Path) -> list[str]:
    """Returns the settings that changed (none: nothing recorded)."""
    require(actor, Permission.PUBLICATIONS)
    pub = _theirs(session, actor, slug)
    with change(session, actor, Permission.PUBLICATIONS, "publication.update", f"publication:{pub.id}") as ch:
        before = publication_entry(pub)
        editing.save_publication(session, entry, base, slug)
        ch.detail = {"slug": slug, "changed": _changed(before, publication_entry(pub))}
        ch.nothing_changed = not ch.detail["changed"]
    return ch.detail["changed"]


def set_manager(session: Session, actor: Actor, slug: str, manager: str) -> bool:
    """Take a publication over in the console (CONSOLE) or hand it back to the file (FILE)."""
    require(actor, Permission.PUBLICATIONS)
    pub = _theirs(session, actor, slug)
    action = "publication.take_over" if manager == editing.CONSOLE else "publication.hand_back"
    with change(session, actor, Permission.PUBLICATIONS, action, f"publication:{pub.id}") as ch:
        ch.nothing_changed = not editing.set_manager(pub, manager)
        ch.detail = {"slug": slug}
    return not ch.nothing_changed


def save_section(session: Session, actor: Actor, slug: str, name: str) -> None:
    require_everywhere(actor, Permission.PUBLICATIONS, "a section")
    with change(session, actor, Permission.PUBLICATIONS, "section.save", f"section:{slug[:64]}") as ch:
        section = editing.save_section(session, slug, name)
        ch.detail = {"slug": section.slug, "name": section.name}


def editable_feed(session: Session, actor: Actor, name: str) -> tuple[dict, str]:
    require_everywhere(actor, Permission.PUBLICATIONS, "a feed")
    feed = editing.find_feed(session, name)
    return feed_entry(feed), feed.managed_by


def save_feed(session: Session, actor: Actor, entry: dict, name: str = "") -> str:
    """Create (no `name`) or update a console-managed feed."""
    require_everywhere(actor, Permission.PUBLICATIONS, "a feed")
    with change(session, actor, Permission.PUBLICATIONS, "feed.update" if name else "feed.create") as ch:
        before = feed_entry(editing.find_feed(session, name)) if name else {}
        feed = editing.save_feed(session, entry, name)
        ch.target, ch.detail = f"feed:{feed.name}", {"changed": _changed(before, feed_entry(feed))}
        ch.nothing_changed = not ch.detail["changed"]
    return feed.name


def set_feed_manager(session: Session, actor: Actor, name: str, manager: str) -> bool:
    require_everywhere(actor, Permission.PUBLICATIONS, "a feed")
    feed = editing.find_feed(session, name)
    action = "feed.take_over" if manager == editing.CONSOLE else "feed.hand_back"
    with change(session, actor, Permission.PUBLICATIONS, action, f"feed:{name}") as ch:
        ch.nothing_changed = not editing.set_manager(feed, manager)
    return not ch.nothing_changed


def schedule_preview(actor: Actor, cron: str, zone: str, now: datetime, count: int = 5) -> tuple[list[datetime], str]:
    """The next `count` sends of a schedule as typed, or what is wrong with it (the file's words)."""
    require(actor, Permission.READ)
    problem = schedule_problem(cron) or zone_problem(zone)
    if problem:
        return [], problem
    return next_send_times(cron, zone, now, count), ""
