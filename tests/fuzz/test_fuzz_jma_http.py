"""``jobs.jma_poll.http_get`` against a raw TCP peer that answers with
mutated HTTP: a bad status line, too many or too long headers, a NUL or
Latin-1 in a header, a Content-Length that lies, broken chunking, a gzip body
nobody asked for, a cut-off answer.  It returns what it read or raises what
the poller records (XmlRefusedError, DeadlineExceeded, NETWORK_ERRORS) —
never anything else, which would abort the poll."""

from __future__ import annotations

import gzip
import socket
import threading

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jma_mutations import telegram_bytes

from domain.jma import XmlRefusedError
from jobs.jma_poll import NETWORK_ERRORS, DeadlineExceeded, http_get
from tests.jma.jma_fixtures import AICHI

MAX_BYTES = 64 * 1024


class RawPeer:
    """Accepts connections on 127.0.0.1, reads the request head, writes
    ``answer`` as it is and closes."""

    def __init__(self):
        self.answer = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/eqvol.xml"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                    conn.sendall(self.answer)
                except OSError:
                    pass  # the client gave up first

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def raw_peer():
    peer = RawPeer()
    yield peer
    peer.close()


def _answer(status: bytes, headers: list[bytes], body: bytes) -> bytes:
    return status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


@st.composite
def hostile_answers(draw) -> bytes:
    body = draw(st.sampled_from([telegram_bytes(AICHI), b"", b"<feed/>", b"x" * (MAX_BYTES + 1)]))
    status = draw(
        st.one_of(
            st.just(b"HTTP/1.1 200 OK"),
            st.sampled_from(
                [
                    b"HTTP/1.1 304 Not Modified",
                    b"HTTP/1.1 500 Oops",
                    b"HTTP/1.0 200 OK",
                    b"HTTP/1.1 99999 Big",
                    b"HTTP/1.1 abc",
                    b"HTTP/9.9 200 OK",
                    b"ICY 200 OK",
                    b"",
                    b"\x00\xff",
                    b"HTTP/1.1 200 " + b"O" * 70000,
                ]
            ),
        )
    )
    headers = [b"Content-Type: application/xml", b"Last-Modified: Thu, 18 Feb 2021 04:02:00 GMT"]
    framing = draw(
        st.sampled_from(["length", "lying length", "bad length", "chunked", "bad chunks", "close"])
    )
    if framing == "length":
        headers.append(b"Content-Length: %d" % len(body))
    elif framing == "lying length":
        headers.append(b"Content-Length: %d" % draw(st.integers(0, 2 * len(body) + 10)))
    elif framing == "bad length":
        headers.append(b"Content-Length: " + draw(st.sampled_from([b"-1", b"abc", b"1, 2", b"9" * 30, b""])))
    elif framing in ("chunked", "bad chunks"):
        headers.append(b"Transfer-Encoding: chunked")
        size = (
            b"%x" % len(body)
            if framing == "chunked"
            else draw(st.sampled_from([b"zz", b"-5", b"f" * 40, b""]))
        )
        body = size + b"\r\n" + body + b"\r\n0\r\n\r\n"
    extra = draw(
        st.lists(
            st.sampled_from(
                [
                    b"Last-Modified: Thu, 18 Feb 2021 04:02:00 GMT\x00",
                    b"Last-Modified: \xe6\x97\xa5\xe6\x9c\xac",
                    b"X-Long: " + b"a" * 70000,
                    b"Content-Encoding: gzip",
                    b"no colon here",
                    b" folded continuation",
                    b"Location: http://127.0.0.2/",
                    b"Connection: keep-alive",
                ]
            ),
            max_size=3,
        )
    )
    headers += extra
    if draw(st.integers(0, 9)) == 0:
        headers += [b"X-%d: y" % n for n in range(120)]  # http.client allows 100
    if b"Content-Encoding: gzip" in extra:
        body = gzip.compress(body)
    answer = _answer(status, headers, body)
    if draw(st.booleans()):
        answer = answer[: draw(st.integers(0, len(answer)))]
    return answer


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(answer=hostile_answers())
def test_http_get_returns_or_raises_only_what_the_poller_records(raw_peer, answer: bytes) -> None:
    raw_peer.answer = answer
    try:
        fetched = http_get(raw_peer.url, {}, MAX_BYTES, deadline=3.0)
    except (XmlRefusedError, DeadlineExceeded, *NETWORK_ERRORS) as exc:
        event(f"raised {type(exc).__name__}")
        return
    event(f"HTTP {fetched.status}")
    assert isinstance(fetched.status, int) and len(fetched.body) <= MAX_BYTES
    assert fetched.last_modified is None or isinstance(fetched.last_modified, str)
