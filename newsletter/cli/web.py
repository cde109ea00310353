"""`newsletter web` (the subscriber web server) and `newsletter stats`."""
from __future__ import annotations

import typer
from rich.table import Table

from newsletter.cli.common import console, session_scope
from newsletter.tracking.stats import edition_stats


def register(app: typer.Typer) -> None:
    @app.command()
    def web(host: str = "127.0.0.1", port: int = 8000):
        """Serve unsubscribe, preferences, sign-up and view-in-browser pages (uvicorn)."""
        import uvicorn

        from newsletter.config import get_settings
        from newsletter.logs import configure_logging, logging_config
        from newsletter.web.app import create_app
        from newsletter.web.server import config

        settings = get_settings()
        configure_logging(settings)  # before create_app: migration and key warnings go through it too
        uvicorn.Server(config(create_app(settings), host=host, port=port, proxy_headers=True,
                              log_config=logging_config(settings), log_level=settings.log_level.lower())).run()

    @app.command()
    def stats(publication: str = typer.Option("", help="one publication's slug"),
              limit: int = typer.Option(30, min=1)):
        """Per edition: sent, unsubscribes, unsubscribe rate, by method."""
        with session_scope() as session:
            rows = edition_stats(session, publication or None, limit)
        table = Table("edition", "publication", "date", "sent", "unsubscribes", "rate", "by method")
        for r in rows:
            table.add_row(str(r.edition_id), r.publication, r.date, str(r.sent), str(r.unsubscribes),
                          f"{r.rate:.2%}", ", ".join(f"{k} {v}" for k, v in sorted(r.by_method.items())) or "-")
        console.print(table)
