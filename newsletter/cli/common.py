"""Shared by the command modules: settings, sessions, lookups, error display."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import db, runtime
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date

console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long


def print_error(message: str, label: str = "error") -> None:
    """One line on stderr; the message is printed as is (no markup: `[...]` stays)."""
    err.print(f"[bold red]{label}:[/] {escape(' '.join(str(message).split()))}", markup=True, highlight=False)


def fail(message: str) -> None:
    print_error(message)
    raise typer.Exit(2)


@contextmanager
def session_scope():
    settings = get_settings()
    runtime.engine_for(settings)  # brings the schema up to date first
    with db.session_scope(settings.effective_database_url) as session:
        yield session


def publication(session: Session, slug: str) -> Publication:
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None:
        known = ", ".join(session.scalars(select(Publication.slug))) or "none; run `newsletter publications load`"
        fail(f"no publication {slug!r} (known: {known})")
    return pub


def edition_date(pub: Publication, value: str | None) -> date:
    if not value:
        return local_date(pub.timezone, utcnow())
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, not {value!r}")
