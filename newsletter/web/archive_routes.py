"""The public archive: /p/<publication>/ (newest first, paginated), /p/<publication>/<date>
(the whole edition: every section), /p/<publication>/feed.xml (Atom) and /sitemap.xml.

What is in it is editions/archive.py's rule: sent to the end, not superseded, of a
publication whose archive is on; everything else is a 404, the same 404 whatever the
reason. The pages are the same for everyone: no personal link, no token, nothing from
the request but the path, so they may be cached (and are, briefly) and indexed. Their
images (the logo, a lead image) come from the https addresses of the publications file
and the feeds, which the page's Content-Security-Policy allows, and nothing else.
"""
from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.editions import archive
from newsletter.http_common import ctx
from newsletter.links import Links
from newsletter.render.edition import cut_at_word, group_sections, lead_image
from newsletter.web.archive_feeds import atom_feed, edition_title, sitemap_xml
from newsletter.web.middleware import IMAGES_POLICY

router = APIRouter()
PUBLIC = "public, max-age=300"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # anything else is no page here (a 404, not a 400)


def _links(w) -> Links:
    """Absolute addresses from the settings as they are now (canonical URLs)."""
    return Links(w.settings.web_base_url, w.tokens)


def _not_here(w):
    return w.page("error.html", status=404, title="Not here", message="There is no such page in the archive.")


def _page(w, name: str, **context):
    response = w.page(name, **context)
    response.headers.update({"Cache-Control": PUBLIC, "Content-Security-Policy": IMAGES_POLICY})
    return response


def _xml(body: bytes, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={"Cache-Control": PUBLIC})


@router.get("/p/{slug}")
def without_slash(request: Request, slug: str):
    if not _SLUG.fullmatch(slug):
        return _not_here(ctx(request))
    return RedirectResponse(f"/p/{slug}/", status_code=308)  # a path of this site, never from the Host header


@router.get("/p/{slug}/")
def archive_index(request: Request, slug: str, page: str = "1"):
    w = ctx(request)
    if not (page.isascii() and page.isdigit() and 0 < len(page) <= 6 and int(page) > 0):
        return _not_here(w)
    number = int(page)
    with w.session() as s:
        pub = archive.archived_publication(s, slug) if _SLUG.fullmatch(slug) else None
        if pub is None:
            return _not_here(w)
        pages = archive.page_count(s, pub)
        if number > pages:
            return _not_here(w)
        entries = archive.archive_page(s, pub, number)
        links = _links(w)
        return _page(w, "archive.html", publication=pub, entries=entries, page=number, pages=pages,
                     canonical=links.archive(pub.slug, page=number), feed_url=links.archive_feed(pub.slug),
                     prev_url=links.archive_path(pub.slug, page=number - 1) if number > 1 else "",
                     next_url=links.archive_path(pub.slug, page=number + 1) if number < pages else "",
                     edition_path=lambda day: links.archive_path(pub.slug, day))


@router.get("/p/{slug}/feed.xml")
def archive_feed(request: Request, slug: str):
    w = ctx(request)
    with w.session() as s:
        pub = archive.archived_publication(s, slug) if _SLUG.fullmatch(slug) else None
        if pub is None:
            return _not_here(w)
        links = _links(w)
        body = atom_feed(pub, archive.latest_editions(s, pub), links.archive(pub.slug),
                         links.archive_feed(pub.slug), lambda day: links.archive(pub.slug, day))
    return _xml(body, "application/atom+xml")


@router.get("/p/{slug}/{day}")
def archive_edition(request: Request, slug: str, day: str):
    w = ctx(request)
    try:
        when = date.fromisoformat(day) if _DATE.fullmatch(day) else None
    except ValueError:
        when = None
    if when is None:
        return _not_here(w)
    with w.session() as s:
        pub = archive.archived_publication(s, slug) if _SLUG.fullmatch(slug) else None
        edition = archive.archived_edition(s, pub, when) if pub is not None else None
        if edition is None:
            return _not_here(w)
        groups = group_sections(edition, None)
        headlines = [item.headline for g in groups for item in g.entries]
        image = lead_image(groups)
        links = _links(w)
        return _page(w, "archive_edition.html", publication=pub, edition=edition, sections=groups,
                     title=edition_title(pub, edition.date), lead_image=image,
                     description=cut_at_word(" · ".join(headlines), 200),
                     og_image=image["url"] if image else pub.logo_url,
                     canonical=links.archive(pub.slug, edition.date), archive_url=links.archive_path(pub.slug),
                     feed_url=links.archive_feed(pub.slug))


@router.get("/sitemap.xml")
def sitemap(request: Request):
    w = ctx(request)
    with w.session() as s:
        entries = archive.sitemap(s)
    links = _links(w)
    return _xml(sitemap_xml(entries, lambda slug, day: links.archive(slug, day)), "application/xml")
