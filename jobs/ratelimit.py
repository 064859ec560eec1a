"""Keeping every worker together under LINE's rate limit.

LINE allows about 2,000 requests a second per endpoint for the whole channel
(429 beyond, and a 429 means nothing was sent: the outbox retries it after a
backoff, which on the night of an earthquake costs seconds).  Each worker
sends with up to LINE_CONCURRENCY calls in flight, so two workers at full
speed would overshoot.  ``SharedRateLimit.take`` counts sends in Redis in
windows of a tenth of a second, shared by every process, and makes a caller
wait for the next window when this one is full.  A process takes its slots
from Redis a block at a time (MAX_BLOCK), so a send rarely waits on Redis.

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


# Slots a process takes from Redis at once, at most: one Redis call per send
# cost 0.28 ms of a worker's CPU per push (a third of it) at a quake's
# thousands a second.  Slots taken and not used before their window ends are
# lost, so a block is at most a twentieth of a window's slots.
MAX_BLOCK = 10


class SharedRateLimit:
    def __init__(self, connection, rate: float, key: str = "tsunagari:line-rate"):
        self._redis = connection
        self._per_window = max(1, int(rate * WINDOW))
        self._block = max(1, min(MAX_BLOCK, self._per_window // 20))
        self._key = key
        self._lock = threading.Lock()
        # Slots of the current window this process holds, per endpoint.
        self._held: dict[str, tuple[int, int]] = {}
        self._local: dict[tuple[str, int], int] = {}
        self._redis_down_until = 0.0

    def take(self, endpoint: str) -> None:
        """Block until one call to ``endpoint`` may go."""
        while True:
            window = int(time.time() / WINDOW)
            with self._lock:
                held_window, slots = self._held.get(endpoint, (window, 0))
                if held_window == window and slots > 0:
                    self._held[endpoint] = (window, slots - 1)
                    return
            granted = self._reserve(endpoint, window)
            if granted > 0:
                with self._lock:
                    held_window, slots = self._held.get(endpoint, (window, 0))
                    slots = slots if held_window == window else 0
                    self._held[endpoint] = (window, slots + granted - 1)
                return
            time.sleep(max(0.0, (window + 1) * WINDOW - time.time()))

    def _reserve(self, endpoint: str, window: int) -> int:
        """Take up to a block of ``window``'s slots; how many were free."""
        key = f"{self._key}:{endpoint}:{window}"
        if time.time() >= self._redis_down_until:
            try:
                # The window's first taker sets its expiry.  A worker killed
                # between the two leaves one small key behind.
                total = int(self._redis.incrby(key, self._block))
                if total == self._block:
                    self._redis.expire(key, 2)
                return max(0, min(self._block, self._per_window - (total - self._block)))
            except (RedisError, OSError):
                self._redis_down_until = time.time() + REDIS_RETRY_AFTER
        with self._lock:
            self._local = {k: v for k, v in self._local.items() if k[1] >= window}
            used = self._local.get((endpoint, window), 0)
            granted = max(0, min(self._block, self._per_window - used))
            self._local[(endpoint, window)] = used + self._block
            return granted
