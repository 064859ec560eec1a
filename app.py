"""The application factory, its CLI commands, and the all-in-one local runner.

gunicorn 'app:create_app()'       the web process (Procfile: web)
flask --app app init-db           create or migrate the schema (release)
flask --app app scheduler         the sweep loop (Procfile: scheduler)
python app.py                     everything in one process (make run)

This is the composition root: the only module that wires the layers
together (docs/architecture.md has the map).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from functools import cache
from pathlib import Path

import click
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from config import INSTANCE_DIR, ConfigError, Settings, load_settings
from models import create_schema, db, init_db
from services import clock, wakeup

log = logging.getLogger("tsunagari")

# The local app (make run): where the emulated LINE Platform is mounted,
# where it keeps its state, and what the simulated members see the bot called.
EMULATOR_PREFIX = "/line-api"
EMULATOR_STATE_FILE = "line-emulator.json"
BOT_DISPLAY_NAME = "つながり"


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web app.  With no arguments, settings come from the
    environment (ConfigError stops start-up with a clear message).

    The app keeps its own handles in ``app.extensions`` (settings, a Redis
    connection for /healthz); it does not configure the job processes'
    handles (jobs/runtime.py).  peewee's models share one database binding
    per process, which this sets."""
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            sys.exit(f"tsunagari: configuration error: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    init_db(settings.database_url)
    clock.configure(settings.demo_clock)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    # LINE's webhook bodies are small; refuse anything absurd early (413).
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.config["JSON_AS_ASCII"] = False
    app.extensions["tsunagari.settings"] = settings
    app.extensions["tsunagari.redis"] = cache(lambda: _redis(settings))
    if settings.redis_url:
        # Stored events wake the dispatcher in the scheduler process at once.
        wakeup.configure(app.extensions["tsunagari.redis"])

    # One connection per worker thread, kept across requests: opening a
    # SQLite connection (pragmas) and closing it (a WAL checkpoint) cost more
    # than the webhook's own work.  A request that failed drops its
    # connection, in case the failure left it unusable.
    @app.before_request
    def _open_db():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_db(exc):
        if exc is not None and not db.is_closed():
            db.close()

    from bot import webhook
    from web import health

    webhook.init_parser(app, settings.channel_secret)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    from web.console import init_console  # the operator console, /console

    init_console(app, settings)
    _register_cli(app)
    return app


def _redis(settings: Settings):
    from jobs.queue import redis_connection

    return redis_connection(settings.redis_url)


def create_local_app(settings: Settings, base_url: str, *, state_path: str | Path | None = None) -> Flask:
    """The bot, the LINE emulator and the simulator page as one WSGI app at
    ``base_url`` (e.g. http://127.0.0.1:8000), for ``make run`` without a
    LINE account.  One origin serves everything::

        /                 the simulator page (web/simulator.py)
        /simulator/...    its form and clock endpoints
        /callback         the bot's webhook (the emulator POSTs here)
        /healthz          the bot's health check, unchanged
        /line-api/...     the emulated LINE Platform (emulator/)

    ``settings.line_api_base_url`` must be ``base_url + "/line-api"``.  The
    job handles are configured here too: this app runs its jobs in-process.
    The emulator's state persists in ``state_path`` (default: the instance
    directory's line-emulator.json).  Raises ValueError outside emulator
    mode: the simulator's control endpoints must never sit next to real LINE
    credentials."""
    if not settings.emulator:
        raise ValueError("create_local_app is for the LINE emulator only (EMULATOR=1, no LINE credentials)")
    from emulator import LinePlatform, create_emulator_app
    from jobs import runtime
    from web import people, simulator

    base_url = base_url.rstrip("/")
    runtime.configure(settings)
    app = create_app(settings)
    if state_path is None:
        state_path = Path(app.instance_path) / EMULATOR_STATE_FILE
    platform = LinePlatform(
        settings.channel_secret,
        settings.access_token,
        webhook_url=base_url + "/callback",
        state_path=str(state_path),
    )
    platform.bot_display_name = BOT_DISPLAY_NAME
    app.extensions["line_emulator"] = platform
    app.register_blueprint(simulator.bp)
    app.register_blueprint(people.bp)
    _quiet_polls()
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {EMULATOR_PREFIX: create_emulator_app(platform)})
    return app


class _QuietPolls(logging.Filter):
    """Drops werkzeug's access-log lines for the simulator page's
    once-a-second polls, which would otherwise bury everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = record.getMessage()
        timeline = f'"GET {EMULATOR_PREFIX}/_sim/groups/' in line and "/timeline?" in line
        status = '"GET /simulator/status ' in line
        return not ((timeline or status) and '" 200 ' in line)


def _quiet_polls() -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _QuietPolls) for f in access_log.filters):
        access_log.addFilter(_QuietPolls())


def _register_cli(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db_command():
        """Create or migrate the schema (idempotent)."""
        create_schema()
        click.echo("schema ready")

    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="Run one sweep and exit.")
    def scheduler_command(once):
        """Run the sweep every TICK_SECONDS (run exactly one of these)."""
        from jobs import runtime
        from jobs.scheduler import run_forever, run_once

        runtime.configure(app.extensions["tsunagari.settings"])
        create_schema()
        if once:
            click.echo(run_once())
        else:
            run_forever()

    # flask org, notice, operator, console, usage
    from cli import console_cli, notice_cli, operator_cli, org_cli, usage_command

    app.cli.add_command(org_cli)
    app.cli.add_command(notice_cli)
    app.cli.add_command(operator_cli)
    app.cli.add_command(console_cli)
    app.cli.add_command(usage_command)


def run_local(port: int = 8000, host: str = "127.0.0.1", classroom: bool = False) -> None:
    """Serve the bot (and, without LINE credentials, the emulator and the
    simulator page) until Ctrl-C: the web app on werkzeug, an RQ worker
    thread and the scheduler thread, in one process.

    ``classroom``: class mode (make class, web/classroom.py): the simulator
    on every network address with a class PIN.  Refused with LINE
    credentials: only the emulator is ever served to the room."""
    from werkzeug.serving import make_server

    from jobs import runtime
    from jobs.embedded import start_sweep_thread, start_worker_thread

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise SystemExit(f"tsunagari: configuration error: {exc}") from None
    if classroom and (
        not settings.emulator
        or os.environ.get("LINE_CHANNEL_SECRET")
        or os.environ.get("LINE_CHANNEL_ACCESS_TOKEN")
    ):
        raise SystemExit(
            "tsunagari: class mode serves the LINE emulator to the room's network and is refused when\n"
            "LINE credentials are set. Unset LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN."
        )
    # The bot and the emulator talk to each other over loopback, whatever
    # address the page is served on.
    base = f"http://127.0.0.1:{port}" if classroom else f"http://{host}:{port}"
    if settings.emulator and not os.environ.get("LINE_API_BASE_URL"):
        settings = settings.with_(line_api_base_url=base + EMULATOR_PREFIX)
    if settings.emulator:
        app = create_local_app(settings, base)
    else:
        runtime.configure(settings)
        app = create_app(settings)
    create_schema()
    if settings.emulator and settings.demo_clock:
        from models import connected
        from web.group_clock import retire_global_offset

        with connected():
            retire_global_offset()  # each group has its own clock now
    room = None
    if classroom:
        from web import classroom as class_mode

        lan = class_mode.lan_addresses()
        join_base = os.environ.get("CLASS_URL") or f"http://{lan[0] if lan else '127.0.0.1'}:{port}"
        room = class_mode.enable(app, join_base)
        host = "0.0.0.0"

    stop = threading.Event()
    start_worker_thread(stop)
    start_sweep_thread(stop)
    server = make_server(host, port, app, threaded=True)
    mode = "LINE emulator + simulator" if settings.emulator else "real LINE"
    print(f"\n  つながり is running ({mode}, Redis: {'REDIS_URL' if settings.redis_url else 'in-process'})")
    if room is None:
        print(f"  open {base}/   (healthz: {base}/healthz)   Ctrl-C to stop\n", flush=True)
    else:
        print("  CLASS MODE: only the LINE emulator is served (no LINE credentials, no real LINE).")
        print(f"  Served on every network address of this computer, port {port}. Students need the PIN.")
        print(f"  projector (this computer only): http://127.0.0.1:{port}/class")
        print(f"  students' phones: {room.join_url}   PIN {room.pin}")
        if room.join_base.startswith("http://127.0.0.1"):
            print("  This computer's network address was not found: phones cannot open 127.0.0.1.")
        print("  (set CLASS_URL=http://<this computer's address>:<port> if the address above is wrong)")
        print("  Ctrl-C to stop\n", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()


if __name__ == "__main__":
    run_local(port=int(os.environ.get("PORT", "8000")), classroom="--class" in sys.argv[1:])
