"""Imports: upload a CSV (email, name, sections, timezone) for a publication, then follow
the job: checked and reported by line, imported in the background, all or nothing
unless invalid rows are skipped (subscribers/imports.py). The job's page refreshes itself
until the job is over.

The upload is a multipart form, so this route reads it itself, in order: the session
and the role first, from the cookie alone, before any byte of the body; then a free
import slot of this process (subscribers/uploads.py); then the form, whose file part goes
to disk as it arrives; then the form's CSRF token and the publication; then the file,
copied and checked as UTF-8 for the job, which reads it from disk in chunks.
"""
from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from newsletter.errors import InvalidInput
from newsletter.http_common import busy, ctx
from newsletter.operators import imports, publications
from newsletter.staff.access import Permission, require
from newsletter.subscribers import uploads
from newsletter.web.admin.console import Id, console, done

router = APIRouter()
PATH = "/admin/imports"
READ = 1 << 16


@router.get(PATH)
def imports_page(request: Request):
    with console(request) as c:
        return c.page("imports.html", jobs=imports.recent(c.db, c.actor, 20),
                      pubs=publications.publications(c.db, c.actor))


def _signed_in_admin(request: Request) -> None:
    with console(request) as c:  # no form yet: the session and the role, from the cookie alone
        require(c.actor, Permission.SUBSCRIBERS)


@router.post(PATH)
async def upload(request: Request, background: BackgroundTasks):
    w = ctx(request)
    await run_in_threadpool(_signed_in_admin, request)
    slots: uploads.Slots = request.app.state.import_slots
    if not slots.take():
        raise busy()
    try:
        form = await request.form(max_files=1, max_fields=10)
        try:
            file = form.get("file")
            publication, skip_invalid = str(form.get("publication", ""))[:64], form.get("skip_invalid") == "on"

            def check() -> None:
                with console(request, form) as c:  # the form's CSRF token and origin
                    imports.check_start(c.db, c.actor, publication)
                    if not isinstance(file, UploadFile) or not file.filename:
                        raise InvalidInput("choose the CSV file to import")

            await run_in_threadpool(check)

            async def pieces():
                while piece := await file.read(READ):
                    yield piece

            path = await uploads.receive(pieces(), w.settings)
        finally:
            await form.close()
        try:
            def start() -> int:
                with console(request, form) as c:
                    return imports.start(c.db, c.actor, publication, skip_invalid).id

            job_id = await run_in_threadpool(start)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    except BaseException:
        slots.give_back()
        raise
    background.add_task(uploads.run_and_forget, w.engine, w.settings.signing_key(), job_id, path, slots)
    return done(f"{PATH}/{job_id}")


@router.get(PATH + "/{import_id}")
def import_page(request: Request, import_id: Id):
    with console(request) as c:
        job = imports.get(c.db, c.actor, import_id)
        running = job["status"] not in imports.FINAL
        return c.page("import.html", job=job, running=running)
