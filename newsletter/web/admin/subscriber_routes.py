"""Subscribers: search (keyset pages), one subscriber with their history, add, edit,
disable and enable, re-subscribe at their request, their data as JSON, the export of a
search as CSV, and erasure after a confirmation step. Reads for every role; changes,
exports and erasure are the admins' (the domain functions say so)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from newsletter.http_common import ctx
from newsletter.lookups import parse_id
from newsletter.operators import publications, subscribers
from newsletter.staff.access import Permission, require_everywhere
from newsletter.web.admin.console import Form, Id, console, done

router = APIRouter()
FILTERS = ("q", "status", "publication", "subscription", "section", "created_from", "created_to")


def _filters(request: Request) -> tuple[subscribers.Filters, dict]:
    raw = {k: request.query_params.get(k, "")[:320] for k in FILTERS}
    f = subscribers.Filters.from_query(raw)  # a time's offset honoured, as on the API and the command line
    return f, {k: v for k, v in raw.items() if v}


def _before(request: Request) -> int | None:
    return parse_id(request.query_params.get("before", ""), "before")


@router.get("/admin/subscribers")
def subscribers_page(request: Request):
    f, shown = _filters(request)
    with console(request) as c:
        page = subscribers.search(c.db, c.actor, f, _before(request), 50)
        return c.page("subscribers.html", page=page, filters=shown, pubs=publications.publications(c.db, c.actor))


@router.get("/admin/subscribers/export.csv")
def export_csv(request: Request):
    f, _ = _filters(request)
    with console(request) as c:
        actor = c.actor
    chunks = subscribers.export_csv(ctx(request).engine, actor, f)  # its own sessions: after ours has ended
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'})


@router.post("/admin/subscribers")
def create(request: Request, form: Form):
    with console(request, form) as c:
        subscriber = subscribers.create(c.db, c.actor, c.settings.signing_key(), str(form.get("publication", "")),
                                  str(form.get("email", "")), str(form.get("name", "")),
                                  [str(x) for x in form.getlist("sections")] or None, str(form.get("timezone", "")))
        return done(f"/admin/subscribers/{subscriber.id}", "created")


@router.get("/admin/subscribers/{subscriber_id}")
def subscriber_page(request: Request, subscriber_id: Id):
    with console(request) as c:
        s = subscribers.detail(c.db, c.actor, subscriber_id)
        sections = {p["slug"]: p["sections"] for p in publications.publications(c.db, c.actor)}
        return c.page("subscriber.html", s=s, sections=sections)


@router.post("/admin/subscribers/{subscriber_id}/edit")
def edit(request: Request, subscriber_id: Id, form: Form):
    slugs = [str(x) for x in form.getlist("pubs")][:50]
    def field(name: str) -> str | None:  # a field left out of the post is left as it is
        value = form.get(name)
        return None if value is None else str(value)

    changes = subscribers.Changes(name=field("name"), timezone=field("timezone"),
                            sections={slug: [str(x) for x in form.getlist(f"sections-{slug}")] or None
                                      for slug in slugs})
    with console(request, form) as c:
        subscribers.update(c.db, c.actor, subscriber_id, changes)
    return done(f"/admin/subscribers/{subscriber_id}", "updated")


@router.post("/admin/subscribers/{subscriber_id}/disable")
def disable(request: Request, subscriber_id: Id, form: Form):
    with console(request, form) as c:
        subscribers.disable(c.db, c.actor, subscriber_id)
    return done(f"/admin/subscribers/{subscriber_id}", "disabled")


@router.post("/admin/subscribers/{subscriber_id}/enable")
def enable(request: Request, subscriber_id: Id, form: Form):
    with console(request, form) as c:
        subscribers.enable(c.db, c.actor, subscriber_id)
    return done(f"/admin/subscribers/{subscriber_id}", "enabled")


@router.post("/admin/subscribers/{subscriber_id}/resubscribe")
def resubscribe(request: Request, subscriber_id: Id, form: Form):
    with console(request, form) as c:
        changed = subscribers.resubscribe(c.db, c.actor, c.settings.signing_key(), subscriber_id,
                                    str(form.get("publication", "")))
    return done(f"/admin/subscribers/{subscriber_id}", "resubscribed" if changed else "not_changed")


@router.get("/admin/subscribers/{subscriber_id}/data.json")
def data(request: Request, subscriber_id: Id):
    with console(request) as c:
        document = subscribers.export_person(c.db, c.actor, subscriber_id)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="subscriber-{subscriber_id}.json"'})


@router.get("/admin/subscribers/{subscriber_id}/erase")
def erase_page(request: Request, subscriber_id: Id):
    with console(request) as c:
        require_everywhere(c.actor, Permission.SUBSCRIBERS, "erasing a person")  # the confirmation step
        return c.page("erase.html", s=subscribers.detail(c.db, c.actor, subscriber_id), error="")


@router.post("/admin/subscribers/{subscriber_id}/erase")
def erase_now(request: Request, subscriber_id: Id, form: Form):
    w = ctx(request)
    typed = str(form.get("confirm", "")).strip().lower()
    with console(request, form) as c:
        require_everywhere(c.actor, Permission.SUBSCRIBERS, "erasing a person")
        s = subscribers.detail(c.db, c.actor, subscriber_id)
        if typed != s["email"]:
            return c.page("erase.html", 400, s=s, error="Type the subscriber's address exactly to confirm.")
        actor = c.actor
    subscribers.erase(w.engine, w.settings, w.counters, actor, subscriber_id)  # one transaction of its own
    return done("/admin/subscribers", "erased")
