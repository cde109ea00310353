import pytest

from newsletter.store.urls import InvalidURL, canonical_url


def test_tracking_parameters_and_fragment_are_removed():
    assert canonical_url("HTTPS://WWW.Example.com:443/a/b.html?utm_source=rss&id=7&fbclid=x#top") == \
        "https://www.example.com/a/b.html?id=7"


def test_non_default_port_is_kept_and_empty_path_becomes_slash():
    assert canonical_url("http://example.com:8080") == "http://example.com:8080/"


@pytest.mark.parametrize("bad", ["", "ftp://example.com/x", "javascript:alert(1)", "/relative/path"])
def test_non_http_urls_are_refused(bad):
    with pytest.raises(InvalidURL):
        canonical_url(bad)
