"""The file form of what the database holds: `newsletter publications export` writes it,
`newsletter publications load` reads it back to the same rows, and the console edits a
publication through it (publications/editing.py), so that one validation (spec.py:
validate_data) judges the file and the console alike.

An entry is built from the file's own models (their fields, in their order), so a setting
added to the file is exported without a change here; a value equal to its default is left
out, as one would write the file by hand. The TOML writer is ours: the file form is
tables of strings, numbers, booleans, lists of strings and small inline tables, and a
dependency for that would do no real job.
"""
from __future__ import annotations

import json
import re

from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.ingest.feeds import FeedSpec
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication
from newsletter.publications.spec import PublicationSpec
from newsletter.store.models import Section

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _without_defaults(model: type[BaseModel], values: dict) -> dict:
    out = {}
    for name, f in model.model_fields.items():
        if name not in values:
            continue
        default = f.default if f.default is not PydanticUndefined else (
            f.default_factory() if f.default_factory else PydanticUndefined)
        if values[name] != default or f.is_required():
            out[name] = values[name]
    return out


def publication_entry(pub: Publication) -> dict:
    special = {
        "sections": [s.slug for s in pub.ordered_sections()],
        "schedule": pub.schedule_cron,
        "dkim": None if not pub.dkim_domain else {
            "domain": pub.dkim_domain, "selector": pub.dkim_selector,
            **({"key_file": pub.dkim_key_file} if pub.dkim_key_file else {"key_env": pub.dkim_key_env}),
            "algorithm": pub.dkim_algorithm},
        "logo": {"url": pub.logo_url, "width": pub.logo_width, "alt": pub.logo_alt} if pub.logo_url else None,
    }
    values = {name: special[name] if name in special else getattr(pub, name)
              for name in PublicationSpec.model_fields}
    return _without_defaults(PublicationSpec, values)


def section_entry(section: Section) -> dict:
    return {"slug": section.slug, "name": section.name}


def feed_entry(feed: Feed) -> dict:
    values = {name: getattr(feed, name) for name in FeedSpec.model_fields if hasattr(feed, name)}
    values["interval_minutes"] = feed.interval_seconds // 60
    values["categories"] = dict(feed.categories or {})
    return _without_defaults(FeedSpec, values)


def database_form(session: Session, publications: list[Publication] | None = None) -> dict:
    """Every section, the publications (all of them unless named) and every feed, in the file's form."""
    pubs = publications if publications is not None else list(
        session.scalars(select(Publication).order_by(Publication.slug)))
    return {"sections": [section_entry(s) for s in session.scalars(select(Section).order_by(Section.slug))],
            "publications": [publication_entry(p) for p in pubs],
            "feeds": [feed_entry(f) for f in session.scalars(select(Feed).order_by(Feed.name))]}


def _string(value: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def to_toml(data: dict, header: str = "") -> str:
    """Tables of entries ([[sections]], [[publications]], [[feeds]]), one key a line."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for table, entries in data.items():
        for entry in entries:
            lines += ["", f"[[{table}]]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in entry.items() if v is not None]
    return "\n".join(lines).lstrip("\n") + "\n"


def export_text(session: Session) -> str:
    """`newsletter publications export`: the whole database in the file's form."""
    console = sorted(session.scalars(select(Publication.slug).where(Publication.managed_by == "console")))
    feeds = sorted(session.scalars(select(Feed.name).where(Feed.managed_by == "console")))
    header = "Written by `newsletter publications export`; `newsletter publications load` reads it back."
    if console or feeds:
        header += ("\nManaged in the console (a load skips them until handed back to the file): "
                   + ", ".join([*(f"publication {s}" for s in console), *(f"feed {n}" for n in feeds)]))
    return to_toml(database_form(session), header)
