"""``EmulatorServer``: serve the emulator on 127.0.0.1 from a daemon thread.

Threaded (a thread per connection) because webhook delivery and API calls
nest: a simulated user's message is POSTed to the bot, and the bot calls
back into the API (reply) before answering the webhook.

HTTP/1.1 with keep-alive, because that is how the bot talks to LINE: the
SDK's urllib3 pool keeps its connections open. werkzeug's own development
handler answers every request with ``Connection: close`` and then waits
10 ms for stray request bytes, so each SDK call paid a new TCP connection,
a new thread and that wait, which capped the emulator far below LINE's
2,000 requests/s. ``_KeepAliveHandler`` below keeps werkzeug's WSGI
environ and logging but answers in one write with a Content-Length, drains
exactly the unread request body, and leaves the connection open.

The Messaging API (``/v2/``) is the hot path: the handler reads those
requests with a lean header parser and hands them straight to
``emulator.api.answer_api`` (no Flask), which measured about three times
cheaper per request than the same answer through Flask and werkzeug's
environ. Everything else (``/_sim/``) goes through the Flask app.

Usage::

    with EmulatorServer(platform, latency=0.1) as server:
        Configuration(host=server.url, access_token=...)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from emulator.api import ApiAnswer, answer_api_after_latency, create_emulator_app
from emulator.platform import LinePlatform

SHUTDOWN_POLL_S = 0.02
# The kernel's queue of connections not yet accepted: ~200 clients
# connecting at once must not overflow werkzeug's default of 128 (a dropped
# SYN is retried by the client a whole second later).
LISTEN_BACKLOG = 1024
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100
API_PREFIX = "/v2/"

FastApi = Callable[[str, str, str | None, str | None, str | None, bytes], ApiAnswer]


class _Headers:
    """Request headers: case-insensitive ``get`` (first value) and ``items``,
    which is all werkzeug's environ and this handler use; much cheaper
    than http.server's email parser."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's WSGI handler, answering HTTP/1.1 with keep-alive.

    Each answer is buffered (the emulator's answers are small JSON bodies)
    and sent with its Content-Length in a single write, so Nagle's
    algorithm never holds back a second small segment. The request body is
    wrapped in a ``LimitedStream`` so that whatever the app did not read is
    discarded exactly, leaving the next request line intact.
    """

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self) -> bool:
        """Request line and headers, as http.server's does (minus its email
        parser); sets ``close_connection`` from the version and Connection."""
        self.request_version = "HTTP/0.9"  # for send_error before we know
        self.requestline = requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request line")
            return False
        self.command, self.path, self.request_version = words
        headers = _Headers()
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(MAX_HEADER_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                break
            if len(line) > MAX_HEADER_LINE:
                self.close_connection = True
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Header line too long")
                return False
            name, _, value = line.decode("iso-8859-1").partition(":")
            headers.add(name.strip(), value.strip())
        else:
            self.close_connection = True
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("Connection", "").lower()
        if self.request_version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in connection
        else:
            self.close_connection = "close" in connection
        return True

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if not environ.get("wsgi.input_terminated"):  # not chunked: bound by Content-Length
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length = 0
                self.close_connection = True  # cannot tell where the next request starts
            environ["wsgi.input"] = LimitedStream(self.rfile, length)
            environ["wsgi.input_terminated"] = True
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        fast_api = getattr(self.server, "fast_api", None)
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if fast_api is not None and self.path.startswith(API_PREFIX) and not chunked:
            self._answer_api(fast_api)
            return
        self.environ = environ = self.make_environ()
        try:
            status, headers, body = self._call_app(self.server.app, environ)
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", "Error on request %s:\n%s", self.requestline, traceback.format_exc())
            status, headers, body = self._call_app(InternalServerError(), environ)
            self.close_connection = True
        try:
            self._drain(environ["wsgi.input"])
        except (OSError, ValueError):
            self.close_connection = True
        self._send(status, headers, body)

    def _answer_api(self, fast_api: FastApi) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad Content-Length")
            return
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        start = parse_qs(query).get("start", [None])[0] if query else None
        answer = fast_api(
            self.command,
            unquote(path),
            start,
            self.headers.get("Authorization"),
            self.headers.get("X-Line-Retry-Key"),
            raw,
        )
        status = f"{answer.status} {_phrase(answer.status)}"
        headers = [("Content-Type", "application/json"), *answer.headers.items()]
        self._send(status, headers, answer.body)

    @staticmethod
    def _call_app(app, environ) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {}

        def start_response(status, headers, exc_info=None):
            if exc_info and answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(data)

        iterable = app(environ, start_response)
        try:
            chunks = [*answer.get("written", []), *iterable]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        return answer["status"], answer["headers"], b"".join(chunks)

    @staticmethod
    def _drain(stream) -> None:
        if isinstance(stream, LimitedStream):
            stream.exhaust()
        else:  # chunked (werkzeug's DechunkedInput): read to its end
            while stream.read(65536):
                pass

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code = int(status.split(None, 1)[0])
        if self.command == "HEAD" or 100 <= code < 200 or code in (204, 304):
            body = b""
        lines = [f"{self.protocol_version} {status}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in ("content-length", "connection")]
        lines.append(f"Server: {self.version_string()}")
        lines.append(f"Date: {self.date_time_string()}")
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)
        self.log_request(code, len(body))


class _QuietKeepAliveHandler(_KeepAliveHandler):
    """Drops werkzeug's one-line-per-request access log (noise in test output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server(ThreadedWSGIServer):
    """A thread per connection; remembers open connections to close them on stop.

    With keep-alive a connection outlives ``shutdown()`` (which only stops
    accepting): ``close_connections`` ends them, so a stopped emulator
    really stops answering.
    """

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, *args: Any, fast_api: FastApi | None = None, **kwargs: Any) -> None:
        self.fast_api = fast_api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(
    app,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    access_log: bool = False,
    fast_api: FastApi | None = None,
) -> _Server:
    """Bind a keep-alive threaded WSGI server for ``app`` (not yet serving).

    ``fast_api``: answers ``/v2/`` requests without the WSGI app (see the
    module docstring). Also used by bench/emulator_capacity.py to serve a
    bare app on the very same server, as the baseline the emulator is
    compared with.
    """
    handler = _KeepAliveHandler if access_log else _QuietKeepAliveHandler
    return _Server(host, port, app, handler=handler, fast_api=fast_api)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class EmulatorServer:
    """Serves ``create_emulator_app(platform)``; ``port=0`` picks a free port.

    ``latency``: when not None, sets ``platform.latency`` (seconds every
    Messaging API answer is held back; see ``LinePlatform``).
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
        latency: float | None = None,
    ) -> None:
        if latency is not None:
            platform.latency = latency
        self.platform = platform
        self._access_log = access_log
        self._host = host
        self._port = port
        self._app = create_emulator_app(platform, cors_origin=cors_origin)
        self._server: _Server | None = None
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
        platform = self.platform
        self._server = serve(
            self._app,
            self._host,
            self._port,
            access_log=self._access_log,
            fast_api=lambda *request: answer_api_after_latency(platform, *request),
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
        """Stop serving, close kept-alive connections and release the port (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
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
