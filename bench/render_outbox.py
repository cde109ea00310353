"""Benchmark: rendering one edition, composing one message, the message's size (and what
its HTML part is made of, and would weigh with a leaner inlining), and the outbox backend
writing N messages.

    .venv/bin/python bench/render_outbox.py [--subscribers 10000] [--click-stats]

--click-stats: the publication counts clicks (every headline's link through /r/, a
message token signed and spliced in per message: render/click_links.py).

Prints figures; it passes or fails nothing. Uses a throwaway SQLite database.
"""
from __future__ import annotations

import argparse
import email
import re
import resource
import shutil
import tempfile
import time
from collections import Counter
from email import policy
from pathlib import Path

from lxml import etree
from sqlalchemy.orm import Session

from newsletter.config import Settings, sample_file
from newsletter.db import utcnow
from newsletter.delivery.compose import Composer, Recipient
from newsletter.demo import sample_articles, sample_subscribers_csv
from newsletter.editions.build import build_edition, window_for
from newsletter.ingest.load import store_records
from newsletter.jobs import InlineDispatcher
from newsletter.links import Links
from newsletter.publications.load import load_publications
from newsletter.publications.schedule import local_date
from newsletter.render.edition import EditionRenderer
from newsletter.render.quoted_printable import qp_body
from newsletter.runtime import engine_for
from newsletter.subscribers.import_sql import import_csv
from newsletter.transport.backends import OutboxBackend


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_compose(composer: Composer, now, n: int = 5000) -> float:
    """Microseconds per message, as deliveries are composed (a delivery id: with the
    publication's VERP, an envelope token and List-Unsubscribe's mailto: address)."""
    t = time.perf_counter()
    for i in range(1, n + 1):
        composer.compose(Recipient(i, f"r{i}@example.org", "Reader Name", None, key=i, delivery_id=i), now)
    return (time.perf_counter() - t) / n * 1e6


TYPOGRAPHY = ("font-family", "font-size", "font-weight", "line-height", "letter-spacing", "text-decoration")


def shared_rules_in_style_block(markup: str, only_typography: bool) -> str:
    """What if: every style value used more than once becomes one class rule in the <style>
    block (all of it, or only the typography, leaving layout and colours inline). Measured
    here, not shipped: clients that drop <style> would lose what moved there."""
    tree = etree.fromstring(markup, etree.HTMLParser()).getroottree()
    parts = []
    for el in tree.getroot().iter(etree.Element):
        if el.get("style"):
            decls = [d for d in el.get("style").split(";") if d]
            move = [d for d in decls if not only_typography or d.split(":")[0] in TYPOGRAPHY]
            parts.append((el, [d for d in decls if d not in move], ";".join(move)))
    counts = Counter(move for _, _, move in parts if move)
    names = {move: f"s{i}" for i, (move, n) in enumerate(counts.most_common()) if n > 1}
    for el, keep, move in parts:
        if move in names:
            el.set("class", f"{el.get('class', '')} {names[move]}".strip())
            el.set("style", ";".join(keep)) if keep else el.attrib.pop("style")
    style = tree.getroot().find(".//style")
    style.text = "".join(f".{name}{{{move}}}" for move, name in names.items()) + (style.text or "")
    return etree.tostring(tree, method="html", encoding="unicode")


def qp_size(markup: str) -> int:
    return len(qp_body(markup))


def print_size(data: bytes) -> None:
    """The size of one message, and what its HTML part is made of."""
    msg = email.message_from_bytes(data, policy=policy.default)
    markup = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    styles = re.findall(r' style="[^"]*"', markup)
    classes = re.findall(r' class="[^"]*"', markup)
    size = len(markup.encode())
    print(f"message (.eml):             {len(data):,} bytes")
    print(f"HTML part, decoded:         {size:,} bytes; text part {len(text.encode()):,} bytes")
    print(f"  style attributes:         {len(styles)} ({len(set(styles))} distinct), "
          f"{sum(map(len, styles)):,} bytes = {sum(map(len, styles)) / size:.0%}")
    print(f"  class attributes:         {len(classes)}, {sum(map(len, classes)):,} bytes")
    print(f"  quoted-printable:         {qp_size(markup):,} bytes (all inline: what is sent)")
    for label, only in (("typography", True), ("every shared rule", False)):
        lean = shared_rules_in_style_block(markup, only)
        print(f"  what if {label + ' in <style>:':28} {len(lean.encode()):,} bytes decoded, "
              f"{qp_size(lean):,} quoted-printable")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--click-stats", action="store_true", help="links counted through /r/")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nl-bench-"))
    try:
        settings = Settings(var_dir=tmp, secret_key="bench", publications_file=sample_file("publications.toml"),
                            allow_http_links=True)
        engine = engine_for(settings)
        with Session(engine, expire_on_commit=False) as s:
            pub = load_publications(s, settings.publications_file)[0]
            pub.click_stats = args.click_stats
            now = utcnow()
            day = local_date(pub.timezone, now)
            store_records(s, sample_articles(window_for(s, pub, day, now)[1]))
            t = time.perf_counter()
            import_csv(s, pub, sample_subscribers_csv(args.subscribers, [x.slug for x in pub.ordered_sections()]))
            s.commit()
            import_s = time.perf_counter() - t
            edition, _ = build_edition(s, pub, day, now)
            s.commit()

        runs = 20
        view_url = Links.from_settings(settings).edition(edition.public_id)
        t = time.perf_counter()
        for _ in range(runs):
            EditionRenderer(edition, pub, settings.templates_dir, view_url).render(None)
        render_ms = (time.perf_counter() - t) / runs * 1000

        composer = Composer(settings, edition, pub)
        sample = composer.compose(Recipient(1, "r1@example.org", "Reader Name", None), now).data
        pub.verp = False
        plain = Composer(settings, edition, pub)
        pub.verp = True
        # Interleaved, the best of each: the least disturbed runs on a busy machine.
        timings = [(time_compose(composer, now), time_compose(plain, now)) for _ in range(3)]
        compose_us, plain_us = min(t[0] for t in timings), min(t[1] for t in timings)

        t = time.perf_counter()
        status, counts = InlineDispatcher(settings, OutboxBackend(tmp / "outbox")).run_edition(edition.id)
        elapsed = time.perf_counter() - t
        written = len(list((tmp / "outbox").glob("*.eml")))
        print(f"subscribers imported:       {args.subscribers} in {import_s:.2f}s "
              f"({args.subscribers / import_s:,.0f} rows/s)")
        print(f"render one edition:         {render_ms:.1f} ms (Jinja2 + premailer, once per section set)")
        print(f"compose one message:        {compose_us:.0f} us (tokens, headers, QP splice; with VERP: "
              f"{plain_us:.0f} us without, the envelope token and the mailto: address "
              f"{compose_us - plain_us:.0f} us)")
        print(f"outbox delivery:            {written} messages in {elapsed:.2f}s = "
              f"{written / elapsed:,.0f} messages/s ({status}, {dict(counts)})")
        print_size(sample)
        print(f"peak memory (max RSS):      {peak_mb():.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
