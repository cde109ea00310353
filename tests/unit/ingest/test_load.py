from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from newsletter.ingest.load import ingest, store_records
from newsletter.ingest.parse import FeedError, parse_feed
from newsletter.store.models import Article
from tests.helpers import rss

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_duplicates_by_canonical_url_update_instead_of_adding(session, publication):
    first = parse_feed(rss([{"title": "Old headline", "link": "https://x.example.com/a?utm_source=a",
                             "category": "SUPERPOWERS", "date": WHEN}]))
    assert store_records(session, first).added == 1
    again = parse_feed(rss([{"title": "Corrected headline", "link": "https://X.example.com/a#frag",
                             "category": "superpowers", "date": WHEN}]))
    report = store_records(session, again)
    session.commit()
    assert (report.added, report.updated) == (0, 1)
    assert session.scalar(select(func.count()).select_from(Article)) == 1
    assert session.scalar(select(Article.headline)) == "Corrected headline"


def test_unknown_section_is_skipped_with_its_position(session, publication):
    report = store_records(session, parse_feed(rss([
        {"title": "Fine", "link": "https://x.example.com/1", "category": "MISSILE DEFENSE", "date": WHEN},
        {"title": "Where?", "link": "https://x.example.com/2", "category": "GARDENING", "date": WHEN},
    ])))
    assert report.added == 1 and report.problems == [(2, "unknown section 'GARDENING'")]


def test_ingest_from_a_file_and_from_an_http_url(session, publication, tmp_path):
    import http.server
    import threading

    path = tmp_path / "feed.xml"
    path.write_bytes(rss([{"title": "From file", "link": "https://x.example.com/f", "category": "DRONE WAR",
                           "date": WHEN}]))
    assert ingest(session, str(path)).added == 1

    served = rss([{"title": "From http", "link": "https://x.example.com/h", "category": "DRONE WAR", "date": WHEN}])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            self.wfile.write(served)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/feed.xml"
        with pytest.raises(FeedError, match="cannot fetch .*loopback"):  # as a feed: public addresses only
            ingest(session, url)
        assert ingest(session, url, allow_private=True).added == 1
    finally:
        server.shutdown()
