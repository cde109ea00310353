"""Data out: the subscriber list as CSV (any search's result, streamed, constant memory,
safe to open in a spreadsheet). Everything held about one person is people/held.py's.

The CSV's first four columns are the import's (email, name, sections, timezone), so an
export of one publication imports back as it is.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, func, literal_column, select
from sqlalchemy.orm import Session

from newsletter.csvout import csv_chunks
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor
from newsletter.staff.scope import visible
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.subscribers.search import Filters, conditions

COLUMNS = ["email", "name", "sections", "timezone", "status", "created_at", "subscriptions"]
CHUNK = 10000


def stream_csv(engine: Engine, actor: Actor, f: Filters, chunk: int = CHUNK) -> Iterator[str]:
    """The CSV of a search within the actor's publications, from its own session (the
    staff act, checked and audited before the first byte, is operators/subscribers.py's)."""
    yield from csv_chunks([COLUMNS])
    with Session(engine) as s:
        where = conditions(s, f, actor)
        pub_id = s.scalar(select(Publication.id).where(Publication.slug == f.publication)) if f.publication else None
        slugs = dict(s.execute(select(Publication.id, Publication.slug)).all())
        conn = s.connection()  # Core rows from here on: a million ORM rows would cost more than the CSV
        created, listed = _utc_text(conn.dialect.name), _sections_text(conn.dialect.name)
        after = 0
        while True:
            rows = conn.execute(select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.timezone,
                                       Subscriber.status, created)
                                .where(*where, Subscriber.id > after).order_by(Subscriber.id).limit(chunk)).all()
            if not rows:
                return
            subs: dict[int, list] = {}
            for sid, pid, status, sections in conn.execute(
                    select(Subscription.subscriber_id, Subscription.publication_id, Subscription.status, listed)
                    .where(Subscription.subscriber_id.between(rows[0][0], rows[-1][0]),
                           visible(actor, Subscription.publication_id))
                    .order_by(Subscription.subscriber_id, Subscription.publication_id)).all():
                subs.setdefault(sid, []).append((pid, status, sections))
            yield from csv_chunks(_lines(rows, subs, pub_id, slugs), rows_per_chunk=chunk)
            after = rows[-1][0]


def _utc_text(dialect: str):
    """created_at as ISO 8601 text in UTC, made by the database (no datetime per row here)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", Subscriber.created_at), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return func.strftime("%Y-%m-%dT%H:%M:%SZ", Subscriber.created_at)  # SQLite keeps UTC text


def _sections_text(dialect: str):
    """The sections as "a;b" text, made by the database ("" for every section)."""
    if dialect == "postgresql":
        sql = ("CASE WHEN json_typeof(subscriptions.sections) = 'array' THEN array_to_string(ARRAY("
               "SELECT json_array_elements_text(subscriptions.sections)), ';') ELSE '' END")
    else:
        sql = ("CASE WHEN json_type(subscriptions.sections) = 'array' THEN (SELECT group_concat(value, ';') "
               "FROM json_each(subscriptions.sections)) ELSE '' END")
    return literal_column(sql)


def _lines(rows, subs: dict, pub_id: int | None, slugs: dict) -> Iterator[list]:
    for sid, email, name, zone, status, created in rows:
        mine = subs.get(sid, ())
        sections = next((sec for pid, _, sec in mine if pid == pub_id), "") if pub_id else ""
        yield [email, name, sections or "", zone, status, created,
               " ".join(f"{slugs.get(pid, pid)}:{st}" for pid, st, _ in mine)]
