"""/api/v1/session: sign in and out with the console's cookie (JSON, for scripts and the
console's pages alike), and setting a password from a one-time link."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from newsletter.api.auth import Caller, refuse, same_origin
from newsletter.api.common import Body
from newsletter.staff import accounts, sessions
from newsletter.web.pages import client_ip, ctx

router = APIRouter(tags=["session"])


class Credentials(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


def _describe(current: sessions.Current) -> dict:
    return {"staff": accounts.as_dict(current.account), "csrf_token": sessions.csrf_token(current),
            "expires_at": current.session.expires_at.isoformat()}


@router.post("/session", summary="Sign in: sets the session cookie; answers the CSRF token")
def login(request: Request, body: Credentials):
    w = ctx(request)
    if not same_origin(request, w.settings.web_base_url):
        raise refuse("this request came from another site", 403)
    with w.session() as s:
        signed = sessions.login(s, w.settings, request.app.state.login_counters, body.email, body.password,
                                client_ip(request))
        answer = JSONResponse(_describe(sessions.Current(signed.account, signed.session)))
    answer.set_cookie(value=signed.cookie, **sessions.cookie_options(w.settings))
    return answer


@router.get("/session", summary="Who is signed in (or whom the token names)")
def whoami(request: Request, actor: Caller):
    w = ctx(request)
    with w.session() as s:
        current = sessions.resolve(s, w.settings, request.cookies.get(sessions.COOKIE_NAME))
        if actor.via == "console" and current is not None:
            return _describe(current)
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
        return {"staff": accounts.as_dict(account), "password_set": True}


class PasswordChange(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.put("/session/password", summary="Change your own password (every session of yours ends)")
def change_password(request: Request, actor: Caller, body: PasswordChange):
    with ctx(request).session() as s:
        accounts.change_own_password(s, actor, body.current_password, body.new_password)
    return {"password_set": True}
