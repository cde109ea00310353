"""Benchmark: the real delivery pipeline against the raw SMTP reference.

    .venv/bin/python bench/delivery.py [--subscribers 100000] [--workers 2]

Sets up N subscribers in PostgreSQL (127.0.0.1, a throwaway database), runs the real
pipeline (Celery workers, Redis broker, PostgreSQL, personal tokens, delivery records)
against a fast SMTP sink on loopback (Postfix's smtp-sink when installed, else
aiosmtpd), then sends N prebuilt messages over the same number of reused connections
as the raw reference. Prints messages a second for both, their ratio, the workers'
peak memory, and whether the sink received exactly N each time. Figures, not a test.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsletter.config import Settings  # noqa: E402
from newsletter.db import get_engine, utcnow  # noqa: E402
from newsletter.editions.build import build_edition, window_for  # noqa: E402
from newsletter.publications.load import load_publications  # noqa: E402
from newsletter.publications.schedule import local_date  # noqa: E402
from newsletter.schema import migrate  # noqa: E402
from newsletter.store.models import Article  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/12"


class Sink:
    """smtp-sink counting messages; started fresh for each phase."""

    def __init__(self, port: int):
        self.port = port
        self.out = tempfile.NamedTemporaryFile(prefix="sink-", delete=False)
        exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if os.path.exists(exe):
            self.kind = "smtp-sink"
            self.proc = subprocess.Popen([exe, "-c", "-u", "root", f"127.0.0.1:{port}", "1000"],
                                         stdout=self.out, stderr=subprocess.STDOUT)
        else:
            self.kind = "aiosmtpd"
            self.proc = subprocess.Popen([sys.executable, "-c", _AIOSMTPD_SINK, str(port), self.out.name])
        time.sleep(0.5)

    def count(self) -> int:
        data = Path(self.out.name).read_bytes().decode(errors="replace")
        found = re.findall(r"mesg=(\d+)", data)
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


_AIOSMTPD_SINK = """
import sys, time, asyncio
from aiosmtpd.controller import Controller
n = 0
class H:
    async def handle_DATA(self, server, session, envelope):
        global n; n += 1
        open(sys.argv[2], 'w').write(f'mesg={n}')
        return '250 OK'
c = Controller(H(), hostname='127.0.0.1', port=int(sys.argv[1])); c.start()
while True: time.sleep(1)
"""


def setup_database(name: str, n: int) -> str:
    admin = create_engine(PG.replace("postgresql://", "postgresql+psycopg://") + "/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG}/{name}"
    migrate(url)
    engine = get_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        pub = load_publications(s, ROOT / "config" / "publications.toml")[0]
        now = utcnow()
        day = local_date(pub.timezone, now)
        end = window_for(s, pub, day, now)[1]
        for i, section in enumerate(pub.ordered_sections()):
            for j in range(4):
                s.add(Article(url=f"https://www.spacewar.example.com/b/{i}-{j}.html",
                              headline=f"Benchmark headline {i}-{j} about missile defence and space",
                              teaser="A teaser of a couple of lines, as the site writes them, about what happened. "
                              * 2,
                              section_id=section.id, source="AFP", byline="AFP Staff Writers",
                              dateline="Paris (AFP)", published_at=end - timedelta(minutes=10 * (i * 4 + j + 1))))
        s.flush()
        s.execute(text("INSERT INTO subscribers (email, name, created_at) SELECT 'reader' || g || '@example.org', "
                       "'Reader ' || g, now() FROM generate_series(1, :n) g"), {"n": n})
        s.execute(text("INSERT INTO subscriptions (subscriber_id, publication_id, status, created_at, updated_at) "
                       "SELECT id, :p, 'active', now(), now() FROM subscribers"), {"p": pub.id})
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
        return url, edition.id


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the worker's main process and its children, the largest one."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pids = [pid] + [int(p) for p in children]
    best = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]))
        except FileNotFoundError:
            pass
    return best / 1024


def run_pipeline(url: str, edition_id: int, n: int, workers: int, port: int, tmp: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(NEWSLETTER_DATABASE_URL=url, NEWSLETTER_BROKER_URL=REDIS, NEWSLETTER_SECRET_KEY="bench",
               NEWSLETTER_DELIVERY_BACKEND="smtp", NEWSLETTER_SMTP_PORT=str(port),
               NEWSLETTER_VAR_DIR=str(tmp), NEWSLETTER_BATCH_SIZE="500")
    redis.Redis.from_url(REDIS).flushdb()
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker", "-l", "WARNING",
                               "-c", str(workers), "-Q", "newsletter", "--without-gossip", "--without-mingle",
                               "--without-heartbeat"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=open(tmp / "worker.log", "wb"), stderr=subprocess.STDOUT)
    from celery import Celery

    client = Celery(broker=REDIS)
    engine = get_engine(url)
    time.sleep(3)  # worker start-up is not part of the figure
    start = time.perf_counter()
    client.send_task("newsletter.drive", args=[edition_id], queue="newsletter")
    while True:
        with engine.connect() as c:
            status = c.execute(text("SELECT status FROM editions WHERE id = :e"), {"e": edition_id}).scalar()
        if status == "sent":
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    memory = peak_rss_mb(worker.pid)
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)
    return elapsed, memory


def _raw_sender(args):
    port, count, message = args
    conn = smtplib.SMTP("127.0.0.1", port)
    for i in range(count):
        conn.sendmail("newsletter@spacewar.example.com", [f"raw{i}@example.org"], message)
    conn.quit()


def run_raw(url: str, edition_id: int, n: int, connections: int, port: int) -> float:
    # One real message of this edition, prebuilt once, sent N times.
    from newsletter.delivery.compose import Composer, Recipient
    from newsletter.delivery.driver import load

    edition, pub = load(get_engine(url), edition_id)
    message = Composer(Settings(secret_key="bench"), edition, pub).compose(
        Recipient(1, "reader1@example.org", "Reader 1", None), utcnow()).data
    shares = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]
    start = time.perf_counter()
    with multiprocessing.Pool(connections) as pool:
        pool.map(_raw_sender, [(port, k, message) for k in shares])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n = args.subscribers
    tmp = Path(tempfile.mkdtemp(prefix="nl-delivery-bench-"))
    name = f"nl_bench_{os.getpid()}"
    print(f"setting up {n:,} subscribers in PostgreSQL ...", flush=True)
    url, edition_id = setup_database(name, n)

    sink = Sink(2600 + os.getpid() % 1000)
    elapsed, memory = run_pipeline(url, edition_id, n, args.workers, sink.port, tmp)
    time.sleep(0.5)
    pipeline_count = sink.count()
    sink.stop()

    sink = Sink(2600 + (os.getpid() + 1) % 1000)
    raw_elapsed = run_raw(url, edition_id, n, args.workers, sink.port)
    time.sleep(0.5)
    raw_count = sink.count()
    sink.stop()

    p_rate, r_rate = n / elapsed, n / raw_elapsed
    print(f"sink: {sink.kind}; {args.workers} worker processes = {args.workers} SMTP connections")
    print(f"pipeline:  {n:,} messages in {elapsed:.1f}s = {p_rate:,.0f} messages/s; "
          f"sink received {pipeline_count:,} ({'exactly N' if pipeline_count == n else 'NOT N'})")
    print(f"raw:       {n:,} messages in {raw_elapsed:.1f}s = {r_rate:,.0f} messages/s; "
          f"sink received {raw_count:,} ({'exactly N' if raw_count == n else 'NOT N'})")
    print(f"ratio:     pipeline / raw = {p_rate / r_rate:.2f} (target >= 0.5)")
    print(f"worker peak memory (largest process, VmHWM): {memory:.0f} MB")
    get_engine(url).dispose()
    admin = create_engine(PG.replace("postgresql://", "postgresql+psycopg://") + "/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
