"""Who is calling the API: a bearer token (`Authorization: Bearer nlt_...`), or the
console's session cookie. A cookie alone never changes anything: a request that is not
a read must also carry the session's CSRF token (X-CSRF-Token) and, when the browser
names its origin, come from this site."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from newsletter.http_common import client_ip, ctx, same_origin
from newsletter.staff import api_tokens, sessions
from newsletter.staff.access import Actor

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token (`newsletter tokens create`, or POST /api/v1/tokens).")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="newsletter"'}


def refuse(message: str, status: int = 401) -> HTTPException:
    return HTTPException(status, message, headers=CHALLENGE if status == 401 else None)


def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    w = ctx(request)
    address = client_ip(request)
    if request.headers.get("authorization"):
        if credentials is None:
            raise refuse("use Authorization: Bearer <token>")
        with w.session() as s:
            actor = api_tokens.authenticate(s, credentials.credentials.strip(), address)
        if actor is None:
            raise refuse("this API token is not valid (unknown, revoked, or its account is disabled)")
        return actor
    cookie = request.cookies.get(sessions.COOKIE_NAME)
    if not cookie:
        raise refuse("sign in, or send an API token: Authorization: Bearer <token>")
    with w.session() as s:
        current = sessions.resolve(s, w.settings, cookie)
        if current is None:
            raise refuse("your session has ended; sign in again")
        if request.method not in SAFE_METHODS:
            if not same_origin(request, w.settings.web_base_url):
                raise refuse("this request came from another site", 403)
            sessions.check_csrf(current, request.headers.get("x-csrf-token"))
        return current.actor("console", address)


Caller = Annotated[Actor, Depends(caller)]
