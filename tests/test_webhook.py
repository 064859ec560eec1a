"""POST /callback with real HMAC signatures over LINE's own sample events,
and the checks every event passes before it is stored
(domain/webhook_events.py).  The fuzz suite is tests/fuzz/."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest

from app import create_app
from bot import group_events, one_to_one
from domain.webhook_events import (
    CHECKS,
    DROP,
    IGNORE,
    MAX_EVENT_AGE,
    MAX_EVENT_LEAD,
    PROCESS,
    REJECT,
    MalformedBody,
    _loads_without_recursion,
    check_event,
    parse_body,
)
from jobs import runtime
from jobs.scheduler import dispatch_once
from models import Group, WebhookEvent, naive
from services import clock
from services.retention import EVENT_RETENTION
from tests.conftest import SECRET
from tests.support import HANAKO, setup_group

SAMPLE = json.loads((Path(__file__).parent / "fixtures/line/sdk-webhook-sample.json").read_text())
# LINE's sample, checked: 19 well-formed events of the types the bot
# handles, 7 of types it does not (beacon, unsend, messageEdited,
# an undefined one...), and a memberJoined and a memberLeft whose ids the
# SDK's authors shortened to "C4af4980629..." (not a group id).
SAMPLE_TO_PROCESS, SAMPLE_IGNORED, SAMPLE_REJECTED = 19, 7, 2
GROUP = "Ca56f94637cc4347f90a25382909b24b9"
USER = "U206d25c2ea6bd87c17655609a1c37cb8"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(client, payload, secret: str = SECRET, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return client.post(
        "/callback",
        data=body,
        headers={"X-Line-Signature": signature or sign(body, secret), "Content-Type": "application/json"},
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def sample_with_unique_ids() -> dict:
    """LINE's sample, happening now, each event with its own id."""
    payload = copy.deepcopy(SAMPLE)
    for i, event in enumerate(payload["events"]):
        event["webhookEventId"] = f"01TESTSAMPLE{i:014d}"
        event["timestamp"] = now_ms()
    return payload


def text_event(text: str = "OK", event_id: str = "01HTEXT0000000000000000000", **changes) -> dict:
    """A member's text message in a group, as LINE sends it, now."""
    event = {
        "replyToken": "0f3779fba3b349968c5d07db31eabf65",
        "type": "message",
        "mode": "active",
        "timestamp": now_ms(),
        "source": {"type": "group", "groupId": GROUP, "userId": USER},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "message": {"id": "325708", "type": "text", "text": text, "quoteToken": "q" * 40},
    }
    event.update(changes)
    return event


def waiting_for_a_worker() -> int:
    """Stored events a worker will process (one sender's go one at a time)."""
    return WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count()


def body_of(*events) -> dict:
    return {"destination": "U" + "f" * 32, "events": list(events)}


@pytest.fixture
def app(settings, redis_conn):
    runtime.configure(settings)  # the dispatcher runs in this process too
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


# -- signatures and bodies ----------------------------------------------------------
def test_it_verifies_lines_official_test_vector(client):
    body = b'{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
    assert sign(body) == "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="
    assert post(client, body).status_code == 200


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
        b"",
        b"null",
        b"[1, 2, 3]",
        b'{"destination": "U0"}',
        b'{"destination": "U0", "events": {"type": "message"}}',
        b'{"destination": "U0", "events": "[]"}',
        b'{"destination": "U0", "events": []} trailing',
        "\u3042".encode("utf-16"),
        b'{"events": [], "x": "\xff\xfe"}',  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # nested past json's recursion limit: read, but no events
        b'{"events": [' + b"[" * 100_000 + b"]" * 99_999 + b"}",  # unbalanced, too deep to see at once
    ],
)
def test_it_answers_malformed_bodies_with_400(client, body):
    response = post(client, body)
    assert response.status_code == 400
    assert WebhookEvent.select().count() == 0


def test_it_refuses_huge_bodies(client):
    body = b'{"events": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert post(client, body).status_code == 413


# -- storing --------------------------------------------------------------------------
def test_it_stores_lines_sample_events_before_answering(client, redis_conn):
    response = post(client, sample_with_unique_ids())
    assert response.status_code == 200
    stored = list(WebhookEvent.select().order_by(WebhookEvent.id))
    assert len(stored) == 28  # every event has a row: a redelivery of any is a duplicate
    waiting = [e for e in stored if e.processed_at is None]
    assert len(waiting) == SAMPLE_TO_PROCESS
    assert {e.event_type for e in waiting} == {"message", "postback", "join", "leave", "follow", "unfollow"}
    assert json.loads(waiting[0].payload)["message"]["text"] == "Hello, world"
    done = [e for e in stored if e.processed_at is not None]
    assert all(e.payload == "{}" for e in done)  # nothing kept of what is not processed
    assert (
        sorted(e.error or "" for e in done)
        == [""] * SAMPLE_IGNORED + ["rejected: source.groupId: not in the expected format"] * SAMPLE_REJECTED
    )
    # The webhook never waits on Redis; the dispatcher hands them to workers,
    # one event per sender at a time (the next one once it is processed).
    assert redis_conn.keys("rq:queue:*") == []
    firsts: dict = {}
    for event in waiting:
        firsts.setdefault(event.order_key, event.id)
    assert 1 < len(firsts) < SAMPLE_TO_PROCESS
    assert dispatch_once() == len(firsts)
    assert redis_conn.llen("rq:queue:events") == 1  # one batch job
    handed_out = {e.id for e in WebhookEvent.select() if e.enqueued_at is not None and e.processed_at is None}
    assert handed_out == set(firsts.values())
    assert dispatch_once() == 0  # claimed once; the others wait for their sender's first


def test_it_drops_duplicate_webhook_event_ids(client):
    # The sample as published: 28 events sharing one webhookEventId.  The
    # first is the one kept, whatever the others hold.
    payload = copy.deepcopy(SAMPLE)
    payload["events"][0]["timestamp"] = now_ms()
    assert post(client, payload).status_code == 200
    assert WebhookEvent.select().count() == 1
    assert json.loads(WebhookEvent.get().payload)["message"]["text"] == "Hello, world"


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


def test_it_answers_unknown_event_types_with_200_and_does_not_process_them(client):
    payload = body_of(
        {
            "type": "somethingNew",
            "mode": "active",
            "timestamp": 1462629479859,
            "source": {"type": "user", "userId": USER},
            "webhookEventId": "01FUTUREEVENT0000000000000",
            "deliveryContext": {"isRedelivery": False},
            "somethingNew": {"whatever": ["LINE", "adds"]},
        }
    )
    assert post(client, payload).status_code == 200
    row = WebhookEvent.get()
    assert (row.event_type, row.payload, row.error) == ("somethingNew", "{}", None)
    assert row.processed_at is not None
    assert dispatch_once() == 0
    assert post(client, payload).status_code == 200  # and a redelivery is a duplicate
    assert WebhookEvent.select().count() == 1


def test_it_does_not_process_events_for_the_standby_channel(client):
    assert post(client, body_of(text_event(mode="standby"))).status_code == 200
    row = WebhookEvent.get()
    assert row.processed_at is not None and row.payload == "{}" and row.error is None
    assert dispatch_once() == 0


def test_it_stores_events_even_when_redis_is_down(settings, database_url):
    down = settings.with_(redis_url="redis://127.0.0.1:1/0")
    runtime.configure(down)  # the dispatcher's Redis is down too
    app = create_app(down)
    response = post(app.test_client(), sample_with_unique_ids())
    assert response.status_code == 200
    assert WebhookEvent.select().count() == 28
    # The dispatcher cannot enqueue them now; they stay unclaimed for later.
    assert dispatch_once() == 0
    unclaimed = WebhookEvent.select().where(
        WebhookEvent.enqueued_at.is_null() & WebhookEvent.processed_at.is_null()
    )
    assert unclaimed.count() == SAMPLE_TO_PROCESS


def test_it_stores_ten_thousand_events_from_one_body(client, redis_conn):
    # Within the 1 MiB a body may have: 10,000 events, the smallest LINE
    # could send (of a type the bot does not handle) with 10 messages among
    # them.  More rows than one INSERT may bind parameters for.
    small = [{"type": "x", "webhookEventId": f"{i:08d}"} for i in range(9_990)]
    messages = [text_event(event_id=f"01HMANY{i:019d}") for i in range(10)]
    body = json.dumps(body_of(*small[:5000], *messages, *small[5000:]), separators=(",", ":")).encode()
    assert len(body) < 1024 * 1024
    assert post(client, body).status_code == 200
    assert WebhookEvent.select().count() == 10_000
    assert waiting_for_a_worker() == 10


def test_it_answers_a_body_of_only_unusable_elements_with_200(client):
    body = body_of(42, None, "event", [], {}, {"type": "message"}, {"webhookEventId": 7, "type": "follow"})
    assert post(client, body).status_code == 200
    deep = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert post(client, deep).status_code == 200
    assert WebhookEvent.select().count() == 0  # nothing to key them by


# -- one malformed event among good ones (issue 8, items 5 and 7) ------------------------
def _set(path: str, value):
    """An edit of a text_event: ``path`` like "source.groupId" set to ``value``
    (a ``RawJson`` is spliced into the body as written)."""

    def edit(event: dict) -> dict:
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        node[last] = value
        return event

    return edit


def _drop(path: str):
    def edit(event: dict) -> dict:
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        del node[last]
        return event

    return edit


class RawJson(str):
    """JSON written into the body as it is (Python cannot express it)."""


def _member_left(event: dict, members) -> dict:
    del event["message"], event["replyToken"]
    event.update(type="memberLeft", left={"members": members}, source={"type": "group", "groupId": GROUP})
    return event


def _postback(event: dict, data) -> dict:
    del event["message"]
    event.update(type="postback", postback={"data": data})
    return event


# (what is wrong, the event, outcome, the reason recorded)
MALFORMED = [
    ("nesting deeper than json's recursion limit", _set("message.emojis", RawJson("[" * 5000 + "]" * 5000)), REJECT, "nested too deeply"),
    ("nesting deeper than any LINE event", _set("message.extra", json.loads("[" * 40 + "]" * 40)), REJECT, "nested too deeply"),
    ("a NUL in webhookEventId", _set("webhookEventId", "01H\x00"), DROP, None),
    ("a NUL in type", _set("type", "message\x00"), REJECT, "type: not an event type"),
    ("a NUL in the text", _set("message.text", "O\x00K"), REJECT, "a string with a NUL or an unpaired surrogate"),
    ("a lone surrogate in the text", _set("message.text", RawJson('"\\ud800OK"')), REJECT, "a string with a NUL or an unpaired surrogate"),
    ("a lone surrogate in a key", _set("deliveryContext", RawJson('{"\\udc00": 1, "isRedelivery": false}')), REJECT, "a key with a NUL or an unpaired surrogate"),
    ("a number of 5,000 digits", _set("timestamp", RawJson("9" * 5000)), REJECT, "a number out of range"),
    ("a number beyond 64 bits", _set("message.extra", 2**64), REJECT, "a number out of range"),
    ("NaN", _set("message.extra", RawJson("NaN")), REJECT, "a number out of range"),
    ("1e999", _set("message.extra", RawJson("1e999")), REJECT, "a number out of range"),
    ("source as a string", _set("source", "group"), REJECT, "source: not an object"),
    ("a source of an unknown type", _set("source.type", "planet"), REJECT, "source.type: not one of the expected values"),
    ("text as a list", _set("message.text", ["O", "K"]), REJECT, "message.text: not a string"),
    ("text of 10,001 characters", _set("message.text", "あ" * 10_001), REJECT, "message.text: longer than 10000 characters"),
    ("a 100-character groupId", _set("source.groupId", "C" + "0" * 99), REJECT, "source.groupId: not in the expected format"),
    ("an empty groupId", _set("source.groupId", ""), REJECT, "source.groupId: not in the expected format"),
    ("an upper-case userId", _set("source.userId", USER.upper()), REJECT, "source.userId: not in the expected format"),
    ("a replyToken with a space", _set("replyToken", "a b"), REJECT, "replyToken: not in the expected format"),
    ("an empty replyToken", _set("replyToken", ""), REJECT, "replyToken: not in the expected format"),
    ("the timestamp as a string", _set("timestamp", "1764300000000"), REJECT, "timestamp: not an integer"),
    ("the timestamp as a float", _set("timestamp", 1.5), REJECT, "timestamp: not an integer"),
    ("no deliveryContext", _drop("deliveryContext"), REJECT, "deliveryContext: missing"),
    ("a mode LINE does not have", _set("mode", "passive"), REJECT, "mode: not one of the expected values"),
    ("isRedelivery as a string", _set("deliveryContext.isRedelivery", "false"), REJECT, "deliveryContext.isRedelivery: not true or false"),
    ("no message", _drop("message"), REJECT, "message: missing"),
    ("a sticker without its resource type", _set("message", {"id": "1", "type": "sticker", "packageId": "1", "stickerId": "2", "quoteToken": "q"}), REJECT, "message.stickerResourceType: missing"),
    ("a webhookEventId of 65 characters", _set("webhookEventId", "0" * 65), DROP, None),
    ("an empty webhookEventId", _set("webhookEventId", ""), DROP, None),
    ("an empty type", _set("type", ""), REJECT, "type: not an event type"),
    ("type as a number", _set("type", 7), REJECT, "type: not an event type"),
    ("memberLeft.members as a string", lambda e: _member_left(e, "U" + "0" * 32), REJECT, "left.members: not a list"),
    ("a memberLeft member without type", lambda e: _member_left(e, [{"userId": "U" + "0" * 32}]), REJECT, "left.members[0].type: missing"),
    ("postback data of 301 characters", lambda e: _postback(e, "a=ok&r=" + "1" * 294), REJECT, "postback.data: longer than 300 characters"),
    ("postback data as a number", lambda e: _postback(e, 12), REJECT, "postback.data: not a string"),
]  # fmt: skip


def _serialise(payload: dict) -> bytes:
    """json.dumps, with RawJson values written in as they are."""
    raws: list[str] = []

    def mark(node):
        if isinstance(node, RawJson):
            raws.append(node)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(payload), ensure_ascii=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw, 1)
    return text.encode()


@pytest.mark.parametrize(("wrong", "edit", "outcome", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_it_keeps_the_rest_of_a_body_when_one_event_is_malformed(
    client, redis_conn, wrong, edit, outcome, reason
):
    before = text_event("OK", "01HBEFORE00000000000000000")
    bad = edit(text_event("OK", "01HMALFORMED00000000000000"))
    after = text_event("おはよう", "01HAFTER000000000000000000")
    response = post(client, _serialise(body_of(before, bad, after)))
    assert response.status_code == 200
    rows = {row.webhook_event_id: row for row in WebhookEvent.select()}
    for good in (before, after):
        assert rows[good["webhookEventId"]].processed_at is None
        assert json.loads(rows[good["webhookEventId"]].payload) == good
    if outcome == DROP:
        assert len(rows) == 2  # no usable id to keep it under
    else:
        row = rows["01HMALFORMED00000000000000"]
        assert row.processed_at is not None and row.payload == "{}"  # never processed, nothing kept
        assert row.error == f"rejected: {reason}"
    assert waiting_for_a_worker() == 2  # only the good ones reach a worker


@pytest.mark.parametrize(("wrong", "edit", "outcome", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_it_tells_what_is_wrong_with_an_event(wrong, edit, outcome, reason):
    (event,) = parse_body(_serialise(body_of(edit(text_event()))).decode())
    checked = check_event(event, now_ms())
    assert (checked.outcome, checked.reason if outcome == REJECT else None) == (outcome, reason)


def test_it_accepts_what_lines_schema_allows_and_the_bot_does_not_read(client):
    event = text_event(
        "OK",
        message={
            "id": "468789577898262530",
            "type": "text",
            "text": "@Sally Good Morning!! (love)",
            "quoteToken": "q3Plxr4AgKd...",
            "emojis": [{"index": 29, "length": 6, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}],
            "mention": {
                "mentionees": [{"index": 0, "length": 6, "type": "user", "userId": USER, "isSelf": False}]
            },
            "somethingLineAddsLater": {"nested": [1, 2.5, None, True]},
        },
    )
    sticker = text_event(
        event_id="01HSTICKER0000000000000000",
        message={
            "id": "1",
            "type": "sticker",
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "ANIMATION",
            "keywords": ["happy", "smile"],
            "quoteToken": "q",
        },
    )
    unknown_kind = text_event(event_id="01HNEWKIND0000000000000000", message={"id": "2", "type": "hologram"})
    # As long as a member can type: an overlong /お知らせ gets its kind answer.
    longest = text_event("/お知らせ " + "あ" * 9_994, "01HLONGEST0000000000000000")
    assert post(client, body_of(event, sticker, unknown_kind, longest)).status_code == 200
    assert waiting_for_a_worker() == 4


def test_it_checks_every_type_the_handlers_handle():
    # A handler may trust the stored shape only if the webhook checked it.
    assert set(CHECKS) == set(group_events.HANDLERS) | set(one_to_one.HANDLERS)


# -- replays and time (issue 8, item 6) ---------------------------------------------
def test_it_keeps_the_timestamp_window_inside_the_dedupe_retention():
    # An event is refused by its age before its dedupe row can be pruned,
    # even one that came stamped as far ahead of our clock as is allowed.
    assert MAX_EVENT_AGE + MAX_EVENT_LEAD < EVENT_RETENTION


@pytest.mark.parametrize(
    ("offset", "outcome"),
    [
        (-MAX_EVENT_AGE + timedelta(minutes=1), PROCESS),
        (-MAX_EVENT_AGE - timedelta(minutes=1), REJECT),
        (-timedelta(days=365 * 10), REJECT),
        (MAX_EVENT_LEAD - timedelta(minutes=1), PROCESS),
        (MAX_EVENT_LEAD + timedelta(minutes=1), REJECT),
        (timedelta(days=365 * 100), REJECT),
    ],
)
def test_it_refuses_events_too_old_or_too_far_ahead(client, offset, outcome):
    at = now_ms() + offset // timedelta(milliseconds=1)
    assert post(client, body_of(text_event(timestamp=at))).status_code == 200
    row = WebhookEvent.get()
    assert (row.processed_at is None) == (outcome == PROCESS)
    assert row.error in (None, "rejected: timestamp: too old", "rejected: timestamp: in the future")


def test_it_refuses_a_pause_replayed_after_its_row_was_pruned(world, monkeypatch):
    group_id = setup_group(world, "毎日 9:00")
    pause = world.line.send_text(group_id, world.user(HANAKO), "/停止")["event"]
    world.work()
    assert Group.get().paused is True
    world.say(group_id, HANAKO, "/再開")
    assert Group.get().paused is False

    # Eight days later (LINE's clock and ours alike) the sweep has pruned
    # the /停止 row, so the unique index no longer knows its webhookEventId.
    real_now = clock.real_now
    monkeypatch.setattr(clock, "real_now", lambda: real_now() + timedelta(days=8))
    world.tick()
    assert not WebhookEvent.select().where(WebhookEvent.webhook_event_id == pause["webhookEventId"]).exists()

    assert world.line.redeliver(pause["webhookEventId"])["status"] == 200
    world.work()
    assert Group.get().paused is False
    replay = WebhookEvent.get(WebhookEvent.webhook_event_id == pause["webhookEventId"])
    assert replay.error == "rejected: timestamp: too old" and replay.payload == "{}"


# -- privacy ------------------------------------------------------------------------------
def test_it_never_logs_bodies_text_or_tokens(client, caplog):
    secret_text = "鍵は植木鉢の下にあります"
    good = text_event(secret_text, replyToken="TOKEN0123456789secret")
    bad = text_event(
        secret_text, "01HBAD0000000000000000000X", source={"type": "group", "groupId": secret_text}
    )
    with caplog.at_level(logging.INFO):  # the level create_app sets
        assert post(client, body_of(good, bad, {"webhookEventId": secret_text})).status_code == 200
    assert "1 to process, 0 ignored, 1 rejected, 1 dropped" in caplog.text
    assert "source.groupId: not in the expected format x1" in caplog.text
    for private in (secret_text, "TOKEN0123456789secret", GROUP, USER):
        assert private not in caplog.text


# -- reading a body (pure) ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        '{"events": [{"a": [1, -2.5e3, {"b": null, "c": true, "d": false}], "e": "\\u3042\\n\\"", "f": {}, "g": []}]}',
        '  {"events" : [ ] , "destination" : "U0" }  ',
        '{"events": [1, 0, -0, 1E5, 1e-5, "x", [[[]]]], "events": [{"dup": 2}]}',
    ],
)
def test_it_reads_deep_bodies_as_json_reads_shallow_ones(text):
    # The body is read by json.loads, or, when it is nested too deeply for
    # json's recursion, by a parser without recursion that must agree.
    assert _loads_without_recursion(text, 100) == json.loads(text)
    assert parse_body(text) == json.loads(text)["events"]


@pytest.mark.parametrize(
    "text", ["", "{", "[1,]", '{"a"}', '{"a":1,}', "01", "[1 2]", '{"events":[]}x', "tru", '"\x01"']
)
def test_it_refuses_what_json_refuses_however_deep(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(MalformedBody):
        _loads_without_recursion(text, 100)


def test_it_reads_the_other_events_of_a_body_nested_past_the_recursion_limit():
    deep = "[" * 200_000 + "]" * 200_000
    text = (
        '{"events": [{"webhookEventId": "A", "type": "message", "x": '
        + deep
        + '}, {"webhookEventId": "B", "type": "new"}]}'
    )
    first, second = parse_body(text)
    assert check_event(first, now_ms()).reason == "nested too deeply"
    assert second == {"webhookEventId": "B", "type": "new"}
    assert check_event(second, now_ms()).outcome == IGNORE


# -- health ----------------------------------------------------------------------------
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
