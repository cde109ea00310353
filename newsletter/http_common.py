"""What every HTTP front door shares (the public pages and the console under web/, the
API under api/), so that neither imports the other: the request's context (settings,
engine, tokens, dispatcher), the caller's address, the same-origin check of a posted
form or a cookie-authenticated API call, the security headers and the referrer policy,
how an act hands an edition's delivery to a background task, and the answer to an
upload when every import slot is taken."""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from fastapi import BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from newsletter.config import Settings
from newsletter.db import session_scope
from newsletter.links import Links
from newsletter.render.templates import environment
from newsletter.subscribers import uploads
from newsletter.tracking.tokens import Tokens

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# Pages with forms that check the Origin: under `no-referrer` browsers send "Origin: null"
# with every form post (the Fetch standard's rule), which is refused as a foreign site.
# `same-origin` still sends nothing to other sites.
FORMS_REFERRER_POLICY = "same-origin"


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


def ctx(request: Request) -> WebContext:
    return request.app.state.web


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def same_origin(request: Request, base_url: str) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every browser for same-origin requests; the CSRF token still counts
    return origin != "null" and urlsplit(origin).netloc in {urlsplit(base_url).netloc,
                                                             request.headers.get("host", "")}


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def script_hashes(html: str) -> list[str]:
    """A page's own inline scripts, as CSP sources ('sha256-...'): allowed by their hashes
    and nothing else."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in _SCRIPT.findall(html)]


def script_policy(html: str) -> dict[str, str]:
    """The sign-up page's time zone script and the like: the policy stays
    `default-src 'none'` for everything else."""
    hashes = script_hashes(html)
    if not hashes:
        return {}
    return {"Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"] + "; script-src "
            + " ".join(hashes)}


def in_background(request: Request, background: BackgroundTasks):
    """How an act (operators/editions.py) starts an edition's delivery after its commit,
    from an HTTP request: as a background task, so that the answer does not wait for it."""
    dispatcher = ctx(request).dispatcher
    return lambda edition_id: background.add_task(dispatcher.deliver_edition, edition_id)


def busy() -> HTTPException:
    """No free import slot: the answer (the console's and the API's), before the body is read."""
    return HTTPException(503, "Too many imports are running here at once: try again in a minute.",
                         headers={"Retry-After": str(uploads.RETRY_AFTER)})
