"""Colours of the edition email: WCAG 2 contrast, and the accent colour in both modes.

Text must reach 4.5:1 against its background (WCAG AA). The accent colour a
publication chooses is used for text on the light page (section titles, "read more")
and as the masthead's background under white text: both are the same pair, so one
check at load covers them. No colour passes 4.5:1 against both a white and a dark page
(the luminance it would need is above 0.2 and below 0.18 at once), so the dark mode
uses a variant: the accent mixed towards white, step by step, until it passes against
the dark page. The variant keeps the hue; it is computed, never asked for.
"""
from __future__ import annotations

import re

AA = 4.5
LIGHT_PAGE = "#ffffff"  # the container of the email in light mode
DARK_PAGE = "#1b1f24"  # ... in dark mode (templates/email/edition.html's dark rules)
DEFAULT_ACCENT = "#b31b1b"
DEFAULT_MASTHEAD = "#0b2545"
_HEX = re.compile(r"#([0-9a-fA-F]{6})")


def rgb(colour: str) -> tuple[int, int, int]:
    m = _HEX.fullmatch(colour.strip())
    if not m:
        raise ValueError(f"not a colour written #rrggbb: {colour!r}")
    h = m.group(1)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance."""
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = map(channel, rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def accent_problem(colour: str) -> str:
    """Why an accent colour cannot be used on the light page ("" when it can)."""
    ratio = contrast(colour, LIGHT_PAGE)
    if ratio >= AA:
        return ""
    return (f"accent_color {colour} has a contrast of {ratio:.2f}:1 against white (text needs {AA}:1); "
            f"a darker shade such as {darken_until(colour, LIGHT_PAGE)} passes")


def _mix(colour: str, towards: tuple[int, int, int], share: float) -> str:
    return "#" + "".join(f"{round(c + (t - c) * share):02x}" for c, t in zip(rgb(colour), towards, strict=True))


def _until(colour: str, background: str, towards: tuple[int, int, int]) -> str:
    for step in range(0, 101, 2):
        candidate = _mix(colour, towards, step / 100)
        if contrast(candidate, background) >= AA:
            return candidate
    return "#ffffff" if towards == (255, 255, 255) else "#000000"


def darken_until(colour: str, background: str = LIGHT_PAGE) -> str:
    return _until(colour, background, (0, 0, 0))


def dark_variant(colour: str, background: str = DARK_PAGE) -> str:
    """The accent for dark mode: mixed towards white until it reaches 4.5:1 on the dark page."""
    return _until(colour, background, (255, 255, 255))


def palette(accent: str) -> dict[str, str]:
    """What the edition template colours with: the accent (or the house colours) in both modes."""
    if not accent:
        return {"accent": DEFAULT_ACCENT, "accent_dark": dark_variant(DEFAULT_ACCENT),
                "masthead": DEFAULT_MASTHEAD}
    return {"accent": accent.lower(), "accent_dark": dark_variant(accent.lower()), "masthead": accent.lower()}
