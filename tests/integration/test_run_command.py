"""`newsletter run` in a subprocess, with no broker: it polls a declared feed, sends the
edition whose scheduled time has come (this very minute), serves the web pages, and
stops cleanly on SIGTERM. The test waits for the .eml files, not for a guessed time."""
from __future__ import annotations

import signal
import socket
import subprocess
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import create_engine, text

from newsletter.config import sample_file
from tests.command_line import CommandLine
from tests.integration.feed_server import FeedServer
from tests.integration.servers import free_port, wait_for

READERS = ["ann@example.org", "bob@example.org", "eve@example.org"]


@pytest.fixture
def feed():
    server = FeedServer(datetime.now(UTC)).start()
    yield server
    server.stop()


def test_run_sends_the_scheduled_edition_without_a_broker(tmp_path, feed):
    now = datetime.now(UTC)
    sections = sample_file("publications.toml").read_text().split("[[publications]]")[0]
    (tmp_path / "publications.toml").write_text(sections + f"""
[[publications]]
slug = "minute-news"
name = "Minute News"
sender_name = "Minute News"
sender_address = "news@minute.example.com"
postal_address = "1 Clock Street, Geneva"
sections = ["superpowers", "missile-defense"]
schedule = "{now.minute} {now.hour} * * *"   # due this minute (UTC)
timezone = "UTC"
list_id = "Minute News <minute-news.minute.example.com>"

[[feeds]]
name = "wire"
url = "{feed.url}/feed"
allow_private = true
""")
    port = free_port()
    run = CommandLine.in_folder(tmp_path).using(
        NEWSLETTER_SECRET_KEY="run-test", NEWSLETTER_PUBLICATIONS_FILE=str(tmp_path / "publications.toml"),
        NEWSLETTER_WEB_BASE_URL=f"http://127.0.0.1:{port}", NEWSLETTER_ALLOW_HTTP_LINKS="true")

    def cli(*args):
        return run(*args).stdout

    cli("publications", "load")
    (tmp_path / "list.csv").write_text("email\n" + "\n".join(READERS) + "\n")
    cli("subscribers", "import", "minute-news", str(tmp_path / "list.csv"))

    log = open(tmp_path / "run.log", "w")
    proc = run.start("run", "--port", str(port), stdout=log, stderr=subprocess.STDOUT)
    outbox = tmp_path / "var" / "outbox"
    try:
        wait_for(lambda: len(list(outbox.glob("*.eml"))) == len(READERS), 60, what="the edition in the outbox")
        wait_for(lambda: _get(f"http://127.0.0.1:{port}/healthz") == 200, 30, what="the web server")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert "scheduler stopped" in output and "Traceback" not in output
    db = create_engine(f"sqlite:///{tmp_path / 'var' / 'newsletter.sqlite3'}")
    with db.connect() as c:
        assert c.execute(text("SELECT status, date FROM editions")).one() == ("sent", now.date().isoformat())
        assert c.execute(text("SELECT total_added, last_error FROM feeds")).one() == (2, "")
        assert c.execute(text("SELECT count(*) FROM deliveries WHERE status = 'sent'")).scalar() == len(READERS)
    db.dispose()
    assert "is due: sending" in output
    status = cli("feeds", "status")
    assert "wire" in status and "2 / 2" in status
    assert "wire: not modified, 0 added" in cli("feeds", "poll", "wire")  # by hand: a conditional GET, 304
    with db.connect() as c:  # the same audited function as the console and the API
        assert c.execute(text("SELECT action, via, target FROM audit_log WHERE action = 'feed.poll'")).all() == [
            ("feed.poll", "cli", "feed:wire")]
    db.dispose()


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_a_port_in_use_starts_nothing(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        out = CommandLine.in_folder(tmp_path).attempt("run", "--port", str(port))  # its own process (`run`)
    finally:
        taken.close()
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}") and "nothing was started" in lines[-1]
    assert "scheduler started" not in out.stdout + out.stderr
