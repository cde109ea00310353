"""`newsletter bounces ...` and `newsletter stats` as an operator runs them (tests/command_line.py)."""
from __future__ import annotations

import mailbox

import pytest

from tests.bounce_samples import deliver, sample


@pytest.fixture
def run(run, settings):
    return run.using(NEWSLETTER_VAR_DIR=str(settings.var_dir), NEWSLETTER_SECRET_KEY=settings.secret_key,
                     NEWSLETTER_DATABASE_URL=settings.database_url, NEWSLETTER_WEB_BASE_URL=settings.web_base_url,
                     COLUMNS="250")


def test_process_list_reprocess_and_the_complaint_rate(run, engine, settings, publication, tmp_path):
    sent = deliver(engine, settings, publication, [f"reader{i}@example.org" for i in range(10)])
    folder = tmp_path / "Maildir"
    box = mailbox.Maildir(folder, create=True)
    box.add(sent[0].report("yahoo_arf_abuse.eml"))
    box.add(sample("malformed_report.eml"))

    out = run("bounces", "process", str(folder))
    assert f"maildir:{folder}: 2 stored, 0 already stored; processed: 1 failed, 1 parsed" in out.stdout
    listed = run("bounces", "list").stdout
    assert "failed" in listed and "no delivery-status notification" in listed
    assert "reader0@example.org" in listed and "complaint" in listed and "verp" in listed
    assert "reader0" not in run("bounces", "list", "--status", "failed").stdout
    assert "Reporting-MTA: dns; relay.broken.example.net" in run("bounces", "show", "2").stdout

    assert "reprocessed: 1 failed" in run("bounces", "reprocess").stdout
    assert "processed already" in run("bounces", "reprocess", "1", code=2).stderr
    assert "unknown status 'bogus'" in run("bounces", "list", "--status", "bogus", code=2).stderr
    assert "no bounce report 99" in run("bounces", "show", "99", code=2).stderr
    missing = run("bounces", "process", str(tmp_path / "nowhere"), code=2).stderr
    assert "neither a Maildir folder, an mbox file, nor `imap`" in missing and len(missing.splitlines()) == 1

    stats = run("stats")
    row = next(line for line in stats.stdout.splitlines() if "spacewar-daily" in line)
    assert "10.000%" in row and " complaint 1" in row  # 1 complaint of 10 sent; left by the complaint method
    assert "complaint rate 10.00% (1 of 10) is above 0.3%" in stats.stderr
