"""`newsletter feeds status` and `newsletter feeds poll [NAME]`: the feeds declared in
the publications file ([[feeds]]), what their polls did, and a poll by hand."""
from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table
from sqlalchemy import select

from newsletter import runtime
from newsletter.cli.common import console, session_scope
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.ingest.models import Feed
from newsletter.operators import feeds as operator_feeds
from newsletter.staff.access import cli_actor


def register(app: typer.Typer) -> None:
    feeds_app = typer.Typer(help="Feeds that poll themselves (declared as \\[\\[feeds]] in the publications file).",
                            no_args_is_help=True)
    app.add_typer(feeds_app, name="feeds")

    @feeds_app.command("status")
    def status():
        """Each feed: interval, last success, last error, articles added, next poll."""
        now = utcnow()
        with session_scope() as session:
            rows = operator_feeds.status(session, cli_actor(), now)  # the console's and the API's view
        if not rows:
            console.print("no feeds: declare [[feeds]] in the publications file, then "
                          "`newsletter publications load`", markup=False)
            return
        table = Table("feed", "every", "last success", "last error", "added (last / total)", "next poll")
        for f in rows:
            error = f"{_ago(_time(f['last_error_at']), now)}: {f['last_error']}" if f["last_error"] else "-"
            if f["consecutive_errors"]:
                error += f" ({f['consecutive_errors']} in a row)"
            table.add_row(f["name"] + ("" if f["active"] else " (inactive)") + f"\n{f['url']}",
                          f"{f['interval_minutes']} min", _ago(_time(f["last_success_at"]), now), error,
                          f"{f['last_added']} / {f['total_added']}",
                          _when(_time(f["next_poll_at"]), now) if f["active"] else "-")
        console.print(table)

    @feeds_app.command("poll")
    def poll(name: str = typer.Argument(None, help="one feed; default: every active feed")):
        """Poll now, whether or not the feed is due (a conditional GET all the same)."""
        settings = get_settings()
        engine = runtime.engine_for(settings)
        with session_scope() as session:
            names = [name] if name else list(session.scalars(
                select(Feed.name).where(Feed.active.is_(True)).order_by(Feed.name)))
        failed = 0
        for feed_name in names:
            r = operator_feeds.poll(engine, settings, cli_actor(), feed_name)
            if r.outcome == "error":
                failed += 1
                console.print(f"[red]{feed_name}: {r.error}[/]", highlight=False)
            else:
                console.print(f"{feed_name}: {r.outcome}, {r.added} added, {r.updated} updated, "
                              f"{r.skipped} skipped", highlight=False)
        if not names:
            console.print("no active feeds")
        if failed:
            raise typer.Exit(2)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return f"{when:%Y-%m-%d %H:%M} UTC ({_span((now - when).total_seconds())} ago)"


def _when(when: datetime | None, now: datetime) -> str:
    if when is None or when <= now:
        return "due now"
    return f"{when:%Y-%m-%d %H:%M} UTC (in {_span((when - now).total_seconds())})"


def _span(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
