"""The scheduler process: the sweep every TICK_SECONDS and the event
dispatcher a few times a second, until SIGTERM.

Small loops rather than ``rq cron``: neither holds state, so a restart loses
nothing, and a missed tick is simply done by the next one.  Run exactly one
scheduler; a second one would only duplicate work that the claims then
discard.
"""

from __future__ import annotations

import logging
import signal
import threading

from jobs import runtime
from jobs.dispatch import dispatch_events, run_dispatcher
from jobs.tasks import run_sweep
from models import connected, db, drop_connection
from services import clock, wakeup

log = logging.getLogger(__name__)


def run_once() -> dict:
    return run_sweep()


def dispatch_once() -> int:
    runtime.ensure_configured()
    with connected():
        return dispatch_events(clock.now(), runtime.connection())


def dispatch_on_held_connection() -> int:
    """dispatch_once on a database connection this thread keeps between
    passes (a pass every few milliseconds under a storm: on PostgreSQL a new
    connection each time cost a server process each time).  A pass that
    fails drops the connection, so a database that went away is reconnected
    to on the next pass."""
    runtime.ensure_configured()
    if db.is_closed():
        db.connect()
    try:
        return dispatch_events(clock.now(), runtime.connection())
    except Exception:
        drop_connection()
        raise


def start_dispatcher(stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_dispatcher, args=(stop, dispatch_on_held_connection), name="dispatcher", daemon=True
    )
    thread.start()
    return thread


def run_forever(stop: threading.Event | None = None, dispatcher: bool = True) -> None:
    """Sweep every TICK_SECONDS (and run the dispatcher beside it) until
    ``stop`` is set or the process gets SIGTERM/SIGINT."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    if dispatcher:
        if runtime.settings().redis_url:
            # Wake-ups published by web and worker processes.
            wakeup.listen(runtime.connection(), stop)
        start_dispatcher(stop)
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
