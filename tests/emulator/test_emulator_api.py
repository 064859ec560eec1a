"""The API pipeline: auth, JSON, rate limit, group/profile endpoints, faults."""

from __future__ import annotations

import json
import uuid

import pytest
import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import (
    ForbiddenException,
    NotFoundException,
    ServiceException,
    UnauthorizedException,
)

AUTH_FAILED = {
    "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
}
RATE_LIMITED = {"message": "The API rate limit has been exceeded. Try again later."}


def push(api, to, timeout, text, retry_key=None):
    return api.push_message_with_http_info(
        PushMessageRequest(to=to, messages=[TextMessage(text=text)]),
        x_line_retry_key=retry_key,
        _request_timeout=timeout,
    )


def bot_texts(platform, chat_id):
    return [i["message"]["text"] for i in platform.timeline(chat_id) if i["sender"] == "bot"]


@pytest.mark.parametrize("bad_token", ["wrong-token", None])
def test_it_answers_401_without_the_channel_access_token(raw, platform, world, bad_token):
    for method, path, body in [
        ("POST", "/v2/bot/message/push", {"to": world.group_id, "messages": [{"type": "text", "text": "x"}]}),
        ("GET", f"/v2/bot/group/{world.group_id}/summary", None),
        ("GET", "/v2/bot/message/quota", None),
    ]:
        response = raw(method, path, body, token=bad_token)
        assert response.status == 401
        assert response.body == AUTH_FAILED
    assert bot_texts(platform, world.group_id) == []


def test_it_raises_the_sdks_unauthorized_exception_for_a_wrong_token(server, world, timeout):
    with (
        ApiClient(Configuration(host=server.url, access_token="stolen")) as client,
        pytest.raises(UnauthorizedException),
    ):
        MessagingApi(client).get_group_summary(world.group_id, _request_timeout=timeout)


def test_it_answers_400_to_malformed_json(raw, platform, world):
    response = raw(
        "POST", "/v2/bot/message/push", b'{"to": "' + world.group_id.encode() + b'", "messages": ['
    )
    assert response.status == 400
    assert response.body["message"] == "The request body has 1 error(s)"
    assert bot_texts(platform, world.group_id) == []


def test_it_answers_json_404_for_unknown_endpoints(raw):
    response = raw("GET", "/v2/bot/does/not/exist")
    assert response.status == 404
    assert response.body == {"message": "Not found"}


@pytest.mark.parametrize("platform_options", [{"rate_limit_per_second": 2}])
def test_it_rate_limits_each_endpoint_with_a_token_bucket(raw, platform, world, clock):
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "x"}]}
    statuses = [raw("POST", "/v2/bot/message/push", body).status for _ in range(3)]
    over = raw("POST", "/v2/bot/message/push", body)

    assert statuses == [200, 200, 429]
    assert over.body == RATE_LIMITED
    assert len(bot_texts(platform, world.group_id)) == 2  # nothing sent when limited
    # Another endpoint has its own bucket.
    assert raw("GET", "/v2/bot/message/quota").status == 200
    clock.advance(0.5)  # refills one request at 2/s
    assert raw("POST", "/v2/bot/message/push", body).status == 200
    assert raw("POST", "/v2/bot/message/push", body).status == 429


def test_it_serves_group_summary_count_and_member_profiles(api, platform, world, timeout):
    summary = api.get_group_summary(world.group_id, _request_timeout=timeout)
    count = api.get_group_member_count(world.group_id, _request_timeout=timeout)
    profile = api.get_group_member_profile(world.group_id, world.hanako, _request_timeout=timeout)
    assert (summary.group_id, summary.group_name) == (world.group_id, "Yamada family")
    assert count.count == 3  # the bot is not counted
    assert (profile.user_id, profile.display_name) == (world.hanako, "Hanako")

    outsider = platform.add_user("Outsider")
    with pytest.raises(NotFoundException):
        api.get_group_member_profile(world.group_id, outsider, _request_timeout=timeout)


def test_it_hides_groups_the_bot_is_not_in(api, platform, timeout):
    group_id = platform.create_group("Private")
    with pytest.raises(NotFoundException):
        api.get_group_summary(group_id, _request_timeout=timeout)
    with pytest.raises(NotFoundException):
        api.get_group_member_count(group_id, _request_timeout=timeout)


def test_it_forbids_member_ids_to_unverified_accounts(api, world, timeout):
    with pytest.raises(ForbiddenException) as exc_info:
        api.get_group_members_ids(world.group_id, _request_timeout=timeout)
    assert json.loads(exc_info.value.body) == {
        "message": "Access to this API is not available for your account"
    }


@pytest.mark.parametrize("platform_options", [{"member_ids_api": True}])
def test_it_pages_member_ids_by_100_for_verified_accounts(api, platform, timeout):
    group_id = platform.create_group("Big")
    members = [platform.add_user(f"user {n}") for n in range(150)]
    for user_id in members:
        platform.add_member(group_id, user_id)
    platform.invite_bot(group_id)

    first = api.get_group_members_ids(group_id, _request_timeout=timeout)
    second = api.get_group_members_ids(group_id, start=first.next, _request_timeout=timeout)
    assert len(first.member_ids) == 100
    assert second.next is None
    assert first.member_ids + second.member_ids == members


def test_it_serves_profiles_only_of_friends(api, platform, world, timeout):
    friend = platform.add_user("Friend", friend=True)
    profile = api.get_profile(friend, _request_timeout=timeout)
    assert (profile.user_id, profile.display_name) == (friend, "Friend")
    # A group member who never added the bot as a friend: 404 (https://developers.line.biz/en/reference/messaging-api/#get-profile).
    with pytest.raises(NotFoundException):
        api.get_profile(world.taro, _request_timeout=timeout)


def test_it_leaves_a_group_and_sends_the_leave_webhook(api, platform, world, timeout):
    api.leave_group(world.group_id, _request_timeout=timeout)
    platform.wait_for_webhooks()
    assert platform.groups()[0]["bot_in_group"] is False
    assert platform.delivered_events()[-1]["type"] == "leave"
    with pytest.raises(NotFoundException):
        api.leave_group(world.group_id, _request_timeout=timeout)
    with pytest.raises(ApiException) as exc_info:
        push(api, world.group_id, timeout, "still here?")
    assert exc_info.value.status == 400


def test_it_serves_bot_info_with_the_webhook_destination(api, platform, timeout):
    info = api.get_bot_info(_request_timeout=timeout)
    assert info.user_id == platform.bot_user_id


def test_it_logs_every_api_request(raw, platform, world):
    key = str(uuid.uuid4())
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "logged"}]}
    raw("POST", "/v2/bot/message/push", body, headers={"X-Line-Retry-Key": key})
    raw("GET", "/v2/bot/message/quota", token="bad")
    first, second = platform.requests_log()
    assert (first["method"], first["path"], first["status"]) == ("POST", "/v2/bot/message/push", 200)
    assert first["body"] == body
    assert first["retry_key"] == key
    assert (second["method"], second["status"], second["retry_key"]) == ("GET", 401, None)


# --- injected faults --------------------------------------------------------


def test_it_fails_with_500_without_sending_when_told_to(api, platform, world, timeout):
    key = str(uuid.uuid4())
    platform.inject_fault("/v2/bot/message/push", "500")
    with pytest.raises(ServiceException) as exc_info:
        push(api, world.group_id, timeout, "Are you safe?", retry_key=key)
    assert exc_info.value.status == 500
    assert bot_texts(platform, world.group_id) == []
    assert platform.usage()["total"] == 0
    # Nothing was accepted, so the retry with the same key is processed (once).
    assert push(api, world.group_id, timeout, "Are you safe?", retry_key=key).status_code == 200
    assert bot_texts(platform, world.group_id) == ["Are you safe?"]


def test_it_delivers_then_fails_and_a_retry_gets_409(api, platform, world, timeout):
    key = str(uuid.uuid4())
    platform.inject_fault("/v2/bot/message/push", "500_after_delivery")
    with pytest.raises(ServiceException):
        push(api, world.group_id, timeout, "Are you safe?", retry_key=key)
    with pytest.raises(ApiException) as exc_info:
        push(api, world.group_id, timeout, "Are you safe?", retry_key=key)

    assert exc_info.value.status == 409
    assert exc_info.value.headers["x-line-accepted-request-id"]
    assert bot_texts(platform, world.group_id) == ["Are you safe?"]
    assert platform.usage()["total"] == 3
    assert [r["status"] for r in platform.requests_log()] == [500, 409]


def test_it_answers_a_429_fault_with_the_rate_limit_body_and_sends_nothing(raw, platform, world):
    platform.inject_fault("/v2/bot/message/", "429", times=2)
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "x"}]}
    responses = [raw("POST", "/v2/bot/message/push", body) for _ in range(3)]
    assert [r.status for r in responses] == [429, 429, 200]
    assert responses[0].body == RATE_LIMITED
    assert bot_texts(platform, world.group_id) == ["x"]


def test_it_delivers_although_the_client_times_out(api, platform, world):
    platform.inject_fault("/v2/bot/message/push", "timeout", delay=1.0)
    with pytest.raises(urllib3.exceptions.HTTPError):  # ReadTimeoutError
        push(api, world.group_id, (1.0, 0.2), "slow", retry_key=str(uuid.uuid4()))
    assert bot_texts(platform, world.group_id) == ["slow"]
    assert platform.usage()["total"] == 3


def test_it_refuses_unknown_fault_kinds(platform):
    with pytest.raises(ValueError):
        platform.inject_fault("/v2/bot/message/push", "503")
