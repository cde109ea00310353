"""The shared rate limit against the real Redis: two limiters stand for two workers."""
import os
import uuid

import pytest
import redis

from newsletter.transport.ratelimit import RedisLimiter


@pytest.fixture
def client():
    c = redis.Redis.from_url(os.environ.get("NEWSLETTER_TEST_REDIS", "redis://127.0.0.1:6379/9"))
    yield c
    c.close()


def test_global_limit_is_shared_between_workers(client):
    prefix = f"test:{uuid.uuid4().hex}"
    # a 30 s window keeps the test independent of how fast this machine runs it
    one = RedisLimiter(client, per_second=0.2, prefix=prefix, window=30)  # 6 per window
    two = RedisLimiter(client, per_second=0.2, prefix=prefix, window=30)
    granted = [one.try_acquire("example.org") == 0 for _ in range(4)]
    granted += [two.try_acquire("example.net") == 0 for _ in range(4)]
    assert granted == [True] * 6 + [False] * 2
    assert two.try_acquire("example.com") > 0


def test_per_domain_limit(client):
    prefix = f"test:{uuid.uuid4().hex}"
    limiter = RedisLimiter(client, per_second=0, per_domain=0.1, prefix=prefix, window=30)  # 3 per domain
    assert [limiter.try_acquire("gmail.com") == 0 for _ in range(4)] == [True, True, True, False]
    assert limiter.try_acquire("yahoo.com") == 0
