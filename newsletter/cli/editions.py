"""Sending editions and controlling them: send (with progress), pause, resume, cancel,
release a domain; before sending: rebuild, hold, release. What editions look like
(status, list, show, watch) is in cli/edition_views.py."""
from __future__ import annotations

import typer

from newsletter import runtime
from newsletter.cli import edition_views
from newsletter.cli.common import (
    DATE_HELP,
    EDITION_ID,
    PUB_ARG,
    console,
    edition_date,
    fail,
    print_error,
    publication,
    session_scope,
)
from newsletter.cli.progress import follow_edition
from newsletter.config import get_settings
from newsletter.editions import manual
from newsletter.editions.models import EditionStatus as E
from newsletter.operators import editions as operator_editions
from newsletter.staff.access import cli_actor

_REASON = typer.Option("", help="kept in the edition's history")


def register(app: typer.Typer, editions_app: typer.Typer) -> None:
    @app.command(epilog="Exit codes: 0 sent (or sending, or sent before); 1 nothing was sent: the edition is "
                 "held, cancelled or empty (the line on stderr says what to do); 2 bad input or a refusal; "
                 "3 an unexpected error.")
    def send(pub: str = PUB_ARG, date: str = typer.Option(None, help=DATE_HELP),
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
        if status == E.EMPTY:  # started all the same: that is what alerts its operators (delivery/alerts.py)
            runtime.dispatcher(get_settings()).deliver_edition(edition_id)
        not_sent = {
            E.HELD: f"edition {edition_id} of {pub} for {day} is held: release it first "
                    f"(`newsletter editions release {edition_id}`), then send again",
            E.CANCELLED: f"edition {edition_id} of {pub} for {day} was cancelled: to send this date again, "
                         f"`newsletter send {pub} --date {day} --force --reason \"...\"`",
            E.EMPTY: f"edition {edition_id} of {pub} for {day} is empty (no headlines in its window): nothing to "
                     "send; its operators are alerted",
        }.get(status)
        if not_sent:
            print_error(not_sent, "not sent")
            raise typer.Exit(1)
        _deliver(edition_id, status, watch)

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
    def editions_pause(edition_id: int = EDITION_ID):
        """Stop sending at the next message; resume continues from the checkpoint."""
        _control(edition_id, operator_editions.pause)

    @editions_app.command("resume")
    def editions_resume(edition_id: int = EDITION_ID, watch: bool = typer.Option(False, "--watch")):
        """Continue a paused edition (after fixing what paused it)."""
        _control(edition_id, operator_editions.resume)
        _deliver(edition_id, E.SENDING, watch)

    @editions_app.command("cancel")
    def editions_cancel(edition_id: int = EDITION_ID):
        """Send nothing more of this edition (a new send of its date needs `send --force`)."""
        _control(edition_id, operator_editions.cancel)

    @editions_app.command("release-domain")
    def editions_release_domain(edition_id: int = EDITION_ID,
                                domain: str = typer.Argument(..., metavar="DOMAIN", show_default=False)):
        """Let a recipient domain held after policy refusals receive this edition again."""
        with session_scope() as session:
            released = operator_editions.release_domain(session, cli_actor(), edition_id, domain)
        console.print(f"edition {edition_id}: {released} deliveries to {domain} are pending again")
        _deliver(edition_id, E.SENDING, False)

    @editions_app.command("rebuild")
    def editions_rebuild(edition_id: int = EDITION_ID):
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
    def editions_hold(edition_id: int = EDITION_ID, reason: str = _REASON):
        """Keep an edition that has not started from being sent (by the scheduler or `send`)."""
        with session_scope() as session:
            status = operator_editions.hold(session, cli_actor(), edition_id, reason)
        console.print(f"edition {edition_id}: {status} (`newsletter editions release {edition_id}` to let it go)")

    @editions_app.command("release")
    def editions_release(edition_id: int = EDITION_ID, reason: str = _REASON):
        """Let a held edition go: the scheduler starts it when due, or `send` now."""
        with session_scope() as session:
            status = operator_editions.release(session, cli_actor(), edition_id, reason)
        console.print(f"edition {edition_id}: {status}")

    edition_views.register(editions_app)
