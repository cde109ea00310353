"""Benchmark: removing old delivery rows, two ways, on a million rows in PostgreSQL.

    .venv/bin/python bench/retention.py [--rows 1000000] [--editions 20] [--batch 5000]

The same rows (`--editions` editions of rows/editions readers each; the older half is
what retention removes) in two databases of their own:

- rollup-and-delete: the product's schema and code (newsletter/retention/deliveries.py):
  tallies written and rows deleted in batches of `--batch`, one transaction each;
- partitioned: `deliveries` partitioned by edition (one partition per edition, as one per
  day would be), the same tallies computed by one query per partition, then each
  partition detached and dropped.

Prints for each: the time, the longest transaction (what a lock can cost others), the
WAL written, the table's size before and after; for the partitioned table also what it
costs the send path: marking 2,000 rows sent by id (the mark names no edition), against
the plain table. Figures, not a test.
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.db import get_engine, utcnow
from newsletter.editions.models import Edition
from newsletter.publications.load import load_publications
from newsletter.retention import deliveries as retention
from newsletter.schema import migrate

PG = os.environ.get("NEWSLETTER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin():
    return create_engine(PG.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def new_database(name: str) -> str:
    with _admin().connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    return url


def drop(url: str) -> None:
    get_engine(url).dispose()
    with _admin().connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


def fill(conn, rows: int, editions: int) -> None:
    """A publication, `editions` sent editions a day apart (the oldest a year ago), the
    readers, and one delivery row per reader per edition: 99% sent, 1% failed."""
    per = rows // editions
    with Session(bind=conn) as s:
        pub = load_publications(s, sample_file("publications.toml"))[0]
        first = date.today() - timedelta(days=365)
        s.add_all([Edition(id=e, publication_id=pub.id, date=first + timedelta(days=e), status="sent",
                           window_start=utcnow(), window_end=utcnow(), fanout_done=True)
                   for e in range(1, editions + 1)])
        s.flush()
    conn.execute(text("INSERT INTO subscribers (email, name, status, created_at, token_key, timezone) "
                      "SELECT 'r' || g || '@example.org', '', 'active', now(), g, '' FROM generate_series(1, :n) g"),
                 {"n": per})
    conn.execute(text(
        "INSERT INTO deliveries (edition_id, subscriber_id, status, message_id, attempts, last_error, error_class,"
        " claimed_by, sent_at, claimed_at) SELECT e, s, CASE WHEN s % 100 = 0 THEN 'failed' ELSE 'sent' END,"
        " '<edition.' || e || '.' || s || '.0123456789abcdef@example.com>', 1, '', "
        " CASE WHEN s % 100 = 0 THEN 'recipient_refused' ELSE '' END, '', now() - make_interval(days => :n - e),"
        " now() - make_interval(days => :n - e) FROM generate_series(1, :n) e, generate_series(1, :per) s"),
        {"n": editions, "per": per})
    conn.execute(text("ANALYZE"))


def wal(conn) -> int:
    return int(conn.scalar(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")))


def size(conn, table: str) -> int:
    return conn.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table})


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def mark_by_id(engine, table: str, count: int) -> float:
    """The send path's mark: one UPDATE by id a message (ids spread over the table), in one
    transaction, so that what is measured is finding the row, not the commit."""
    with engine.begin() as conn:
        top = conn.scalar(text(f"SELECT max(id) FROM {table}"))
        start = time.perf_counter()
        for i in range(count):
            conn.execute(text(f"UPDATE {table} SET attempts = attempts + 1 WHERE id = :i"),
                         {"i": 1 + (i * 7919) % top})
        return (time.perf_counter() - start) / count


def rollup_and_delete(url: str, cutoff: date, batch: int) -> dict:
    engine = get_engine(url)
    with engine.connect() as conn:
        before, w0 = size(conn, "deliveries"), wal(conn)
        old = retention.old_editions(conn, cutoff)
        rows = retention.rows_of(conn, old)
    longest, start, batches = 0.0, time.perf_counter(), 0
    for edition_id in old:
        while True:
            t = time.perf_counter()
            with engine.begin() as conn:
                n = retention.roll_up_batch(conn, edition_id, batch)
            longest, batches = max(longest, time.perf_counter() - t), batches + 1
            if n < batch:
                break
        with engine.begin() as conn:
            retention.merge_tallies(conn, edition_id)
    seconds = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        w1 = wal(conn)
        conn.execute(text("VACUUM deliveries"))
        after = size(conn, "deliveries")
    mark = mark_by_id(engine, "deliveries", 2000)
    return {"rows": rows, "seconds": seconds, "batches": batches, "longest": longest, "wal": w1 - w0,
            "before": before, "after": after, "mark": mark}


PARTITIONED = """
CREATE TABLE deliveries_p (LIKE deliveries INCLUDING DEFAULTS) PARTITION BY LIST (edition_id);
ALTER TABLE deliveries_p ADD PRIMARY KEY (id, edition_id);
ALTER TABLE deliveries_p ADD UNIQUE (edition_id, subscriber_id);
CREATE INDEX ON deliveries_p (edition_id, status);
"""


def partitioned(url: str, editions: int, cutoff: date) -> dict:
    engine = get_engine(url)
    with engine.begin() as conn:
        for statement in PARTITIONED.strip().split(";\n"):
            conn.execute(text(statement))
        for e in range(1, editions + 1):
            conn.execute(text(f"CREATE TABLE deliveries_p_{e} PARTITION OF deliveries_p FOR VALUES IN ({e})"))
        conn.execute(text("INSERT INTO deliveries_p SELECT * FROM deliveries"))
        conn.execute(text("ANALYZE deliveries_p"))
    with engine.connect() as conn:
        before, w0 = size(conn, "deliveries_p") + sum(size(conn, f"deliveries_p_{e}")
                                                     for e in range(1, editions + 1)), wal(conn)
        old = retention.old_editions(conn, cutoff)
        rows = retention.rows_of(conn, old)
    longest, start = 0.0, time.perf_counter()
    for e in old:
        t = time.perf_counter()
        with engine.begin() as conn:  # the figures still need rolling up: one query per partition
            conn.execute(text(
                "INSERT INTO delivery_tallies (edition_id, status, error_class, day, count, last_at) "
                "SELECT edition_id, status, error_class, CASE WHEN status IN ('sent', 'failed') THEN "
                "(timezone('UTC', CASE WHEN status = 'sent' THEN sent_at ELSE claimed_at END))::date END, "
                f"count(*), max(sent_at) FROM deliveries_p_{e} GROUP BY 1, 2, 3, 4"))
            conn.execute(text(f"ALTER TABLE deliveries_p DETACH PARTITION deliveries_p_{e}"))
            conn.execute(text(f"DROP TABLE deliveries_p_{e}"))
        longest = max(longest, time.perf_counter() - t)
    seconds = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        w1 = wal(conn)
        after = sum(size(conn, f"deliveries_p_{e}") for e in range(1, editions + 1) if e not in old)
    mark = mark_by_id(engine, "deliveries_p", 2000)
    return {"rows": rows, "seconds": seconds, "batches": len(old), "longest": longest, "wal": w1 - w0,
            "before": before, "after": after, "mark": mark}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--editions", type=int, default=20)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    # Editions are a day apart from a year ago: the cut-off keeps the newer half.
    cutoff = date.today() - timedelta(days=365) + timedelta(days=args.editions // 2 + 1)
    print(f"{args.rows:,} delivery rows in {args.editions} editions; retention removes the older "
          f"{args.editions // 2}; load average {os.getloadavg()[0]:.1f}", flush=True)
    plain = new_database(f"nl_retention_plain_{os.getpid()}")
    parted = new_database(f"nl_retention_parted_{os.getpid()}")
    try:
        for url in (plain, parted):
            with get_engine(url).begin() as conn:
                fill(conn, args.rows, args.editions)
        a = rollup_and_delete(plain, cutoff, args.batch)
        b = partitioned(parted, args.editions, cutoff)
        for name, f in (("rollup-and-delete", a), ("partitioned (drop)", b)):
            print(f"{name}: {f['rows']:,} rows in {f['seconds']:.1f} s ({f['rows'] / f['seconds']:,.0f} rows/s), "
                  f"{f['batches']} transactions, longest {f['longest'] * 1000:,.0f} ms; WAL {mb(f['wal'])}; "
                  f"table {mb(f['before'])} -> {mb(f['after'])}; a sent mark by id {f['mark'] * 1e6:,.0f} us",
                  flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        drop(plain)
        drop(parted)


if __name__ == "__main__":
    main()
