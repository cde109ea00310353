"""What the console's charts, the API and `newsletter stats --json` show: per day and per
section, for one edition or for a publication's last 30 editions.

Per day: messages sent (by the day they went out), unsubscribes, bounces and complaints
(by the day they came, for the editions they name), clicks by readers and by scanners
(tracking/scanners.py), and opens where an open pixel is on. Per section: clicks by
readers and by scanners; per headline (one edition): the same. Every number is an
aggregate; none names a person.

An open pixel's figures come with a warning: Apple Mail Privacy Protection loads every
image of every message on delivery, through Apple's proxies, so "opened" says little
about reading.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus
from newsletter.delivery.tallies import DeliveryTally
from newsletter.editions.contents import items_as_read
from newsletter.editions.models import Edition
from newsletter.lookups import with_publication_slug
from newsletter.publications.models import Publication
from newsletter.reports.figures import _as_date, _day  # UTC days, on both databases: one way
from newsletter.tracking.click_models import OPEN_PIXEL, ClickCount
from newsletter.tracking.models import Event, EventKind
from newsletter.tracking.scanners import SCANNER_KINDS, ClickKind

LAST_EDITIONS = 30
MAX_DAYS = 366
EDITION_DAYS = 30  # an edition's figures: the days from its send on, this many at most
SERIES = ("sent", "unsubscribes", "bounces", "complaints", "clicks", "scanner_clicks")
OPENS_WARNING = ("Opens are unreliable: Apple Mail Privacy Protection (and some other mail services) load "
                 "every image on delivery, so a message counts as opened whether or not anyone read it.")
_EVENT_SERIES = {EventKind.UNSUBSCRIBE: "unsubscribes", EventKind.BOUNCE: "bounces", EventKind.COMPLAINT: "complaints"}


def _days(first: date, last: date) -> dict[date, dict]:
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return {first + timedelta(days=n): {"date": (first + timedelta(days=n)).isoformat(), **dict.fromkeys(SERIES, 0),
                                        "opens": 0}
            for n in range((last - first).days + 1)}


def _per_day(session: Session, edition_ids: list[int], first: date, span: int | None = None) -> list[dict]:
    """From `first` to today (the last MAX_DAYS of it), or `span` days from `first` on."""
    today = utcnow().date()
    days = _days(first, max(first, min(today, first + timedelta(days=span - 1)) if span else today))

    def add(day, key, n):
        entry = days.get(_as_date(day))
        if entry is not None:
            entry[key] += n

    sent_day = _day(session, Delivery.sent_at)
    for day, n in session.execute(select(sent_day, func.count()).where(
            Delivery.edition_id.in_(edition_ids), Delivery.status == DeliveryStatus.SENT).group_by(sent_day)):
        add(day, "sent", n)
    for day, n in session.execute(select(DeliveryTally.day, func.sum(DeliveryTally.count)).where(
            DeliveryTally.edition_id.in_(edition_ids), DeliveryTally.status == DeliveryStatus.SENT,
            DeliveryTally.day.is_not(None)).group_by(DeliveryTally.day)):
        add(day, "sent", int(n))  # erased people's messages: their day stays (delivery/tallies.py)
    event_day = _day(session, Event.created_at)
    for day, kind, n in session.execute(select(event_day, Event.kind, func.count()).where(
            Event.edition_id.in_(edition_ids), Event.kind.in_(list(_EVENT_SERIES))).group_by(event_day, Event.kind)):
        add(day, _EVENT_SERIES[EventKind(kind)], n)
    for day, position, kind, n in session.execute(
            select(ClickCount.day, ClickCount.position, ClickCount.kind, func.sum(ClickCount.count))
            .where(ClickCount.edition_id.in_(edition_ids))
            .group_by(ClickCount.day, ClickCount.position, ClickCount.kind)):
        if position == OPEN_PIXEL:
            if kind == ClickKind.OPEN:  # a scanner's load of the pixel is neither an open nor a click
                add(day, "opens", n)
        else:
            add(day, "scanner_clicks" if kind in SCANNER_KINDS else "clicks", n)
    return list(days.values())


def _clicks_by(session: Session, edition_ids: list[int], *columns) -> dict[tuple, dict[str, int]]:
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: {"clicks": 0, "scanner_clicks": 0})
    for *key, kind, n in session.execute(
            select(*columns, ClickCount.kind, func.sum(ClickCount.count))
            .where(ClickCount.edition_id.in_(edition_ids), ClickCount.position != OPEN_PIXEL)
            .group_by(*columns, ClickCount.kind)):
        out[tuple(key)]["scanner_clicks" if kind in SCANNER_KINDS else "clicks"] += n
    return out


def _sections(publication: Publication, clicks: dict[tuple, dict[str, int]], names: dict[str, str]) -> list[dict]:
    order = [s.slug for s in publication.ordered_sections()]
    order += sorted(slug for (slug,) in clicks if slug not in order)
    return [{"section": slug, "name": names.get(slug, slug), **clicks.get((slug,), {"clicks": 0, "scanner_clicks": 0})}
            for slug in order]


def _notes(publication: Publication) -> list[str]:
    notes = []
    if not publication.click_stats:
        notes.append("Click statistics are off for this publication (click_stats = false): no clicks are counted.")
    if publication.open_pixel:
        notes.append(OPENS_WARNING)
    return notes


def publication_figures(session: Session, publication: Publication, last: int = LAST_EDITIONS) -> dict:
    """(The role and the publication scope are checked by operators/figures.py.)"""
    slug = publication.slug
    editions = session.execute(select(Edition.id, Edition.date).where(
        Edition.publication_id == publication.id, Edition.started_at.is_not(None))
        .order_by(Edition.date.desc(), Edition.id.desc()).limit(last)).all()
    ids = [e.id for e in editions]
    first = min((e.date for e in editions), default=utcnow().date())
    names = {s.slug: s.name for s in publication.ordered_sections()}
    return {"publication": slug, "editions": [{"id": e.id, "date": e.date.isoformat()} for e in reversed(editions)],
            "days": _per_day(session, ids, first) if ids else [],
            "sections": _sections(publication, _clicks_by(session, ids, ClickCount.section_slug), names),
            "open_pixel": publication.open_pixel, "click_stats": publication.click_stats,
            "notes": _notes(publication)}


def edition_figures(session: Session, edition_id: int) -> dict:
    """(The role and the publication scope are checked by operators/figures.py.)"""
    edition, slug = with_publication_slug(session, Edition, edition_id, "edition")
    publication = session.get(Publication, edition.publication_id)
    items = {i.position: i for i in items_as_read(edition)}  # as read: added ones in, taken-down ones out
    names = {**{s.slug: s.name for s in publication.ordered_sections()},
             **{i.section_slug: i.section_name for i in items.values()}}
    headlines = _clicks_by(session, [edition_id], ClickCount.position, ClickCount.section_slug)
    rows = [{"position": pos, "section": section, "headline": items[pos].headline if pos in items else "(removed)",
             **n} for (pos, section), n in headlines.items()]
    rows += [{"position": pos, "section": i.section_slug, "headline": i.headline, "clicks": 0, "scanner_clicks": 0}
             for pos, i in items.items() if not any(r["position"] == pos for r in rows)]
    start = (edition.started_at.date() if edition.started_at else edition.date)
    return {"edition_id": edition.id, "publication": slug, "date": edition.date.isoformat(),
            "days": _per_day(session, [edition_id], start, EDITION_DAYS) if edition.started_at else [],
            "sections": _sections(publication, _clicks_by(session, [edition_id], ClickCount.section_slug), names),
            "headlines": sorted(rows, key=lambda r: r["position"]),
            "open_pixel": publication.open_pixel, "click_stats": publication.click_stats,
            "notes": _notes(publication)}
