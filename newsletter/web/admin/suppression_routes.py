"""The suppression list: search (an address prefix; a whole address also finds an
erasure by its keyed hash), add with a reason, remove with a reason (complaints and
erasures only with an explicit override). subscribers/suppressions.py decides."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.lookups import parse_id
from newsletter.operators import publications, suppressions
from newsletter.subscribers.models import SuppressionReason
from newsletter.web.admin.console import Form, Id, console, done

router = APIRouter()


@router.get("/admin/suppressions")
def suppressions_page(request: Request):
    q = request.query_params
    query = {k: q.get(k, "")[:320] for k in ("q", "reason", "publication") if q.get(k)}
    before = parse_id(q.get("before", ""), "before")
    with console(request) as c:
        page = suppressions.search(c.db, c.actor, c.settings.signing_key(), query.get("q", ""),
                                   query.get("reason", ""), query.get("publication", ""),
                                   before, 50)
        return c.page("suppressions.html", page=page, filters=query, reasons=[r.value for r in SuppressionReason],
                      needs_override=[r.value for r in suppressions.NEEDS_OVERRIDE],
                      pubs=publications.publications(c.db, c.actor))


@router.post("/admin/suppressions")
def add(request: Request, form: Form):
    with console(request, form) as c:
        suppressions.add(c.db, c.actor, c.settings.signing_key(), str(form.get("email", "")),
                         str(form.get("reason", "")), str(form.get("publication", "")))
    return done("/admin/suppressions", "suppressed", q=str(form.get("email", "")).strip().lower()[:320])


@router.post("/admin/suppressions/{suppression_id}/remove")
def remove(request: Request, suppression_id: Id, form: Form):
    with console(request, form) as c:
        suppressions.remove(c.db, c.actor, suppression_id, str(form.get("reason", "")),
                            form.get("override") == "on")
    return done("/admin/suppressions", "lifted")
