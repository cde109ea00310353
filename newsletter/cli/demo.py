"""`newsletter demo`: the whole flow on the embedded default, with a summary."""
from __future__ import annotations

from collections import Counter

import typer
from rich.table import Table

from newsletter import runtime
from newsletter.cli.common import console, session_scope
from newsletter.config import get_settings
from newsletter.delivery.driver import load
from newsletter.demo import set_up, write_preview
from newsletter.jobs import InlineDispatcher


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(subscribers: int = typer.Option(300, min=1, help="sample subscribers to add")):
        """Set up a database, ingest the sample feed, add subscribers, build and deliver today's edition."""
        # The demo's links point at a local development server: http is allowed here only.
        settings = get_settings().model_copy(update={"allow_http_links": True})
        with session_scope() as session:
            setup = set_up(session, settings, subscribers)
        edition, publication = load(runtime.engine_for(settings), setup.edition_id)
        status, counts = InlineDispatcher(settings).run_edition(edition.id)
        preview = write_preview(settings, edition, publication)
        _summary(settings, setup, edition, publication, status, counts, preview)


def _summary(settings, setup, edition, publication, status, counts: Counter, preview) -> None:
    console.rule(f"[bold]{publication.name}[/] — edition {edition.id} for {edition.date}")
    console.print(f"articles: {setup.ingest.added} added, {setup.ingest.updated} updated; "
                  f"subscribers added: {setup.subscribers_added}")
    table = Table("section", "headlines")
    per_section = Counter(i.section_name for i in edition.items)
    for section in publication.ordered_sections():
        table.add_row(section.name, str(per_section.get(section.name, 0)))
    console.print(table)
    built = "built now" if setup.edition_created else "already built (frozen), reused"
    console.print(f"edition: {status}, {len(edition.items)} headlines, {built}")
    console.print(f"messages written now: {counts.get('sent', 0)}; skipped: {counts.get('skipped', 0)}"
                  + ("" if counts.get("sent") else " (this edition was delivered before: nothing is sent twice)"))
    console.print(f"outbox: {settings.effective_outbox_dir}")
    console.print(f"preview: {preview}")
