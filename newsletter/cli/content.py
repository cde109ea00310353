"""Content: ingest feeds, load publications, build and preview editions."""
from __future__ import annotations

from pathlib import Path

import typer

from newsletter.cli.common import console, edition_date, fail, publication, session_scope
from newsletter.config import get_settings
from newsletter.editions.build import build_edition
from newsletter.ingest.load import ingest as ingest_source
from newsletter.publications.load import load_publications


def register(app: typer.Typer, publications_app: typer.Typer) -> None:
    @app.command()
    def ingest(source: str = typer.Argument(..., help="RSS/Atom or JSON Lines: a file or an http(s) URL"),
               section: str = typer.Option("", help="section for entries that name none")):
        """Put a feed's articles into the store (duplicates by canonical URL update)."""
        with session_scope() as session:
            report = ingest_source(session, source, section)
        for position, problem in report.problems:
            console.print(f"[yellow]skipped entry {position}:[/] {problem}", highlight=False)
        console.print(f"{report.added} added, {report.updated} updated, {len(report.problems)} skipped")

    @publications_app.command("load")
    def publications_load(file: Path = typer.Option(None, help="default: NEWSLETTER_PUBLICATIONS_FILE or the sample")):
        """Create or update sections and publications from the TOML file."""
        with session_scope() as session:
            pubs = load_publications(session, file or get_settings().publications_file)
            console.print(f"loaded {len(pubs)} publication(s): {', '.join(p.slug for p in pubs)}")

    @app.command()
    def build(pub: str, date: str = typer.Option(None, help="YYYY-MM-DD; default today in the publication's zone")):
        """Build (once) the edition of a publication for a date."""
        with session_scope() as session:
            p = publication(session, pub)
            edition, created = build_edition(session, p, edition_date(p, date))
            console.print(f"edition {edition.id} of {p.slug} for {edition.date}: {edition.status}, "
                          f"{len(edition.items)} headlines" + ("" if created else " (already built)"))

    @app.command()
    def preview(pub: str, date: str = typer.Option(None, help="YYYY-MM-DD; default today")):
        """Write the edition as a subscriber sees it to an HTML file (building it if needed)."""
        from newsletter.demo import write_preview

        settings = get_settings()
        with session_scope() as session:
            p = publication(session, pub)
            edition, _ = build_edition(session, p, edition_date(p, date))
            if not edition.items:
                fail(f"edition {edition.id} of {p.slug} for {edition.date} is empty: nothing to preview")
            path = write_preview(settings, edition, p)
        console.print(f"preview of edition {edition.id}: {path}")
