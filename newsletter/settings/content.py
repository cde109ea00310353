"""What subscribers are sent and shown: the files shipped with the service, the operator's
own templates and publications file, where subscriber links point and how long the
signed ones last, and how large a subscriber's form may be.

Part of newsletter.config.Settings (import from there).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

# The project's top-level templates/ and config/ (the layout DESIGN.md promises). A wheel
# carries them inside the package (pyproject maps them to newsletter/templates and
# newsletter/sample); a source checkout, editable install included, has them at the top.
PACKAGE = Path(str(resources.files("newsletter")))
_SHIPPED = {"templates": "templates", "config": "sample"}


def shipped_dir(folder: str) -> Path:
    """templates/ or config/: from the installed wheel, else from the source checkout."""
    packaged = PACKAGE / _SHIPPED[folder]
    return packaged if packaged.is_dir() else PACKAGE.parent / folder


def sample_file(name: str) -> Path:
    """A file of the sample configuration in config/ (publications.toml, sample-feed.xml)."""
    return shipped_dir("config") / name


class ContentSettings(BaseModel):
    """Links, templates and the publications file (a group of Settings' fields)."""

    # Where subscriber-facing links point (unsubscribe, preferences, view online). Sending
    # refuses an http URL (RFC 8058 one-click needs https) unless allow_http_links is set,
    # which is for development (the demo sets it).
    web_base_url: str = "http://127.0.0.1:8000"
    allow_http_links: bool = False
    # An operator's own templates: looked up first, the shipped ones fill the gaps.
    templates_dir: Path | None = None
    publications_file: Path = Field(default_factory=lambda: sample_file("publications.toml"))


class SubscriberPageSettings(BaseModel):
    """How long confirm links and the undo of an unsubscribe last; how large a form may be
    (a group of Settings' fields)."""

    confirm_link_max_age_seconds: int = Field(default=7 * 24 * 3600, ge=60)  # a week
    # The undo offered on the page that answers an unsubscribe (a signed form field, never a link).
    undo_unsubscribe_max_age_seconds: int = Field(default=3600, ge=60)  # an hour
    web_max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # the forms here are small
