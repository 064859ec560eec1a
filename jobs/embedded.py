"""Everything in one process, for ``make run`` and for tests.

The production processes (web, worker, scheduler) run here as threads: the
Flask app on werkzeug, an RQ worker thread and the sweep thread.  With no
REDIS_URL, RQ runs on an in-process fakeredis; with no LINE credentials, the
built-in LINE Platform emulator answers the bot's API calls and the
simulator page plays the members' phones.  The database is still the truth,
so stopping and starting again loses nothing.
"""

from __future__ import annotations

import logging
import threading

from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from jobs import runtime
from jobs.queue import get_queue
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
        worker = ThreadWorker([get_queue(runtime.connection())], connection=runtime.connection())
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


def run_local(port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve the bot (and, without LINE credentials, the emulator and the
    simulator page) until Ctrl-C."""
    import os

    from werkzeug.serving import make_server

    from config import ConfigError, load_settings
    from models import create_schema

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise SystemExit(f"tsunagari: configuration error: {exc}") from None
    base = f"http://{host}:{port}"
    if settings.emulator and not os.environ.get("LINE_API_BASE_URL"):
        settings = settings.with_(line_api_base_url=base + "/line-api")
    if settings.emulator:
        from emulator.local import create_local_app

        app = create_local_app(settings, base)
    else:
        from app import create_app

        app = create_app(settings)
    create_schema()

    stop = threading.Event()
    start_worker_thread(stop)
    start_sweep_thread(stop)
    server = make_server(host, port, app, threaded=True)
    mode = "LINE emulator + simulator" if settings.emulator else "real LINE"
    print(f"\n  つながり is running ({mode}, Redis: {'REDIS_URL' if settings.redis_url else 'in-process'})")
    print(f"  open {base}/   (healthz: {base}/healthz)   Ctrl-C to stop\n", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
