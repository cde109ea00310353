"""`newsletter suppressions list|add|remove`: the suppression list, with reasons."""
from __future__ import annotations

import typer

from newsletter.cli.common import console, session_scope
from newsletter.config import get_settings
from newsletter.lookups import MAX_ID
from newsletter.operators import suppressions
from newsletter.staff.access import cli_actor


def register(app: typer.Typer) -> None:
    suppressions_app = typer.Typer(help="Addresses that are never mailed.", no_args_is_help=True)
    app.add_typer(suppressions_app, name="suppressions")

    @suppressions_app.command("list")
    def suppressions_list(q: str = typer.Option("", "--q", help="address prefix; a whole address finds erasures"),
                          reason: str = typer.Option("", help="unsubscribe, hard_bounce, complaint, admin, erased"),
                          publication: str = typer.Option("", help="publication slug"),
                          limit: int = typer.Option(50, min=1, max=500),
                          before: int = typer.Option(None, min=1, max=MAX_ID)):
        """id, address (or erased), publication (or all), reason, created, note (tab-separated)."""
        with session_scope() as session:
            page = suppressions.search(session, cli_actor(), get_settings().signing_key(), q, reason, publication,
                                       before, limit)
        for s in page.items:
            who = s["email"] or f"(erased {s['email_hash']}...)"
            print("\t".join([str(s["id"]), who, s["publication"] or "all", s["reason"], s["created_at"][:19],
                             s["note"]]))
        if page.next_cursor:
            typer.echo(f"next page: --before {page.next_cursor}", err=True)

    @suppressions_app.command("add")
    def suppressions_add(email: str, reason: str = typer.Option(..., help="why (kept with the suppression)"),
                         publication: str = typer.Option("", help="one publication; default every one")):
        """Never mail this address (for one publication, or any)."""
        with session_scope() as session:
            row = suppressions.add(session, cli_actor(), get_settings().signing_key(), email, reason, publication)
            console.print(f"suppression {row.id}: {row.email} ({publication or 'every publication'})",
                          highlight=False)

    @suppressions_app.command("remove")
    def suppressions_remove(suppression_id: int = typer.Argument(..., min=1, max=MAX_ID),
                            reason: str = typer.Option(..., help="why (kept in the audit log)"),
                            override: bool = typer.Option(False, help="needed for complaints and erasures")):
        """Lift a suppression. Complaints and erasures need --override."""
        with session_scope() as session:
            suppressions.remove(session, cli_actor(), suppression_id, reason, override)
        console.print(f"suppression {suppression_id} removed")
