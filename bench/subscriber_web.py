"""Benchmark: the subscriber pages under a burst while an edition is being sent (issue 17).

    .venv/bin/python bench/subscriber_web.py [--subscribers 20000] [--levels 50 200] [--bursts 4]

Sets up N subscribers in PostgreSQL (127.0.0.1, a throwaway database), starts two worker
processes sending an edition to smtp-sink at a steady rate (so the send lasts through the
measurement), and `newsletter web` (one uvicorn process). During the send it fires bursts
of concurrent requests at two handlers that touch the database and Redis: RFC 8058
one-click unsubscribe (POST /u/TOKEN, each a different subscriber) and the JSON sign-up
(POST /api/subscribe). Prints p50 and p95 latency per handler and concurrency level,
and the same handlers alone (one request at a time) for scale. Figures, not a test: run
it in a checkout of the commit before and after a change, one right after the other.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery import REDIS, Sink, _admin, setup_database  # noqa: E402

from newsletter.db import get_engine  # noqa: E402
from newsletter.tracking.tokens import Tokens  # noqa: E402

SECRET = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


async def burst(client: httpx.AsyncClient, requests: list[tuple[str, dict]]) -> list[float]:
    async def one(path: str, kwargs: dict) -> float:
        started = time.perf_counter()
        answer = await client.post(path, **kwargs)
        if answer.status_code >= 500 or answer.status_code == 429:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:200]}")
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(p, k) for p, k in requests)))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


async def measure(base: str, levels: list[int], bursts: int, tokens: list[str], pub_slug: str) -> list[str]:
    lines, used = [], 0
    # Idle connections dropped after a second: uvicorn closes them after five, and a request
    # sent on one it is closing fails (not a figure of the handlers).
    limits = httpx.Limits(max_connections=max(levels) + 10, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        for level in [1, *levels]:
            times: dict[str, list[float]] = {"one-click": [], "sign-up": []}
            rounds = bursts if level > 1 else 20
            for r in range(rounds):
                clicks = [(f"/u/{t}", {"data": {"List-Unsubscribe": "One-Click"}})
                          for t in tokens[used:used + level]]
                used += level
                times["one-click"] += await burst(client, clicks)
                signups = [("/api/subscribe", {"json": {"publication": pub_slug,
                                                        "email": f"new-{level}-{r}-{i}@example.net"}})
                           for i in range(level)]
                times["sign-up"] += await burst(client, signups)
            for name, values in times.items():
                lines.append(f"{name:9} {'alone' if level == 1 else f'{level} concurrent':>14}: "
                             f"p50 {pct(values, 50):7.1f} ms, p95 {pct(values, 95):7.1f} ms ({len(values)} requests)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--bursts", type=int, default=4)
    parser.add_argument("--rate", type=int, default=300, help="messages/s of the send running meanwhile")
    parser.add_argument("--redis", default=REDIS, help="broker URL (a Redis DB of its own: it is flushed)")
    args = parser.parse_args()
    n, tmp = args.subscribers, Path(tempfile.mkdtemp(prefix="nl-web-bench-"))
    name = f"nl_bench_web_{os.getpid()}"
    print(f"setting up {n:,} subscribers in PostgreSQL ...", flush=True)
    url, edition_id = setup_database(name, n)
    with get_engine(url).connect() as c:
        pub_id, slug = c.execute(text("SELECT id, slug FROM publications ORDER BY id LIMIT 1")).one()
        people = c.execute(text("SELECT id, token_key FROM subscribers ORDER BY id DESC")).all()
    t = Tokens(SECRET)
    tokens = [t.unsubscribe(sid, key, pub_id, edition_id) for sid, key in people]  # the last ones: sent last
    redis.Redis.from_url(args.redis).flushdb()
    sink = Sink(2600 + os.getpid() % 1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(NEWSLETTER_DATABASE_URL=url, NEWSLETTER_BROKER_URL=args.redis, NEWSLETTER_SECRET_KEY=SECRET,
               NEWSLETTER_DELIVERY_BACKEND="smtp", NEWSLETTER_SMTP_PORT=str(sink.port), NEWSLETTER_VAR_DIR=str(tmp),
               NEWSLETTER_WEB_BASE_URL="https://news.example.com", NEWSLETTER_RATE_LIMIT_PER_SECOND=str(args.rate),
               NEWSLETTER_SIGNUP_LIMIT_PER_CLIENT="1000000", NEWSLETTER_SIGNUP_LIMIT_PER_ADDRESS="1000000",
               NEWSLETTER_LOG_LEVEL="WARNING")
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "newsletter.cli", "web", "--port", str(port)], cwd=ROOT, env=env,
                           start_new_session=True, stdout=open(tmp / "web.log", "wb"), stderr=subprocess.STDOUT)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "newsletter.workers", "worker", "-l", "WARNING",
                               "-c", "2",
                               "-Q", "newsletter", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=ROOT, env=env, start_new_session=True, stdout=open(tmp / "worker.log", "wb"),
                              stderr=subprocess.STDOUT)
    try:
        _wait_port(port)
        from celery import Celery

        Celery(broker=args.redis).send_task("newsletter.drive", args=[edition_id], queue="newsletter")
        while sink.count() < 500:  # the send is under way
            time.sleep(0.2)
        load = os.getloadavg()[0]
        lines = asyncio.run(measure(f"http://127.0.0.1:{port}", args.levels, args.bursts, tokens, slug))
        sent = sink.count()
        with get_engine(url).connect() as c:
            status = c.execute(text("SELECT status FROM editions WHERE id = :e"), {"e": edition_id}).scalar()
        print(f"during a send ({status} at the end, {sent:,} of {n:,} sent, {args.rate}/s); load average {load:.2f}")
        for line in lines:
            print(line)
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
        sink.stop()
        get_engine(url).dispose()
        with _admin().connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
