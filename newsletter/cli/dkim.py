"""`newsletter dkim keygen|check`: a key pair and its DNS record; a signed sample verified."""
from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from newsletter.cli.common import PUB_ARG, console, publication, session_scope
from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.delivery.compose import sample_digest
from newsletter.dkim.check import check_publication
from newsletter.dkim.keys import KEY_SIZES, generate_key
from newsletter.errors import ConfigurationError, InvalidInput
from newsletter.publications.spec import DkimSpec


def register(app: typer.Typer) -> None:
    dkim_app = typer.Typer(help="DKIM: generate keys, check signatures.", no_args_is_help=True)
    app.add_typer(dkim_app, name="dkim")

    @dkim_app.command()
    def keygen(pub: str = PUB_ARG,
               dir: Path = typer.Option(None, "--dir", help="default: NEWSLETTER_VAR_DIR/dkim"),
               selector: str = typer.Option("", help="default: the configured one, else nlYYYYMM"),
               domain: str = typer.Option("", help="default: the configured one, else the sender's domain"),
               bits: int = typer.Option(2048, help=f"RSA key size: {', '.join(map(str, KEY_SIZES))}")):
        """Write a new key pair (the private key mode 0600) and print the DNS TXT record to publish."""
        settings = get_settings()
        with session_scope() as session:
            p = publication(session, pub)
            selector = selector or p.dkim_selector or f"nl{utcnow():%Y%m}"
            domain = domain or p.dkim_domain or p.domain
            _check_names(domain, selector)
            made = generate_key(p, dir or settings.var_dir / "dkim", selector=selector, domain=domain, bits=bits)
            slug = p.slug
        console.print(f"private key: {made.private_path} (mode 0600: keep it secret)", highlight=False, soft_wrap=True)
        console.print(f"public key:  {made.public_path}", highlight=False, soft_wrap=True)
        console.print("publish this DNS TXT record, then run `newsletter dkim check "
                      f"{slug} --dns`:", highlight=False, soft_wrap=True)
        # Plain echo: the record must come out unwrapped, to be copied whole.
        typer.echo(f"  name:  {made.record.name}")
        typer.echo(f"  value: {made.record.value}")
        typer.echo(f"  zone:  {made.record.zone_line()}")
        typer.echo("and add to the publication in the publications file:")
        typer.echo(f'  [publications.dkim]\n  domain = "{domain}"\n  selector = "{selector}"\n'
                   f'  key_file = "{made.private_path.absolute()}"')

    @dkim_app.command()
    def check(pub: str = PUB_ARG, dns: bool = typer.Option(False, "--dns", help="also verify against the key in DNS")):
        """Sign a freshly composed sample message and verify it with dkimpy."""
        settings = get_settings()
        with session_scope() as session:
            chosen = publication(session, pub)
            report = check_publication(chosen, sample_digest(settings, chosen), dns=dns)
        console.print(f"d={report.domain} s={report.selector}, {report.message_bytes:,} bytes; "
                      f"signed: {', '.join(report.signed_headers)}", highlight=False)
        for r in report.results:
            mark = "[green]ok[/]" if r.ok else "[bold red]FAILED[/]"
            console.print(f"{mark} against the {r.against}: {r.detail}", highlight=False)
        failed = [r for r in report.results if not r.ok]
        if failed:
            raise ConfigurationError(f"DKIM check failed against the {failed[0].against}: {failed[0].detail}")


def _check_names(domain: str, selector: str) -> None:
    """The same rules as the publications file."""
    try:
        DkimSpec(domain=domain, selector=selector, key_env="X")
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        raise InvalidInput(f"--{first['loc'][0]}: {first['msg']}") from None
