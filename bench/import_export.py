"""Benchmark: importing a CSV of subscribers and exporting the list as CSV, on PostgreSQL.

    .venv/bin/python bench/import_export.py [--import-rows 100000] [--export-rows 1000000]

Import: the whole path an admin's upload takes (subscribers/imports.py): read and validate
every row, COPY into a staging table, decide and insert set-based, one transaction. Export:
the streamed CSV of subscribers/export.py, every cell made spreadsheet-safe, written to
/dev/null. Each phase runs in its own process, so that its peak memory is its own.
Prints figures; it passes or fails nothing. Uses a throwaway database on
NEWSLETTER_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.db import get_engine
from newsletter.operators import imports as operator_imports
from newsletter.operators import subscribers as operator_subscribers
from newsletter.publications.load import load_publications
from newsletter.schema import migrate
from newsletter.staff.access import cli_actor
from newsletter.subscribers.search import Filters

ADMIN = os.environ.get("NEWSLETTER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONES = ["", "", "", "Europe/Paris", "America/New_York", "Asia/Tokyo"]
SECTIONS = ["", "", "superpowers", "superpowers;drone-war", "missile-defense;nuclear-weapons"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_csv(rows: int) -> str:
    rnd = random.Random(7)
    lines = ["email,name,sections,timezone"]
    for i in range(rows):
        lines.append(f"reader{i:07d}@mail{i % 50}.example.org,Reader {i},{rnd.choice(SECTIONS)},{rnd.choice(ZONES)}")
    return "\n".join(lines) + "\n"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_seconds(engine, since: datetime) -> float:
    """CPU time of the PostgreSQL backends this process opened (the server runs here too):
    with the client's, a figure that does not depend on what else the machine is doing."""
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND backend_start >= :since"), {"since": since}).scalars().all()
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not on this machine, or gone
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def run_import(url: str, rows: int) -> dict:
    engine = get_engine(url)
    csv_text = sample_csv(rows)
    since = datetime.now(UTC)
    start, cpu = time.perf_counter(), cpu_seconds()
    job = operator_imports.import_now(engine, "bench-secret", cli_actor(), "spacewar-daily", csv_text)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    assert job["status"] == "done" and job["added"] == rows, job
    server = server_cpu_seconds(engine, since)
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds),
            "client_cpu": round(cpu, 2), "server_cpu": round(server, 2),
            "rows_per_cpu_second": round(rows / (cpu + server)), "peak_mb": round(peak_mb())}


def run_export(url: str) -> dict:
    engine = get_engine(url)
    since = datetime.now(UTC)
    start, cpu = time.perf_counter(), cpu_seconds()
    size = lines = 0
    with open(os.devnull, "w") as sink:
        for chunk in operator_subscribers.export_csv(engine, cli_actor(), Filters(publication="spacewar-daily")):
            sink.write(chunk)
            size += len(chunk)
            lines += chunk.count("\r\n")
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    server = server_cpu_seconds(engine, since)
    return {"rows": lines - 1, "seconds": round(seconds, 2), "rows_per_second": round((lines - 1) / seconds),
            "client_cpu": round(cpu, 2), "server_cpu": round(server, 2),
            "rows_per_cpu_second": round((lines - 1) / (cpu + server)),
            "megabytes": round(size / 1e6), "peak_mb": round(peak_mb())}


def fill(url: str, rows: int) -> None:
    """`rows` subscribers with subscriptions, written by the database itself (fast)."""
    with get_engine(url).begin() as conn:
        conn.execute(text("INSERT INTO subscribers (email, name, status, created_at, token_key, timezone) "
                          "SELECT 'filler' || g || '@example.org', 'Filler ' || g, 'active', now(), g, '' "
                          "FROM generate_series(1, :n) g"), {"n": rows})
        conn.execute(text("INSERT INTO subscriptions (subscriber_id, publication_id, status, sections, "
                          "confirm_nonce, created_at, updated_at) SELECT id, 1, 'active', "
                          "CASE WHEN id % 4 = 0 THEN '[\"superpowers\"]'::json END, 0, now(), now() "
                          "FROM subscribers WHERE email LIKE 'filler%'"))
        conn.execute(text("ANALYZE"))


def child(phase: str, url: str, rows: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--url", url, "--import-rows", str(rows)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_line(f: dict) -> str:
    return (f"CPU {f['client_cpu']} s here + {f['server_cpu']} s PostgreSQL = "
            f"{f['rows_per_cpu_second']:,} rows per CPU second; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=["import", "export"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_import(args.url, args.import_rows) if args.phase == "import" else run_export(args.url)))
        return
    admin = create_engine(ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    name = f"nl_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url)
        with Session(get_engine(url)) as s:
            load_publications(s, sample_file("publications.toml"))
            s.commit()
        figures = child("import", url, args.import_rows)
        print(f"import {figures['rows']:,} rows (validate, COPY, set-based insert): {figures['seconds']} s, "
              f"{figures['rows_per_second']:,} rows/s, peak {figures['peak_mb']} MB RSS; {cpu_line(figures)}")
        fill(url, max(args.export_rows - args.import_rows, 0))
        figures = child("export", url, args.import_rows)
        print(f"export {figures['rows']:,} rows as CSV ({figures['megabytes']} MB): {figures['seconds']} s, "
              f"{figures['rows_per_second']:,} rows/s, peak {figures['peak_mb']} MB RSS; {cpu_line(figures)}")
    finally:
        get_engine(url).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
