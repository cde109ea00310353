"""The editors' desk: change what an edition carries, for the command line, the console
and the API alike. Each act is role-checked (editions.control), scope-checked (the
actor's publications) and audited ("edition.curate.<kind>", "edition.takedown"), and
stored as its own row (EditionEdit); editions/contents.py applies them.

Before sending starts (built, held, empty): drop, pin (lead of the section or of the
edition), move (section and place), add (an article of the store, or a page by its
URL), edit (headline, teaser), and undo any of these. After the send has started: a
takedown only, which takes a story out of the archive and the browser view; the emails
already sent cannot be recalled, and the answer says so.

Items are named as `item_ref` says: a place in the edition as read (1, 2, ... as
`editions show` numbers them), a key ("article:12", "url:https://..."), or a URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.editions import lifecycle
from newsletter.editions.contents import ReadItem, describe, item_key, items_as_read, unmatched
from newsletter.editions.models import Edition, EditionEdit, EditionStatus, EditKind
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.ingest.models import Feed
from newsletter.lookups import valid_id
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.store.models import Article
from newsletter.store.urls import canonical_url
from newsletter.text import has_controls, one_line

RECALL = "the emails already sent cannot be recalled"
SCOPES = ("section", "edition")


@dataclass
class Desk:
    """What the console's edition page and `editions desk` show."""

    edition: Edition
    publication: Publication
    items: list[ReadItem]  # as read
    selection: list  # the EditionItems the selection froze
    edits: list[EditionEdit]
    unmatched: list[EditionEdit]  # about stories the selection no longer holds
    curable: bool  # not started: every change; otherwise a takedown only
    sections: list[tuple[str, str]]  # the publication's (slug, name), for moves and adds

    def describe(self, edit: EditionEdit) -> str:
        names = {item_key(i): i.headline for i in self.selection}
        return describe(edit, names.get(edit.item_key, ""))


def _edition(session: Session, actor: Actor, edition_id: int, permission: Permission) -> Edition:
    require(actor, permission)
    edition = session.get(Edition, edition_id) if valid_id(edition_id) else None
    if edition is None or not actor.sees(edition.publication_id):  # another publication's: no edition to them
        raise NotFound(f"no edition {edition_id}")
    return edition


def _not_started(session: Session, edition: Edition) -> None:
    status = lifecycle.status_of(session.connection(), edition.id, lock=True)
    session.refresh(edition, ["status", "started_at"])
    if status not in lifecycle.NOT_STARTED or edition.started_at is not None:
        raise Conflict(f"edition {edition.id} is {status}: its contents can change only before sending starts "
                       f"(after the send: `newsletter editions takedown {edition.id} ITEM`)")


def desk(session: Session, actor: Actor, edition_id: int) -> Desk:
    edition = _edition(session, actor, edition_id, Permission.READ)
    pub = session.get(Publication, edition.publication_id)
    curable = edition.status in lifecycle.NOT_STARTED and edition.started_at is None
    return Desk(edition, pub, items_as_read(edition), list(edition.items), list(edition.edits), unmatched(edition),
                curable, [(s.slug, s.name) for s in pub.ordered_sections()])


def item_ref(edition: Edition, ref: str) -> ReadItem:
    """The item named by `ref` (see the module's docstring), as read now."""
    ref = (ref or "").strip()
    items = items_as_read(edition)
    if ref.isdigit() and 0 < int(ref) <= len(items):
        return items[int(ref) - 1]
    for item in items:
        if ref in (item.key, item.url):
            return item
    raise NotFound(f"edition {edition.id} has no item {one_line(ref)[:200]!r} (1 to {len(items)}, "
                   "as `newsletter editions show` numbers them, or an item's URL)")


def _record(session: Session, actor: Actor, edition: Edition, edit: EditionEdit, action: str,
            headline: str) -> EditionEdit:
    with change(session, actor, Permission.EDITIONS, action, f"edition:{edition.id}") as ch:
        edit.by = actor.label[:255]
        edition.edits.append(edit)
        session.flush()
        ch.detail = {"edit": edit.id, "kind": edit.kind, "item": edit.item_key[:300], "headline": headline[:200]}
    edition.__dict__.pop("_as_read", None)
    return edit


def _text(value: str, what: str, limit: int) -> str:
    if has_controls(value.replace("\n", " ").replace("\t", " ")):
        raise InvalidInput(f"the {what} must not contain control characters")
    value = one_line(value)
    if len(value) > limit:
        raise InvalidInput(f"the {what} is longer than {limit} characters")
    return value


def _section(pub: Publication, slug: str) -> tuple[str, str]:
    for s in pub.ordered_sections():
        if s.slug == slug:
            return s.slug, s.name
    known = ", ".join(s.slug for s in pub.ordered_sections())
    raise InvalidInput(f"no section {one_line(slug)[:64]!r} in {pub.slug} (known: {known})")


def drop(session: Session, actor: Actor, edition_id: int, ref: str) -> EditionEdit:
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    _not_started(session, edition)
    item = item_ref(edition, ref)
    return _record(session, actor, edition, EditionEdit(kind=EditKind.DROP, item_key=item.key),
                   "edition.curate.drop", item.headline)


def pin(session: Session, actor: Actor, edition_id: int, ref: str, scope: str = "section") -> EditionEdit:
    if scope not in SCOPES:
        raise InvalidInput(f"pin as the lead of the section or of the edition, not {one_line(scope)[:32]!r}")
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    _not_started(session, edition)
    item = item_ref(edition, ref)
    return _record(session, actor, edition, EditionEdit(kind=EditKind.PIN, item_key=item.key, scope=scope),
                   "edition.curate.pin", item.headline)


def move(session: Session, actor: Actor, edition_id: int, ref: str, section: str = "", rank: int = 1) -> EditionEdit:
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    _not_started(session, edition)
    item = item_ref(edition, ref)
    slug, name = _section(session.get(Publication, edition.publication_id), section or item.section_slug)
    if not 1 <= rank <= 1000:
        raise InvalidInput("the place in the section counts from 1")
    return _record(session, actor, edition, EditionEdit(kind=EditKind.MOVE, item_key=item.key, section_slug=slug,
                                                        section_name=name, rank=rank),
                   "edition.curate.move", item.headline)


def edit(session: Session, actor: Actor, edition_id: int, ref: str, headline: str = "",
         teaser: str | None = None) -> EditionEdit:
    headline = _text(headline or "", "headline", 500)
    teaser = None if teaser is None else _text(teaser, "teaser", 2000)
    if not headline and teaser is None:
        raise InvalidInput("give a new headline, a new teaser or both")
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    _not_started(session, edition)
    item = item_ref(edition, ref)
    new = EditionEdit(kind=EditKind.EDIT, item_key=item.key, headline=headline, teaser=teaser)
    return _record(session, actor, edition, new, "edition.curate.edit", headline or item.headline)


def add(session: Session, actor: Actor, edition_id: int, *, article_id: int | None = None, url: str = "",
        section: str = "", headline: str = "", teaser: str = "", fetch_page=None) -> EditionEdit:
    """An article of the store (by id, or by its URL), or a page by its URL: its title and
    description (`fetch_page(url, allow_private) -> bytes`, ingest/fetch.py for the doors).
    The section: the article's own unless given; required for a page."""
    headline, teaser = _text(headline or "", "headline", 500), _text(teaser or "", "teaser", 2000)
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    _not_started(session, edition)
    pub = session.get(Publication, edition.publication_id)
    article = None
    if article_id is not None:
        article = session.get(Article, article_id) if valid_id(article_id) else None
        if article is None:
            raise NotFound(f"no article {article_id}")
    elif url.strip():
        canonical = canonical_url(url)
        article = session.scalar(select(Article).where(Article.url == canonical))
    else:
        raise InvalidInput("name the article to add: its id in the store, or a URL")
    if article is not None:
        slug, name = _section(pub, section or article.section.slug)
        new = EditionEdit(kind=EditKind.ADD, item_key=f"article:{article.id}", section_slug=slug, section_name=name,
                          article_id=article.id, url=article.url, headline=headline or article.headline,
                          teaser=teaser or article.teaser, source=article.source, byline=article.byline,
                          published_at=article.published_at, image_url=article.image_url, image_alt=article.image_alt)
    else:
        if not section:
            raise InvalidInput("a page that is not in the store needs a section (--section)")
        slug, name = _section(pub, section)
        story = _page(session, canonical, fetch_page)
        new = EditionEdit(kind=EditKind.ADD, item_key=f"url:{canonical}", section_slug=slug, section_name=name,
                          url=canonical, headline=headline or story.headline, teaser=teaser or story.teaser,
                          source=story.source, image_url=story.image_url)
    if any(i.key == new.item_key for i in items_as_read(edition)):
        raise Conflict(f"edition {edition.id} has that story already: {new.headline}")
    return _record(session, actor, edition, new, "edition.curate.add", new.headline)


def _page(session: Session, url: str, fetch_page):
    """Fetched as the feeds are (public addresses only), unless a feed on the same host and
    port may reach private ones (its `allow_private`): then so may its pages."""
    from newsletter.ingest.page import story_from_page

    if fetch_page is None:
        raise InvalidInput(f"{url[:200]} is not in the store")
    origin = _origin(url)
    allow = any(_origin(f) == origin for f in session.scalars(
        select(Feed.url).where(Feed.allow_private.is_(True), Feed.active.is_(True))))
    return story_from_page(url, fetch_page(url, allow))


def _origin(url: str) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


def undo(session: Session, actor: Actor, edition_id: int, edit_id: int) -> EditionEdit:
    """Take back one change (before the send): the edition reads as if it was never made."""
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    _not_started(session, edition)
    found = next((e for e in edition.edits if e.id == edit_id), None)
    if found is None:
        raise NotFound(f"edition {edition_id} has no change {edit_id}")
    with change(session, actor, Permission.EDITIONS, "edition.curate.undo", f"edition:{edition.id}") as ch:
        ch.detail = {"edit": found.id, "kind": found.kind, "item": found.item_key[:300]}
        edition.edits.remove(found)
        session.flush()
    edition.__dict__.pop("_as_read", None)
    return found


def takedown(session: Session, actor: Actor, edition_id: int, ref: str) -> tuple[EditionEdit, str]:
    """After the send has started: the story leaves the archive and the browser view.
    Returns the change and the sentence to show (the emails are gone)."""
    edition = _edition(session, actor, edition_id, Permission.EDITIONS)
    status = lifecycle.status_of(session.connection(), edition.id, lock=True)
    if edition.started_at is None or status in lifecycle.NOT_STARTED:
        raise Conflict(f"edition {edition.id} has not been sent: drop the item instead "
                       f"(`newsletter editions drop {edition.id} ITEM`)")
    item = item_ref(edition, ref)
    done = _record(session, actor, edition, EditionEdit(kind=EditKind.TAKEDOWN, item_key=item.key),
                   "edition.takedown", item.headline)
    sent = status in (EditionStatus.SENT, EditionStatus.SENDING, EditionStatus.PAUSED, EditionStatus.CANCELLED)
    said = (f"taken down from edition {edition.id}: {item.headline}; gone from the archive and the browser view"
            + (f"; {RECALL}" if sent else ""))
    return done, said


def page_fetcher(settings):
    """`fetch_page` for the doors: a GET as the feeds make it (ingest/fetch.py's checks)."""
    from newsletter.ingest.fetch import fetch

    def fetch_page(url: str, allow_private: bool) -> bytes:
        return fetch(url, timeout=settings.feed_timeout_seconds, max_bytes=settings.feed_max_bytes,
                     allow_private=allow_private).body
    return fetch_page
