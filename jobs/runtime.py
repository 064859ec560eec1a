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

from config import Settings, load_settings

_lock = threading.Lock()
_handles: dict = {}


def configure(settings: Settings, client=None, connection=None) -> None:
    """Bind this process to ``settings`` (and optionally a ready LINE client
    or Redis connection, as the local all-in-one runner and tests do)."""
    from bot.line_client import LineClient
    from jobs.queue import redis_connection
    from models import init_db
    from services import clock

    with _lock:
        old = _handles.get("client")
        if old is not None and old is not client:
            old.close()
        init_db(settings.database_url)
        clock.configure(settings.demo_clock)
        _handles["settings"] = settings
        _handles["client"] = client or LineClient(
            settings.access_token, settings.line_api_base_url, settings.line_timeout
        )
        _handles["connection"] = connection or redis_connection(settings.redis_url)


def ensure_configured() -> None:
    if "settings" not in _handles:
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
