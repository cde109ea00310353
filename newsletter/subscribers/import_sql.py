"""Writing an import: the rows go into a temporary staging table (COPY on PostgreSQL,
chunked inserts on SQLite) a chunk at a time as the file is read, repeated addresses are
found and set aside there, and a few set-based statements decide and insert everything,
all in the caller's one transaction: all of it or none of it.

Who is not (re)subscribed, and reported by line: an address erased at its owner's
request, any suppression of the address (their own unsubscribe included), a subscriber
disabled by an admin, and anyone who unsubscribed from this publication. Someone already
subscribed is counted as existing and left as they are. A pending sign-up becomes active,
as when an admin adds one person. Every subscription made gets a `subscribe` event with
the admin method.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from newsletter.db import UTCDateTime, utcnow
from newsletter.publications.models import Publication
from newsletter.subscribers import import_rows
from newsletter.subscribers.address_hash import address_hasher
from newsletter.subscribers.import_rows import ImportRow
from newsletter.subscribers.models import new_token_key
from newsletter.webhooks import outbox

CHUNK = 1000
WHY = {
    "erased": "erased at the person's request: never subscribed again",
    "disabled": "disabled by an admin: not subscribed",
    "unsubscribed": "unsubscribed from this publication: not subscribed again (only they can come back)",
}


@dataclass
class Applied:
    added: int = 0
    existing: int = 0
    left: int = 0  # not (re)subscribed: every one
    not_resubscribed: list[tuple[int, str]] = field(default_factory=list)  # (line, why), the first ones


def _why(outcome: str) -> str:
    if outcome.startswith("suppressed:"):
        return f"suppressed ({outcome.split(':', 1)[1].replace('_', ' ')}): not subscribed again"
    return WHY.get(outcome, outcome)


_COLUMNS = "line, email, name, sections, timezone, email_hash, token_key"
_CREATE = ("CREATE TEMPORARY TABLE import_stage (line integer NOT NULL, email varchar(320) NOT NULL, "
           "name varchar(200) NOT NULL, sections text, timezone varchar(64) NOT NULL, "
           "email_hash varchar(64) NOT NULL, token_key bigint NOT NULL, "
           "outcome varchar(64) NOT NULL DEFAULT '', subscriber_id integer)")

# Who is who, in order (both databases). :pub is the publication.
_DECIDE = [
    "UPDATE import_stage AS st SET outcome = 'erased' WHERE EXISTS (SELECT 1 FROM suppressions x "
    "WHERE x.email_hash = st.email_hash AND x.email_hash <> '')",
    "UPDATE import_stage AS st SET outcome = 'suppressed:' || x.reason FROM suppressions AS x "
    "WHERE st.outcome = '' AND x.email = st.email AND (x.publication_id IS NULL OR x.publication_id = :pub)",
    "UPDATE import_stage AS st SET subscriber_id = s.id, "
    "outcome = CASE WHEN s.status = 'disabled' THEN 'disabled' ELSE '' END "
    "FROM subscribers AS s WHERE st.outcome = '' AND s.email = st.email",
    "UPDATE import_stage AS st SET outcome = CASE x.status WHEN 'active' THEN 'existing' "
    "WHEN 'pending' THEN 'pending' ELSE 'unsubscribed' END "
    "FROM subscriptions AS x WHERE st.outcome = '' AND x.subscriber_id = st.subscriber_id "
    "AND x.publication_id = :pub",
]
_EVENTS = ("INSERT INTO events (kind, method, subscriber_id, publication_id, reason, detail, created_at) "
           "SELECT 'subscribe', 'admin', subscriber_id, :pub, '', :detail, :now FROM {source}")
_SUBSCRIBE = ("INSERT INTO subscriptions (subscriber_id, publication_id, status, sections, confirm_nonce, "
              "created_at, updated_at) SELECT {who}, :pub, 'active', {sections}, 0, :now, :now FROM {source}")
_ACTIVATE = ("UPDATE subscriptions AS x SET status = 'active', sections = {sections}, confirm_nonce = 0, "
             "requested_sections = NULL, requested_name = '', requested_timezone = '', updated_at = :now "
             "FROM import_stage AS st WHERE st.outcome = 'pending' "
             "AND x.subscriber_id = st.subscriber_id AND x.publication_id = :pub AND x.status = 'pending'")
_NEW_SUBSCRIBERS = ("INSERT INTO subscribers (email, name, status, created_at, token_key, timezone) "
                    "SELECT email, name, 'active', :now, token_key, timezone FROM import_stage "
                    "WHERE outcome = '' AND subscriber_id IS NULL ORDER BY line ON CONFLICT (email) DO NOTHING")

# PostgreSQL: each step and its events in one statement (data-modifying WITH), and the new
# subscribers, their subscriptions and events in one more; the staging table is not
# rewritten on the way (each UPDATE of it costs as much as an insert).
_POSTGRES = [
    "WITH made AS (" + _SUBSCRIBE.format(
        who="subscriber_id", sections="CAST(sections AS json)",
        source="import_stage WHERE outcome = '' AND subscriber_id IS NOT NULL") +
    " ON CONFLICT (subscriber_id, publication_id) DO NOTHING RETURNING subscriber_id) " +
    _EVENTS.format(source="made"),
    "WITH made AS (" + _ACTIVATE.format(sections="CAST(st.sections AS json)") + " RETURNING x.subscriber_id) " +
    _EVENTS.format(source="made"),
    "WITH new AS (" + _NEW_SUBSCRIBERS + " RETURNING id, email), made AS (" + _SUBSCRIBE.format(
        who="new.id", sections="CAST(st.sections AS json)",
        source="new JOIN import_stage AS st ON st.email = new.email") + " RETURNING subscriber_id) " +
    _EVENTS.format(source="made"),
]
# SQLite (no data-modifying WITH): the same in more steps, marking the staging rows.
_SQLITE = [
    _NEW_SUBSCRIBERS,
    "UPDATE import_stage AS st SET subscriber_id = s.id FROM subscribers AS s "
    "WHERE st.outcome = '' AND st.subscriber_id IS NULL AND s.email = st.email",
    _SUBSCRIBE.format(who="subscriber_id", sections="sections", source="import_stage WHERE outcome = ''") +
    " ON CONFLICT (subscriber_id, publication_id) DO NOTHING",
    _ACTIVATE.format(sections="st.sections"),
    _EVENTS.format(source="import_stage WHERE outcome IN ('', 'pending')"),
]


class Staging:
    """The staging table of one import, in the caller's transaction."""

    def __init__(self, session: Session, secret: str):
        self.conn = session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"
        self.digest, self._json = address_hasher(secret), {}
        if not self.postgres:
            self.conn.exec_driver_sql("DROP TABLE IF EXISTS temp.import_stage")
        self.conn.exec_driver_sql(_CREATE + (" ON COMMIT DROP" if self.postgres else ""))

    def _sections(self, sections: list[str] | None) -> str | None:
        key = tuple(sections) if sections else None
        if key not in self._json:
            self._json[key] = json.dumps(sections) if sections else None
        return self._json[key]

    def add(self, rows: list[ImportRow]) -> None:
        staged = [(r.line, r.email, r.name, self._sections(r.sections), r.timezone, self.digest(r.email),
                   new_token_key()) for r in rows]
        if self.postgres:
            with self.conn.connection.driver_connection.cursor() as cur:
                with cur.copy(f"COPY import_stage ({_COLUMNS}) FROM STDIN") as copy:
                    for row in staged:
                        copy.write_row(row)
            return
        insert = text(f"INSERT INTO import_stage ({_COLUMNS}) VALUES "
                      "(:line, :email, :name, :sections, :timezone, :email_hash, :token_key)")
        names = _COLUMNS.split(", ")
        for start in range(0, len(staged), CHUNK):
            self.conn.execute(insert, [dict(zip(names, row, strict=True)) for row in staged[start:start + CHUNK]])

    def set_repeats_aside(self, report_limit: int = 1000) -> tuple[int, list[tuple[int, int]]]:
        """Rows that repeat an address of an earlier row leave the table: (how many, the
        first (line, line it repeats))."""
        if self.postgres:
            self.conn.exec_driver_sql("CREATE INDEX ON import_stage (email, line)")
            self.conn.exec_driver_sql("ANALYZE import_stage")
        repeats = ("SELECT line, first FROM (SELECT line, min(line) OVER (PARTITION BY email) AS first "
                   "FROM import_stage) AS t WHERE line <> first")
        count = self.conn.execute(text(f"SELECT count(*) FROM ({repeats}) AS r")).scalar()
        first = [(line, of) for line, of in self.conn.execute(
            text(f"{repeats} ORDER BY line LIMIT :n"), {"n": report_limit}).all()] if count else []
        if count:
            self.conn.execute(text(f"DELETE FROM import_stage WHERE line IN (SELECT line FROM ({repeats}) AS r)"))
        return count, first

    def apply(self, publication_id: int, detail: str, report_limit: int = 1000) -> Applied:
        """Decide who is who and subscribe those who may be (the rows have no repeats)."""
        conn, postgres = self.conn, self.postgres
        values = {"pub": publication_id, "now": utcnow(), "detail": detail}
        added = 0
        for step, sql in enumerate(_DECIDE + (_POSTGRES if postgres else _SQLITE)):
            bound = text(sql).bindparams(bindparam("now", type_=UTCDateTime())) if ":now" in sql else text(sql)
            result = conn.execute(bound, {k: v for k, v in values.items() if f":{k}" in sql})
            if postgres and step >= len(_DECIDE):
                added += result.rowcount  # the events written: one per subscription made
        counts = dict(conn.execute(text("SELECT outcome, count(*) FROM import_stage GROUP BY outcome")).all())
        if not postgres:
            added = counts.get("", 0) + counts.get("pending", 0)
        left = conn.execute(text("SELECT line, outcome FROM import_stage WHERE outcome NOT IN ('', 'pending', "
                                 "'existing') ORDER BY line LIMIT :n"), {"n": report_limit}).all()
        if not postgres:
            conn.exec_driver_sql("DROP TABLE temp.import_stage")
        outbox.imported(conn, publication_id, detail, values["now"])
        wanted = counts.get("", 0) + counts.get("pending", 0)
        # Fewer made than wanted: someone signed up or was added while this ran; left as they are.
        return Applied(added, counts.get("existing", 0),
                       sum(n for o, n in counts.items() if o not in ("", "pending", "existing")) + wanted - added,
                       [(line, _why(o)) for line, o in left])


def apply(session: Session, publication_id: int, rows: list[ImportRow], secret: str, detail: str,
          report_limit: int = 1000) -> Applied:
    """Rows already without repeats, at once (a small import). Runs in the caller's
    transaction (the caller commits, or rolls everything back)."""
    stage = Staging(session, secret)
    stage.add(rows)
    if stage.postgres:
        stage.conn.exec_driver_sql("CREATE INDEX ON import_stage (email)")
        stage.conn.exec_driver_sql("ANALYZE import_stage")
    return stage.apply(publication_id, detail, report_limit)


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    not_resubscribed: list[tuple[int, str]] = field(default_factory=list)


def import_csv(session: Session, publication: Publication, text: str, skip_invalid: bool = False,
               secret: str | None = None) -> ImportReport:
    """All or nothing by default: one bad row and nothing is imported, every error reported.
    The whole import in the caller's transaction (subscribers/imports.py runs it as a job
    with progress). Without the secret key erased addresses are not recognised: the command
    line, the API and the console always pass it."""
    read = import_rows.read(publication, text)
    report = ImportReport(errors=read.errors)
    if read.errors and not skip_invalid:
        return report
    applied = apply(session, publication.id, read.rows, secret or "", "import")
    report.added, report.existing, report.not_resubscribed = applied.added, applied.existing, applied.not_resubscribed
    return report
