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
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsletter.bounces.models import BounceKind as K  # noqa: E402
from newsletter.bounces.parse import RecipientReport, ReportUnreadable, parse  # noqa: E402
from tests import real_bounces as corpus  # noqa: E402

AT_ONCE, SECOND, SOFT, POLICY, NOTHING, UNREADABLE = "at once", "on 2nd", "soft", "policy", "nothing", "unreadable"
READINGS = (AT_ONCE, SECOND, SOFT, POLICY, NOTHING, UNREADABLE)
_READING = {K.HARD: AT_ONCE, K.COMPLAINT: AT_ONCE, K.SOFT: SOFT, K.POLICY: POLICY, K.DELAYED: NOTHING,
            K.OTHER: NOTHING}
_READING.update({k: SECOND for k in K if k.value == "uncertain"})


@dataclass
class Read:
    recipients: list[RecipientReport]
    error: str = ""  # why it is unreadable
    crash: str = ""
    report_type: str = ""


def read(path: Path) -> Read:
    try:
        report = parse(path.read_bytes())
        return Read(report.recipients, report_type=report.report_type)
    except ReportUnreadable as exc:
        return Read([], str(exc))
    except Exception as exc:  # noqa: BLE001 - counted and shown: the figure that must be 0
        return Read([], crash=f"{type(exc).__name__}: {exc}")


def reading(finding: corpus.Finding, got: Read) -> tuple[str, RecipientReport | None]:
    mine = None
    if finding.address:
        mine = next((r for r in got.recipients if r.address.lower() == finding.address.lower()), None)
    elif finding.index <= len(got.recipients):
        mine = got.recipients[finding.index - 1]
    return (_READING[K(mine.kind)], mine) if mine is not None else (UNREADABLE, None)


def main() -> None:
    p = argparse.ArgumentParser(description="our bounce reader against real reports' verdicts")
    p.add_argument("--part", choices=["all", "dev", "held-out"], default="all", help="which part to tabulate")
    p.add_argument("--list", choices=["wrong", "all"], default="", help="list recipients of the part")
    p.add_argument("--source", default="", help="only this source (sisimai, bounceparser, flufl)")
    args = p.parse_args()

    findings = [f for f in corpus.findings() if not args.source or f.source == args.source]
    reads = {path: read(path) for path in dict.fromkeys(f.path for f in findings)}
    by_path = defaultdict(list)
    for f in findings:
        by_path[f.path].append(f)
    rows = []  # (finding, our reading, our recipient)
    extra_wrongful = Counter()  # part -> recipients we suppress beyond the source's, in reports without a gone one
    extras = []
    for f in findings:
        rows.append((f, *reading(f, reads[f.path])))
    for path, fs in by_path.items():
        if any(f.cls == corpus.GONE for f in fs) or not all(f.cls in corpus.NOT_ABOUT_THE_ADDRESS for f in fs) \
                or reads[path].report_type != "text":
            continue  # a DSN's recipient blocks are no invention of ours, listed by the source or not
        named = {f.address.lower() for f in fs if f.address}
        extra = reads[path].recipients[len(fs):] if not named else \
            [r for r in reads[path].recipients if r.address.lower() not in named]
        suppressed = [r for r in extra if _READING[K(r.kind)] == AT_ONCE]
        extra_wrongful[fs[0].held_out] += len(suppressed)
        extras += [(fs[0], r) for r in suppressed]

    def part(name: str):
        return [r for r in rows if name == "all" or (name == "held-out") == r[0].held_out]

    shown = part(args.part)
    reports = len({f.path for f, *_ in shown})
    systems = len({(f.source, f.system) for f, *_ in shown})
    print(f"{reports} reports, {len(shown)} recipients, from {systems} mail systems; part: {args.part}")
    print(f"{'class':13} {'recipients':>10} " + " ".join(f"{r:>10}" for r in READINGS))
    for cls in corpus.CLASSES:
        counts = Counter(r for f, r, _ in shown if f.cls == cls)
        total = sum(counts.values())
        if total:
            print(f"{cls:13} {total:>10} " + " ".join(f"{counts[r]:>10}" for r in READINGS))
    print()
    for name in ("all", "dev", "held-out"):
        sel = part(name)
        held = {"all": (True, False), "dev": (False,), "held-out": (True,)}[name]
        benign = [r for f, r, _ in sel if f.cls in corpus.NOT_ABOUT_THE_ADDRESS]
        wrongful = sum(r == AT_ONCE for r in benign) + sum(extra_wrongful[h] for h in held)
        gone = [r for f, r, _ in sel if f.cls == corpus.GONE]
        missed = sum(r not in (AT_ONCE, SECOND) for r in gone)
        crashes = sum(1 for path in {f.path for f, *_ in sel} if reads[path].crash)
        print(f"{name:9} wrongful suppression {wrongful}/{len(benign)} = {_pct(wrongful, len(benign))} "
              f"(target <= 1%); missed hard bounces {missed}/{len(gone)} = {_pct(missed, len(gone))} "
              f"(target <= 10%); crashes {crashes}")
    for source in sorted({f.source for f, *_ in rows}):
        sel = [x for x in shown if x[0].source == source]
        benign = [r for f, r, _ in sel if f.cls in corpus.NOT_ABOUT_THE_ADDRESS]
        gone = [r for f, r, _ in sel if f.cls == corpus.GONE]
        print(f"  {source:12} ({len({f.path for f, *_ in sel})} reports): wrongful "
              f"{sum(r == AT_ONCE for r in benign)}/{len(benign)}, missed "
              f"{sum(r not in (AT_ONCE, SECOND) for r in gone)}/{len(gone)}")
    for path, got in reads.items():
        if got.crash:
            print(f"CRASH {path.relative_to(corpus.REAL)}: {got.crash}")
    if args.list:
        print()
        for f, r, mine in shown:
            wrong = (f.cls in corpus.NOT_ABOUT_THE_ADDRESS and r == AT_ONCE) or \
                    (f.cls == corpus.GONE and r not in (AT_ONCE, SECOND))
            if args.list == "all" or wrong:
                said = f"{mine.kind} {mine.status} {mine.diagnostic[:150]}" if mine else reads[f.path].error
                print(f"{'WRONG ' if wrong else ''}{f.name} [{f.cls}: {f.verdict}] -> {r}: {said}")
        for f, mine in extras:
            if args.part == "all" or (args.part == "held-out") == f.held_out:
                print(f"WRONG EXTRA {f.path.name} [{f.cls}: {f.verdict}] -> {mine.address} {mine.kind} "
                      f"{mine.status} {mine.diagnostic[:150]}")


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


if __name__ == "__main__":
    main()
