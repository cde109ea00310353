"""/api/v1 previews and test sends (operators): what a reader would get (everyone, a
section set, or one subscriber), for a stored edition or a publication's date (built
or not: a date not built yet is planned in memory, nothing stored); and one test copy
of it sent to someone, marked as a test and not a delivery."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from newsletter import runtime
from newsletter.api.auth import Caller
from newsletter.api.common import Body, Id, Slug
from newsletter.http_common import ctx
from newsletter.operators import previews

router = APIRouter(tags=["previews and test sends"])
As = Annotated[str, Query(alias="as", max_length=320, description="preview as this subscriber (their sections, name)")]
Sections = Annotated[str, Query(max_length=640, description="or for these sections, comma separated")]


def _proof(p) -> dict:
    return {"sent_to": p.to, "subject": p.subject, "message_id": p.message_id, "headlines": p.headline_count}


@router.get("/editions/{edition_id}/preview", summary="One edition as a reader would get it: subject, HTML, text")
def preview_edition(request: Request, actor: Caller, edition_id: Id, as_email: As = "", sections: Sections = ""):
    w = ctx(request)
    with w.session() as s:
        return previews.as_dict(previews.show(s, actor, w.settings, previews.Target(edition_id, "", None, as_email,
                                                                                     sections)))


@router.get("/publications/{slug}/preview", summary="A publication's edition of a date (default today), built or not")
def preview_date(request: Request, actor: Caller, slug: Slug, day: Annotated[date | None, Query(alias="date")] = None,
                 as_email: As = "", sections: Sections = ""):
    w = ctx(request)
    with w.session() as s:
        return previews.as_dict(previews.show(s, actor, w.settings, previews.Target(None, slug, day, as_email,
                                                                                    sections)))


class TestSend(Body):
    to: str = Field(max_length=320, description="where the test message goes")
    as_email: str = Field(default="", max_length=320, alias="as")
    sections: str = Field(default="", max_length=640)


class DatedTestSend(TestSend):
    day: date | None = Field(default=None, alias="date", description="YYYY-MM-DD; default today")


@router.post("/editions/{edition_id}/test-send", summary="Send one test copy of an edition (not a delivery)")
def test_send_edition(request: Request, actor: Caller, edition_id: Id, body: TestSend):
    w = ctx(request)
    with w.session() as s:
        proof = previews.test_send(s, actor, w.settings, runtime.backend(w.settings),
                                   previews.Target(edition_id, "", None, body.as_email, body.sections), body.to)
    return _proof(proof)


@router.post("/publications/{slug}/test-send", summary="Send one test copy of a publication's edition of a date")
def test_send_date(request: Request, actor: Caller, slug: Slug, body: DatedTestSend):
    w = ctx(request)
    with w.session() as s:
        proof = previews.test_send(s, actor, w.settings, runtime.backend(w.settings),
                                   previews.Target(None, slug, body.day, body.as_email, body.sections), body.to)
    return _proof(proof)
