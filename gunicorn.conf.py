"""gunicorn settings for the web process (Procfile: web).

docs/deploy.md says why each value is what it is, with measurements.
GUNICORN_CMD_ARGS overrides any of them (e.g. "--threads 8"); options on
the command line override both.
"""

import os

# gthread whose main loop reads each request (web/gunicorn_worker.py): a thread takes
# a request only once it is all in, so slow clients hold no thread; they are
# cut off after HEADER_TIMEOUT and BODY_TIMEOUT (10 s each).
worker_class = "web.gunicorn_worker.BufferingWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads run requests, never wait for clients, so a few per worker keep
# both cores busy.  Each keeps its own database connection (app.py): a web
# process opens at most workers x threads of them (8 by default).
threads = 4

# The worker's main loop reports to the master every second whatever its
# threads do; a worker silent for this long is stuck and is replaced.
timeout = 30
graceful_timeout = 30
# Idle kept-alive connections wait in the poller (no thread) this long:
# longer than nginx keeps idle upstream connections (docs/deploy.md).
keepalive = 5

# Heads: gunicorn's own limits (its defaults: a request line of 4094 bytes,
# 100 fields of 8190 bytes) and web.gunicorn_worker.MAX_HEAD (32 KiB) bound their
# size; the deadlines bound their time.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# The control socket is an admin channel this deployment does not use.
control_socket_disable = True


def on_starting(server):
    """Refuse to start on a configuration error, once and clearly, before any
    worker is forked: otherwise each worker would exit at boot and gunicorn
    would boot the next one, for ever, while /healthz never answers."""
    from config import ConfigError, load_settings

    try:
        load_settings()
    except ConfigError as exc:
        raise SystemExit(f"tsunagari: configuration error: {exc}") from None
