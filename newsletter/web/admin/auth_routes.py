"""Signing in and out of the console, the one-time set-password link that `newsletter
staff add --link` prints, and changing one's own password. Sign-in is staff/sessions.py's
(a back-off per account and client, before the password is looked at); the second
factor's steps are second_factor_routes.py's, single sign-on sso_routes.py's.

The sign-in form carries a CSRF token of its own, before there is any session: a random
value in a SameSite=Strict cookie of the sign-in page, and its HMAC in the form. A form
posted from another site, or without the page it came from, is refused whether or not
the browser sent an Origin header (some send none).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import RedirectResponse

from newsletter.errors import Forbidden, InvalidInput
from newsletter.http_common import client_ip, ctx, same_origin
from newsletter.staff import accounts, devices, failed_sign_ins, notices, passwords, sessions
from newsletter.staff.access import TooManyAttempts
from newsletter.tracking.tokens import InvalidToken
from newsletter.web.admin.console import DONE, Form, console, done, render, safe_next

router = APIRouter()
LOGIN_COOKIE = "nl_login"  # the sign-in form's own CSRF secret
LOGIN_PATH = "/admin/login"


def _form_token(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), b"console sign-in form\0" + value.encode(), hashlib.sha256).hexdigest()


def login_form_ok(request: Request, given: str) -> bool:
    value = request.cookies.get(LOGIN_COOKIE, "")
    if not value or len(value) > 100 or not given:
        return False
    return hmac.compare_digest(_form_token(ctx(request).settings.signing_key(), value), str(given)[:200])


def _login_page(request: Request, status: int = 200, error: str = "", email: str = "", next_path: str = "",
                headers: dict | None = None, background: BackgroundTasks | None = None):
    w = ctx(request)
    value = request.cookies.get(LOGIN_COOKIE, "")
    fresh = not value or len(value) > 100
    if fresh:
        value = secrets.token_urlsafe(24)
    page = render(request, "login.html", status, error=error, email=email,
                  next=next_path if safe_next(next_path) else "",
                  form_token=_form_token(w.settings.signing_key(), value),
                  sso=w.settings.sso_label if w.settings.sso_issuer else "",
                  done=DONE.get(request.query_params.get("done", ""), ""))
    if fresh:
        page.set_cookie(LOGIN_COOKIE, value, httponly=True, samesite="strict", path=LOGIN_PATH,
                        secure=w.settings.web_base_url.startswith("https://"))
    if headers:
        page.headers.update(headers)
    page.background = background
    return page


@router.get(LOGIN_PATH)
def login_page(request: Request, next: str = ""):
    return _login_page(request, next_path=next[:300])


def signed_in(request: Request, signed: sessions.SignedIn, next_path: str) -> RedirectResponse:
    """Where a sign-in goes on: the console, or the second factor's step."""
    after = next_path if safe_next(next_path) else "/admin"
    if signed.stage == sessions.CODE:
        target = "/admin/login/code" + (f"?next={quote(after, safe='/')}" if after != "/admin" else "")
    elif signed.stage == sessions.ENROL:
        target = "/admin/login/enrol"
    else:
        target = after
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(value=signed.cookie, **sessions.cookie_options(ctx(request).settings))
    return answer


@router.post(LOGIN_PATH)
def login(request: Request, form: Form, background: BackgroundTasks):
    w = ctx(request)
    email, password, next_path = (str(form.get(k, ""))[:1024] for k in ("email", "password", "next"))
    if not same_origin(request, w.settings.web_base_url):
        raise Forbidden("this form was posted from another site")
    if not login_form_ok(request, str(form.get("csrf", ""))):
        return _login_page(request, 403, "This form has expired or came from elsewhere: sign in again here.", email,
                           next_path)
    address = client_ip(request)
    try:
        with w.session() as s:
            signed = sessions.login(s, w.settings, request.app.state.login_limits, email, password, address,
                                    request.cookies.get(devices.COOKIE_NAME, ""))
    except TooManyAttempts as exc:
        return _login_page(request, 429, f"{str(exc).capitalize()}.", email, next_path,
                           {"Retry-After": str(getattr(exc, "retry_after", 60))})
    except sessions.SignInFailed as exc:
        failed_sign_ins.record_failed(w.engine, request.app.state.login_limits.store, exc.staff_id, exc.why, address)
        if exc.alert_staff_id is not None:
            background.add_task(notices.failed_sign_ins, w.engine, w.settings, exc.alert_staff_id)
        return _login_page(request, 401, f"{str(exc).capitalize()}.", email, next_path, background=background)
    return signed_in(request, signed, next_path)


def signed_out(request: Request, code: str) -> RedirectResponse:
    answer = done(LOGIN_PATH, code)
    options = sessions.cookie_options(ctx(request).settings)
    answer.delete_cookie(options["key"], path=options["path"], secure=options["secure"], httponly=True,
                         samesite="strict")
    return answer


@router.post("/admin/logout")
def logout(request: Request, form: Form):
    with console(request, form) as c:  # the CSRF check: nobody else can sign you out
        sessions.logout(c.db, c.settings, request.cookies.get(sessions.COOKIE_NAME), client_ip(request))
    return signed_out(request, "signed_out")


@router.get("/admin/set-password/{token}")
def set_password_page(request: Request, token: str):
    passwords.read_link_token(ctx(request).settings.signing_key(), token)  # a bad link: 400 at once
    return render(request, "set_password.html", token=token, error="")


@router.post("/admin/set-password/{token}")
def set_password(request: Request, token: str, form: Form):
    w = ctx(request)
    if not same_origin(request, w.settings.web_base_url):
        raise Forbidden("this form was posted from another site")
    password, again = str(form.get("password", ""))[:1024], str(form.get("again", ""))[:1024]
    if password != again:
        return render(request, "set_password.html", 400, token=token, error="The two passwords differ.")
    try:
        with w.session() as s:
            accounts.set_password_with_link(s, w.settings.signing_key(), token, password, "console",
                                            client_ip(request))
    except InvalidToken:
        raise
    except InvalidInput as exc:  # too short, too common, ...: nothing was changed
        return render(request, "set_password.html", 400, token=token, error=f"{exc}.")
    return done(LOGIN_PATH, "password_set")
