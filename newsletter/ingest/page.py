"""A story from a web page, for an editor adding it to an edition by its URL: the page's
own title and description (Open Graph first, then <title> and the description meta).
No database; a page with no title is refused rather than guessed."""
from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from newsletter.errors import InvalidInput
from newsletter.text import one_line


@dataclass(frozen=True)
class PageStory:
    url: str
    headline: str
    teaser: str
    image_url: str
    source: str


class _Meta(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            name = (a.get("property") or a.get("name") or "").lower()
            if name and "content" in a:
                self.meta.setdefault(name, a["content"])
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def story_from_page(url: str, body: bytes) -> PageStory:
    parser = _Meta()
    parser.feed(body.decode("utf-8", "replace"))
    m = parser.meta
    headline = one_line(m.get("og:title") or m.get("twitter:title") or parser.title)[:500]
    if not headline:
        raise InvalidInput(f"the page at {url[:200]} has no title: give the headline yourself")
    teaser = one_line(m.get("og:description") or m.get("description") or "")[:2000]
    image = m.get("og:image", "")
    return PageStory(url, headline, teaser, image if image.startswith("https://") else "",
                     one_line(m.get("og:site_name") or urlsplit(url).hostname or "")[:128])
