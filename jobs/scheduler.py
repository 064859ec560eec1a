"""The scheduler process: the sweep, every TICK_SECONDS, until SIGTERM.

A small loop rather than ``rq cron``: the sweep itself holds no state, so
a restart loses nothing, and a missed tick is simply done by the next one.
"""

from __future__ import annotations

import logging
import signal
import threading

from jobs import runtime
from jobs.tasks import run_sweep

log = logging.getLogger(__name__)


def run_once() -> dict:
    return run_sweep()


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    interval = runtime.settings().tick_seconds
    log.info("sweep every %ss", interval)
    while not stop.is_set():
        try:
            counts = run_sweep()
            if any(counts.values()):
                log.info("sweep: %s", counts)
        except Exception:
            log.exception("sweep failed; trying again next tick")
        stop.wait(interval)
