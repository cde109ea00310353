"""Rebuild tests/data/bounces/real/{sisimai,bounceparser,flufl}/ from the upstream test suites.

    python tools/bounce_corpus.py --sisimai DIR --bounceparser DIR --flufl DIR

DIR is a checkout (or an unpacked archive) of github.com/sisimai/go-sisimai, of
github.com/rjbs/Mail-DeliveryStatus-BounceParser, and the unpacked flufl.bounce sdist
(`pip download --no-binary :all: --no-deps flufl.bounce`). Each report is copied byte for
byte; its verdict is what the upstream project's OWN tests expect of it, written to
`verdicts.tsv` beside it, so that bench/bounces.py measures our reader against a judgement
that is not ours. Nothing of their code is copied: the test files are read as data.

- sisimai: the `publiclist` tables of fact/*_test.go: per report, each recipient's
  status, reply code, reason, hard-bounce flag and feedback type, in the order sisimai
  finds them; plus maildir/not/, the reports sisimai's suite keeps as "not a bounce".
  Reports larger than MAX_BYTES are left out (seven forwarded AOL and Exchange messages
  with big attachments), to keep the repository small.
- Mail::DeliveryStatus::BounceParser: the `std_reason`, `is_bounce => 0` and
  `reports => 0` its t/*.t files state per corpus file (transcribed in BOUNCEPARSER
  below, with the test that says so); files its tests state nothing about are copied
  as "unrated" (read for crashes only).
- flufl.bounce: the addresses and the temporary/permanent flag of tests/test_detectors.py.
"""
from __future__ import annotations

import argparse
import csv
import re
import shutil
from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "bounces" / "real"
MAX_BYTES = 32_000
_GO_ROW = re.compile(r'\{"(\d+)",\s*(\d+),\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",\s*(true|false),\s*"([^"]*)"\}')

# file (glob) -> (verdict, the test of BounceParser that states it)
BOUNCEPARSER: list[tuple[str, str, str]] = [
    ("spam-rejection*.msg", "spam", "t/spam-rejection.t"),
    ("junkemailfilter.msg", "spam", "t/junkemailfilter.t"),
    ("spamassassin.msg", "spam", "t/spamassassin.t"),
    ("spambouncer.msg", "spam", "t/spambouncer.t"),
    ("malformed-dns.msg", "domain_error", "t/malformed-dns.t"),
    ("not-a-relay.msg", "domain_error", "t/not-a-relay.t"),
    ("rcpthosts.msg", "domain_error", "t/rcpthosts.t"),
    ("relaying-denied.msg", "domain_error", "t/relaying-denied.t"),
    ("postfix-malformed.msg", "domain_error", "t/postfix-malformed.t"),
    ("sendmail-host-unknown.msg", "domain_error", "t/various-domain.t"),
    ("postfix-host-unknown.msg", "domain_error", "t/various-domain.t"),
    ("no-such-domain.msg", "domain_error", "t/various-domain.t"),
    ("quota*.msg", "over_quota", "t/quota.t"),
    ("user-unknown-disabled.msg", "user_disabled", "t/user-disabled.t"),
    ("polish-unknown.msg", "user_disabled", "t/user-disabled.t"),
    # The test's key is misspelt (std_reaons), so BounceParser never checks it; the
    # intent, like the file names, is plain.
    ("message-too-large*.msg", "message_too_large", "t/message-too-large.t"),
    ("warning-[123].msg", "user_unknown", "t/warnings.t"),
    ("warning-[47].msg", "over_quota", "t/warnings.t"),
    ("warning-[68].msg", "not_a_bounce", "t/warnings.t"),
    ("long-smtp.msg", "unknown", "t/various-unknown.t"),  # a 447: temporary
    *[(name, "user_unknown", "t/various-unknown.t") for name in (
        "att-via-sendmail.unknown.msg", "comcast-via-sendmail.unknown.msg", "cox-via-sendmail.unknown.msg",
        "generic-postfix-via-sendmail.unknown.msg", "gmail-via-sendmail.unknown.msg",
        "msn-via-sendmail.unknown.msg", "yahoo-via-sendmail.unknown.msg", "hotmail-via-sendmail.unknown.msg",
        "domino.unknown.msg", "aol.unknown.msg", "qmail.unknown.msg", "exchange.unknown.msg",
        "novell-with-rhs.msg", "yahoo-user-unknown.msg", "me-user-unknown.msg", "cam-unknown.msg",
        "rcpt-dne.msg", "mailbox-unknown.msg", "deactivated-mailbox.msg", "user-unknown-dne.msg",
        "badrcptto.msg", "nomailbox.msg", "doesnotexist.msg", "doesnotexist2.msg",
        "user-unknown-not-active.msg", "user-unknown-not.msg", "user-unknown-polish.msg",
        "user-unknown-bad.msg")],
    *[(name, "not_a_bounce", "t/non-bounce.t") for name in (
        "aol-vacation.msg", "polish-autoreply.msg", "bluebottle.msg", "boxbe-cr.msg", "boxbe-cr2.msg",
        "whitelist.msg")],
    ("autoreply.msg", "not_a_bounce", "t/autoreply.t"),
    *[(name, "no_report", f"t/{name.removesuffix('.msg')}.t") for name in (
        "spam-bogus-email-in-report.msg", "spam-lots-of-bogus-addresses.msg", "spam-with-image.msg")],
]


def _write(folder: Path, header: list[str], rows: list[list]) -> None:
    with (folder / "verdicts.tsv").open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def sisimai(root: Path) -> int:
    out = REAL / "sisimai"
    out.mkdir(exist_ok=True)
    bsd, rows = root / "set-of-emails" / "maildir" / "bsd", []
    for test in sorted((root / "fact").glob("*_test.go")):
        text = test.read_text()
        engine = re.search(r'EngineTest\(t,\s*"([^"]+)",\s*publiclist', text)
        if engine is None:
            continue
        prefix = {"TestLhost": "lhost-", "TestRhost": "rhost-"}.get(
            re.search(r"func (Test(?:Lhost|Rhost)?)", text)[1], "")
        public = text.split("publiclist", 1)[1].split("EngineTest", 1)[0]
        position: dict[str, int] = {}  # the rows' order: their own index field repeats at times
        for label, _, status, reply, reason, hard, other in _GO_ROW.findall(public):
            name = f"{prefix}{engine[1].lower()}-{label}.eml"
            position[name] = position.get(name, 0) + 1
            if (bsd / name).stat().st_size <= MAX_BYTES:
                rows.append([name, position[name], reason, status, reply, hard, other, f"fact/{test.name}"])
    for name in sorted({r[0] for r in rows}):
        shutil.copyfile(bsd / name, out / name)
    for path in sorted((root / "set-of-emails" / "maildir" / "not").glob("*.eml")):
        shutil.copyfile(path, out / f"not-{path.name}")
        rows.append([f"not-{path.name}", "1", "not_a_bounce", "", "", "false", "", "set-of-emails/maildir/not/"])
    shutil.copyfile(root / "LICENSE", out / "LICENSE")
    _write(out, ["file", "index", "reason", "status", "reply", "hard", "feedback_type", "test"], rows)
    return len({r[0] for r in rows})


def bounceparser(root: Path) -> int:
    out = REAL / "bounceparser"
    out.mkdir(exist_ok=True)
    corpus, verdicts = root / "t" / "corpus", {}
    for pattern, verdict, test in BOUNCEPARSER:
        for path in corpus.glob(pattern):
            verdicts.setdefault(path.name, (verdict, test))
    rows = []
    for path in sorted(corpus.glob("*.msg")):
        shutil.copyfile(path, out / path.name)
        verdict, test = verdicts.get(path.name, ("unrated", ""))
        rows.append([path.name, verdict, test])
    shutil.copyfile(root / "LICENSE", out / "LICENSE")
    _write(out, ["file", "std_reason", "test"], rows)
    return len(rows)


def flufl(root: Path) -> int:
    """Files already at the top of real/ stay there (their own tests use them)."""
    out = REAL / "flufl"
    out.mkdir(exist_ok=True)
    table = (root / "tests" / "test_detectors.py").read_text().split("DETECTORS = [", 1)[1].split("\n]\n", 1)[0]
    rows, seen = [], set()
    for module, name, addresses, temporary in re.findall(
            r"\('(\w+)',\s*'([\w.]+)',\s*\[([^\]]*)\],\s*(True|False)\)", table, re.S):
        if name in seen or not (found := re.findall(r"b'([^']+)'", addresses)):
            continue  # a file two detectors try: the one that finds its addresses speaks
        seen.add(name)
        where = name if (REAL / name).exists() else f"flufl/{name}"
        if where.startswith("flufl/"):
            shutil.copyfile(root / "tests" / "data" / name, out / name)
        rows += [[where, i, "temporary" if temporary == "True" else "permanent", a, module]
                 for i, a in enumerate(found, 1)]
    shutil.copyfile(root / "LICENSE", out / "LICENSE")
    _write(out, ["file", "index", "failure", "address", "detector"], rows)
    return len({r[0] for r in rows})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sisimai", type=Path, required=True)
    p.add_argument("--bounceparser", type=Path, required=True)
    p.add_argument("--flufl", type=Path, required=True)
    a = p.parse_args()
    print(f"sisimai: {sisimai(a.sisimai)} reports; BounceParser: {bounceparser(a.bounceparser)}; "
          f"flufl.bounce: {flufl(a.flufl)}")


if __name__ == "__main__":
    main()
