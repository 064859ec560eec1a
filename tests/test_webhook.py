"""POST /callback with real HMAC signatures over LINE's own sample events."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from app import create_app
from jobs import runtime
from jobs.scheduler import dispatch_once
from models import WebhookEvent, naive
from services import clock
from tests.conftest import SECRET

SAMPLE = json.loads((Path(__file__).parent / "fixtures/line/sdk-webhook-sample.json").read_text())


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(client, payload, secret: str = SECRET, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return client.post(
        "/callback",
        data=body,
        headers={"X-Line-Signature": signature or sign(body, secret), "Content-Type": "application/json"},
    )


def sample_with_unique_ids() -> dict:
    payload = copy.deepcopy(SAMPLE)
    for i, event in enumerate(payload["events"]):
        event["webhookEventId"] = f"01TESTSAMPLE{i:014d}"
    return payload


@pytest.fixture
def app(settings, redis_conn):
    runtime.configure(settings)  # the dispatcher runs in this process too
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


def test_it_verifies_lines_official_test_vector(client):
    body = b'{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
    assert sign(body) == "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="
    assert post(client, body).status_code == 200


def test_it_stores_every_sample_event_before_answering(client, redis_conn):
    response = post(client, sample_with_unique_ids())
    assert response.status_code == 200
    stored = list(WebhookEvent.select().order_by(WebhookEvent.id))
    assert len(stored) == 28
    assert {e.event_type for e in stored} >= {"message", "postback", "join", "leave", "unsend", "undefined"}
    assert json.loads(stored[0].payload)["message"]["text"] == "Hello, world"
    # The webhook never touches Redis; the dispatcher hands them to workers,
    # one event per sender at a time (the next one once it is processed).
    assert redis_conn.keys("rq:queue:*") == []
    firsts = {}
    for event in stored:
        firsts.setdefault(event.order_key, event.id)
    assert 1 < len(firsts) < 28
    assert dispatch_once() == len(firsts)
    assert redis_conn.llen("rq:queue:events") == 1  # one batch job
    handed_out = {e.id for e in WebhookEvent.select() if e.enqueued_at is not None}
    assert handed_out == set(firsts.values())
    assert dispatch_once() == 0  # claimed once; the others wait for their sender's first


def test_it_drops_duplicate_webhook_event_ids(client):
    # The sample as published: 28 events sharing one webhookEventId.
    assert post(client, SAMPLE).status_code == 200
    assert WebhookEvent.select().count() == 1


def test_it_drops_redeliveries(client, redis_conn):
    payload = sample_with_unique_ids()
    post(client, payload)
    dispatch_once()
    for event in payload["events"]:
        event["deliveryContext"]["isRedelivery"] = True
    assert post(client, payload).status_code == 200
    assert WebhookEvent.select().count() == 28
    assert dispatch_once() == 0
    assert redis_conn.llen("rq:queue:events") == 1  # the first dispatch's batch, nothing more


def test_it_refuses_a_forged_signature(client):
    response = post(client, sample_with_unique_ids(), secret="not-the-channel-secret")
    assert response.status_code == 400
    assert WebhookEvent.select().count() == 0


def test_it_refuses_a_missing_signature(client):
    response = client.post("/callback", data=json.dumps(SAMPLE), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert WebhookEvent.select().count() == 0


def test_it_refuses_a_body_changed_after_signing(client):
    body = json.dumps(sample_with_unique_ids()).encode()
    signature = sign(body)
    tampered = body.replace(b"Hello, world", b"Hello, World")
    assert post(client, tampered, signature=signature).status_code == 400


def test_it_answers_an_empty_event_list(client):
    assert post(client, {"destination": "U0", "events": []}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b'{"destination": "U0"}',
        b'{"destination": "U0", "events": {"type": "message"}}',
        b'{"destination": "U0", "events": [42]}',
        b'{"destination": "U0", "events": [{"type": "message"}]}',
        b'{"destination": "U0", "events": [{"type": "follow", "webhookEventId": 7}]}',
        "\u3042".encode("utf-16"),
    ],
)
def test_it_answers_malformed_bodies_with_4xx(client, body):
    response = post(client, body)
    assert 400 <= response.status_code < 500
    assert WebhookEvent.select().count() == 0


def test_it_answers_unknown_event_types_with_200(client):
    payload = {
        "destination": "U0",
        "events": [
            {
                "type": "somethingNew",
                "mode": "active",
                "timestamp": 1462629479859,
                "source": {"type": "user", "userId": "U206d25c2ea6bd87c17655609a1c37cb8"},
                "webhookEventId": "01FUTUREEVENT0000000000000",
                "deliveryContext": {"isRedelivery": False},
            }
        ],
    }
    assert post(client, payload).status_code == 200
    assert WebhookEvent.get().event_type == "somethingNew"


def test_it_refuses_huge_bodies(client):
    body = b'{"events": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert post(client, body).status_code == 413


def test_it_stores_events_even_when_redis_is_down(settings, database_url):
    down = settings.with_(redis_url="redis://127.0.0.1:1/0")
    runtime.configure(down)  # the dispatcher's Redis is down too
    app = create_app(down)
    response = post(app.test_client(), sample_with_unique_ids())
    assert response.status_code == 200
    assert WebhookEvent.select().count() == 28
    # The dispatcher cannot enqueue them now; they stay unclaimed for later.
    assert dispatch_once() == 0
    assert WebhookEvent.select().where(WebhookEvent.enqueued_at.is_null()).count() == 28


def test_it_reports_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "events": "ok",
        "outbox": "ok",
        "oldest_event_seconds": 0.0,
        "oldest_due_outbox_seconds": 0.0,
    }


def test_it_reports_a_queue_that_is_not_draining(client):
    post(client, sample_with_unique_ids())  # stored, and no worker runs
    assert client.get("/healthz").status_code == 200  # just arrived: fine
    clock.advance(121)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["events"] == "error: not draining" and body["oldest_event_seconds"] >= 121
    assert body["outbox"] == "ok"


def test_it_reports_outbox_rows_that_are_due_but_not_sent(client, settings):
    from models import Group
    from services.outbox import add_push

    group = Group.create(line_group_id="C" + "1" * 32, joined_at=naive(clock.now()))
    add_push(group, [{"type": "text", "text": "こんにちは"}], "summary", clock.now())
    clock.advance(601)
    body = client.get("/healthz").get_json()
    assert body["outbox"] == "error: not draining" and body["events"] == "ok"


def test_it_reports_a_broken_redis(settings):
    app = create_app(settings.with_(redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("error")
