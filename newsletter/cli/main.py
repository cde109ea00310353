"""`newsletter`: ingest, publications, subscribers, build, send, editions, demo."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from newsletter import runtime
from newsletter.cli.common import console, edition_date, fail, publication, session_scope
from newsletter.config import get_settings
from newsletter.delivery import progress
from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition
from newsletter.ingest.load import ingest as ingest_source
from newsletter.ingest.parse import FeedError
from newsletter.publications.load import PublicationsFileError, load_publications
from newsletter.subscribers.service import SubscriberError, add_subscriber, import_csv

app = typer.Typer(help="Daily digest newsletters: build, render and deliver.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
publications_app = typer.Typer(help="Publications and their sections.", no_args_is_help=True)
subscribers_app = typer.Typer(help="The subscriber list.", no_args_is_help=True)
editions_app = typer.Typer(help="Editions being delivered: pause, resume, cancel, status.",
                           no_args_is_help=True)
app.add_typer(publications_app, name="publications")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(editions_app, name="editions")


@app.command()
def ingest(source: str = typer.Argument(..., help="RSS/Atom or JSON Lines: a file or an http(s) URL"),
           section: str = typer.Option("", help="section for entries that name none")):
    """Put a feed's articles into the store (duplicates by canonical URL update)."""
    with session_scope() as session:
        try:
            report = ingest_source(session, source, section)
        except FeedError as exc:
            fail(str(exc))
    for position, problem in report.problems:
        console.print(f"[yellow]skipped entry {position}:[/] {problem}", highlight=False)
    console.print(f"{report.added} added, {report.updated} updated, {len(report.problems)} skipped")


@publications_app.command("load")
def publications_load(file: Path = typer.Option(None, help="default: config/publications.toml")):
    """Create or update sections and publications from the TOML file."""
    with session_scope() as session:
        try:
            pubs = load_publications(session, file or get_settings().publications_file)
        except PublicationsFileError as exc:
            fail(str(exc))
        console.print(f"loaded {len(pubs)} publication(s): {', '.join(p.slug for p in pubs)}")


@subscribers_app.command("add")
def subscribers_add(pub: str, email: str, name: str = "",
                    sections: str = typer.Option("", help="section slugs, comma separated; default all")):
    """Add (or reactivate) one subscriber."""
    with session_scope() as session:
        try:
            sub = add_subscriber(session, publication(session, pub), email, name, sections or None)
        except SubscriberError as exc:
            fail(str(exc))
        console.print(f"subscribed {sub.subscriber.email} to {pub}")


@subscribers_app.command("import")
def subscribers_import(pub: str, file: Path,
                       skip_invalid: bool = typer.Option(False, help="import the good rows anyway")):
    """Import a CSV (columns: email, name, sections). One bad row: nothing imported."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    with session_scope() as session:
        try:
            report = import_csv(session, publication(session, pub), text, skip_invalid)
        except SubscriberError as exc:
            fail(str(exc))
    for line, problem in report.errors[:50]:
        console.print(f"[red]line {line}:[/] {problem}", highlight=False)
    if report.errors and not skip_invalid:
        fail(f"{len(report.errors)} invalid row(s); nothing imported (fix them or use --skip-invalid)")
    console.print(f"{report.added} added, {report.existing} already subscribed, {len(report.errors)} invalid")


@app.command()
def build(pub: str, date: str = typer.Option(None, help="YYYY-MM-DD; default today in the publication's zone")):
    """Build (once) the edition of a publication for a date."""
    with session_scope() as session:
        p = publication(session, pub)
        edition, created = build_edition(session, p, edition_date(p, date))
        console.print(f"edition {edition.id} of {p.slug} for {edition.date}: {edition.status}, "
                      f"{len(edition.items)} headlines" + ("" if created else " (already built)"))


@app.command()
def send(pub: str, date: str = typer.Option(None, help="YYYY-MM-DD; default today")):
    """Deliver the edition of that date (building it first if needed). Safe to repeat."""
    settings = get_settings()
    with session_scope() as session:
        p = publication(session, pub)
        edition, _ = build_edition(session, p, edition_date(p, date))
        edition_id = edition.id
    console.print(runtime.dispatcher(settings).deliver_edition(edition_id))


def _control(edition_id: int, action) -> None:
    engine = runtime.engine_for(get_settings())
    with engine.begin() as conn:
        try:
            status = action(conn, edition_id)
        except progress.ControlError as exc:
            fail(str(exc))
    console.print(f"edition {edition_id}: {status}")


@editions_app.command("pause")
def editions_pause(edition_id: int):
    """Stop sending at the next message; resume continues from the checkpoint."""
    _control(edition_id, progress.pause)


@editions_app.command("resume")
def editions_resume(edition_id: int):
    _control(edition_id, progress.resume)
    settings = get_settings()
    console.print(runtime.dispatcher(settings).deliver_edition(edition_id))


@editions_app.command("cancel")
def editions_cancel(edition_id: int):
    """Send nothing more of this edition."""
    _control(edition_id, progress.cancel)


@editions_app.command("status")
def editions_status(edition_id: int):
    """Counts by delivery state, bounces, duration and rate."""
    engine = runtime.engine_for(get_settings())
    with engine.connect() as conn:
        try:
            r = progress.report(conn, edition_id)
        except Exception:  # noqa: BLE001 - NoResultFound and friends
            fail(f"no edition {edition_id}")
    table = Table(title=f"edition {edition_id}: {r.status}")
    for col in ("sent", "failed", "skipped", "pending", "sending", "retry", "hard bounces"):
        table.add_column(col, justify="right")
    c = r.counts
    table.add_row(*(str(c[k]) for k in ("sent", "failed", "skipped", "pending", "sending", "retry")),
                  str(r.hard_bounces))
    console.print(table)
    if r.relay_error:
        console.print(f"[yellow]waiting for the relay:[/] {r.relay_error}", highlight=False)
    duration = f"{r.duration:.1f}s" if r.duration is not None else "-"
    console.print(f"duration {duration}, {r.rate:.1f} messages/s overall, {r.recent_rate:.1f}/s in the last minute")


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


@editions_app.command("list")
def editions_list(pub: str):
    with session_scope() as session:
        p = publication(session, pub)
        for e in session.scalars(select(Edition).where(Edition.publication_id == p.id).order_by(Edition.date)):
            console.print(f"{e.id}\t{e.date}\t{e.status}\t{len(e.items)} headlines")


from newsletter.cli import demo as _demo  # noqa: E402  (registers `newsletter demo`)

_demo.register(app)

from newsletter.cli import web as _web  # noqa: E402  (registers `newsletter web` and `stats`)

_web.register(app)
