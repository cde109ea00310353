"""A preview rendered as the reader would get it: subject, HTML part and text part.

The same templates and the same rendering as delivery (EditionRenderer), filled in
with the reader's name and with inert links: a preview file or a test message must
never carry a working unsubscribe link of a real subscriber, since it is read (and
clicked) by someone else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from newsletter.config import Settings
from newsletter.editions.preview import TRANSIENT_ID, Preview
from newsletter.links import Links
from newsletter.render.edition import EditionRenderer, Personal, personalise


@dataclass(frozen=True)
class RenderedPreview:
    subject: str
    html: str
    text: str
    headline_count: int
    personal: Personal


def inert_personal(links: Links, name: str) -> Personal:
    """The reader's name; links that show where they go and do nothing (a 400 page)."""
    return Personal(name=name, unsubscribe_url=links.absolute("/u/PREVIEW"),
                    preferences_url=links.absolute("/preferences/PREVIEW"))


def view_url(links: Links, preview: Preview) -> str:
    edition = preview.edition
    return links.edition(edition.public_id if preview.stored else TRANSIENT_ID.upper())


def render_preview(settings: Settings, preview: Preview, publication) -> RenderedPreview:
    links = Links.from_settings(settings)
    renderer = EditionRenderer(preview.edition, publication, settings.templates_dir, view_url(links, preview))
    sections = frozenset(preview.reader.sections) if preview.reader.sections is not None else None
    rendered = renderer.render(sections, named=bool(preview.reader.name))
    personal = inert_personal(links, preview.reader.name)
    markup, text = personalise(rendered, personal)
    return RenderedPreview(rendered.subject, markup, text, rendered.headline_count, personal)


def write_parts(rendered: RenderedPreview, folder: Path, stem: str) -> tuple[Path, Path]:
    """<folder>/<stem>.html and .txt, written aside and renamed into place."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:120]
    paths = folder / f"{safe}.html", folder / f"{safe}.txt"
    for path, content in zip(paths, (rendered.html, rendered.text), strict=True):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    return paths
