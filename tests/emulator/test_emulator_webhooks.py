"""Webhooks are built, signed and sent as LINE does, and the SDK parses them."""

from __future__ import annotations

import json

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import (
    FollowEvent,
    JoinEvent,
    LeaveEvent,
    MemberJoinedEvent,
    MemberLeftEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from emulator import LinePlatform, ids


def parse_all(platform: LinePlatform, secret: str) -> list:
    """Parse every recorded webhook body with the SDK, verifying its signature."""
    parser = WebhookParser(secret)
    events = []
    for entry in platform.webhook_log():
        events.extend(parser.parse(entry["body"], entry["signature"]))
    return events


def test_it_reproduces_lines_official_signature_test_vector():
    # DOCS/verify-webhook-signature: this body and secret give this signature.
    platform = LinePlatform("8c570fa6dd201bb328f1c1eac23a96d8", "token")
    body = b'{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
    assert platform.sign(body) == "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="


def test_it_sends_every_group_event_so_the_sdk_parses_it_into_the_right_class(platform, secret):
    group_id = platform.create_group("Neighbours")
    taro = platform.add_user("Taro")
    hanako = platform.add_user("花子")
    platform.add_member(group_id, taro)  # bot not in the group yet: no webhook
    platform.invite_bot(group_id)
    platform.add_member(group_id, hanako)
    platform.send_text(group_id, hanako, "無事です 🙂")
    platform.tap_postback(group_id, taro, "checkin=ok", display_text="OK")
    platform.remove_member(group_id, hanako)
    platform.remove_bot(group_id)

    events = parse_all(platform, secret)

    assert [type(e) for e in events] == [
        JoinEvent,
        MemberJoinedEvent,
        MessageEvent,
        PostbackEvent,
        MemberLeftEvent,
        LeaveEvent,
    ]
    join, joined, message, postback, left, leave = events
    assert all(e.source.group_id == group_id for e in events)
    assert all(e.mode.value == "active" for e in events)
    assert all(e.delivery_context.is_redelivery is False for e in events)
    assert joined.joined.members[0].user_id == hanako
    assert left.left.members[0].user_id == hanako
    assert isinstance(message.message, TextMessageContent)
    assert message.message.text == "無事です 🙂"
    assert message.message.quote_token
    assert message.source.user_id == hanako
    assert postback.postback.data == "checkin=ok"
    assert postback.source.user_id == taro
    assert join.timestamp == message.timestamp  # the clock did not move


def test_it_puts_user_id_only_on_message_and_postback_sources(platform, world):
    platform.add_member(world.group_id, platform.add_user("Saburo"))
    platform.send_text(world.group_id, world.taro, "hello")
    platform.tap_postback(world.group_id, world.taro, "a=1")
    platform.remove_member(world.group_id, world.jiro)
    by_type = {e["type"]: e for e in platform.delivered_events()}
    assert by_type["message"]["source"] == {
        "type": "group",
        "groupId": world.group_id,
        "userId": world.taro,
    }
    assert by_type["postback"]["source"]["userId"] == world.taro
    for kind in ("join", "memberJoined", "memberLeft"):
        assert by_type[kind]["source"] == {"type": "group", "groupId": world.group_id}


def test_it_gives_reply_tokens_only_to_events_that_can_be_replied_to(platform, world):
    platform.add_member(world.group_id, platform.add_user("Saburo"))
    platform.send_text(world.group_id, world.taro, "hello")
    platform.tap_postback(world.group_id, world.taro, "a=1")
    platform.remove_member(world.group_id, world.jiro)
    platform.remove_bot(world.group_id)
    has_token = {e["type"]: "replyToken" in e for e in platform.delivered_events()}
    assert has_token == {
        "join": True,
        "memberJoined": True,
        "message": True,
        "postback": True,
        "memberLeft": False,
        "leave": False,
    }
    tokens = [e["replyToken"] for e in platform.delivered_events() if "replyToken" in e]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in tokens)


def test_it_gives_every_event_a_unique_time_ordered_ulid(platform, world, clock):
    for n in range(20):
        clock.advance(0.0005)
        platform.send_text(world.group_id, world.taro, f"message {n}")
    event_ids = [e["webhookEventId"] for e in platform.delivered_events()]
    assert len(set(event_ids)) == len(event_ids)
    assert all(ids.ULID_RE.match(i) for i in event_ids)
    assert event_ids == sorted(event_ids)


def test_it_posts_webhooks_with_lines_headers_and_a_verifiable_raw_body(receiver, secret, clock):
    platform = LinePlatform(secret, "token", webhook_url=receiver.url, clock=clock)
    group_id = platform.create_group("G")
    taro = platform.add_user("Taro")
    platform.add_member(group_id, taro)
    receiver.status = 200
    result = platform.invite_bot(group_id)
    receiver.status = 503
    failed = platform.send_text(group_id, taro, "こんにちは")

    assert result["status"] == 200
    assert failed["status"] == 503
    assert [entry["status"] for entry in platform.webhook_log()] == [200, 503]
    request = receiver.requests[1]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["user-agent"] == "LineBotWebhook/2.0"
    payload = WebhookParser(secret).parse(
        request["body"].decode("utf-8"), headers["x-line-signature"], as_payload=True
    )
    assert payload.destination == platform.bot_user_id
    assert payload.events[0].message.text == "こんにちは"
    # Non-ASCII text travels as raw UTF-8, exactly the bytes that were signed.
    assert "こんにちは".encode() in request["body"]
    assert json.loads(request["body"])["destination"].startswith("U")


def test_it_refuses_a_tampered_body_in_the_sdk_parser(platform, world, secret):
    platform.send_text(world.group_id, world.taro, "I am safe")
    entry = platform.webhook_log()[-1]
    tampered = entry["body"].replace("I am safe", "I am hurt")
    with pytest.raises(InvalidSignatureError):
        WebhookParser(secret).parse(tampered, entry["signature"])


def test_it_records_a_webhook_that_could_not_be_delivered(secret, clock):
    platform = LinePlatform(secret, "token", webhook_url="http://127.0.0.1:9/callback", clock=clock)
    group_id = platform.create_group("G")
    result = platform.invite_bot(group_id)
    assert result["status"] is None
    entry = platform.webhook_log()[-1]
    assert entry["status"] is None
    assert entry["error"]
    assert entry["event_ids"] == [result["event"]["webhookEventId"]]


def test_it_sends_no_webhook_for_a_group_without_the_bot(platform):
    group_id = platform.create_group("No bot here")
    taro = platform.add_user("Taro")
    platform.add_member(group_id, taro)
    result = platform.send_text(group_id, taro, "anyone?")
    assert result["event"] is None
    assert platform.delivered_events() == []
    assert [item["message"]["text"] for item in platform.timeline(group_id)] == ["anyone?"]


def test_it_shows_a_postbacks_display_text_as_the_users_message(platform, world):
    result = platform.tap_postback(world.group_id, world.hanako, "checkin=safe", display_text="無事です")
    item = platform.timeline(world.group_id)[-1]
    assert item["seq"] == result["seq"]
    assert item["sender"] == "user"
    assert item["user_id"] == world.hanako
    assert item["display_name"] == "Hanako"
    assert item["via"] is None
    assert item["message"] == {"type": "text", "text": "無事です"}
    # displayText produces no message event, only the postback.
    assert platform.delivered_events()[-1]["type"] == "postback"


def test_it_refuses_messages_from_non_members(platform, world):
    outsider = platform.add_user("Outsider")
    with pytest.raises(ValueError):
        platform.send_text(world.group_id, outsider, "hi")
    with pytest.raises(KeyError):
        platform.send_text("C" + "0" * 32, world.taro, "hi")


def test_it_redelivers_with_the_same_id_timestamp_and_reply_token(platform, world, clock, secret):
    original = platform.send_text(world.group_id, world.taro, "hello")["event"]
    clock.advance(30)
    again = platform.redeliver(original["webhookEventId"])["event"]

    assert again["deliveryContext"] == {"isRedelivery": True}
    assert {k: v for k, v in again.items() if k != "deliveryContext"} == {
        k: v for k, v in original.items() if k != "deliveryContext"
    }
    parsed = parse_all(platform, secret)[-1]
    assert isinstance(parsed, MessageEvent)
    assert parsed.delivery_context.is_redelivery is True
    assert parsed.webhook_event_id == original["webhookEventId"]
    assert parsed.reply_token == original["replyToken"]
    with pytest.raises(KeyError):
        platform.redeliver("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_it_sends_an_empty_event_list_to_verify_the_webhook(platform, secret):
    platform.verify_webhook()
    entry = platform.webhook_log()[-1]
    assert json.loads(entry["body"]) == {"destination": platform.bot_user_id, "events": []}
    assert WebhookParser(secret).parse(entry["body"], entry["signature"]) == []


def test_it_sends_follow_and_unfollow_for_one_to_one_chats(platform, secret):
    taro = platform.add_user("Taro")
    platform.follow(taro)
    platform.unfollow(taro)
    follow, unfollow = parse_all(platform, secret)
    assert isinstance(follow, FollowEvent)
    assert follow.source.user_id == taro
    assert follow.reply_token
    assert isinstance(unfollow, UnfollowEvent)
    assert unfollow.source.user_id == taro
