"""Render an edition once per distinct section set, then personalise by substitution.

Jinja2 and premailer run once per (edition, section set). Per-subscriber values
go into the finished strings through placeholders that survive both escaping
and CSS inlining untouched; the values are escaped for HTML when substituted.
This is what keeps the per-message cost down to a few string replacements.
"""
from __future__ import annotations

import html
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from premailer import Premailer

from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.render.templates import environment
from newsletter.text import one_line

# Placeholders: plain ASCII letters and digits, so escaping and inlining leave them be.
# A random part, new in every process, so that text from a feed cannot guess one and
# have personal values spliced into a headline.
_NONCE = secrets.token_hex(8).upper()
PLACEHOLDERS = {
    "greeting": f"XNLXGREETING{_NONCE}X",
    "unsubscribe_url": f"XNLXUNSUBSCRIBE{_NONCE}X",
    "preferences_url": f"XNLXPREFERENCES{_NONCE}X",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    headline_count: int


@dataclass(frozen=True)
class Personal:
    greeting: str
    unsubscribe_url: str
    preferences_url: str


def greeting_for(name: str) -> str:
    name = one_line(name)
    return f"Good morning, {name}. Here are today's headlines." if name else "Good morning. Here are today's headlines."


def inline_css(markup: str) -> str:
    """premailer with no network access; @media rules stay in a style block for phones."""
    return Premailer(
        markup, allow_network=False, keep_style_tags=False, strip_important=False,
        disable_validation=True, cssutils_logging_level=logging.CRITICAL,
        remove_classes=False, base_url=None,
    ).transform()


@dataclass
class SectionGroup:
    slug: str
    name: str
    entries: list


def group_sections(edition: Edition, only: frozenset[str] | None) -> list[SectionGroup]:
    """The edition's items by section, in the order frozen at build time."""
    groups: list[SectionGroup] = []
    for item in edition.items:
        if only is not None and item.section_slug not in only:
            continue
        if not groups or groups[-1].slug != item.section_slug:
            groups.append(SectionGroup(item.section_slug, item.section_name, []))
        groups[-1].entries.append(item)
    return groups


class EditionRenderer:
    def __init__(self, edition: Edition, publication: Publication, templates_dir: Path,
                 view_url: str):
        self.edition = edition
        self.publication = publication
        self.env = environment(templates_dir)
        self.view_url = view_url
        self._cache: dict[frozenset[str] | None, Rendered] = {}
        self.renders = 0  # how many times Jinja2 + premailer actually ran

    def render(self, sections: frozenset[str] | None = None) -> Rendered:
        """The edition for this section set (None: all), rendered at most once."""
        if sections is not None and sections >= {i.section_slug for i in self.edition.items}:
            sections = None  # a preference covering every section in the edition is "all"
        if sections not in self._cache:
            self._cache[sections] = self._render(sections)
        return self._cache[sections]

    def _render(self, only: frozenset[str] | None) -> Rendered:
        self.renders += 1
        groups = group_sections(self.edition, only)
        count = sum(len(g.entries) for g in groups)
        lead = groups[0].entries[0].headline if groups else "no new headlines"
        context = {
            "publication": self.publication,
            "edition": self.edition,
            "edition_date": self.edition.date.strftime("%A, %B %-d, %Y"),
            "sections": groups,
            "headline_count": count,
            "lead_headline": lead,
            "preheader": " | ".join(one_line(g.entries[0].headline) for g in groups)[:180],
            "view_url": self.view_url,
            "personal": PLACEHOLDERS,
        }
        subject = one_line(self.env.get_template("email/subject.txt").render(context))
        markup = inline_css(self.env.get_template("email/edition.html").render(context))
        text = self.env.get_template("email/edition.txt").render(context)
        return Rendered(subject=subject[:250], html=markup, text=text, headline_count=count)


def personalise(rendered: Rendered, personal: Personal) -> tuple[str, str]:
    """(html, text) for one subscriber: substitution only, values escaped for HTML."""
    markup, text = rendered.html, rendered.text
    for key, placeholder in PLACEHOLDERS.items():
        value = getattr(personal, key)
        markup = markup.replace(placeholder, html.escape(value, quote=True))
        text = text.replace(placeholder, value)
    return markup, text
