"""The in-process limiter, on a fake clock: it waits exactly as long as the window needs."""
from newsletter.transport.ratelimit import LocalLimiter


class FakeTime:
    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_local_limiter_blocks_when_full():
    t = FakeTime()
    limiter = LocalLimiter(per_second=3, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        limiter.wait("example.org")
    assert t.sleeps == []  # within the limit: no wait
    limiter.wait("example.org")
    assert t.sleeps == [1.0]  # the fourth waits until the first leaves the one-second window
    t.now += 0.5
    limiter.wait("example.org")
    assert t.sleeps == [1.0]  # the second message left the window meanwhile: no wait


def test_per_domain_limit_is_per_domain():
    t = FakeTime()
    limiter = LocalLimiter(per_second=0, per_domain=1, clock=t.clock, sleep=t.sleep)
    limiter.wait("gmail.com")
    limiter.wait("yahoo.com")
    assert t.sleeps == []
    limiter.wait("gmail.com")
    assert t.sleeps == [1.0]
