"""Feed polling against a real HTTP server on loopback (http.server in a thread).

The server serves a feed that changes, answers conditional requests with 304, fails
with 500, hangs past the timeout, and redirects (to itself, and to internal
addresses). The feed "wire" is allowed to fetch loopback (the test's own server is
there); the feed "outsider" is not, and is refused before any connection is made.
"""
from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.ingest.feeds import poll_due, poll_feed
from newsletter.ingest.fetch import AddressRefused, FetchError, fetch, public_only
from newsletter.ingest.models import Feed
from newsletter.publications.load import load_publications
from newsletter.store.models import Article
from tests.conftest import at
from tests.helpers import rss

T0 = at("2026-11-26T09:00:00")


class FeedServer:
    """Routes: /feed (the feed; ETag and Last-Modified, 304 when unchanged, or 500 or a
    hang, as `mode` says), /moved (302 to /feed), /to-metadata and /to-loopback (302 to
    internal addresses)."""

    def __init__(self):
        self.items = [self.item(1), self.item(2)]
        self.mode = "ok"
        self.requests: list[tuple[str, dict]] = []
        self.release = threading.Event()  # lets a hanging answer go when the test ends
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests.append((self.path, dict(self.headers)))
                redirects = {"/moved": "/feed", "/to-metadata": "http://169.254.169.254/latest/meta-data/",
                             "/to-loopback": f"http://127.0.0.2:{owner.port}/feed"}
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.end_headers()
                    return
                if owner.mode == "500":
                    self.send_error(500, "Internal Server Error")
                    return
                if owner.mode == "hang":
                    owner.release.wait(30)
                    return
                body = rss(owner.items)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Thu, 26 Nov 2026 08:00:00 GMT")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def item(n: int) -> dict:
        return {"title": f"Wire story {n}", "link": f"https://www.spacewar.example.com/wire/{n}.html",
                "category": "SUPERPOWERS", "description": "Teaser.", "date": T0 - timedelta(hours=n)}

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


@pytest.fixture
def server():
    s = FeedServer()
    s.thread.start()
    yield s
    s.release.set()
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture
def feeds(session, settings, tmp_path, server):
    path = tmp_path / "publications.toml"
    path.write_text(sample_file("publications.toml").read_text() + f"""
[[feeds]]
name = "wire"
url = "{server.url}/feed"
interval_minutes = 15
allow_private = true   # the test's own server is on loopback

[[feeds]]
name = "outsider"
url = "{server.url}/feed"
interval_minutes = 15
""")
    load_publications(session, path)
    session.commit()
    settings.feed_timeout_seconds = 1.0
    return session


def status(engine, name: str) -> Feed:
    with Session(engine) as s:
        return s.scalar(select(Feed).where(Feed.name == name))


def articles(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Article))


def test_polls_on_the_interval_with_conditional_get_back_off_and_refusals(engine, settings, feeds, server):
    first = {r.name: r for r in poll_due(engine, settings, T0)}
    assert (first["wire"].outcome, first["wire"].added) == ("new", 2)
    assert first["outsider"].outcome == "error" and "127.0.0.1, a loopback address" in first["outsider"].error
    assert server.paths() == ["/feed"]  # the outsider never connected
    wire = status(engine, "wire")
    assert (wire.last_success_at, wire.next_poll_at, wire.last_added, wire.total_added) == (
        T0, T0 + timedelta(minutes=15), 2, 2)
    assert wire.etag.startswith('"') and wire.last_modified == "Thu, 26 Nov 2026 08:00:00 GMT"

    assert poll_due(engine, settings, T0 + timedelta(minutes=5)) == []  # nothing is due
    assert len(server.requests) == 1

    # Unchanged: a conditional GET, answered 304.
    (r,) = [r for r in poll_due(engine, settings, T0 + timedelta(minutes=15)) if r.name == "wire"]
    assert r.outcome == "not modified" and r.added == 0
    headers = server.requests[-1][1]
    assert headers["If-None-Match"] == wire.etag and headers["If-Modified-Since"] == wire.last_modified

    # The feed changes: one more article, the others not twice.
    server.items.insert(0, server.item(3))
    r = poll_feed(engine, settings, "wire", T0 + timedelta(minutes=30))
    assert (r.outcome, r.added, r.updated) == ("new", 1, 2) and articles(engine) == 3

    # 500: an error, and the next poll backs off (15 min x 2, then x 4).
    server.mode = "500"
    r = poll_feed(engine, settings, "wire", T0 + timedelta(minutes=45))
    assert r.outcome == "error" and r.error == "HTTP 500 Internal Server Error"
    assert r.next_poll_at == T0 + timedelta(minutes=45 + 30)
    assert poll_feed(engine, settings, "wire", T0 + timedelta(minutes=60)).outcome == "busy"  # not due yet
    r = poll_feed(engine, settings, "wire", T0 + timedelta(minutes=75))
    assert r.next_poll_at == T0 + timedelta(minutes=75 + 60)
    assert status(engine, "wire").consecutive_errors == 2

    # A server that does not answer: the timeout (1 s here), an error like any other.
    server.mode = "hang"
    r = poll_feed(engine, settings, "wire", T0 + timedelta(minutes=135))
    assert r.outcome == "error" and r.error == "no answer within 1s"
    server.release.set()

    # Back: the errors in a row start again from zero; the last error stays to be seen.
    server.mode = "ok"
    r = poll_feed(engine, settings, "wire", T0 + timedelta(hours=6), force=True)
    assert r.outcome in ("new", "not modified")
    wire = status(engine, "wire")
    assert wire.consecutive_errors == 0 and wire.last_success_at == T0 + timedelta(hours=6)
    assert wire.last_error == "no answer within 1s" and wire.next_poll_at == T0 + timedelta(hours=6, minutes=15)
    outsider = status(engine, "outsider")
    assert outsider.total_added == 0 and "refused" in outsider.last_error


def test_redirects_are_followed_and_checked_again(server):
    # Allowed to fetch private addresses: a redirect on the same server is followed.
    assert fetch(f"{server.url}/moved", allow_private=True, timeout=5).status == 200
    assert server.paths() == ["/moved", "/feed"]
    # A server that counts as public (this one, for the test) redirecting inside the
    # network: the new address is checked before any connection to it is made.
    as_if_public = lambda ip: None if str(ip) == "127.0.0.1" else public_only(ip)  # noqa: E731
    with pytest.raises(AddressRefused, match="169.254.169.254, a link-local address"):
        fetch(f"{server.url}/to-metadata", policy=as_if_public, timeout=5)
    with pytest.raises(AddressRefused, match="127.0.0.2, a loopback address"):
        fetch(f"{server.url}/to-loopback", policy=as_if_public, timeout=5)
    assert server.paths() == ["/moved", "/feed", "/to-metadata", "/to-loopback"]  # nothing reached after them


def test_the_size_limit(server):
    server.items = [server.item(n) for n in range(1, 200)]
    with pytest.raises(FetchError, match="feed larger than 4096 bytes"):
        fetch(f"{server.url}/feed", allow_private=True, timeout=5, max_bytes=4096)
