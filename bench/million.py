"""Benchmark: one edition to a list of a million, every step, on PostgreSQL.

    .venv/bin/python bench/million.py --subscribers 1000000 [--workers 2] [--send-timeout 3600]

In a database of its own: the list imported through the product's CSV import
(subscribers/imports.py), the edition built (editions/build.py), then sent with DKIM
(RSA-2048) by real Celery workers over Redis to Postfix's smtp-sink on loopback (the
same sink and helpers as bench/delivery.py). Prints, one line each:

- import: rows, seconds, the importing process's peak memory;
- build: seconds;
- fan-out: seconds from the start until every delivery row was recorded (it runs while
  the first batches are already sending);
- send: messages, seconds, messages/s, and whether the sink got exactly N;
- memory: the workers' peak (largest process, VmHWM), PostgreSQL's: the largest backend
  of this database (VmHWM, shared buffers it touched included) and the sum of its
  backends at the busiest second;
- database: size after import, after build, after the send; the deliveries table's size
  and bytes a row (what each reader adds each day until retention removes it).

`--send-timeout`: if the send has not finished by then, the figures so far are printed
(messages sent, rate) and the run stops, labelled as partial. Figures, not a test.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.db import get_engine, utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.operators import imports
from newsletter.publications.load import load_publications
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.schema import migrate
from newsletter.staff.access import cli_actor
from newsletter.store.models import Article

sys.path.insert(0, str(Path(__file__).resolve().parent))
from delivery import ROOT, Sink, cpu_seconds, peak_rss_mb, worker_env  # bench/delivery.py

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = os.environ.get("NEWSLETTER_BENCH_REDIS", "redis://127.0.0.1:6379/12")
ZONES = ["", "", "", "Europe/Paris", "America/New_York"]


def csv_rows(n: int) -> str:
    rnd = random.Random(7)
    lines = ["email,name,sections,timezone"]
    lines += [f"reader{i:08d}@mail{i % 50}.example.org,Reader {i},,{rnd.choice(ZONES)}" for i in range(n)]
    return "\n".join(lines) + "\n"


def db_size(conn) -> int:
    return conn.scalar(text("SELECT pg_database_size(current_database())"))


def table_size(conn, table: str) -> int:
    return conn.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table})


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def setup(name: str) -> str:
    admin = create_engine(PG.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG}/{name}"
    migrate(url)
    return url


def articles_and_key(url: str, tmp: Path) -> None:
    """The day's articles, and a fresh RSA-2048 DKIM key for the publication."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    with Session(get_engine(url)) as s:
        pub = load_publications(s, sample_file("publications.toml"))[0]
        pub.dkim_domain, pub.dkim_selector, pub.dkim_key_file = "spacewar.example.com", "bench", str(path)
        now = utcnow()
        end = window_for(s, pub, local_date(pub.timezone, now), now)[1]
        for i, section in enumerate(pub.ordered_sections()):
            for j in range(4):
                s.add(Article(url=f"https://www.spacewar.example.com/m/{i}-{j}.html",
                              headline=f"Benchmark headline {i}-{j} about missile defence and space",
                              teaser="A teaser of a couple of lines, as the site writes them. " * 2,
                              section_id=section.id, source="AFP", byline="AFP Staff Writers", dateline="Paris",
                              published_at=end - timedelta(minutes=10 * (i * 4 + j + 1))))
        s.commit()


def backends(conn) -> list[int]:
    return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()")))


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def send(url: str, edition_id: int, n: int, workers: int, tmp: Path, timeout: float) -> dict:
    sink = Sink(2600 + (os.getpid() + 7) % 1000)
    env = worker_env(url, sink.port, tmp, REDIS)
    redis.Redis.from_url(REDIS).flushdb()
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker", "-l", "WARNING",
                               "-c", str(workers), "-Q", "newsletter", "--without-gossip", "--without-mingle",
                               "--without-heartbeat"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=open(tmp / "worker.log", "wb"), stderr=subprocess.STDOUT)
    from celery import Celery

    engine = get_engine(url)
    time.sleep(3)  # worker start-up is not part of the figure
    worker_cpu0 = cpu_seconds(worker.pid)
    pg_cpu: dict[int, tuple[float, float]] = {}  # backend: (CPU when first seen, CPU last seen)
    start = time.perf_counter()
    Celery(broker=REDIS).send_task("newsletter.drive", args=[edition_id], queue="newsletter")
    fanout = None
    pg_hwm = pg_sum = 0
    sent, status = 0, ""
    while True:
        with engine.connect() as c:
            status, done = c.execute(text("SELECT status, fanout_done FROM editions WHERE id = :e"),
                                     {"e": edition_id}).one()
            if fanout is None and done:
                fanout = time.perf_counter() - start
            pids = backends(c)
            sent = n if status == "sent" else c.scalar(text(
                "SELECT count(*) FROM deliveries WHERE edition_id = :e AND status = 'sent'"), {"e": edition_id})
        pg_hwm = max([pg_hwm, *(_kb(p, "VmHWM:") for p in pids)])
        for p in pids:
            now_cpu = _cpu(p)
            pg_cpu[p] = (pg_cpu.get(p, (now_cpu, 0))[0], now_cpu)
        pg_sum = max(pg_sum, sum(_kb(p, "VmRSS:") for p in pids))
        if status == "sent" or time.perf_counter() - start > timeout or worker.poll() is not None:
            break
        time.sleep(1.0)
    elapsed = time.perf_counter() - start
    worker_cpu = cpu_seconds(worker.pid) - worker_cpu0
    memory = peak_rss_mb(worker.pid)
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=120)
    time.sleep(0.5)
    received = sink.count()
    sink.stop()
    engine.dispose()
    return {"elapsed": elapsed, "fanout": fanout, "sent": sent, "finished": status == "sent",
            "received": received, "worker_mb": memory, "worker_cpu": worker_cpu,
            "pg_cpu": sum(last - first for first, last in pg_cpu.values()),
            "pg_backend_mb": pg_hwm / 1024, "pg_sum_mb": pg_sum / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--send-timeout", type=float, default=3 * 3600)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    n, tmp = args.subscribers, Path(tempfile.mkdtemp(prefix="nl-million-"))
    name = f"nl_million_{os.getpid()}"
    print(f"{n:,} subscribers, {args.workers} workers, DKIM RSA-2048; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    url = setup(name)
    engine = get_engine(url)
    articles_and_key(url, tmp)

    text_ = csv_rows(n)
    start = time.perf_counter()
    job = imports.import_now(engine, "bench-secret", cli_actor(), "spacewar-daily", text_)
    seconds = time.perf_counter() - start
    del text_
    assert job["status"] == "done" and job["added"] == n, job
    with engine.connect() as c:
        after_import = db_size(c)
    print(f"import: {n:,} rows in {seconds:.1f} s = {n / seconds:,.0f} rows/s; peak memory of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB (the CSV text itself in it); "
          f"database {mb(after_import)}", flush=True)

    with Session(engine, expire_on_commit=False) as s:
        pub = s.query(Publication).one()
        start = time.perf_counter()
        edition, _ = build_edition(s, pub, local_date(pub.timezone, utcnow()), utcnow())
        s.commit()
        seconds = time.perf_counter() - start
    with engine.connect() as c:
        after_build = db_size(c)
    print(f"build: {seconds:.2f} s; database {mb(after_build)}", flush=True)
    engine.dispose()

    f = send(url, edition.id, n, args.workers, tmp, args.send_timeout)
    label = "" if f["finished"] else " (PARTIAL: stopped at --send-timeout)"
    print(f"fan-out: every row recorded {f['fanout']:.1f} s after the start" if f["fanout"] is not None
          else "fan-out: not finished", flush=True)
    print(f"send with DKIM{label}: {f['sent']:,} messages in {f['elapsed']:.1f} s = "
          f"{f['sent'] / f['elapsed']:,.0f} messages/s; sink received {f['received']:,}"
          f"{' (exactly N)' if f['received'] == n else ''}", flush=True)
    per = max(f["sent"], 1)
    print(f"CPU a message: workers {f['worker_cpu'] / per * 1e6:,.0f} us, PostgreSQL (this database's backends, "
          f"sampled each second) {f['pg_cpu'] / per * 1e6:,.0f} us", flush=True)
    print(f"memory: workers' peak {f['worker_mb']:.0f} MB (largest process); PostgreSQL: largest backend "
          f"{f['pg_backend_mb']:.0f} MB, this database's backends together at most {f['pg_sum_mb']:.0f} MB "
          f"(RSS, shared buffers they touched included)", flush=True)
    with get_engine(url).connect() as c:
        after_send, deliveries = db_size(c), table_size(c, "deliveries")
        rows = c.scalar(text("SELECT count(*) FROM deliveries"))
    print(f"database: {mb(after_import)} after import, {mb(after_build)} after build, {mb(after_send)} after the "
          f"send; deliveries {mb(deliveries)} for {rows:,} rows = {deliveries / max(rows, 1):.0f} bytes a row "
          f"(indexes included); load average {os.getloadavg()[0]:.1f}", flush=True)
    get_engine(url).dispose()
    if not args.keep:
        with create_engine(PG.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                           isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
