"""Outgoing webhooks in the console (admins for every publication): endpoints, their
events, a new secret shown once, and the last attempts with their status codes.
operators/webhooks.py decides and records."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.errors import InvalidInput
from newsletter.operators import webhooks
from newsletter.web.admin.console import Form, Id, console, done
from newsletter.webhooks.outbox import TYPES
from newsletter.webhooks.signing import HEADER, WINDOW_SECONDS

router = APIRouter()


def _page(c, status: int = 200, **context):
    context = {"error": "", "secret": "", "made": None, "typed": None, **context}
    return c.page("webhooks.html", status, endpoints=webhooks.endpoints(c.db, c.actor),
                  attempts=webhooks.log(c.db, c.actor, limit=50), types=TYPES, header=HEADER,
                  window=WINDOW_SECONDS, **context)


@router.get("/admin/webhooks")
def webhooks_page(request: Request):
    with console(request) as c:
        return _page(c)


@router.post("/admin/webhooks")
def register(request: Request, form: Form):
    url, description = str(form.get("url", "")), str(form.get("description", ""))
    events = [str(e) for e in form.getlist("events")]
    try:
        with console(request, form) as c:
            endpoint, secret = webhooks.register(c.db, c.actor, c.settings, url, events, description)
            made = (endpoint.id, secret)
    except InvalidInput as exc:
        with console(request) as c:
            return _page(c, 400, error=str(exc), typed={"url": url, "description": description, "events": events})
    with console(request) as c:  # the secret is shown once, on this answer only
        return _page(c, made=made[0], secret=made[1])


@router.post("/admin/webhooks/{endpoint_id}/{act}")
def act(request: Request, endpoint_id: Id, act: str, form: Form):
    if act not in ("pause", "resume", "rotate", "remove"):
        raise InvalidInput(f"unknown act {act[:20]!r}")
    with console(request, form) as c:
        if act == "rotate":
            secret = webhooks.rotate(c.db, c.actor, endpoint_id)
        elif act == "remove":
            webhooks.remove(c.db, c.actor, endpoint_id)
        else:
            webhooks.set_active(c.db, c.actor, endpoint_id, act == "resume")
    if act == "rotate":
        with console(request) as c:
            return _page(c, made=endpoint_id, secret=secret)
    return done("/admin/webhooks", "updated")
