"""Render an edition once per variant, then personalise by substitution.

A variant is a section set (None: all sections) and whether the reader has a name:
the wording around the name ("Good morning, Ann." or "Good morning.") is the
template's, so a named and a nameless reader get different renderings, and the
name itself goes in per message (render/personal.py). Jinja2 and premailer run at
most twice per section set, never per subscriber: that keeps the per-message cost
down to a few string replacements.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.publications.schedule import period_words
from newsletter.render.emails import render_with
from newsletter.render.personal import PLACEHOLDERS, Personal, check_rendered, template_values
from newsletter.render.personal import personalise as _personalise
from newsletter.render.templates import environment
from newsletter.text import one_line

__all__ = ["PLACEHOLDERS", "EditionRenderer", "Personal", "Rendered", "personalise"]

PREHEADER_LIMIT = 140  # characters: about what a phone's inbox shows under the subject
SEPARATOR = " \u00b7 "  # middle dot between headlines in the preheader


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    headline_count: int


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


def preheader_for(groups: list[SectionGroup], limit: int = PREHEADER_LIMIT) -> str:
    """The inbox preview line: the headlines after the lead (the subject already has the
    lead), each section's first, as many whole ones as fit; never a word cut in two."""
    ordered = [g.entries[0] for g in groups] + [e for g in groups for e in g.entries[1:]]
    headlines = [one_line(e.headline) for e in ordered[1:]]
    if not headlines:
        return one_line(ordered[0].teaser) if ordered else ""
    kept: list[str] = []
    for headline in headlines:
        if len(SEPARATOR.join([*kept, headline])) > limit:
            break
        kept.append(headline)
    return SEPARATOR.join(kept) if kept else cut_at_word(headlines[0], limit)


def cut_at_word(text: str, limit: int) -> str:
    """At most `limit` characters, ending on a whole word and an ellipsis when cut."""
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit - 1]
    return head.rstrip(" ,;:-\u00b7|") + "\u2026"


class EditionRenderer:
    def __init__(self, edition: Edition, publication: Publication, templates_dir: Path | None,
                 view_url: str):
        self.edition = edition
        self.publication = publication
        self.env = environment(templates_dir, publication.slug)
        self.view_url = view_url
        self._cache: dict[tuple[frozenset[str] | None, bool], Rendered] = {}
        self.renders = 0  # how many times Jinja2 + premailer actually ran

    def render(self, sections: frozenset[str] | None = None, named: bool = False) -> Rendered:
        """The edition for this section set (None: all), for a reader with or without a
        name, rendered at most once."""
        if sections is not None and sections >= {i.section_slug for i in self.edition.items}:
            sections = None  # a preference covering every section in the edition is "all"
        key = (sections, named)
        if key not in self._cache:
            self._cache[key] = self._render(sections, named)
        return self._cache[key]

    def context(self, only: frozenset[str] | None = None, named: bool = False) -> dict:
        """What the edition templates see (templates/email/README.md lists it)."""
        groups = group_sections(self.edition, only)
        return {
            "publication": self.publication,
            "edition": self.edition,
            "edition_date": self.edition.date.strftime("%A, %B %-d, %Y"),
            "period": period_words(self.publication.schedule_cron),  # today's, this week's, ...
            "sections": groups,
            "headline_count": sum(len(g.entries) for g in groups),
            "lead_headline": one_line(groups[0].entries[0].headline) if groups else "",
            "preheader": preheader_for(groups),
            "view_url": self.view_url,
            "personal": template_values(named),
        }

    def _render(self, only: frozenset[str] | None, named: bool) -> Rendered:
        self.renders += 1
        context = self.context(only, named)
        email = render_with(self.env, "edition", context)
        check_rendered(email.subject, email.html or "", email.text)
        return Rendered(subject=email.subject, html=email.html or "", text=email.text,
                        headline_count=context["headline_count"])


def personalise(rendered: Rendered, personal: Personal) -> tuple[str, str]:
    """(html, text) for one reader: substitution only, values escaped for HTML."""
    markup, text = _personalise(rendered.html, rendered.text, personal)
    return markup or "", text
