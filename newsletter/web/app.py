"""The FastAPI application: routes, limits on request bodies, clear error pages."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from newsletter import runtime
from newsletter.config import Settings, get_settings
from newsletter.tracking.tokens import InvalidToken
from newsletter.web import edition_routes, health, preference_routes, signup_routes, unsubscribe_routes
from newsletter.web.limits import Counters
from newsletter.web.pages import WebContext

MAX_BODY = 64 * 1024  # forms here are small; anything larger is refused before parsing


class BodyLimit:
    """413 for bodies over MAX_BODY, whether or not they announce their length."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _too_large(send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b"Request body too large."
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="newsletter", docs_url=None, redoc_url=None, openapi_url=None)
    engine = runtime.engine_for(settings)
    app.state.web = WebContext(settings, engine, runtime.dispatcher(settings),
                               Counters(runtime.redis_client(settings)))
    for module in (unsubscribe_routes, preference_routes, signup_routes, edition_routes):
        app.include_router(module.router)
    app.include_router(health.router)  # /healthz, /readyz

    @app.exception_handler(InvalidToken)
    async def invalid_token(request: Request, exc: InvalidToken):
        return request.app.state.web.page("error.html", status=400, title="This link does not work",
                                          message=f"{exc}. Nothing was changed. Use the most recent "
                                                  "email you received, or write to us.")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return request.app.state.web.page("error.html", status=400, title="Malformed request",
                                          message="The request could not be understood.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return request.app.state.web.page("error.html", status=exc.status_code, title="Not here",
                                          message=str(exc.detail))

    app.add_middleware(BodyLimit)
    return app
