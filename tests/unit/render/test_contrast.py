"""WCAG 2 contrast of every piece of text in every email, from the CSS colours, in the
light scheme and, where the email has one, the dark scheme.

The emails are fully inlined, so each element's colour in the light scheme is its own
style's or its parent's, and its background is the nearest background-color (or
bgcolor) above it. The dark scheme is the light one with the rules of the
`@media (prefers-color-scheme: dark)` block laid over it (they are !important, as
they must be to beat the inline styles): each rule's selector picks its elements
(cssselect, as a mail client would). AA asks 4.5:1 for normal text; the check walks
every element that holds text. This test computes contrast on its own (the formula
from WCAG 2), not with the module the service uses to check accent colours.
"""
from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html
from lxml.cssselect import CSSSelector

from newsletter.render.emails import render_email
from tests.unit.render.conftest import render_for

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


def test_contrast_calculation_matches_wcag():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#6b7785", "#f6f7f9") == pytest.approx(4.26, abs=0.01)  # the old footer


def test_every_text_of_the_edition_passes_aa(settings, fixed_edition, publication):
    assert_aa(render_for(settings, fixed_edition, publication)[0])


def test_every_text_of_the_confirmation_passes_aa(settings, publication):
    assert_aa(render_email("confirm", {"confirm_url": "https://n.example.com/c/T"}, publication, settings).html)


@pytest.mark.parametrize("accent", ["", "#1a56db", "#5b2a86", "#006c4f"])
def test_every_text_of_the_edition_passes_aa_in_both_schemes(settings, fixed_edition, publication, accent):
    """The house colours, and accent colours of several hues: the accent is section titles,
    "read more" and the masthead's background, light and dark."""
    publication.accent_color = accent
    markup = render_for(settings, fixed_edition, publication)[0]
    assert_aa(markup)
    assert_aa(markup, dark=True)
    if accent:
        assert f"color:{accent}" in markup  # the accent is in use, not ignored


def test_the_dark_check_sees_a_colour_that_fails(settings, fixed_edition, publication):
    """The check can fail: a dark rule that leaves the headline links navy on the dark page."""
    markup = render_for(settings, fixed_edition, publication)[0]
    broken = markup.replace(".headline a{color:#e8edf2 !important}", ".headline a{color:#0b2545 !important}")
    assert broken != markup
    assert any(c == "#0b2545" for _, c, _, _ in low_contrast(broken, dark=True))
