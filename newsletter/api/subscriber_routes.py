"""/api/v1/subscribers: search, export, one subscriber with history, create, update,
disable, enable, re-subscribe, data export, erase."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field

from newsletter.api.auth import Caller
from newsletter.api.common import Before, Body, Id, Limit
from newsletter.http_common import ctx
from newsletter.operators import subscribers

router = APIRouter(tags=["subscribers"])


def _filters(q: str, status: str, publication: str, subscription: str, section: str,
             created_from: str, created_to: str) -> subscribers.Filters:
    return subscribers.Filters.from_query({"q": q, "status": status, "publication": publication,
                                      "subscription": subscription, "section": section,
                                      "created_from": created_from, "created_to": created_to})


Q = Annotated[str, Query(max_length=320, description="address prefix, or name prefix when it has no @, "
                                                     "or @domain: every address at that domain")]
Short = Annotated[str, Query(max_length=64)]
Time = Annotated[str, Query(max_length=64, description="YYYY-MM-DD or an ISO 8601 time; without an offset, UTC")]


@router.get("/subscribers", summary="Search subscribers (keyset pages, newest first)")
def list_subscribers(request: Request, actor: Caller, q: Q = "", status: Short = "", publication: Short = "",
                     subscription: Short = "", section: Short = "", created_from: Time = "",
                     created_to: Time = "", before: Before = None, limit: Limit = 50):
    f = _filters(q, status, publication, subscription, section, created_from, created_to)
    with ctx(request).session() as s:
        page = subscribers.search(s, actor, f, before, limit)
    return {"items": page.items, "next_cursor": page.next_cursor, "total": page.total,
            "total_is_estimate": page.total_is_estimate}


@router.get("/subscribers/export.csv", summary="The search's result as CSV (streamed; admins)",
            response_class=StreamingResponse)
def export_subscribers(request: Request, actor: Caller, q: Q = "", status: Short = "", publication: Short = "",
                       subscription: Short = "", section: Short = "", created_from: Time = "",
                       created_to: Time = ""):
    f = _filters(q, status, publication, subscription, section, created_from, created_to)
    chunks = subscribers.export_csv(ctx(request).engine, actor, f)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'})


class NewSubscriber(Body):
    publication: str = Field(max_length=64)
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    sections: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=50)
    timezone: str = Field(default="", max_length=64)


@router.post("/subscribers", status_code=201, summary="Add a subscriber (admins)")
def create_subscriber(request: Request, actor: Caller, body: NewSubscriber):
    w = ctx(request)
    with w.session() as s:
        subscriber = subscribers.create(s, actor, w.settings.signing_key(), body.publication, body.email, body.name,
                                  body.sections, body.timezone)
        return subscribers.detail(s, actor, subscriber.id)


@router.get("/subscribers/{subscriber_id}", summary="One subscriber: subscriptions, suppressions, history")
def get_subscriber(request: Request, actor: Caller, subscriber_id: Id):
    with ctx(request).session() as s:
        return subscribers.detail(s, actor, subscriber_id)


class SubscriberChanges(Body):
    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=16)
    sections: dict[Annotated[str, Field(max_length=64)],
                   list[Annotated[str, Field(max_length=64)]] | None] | None = Field(default=None, max_length=50)


@router.patch("/subscribers/{subscriber_id}", summary="Change name, time zone, status, sections (admins)")
def update_subscriber(request: Request, actor: Caller, subscriber_id: Id, body: SubscriberChanges):
    with ctx(request).session() as s:
        changes = subscribers.Changes(body.name, body.timezone, body.status, body.sections)
        subscribers.update(s, actor, subscriber_id, changes)
        return subscribers.detail(s, actor, subscriber_id)


@router.post("/subscribers/{subscriber_id}/disable", summary="Never mail them, whatever they chose (admins)")
def disable_subscriber(request: Request, actor: Caller, subscriber_id: Id):
    with ctx(request).session() as s:
        subscribers.disable(s, actor, subscriber_id)
        return subscribers.detail(s, actor, subscriber_id)


@router.post("/subscribers/{subscriber_id}/enable", summary="Mail them again as their subscriptions say")
def enable_subscriber(request: Request, actor: Caller, subscriber_id: Id):
    with ctx(request).session() as s:
        subscribers.enable(s, actor, subscriber_id)
        return subscribers.detail(s, actor, subscriber_id)


class Resubscribe(Body):
    publication: str = Field(max_length=64)


@router.post("/subscribers/{subscriber_id}/resubscribe",
             summary="At their request: lift their own unsubscribe (not bounces or complaints)")
def resubscribe_subscriber(request: Request, actor: Caller, subscriber_id: Id, body: Resubscribe):
    w = ctx(request)
    with w.session() as s:
        changed = subscribers.resubscribe(s, actor, w.settings.signing_key(), subscriber_id, body.publication)
        return {"changed": changed, "subscriber": subscribers.detail(s, actor, subscriber_id)}


@router.get("/subscribers/{subscriber_id}/data", summary="Everything held about them, as JSON (admins)")
def subscriber_data(request: Request, actor: Caller, subscriber_id: Id):
    with ctx(request).session() as s:
        data = subscribers.export_person(s, actor, subscriber_id)
    name = f"subscriber-{subscriber_id}.json"
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.delete("/subscribers/{subscriber_id}", summary="Erase them everywhere (GDPR); a hash stays suppressed")
def erase_subscriber(request: Request, actor: Caller, subscriber_id: Id):
    w = ctx(request)
    done = subscribers.erase(w.engine, w.settings, w.counters, actor, subscriber_id)
    return {"erased": done.subscriber_id, "deliveries": done.deliveries, "events": done.events,
            "other_rows_scrubbed": done.scrubbed, "outbox_files": done.outbox_files}
