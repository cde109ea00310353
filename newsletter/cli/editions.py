"""Sending editions and controlling them: send (with progress), pause, resume, cancel,
release a domain; before sending: rebuild, hold, release. What editions look like
(status, list, show, watch) is in cli/edition_views.py."""
from __future__ import annotations

import typer

from newsletter import runtime
from newsletter.cli import edition_views
from newsletter.cli.common import console, edition_date, fail, publication, session_scope
from newsletter.cli.progress import follow_edition
from newsletter.config import get_settings
from newsletter.editions import manual
from newsletter.editions.models import EditionStatus as E
from newsletter.operators import editions as operator_editions
from newsletter.staff.access import cli_actor


def register(app: typer.Typer, editions_app: typer.Typer) -> None:
    @app.command()
    def send(pub: str, date: str = typer.Option(None, help="YYYY-MM-DD; default today"),
             force: bool = typer.Option(False, "--force", help="replace a cancelled edition of that date"),
             reason: str = typer.Option("", help="why (required with --force; kept in the edition's history)"),
             watch: bool = typer.Option(False, "--watch", help="with workers: follow the progress until done")):
        """Deliver the edition of that date (building it first if needed). Safe to repeat."""
        if reason and not force:
            fail("--reason goes with --force")
        with session_scope() as session:
            p = publication(session, pub)
            day = edition_date(p, date)
            if force:
                old, edition = operator_editions.replace_cancelled(session, cli_actor(), p, day, reason)
                console.print(f"edition {edition.id} replaces cancelled edition {old.id} of {p.slug} for {day}: "
                              f"{edition.status}, {len(edition.items)} headlines", highlight=False)
            else:
                edition, _ = manual.build_by_hand(session, p, day)
            edition_id, status = edition.id, edition.status
        _deliver(edition_id, status, watch)
        if status == E.CANCELLED:
            console.print(f"edition {edition_id} was cancelled; to send this date again: `newsletter send {pub} "
                          f"--date {day} --force --reason \"...\"`", highlight=False)
        elif status == E.HELD:
            console.print(f"edition {edition_id} is held: `newsletter editions release {edition_id}` first",
                          highlight=False)

    def _deliver(edition_id: int, status: str, watch: bool) -> None:
        settings = get_settings()
        dispatcher = runtime.dispatcher(settings)
        if status not in (E.BUILT, E.SENDING, E.PAUSED):
            console.print(dispatcher.deliver_edition(edition_id))
            return
        engine = runtime.engine_for(settings)
        if not settings.broker_url:  # inline: the work happens here, the progress beside it
            result, _ = follow_edition(engine, edition_id, console, work=lambda: dispatcher.deliver_edition(edition_id))
            console.print(result)
            return
        console.print(dispatcher.deliver_edition(edition_id))
        if watch:
            follow_edition(engine, edition_id, console)

    def _control(edition_id: int, action) -> None:
        """The same audited function as the console and the API (operators/editions.py)."""
        with session_scope() as session:
            status = action(session, cli_actor(), edition_id)
        console.print(f"edition {edition_id}: {status}")

    @editions_app.command("pause")
    def editions_pause(edition_id: int):
        """Stop sending at the next message; resume continues from the checkpoint."""
        _control(edition_id, operator_editions.pause)

    @editions_app.command("resume")
    def editions_resume(edition_id: int, watch: bool = typer.Option(False, "--watch")):
        """Continue a paused edition (after fixing what paused it)."""
        _control(edition_id, operator_editions.resume)
        _deliver(edition_id, E.SENDING, watch)

    @editions_app.command("cancel")
    def editions_cancel(edition_id: int):
        """Send nothing more of this edition (a new send of its date needs `send --force`)."""
        _control(edition_id, operator_editions.cancel)

    @editions_app.command("release-domain")
    def editions_release_domain(edition_id: int, domain: str):
        """Let a recipient domain held after policy refusals receive this edition again."""
        with session_scope() as session:
            released = operator_editions.release_domain(session, cli_actor(), edition_id, domain)
        console.print(f"edition {edition_id}: {released} deliveries to {domain} are pending again")
        _deliver(edition_id, E.SENDING, False)

    @editions_app.command("rebuild")
    def editions_rebuild(edition_id: int):
        """Run the selection again with the same cut-off (before sending starts only).

        The items it replaces are kept in the edition's history."""
        with session_scope() as session:
            result = operator_editions.rebuild(session, cli_actor(), edition_id)
            d = result.diff
            console.print(f"edition {edition_id} rebuilt: {result.edition.status}, {len(result.edition.items)} "
                          f"headlines ({len(d.new)} new, {len(d.gone)} gone, {len(d.moved)} moved; "
                          f"{len(result.before)} before)", highlight=False)
            edition_views.print_diff(d)

    @editions_app.command("hold")
    def editions_hold(edition_id: int, reason: str = typer.Option("", help="kept in the edition's history")):
        """Keep an edition that has not started from being sent (by the scheduler or `send`)."""
        with session_scope() as session:
            status = operator_editions.hold(session, cli_actor(), edition_id, reason)
        console.print(f"edition {edition_id}: {status} (`newsletter editions release {edition_id}` to let it go)")

    @editions_app.command("release")
    def editions_release(edition_id: int, reason: str = typer.Option("", help="kept in the edition's history")):
        """Let a held edition go: the scheduler starts it when due, or `send` now."""
        with session_scope() as session:
            status = operator_editions.release(session, cli_actor(), edition_id, reason)
        console.print(f"edition {edition_id}: {status}")

    edition_views.register(editions_app)
