"""Sign-up counters: in Redis (shared by web processes) and in the process."""
import os
import uuid

import redis

from newsletter.limits import Counters


def test_counters_in_redis_are_shared():
    client = redis.Redis.from_url(os.environ.get("NEWSLETTER_TEST_REDIS", "redis://127.0.0.1:6379/9"))
    prefix = f"test:{uuid.uuid4().hex}"
    a, b = Counters(client, prefix), Counters(client, prefix)
    results = [a.hit("ip:1.2.3.4", 3, 3600), b.hit("ip:1.2.3.4", 3, 3600),
               a.hit("ip:1.2.3.4", 3, 3600), b.hit("ip:1.2.3.4", 3, 3600)]
    assert results == [True, True, True, False]
    assert a.hit("ip:5.6.7.8", 3, 3600)


def test_a_hit_is_never_given_back_to_the_next_window():
    now = [1000.0]
    c = Counters(None, clock=lambda: now[0])
    at = c.clock()
    assert c.hit("acct:x", 1, 60)
    now[0] += 61  # the window ended during the sign-in; a new one holds someone's failure
    assert c.hit("acct:x", 1, 60)
    c.give_back("acct:x", 60, at)
    assert not c.hit("acct:x", 1, 60)  # that failure still counts


def test_counters_in_process():
    c = Counters(None)
    assert [c.hit("email:x", 2, 3600) for _ in range(3)] == [True, True, False]


def test_a_hit_given_back_does_not_count_in_redis_or_in_process():
    client = redis.Redis.from_url(os.environ.get("NEWSLETTER_TEST_REDIS", "redis://127.0.0.1:6379/9"))
    for c in (Counters(client, f"test:{uuid.uuid4().hex}"), Counters(None)):
        for _ in range(5):  # five sign-ins that worked
            at = c.clock()
            assert c.hit("acct:x", 2, 3600)
            c.give_back("acct:x", 3600, at)
        assert [c.hit("acct:x", 2, 3600) for _ in range(3)] == [True, True, False]
        c.give_back("acct:never-hit", 3600, c.clock())  # nothing to give back: never below zero
        assert [c.hit("acct:never-hit", 1, 3600) for _ in range(2)] == [True, False]
