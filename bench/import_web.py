"""Benchmark: importing a CSV through the web, measuring the web process's memory.

    .venv/bin/python bench/import_web.py [--rows 100000 1000000] [--bad-last-row]

Starts `newsletter web` (uvicorn, one process, on PostgreSQL) as a child, uploads a CSV of
each size to POST /api/v1/imports as a stream (the client never holds the file either),
polls the job to its end, and prints: the upload's and the job's time, the web process's
resident memory before (after a warm-up import), its peak while the file was uploaded and
imported (sampled every 20 ms, and the kernel's own high-water mark, VmHWM), and the
growth. With --bad-last-row, every file ends with one invalid row: the import must end
`invalid` with nothing imported (all or nothing at a million rows).

Prints figures; it passes or fails nothing. Uses a throwaway database on
NEWSLETTER_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.db import get_engine
from newsletter.publications.load import load_publications
from newsletter.schema import migrate
from newsletter.staff import accounts, api_tokens
from newsletter.staff.access import cli_actor
from newsletter.subscribers.models import Subscriber

ADMIN = os.environ.get("NEWSLETTER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONES = ["", "", "", "Europe/Paris", "America/New_York", "Asia/Tokyo"]
SECTIONS = ["", "", "superpowers", "superpowers;drone-war", "missile-defense;nuclear-weapons"]
SECRET = "bench-secret-key-" + "x" * 32


def write_csv(path: Path, rows: int, offset: int, bad_last_row: bool) -> int:
    rnd = random.Random(rows)
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,sections,timezone\n")
        for i in range(offset, offset + rows):
            out.write(f"reader{i:08d}@mail{i % 50}.example.org,Reader {i},{rnd.choice(SECTIONS)},"
                      f"{rnd.choice(ZONES)}\n")
        if bad_last_row:
            out.write("not-an-address,Bad Row,,\n")
    return path.stat().st_size


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, memory(self.pid)[0])
            time.sleep(0.02)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(url: str, var_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_VAR_DIR": str(var_dir),
           "NEWSLETTER_SECRET_KEY": SECRET, "NEWSLETTER_IMPORT_MAX_BYTES": str(1 << 30),
           "NEWSLETTER_WEB_BASE_URL": f"http://127.0.0.1:{port}", "NEWSLETTER_LOG_LEVEL": "WARNING"}
    web = subprocess.Popen([str(Path(sys.executable).with_name("newsletter")), "web", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return web
        except httpx.HTTPError:
            time.sleep(0.2)
    web.kill()
    raise SystemExit(f"the web server did not start: {web.stderr.read().decode()[-2000:]}")


def upload(http: httpx.Client, path: Path) -> dict:
    def pieces():
        with path.open("rb") as f:
            while piece := f.read(1 << 16):
                yield piece

    answer = http.post("/api/v1/imports", params={"publication": "spacewar-daily"}, content=pieces(),
                       headers={"Content-Type": "text/csv"}, timeout=600)
    answer.raise_for_status()
    return answer.json()


def wait(http: httpx.Client, job_id: int) -> dict:
    while True:
        job = http.get(f"/api/v1/imports/{job_id}").json()
        if job["status"] in ("done", "invalid", "failed"):
            return job
        time.sleep(0.2)


def one(http: httpx.Client, web: subprocess.Popen, folder: Path, rows: int, offset: int, bad: bool,
        engine) -> None:
    path = folder / f"import-{rows}.csv"
    size = write_csv(path, rows, offset, bad)
    with Session(engine) as s:
        before_count = s.scalar(select(func.count()).select_from(Subscriber))
    rss_before, _ = memory(web.pid)
    sampler = Sampler(web.pid)
    sampler.start()
    start = time.perf_counter()
    job = upload(http, path)
    uploaded = time.perf_counter() - start
    job = wait(http, job["id"])
    total = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    _, hwm = memory(web.pid)
    with Session(engine) as s:
        after_count = s.scalar(select(func.count()).select_from(Subscriber))
    path.unlink()
    peak = max(sampler.peak, hwm)
    print(f"{rows:>9,} rows ({size / 1e6:.0f} MB){' + 1 bad last row' if bad else ''}: job {job['status']}, "
          f"{job['added']:,} added, {after_count - before_count:,} new subscribers; upload {uploaded:.1f} s, "
          f"total {total:.1f} s ({rows / total:,.0f} rows/s); web RSS before {rss_before / 1024:.0f} MB, "
          f"peak {peak / 1024:.0f} MB (sampled {sampler.peak / 1024:.0f}, VmHWM {hwm / 1024:.0f}), "
          f"growth {(peak - rss_before) / 1024:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--bad-last-row", action="store_true")
    args = parser.parse_args()
    admin = create_engine(ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    name = f"nl_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    web = None
    try:
        migrate(url)
        engine = get_engine(url)
        with Session(engine) as s:
            load_publications(s, sample_file("publications.toml"))
            account = accounts.add(s, cli_actor(), SECRET, "bench@staff.example.org", "admin",
                                   "a bench password here").account
            _, token = api_tokens.create(s, cli_actor(), "bench", None, account.id)
            s.commit()
        with tempfile.TemporaryDirectory() as tmp:
            folder, port = Path(tmp), free_port()
            web = start_web(url, folder / "var", port)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                              timeout=60) as http:
                warm = folder / "warm.csv"
                write_csv(warm, 1000, 900_000_000, False)
                wait(http, upload(http, warm)["id"])  # code paths loaded, pools opened
                print(f"web process {web.pid}, load average {os.getloadavg()[0]:.1f}", flush=True)
                offset = 0
                for rows in args.rows:
                    one(http, web, folder, rows, offset, args.bad_last_row, engine)
                    offset += rows
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        get_engine(url).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
