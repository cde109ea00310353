"""The demo's sample headlines all fall in today's window, whatever the hour it runs."""
from datetime import UTC, datetime, timedelta

from newsletter.demo import sample_articles


def test_a_short_window_holds_every_sample_headline_in_their_order():
    end = datetime(2026, 12, 8, 5, 10, tzinfo=UTC)
    for hours in (0.5, 2, 6, 18, 30):
        start = end - timedelta(hours=hours)
        records = [r for _, r in sample_articles(end - timedelta(minutes=20), oldest_after=start).records]
        times = [r.published_at for r in records]
        assert len(times) == 30 and max(times) == end - timedelta(minutes=20)
        assert all(start < t <= end for t in times), hours
        unshifted = [r.published_at for _, r in sample_articles(end).records]
        assert sorted(range(30), key=times.__getitem__) == sorted(range(30), key=unshifted.__getitem__)


def test_without_a_window_start_the_dates_only_move():
    end = datetime(2026, 12, 8, 5, 10, tzinfo=UTC)
    a = [r.published_at for _, r in sample_articles(end).records]
    b = [r.published_at for _, r in sample_articles(end - timedelta(hours=1)).records]
    assert all(x - y == timedelta(hours=1) for x, y in zip(a, b, strict=True))
