"""Publications, sections and feeds edited in the console: the form is turned into the
file's form of an entry (publications/file_form.py) and judged by the file's own
validation, so the console accepts exactly what `publications load` would. A refusal
is the form again, with every problem, answered 400: nothing was saved.

The schedule's next five sends are shown under the form: after "Show next sends" (no
JavaScript needed), and as one types where scripts run (a fetch of /admin/schedule-preview).
operators/publication_edits.py decides who may do what, and records it.
"""
from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic_core import PydanticUndefined
from sqlalchemy import select

from newsletter.db import utcnow
from newsletter.ingest.feeds import FeedSpec
from newsletter.operators import publication_edits as edits
from newsletter.publications.editing import CONSOLE, FILE, Problems
from newsletter.publications.spec import PublicationSpec
from newsletter.store.models import Section
from newsletter.web.admin.console import Form, console, done

router = APIRouter()
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]

# Form fields that are the entry's own (same names as in the file), and its switches.
TEXT = ["slug", "name", "sender_name", "sender_address", "reply_to", "postal_address", "site_url",
        "cap_per_section", "schedule", "timezone", "list_id", "domain_rate_per_second", "bounce_domain",
        "operator_address", "accent_color"]
SWITCHES = ["active", "local_time", "verp", "archive"]
DKIM = ["domain", "selector", "key_file", "key_env"]
FEED_TEXT = ["name", "url", "section", "interval_minutes"]
FEED_SWITCHES = ["active", "allow_private"]
_LIST = re.compile(r"[\s,]+")


def _defaults(model) -> dict:
    return {n: f.default for n, f in model.model_fields.items() if f.default is not PydanticUndefined}


def entry_from_form(form, before: dict) -> dict:
    """The file-form entry the form describes; settings the form does not show (the logo,
    click statistics) stay as they were."""
    entry = {k: v for k, v in before.items() if k not in TEXT + SWITCHES + ["sections", "dkim"]}
    entry.update({name: str(form.get(name, "")).strip() for name in TEXT if name in form or name != "slug"})
    entry.update({name: name in form for name in SWITCHES})
    entry["sections"] = [s for s in _LIST.split(str(form.get("sections", ""))) if s]
    dkim = {k: str(form.get(f"dkim_{k}", "")).strip() for k in DKIM}
    if any(dkim.values()):
        entry["dkim"] = {k: v for k, v in dkim.items() if v or k in ("domain", "selector")}
    return entry


def form_values(entry: dict) -> dict:
    """What the form's fields show for an entry (the file's defaults where it says nothing)."""
    values = {**dict.fromkeys(TEXT, ""), **_defaults(PublicationSpec), **entry}
    values["sections"] = ", ".join(values.get("sections") or [])
    for k in DKIM:
        values[f"dkim_{k}"] = (entry.get("dkim") or {}).get(k, "")
    return values


def _preview(c, values: dict) -> dict:
    sends, problem = edits.schedule_preview(c.actor, str(values.get("schedule", "")),
                                            str(values.get("timezone", "")), utcnow())
    return {"sends": sends, "problem": problem}


def _form_page(c, values: dict, slug: str, managed_by: str, status: int = 200, problems=(), preview=None):
    return c.page("publication_form.html", status, polls=True, v=values, slug=slug, managed_by=managed_by,
                  problems=list(problems), preview=preview or _preview(c, values), FILE=FILE, CONSOLE=CONSOLE,
                  sections=_section_names(c))


def _section_names(c) -> list[tuple[str, str]]:
    return list(c.db.execute(select(Section.slug, Section.name).order_by(Section.slug)).all())


@router.get("/admin/publications/new")
def new_publication(request: Request):
    with console(request) as c:
        return _form_page(c, form_values({"active": True}), "", CONSOLE)


@router.get("/admin/publications/{slug}/edit")
def edit_publication(request: Request, slug: Slug):
    with console(request) as c:
        entry, managed_by = edits.editable(c.db, c.actor, slug)
        return _form_page(c, form_values(entry), slug, managed_by)


def _submit(request: Request, form, slug: str):
    """Save, or (the "Show next sends" button) show the schedule's next sends without saving."""
    with console(request, form) as c:
        before = edits.editable(c.db, c.actor, slug)[0] if slug else {}
        entry = entry_from_form(form, before)
        if form.get("action") == "preview":
            managed_by = edits.editable(c.db, c.actor, slug)[1] if slug else CONSOLE
            return _form_page(c, form_values(entry), slug, managed_by)
    w = request.app.state.web
    base = w.settings.publications_file.parent
    try:
        with console(request, form) as c:
            if slug:
                edits.update_publication(c.db, c.actor, slug, entry, base)
                saved = slug
            else:
                saved = edits.create_publication(c.db, c.actor, entry, base)
    except Problems as exc:  # its unit of work rolled back: nothing saved
        with console(request) as c:
            return _form_page(c, form_values(entry), slug, CONSOLE, 400, exc.problems)
    return done(f"/admin/publications/{saved}/edit", "updated" if slug else "created")


@router.post("/admin/publications/new")
def create_publication(request: Request, form: Form):
    return _submit(request, form, "")


@router.post("/admin/publications/{slug}/edit")
def update_publication(request: Request, slug: Slug, form: Form):
    return _submit(request, form, slug)


@router.post("/admin/publications/{slug}/take-over")
def take_over(request: Request, slug: Slug, form: Form):
    with console(request, form) as c:
        edits.set_manager(c.db, c.actor, slug, CONSOLE)
    return done(f"/admin/publications/{slug}/edit", "taken_over")


@router.post("/admin/publications/{slug}/hand-back")
def hand_back(request: Request, slug: Slug, form: Form):
    with console(request, form) as c:
        edits.set_manager(c.db, c.actor, slug, FILE)
    return done(f"/admin/publications/{slug}/edit", "handed_back")


@router.get("/admin/schedule-preview")
def schedule_preview(request: Request):
    """The next five sends of a schedule as typed (JSON, for the form's script)."""
    q = request.query_params
    with console(request) as c:
        sends, problem = edits.schedule_preview(c.actor, q.get("schedule", "")[:100], q.get("timezone", "")[:64],
                                                utcnow())
    return {"problem": problem, "sends": [{"utc": f"{t:%Y-%m-%d %H:%M} UTC", "iso": t.isoformat()} for t in sends]}


@router.post("/admin/sections")
def save_section(request: Request, form: Form):
    slug, name = str(form.get("slug", "")).strip(), str(form.get("name", "")).strip()
    try:
        with console(request, form) as c:
            edits.save_section(c.db, c.actor, slug, name)
    except Problems as exc:
        with console(request) as c:
            return c.page("error.html", 400, title="Invalid input", message="; ".join(exc.problems))
    return done("/admin/publications", "section_saved")


def _feed_entry(form, before: dict) -> dict:
    entry = {k: v for k, v in before.items() if k not in FEED_TEXT + FEED_SWITCHES}
    entry.update({name: str(form.get(name, "")).strip() for name in FEED_TEXT if name in form or name != "name"})
    entry.update({name: name in form for name in FEED_SWITCHES})
    return entry


def _feed_page(c, values: dict, name: str, managed_by: str, status: int = 200, problems=()):
    values = {**dict.fromkeys(FEED_TEXT, ""), **_defaults(FeedSpec), **values}
    return c.page("feed_form.html", status, v=values, name=name, managed_by=managed_by,
                  problems=list(problems), FILE=FILE, CONSOLE=CONSOLE, sections=_section_names(c))


@router.get("/admin/feeds/new")
def new_feed(request: Request):
    with console(request) as c:
        return _feed_page(c, {}, "", CONSOLE)


@router.get("/admin/feeds/{name}/edit")
def edit_feed(request: Request, name: Slug):
    with console(request) as c:
        entry, managed_by = edits.editable_feed(c.db, c.actor, name)
        return _feed_page(c, entry, name, managed_by)


def _submit_feed(request: Request, form, name: str):
    with console(request, form) as c:
        before = edits.editable_feed(c.db, c.actor, name)[0] if name else {}
    entry = _feed_entry(form, before)
    try:
        with console(request, form) as c:
            saved = edits.save_feed(c.db, c.actor, entry, name)
    except Problems as exc:
        with console(request) as c:
            return _feed_page(c, entry, name, CONSOLE, 400, exc.problems)
    return done(f"/admin/feeds/{saved}/edit", "updated" if name else "created")


@router.post("/admin/feeds/new")
def create_feed(request: Request, form: Form):
    return _submit_feed(request, form, "")


@router.post("/admin/feeds/{name}/edit")
def update_feed(request: Request, name: Slug, form: Form):
    return _submit_feed(request, form, name)


@router.post("/admin/feeds/{name}/take-over")
def take_over_feed(request: Request, name: Slug, form: Form):
    with console(request, form) as c:
        edits.set_feed_manager(c.db, c.actor, name, CONSOLE)
    return done(f"/admin/feeds/{name}/edit", "taken_over")


@router.post("/admin/feeds/{name}/hand-back")
def hand_back_feed(request: Request, name: Slug, form: Form):
    with console(request, form) as c:
        edits.set_feed_manager(c.db, c.actor, name, FILE)
    return done(f"/admin/feeds/{name}/edit", "handed_back")
