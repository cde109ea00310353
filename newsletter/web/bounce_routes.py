"""POST /bounces/inbound: a relay hands us a bounce or a complaint, as the raw message.

Authenticated with the shared secret NEWSLETTER_BOUNCE_WEBHOOK_SECRET, sent as
`Authorization: Bearer <secret>` and compared in constant time; without the setting
the endpoint does not exist (404). The body is the message exactly as received
(any content type: message/rfc822, text/plain, application/octet-stream), at most
NEWSLETTER_BOUNCE_MAX_BYTES (413 past it). `?recipient=` may carry the envelope
recipient (a Postfix pipe passes `${recipient}`): it holds our VERP token.

The report is stored and committed before the answer (202 with its id); it is
processed after the answer, and if that never runs, beat processes it later. The
same bytes posted twice are stored once (200 the second time).
"""
from __future__ import annotations

import hmac

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse

from newsletter.bounces import intake
from newsletter.http_common import ctx

router = APIRouter()
PATH = "/bounces/inbound"


def authorised(secret: str, header: str | None) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), secret.encode())


@router.post(PATH, include_in_schema=False)
async def inbound(request: Request, background: BackgroundTasks,
                  recipient: str = Query(default="", max_length=320)) -> JSONResponse:
    w = ctx(request)
    secret = w.settings.bounce_webhook_secret
    if not secret:
        return _problem(404, "Not here", "There is nothing here.")
    if not authorised(secret, request.headers.get("authorization")):
        return _problem(401, "Unauthorised", "A valid bearer token is required.",
                        {"WWW-Authenticate": 'Bearer realm="bounces"'})
    raw = await request.body()
    if not raw.strip():
        return _problem(400, "Empty report", "The body must be the raw report message.")
    stored = intake.receive(w.engine, w.settings, raw, "http", recipient)
    if stored.new:
        background.add_task(intake.process_ids, w.engine, w.settings, [stored.report_id])
    return JSONResponse({"id": stored.report_id, "status": "accepted" if stored.new else "already stored"},
                        status_code=202 if stored.new else 200)


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type="application/problem+json", headers=headers)
