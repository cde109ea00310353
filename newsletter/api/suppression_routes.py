"""/api/v1/suppressions: list, search, add and remove, each with a reason."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from newsletter.api.auth import Caller
from newsletter.api.common import Before, Body, Id, Limit
from newsletter.http_common import ctx
from newsletter.operators import suppressions

router = APIRouter(tags=["suppressions"])
Short = Annotated[str, Query(max_length=64)]


@router.get("/suppressions", summary="List or search (an address prefix; a whole address finds erasures too)")
def list_suppressions(request: Request, actor: Caller, q: Annotated[str, Query(max_length=320)] = "",
                      reason: Short = "", publication: Short = "", before: Before = None, limit: Limit = 50):
    w = ctx(request)
    with w.session() as s:
        page = suppressions.search(s, actor, w.settings.signing_key(), q, reason, publication, before, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


class NewSuppression(Body):
    email: str = Field(max_length=320)
    reason: str = Field(max_length=500)
    publication: str = Field(default="", max_length=64, description="empty: every publication")


@router.post("/suppressions", status_code=201, summary="Stop mail to an address, with the reason (admins)")
def add_suppression(request: Request, actor: Caller, body: NewSuppression):
    w = ctx(request)
    with w.session() as s:
        row = suppressions.add(s, actor, w.settings.signing_key(), body.email, body.reason, body.publication)
        return suppressions.as_dict(row, body.publication or None)


class Removal(Body):
    reason: str = Field(max_length=500)
    override: bool = Field(default=False, description="needed for complaints and erasures")


@router.post("/suppressions/{suppression_id}/remove", summary="Lift a suppression, with the reason (admins)")
def remove_suppression(request: Request, actor: Caller, suppression_id: Id, body: Removal):
    with ctx(request).session() as s:
        suppressions.remove(s, actor, suppression_id, body.reason, body.override)
    return {"removed": suppression_id}
