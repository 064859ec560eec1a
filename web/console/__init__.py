"""The operator console (issue 11): pages for a municipality's or 社会福祉協議会's
staff, under /console.

``init_console(app, settings)`` is the one call app.py makes: it registers
the blueprint and sets up what it needs — the signing key, secure cookie
flags, Flask-Login (sessions named by the operator's session token), CSRF
protection on every console form (Flask-WTF), and security headers.  Pages
are plain server-rendered HTML that works without JavaScript; the small
script in static/console/ only refreshes live numbers.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask

log = logging.getLogger(__name__)

# An idle session ends after this long (each request extends it).
IDLE_TIMEOUT = timedelta(hours=2)


def init_console(app: Flask, settings) -> None:
    from flask_wtf.csrf import CSRFProtect

    from web.console import admin, auth, notices, pages, statistics  # noqa: F401 (routes)
    from web.console.blueprint import bp

    key = settings.secret_key
    if not key:
        # Settings built in code (tests, benches) or the emulator: a key for
        # this process only (sessions end when it restarts).
        key = secrets.token_hex(32)
        if not settings.emulator:
            log.warning("no SECRET_KEY: console sessions will not survive a restart")
    app.secret_key = key
    app.config.update(
        SESSION_COOKIE_NAME="tsunagari_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The emulator (make run) is served over plain http on 127.0.0.1.
        SESSION_COOKIE_SECURE=not settings.emulator,
        REMEMBER_COOKIE_SECURE=not settings.emulator,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=IDLE_TIMEOUT,
        SESSION_REFRESH_EACH_REQUEST=True,
        # CSRF is checked by the console's own before_request, not on every
        # route of the app: LINE's webhook has its signature instead.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=not settings.emulator,
    )
    csrf = CSRFProtect(app)
    app.extensions["tsunagari.csrf"] = csrf
    auth.login_manager.init_app(app)
    app.register_blueprint(bp)
