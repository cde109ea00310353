"""Counted links and the open pixel: /r/<link token>[/<message token>], /o/<token>[/...].

A counted link answers 302 to the address of its item in its edition, whoever asks and
however (a HEAD, a prefetch, a scanner: each is sent on, and counted apart), and 404 when
the edition has no such link; nothing in the request decides where it leads
(editions/clicks.py). A forged or altered token is the usual 400 page. The message part
only adds what it knows (when the message was sent, a person with their consent): a
link without one, or with one that does not verify, still leads where it should, and
is counted without the timing. Tokens never reach a log: the access log's paths are
redacted (logs.py).
"""
from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.db import utcnow
from newsletter.editions import clicks
from newsletter.http_common import ctx
from newsletter.render.click_links import stamp_time
from newsletter.tracking.scanners import classify
from newsletter.tracking.token_claims import MessageClaim
from newsletter.tracking.tokens import InvalidToken
from newsletter.web.middleware import HEAD_MARK

router = APIRouter()
# A transparent 1x1 GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _message(w, token: str) -> MessageClaim | None:
    if not token:
        return None
    try:
        return w.tokens.read_click_message(token)
    except InvalidToken:
        return None  # the link itself is good: lead on, without the message's timing


def _kind(request: Request, w, message: MessageClaim | None):
    method = "HEAD" if request.scope.get(HEAD_MARK) else request.method
    headers = {k.lower(): v for k, v in request.headers.items()}
    sent_at = stamp_time(message.stamp) if message is not None else None
    return classify(method, headers, sent_at, time.time(), w.settings.click_scanner_seconds)


@router.get("/r/{token}")
@router.get("/r/{token}/{message}")
def follow(request: Request, token: str, message: str = ""):
    w = ctx(request)
    claim = w.tokens.read_click(token)
    part = _message(w, message)
    if part is not None and part.edition_id != claim.edition_id:
        part = None
    with w.session() as s:
        url = clicks.follow(s, claim, part, _kind(request, w, part), utcnow())
    if url is None:
        return w.page("error.html", status=404, title="No such link",
                      message="This link is not part of the edition it came from.")
    return RedirectResponse(url, status_code=302)


@router.get("/o/{token}")
@router.get("/o/{token}/{message}")
def open_pixel(request: Request, token: str, message: str = ""):
    w = ctx(request)
    claim = w.tokens.read_click(token)
    part = _message(w, message)
    with w.session() as s:
        found = clicks.opened(s, claim, _kind(request, w, part), utcnow())
    if not found:
        return w.page("error.html", status=404, title="Not here", message="No such image.")
    return Response(PIXEL, media_type="image/gif")
