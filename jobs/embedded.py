"""The job processes as threads of one process, for ``make run`` (app.py's
``run_local``) and for tests: an RQ worker thread and the scheduler thread.
With no REDIS_URL, RQ runs on an in-process fakeredis.  The database is
still the truth, so stopping and starting again loses nothing.
"""

from __future__ import annotations

import logging
import threading

from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from jobs import runtime
from jobs.queue import all_queues
from jobs.scheduler import run_forever

log = logging.getLogger(__name__)


class ThreadWorker(SimpleWorker):
    """An RQ worker that can live in a thread: SIGALRM-based job timeouts
    and signal handlers only work in the main thread."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass

    # RQ listens on a pub/sub channel for remote commands (rq suspend, kill
    # horse); a worker inside this process has no use for them, and stopping
    # the listener costs up to a second at the end of every burst.
    def subscribe(self):
        pass

    def unsubscribe(self):
        pass


def start_worker_thread(stop: threading.Event) -> threading.Thread:
    def work():
        worker = ThreadWorker(all_queues(runtime.connection()), connection=runtime.connection())
        while not stop.is_set():
            try:
                # Short bursts so the thread notices ``stop`` promptly.
                worker.work(burst=True, logging_level="WARNING")
            except Exception:
                log.exception("worker thread error")
            stop.wait(0.2)

    thread = threading.Thread(target=work, name="rq-worker", daemon=True)
    thread.start()
    return thread


def start_sweep_thread(stop: threading.Event) -> threading.Thread:
    """The scheduler's two loops: the sweep, and the event dispatcher (which
    the webhook wakes at once in this process)."""
    thread = threading.Thread(target=run_forever, args=(stop,), name="sweep", daemon=True)
    thread.start()
    return thread
