"""Benchmark: our bounce reader on real reports, against the verdicts of other projects.

    .venv/bin/python bench/bounces.py [--part all|dev|held-out] [--list wrong|all] [--source NAME]

Reads every report of tests/data/bounces/real/ (sisimai's, Mail::DeliveryStatus::
BounceParser's and flufl.bounce's test corpora: see its README.md) with
newsletter/bounces/parse.py, and compares what we would do with each recipient to the
verdict the report's source gives it (tests/real_bounces.py maps their words to our
classes). A recipient is matched to the source's by its position in the report (by
address for flufl.bounce, which names them).

Prints, per verdict class: the recipients, what we read them as (suppressed at once:
hard or complaint; suppressed at the second report: uncertain; soft, policy, nothing:
delayed or not a failure; unreadable), then the two figures that matter, for the whole
corpus, the part the reader was developed on, and the part held out from it:

- wrongful suppression: recipients the source says are not about a missing address
  (refused, full, temporary, not a bounce) that we would suppress at once (target: 1% at
  most); recipients we found beyond the source's in such plain-text reports (not a DSN's
  recipient blocks, which are there whether the source lists them or not) and suppressed
  count too;
- missed hard bounces: recipients the source says are gone that we would not suppress at
  once or at the second report (target: 10% at most);
- crashes: reports on which the reader raised anything but ReportUnreadable (target: 0).

Figures, not a test: tests/unit/bounces/test_real_corpus.py pins samples of each class.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import real_bounces as corpus  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description="our bounce reader against real reports' verdicts")
    p.add_argument("--part", choices=["all", "dev", "held-out"], default="all", help="which part to tabulate")
    p.add_argument("--list", choices=["wrong", "all"], default="", help="list recipients of the part")
    p.add_argument("--source", default="", help="only this source (sisimai, bounceparser, flufl)")
    args = p.parse_args()

    findings = [f for f in corpus.findings() if not args.source or f.source == args.source]
    reads = {path: corpus.read(path) for path in dict.fromkeys(f.path for f in findings)}
    rows = [corpus.reading(f, reads[f.path]) for f in findings]

    def part(name: str) -> list[corpus.Row]:
        return [r for r in rows if name == "all" or (name == "held-out") == r.finding.held_out]

    shown = part(args.part)
    systems = len({(r.finding.source, r.finding.system) for r in shown})
    print(f"{len({r.finding.path for r in shown})} reports, {len(shown)} recipients, from {systems} mail systems; "
          f"part: {args.part}")
    print(f"{'class':13} {'recipients':>10} " + " ".join(f"{r:>10}" for r in corpus.READINGS))
    for cls in corpus.CLASSES:
        counts = Counter(r.reading for r in shown if r.finding.cls == cls)
        if counts:
            print(f"{cls:13} {sum(counts.values()):>10} " + " ".join(f"{counts[r]:>10}" for r in corpus.READINGS))
    print()
    for name in ("all", "dev", "held-out"):
        print(f"{name:9} {corpus.figures(part(name), reads)}")
    for source in sorted({r.finding.source for r in rows}):
        sel = [r for r in shown if r.finding.source == source]
        got = corpus.figures(sel, reads)
        print(f"  {source:12} ({len({r.finding.path for r in sel})} reports): wrongful {got.wrongful}/{got.benign}, "
              f"missed {got.missed}/{got.gone}")
    for path, got in reads.items():
        if got.crash:
            print(f"CRASH {path.relative_to(corpus.REAL)}: {got.crash}")
    if args.list:
        print()
        for r in shown:
            if args.list == "all" or r.wrong:
                f, mine = r.finding, r.mine
                said = f"{mine.kind} {mine.status} {mine.diagnostic[:150]}" if mine else reads[f.path].error
                print(f"{'WRONG ' if r.wrong else ''}{f.name} [{f.cls}: {f.verdict}] -> {r.reading}: {said}")
        by_path: dict[Path, list[corpus.Finding]] = {}
        for r in shown:
            by_path.setdefault(r.finding.path, []).append(r.finding)
        for path, fs in by_path.items():
            for mine in corpus.extras(fs, reads[path]):
                print(f"WRONG EXTRA {path.name} [{fs[0].cls}: {fs[0].verdict}] -> {mine.address} {mine.kind} "
                      f"{mine.status} {mine.diagnostic[:150]}")


if __name__ == "__main__":
    main()
