"""The corpus of real bounces (tests/data/bounces/real/) with the verdict each report's
source gives it, mapped to our verdict classes by the table below. Read by
bench/bounces.py and by the tests that pin samples of each class.

The verdicts are the upstream projects' own (their test suites' expectations, copied to
`verdicts.tsv` by tools/bounce_corpus.py); only the mapping of their words to our classes
is ours, and it is a table of words, never a reading of the reports.

`figures` measures our reader on it (bench/bounces.py prints them; a test keeps them).

Held out while the reader was developed: every report of BounceParser's corpus (a
source of its own) and every fifth report (by name) of sisimai's and flufl.bounce's.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from newsletter.bounces.models import BounceKind as K
from newsletter.bounces.parse import RecipientReport, ReportUnreadable, parse

REAL = Path(__file__).parent / "data" / "bounces" / "real"

# Our verdict classes and what suppressing at once means for them.
GONE = "gone"  # the address or its domain does not exist, moved, account closed: must suppress
DISABLED = "disabled"  # suspended / disabled, may come back: neither figure counts it
REFUSED = "refused"  # blocked, spam, policy, rate, sender, content, auth, virus, relaying, PTR
# sisimai's "filtered": refused after the message was sent, whether its words say "user
# unknown" (some carriers' way of hiding a filter) or a recipient's filter: it cannot
# tell these apart, so neither figure counts it.
FILTERED = "filtered"
FULL = "full"  # mailbox or system full
TEMPORARY = "temporary"  # expired, network or system errors, warnings
NOT_BOUNCE = "not-bounce"  # delivered, vacation, auto-replies, challenges, spam that names nobody
COMPLAINT = "complaint"  # an abuse report (ARF)
FEEDBACK = "feedback"  # other feedback reports (opt-out, auth-failure): neither figure
UNDETERMINED = "undetermined"  # the source itself could not tell (onhold, undefined)
UNRATED = "unrated"  # the source states nothing about it: read for crashes only

# Classes where suppressing at once is wrongful: none of them says the address is gone.
NOT_ABOUT_THE_ADDRESS = (REFUSED, FULL, TEMPORARY, NOT_BOUNCE)
CLASSES = (GONE, DISABLED, REFUSED, FILTERED, FULL, TEMPORARY, NOT_BOUNCE, COMPLAINT, FEEDBACK, UNDETERMINED, UNRATED)

# sisimai's reasons (https://libsisimai.org/en/reason/). "gone" is sisimai's own hard-bounce
# flag (userunknown, hostunknown, hasmoved, and notaccept with a 5xx), not a reason.
SISIMAI = {
    DISABLED: {"suspend"},
    REFUSED: {"blocked", "spamdetected", "policyviolation", "rejected", "authfailure", "requireptr",
              "badreputation", "securityerror", "norelaying", "toomanyconn", "speeding", "contenterror",
              "virusdetected", "notcompliantrfc", "mesgtoobig", "exceedlimit", "syntaxerror",
              "failedstarttls"},
    FILTERED: {"filtered"},
    FULL: {"mailboxfull", "systemfull"},
    TEMPORARY: {"expired", "networkerror", "systemerror", "mailererror", "notaccept"},
    NOT_BOUNCE: {"delivered", "vacation", "not_a_bounce"},
    UNDETERMINED: {"onhold", "undefined"},
}
COMPLAINT_FEEDBACK_TYPES = {"abuse", "fraud", "virus"}
# Mail::DeliveryStatus::BounceParser's std_reason (and what its tests say of non-bounces).
BOUNCEPARSER = {
    "user_unknown": GONE, "domain_error": GONE, "user_disabled": DISABLED, "over_quota": FULL,
    "spam": REFUSED, "message_too_large": REFUSED, "unknown": TEMPORARY, "not_a_bounce": NOT_BOUNCE,
    "no_report": NOT_BOUNCE, "unrated": UNRATED,
}
# flufl.bounce says only temporary (a warning) or permanent (cause not stated).
FLUFL = {"temporary": TEMPORARY, "permanent": UNRATED}


@dataclass(frozen=True)
class Finding:
    """One recipient of one report, as its source lists it."""

    source: str  # sisimai, bounceparser, flufl
    path: Path
    index: int  # 1-based, in the source's order
    verdict: str  # the source's word
    cls: str  # ours, from the tables above
    system: str  # the mail system (sisimai's engine, flufl.bounce's detector; BounceParser: "various")
    address: str = ""  # when the source names it (flufl)
    held_out: bool = False

    @property
    def name(self) -> str:
        return f"{self.source}/{self.path.name}#{self.index}"


def _rows(folder: str) -> list[dict]:
    with (REAL / folder / "verdicts.tsv").open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _sisimai_class(row: dict) -> str:
    if row["hard"] == "true":
        return GONE
    if row["reason"] == "feedback":
        return COMPLAINT if row["feedback_type"] in COMPLAINT_FEEDBACK_TYPES else FEEDBACK
    return next(cls for cls, reasons in SISIMAI.items() if row["reason"] in reasons)


def _fifth(names: list[str]) -> set[str]:
    return set(sorted(set(names))[4::5])


def findings() -> list[Finding]:
    found: list[Finding] = []
    rows = _rows("sisimai")
    held = _fifth([r["file"] for r in rows])
    for r in rows:
        system = r["file"].split("-")[1] if r["file"].startswith(("lhost-", "rhost-")) else r["file"].split("-")[0]
        found.append(Finding("sisimai", REAL / "sisimai" / r["file"], int(r["index"]), r["reason"],
                             _sisimai_class(r), system, held_out=r["file"] in held))
    for r in _rows("bounceparser"):
        found.append(Finding("bounceparser", REAL / "bounceparser" / r["file"], 1, r["std_reason"],
                             BOUNCEPARSER[r["std_reason"]], "various", held_out=True))
    rows = _rows("flufl")
    held = _fifth([r["file"] for r in rows])
    for r in rows:
        found.append(Finding("flufl", REAL / r["file"], int(r["index"]), r["failure"], FLUFL[r["failure"]],
                             r["detector"], r["address"], held_out=r["file"] in held))
    return found


# What we would do with a recipient: suppress at once (hard, complaint), at the second
# report (uncertain), count it (soft), never (policy), nothing (delayed, not a failure),
# or we could not read it.
AT_ONCE, SECOND, SOFT, POLICY, NOTHING, UNREADABLE = "at once", "on 2nd", "soft", "policy", "nothing", "unreadable"
READINGS = (AT_ONCE, SECOND, SOFT, POLICY, NOTHING, UNREADABLE)
_READING = {K.HARD: AT_ONCE, K.COMPLAINT: AT_ONCE, K.UNCERTAIN: SECOND, K.SOFT: SOFT, K.POLICY: POLICY,
            K.DELAYED: NOTHING, K.OTHER: NOTHING}


@dataclass
class Read:
    """Our reader on one report."""

    recipients: list[RecipientReport]
    error: str = ""  # why it is unreadable
    crash: str = ""  # anything but ReportUnreadable: the figure that must be 0
    report_type: str = ""


@dataclass(frozen=True)
class Row:
    finding: Finding
    reading: str
    mine: RecipientReport | None

    @property
    def wrong(self) -> bool:
        return (self.finding.cls in NOT_ABOUT_THE_ADDRESS and self.reading == AT_ONCE) or (
            self.finding.cls == GONE and self.reading not in (AT_ONCE, SECOND))


@dataclass
class Figures:
    benign: int = 0  # recipients the source says are not about a missing address
    wrongful: int = 0  # ... that we would suppress at once (extra ones included)
    gone: int = 0
    missed: int = 0  # gone, and not suppressed at once or at the second
    crashes: int = 0

    def __str__(self) -> str:
        return (f"wrongful suppression {self.wrongful}/{self.benign} = {_pct(self.wrongful, self.benign)} "
                f"(target <= 1%); missed hard bounces {self.missed}/{self.gone} = {_pct(self.missed, self.gone)} "
                f"(target <= 10%); crashes {self.crashes}")


def read(path: Path) -> Read:
    try:
        report = parse(path.read_bytes())
        return Read(report.recipients, report_type=report.report_type)
    except ReportUnreadable as exc:
        return Read([], str(exc))
    except Exception as exc:  # noqa: BLE001 - counted and shown
        return Read([], crash=f"{type(exc).__name__}: {exc}")


def reading(finding: Finding, got: Read) -> Row:
    """The recipient of ours that stands for the source's: by address where the source
    names it, else by position."""
    mine = None
    if finding.address:
        mine = next((r for r in got.recipients if r.address.lower() == finding.address.lower()), None)
    elif finding.index <= len(got.recipients):
        mine = got.recipients[finding.index - 1]
    return Row(finding, _READING[K(mine.kind)] if mine is not None else UNREADABLE, mine)


def extras(findings: list[Finding], got: Read) -> list[RecipientReport]:
    """Recipients we found beyond the source's in a plain-text report about nobody gone,
    that we would suppress at once (a DSN's recipient blocks are no invention of ours)."""
    if got.report_type != "text" or not all(f.cls in NOT_ABOUT_THE_ADDRESS for f in findings):
        return []
    named = {f.address.lower() for f in findings if f.address}
    extra = [r for r in got.recipients if r.address.lower() not in named] if named else \
        got.recipients[len(findings):]
    return [r for r in extra if _READING[K(r.kind)] == AT_ONCE]


def figures(rows: list[Row], reads: dict[Path, Read]) -> Figures:
    out = Figures()
    by_path: dict[Path, list[Finding]] = {}
    for row in rows:
        by_path.setdefault(row.finding.path, []).append(row.finding)
        if row.finding.cls in NOT_ABOUT_THE_ADDRESS:
            out.benign += 1
            out.wrongful += row.reading == AT_ONCE
        elif row.finding.cls == GONE:
            out.gone += 1
            out.missed += row.reading not in (AT_ONCE, SECOND)
    out.wrongful += sum(len(extras(fs, reads[path])) for path, fs in by_path.items())
    out.crashes = sum(1 for path in by_path if reads[path].crash)
    return out


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"
