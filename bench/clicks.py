"""Benchmark: how well counted links tell link scanners from readers, over HTTP against a
real server (uvicorn on loopback, a throwaway SQLite database).

    .venv/bin/python bench/clicks.py [--messages 600] [--seed 3]

Two editions of the sample publication with click_stats on. Edition A gets only the
readers' clicks, edition B only the scanners' requests, so the counts the server kept
(aggregates, as always) say exactly how each side was classified.

- Scanners: a quarter of the messages land behind a mail security gateway, which fetches
  every link of the message: Safe Links-like (GET, a browser's User-Agent, 2-30 s after
  the send: 40%), link checkers (HEAD, 1-20 s: 15%), gateways that name themselves in
  the User-Agent (1-60 s: 25%), prefetches (Sec-Purpose: prefetch, any time: 5%) and
  delayed re-scans that look like a browser (2-15 minutes: 15%).
- Readers: a fifth of the messages are read and one or two links clicked, after a delay
  drawn from a log-normal distribution (median 45 minutes; a few in the first minute).

The delay is given to the server the way a real one is: the message part of each link
carries the send time (render/click_links.py), set in the past by that delay.
Prints figures; it passes or fails nothing. Stops by itself.
"""
from __future__ import annotations

import argparse
import math
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.config import Settings, sample_file
from newsletter.db import utcnow
from newsletter.demo import sample_articles
from newsletter.editions.build import build_edition, window_for
from newsletter.editions.models import Edition, EditionStatus
from newsletter.ingest.load import store_records
from newsletter.publications.load import load_publications
from newsletter.publications.schedule import local_date
from newsletter.render.click_links import stamp_of
from newsletter.runtime import engine_for
from newsletter.tracking.click_models import ClickCount
from newsletter.tracking.tokens import Tokens
from newsletter.web.app import create_app
from newsletter.web.server import config as server_config

BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
GATEWAYS = [  # (share, name, method, headers, delay range in seconds)
    (0.40, "safe-links-like GET", "GET", {"User-Agent": BROWSER}, (2, 30)),
    (0.15, "HEAD link checker", "HEAD", {"User-Agent": BROWSER}, (1, 20)),
    (0.25, "gateway User-Agent", "GET", {"User-Agent": "Mozilla/5.0 (compatible; Mimecast URL Protect)"}, (1, 60)),
    (0.05, "prefetch", "GET", {"User-Agent": BROWSER, "Sec-Purpose": "prefetch"}, (1, 3600)),
    (0.15, "delayed re-scan", "GET", {"User-Agent": BROWSER}, (120, 900)),
]


def setup(tmp: Path):
    settings = Settings(var_dir=tmp, secret_key="bench", publications_file=sample_file("publications.toml"),
                        allow_http_links=True)
    with Session(engine_for(settings), expire_on_commit=False) as s:
        pub = load_publications(s, settings.publications_file)[0]
        pub.click_stats = True
        now = utcnow()
        day = local_date(pub.timezone, now)
        store_records(s, sample_articles(window_for(s, pub, day, now)[1]))
        a, _ = build_edition(s, pub, day, now)
        b = Edition(publication_id=pub.id, date=day - timedelta(days=1), status=EditionStatus.SENT,
                    window_start=a.window_start, window_end=a.window_end, started_at=now, finished_at=now)
        b.items = [type(i)(**{c: getattr(i, c) for c in ("position", "section_slug", "section_name", "url",
                                                          "headline", "published_at")}) for i in a.items]
        a.status, a.started_at, a.finished_at = EditionStatus.SENT, now, now
        s.add(b)
        s.commit()
        return settings, a.id, b.id, [i.position for i in a.items]


def serve(settings) -> tuple[uvicorn.Server, str]:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="nl-bench-"))
    try:
        settings, readers_edition, scanners_edition, positions = setup(tmp)
        tokens = Tokens(settings.signing_key())
        server, url = serve(settings)
        sent = {"reader": 0, "scanner": 0}
        kinds = Counter()
        early_readers = 0
        started = time.perf_counter()
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(args.messages):
                if rng.random() < 0.25:  # behind a gateway: every link, one way
                    share, name, method, headers, (lo, hi) = rng.choices(GATEWAYS, [g[0] for g in GATEWAYS])[0]
                    delay = rng.uniform(lo, hi)
                    part = tokens.click_message(scanners_edition, stamp_of(utcnow() - timedelta(seconds=delay)))
                    for position in positions:
                        link = tokens.click(scanners_edition, position)
                        http.request(method, f"/r/{link}/{part}", headers=headers)
                        sent["scanner"] += 1
                        kinds[name] += 1
                if rng.random() < 0.2:  # read, and one or two links clicked
                    for position in rng.sample(positions, rng.choice((1, 1, 2))):
                        delay = math.exp(rng.gauss(math.log(2700), 1.5))
                        early_readers += delay < settings.click_scanner_seconds
                        part = tokens.click_message(readers_edition, stamp_of(utcnow() - timedelta(seconds=delay)))
                        http.get(f"/r/{tokens.click(readers_edition, position)}/{part}",
                                 headers={"User-Agent": BROWSER})
                        sent["reader"] += 1
        elapsed = time.perf_counter() - started
        server.should_exit = True
        with Session(engine_for(settings)) as s:
            counted = {(e, k): n for e, k, n in s.execute(
                select(ClickCount.edition_id, ClickCount.kind, func.sum(ClickCount.count))
                .group_by(ClickCount.edition_id, ClickCount.kind))}
        requests = sent["reader"] + sent["scanner"]
        print(f"{args.messages} messages, {requests:,} requests in {elapsed:.1f}s ({requests / elapsed:,.0f}/s) "
              f"over HTTP; early window {settings.click_scanner_seconds}s")
        print(f"scanner requests: {sent['scanner']:,} ({', '.join(f'{k} {n}' for k, n in kinds.items())})")
        caught = {k: n for (e, k), n in counted.items() if e == scanners_edition}
        missed = caught.pop("reader", 0)
        print(f"  counted as scanner: {sum(caught.values()):,} "
              f"({sum(caught.values()) / max(1, sent['scanner']):.1%}; by rule: "
              f"{', '.join(f'{k} {n}' for k, n in sorted(caught.items()))})")
        print(f"  counted as readers (missed): {missed:,} ({missed / max(1, sent['scanner']):.1%})")
        read = {k: n for (e, k), n in counted.items() if e == readers_edition}
        print(f"reader clicks: {sent['reader']:,}; counted as readers {read.get('reader', 0):,}, "
              f"as scanners {sum(n for k, n in read.items() if k != 'reader'):,} "
              f"(clicked within the early window: {early_readers})")
        shown = read.get("reader", 0) + missed
        print(f"reader clicks the figures would show: {shown:,} for {sent['reader']:,} real "
              f"({shown / max(1, sent['reader']):.2f}x); counting every request: "
              f"{requests / max(1, sent['reader']):.1f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
