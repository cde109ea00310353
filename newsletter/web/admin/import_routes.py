"""Imports: upload a CSV (email, name, sections, timezone) for a publication, then follow
the job: validated first and reported by line, imported in the background, all or
nothing unless invalid rows are skipped (subscribers/imports.py). The job's page
refreshes itself until the job is over."""
from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.datastructures import UploadFile

from newsletter.errors import InvalidInput
from newsletter.operators import publications
from newsletter.staff.access import Permission, require
from newsletter.subscribers import imports
from newsletter.web.admin.console import Form, Id, console, done

router = APIRouter()
PATH = "/admin/imports"


@router.get(PATH)
def imports_page(request: Request):
    with console(request) as c:
        return c.page("imports.html", jobs=imports.recent(c.db, c.actor, 20),
                      pubs=publications.publications(c.db, c.actor))


@router.post(PATH)
def upload(request: Request, form: Form, background: BackgroundTasks):
    upload = form.get("file")
    with console(request, form) as c:
        require(c.actor, Permission.SUBSCRIBERS)  # refused before the file is even read
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("choose the CSV file to import")
        text = imports.decode(upload.file.read())
        if not text.strip():
            raise InvalidInput("the file is empty")
        job_id = imports.start(c.db, c.actor, str(form.get("publication", "")),
                               form.get("skip_invalid") == "on").id
    background.add_task(imports.run, c.w.engine, c.settings.signing_key(), job_id, text)  # after the commit
    return done(f"{PATH}/{job_id}")


@router.get(PATH + "/{import_id}")
def import_page(request: Request, import_id: Id):
    with console(request) as c:
        job = imports.get(c.db, c.actor, import_id)
        running = job["status"] not in imports.FINAL
        return c.page("import.html", job=job, running=running)
