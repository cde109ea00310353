"""A reader's own order of sections, chosen in the preference centre, and the orders the
sender reads off a subscription row.

The order is a list of section slugs (`Subscription.section_order`; None: the
publication's). It is kept apart from the choice of sections (`sections`), so leaving
a section out and putting another first are two things, and a section the publication
adds later simply comes after the ones the reader ordered. The email follows it
(render/edition.py's `reading_order`); two readers with the same sections in the same
order share one rendering.

"Most clicked first" takes the reader's sections by their own clicks (subscribers/click_history.py
keeps `click_order`), only where the publication offers it (`most_clicked_first`) and
the reader both agreed to a click history and asked for it; the delivery checks the
publication's switch (delivery/compose.py).
"""
from __future__ import annotations

from collections.abc import Sequence

from newsletter.errors import InvalidInput


def normalised(order: Sequence[str] | None, known: Sequence[str]) -> list[str] | None:
    """The order as stored: the publication's sections only, each once, all of them (the
    ones not named at the end, in the publication's order); None when it is the
    publication's own."""
    if not order:
        return None
    kept = [slug for slug in dict.fromkeys(order) if slug in known]
    full = kept + [slug for slug in known if slug not in kept]
    return None if full == list(known) else full


def moved(order: Sequence[str] | None, known: Sequence[str], slug: str, step: int) -> list[str] | None:
    """The order with one section moved up (step -1) or down (+1): the preference centre's
    buttons, which work without JavaScript. InvalidInput for a section not in the list."""
    current = list(order or ()) or list(known)
    current = [s for s in current if s in known] + [s for s in known if s not in current]
    if slug not in current or step not in (-1, 1):
        raise InvalidInput(f"unknown section {slug!r}")
    at = current.index(slug)
    to = at + step
    if 0 <= to < len(current):
        current[at], current[to] = current[to], current[at]
    return normalised(current, known)


def sender_orders(section_order, click_order, most_clicked_first, click_history_since):
    """(own order, click order) as the sender passes them on (delivery/batch.py): the click
    order only when the reader agreed to a history and asked for their most clicked first."""
    own = tuple(section_order) if section_order else None
    clicks = tuple(click_order) if click_order and most_clicked_first and click_history_since else None
    return own, clicks


def combined(own: tuple[str, ...] | None, clicks: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The order a reader's email follows: their most clicked sections first (when the click
    order is given: the publication offers it and they asked), then their own order."""
    if not clicks:
        return own
    return tuple(clicks) + tuple(s for s in (own or ()) if s not in clicks)
