"""CSV for spreadsheets, streamed: cells that a spreadsheet would run as a formula are
escaped, and rows go out in small pieces so that memory stays flat at any size.

A cell starting with =, +, -, @, a tab or a carriage return is a formula (or becomes one)
in Excel, LibreOffice and Google Sheets ("CSV injection"); it is written with a leading
apostrophe, the spreadsheets' own "this is text" mark (OWASP's recommendation). So is one
whose first visible character only looks different: the fullwidth and small forms (＝ ＋
－ ＠, ﹦ ...: spreadsheets with East Asian input treat them as the ASCII ones, and NFKC
maps them there), or one behind invisible characters (a zero-width space, a byte order
mark, a joiner, a direction mark, a no-break or other space) that an editor or a
spreadsheet's import may drop. A cell
whose apostrophes are followed by such a character gets one more apostrophe too, so that
`plain_cell`, which the import applies, gives every cell back exactly: an export imports
back as it was.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator

_FORMULA_STARTS = frozenset("=+-@\t\r")
# Control, format (zero-width, BOM, joiners, direction marks) and space separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _needs_mark(text: str) -> bool:
    text = text.lstrip("'")
    for ch in text:
        if ch in _FORMULA_STARTS or unicodedata.normalize("NFKC", ch)[:1] in _FORMULA_STARTS:
            return True
        if unicodedata.category(ch) not in _INVISIBLE:
            return False
    return False


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if _needs_mark(text) else text


def plain_cell(text: str) -> str:
    """The inverse of safe_cell, for a cell read back from a file we may have written."""
    return text[1:] if text[:1] == "'" and _needs_mark(text[1:]) else text


def csv_chunks(rows: Iterable[Iterable], rows_per_chunk: int = 1000) -> Iterator[str]:
    """CSV text in pieces of about `rows_per_chunk` rows, every cell (a str, or None for an
    empty cell) made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    pending = 0
    for row in rows:
        # safe_cell, inlined: a million rows of seven cells is seven million calls otherwise
        # (a cell that starts with a letter or a digit, as nearly all do, is never a formula)
        writer.writerow(["" if v is None else "'" + v if v and not v[0].isalnum() and _needs_mark(v)
                         else v for v in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
