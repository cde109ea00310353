"""WCAG 2 contrast of every piece of text in every email, from the CSS colours.

The emails are fully inlined, so each element's colour is its own style's or its
parent's, and its background is the nearest background-color (or bgcolor) above it.
AA asks 4.5:1 for normal text; the check walks every element that holds text.
"""
from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from newsletter.render.emails import render_email
from tests.unit.render.conftest import render_for

AA = 4.5
NAMED = {"white": "#ffffff", "black": "#000000"}
LINK_DEFAULT = "#0000ee"  # what a client shows for a link without a colour of its own


def rgb(value: str) -> tuple[float, float, float]:
    value = NAMED.get(value.strip().lower(), value.strip().lower())
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
    return {k.strip().lower(): v.strip() for k, v in pairs}


def text_on_background(markup: str) -> list[tuple[str, str, str]]:
    """(text, colour, background) for every element with text of its own, hidden ones left out."""
    for style in re.findall(r"<style[^>]*>(.*?)</style>", markup, re.S):
        assert "color" not in style, "colours in a <style> block: this check reads inline styles only"
    found = []

    def walk(el, colour, background, hidden):
        css = declarations(el.get("style", ""))
        hidden = hidden or css.get("display") == "none"
        colour = css.get("color") or (LINK_DEFAULT if el.tag == "a" else colour)
        background = css.get("background-color") or el.get("bgcolor") or background
        own = " ".join(t.strip() for t in [el.text or ""] + [c.tail or "" for c in el] if t and t.strip())
        if own and not hidden:
            found.append((own, colour, background))
        for child in el:
            if isinstance(child.tag, str):
                walk(child, colour, background, hidden)

    walk(lxml_html.document_fromstring(markup), "#000000", "#ffffff", False)
    return found


def assert_aa(markup: str) -> None:
    pieces = text_on_background(markup)
    assert len(pieces) > 5
    low = [(round(contrast(c, b), 2), c, b, t[:40]) for t, c, b in pieces if contrast(c, b) < AA]
    assert not low, f"text under {AA}:1 contrast: {low}"


def test_contrast_calculation_matches_wcag():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#6b7785", "#f6f7f9") == pytest.approx(4.26, abs=0.01)  # the old footer


def test_every_text_of_the_edition_passes_aa(settings, fixed_edition, publication):
    assert_aa(render_for(settings, fixed_edition, publication)[0])


def test_every_text_of_the_confirmation_passes_aa(settings, publication):
    assert_aa(render_email("confirm", {"confirm_url": "https://n.example.com/c/T"}, publication, settings).html)
