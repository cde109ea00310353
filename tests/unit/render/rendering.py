"""The rendering tests' fixed edition (every kind of item the templates must set well), its
reader, and how they read it; and the WCAG contrast check of what is rendered."""
from __future__ import annotations

import re

from lxml import html as lxml_html
from lxml.cssselect import CSSSelector

from newsletter.render.edition import EditionRenderer, Personal, personalise
from tests.helpers import at

CUT = at("2026-11-26T11:00:00")
VIEW_URL = "https://news.example.com/editions/PUBLIC-ID"


ANN = Personal(name="Ann Reader", unsubscribe_url="https://news.example.com/u/UNSUB-TOKEN",
               preferences_url="https://news.example.com/preferences/PREFS-TOKEN")
LONG_WORD = "Supercalifragilistic" * 10  # 200 characters, no place to break


ARTICLES = [
    # section, headline, teaser, source, byline, dateline
    ("superpowers", "Foreign ministers of three Pacific allies meet ahead of Beijing talks",
     "Officials said the talks would focus on maritime security and trade, with all three capitals "
     "seeking to keep lines of communication open before the summit.",
     "AFP", "AFP Staff Writers", "Tokyo (AFP)"),
    ("superpowers", "Envoy lands in Beijing for the first high-level visit in five years, and both sides "
     "say they want the channels to stay open",
     "Both sides voiced guarded hope. " * 14, "AFP", "", "Beijing (AFP)"),
    ("drone-war", "Drone makers court the army at a trade fair", "", "", "", ""),
    ("nuclear-weapons", "Zürich talks on verification end without a deal",
     f"Delegates could not agree on the word {LONG_WORD} in the final text.",
     "Reuters", "Anna Müller", ""),
]


def render_for(settings, edition, publication, personal: Personal = ANN, sections=None):
    """(html, text, subject) as `personal` reads them."""
    rendered = EditionRenderer(edition, publication, settings.templates_dir, VIEW_URL).render(
        sections, named=bool(personal.name))
    markup, text = personalise(rendered, personal)
    return markup, text, rendered.subject


AA = 4.5
NAMED = {"white": "#ffffff", "black": "#000000"}


LINK_DEFAULT = "#0000ee"  # what a client shows for a link without a colour of its own
DARK_BLOCK = re.compile(r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{(.*?\})\s*\}", re.S)


COLOUR_PROPERTIES = ("color", "background-color")


def rgb(value: str) -> tuple[float, float, float]:
    value = NAMED.get(value.strip().lower(), value.strip().lower())
    value = value.removesuffix("!important").strip()
    m = re.fullmatch(r"#([0-9a-f]{3}|[0-9a-f]{6})", value)
    assert m, f"a colour this test cannot read: {value!r}"  # never skip what we cannot judge
    h = m.group(1) if len(m.group(1)) == 6 else "".join(c * 2 for c in m.group(1))
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(colour: str) -> float:
    def channel(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = map(channel, rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def declarations(style: str) -> dict[str, str]:
    pairs = (d.split(":", 1) for d in style.split(";") if ":" in d)
    return {k.strip().lower(): v.replace("!important", "").strip() for k, v in pairs}


def dark_rules(markup: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of the dark scheme's rules."""
    blocks = [b for style in re.findall(r"<style[^>]*>(.*?)</style>", markup, re.S) for b in DARK_BLOCK.findall(style)]
    return [(selector.strip(), declarations(body))
            for block in blocks for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", block)]


def check_style_blocks(markup: str) -> None:
    """Outside the dark block, <style> may colour nothing: the light check reads inline styles."""
    for style in re.findall(r"<style[^>]*>(.*?)</style>", markup, re.S):
        rest = DARK_BLOCK.sub("", style)
        assert not re.search(r"(?<![-\w])(color|background-color|background)\s*:", rest), \
            f"colours in a <style> block outside the dark scheme: {rest[:200]}"


def text_on_background(markup: str, dark: bool = False) -> list[tuple[str, str, str]]:
    """(text, colour, background) for every element with text of its own, hidden ones left out."""
    check_style_blocks(markup)
    document = lxml_html.document_fromstring(markup)
    overrides: dict = {}
    if dark:
        rules = dark_rules(markup)
        assert rules, "no dark scheme in this email"
        for selector, decls in rules:
            for part in selector.split(","):
                for el in CSSSelector(part.strip())(document):
                    overrides.setdefault(el, {}).update({k: v for k, v in decls.items() if k in COLOUR_PROPERTIES})
    found = []

    def walk(el, colour, background, hidden):
        css = {**declarations(el.get("style", "")), **overrides.get(el, {})}
        hidden = hidden or css.get("display") == "none"
        colour = css.get("color") or (LINK_DEFAULT if el.tag == "a" else colour)
        background = css.get("background-color") or el.get("bgcolor") or background
        own = " ".join(t.strip() for t in [el.text or ""] + [c.tail or "" for c in el] if t and t.strip())
        if own and not hidden:
            found.append((own, colour, background))
        for child in el:
            if isinstance(child.tag, str):
                walk(child, colour, background, hidden)

    walk(document, "#000000", "#ffffff", False)
    return found


def low_contrast(markup: str, dark: bool = False) -> list:
    pieces = text_on_background(markup, dark)
    assert len(pieces) > 5
    return [(round(contrast(c, b), 2), c, b, t[:40]) for t, c, b in pieces if contrast(c, b) < AA]


def assert_aa(markup: str, dark: bool = False) -> None:
    low = low_contrast(markup, dark)
    assert not low, f"text under {AA}:1 contrast ({'dark' if dark else 'light'} scheme): {low}"
