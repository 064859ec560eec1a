"""Reply tokens: single use, 60 s, redelivery rules, no retry key; replies are free."""

from __future__ import annotations

import json

import pytest
from linebot.v3.messaging import ApiException, ReplyMessageRequest, TextMessage


def reply(api, token, text, timeout, **kwargs):
    return api.reply_message(
        ReplyMessageRequest(reply_token=token, messages=[TextMessage(text=text)]),
        _request_timeout=timeout,
        **kwargs,
    )


def assert_invalid_token(exc_info):
    assert exc_info.value.status == 400
    assert json.loads(exc_info.value.body) == {"message": "Invalid reply token"}


def test_it_delivers_a_reply_into_the_chat_it_answers(api, platform, world, timeout):
    event = platform.send_text(world.group_id, world.taro, "are you there?")["event"]
    response = reply(api, event["replyToken"], "Here!", timeout)

    assert len(response.sent_messages) == 1
    assert response.sent_messages[0].id.isdigit()
    assert response.sent_messages[0].quote_token
    item = platform.timeline(world.group_id)[-1]
    assert item["sender"] == "bot"
    assert item["via"] == "reply"
    assert item["message"] == {"type": "text", "text": "Here!"}


def test_it_accepts_a_reply_token_only_once(api, platform, world, timeout):
    token = platform.send_text(world.group_id, world.taro, "hi")["event"]["replyToken"]
    reply(api, token, "first", timeout)
    with pytest.raises(ApiException) as exc_info:
        reply(api, token, "second", timeout)
    assert_invalid_token(exc_info)
    texts = [i["message"]["text"] for i in platform.timeline(world.group_id) if i["sender"] == "bot"]
    assert texts == ["first"]


def test_it_expires_a_reply_token_after_60_seconds(api, platform, world, clock, timeout):
    early = platform.send_text(world.group_id, world.taro, "one")["event"]["replyToken"]
    late = platform.send_text(world.group_id, world.taro, "two")["event"]["replyToken"]
    clock.advance(59.9)
    reply(api, early, "in time", timeout)
    clock.advance(0.2)
    with pytest.raises(ApiException) as exc_info:
        reply(api, late, "too late", timeout)
    assert_invalid_token(exc_info)


def test_it_rejects_an_unknown_reply_token(api, world, timeout):
    with pytest.raises(ApiException) as exc_info:
        reply(api, "0" * 32, "who?", timeout)
    assert_invalid_token(exc_info)


def test_it_answers_400_to_a_retry_key_on_reply_and_keeps_the_token(raw, platform, world):
    token = platform.send_text(world.group_id, world.taro, "hi")["event"]["replyToken"]
    body = {"replyToken": token, "messages": [{"type": "text", "text": "x"}]}
    refused = raw(
        "POST",
        "/v2/bot/message/reply",
        body,
        headers={"X-Line-Retry-Key": "123e4567-e89b-12d3-a456-426614174000"},
    )
    assert refused.status == 400
    assert "X-Line-Retry-Key" in refused.body["message"]
    # Nothing was processed: the token still works.
    assert raw("POST", "/v2/bot/message/reply", body).status == 200


def test_it_does_not_count_replies_against_the_quota(api, platform, world, timeout):
    for n in range(3):
        token = platform.send_text(world.group_id, world.taro, f"msg {n}")["event"]["replyToken"]
        reply(api, token, f"reply {n}", timeout)
    assert platform.usage()["total"] == 0
    assert api.get_message_quota_consumption(_request_timeout=timeout).total_usage == 0


def test_it_renews_a_redelivered_token_for_a_minute_within_20_minutes(api, platform, world, clock, timeout):
    event = platform.send_text(world.group_id, world.taro, "hi")["event"]
    clock.advance(120)
    platform.redeliver(event["webhookEventId"])
    clock.advance(59)
    reply(api, event["replyToken"], "after redelivery", timeout)

    stale = platform.send_text(world.group_id, world.taro, "old")["event"]
    clock.advance(21 * 60)
    platform.redeliver(stale["webhookEventId"])
    with pytest.raises(ApiException) as exc_info:
        reply(api, stale["replyToken"], "too old", timeout)
    assert_invalid_token(exc_info)


def test_it_does_not_renew_a_redelivered_token_that_was_used(api, platform, world, timeout):
    event = platform.send_text(world.group_id, world.taro, "hi")["event"]
    reply(api, event["replyToken"], "once", timeout)
    platform.redeliver(event["webhookEventId"])
    with pytest.raises(ApiException) as exc_info:
        reply(api, event["replyToken"], "twice", timeout)
    assert_invalid_token(exc_info)


def test_it_invalidates_tokens_of_a_group_the_bot_left(api, platform, world, timeout):
    token = platform.send_text(world.group_id, world.taro, "hi")["event"]["replyToken"]
    platform.remove_bot(world.group_id)
    with pytest.raises(ApiException) as exc_info:
        reply(api, token, "still here?", timeout)
    assert_invalid_token(exc_info)


def test_it_replies_to_join_and_member_joined_events(api, platform, world, timeout):
    reply(api, world.join_event["replyToken"], "Hello, group!", timeout)
    newcomer = platform.add_user("Saburo")
    joined = platform.add_member(world.group_id, newcomer)["event"]
    reply(api, joined["replyToken"], "Welcome!", timeout)
    texts = [i["message"]["text"] for i in platform.timeline(world.group_id)]
    assert texts == ["Hello, group!", "Welcome!"]
