"""What every console page shares: the signed-in account, its CSRF check, pages in the
console's frame, redirects after a change, and each page's Content-Security-Policy.

A page calls `console(request)` (reads) or `console(request, form)` (changes): the
session cookie names the account (no session: SignInNeeded, answered with a redirect
to the sign-in page), and a form must carry the session's CSRF token and must not come
from another site. The page then calls the domain function with `c.actor`; the role
checks are the domain's, the same as for the API and the command line.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from newsletter.errors import Forbidden
from newsletter.http_common import (
    FORMS_REFERRER_POLICY,
    SECURITY_HEADERS,
    WebContext,
    client_ip,
    ctx,
    same_origin,
    script_hashes,
)
from newsletter.lookups import MAX_ID
from newsletter.staff import sessions
from newsletter.staff.access import Actor, NotSignedIn, Permission

PREFIX = "/admin"
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

# The console's menu: (path, label, the permission that shows it).
NAV = [("/admin", "Dashboard", Permission.READ), ("/admin/subscribers", "Subscribers", Permission.READ),
       ("/admin/imports", "Imports", Permission.READ), ("/admin/suppressions", "Suppressions", Permission.READ),
       ("/admin/publications", "Publications", Permission.READ), ("/admin/editions", "Editions", Permission.READ),
       ("/admin/webhooks", "Webhooks", Permission.WEBHOOKS),
       ("/admin/staff", "Staff", Permission.STAFF), ("/admin/tokens", "API tokens", Permission.OWN_TOKENS),
       ("/admin/audit", "Audit log", Permission.AUDIT)]


class SignInNeeded(NotSignedIn):
    """No valid session: the console answers with its sign-in page (admin/__init__.py)."""


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


class Console:
    def __init__(self, request: Request, w: WebContext, db: Session, current: sessions.Current):
        self.request, self.w, self.db, self.current = request, w, db, current
        self.actor: Actor = current.actor("console", client_ip(request))

    @property
    def settings(self):
        return self.w.settings

    def page(self, name: str, status: int = 200, **context) -> HTMLResponse:
        nav = [(path, label) for path, label, permission in NAV if self.actor.can(permission)]
        here = self.request.url.path
        return render(self.request, name, status, nav=nav, here=here, me=self.current.account,
                      can=self.actor.can, P=Permission, csrf=sessions.csrf_token(self.current),
                      done=DONE.get(self.request.query_params.get("done", ""), ""), **context)


@contextmanager
def console(request: Request, form: FormData | None = None) -> Iterator[Console]:
    """One unit of work as the signed-in account; with a form, a checked change."""
    w = ctx(request)
    with w.session() as db:
        current = sessions.resolve(db, w.settings, request.cookies.get(sessions.COOKIE_NAME))
        if current is None:
            raise SignInNeeded("sign in to use the console")
        if form is not None:
            if not same_origin(request, w.settings.web_base_url):
                raise Forbidden("this form was posted from another site")
            sessions.check_csrf(current, form.get("csrf"))
        yield Console(request, w, db, current)


def admin_env(request: Request):
    """The templates with the console's filters, on an overlay of the shared environment."""
    state = request.app.state
    env = getattr(state, "admin_env", None)
    if env is None:
        env = ctx(request).env.overlay()
        env.filters.update(when=when, number=number, pct=percent)
        state.admin_env = env
    return env


def render(request: Request, name: str, status: int = 200, polls: bool = False, frames: bool = False,
           **context) -> HTMLResponse:
    html = admin_env(request).get_template(f"admin/{name}").render(**context)
    return HTMLResponse(html, status_code=status, headers=policy(html, polls, frames))




def policy(html: str, polls: bool = False, frames: bool = False) -> dict[str, str]:
    """The page's own inline scripts by their hashes (like web/pages.py), and, for pages
    that need them, fetches to this site (live progress) and frames of this site (the
    preview). Nothing else is ever allowed."""
    extra = script_hashes(html)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    headers = {"Referrer-Policy": FORMS_REFERRER_POLICY}
    if extra:
        csp += "; script-src " + " ".join(extra)
    if polls:
        csp += "; connect-src 'self'"
    if frames:
        csp += "; frame-src 'self'"
    return {**headers, "Content-Security-Policy": csp}


def done(path: str, code: str = "", **params) -> RedirectResponse:
    """After a change, back to a page (303: the browser GETs it), with what happened."""
    query = {k: v for k, v in {**params, "done": code}.items() if v not in ("", None)}
    return RedirectResponse(path + ("?" + urlencode(query) if query else ""), status_code=303)


def sign_in_path(next_path: str = "") -> str:
    return "/admin/login" + (f"?next={quote(next_path, safe='/')}" if safe_next(next_path) else "")


def safe_next(path: str) -> bool:
    """Only a console path of this site, with its query if any (a search to come back to):
    never another host (`//evil`, `/\\evil`, a scheme)."""
    return (bool(re.fullmatch(r"/admin(/[A-Za-z0-9/_.-]*)?(\?[A-Za-z0-9_.~%=&+,:@-]{0,500})?", path or ""))
            and "//" not in path and ".." not in path)


# What the `done` code of a redirect says at the top of the page.
DONE = {
    "signed_in": "", "password_set": "Your password is set: sign in with it.",
    "signed_out": "You are signed out.", "password_changed": "Your password is changed: sign in again.",
    "updated": "Saved.", "disabled": "Disabled: they get nothing, whatever their subscriptions say.",
    "enabled": "Enabled: they get what their subscriptions say.", "resubscribed": "Subscribed again.",
    "not_changed": "Nothing to change: already subscribed.", "created": "Added.",
    "erased": "Erased: nothing about them is left but a keyed hash of the address, suppressed.",
    "suppressed": "Suppression added.", "lifted": "Suppression removed.",
    "paused": "Paused.", "resumed": "Resumed: sending goes on from where it stopped.",
    "cancelled": "Cancelled: nothing more of it is sent.", "rebuilt": "Rebuilt.", "held": "Held.",
    "released": "Released.", "domain_released": "Domain released: its deliveries go out with the rest.",
    "retried": "The failed deliveries go out again (never to anyone unsubscribed, disabled or suppressed since).",
    "test_sent": "Test message sent.", "polled": "Feed polled.",
    "staff_enabled": "Account enabled.", "staff_disabled": "Account disabled; its sessions ended.",
    "role_changed": "Role changed.", "revoked": "Token revoked.",
    "second_factor_expired": "The sign-in took too long: enter your password again.",
    "second_factor_off": "Your second factor is off: sign-ins ask for your password only.",
    "device_revoked": "That browser is forgotten: it asks for a code at its next sign-in.",
    "policy_set": "Saved: accounts it applies to set up a second factor at their next sign-in.",
    "second_factor_reset": "Their second factor is removed: they set up a new one at their next sign-in if "
                           "required.", "publications_set": "Publications saved.",
    "taken_over": "Taken over: the console manages it now; `publications load` leaves it alone.",
    "handed_back": "Handed back to the file: the next `publications load` writes the file's entry over it.",
    "section_saved": "Section saved.",
}


def when(value) -> str:
    """A time as the console shows it: UTC, to the minute."""
    if value in (None, ""):
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return f"{value:%Y-%m-%d %H:%M} UTC"


def number(value) -> str:
    return f"{int(value or 0):,}"


def percent(part, whole) -> int:
    return int(100 * (part or 0) / whole) if whole else 0
