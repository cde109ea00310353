"""`newsletter retention [--dry-run]`: table sizes, and what retention removes (or would).

Beat runs the same pass daily (workers/tasks.py), `newsletter run` on its own schedule
(scheduler.py); the rules and the defaults are in newsletter/retention/ and
newsletter/settings/housekeeping.py.
"""
from __future__ import annotations

import typer
from rich.table import Table

from newsletter import runtime
from newsletter.cli.common import console
from newsletter.config import get_settings
from newsletter.retention import run as retention


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _sizes(title: str, sizes) -> Table:
    table = Table(title=title)
    for col in ("table", "rows", "on disk"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for name, rows, size in sizes:
        table.add_row(name, f"{rows:,}", _bytes(size))
    return table


def register(app: typer.Typer) -> None:
    @app.command("retention")
    def retention_command(dry_run: bool = typer.Option(False, "--dry-run",
                                                       help="show what would be removed; change nothing")):
        """Roll up and remove old delivery rows, raw bounce reports, audit entries and
        outbox files, each after its own number of days (NEWSLETTER_RETENTION_*)."""
        settings = get_settings()
        engine = runtime.engine_for(settings)
        outcome = retention.run(engine, settings, dry_run=dry_run)
        console.print(_sizes("before" if not dry_run else "now", outcome.sizes))
        table = Table(title="would remove" if dry_run else "removed")
        for col in ("what", "kept (days)", "older than", "count", "size", ""):
            table.add_column(col, justify="right" if col in ("kept (days)", "count", "size") else "left")
        for p in outcome.parts:
            table.add_row(p.what, str(p.kept_days), f"{p.before:%Y-%m-%d %H:%M}Z", f"{p.count:,}",
                          _bytes(p.size) if p.size else "-", p.note)
        console.print(table)
        if not dry_run:
            with engine.connect() as conn:
                console.print(_sizes("after", retention.table_sizes(conn)))
