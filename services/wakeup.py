"""Waking the dispatcher when events are stored.

The webhook stores events and calls ``notify``; the dispatcher waits in
``wait`` between its polls.  Within one process (``make run``, the tests) this
wakes it at once; across processes the dispatcher's own poll finds them.
Best effort by design: a lost wake-up costs at most one poll interval.
"""

from __future__ import annotations

import threading

_events = threading.Event()


def notify() -> None:
    """Events are waiting (called after they are committed)."""
    _events.set()


def wait(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``notify``; True if it came."""
    woken = _events.wait(timeout)
    _events.clear()
    return woken
