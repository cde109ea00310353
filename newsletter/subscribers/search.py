"""Finding subscribers: one set of filters for the list, the export and the console.

Filters: `q` (an address prefix, or a name prefix when it has no @, or a whole domain when
it starts with @: "@example.com" finds every address at example.com), the subscriber's
status, a publication (and the subscription's status there), a section (people who get
it: their sections include it, or they take every section), and a creation range.
Pages are keyset pages, newest first: `before` is the last id of the previous page, so
page 1,000 costs what page 1 does. The total is exact up to 10,000 and estimated above
(PostgreSQL's planner; SQLite counts).

A role limited to some publications sees the subscribers with a subscription (any status)
to one of them: `subscriber_visible` in a search, `seen_subscriber` for one subscriber
(the scope of everything else is staff/scope.py's).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, cast, exists, func, or_, select, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement, Executable

from newsletter.errors import InvalidInput, NotFound
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor
from newsletter.staff.scope import visible
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.text import has_controls
from newsletter.times import parse_time

EXACT_UP_TO = 10_000
MAX_PAGE = 500


def subscriber_visible(actor: Actor, subscriber_id_column):
    """Subscribers with a subscription (any status) to one of the actor's publications."""
    if actor.everywhere:
        return true()
    return exists().where(Subscription.subscriber_id == subscriber_id_column,
                          visible(actor, Subscription.publication_id))


def seen_subscriber(session: Session, actor: Actor, subscriber_id: int) -> None:
    """NotFound for a subscriber with no subscription to the actor's publications."""
    if actor.everywhere:
        return
    found = session.scalar(select(Subscription.subscriber_id).where(
        Subscription.subscriber_id == subscriber_id, visible(actor, Subscription.publication_id)).limit(1))
    if found is None:
        raise NotFound(f"no subscriber {subscriber_id}")


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""  # subscriber: active | disabled
    publication: str = ""  # slug
    subscription: str = ""  # pending | active | unsubscribed (in `publication`, or in any)
    section: str = ""  # slug; needs `publication`
    created_from: datetime | None = None
    created_to: datetime | None = None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items() if v}

    @classmethod
    def from_query(cls, values: Mapping[str, str | datetime | None]) -> Filters:
        """The filters as every front door receives them (a query string, the command
        line's options), read one way: texts trimmed and bounded, the creation range
        as times (no offset: UTC; a given offset honoured; times.py)."""
        def text(name: str) -> str:
            return str(values.get(name) or "").strip()[:320]

        return cls(text("q"), text("status"), text("publication"), text("subscription"), text("section"),
                   parse_time(values.get("created_from"), "created from"),
                   parse_time(values.get("created_to"), "created to"))


@dataclass
class Page:
    items: list[dict]
    next_cursor: int | None
    total: int
    total_is_estimate: bool


def _choice(value: str, allowed, what: str) -> str:
    if value and value not in {a.value for a in allowed}:
        raise InvalidInput(f"unknown {what} {value!r} ({', '.join(a.value for a in allowed)})")
    return value


def conditions(session: Session, f: Filters, actor: Actor) -> list:
    """The WHERE clauses for these filters, within the actor's publications; InvalidInput
    for an unknown value (a publication outside the actor's ones is unknown)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    out = []
    q = f.q.strip().lower()
    if len(q) > 320 or has_controls(q):
        raise InvalidInput("the search text is too long or holds control characters")
    if q.startswith("@"):
        out.append(_email_domain(q))
    elif q:
        by_email = _email_prefix(q, postgres)
        out.append(by_email if "@" in q else or_(by_email, func.lower(Subscriber.name).startswith(q, autoescape=True)))
    if _choice(f.status, SubscriberStatus, "status"):
        out.append(Subscriber.status == f.status)
    if not actor.everywhere:
        out.append(subscriber_visible(actor, Subscriber.id))
    sub_where = [Subscription.subscriber_id == Subscriber.id]
    if f.publication:
        pub = session.scalar(select(Publication).where(Publication.slug == f.publication))
        if pub is None or not actor.sees(pub.id):
            raise InvalidInput(f"no publication {f.publication!r}")
        sub_where.append(Subscription.publication_id == pub.id)
        if f.section:
            if f.section not in {s.slug for s in pub.ordered_sections()}:
                raise InvalidInput(f"no section {f.section!r} in {pub.slug}")
            sub_where.append(_gets_section(f.section, postgres))
    elif f.section:
        raise InvalidInput("a section filter needs a publication")
    if _choice(f.subscription, SubscriptionStatus, "subscription status"):
        sub_where.append(Subscription.status == f.subscription)
        if not actor.everywhere:  # "active somewhere": somewhere of theirs
            sub_where.append(visible(actor, Subscription.publication_id))
    if len(sub_where) > 1:
        out.append(exists().where(and_(*sub_where)))
    if f.created_from:
        out.append(Subscriber.created_at >= f.created_from)
    if f.created_to:
        out.append(Subscriber.created_at < f.created_to)
    return out


def _email_prefix(q: str, postgres: bool):
    if postgres:  # LIKE 'ann%' on the text_pattern_ops index
        return Subscriber.email.startswith(q, autoescape=True)
    # SQLite's LIKE ignores case and no index; addresses are stored in lower case, so a
    # range on the unique index finds the same rows.
    return and_(Subscriber.email >= q, Subscriber.email < q[:-1] + chr(ord(q[-1]) + 1))


def _email_domain(q: str):
    """Addresses at exactly this domain ("@example.com": not ann@news.example.com); the
    domain part is compared as stored (lower case). A scan of the address column: no index
    serves a suffix, and a domain search is an admin's occasional question, not a hot path."""
    if q.count("@") != 1 or len(q) < 2 or any(c.isspace() for c in q):
        raise InvalidInput(f"a domain search is @ and a domain, such as @example.com (not {q!r})")
    return Subscriber.email.endswith(q, autoescape=True)


def _gets_section(slug: str, postgres: bool):
    # "Every section" is stored as SQL NULL, or as JSON null by Core inserts of None.
    if postgres:
        every = or_(Subscription.sections.is_(None), text("subscriptions.sections::text = 'null'"))
        return or_(every, cast(Subscription.sections, JSONB).contains([slug]))
    every = or_(Subscription.sections.is_(None), text("subscriptions.sections = 'null'"))
    return or_(every, text("EXISTS (SELECT 1 FROM json_each(subscriptions.sections) WHERE json_each.value = :slug)")
               .bindparams(slug=slug))


def _total(session: Session, where: list) -> tuple[int, bool]:
    capped = select(Subscriber.id).where(*where).limit(EXACT_UP_TO + 1).subquery()
    n = session.scalar(select(func.count()).select_from(capped))
    if n <= EXACT_UP_TO:
        return n, False
    query = select(Subscriber.id).where(*where)
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return session.scalar(select(func.count()).select_from(query.subquery())), False
    plan = session.execute(Explain(query)).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return max(int(plan[0]["Plan"]["Plan Rows"]), n), True


class Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a query, its parameters bound as in the query itself
    (SQLAlchemy's recipe for custom constructs)."""

    inherit_cache = False

    def __init__(self, statement):
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def search(session: Session, actor: Actor, f: Filters, before: int | None = None, limit: int = 50) -> Page:
    """Within the actor's publications (the role is checked by operators/subscribers.py)."""
    limit = max(1, min(limit, MAX_PAGE))
    where = conditions(session, f, actor)
    page: Select = select(Subscriber).where(*where).order_by(Subscriber.id.desc()).limit(limit)
    if before is not None:
        page = page.where(Subscriber.id < before)
    rows = session.scalars(page).all()
    total, estimated = _total(session, where)
    subs = _subscriptions(session, actor, [r.id for r in rows])
    items = [summary(r, subs.get(r.id, [])) for r in rows]
    return Page(items, rows[-1].id if len(rows) == limit else None, total, estimated)


def _subscriptions(session: Session, actor: Actor, ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if not ids:
        return out
    for sub, slug in session.execute(select(Subscription, Publication.slug).join(Publication)
                                     .where(Subscription.subscriber_id.in_(ids),
                                            visible(actor, Subscription.publication_id))
                                     .order_by(Publication.slug)):
        out.setdefault(sub.subscriber_id, []).append(
            {"publication": slug, "status": sub.status, "sections": sub.sections or None})
    return out


def summary(s: Subscriber, subscriptions: list[dict]) -> dict:
    return {"id": s.id, "email": s.email, "name": s.name, "status": s.status, "timezone": s.timezone,
            "created_at": s.created_at.isoformat(), "subscriptions": subscriptions}
