"""Our reader on real reports (tests/data/bounces/real/: sisimai's, BounceParser's and
flufl.bounce's corpora), against the verdict each report's source gives it: a pinned
sample of each class, and the figures of the whole corpus (bench/bounces.py prints them
in detail): no report crashes the reader, at most 1% of the reports that are not about a
missing address would suppress at once, at most 10% of the dead addresses are missed."""
from __future__ import annotations

import pytest

from tests import real_bounces as corpus

SAMPLE = [  # (file, recipient, the source's class, its own word)
    ("sisimai/lhost-activehunter-01.eml", 1, "gone", "userunknown"),
    ("sisimai/lhost-courier-04.eml", 1, "gone", "hostunknown"),
    ("sisimai/lhost-exchange2003-02.eml", 2, "gone", "userunknown"),
    ("sisimai/lhost-exim-61.eml", 1, "gone", "userunknown"),
    ("sisimai/lhost-mailru-01.eml", 1, "gone", "userunknown"),
    ("sisimai/lhost-messagingserver-10.eml", 1, "gone", "notaccept"),
    ("sisimai/lhost-outlook-04.eml", 1, "gone", "userunknown"),
    ("sisimai/lhost-postfix-31.eml", 1, "gone", "userunknown"),
    ("sisimai/lhost-qmail-11.eml", 1, "gone", "notaccept"),
    ("bounceparser/yahoo-user-unknown.msg", 1, "gone", "user_unknown"),  # 553 5.3.0 Address does not exist
    ("bounceparser/no-such-domain.msg", 1, "gone", "domain_error"),
    ("sisimai/lhost-amavis-03.eml", 1, "refused", "notcompliantrfc"),
    ("sisimai/lhost-dragonfly-03.eml", 1, "refused", "policyviolation"),
    ("sisimai/lhost-exchange2007-03.eml", 1, "refused", "exceedlimit"),
    ("sisimai/lhost-exim-40.eml", 1, "refused", "requireptr"),
    ("sisimai/lhost-googlegroups-06.eml", 1, "refused", "rejected"),
    ("sisimai/lhost-postfix-41.eml", 1, "refused", "policyviolation"),
    ("sisimai/lhost-qmail-03.eml", 1, "refused", "rejected"),
    ("sisimai/lhost-sendmail-06.eml", 1, "refused", "contenterror"),
    ("sisimai/rhost-google-03.eml", 1, "refused", "authfailure"),
    ("bounceparser/spam-rejection7.msg", 1, "refused", "spam"),
    ("sisimai/lhost-amazonses-03.eml", 1, "full", "mailboxfull"),
    ("sisimai/lhost-dragonfly-28.eml", 1, "full", "mailboxfull"),
    ("sisimai/lhost-gmx-01.eml", 1, "full", "mailboxfull"),
    ("sisimai/lhost-opensmtpd-17.eml", 2, "full", "mailboxfull"),
    ("bounceparser/quota-2.msg", 1, "full", "over_quota"),
    ("sisimai/lhost-amazonses-17.eml", 1, "temporary", "expired"),
    ("sisimai/lhost-exim-08.eml", 1, "temporary", "expired"),
    ("sisimai/lhost-outlook-07.eml", 1, "temporary", "expired"),
    ("sisimai/lhost-postfix-75.eml", 1, "temporary", "systemerror"),
    ("flufl/dsn_06.txt", 1, "temporary", "temporary"),
    ("sisimai/lhost-amazonses-12.eml", 1, "not-bounce", "delivered"),
    ("sisimai/rfc3464-28.eml", 1, "not-bounce", "delivered"),
    ("sisimai/rfc3834-01.eml", 1, "not-bounce", "vacation"),
    ("sisimai/not-is-not-bounce-02.eml", 1, "not-bounce", "not_a_bounce"),
    ("bounceparser/autoreply.msg", 1, "not-bounce", "not_a_bounce"),
    ("bounceparser/boxbe-cr.msg", 1, "not-bounce", "not_a_bounce"),  # a challenge-response
    ("sisimai/arf-01.eml", 1, "complaint", "feedback"),
    ("sisimai/arf-16.eml", 3, "complaint", "feedback"),
    ("sisimai/lhost-amazonses-19.eml", 1, "disabled", "suspend"),
    ("sisimai/lhost-dragonfly-27.eml", 1, "disabled", "suspend"),
]
ALL = corpus.findings()
BY_KEY = {(str(f.path.relative_to(corpus.REAL)), f.index): f for f in ALL}


@pytest.mark.parametrize("name, index, cls, verdict", SAMPLE, ids=[f"{s[0]}#{s[1]}" for s in SAMPLE])
def test_a_pinned_sample_of_each_class_reads_as_its_source_says(name, index, cls, verdict):
    finding = BY_KEY[(name, index)]
    assert (finding.cls, finding.verdict) == (cls, verdict)  # the source's verdict, mapped by the table
    row = corpus.reading(finding, corpus.read(finding.path))
    if cls == corpus.GONE:
        assert row.reading in (corpus.AT_ONCE, corpus.SECOND), row.mine
    elif cls == corpus.COMPLAINT:
        assert (row.reading, row.mine.kind) == (corpus.AT_ONCE, "complaint")
    else:  # not about a missing address (or may come back): never suppressed at once
        assert row.reading != corpus.AT_ONCE, row.mine


def test_the_whole_corpus_stays_within_the_targets():
    reads = {path: corpus.read(path) for path in dict.fromkeys(f.path for f in ALL)}
    rows = [corpus.reading(f, reads[f.path]) for f in ALL]
    got = corpus.figures(rows, reads)
    assert len(reads) >= 800 and len({(f.source, f.system) for f in ALL}) >= 30
    assert got.crashes == 0, [str(p) for p, r in reads.items() if r.crash]
    assert got.wrongful <= 0.01 * got.benign, (str(got), [r.finding.name for r in rows if r.wrong])
    assert got.missed <= 0.10 * got.gone, (str(got), [r.finding.name for r in rows if r.wrong])
