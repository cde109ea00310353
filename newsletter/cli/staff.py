"""Staff accounts, API tokens and the audit log from the command line:
`newsletter staff add|list|disable|enable|role|publications|reset-password|reset-2fa|require-2fa`,
`newsletter tokens create|list|revoke`, `newsletter audit list|export`. The command line
acts as an admin for every publication."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from newsletter.cli.common import console, fail, session_scope
from newsletter.config import get_settings
from newsletter.csvout import csv_chunks
from newsletter.links import Links
from newsletter.lookups import MAX_ID
from newsletter.staff import accounts, api_tokens, audit, second_factor
from newsletter.staff.access import cli_actor
from newsletter.staff.passwords import MIN_LENGTH


def register(app: typer.Typer) -> None:
    staff_app = typer.Typer(help="Staff accounts (admin, operator, viewer).", no_args_is_help=True)
    tokens_app = typer.Typer(help="API tokens for the REST API.", no_args_is_help=True)
    audit_app = typer.Typer(help="The audit log of staff changes.", no_args_is_help=True)
    app.add_typer(staff_app, name="staff")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(audit_app, name="audit")
    _staff(staff_app)
    _tokens(tokens_app)
    _audit(audit_app)


def _link(token: str) -> str:
    return Links.from_settings(get_settings()).set_password(token)


def _staff(staff_app: typer.Typer) -> None:
    @staff_app.command("add")
    def staff_add(email: str, role: str = typer.Option(..., help="admin, operator or viewer"),
                  link: bool = typer.Option(False, "--link", help="print a one-time set-password link instead "
                                                                  "of asking for a password"),
                  sso_only: bool = typer.Option(False, "--sso-only", help="signs in with single sign-on only: "
                                                                          "no password"),
                  publication: list[str] = typer.Option(None, "--publication", help="the role holds for this "
                                                        "publication only (repeat for several; none: every one)")):
        """Add an account. Asks for its password (twice), or prints a one-time link to set it."""
        password = None
        if not link and not sso_only:
            password = typer.prompt(f"Password (at least {MIN_LENGTH} characters)", hide_input=True,
                                    confirmation_prompt=True)
        with session_scope() as session:
            new = accounts.add(session, cli_actor(), get_settings().signing_key(), email, role, password, sso_only)
            if publication:
                accounts.set_publications(session, cli_actor(), new.account.id, publication)
            scope = f", {', '.join(publication)}" if publication else ""
            console.print(f"staff account {new.account.id}: {new.account.email} ({new.account.role}{scope})",
                          highlight=False)
        if new.link_token:
            console.print(f"set-password link (works once, for 3 days): {_link(new.link_token)}", highlight=False,
                          soft_wrap=True)

    @staff_app.command("list")
    def staff_list():
        """id, address, role, active, last sign-in, publications (* every one), how they sign in (tab-separated)."""
        with session_scope() as session:
            for a in accounts.accounts(session, cli_actor()):
                d = accounts.describe(session, a)
                last = a.last_login_at.isoformat()[:19] if a.last_login_at else "-"
                factor = "sso" if a.sso_only else "2fa" if d["second_factor"] else "password"
                print(f"{a.id}\t{a.email}\t{a.role}\t{'active' if a.active else 'disabled'}\t{last}\t"
                      f"{','.join(d['publications'] or ['*'])}\t{factor}")

    @staff_app.command("publications")
    def staff_publications(account: str = typer.Argument(..., help="id or address"),
                           publication: list[str] = typer.Argument(None, help="slugs; none: every publication")):
        """The publications an account's role holds for (none named: every one)."""
        with session_scope() as session:
            a = accounts.set_publications(session, cli_actor(), account, publication or None)
            console.print(f"{a.email}: {', '.join(accounts.publication_slugs(session, a.id) or ['every publication'])}",
                          highlight=False)

    @staff_app.command("reset-2fa")
    def staff_reset_2fa(account: str = typer.Argument(..., help="id or address")):
        """Remove an account's second factor (a lost device): its recovery codes and remembered browsers go too."""
        with session_scope() as session:
            a = accounts.find(session, account, cli_actor())
            second_factor.turn_off(session, cli_actor(), a)
            console.print(f"{a.email} has no second factor now", highlight=False)

    @staff_app.command("require-2fa")
    def staff_require_2fa(who: str = typer.Argument(..., help="none, admins or all")):
        """Require a second factor of admins or of every account (set up at their next sign-in)."""
        with session_scope() as session:
            value = second_factor.set_policy(session, cli_actor(), who)
            console.print(f"a second factor is required of: {value}", highlight=False)

    @staff_app.command("disable")
    def staff_disable(account: str = typer.Argument(..., help="id or address")):
        """No more sign-ins or API calls; their sessions end now."""
        with session_scope() as session:
            a = accounts.disable(session, cli_actor(), account)
            console.print(f"{a.email} is disabled", highlight=False)

    @staff_app.command("enable")
    def staff_enable(account: str = typer.Argument(..., help="id or address")):
        with session_scope() as session:
            a = accounts.enable(session, cli_actor(), account)
            console.print(f"{a.email} is enabled", highlight=False)

    @staff_app.command("role")
    def staff_role(account: str = typer.Argument(..., help="id or address"),
                   role: str = typer.Argument(..., help="admin, operator or viewer")):
        with session_scope() as session:
            a = accounts.set_role(session, cli_actor(), account, role)
            console.print(f"{a.email} is {a.role}", highlight=False)

    @staff_app.command("reset-password")
    def staff_reset_password(account: str = typer.Argument(..., help="id or address")):
        """Print a new one-time set-password link (the current password works until it is used)."""
        with session_scope() as session:
            token = accounts.reset_link(session, cli_actor(), get_settings().signing_key(), account)
        console.print(_link(token), highlight=False, soft_wrap=True)


def _tokens(tokens_app: typer.Typer) -> None:
    @tokens_app.command("create")
    def tokens_create(account: str = typer.Option(..., help="the staff account (id or address)"),
                      name: str = typer.Option(..., help="what the token is for"),
                      role: str = typer.Option("", help="at most the account's role; default: its role")):
        """Create a token and print it: it is shown this once."""
        with session_scope() as session:
            row, raw = api_tokens.create(session, cli_actor(), name, role or None, account)
            console.print(f"token {row.id} ({row.role}) for account {row.staff_id}; keep it now, it is not shown "
                          "again:", highlight=False)
        print(raw)

    @tokens_app.command("list")
    def tokens_list(account: str = typer.Option("*", help="id or address; * for every account")):
        """id, account, role, name, prefix, created, last used, revoked (tab-separated)."""
        with session_scope() as session:
            for t in api_tokens.tokens(session, cli_actor(), account):
                d = api_tokens.as_dict(t)
                print("\t".join(str(d[k] or "-") for k in ("id", "staff_id", "role", "name", "prefix", "created_at",
                                                            "last_used_at", "revoked_at")))

    @tokens_app.command("revoke")
    def tokens_revoke(token_id: int = typer.Argument(..., min=1, max=MAX_ID)):
        with session_scope() as session:
            api_tokens.revoke(session, cli_actor(), token_id)
        console.print(f"token {token_id} is revoked")


def _audit(audit_app: typer.Typer) -> None:
    @audit_app.command("list")
    def audit_list(action: str = typer.Option("", help="an action or its prefix, e.g. subscriber."),
                   target: str = typer.Option("", help="e.g. subscriber:17"),
                   limit: int = typer.Option(50, min=1, max=1000)):
        """Newest first, one JSON object per line."""
        with session_scope() as session:
            for e in audit.entries(session, cli_actor(), action, target, None, None, limit):
                print(json.dumps(audit.as_dict(e)))

    @audit_app.command("export")
    def audit_export(output: Path = typer.Option(None, "--output", "-o", help="default: standard output")):
        """The whole log as CSV, oldest first."""
        try:
            out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        except OSError as exc:
            fail(f"cannot write {output}: {exc}")
        with session_scope() as session:
            for chunk in csv_chunks(audit.export_rows(session, cli_actor())):
                out.write(chunk)
        if output:
            out.close()
