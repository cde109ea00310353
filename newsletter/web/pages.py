"""Rendering web pages (templates/web/) and the helpers every route needs."""
from __future__ import annotations

import base64
import hashlib
import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from newsletter.config import Settings
from newsletter.db import session_scope
from newsletter.links import Links
from newsletter.render.templates import environment
from newsletter.tracking.tokens import Tokens
from newsletter.web.middleware import SECURITY_HEADERS


class WebContext:
    """What routes share: settings, the engine, tokens and links, the dispatcher, counters."""

    def __init__(self, settings: Settings, engine, dispatcher, counters):
        self.settings, self.engine, self.dispatcher, self.counters = settings, engine, dispatcher, counters
        self.tokens = Tokens(settings.signing_key())
        self.links = Links(settings.web_base_url, self.tokens)
        self.env = environment(settings.templates_dir)

    def session(self):
        """One unit of work per request step: commit on success, roll back on error."""
        return session_scope(self.settings.effective_database_url)

    def page(self, name: str, status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(f"web/{name}").render(**context)
        return HTMLResponse(html, status_code=status, headers=script_policy(html))  # the rest: web/middleware.py


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def script_policy(html: str) -> dict[str, str]:
    """A page's own inline scripts (the sign-up page's time zone) are allowed by their
    hashes, and nothing else is: the policy stays `default-src 'none'` for everything."""
    hashes = [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() for body in _SCRIPT.findall(html)]
    if not hashes:
        return {}
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    return {"Content-Security-Policy": csp + "; script-src " + " ".join(f"'sha256-{h}'" for h in hashes)}


def ctx(request: Request) -> WebContext:
    return request.app.state.web


def mask(email: str) -> str:
    """a***@example.org: enough to recognise one's own address, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form(request: Request) -> FormData:
    return await request.form()


# A route's posted form, read before the (sync) route runs in the thread pool.
Form = Annotated[FormData, Depends(_form)]


async def _body(request: Request) -> bytes:
    return await request.body()


# A route's raw body (JSON), read the same way: the route itself is a plain `def`, so its
# database and Redis calls run in the thread pool, never on the event loop.
RawBody = Annotated[bytes, Depends(_body)]
