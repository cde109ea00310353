"""Rendering web pages (templates/web/) and the helpers every route needs."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.render.templates import environment
from newsletter.tracking.tokens import Tokens


class WebContext:
    """What routes share: settings, the engine, tokens, the dispatcher, the sign-up limiter."""

    def __init__(self, settings: Settings, engine, dispatcher, limiter):
        self.settings, self.engine, self.dispatcher, self.limiter = settings, engine, dispatcher, limiter
        self.tokens = Tokens(settings.signing_key())
        self.env = environment(settings.templates_dir)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def page(self, name: str, status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(f"web/{name}").render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


# No framing (clickjacking the unsubscribe button), no referrer (tokens are in URLs),
# nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def ctx(request: Request) -> WebContext:
    return request.app.state.web


def mask(email: str) -> str:
    """a***@example.org: enough to recognise one's own address, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
