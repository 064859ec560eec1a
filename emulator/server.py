"""``EmulatorServer``: serve the emulator on 127.0.0.1 from a daemon thread.

Threaded (werkzeug's ``make_server(threaded=True)``) because webhook
delivery and API calls nest: a simulated user's message is POSTed to the bot,
and the bot calls back into the API (reply) before answering the webhook.

Usage::

    with EmulatorServer(platform) as server:
        Configuration(host=server.url, access_token=...)
"""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.api import create_emulator_app
from emulator.platform import LinePlatform

SHUTDOWN_POLL_S = 0.02


class _QuietRequestHandler(WSGIRequestHandler):
    """Drops werkzeug's one-line-per-request access log (noise in test output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class EmulatorServer:
    """Serves ``create_emulator_app(platform)``; ``port=0`` picks a free port.

    ``access_log=True`` keeps werkzeug's access log (useful for the demo).
    """

    def __init__(
        self,
        platform: LinePlatform,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cors_origin: str | None = None,
        access_log: bool = False,
    ) -> None:
        self.platform = platform
        self._access_log = access_log
        self._host = host
        self._port = port
        self._app = create_emulator_app(platform, cors_origin=cors_origin)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("EmulatorServer is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> EmulatorServer:
        """Bind and start serving in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = make_server(
            self._host,
            self._port,
            self._app,
            threaded=True,
            request_handler=None if self._access_log else _QuietRequestHandler,
        )
        # serve_forever only notices shutdown() between polls: the default
        # 0.5 s poll would make every stop() (one per test) cost half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="line-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
