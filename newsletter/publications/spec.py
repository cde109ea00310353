"""The publications file (config/publications.toml) as data: its schema, every rule an
entry must keep, and reading it. Nothing here touches the database: publications/load.py
writes a validated file, publications/editing.py one entry edited in the console.

Every problem is reported (publications/problems.py: one line each, by slug), so a
mistake in the file is shown whole before anything changes. Schedules must fire, at most
once a day (an edition is one a day).
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from newsletter.ingest.feeds import FeedSpec, feed_problems
from newsletter.publications.problems import PublicationsFileError, label, validate_tables
from newsletter.publications.reader_settings import ReaderSettings
from newsletter.publications.schedule import fires_more_than_daily, never_fires
from newsletter.text import has_controls

_SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
# RFC 2919: an optional phrase, then <list-label.namespace>.
_LIST_ID = re.compile(r"^[^<>\r\n]*<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\.[A-Za-z0-9.-]+>$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = rf"^{_LABEL}(?:\.{_LABEL})+$"
_SELECTOR = rf"^{_LABEL}(?:\.{_LABEL})*$"  # RFC 6376 3.1: selectors may have dots
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"




class SectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=128)


def _lower(value):
    """Domain names and selectors compare without case: keep them lower-case."""
    return value.strip().lower() if isinstance(value, str) else value


class DkimSpec(BaseModel):
    """[publications.dkim]: the key is named (a file or an environment variable), never written here."""
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(pattern=_DOMAIN, max_length=253)
    selector: str = Field(pattern=_SELECTOR, max_length=63)
    key_file: str = Field(default="", max_length=1000)  # relative: to the publications file's folder
    key_env: str = ""
    algorithm: Literal["rsa-sha256"] = "rsa-sha256"  # ed25519-sha256 (RFC 8463) may join it, beside

    _lower_names = field_validator("domain", "selector", mode="before")(_lower)

    @field_validator("key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not re.match(_ENV_NAME, value):
            raise ValueError("must be the name of an environment variable (letters, digits, _), not the key")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> DkimSpec:
        if bool(self.key_file) == bool(self.key_env):
            raise ValueError("dkim: give exactly one of key_file (a path) and key_env "
                             "(the name of an environment variable holding the PEM key)")
        return self


def schedule_problem(value: str) -> str:
    """What is wrong with a publication's schedule ("" when nothing): it must fire, at most
    once a day. Also asked by the console's schedule preview as one types."""
    if not croniter.is_valid(value):
        return f"not a cron expression: {value!r}"
    if never_fires(value):
        return f"{value!r} never fires: it names a day that does not exist"
    if fires_more_than_daily(value):
        return (f"{value!r} fires more than once a day; a publication has one edition a day: "
                "give one time of day, e.g. '0 6 * * *'")
    return ""


def zone_problem(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown IANA time zone: {value!r}"
    return ""


class PublicationSpec(ReaderSettings):  # the look, the archive, click statistics: reader_settings.py
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=200)
    sender_name: str = Field(min_length=1, max_length=200)
    sender_address: str
    reply_to: str = ""
    postal_address: str = Field(min_length=1)
    site_url: str = ""
    sections: list[str] = Field(min_length=1)
    cap_per_section: int = Field(default=5, ge=1, le=100)
    schedule: str = "0 6 * * *"
    timezone: str = "UTC"
    list_id: str
    active: bool = True
    domain_rate_per_second: int = Field(default=0, ge=0)
    dkim: DkimSpec | None = None
    verp: bool = True  # MAIL FROM bounces+<token>@bounce_domain; false: the sender address
    bounce_domain: str = Field(default="", pattern=rf"{_DOMAIN}|^$", max_length=253)
    operator_address: str = ""  # alerts (empty, missed, paused, failing editions) go here
    local_time: bool = False  # the schedule's time in each subscriber's own zone, in waves

    _lower_bounce_domain = field_validator("bounce_domain", mode="before")(_lower)

    @model_validator(mode="after")
    def _dkim_aligned(self) -> PublicationSpec:
        # DMARC (and so Gmail's and Yahoo's bulk-sender rules) needs d= to be the From
        # domain or a parent of it; a signature for another domain would not count.
        if self.dkim is not None:
            sender = self.sender_address.rpartition("@")[2].lower()
            if sender != self.dkim.domain and not sender.endswith("." + self.dkim.domain):
                raise ValueError(f"dkim.domain {self.dkim.domain!r} must be the sender address's domain "
                                 f"{sender!r} or a parent of it (DMARC alignment)")
        return self

    @field_validator("sender_address", "reply_to", "operator_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not value:
            return value
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("sender_name", "name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must be a single line")
        if has_controls(value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("schedule", "timezone")
    @classmethod
    def _fires_and_exists(cls, value: str, info: ValidationInfo) -> str:
        """The same checks the console's edits make (operators/publication_edits.py)."""
        problem = (schedule_problem if info.field_name == "schedule" else zone_problem)(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("list_id")
    @classmethod
    def _list_id(cls, value: str) -> str:
        if not _LIST_ID.match(value):
            raise ValueError("List-Id must look like 'Name <label.example.com>' (RFC 2919)")
        return value


class PublicationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sections: list[SectionSpec] = []
    publications: list[PublicationSpec] = []
    feeds: list[FeedSpec] = []


def _section_problems(data: dict) -> list[str]:
    """Sections a publication names that the file does not declare, or names twice; read
    from the raw entries, so that a publication with other mistakes is checked too."""
    entries = data.get("sections") if isinstance(data.get("sections"), list) else []
    known = {e.get("slug") for e in entries if isinstance(e, dict)}
    problems = []
    pubs = data.get("publications") if isinstance(data.get("publications"), list) else []
    for number, raw in enumerate(pubs, 1):
        wanted = raw.get("sections") if isinstance(raw, dict) else None
        if not isinstance(wanted, list):
            continue
        wanted = [s for s in wanted if isinstance(s, str)]
        where = label("publication", raw, number)
        unknown = [s for s in dict.fromkeys(wanted) if s not in known]
        if unknown:
            problems.append(f"{where}: unknown sections {', '.join(map(repr, unknown))}")
        twice = [s for s in dict.fromkeys(wanted) if wanted.count(s) > 1]
        if twice:
            problems.append(f"{where}: sections listed twice: {', '.join(map(repr, twice))}")
    return problems


def validate_data(data: dict) -> tuple[PublicationsFile, list[str]]:
    """The one validation of publications, sections and feeds in their file form (the
    parsed TOML, or the console's form turned into it: publications/editing.py): the
    validated model and every problem, one line each."""
    spec, problems = validate_tables(data, PublicationsFile)
    problems += _section_problems(data)
    if spec is not None and not problems:
        problems += feed_problems(spec.feeds, {s.slug for s in spec.sections})
    return spec, problems


def read_publications_file(path: Path) -> PublicationsFile:
    """The validated file, or PublicationsFileError listing every problem in it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PublicationsFileError(path, ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PublicationsFileError(path, [f"cannot read it: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PublicationsFileError(path, [f"not valid TOML: {exc}"]) from None
    spec, problems = validate_data(data)
    if problems:
        raise PublicationsFileError(path, problems)
    return spec
