"""The editors' desk on the command line: `newsletter editions drop|pin|move|add|edit|undo`
before the send, `editions takedown` after it, `editions changes` to see them. Each is
operators/curation.py's act (audited as cli:<user>)."""
from __future__ import annotations

import typer

from newsletter.cli.common import EDITION_ID, console, session_scope
from newsletter.config import get_settings
from newsletter.operators import curation
from newsletter.staff.access import cli_actor

ITEM = typer.Argument(..., metavar="ITEM", show_default=False,
                      help="the item's number in `newsletter editions show ID`, or its URL")


def _said(line: str) -> None:
    console.print(line, highlight=False, markup=False)


def print_changes(desk: curation.Desk) -> None:
    for e in desk.edits:
        _said(f"  change {e.id}: {desk.describe(e)} (by {e.by or '-'})")
    for e in desk.unmatched:
        _said(f"  change {e.id} no longer applies: the selection does not hold {e.item_key}")


def register(editions_app: typer.Typer) -> None:
    @editions_app.command("drop")
    def editions_drop(edition_id: int = EDITION_ID, item: str = ITEM):
        """Leave a story out of an edition not yet sent."""
        with session_scope() as session:
            e = curation.drop(session, cli_actor(), edition_id, item)
            _said(f"edition {edition_id}: change {e.id}, dropped {item}")

    @editions_app.command("pin")
    def editions_pin(edition_id: int = EDITION_ID, item: str = ITEM,
                     edition: bool = typer.Option(False, "--edition", help="the lead of the whole edition "
                                                  "(default: of its section)")):
        """Make a story the lead of its section (or, with --edition, of the edition)."""
        with session_scope() as session:
            e = curation.pin(session, cli_actor(), edition_id, item, "edition" if edition else "section")
            _said(f"edition {edition_id}: change {e.id}, pinned as the lead of the {e.scope}")

    @editions_app.command("move")
    def editions_move(edition_id: int = EDITION_ID, item: str = ITEM,
                      section: str = typer.Option("", help="the section (default: its own)"),
                      to: int = typer.Option(1, "--to", help="its place in the section, from 1")):
        """Move a story to another place or section."""
        with session_scope() as session:
            e = curation.move(session, cli_actor(), edition_id, item, section, to)
            _said(f"edition {edition_id}: change {e.id}, moved to {e.section_slug} #{e.rank}")

    @editions_app.command("add")
    def editions_add(edition_id: int = EDITION_ID,
                     article: int = typer.Option(None, "--article", help="an article's id in the store"),
                     url: str = typer.Option("", "--url", help="an article's URL (the store's, or any page)"),
                     section: str = typer.Option("", help="the section (required for a page not in the store)"),
                     headline: str = typer.Option("", help="instead of the article's or the page's"),
                     teaser: str = typer.Option("", help="instead of the article's or the page's")):
        """Add a story the selection did not pick: from the store, or a page by its URL."""
        with session_scope() as session:
            e = curation.add(session, cli_actor(), edition_id, article_id=article, url=url, section=section,
                             headline=headline, teaser=teaser, fetch_page=curation.page_fetcher(get_settings()))
            _said(f"edition {edition_id}: change {e.id}, added to {e.section_slug}: {e.headline}")

    @editions_app.command("edit")
    def editions_edit(edition_id: int = EDITION_ID, item: str = ITEM,
                      headline: str = typer.Option("", help="the new headline"),
                      teaser: str = typer.Option(None, help="the new teaser (\"\" for none)")):
        """A headline or teaser for this edition only (the article in the store is unchanged)."""
        with session_scope() as session:
            e = curation.edit(session, cli_actor(), edition_id, item, headline, teaser)
            _said(f"edition {edition_id}: change {e.id}, edited")

    @editions_app.command("undo")
    def editions_undo(edition_id: int = EDITION_ID,
                      change: int = typer.Argument(..., metavar="CHANGE", help="`newsletter editions changes ID`")):
        """Take back one change (before the send)."""
        with session_scope() as session:
            e = curation.undo(session, cli_actor(), edition_id, change)
            _said(f"edition {edition_id}: change {e.id} taken back ({e.kind})")

    @editions_app.command("changes")
    def editions_changes(edition_id: int = EDITION_ID):
        """The editors' changes to an edition, in the order they apply."""
        with session_scope() as session:
            desk = curation.desk(session, cli_actor(), edition_id)
            _said(f"edition {edition_id}: {len(desk.edits)} change(s)"
                  + ("" if desk.curable else " (sent or sending: a takedown is the only change left)"))
            print_changes(desk)

    @editions_app.command("takedown")
    def editions_takedown(edition_id: int = EDITION_ID, item: str = ITEM):
        """After the send: remove a story from the archive and the browser view (the emails
        already sent cannot be recalled)."""
        with session_scope() as session:
            _, said = curation.takedown(session, cli_actor(), edition_id, item)
            _said(said)
