"""Reading an import CSV (email, name, sections, timezone): every row validated, every
problem reported by its line number. Reports name lines, never addresses.

`Reader.chunks` reads a file as it goes (a text stream: a file on disk, or a string) and
hands over the valid rows a chunk at a time, so that a file of any size is read in the
memory of one chunk; the errors are counted in full and kept for the report up to a
limit. Repeated addresses are found by the database among the staged rows
(import_sql.py), not here. `read` reads a whole text at once, repeats included, for small
imports and tests.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from newsletter.addresses import InvalidAddress, normalise_email
from newsletter.csvout import plain_cell
from newsletter.errors import InvalidInput
from newsletter.publications.models import Publication
from newsletter.subscribers.service import SubscriberError, clean_name, clean_timezone, parse_sections

COLUMNS = ("email", "name", "sections", "timezone")
CHUNK = 5000
REPORT_LIMIT = 1000


@dataclass
class ImportRow:
    line: int
    email: str
    name: str
    sections: list[str] | None
    timezone: str


class Reader:
    """One pass over a CSV: valid rows by chunks; `errors` (the first REPORT_LIMIT, by
    line), `invalid` and `total` (data rows) once it has run through."""

    def __init__(self, publication: Publication, report_limit: int = REPORT_LIMIT):
        self.publication, self.report_limit = publication, report_limit
        self.errors: list[tuple[int, str]] = []
        self.invalid = 0
        self.total = 0
        self._sections: dict[str, list[str] | None] = {}  # a list repeats a few section sets many times

    def _error(self, line: int, problem: str) -> None:
        self.invalid += 1
        if len(self.errors) < self.report_limit:
            self.errors.append((line, problem))

    def chunks(self, stream: Iterable[str], size: int = CHUNK,
               progress: Callable[[int], None] | None = None) -> Iterator[list[ImportRow]]:
        """InvalidInput when the file is not a UTF-8 CSV with an 'email' column (before any
        chunk, or at the row where it stops being one); `progress(rows so far)` with each chunk."""
        reader = csv.reader(stream)
        try:
            header = next(reader, None)
            fields = [f.strip().lower() for f in header or []]
            if "email" not in fields:
                raise SubscriberError("CSV header must have an 'email' column (and may have 'name', 'sections', "
                                      "'timezone')")
            where = {name: fields.index(name) for name in COLUMNS if name in fields}
            width, chunk, ended = len(fields), [], reader.line_num
            for values in reader:
                line, ended = ended + 1, reader.line_num  # a quoted field may span lines: name the first
                if not values:
                    continue
                self.total += 1
                row = self._row(line, values, where, width)
                if row is not None:
                    chunk.append(row)
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
                    if progress is not None:
                        progress(self.total)
            if chunk:
                yield chunk
        except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, ...
            raise SubscriberError(f"this is not a CSV file we can read: {exc}") from None
        except UnicodeDecodeError:
            raise SubscriberError(f"the file is not UTF-8 text (after line {reader.line_num})") from None

    def _row(self, line: int, values: list[str], where: dict[str, int], width: int) -> ImportRow | None:
        if len(values) > width:
            self._error(line, "more fields than the header")
            return None
        values += [""] * (width - len(values))
        try:
            email = _address(plain_cell(values[where["email"]]))  # an export of ours imports back
            name = clean_name(plain_cell(values[where["name"]])) if "name" in where else ""
            raw = values[where["sections"]].strip() if "sections" in where else ""
            if raw not in self._sections:
                self._sections[raw] = parse_sections(self.publication, raw) if raw else None
            zone = clean_timezone(values[where["timezone"]]) if "timezone" in where else ""
        except InvalidInput as exc:
            self._error(line, str(exc))
            return None
        return ImportRow(line, email, name, self._sections[raw], zone)


@dataclass
class ReadResult:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (line, line it repeats)
    total: int = 0  # data rows in the file


def read(publication: Publication, text: str) -> ReadResult:
    """A whole (small) text at once: the valid rows without repeats, the errors, the repeats."""
    reader, out, first = Reader(publication, report_limit=10**9), ReadResult(), {}
    for chunk in reader.chunks(io.StringIO(text)):
        for row in chunk:
            if row.email in first:
                out.duplicates.append((row.line, first[row.email]))
            else:
                first[row.email] = row.line
                out.rows.append(row)
    out.errors, out.total = reader.errors, reader.total
    return out


def _address(value: str) -> str:
    """The normalised address; the error leaves the value out (reports keep no addresses)."""
    try:
        return normalise_email(value)
    except InvalidAddress as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise SubscriberError(f"invalid email address: {reason}" if value.strip() else "no email address") from None
