"""Feed polling against a real HTTP server on loopback (feed_server.py: a feed that
changes, answers conditional requests with 304, fails with 500, hangs past the timeout,
and redirects to itself and to internal addresses). The feed "wire" is allowed to fetch
loopback (the test's own server is there); the feed "outsider" is not, and is refused
before any connection is made.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.ingest.feeds import poll_due, poll_feed
from newsletter.ingest.fetch import AddressRefused, FetchError, fetch, public_only
from newsletter.ingest.models import Feed
from newsletter.publications.load import load_publications
from newsletter.store.models import Article
from tests.helpers import at
from tests.integration.feed_server import FeedServer

T0 = at("2026-11-26T09:00:00")


@pytest.fixture
def server():
    s = FeedServer(T0).start()
    yield s
    s.stop()


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


def test_allow_private_holds_for_the_feeds_own_host_and_port_only(server):
    """A feed on an internal server may be fetched; its redirect into another port (here
    PostgreSQL's) is refused before any connection, and the error names where it went."""
    with pytest.raises(AddressRefused) as refused:
        fetch(f"{server.url}/to-other-port", allow_private=True, timeout=5)
    assert str(refused.value) == (
        "refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address (after a redirect to http://127.0.0.1:5432/); "
        f"allow_private covers only the feed's own 127.0.0.1:{server.port}")
    with pytest.raises(AddressRefused, match=r"after a redirect to http://127.0.0.2:\d+/feed"):
        fetch(f"{server.url}/to-loopback", allow_private=True, timeout=5)  # another host, the same port
    with pytest.raises(FetchError) as missing:
        fetch(f"{server.url}/to-missing", allow_private=True, timeout=5)
    assert str(missing.value) == f"HTTP 404 Not Found (after a redirect to {server.url}/missing)"  # no query
    assert server.paths() == ["/to-other-port", "/to-loopback", "/to-missing", "/missing?key=secret"]


def test_the_size_limit(server):
    server.items = [server.item(n) for n in range(1, 200)]
    with pytest.raises(FetchError, match="feed larger than 4096 bytes"):
        fetch(f"{server.url}/feed", allow_private=True, timeout=5, max_bytes=4096)
