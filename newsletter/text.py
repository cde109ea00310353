"""Text helpers shared by ingestion, intake, rendering and headers.

Control characters (C0 and C1, DEL) never reach a header, a page or the database:
from outside text they are removed (feeds: a stray ESC in a headline is noise) or
refused (a person's name: they can type it again), and white space, CR and LF
included, collapses to single spaces wherever a value must be one line.
"""
from __future__ import annotations

import html
import re

from newsletter.errors import InvalidInput

# C0 controls, DEL and C1 controls. Tab, CR and LF are white space: one_line folds them.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TAG = re.compile(r"<[^>]+>")


def strip_controls(text: str | None) -> str:
    return _CONTROLS.sub("", text or "")


def has_controls(text: str | None) -> bool:
    return bool(_CONTROLS.search(text or ""))


def visible_controls(text: str | None) -> str:
    """Control characters written as their escapes (ESC as \\x1b): for echoing a value
    someone typed (a path, a name) onto a terminal, where a raw one would act."""
    return _CONTROLS.sub(lambda m: repr(m.group())[1:-1], text or "")


def shown(text: str | None) -> str:
    """A value as an error message shows it: as typed when printable, else quoted with escapes."""
    text = text or ""
    return text if text.isprintable() else repr(text)


def one_line(text: str | None) -> str:
    """Collapse all white space, CR and LF included, to single spaces; drop control characters."""
    return " ".join(strip_controls(text).split())


def plain_text(fragment: str | None) -> str:
    """Teasers arrive as HTML fragments; keep the words only."""
    return one_line(html.unescape(_TAG.sub(" ", fragment or "")))


def clean_field(value: str | None, what: str, max_length: int) -> str:
    """A one-line field typed by a person (a name): refused, not silently changed, when it
    holds line breaks or control characters or is too long."""
    value = (value or "").strip()
    if "\r" in value or "\n" in value:
        raise InvalidInput(f"{what} must not contain line breaks")
    if has_controls(value):
        raise InvalidInput(f"{what} must not contain control characters")
    if len(value) > max_length:
        raise InvalidInput(f"{what} longer than {max_length} characters")
    return value


REASON_LIMIT = 500


def clean_reason(value: str | None, what: str = "the reason") -> str:
    """A reason given for an act (kept in a history and the audit log): one line, line
    breaks folded to spaces; refused, not silently changed, with control characters or
    past REASON_LIMIT characters."""
    if has_controls(value):
        raise InvalidInput(f"{what} must not contain control characters (such as ESC or BEL)")
    text = one_line(value)
    if len(text) > REASON_LIMIT:
        raise InvalidInput(f"{what} is longer than {REASON_LIMIT} characters")
    return text
