"""The editors' desk in the console: the edition page's buttons (plain forms with the
CSRF token; no JavaScript needed) post here. Before the send: drop, pin (section or
edition), move, add (from the store by id or URL, or a page by URL), edit, undo; after
it: take down. operators/curation.py checks, records and audits each."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from newsletter.errors import InvalidInput
from newsletter.http_common import ctx
from newsletter.lookups import parse_id
from newsletter.operators import curation
from newsletter.text import one_line
from newsletter.web.admin.console import DONE, Form, Id, console, done

router = APIRouter()
Action = Annotated[str, Path(pattern=r"^(drop|pin|lead|move|add|edit|undo|takedown)$")]
DONE.update({"curated": "Saved: the edition reads as shown below.",
             "undone": "Taken back: the edition reads as if it was never made.",
             "taken_down": f"Taken down: gone from the archive and the browser view; {curation.RECALL}."})


def _int(value: str, what: str) -> int:
    found = parse_id(value.strip(), what)
    if found is None:
        raise InvalidInput(f"{what} must be a whole number from 1")
    return found


@router.post("/admin/editions/{edition_id}/desk/{action}")
def curate(request: Request, edition_id: Id, action: Action, form: Form):
    f = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    item = f.get("item", "")[:2100]
    code = "curated"
    with console(request, form) as c:
        if action == "drop":
            curation.drop(c.db, c.actor, edition_id, item)
        elif action in ("pin", "lead"):
            curation.pin(c.db, c.actor, edition_id, item, "edition" if action == "lead" else "section")
        elif action == "move":
            curation.move(c.db, c.actor, edition_id, item, f.get("section", "")[:64],
                          _int(f.get("rank", "1") or "1", "the place"))
        elif action == "edit":
            teaser = f.get("teaser")
            curation.edit(c.db, c.actor, edition_id, item, f.get("headline", "")[:600],
                          None if teaser is None or teaser == f.get("teaser_was") else teaser[:2100])
        elif action == "add":
            ref = one_line(f.get("article", ""))
            article = _int(ref, "the article's id") if ref.isdigit() else None
            url = "" if article else (ref or one_line(f.get("url", "")))[:2048]
            curation.add(c.db, c.actor, edition_id, article_id=article, url=url, section=f.get("section", "")[:64],
                         headline=f.get("headline", "")[:600], fetch_page=curation.page_fetcher(ctx(request).settings))
        elif action == "undo":
            curation.undo(c.db, c.actor, edition_id, _int(f.get("change", ""), "the change"))
            code = "undone"
        else:
            curation.takedown(c.db, c.actor, edition_id, item)
            code = "taken_down"
    return done(f"/admin/editions/{edition_id}", code)
