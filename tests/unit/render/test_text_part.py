"""The plain-text part, line by line against a golden file.

To accept a deliberate change of the text template, run with NEWSLETTER_UPDATE_GOLDEN=1
and read the diff of the golden file before committing it.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from newsletter.render.edition import Personal
from tests.unit.render.rendering import ANN, render_for

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("NEWSLETTER_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8").splitlines()
    actual = text.splitlines()
    diff = "\n".join(difflib.unified_diff(expected, actual, "golden", "rendered", lineterm=""))
    assert actual == expected, f"the text part differs from {path}:\n{diff}"


def test_text_part_matches_the_golden_file(settings, fixed_edition, publication):
    _, text, _ = render_for(settings, fixed_edition, publication)
    check_golden("edition.txt", text)


def test_text_part_without_a_name(settings, fixed_edition, publication):
    _, text, _ = render_for(settings, fixed_edition, publication, Personal("", ANN.unsubscribe_url,
                                                                          ANN.preferences_url))
    check_golden("edition-no-name.txt", text)


def test_text_part_is_well_set(settings, fixed_edition, publication):
    _, text, _ = render_for(settings, fixed_edition, publication)
    lines = text.splitlines()
    # Nothing runs into the next thing: the dateline and the teaser are on lines of their own.
    assert "Tokyo (AFP) - AFP Staff Writers" in lines
    assert not any(line.startswith(("Tokyo (AFP) - AFP Staff WritersO", "Beijing (AFP)B")) for line in lines)
    # Lines wrap at 72, except the ones that cannot: a URL, a word longer than a line.
    for line in lines:
        assert len(line) <= 72 or " " not in line.split(": ", 1)[-1], line
    assert not any(line != line.rstrip() for line in lines if line != "-- "), "trailing white space"
    assert "\n\n\n\n" not in text
