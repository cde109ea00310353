"""Publications (sections, schedule in words, next sends, subscription counts) and the
feeds that fill them (what their polls did, the next poll), with a poll by hand for
operators. operators/publications.py and operators/feeds.py decide."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from newsletter.http_common import ctx
from newsletter.operators import feeds, publications
from newsletter.publications.schedule import describe
from newsletter.web.admin.console import Form, console, done

router = APIRouter()
OUTCOMES = {"new": "fetched and stored", "not modified": "not modified since the last poll",
            "error": "failed (see the last error)", "busy": "being polled elsewhere right now"}
FeedName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


@router.get("/admin/publications")
def publications_page(request: Request):
    q = request.query_params
    outcome = q.get("outcome") if q.get("outcome") in OUTCOMES else ""
    with console(request) as c:
        pubs = [{**p, "words": describe(p["schedule"])} for p in publications.publications(c.db, c.actor)]
        listed = feeds.status(c.db, c.actor)
        polled = next((f["name"] for f in listed if f["name"] == q.get("feed")), "") if outcome else ""
        return c.page("publications.html", pubs=pubs, feeds=listed, polled=polled, outcome=OUTCOMES.get(outcome))


@router.post("/admin/feeds/{name}/poll")
def poll(request: Request, name: FeedName, form: Form):
    with console(request, form) as c:
        actor = c.actor
    w = ctx(request)
    result = feeds.poll(w.engine, w.settings, actor, name)  # its own sessions: after ours has ended
    return done("/admin/publications", "polled", feed=name, outcome=result.outcome)
