"""/api/v1/imports: upload a CSV (the request body, text/csv), then poll the job.

The body is read as UTF-8 CSV, so only a body that says so is taken: text/csv or
text/plain, without a charset or with utf-8 or us-ascii. Anything else (a multipart form,
JSON, application/octet-stream, no Content-Type) is refused with 415 before a job is
recorded, instead of becoming a job that ends `invalid`.

The caller, their role and the publication are checked before the body's first byte is
read; the body goes to disk as it arrives (subscribers/uploads.py), and without a free
import slot in this process the answer is 503 with Retry-After."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from newsletter.api.auth import Caller
from newsletter.api.common import Id
from newsletter.http_common import busy, ctx
from newsletter.operators import imports
from newsletter.subscribers import uploads

router = APIRouter(tags=["imports"])
PATH = "/imports"  # its body may be larger than elsewhere: api/__init__.py
MEDIA_TYPES = ("text/csv", "text/plain")
CHARSETS = ("utf-8", "utf8", "us-ascii")
_CSV_BODY = {"required": True, "content": {t: {"schema": {"type": "string"}} for t in MEDIA_TYPES}}


def _require_csv(content_type: str | None) -> None:
    media_type, *params = (part.strip().lower() for part in (content_type or "").split(";"))
    charset = next((p.partition("=")[2].strip('"') for p in params if p.startswith("charset=")), "utf-8")
    if media_type not in MEDIA_TYPES or charset not in CHARSETS:
        given = f"{media_type}; charset={charset}" if media_type in MEDIA_TYPES else media_type[:100]
        raise HTTPException(415, f"The body must be the CSV file, sent as {' or '.join(MEDIA_TYPES)} in UTF-8, "
                                 f"not {given or 'without a Content-Type'}.",
                            headers={"Accept-Post": ", ".join(MEDIA_TYPES)})


@router.post(PATH, status_code=202, summary="Import a CSV: email, name, sections, timezone (admins)",
             openapi_extra={"requestBody": _CSV_BODY})
async def start_import(request: Request, actor: Caller, background: BackgroundTasks,
                       publication: Annotated[str, Query(min_length=1, max_length=64)],
                       skip_invalid: bool = False):
    """All or nothing unless `skip_invalid`. Validated, then imported in the background:
    poll GET /api/v1/imports/{id} for progress and the report by line."""
    _require_csv(request.headers.get("content-type"))
    w = ctx(request)

    def check() -> None:
        with w.session() as s:
            imports.check_start(s, actor, publication)

    def record() -> int:
        with w.session() as s:
            return imports.start(s, actor, publication, skip_invalid).id

    def report(job_id: int) -> dict:
        with w.session() as s:
            return imports.get(s, actor, job_id)

    await run_in_threadpool(check)  # before the first byte of the body
    slots: uploads.Slots = request.app.state.import_slots
    if not slots.take():
        raise busy()
    try:
        path = await uploads.receive(request.stream(), w.settings)
        try:
            job_id = await run_in_threadpool(record)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    except BaseException:
        slots.give_back()
        raise
    background.add_task(uploads.run_and_forget, w.engine, w.settings.signing_key(), job_id, path, slots)
    return await run_in_threadpool(report, job_id)


@router.get(PATH, summary="Recent imports")
def list_imports(request: Request, actor: Caller, limit: Annotated[int, Query(ge=1, le=200)] = 20):
    with ctx(request).session() as s:
        return {"items": imports.recent(s, actor, limit)}


@router.get(PATH + "/{import_id}", summary="One import: progress, counts, the report by line")
def get_import(request: Request, actor: Caller, import_id: Id):
    with ctx(request).session() as s:
        return imports.get(s, actor, import_id)
