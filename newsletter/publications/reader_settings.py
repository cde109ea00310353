"""A publication's settings for its readers, in the publications file: the look of its
email (logo, accent colour), its public archive, and click statistics.

    logo = { url = "https://www.example.com/logo.png", width = 180, alt = "SpaceWar Daily" }
    accent_color = "#b31b1b"    # refused when under 4.5:1 against white (publications/colours.py)
    archive = true              # /p/<slug>/; false: a 404
    click_stats = false         # links through /r/<token>, counted as aggregates
    click_history = false       # readers may agree to have their clicks kept (needs click_stats)
    most_clicked_first = false  # ... and their most clicked sections first (needs click_history)
    open_pixel = false          # a counted 1x1 image (Apple Mail Privacy Protection opens them all)
    public = true               # listed on the sign-up page; false: not listed, sign-ups refused (an internal list)
    description = "..."         # one line under its name there (empty: its schedule in words)

`ReaderSettings` is a base of the file's publication entry (publications/spec.py), so
these are validated with everything else and every problem is reported at once.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from newsletter.publications.colours import accent_problem
from newsletter.text import has_controls

# An https URL without white space, quotes or angle brackets: it goes into src="" and
# og:image as it is.
_HTTPS_URL = re.compile(r"https://[^\s\"'<>\\]+")


def https_url(value: str) -> str:
    """An image's address must be https: a mail client would warn about (or block) anything else."""
    if not _HTTPS_URL.fullmatch(value) or len(value) > 2000:
        raise ValueError("must be an https:// URL (no spaces or quotes, at most 2000 characters)")
    return value


class LogoSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    width: int = Field(ge=16, le=600)  # CSS pixels; the height follows the image's proportions
    alt: str = Field(min_length=1, max_length=200)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        return https_url(value)

    @field_validator("alt")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if has_controls(value) or "\n" in value:
            raise ValueError("must be one line of text")
        return value.strip()


class ReaderSettings(BaseModel):
    logo: LogoSpec | None = None
    accent_color: str = ""
    archive: bool = True
    click_stats: bool = False
    click_history: bool = False
    most_clicked_first: bool = False
    open_pixel: bool = False
    public: bool = True
    description: str = Field(default="", max_length=300)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if has_controls(value) or "\n" in value or "\r" in value:
            raise ValueError("must be one line of text")
        return value.strip()

    @field_validator("accent_color")
    @classmethod
    def _accent(cls, value: str) -> str:
        if not value:
            return value
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            raise ValueError("must be a colour written #rrggbb, e.g. '#b31b1b'")
        problem = accent_problem(value.lower())
        if problem:
            raise ValueError(problem)
        return value.lower()

    @model_validator(mode="after")
    def _needs(self) -> ReaderSettings:
        if self.click_history and not self.click_stats:
            raise ValueError("click_history needs click_stats = true (clicks are counted first)")
        if self.most_clicked_first and not self.click_history:
            raise ValueError("most_clicked_first needs click_history = true (it orders by a reader's own clicks)")
        return self


READER_FIELDS = frozenset(ReaderSettings.model_fields) - {"logo"}


def apply_reader_settings(pub, spec: ReaderSettings) -> None:
    """Onto the publication's row (publications/models.py)."""
    for name in READER_FIELDS:
        setattr(pub, name, getattr(spec, name))
    pub.logo_url = spec.logo.url if spec.logo else ""
    pub.logo_width = spec.logo.width if spec.logo else 0
    pub.logo_alt = spec.logo.alt if spec.logo else ""
