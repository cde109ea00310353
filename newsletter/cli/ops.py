"""Operations commands: `newsletter migrate`, the one-shot step a deployment runs before
it starts the web, the workers and beat (docker-compose.yml's `migrate` service)."""
from __future__ import annotations

import typer
from alembic.runtime.migration import MigrationContext

from newsletter.cli.common import console
from newsletter.config import get_settings
from newsletter.db import get_engine
from newsletter.errors import Unavailable
from newsletter.logs import configure_logging, redact
from newsletter.schema import migrate as upgrade


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate():
        """Bring the database to the newest schema (safe to repeat), then exit."""
        settings = get_settings()
        configure_logging(settings)
        url = settings.effective_database_url
        try:
            upgrade(url)
            with get_engine(url).connect() as conn:
                heads = MigrationContext.configure(conn).get_current_heads()
        except Exception as exc:
            # Usually the database is not up yet or refuses us: one line, exit 2.
            raise Unavailable(f"cannot migrate the database: {type(exc).__name__}: "
                              f"{_first_line(exc)}") from exc
        console.print(f"database at revision {', '.join(sorted(heads))} (newest)", highlight=False)


def _first_line(exc: Exception) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()  # the driver's words, not SQLAlchemy's
    return redact(lines[0]) if lines else ""
