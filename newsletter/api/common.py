"""What every API router shares: bounded ids and pages, times read as UTC, JSON bodies
that refuse unknown fields, query parameters given once."""
from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Path, Query, Request
from pydantic import BaseModel, ConfigDict

from newsletter.errors import InvalidInput
from newsletter.lookups import MAX_ID

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A numeric id")]
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="keyset cursor: `next_cursor` of the last page")]
Limit = Annotated[int, Query(ge=1, le=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


def single_query_values(request: Request) -> None:
    """A query parameter given twice is refused rather than read last-wins
    (`?status=bogus&status=active`), unless the operation's OpenAPI document makes it an
    array (none does today). Unknown parameters are ignored."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if not repeated:
        return
    route = request.scope.get("route")
    operation = request.app.state.api_openapi["paths"].get(getattr(route, "path", ""), {}).get(
        request.method.lower(), {})
    arrays = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and _array(p["schema"])}
    refused = [name for name in repeated if name not in arrays]
    if refused:
        raise InvalidInput("query parameter given more than once: " + ", ".join(map(repr, refused)))


def _array(schema: dict) -> bool:
    return schema.get("type") == "array" or any(_array(s) for s in schema.get("anyOf", []))

