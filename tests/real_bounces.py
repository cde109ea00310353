"""The corpus of real bounces (tests/data/bounces/real/) with the verdict each report's
source gives it, mapped to our verdict classes by the table below. Read by
bench/bounces.py and by the tests that pin samples of each class.

The verdicts are the upstream projects' own (their test suites' expectations, copied to
`verdicts.tsv` by tools/bounce_corpus.py); only the mapping of their words to our classes
is ours, and it is a table of words, never a reading of the reports.

Held out while the reader was developed: every report of BounceParser's corpus (a
source of its own) and every fifth report (by name) of sisimai's and flufl.bounce's.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

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
