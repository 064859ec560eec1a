"""LINE's rate limit kept by every worker together (jobs/ratelimit.py): sends
are counted in Redis per window of a tenth of a second, shared by every
process; with Redis gone each process keeps the whole rate alone."""

from __future__ import annotations

from collections import Counter

import pytest
from redis.exceptions import ConnectionError

from jobs import ratelimit
from jobs.ratelimit import REDIS_RETRY_AFTER, WINDOW, SharedRateLimit


class FakeTime:
    """time.time and time.sleep on a clock that moves only when slept."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


def windows_of(times: list[float]) -> Counter:
    return Counter(int(t / WINDOW) for t in times)


def test_it_keeps_two_workers_together_under_the_rate(redis_conn, fake_time):
    first, second = SharedRateLimit(redis_conn, rate=50), SharedRateLimit(redis_conn, rate=50)
    sent = []
    for n in range(23):
        (first if n % 2 else second).take("push")
        sent.append(fake_time.now)
    per_window = windows_of(sent)
    assert max(per_window.values()) == 5  # 50 a second, 5 a tenth
    assert len(per_window) == 5  # 23 sends need five windows, not more
    # Every window key expires: nothing piles up in Redis.
    keys = redis_conn.keys("tsunagari:line-rate:push:*")
    assert keys and all(0 < redis_conn.ttl(key) <= 2 for key in keys)


def test_it_takes_slots_from_redis_a_block_at_a_time_and_never_more_than_the_window(redis_conn, fake_time):
    calls = Counter()

    class Counted:
        def incrby(self, key, amount):
            calls["incrby"] += 1
            return redis_conn.incrby(key, amount)

        def expire(self, key, seconds):
            return redis_conn.expire(key, seconds)

    first, second = SharedRateLimit(Counted(), rate=2000), SharedRateLimit(Counted(), rate=2000)
    sent = []
    for n in range(450):
        (first if n % 2 else second).take("push")
        sent.append(fake_time.now)
    per_window = windows_of(sent)
    assert max(per_window.values()) <= 200  # LINE's 2,000 a second, 200 a tenth
    assert len(per_window) <= 4  # at most a block per process lost as a window ends
    assert calls["incrby"] <= 450 / 10 + 8  # a Redis call per block of ten, not per send


def test_it_counts_each_endpoint_apart(redis_conn, fake_time):
    limit = SharedRateLimit(redis_conn, rate=50)
    for _ in range(5):
        limit.take("push")
        limit.take("reply")
    assert fake_time.now == 1_000_000.0  # ten sends, none waited


def test_it_keeps_the_rate_alone_when_redis_is_gone_and_asks_redis_again_later(redis_conn, fake_time):
    calls = []

    class Flaky:
        """Redis that is down, counting how often it is asked."""

        up = False

        def incrby(self, key, amount):
            calls.append(key)
            if not self.up:
                raise ConnectionError("Redis is down")
            return redis_conn.incrby(key, amount)

        def expire(self, key, seconds):
            return redis_conn.expire(key, seconds)

    flaky = Flaky()
    limit = SharedRateLimit(flaky, rate=50)
    sent = []
    for _ in range(12):
        limit.take("push")
        sent.append(fake_time.now)
    assert max(windows_of(sent).values()) == 5
    assert len(calls) == 1  # asked once, not once a send (each ask may cost seconds)
    flaky.up = True
    fake_time.sleep(REDIS_RETRY_AFTER)
    limit.take("push")
    assert len(calls) == 2 and redis_conn.keys("tsunagari:line-rate:push:*")
