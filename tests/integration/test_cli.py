"""The command line as an operator uses it, with its own settings (tests/command_line.py)."""
from __future__ import annotations

import json

from tests.helpers import at, rss


def test_operator_session(run, tmp_path):
    run("publications", "load")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<rss><channel><item><title>broken")
    out = run("ingest", str(bad), ok=False)
    assert out.returncode == 2 and "malformed feed" in out.stderr
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss([
        {"title": "Good", "link": "https://x.example.com/1", "category": "SUPERPOWERS",
         "date": at("2026-11-26T10:00:00")},
        {"title": "No section", "link": "https://x.example.com/2", "category": "COOKING",
         "date": at("2026-11-26T10:00:00")},
    ]))
    out = run("ingest", str(feed))
    assert "skipped entry 2: unknown section 'COOKING'" in out.stdout and "1 added" in out.stdout
    csv = tmp_path / "list.csv"
    csv.write_text("email,name\nann@example.org,Ann\nnot-an-email,Bob\n")
    out = run("subscribers", "import", "spacewar-daily", str(csv), ok=False)
    assert out.returncode == 2 and "line 3" in out.stdout and "nothing imported" in out.stderr
    csv.write_text("email,name\nann@example.org,Ann\nbob@example.org,Bob\n")
    assert "2 added" in run("subscribers", "import", "spacewar-daily", str(csv)).stdout
    out = run("subscribers", "add", "spacewar-daily", "eve@example.org", "--name", "Eve\nBcc: x@example.org", ok=False)
    assert out.returncode == 2 and "line breaks" in out.stderr
    out = run("build", "spacewar-daily", "--date", "2026-11-26")
    assert "1 headlines" in out.stdout
    out = run("preview", "spacewar-daily", "--date", "2026-11-26")
    assert "preview of spacewar-daily for 2026-11-26: 1 headlines for every section (edition 1, built)" in out.stdout
    assert (tmp_path / "var" / "previews").is_dir()
    assert "already built" in run("build", "spacewar-daily", "--date", "2026-11-26").stdout
    out = run("send", "spacewar-daily", "--date", "2026-11-26")
    assert "sent (2 sent)" in out.stdout
    out = run("send", "spacewar-daily", "--date", "2026-11-26")
    assert "(2 sent)" not in out.stdout
    status = run("editions", "status", "1").stdout
    assert "edition 1: sent" in status and "messages/s" in status
    assert run("editions", "pause", "1", ok=False).returncode == 2
    assert "spacewar-daily" in run("stats").stdout
    figures = json.loads(run("stats", "--json").stdout)  # the numbers of the console's charts and the API
    daily = next(p for p in figures["publications"] if p["publication"] == "spacewar-daily")
    assert sum(d["sent"] for d in daily["days"]) == 2 and daily["editions"][0]["date"] == "2026-11-26"
    assert {"clicks", "scanner_clicks", "unsubscribes", "bounces", "complaints"} <= set(daily["days"][0])
    assert figures["editions"][0]["sent"] == 2
    one = json.loads(run("stats", "--json", "--edition", "1").stdout)
    assert one["edition_id"] == 1 and one["headlines"][0]["headline"] == "Good" and one["headlines"][0]["clicks"] == 0
    assert run("build", "no-such-publication", ok=False).returncode == 2
    assert run("build", "spacewar-daily", "--date", "yesterday", ok=False).returncode == 2


def test_newsletter_web_serves_pages(run):
    import time
    import urllib.request

    from tests.integration.servers import free_port

    port = free_port()
    run("publications", "load")
    proc = run.start("web", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/subscribe", timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "SpaceWar Daily" in body and "Subscribe" in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
