"""Feeds in the publications file, the address policy of the fetcher, back-off and
section mapping (the polling itself, against a real HTTP server: tests/integration/
test_feed_polling.py)."""
from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select

from newsletter.config import sample_file
from newsletter.ingest.feeds import backoff_seconds, map_sections
from newsletter.ingest.fetch import AddressRefused, checked_addresses, public_only
from newsletter.ingest.models import Feed
from newsletter.ingest.parse import parse_feed
from newsletter.publications.load import PublicationsFileError, apply_publications_file, load_publications
from tests.helpers import at, rss

FEEDS = """
[[feeds]]
name = "wire"
url = "https://www.spacewar.example.com/rss.xml"
section = "superpowers"
categories = { "Missile Defence" = "missile-defense", "UAV" = "drone-war" }
interval_minutes = 10

[[feeds]]
name = "intranet"
url = "http://10.1.2.3/feed"
allow_private = true
"""


def write(tmp_path, extra: str):
    path = tmp_path / "publications.toml"
    path.write_text(sample_file("publications.toml").read_text() + extra)
    return path


def test_feeds_are_declared_in_the_publications_file(session, tmp_path):
    load_publications(session, write(tmp_path, FEEDS))
    wire, intranet = session.scalars(select(Feed).order_by(Feed.name.desc())).all()
    assert (wire.url, wire.section, wire.interval_seconds, wire.allow_private) == (
        "https://www.spacewar.example.com/rss.xml", "superpowers", 600, False)
    assert wire.categories == {"Missile Defence": "missile-defense", "UAV": "drone-war"}
    assert intranet.allow_private and intranet.interval_seconds == 900 and intranet.next_poll_at is None
    # Polled before: a new URL starts afresh; a feed no longer in the file stops.
    wire.etag, wire.next_poll_at = '"abc"', at("2026-11-26T12:00:00")
    session.flush()
    wire_only = FEEDS.replace("rss.xml", "atom.xml").split('[[feeds]]\nname = "intranet"')[0]
    load_publications(session, write(tmp_path, wire_only))
    session.refresh(wire)
    session.refresh(intranet)
    assert wire.url.endswith("atom.xml") and wire.etag == "" and wire.next_poll_at is None
    assert intranet.active is False


def test_a_feed_allowed_private_addresses_is_polled_at_once(session, tmp_path):
    """Refused for a private address, backed off; then allowed in the file: the back-off
    was about the old terms, so the next poll is now."""
    refused = FEEDS.replace("allow_private = true", "allow_private = false")
    assert apply_publications_file(session, write(tmp_path, refused)).feeds == ["wire", "intranet"]
    intranet = session.scalar(select(Feed).where(Feed.name == "intranet"))
    intranet.consecutive_errors, intranet.next_poll_at = 3, at("2026-11-26T13:00:00")
    session.flush()
    result = apply_publications_file(session, write(tmp_path, FEEDS))
    session.refresh(intranet)
    assert (intranet.allow_private, intranet.consecutive_errors, intranet.next_poll_at) == (True, 0, None)
    assert result.feeds_stopped == []
    assert sorted(apply_publications_file(session, write(tmp_path, "")).feeds_stopped) == ["intranet", "wire"]


@pytest.mark.parametrize("bad, message", [
    ('name = "x"\nurl = "ftp://example.com/feed"', "must be an http:// or https:// URL"),
    ('name = "x"\nurl = "https://user:secret@example.com/feed"', "must not carry a user name or password"),
    ('name = "x"\nurl = "https://example.com/feed"\nsection = "cooking"', "unknown sections ['cooking']"),
    ('name = "x"\nurl = "https://example.com/feed"\ncategories = { A = "cooking" }', "unknown sections"),
    ('name = "x"\nurl = "https://example.com/feed"\ninterval_minutes = 0', "interval_minutes"),
    ('name = "Bad Name"\nurl = "https://example.com/feed"', "name"),
])
def test_a_bad_feed_loads_nothing(session, tmp_path, bad, message):
    with pytest.raises(PublicationsFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_publications(session, write(tmp_path, f"\n[[feeds]]\n{bad}\n"))
    session.rollback()


def test_a_feed_declared_twice_is_refused(session, tmp_path):
    twice = '\n[[feeds]]\nname = "x"\nurl = "https://a.example.com/"\n' * 2
    with pytest.raises(PublicationsFileError, match="feed 'x' is declared twice"):
        load_publications(session, write(tmp_path, twice))


@pytest.mark.parametrize("address, refused", [
    ("93.184.216.34", None), ("2606:4700:4700::1111", None),
    ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
    ("10.0.0.1", "a private address"), ("192.168.1.1", "a private address"), ("172.16.0.1", "a private address"),
    ("100.64.0.1", "a private address"), ("fd00::1", "a private address"),
    ("169.254.169.254", "a link-local address"), ("fe80::1", "a link-local address"),
    ("::ffff:127.0.0.1", "a loopback address"), ("0.0.0.0", "not a unicast address"),
    ("224.0.0.1", "not a unicast address"),
])
def test_only_public_unicast_addresses_by_default(address, refused):
    assert public_only(ipaddress.ip_address(address)) == refused


def test_every_address_of_a_name_is_checked():
    # A name that resolves to a public and a private address is refused as a whole: the
    # connection could go to either.
    with pytest.raises(AddressRefused, match="feeds.example.com resolves to 10.0.0.7, a private address"):
        checked_addresses("feeds.example.com", 443, lambda host, port: ["93.184.216.34", "10.0.0.7"], public_only)
    assert checked_addresses("feeds.example.com", 443, lambda h, p: ["93.184.216.34"], public_only) == [
        "93.184.216.34"]


def test_back_off_doubles_up_to_the_ceiling_and_respects_retry_after():
    assert [backoff_seconds(600, n, 6 * 3600) for n in (1, 2, 3, 5, 9)] == [1200, 2400, 4800, 19200, 21600]
    assert backoff_seconds(600, 1, 6 * 3600, retry_after=7200) == 7200
    assert backoff_seconds(86400, 3, 6 * 3600) == 86400  # never sooner than the interval itself


def test_sections_from_the_category_table_then_the_category_then_the_default(session, tmp_path):
    load_publications(session, write(tmp_path, FEEDS))
    wire = session.scalar(select(Feed).where(Feed.name == "wire"))
    parsed = parse_feed(rss([
        {"title": t, "link": f"https://x.example.com/{n}", "date": at("2026-11-26T10:00:00"), **extra}
        for n, (t, extra) in enumerate([("a", {"category": "Missile Defence"}), ("b", {"category": "DRONE WAR"}),
                                        ("c", {"category": "Cooking"}), ("d", {})])]), wire.section)
    sections = [r.section for _, r in map_sections(session, wire, parsed).records]
    assert sections == ["missile-defense", "DRONE WAR", "superpowers", "superpowers"]
