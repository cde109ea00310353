"""An edition's items as its readers get them: the selection (the items build.py froze)
with the editors' changes (edition_edits) applied on top, by this one function.

Every reader of an edition's items goes through `items_as_read`: the render (and so the
email, previews, test sends), the public archive and its feed, the "view in browser"
page, counted links and the figures per headline. The selection itself stays as built,
so a rebuild can replace it and the changes still apply to what it picks.

The rule. The changes are replayed in the order they were made, each on the result of
the ones before:
  - drop, takedown: the story goes;
  - add: the story joins the end of its section (the section, if new to the edition,
    takes its place in the publication's order); a story already there stays as it is;
  - move: to a place (from 1) in a section, the place kept within the section's length;
  - pin "section": first in its section; pin "edition": first in its section, and that
    section first in the edition (its headline leads: the subject, the lead image);
  - edit: a new headline and/or teaser for this edition only.
A change about a story the edition does not hold (a rebuild let it go) does nothing;
`unmatched` lists those. Items keep their own `position` (the click links and the
figures name items by it); an added one is at ADDED + the change's id, never reused.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from newsletter.editions.models import Edition, EditionEdit, EditKind

ADDED = 1_000_000  # the positions of added stories start here; the selection's are below


@dataclass(frozen=True)
class ReadItem:
    """An item as read: the fields of EditionItem the templates and links use."""

    key: str
    position: int
    section_slug: str
    section_name: str
    url: str
    headline: str
    teaser: str = ""
    source: str = ""
    byline: str = ""
    dateline: str = ""
    published_at: datetime | None = None
    image_url: str = ""
    image_width: int | None = None
    image_height: int | None = None
    image_alt: str = ""
    article_id: int | None = None
    added: bool = False
    edited: bool = False
    pinned: str = ""  # "", "section" or "edition"


def item_key(item) -> str:
    """The story's name across rebuilds: its article, or its URL (as editions/diff.py)."""
    article_id = item.get("article_id") if isinstance(item, dict) else item.article_id
    url = item.get("url", "") if isinstance(item, dict) else item.url
    return f"article:{article_id}" if article_id is not None else f"url:{url}"


def _as_read(item) -> ReadItem:
    return ReadItem(item_key(item), item.position, item.section_slug, item.section_name, item.url, item.headline,
                    item.teaser or "", item.source or "", item.byline or "", item.dateline or "", item.published_at,
                    item.image_url or "", item.image_width, item.image_height, item.image_alt or "",
                    item.article_id)


def _added(edit: EditionEdit) -> ReadItem:
    return ReadItem(edit.item_key, ADDED + edit.id, edit.section_slug, edit.section_name, edit.url, edit.headline,
                    edit.teaser or "", edit.source, edit.byline, "", edit.published_at, edit.image_url, None, None,
                    edit.image_alt, edit.article_id, added=True)


def apply(items: Iterable, edits: Sequence[EditionEdit], section_order: Sequence[str] = ()) -> list[ReadItem]:
    """The rule above: `items` in edition order (EditionItems), `edits` oldest first;
    `section_order`: the publication's, for a section an added or moved story brings."""
    sections: dict[str, list[ReadItem]] = {}
    for item in sorted(items, key=lambda i: i.position):
        sections.setdefault(item.section_slug, []).append(_as_read(item))

    def find(key: str) -> tuple[str, int] | None:
        for slug, entries in sections.items():
            for n, entry in enumerate(entries):
                if entry.key == key:
                    return slug, n
        return None

    def place(slug: str, entry: ReadItem, at: int | None = None) -> None:
        if slug not in sections:  # a new section: after the last one the publication puts before it
            rank = {s: n for n, s in enumerate(section_order)}
            mine = rank.get(slug, len(rank))
            order = list(sections)
            at = max((n + 1 for n, s in enumerate(order) if rank.get(s, len(rank)) <= mine), default=0)
            if at == 0 and order and any(e.pinned == "edition" for e in sections[order[0]]):
                at = 1  # never before the edition's lead
            order.insert(at, slug)  # the others keep their order
            old = dict(sections)
            sections.clear()
            sections.update({s: old.get(s, []) for s in order})
        entries = sections[slug]
        entries.insert(len(entries) if at is None else max(0, min(at, len(entries))), entry)

    def take(key: str) -> ReadItem | None:
        found = find(key)
        if found is None:
            return None
        slug, n = found
        entry = sections[slug].pop(n)
        if not sections[slug]:
            del sections[slug]
        return entry

    for edit in edits:
        kind = edit.kind
        if kind == EditKind.ADD:
            if find(edit.item_key) is None:
                place(edit.section_slug, _added(edit))
            continue
        found = find(edit.item_key)
        if found is None:
            continue
        if kind in (EditKind.DROP, EditKind.TAKEDOWN):
            take(edit.item_key)
        elif kind == EditKind.EDIT:
            slug, n = found
            entry = sections[slug][n]
            sections[slug][n] = replace(entry, headline=edit.headline or entry.headline,
                                        teaser=entry.teaser if edit.teaser is None else edit.teaser, edited=True)
        elif kind == EditKind.MOVE:
            entry = take(edit.item_key)
            entry = replace(entry, section_slug=edit.section_slug, section_name=edit.section_name or entry.section_name)
            place(edit.section_slug, entry, (edit.rank or 1) - 1)
        elif kind == EditKind.PIN:
            scope = "edition" if edit.scope == "edition" else "section"
            if scope == "edition":  # one lead of the edition: the latest pin
                for entries in sections.values():
                    entries[:] = [replace(e, pinned="section") if e.pinned == "edition" else e for e in entries]
            entry = replace(take(edit.item_key), pinned=scope)
            place(entry.section_slug, entry, 0)
            if scope == "edition":
                first = sections.pop(entry.section_slug)
                rest = dict(sections)
                sections.clear()
                sections.update({entry.section_slug: first, **rest})
    return [entry for entries in sections.values() for entry in entries]


def items_as_read(edition: Edition, section_order: Sequence[str] | None = None) -> list[ReadItem]:
    """The edition's items as its readers get them (the rule above). Computed once per
    edition object and state of its items and edits (the renderer asks per message)."""
    items, edits = edition.items, edition.edits
    cached = edition.__dict__.get("_as_read")
    if cached is not None and cached[0] is items and cached[1] is edits and cached[2] == (len(items), len(edits)):
        return cached[3]
    if section_order is None:
        section_order = list(dict.fromkeys(i.section_slug for i in items))
    found = apply(items, list(edits), section_order)
    edition.__dict__["_as_read"] = (items, edits, (len(items), len(edits)), found)
    return found


def unmatched(edition: Edition) -> list[EditionEdit]:
    """The changes about a story the edition does not hold now (a rebuild let it go)."""
    keys = {item_key(i) for i in edition.items} | {e.item_key for e in edition.edits if e.kind == EditKind.ADD}
    return [e for e in edition.edits if e.kind != EditKind.ADD and e.item_key not in keys]


def describe(edit: EditionEdit, headline: str = "") -> str:
    """One line for the console, the command line and the audit."""
    what = headline or edit.headline or edit.item_key
    if edit.kind == EditKind.PIN:
        return f"pinned as the lead of the {'edition' if edit.scope == 'edition' else 'section'}: {what}"
    if edit.kind == EditKind.MOVE:
        return f"moved to {edit.section_slug} #{edit.rank}: {what}"
    if edit.kind == EditKind.ADD:
        return f"added to {edit.section_slug}: {edit.headline} ({edit.url})"
    if edit.kind == EditKind.EDIT:
        return f"edited: {edit.headline or '(headline unchanged)'}" + ("" if edit.teaser is None else " (teaser)")
    return f"{'dropped' if edit.kind == EditKind.DROP else 'taken down'}: {what}"
