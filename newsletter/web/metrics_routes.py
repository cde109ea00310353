"""GET /metrics: Prometheus text format (metrics/expose.py says what is in it and why).

Counts only, never an address or a name. With NEWSLETTER_METRICS_TOKEN set, a
scraper must send `Authorization: Bearer <token>` (401 otherwise).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from newsletter import runtime
from newsletter.http_common import ctx
from newsletter.metrics import expose
from newsletter.web.bounce_routes import authorised
from newsletter.web.metrics_state import StateCollector

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics_page(request: Request) -> Response:  # sync: the gauges query the database (thread pool)
    w = ctx(request)
    token = w.settings.metrics_token
    if token and not authorised(token, request.headers.get("authorization")):
        return PlainTextResponse("A valid bearer token is required.\n", status_code=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    state = getattr(request.app.state, "metrics_state", None)
    if state is None:
        state = request.app.state.metrics_state = StateCollector(w.engine, runtime.redis_client(w.settings))
    return Response(expose.exposition(state), media_type=expose.CONTENT_TYPE)
