"""A lead image from a feed entry: media:content, then an enclosure; https only."""
from datetime import timedelta

from newsletter.ingest.load import store_records
from newsletter.ingest.parse import parse_feed
from newsletter.store.models import Article
from tests.helpers import at

NOW = at("2026-11-26T10:00:00")


def feed(item_extra: str) -> bytes:
    return f'''<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<link>https://www.example.com/</link><description>d</description>
<item><title>Rocket rolls out</title><link>https://www.example.com/a</link><category>superpowers</category>
<description>Teaser</description><pubDate>Thu, 26 Nov 2026 09:00:00 GMT</pubDate>{item_extra}</item>
</channel></rss>'''.encode()


def image_of(data: bytes):
    result = parse_feed(data)
    assert not result.problems
    return result.records[0][1].image


def test_media_content_with_its_size_and_description():
    image = image_of(feed('<media:content url="https://img.example.com/a.jpg" medium="image" width="1200" '
                          'height="675"><media:description>The rocket at dawn</media:description></media:content>'))
    assert (image.url, image.width, image.height, image.alt) == ("https://img.example.com/a.jpg", 1200, 675,
                                                                  "The rocket at dawn")


def test_an_enclosure_has_no_size_and_an_empty_alt():
    image = image_of(feed('<enclosure url="https://img.example.com/b.png" type="image/png" length="10"/>'))
    assert (image.url, image.width, image.height, image.alt) == ("https://img.example.com/b.png", None, None, "")


def test_none_when_the_feed_has_none_or_not_an_https_image():
    assert image_of(feed("")) is None
    assert image_of(feed('<enclosure url="http://img.example.com/b.png" type="image/png" length="10"/>')) is None
    assert image_of(feed('<enclosure url="https://img.example.com/a.mp3" type="audio/mpeg" length="10"/>')) is None
    odd = image_of(feed('<media:content url="https://img.example.com/c.jpg" type="image/jpeg" width="-3" '
                        'height="huge"/>'))
    assert (odd.width, odd.height) == (None, None)  # left out rather than guessed


def test_stored_on_the_article(session, publication):
    result = parse_feed(feed('<media:content url="https://img.example.com/a.jpg" medium="image" width="800" '
                             'height="450"/>'))
    store_records(session, result, NOW + timedelta(minutes=1))
    article = session.query(Article).one()
    assert (article.image_url, article.image_width, article.image_height) == ("https://img.example.com/a.jpg", 800, 450)
    store_records(session, parse_feed(feed("")), NOW + timedelta(minutes=2))  # the feed drops the image
    session.flush()
    assert session.query(Article).one().image_url == ""
