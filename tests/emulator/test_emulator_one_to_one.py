"""One-to-one chats: messages, stickers and postbacks from a user; who can be
pushed to; profiles; bot info; stickers in groups."""

from __future__ import annotations

import json

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.messaging import ApiException, PushMessageRequest, ReplyMessageRequest, TextMessage
from linebot.v3.messaging.exceptions import NotFoundException
from linebot.v3.webhooks import (
    FollowEvent,
    GroupSource,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from emulator import LinePlatform
from emulator.platform import ONE_TO_ONE_PUSH_WINDOW_S


def parse_all(platform: LinePlatform, secret: str) -> list:
    parser = WebhookParser(secret)
    events = []
    for entry in platform.webhook_log():
        events.extend(parser.parse(entry["body"], entry["signature"]))
    return events


def push(api, to, timeout, text="元気ですか"):
    return api.push_message_with_http_info(
        PushMessageRequest(to=to, messages=[TextMessage(text=text)]), _request_timeout=timeout
    )


def bot_texts(platform, chat_id):
    return [i["message"]["text"] for i in platform.timeline(chat_id) if i["sender"] == "bot"]


@pytest.fixture
def sim(raw):
    def call(method, path, body=None):
        return raw(method, "/_sim" + path, body, token=None)

    return call


def test_it_sends_a_users_text_sticker_and_postback_from_their_one_to_one_chat(platform, secret):
    hanako = platform.add_user("佐藤花子", friend=True)
    platform.one_to_one_text(hanako, "おはようございます")
    platform.one_to_one_sticker(hanako, "446", "1988", "ANIMATION")
    platform.one_to_one_postback(hanako, "a=ok", display_text="OK")

    text, sticker, postback = parse_all(platform, secret)

    assert all(
        isinstance(e.source, UserSource) and e.source.user_id == hanako for e in (text, sticker, postback)
    )
    assert all(e.reply_token for e in (text, sticker, postback))
    assert isinstance(text, MessageEvent) and isinstance(text.message, TextMessageContent)
    assert text.message.text == "おはようございます"
    assert isinstance(sticker.message, StickerMessageContent)
    assert (sticker.message.package_id, sticker.message.sticker_id) == ("446", "1988")
    assert sticker.message.sticker_resource_type == "ANIMATION"
    assert sticker.message.quote_token and sticker.message.id
    assert isinstance(postback, PostbackEvent) and postback.postback.data == "a=ok"
    # The 1:1 timeline is keyed by the user id.
    assert [(i["sender"], i["message"]) for i in platform.timeline(hanako)] == [
        ("user", {"type": "text", "text": "おはようございます"}),
        (
            "user",
            {"type": "sticker", "packageId": "446", "stickerId": "1988", "stickerResourceType": "ANIMATION"},
        ),
        ("user", {"type": "text", "text": "OK"}),
    ]


def test_it_lets_the_bot_reply_in_the_one_to_one_chat(api, platform, timeout):
    ichiro = platform.add_user("鈴木一郎")  # not a friend: he can still write to the bot
    token = platform.one_to_one_text(ichiro, "こんにちは")["event"]["replyToken"]
    api.reply_message(
        ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="こんにちは、一郎さん")]),
        _request_timeout=timeout,
    )
    assert bot_texts(platform, ichiro) == ["こんにちは、一郎さん"]
    assert platform.timeline(ichiro)[-1]["via"] == "reply"
    assert platform.usage()["total"] == 0  # replies are free


def test_it_pushes_to_a_user_who_wrote_within_seven_days_and_refuses_after(api, platform, clock, timeout):
    jiro = platform.add_user("田中次郎")
    platform.one_to_one_text(jiro, "よろしく")
    clock.advance(ONE_TO_ONE_PUSH_WINDOW_S - 1)
    assert push(api, jiro, timeout, "一週間以内").status_code == 200
    clock.advance(2)
    with pytest.raises(ApiException) as exc_info:
        push(api, jiro, timeout, "八日目")
    assert exc_info.value.status == 400
    assert json.loads(exc_info.value.body) == {"message": "Failed to send messages"}
    assert bot_texts(platform, jiro) == ["一週間以内"]
    assert platform.usage()["total"] == 1  # a push to a user costs 1


def test_it_does_not_open_the_push_window_for_a_postback_tap(api, platform, timeout):
    jiro = platform.add_user("田中次郎")
    platform.one_to_one_postback(jiro, "a=ok")
    with pytest.raises(ApiException) as exc_info:
        push(api, jiro, timeout)
    assert exc_info.value.status == 400


def test_it_answers_200_but_delivers_and_counts_nothing_for_a_user_who_blocked_the_bot(
    api, platform, timeout
):
    hanako = platform.add_user("佐藤花子", friend=True)
    platform.unfollow(hanako)
    response = push(api, hanako, timeout, "届かない")
    assert response.status_code == 200
    assert len(response.data.sent_messages) == 1
    assert bot_texts(platform, hanako) == []
    assert platform.usage()["total"] == 0


def test_it_refuses_messages_and_taps_from_a_user_who_blocked_the_bot(platform, sim):
    hanako = platform.add_user("佐藤花子", friend=True)
    platform.unfollow(hanako)
    with pytest.raises(ValueError):
        platform.one_to_one_text(hanako, "もしもし")
    with pytest.raises(ValueError):
        platform.one_to_one_postback(hanako, "a=ok")
    assert sim("POST", f"/users/{hanako}/text", {"text": "もしもし"}).status == 400
    platform.follow(hanako)  # unblocked: she can write again
    assert platform.one_to_one_text(hanako, "もしもし")["event"]["type"] == "message"


def test_it_tells_a_new_friend_from_an_unblocking_one_in_follow_events(platform, secret):
    hanako = platform.add_user("佐藤花子")
    platform.follow(hanako)
    platform.unfollow(hanako)
    platform.follow(hanako)
    first, unfollow, again = parse_all(platform, secret)
    assert isinstance(first, FollowEvent) and first.follow.is_unblocked is False
    assert isinstance(unfollow, UnfollowEvent)
    assert "replyToken" not in platform.delivered_events()[1]  # webhook.yml: none on unfollow
    assert isinstance(again, FollowEvent) and again.follow.is_unblocked is True
    assert all(isinstance(e.source, UserSource) for e in (first, unfollow, again))


def test_it_serves_a_profile_only_to_friends(api, platform, timeout):
    ichiro = platform.add_user("鈴木一郎")
    platform.one_to_one_text(ichiro, "こんにちは")
    # Stricter than LINE on purpose (see api_profile): writing is not enough.
    with pytest.raises(NotFoundException):
        api.get_profile(ichiro, _request_timeout=timeout)
    platform.follow(ichiro)
    assert api.get_profile(ichiro, _request_timeout=timeout).display_name == "鈴木一郎"
    platform.unfollow(ichiro)
    with pytest.raises(NotFoundException):
        api.get_profile(ichiro, _request_timeout=timeout)


def test_it_serves_bot_info_with_a_stable_basic_id(api, platform, tmp_path, clock, secret, token, timeout):
    info = api.get_bot_info(_request_timeout=timeout)
    assert info.basic_id == platform.basic_id
    assert len(info.basic_id) == 9 and info.basic_id[0] == "@"
    assert info.basic_id[1:4].isdigit() and info.basic_id[4:].isalpha() and info.basic_id[4:].islower()
    assert info.display_name == platform.bot_display_name
    path = str(tmp_path / "line.json")
    first = LinePlatform(secret, token, clock=clock, state_path=path)
    assert LinePlatform(secret, token, clock=clock, state_path=path).basic_id == first.basic_id


def test_it_sends_a_members_sticker_to_the_group(platform, world, secret):
    platform.send_sticker(world.group_id, world.hanako, "11537", "52002734")
    (sticker,) = [e for e in parse_all(platform, secret) if isinstance(e, MessageEvent)]
    assert isinstance(sticker.source, GroupSource)
    assert (sticker.source.group_id, sticker.source.user_id) == (world.group_id, world.hanako)
    assert isinstance(sticker.message, StickerMessageContent)
    assert sticker.message.sticker_resource_type == "STATIC"
    assert sticker.reply_token
    assert platform.timeline(world.group_id)[-1]["message"]["type"] == "sticker"


def test_it_refuses_a_sticker_of_an_unknown_resource_type(platform, world, sim):
    with pytest.raises(ValueError):
        platform.send_sticker(world.group_id, world.taro, "1", "1", "HOLOGRAM")
    response = sim(
        "POST",
        f"/groups/{world.group_id}/sticker",
        {"user_id": world.taro, "package_id": "1", "sticker_id": "1", "resource_type": "HOLOGRAM"},
    )
    assert response.status == 400
    assert sim("POST", f"/groups/{world.group_id}/sticker", {"user_id": world.taro}).status == 400


def test_it_drives_one_to_one_chats_and_group_stickers_through_the_sim_endpoints(sim, world):
    user_id = sim("POST", "/users", {"display_name": "佐藤花子", "friend": True}).body["user_id"]
    said = sim("POST", f"/users/{user_id}/text", {"text": "こんにちは"})
    stuck = sim("POST", f"/users/{user_id}/sticker", {"package_id": "446", "sticker_id": "1988"})
    tapped = sim("POST", f"/users/{user_id}/postback", {"data": "a=ok", "display_text": "OK"})
    group_sticker = sim(
        "POST",
        f"/groups/{world.group_id}/sticker",
        {"user_id": world.taro, "package_id": "1", "sticker_id": "2"},
    )

    assert said.body["event"]["source"] == {"type": "user", "userId": user_id}
    assert stuck.body["event"]["message"]["stickerResourceType"] == "STATIC"
    assert tapped.body["event"]["postback"] == {"data": "a=ok"}
    assert group_sticker.body["event"]["message"]["type"] == "sticker"
    items = sim("GET", f"/users/{user_id}/timeline?after=0").body["items"]
    assert [i["message"]["type"] for i in items] == ["text", "sticker", "text"]
    assert sim("POST", "/users/U0000/text", {"text": "x"}).status == 404
    assert sim("POST", f"/users/{user_id}/postback", {"data": "x", "display_text": 3}).status == 400
