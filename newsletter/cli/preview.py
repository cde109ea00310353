"""`newsletter preview` and `newsletter test-send`: see an edition as a reader would,
before anyone gets it. Neither writes to the database (editions/preview.py)."""
from __future__ import annotations

import os
import webbrowser
from pathlib import Path

import typer

from newsletter import runtime
from newsletter.cli.common import DATE_HELP, PUB_ARG, console, edition_date, fail, publication, session_scope
from newsletter.cli.edition_views import print_diff, when
from newsletter.config import get_settings
from newsletter.editions.contents import items_as_read
from newsletter.editions.diff import diff_items, last_sent_edition
from newsletter.editions.models import EditKind
from newsletter.editions.preview import Preview, preview, reader_for
from newsletter.mail.proof import send_proof
from newsletter.render.preview import render_preview, write_parts
from newsletter.text import shown as shown_text

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


def _shown(session, pub: str, date, as_email, sections):
    """The publication and what its reader would get (nothing said yet: the caller checks first)."""
    p = publication(session, pub)
    return p, preview(session, p, edition_date(p, date), reader_for(session, p, as_email, sections))


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
            p, shown = _shown(session, pub, date, as_email, sections)
            if not shown.items:
                fail(f"the {p.slug} edition of {shown.edition.date} is empty for {shown.reader.label}: "
                     "nothing to preview")
            rendered = render_preview(settings, shown, p)
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
        backend; not a delivery (nothing is recorded) and its links are inert."""
        settings = get_settings()
        with session_scope() as session:
            p, shown = _shown(session, pub, date, as_email, sections)
            proof = send_proof(session, settings, runtime.backend(settings), shown, p, to)  # refuses before sending
            _say(session, "test message", p, shown, diff)
        console.print(f"sent to {proof.to}: {proof.subject} ({proof.headline_count} headlines; "
                      f"{settings.delivery_backend})", highlight=False, markup=False)
