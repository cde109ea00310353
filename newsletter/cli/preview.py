"""`newsletter preview` and `newsletter test-send`: see an edition as a reader would,
before anyone gets it. Neither writes an edition (editions/preview.py). Both are the
console's and the API's acts (operators/previews.py): the same date rule, and a test
send is audited like one from the console."""
from __future__ import annotations

import os
import webbrowser
from pathlib import Path

import typer

from newsletter import runtime
from newsletter.cli.common import DATE_HELP, PUB_ARG, console, fail, session_scope
from newsletter.cli.edition_views import print_diff, when
from newsletter.config import get_settings
from newsletter.editions.contents import items_as_read
from newsletter.editions.diff import diff_items, last_sent_edition
from newsletter.editions.models import EditKind
from newsletter.editions.preview import Preview
from newsletter.operators import previews
from newsletter.render.preview import write_parts
from newsletter.staff.access import cli_actor
from newsletter.text import shown as shown_text
from newsletter.times import parse_day

_AS = typer.Option(None, "--as", help="preview as this subscriber: their sections and name")
_SECTIONS = typer.Option(None, help="preview for these sections, comma separated")
_DATE = typer.Option(None, help=DATE_HELP)


def _describe(p, shown: Preview) -> str:
    ed = shown.edition
    where = (f"edition {ed.id}, {ed.status}" if shown.stored else
             f"not built yet: computed now, nothing stored; window {when(ed.window_start)} -> {when(ed.window_end)}")
    return f"{p.slug} for {ed.date}: {len(shown.items)} headlines for {shown.reader.label} ({where})"


def _diff(session, p, shown: Preview) -> None:
    edition = shown.edition
    if shown.stored and edition.edits:  # the editors' changes, against the selection they apply to
        console.print(f"the editors' changes ({len(edition.edits)}), against the selection:", highlight=False)
        print_diff(diff_items(edition.items, items_as_read(edition)))
        for e in edition.edits:
            if e.kind == EditKind.EDIT:
                console.print(f"  * edited: {e.headline or '(teaser only)'}", highlight=False, markup=False)
    last = last_sent_edition(session, p.id, other_than=edition.id if shown.stored else None, before=edition.date)
    if last is None:
        console.print(f"no edition of this publication was sent before {edition.date}: nothing to compare with")
        return
    print_diff(diff_items(items_as_read(last), shown.items), f"edition {last.id} of {last.date} (the last sent)")


def _target(pub: str, date, as_email, sections) -> previews.Target:
    return previews.Target(None, pub, parse_day(date, "--date"), as_email or "", sections or "")


def _say(session, what: str, p, shown: Preview, diff: bool) -> None:
    console.print(f"{what} of " + _describe(p, shown), highlight=False, markup=False)
    if diff:
        _diff(session, p, shown)


def _out_folder(out: Path | None, default: Path) -> Path:
    """The folder for the parts, made if missing: a problem with it is one line, before anything is shown."""
    folder = out or default
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        fail(f"--out {shown_text(str(folder))} is not a folder")
    except OSError as exc:
        fail(f"--out {shown_text(str(folder))}: cannot make the folder ({exc.strerror or exc})")
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(f"--out {shown_text(str(folder))}: the folder is not writable")
    return folder


def register(app: typer.Typer) -> None:
    @app.command("preview")
    def preview_command(pub: str = PUB_ARG, date: str = _DATE, as_email: str = _AS, sections: str = _SECTIONS,
                 out: Path = typer.Option(None, help="folder for the .html and .txt parts; default var/previews"),
                 open_: bool = typer.Option(False, "--open", help="open the HTML part in a browser"),
                 diff: bool = typer.Option(False, "--diff", help="new, gone and moved headlines vs the last sent")):
        """What a reader would get, written as HTML and text; changes nothing.

        An edition not built yet is computed, shown and forgotten."""
        settings = get_settings()
        folder = _out_folder(out, settings.var_dir / "previews")
        with session_scope() as session:
            found = previews.show(session, cli_actor(), settings, _target(pub, date, as_email, sections))
            p, shown, rendered = found.publication, found.preview, found.rendered
            if rendered is None:
                fail(f"the {p.slug} edition of {shown.edition.date} is empty for {shown.reader.label}: "
                     "nothing to preview")
            stem = f"{p.slug}-{shown.edition.date.isoformat()}" + (
                f"-{shown.reader.label}" if shown.reader.sections or shown.reader.email else "")
            try:
                html_path, text_path = write_parts(rendered, folder, stem)
            except OSError as exc:
                fail(f"--out {shown_text(str(folder))}: cannot write the preview ({exc.strerror or exc})")
            _say(session, "preview", p, shown, diff)
        console.print(f"subject: {rendered.subject}", highlight=False, markup=False)
        console.print(f"html: {html_path}\ntext: {text_path}", highlight=False, markup=False)
        if open_:
            webbrowser.open(html_path.absolute().as_uri())

    @app.command("test-send")
    def test_send(pub: str = PUB_ARG, to: str = typer.Option(..., help="where the test message goes (you)"),
                  date: str = _DATE, as_email: str = _AS, sections: str = _SECTIONS,
                  diff: bool = typer.Option(False, "--diff", help="also list new, gone and moved headlines")):
        """Send one test copy of what a reader would get to yourself, marked as a test.

        "[TEST] " before the subject and an X-Newsletter-Test header; through the configured
        backend; not a delivery (no delivery is recorded, the audit log says who sent it)
        and its links are inert."""
        settings = get_settings()
        with session_scope() as session:
            found = previews.show(session, cli_actor(), settings, _target(pub, date, as_email, sections))
            proof = previews.send_shown(session, cli_actor(), settings, runtime.backend(settings), found, to)
            _say(session, "test message", found.publication, found.preview, diff)  # refused before: nothing said
        console.print(f"sent to {proof.to}: {proof.subject} ({proof.headline_count} headlines; "
                      f"{settings.delivery_backend})", highlight=False, markup=False)
