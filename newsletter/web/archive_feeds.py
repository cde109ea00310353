"""The archive's machine-readable documents: an Atom feed of a publication's editions
(RFC 4287) and the sitemap of every archive (sitemaps.org). Built with ElementTree, so
every headline is escaped by the serialiser, never by hand; no personal link or token
is ever in them (they are built from the edition alone).
"""
from __future__ import annotations

from datetime import date, datetime
from xml.etree import ElementTree as ET

from newsletter.editions.contents import items_as_read
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.render.edition import group_sections

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _stamp(value: datetime | None, fallback: date) -> str:
    if value is None:
        return f"{fallback.isoformat()}T00:00:00Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def edition_title(publication: Publication, day: date) -> str:
    return f"{publication.name}, {day.strftime('%A, %B %-d, %Y')}"


def edition_html(edition: Edition) -> str:
    """The entry's content: the edition's headlines by section, linking to the articles."""
    root = ET.Element("div")
    for group in group_sections(edition, None):
        ET.SubElement(root, "h2").text = group.name
        ul = ET.SubElement(root, "ul")
        for item in group.entries:
            a = ET.SubElement(ET.SubElement(ul, "li"), "a", href=item.url)
            a.text = item.headline
    return ET.tostring(root, encoding="unicode", method="html")


def atom_feed(publication: Publication, editions: list[Edition], archive_url: str, feed_url: str,
              edition_url) -> bytes:
    """`edition_url(day)`: the absolute address of an edition's archive page."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", archive_url)
    sub(feed, "title", f"{publication.name}: the archive")
    newest = editions[0] if editions else None
    sub(feed, "updated", _stamp(newest.finished_at, newest.date) if newest else "1970-01-01T00:00:00Z")
    sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    sub(feed, "link", rel="alternate", type="text/html", href=archive_url)
    author = sub(feed, "author")
    sub(author, "name", publication.sender_name or publication.name)
    if publication.site_url:
        sub(author, "uri", publication.site_url)
    if publication.logo_url:
        sub(feed, "logo", publication.logo_url)
    for edition in editions:
        url = edition_url(edition.date)
        entry = sub(feed, "entry")
        sub(entry, "id", url)
        sub(entry, "title", edition_title(publication, edition.date))
        stamp = _stamp(edition.finished_at, edition.date)
        sub(entry, "published", _stamp(edition.started_at or edition.finished_at, edition.date))
        sub(entry, "updated", stamp)
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        headlines = [item.headline for item in items_as_read(edition)]
        sub(entry, "summary", f"{len(headlines)} headline{'s' if len(headlines) != 1 else ''}: "
                              + " · ".join(headlines[:3]) if headlines else "No headlines.")
        sub(entry, "content", edition_html(edition), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def sitemap_xml(entries: list[tuple[str, date | None, datetime | None]], url_for) -> bytes:
    """`url_for(slug, day)`: the absolute address of an archive page (day None: its first page)."""
    ET.register_namespace("", SITEMAP)
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")
    for slug, day, changed in entries:
        url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = url_for(slug, day)
        if changed is not None or day is not None:
            ET.SubElement(url, f"{{{SITEMAP}}}lastmod").text = (
                changed.strftime("%Y-%m-%dT%H:%M:%SZ") if changed else day.isoformat())
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True)
