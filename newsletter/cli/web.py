"""`newsletter web` (the subscriber web server) and `newsletter stats`."""
from __future__ import annotations

import typer
from rich.table import Table

from newsletter.cli.common import console, err, session_scope
from newsletter.cli.stats_json import print_json, stats_document
from newsletter.reports.stats import complaint_warnings, daily_stats, edition_stats


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
        uvicorn.Server(config(create_app(settings), host=host, port=port,
                              log_config=logging_config(settings), log_level=settings.log_level.lower())).run()

    @app.command()
    def stats(publication: str = typer.Option("", help="one publication's slug"),
              limit: int = typer.Option(30, min=1),
              as_json: bool = typer.Option(False, "--json", help="per day and per section, clicks included, as JSON "
                                                               "(the console's charts, the API's /stats/...)"),
              edition: int = typer.Option(0, help="with --json: one edition, per day, section and headline")):
        """Per edition and per day: sent, unsubscribes (by method), bounces, complaints and their rates;
        a warning for any complaint rate above 0.3%."""
        if as_json or edition:
            print_json(stats_document(publication, limit, edition))
            return
        with session_scope() as session:
            rows = edition_stats(session, publication or None, limit)
            days = daily_stats(session, rows)
        table = Table("edition", "publication", "date", "sent", "unsubscribes", "rate", "bounces", "complaints",
                      "complaint rate", "by method")
        for r in rows:
            table.add_row(str(r.edition_id), r.publication, r.date, str(r.sent), str(r.unsubscribes),
                          f"{r.rate:.2%}", str(r.bounces), str(r.complaints), f"{r.complaint_rate:.3%}",
                          ", ".join(f"{k} {v}" for k, v in sorted(r.by_method.items())) or "-")
        console.print(table)
        per_day = Table("date", "sent", "complaints", "complaint rate", title="complaints per day")
        for d in days:
            per_day.add_row(d.date, str(d.sent), str(d.complaints), f"{d.complaint_rate:.3%}")
        console.print(per_day)
        for warning in complaint_warnings(rows, days):
            err.print(f"[bold yellow]warning:[/] {warning}", markup=True, highlight=False, soft_wrap=True)
