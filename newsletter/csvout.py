"""CSV for spreadsheets, streamed: cells that a spreadsheet would run as a formula are
escaped, and rows go out in small pieces so that memory stays flat at any size.

A cell starting with =, +, -, @, a tab or a carriage return is a formula (or becomes one)
in Excel, LibreOffice and Google Sheets ("CSV injection"); it is written with a leading
apostrophe, the spreadsheets' own "this is text" mark (OWASP's recommendation). A cell
whose apostrophes are followed by such a character gets one more apostrophe too, so that
`plain_cell`, which the import applies, gives every cell back exactly: an export imports
back as it was.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

_FORMULA_STARTS = frozenset("=+-@\t\r")


def _needs_mark(text: str) -> bool:
    return text.lstrip("'")[:1] in _FORMULA_STARTS


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
    bad = _FORMULA_STARTS
    for row in rows:
        # safe_cell, inlined: a million rows of seven cells is seven million calls otherwise
        writer.writerow(["" if v is None else "'" + v if v[:1] in bad or (v[:1] == "'" and v.lstrip("'")[:1] in bad)
                         else v for v in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
