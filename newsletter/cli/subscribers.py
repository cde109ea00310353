"""The subscriber list from the command line: add, import, list, show, export, disable,
enable, re-subscribe, erase. Each change is made as the command line's admin actor
(staff/access.py: cli_actor) and audited like a change from the console or the API."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from newsletter import runtime
from newsletter.cli.common import PUB_ARG, console, fail, session_scope
from newsletter.cli.progress import counting
from newsletter.config import get_settings
from newsletter.lookups import MAX_ID
from newsletter.operators import imports, subscribers
from newsletter.staff.access import cli_actor


def _filters(q, status, publication, subscription, section, created_from, created_to) -> subscribers.Filters:
    return subscribers.Filters.from_query({"q": q, "status": status, "publication": publication,
                                      "subscription": subscription, "section": section,
                                      "created_from": created_from, "created_to": created_to})


Q = typer.Option("", "--q", help="address prefix, or name prefix, or @domain (every address at it)")
STATUS = typer.Option("", help="active or disabled")
PUB = typer.Option("", "--publication", help="publication slug")
SUBSCRIPTION = typer.Option("", help="pending, active or unsubscribed (in --publication, or in any)")
SECTION = typer.Option("", help="section slug (needs --publication)")
FROM = typer.Option(None, "--created-from", help="YYYY-MM-DD or an ISO 8601 time (no offset: UTC)")
TO = typer.Option(None, "--created-to", help="YYYY-MM-DD or an ISO 8601 time (no offset: UTC), exclusive")


def register(subscribers_app: typer.Typer) -> None:
    @subscribers_app.command("add")
    def subscribers_add(pub: str = PUB_ARG, email: str = typer.Argument(..., metavar="EMAIL", show_default=False),
                        name: str = "",
                        sections: str = typer.Option("", help="section slugs, comma separated; default all"),
                        timezone: str = typer.Option("", help="IANA time zone; default the publication's")):
        """Add one subscriber (active at once: you have their consent). Someone who left is not
        brought back by this: see `subscribers resubscribe`."""
        with session_scope() as session:
            subscriber = subscribers.create(session, cli_actor(), get_settings().signing_key(), pub, email, name,
                                      sections or None, timezone)
            console.print(f"subscribed {subscriber.email} to {pub} (subscriber {subscriber.id})", highlight=False)

    @subscribers_app.command("resubscribe")
    def subscribers_resubscribe(pub: str = PUB_ARG,
                                subscriber: str = typer.Argument(..., metavar="SUBSCRIBER", help="id or address")):
        """At their request: bring back someone who unsubscribed (lifts their own unsubscribe,
        recorded with the admin method). Refused for bounces, complaints and admin suppressions."""
        with session_scope() as session:
            s = subscribers.find(session, cli_actor(), subscriber)
            changed = subscribers.resubscribe(session, cli_actor(), get_settings().signing_key(), s.id, pub)
            console.print(f"{s.email} is subscribed to {pub}" + ("" if changed else " (already was)"),
                          highlight=False)

    @subscribers_app.command("import")
    def subscribers_import(pub: str = PUB_ARG, file: Path = typer.Argument(..., metavar="FILE", show_default=False),
                           skip_invalid: bool = typer.Option(False, help="import the good rows anyway")):
        """Import a CSV (columns: email, name, sections, timezone). One bad row: nothing imported.
        Nobody who left or is suppressed is subscribed again (they are reported by line)."""
        try:
            with file.open("rb") as fh:  # the file is read as the import goes, never whole into memory
                lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
        except OSError as exc:
            fail(f"cannot read {file}: {exc}")
        settings = get_settings()
        rows = max(lines - 1, 1)  # a line a row but for quoted line breaks: the bar's first guess
        with counting(console, f"reading {file.name}", rows) as advance:
            job = imports.import_now(runtime.engine_for(settings), settings.signing_key(), cli_actor(), pub, file,
                                     skip_invalid, progress=advance)
            advance(job["processed"] or 0, job["processed"] or 0)
        for item in job["errors"][:50]:
            console.print(f"[red]line {item['line']}:[/] {item['problem']}", highlight=False)
        for item in job["not_resubscribed_lines"][:50]:
            console.print(f"[yellow]line {item['line']}:[/] {item['why']}", highlight=False)
        if job["status"] != imports.JobStatus.DONE:
            fail(job["message"] or f"import {job['id']} {job['status']}")
        console.print(f"{job['added']} added, {job['existing']} already subscribed, {job['not_resubscribed']} "
                      f"not subscribed again, {job['invalid']} invalid, {job['duplicates']} duplicate rows",
                      highlight=False)

    @subscribers_app.command("list")
    def subscribers_list(q: str = Q, status: str = STATUS, publication: str = PUB, subscription: str = SUBSCRIPTION,
                         section: str = SECTION, created_from: str = FROM, created_to: str = TO,
                         limit: int = typer.Option(50, min=1, max=500),
                         before: int = typer.Option(None, min=1, max=MAX_ID),
                         as_json: bool = typer.Option(False, "--json", help="one JSON object per line")):
        """Search, newest first: id, address, name, status, created, subscriptions (tab-separated)."""
        f = _filters(q, status, publication, subscription, section, created_from, created_to)
        with session_scope() as session:
            page = subscribers.search(session, cli_actor(), f, before, limit)
        for item in page.items:
            if as_json:
                print(json.dumps(item))
            else:
                subs = " ".join(f"{x['publication']}:{x['status']}" for x in item["subscriptions"])
                print("\t".join([str(item["id"]), item["email"], item["name"], item["status"],
                                 item["created_at"][:19], subs]))
        more = f"; next page: --before {page.next_cursor}" if page.next_cursor else ""
        total = f"about {page.total}" if page.total_is_estimate else str(page.total)
        typer.echo(f"{len(page.items)} shown of {total}{more}", err=True)

    @subscribers_app.command("show")
    def subscribers_show(subscriber: str = typer.Argument(..., metavar="SUBSCRIBER", help="id or address")):
        """One subscriber as JSON: subscriptions, suppressions, deliveries and events."""
        with session_scope() as session:
            found = subscribers.find(session, cli_actor(), subscriber)
            print(json.dumps(subscribers.detail(session, cli_actor(), found.id), indent=2))

    @subscribers_app.command("export")
    def subscribers_export(q: str = Q, status: str = STATUS, publication: str = PUB, subscription: str = SUBSCRIPTION,
                           section: str = SECTION, created_from: str = FROM, created_to: str = TO,
                           output: Path = typer.Option(None, "--output", "-o", help="default: standard output"),
                           person: str = typer.Option("", help="one subscriber's data (id or address), as JSON")):
        """The search's result as CSV (safe to open in a spreadsheet), or one person's data."""
        settings = get_settings()
        if person:
            with session_scope() as session:
                found = subscribers.find(session, cli_actor(), person)
                data = json.dumps(subscribers.export_person(session, cli_actor(), found.id), indent=2)
            (output.write_text(data + "\n") if output else print(data))
            return
        f = _filters(q, status, publication, subscription, section, created_from, created_to)
        chunks = subscribers.export_csv(runtime.engine_for(settings), cli_actor(), f)
        out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            if output:
                out.close()

    def _status(ref: str, action) -> None:
        with session_scope() as session:
            s = action(session, cli_actor(), subscribers.find(session, cli_actor(), ref).id)
            console.print(f"subscriber {s.id} ({s.email}) is {s.status}", highlight=False)

    @subscribers_app.command("disable")
    def subscribers_disable(subscriber: str = typer.Argument(..., metavar="SUBSCRIBER", help="id or address")):
        """Never mail them, whatever their subscriptions say (until enabled)."""
        _status(subscriber, subscribers.disable)

    @subscribers_app.command("enable")
    def subscribers_enable(subscriber: str = typer.Argument(..., metavar="SUBSCRIBER", help="id or address")):
        _status(subscriber, subscribers.enable)

    @subscribers_app.command("erase")
    def subscribers_erase(subscriber: str = typer.Argument(..., metavar="SUBSCRIBER", help="id or address"),
                          yes: bool = typer.Option(False, "--yes", help="do not ask")):
        """GDPR erasure: removes them everywhere; a keyed hash of the address stays suppressed."""
        settings = get_settings()
        with session_scope() as session:
            s = subscribers.find(session, cli_actor(), subscriber)
            sid, email = s.id, s.email
        if not yes and not typer.confirm(f"Erase subscriber {sid} ({email}) everywhere? This cannot be undone"):
            fail("nothing erased")
        done = subscribers.erase(runtime.engine_for(settings), settings, runtime.counters(settings), cli_actor(), sid)
        console.print(f"erased subscriber {sid}: {done.deliveries} deliveries, {done.events} events made anonymous, "
                      f"{done.scrubbed} other rows cleaned, {done.outbox_files} outbox files removed", highlight=False)
