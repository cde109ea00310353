"""Benchmark: the real delivery pipeline against raw SMTP references.

    .venv/bin/python bench/delivery.py [--subscribers 100000] [--workers 2] [--redis URL] [--quick]

Sets up N subscribers in PostgreSQL (127.0.0.1, a throwaway database), runs the real
pipeline (Celery workers, Redis broker, PostgreSQL, personal tokens, delivery records)
against a fast SMTP sink on loopback (Postfix's smtp-sink when installed, else
aiosmtpd), then sends N prebuilt messages over the same number of reused connections
two ways, as raw references:

- smtplib: `sendmail` per message (the old reference; it pays smtplib's dot-stuffing
  regex, its address parsing and four round trips, as the pipeline once did);
- fast: the fastest plain sender we can write: the message stuffed once, every
  envelope built beforehand, MAIL, RCPT and DATA in one write (PIPELINING), the body
  in the next, waiting for the final reply before the next MAIL, as the pipeline must
  (it records each message as sent before the next goes). For scale it also prints
  what a sender that does not wait may do: the body and the next group in one write.

Prints messages a second for each, the pipeline's ratio to the fast reference, the
workers' peak memory and CPU per message, the message's size, and whether the sink
received exactly N each time. Figures, not a test.

The pipeline runs twice in the same run, on two copies of the database: with the
publication's DKIM signing off, then on (a fresh RSA-2048 key). It prints the rate
ratio and the workers' CPU time per message both ways: their difference is what
signing costs a message.

The ceiling (issue 22) is measured in the same run: the fast raw sender signing every
message with the pipeline's own signer, against the same sink: what this machine can
do with signed mail at all. The signed ratio is the pipeline with DKIM over it, twice:
by messages a second (true on a machine of its own), and by CPU a message, the
pipeline's workers + PostgreSQL's processes for its database + the sink against the
raw sender + the sink (true whenever CPU is the limit, whatever else shares the
machine; Redis's CPU is left out, its server being shared).

Each phase also prints how busy the whole machine was (/proc/stat): near 100%, that
phase was limited by CPU and only less CPU a message makes it faster; well below, by
waiting (round trips), which overlapping can hide.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsletter.config import Settings, sample_file  # noqa: E402
from newsletter.db import get_engine, utcnow  # noqa: E402
from newsletter.editions.build import build_edition, window_for  # noqa: E402
from newsletter.publications.load import load_publications  # noqa: E402
from newsletter.publications.schedule import local_date  # noqa: E402
from newsletter.schema import migrate  # noqa: E402
from newsletter.store.models import Article  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = os.environ.get("NEWSLETTER_BENCH_REDIS", "redis://127.0.0.1:6379/12")


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

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

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


def setup_database(name: str, n: int, pg: str = PG, admin_db: str = "test") -> str:
    admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://") + f"/{admin_db}",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"{pg}/{name}"
    migrate(url)
    engine = get_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        pub = load_publications(s, sample_file("publications.toml"))[0]
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
        s.execute(text("INSERT INTO subscribers (email, name, created_at, token_key) "
                       "SELECT 'reader' || g || '@example.org', 'Reader ' || g, now(), "
                       "floor(random() * 4611686018427387903)::bigint FROM generate_series(1, :n) g"), {"n": n})
        s.execute(text("INSERT INTO subscriptions (subscriber_id, publication_id, status, created_at, updated_at, "
                       "confirm_nonce) SELECT id, :p, 'active', now(), now(), 0 FROM subscribers"), {"p": pub.id})
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
        return url, edition.id


def _admin():
    return create_engine(PG.replace("postgresql://", "postgresql+psycopg://") + "/test", isolation_level="AUTOCOMMIT")


def copy_with_dkim(url: str, name: str, tmp: Path) -> str:
    """A copy of the database whose publication signs with a new RSA-2048 key."""
    get_engine(url).dispose()  # CREATE DATABASE ... TEMPLATE needs the source idle
    with _admin().connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"'))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    copy = f"{PG}/{name}"
    with get_engine(copy).begin() as c:
        c.execute(text("UPDATE publications SET dkim_domain = 'spacewar.example.com', dkim_selector = 'bench', "
                       "dkim_key_file = :f"), {"f": str(path)})
    return copy


def _tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(p) for p in children]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time of the process (and, with `children`, its own: a worker's pool)."""
    total = 0
    for p in _tree(pid) if children else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except FileNotFoundError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far (/proc/stat, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def busy_since(start: tuple[int, int]) -> float:
    """The share of the machine's CPU that was busy since `start` (machine_jiffies()):
    near 1, the run was limited by CPU; well below, by waiting."""
    busy, total = machine_jiffies()
    return (busy - start[0]) / max(total - start[1], 1)


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the worker's main process and its children, the largest one."""
    best = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]))
        except FileNotFoundError:
            pass
    return best / 1024


def worker_env(url: str, port: int, tmp: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(NEWSLETTER_DATABASE_URL=url, NEWSLETTER_BROKER_URL=redis_url, NEWSLETTER_SECRET_KEY="bench",
               NEWSLETTER_DELIVERY_BACKEND="smtp", NEWSLETTER_SMTP_PORT=str(port),
               NEWSLETTER_VAR_DIR=str(tmp), NEWSLETTER_BATCH_SIZE="500",
               NEWSLETTER_WEB_BASE_URL="https://news.example.com", **extra)
    return env


def pg_backends_cpu(url: str, exclude: int) -> float:
    """CPU seconds of the PostgreSQL server processes serving the bench's database (the
    workers' connections; not the bench's own, `exclude`)."""
    with _admin().connect() as c:
        pids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> :me"),
                         {"d": url.rsplit("/", 1)[1], "me": exclude}).scalars().all()
    return sum(cpu_seconds(pid, children=False) for pid in pids)


class PipelineRun(NamedTuple):
    elapsed: float  # seconds
    memory: float  # the workers' peak, MB
    cpu: float  # the workers' CPU seconds
    pg_cpu: float  # PostgreSQL's CPU seconds for this database
    busy: float  # the machine's busy share during the run (busy_since)


def run_pipeline(url: str, edition_id: int, n: int, workers: int, port: int, tmp: Path, redis_url: str,
                 **extra_env: str) -> PipelineRun:
    env = worker_env(url, port, tmp, redis_url, **extra_env)
    redis.Redis.from_url(redis_url).flushdb()
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "newsletter.workers", "worker", "-l", "WARNING",
                               "-c", str(workers), "-Q", "newsletter", "--without-gossip", "--without-mingle",
                               "--without-heartbeat"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=open(tmp / "worker.log", "wb"), stderr=subprocess.STDOUT)
    from celery import Celery

    client = Celery(broker=redis_url)
    engine = get_engine(url)
    time.sleep(3)  # worker start-up is not part of the figure
    poller = engine.connect()
    me = poller.execute(text("SELECT pg_backend_pid()")).scalar()
    poller.commit()
    cpu_start = cpu_seconds(worker.pid)
    machine_start = machine_jiffies()
    start = time.perf_counter()
    client.send_task("newsletter.drive", args=[edition_id], queue="newsletter")
    last, progress_at, counted_at = -1, time.monotonic(), 0.0
    while True:
        # The edition's status at every tick (one row); the count of sent rows, which scans
        # the edition, only every few seconds: the bench must not load the server it measures.
        status = poller.execute(text("SELECT status FROM editions WHERE id = :e"), {"e": edition_id}).scalar()
        if status == "sent":
            break
        if time.monotonic() - counted_at > 5:
            sent = poller.execute(text("SELECT count(*) FROM deliveries WHERE edition_id = :e AND status = 'sent'"),
                                  {"e": edition_id}).scalar()
            counted_at = time.monotonic()
            if sent != last:
                last, progress_at = sent, time.monotonic()
            elif time.monotonic() - progress_at > 60 or worker.poll() is not None:
                try:
                    os.killpg(worker.pid, signal.SIGKILL)
                except ProcessLookupError:  # the worker died of itself: its log says why
                    pass
                sys.exit(f"no progress for 60 s (edition {status}, {sent} sent): see {tmp / 'worker.log'}")
        poller.commit()
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    busy = busy_since(machine_start)
    cpu = cpu_seconds(worker.pid) - cpu_start
    pg_cpu = pg_backends_cpu(url, me)  # the workers' connections were opened by this run
    memory = peak_rss_mb(worker.pid)
    poller.close()
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)
    engine.dispose()
    return PipelineRun(elapsed, memory, cpu, pg_cpu, busy)


def _smtplib_sender(args):
    port, count, message = args
    conn = smtplib.SMTP("127.0.0.1", port)
    for i in range(count):
        conn.sendmail("newsletter@spacewar.example.com", [f"raw{i}@example.org"], message)
    conn.quit()


def _fast_sender(args):
    """Pre-stuffed bytes, envelopes built beforehand, PIPELINING; `overlap`: the body and
    the next group in one write (one round trip a message instead of two); `key_file`:
    each message signed (DKIM, RSA-2048, the pipeline's own signer) just before it goes."""
    port, count, message, overlap, key_file = (*args, None)[:5]
    body = message.replace(b"\n.", b"\n..")
    body = (b"." + body if body[:1] == b"." else body) + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"
    sign = _signer(key_file) if key_file else None
    groups = [f"MAIL FROM:<newsletter@spacewar.example.com> SIZE={len(message)}\r\n"
              f"RCPT TO:<raw{i}@example.org>\r\nDATA\r\n".encode() for i in range(count)]
    sock = socket.create_connection(("127.0.0.1", port))
    replies = sock.makefile("rb")

    def expect(*codes):
        for code in codes:
            line = replies.readline()
            while line[3:4] == b"-":
                line = replies.readline()
            if int(line[:3]) != code:
                raise RuntimeError(f"expected {code}, got {line!r}")

    expect(220)
    sock.sendall(b"EHLO bench.example.com\r\n")
    expect(250)
    if overlap:
        sock.sendall(groups[0])
        expect(250, 250, 354)
        for i in range(1, count + 1):
            sock.sendall(body + groups[i] if i < count else body)
            expect(250, 250, 250, 354) if i < count else expect(250)
    else:
        for group in groups:
            sock.sendall(group)
            expect(250, 250, 354)
            # A DKIM-Signature field never starts a line with a dot: the stuffed message
            # below it is stuffed as it was.
            sock.sendall(sign(message, int(time.time())) + body if sign else body)
            expect(250)
    sock.sendall(b"QUIT\r\n")
    expect(221)
    sock.close()


def _signer(key_file: str):
    """The pipeline's own signer (newsletter/dkim/sign.py): the DKIM-Signature field of a message."""
    from newsletter.dkim.sign import DkimSigner, load_private_key, split_fields

    signer = DkimSigner("spacewar.example.com", "bench", load_private_key(Path(key_file).read_bytes()))

    def sign(message: bytes, timestamp: int) -> bytes:
        at = message.find(b"\r\n\r\n")
        return signer.sign(signer.canonical(split_fields(message[:at + 2])), memoryview(message)[at + 4:],
                           timestamp)
    return sign


def signing_cost(message: bytes, key_file: str, count: int = 400) -> float:
    """Seconds of CPU one signature of this message costs, in this process."""
    sign = _signer(key_file)
    start = time.process_time()
    for _ in range(count):
        sign(message, 0)
    return (time.process_time() - start) / count


def reference_message(url: str, edition_id: int) -> bytes:
    """One real message of this edition, built once."""
    from newsletter.delivery.compose import Composer, Recipient
    from newsletter.delivery.driver import load

    edition, pub = load(get_engine(url), edition_id)
    settings = Settings(secret_key="bench", web_base_url="https://news.example.com")
    return Composer(settings, edition, pub).compose(Recipient(1, "reader1@example.org", "Reader 1", None, 1, 1),
                                                    utcnow()).data


def run_raw(sender, message: bytes, n: int, connections: int, port: int, *extra) -> tuple[float, float]:
    """(seconds, CPU seconds of the sending processes, the machine's busy share)."""
    shares = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_start = machine_jiffies()
    start = time.perf_counter()
    with multiprocessing.Pool(connections) as pool:
        pool.map(sender, [(port, k, message, *extra) for k in shares])
        pool.close()
        pool.join()
    elapsed = time.perf_counter() - start
    busy = busy_since(machine_start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), busy


def _raw_phase(port_offset: int, sender, message: bytes, n: int, connections: int, *extra):
    """(seconds, messages the sink got, CPU seconds of senders + sink, the machine's busy share)."""
    sink = Sink(2600 + (os.getpid() + port_offset) % 1000)
    try:
        sink_cpu = sink.cpu()
        elapsed, cpu, busy = run_raw(sender, message, n, connections, sink.port, *extra)
        time.sleep(0.5)
        count = sink.count()
        cpu += sink.cpu() - sink_cpu
    finally:
        sink.stop()
    return elapsed, count, cpu, busy


def _exactly(count: int, n: int) -> str:
    return f"sink received {count:,} ({'exactly N' if count == n else 'NOT N'})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default=REDIS, help="broker URL (a Redis DB of its own: it is flushed)")
    parser.add_argument("--quick", action="store_true", help="skip the smtplib and not-waiting references")
    args = parser.parse_args()
    n = args.subscribers
    tmp = Path(tempfile.mkdtemp(prefix="nl-delivery-bench-"))
    name = f"nl_bench_{os.getpid()}"
    load_before = os.getloadavg()
    print(f"setting up {n:,} subscribers in PostgreSQL ...", flush=True)
    url, edition_id = setup_database(name, n)

    dkim_url = copy_with_dkim(url, name + "_dkim", tmp)
    runs = {}
    for label, db in (("plain", url), ("dkim", dkim_url)):
        # Stopped whatever happens: a sink left behind keeps its port, and a later run whose
        # sink got the same port shared its messages with it (seen: 12,000 of 20,000).
        sink = Sink(2600 + (os.getpid() + len(runs) * 2) % 1000)
        try:
            sink_cpu = sink.cpu()
            run = run_pipeline(db, edition_id, n, args.workers, sink.port, tmp, args.redis)
            time.sleep(0.5)
            runs[label] = (*run, sink.cpu() - sink_cpu, sink.count())
        finally:
            sink.stop()

    message = reference_message(url, edition_id)
    key_file = str(tmp / "dkim.pem")
    raw_elapsed, raw_count, raw_cpu, raw_busy = _raw_phase(3, _fast_sender, message, n, args.workers, False)
    ceiling_elapsed, ceiling_count, ceiling_cpu, ceiling_busy = _raw_phase(5, _fast_sender, message, n,
                                                                           args.workers, False, key_file)
    sign_cost = signing_cost(message, key_file)
    if not args.quick:
        old_elapsed, old_count, _, _ = _raw_phase(1, _smtplib_sender, message, n, args.workers)
        overlap_elapsed, overlap_count, _, _ = _raw_phase(4, _fast_sender, message, n, args.workers, True)

    def us(seconds: float) -> str:
        return f"{seconds / n * 1e6:,.0f} us"

    print(f"sink: {sink.kind}; {args.workers} worker processes = {args.workers} SMTP connections; "
          f"message {len(message):,} bytes; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    rates = {}
    for label, (elapsed, memory, cpu, pg_cpu, busy, sink_cpu, count) in runs.items():
        rates[label] = n / elapsed
        what = "pipeline, DKIM (RSA-2048)" if label == "dkim" else "pipeline, unsigned"
        print(f"{what}: {n:,} messages in {elapsed:.1f}s = {rates[label]:,.0f} messages/s; {_exactly(count, n)}; "
              f"peak memory {memory:.0f} MB; CPU a message: workers {us(cpu)}, PostgreSQL {us(pg_cpu)}, "
              f"sink {us(sink_cpu)}, together {us(cpu + pg_cpu + sink_cpu)}; machine busy {busy:.0%}")
    r_rate, c_rate = n / raw_elapsed, n / ceiling_elapsed
    print(f"raw fast, unsigned: {n:,} messages in {raw_elapsed:.1f}s = {r_rate:,.0f} messages/s (pre-stuffed, "
          f"pipelined, final reply before the next MAIL); CPU a message (sender + sink) {us(raw_cpu)}; "
          f"{_exactly(raw_count, n)}; machine busy {raw_busy:.0%}")
    print(f"CEILING, signed: {n:,} messages in {ceiling_elapsed:.1f}s = {c_rate:,.0f} messages/s: the raw fast sender "
          f"signing each message (one signature: {sign_cost * 1e6:,.0f} us of CPU) + the sink; CPU a message "
          f"(sender + signing + sink) {us(ceiling_cpu)}; {_exactly(ceiling_count, n)}; machine busy {ceiling_busy:.0%}")
    if not args.quick:
        print(f"raw smtplib: {n / old_elapsed:,.0f} messages/s (sendmail per message, the old reference); "
              f"{_exactly(old_count, n)}")
        print(f"raw fast, not waiting: {n / overlap_elapsed:,.0f} messages/s (body and next group in one write: "
              f"what waiting for each final reply costs); {_exactly(overlap_count, n)}")
    d = runs["dkim"]
    print(f"RATIO signed:   pipeline with DKIM / ceiling = {rates['dkim'] / c_rate:.2f} (target >= 0.7); by CPU "
          f"a message (what the ratio is when CPU is the limit, whatever else runs on the machine): "
          f"{ceiling_cpu / (d[2] + d[3] + d[5]):.2f}")
    p = runs["plain"]
    print(f"ratio unsigned: pipeline / raw fast = {rates['plain'] / r_rate:.2f}; by CPU "
          f"{raw_cpu / (p[2] + p[3] + p[5]):.2f}")
    print(f"DKIM on / off: {rates['dkim'] / rates['plain']:.2f} (messages/s); signing costs the workers "
          f"{us(d[2] - p[2])} a message")
    get_engine(url).dispose()
    get_engine(dkim_url).dispose()
    with _admin().connect() as c:
        for db in (name, name + "_dkim"):
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
