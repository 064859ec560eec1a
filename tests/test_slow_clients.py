"""Slow clients against the Procfile's web process, for real.

Issue 8: two connections sending one header line every 2 s kept gunicorn's
sync workers busy until WORKER TIMEOUT killed them, and /healthz stopped
answering.  Here more slow clients than the web process has threads
(workers x threads, from gunicorn.conf.py) trickle headers and a webhook
body, and others never close their end after an answer; meanwhile /healthz
and signed webhooks must be answered promptly, and each slow client must be
cut off with 408 once its deadline (webserver.HEADER_TIMEOUT, BODY_TIMEOUT)
has passed.  Bounds are generous: this checks behaviour, not speed.

Also: each thread writes through its own database connection, at most
workers x threads of them; and the worker, which reads requests itself
(web/gunicorn_worker.py), hands the application every request whole and refuses
what it will not read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import runpy
import signal
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REDIS_URL, SECRET, TOKEN
from tests.test_processes import ROOT, free_port, procfile, wait_until
from web import gunicorn_worker as webserver

TRICKLE_EVERY = 2.0
PROMPT = 5.0  # well under the 10 s deadlines: a starved server fails it
WEB_CONCURRENCY = 2
APPLICATION_NAME = "tsunagari-web-slow-clients"


def server_threads() -> int:
    """Threads in all the web process's workers, as gunicorn.conf.py sets them."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return conf["workers"] * conf["threads"]


@pytest.fixture
def web(database_url, redis_conn, tmp_path):
    port = free_port()
    if database_url.startswith("postgresql"):
        # Names the web process's connections in pg_stat_activity.
        database_url += f"?application_name={APPLICATION_NAME}"
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WEB_CONCURRENCY),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "SECRET_KEY": "test-secret-key-" + "0" * 32,
        "LINE_API_BASE_URL": "http://127.0.0.1:9",
        "JMA_FEED_URL": "",
    }
    command = procfile()["web"]  # database_url made the schema: no release needed
    log = tmp_path / "web.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: _get(port, "/healthz", timeout=1)[0] == 200, timeout=90, what="the web process")
    except AssertionError:
        proc.kill()
        proc.wait()
        raise AssertionError(
            f"the web process did not answer /healthz with 200; its log:\n{log.read_text()}"
        ) from None
    try:
        yield port, log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _get(port: int, path: str, timeout: float = PROMPT) -> tuple[int | None, float]:
    t0 = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
    except OSError:
        status = None
    return status, time.monotonic() - t0


def signed_webhook() -> tuple[str, bytes, dict]:
    event_id = "01SLOW" + uuid.uuid4().hex[:20].upper()
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1764300000000,
        "source": {"type": "group", "groupId": "C" + "0" * 32, "userId": "U" + "1" * 32},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": "100000000000000001", "type": "text", "text": "OK", "quoteToken": "q"},
    }
    body = json.dumps({"destination": "U" + "f" * 32, "events": [event]}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return event_id, body, {"Content-Type": "application/json", "X-Line-Signature": signature}


def post_webhook(port: int) -> tuple[str, int | None, float]:
    event_id, body, headers = signed_webhook()
    t0 = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROMPT)
        conn.request("POST", "/callback", body, headers)
        status = conn.getresponse().status
        conn.close()
    except OSError:
        status = None
    return event_id, status, time.monotonic() - t0


class SlowClient(threading.Thread):
    """Sends ``head`` then one of ``drip`` every TRICKLE_EVERY seconds,
    reading between drips, until the server closes the connection."""

    def __init__(self, port: int, head: bytes, drip):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.started = time.monotonic()  # the server's clock starts at accept
        self.head, self.drip = head, drip
        self.received = b""
        self.head_sent = self.cut_at = None

    def run(self):
        self.sock.settimeout(TRICKLE_EVERY)
        try:
            self.sock.sendall(self.head)
            self.head_sent = time.monotonic()
            for n in range(30):
                try:
                    data = self.sock.recv(4096)
                except TimeoutError:
                    self.sock.sendall(self.drip(n))
                    continue
                if not data:
                    break
                self.received += data
        except OSError:
            pass  # reset by the server: cut off too
        self.cut_at = time.monotonic()
        self.sock.close()


def header_trickler(port: int) -> SlowClient:
    return SlowClient(
        port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", lambda n: b"X-Line-%d: 1\r\n" % n
    )


def body_trickler(port: int) -> SlowClient:
    event_id, body, headers = signed_webhook()
    head = (
        b"POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    client = SlowClient(port, head + body[:1], lambda n: body[n + 1 : n + 2])
    client.event_id = event_id
    return client


def lingerer(port: int) -> socket.socket:
    """Reads a whole answer, then keeps its end open without a word."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    return sock


def stored(event_ids) -> set[str]:
    from models import WebhookEvent, connected

    with connected():
        query = WebhookEvent.select(WebhookEvent.webhook_event_id)
        return {e.webhook_event_id for e in query.where(WebhookEvent.webhook_event_id.in_(list(event_ids)))}


def web_connections() -> int:
    from models import connected, db

    with connected():
        return db.execute_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,)
        ).fetchone()[0]


def burst(port: int, threads: int) -> list:
    """Concurrent signed webhooks, four per server thread: every thread of
    both workers busy at once, each writing through its own connection."""
    with ThreadPoolExecutor(threads) as pool:
        webhooks = list(pool.map(lambda _: post_webhook(port), range(4 * threads)))
    assert [s for _, s, _ in webhooks] == [200] * len(webhooks)
    assert stored(e for e, _, _ in webhooks) == {e for e, _, _ in webhooks}
    return webhooks


# Each test runs on the backend its point needs: one server start costs
# seconds, and slow clients meet the web server long before the database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_it_writes_from_every_thread_to_one_sqlite_file(web, database_url):
    port, _ = web
    burst(port, server_threads())  # WAL: readers go on, writers take turns


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_it_answers_promptly_while_slow_clients_hold_connections(web, database_url):
    port, log = web
    threads = server_threads()
    webhooks = burst(port, threads)
    # One connection per thread that ran a request: more than one per worker,
    # never more than workers x threads.
    assert WEB_CONCURRENCY < web_connections() <= threads

    slow_headers = [header_trickler(port) for _ in range(threads + 8)]
    slow_bodies = [body_trickler(port) for _ in range(4)]
    for client in slow_headers + slow_bodies:
        client.start()
    lingerers = [lingerer(port) for _ in range(6)]

    probes = 0
    while any(c.is_alive() for c in slow_headers + slow_bodies):
        assert time.monotonic() - slow_headers[0].started < 30, "slow clients were never cut off"
        status, elapsed = _get(port, "/healthz")
        assert (status, elapsed < PROMPT) == (200, True), f"/healthz: {status} after {elapsed:.1f} s"
        webhooks.append(post_webhook(port))
        probes += 1
        time.sleep(0.3)
    for sock in lingerers:
        sock.close()

    # Everyone else was answered, promptly, throughout ...
    assert probes >= 10
    assert [s for _, s, _ in webhooks] == [200] * len(webhooks)
    assert max(t for _, _, t in webhooks) < PROMPT
    # ... and every event answered 200 was stored; the slow bodies' were not.
    assert stored(e for e, _, _ in webhooks) == {e for e, _, _ in webhooks}
    assert stored(c.event_id for c in slow_bodies) == set()

    # Each slow client got 408 and was disconnected at its deadline (the
    # worker checks deadlines once a second).
    for client in slow_headers:
        assert client.received.startswith(b"HTTP/1.1 408 "), client.received[:40]
        assert webserver.HEADER_TIMEOUT - 0.5 < client.cut_at - client.started < webserver.HEADER_TIMEOUT + 4
    for client in slow_bodies:
        assert client.received.startswith(b"HTTP/1.1 408 "), client.received[:40]
        assert webserver.BODY_TIMEOUT - 0.5 < client.cut_at - client.head_sent < webserver.BODY_TIMEOUT + 4
    assert log.read_text().count("Slow client cut off") == len(slow_headers) + len(slow_bodies)


def echo_app(environ, start_response):
    """What the worker handed the application: method, body length, digest."""
    body = environ["wsgi.input"].read()
    answer = f"{environ['REQUEST_METHOD']} {len(body)} {hashlib.sha256(body).hexdigest()[:12]}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]


def echoed(body: bytes) -> bytes:
    return b"POST %d %s" % (len(body), hashlib.sha256(body).hexdigest()[:12].encode())


@pytest.fixture(scope="module")
def echo_port(tmp_path_factory):
    """The Procfile's web line serving echo_app: the worker's framing alone."""
    port = free_port()
    command = procfile()["web"].replace("'app:create_app()'", "tests.test_slow_clients:echo_app")
    env = {**os.environ, "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", "PORT": str(port)}
    with open(tmp_path_factory.mktemp("echo") / "web.log", "w") as out:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=out, stderr=out)
    wait_until(lambda: _get(port, "/", timeout=1)[0] == 200, timeout=90, what="the echo server")
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)


def exchange(port: int, *pieces: bytes) -> list[bytes]:
    """Send the pieces 0.3 s apart; the status lines and bodies answered
    until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=PROMPT) as sock:
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.3)
            sock.sendall(piece)
        received = b""
        while data := sock.recv(65536):
            received += data
    answers = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(
            next(
                (h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0
            )
        )
        answers += [head.split(b"\r\n")[0], rest[:length]] if length else [head.split(b"\r\n")[0]]
        received = rest[length:]
    return answers


def post(body: bytes, *headers: bytes, chunks: list[bytes] | None = None) -> bytes:
    head = b"POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(h + b"\r\n" for h in headers)
    if chunks is None:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    return (
        head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    )


CLOSE = b"Connection: close"
OK = b"HTTP/1.1 200 OK"


def test_it_hands_the_application_each_request_whole(echo_port):
    port, body = echo_port, b'{"events": []}' * 50
    # Two requests pipelined in one write, and a second one split across writes.
    assert exchange(port, post(body) + post(body[:10], CLOSE)) == [OK, echoed(body), OK, echoed(body[:10])]
    second = post(body, CLOSE)
    assert exchange(port, post(b"") + second[:25], second[25:]) == [OK, echoed(b""), OK, echoed(body)]
    # Chunked, split inside a chunk, with trailers.
    chunked = post(b"", CLOSE, chunks=[body[:100], body[100:], b""])
    assert exchange(port, chunked[:120], chunked[120:]) == [OK, echoed(body)]
    with_trailer = chunked.replace(b"0\r\n\r\n", b"0\r\nX-Checksum: 1\r\n\r\n")
    assert exchange(port, with_trailer) == [OK, echoed(body)]
    # Expect: 100-continue is answered once, then the body is read.
    head, _, rest = post(body, b"Expect: 100-continue", CLOSE).partition(b"\r\n\r\n")
    assert exchange(port, head + b"\r\n\r\n", rest) == [b"HTTP/1.1 100 Continue", OK, echoed(body)]
    # HTTP/1.0 closes after one answer.
    assert exchange(port, b"GET / HTTP/1.0\r\n\r\n") == [b"HTTP/1.0 200 OK", b"GET 0 e3b0c44298fc"]


def test_it_refuses_what_it_would_not_read_whole(echo_port):
    port = echo_port
    too_long = b"Content-Length: %d" % (webserver.MAX_BODY + 1)
    assert exchange(port, post(b"", too_long)[:-2] + b"\r\n") == [b"HTTP/1.1 413 Content Too Large"]
    huge_chunk = post(b"", chunks=[]) + b"%x\r\nxxxx" % (webserver.MAX_BODY + 1)
    assert exchange(port, huge_chunk) == [b"HTTP/1.1 413 Content Too Large"]
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(webserver.MAX_HEAD // 1000 + 1))
    assert exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding + b"\r\n") == [
        b"HTTP/1.1 431 Request Header Fields Too Large"
    ]
    # Broken framing is a 400, never the application's 500.
    assert exchange(port, post(b"", chunks=[]) + b"zz\r\n") == [b"HTTP/1.1 400 Bad Request"]
    assert exchange(port, post(b"", chunks=[]) + b"2\r\nabc\r\n0\r\n\r\n") == [b"HTTP/1.1 400 Bad Request"]
    assert exchange(port, b"GET / HTTP/1.1\nHost: 127.0.0.1\n\n")[0] == b"HTTP/1.1 400 Bad Request"
