"""Every problem in a publications file, one line each, naming entries by their slug.

The file is a set of tables of entries (`[[sections]]`, `[[publications]]`, ...), one
pydantic model per table. Each entry is validated on its own, so one mistake does not
hide the next; a problem reads `publication 'daily': schedule: ...`, never
`publications.3.schedule`, and never carries pydantic's links, its multi-line dumps or
the offending value (a private key pasted into the wrong field must not be echoed onto
a terminal or into a log). A table added to the file's model is validated the same way.
"""
from __future__ import annotations

from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ValidationError

from newsletter.errors import ConfigurationError
from newsletter.text import one_line, shown

# Pattern mismatches in words (pydantic would print the regular expression).
_PATTERN_HINTS = {
    "slug": "must be lower-case letters, digits and '-', at most 64",
    "domain": "must be a domain name",
    "bounce_domain": "must be a domain name",
    "selector": "must be a DKIM selector (letters, digits, '-', '.')",
}
_TYPE_WORDS = {"missing": "missing (required)", "extra_forbidden": "not a known setting"}


class PublicationsFileError(ConfigurationError):
    """The publications file cannot be loaded; nothing was written. `problems`: one line each."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        where = shown(str(path))  # as typed, or quoted with escapes when it holds control characters
        if len(problems) == 1:
            super().__init__(f"{where}: {problems[0]}")
        else:
            super().__init__(f"{where}: {len(problems)} problems, nothing loaded:\n"
                             + "\n".join(f"  {p}" for p in problems))


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(exc: ValidationError) -> list[str]:
    """One line per error: where (within the entry) and what."""
    lines = []
    for e in exc.errors(include_url=False, include_input=False, include_context=False):
        field = str(e["loc"][-1]) if e["loc"] else ""
        if e["type"] == "string_pattern_mismatch" and field in _PATTERN_HINTS:
            what = _PATTERN_HINTS[field]
        else:
            what = _TYPE_WORDS.get(e["type"], e["msg"].removeprefix("Value error, "))
        where = _where(e["loc"])
        lines.append(one_line(f"{where}: {what}" if where else what))
    return lines


def label(kind: str, raw: object, number: int) -> str:
    """How a problem names an entry: by its slug (or name, or URL); by number only without one."""
    for key in ("slug", "name", "url"):
        value = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(value, str) and value.strip():
            return f"{kind} {one_line(value)[:80]!r}"
    return f"{kind} #{number} (no slug)"


def validate_tables(data: dict, model: type[BaseModel]) -> tuple[BaseModel, list[str]]:
    """Validate every entry of every table of `model` (fields typed list[EntryModel]);
    returns the model built from the good entries and the problems found."""
    problems = [f"unknown table {key!r} (known: {', '.join(model.model_fields)})"
                for key in data if key not in model.model_fields]
    values: dict[str, list] = {}
    for name, field in model.model_fields.items():
        entries = data.get(name, [])
        kind = name.removesuffix("s")
        if not isinstance(entries, list):
            problems.append(f"{name}: must be a list of tables, written [[{name}]]")
            continue
        entry_model = get_args(field.annotation)[0]
        good, seen, twice = [], set(), set()
        for number, raw in enumerate(entries, 1):
            where = label(kind, raw, number)
            if not isinstance(raw, dict):
                problems.append(f"{where}: must be a table, written [[{name}]]")
                continue
            try:
                good.append(entry_model.model_validate(raw))
            except ValidationError as exc:
                problems.extend(f"{where}: {line}" for line in describe(exc))
            slug = raw.get("slug")
            if isinstance(slug, str):
                if slug in seen and slug not in twice:
                    problems.append(f"{where} is declared more than once (slugs must be unique)")
                    twice.add(slug)
                seen.add(slug)
        values[name] = good
    return model.model_construct(**values), problems
