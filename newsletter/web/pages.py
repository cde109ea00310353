"""What the web's routes read from a request (its form, its raw body); the context, the
caller's address and the security headers are newsletter/http_common.py's (the API's too)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


def mask(email: str) -> str:
    """a***@example.org: enough to recognise one's own address, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def _form(request: Request) -> FormData:
    return await request.form()


# A route's posted form, read before the (sync) route runs in the thread pool.
Form = Annotated[FormData, Depends(_form)]


async def _body(request: Request) -> bytes:
    return await request.body()


# A route's raw body (JSON), read the same way: the route itself is a plain `def`, so its
# database and Redis calls run in the thread pool, never on the event loop.
RawBody = Annotated[bytes, Depends(_body)]
