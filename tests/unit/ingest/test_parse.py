from datetime import UTC, datetime

import pytest

from newsletter.ingest.parse import FeedError, parse_any, parse_feed, parse_json_lines
from tests.helpers import rss

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_rss_entries_become_records_with_canonical_urls_and_plain_teasers():
    result = parse_feed(rss([{"title": "North Korea fires two missiles", "category": "SUPERPOWERS",
                              "link": "https://www.spacewar.example.com/a.html?utm_medium=x#c",
                              "description": "<p>Seoul <b>said</b> &amp; more</p>", "date": WHEN}]))
    assert result.problems == []
    (pos, rec), = result.records
    assert pos == 1 and rec.url == "https://www.spacewar.example.com/a.html"
    assert rec.teaser == "Seoul said & more" and rec.published_at == WHEN and rec.section == "SUPERPOWERS"


def test_bad_entries_are_reported_by_position_and_the_rest_goes_in():
    result = parse_feed(rss([
        {"title": "good one", "link": "https://x.example.com/1", "category": "s", "date": WHEN},
        {"link": "https://x.example.com/2", "category": "s", "date": WHEN},
        {"title": "no link", "category": "s", "date": WHEN},
        {"title": "bad date", "link": "https://x.example.com/4", "category": "s", "date": "yesterday-ish"},
        {"title": "good two", "link": "https://x.example.com/5", "category": "s", "date": WHEN},
    ]))
    assert [p for p, _ in result.records] == [1, 5]
    problems = dict(result.problems)
    assert set(problems) == {2, 3, 4}
    assert "headline" in problems[2] and "link" in problems[3] and "date" in problems[4]


def test_cr_lf_in_a_headline_is_folded_to_one_line():
    result = parse_feed(rss([{"title": "Line one\r\nBcc: evil@example.com", "link": "https://x.example.com/1",
                              "category": "s", "date": WHEN}]))
    assert result.records[0][1].headline == "Line one Bcc: evil@example.com"


@pytest.mark.parametrize("data", [b"<rss><channel><item><title>x", b"this is not a feed", b""])
def test_malformed_feeds_are_refused_whole(data):
    with pytest.raises(FeedError):
        parse_feed(data)


def test_atom_is_read():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2026-11-26T12:00:00Z</updated>
<entry><title>Atom headline</title><link href="https://x.example.com/atom"/><id>urn:1</id>
<updated>2026-11-26T12:00:00Z</updated><category term="missile-defense"/><summary>S</summary></entry></feed>"""
    (_, rec), = parse_feed(atom).records
    assert rec.headline == "Atom headline" and rec.section == "missile-defense" and rec.published_at == WHEN


def test_json_lines_good_and_bad_lines():
    data = b"\n".join([
        b'{"url": "https://x.example.com/1", "headline": "H1", "section": "superpowers", '
        b'"published": "2026-11-26T12:00:00Z"}',
        b'{"url": "https://x.example.com/2", "headline": "H2", "section": "superpowers", '
        b'"published": "2026-11-26T12:00:00"}',
        b'not json',
        b'[1, 2]',
        b'{"url": "https://x.example.com/5", "headline": "", "section": "superpowers", '
        b'"published": "2026-11-26T12:00:00Z"}',
    ])
    result = parse_any(data, "feed.jsonl")
    assert [p for p, _ in result.records] == [1]
    assert [p for p, _ in result.problems] == [2, 3, 4, 5]
    assert result.records[0][1].published_at == WHEN


def test_json_lines_must_be_utf8():
    with pytest.raises(FeedError):
        parse_json_lines(b"\xff\xfe{}")


def test_control_characters_never_reach_the_store():
    data = (b'{"url": "https://x.example.com/c", "headline": "Launch\\u0000 \\u001b[31mtoday\\u007f\\u009b", '
            b'"teaser": "Bell\\u0007 here", "section": "superpowers", "byline": "A\\u0000B", '
            b'"published": "2026-11-26T12:00:00Z"}')
    (position, record), = parse_any(data, "feed.jsonl").records
    assert record.headline == "Launch [31mtoday" and record.teaser == "Bell here" and record.byline == "AB"
