"""An article's image from its feed entry: Media RSS `media:content` first, then an
`enclosure`; only images, only https; none when the entry has none.

Width and height are what the feed says (media:content has them, enclosures do not);
a value that is not a whole number of pixels from 1 to 10,000 is left out rather than
guessed. The alt text is the entry's media:text or media:description (feedparser reads
the latter into a plain-text `content`); without one it is empty, which marks the image
as decorative: the headline beside it already says what it shows.

An image served over http is left out (a mail client warns about mixed content, some
block it) and the article is kept: the image is optional, the headline is not.
"""
from __future__ import annotations

from dataclasses import dataclass

from newsletter.text import one_line

MAX_SIDE = 10_000


@dataclass(frozen=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    alt: str = ""


def _pixels(value) -> int | None:
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_SIDE:
        return int(text)
    return None


def _usable(url) -> bool:
    return (isinstance(url, str) and url.startswith("https://") and len(url) <= 2048
            and not any(c.isspace() or c in "\"'<>\\" for c in url))


def _is_image(kind, medium="") -> bool:
    return medium == "image" or str(kind or "").lower().startswith("image/")


def _alt(entry) -> str:
    text = entry.get("media_text") or ""
    if not text:
        text = next((c.get("value", "") for c in entry.get("content", []) or []
                     if c.get("type") == "text/plain"), "")
    return one_line(text)[:500]


def entry_image(entry) -> Image | None:
    """The first https image of a feedparser entry, or None."""
    for media in entry.get("media_content", []) or []:
        if _is_image(media.get("type"), media.get("medium", "")) and _usable(media.get("url")):
            return Image(media["url"], _pixels(media.get("width")), _pixels(media.get("height")), _alt(entry))
    for link in entry.get("links", []) or []:
        if link.get("rel") == "enclosure" and _is_image(link.get("type")) and _usable(link.get("href")):
            return Image(link["href"], alt=_alt(entry))
    return None
