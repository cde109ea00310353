"""The FastAPI application: routes, middleware, and one way of answering errors.

Every error is a 4xx page (or, under /api/, an RFC 9457 problem document) with the
security headers; an unexpected exception is a plain 500 page that says nothing
about the inside. No redirect is built from the request's Host header (redirect
slashes are off: /subscribe/ is a 404, not a redirect).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from newsletter import api, dispatchers, runtime
from newsletter.config import Settings, get_settings
from newsletter.errors import InvalidInput, NewsletterError
from newsletter.http_common import SECURITY_HEADERS, WebContext
from newsletter.tracking.tokens import InvalidToken
from newsletter.web import (
    admin,
    archive_routes,
    bounce_routes,
    click_routes,
    edition_routes,
    health,
    metrics_routes,
    preference_routes,
    signup_routes,
    unsubscribe_routes,
    webhook_routes,
)
from newsletter.web.middleware import TOO_LARGE, BodyLimit, HeadAsGet, SecurityHeaders, is_api

log = logging.getLogger(__name__)


def error_response(request: Request, status: int, title: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    if is_api(request.url.path):
        return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": message},
                            status_code=status, media_type="application/problem+json", headers=headers)
    if admin.is_console(request.url.path):
        return admin.error_page(request, status, title, message, headers)
    page = request.app.state.web.page("error.html", status=status, title=title, message=message)
    if headers:
        page.headers.update(headers)
    return page


def _routes(routes):
    """Every route, looking inside included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if inner is not None and not hasattr(route, "methods"):
            yield from _routes(inner.routes if hasattr(inner, "routes") else inner)
        else:
            yield route


def _allowed_methods(request: Request) -> str:
    methods: set[str] = set()
    for route in _routes(request.app.router.routes):
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="newsletter", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    engine = runtime.engine_for(settings)
    app.state.web = WebContext(settings, engine, dispatchers.dispatcher(settings), runtime.counters(settings))
    for module in (unsubscribe_routes, preference_routes, signup_routes, edition_routes, archive_routes,
                   click_routes):
        app.include_router(module.router)
    app.include_router(health.router)  # /healthz, /readyz
    app.include_router(bounce_routes.router)  # POST /bounces/inbound (relays, shared secret)
    app.include_router(webhook_routes.router)  # POST /bounces/<provider> (signed provider webhooks)
    app.include_router(metrics_routes.router)  # /metrics (Prometheus)
    api.include(app)  # /api/v1 (newsletter/api/)
    admin.include(app)  # /admin, the console (newsletter/web/admin/)

    @app.exception_handler(InvalidToken)
    async def invalid_token(request: Request, exc: InvalidToken):
        return error_response(request, 400, "This link does not work",
                              f"{exc}. Nothing was changed. Use the most recent email you received, or write to us.")

    @app.exception_handler(NewsletterError)
    async def newsletter_error(request: Request, exc: NewsletterError):
        status = exc.status if 400 <= exc.status < 600 else 500
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
            return error_response(request, status, exc.title, "Please try again later.")
        wait = getattr(exc, "retry_after", None)  # a back-off (staff sign-in): when to try again
        return error_response(request, status, exc.title, f"{exc}.", {"Retry-After": str(wait)} if wait else None)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        message = "The request could not be understood."
        if request.url.path.startswith(api.PREFIX + "/"):  # say which field, for people writing scripts
            message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                                for e in exc.errors()[:10]) or message
        return error_response(request, 400, "Malformed request", message)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        # Defence in depth: input is validated at the edge, but a value the database type
        # cannot hold is the sender's mistake, not ours.
        return error_response(request, 400, InvalidInput.title, "A value in the request is not acceptable.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        title = {404: "Not here", 405: "Method not allowed", 413: TOO_LARGE, 503: "Busy",
                 415: "Unsupported media type"}.get(exc.status_code, "Request refused")
        return error_response(request, exc.status_code, title, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # Starlette answers this from its outermost layer, outside our middleware: the
        # security headers are added here.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "Something went wrong", "Please try again later.",
                              dict(SECURITY_HEADERS))

    # Outermost first in the list of calls below is innermost: headers wrap everything.
    # Bounce reports carry the returned message, imports a whole list: their own, larger limits.
    app.add_middleware(BodyLimit, limit=settings.web_max_body_bytes,
                       overrides={bounce_routes.PATH: settings.bounce_max_bytes,
                                  **{path: settings.bounce_max_bytes for path in webhook_routes.PATHS.values()},
                                  api.IMPORT_PATH: settings.import_max_bytes,
                                  admin.IMPORT_PATH: settings.import_max_bytes})
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    return app

