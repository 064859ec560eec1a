"""The application factory, its CLI commands, and the all-in-one local runner.

gunicorn 'app:create_app()'       the web process (Procfile: web)
flask --app app init-db           create or migrate the schema (release)
flask --app app scheduler         the sweep loop (Procfile: scheduler)
python app.py                     everything in one process (make run)
"""

from __future__ import annotations

import logging
import os
import sys

import click
from flask import Flask

from config import INSTANCE_DIR, ConfigError, Settings, load_settings
from jobs import runtime
from models import create_schema, db

log = logging.getLogger("tsunagari")


def create_app(settings: Settings | None = None, *, client=None, connection=None) -> Flask:
    """Build the web app.  With no arguments, settings come from the
    environment (ConfigError stops start-up with a clear message)."""
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            sys.exit(f"tsunagari: configuration error: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    runtime.configure(settings, client=client, connection=connection)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    # LINE's webhook bodies are small; refuse anything absurd early (413).
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.config["JSON_AS_ASCII"] = False
    app.extensions["tsunagari.settings"] = settings

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

    from bot import health, webhook

    webhook.init_parser(app, settings.channel_secret)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    from web.console import init_console  # the operator console, /console

    init_console(app, settings)
    _register_cli(app)
    return app


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
        from jobs.scheduler import run_forever, run_once

        create_schema()
        if once:
            click.echo(run_once())
        else:
            run_forever()

    from cli import console_cli, notice_cli, operator_cli, org_cli  # flask org, notice, operator, console

    app.cli.add_command(org_cli)
    app.cli.add_command(notice_cli)
    app.cli.add_command(operator_cli)
    app.cli.add_command(console_cli)


if __name__ == "__main__":
    from jobs.embedded import run_local

    run_local(port=int(os.environ.get("PORT", "8000")))
