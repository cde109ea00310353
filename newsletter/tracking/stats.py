"""Per-edition figures: sent, unsubscribes, unsubscribe rate, by method."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.tracking.models import Event, EventKind


@dataclass
class EditionStats:
    edition_id: int
    publication: str
    date: str
    sent: int
    unsubscribes: int
    by_method: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.unsubscribes / self.sent if self.sent else 0.0


def edition_stats(session: Session, publication_slug: str | None = None, limit: int = 30) -> list[EditionStats]:
    q = (select(Edition.id, Publication.slug, Edition.date).join(Publication)
         .order_by(Edition.date.desc(), Edition.id.desc()).limit(limit))
    if publication_slug:
        q = q.where(Publication.slug == publication_slug)
    editions = session.execute(q).all()
    ids = [e.id for e in editions]
    sent = dict(session.execute(select(Delivery.edition_id, func.count()).where(
        Delivery.edition_id.in_(ids), Delivery.status == DeliveryStatus.SENT).group_by(Delivery.edition_id)).all())
    methods: dict[int, dict[str, int]] = defaultdict(dict)
    for edition_id, method, count in session.execute(
            select(Event.edition_id, Event.method, func.count()).where(
                Event.edition_id.in_(ids), Event.kind == EventKind.UNSUBSCRIBE)
            .group_by(Event.edition_id, Event.method)):
        methods[edition_id][method] = count
    return [EditionStats(e.id, e.slug, e.date.isoformat(), sent.get(e.id, 0),
                         sum(methods[e.id].values()), dict(methods[e.id])) for e in editions]
