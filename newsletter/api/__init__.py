"""The REST API under /api/v1: the same domain functions as the command line and the
console; routers only parse input, name the caller (auth.py) and present the result.
Errors are RFC 9457 problem documents (web/app.py maps every NewsletterError)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from newsletter.api import (
    common,
    curation_routes,
    docs,
    import_routes,
    operator_routes,
    preview_routes,
    publication_routes,
    session_routes,
    staff_routes,
    subscriber_routes,
    suppression_routes,
)
from newsletter.runtime import redis_client
from newsletter.staff.sessions import login_limits
from newsletter.subscribers.uploads import Slots

PREFIX = "/api/v1"
IMPORT_PATH = PREFIX + import_routes.PATH


def router() -> APIRouter:
    api = APIRouter(prefix=PREFIX, dependencies=[Depends(common.single_query_values)])
    for module in (session_routes, subscriber_routes, suppression_routes, import_routes, staff_routes,
                   publication_routes, operator_routes, preview_routes, curation_routes):
        api.include_router(module.router)
    return api


def include(app: FastAPI) -> None:
    settings = app.state.web.settings
    api = router()
    app.include_router(api)
    app.include_router(docs.router, prefix=PREFIX)
    app.state.api_openapi = docs.document(api.routes)
    app.state.login_limits = login_limits(settings, redis_client(settings))  # one per process without Redis
    app.state.import_slots = Slots(settings.import_max_concurrent)  # the API's and the console's uploads
