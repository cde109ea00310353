"""Which headlines are new, which are gone and which moved, between two lists of items.

An item is the same story in both lists when it is the same article (or, for an
article since deleted, the same URL). It moved when its section changed, or its place
within the section among the stories both lists share. Lists come from editions (EditionItem), from a preview, or from
an edition's history (the dicts history.item_record keeps), so a rebuild can say what
it changed and a preview can be compared with the last edition that went out.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.editions.contents import ReadItem
from newsletter.editions.models import Edition, EditionStatus


@dataclass(frozen=True)
class Entry:
    key: str
    headline: str
    section: str
    rank: int  # place within its section, from 1


@dataclass(frozen=True)
class Move:
    entry: Entry  # where it is now
    was: Entry  # where it was


@dataclass
class Diff:
    new: list[Entry] = field(default_factory=list)
    gone: list[Entry] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.gone or self.moved)


def entries(items: Iterable) -> list[Entry]:
    """EditionItems or history dicts, in edition order, as comparable entries."""
    out: list[Entry] = []
    ranks: dict[str, int] = {}
    # Items as read (editions/contents.py) are in reading order already: their positions name them.
    rows = [(i.get("position", 0), i.get("section", ""), i.get("article_id"), i.get("url", ""), i.get("headline", ""))
            if isinstance(i, dict) else (n if isinstance(i, ReadItem) else i.position, i.section_slug, i.article_id,
                                         i.url, i.headline) for n, i in enumerate(items)]
    for _, section, article_id, url, headline in sorted(rows, key=lambda r: r[0]):
        ranks[section] = ranks.get(section, 0) + 1
        key = f"article:{article_id}" if article_id is not None else f"url:{url}"
        out.append(Entry(key, headline, section, ranks[section]))
    return out


def _common_ranks(listed: list[Entry], common: set[str]) -> dict[str, tuple[str, int]]:
    """(section, place within the section) of each story both lists share, counting only
    shared stories: a story does not 'move' because one above it was added or dropped."""
    ranks: dict[str, int] = {}
    out = {}
    for e in listed:
        if e.key in common:
            ranks[e.section] = ranks.get(e.section, 0) + 1
            out[e.key] = (e.section, ranks[e.section])
    return out


def diff_items(before: Iterable, after: Iterable) -> Diff:
    old, new = entries(before), entries(after)
    common = {e.key for e in old} & {e.key for e in new}
    was_at, now_at = _common_ranks(old, common), _common_ranks(new, common)
    previous = {e.key: e for e in old}
    result = Diff(new=[e for e in new if e.key not in common], gone=[e for e in old if e.key not in common])
    for entry in new:
        if entry.key in common:
            if was_at[entry.key] != now_at[entry.key]:
                result.moved.append(Move(entry, previous[entry.key]))
            else:
                result.unchanged += 1
    return result


def last_sent_edition(session: Session, publication_id: int, other_than: int | None = None,
                      before: date | None = None) -> Edition | None:
    """The most recent edition of the publication that went out (status sent), of a date
    before `before` if given: an edition is compared with the one its readers had last."""
    query = (select(Edition).where(Edition.publication_id == publication_id, Edition.status == EditionStatus.SENT)
             .order_by(Edition.date.desc(), Edition.id.desc()).limit(1))
    if other_than is not None:
        query = query.where(Edition.id != other_than)
    if before is not None:
        query = query.where(Edition.date < before)
    return session.scalar(query)
