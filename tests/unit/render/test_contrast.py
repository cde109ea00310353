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

import pytest

from newsletter.render.emails import render_email
from tests.unit.render.rendering import assert_aa, contrast, low_contrast, render_for


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
