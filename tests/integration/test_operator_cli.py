"""An operator's day on the command line (issue 9): previews that write nothing, a
publications file that refuses mistakes, test sends, edition control, the views."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.db import get_engine
from newsletter.editions.models import Edition
from newsletter.subscribers.lifecycle import suppress
from newsletter.subscribers.models import SuppressionReason
from tests.command_line import one_line_on_stderr, query
from tests.helpers import at, feed
from tests.integration.servers import SMTPServer

NY = ZoneInfo("America/New_York")


def publications_file(tmp_path, text: str):
    path = tmp_path / "publications.toml"
    path.write_text(text)
    return str(path)


SAMPLE = sample_file("publications.toml").read_text()


def test_a_preview_writes_nothing(run, tmp_path):
    """Issue 9, item 1: fails on the code before it (preview built and froze the edition)."""
    weekdays = SAMPLE.replace('schedule = "0 6 * * *"', 'schedule = "0 6 * * 1-5"')
    run("publications", "load", "--file", publications_file(tmp_path, weekdays))
    run("build", "spacewar-daily", "--date", "2026-11-20")  # Friday: Monday's window starts at its cut-off
    saturday = [(f"Weekend story {n}", "SUPERPOWERS", at("2026-11-21T12:00:00") + timedelta(minutes=n))
                for n in range(3)]
    run("ingest", feed(tmp_path, saturday))
    out = run("preview", "spacewar-daily", "--date", "2026-11-21")  # a Saturday: no send
    assert "3 headlines for every section (not built yet: computed now, nothing stored" in out.stdout
    assert "Weekend story 2" in (tmp_path / "var" / "previews" / "spacewar-daily-2026-11-21.html").read_text()
    assert query(tmp_path, "SELECT date FROM editions") == [("2026-11-20",)]
    assert "3 headlines" in run("build", "spacewar-daily", "--date", "2026-11-23").stdout  # Monday gets them

    tomorrow = (datetime.now(NY) + timedelta(days=1)).date().isoformat()
    run("preview", "spacewar-daily", "--date", tomorrow, ok=False)  # empty or not: it writes nothing
    assert query(tmp_path, "SELECT count(*) FROM editions WHERE date = ?", tomorrow) == [(0,)]
    assert query(tmp_path, "SELECT count(*) FROM editions") == [(2,)]


def test_the_publications_file_refuses_mistakes_and_deactivates_what_is_gone(run, tmp_path):
    weekly = SAMPLE[SAMPLE.index("[[publications]]"):].replace("spacewar-daily", "spacewar-weekly").replace(
        'schedule = "0 6 * * *"', 'schedule = "0 7 30 2 *"')
    out = run("publications", "load", "--file", publications_file(
        tmp_path, SAMPLE.replace('"0 6 * * *"', '"*/5 * * * *"') + weekly + SAMPLE[SAMPLE.index("[[publications]]"):]),
        ok=False)
    assert out.returncode == 2 and "3 problems, nothing loaded" in out.stderr
    first, *problems = out.stderr.splitlines()  # one line, then each problem on its own, indented
    assert first.startswith("error: ") and first.endswith("publications.toml: 3 problems, nothing loaded:")
    assert len(problems) == 3 and all(p.startswith("  publication 'spacewar-") for p in problems), out.stderr
    assert "publication 'spacewar-daily': schedule: '*/5 * * * *' fires more than once a day" in out.stderr
    assert "publication 'spacewar-weekly': schedule: '0 7 30 2 *' never fires" in out.stderr
    assert "publication 'spacewar-daily' is declared more than once" in out.stderr
    assert "pydantic" not in out.stderr and "http" not in out.stderr and "Traceback" not in out.stderr
    assert query(tmp_path, "SELECT count(*) FROM publications") == [(0,)]
    out = run("publications", "load", "--file", publications_file(tmp_path, SAMPLE.replace('"0 6 * * *"', '"x"')),
              ok=False)  # a single problem stays one line
    assert out.returncode == 2 and "publications.toml: publication 'spacewar-daily': schedule: " in \
        one_line_on_stderr(out)

    run("publications", "load", "--file", publications_file(
        tmp_path, SAMPLE + weekly.replace('"0 7 30 2 *"', '"0 7 * * 1"')))
    run("subscribers", "add", "spacewar-weekly", "ann@example.org")
    out = run("publications", "load", "--file", publications_file(tmp_path, SAMPLE))
    assert "deactivated spacewar-weekly: no longer in the file" in out.stdout
    listing = run("publications", "list").stdout
    assert "spacewar-weekly (SpaceWar Daily): inactive; every Monday at 07:00" in listing
    assert "spacewar-daily (SpaceWar Daily): active; every day at 06:00 ('0 6 * * *'), America/New_York; " \
           "0 subscribers" in listing
    assert listing.count("  next: ") == 5 and " UTC)" in listing
    assert query(tmp_path, "SELECT count(*) FROM subscriptions") == [(1,)]  # kept
    run("subscribers", "add", "spacewar-daily", "bob@example.org")
    assert "America/New_York; 1 subscriber\n" in run("publications", "list").stdout


def test_preview_as_a_subscriber_and_a_test_send_through_the_relay(run, tmp_path):
    smtp = SMTPServer()
    smtp.handler.keep_messages = True
    smtp.start()
    relay = {"NEWSLETTER_DELIVERY_BACKEND": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
             "NEWSLETTER_SMTP_PORT": str(smtp.port)}
    try:
        run("publications", "load")
        day = at("2026-11-26T09:00:00")
        run("ingest", feed(tmp_path, [("Summit talks", "SUPERPOWERS", day), ("Drone fair", "DRONE WAR", day)]))
        run("subscribers", "add", "spacewar-daily", "ann@example.org", "--name", "Ann Reader",
            "--sections", "drone-war")
        out = run("preview", "spacewar-daily", "--date", "2026-11-26", "--as", "ann@example.org")
        assert "1 headlines for ann@example.org" in out.stdout
        html = (tmp_path / "var" / "previews" / "spacewar-daily-2026-11-26-ann_example.org.html").read_text()
        text = (tmp_path / "var" / "previews" / "spacewar-daily-2026-11-26-ann_example.org.txt").read_text()
        assert "Ann Reader" in html and "Drone fair" in text and "Summit talks" not in text
        (tmp_path / "a-file").write_text("")
        for out_arg, said in ((tmp_path / "a-file", "is not a folder"), ("/proc/nope", "cannot make the folder")):
            out = run("preview", "spacewar-daily", "--date", "2026-11-26", "--out", str(out_arg), ok=False)
            assert out.returncode == 2 and out.stdout == "", out.stdout  # checked before anything is shown
            line = one_line_on_stderr(out)
            assert line.startswith(f"error: --out {out_arg}") and said in line
        out = run("preview", "spacewar-daily", "--date", "2026-11-26", "--sections", "superpowers,drone-war")
        assert "2 headlines for sections superpowers, drone-war" in out.stdout

        out = run("test-send", "spacewar-daily", "--to", "me@example.com", "--as", "ann@example.org",
                  "--date", "2026-11-26", **relay)
        assert "sent to me@example.com: [TEST] Drone fair" in out.stdout
        (message,) = smtp.handler.parsed()
        assert message["Subject"].startswith("[TEST] ") and message["X-Newsletter-Test"]
        assert smtp.handler.received["me@example.com"] == 1
        assert query(tmp_path, "SELECT count(*) FROM deliveries") == [(0,)]
        assert query(tmp_path, "SELECT count(*) FROM editions") == [(0,)]
        # Audited like a test send from the console or the API (operators/previews.py), no address in it.
        ((via, target, detail),) = query(tmp_path, "SELECT via, target, detail FROM audit_log "
                                                   "WHERE action = 'edition.test_send'")
        assert (via, target) == ("cli", "publication:spacewar-daily") and "@" not in detail
        assert '"date": "2026-11-26"' in detail and '"reader": "a subscriber"' in detail

        run("subscribers", "add", "spacewar-daily", "gone@example.org")
        run("send", "spacewar-daily", "--date", "2026-11-26", **relay)  # everyone gets it; gone then leaves
        with Session(get_engine(f"sqlite:///{tmp_path / 'var' / 'newsletter.sqlite3'}")) as session:
            suppress(session, "gone@example.org", None, SuppressionReason.ADMIN)
            session.commit()
        out = run("test-send", "spacewar-daily", "--to", "gone@example.org", "--date", "2026-11-26", ok=False, **relay)
        assert out.returncode == 2 and "suppressed" in one_line_on_stderr(out) and out.stdout == ""  # checked first
        out = run("test-send", "spacewar-daily", "--to", "not an address", "--date", "2026-11-26", ok=False, **relay)
        assert out.returncode == 2 and out.stdout == "" and "not an address" in one_line_on_stderr(out)
        assert smtp.handler.received["gone@example.org"] == 1  # the edition, not the test

        run("ingest", feed(tmp_path, [("Next day", "DRONE WAR", at("2026-11-27T09:00:00"))], "next.xml"))
        out = run("preview", "spacewar-daily", "--date", "2026-11-27", "--diff")
        assert "against edition 1 of 2026-11-26 (the last sent): 1 new, 2 gone, 0 moved" in out.stdout
        assert "  + [drone-war] Next day" in out.stdout and "  - [superpowers] Summit talks" in out.stdout
    finally:
        smtp.stop()


def test_edition_control_and_what_the_operator_sees(run, tmp_path):
    smtp = SMTPServer()
    smtp.handler.reject = {"nobody@example.org", "ghost@example.org"}
    smtp.start()
    relay = {"NEWSLETTER_DELIVERY_BACKEND": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
             "NEWSLETTER_SMTP_PORT": str(smtp.port)}
    try:
        run("publications", "load")
        run("ingest", feed(tmp_path, [("First story", "SUPERPOWERS", at("2026-11-26T09:00:00"))]))
        for who in ("ann", "nobody", "ghost"):
            run("subscribers", "add", "spacewar-daily", f"{who}@example.org")
        assert "1 headlines" in run("build", "spacewar-daily", "--date", "2026-11-26").stdout
        out = run("editions", "hold", "1", "--reason", "a\x1b[31mred\x07", ok=False)  # nothing stored
        assert out.returncode == 2 and one_line_on_stderr(out) == (
            "error: the reason must not contain control characters (such as ESC or BEL)")
        assert query(tmp_path, "SELECT status FROM editions") == [("built",)]
        assert query(tmp_path, "SELECT count(*) FROM edition_history") == [(0,)]
        assert query(tmp_path, "SELECT count(*) FROM audit_log WHERE action LIKE 'edition.%'") == [(0,)]
        run("editions", "hold", "1", "--reason", "checking the lead")
        out = run("send", "spacewar-daily", "--date", "2026-11-26", ok=False, **relay)  # nothing sent: exit 1
        assert out.returncode == 1 and out.stdout == "" and smtp.handler.total() == 0
        assert one_line_on_stderr(out) == ("not sent: edition 1 of spacewar-daily for 2026-11-26 is held: release "
                                           "it first (`newsletter editions release 1`), then send again")
        run("ingest", feed(tmp_path, [("Late story", "DRONE WAR", at("2026-11-26T10:00:00"))], "late.xml"))
        out = run("editions", "rebuild", "1")
        assert "edition 1 rebuilt: held, 2 headlines (1 new, 0 gone, 0 moved; 1 before)" in out.stdout
        assert "  + [drone-war] Late story" in out.stdout
        assert "edition 1: built" in run("editions", "release", "1").stdout
        run("editions", "cancel", "1")
        out = run("send", "spacewar-daily", "--date", "2026-11-26", ok=False)
        assert out.returncode == 1 and out.stdout == "" and one_line_on_stderr(out) == (
            "not sent: edition 1 of spacewar-daily for 2026-11-26 was cancelled: to send this date again, "
            '`newsletter send spacewar-daily --date 2026-11-26 --force --reason "..."`')
        out = run("send", "spacewar-daily", "--date", "2026-11-26", "--force", ok=False)
        assert out.returncode == 2 and "needs a reason" in out.stderr
        out = run("send", "spacewar-daily", "--date", "2026-11-26", "--force", "--reason", "oops\x1b]0;pwned\x07",
                  ok=False)
        assert out.returncode == 2 and "must not contain control characters" in one_line_on_stderr(out)
        assert query(tmp_path, "SELECT count(*) FROM editions") == [(1,)]
        assert query(tmp_path, "SELECT count(*) FROM audit_log WHERE action = 'edition.replace'") == [(0,)]
        out = run("send", "spacewar-daily", "--date", "2026-11-26", "--force", "--reason", "held by mistake", **relay)
        assert "edition 2 replaces cancelled edition 1" in out.stdout
        assert "edition 2: sent, 3/3 done (1 sent, 2 failed, 0 skipped)" in out.stdout  # plain lines, no terminal
        assert smtp.handler.received["ann@example.org"] == 1

        listing = run("editions", "list", "spacewar-daily").stdout
        assert "superseded by 2" in listing and "replaces 1" in listing
        narrow = run("editions", "list", "spacewar-daily", COLUMNS="80").stdout
        assert "…" not in narrow and "2026-11-26 sent" in narrow and max(map(len, narrow.splitlines())) <= 80
        show = run("editions", "show", "2").stdout
        assert "edition 2 of spacewar-daily for 2026-11-26: sent" in show and "1. First story" in show
        assert "recipient_refused (2):" in show
        assert "nobody@example.org  1 attempt  " in show and "550" in show
        assert "history: " in show and "replaces edition 1: held by mistake" in show
        old = run("editions", "show", "1").stdout
        assert "held: checking the lead" in old and "rebuilt (1 headlines before)" in old
        assert "superseded by edition 2: held by mistake" in old
        status = run("editions", "status", "2").stdout
        assert "3 in total, 3 recorded, 0 to go" in status and "messages/s since the start" in status
        out = run("editions", "rebuild", "2", ok=False)
        assert out.returncode == 2 and "only an edition that has not started sending" in out.stderr
        # The same audited functions as the console and the API; a refused act is not recorded.
        audited = query(tmp_path, "SELECT action, via, target FROM audit_log WHERE action LIKE 'edition.%' "
                                  "ORDER BY id")
        assert audited == [(f"edition.{verb}", "cli", "edition:1") for verb in ("hold", "rebuild", "release",
                                                                                  "cancel")] + [
            ("edition.replace", "cli", "edition:2")]
    finally:
        smtp.stop()


def test_a_send_that_sends_nothing_says_so_and_exits_1(run, tmp_path):
    """Exit 0 only when something was (or is being) sent; an empty edition: 1, one line on stderr."""
    run("publications", "load")
    said = ("not sent: edition 1 of spacewar-daily for 2026-11-26 is empty (no headlines in its window): nothing "
            "to send; its operators are alerted")
    out = run("send", "spacewar-daily", "--date", "2026-11-26", ok=False, own_process=True)  # its log line too
    assert out.returncode == 1 and out.stdout == ""
    alert, last = out.stderr.splitlines()  # the alert's own log line (raised once), then what the command says
    assert alert.startswith("alert: spacewar-daily edition of 2026-11-26 is empty") and last == said
    assert query(tmp_path, "SELECT kind FROM alerts") == [("empty",)]
    out = run("send", "spacewar-daily", "--date", "2026-11-26", ok=False)
    assert out.returncode == 1 and out.stdout == "" and one_line_on_stderr(out) == said
    usage = run("send", "--help").stdout
    assert "Exit codes: 0 sent" in usage and "1 nothing was sent" in usage and "2 bad input" in usage
    assert "default today in the publication's time zone" in usage and "{PUB}" in usage


def test_help_shows_what_is_typed(run):
    assert "declared as [[feeds]] in the publications file" in run("feeds", "--help").stdout
    for args, metavar in ((("editions", "show"), "{ID}"), (("editions", "hold"), "{ID}"),
                          (("editions", "release-domain"), "{ID} {DOMAIN}"), (("preview",), "{PUB}"),
                          (("editions", "list"), "{PUB}"), (("subscribers", "add"), "{PUB} {EMAIL}")):
        usage = run(*args, "--help").stdout
        assert metavar in usage and "{pub}" not in usage and "{edition_id}" not in usage, usage


def test_pause_with_a_reason_and_a_search_by_domain(run, tmp_path):
    run("publications", "load")
    for who in ("ann@example.org", "bob@example.org", "cy@other.example"):
        run("subscribers", "add", "spacewar-daily", who)
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'newsletter.sqlite3'}")
    with Session(engine) as s:  # an edition being sent (nobody in its audience yet)
        s.add(Edition(publication_id=query(tmp_path, "SELECT id FROM publications")[0][0], date=date(2026, 11, 26),
                      status="sending", window_start=at("2026-11-25T06:00:00"), window_end=at("2026-11-26T06:00:00"),
                      started_at=at("2026-11-26T06:00:00"), max_subscriber_id=0))
        s.commit()
    engine.dispose()
    assert "edition 1: paused" in run("editions", "pause", "1", "--reason", "wrong lead story").stdout
    assert "paused: by an operator: wrong lead story" in run("editions", "status", "1").stdout
    listed = run("subscribers", "list", "--q", "@example.org", "--json").stdout
    assert sorted(json.loads(line)["email"] for line in listed.splitlines()) == ["ann@example.org", "bob@example.org"]
