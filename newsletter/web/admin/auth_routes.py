"""Signing in and out of the console, the one-time set-password link that `newsletter
staff add --link` prints, and changing one's own password. Sign-in is staff/sessions.py's
(throttled per account and per client address, before the password is looked at)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from newsletter.api.auth import same_origin
from newsletter.errors import Forbidden, InvalidInput
from newsletter.staff import accounts, passwords, sessions
from newsletter.staff.access import NotSignedIn, TooManyAttempts
from newsletter.tracking.tokens import InvalidToken
from newsletter.web.admin.console import DONE, Form, console, done, render, safe_next
from newsletter.web.pages import client_ip, ctx

router = APIRouter()


def _login_page(request: Request, status: int = 200, error: str = "", email: str = "", next_path: str = ""):
    return render(request, "login.html", status, error=error, email=email,
                  next=next_path if safe_next(next_path) else "",
                  done=DONE.get(request.query_params.get("done", ""), ""))


@router.get("/admin/login")
def login_page(request: Request, next: str = ""):
    return _login_page(request, next_path=next[:300])


@router.post("/admin/login")
def login(request: Request, form: Form):
    w = ctx(request)
    email, password, next_path = (str(form.get(k, ""))[:1024] for k in ("email", "password", "next"))
    if not same_origin(request, w.settings.web_base_url):
        raise Forbidden("this form was posted from another site")
    try:
        with w.session() as s:
            signed = sessions.login(s, w.settings, request.app.state.login_counters, email, password,
                                    client_ip(request))
    except TooManyAttempts as exc:
        return _login_page(request, 429, f"{exc}.", email, next_path)
    except NotSignedIn as exc:
        return _login_page(request, 401, f"{str(exc).capitalize()}.", email, next_path)
    answer = RedirectResponse(next_path if safe_next(next_path) else "/admin", status_code=303)
    answer.set_cookie(value=signed.cookie, **sessions.cookie_options(w.settings))
    return answer


def _signed_out(request: Request, code: str) -> RedirectResponse:
    answer = done("/admin/login", code)
    options = sessions.cookie_options(ctx(request).settings)
    answer.delete_cookie(options["key"], path=options["path"], secure=options["secure"], httponly=True,
                         samesite="strict")
    return answer


@router.post("/admin/logout")
def logout(request: Request, form: Form):
    with console(request, form) as c:  # the CSRF check: nobody else can sign you out
        sessions.logout(c.db, c.settings, request.cookies.get(sessions.COOKIE_NAME), client_ip(request))
    return _signed_out(request, "signed_out")


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
    return done("/admin/login", "password_set")


@router.get("/admin/account")
def account_page(request: Request):
    with console(request) as c:
        return c.page("account.html", error="")


@router.post("/admin/account")
def change_password(request: Request, form: Form):
    current, new, again = (str(form.get(k, ""))[:1024] for k in ("current", "password", "again"))
    with console(request, form) as c:
        if new != again:
            return c.page("account.html", 400, error="The two new passwords differ.")
        try:
            accounts.change_own_password(c.db, c.actor, current, new)
        except NotSignedIn:
            return c.page("account.html", 400, error="The current password is not right.")
        except InvalidInput as exc:
            return c.page("account.html", 400, error=f"{exc}.")
    return _signed_out(request, "password_changed")  # every session of the account ended
