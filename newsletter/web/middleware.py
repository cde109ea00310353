"""ASGI middleware for every answer the web gives, errors and JSON included.

- SecurityHeaders: no framing (clickjacking the unsubscribe button), no referrer (tokens
  are in URLs), nothing loaded from elsewhere, no caching of personal pages.
- HeadAsGet: HEAD works wherever GET does (the GET's headers, no body).
- BodyLimit: 413 for bodies over the limit, whether or not they announce their length.
  An announced length is answered here: under /api/ an RFC 9457 problem document, as
  every other API error (web/app.py), else plain text. A limit found while reading is
  answered by the app's error handler (a problem document or the error page).
"""
from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.http_common import SECURITY_HEADERS

# Pages that show the publications' images (the logo, a feed's lead image: https addresses
# from the publications file and the feeds): the archive and the edition in a browser.
IMAGES_POLICY = SECURITY_HEADERS["Content-Security-Policy"].replace("img-src 'self' data:",
                                                                    "img-src 'self' data: https:")
_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


TOO_LARGE = "Request body too large"
HEAD_MARK = "newsletter.head"  # in the scope of a HEAD request answered as a GET


def is_api(path: str) -> bool:
    """Errors under /api/ are problem documents; elsewhere pages (web/app.py)."""
    return path.startswith("/api/")


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Adds each header the response does not set itself (a page may set a wider CSP)."""
    present = {name.lower() for name, _ in headers}
    return list(headers) + [(k, v) for k, v in _RAW_HEADERS if k not in present]


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_security_headers(message.get("headers", []))}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        # Marked, for the routes that must tell a HEAD from a GET (counted links: a HEAD is a scanner's).
        await self.app({**scope, "method": "GET", HEAD_MARK: True}, receive, headers_only)


class _TooLarge(HTTPException):
    """Raised while the app reads a body past the limit. An HTTPException, so that FastAPI's
    body parsing lets it through (anything else becomes a 400 "error parsing the body") and
    the app answers it the way it answers every error (web/app.py)."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body may be at most {limit} bytes.")


class BodyLimit:
    """`overrides`: a different limit for some paths (exact match)."""

    def __init__(self, app: ASGIApp, limit: int = 64 * 1024, overrides: dict[str, int] | None = None):
        self.app, self.default, self.overrides = app, limit, overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.overrides.get(scope.get("path", ""), self.default)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _too_large(scope, send, limit)
        seen = 0
        started = False

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge(limit)
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await _too_large(scope, send, limit)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    if is_api(scope.get("path", "")):
        body = json.dumps({"type": "about:blank", "title": TOO_LARGE, "status": 413,
                           "detail": _TooLarge(limit).detail}).encode()
        content_type = b"application/problem+json"
    else:
        body, content_type = f"{TOO_LARGE}.".encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
