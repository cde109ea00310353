"""Health endpoints for orchestrators and load balancers.

/healthz  the process is up and answering; touches nothing else.
/readyz   the process can do its work: the database answers and its schema is at the
          newest migration; the broker (and a separate Redis) answer when configured; the
          SMTP relay greets us when the smtp backend is configured. 200 when every check
          passes, 503 when one fails, with a JSON body listing each check. Never a 500:
          a check that raises or hangs is a failed check.

What a failed check says is short on purpose (the error's class, or "timed out"): the
endpoint is public, and host names and error texts belong in the log, which gets the
full, redacted message.
"""
from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import inspect, text

from newsletter.config import Settings
from newsletter.schema import alembic_config

log = logging.getLogger(__name__)
router = APIRouter()

CHECK_TIMEOUT = 5.0  # seconds for each check; they run side by side
NO_STORE = {"Cache-Control": "no-store"}


@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.api_route("/readyz", methods=["GET", "HEAD"], include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    web = request.app.state.web
    checks = _checks(web.settings, web.engine)
    results = await asyncio.gather(*(_run(name, check) for name, check in checks.items()))
    body = {"status": "ready" if all(r["ok"] for r in results) else "unavailable",
            "checks": {name: r for name, r in zip(checks, results, strict=True)}}
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503, headers=NO_STORE)


def _checks(settings: Settings, engine) -> dict[str, Callable[[], str]]:
    checks: dict[str, Callable[[], str]] = {"database": lambda: check_database(engine, settings)}
    if settings.broker_url:
        checks["broker"] = lambda: check_url(settings.broker_url)
    redis_url = settings.effective_redis_url
    if redis_url and redis_url != settings.broker_url:
        checks["redis"] = lambda: check_url(redis_url)
    if settings.delivery_backend == "smtp":
        checks["smtp"] = lambda: check_smtp(settings)
    return checks


async def _run(name: str, check: Callable[[], str]) -> dict:
    try:
        detail = await asyncio.wait_for(asyncio.to_thread(check), CHECK_TIMEOUT)
        return {"ok": True, "detail": detail}
    except TimeoutError:
        log.warning("readiness check %s timed out after %ss", name, CHECK_TIMEOUT)
        return {"ok": False, "detail": "timed out"}
    except Exception as exc:  # noqa: BLE001 - any failure is a failed check, never a 500
        log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        return {"ok": False, "detail": exc.args[0] if isinstance(exc, NotReady) else type(exc).__name__}


class NotReady(Exception):
    """A check that reached its dependency and did not like the answer."""


@lru_cache(maxsize=8)
def _head_revisions(url: str) -> tuple[str, ...]:
    """The newest migrations shipped with this code (read once per process)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads()))


def check_database(engine, settings: Settings) -> str:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        # Alembic's own table, read directly: a MigrationContext would log two lines per probe.
        has_table = inspect(conn).has_table("alembic_version")
        current = tuple(sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
                        if has_table else ())
    head = _head_revisions(settings.effective_database_url)
    if current != head:
        raise NotReady(f"schema at {', '.join(current) or 'nothing'}, code expects {', '.join(head)}")
    return f"schema at {', '.join(head)}"


def check_url(url: str) -> str:
    """Redis answers PING; any other broker (amqp://...) must accept a TCP connection."""
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
        return "PING answered"
    parts = urlsplit(url)
    if not parts.hostname:
        raise NotReady("no host in the URL")
    with socket.create_connection((parts.hostname, parts.port or 5672), timeout=CHECK_TIMEOUT):
        return "connection accepted"


def check_smtp(settings: Settings) -> str:
    """Connect and read the greeting, then QUIT: no EHLO, no login, no mail."""
    relay = smtplib.SMTP(timeout=min(settings.smtp_timeout, CHECK_TIMEOUT))
    try:
        code, _ = relay.connect(settings.smtp_host, settings.smtp_port)
        if code != 220:
            raise NotReady(f"relay greeted with {code}")
        relay.quit()
    finally:
        relay.close()
    return "relay greeted with 220"
