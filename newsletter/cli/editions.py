"""Sending and watching editions: send, pause, resume, cancel, status, list."""
from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from newsletter import runtime
from newsletter.cli.common import console, edition_date, publication, session_scope
from newsletter.config import get_settings
from newsletter.delivery import progress
from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition


def register(app: typer.Typer, editions_app: typer.Typer) -> None:
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
            status = action(conn, edition_id)
        console.print(f"edition {edition_id}: {status}")

    @editions_app.command("pause")
    def editions_pause(edition_id: int):
        """Stop sending at the next message; resume continues from the checkpoint."""
        _control(edition_id, progress.pause)

    @editions_app.command("resume")
    def editions_resume(edition_id: int):
        _control(edition_id, progress.resume)
        console.print(runtime.dispatcher(get_settings()).deliver_edition(edition_id))

    @editions_app.command("cancel")
    def editions_cancel(edition_id: int):
        """Send nothing more of this edition."""
        _control(edition_id, progress.cancel)

    @editions_app.command("status")
    def editions_status(edition_id: int):
        """Counts by delivery state, bounces, duration and rate."""
        engine = runtime.engine_for(get_settings())
        with engine.connect() as conn:
            r = progress.report(conn, edition_id)
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
        console.print(f"duration {duration}, {r.rate:.1f} messages/s overall, "
                      f"{r.recent_rate:.1f}/s in the last minute")

    @editions_app.command("list")
    def editions_list(pub: str):
        with session_scope() as session:
            p = publication(session, pub)
            for e in session.scalars(select(Edition).where(Edition.publication_id == p.id).order_by(Edition.date)):
                console.print(f"{e.id}\t{e.date}\t{e.status}\t{len(e.items)} headlines")
