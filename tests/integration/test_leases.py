"""The drive's lease (newsletter/workers/leases.py) against the real Redis: one holder at
a time, and a lease that was lost is noticed at the next renewal."""
import logging
import os
import uuid

import pytest
import redis

from newsletter.workers.leases import Lease, LeaseLost


@pytest.fixture
def client():
    c = redis.Redis.from_url(os.environ.get("NEWSLETTER_TEST_REDIS", "redis://127.0.0.1:6379/9"))
    yield c
    c.close()


def test_one_holder_at_a_time(client):
    key = f"test:lease:{uuid.uuid4().hex}"
    first, second = Lease(client, key, 30, renew_every=0), Lease(client, key, 30, renew_every=0)
    assert first.acquire() and not second.acquire()
    first.renew()  # still ours: the lease is back to its full length
    assert 25_000 < client.pttl(key) <= 30_000
    first.release()
    assert second.acquire()
    second.release()
    assert client.exists(key) == 0


def test_a_lost_lease_is_noticed_and_stops_the_work(client, caplog):
    key = f"test:lease:{uuid.uuid4().hex}"
    first, second = Lease(client, key, 30, renew_every=0), Lease(client, key, 30, renew_every=0)
    assert first.acquire()
    client.delete(key)  # as if it had expired while the drive stalled
    assert second.acquire()  # another drive takes the edition
    with caplog.at_level(logging.WARNING, logger="newsletter.workers.leases"), pytest.raises(LeaseLost):
        first.renew()
    assert "lost" in caplog.text
    first.release()  # not ours any more: the other holder keeps it
    assert client.exists(key) == 1
    second.release()


def test_renewals_are_spaced(client):
    key = f"test:lease:{uuid.uuid4().hex}"
    lease = Lease(client, key, 30, renew_every=3600)
    assert lease.acquire()
    client.delete(key)
    lease.renew()  # within renew_every of the acquisition: Redis is not asked, nothing is noticed yet
    lease.release()


def test_without_redis_the_lease_is_always_held():
    lease = Lease(None, "nl:drive:1", 30, renew_every=0)
    assert lease.acquire()
    lease.renew()
    lease.release()
