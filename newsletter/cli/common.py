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
from newsletter.lookups import valid_id
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.text import visible_controls
from newsletter.times import parse_day

console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long


def _line(text: object) -> str:
    """One line, shown as is (no markup: `[...]` stays), a control character as its escape."""
    return escape(" ".join(visible_controls(str(text)).split()))


def print_error(message: str, label: str = "error", details: list[str] | tuple[str, ...] = ()) -> None:
    """One line on stderr, whatever the message holds; `details` (a list of problems) each
    on a line of its own below it, indented."""
    err.print(f"[bold red]{label}:[/] {_line(message)}", markup=True, highlight=False)
    for detail in details:
        err.print(f"  {_line(detail)}", markup=True, highlight=False)


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


def _edition_id(value: int | None) -> int | None:
    """Refused before any database work: an id no edition can have."""
    if value is not None and not valid_id(value):
        fail(f"no edition {value}")
    return value


PUB_ARG = typer.Argument(..., metavar="PUB", help="the publication's slug", show_default=False)
EDITION_ID = typer.Argument(..., metavar="ID", help="the edition's id (`newsletter editions list PUB`)",
                            callback=_edition_id, show_default=False)
DATE_HELP = "YYYY-MM-DD; default today in the publication's time zone"
MAX_YEARS = 10  # a --date further than this from today either way is a typing mistake


def edition_date(pub: Publication, value: str | None) -> date:
    """`build` and `send`: a day near today (previews take the console's rule: operators/previews.py)."""
    today = local_date(pub.timezone, utcnow())
    day = parse_day(value, "--date")
    if day is None:
        return today
    if abs((day - today).days) > MAX_YEARS * 366:
        fail(f"--date {day} is more than {MAX_YEARS} years from today ({today}): check the year")
    return day
