"""Sending editions and controlling them: send (with progress), pause, resume, cancel,
release a domain, send failed deliveries again (retry); before sending: rebuild, hold,
release. What editions look like
(status, list, show, watch) is in cli/edition_views.py."""
from __future__ import annotations

import typer

from newsletter import dispatchers, runtime
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
from newsletter.cli.curation import print_changes
from newsletter.cli.progress import follow_edition, summary_line
from newsletter.config import get_settings
from newsletter.delivery.report import report, report_now
from newsletter.editions import manual
from newsletter.editions.models import EditionStatus as E
from newsletter.operators import curation
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
            dispatchers.dispatcher(get_settings()).deliver_edition(edition_id)
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
        dispatcher = dispatchers.dispatcher(settings)
        engine = runtime.engine_for(settings)
        if status == E.SENT:  # say what it is, not "queued" with nothing to send
            console.print(_sent_before(engine, edition_id), highlight=False)
            return
        if status == E.PAUSED:
            with engine.connect() as conn:
                reason = report(conn, edition_id).pause_reason
            print_error(f"edition {edition_id} is paused{f' ({reason})' if reason else ''}: nothing was sent; "
                        f"`newsletter editions resume {edition_id}` continues it", "not sent")
            raise typer.Exit(1)
        if status not in (E.BUILT, E.SENDING):
            console.print(dispatcher.deliver_edition(edition_id))
            return
        if not settings.broker_url:  # inline: the work happens here, the progress beside it
            result, _ = follow_edition(engine, edition_id, console, work=lambda: dispatcher.deliver_edition(edition_id))
            console.print(result)
            return
        console.print(dispatcher.deliver_edition(edition_id))
        if status == E.SENDING:  # already under way: where it stands, not just "queued"
            with engine.connect() as conn:
                r = report_now(conn, settings, edition_id)
            console.print(summary_line(r), highlight=False)
            for line in edition_views.waits(r, settings):
                console.print(line, highlight=False)
        if watch:
            follow_edition(engine, edition_id, console)

    def _sent_before(engine, edition_id: int) -> str:
        with engine.connect() as conn:
            r = report(conn, edition_id)
        failed = r.counts["failed"]
        by_class = ", ".join(f"{k or 'unknown'} {v}" for k, v in sorted(r.failures.items()))
        line = (f"edition {edition_id} was sent before ({r.counts['sent']} sent, {failed} failed"
                f"{f': {by_class}' if by_class else ''}, {r.counts['skipped']} skipped): nothing was sent now")
        if failed:
            line += f"; `newsletter editions retry {edition_id}` sends the failed ones again"
        return line

    def _control(edition_id: int, action, *args) -> None:
        """The same audited function as the console and the API (operators/editions.py)."""
        with session_scope() as session:
            status = action(session, cli_actor(), edition_id, *args)
        console.print(f"edition {edition_id}: {status}")

    @editions_app.command("pause")
    def editions_pause(edition_id: int = EDITION_ID,
                       reason: str = typer.Option("", help="why: shown by `editions status` and kept in the audit")):
        """Stop sending at the next message; resume continues from the checkpoint."""
        _control(edition_id, operator_editions.pause, reason)

    @editions_app.command("resume")
    def editions_resume(edition_id: int = EDITION_ID, watch: bool = typer.Option(False, "--watch")):
        """Continue a paused edition (after fixing what paused it)."""

        def deliver(_: int) -> None:  # the act calls this once it has committed
            console.print(f"edition {edition_id}: {E.SENDING}")
            _deliver(edition_id, E.SENDING, watch)

        with session_scope() as session:
            status = operator_editions.resume(session, cli_actor(), edition_id, deliver=deliver)
        if status != E.SENDING:
            console.print(f"edition {edition_id}: {status}")

    @editions_app.command("cancel")
    def editions_cancel(edition_id: int = EDITION_ID):
        """Send nothing more of this edition (a new send of its date needs `send --force`)."""
        _control(edition_id, operator_editions.cancel)

    @editions_app.command("release-domain")
    def editions_release_domain(edition_id: int = EDITION_ID,
                                domain: str = typer.Argument(..., metavar="DOMAIN", show_default=False)):
        """Let a recipient domain held after policy refusals receive this edition again."""

        def deliver(_: int) -> None:  # the act calls this once it has committed
            console.print(f"edition {edition_id}: deliveries to {domain} are pending again")
            _deliver(edition_id, E.SENDING, False)

        with session_scope() as session:
            released = operator_editions.release_domain(session, cli_actor(), edition_id, domain, deliver=deliver)
        console.print(f"edition {edition_id}: {released} deliveries to {domain} released", highlight=False)

    @editions_app.command("retry")
    def editions_retry(edition_id: int = EDITION_ID,
                       failure_class: str = typer.Option("", "--class", metavar="CLASS",
                                                         help="only this failure class (e.g. temporary)"),
                       watch: bool = typer.Option(False, "--watch")):
        """Send an edition's failed deliveries again (never to anyone unsubscribed, disabled or
        suppressed since: they stay failed). Audited."""
        which = f"{failure_class} " if failure_class else ""

        def deliver(_: int) -> None:  # the act calls this once it has committed, if it is sending
            _deliver(edition_id, E.SENDING, watch)

        with session_scope() as session:
            done = operator_editions.retry(session, cli_actor(), edition_id, failure_class, deliver=deliver)
        left = f"; {done.left} left failed (no longer subscribed, disabled or suppressed)" if done.left else ""
        console.print(f"edition {edition_id}: {done.reopened} failed {which}deliveries to send again{left}",
                      highlight=False)
        if done.reopened and done.status == E.PAUSED:
            console.print(f"edition {edition_id} is paused: `newsletter editions resume {edition_id}` sends them",
                          highlight=False)

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
            if d.changed:
                console.print("the selection now adds (+) and drops (-):", highlight=False)
            edition_views.print_diff(d)
            desk = curation.desk(session, cli_actor(), edition_id)
            if desk.edits:  # the editors' changes stay (editions/contents.py)
                console.print(f"the editors' changes kept: {len(desk.edits)}; the edition as read has "
                              f"{len(desk.items)} headlines", highlight=False)
                print_changes(desk)

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
