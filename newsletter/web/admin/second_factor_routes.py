"""The second factor's steps of a console sign-in: the code (or a recovery code), and the
set-up a policy asks for. The rules are staff/second_factor.py's and staff/devices.py's;
one's own account page (account_routes.py) sets it up, renews codes, turns it off.

Between the password and the code, the browser holds a session at the stage "code" (or
"enrol"): it opens these pages only, for a few minutes, and its forms carry its CSRF token.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from newsletter.errors import Conflict, Forbidden
from newsletter.http_common import client_ip, ctx, same_origin
from newsletter.staff import devices, second_factor, sessions
from newsletter.staff.access import NotSignedIn, TooManyAttempts
from newsletter.web.admin.auth_routes import signed_in
from newsletter.web.admin.console import Console, Form, done, render, safe_next

router = APIRouter()


@contextmanager
def pending(request: Request, stage: str, form=None) -> Iterator[tuple]:
    """(db, the waiting session) between the password and the second factor."""
    w = ctx(request)
    with w.session() as db:
        current = sessions.resolve(db, w.settings, request.cookies.get(sessions.COOKIE_NAME), stage=stage)
        if current is None:
            raise _AgainFromTheStart()
        if form is not None:
            if not same_origin(request, w.settings.web_base_url):
                raise Forbidden("this form was posted from another site")
            sessions.check_csrf(current, form.get("csrf"))
        yield db, current


class _AgainFromTheStart(Exception):
    """No waiting session (expired, or never): back to the password."""


def _from_the_start() -> RedirectResponse:
    return done("/admin/login", "second_factor_expired")


def _code_page(request: Request, current, status: int = 200, error: str = "", next_path: str = ""):
    return render(request, "second_factor.html", status, error=error, csrf=sessions.csrf_token(current),
                  next=next_path if safe_next(next_path) else "", email=current.account.email)


@router.get("/admin/login/code")
def code_page(request: Request, next: str = ""):
    try:
        with pending(request, sessions.CODE) as (_, current):
            return _code_page(request, current, next_path=next[:300])
    except _AgainFromTheStart:
        return _from_the_start()


@router.post("/admin/login/code")
def check_code(request: Request, form: Form):
    w = ctx(request)
    code, next_path = str(form.get("code", ""))[:40], str(form.get("next", ""))[:300]
    remember = form.get("remember") == "on"
    try:
        with pending(request, sessions.CODE, form) as (db, current):
            try:
                how = second_factor.check(db, w.settings, request.app.state.login_limits, current.account, code)
            except TooManyAttempts as exc:
                page = _code_page(request, current, 429, f"{str(exc).capitalize()}.", next_path)
                page.headers["Retry-After"] = str(getattr(exc, "retry_after", 60))
                return page
            except NotSignedIn as exc:
                return _code_page(request, current, 401, f"{str(exc).capitalize()}.", next_path)
            signed = sessions.complete(db, w.settings, current.account, client_ip(request), "console", how,
                                       current.session)
            device = devices.remember(db, w.settings, current.account.id,
                                      request.headers.get("user-agent", "")) if remember else ""
    except _AgainFromTheStart:
        return _from_the_start()
    answer = signed_in(request, signed, next_path)
    if device:
        answer.set_cookie(devices.COOKIE_NAME, device, httponly=True, samesite="strict", path="/",
                          secure=w.settings.web_base_url.startswith("https://"),
                          max_age=w.settings.staff_device_days * 86400)
    return answer


def enrol_page_for(request: Request, csrf: str, enrolment, action: str, status: int = 200, error: str = "",
                framed: Console | None = None):
    context = dict(enrolment=enrolment, action=action, error=error)
    if framed is not None:
        return framed.page("enrol.html", status, **context)
    return render(request, "enrol.html", status, csrf=csrf, **context)


@router.get("/admin/login/enrol")
def enrol_page(request: Request):
    w = ctx(request)
    try:
        with pending(request, sessions.ENROL) as (db, current):
            enrolment = second_factor.pending(w.settings, current.account) or second_factor.start(
                db, w.settings, current.account)
            return enrol_page_for(request, sessions.csrf_token(current), enrolment, "/admin/login/enrol")
    except _AgainFromTheStart:
        return _from_the_start()


@router.post("/admin/login/enrol")
def enrol(request: Request, form: Form):
    w = ctx(request)
    try:
        with pending(request, sessions.ENROL, form) as (db, current):
            actor = current.actor("console", client_ip(request))
            try:
                codes = second_factor.confirm(db, w.settings, actor, current.account, str(form.get("code", ""))[:40])
            except (NotSignedIn, Conflict) as exc:
                enrolment = second_factor.pending(w.settings, current.account) or second_factor.start(
                    db, w.settings, current.account)
                return enrol_page_for(request, sessions.csrf_token(current), enrolment, "/admin/login/enrol", 400,
                                   f"{str(exc).capitalize()}.")
            signed = sessions.complete(db, w.settings, current.account, client_ip(request), "console", "totp",
                                       current.session)
    except _AgainFromTheStart:
        return _from_the_start()
    page = render(request, "recovery_codes.html", codes=codes, next="/admin")
    page.set_cookie(value=signed.cookie, **sessions.cookie_options(w.settings))
    return page
