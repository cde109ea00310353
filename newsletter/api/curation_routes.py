"""The editors' desk over the API: /api/v1/editions/{id}/desk (the edition as read, the
changes), POST .../changes (drop, pin, move, add, edit; before the send), DELETE
.../changes/{change} (undo), POST .../takedown (after the send). operators/curation.py
checks, records and audits each, as for the console and the command line."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import Field

from newsletter.api.auth import Caller
from newsletter.api.common import Body, Id
from newsletter.http_common import ctx
from newsletter.operators import curation

router = APIRouter(tags=["publications and editions"])


class Change(Body):
    kind: Literal["drop", "pin", "move", "add", "edit"]
    item: str = Field(default="", max_length=2100,
                      description="the item: its number in the edition as read (from 1), its key or its URL")
    scope: Literal["section", "edition"] = Field(default="section", description="pin: lead of the section or edition")
    section: str = Field(default="", max_length=64, description="move, add: the section's slug")
    rank: int = Field(default=1, ge=1, le=1000, description="move: the place in the section, from 1")
    headline: str = Field(default="", max_length=500)
    teaser: str | None = Field(default=None, max_length=2000, description="edit: None leaves it as it is")
    article_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="add: an article of the store")
    url: str = Field(default="", max_length=2048, description="add: an article's URL or any page")


class Item(Body):
    item: str = Field(min_length=1, max_length=2100)


def desk_dict(d: curation.Desk) -> dict:
    return {"id": d.edition.id, "status": d.edition.status, "curable": d.curable,
            "items": [{"place": n, "key": i.key, "section": i.section_slug, "headline": i.headline,
                       "teaser": i.teaser, "url": i.url, "added": i.added, "edited": i.edited,
                       "pinned": i.pinned or None} for n, i in enumerate(d.items, 1)],
            "changes": [{"id": e.id, "kind": e.kind, "item": e.item_key, "what": d.describe(e), "by": e.by,
                         "at": e.created_at.isoformat() if e.created_at else None} for e in d.edits],
            "unmatched": [e.id for e in d.unmatched]}


@router.get("/editions/{edition_id}/desk", summary="The edition as its readers get it, and the editors' changes")
def desk(request: Request, actor: Caller, edition_id: Id):
    with ctx(request).session() as s:
        return desk_dict(curation.desk(s, actor, edition_id))


@router.post("/editions/{edition_id}/changes", status_code=201,
             summary="Drop, pin, move, add or edit an item (before sending starts; operators)")
def make_change(request: Request, actor: Caller, edition_id: Id, body: Change):
    w = ctx(request)
    with w.session() as s:
        if body.kind == "drop":
            curation.drop(s, actor, edition_id, body.item)
        elif body.kind == "pin":
            curation.pin(s, actor, edition_id, body.item, body.scope)
        elif body.kind == "move":
            curation.move(s, actor, edition_id, body.item, body.section, body.rank)
        elif body.kind == "edit":
            curation.edit(s, actor, edition_id, body.item, body.headline, body.teaser)
        else:
            curation.add(s, actor, edition_id, article_id=body.article_id, url=body.url, section=body.section,
                         headline=body.headline, teaser=body.teaser or "",
                         fetch_page=curation.page_fetcher(w.settings))
        return desk_dict(curation.desk(s, actor, edition_id))


@router.delete("/editions/{edition_id}/changes/{change_id}", summary="Take back one change (before the send)")
def undo_change(request: Request, actor: Caller, edition_id: Id, change_id: Id):
    with ctx(request).session() as s:
        curation.undo(s, actor, edition_id, change_id)
        return desk_dict(curation.desk(s, actor, edition_id))


@router.post("/editions/{edition_id}/takedown",
             summary="After the send: remove an item from the archive and the browser view (not from sent emails)")
def takedown(request: Request, actor: Caller, edition_id: Id, body: Item):
    with ctx(request).session() as s:
        change, said = curation.takedown(s, actor, edition_id, body.item)
        return {"id": edition_id, "change": change.id, "message": said}
