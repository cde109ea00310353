"""The audit log (admins): filter by action prefix, target and account, newest first in
keyset pages; the whole log as CSV, streamed."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from newsletter.csvout import csv_chunks
from newsletter.db import session_scope
from newsletter.http_common import ctx
from newsletter.lookups import parse_id
from newsletter.staff import audit
from newsletter.staff.access import Permission, require
from newsletter.web.admin.console import console

router = APIRouter()


def _id(value: str, what: str) -> int | None:
    return parse_id(value, what)


@router.get("/admin/audit")
def audit_page(request: Request):
    q = request.query_params
    filters = {k: q.get(k, "")[:200] for k in ("action", "target", "staff_id") if q.get(k)}
    with console(request) as c:
        rows = audit.entries(c.db, c.actor, filters.get("action", ""), filters.get("target", ""),
                             _id(filters.get("staff_id", ""), "staff id"), _id(q.get("before", ""), "before"), 100)
        return c.page("audit.html", entries=[audit.as_dict(e) for e in rows], filters=filters,
                      cursor=rows[-1].id if len(rows) == 100 else None)


@router.get("/admin/audit/export.csv")
def audit_export(request: Request):
    w = ctx(request)
    with console(request) as c:
        require(c.actor, Permission.AUDIT)  # before the first byte: a refusal is a page, not a broken file
        actor = c.actor

    def stream():
        with session_scope(w.settings.effective_database_url) as s:
            yield from csv_chunks(audit.export_rows(s, actor))

    return StreamingResponse(stream(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
