"""The web process's gunicorn worker: gthread that reads whole requests in its
main loop before a thread takes them.

gunicorn.conf.py names ``webserver.BufferingWorker``; docs/deploy.md says why,
with measurements.  In short: a sync worker spends its only thread on a client
that sends one header line every 2 s until gunicorn's WORKER TIMEOUT kills it,
and gunicorn 27's gthread worker hands each connection to a thread that waits
for the client as long as the client likes.  Either way a few slow clients
stop the web process.

This worker keeps gthread (threads, each with its own database connection, as
app.py expects) and changes who waits for the client:

- The worker's main loop reads each request with non-blocking reads until
  its head and body are in: a head of at most MAX_HEAD bytes (else 431) and
  a Content-Length or chunked body of at most MAX_BODY (else 413).  It
  answers ``Expect: 100-continue`` itself.  Only then does a thread take the
  request, so threads never wait for a client: a slow client costs a poller
  entry and a buffer.  Pipelined requests go back to the loop the same way.
- The head must be in HEADER_TIMEOUT seconds after the connection was
  accepted (or, on a kept-alive connection, after the next request began to
  arrive), and the body BODY_TIMEOUT seconds after the head.  Otherwise the
  client gets 408 and the connection is closed.  These are totals, not
  per-read timeouts: a client trickling a byte a second is cut off as surely
  as a silent one.
- A closing connection drains what the client still sends for at most
  LINGER_SECONDS, in the poller: gunicorn's own graceful close does it in
  the main loop, stalling the worker 2 s for each client that does not close
  its end.

What a thread reads comes from the loop's buffer.  Should it read from the
client after all (a case this module overlooked), the same deadlines hold.

In production a reverse proxy in front buffers requests too (docs/deploy.md).
This subclasses gunicorn internals (``ThreadWorker.accept``, ``enqueue_req``,
``on_client_socket_readable``, ``handle_request``, ``murder_pending`` and
``TConn.close``) of the version pinned in requirements.txt;
tests/test_slow_clients.py checks the behaviour, so run it after upgrading.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
LINGER_SECONDS = 2.0
# The largest body the web process takes; app.py's MAX_CONTENT_LENGTH is the
# same.  LINE's webhook bodies are a few KiB.
MAX_BODY = 1024 * 1024
# The longest request head (line and headers) taken, as nginx's default
# large_client_header_buffers do (4 x 8 KiB); gunicorn's limit_request_*
# settings also apply.
MAX_HEAD = 32 * 1024
MAX_CHUNK_LINE = 1024  # a chunk size and its extensions
LINGER_MAX_BYTES = 64 * 1024
READ_SIZE = 64 * 1024

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
CONTENT_TOO_LARGE = b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,18})[ \t]*\r\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding[ \t]*:", re.IGNORECASE)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue[ \t]*\r\n", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")


class RequestBodyTimeout(TimeoutError):
    """A thread reading a body waited past BODY_TIMEOUT.

    An OSError, so werkzeug treats it as a client that went away (400) and
    gunicorn's keep-alive drain gives up on the connection."""


class DeadlineSocket:
    """A client socket that first returns what the loop already read, and
    whose blocking reads stop at ``deadline`` (a time.monotonic()).

    Everything else passes through to the real socket."""

    def __init__(self, sock: socket.socket, log):
        self.raw = sock
        self._log = log
        self.buffered = b""
        self.deadline: float | None = None
        self.reading_body = False
        self.cut_off = False
        self.continued = False

    def __getattr__(self, name):
        return getattr(self.raw, name)

    def send(self, data, flags: int = 0) -> int:
        if self.continued and data == CONTINUE:
            # The loop already told the client to go on, and has the body.
            self.continued = False
            return len(data)
        return self.raw.send(data, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self.buffered:
            # All of it, whatever bufsize: gunicorn's unreader keeps what the
            # parser does not consume, and the worker looks there for a
            # pipelined request.
            data, self.buffered = self.buffered, b""
            return data
        if self.deadline is None:
            return self.raw.recv(bufsize, flags)
        remaining = self.deadline - time.monotonic()
        if remaining > 0:
            prior = self.raw.gettimeout()
            self.raw.settimeout(remaining)
            try:
                return self.raw.recv(bufsize, flags)
            except TimeoutError:
                pass
            finally:
                self.raw.settimeout(prior)
        return self._expired()

    def _expired(self) -> bytes:
        first, self.cut_off = not self.cut_off, True
        if self.reading_body:
            if first:
                self._log.info("Slow client cut off: request body not complete within %.0f s", BODY_TIMEOUT)
            raise RequestBodyTimeout("request body not complete in time")
        if first:
            self._log.info("Slow client cut off: request headers not complete within %.0f s", HEADER_TIMEOUT)
            with contextlib.suppress(OSError):
                self.raw.settimeout(1.0)
                self.raw.sendall(REQUEST_TIMEOUT)
        # The end of the stream: gunicorn's parser stops and the connection
        # is closed, as for a client that hung up.
        return b""


class BufferingConn(TConn):
    """A TConn with the loop's read state, whose graceful close is handed
    to the worker's poller."""

    def __init__(self, worker: BufferingWorker, *args):
        super().__init__(*args)
        self.worker = worker
        self.buffer = bytearray()
        self.whole = False  # the buffer holds a whole request (or the stream ended)
        self.header_end = -1  # where the body starts, once the head is in
        self.body_end: int | None = None  # where the request ends, if known
        self.chunk_at = 0  # for a chunked body: where the next chunk-size line starts
        self.refusal = b""  # the answer the loop gives instead of a thread
        self.awaiting: dict | None = None  # the worker's queue this is in
        self.drained = 0

    def close(self, graceful=False):
        if graceful:
            self.worker.linger(self)
        else:
            super().close()


class BufferingWorker(ThreadWorker):
    """gunicorn's gthread worker, reading whole requests in its main loop."""

    @classmethod
    def check_config(cls, cfg, log):
        if cfg.is_ssl:
            # The loop reads raw bytes; TLS ends at the reverse proxy.
            raise RuntimeError("webserver.BufferingWorker serves plain HTTP: terminate TLS in front of it")
        super().check_config(cfg, log)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Connections whose head, or body, the loop is waiting for.  Each
        # waits the same delay, so insertion order is deadline order (dicts
        # keep it and remove in O(1)).
        self.awaiting_head: dict[BufferingConn, None] = {}
        self.awaiting_body: dict[BufferingConn, None] = {}
        self.lingering: deque[BufferingConn] = deque()

    # -- reading in the loop -------------------------------------------------

    def accept(self, listener):
        try:
            client, addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = BufferingConn(self, self.cfg, DeadlineSocket(client, self.log), addr, listener.getsockname())
        self._start_reading(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection's next request is arriving."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn)
        self._read(conn, conn.sock.raw)

    def enqueue_req(self, conn):
        if conn.whole:
            conn.whole = False
            super().enqueue_req(conn)
            return
        # gunicorn found the start of a pipelined request after answering
        # one: the loop reads the rest of it, as for any other.
        conn.buffer = bytearray(conn.parser.unreader.take_buffered())
        conn.sock.setblocking(False)
        self._start_reading(conn)
        if self._request_in(conn, len(conn.buffer)):
            self._hand_over(conn)

    def _start_reading(self, conn: BufferingConn):
        conn.header_end, conn.body_end, conn.chunk_at, conn.refusal = -1, None, 0, b""
        conn.sock.continued = False
        self._await(conn, self.awaiting_head, HEADER_TIMEOUT)
        self.poller.register(conn.sock.raw, selectors.EVENT_READ, partial(self._read, conn))

    def _await(self, conn: BufferingConn, queue: dict, delay: float):
        self._stop_awaiting(conn)
        conn.timeout = time.monotonic() + delay
        conn.awaiting = queue
        queue[conn] = None

    def _stop_awaiting(self, conn: BufferingConn):
        if conn.awaiting is not None:
            del conn.awaiting[conn]
            conn.awaiting = None

    def _read(self, conn: BufferingConn, sock):
        try:
            data = sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        try:
            if data:
                conn.buffer += data
                if not self._request_in(conn, len(data)):
                    return
            # A whole request, or the end of the stream (the parser tells a
            # hang-up from a request cut short).
            self._hand_over(conn)
        except Exception:
            # A bug here must cost this connection, not the worker's others.
            self.log.exception("Error reading a request")
            with contextlib.suppress(KeyError, ValueError):
                self.poller.unregister(sock)
            self._stop_awaiting(conn)
            self.nr_conns -= 1
            conn.close()

    def _hand_over(self, conn: BufferingConn):
        self.poller.unregister(conn.sock.raw)
        self._stop_awaiting(conn)
        if conn.refusal:
            self._refuse(conn, conn.refusal)
            return
        conn.sock.buffered, conn.buffer = bytes(conn.buffer), bytearray()
        # Safety net: should the thread read from the client after all, the
        # loop's deadline still holds.
        conn.sock.deadline = conn.timeout
        conn.sock.reading_body = conn.header_end >= 0
        conn.data_ready = conn.whole = True
        self.enqueue_req(conn)

    def _request_in(self, conn: BufferingConn, new: int) -> bool:
        """Whether a thread can take the request without waiting for the
        client (it is all in, or the parser refuses what is), or the loop
        refuses it (``conn.refusal``)."""
        buf = conn.buffer
        if conn.header_end < 0:
            end = buf.find(b"\r\n\r\n", max(0, len(buf) - new - 3))
            if end < 0:
                if len(buf) > MAX_HEAD:
                    conn.refusal = HEAD_TOO_LARGE
                    return True
                return buf.count(b"\n") != buf.count(b"\r\n")  # a bare LF: the parser refuses it
            if end + 4 > MAX_HEAD:
                conn.refusal = HEAD_TOO_LARGE
                return True
            self._head_in(conn, end + 4)
        if conn.body_end is None:  # chunked
            conn.body_end = self._chunked_end(conn)
            if conn.body_end == -1:
                conn.refusal = BAD_REQUEST
                return True
        end = len(buf) if conn.body_end is None else conn.body_end
        if end - conn.header_end > MAX_BODY:
            conn.refusal = CONTENT_TOO_LARGE
            return True
        return conn.body_end is not None and len(buf) >= conn.body_end

    def _head_in(self, conn: BufferingConn, header_end: int):
        """The head just came in: note where the body ends, and give the
        body its own deadline."""
        conn.header_end = header_end
        head = bytes(conn.buffer[:header_end])
        length = _CONTENT_LENGTH.search(head)
        if _CHUNKED.search(head):
            conn.chunk_at = header_end
        else:
            conn.body_end = header_end + (int(length[1]) if length else 0)
            if conn.body_end == header_end or conn.body_end - header_end > MAX_BODY:
                return
        if _EXPECT_CONTINUE.search(head):
            with contextlib.suppress(OSError):
                conn.sock.raw.send(CONTINUE)
            conn.sock.continued = True
        self._await(conn, self.awaiting_body, BODY_TIMEOUT)

    @staticmethod
    def _chunked_end(conn: BufferingConn) -> int | None:
        """Where a chunked body ends, once it is all in; None until then;
        -1 for framing that is not chunked encoding.  (gunicorn's parser
        would raise it to the application, which answers 500.)"""
        buf = conn.buffer
        while True:
            after_data = (
                buf[conn.chunk_at - 2 : conn.chunk_at] if conn.chunk_at > conn.header_end else b"\r\n"
            )
            if len(buf) >= conn.chunk_at and after_data != b"\r\n":
                return -1  # chunk data longer than its size said
            eol = buf.find(b"\r\n", conn.chunk_at)
            if eol < 0:
                return -1 if len(buf) - conn.chunk_at > MAX_CHUNK_LINE else None
            size = _CHUNK_SIZE.fullmatch(buf, conn.chunk_at, eol)
            if size is None:
                return -1
            if int(size[1], 16) == 0:
                trailers_end = buf.find(b"\r\n\r\n", eol)  # right there when there are none
                return None if trailers_end < 0 else trailers_end + 4
            conn.chunk_at = eol + 2 + int(size[1], 16) + 2
            if conn.chunk_at - conn.header_end > MAX_BODY:
                return conn.chunk_at

    def murder_pending(self):
        """Runs once a main-loop iteration: ends expired reads and lingers."""
        super().murder_pending()
        now = time.monotonic()
        for queue, part, delay in (
            (self.awaiting_head, "headers", HEADER_TIMEOUT),
            (self.awaiting_body, "body", BODY_TIMEOUT),
        ):
            while queue and (conn := next(iter(queue))).timeout <= now:
                self._stop_awaiting(conn)
                self.poller.unregister(conn.sock.raw)
                if not conn.buffer:
                    self.nr_conns -= 1
                    conn.close()  # never said anything
                    continue
                self.log.info("Slow client cut off: request %s not complete within %.0f s", part, delay)
                self._refuse(conn, REQUEST_TIMEOUT)
        while self.lingering and self.lingering[0].timeout <= now:
            self._end_linger(self.lingering[0])

    def _refuse(self, conn: BufferingConn, response: bytes):
        with contextlib.suppress(OSError):
            conn.sock.raw.send(response)
        conn.buffer = bytearray()
        self.nr_conns -= 1
        conn.close(graceful=True)

    # -- in the thread -------------------------------------------------------

    def handle_request(self, req, conn):
        if not conn.sock.reading_body:  # the thread read the head itself
            conn.sock.deadline = time.monotonic() + BODY_TIMEOUT
            conn.sock.reading_body = True
        return super().handle_request(req, conn)

    # -- closing -------------------------------------------------------------

    def linger(self, conn: BufferingConn):
        """Close ``conn`` once the client had a moment to read the answer.

        Half-close first (the client sees the end of the response), then
        discard what it still sends until it closes its end, LINGER_MAX_BYTES
        or LINGER_SECONDS: closing a socket with unread input sends a reset
        that can destroy the answer before the client read it."""
        sock = conn.sock.raw
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, partial(self._drain_lingering, conn))
        except (OSError, ValueError, KeyError):
            sock.close()
            return
        conn.timeout = time.monotonic() + LINGER_SECONDS
        conn.drained = 0
        self.lingering.append(conn)

    def _drain_lingering(self, conn: BufferingConn, sock):
        try:
            data = sock.recv(LINGER_MAX_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_MAX_BYTES:
            self._end_linger(conn)

    def _end_linger(self, conn: BufferingConn):
        sock = conn.sock.raw
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(sock)
        sock.close()
        self.lingering.remove(conn)
