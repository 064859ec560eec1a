"""The Procfile's processes, for real: release, web (gunicorn, 2 workers),
two RQ workers and the scheduler, against the LINE emulator.

This is the production shape: several web and worker processes sharing
only the database and Redis.  A whole round runs with a 4-second summary
delay, and one worker is killed half-way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from emulator import EmulatorServer, LinePlatform
from tests.conftest import REDIS_URL, SECRET, TOKEN
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stack(database_url, redis_conn, tmp_path):
    line = LinePlatform(SECRET, TOKEN)
    server = EmulatorServer(line).start()
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "SECRET_KEY": "test-secret-key-" + "0" * 32,
        "LINE_API_BASE_URL": server.url,
        "CHECKIN_SUMMARY_DELAY": "4s",
        "TICK_SECONDS": "1",
        "JMA_FEED_URL": "",
    }
    commands = procfile()
    logs = tmp_path / "logs"
    logs.mkdir()
    for _ in range(2):  # release is idempotent
        subprocess.run(["bash", "-c", commands["release"]], cwd=ROOT, env=env, check=True, timeout=60)

    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, kind: str) -> subprocess.Popen:
        out = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        processes[name] = subprocess.Popen(
            ["bash", "-c", f"exec {commands[kind]}"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        return processes[name]

    try:
        start("web", "web")
        start("worker-1", "worker")
        start("worker-2", "worker")
        start("scheduler", "scheduler")
        base = f"http://127.0.0.1:{port}"
        # A loaded machine needs a while to import everything four times over.
        wait_until(lambda: _healthy(base), timeout=90, what="the web process")
        line.webhook_url = base + "/callback"
        yield line, processes, logs
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def bot_texts(line, group_id):
    return [
        " ".join(str(v) for v in _texts(i["message"]))
        for i in line.timeline(group_id)
        if i["sender"] == "bot"
    ]


def _texts(node):
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def test_it_runs_a_whole_round_across_processes(stack):
    line, processes, logs = stack
    users = {name: line.add_user(name) for name in (HANAKO, ICHIRO, JIRO)}
    group_id = line.create_group("みどり町内会")
    for user_id in users.values():
        line.add_member(group_id, user_id)
    line.invite_bot(group_id)
    greeting = wait_until(
        lambda: next((i for i in line.timeline(group_id) if i["sender"] == "bot"), None), what="the greeting"
    )
    join = next(a for a in postback_actions(greeting["message"]) if a["label"] == "参加する")
    for name in (HANAKO, ICHIRO, JIRO):
        line.tap_postback(group_id, users[name], join["data"], join["displayText"])
    wait_until(
        lambda: sum("参加ありがとうございます" in t for t in bot_texts(line, group_id)) == 3, what="joins"
    )
    line.send_text(group_id, users[HANAKO], "/リーダー")
    wait_until(lambda: any("リーダーになりました" in t for t in bot_texts(line, group_id)), what="leader")

    # One worker dies; the other carries on.
    processes["worker-1"].send_signal(signal.SIGKILL)
    line.send_text(group_id, users[HANAKO], "/確認")
    prompt = wait_until(
        lambda: next(
            (
                i
                for i in line.timeline(group_id)
                if any(a["label"] == "OK" for a in postback_actions(i["message"]))
            ),
            None,
        ),
        what="the prompt",
    )
    ok = next(a for a in postback_actions(prompt["message"]) if a["label"] == "OK")
    for name in (HANAKO, ICHIRO):
        line.tap_postback(group_id, users[name], ok["data"], ok["displayText"])

    summary = wait_until(
        lambda: next((t for t in bot_texts(line, group_id) if "無事がまだ確認できていません" in t), None),
        timeout=30,
        what="the summary",
    )
    assert summary.startswith("田中次郎さんの無事がまだ確認できていません")
    time.sleep(3)  # a few more ticks: still exactly one summary
    assert sum("無事がまだ確認できていません" in t for t in bot_texts(line, group_id)) == 1
    pushes = [r for r in line.requests_log() if r["path"] == "/v2/bot/message/push"]
    assert len(pushes) == 1 and line.usage()["total"] == 3
    assert processes["web"].poll() is None and processes["scheduler"].poll() is None
