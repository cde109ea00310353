"""Parse feeds into plain article records, reporting bad entries by position.

Nothing here touches the database: a parse yields good records and a list of
problems, and the loader decides what goes in.
"""
from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser

from newsletter.errors import InvalidInput
from newsletter.ingest.images import Image, entry_image
from newsletter.store.urls import InvalidURL, canonical_url
from newsletter.text import one_line, plain_text

# Encoding declared one way and served another: the content is still well-formed.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class FeedError(InvalidInput):
    """The feed as a whole cannot be read."""


@dataclass
class ArticleRecord:
    url: str
    headline: str
    teaser: str
    section: str  # a section slug or display name as the feed gives it
    published_at: datetime
    source: str = ""
    byline: str = ""
    dateline: str = ""
    image: Image | None = None  # ingest/images.py


@dataclass
class ParseResult:
    records: list[tuple[int, ArticleRecord]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (position, message)


def _record(position: int, url, headline, teaser, section, published, image: Image | None = None,
            **extra) -> ArticleRecord:
    headline = one_line(headline)
    if not headline:
        raise ValueError("no headline")
    if not url:
        raise ValueError("no link")
    try:
        url = canonical_url(url)
    except InvalidURL as exc:
        raise ValueError(str(exc)) from None
    if not one_line(section):
        raise ValueError("no section")
    if published is None:
        raise ValueError("no parseable publication date")
    return ArticleRecord(url=url, headline=headline[:500], teaser=plain_text(teaser)[:2000],
                         section=one_line(section), published_at=published, image=image,
                         **{k: one_line(v)[:250] for k, v in extra.items()})


def parse_feed(data: bytes, default_section: str = "") -> ParseResult:
    """RSS 2.0 or Atom. Entries are numbered from 1 in document order."""
    parsed = feedparser.parse(data)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "not an RSS or Atom document"
        raise FeedError(f"malformed feed: {reason}")
    problem = parsed.get("bozo_exception")
    if parsed.bozo and not isinstance(problem, _BENIGN):
        # feedparser would guess its way through broken XML; we refuse rather than
        # put half-understood entries in the store.
        raise FeedError(f"malformed feed: {problem}")
    result = ParseResult()
    for position, entry in enumerate(parsed.entries, start=1):
        # dict.get: feedparser warns when "updated_parsed" is read through its alias.
        stamp = entry.get("published_parsed") or dict.get(entry, "updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
        source = entry.get("source", {}).get("title", "") if entry.get("source") else ""
        try:
            record = _record(
                position, entry.get("link"), entry.get("title"), entry.get("summary"),
                tags[0] if tags else default_section, published,
                source=source, byline=entry.get("author", ""),
                dateline=entry.get("dc_coverage", ""), image=entry_image(entry),
            )
        except ValueError as exc:
            result.problems.append((position, str(exc)))
            continue
        result.records.append((position, record))
    return result


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return None  # a time without a zone is ambiguous: refuse rather than guess
    return stamp.astimezone(UTC)


def parse_json_lines(data: bytes, default_section: str = "") -> ParseResult:
    """One JSON object a line: url, headline, teaser, section, published (ISO 8601 with zone)."""
    result = ParseResult()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeedError(f"JSON Lines must be UTF-8: {exc}") from None
    for position, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            published = _parse_time(obj.get("published"))
            result.records.append((position, _record(
                position, obj.get("url"), obj.get("headline"), obj.get("teaser", ""),
                obj.get("section") or default_section, published,
                source=obj.get("source", ""), byline=obj.get("byline", ""),
                dateline=obj.get("dateline", ""),
            )))
        except (ValueError, TypeError, AttributeError) as exc:
            result.problems.append((position, str(exc)))
    return result


def parse_any(data: bytes, name: str = "", default_section: str = "") -> ParseResult:
    """Pick the parser by file name, else by the first character."""
    if name.endswith((".jsonl", ".ndjson")) or data.lstrip()[:1] == b"{":
        return parse_json_lines(data, default_section)
    return parse_feed(data, default_section)
