"""Create or update sections and publications from config/publications.toml.

The whole file is validated before anything is written: a mistake in the file
changes nothing in the database.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.errors import ConfigurationError
from newsletter.ingest.feeds import FeedSpec, feed_problems, sync_feeds
from newsletter.publications.models import Publication, PublicationSection
from newsletter.store.models import Section
from newsletter.text import has_controls

_SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
# RFC 2919: an optional phrase, then <list-label.namespace>.
_LIST_ID = re.compile(r"^[^<>\r\n]*<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\.[A-Za-z0-9.-]+>$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = rf"^{_LABEL}(?:\.{_LABEL})+$"
_SELECTOR = rf"^{_LABEL}(?:\.{_LABEL})*$"  # RFC 6376 3.1: selectors may have dots
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class PublicationsFileError(ConfigurationError):
    """The publications file cannot be loaded; nothing was written."""


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


class PublicationSpec(BaseModel):
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

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone: {value!r}") from None
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


def _describe(exc: ValidationError) -> str:
    """Where and what, without the offending values: a private key pasted into the
    wrong field must not be echoed back onto a terminal or into a log."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                     for e in exc.errors(include_url=False, include_input=False))


def read_publications_file(path: Path) -> PublicationsFile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        spec = PublicationsFile.model_validate(data)
    except FileNotFoundError:
        raise PublicationsFileError(f"no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PublicationsFileError(f"{path}: {exc}") from None
    except ValidationError as exc:
        raise PublicationsFileError(f"{path}: {_describe(exc)}") from None
    known = {s.slug for s in spec.sections}
    for pub in spec.publications:
        unknown = [s for s in pub.sections if s not in known]
        if unknown:
            raise PublicationsFileError(f"{path}: publication {pub.slug!r}: unknown sections {unknown}")
    if problems := feed_problems(spec.feeds, known):
        raise PublicationsFileError(f"{path}: {'; '.join(problems)}")
    return spec


def _set_dkim(pub: Publication, dkim: DkimSpec | None, base: Path) -> None:
    pub.dkim_domain = dkim.domain if dkim else ""
    pub.dkim_selector = dkim.selector if dkim else ""
    pub.dkim_key_file = str((base / dkim.key_file).absolute()) if dkim and dkim.key_file else ""
    pub.dkim_key_env = dkim.key_env if dkim else ""
    pub.dkim_algorithm = dkim.algorithm if dkim else "rsa-sha256"


def load_publications(session: Session, path: Path) -> list[Publication]:
    spec = read_publications_file(path)
    sections = {s.slug: s for s in session.scalars(select(Section))}
    for s in spec.sections:
        if s.slug in sections:
            sections[s.slug].name = s.name
        else:
            sections[s.slug] = Section(slug=s.slug, name=s.name)
            session.add(sections[s.slug])
    session.flush()
    loaded = []
    for p in spec.publications:
        pub = session.scalar(select(Publication).where(Publication.slug == p.slug))
        if pub is None:
            pub = Publication(slug=p.slug)
            session.add(pub)
        fields = p.model_dump(exclude={"sections", "slug", "schedule", "dkim"})
        for key, value in fields.items():
            setattr(pub, key, value)
        _set_dkim(pub, p.dkim, path.parent)
        pub.schedule_cron = p.schedule
        pub.sections.clear()
        session.flush()  # old rows go before new ones arrive: (publication, section) is unique
        pub.sections = [
            PublicationSection(section_id=sections[slug].id, position=i)
            for i, slug in enumerate(p.sections)
        ]
        loaded.append(pub)
    sync_feeds(session, spec.feeds)
    session.flush()
    return loaded
