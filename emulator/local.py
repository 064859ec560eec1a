"""``create_local_app``: the bot, the LINE emulator and the simulator page as
one WSGI app, for ``make run`` without a LINE account.

One origin serves everything, so the simulator page can fetch() the
emulator's ``/_sim/`` endpoints without CORS, and the bot reaches "LINE"
over real HTTP exactly as in production::

    /                 the simulator page (emulator.simulator)
    /simulator/...    its form and clock endpoints
    /callback         the bot's webhook (the emulator POSTs here)
    /healthz          the bot's health check, unchanged
    /line-api/...     the emulated LINE Platform (emulator.api)
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from config import Settings
from emulator.api import create_emulator_app
from emulator.platform import LinePlatform

API_PREFIX = "/line-api"
STATE_FILE = "line-emulator.json"
# What the simulated group members see the bot called.
BOT_DISPLAY_NAME = "つながり"


class _QuietPolls(logging.Filter):
    """Drops werkzeug's access-log lines for the page's once-a-second polls,
    which would otherwise bury everything else ``make run`` prints."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = record.getMessage()
        timeline = '"GET /line-api/_sim/groups/' in line and "/timeline?" in line
        status = '"GET /simulator/status ' in line
        return not ((timeline or status) and '" 200 ' in line)


def _quiet_polls() -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _QuietPolls) for f in access_log.filters):
        access_log.addFilter(_QuietPolls())


def create_local_app(settings: Settings, base_url: str, *, state_path: str | Path | None = None) -> Flask:
    """Build the all-in-one app served at ``base_url`` (e.g. http://127.0.0.1:8000).

    ``settings.line_api_base_url`` must already be ``base_url + "/line-api"``
    (``jobs.embedded.run_local`` arranges it).  The emulator's groups, users,
    timeline and usage persist in ``state_path`` (default: the instance
    directory's ``line-emulator.json``), next to the bot's own database, so
    a restart loses nothing.

    Returns the bot's Flask app with the emulator mounted under
    ``/line-api``; the ``LinePlatform`` is ``app.extensions["line_emulator"]``.
    Raises ValueError outside emulator mode: the simulator's control
    endpoints must never sit next to real LINE credentials.
    """
    if not settings.emulator:
        raise ValueError("create_local_app is for the LINE emulator only (EMULATOR=1, no LINE credentials)")
    from app import create_app
    from emulator import simulator

    base_url = base_url.rstrip("/")
    app = create_app(settings)
    if state_path is None:
        state_path = Path(app.instance_path) / STATE_FILE
    platform = LinePlatform(
        settings.channel_secret,
        settings.access_token,
        webhook_url=base_url + "/callback",
        state_path=str(state_path),
    )
    platform.bot_display_name = BOT_DISPLAY_NAME
    app.extensions["line_emulator"] = platform
    app.register_blueprint(simulator.bp)
    _quiet_polls()
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {API_PREFIX: create_emulator_app(platform)})
    return app
