"""Single sign-on in the console: /admin/sso/start sends the browser to the provider,
/admin/sso/callback takes it back (staff/oidc.py checks the answer, staff/sso.py finds
the account).

Between the two, the browser holds a signed cookie (ten minutes, HttpOnly) with the
state, the nonce and the PKCE verifier. It is SameSite=Lax, the one cookie here that is:
the way back from the provider is a navigation from another site, which a Strict cookie
would not accompany. For the same reason the callback answers with a page that moves on
to the console itself, rather than a redirect: the session cookie (Strict) is then sent
on a navigation of this site.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from newsletter.errors import NotFound
from newsletter.http_common import client_ip, ctx
from newsletter.staff import oidc, sessions, sso
from newsletter.staff.access import NotSignedIn
from newsletter.web.admin.auth_routes import _login_page
from newsletter.web.admin.console import render, safe_next

router = APIRouter()
FLOW_COOKIE = "nl_sso"
FLOW_PATH = "/admin/sso"
FLOW_MAX_AGE = 600


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx(request).settings.signing_key(), salt="staff-sso-flow")


def _redirect_uri(request: Request) -> str:
    return ctx(request).settings.web_base_url.rstrip("/") + FLOW_PATH + "/callback"


def _configured(request: Request) -> None:
    if not ctx(request).settings.sso_issuer:
        raise NotFound("single sign-on is not set up here")


@router.get(FLOW_PATH + "/start")
def start(request: Request, next: str = ""):
    _configured(request)
    w = ctx(request)
    try:
        url, flow = oidc.begin(w.settings, _redirect_uri(request))
    except NotSignedIn as exc:
        return _login_page(request, 502, _sentence(exc))
    answer = RedirectResponse(url, status_code=303)
    kept = _serializer(request).dumps([flow.state, flow.nonce, flow.verifier, next[:300] if safe_next(next) else ""])
    answer.set_cookie(FLOW_COOKIE, kept, max_age=FLOW_MAX_AGE, httponly=True, samesite="lax", path=FLOW_PATH,
                      secure=w.settings.web_base_url.startswith("https://"))
    return answer


@router.get(FLOW_PATH + "/callback")
def callback(request: Request):
    _configured(request)
    w = ctx(request)
    try:
        state, nonce, verifier, next_path = _serializer(request).loads(request.cookies.get(FLOW_COOKIE, ""),
                                                                      max_age=FLOW_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return _done(request, _login_page(request, 400, "The single sign-on took too long or did not start here: "
                                                        "try again."))
    if request.query_params.get("error"):
        why = request.query_params.get("error_description") or request.query_params["error"]
        return _done(request, _login_page(request, 401, f"The sign-on provider said no: {why[:200]}."))
    url = _redirect_uri(request) + ("?" + request.url.query if request.url.query else "")
    address = client_ip(request)
    try:
        claims = oidc.finish(w.settings, _redirect_uri(request), url, oidc.Flow(state, nonce, verifier))
        with w.session() as s:
            account = sso.account_for(s, w.settings, claims, address)
            signed = sessions.complete(s, w.settings, account, address, "console", "sso")
    except NotSignedIn as exc:
        return _done(request, _login_page(request, 401, _sentence(exc)))
    page = render(request, "sso_done.html", next=next_path or "/admin")
    page.set_cookie(value=signed.cookie, **sessions.cookie_options(w.settings))
    return _done(request, page)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def _done(request: Request, answer):
    answer.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return answer
