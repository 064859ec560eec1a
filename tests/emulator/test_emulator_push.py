"""Push: cost per member, retry keys (409, 24 h), monthly limit, targets."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from linebot.v3.messaging import ApiException, PushMessageRequest, TextMessage

from emulator.platform import RETRY_KEY_TTL_S


def push(api, to, timeout, *texts, retry_key=None):
    return api.push_message_with_http_info(
        PushMessageRequest(to=to, messages=[TextMessage(text=t) for t in texts]),
        x_line_retry_key=retry_key,
        _request_timeout=timeout,
    )


def bot_texts(platform, chat_id):
    return [i["message"]["text"] for i in platform.timeline(chat_id) if i["sender"] == "bot"]


def test_it_pushes_to_a_group_and_charges_one_message_per_member(api, platform, world, timeout):
    response = push(api, world.group_id, timeout, "Are you safe?", "Tap a button")

    assert response.status_code == 200
    assert response.headers["x-line-request-id"]
    assert len(response.data.sent_messages) == 2
    # 3 members; the number of message objects does not matter; the bot is free.
    assert platform.usage()["total"] == 3
    assert platform.usage()["month"] == "2026-01"
    assert bot_texts(platform, world.group_id) == ["Are you safe?", "Tap a button"]
    assert {i["via"] for i in platform.timeline(world.group_id)} == {"push"}
    push(api, world.group_id, timeout, "again")
    assert api.get_message_quota_consumption(_request_timeout=timeout).total_usage == 6


def test_it_answers_409_with_the_original_request_to_a_repeated_retry_key(api, platform, world, timeout):
    key = str(uuid.uuid4())
    first = push(api, world.group_id, timeout, "Check-in", retry_key=key)
    with pytest.raises(ApiException) as exc_info:
        push(api, world.group_id, timeout, "Check-in", retry_key=key)

    exc = exc_info.value
    assert exc.status == 409
    assert exc.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    body = json.loads(exc.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"] == [m.to_dict() for m in first.data.sent_messages]
    assert bot_texts(platform, world.group_id) == ["Check-in"]
    assert platform.usage()["total"] == 3


def test_it_accepts_a_retry_key_once_under_concurrent_retries(raw, platform, world):
    key = str(uuid.uuid4())
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "once"}]}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda _: raw("POST", "/v2/bot/message/push", body, {"X-Line-Retry-Key": key}).status,
                range(16),
            )
        )
    assert sorted(statuses) == [200] + [409] * 15
    assert bot_texts(platform, world.group_id) == ["once"]
    assert platform.usage()["total"] == 3


def test_it_treats_a_retry_key_older_than_24_hours_as_new(api, platform, world, clock, timeout):
    key = str(uuid.uuid4())
    push(api, world.group_id, timeout, "day one", retry_key=key)
    clock.advance(RETRY_KEY_TTL_S - 1)
    with pytest.raises(ApiException) as exc_info:
        push(api, world.group_id, timeout, "day one", retry_key=key)
    assert exc_info.value.status == 409
    clock.advance(2)
    assert push(api, world.group_id, timeout, "day one", retry_key=key).status_code == 200
    # LINE's documented consequence: a duplicate message.
    assert bot_texts(platform, world.group_id) == ["day one", "day one"]


def test_it_refuses_a_retry_key_that_is_not_a_uuid(raw, platform, world):
    response = raw(
        "POST",
        "/v2/bot/message/push",
        {"to": world.group_id, "messages": [{"type": "text", "text": "x"}]},
        headers={"X-Line-Retry-Key": "attempt-1"},
    )
    assert response.status == 400
    assert bot_texts(platform, world.group_id) == []


@pytest.mark.parametrize("target", ["left_group", "unknown_group", "unknown_user"])
def test_it_refuses_a_push_to_a_chat_the_bot_cannot_reach(api, platform, world, timeout, target):
    if target == "left_group":
        platform.remove_bot(world.group_id)
        to = world.group_id
    elif target == "unknown_group":
        to = "C" + "f" * 32
    else:
        to = "U" + "f" * 32
    with pytest.raises(ApiException) as exc_info:
        push(api, to, timeout, "hello?")
    assert exc_info.value.status == 400
    assert "'to'" in json.loads(exc_info.value.body)["message"]
    assert platform.usage()["total"] == 0


@pytest.mark.parametrize("platform_options", [{"monthly_limit": 5}])
def test_it_answers_429_at_the_monthly_limit_and_sends_nothing(api, platform, world, timeout):
    push(api, world.group_id, timeout, "first")  # 3 members: 3 of 5
    with pytest.raises(ApiException) as exc_info:
        push(api, world.group_id, timeout, "second")  # would be 6 of 5
    quota = api.get_message_quota(_request_timeout=timeout)
    consumption = api.get_message_quota_consumption(_request_timeout=timeout)

    assert exc_info.value.status == 429
    assert json.loads(exc_info.value.body) == {"message": "You have reached your monthly limit."}
    assert bot_texts(platform, world.group_id) == ["first"]
    assert (quota.type.value, quota.value) == ("limited", 5)
    assert consumption.total_usage == 3


def test_it_reports_no_quota_limit_when_there_is_none(api, timeout):
    quota = api.get_message_quota(_request_timeout=timeout)
    assert quota.type.value == "none"
    assert quota.value is None


def test_it_starts_a_new_month_at_midnight_japan_time(api, platform, world, clock, timeout):
    clock.now = 1_769_871_600.0 - 60  # 2026-01-31 23:59 JST (14:59 UTC)
    push(api, world.group_id, timeout, "January")
    assert platform.usage() == {"month": "2026-01", "total": 3}
    clock.advance(120)  # 2026-02-01 00:01 JST, still January in UTC
    assert platform.usage() == {"month": "2026-02", "total": 0}
    push(api, world.group_id, timeout, "February")
    assert platform.usage() == {"month": "2026-02", "total": 3}


def test_it_delivers_and_charges_pushes_to_friends_and_refuses_strangers(api, platform, timeout):
    friend = platform.add_user("Friend", friend=True)
    stranger = platform.add_user("Stranger")
    assert push(api, friend, timeout, "hi friend").status_code == 200
    # Never a friend, never wrote to the bot: LINE does not allow the push.
    with pytest.raises(ApiException) as exc_info:
        push(api, stranger, timeout, "hi stranger")
    assert exc_info.value.status == 400
    assert json.loads(exc_info.value.body) == {"message": "Failed to send messages"}
    assert bot_texts(platform, friend) == ["hi friend"]
    assert bot_texts(platform, stranger) == []
    assert platform.usage()["total"] == 1


def test_it_costs_nothing_to_push_to_a_group_with_no_members(api, platform, timeout):
    group_id = platform.create_group("Empty")
    platform.invite_bot(group_id)
    push(api, group_id, timeout, "echo?")
    assert platform.usage()["total"] == 0
    assert bot_texts(platform, group_id) == ["echo?"]
