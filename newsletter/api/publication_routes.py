"""/api/v1/publications, /api/v1/editions, /api/v1/stats: what operators read, and
pause, resume, cancel, retry failed deliveries (operators and admins)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi import Body as FastBody
from pydantic import Field

from newsletter.api.auth import Caller
from newsletter.api.common import Before, Body, Id, Slug
from newsletter.db import utcnow
from newsletter.http_common import ctx, in_background
from newsletter.operators import editions, figures, publication_edits, publications

router = APIRouter(tags=["publications and editions"])
Short = Annotated[str, Query(max_length=64)]


@router.get("/publications", summary="Publications: sections, schedule, next sends, subscription counts")
def list_publications(request: Request, actor: Caller):
    with ctx(request).session() as s:
        return {"items": publications.publications(s, actor)}


@router.get("/publications/{slug}", summary="One publication")
def get_publication(request: Request, actor: Caller, slug: Slug):
    with ctx(request).session() as s:
        return publications.publication(s, actor, slug)


@router.get("/publications/{slug}/settings", summary="One publication's settings in the publications file's form")
def publication_settings(request: Request, actor: Caller, slug: Slug):
    with ctx(request).session() as s:
        entry, managed_by = publication_edits.editable(s, actor, slug)
    return {"managed_by": managed_by, "entry": entry}


@router.post("/publications", status_code=201,
             summary="Create a publication managed by the API and console (admins; the file's validation)")
def create_publication(request: Request, actor: Caller, entry: Annotated[dict, FastBody()]):
    w = ctx(request)
    with w.session() as s:
        slug = publication_edits.create_publication(s, actor, entry, w.settings.publications_file.parent)
    return {"slug": slug, "managed_by": "console"}


@router.put("/publications/{slug}/settings",
            summary="Replace a console-managed publication's settings (an entry in the file's form)")
def update_publication(request: Request, actor: Caller, slug: Slug, entry: Annotated[dict, FastBody()]):
    w = ctx(request)
    with w.session() as s:
        changed = publication_edits.update_publication(s, actor, slug, entry, w.settings.publications_file.parent)
    return {"slug": slug, "changed": changed}


@router.post("/publications/{slug}/take-over", summary="Manage it in the console and API: loads skip it")
def take_over(request: Request, actor: Caller, slug: Slug):
    with ctx(request).session() as s:
        publication_edits.set_manager(s, actor, slug, "console")
    return {"slug": slug, "managed_by": "console"}


@router.post("/publications/{slug}/hand-back",
             summary="Give it back to the publications file (the next load writes it)")
def hand_back(request: Request, actor: Caller, slug: Slug):
    with ctx(request).session() as s:
        publication_edits.set_manager(s, actor, slug, "file")
    return {"slug": slug, "managed_by": "file"}


@router.get("/editions", summary="Editions, newest first, with delivery counts")
def list_editions(request: Request, actor: Caller, publication: Short = "", status: Short = "",
                  before: Before = None, limit: Annotated[int, Query(ge=1, le=200)] = 50):
    with ctx(request).session() as s:
        items, cursor = editions.editions(s, actor, publication, status, before, limit)
    return {"items": items, "next_cursor": cursor}


class PauseReason(Body):
    reason: str = Field(default="", max_length=500, description="why: shown in the edition's status (pause_reason)")


@router.get("/editions/{edition_id}", summary="One edition: progress, failures by class, holds, pause reason")
def get_edition(request: Request, actor: Caller, edition_id: Id):
    w = ctx(request)
    with w.session() as s:
        return editions.edition(s, actor, edition_id, w.settings)


@router.post("/editions/{edition_id}/pause", summary="Stop sending at the next message (operators)")
def pause_edition(request: Request, actor: Caller, edition_id: Id, body: PauseReason | None = None):
    with ctx(request).session() as s:
        return {"id": edition_id, "status": editions.pause(s, actor, edition_id, body.reason if body else "")}


@router.post("/editions/{edition_id}/resume", summary="Continue from the checkpoint (operators)")
def resume_edition(request: Request, actor: Caller, edition_id: Id, background: BackgroundTasks):
    w = ctx(request)
    with w.session() as s:
        status = editions.resume(s, actor, edition_id, deliver=in_background(request, background))
    return {"id": edition_id, "status": status}


@router.post("/editions/{edition_id}/cancel", summary="Send nothing more of this edition (operators)")
def cancel_edition(request: Request, actor: Caller, edition_id: Id):
    with ctx(request).session() as s:
        return {"id": edition_id, "status": editions.cancel(s, actor, edition_id)}


class Retry(Body):
    failure_class: str = Field(default="", max_length=32, description="only this failure class (e.g. temporary); "
                                                                        "empty: every failed delivery")


@router.post("/editions/{edition_id}/retry",
             summary="Send failed deliveries again, never to anyone unsubscribed, disabled or suppressed since")
def retry_edition(request: Request, actor: Caller, edition_id: Id, background: BackgroundTasks,
                  body: Retry | None = None):
    w = ctx(request)
    with w.session() as s:
        done = editions.retry(s, actor, edition_id, body.failure_class if body else "",
                              deliver=in_background(request, background))
    return {"id": edition_id, "status": done.status, "reopened": done.reopened, "left": done.left}


@router.get("/stats/daily", summary="Per UTC day: sent, failed by class, bounces, unsubscribes, sign-ups...")
def daily_stats(request: Request, actor: Caller, start: Annotated[date | None, Query(alias="from")] = None,
                end: Annotated[date | None, Query(alias="to")] = None, publication: Short = ""):
    end = end or utcnow().date()
    start = start or end - timedelta(days=6)
    with ctx(request).session() as s:
        return {"days": figures.per_day(s, actor, start, end, publication)}


@router.get("/stats/editions/{edition_id}", summary="One edition's figures")
def edition_stats(request: Request, actor: Caller, edition_id: Id):
    with ctx(request).session() as s:
        return figures.per_edition(s, actor, edition_id)


@router.get("/stats/publications/{slug}", summary="The last 30 editions: per day and per section, clicks included")
def publication_figures(request: Request, actor: Caller, slug: Slug):
    with ctx(request).session() as s:
        return figures.publication_figures(s, actor, slug)


@router.get("/stats/editions/{edition_id}/readers", summary="One edition per day, per section and per headline")
def edition_reader_figures(request: Request, actor: Caller, edition_id: Id):
    with ctx(request).session() as s:
        return figures.edition_figures(s, actor, edition_id)
