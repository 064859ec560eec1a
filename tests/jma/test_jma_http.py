"""jobs.jma_poll.http_get against a peer that trickles: the per-read timeout
never fires while a byte arrives every half second, so only the total
deadline ends the call — in the TLS handshake as in the headers or the body."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from jobs.jma_poll import DeadlineExceeded, http_get

DEADLINE = 1.0
SLACK = 5.0  # a loaded machine; without the deadline these calls take hours


class TricklingPeer:
    """Sends ``prefix`` at once, then ``payload`` one byte every half second,
    to every connection, until the client hangs up."""

    def __init__(self, prefix: bytes, payload: bytes):
        self.prefix, self.payload = prefix, payload
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)  # the request, or the TLS ClientHello
                conn.sendall(self.prefix)
                for byte in self.payload:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.5)
            except OSError:
                pass  # the client hung up: the point of the test

    def close(self) -> None:
        self.listener.close()


BODY = b"<feed>" + b" " * 20000 + b"</feed>"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n" % len(BODY)


@pytest.mark.parametrize(
    ("scheme", "prefix", "payload"),
    [
        ("http", b"", HEAD + BODY),  # the status line and headers trickle
        ("http", HEAD, BODY),  # the body trickles
        # A TLS record announcing a 70-byte ServerHello, sent a byte at a time
        # (OpenSSL waits for all of it before it can object).  CPython also
        # times the handshake as a whole, with the connect timeout.
        ("https", b"\x16\x03\x03\x00\x4a", b"\x02\x00\x00\x46\x03\x03" + b"\x00" * 200),
    ],
    ids=["headers", "body", "tls-handshake"],
)
def test_it_ends_every_call_at_the_deadline(scheme: str, prefix: bytes, payload: bytes) -> None:
    peer = TricklingPeer(prefix, payload)
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            http_get(f"{scheme}://127.0.0.1:{peer.port}/eqvol.xml", {}, 10**6, deadline=DEADLINE)
        assert time.monotonic() - started < DEADLINE + SLACK
    finally:
        peer.close()


def test_it_reads_a_prompt_answer_whole() -> None:
    peer = TricklingPeer(HEAD + BODY, b"")
    try:
        fetched = http_get(f"http://127.0.0.1:{peer.port}/eqvol.xml", {}, 10**6, deadline=DEADLINE)
        assert (fetched.status, fetched.body) == (200, BODY)
    finally:
        peer.close()
