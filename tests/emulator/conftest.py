"""Fixtures for the emulator's own tests.

Everything is reached the way the bot reaches LINE: the real line-bot-sdk
with ``Configuration(host=server.url)``, or raw urllib3 requests where the
SDK would refuse a body client-side (pydantic limits). Time is an injected
``FakeClock``: nothing sleeps except the one test of a slow answer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
import urllib3
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator import EmulatorServer, LinePlatform

CHANNEL_SECRET = "emulator-test-channel-secret"
ACCESS_TOKEN = "emulator-test-access-token"
# 2026-01-15 03:00 UTC = 12:00 JST: far from a month boundary in either zone.
START = 1_768_446_000.0
TIMEOUT = (2.0, 5.0)  # (connect, read) for every SDK call


class FakeClock:
    """Callable epoch-seconds clock that only moves when told to."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def secret() -> str:
    return CHANNEL_SECRET


@pytest.fixture
def token() -> str:
    return ACCESS_TOKEN


@pytest.fixture
def timeout() -> tuple[float, float]:
    return TIMEOUT


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform_options() -> dict[str, Any]:
    """Extra LinePlatform keyword arguments; override in a test module."""
    return {}


@pytest.fixture
def platform(clock, platform_options) -> LinePlatform:
    return LinePlatform(CHANNEL_SECRET, ACCESS_TOKEN, clock=clock, **platform_options)


@pytest.fixture
def server(platform):
    with EmulatorServer(platform) as running:
        yield running


@pytest.fixture
def api(server):
    with ApiClient(Configuration(host=server.url, access_token=ACCESS_TOKEN)) as client:
        yield MessagingApi(client)


@dataclass
class World:
    """A group with the bot and three members, as most tests need."""

    group_id: str
    taro: str
    hanako: str
    jiro: str
    join_event: dict[str, Any]

    @property
    def members(self) -> list[str]:
        return [self.taro, self.hanako, self.jiro]


@pytest.fixture
def world(platform) -> World:
    group_id = platform.create_group("Yamada family")
    taro = platform.add_user("Taro")
    hanako = platform.add_user("Hanako")
    jiro = platform.add_user("Jiro")
    for user_id in (taro, hanako, jiro):
        platform.add_member(group_id, user_id)
    joined = platform.invite_bot(group_id)
    return World(group_id, taro, hanako, jiro, joined["event"])


@dataclass
class RawResponse:
    status: int
    body: Any
    headers: dict[str, str]


@pytest.fixture
def raw(server):
    """``raw(method, path, body=None, headers=None, token=ACCESS_TOKEN)`` without the SDK.

    ``body`` may be a dict (sent as JSON) or bytes (sent as is). Returns a
    RawResponse with the decoded JSON body (None when not JSON).
    """
    http = urllib3.PoolManager(retries=False)

    def request(
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        token: str | None = ACCESS_TOKEN,
    ) -> RawResponse:
        sent_headers = {"Content-Type": "application/json"}
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        sent_headers.update(headers or {})
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        response = http.request(
            method,
            server.url + path,
            body=data,
            headers=sent_headers,
            timeout=urllib3.Timeout(connect=2.0, read=5.0),
        )
        try:
            decoded = json.loads(response.data.decode("utf-8"))
        except ValueError:
            decoded = None
        return RawResponse(response.status, decoded, {k.lower(): v for k, v in response.headers.items()})

    yield request
    http.clear()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class Receiver:
    """A tiny webhook receiver: records each POST and answers ``status``."""

    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    on_request: Any = None  # optional callable(body_bytes, headers) run before answering
    url: str = ""

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if self.on_request is not None:
            self.on_request(body, request.headers)
        return Response("OK", status=self.status)(environ, start_response)


@pytest.fixture
def receiver():
    """A running Receiver; point ``LinePlatform(webhook_url=receiver.url)`` at it."""
    recv = Receiver()
    http_server = make_server("127.0.0.1", 0, recv, threaded=True, request_handler=_Quiet)
    recv.url = f"http://127.0.0.1:{http_server.server_port}/callback"
    thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield recv
    http_server.shutdown()
    http_server.server_close()
