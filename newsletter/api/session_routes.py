"""/api/v1/session: sign in and out with the console's cookie (JSON, for scripts and the
console's pages alike), and setting a password from a one-time link.

An account with a second factor sends its code (or a recovery code) with the password,
as `code`; one the policy requires a second factor of sets it up in the console first.
Too many failures answer 429 with Retry-After (a back-off, staff/throttle.py)."""
from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from newsletter.api.auth import Caller, refuse
from newsletter.api.common import Body
from newsletter.errors import Forbidden
from newsletter.http_common import client_ip, ctx, same_origin
from newsletter.staff import accounts, devices, notices, second_factor, sessions
from newsletter.staff.access import NotSignedIn

router = APIRouter(tags=["session"])


class Credentials(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    code: str | None = Field(default=None, max_length=40, description="the second factor's code, if the "
                                                                      "account has one (or a recovery code)")


def _describe(s, current: sessions.Current) -> dict:
    return {"staff": accounts.describe(s, current.account), "csrf_token": sessions.csrf_token(current),
            "expires_at": current.session.expires_at.isoformat()}


def _refused(status: int, title: str, detail: str, background: BackgroundTasks) -> JSONResponse:
    """A refusal answered here (not raised), so that the alert it may carry is sent after it."""
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type="application/problem+json", background=background,
                        headers={"WWW-Authenticate": 'Bearer realm="newsletter"'} if status == 401 else None)


@router.post("/session", summary="Sign in: sets the session cookie; answers the CSRF token")
def login(request: Request, body: Credentials, background: BackgroundTasks):
    w = ctx(request)
    if not same_origin(request, w.settings.web_base_url):
        raise refuse("this request came from another site", 403)
    address = client_ip(request)
    try:
        with w.session() as s:
            signed = sessions.login(s, w.settings, request.app.state.login_limits, body.email, body.password,
                                    address, request.cookies.get(devices.COOKIE_NAME, ""), "api")
            if signed.stage == sessions.ENROL:
                raise Forbidden("a second factor is required of this account: set it up in the console first")
            if signed.stage == sessions.CODE:
                if not body.code:
                    raise NotSignedIn("this account has a second factor: send its code as `code`")
                how = second_factor.check(s, w.settings, request.app.state.login_limits, signed.account, body.code)
                signed = sessions.complete(s, w.settings, signed.account, address, "api", how, signed.session)
            answer = JSONResponse(_describe(s, sessions.Current(signed.account, signed.session)))
    except sessions.SignInFailed as exc:
        if exc.alert_staff_id is not None:
            background.add_task(notices.failed_sign_ins, w.engine, w.settings, exc.alert_staff_id)
        return _refused(401, exc.title, f"{exc}.", background)
    answer.set_cookie(value=signed.cookie, **sessions.cookie_options(w.settings))
    return answer


@router.get("/session", summary="Who is signed in (or whom the token names)")
def whoami(request: Request, actor: Caller):
    w = ctx(request)
    with w.session() as s:
        current = sessions.resolve(s, w.settings, request.cookies.get(sessions.COOKIE_NAME))
        if actor.via == "console" and current is not None:
            return _describe(s, current)
        return {"staff": {"id": actor.staff_id, "email": actor.label, "role": actor.role}, "via": actor.via}


@router.delete("/session", summary="Sign out: the session ends on the server")
def logout(request: Request, actor: Caller):
    w = ctx(request)
    with w.session() as s:
        sessions.logout(s, w.settings, request.cookies.get(sessions.COOKIE_NAME), client_ip(request))
    answer = JSONResponse({"signed_out": True})
    options = sessions.cookie_options(w.settings)
    answer.delete_cookie(options["key"], path=options["path"], secure=options["secure"], httponly=True,
                         samesite="strict")
    return answer


class PasswordFromLink(Body):
    token: str = Field(max_length=500)
    password: str = Field(max_length=1024)


@router.post("/session/password", summary="Set a password with a one-time link's token")
def set_password(request: Request, body: PasswordFromLink):
    w = ctx(request)
    with w.session() as s:
        account = accounts.set_password_with_link(s, w.settings.signing_key(), body.token, body.password, "api",
                                                  client_ip(request))
        return {"staff": accounts.describe(s, account), "password_set": True}


class PasswordChange(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.put("/session/password", summary="Change your own password (every session of yours ends, "
                                         "your API tokens are revoked)")
def change_password(request: Request, actor: Caller, body: PasswordChange):
    with ctx(request).session() as s:
        accounts.change_own_password(s, actor, body.current_password, body.new_password)
    return {"password_set": True}
