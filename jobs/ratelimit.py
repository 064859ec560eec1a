"""Keeping every worker together under LINE's rate limit.

LINE allows about 2,000 requests a second per endpoint for the whole channel
(429 beyond, and a 429 means nothing was sent: the outbox retries it after a
backoff, which on the night of an earthquake costs seconds).  Each worker
sends with up to LINE_CONCURRENCY calls in flight, so two workers at full
speed would overshoot.  ``SharedRateLimit.take`` counts sends in Redis in
windows of a tenth of a second, shared by every process, and makes a caller
wait for the next window when this one is full.

Best effort, as everything in Redis: when Redis does not answer, each
process keeps the whole rate alone (LINE's 429s and the outbox's retries
then keep the sum honest).
"""

from __future__ import annotations

import threading
import time

from redis.exceptions import RedisError

WINDOW = 0.1  # seconds
# After Redis failed, sends are counted locally this long before Redis is
# asked again: a connection attempt (with redis-py's retries, seconds) must
# not be paid by every send while it is down.
REDIS_RETRY_AFTER = 5.0


class SharedRateLimit:
    def __init__(self, connection, rate: float, key: str = "tsunagari:line-rate"):
        self._redis = connection
        self._per_window = max(1, int(rate * WINDOW))
        self._key = key
        self._lock = threading.Lock()
        self._local: dict[tuple[str, int], int] = {}
        self._redis_down_until = 0.0

    def take(self, endpoint: str) -> None:
        """Block until one call to ``endpoint`` may go."""
        while True:
            window = int(time.time() / WINDOW)
            if self._count(endpoint, window) <= self._per_window:
                return
            time.sleep(max(0.0, (window + 1) * WINDOW - time.time()))

    def _count(self, endpoint: str, window: int) -> int:
        key = f"{self._key}:{endpoint}:{window}"
        if time.time() >= self._redis_down_until:
            try:
                # One round trip per send (this runs for every send of a
                # quake's thousands); the window's first send sets its expiry.
                # A worker killed between the two leaves one small key behind.
                count = int(self._redis.incr(key))
                if count == 1:
                    self._redis.expire(key, 2)
                return count
            except (RedisError, OSError):
                self._redis_down_until = time.time() + REDIS_RETRY_AFTER
        with self._lock:
            self._local = {k: v for k, v in self._local.items() if k[1] >= window}
            count = self._local.get((endpoint, window), 0) + 1
            self._local[(endpoint, window)] = count
            return count
