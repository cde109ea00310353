"""Every command answers bad input with one clear line and a non-zero exit (issue 7, items
14-16): never a traceback."""
from __future__ import annotations

import http.server
import subprocess
import threading

import pytest
from sqlalchemy import create_engine, inspect

from tests.command_line import CommandLine
from tests.databases import drop_pg_database, new_pg_database


@pytest.fixture
def run(run):
    """Answers unchecked (most of these fail on purpose); no NEWSLETTER_WEB_BASE_URL unless given."""
    return run.using(NEWSLETTER_WEB_BASE_URL=None).attempt


def one_clear_line(out) -> str:
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return lines[0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/redirect-to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_ingest_fetch_failures(run, web):
    from tests.integration.servers import free_port

    # A URL on loopback is refused as a feed's would be, unless --allow-private.
    refused = one_clear_line(run("ingest", f"{web}/missing.xml"))
    assert "cannot fetch" in refused and "loopback" in refused and "--allow-private" in refused, refused
    for url, expected in ((f"{web}/missing.xml", "HTTP 404"),
                          (f"http://127.0.0.1:{free_port()}/feed.xml", "cannot fetch"),
                          (f"{web}/redirect-to-file", "cannot fetch")):
        assert expected in one_clear_line(run("ingest", url, "--allow-private")), url
    assert "no such file" in one_clear_line(run("ingest", "/nonexistent/feed.xml"))


def test_a_huge_csv_field(run, tmp_path):
    run("publications", "load")
    big = tmp_path / "big.csv"
    big.write_text("email,name\na@example.org," + "x" * 140_000 + "\n")
    assert "not a CSV file we can read" in one_clear_line(run("subscribers", "import", "spacewar-daily", str(big)))


def test_sending_refuses_http_links(run):
    run("publications", "load")
    line = one_clear_line(run("send", "spacewar-daily"))
    assert "must be https" in line and "NEWSLETTER_ALLOW_HTTP_LINKS" in line


def test_bad_settings_are_named(run):
    line = one_clear_line(run("editions", "list", "x", NEWSLETTER_DELIVERY_BACKEND="smpt"))
    assert "NEWSLETTER_DELIVERY_BACKEND" in line


def test_processes_starting_together_on_a_fresh_postgresql_database(tmp_path):
    """Every entry point migrates; four at once must not race (advisory lock)."""
    url = new_pg_database("template0")
    try:
        cli = CommandLine(tmp_path, {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_VAR_DIR": str(tmp_path / "var"),
                                     "NEWSLETTER_SECRET_KEY": "x"})
        procs = [cli.start("stats", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
        assert [rc for _, _, rc in results] == [0, 0, 0, 0], [err for _, err, _ in results]
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        assert "deliveries" in inspect(engine).get_table_names()
        engine.dispose()
    finally:
        drop_pg_database(url)


def test_processes_starting_together_on_a_fresh_sqlite_file(tmp_path):
    cli = CommandLine(tmp_path, {"NEWSLETTER_VAR_DIR": str(tmp_path / "var"), "NEWSLETTER_SECRET_KEY": "x"})
    procs = [cli.start("stats", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert [rc for _, _, rc in results] == [0, 0, 0, 0], [err for _, err, _ in results]


def test_an_admin_re_subscribe_is_explicit_and_recorded(run, tmp_path):
    """Issue 7 item 9: `subscribers add` does not silently leave someone suppressed (or bring
    them back): it refuses with the reason; `subscribers resubscribe` lifts their own
    unsubscribe, recorded with the admin method; bounces need an admin to lift first."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from newsletter.config import Settings
    from newsletter.db import get_engine
    from newsletter.publications.models import Publication
    from newsletter.subscribers import lifecycle
    from newsletter.subscribers.models import Subscriber, Suppression
    from newsletter.tracking.models import Event

    env = {"NEWSLETTER_WEB_BASE_URL": "https://news.example.com"}
    run("publications", "load")
    assert run("subscribers", "add", "spacewar-daily", "ann@example.org", **env).returncode == 0
    engine = get_engine(Settings(var_dir=tmp_path / "var").effective_database_url)
    with Session(engine) as s:  # she leaves by one-click
        lifecycle.unsubscribe(s, s.scalar(select(Subscriber)), s.scalar(select(Publication)), "one-click")
        s.commit()
    line = one_clear_line(run("subscribers", "add", "spacewar-daily", "ann@example.org", **env))
    assert "unsubscribed" in line and "subscribers resubscribe" in line
    back = run("subscribers", "resubscribe", "spacewar-daily", "ann@example.org", **env)
    assert back.returncode == 0 and "is subscribed" in back.stdout
    with Session(engine) as s:
        assert s.scalars(select(Suppression)).all() == []
        assert [(e.kind, e.method) for e in s.scalars(select(Event).order_by(Event.id))][-1] == ("resubscribe", "admin")
        s.add(Suppression(email="ann@example.org", publication_id=None, reason="hard_bounce"))
        lifecycle.unsubscribe(s, s.scalar(select(Subscriber)), s.scalar(select(Publication)), "one-click")
        s.commit()
    assert "hard_bounce" in one_clear_line(run("subscribers", "resubscribe", "spacewar-daily", "ann@example.org"))


def test_dates_and_edition_ids_out_of_range(run):
    """Never an OverflowError: a --date far from today, an id no INTEGER column holds."""
    run("publications", "load")
    for command in ("preview", "build", "send", "test-send"):
        extra = ("--to", "me@example.com") if command == "test-send" else ()
        for day in ("0001-01-01", "9999-12-31"):
            out = run(command, "spacewar-daily", "--date", day, *extra)
            line = one_clear_line(out)
            # Previews and test sends: the console's and the API's rule (operators/previews.py).
            said = ("a preview date must be between 2000-01-01 and 2999-12-31" if command in ("preview", "test-send")
                    else f"--date {day} is more than 10 years from today")
            assert out.returncode == 2 and said in line, (command, line)
    line = one_clear_line(run("preview", "spacewar-daily", "--date", "2026-02-30"))
    assert line == "error: --date 2026-02-30 is not a date (no such day)"
    assert "must be YYYY-MM-DD, not '26-11-2026'" in one_clear_line(run("build", "spacewar-daily", "--date",
                                                                        "26-11-2026"))
    big = ("99999999999999999999999", "9223372036854775808", "2147483648", "0")
    for args in (("show",), ("status",), ("watch",), ("pause",), ("resume",), ("cancel",), ("rebuild",), ("hold",),
                 ("release",), ("release-domain", "{}", "example.org")):
        for value in big:
            argv = [a.replace("{}", value) for a in args] if "{}" in args else [*args, value]
            out = run("editions", *argv)
            assert out.returncode == 2 and one_clear_line(out) == f"error: no edition {value}", (argv, out.stderr)
    out = run("editions", "status", "--", "-1")  # a negative id reaches the check after `--`
    assert out.returncode == 2 and one_clear_line(out) == "error: no edition -1"


def test_paths_with_control_characters_are_shown_escaped(run):
    for args in (("publications", "load", "--file", "pubs\x1b[2J.toml"), ("ingest", "feed\x1b[2J\x07.xml")):
        line = one_clear_line(run(*args))
        assert "\\x1b[2J" in line and "no such file" in line, line
    out = run("ingest", "a\nb.xml")  # a line break in a message does not make it two lines
    assert one_clear_line(out) == "error: no such file: 'a\\nb.xml'"
    for out in (run("publications", "load", "--file", "pubs\x1b[2J.toml"), run("ingest", "feed\x1b[2J\x07.xml")):
        assert "\x1b" not in out.stderr and "\x07" not in out.stderr
