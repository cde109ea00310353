"""Benchmark: the readers' own order of sections, on 100,000 simulated readers of the
sample publication (5 sections, today's edition from the sample articles).

    .venv/bin/python bench/reading_order.py [--readers 100000] [--seed 7]

Three runs over the same readers, each with a fresh Composer (renders are cached per
Composer, as in a send):

1. without: every reader in the publication's order (a quarter choose some sections,
   as the demo's readers do): what the service did before;
2. own order: as 1, and a share of readers (--reorder, 20%) put sections in their own
   order: most move one or two favourites to the top (the favourites drawn by section
   popularity), one in ten shuffle everything;
3. most clicked first: as 2, and a share (--consent, 30%) agreed to a click history and
   asked for their most clicked sections first; each has interests over the sections
   and 0 to 20 clicks in the history drawn from them.

For each run: the distinct renderings (Jinja2 + premailer runs: one per ordered section
set and reader kind, named or not), the time spent choosing and rendering variants for
every reader, and for run 3 how often "most clicked first" changes a reader's order.
Prints figures; it passes or fails nothing. Uses a throwaway SQLite database.
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.orm import Session

from newsletter.config import Settings, sample_file
from newsletter.db import utcnow
from newsletter.delivery.compose import Composer, Recipient
from newsletter.demo import sample_articles
from newsletter.editions.build import build_edition, window_for
from newsletter.ingest.load import store_records
from newsletter.publications.load import load_publications
from newsletter.publications.schedule import local_date
from newsletter.render.edition import reading_order, variant_key
from newsletter.runtime import engine_for

POPULARITY = [0.35, 0.25, 0.2, 0.12, 0.08]  # how often each section (publication order) is a favourite


def readers(n: int, sections: list[str], rng: random.Random, reorder: float, consent: float):
    """(sections chosen or None, own order or None, click order or None) per reader."""
    out = []
    for i in range(n):
        chosen = None
        if rng.random() < 0.25:  # a quarter choose, as the demo's subscribers do
            chosen = tuple(s for s in sections if rng.random() < 0.6) or (rng.choice(sections),)
        own = None
        if reorder and rng.random() < reorder:
            if rng.random() < 0.1:
                own = tuple(rng.sample(sections, len(sections)))
            else:
                favourites = []
                for _ in range(1 if rng.random() < 0.67 else 2):
                    pick = rng.choices(sections, POPULARITY)[0]
                    if pick not in favourites:
                        favourites.append(pick)
                own = tuple(favourites) + tuple(s for s in sections if s not in favourites)
        clicks = None
        if consent and rng.random() < consent:
            interest = [rng.random() ** 2 for _ in sections]
            history = Counter(rng.choices(sections, interest, k=rng.randint(0, 20)))
            base = list(own or sections)
            clicks = tuple(sorted(history, key=lambda s: (-history[s], base.index(s)))) or None
        out.append((chosen, own, clicks, i % 3 != 0))  # two in three readers have a name
    return out


def run(settings, edition, pub, people, most_clicked_first: bool) -> dict:
    pub.most_clicked_first = most_clicked_first
    composer = Composer(settings, edition, pub)
    changed = consenting = 0
    started = time.perf_counter()
    for i, (chosen, own, clicks, named) in enumerate(people):
        recipient = Recipient(i, f"r{i}@example.org", "Reader" if named else "", chosen, order=own,
                              click_order=clicks if most_clicked_first else None)
        order = composer.order_for(recipient)
        composer.variant(chosen, named, order)
        if most_clicked_first and clicks:
            consenting += 1
            with_clicks = variant_key(edition, reading_order(edition, chosen, order))
            without = variant_key(edition, reading_order(edition, chosen, own))
            changed += with_clicks != without
    elapsed = time.perf_counter() - started
    return {"renders": composer.renderer.renders, "seconds": elapsed, "changed": changed, "consenting": consenting}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--reorder", type=float, default=0.2)
    parser.add_argument("--consent", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nl-bench-"))
    try:
        settings = Settings(var_dir=tmp, secret_key="bench", publications_file=sample_file("publications.toml"),
                            allow_http_links=True)
        with Session(engine_for(settings), expire_on_commit=False) as s:
            pub = load_publications(s, settings.publications_file)[0]
            now = utcnow()
            day = local_date(pub.timezone, now)
            store_records(s, sample_articles(window_for(s, pub, day, now)[1]))
            edition, _ = build_edition(s, pub, day, now)
            s.commit()
            sections = [x.slug for x in pub.ordered_sections()]
            in_edition = len({i.section_slug for i in edition.items})
        print(f"readers: {args.readers:,}; sections: {len(sections)} ({in_edition} in today's edition, "
              f"{len(edition.items)} headlines); seed {args.seed}")
        scenarios = [
            ("without their own order", 0.0, 0.0, False),
            (f"own order ({args.reorder:.0%} reorder)", args.reorder, 0.0, False),
            (f"+ most clicked first ({args.consent:.0%} agreed)", args.reorder, args.consent, True),
        ]
        base = None
        for label, reorder, consent, clicks in scenarios:
            people = readers(args.readers, sections, random.Random(args.seed), reorder, consent)
            r = run(settings, edition, pub, people, clicks)
            base = base or r
            line = (f"{label:42} {r['renders']:4} distinct renders, {r['seconds']:6.2f} s for every reader "
                    f"({r['seconds'] / base['seconds']:.1f}x), {r['seconds'] / r['renders'] * 1000:.1f} ms a render")
            print(line)
            if clicks:
                print(f"{'':42} most clicked first changed the order of {r['changed']:,} of {r['consenting']:,} "
                      f"readers who asked ({r['changed'] / max(1, r['consenting']):.0%}; "
                      f"{r['changed'] / args.readers:.1%} of all readers)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
