"""Process-wide handles for the job processes (worker, scheduler, the
all-in-one runner): the settings, the LINE client and the Redis connection.

A job process configures them once when it starts (``configure``); an RQ
worker that was not started through jobs/worker.py configures them from the
environment on its first job.  They are replaceable handles, never state
that matters: every process builds the same ones from the environment.
The web app keeps its own in ``app.extensions`` (app.py).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from config import Settings, load_settings

_lock = threading.Lock()
_handles: dict = {}


def configure(settings: Settings, client=None, connection=None) -> None:
    """Bind this process to ``settings`` (and optionally a ready LINE client
    or Redis connection, as the local all-in-one runner and tests do)."""
    from bot.line_client import LineClient
    from jobs.queue import redis_connection
    from jobs.ratelimit import SharedRateLimit
    from models import init_db
    from services import clock, wakeup

    with _lock:
        old = _handles.get("client")
        if old is not None and old is not client:
            old.close()
        init_db(settings.database_url)
        clock.configure(settings.demo_clock)
        _handles["settings"] = settings
        _handles["client"] = client or LineClient(
            settings.access_token,
            settings.line_api_base_url,
            settings.line_timeout,
            settings.line_concurrency,
        )
        _handles["connection"] = connection or redis_connection(settings.redis_url)
        if "pool" not in _handles or _handles["pool"]._max_workers != settings.line_concurrency:
            _handles["pool"] = ThreadPoolExecutor(settings.line_concurrency, thread_name_prefix="line")
        _handles["rate"] = SharedRateLimit(_handles["connection"], settings.line_rate_limit)
        if settings.redis_url:
            connection_now = _handles["connection"]
            wakeup.configure(lambda: connection_now)


def ensure_configured(settings: Settings | None = None) -> None:
    """Configured from the environment if nothing configured this process yet;
    with ``settings``, bound to exactly those (a CLI command runs with the
    settings of the app it was given, which may not be the environment's)."""
    if settings is not None:
        if _handles.get("settings") is not settings:
            configure(settings)
    elif "settings" not in _handles:
        configure(load_settings())


def settings() -> Settings:
    ensure_configured()
    return _handles["settings"]


def client():
    ensure_configured()
    return _handles["client"]


def connection():
    ensure_configured()
    return _handles["connection"]


def io_pool() -> ThreadPoolExecutor:
    """Threads for LINE calls (network only, never the database): sends and
    reads overlap LINE's latency instead of waiting one after another."""
    ensure_configured()
    return _handles["pool"]


def rate_limit():
    """The rate every worker keeps together (jobs/ratelimit.py)."""
    ensure_configured()
    return _handles["rate"]
