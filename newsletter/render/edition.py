"""Render an edition once per variant, then personalise by substitution.

A variant is an ordered section set (None: every section in the publication's order)
and whether the reader has a name: the wording around the name ("Good morning, Ann."
or "Good morning.") is the template's, so a named and a nameless reader get different
renderings, and the name itself goes in per message (render/personal.py). A reader's
own order of sections (subscribers/order.py) is part of the variant: two readers with
the same sections in different orders get two renderings, two with the same order one.
Jinja2 and premailer run at most twice per ordered section set, never per subscriber:
that keeps the per-message cost down to a few string replacements.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsletter.editions.contents import items_as_read
from newsletter.editions.models import Edition
from newsletter.publications.colours import palette
from newsletter.publications.models import Publication
from newsletter.publications.schedule import period_words
from newsletter.render.emails import render_with
from newsletter.render.personal import PLACEHOLDERS, Personal, check_rendered, template_values
from newsletter.render.personal import personalise as _personalise
from newsletter.render.templates import environment
from newsletter.text import one_line

__all__ = ["PLACEHOLDERS", "EditionRenderer", "Personal", "Rendered", "personalise"]

LEAD_IMAGE_MAX_WIDTH = 592  # the container's 640 px less its padding
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


def group_sections(edition: Edition, only: Sequence[str] | None) -> list[SectionGroup]:
    """The edition's items as read (the selection with the editors' changes:
    editions/contents.py) by section: in the edition's order, or, for an ordered section
    set, in that order (sections not in it are left out)."""
    groups: list[SectionGroup] = []
    for item in items_as_read(edition):
        if only is not None and item.section_slug not in only:
            continue
        if not groups or groups[-1].slug != item.section_slug:
            groups.append(SectionGroup(item.section_slug, item.section_name, []))
        groups[-1].entries.append(item)
    if only is not None:
        rank = {slug: n for n, slug in enumerate(only)}
        groups.sort(key=lambda g: rank[g.slug])  # stable: a section split in two stays in order
    return groups


def variant_key(edition: Edition, sections: Sequence[str] | None) -> tuple[str, ...] | None:
    """The ordered section set a reader's choice comes to in this edition: the sections it
    holds, in the reader's order; None when that is every section in the built order (the
    common rendering). A set without an order (a frozenset) keeps the built order."""
    built = list(dict.fromkeys(item.section_slug for item in items_as_read(edition)))
    if sections is None:
        return None
    if isinstance(sections, frozenset | set):
        chosen = tuple(slug for slug in built if slug in sections)
    else:
        chosen = tuple(slug for slug in dict.fromkeys(sections) if slug in built)
    return None if list(chosen) == built else chosen


def reading_order(edition: Edition, sections: Sequence[str] | None, order: Sequence[str] | None) -> tuple[str, ...]:
    """A reader's sections of this edition in the order they read them: `sections` is
    their choice (None: every section), `order` the order they prefer (subscribers/order.py;
    sections it does not name follow in the built order)."""
    built = list(dict.fromkeys(item.section_slug for item in items_as_read(edition)))
    ranked = [slug for slug in dict.fromkeys(order or ()) if slug in built]
    ranked += [slug for slug in built if slug not in ranked]
    wanted = set(sections) if sections is not None else None
    return tuple(slug for slug in ranked if wanted is None or slug in wanted)


def lead_image(groups: list[SectionGroup]) -> dict | None:
    """The first story's image (https, from the feed), sized for the email: at most the
    column's width, the height in proportion when the feed gave both."""
    item = groups[0].entries[0] if groups else None
    if item is None or not getattr(item, "image_url", ""):
        return None
    width = min(item.image_width or LEAD_IMAGE_MAX_WIDTH, LEAD_IMAGE_MAX_WIDTH)
    height = round(item.image_height * width / item.image_width) if item.image_width and item.image_height else None
    return {"url": item.image_url, "width": width, "height": height, "alt": item.image_alt}


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
    """`link_for(item)`: the address a headline links to (render/click_links.py when the
    publication counts clicks; the article's own URL otherwise). `pixel_url`: an open
    pixel's address, only where an operator turned one on."""

    def __init__(self, edition: Edition, publication: Publication, templates_dir: Path | None,
                 view_url: str, link_for: Callable[[object], str] | None = None, pixel_url: str = ""):
        self.edition = edition
        self.publication = publication
        self.env = environment(templates_dir, publication.slug)
        self.view_url = view_url
        self.link_for = link_for or (lambda item: item.url)
        self.pixel_url = pixel_url
        self._cache: dict[tuple[tuple[str, ...] | None, bool], Rendered] = {}
        self.renders = 0  # how many times Jinja2 + premailer actually ran

    def render(self, sections: Sequence[str] | None = None, named: bool = False) -> Rendered:
        """The edition for this section set (None: all), for a reader with or without a
        name, rendered at most once per ordered set (variant_key). A frozenset keeps the
        built order; a tuple or list is the reader's order."""
        key = (variant_key(self.edition, sections), named)
        if key not in self._cache:
            self._cache[key] = self._render(*key)
        return self._cache[key]

    def context(self, only: Sequence[str] | None = None, named: bool = False) -> dict:
        """What the edition templates see (templates/email/README.md lists it)."""
        only = variant_key(self.edition, only)
        groups = group_sections(self.edition, only)
        return {
            "publication": self.publication,
            "edition": self.edition,
            "edition_date": self.edition.date.strftime("%A, %B %-d, %Y"),
            "period": period_words(self.publication.schedule_cron),  # today's, this week's, ...
            "sections": groups,
            "headline_count": sum(len(g.entries) for g in groups),
            "lead_headline": one_line(groups[0].entries[0].headline) if groups else "",
            "lead_image": lead_image(groups),
            "preheader": preheader_for(groups),
            "view_url": self.view_url,
            "href": self.link_for,
            "pixel_url": self.pixel_url,
            "palette": palette(getattr(self.publication, "accent_color", "") or ""),
            "personal": template_values(named),
        }

    def _render(self, only: tuple[str, ...] | None, named: bool) -> Rendered:
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
