"""/api/v1/imports: upload a CSV (the request body, text/csv), then poll the job."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from starlette.concurrency import run_in_threadpool

from newsletter.api.auth import Caller
from newsletter.api.common import Id
from newsletter.errors import InvalidInput
from newsletter.subscribers import imports
from newsletter.web.pages import ctx

router = APIRouter(tags=["imports"])
PATH = "/imports"  # its body may be larger than elsewhere: api/__init__.py


@router.post(PATH, status_code=202, summary="Import a CSV: email, name, sections, timezone (admins)",
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def start_import(request: Request, actor: Caller, background: BackgroundTasks,
                       publication: Annotated[str, Query(min_length=1, max_length=64)],
                       skip_invalid: bool = False):
    """All or nothing unless `skip_invalid`. Validated, then imported in the background:
    poll GET /api/v1/imports/{id} for progress and the report by line."""
    w = ctx(request)
    data = await request.body()
    if not data.strip():
        raise InvalidInput("the request body must be the CSV file")
    text = imports.decode(data)

    def record() -> int:
        with w.session() as s:
            return imports.start(s, actor, publication, skip_invalid).id

    def report(job_id: int) -> dict:
        with w.session() as s:
            return imports.get(s, actor, job_id)

    job_id = await run_in_threadpool(record)
    background.add_task(imports.run, w.engine, w.settings.signing_key(), job_id, text)
    return await run_in_threadpool(report, job_id)


@router.get(PATH, summary="Recent imports")
def list_imports(request: Request, actor: Caller, limit: Annotated[int, Query(ge=1, le=200)] = 20):
    with ctx(request).session() as s:
        return {"items": imports.recent(s, actor, limit)}


@router.get(PATH + "/{import_id}", summary="One import: progress, counts, the report by line")
def get_import(request: Request, actor: Caller, import_id: Id):
    with ctx(request).session() as s:
        return imports.get(s, actor, import_id)
