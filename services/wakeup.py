"""Waking the dispatcher when there is work, across processes.

The webhook stores events and calls ``notify``; a worker calls it after
handling events (the next event of the same sender may now go).  The
dispatcher waits in ``wait`` between its polls.

- Within one process (``make run``, the tests) ``notify`` wakes it at once.
- Across processes ``notify`` also publishes on a Redis channel, from a
  background thread after the caller has moved on, so neither the webhook
  nor a worker ever waits on Redis — with Redis down the webhook still
  answers 200 and the dispatcher's own poll finds the work.  The dispatcher
  process runs ``listen``, which turns each publication into a local wake.

Best effort by design: a lost wake-up costs at most one poll interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

CHANNEL = "tsunagari:wake"
# At most one publication per process this often: the dispatcher passes at
# most every 20 ms anyway (jobs/dispatch.py MIN_PASS_GAP), and a publication
# per webhook under a storm cost every process on the way CPU for nothing.
PUBLISH_GAP = 0.02

_local = threading.Event()


class _Publisher:
    """Publishes wake-ups from a thread of its own, coalescing bursts: a
    thousand notifications within PUBLISH_GAP cost one more publication,
    not a thousand."""

    def __init__(self, redis_factory: Callable[[], object]):
        self._redis_factory = redis_factory
        self._pending = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wakeup-publisher", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._pending.set()

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            try:
                self._redis_factory().publish(CHANNEL, b"1")
            except Exception as exc:  # Redis down: the poll will find the work
                log.debug("wake-up not published: %s", type(exc).__name__)
                time.sleep(1.0)
            else:
                time.sleep(PUBLISH_GAP)


_publisher: _Publisher | None = None
_lock = threading.Lock()


def configure(redis_factory: Callable[[], object] | None) -> None:
    """Publish wake-ups to the Redis that ``redis_factory()`` returns (None:
    this process only).  Called once per process at start-up."""
    global _publisher
    with _lock:
        if redis_factory is not None and _publisher is None:
            _publisher = _Publisher(redis_factory)


def notify() -> None:
    """There is work (called after it was committed)."""
    _local.set()
    publisher = _publisher
    if publisher is not None:
        publisher.poke()


def wait(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``notify``; True if it came."""
    woken = _local.wait(timeout)
    _local.clear()
    return woken


def listen(redis, stop: threading.Event) -> threading.Thread:
    """Turn wake-ups published by other processes into local ones, until
    ``stop``; reconnects after Redis errors."""

    def run() -> None:
        while not stop.is_set():
            try:
                pubsub = redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while not stop.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        _local.set()
            except Exception as exc:
                log.debug("wake-up listener: %s; retrying", type(exc).__name__)
                stop.wait(1.0)

    thread = threading.Thread(target=run, name="wakeup-listener", daemon=True)
    thread.start()
    return thread
