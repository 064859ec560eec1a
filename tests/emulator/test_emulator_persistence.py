"""state_path: a demo survives a restart of the emulator."""

from __future__ import annotations

import json
import uuid

import pytest

from emulator import LinePlatform
from emulator.platform import ApiResult


def push(platform: LinePlatform, to: str, text: str, key: str | None = None) -> ApiResult:
    return platform.api_push({"to": to, "messages": [{"type": "text", "text": text}]}, key, "req-1")


def test_it_restores_groups_users_timeline_usage_and_retry_keys(tmp_path, clock, secret, token):
    path = str(tmp_path / "state" / "line.json")
    first = LinePlatform(secret, token, clock=clock, state_path=path)
    group_id = first.create_group("町内会")
    taro = first.add_user("太郎")
    hanako = first.add_user("花子", friend=True)
    first.add_member(group_id, taro)
    first.add_member(group_id, hanako)
    first.invite_bot(group_id)
    first.send_text(group_id, taro, "こんにちは")
    key = str(uuid.uuid4())
    assert push(first, group_id, "安否確認", key).status == 200

    second = LinePlatform(secret, token, clock=clock, state_path=path)

    assert second.bot_user_id == first.bot_user_id
    assert second.groups() == first.groups()
    assert second.members(group_id) == first.members(group_id)
    assert second.users() == first.users()
    assert second.timeline(group_id) == first.timeline(group_id)
    assert second.usage() == {"month": "2026-01", "total": 2}
    repeated = push(second, group_id, "安否確認", key)
    assert repeated.status == 409
    assert repeated.headers == {"x-line-accepted-request-id": "req-1"}
    # New items continue the sequence instead of reusing numbers.
    seq = second.send_text(group_id, hanako, "無事です")["seq"]
    assert seq > max(item["seq"] for item in first.timeline(group_id))
    assert second.api_group_member_count(group_id).body == {"count": 2}


def test_it_writes_the_state_file_atomically(tmp_path, clock, secret, token):
    path = tmp_path / "line.json"
    platform = LinePlatform(secret, token, clock=clock, state_path=str(path))
    for n in range(5):
        platform.create_group(f"group {n}")
    state = json.loads(path.read_text(encoding="utf-8"))
    assert len(state["groups"]) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["line.json"]  # no temp files left


def test_it_keeps_an_explicit_bot_user_id_over_the_saved_one(tmp_path, clock, secret, token):
    path = str(tmp_path / "line.json")
    LinePlatform(secret, token, clock=clock, state_path=path)
    explicit = "U" + "a" * 32
    assert (
        LinePlatform(secret, token, clock=clock, state_path=path, bot_user_id=explicit).bot_user_id
        == explicit
    )


def test_it_forgets_retry_keys_after_24_hours_even_across_restarts(tmp_path, clock, secret, token):
    path = str(tmp_path / "line.json")
    first = LinePlatform(secret, token, clock=clock, state_path=path)
    group_id = first.create_group("G")
    first.invite_bot(group_id)
    key = str(uuid.uuid4())
    push(first, group_id, "hi", key)
    clock.advance(24 * 3600 + 1)
    second = LinePlatform(secret, token, clock=clock, state_path=path)
    assert push(second, group_id, "hi", key).status == 200


def test_it_keeps_nothing_on_disk_without_a_state_path(tmp_path, clock, secret, token, monkeypatch):
    monkeypatch.chdir(tmp_path)
    platform = LinePlatform(secret, token, clock=clock)
    platform.create_group("G")
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_a_state_file_of_another_version(tmp_path, clock, secret, token):
    path = tmp_path / "line.json"
    path.write_text(json.dumps({"version": 999}), encoding="utf-8")
    with pytest.raises(ValueError):
        LinePlatform(secret, token, clock=clock, state_path=str(path))
