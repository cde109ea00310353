"""Preview as a reader would get it (everyone, a choice of sections, or one subscriber),
the HTML part beside the plain-text part, and a test send of it. The HTML is served by
its own route into a frame, under a policy of its own: sandboxed (no script, no form,
no origin), styles and images only, and framed by the console alone. A date not built
yet is planned in memory and nothing is stored (operators/previews.py)."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from newsletter import runtime
from newsletter.lookups import parse_id
from newsletter.operators import previews
from newsletter.times import parse_day
from newsletter.web.admin.console import Form, console, done

router = APIRouter()
FIELDS = ("edition", "publication", "date", "as", "sections")
FRAME_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; sandbox; "
                "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def _target(values) -> tuple[previews.Target, dict]:
    raw = {k: str(values.get(k, "")).strip()[:320] for k in FIELDS}
    target = previews.Target(parse_id(raw["edition"], "edition"), raw["publication"], parse_day(raw["date"], "date"),
                             raw["as"], raw["sections"])
    return target, {k: v for k, v in raw.items() if v}


@router.get("/admin/preview")
def preview_page(request: Request):
    target, query = _target(request.query_params)
    with console(request) as c:
        shown = previews.show(c.db, c.actor, c.settings, target)
        return c.page("preview.html", frames=True, shown=shown, data=previews.as_dict(shown), query=query,
                      frame_url="/admin/preview.html?" + urlencode(query))


@router.get("/admin/preview.html")
def preview_frame(request: Request):
    target, _ = _target(request.query_params)
    with console(request) as c:
        shown = previews.show(c.db, c.actor, c.settings, target)
    markup = shown.rendered.html if shown.rendered else "<p>No headline for this reader.</p>"
    return HTMLResponse(markup, headers={"Content-Security-Policy": FRAME_POLICY, "X-Frame-Options": "SAMEORIGIN"})


@router.post("/admin/preview/test-send")
def test_send(request: Request, form: Form):
    target, query = _target(form)
    with console(request, form) as c:
        previews.test_send(c.db, c.actor, c.settings, runtime.backend(c.settings), target,
                           str(form.get("to", ""))[:320])
    return done("/admin/preview", "test_sent", **query)
