"""Process-wide wiring for web, worker and scheduler processes.

Holds only replaceable handles (settings, the LINE client, the queue),
never state that matters: every process builds the same handles from the
environment.  ``create_app`` configures it explicitly; an RQ worker process
configures it lazily from the environment on its first job.
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

    with _lock:
        old = _handles.get("client")
        if old is not None and old is not client:
            old.close()
        init_db(settings.database_url)
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
