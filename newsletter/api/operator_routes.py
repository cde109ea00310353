"""What operators do besides pause, resume and cancel: /api/v1/editions/{id}/rebuild|hold|
release (before an edition goes out: run its selection again with the same cut-off, keep
it from being sent, let it go), held-domains/{domain}/release (after policy refusals), and
/api/v1/feeds (what each feed's polls did; a poll now, a conditional GET all the same)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request
from pydantic import Field

from newsletter.api.auth import Caller
from newsletter.api.common import Body, Id
from newsletter.editions.diff import Entry
from newsletter.http_common import ctx, in_background
from newsletter.operators import editions, feeds

router = APIRouter(tags=["publications and editions"])
Domain = Annotated[str, Path(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$")]
FeedName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Reason(Body):
    reason: str = Field(default="", max_length=500, description="kept in the edition's history")


def _entry(e: Entry) -> dict:
    return {"headline": e.headline, "section": e.section, "rank": e.rank}


@router.post("/editions/{edition_id}/rebuild", summary="Run the selection again, same cut-off (not started only)")
def rebuild_edition(request: Request, actor: Caller, edition_id: Id):
    with ctx(request).session() as s:
        done = editions.rebuild(s, actor, edition_id)
        d = done.diff
        return {"id": edition_id, "status": done.edition.status, "headlines": len(done.edition.items),
                "before": len(done.before), "new": [_entry(e) for e in d.new], "gone": [_entry(e) for e in d.gone],
                "moved": [{**_entry(m.entry), "was": _entry(m.was)} for m in d.moved]}


@router.post("/editions/{edition_id}/hold", summary="Keep an edition that has not started from being sent")
def hold_edition(request: Request, actor: Caller, edition_id: Id, body: Reason | None = None):
    with ctx(request).session() as s:
        return {"id": edition_id, "status": editions.hold(s, actor, edition_id, body.reason if body else "")}


@router.post("/editions/{edition_id}/release", summary="Let a held edition go (the schedule starts it when due)")
def release_edition(request: Request, actor: Caller, edition_id: Id, body: Reason | None = None):
    with ctx(request).session() as s:
        return {"id": edition_id, "status": editions.release(s, actor, edition_id, body.reason if body else "")}


@router.post("/editions/{edition_id}/held-domains/{domain}/release",
             summary="Let a domain held after policy refusals receive this edition again (operators)")
def release_domain(request: Request, actor: Caller, edition_id: Id, domain: Domain, background: BackgroundTasks):
    w = ctx(request)
    with w.session() as s:
        released = editions.release_domain(s, actor, edition_id, domain, deliver=in_background(request, background))
    return {"id": edition_id, "domain": domain.lower(), "released": released}


@router.get("/feeds", tags=["feeds"], summary="Feeds: last success, last error, articles added, next poll")
def list_feeds(request: Request, actor: Caller):
    with ctx(request).session() as s:
        return {"items": feeds.status(s, actor)}


@router.post("/feeds/{name}/poll", tags=["feeds"], summary="Poll a feed now (operators); fetch errors in the answer")
def poll_feed(request: Request, actor: Caller, name: FeedName):
    w = ctx(request)
    return feeds.poll_dict(feeds.poll(w.engine, w.settings, actor, name))
