"""Benchmark: what faults cost in time (issue 17). Figures, not a test.

    .venv/bin/python bench/faults.py restart [--subscribers 20000] [--workers 2] [--at 0.3] [--down 5]
    .venv/bin/python bench/faults.py marks [--subscribers 20000] [--rounds 3]

restart: a PostgreSQL cluster of its own (initdb, on a free port: the machine's shared
server is never touched), Redis (a DB of its own: flushed), two worker processes, beat
(its sweeper on the code's default interval) and an aiosmtpd relay on loopback that
counts each recipient. When `--at` of the edition is sent, PostgreSQL is restarted:
stopped (pg_ctl stop -m fast, as an operator does), left down `--down` seconds, started
again. Prints the sending rate before, during and after (from what the relay accepted),
when the last second below half the earlier rate was over, how many seconds of sending
the restart cost (over the two minutes after it, at the rate before), a timeline; then
duplicates and readers missing (both must be 0).

marks: the same pipeline (the machine's PostgreSQL, smtp-sink as the relay) sent with
the sent marks committed asynchronously (synchronous_commit off, the default) and with
NEWSLETTER_SYNCHRONOUS_MARKS=true, alternately, `--rounds` times: messages/s both ways.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery import REDIS, Sink, run_pipeline, setup_database, worker_env  # noqa: E402

from newsletter.db import get_engine  # noqa: E402
from tests.integration.servers import PrivatePostgres, SMTPServer  # noqa: E402


def restart(args) -> None:
    n = args.subscribers
    pg = PrivatePostgres()
    pg.start()
    relay = SMTPServer()
    relay.start()
    tmp = Path(tempfile.mkdtemp(prefix="nl-faults-bench-"))
    worker = beat = None
    try:
        print(f"setting up {n:,} subscribers in a PostgreSQL cluster of its own (port {pg.port}) ...", flush=True)
        url, edition_id = setup_database("faults_bench", n, pg=pg.url, admin_db="postgres")
        redis.Redis.from_url(args.redis).flushdb()
        env = worker_env(url, relay.port, tmp, args.redis)
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "newsletter.workers", "worker", "-l", "INFO",
                                   "-c", str(args.workers), "-Q", "newsletter", "--without-gossip",
                                   "--without-mingle", "--without-heartbeat"], cwd=ROOT, env=env,
                                  start_new_session=True, stdout=open(tmp / "worker.log", "wb"),
                                  stderr=subprocess.STDOUT)
        beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "newsletter.workers", "beat", "-l", "WARNING",
                                 "-s", str(tmp / "beat-schedule")], cwd=ROOT, env=env, start_new_session=True,
                                stdout=open(tmp / "beat.log", "wb"), stderr=subprocess.STDOUT)
        from celery import Celery

        client = Celery(broker=args.redis)
        time.sleep(3)  # worker start-up is not part of the figure
        samples: list[tuple[float, int]] = []
        start = time.monotonic()
        client.send_task("newsletter.drive", args=[edition_id], queue="newsletter")
        restarted_at = restart_took = None
        last_progress, last_total = time.monotonic(), 0
        while True:
            total = relay.handler.total()
            now = time.monotonic()
            samples.append((now - start, total))
            if total != last_total:
                last_progress, last_total = now, total
            if restarted_at is None and total >= args.at * n:
                restarted_at = now - start
                began = time.monotonic()
                pg.stop()
                time.sleep(args.down)  # the server is away this long (an upgrade, a failover)
                pg.start()
                restart_took = time.monotonic() - began
                print(f"PostgreSQL restarted at {restarted_at:.1f}s, {total:,} sent (stopped, down {args.down:g}s, "
                      f"started: {restart_took:.1f}s in all)", flush=True)
            if total >= n and _edition_sent(url, edition_id):
                break
            if now - last_progress > args.patience or worker.poll() is not None:
                _report(samples, restarted_at, n)
                sys.exit(f"no progress for {args.patience:.0f} s ({total:,} sent): see {tmp / 'worker.log'}")
            time.sleep(0.25)
        _report(samples, restarted_at, n)
        received = relay.handler.received
        duplicates = sum(c - 1 for c in received.values() if c > 1)
        missing = n - len([r for r in received if r.startswith("reader")])
        log = (tmp / "worker.log").read_text(errors="replace")
        rescued = sum(int(m) for m in re.findall(r"run's (\d+) unmarked message", log))
        print(f"duplicates {duplicates}, missing {missing}; batches interrupted and retried: "
              f"{log.count('interrupted (')}; messages the relay took whose mark a retry wrote: {rescued}")
        shutil.rmtree(tmp, ignore_errors=True)  # kept only when something went wrong (its logs)
    finally:
        for proc in (worker, beat):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
        relay.stop()
        get_engine(pg.url + "/faults_bench").dispose()
        pg.destroy()


def _edition_sent(url: str, edition_id: int) -> bool:
    try:
        with get_engine(url).connect() as c:
            return c.execute(text("SELECT status FROM editions WHERE id = :e"), {"e": edition_id}).scalar() == "sent"
    except Exception:  # noqa: BLE001 - the database is restarting
        return False


def _report(samples: list[tuple[float, int]], restarted_at: float | None, n: int) -> None:
    """Rates before the restart, from it until back at full speed, and after; the sending
    it cost; a timeline in five-second steps."""
    def rate(t0: float, t1: float) -> float:
        a = max((s for s in samples if s[0] <= t0), default=samples[0])
        b = max((s for s in samples if s[0] <= t1), default=samples[-1])
        return (b[1] - a[1]) / max(b[0] - a[0], 1e-9)

    end = samples[-1][0]
    first = next(t for t, total in samples if total > 0)
    if restarted_at is None:
        print(f"{n:,} messages in {end:.1f}s, no restart happened")
        return
    before = rate(max(first, restarted_at - 10), restarted_at)
    # Back at full speed: when the last second below half the earlier rate (within five
    # minutes of the restart) was over.
    slow = [t for t in _steps(restarted_at, min(end - 1, restarted_at + 300), 0.5) if rate(t, t + 1) < before / 2]
    back = slow[-1] + 1 if slow else restarted_at
    print(f"before: {before:,.0f} messages/s (the 10 s before the restart)")
    print(f"during: {rate(restarted_at, back) if back > restarted_at else 0:,.0f} messages/s from the restart "
          f"until back at full speed, {back - restarted_at:.1f}s after the restart began")
    print(f"after:  {rate(back, min(back + 10, end)):,.0f} messages/s (the next 10 s)")
    span = min(120.0, end - restarted_at)
    lost = span - rate(restarted_at, restarted_at + span) * span / before
    print(f"sending lost to the restart: {lost:.1f}s at the earlier rate over the {span:.0f}s after it "
          f"(negative: noise of a busy machine); {n:,} messages in {end - first:.1f}s in all")
    steps = [f"{rate(t, t + 5):,.0f}" for t in _steps(max(first, restarted_at - 10), min(end - 5, restarted_at + 60),
                                                       5.0)]
    print(f"messages/s in 5 s steps from 10 s before the restart: {' '.join(steps)}")


def _steps(t0: float, t1: float, step: float):
    t = t0
    while t < t1:
        yield t
        t += step


def marks(args) -> None:
    n, tmp = args.subscribers, Path(tempfile.mkdtemp(prefix="nl-marks-bench-"))
    name = f"nl_bench_marks_{os.getpid()}"
    print(f"setting up {n:,} subscribers in PostgreSQL ...", flush=True)
    url, edition_id = setup_database(name, n)
    template = url.rsplit("/", 1)[1]
    engine = get_engine(url)
    engine.dispose()
    from delivery import _admin

    rates: dict[str, list[float]] = {"asynchronous": [], "synchronous": []}
    for round_ in range(args.rounds):
        for mode in ("asynchronous", "synchronous"):
            copy = f"{name}_{round_}_{mode[:4]}"
            with _admin().connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
                c.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"'))
            copy_url = url.rsplit("/", 1)[0] + "/" + copy
            sink = Sink(2600 + (os.getpid() + round_ * 2 + (mode == "synchronous")) % 1000)
            run = run_pipeline(copy_url, edition_id, n, args.workers, sink.port, tmp, args.redis,
                               NEWSLETTER_SYNCHRONOUS_MARKS=str(mode == "synchronous").lower())
            elapsed, cpu = run.elapsed, run.cpu
            time.sleep(0.5)
            count = sink.count()
            sink.stop()
            get_engine(copy_url).dispose()
            with _admin().connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            rates[mode].append(n / elapsed)
            print(f"round {round_ + 1}, {mode} marks: {n / elapsed:,.0f} messages/s "
                  f"(worker CPU {cpu / n * 1e6:,.0f} us a message; sink received {count:,})", flush=True)
    a, s = statistics.median(rates["asynchronous"]), statistics.median(rates["synchronous"])
    print(f"median: asynchronous {a:,.0f} messages/s, synchronous {s:,.0f} messages/s "
          f"(synchronous / asynchronous = {s / a:.2f}); load average {os.getloadavg()[0]:.2f}")
    with _admin().connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("restart", help="PostgreSQL restarted mid-send: the rate before, during, after")
    r.add_argument("--subscribers", type=int, default=20_000)
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--at", type=float, default=0.3, help="restart when this share of the edition is sent")
    r.add_argument("--down", type=float, default=5, help="seconds between stopping PostgreSQL and starting it")
    r.add_argument("--patience", type=float, default=120, help="give up after this long without progress (s)")
    r.add_argument("--redis", default=REDIS, help="broker URL (a Redis DB of its own: it is flushed)")
    m = sub.add_parser("marks", help="sent marks committed asynchronously vs NEWSLETTER_SYNCHRONOUS_MARKS=true")
    m.add_argument("--subscribers", type=int, default=20_000)
    m.add_argument("--workers", type=int, default=2)
    m.add_argument("--rounds", type=int, default=3)
    m.add_argument("--redis", default=REDIS, help="broker URL (a Redis DB of its own: it is flushed)")
    args = parser.parse_args()
    restart(args) if args.what == "restart" else marks(args)


if __name__ == "__main__":
    main()
