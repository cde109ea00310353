"""The subscriber list from the command line."""
from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from newsletter.cli.common import console, fail, publication, session_scope
from newsletter.cli.progress import counting
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber
from newsletter.subscribers.service import add_subscriber, import_csv, normalise_email
from newsletter.tracking.models import Method


def register(subscribers_app: typer.Typer) -> None:
    @subscribers_app.command("add")
    def subscribers_add(pub: str, email: str, name: str = "",
                        sections: str = typer.Option("", help="section slugs, comma separated; default all")):
        """Add one subscriber (active at once: you have their consent). Someone who left is not
        brought back by this: see `subscribers resubscribe`."""
        with session_scope() as session:
            sub = add_subscriber(session, publication(session, pub), email, name, sections or None)
            console.print(f"subscribed {sub.subscriber.email} to {pub}")

    @subscribers_app.command("resubscribe")
    def subscribers_resubscribe(pub: str, email: str):
        """At their request: bring back someone who unsubscribed (lifts their own unsubscribe,
        recorded with the admin method). Refused for bounces, complaints and admin suppressions."""
        with session_scope() as session:
            p = publication(session, pub)
            subscriber = session.scalar(select(Subscriber).where(Subscriber.email == normalise_email(email)))
            if subscriber is None:
                fail(f"no subscriber {email!r}")
            changed = lifecycle.resubscribe(session, subscriber, p, Method.ADMIN)
            console.print(f"{subscriber.email} is subscribed to {pub}" + ("" if changed else " (already was)"))

    @subscribers_app.command("import")
    def subscribers_import(pub: str, file: Path,
                           skip_invalid: bool = typer.Option(False, help="import the good rows anyway")):
        """Import a CSV (columns: email, name, sections). One bad row: nothing imported."""
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {file}: {exc}")
        with session_scope() as session, counting(console, f"importing {file.name}") as advance:
            report = import_csv(session, publication(session, pub), text, skip_invalid, progress=advance)
        for line, problem in report.errors[:50]:
            console.print(f"[red]line {line}:[/] {problem}", highlight=False)
        if report.errors and not skip_invalid:
            fail(f"{len(report.errors)} invalid row(s); nothing imported (fix them or use --skip-invalid)")
        console.print(f"{report.added} added, {report.existing} already subscribed, {len(report.errors)} invalid")
