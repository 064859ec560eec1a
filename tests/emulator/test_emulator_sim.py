"""The /_sim/ control endpoints, the server, and a bot replying in the loop."""

from __future__ import annotations

import json

import pytest
import urllib3
from linebot.v3 import WebhookParser
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, ReplyMessageRequest, TextMessage
from linebot.v3.webhooks import MessageEvent, PostbackEvent

from emulator import EmulatorServer, LinePlatform


@pytest.fixture
def sim(raw):
    """Call a /_sim/ endpoint without any bearer token."""

    def call(method, path, body=None):
        return raw(method, "/_sim" + path, body, token=None)

    return call


def test_it_drives_a_group_chat_through_the_sim_endpoints(sim, platform):
    group = sim("POST", "/groups", {"name": "Office"})
    taro = sim("POST", "/users", {"display_name": "Taro"})
    hanako = sim("POST", "/users", {"display_name": "Hanako"})
    assert (group.status, taro.status) == (201, 201)
    group_id, taro_id, hanako_id = group.body["group_id"], taro.body["user_id"], hanako.body["user_id"]

    assert sim("POST", f"/groups/{group_id}/members", {"user_id": taro_id}).status == 200
    assert sim("POST", f"/groups/{group_id}/members", {"user_id": hanako_id}).status == 200
    joined = sim("POST", f"/groups/{group_id}/bot")
    said = sim("POST", f"/groups/{group_id}/text", {"user_id": taro_id, "text": "おはよう"})
    tapped = sim(
        "POST",
        f"/groups/{group_id}/postback",
        {"user_id": hanako_id, "data": "s=safe", "display_text": "無事です"},
    )
    left = sim("DELETE", f"/groups/{group_id}/members/{hanako_id}")

    assert joined.body["event"]["type"] == "join"
    assert said.body["event"]["message"]["text"] == "おはよう"
    assert tapped.body["event"]["postback"] == {"data": "s=safe"}
    assert left.body["event"]["type"] == "memberLeft"
    timeline = sim("GET", f"/groups/{group_id}/timeline?after=0").body["items"]
    assert [(i["display_name"], i["message"]["text"]) for i in timeline] == [
        ("Taro", "おはよう"),
        ("Hanako", "無事です"),
    ]
    newer = sim("GET", f"/groups/{group_id}/timeline?after={timeline[0]['seq']}").body["items"]
    assert [i["message"]["text"] for i in newer] == ["無事です"]
    groups = sim("GET", "/groups").body["groups"]
    assert groups == [{"group_id": group_id, "name": "Office", "bot_in_group": True, "member_count": 1}]
    assert sim("GET", f"/groups/{group_id}/members").body["members"] == [
        {"user_id": taro_id, "display_name": "Taro"}
    ]
    assert sim("GET", "/usage").body == platform.usage()
    assert sim("DELETE", f"/groups/{group_id}/bot").body["event"]["type"] == "leave"


def test_it_answers_sim_errors_as_json(sim, world):
    unknown = sim("POST", "/groups/C0000/text", {"user_id": world.taro, "text": "x"})
    missing = sim("POST", f"/groups/{world.group_id}/text", {"user_id": world.taro})
    outsider = sim("POST", "/users", {"display_name": "Outsider"}).body["user_id"]
    not_member = sim("POST", f"/groups/{world.group_id}/text", {"user_id": outsider, "text": "x"})
    bad_fault = sim("POST", "/faults", {"path_prefix": "/v2", "kind": "explode"})
    assert (unknown.status, missing.status, not_member.status, bad_fault.status) == (404, 400, 400, 400)
    assert all("error" in r.body for r in (unknown, missing, not_member, bad_fault))


def test_it_injects_faults_and_redelivers_through_sim(sim, raw, platform, world):
    assert sim("POST", "/faults", {"path_prefix": "/v2/bot/message/push", "kind": "500"}).status == 201
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "x"}]}
    assert raw("POST", "/v2/bot/message/push", body).status == 500
    event_id = world.join_event["webhookEventId"]
    again = sim("POST", f"/events/{event_id}/redeliver")
    assert again.body["event"]["deliveryContext"] == {"isRedelivery": True}
    assert sim("POST", "/events/01ARZ3NDEKTSV4RRFFQ69G5FAV/redeliver").status == 404


def test_it_clears_pending_faults_through_sim(sim, raw, world):
    assert (
        sim("POST", "/faults", {"path_prefix": "/v2/bot/message/push", "kind": "429", "times": 5}).status
        == 201
    )
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "x"}]}
    assert raw("POST", "/v2/bot/message/push", body).status == 429
    assert sim("DELETE", "/faults").status == 200
    assert raw("POST", "/v2/bot/message/push", body).status == 200


def test_it_needs_no_token_for_sim_but_never_opens_cors_unless_asked(sim, clock, secret, token):
    assert "access-control-allow-origin" not in sim("GET", "/groups").headers
    platform = LinePlatform(secret, token, clock=clock)
    http = urllib3.PoolManager()
    with EmulatorServer(platform, cors_origin="http://127.0.0.1:5000") as server:
        sim_response = http.request("GET", server.url + "/_sim/groups")
        api_response = http.request("GET", server.url + "/v2/bot/message/quota")
    assert sim_response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5000"
    assert "Access-Control-Allow-Origin" not in api_response.headers
    assert api_response.status == 401


def test_it_serves_on_a_free_port_and_releases_it_on_stop(clock, secret, token):
    server = EmulatorServer(LinePlatform(secret, token, clock=clock))
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith("/")
    http = urllib3.PoolManager(retries=False)
    assert http.request("GET", url + "/_sim/groups").status == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(urllib3.exceptions.HTTPError):
        http.request("GET", url + "/_sim/groups", timeout=1.0)


def test_it_lets_a_bot_reply_from_inside_its_webhook_handler(receiver, secret, token, timeout):
    """The bot answers the webhook only after its reply call returned: no deadlock."""
    platform = LinePlatform(secret, token, webhook_url=receiver.url)
    parser = WebhookParser(secret)
    with EmulatorServer(platform) as server:
        client = ApiClient(Configuration(host=server.url, access_token=token))
        api = MessagingApi(client)

        def bot(body: bytes, headers) -> None:
            for event in parser.parse(body.decode("utf-8"), headers["X-Line-Signature"]):
                if isinstance(event, MessageEvent | PostbackEvent):
                    said = getattr(getattr(event, "message", None), "text", None) or event.postback.data
                    api.reply_message(
                        ReplyMessageRequest(
                            reply_token=event.reply_token,
                            messages=[TextMessage(text=f"got: {said}")],
                        ),
                        _request_timeout=timeout,
                    )

        receiver.on_request = bot
        group_id = platform.create_group("Loop")
        taro = platform.add_user("Taro")
        platform.add_member(group_id, taro)
        platform.invite_bot(group_id)
        status = platform.send_text(group_id, taro, "hello")["status"]
        platform.tap_postback(group_id, taro, "s=safe", display_text="Safe")
        client.close()

    assert status == 200
    timeline = platform.timeline(group_id)
    assert [(i["sender"], i["message"]["text"]) for i in timeline] == [
        ("user", "hello"),
        ("bot", "got: hello"),
        ("user", "Safe"),
        ("bot", "got: s=safe"),
    ]
    assert json.loads(platform.webhook_log()[-1]["body"])["events"][0]["type"] == "postback"
