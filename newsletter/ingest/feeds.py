"""Feeds that poll themselves: declared in the publications file, polled on their interval.

Beat (or `newsletter run`) asks every minute which feeds are due (`due_feeds`); each is
claimed by one poller with a conditional UPDATE of its next poll time, so two beats or
two processes never poll a feed twice at once. A poll is a conditional GET (fetch.py),
the entries are parsed (parse.py), their sections mapped, and stored (load.py:
store_records). Errors back off: interval x 2^(errors in a row), up to a ceiling, or
later when the server says so (Retry-After). What each poll did is kept on the feed
and shown by `newsletter feeds status`; polls and errors are counted on the feed (the
web's /metrics reads them), and a feed failing past its threshold is an alert
(delivery/feed_alerts.py, run by the sweeper).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.errors import Conflict, InvalidInput, NotFound
from newsletter.ingest.fetch import Fetched, FetchError, fetch
from newsletter.ingest.load import section_lookup, slugify, store_records
from newsletter.ingest.models import Feed
from newsletter.ingest.parse import ParseResult, parse_any
from newsletter.text import has_controls

log = logging.getLogger(__name__)
_NAME = r"^[a-z0-9][a-z0-9-]{0,63}$"
Fetcher = Callable[..., Fetched]


class FeedSpec(BaseModel):
    """[[feeds]] in the publications file."""
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    url: str = Field(max_length=2048)
    section: str = Field(default="", pattern=rf"{_NAME}|^$")  # for entries that name none (or an unknown one)
    categories: dict[str, str] = Field(default_factory=dict, max_length=500)  # feed category -> section slug
    interval_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    allow_private: bool = False  # may fetch loopback, private and link-local addresses (its own host:port)
    active: bool = True
    # Failing this long (from its first failed poll in a row) is an alert: delivery/feed_alerts.py.
    alert_after_minutes: int = Field(default=60, ge=1, le=30 * 24 * 60)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError("must not carry a user name or password")
        if has_controls(value) or any(c.isspace() for c in value):
            raise ValueError("must not contain spaces or control characters")
        return value


def feed_problems(feeds: list[FeedSpec], sections: set[str]) -> list[str]:
    """What is wrong with the feeds as a whole: duplicate names, unknown sections."""
    problems, seen = [], set()
    for feed in feeds:
        if feed.name in seen:
            problems.append(f"feed {feed.name!r} is declared twice")
        seen.add(feed.name)
        unknown = sorted({s for s in [feed.section, *feed.categories.values()] if s and s not in sections})
        if unknown:
            problems.append(f"feed {feed.name!r}: unknown sections {unknown}")
    return problems


def apply_feed(session: Session, feed: Feed | None, spec: FeedSpec) -> Feed:
    """One feed takes a declaration's terms (new: polled at once). A changed URL is polled
    afresh (no conditional GET against another URL); a changed URL or private-address
    permission is polled at once (its back-off was about the old terms)."""
    if feed is None:
        feed = Feed(name=spec.name, url=spec.url)
        session.add(feed)
    if feed.url != spec.url:
        feed.url, feed.etag, feed.last_modified = spec.url, "", ""
        feed.consecutive_errors, feed.next_poll_at = 0, None
    if bool(feed.allow_private) != spec.allow_private:
        feed.consecutive_errors, feed.next_poll_at = 0, None
    feed.section, feed.categories = spec.section, dict(spec.categories)
    feed.interval_seconds, feed.allow_private, feed.active = spec.interval_minutes * 60, spec.allow_private, \
        spec.active
    feed.alert_after_minutes = spec.alert_after_minutes
    return feed


def sync_feeds(session: Session, feeds: list[FeedSpec]) -> list[str]:
    """The database's file-managed feeds become the file's (apply_feed); feeds no longer
    declared stop. Feeds managed in the console are not the file's: the caller leaves
    their declarations out, and they are never stopped here. Returns the names of the
    feeds stopped now."""
    known = {f.name: f for f in session.scalars(select(Feed).where(Feed.managed_by != "console"))}
    for spec in feeds:
        apply_feed(session, known.get(spec.name), spec)
    declared = {f.name for f in feeds}
    stopped = []
    for name, feed in known.items():
        if name not in declared and feed.active:
            feed.active = False
            stopped.append(name)
    return stopped


@dataclass
class PollResult:
    name: str
    outcome: str  # "new" (fetched and stored), "not modified", "error", "busy" (polled elsewhere now)
    added: int = 0
    updated: int = 0
    skipped: int = 0
    error: str = ""
    next_poll_at: datetime | None = None


def due_feeds(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(Feed.name).where(
        Feed.active.is_(True), or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now)).order_by(Feed.name)))


def poll_due(engine: Engine, settings: Settings, now: datetime | None = None,
             fetcher: Fetcher = fetch) -> list[PollResult]:
    now = now or utcnow()
    with Session(engine) as session:
        names = due_feeds(session, now)
    return [poll_feed(engine, settings, name, now, fetcher=fetcher) for name in names]


def poll_feed(engine: Engine, settings: Settings, name: str, now: datetime | None = None, force: bool = False,
              fetcher: Fetcher = fetch) -> PollResult:
    """Poll one feed if it is due (or at once with `force`); the status is recorded either way."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        feed = session.scalar(select(Feed).where(Feed.name == name))
        if feed is None:
            known = ", ".join(session.scalars(select(Feed.name).order_by(Feed.name))) or "none declared"
            raise NotFound(f"no feed {name!r} (known: {known})")
        if not feed.active:
            raise Conflict(f"feed {name!r} is not active (active = false, or no longer in the publications file)")
        if not _claim(session, feed, now, settings, force):
            return PollResult(name, "busy")
        try:
            fetched = fetcher(feed.url, etag=feed.etag, last_modified=feed.last_modified,
                              timeout=settings.feed_timeout_seconds, max_bytes=settings.feed_max_bytes,
                              allow_private=feed.allow_private)
            result = _store(session, feed, fetched) if fetched.status == 200 else PollResult(name, "not modified")
        except (FetchError, InvalidInput) as exc:  # InvalidInput: a malformed feed (parse.FeedError)
            session.rollback()
            return _failed(session, settings, feed, now, exc)
        try:
            session.flush()
        except IntegrityError:  # another feed stored the same article at the same moment
            session.rollback()
            return _failed(session, settings, feed, now, FetchError("an article was stored by another poll "
                                                                    "at the same time; polled again shortly"))
        feed.etag, feed.last_modified = fetched.etag[:512], fetched.last_modified[:128]
        feed.last_polled_at = feed.last_success_at = now
        feed.consecutive_errors = 0
        feed.total_polls += 1
        feed.failing_since = None  # works again: the note, if its outage was told, is the sweeper's
        feed.last_added = result.added
        feed.total_added += result.added
        feed.next_poll_at = result.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
        session.commit()
        log.info("feed %s: %s, %s added, %s updated, %s skipped", name, result.outcome, result.added,
                 result.updated, result.skipped)
        return result


def _claim(session: Session, feed: Feed, now: datetime, settings: Settings, force: bool) -> bool:
    """Take the feed for this poll: its next poll moves past the time a fetch can take, so
    a poller that dies mid-fetch leaves it to be polled again after that, not never."""
    hold = now + timedelta(seconds=settings.feed_timeout_seconds * 2 + 60)
    q = update(Feed).where(Feed.id == feed.id, Feed.active.is_(True))
    if not force:
        q = q.where(or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
    claimed = session.execute(q.values(next_poll_at=hold)).rowcount
    session.commit()
    return bool(claimed)


def _store(session: Session, feed: Feed, fetched: Fetched) -> PollResult:
    parsed = map_sections(session, feed, parse_any(fetched.body, urlsplit(fetched.url).path, feed.section))
    report = store_records(session, parsed)
    for position, problem in report.problems[:20]:
        log.info("feed %s: entry %s skipped: %s", feed.name, position, problem)
    return PollResult(feed.name, "new", report.added, report.updated, len(report.problems))


def map_sections(session: Session, feed: Feed, parsed: ParseResult) -> ParseResult:
    """Each entry's section: its category mapped by the feed's table, else the category
    itself when it names a section, else the feed's default section."""
    mapping = {slugify(k): v for k, v in (feed.categories or {}).items()}
    known = section_lookup(session)
    for _, record in parsed.records:
        key = slugify(record.section)
        if key in mapping:
            record.section = mapping[key]
        elif key not in known and feed.section:
            record.section = feed.section
    return parsed


def backoff_seconds(interval: int, errors: int, ceiling: int, retry_after: float | None = None) -> float:
    """After the n-th error in a row: interval x 2^n, at most `ceiling` (never under the
    interval itself), and never before the server's Retry-After."""
    delay = min(interval * 2 ** min(errors, 20), max(ceiling, interval))
    return max(delay, min(retry_after or 0, 7 * 24 * 3600))


def _failed(session: Session, settings: Settings, feed: Feed, now: datetime, exc: Exception) -> PollResult:
    feed = session.get(Feed, feed.id)
    feed.consecutive_errors += 1
    feed.total_polls += 1
    feed.total_errors += 1
    feed.last_polled_at = feed.last_error_at = now
    feed.last_error = str(exc)[:1000]
    feed.last_added = 0
    delay = backoff_seconds(feed.interval_seconds, feed.consecutive_errors, settings.feed_max_backoff_seconds,
                            getattr(exc, "retry_after", None))
    feed.next_poll_at = now + timedelta(seconds=delay)
    if feed.failing_since is None:  # the first failed poll of the errors in a row (delivery/feed_alerts.py)
        feed.failing_since = now
    session.commit()
    log.warning("feed %s: %s (error %s in a row; next poll in %.0fs)", feed.name, exc, feed.consecutive_errors,
                delay)
    return PollResult(feed.name, "error", error=str(exc), next_poll_at=feed.next_poll_at)
