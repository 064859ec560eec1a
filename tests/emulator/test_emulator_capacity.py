"""What benchmarks lean on: latency, keep-alive, a crowd of taps, seeding a
big world, and the reply-token and push logs."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid

import pytest

from emulator import EmulatorServer, LinePlatform

PUSH = "/v2/bot/message/push"


def api_headers(token, **extra):
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


def test_it_holds_every_api_answer_for_the_latency_and_lets_calls_overlap(secret, token):
    """Real time (the latency is a real sleep); the check is on order, not speed:
    every one of the concurrent calls was processed before any was answered."""
    platform = LinePlatform(secret, token)
    group_id = platform.create_group("町内会", members=[platform.add_user("佐藤花子")], bot=True)
    answered: list[float] = []
    body = json.dumps({"to": group_id, "messages": [{"type": "text", "text": "地震"}]})

    with EmulatorServer(platform, latency=0.5) as server:
        host, port = server.url[len("http://") :].split(":")

        def call() -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("POST", PUSH, body, api_headers(token))
            conn.getresponse().read()
            answered.append(time.time())
            conn.close()

        sent = time.time()
        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/_sim/usage")
        sim_status = conn.getresponse().status

    processed = [entry["at"] for entry in platform.requests_log()]
    assert len(processed) == 8
    assert max(processed) < min(answered)  # all were waiting at once
    assert min(answered) - sent >= 0.5
    assert sim_status == 200
    assert platform.usage()["total"] == 8


def test_it_keeps_the_connection_alive_between_api_calls(server, world, token):
    host, port = server.url[len("http://") :].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    body = json.dumps({"to": world.group_id, "messages": [{"type": "text", "text": "一"}]})
    conn.request("POST", PUSH, body, api_headers(token))
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    # A refused request whose body the emulator never reads must not spill
    # into the next request on the same connection.
    conn.request("POST", PUSH, body, api_headers("wrong-token"))
    refused = conn.getresponse()
    refused.read()
    conn.request("POST", "/_sim/groups", b"not json at all", {"Content-Type": "text/plain"})
    sim = conn.getresponse()
    sim.read()
    conn.request("GET", "/v2/bot/message/quota", headers=api_headers(token))
    quota = conn.getresponse()

    assert (first.status, refused.status, sim.status, quota.status) == (200, 401, 400, 200)
    assert first.getheader("Connection") is None
    assert json.loads(quota.read()) == {"type": "none"}
    assert conn.sock is sock  # one TCP connection for all four
    conn.close()


def test_it_creates_a_big_world_without_webhooks(platform):
    people = [platform.add_user(f"住民{n}") for n in range(3)]
    group_id = platform.create_group("町内会", members=people, bot=True)
    assert platform.groups() == [
        {"group_id": group_id, "name": "町内会", "bot_in_group": True, "member_count": 3}
    ]
    assert platform.webhook_log() == []
    with pytest.raises(KeyError):
        platform.create_group("幽霊", members=["U" + "0" * 32])
    with pytest.raises(ValueError):
        platform.create_group("二重", members=[people[0], people[0]])


def test_it_sends_a_crowd_of_taps_each_as_its_own_webhook(receiver, secret, token):
    platform = LinePlatform(secret, token, webhook_url=receiver.url)
    people = [platform.add_user(f"住民{n}") for n in range(6)]
    group_id = platform.create_group("町内会", members=people[:5], bot=True)
    taps = [{"group_id": group_id, "user_id": u, "data": f"a=ok&r={n}"} for n, u in enumerate(people[:5])]
    taps.append({"user_id": people[5], "data": "a=ok"})  # a 1:1 chat

    started = time.monotonic()
    outcome = platform.tap_many(taps, rate=20, concurrency=3)

    assert time.monotonic() - started >= 5 / 20  # the last tap waited for its turn
    assert [r["status"] for r in outcome["results"]] == [200] * 6
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert len(bodies) == 6 and all(len(b["events"]) == 1 for b in bodies)
    sent = {b["events"][0]["webhookEventId"]: b["events"][0] for b in bodies}
    assert [sent[r["event_id"]]["postback"]["data"] for r in outcome["results"]][:2] == [
        "a=ok&r=0",
        "a=ok&r=1",
    ]
    assert sent[outcome["results"][5]["event_id"]]["source"] == {"type": "user", "userId": people[5]}
    with pytest.raises(ValueError):
        platform.tap_many([{"group_id": group_id, "user_id": people[5], "data": "x"}])  # not a member


def test_it_taps_through_the_sim_endpoint(raw, platform, world):
    response = raw(
        "POST",
        "/_sim/taps",
        {"taps": [{"group_id": world.group_id, "user_id": world.taro, "data": "a=ok"}], "concurrency": 1},
        token=None,
    )
    assert response.status == 200
    assert response.body["results"][0]["event_id"] == platform.delivered_events()[-1]["webhookEventId"]
    assert raw("POST", "/_sim/taps", {"taps": "many"}, token=None).status == 400


def test_it_logs_when_each_reply_token_was_posted_used_or_refused(receiver, secret, token, clock, raw):
    platform = LinePlatform(secret, token, webhook_url=receiver.url, clock=clock)
    taro = platform.add_user("鈴木一郎")
    group_id = platform.create_group("町内会", members=[taro], bot=True)
    first = platform.send_text(group_id, taro, "一")["event"]
    clock.advance(1.5)
    late = platform.send_text(group_id, taro, "二")["event"]
    with EmulatorServer(platform) as server:
        http = http_client(server)

        def reply(reply_token):
            body = {"replyToken": reply_token, "messages": [{"type": "text", "text": "ok"}]}
            return http("POST", "/v2/bot/message/reply", body)

        assert reply(first["replyToken"]) == 200
        clock.advance(1)
        assert reply(first["replyToken"]) == 400
        clock.advance(60)
        assert reply(late["replyToken"]) == 400
        sim_tokens = http("GET", "/_sim/reply-tokens", None, answer=True)["tokens"]

    log = {entry["event_id"]: entry for entry in platform.reply_token_log()}
    assert sim_tokens == platform.reply_token_log()
    one, two = log[first["webhookEventId"]], log[late["webhookEventId"]]
    assert (one["posted_at"], one["webhook_status"], one["deliveries"]) == (clock.now - 62.5, 200, 1)
    assert one["accepted_at"] == clock.now - 61
    assert one["refusals"] == [{"at": clock.now - 60, "reason": "used"}]
    assert (two["posted_at"], two["accepted_at"]) == (clock.now - 61, None)
    assert two["refusals"] == [{"at": clock.now, "reason": "expired"}]
    assert (one["event_type"], one["chat_id"]) == ("message", group_id)


def test_it_logs_every_push_with_its_retry_key_and_duplicates(raw, platform, world, clock):
    key = str(uuid.uuid4())
    body = {"to": world.group_id, "messages": [{"type": "text", "text": "地震"}]}
    raw("POST", PUSH, body, {"X-Line-Retry-Key": key})
    clock.advance(2)
    raw("POST", PUSH, body, {"X-Line-Retry-Key": key})
    raw("POST", PUSH, {"to": "C" + "0" * 32, "messages": body["messages"]})

    accepted, duplicate, refused = platform.push_log()
    assert (accepted["status"], accepted["retry_key"], accepted["duplicate"]) == (200, key, False)
    assert (duplicate["status"], duplicate["retry_key"], duplicate["duplicate"]) == (409, key, True)
    assert duplicate["at"] - accepted["at"] == 2
    assert (refused["status"], refused["to"], refused["retry_key"]) == (400, "C" + "0" * 32, None)
    newer = raw("GET", f"/_sim/pushes?after={accepted['seq']}", token=None).body["pushes"]
    assert [p["status"] for p in newer] == [409, 400]


def http_client(server):
    """A tiny JSON client on one kept-alive connection."""
    host, port = server.url[len("http://") :].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)

    def call(method, path, body=None, answer=False):
        from tests.emulator.conftest import ACCESS_TOKEN

        data = None if body is None else json.dumps(body)
        conn.request(method, path, data, api_headers(ACCESS_TOKEN))
        response = conn.getresponse()
        decoded = json.loads(response.read())
        return decoded if answer else response.status

    return call


def test_it_forgets_reply_tokens_20_minutes_old_but_keeps_their_record(platform, world, clock):
    old = platform.send_text(world.group_id, world.taro, "古い")["event"]
    clock.advance(20 * 60 + 1)
    fresh = platform.send_text(world.group_id, world.taro, "新しい")["event"]  # prunes as it issues
    assert old["replyToken"] not in platform._reply_tokens
    assert fresh["replyToken"] in platform._reply_tokens
    logged = [t["event_id"] for t in platform.reply_token_log()]
    assert old["webhookEventId"] in logged and fresh["webhookEventId"] in logged
