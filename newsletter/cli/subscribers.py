"""The subscriber list from the command line."""
from __future__ import annotations

from pathlib import Path

import typer

from newsletter.cli.common import console, fail, publication, session_scope
from newsletter.subscribers.service import add_subscriber, import_csv


def register(subscribers_app: typer.Typer) -> None:
    @subscribers_app.command("add")
    def subscribers_add(pub: str, email: str, name: str = "",
                        sections: str = typer.Option("", help="section slugs, comma separated; default all")):
        """Add (or reactivate) one subscriber."""
        with session_scope() as session:
            sub = add_subscriber(session, publication(session, pub), email, name, sections or None)
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
            report = import_csv(session, publication(session, pub), text, skip_invalid)
        for line, problem in report.errors[:50]:
            console.print(f"[red]line {line}:[/] {problem}", highlight=False)
        if report.errors and not skip_invalid:
            fail(f"{len(report.errors)} invalid row(s); nothing imported (fix them or use --skip-invalid)")
        console.print(f"{report.added} added, {report.existing} already subscribed, {len(report.errors)} invalid")
