"""Editions: the list (by publication and state), one edition (progress that updates
itself while it sends, failures by class with who and why, held domains, headlines,
history) and the operators' actions: pause, resume, cancel a send, send its failed
deliveries again; rebuild, hold, release before it goes out. operators/editions.py checks and records each."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request

from newsletter.editions.models import EditionStatus
from newsletter.http_common import ctx, in_background
from newsletter.lookups import parse_id
from newsletter.operators import curation, editions, publications
from newsletter.text import one_line
from newsletter.web.admin.console import Form, Id, console, done
from newsletter.web.admin.dashboard_routes import LIVE, meter
from newsletter.web.admin.figures_routes import edition_charts

router = APIRouter()
Action = Annotated[str, Path(pattern=r"^(pause|resume|cancel|rebuild|hold|release)$")]
DONE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled", "rebuild": "rebuilt", "hold": "held",
        "release": "released"}


@router.get("/admin/editions")
def editions_page(request: Request):
    q = request.query_params
    publication, status = q.get("publication", "")[:64], q.get("status", "")[:32]
    before = parse_id(q.get("before", ""), "before")
    with console(request) as c:
        items, cursor = editions.editions(c.db, c.actor, publication, status, before, 50)
        return c.page("editions.html", items=items, cursor=cursor, publication=publication, state=status,
                      statuses=[s.value for s in EditionStatus], pubs=publications.publications(c.db, c.actor))


@router.get("/admin/editions/{edition_id}")
def edition_page(request: Request, edition_id: Id):
    with console(request) as c:
        e = editions.edition(c.db, c.actor, edition_id, ctx(request).settings)
        live = e["progress"]["status"] in LIVE
        figures, charts = edition_charts(c.db, c.actor, edition_id)  # per day, section, headline (SVG)
        return c.page("edition.html", polls=live, e=e, live=live, meter=meter(e["progress"]),
                      contents=editions.contents(c.db, c.actor, edition_id),
                      desk=curation.desk(c.db, c.actor, edition_id), recall=curation.RECALL,
                      failures=editions.failures(c.db, c.actor, edition_id), figures=figures, charts=charts)


@router.post("/admin/editions/{edition_id}/release-domain")
def release_domain(request: Request, edition_id: Id, form: Form, background: BackgroundTasks):
    domain = one_line(str(form.get("domain", "")))[:253]
    with console(request, form) as c:
        editions.release_domain(c.db, c.actor, edition_id, domain, deliver=in_background(request, background))
    return done(f"/admin/editions/{edition_id}", "domain_released")


@router.post("/admin/editions/{edition_id}/retry")
def retry(request: Request, edition_id: Id, form: Form, background: BackgroundTasks):
    """Failed deliveries (of one class, or all) go out again; the same audited act as the
    command line's `editions retry` and the API's."""
    failure_class = one_line(str(form.get("failure_class", "")))[:32]
    with console(request, form) as c:
        editions.retry(c.db, c.actor, edition_id, failure_class, deliver=in_background(request, background))
    return done(f"/admin/editions/{edition_id}", "retried")


@router.post("/admin/editions/{edition_id}/{action}")
def act(request: Request, edition_id: Id, action: Action, form: Form, background: BackgroundTasks):
    reason = str(form.get("reason", ""))  # refused, not changed, if it holds control characters (clean_reason)
    with console(request, form) as c:
        if action == "resume":
            editions.resume(c.db, c.actor, edition_id, deliver=in_background(request, background))
        elif action == "pause":
            editions.pause(c.db, c.actor, edition_id, reason)
        elif action == "cancel":
            getattr(editions, action)(c.db, c.actor, edition_id)
        elif action == "rebuild":
            editions.rebuild(c.db, c.actor, edition_id)
        else:
            getattr(editions, action)(c.db, c.actor, edition_id, reason)
    return done(f"/admin/editions/{edition_id}", DONE[action])
