"""Reading an import CSV (email, name, sections, timezone): every row validated, every
problem reported by its line number, repeated addresses counted and reported. Reports
name lines, never addresses."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from newsletter.csvout import plain_cell
from newsletter.errors import InvalidInput
from newsletter.publications.models import Publication
from newsletter.subscribers.service import SubscriberError, clean_name, clean_timezone, normalise_email, parse_sections

COLUMNS = ("email", "name", "sections", "timezone")


@dataclass
class ImportRow:
    line: int
    email: str
    name: str
    sections: list[str] | None
    timezone: str


@dataclass
class ReadResult:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (line, line it repeats)
    total: int = 0  # data rows in the file


def read(publication: Publication, text: str, progress: Callable[[int], None] | None = None,
         every: int = 5000) -> ReadResult:
    """InvalidInput when the file is not a CSV with an 'email' column; otherwise the rows
    and the problems. `progress(rows so far)` is called every `every` rows."""
    try:
        return _read(publication, text, progress, every)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, ...
        raise SubscriberError(f"this is not a CSV file we can read: {exc}") from None


def _read(publication: Publication, text: str, progress, every: int) -> ReadResult:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    fields = [f.strip().lower() for f in header or []]
    if "email" not in fields:
        raise SubscriberError("CSV header must have an 'email' column (and may have 'name', 'sections', 'timezone')")
    where = {name: fields.index(name) for name in COLUMNS if name in fields}
    width = len(fields)
    out, first_line = ReadResult(), {}
    sections_cache: dict[str, list[str] | None] = {}
    ended = reader.line_num
    for values in reader:
        line, ended = ended + 1, reader.line_num  # a quoted field may span lines: name the first
        if not values:
            continue
        out.total += 1
        if progress is not None and out.total % every == 0:
            progress(out.total)
        if len(values) > width:
            out.errors.append((line, "more fields than the header"))
            continue
        values += [""] * (width - len(values))
        try:
            email = _address(plain_cell(values[where["email"]]))  # an export of ours imports back
            name = clean_name(plain_cell(values[where["name"]])) if "name" in where else ""
            raw = values[where["sections"]].strip() if "sections" in where else ""
            if raw not in sections_cache:  # a list repeats a few section sets many times
                sections_cache[raw] = parse_sections(publication, raw) if raw else None
            sections = sections_cache[raw]
            zone = clean_timezone(values[where["timezone"]]) if "timezone" in where else ""
        except InvalidInput as exc:
            out.errors.append((line, str(exc)))
            continue
        if email in first_line:
            out.duplicates.append((line, first_line[email]))
            continue
        first_line[email] = line
        out.rows.append(ImportRow(line, email, name, sections, zone))
    return out


def _address(value: str) -> str:
    """The normalised address; the error leaves the value out (reports keep no addresses)."""
    try:
        return normalise_email(value)
    except SubscriberError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise SubscriberError(f"invalid email address: {reason}" if value.strip() else "no email address") from None
