"""Sending and watching editions: send, pause, resume, cancel, release a domain, status, list."""
from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from newsletter import runtime
from newsletter.cli.common import console, edition_date, publication, session_scope
from newsletter.config import get_settings
from newsletter.delivery import control
from newsletter.delivery.report import report
from newsletter.delivery.states import DeliveryStatus as D
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

    def _control(edition_id: int, action, *args) -> None:
        engine = runtime.engine_for(get_settings())
        with engine.begin() as conn:
            status = action(conn, edition_id, *args)
        console.print(f"edition {edition_id}: {status}")

    @editions_app.command("pause")
    def editions_pause(edition_id: int):
        """Stop sending at the next message; resume continues from the checkpoint."""
        _control(edition_id, control.pause)

    @editions_app.command("resume")
    def editions_resume(edition_id: int):
        """Continue a paused edition (after fixing what paused it)."""
        _control(edition_id, control.resume)
        console.print(runtime.dispatcher(get_settings()).deliver_edition(edition_id))

    @editions_app.command("cancel")
    def editions_cancel(edition_id: int):
        """Send nothing more of this edition."""
        _control(edition_id, control.cancel)

    @editions_app.command("release-domain")
    def editions_release_domain(edition_id: int, domain: str):
        """Let a recipient domain held after policy refusals receive this edition again."""
        engine = runtime.engine_for(get_settings())
        with engine.begin() as conn:
            released = control.release_domain(conn, edition_id, domain)
        console.print(f"edition {edition_id}: {released} deliveries to {domain} are pending again")
        console.print(runtime.dispatcher(get_settings()).deliver_edition(edition_id))

    @editions_app.command("status")
    def editions_status(edition_id: int):
        """Counts by delivery state, failures by class, holds, pauses, rate and time left."""
        engine = runtime.engine_for(get_settings())
        with engine.connect() as conn:
            r = report(conn, edition_id)
        table = Table(title=f"edition {edition_id}: {r.status}")
        states = (D.SENT, D.FAILED, D.SKIPPED, D.PENDING, D.SENDING, D.RETRY, D.HELD)
        for col in (*states, "hard bounces"):
            table.add_column(str(col), justify="right")
        table.add_row(*(str(r.counts[s]) for s in states), str(r.hard_bounces))
        console.print(table)
        if r.failures:
            by_class = ", ".join(f"{k or 'unknown'} {v}" for k, v in sorted(r.failures.items()))
            console.print(f"failed by class: {by_class}", highlight=False)
        if r.pause_reason:
            console.print(f"[yellow]paused:[/] {r.pause_reason}", highlight=False)
        for domain, refusals, last in r.held_domains:
            console.print(f"[yellow]held domain {domain}[/] after {refusals} policy refusals (last: {last}); "
                          f"`newsletter editions release-domain {edition_id} {domain}` when fixed", highlight=False)
        if r.relay_error:
            console.print(f"[yellow]waiting for the relay:[/] {r.relay_error}", highlight=False)
        duration = f"{r.duration:.1f}s" if r.duration is not None else "-"
        eta = f", about {r.eta_seconds:.0f}s left" if r.eta_seconds is not None else ""
        console.print(f"{r.audience} recorded, {r.remaining} to go; duration {duration}, "
                      f"{r.rate:.1f} messages/s{eta}")

    @editions_app.command("list")
    def editions_list(pub: str):
        with session_scope() as session:
            p = publication(session, pub)
            for e in session.scalars(select(Edition).where(Edition.publication_id == p.id).order_by(Edition.date)):
                console.print(f"{e.id}\t{e.date}\t{e.status}\t{len(e.items)} headlines")
