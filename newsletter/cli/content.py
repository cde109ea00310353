"""Content: ingest feeds, load and list publications, build editions (previews and test
sends: cli/preview.py)."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from newsletter.cli import preview as preview_commands
from newsletter.cli.common import DATE_HELP, PUB_ARG, console, edition_date, publication, session_scope
from newsletter.cli.edition_views import print_waves
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.delivery.report import counts_by_edition
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import manual
from newsletter.ingest.load import ingest as ingest_source
from newsletter.operators.publications import publications_overview
from newsletter.publications.file_form import export_text
from newsletter.publications.load import apply_publications_file


def register(app: typer.Typer, publications_app: typer.Typer) -> None:
    @app.command()
    def ingest(source: str = typer.Argument(..., help="RSS/Atom or JSON Lines: a file or an http(s) URL"),
               section: str = typer.Option("", help="section for entries that name none"),
               allow_private: bool = typer.Option(False, "--allow-private",
                                                  help="a URL may lead to a loopback or private address "
                                                       "(as a feed's allow_private)")):
        """Put a feed's articles into the store (duplicates by canonical URL update)."""
        with session_scope() as session:
            report = ingest_source(session, source, section, allow_private)
        for position, problem in report.problems:
            console.print(f"[yellow]skipped entry {position}:[/] {problem}", highlight=False)
        console.print(f"{report.added} added, {report.updated} updated, {len(report.problems)} skipped")

    @publications_app.command("load")
    def publications_load(file: Path = typer.Option(None, help="default: NEWSLETTER_PUBLICATIONS_FILE or the sample")):
        """Create or update sections and publications from the TOML file (all or nothing).

        A publication no longer in the file is deactivated; its editions and subscribers stay."""
        with session_scope() as session:
            result = apply_publications_file(session, file or get_settings().publications_file)
            console.print(f"loaded {len(result.loaded)} publication(s): {', '.join(p.slug for p in result.loaded)}",
                          highlight=False)
            for pub in result.deactivated:
                console.print(f"[yellow]deactivated {pub.slug}[/]: no longer in the file (its editions and "
                              "subscribers are kept; put it back in the file to reactivate it)", highlight=False)
            if result.feeds:
                console.print(f"feeds: {', '.join(result.feeds)}", highlight=False, markup=False)
            for name in result.feeds_stopped:
                console.print(f"[yellow]stopped feed {name}[/]: no longer in the file (its articles are kept)",
                              highlight=False)
            for line in result.skipped:
                console.print(f"[yellow]skipped[/] {escape(line)}", highlight=False)

    @publications_app.command("export")
    def publications_export(output: Path = typer.Option(None, "--output", "-o",
                                                        help="write to this file (default: standard output)")):
        """Write the file form (TOML) of every section, publication and feed the database holds.

        `publications load` reads it back to the same settings; entries managed in the console
        are marked in a comment (a load skips them until they are handed back to the file)."""
        with session_scope() as session:
            text = export_text(session)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            console.print(f"wrote {output}", highlight=False, markup=False)

    @publications_app.command("list")
    def publications_list(count: int = typer.Option(5, min=1, max=50, help="how many next send times")):
        """Every publication: schedule in words, next send times, subscribers, last edition.

        Next send times in the publication's zone and in UTC; the last edition with its outcome."""
        with session_scope() as session:
            rows = publications_overview(session, utcnow(), count)
            counts = counts_by_edition(session.connection(), [r.last_edition.id for r in rows if r.last_edition])
        if not rows:
            console.print("no publications; run `newsletter publications load`")
        for r in rows:
            state = "active" if r.active else "[yellow]inactive[/]"
            console.print(f"[bold]{r.slug}[/] ({escape(r.name)}): {state}; {r.schedule} ({r.cron!r}), {r.timezone}; "
                          f"{r.subscribers} subscriber{'' if r.subscribers == 1 else 's'}", highlight=False)
            zone = ZoneInfo(r.timezone)
            if r.local_time:
                console.print(f"  local time: each subscriber at {r.schedule.rsplit(' at ', 1)[-1]} in their own zone, "
                              "in waves; each next send is its first wave", highlight=False)
            for t in r.next_sends:
                local = t.astimezone(zone)
                first = ""
                if r.local_time and r.next_waves and t == r.next_waves[0].send_at:
                    first = f", first wave: {r.next_waves[0].label}"
                console.print(f"  next: {local:%a %Y-%m-%d %H:%M %Z} ({t:%H:%M} UTC{first})", highlight=False)
            if r.next_waves:
                print_waves(r.next_waves, "  waves of the next send")
            if r.active and not r.next_sends:
                console.print("  next: never (the schedule does not fire)", highlight=False)
            last = r.last_edition
            if last is None:
                console.print("  last edition: none yet", highlight=False)
                continue
            c = counts[last.id]
            outcome = ", ".join(f"{c[s]} {s}" for s in (D.SENT, D.FAILED, D.SKIPPED) if c.get(s)) or "no deliveries"
            console.print(f"  last edition: {last.id} for {last.date}, {last.status}, {last.headlines} headlines; "
                          f"{outcome}", highlight=False)

    @app.command()
    def build(pub: str = PUB_ARG, date: str = typer.Option(None, help=DATE_HELP)):
        """Build (once) the edition of a publication for a date."""
        with session_scope() as session:
            p = publication(session, pub)
            edition, created = manual.build_by_hand(session, p, edition_date(p, date))
            console.print(f"edition {edition.id} of {p.slug} for {edition.date}: {edition.status}, "
                          f"{len(edition.items)} headlines" + ("" if created else " (already built)"))

    preview_commands.register(app)
