"""`newsletter bounces process|list|show|reprocess`: bounces and complaints that arrived later."""
from __future__ import annotations

import typer
from rich.table import Table

from newsletter import runtime
from newsletter.bounces import intake, store
from newsletter.cli.common import console, fail, session_scope
from newsletter.config import get_settings
from newsletter.staff.access import cli_actor


def _summary(statuses) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "nothing to process"


def register(app: typer.Typer) -> None:
    bounces_app = typer.Typer(help="Bounces and complaints (DSN, ARF) that arrive after sending.",
                              no_args_is_help=True)
    app.add_typer(bounces_app, name="bounces")

    @bounces_app.command()
    def process(source: str = typer.Argument(..., help="a Maildir folder, an mbox file, or `imap` (settings)"),
                keep: bool = typer.Option(False, "--keep", help="leave the messages in the mailbox")):
        """Store every report of a mailbox (raw, first), then process them."""
        settings = get_settings()
        result = intake.collect(runtime.engine_for(settings), settings, source, keep=keep)
        console.print(f"{result.source}: {result.stored} stored, {result.known} already stored; "
                      f"processed: {_summary(result.statuses)}", highlight=False, soft_wrap=True)

    @bounces_app.command("list")
    def list_(status: str = typer.Option("", help="received, parsed, unmatched or failed"),
              limit: int = typer.Option(30, min=1, max=10000)):
        """The most recent reports: what each said and what was done."""
        with session_scope() as session:
            rows = store.recent(session, status or None, limit)
            table = Table("id", "received", "source", "status", "kind", "recipient", "code", "matched",
                          "outcome or error")
            for r in rows:
                table.add_row(str(r.id), f"{r.received_at:%Y-%m-%d %H:%M}", r.source.partition(":")[0], r.status,
                              r.kind or "-", r.recipient or "-", r.status_code or "-", r.matched_by or "-",
                              r.parse_error or r.outcome or "-")
        console.print(table)

    @bounces_app.command()
    def show(report_id: int = typer.Argument(..., min=1)):
        """One report as it was received (the raw message)."""
        with session_scope() as session:
            raw = store.get(session, report_id).raw
        typer.echo(raw.decode("utf-8", "replace") if raw else
                   "(the raw message was removed by retention: NEWSLETTER_RETENTION_BOUNCE_RAW_DAYS)")

    @bounces_app.command()
    def reprocess(ids: list[int] = typer.Argument(None, help="report ids; default: every failed and unmatched one"),
                  since: str = typer.Option("", "--since", help="YYYY-MM-DD: read every report received since "
                                                                "then again with today's rules, and mend"),
                  dry_run: bool = typer.Option(False, "--dry-run", help="with --since: show what would change")):
        """Process reports again (after a fix in reading them); with --since, read old reports
        again and mend what a misreading did (who is no longer suppressed, who now is)."""
        settings = get_settings()
        if since and ids:
            fail("give report ids or --since, not both")
        if dry_run and not since:
            fail("--dry-run goes with --since")
        engine = runtime.engine_for(settings)
        if not since:
            statuses = intake.reprocess(engine, settings, ids or None)
            console.print(f"reprocessed: {_summary(statuses)}", highlight=False)
            return
        result = intake.reread(engine, settings, cli_actor(), since, dry_run)
        _print_reread(result)


def _print_reread(result) -> None:
    out = lambda text: console.print(text, highlight=False, markup=False, soft_wrap=True)  # noqa: E731
    out(f"read again: {result.reports} reports received since {result.since:%Y-%m-%d}; "
        f"{len(result.changes)} recipients read differently")
    for c in result.changes:
        out(f"  report {c.report_id} recipient {c.position + 1} {c.recipient or '-'}: "
            f"{c.before or 'not read'} -> {c.after or 'not read'}")
    would = "would " if not result.applied else ""
    out(f"{would}no longer be suppressed: {len(result.lifted)}" if not result.applied
        else f"no longer suppressed, brought back: {len(result.lifted)}")
    for c in result.lifted:
        out(f"  subscriber {c.subscriber_id} {c.email} ({c.why})")
    out(f"{would}now be suppressed: {len(result.suppressed)}" if not result.applied
        else f"suppressed now: {len(result.suppressed)}")
    for c in result.suppressed:
        out(f"  subscriber {c.subscriber_id} {c.email} ({c.why})")
    if not result.applied:
        out("dry run: nothing changed")
