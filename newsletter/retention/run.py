"""What retention removes, and doing it: `newsletter retention [--dry-run]`, beat daily.

One pass: delivery rows of old editions rolled up and removed (deliveries.py), raw bounce
reports emptied, audit entries and outbox files removed (records.py), webhook deliveries
that are over removed (webhooks/prune.py), each with its own
time from the settings. The plan names the cut-off of each and what it would remove;
the table sizes are read before (and after) so that an operator sees what it bought.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, text

from newsletter.bounces.models import BounceReport
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.delivery.tallies import DeliveryTally
from newsletter.retention import deliveries, records
from newsletter.staff.models import AuditEntry
from newsletter.tracking.models import Event
from newsletter.webhooks import prune

log = logging.getLogger(__name__)
TABLES = (Delivery, DeliveryTally, BounceReport, Event, AuditEntry)


@dataclass
class Part:
    what: str
    kept_days: int
    before: datetime
    count: int  # rows (files) removed, or that would be
    size: int = 0  # bytes of it, where known
    note: str = ""


@dataclass
class Outcome:
    dry_run: bool
    parts: list[Part] = field(default_factory=list)
    sizes: list[tuple[str, int, int | None]] = field(default_factory=list)  # (table, rows, bytes)


def table_sizes(conn: Connection) -> list[tuple[str, int, int | None]]:
    """Rows and, on PostgreSQL, bytes on disk (indexes and TOAST included) of the tables
    retention keeps small."""
    out = []
    for model in TABLES:
        name = model.__tablename__
        rows = conn.scalar(select(func.count()).select_from(model.__table__)) or 0
        size = conn.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": name}) \
            if conn.dialect.name == "postgresql" else None
        out.append((name, rows, size))
    return out


def cutoffs(settings: Settings, now: datetime) -> dict[str, tuple[int, datetime]]:
    days = {"deliveries": settings.retention_delivery_days, "bounce reports (raw)": settings.retention_bounce_raw_days,
            "audit log": settings.retention_audit_days, "outbox files": settings.retention_outbox_days,
            "webhook deliveries": settings.retention_webhook_days}
    return {what: (n, now - timedelta(days=n)) for what, n in days.items()}


def run(engine, settings: Settings, dry_run: bool = False, now: datetime | None = None,
        stop=lambda: False) -> Outcome:
    """`stop`: asked between two batches of delivery rows (the embedded scheduler stopping)."""
    now = now or utcnow()
    cut = cutoffs(settings, now)
    outcome = Outcome(dry_run)
    folder = settings.effective_outbox_dir
    with engine.connect() as conn:
        outcome.sizes = table_sizes(conn)
        old = deliveries.old_editions(conn, cut["deliveries"][1].date())
        planned = {"deliveries": records.Found(deliveries.rows_of(conn, old)),
                   "bounce reports (raw)": records.bounce_raw_found(conn, cut["bounce reports (raw)"][1]),
                   "audit log": records.audit_found(conn, cut["audit log"][1]),
                   "outbox files": records.outbox_found(folder, cut["outbox files"][1]),
                   "webhook deliveries": records.Found(prune.found(conn, cut["webhook deliveries"][1]))}
    notes = {"deliveries": f"of {len(old)} editions, rolled up into tallies"}
    batch = settings.retention_batch_rows
    for what, (days, before) in cut.items():
        found = planned[what]
        if not dry_run and found.count:
            if what == "deliveries":
                found.count = deliveries.roll_up(engine, before.date(), batch, stop).rows
            elif what == "bounce reports (raw)":
                found.count = records.clear_bounce_raw(engine, before, batch)
            elif what == "audit log":
                found.count = records.remove_audit(engine, before, batch)
            elif what == "webhook deliveries":
                found.count = prune.remove(engine, before, batch)
            else:
                found.count = records.remove_outbox(folder, before)
        outcome.parts.append(Part(what, days, before, found.count, found.size, notes.get(what, "")))
    if not dry_run:
        log.info("retention: %s", ", ".join(f"{p.what} {p.count}" for p in outcome.parts))
    return outcome
