"""A small world for end-to-end tests: the bot, the LINE emulator, Redis.

The bot is the real Flask app served over HTTP; the emulator is the
project's fake LINE Platform reached by the real line-bot-sdk; jobs run in
real RQ workers on a real Redis.  Personas (named as healthchecks names
alice/bob/charlie): 佐藤花子 is the leader, 鈴木一郎 and 田中次郎 are members.
"""

from __future__ import annotations

import json

from app import create_app
from emulator import EmulatorServer, LinePlatform
from jobs import runtime
from jobs.embedded import ThreadWorker
from jobs.queue import get_queue
from jobs.scheduler import dispatch_once
from jobs.tasks import run_sweep
from services import clock
from tests.conftest import ServerThread

HANAKO, ICHIRO, JIRO = "佐藤花子", "鈴木一郎", "田中次郎"


def texts_of(message: dict) -> list[str]:
    """Every human-readable string in a LINE message object (text, flex, template)."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("text", "label", "title"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for key, value in node.items():
                if key not in ("text", "label", "title", "data", "displayText"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message)
    return found


def postback_actions(message: dict) -> list[dict]:
    actions: list[dict] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "postback" and "data" in node:
                actions.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message)
    return actions


class World:
    def __init__(self, settings, redis_conn, **platform_options):
        self.line = LinePlatform(settings.channel_secret, settings.access_token, **platform_options)
        self.line_server = EmulatorServer(self.line).start()
        self.settings = settings.with_(line_api_base_url=self.line_server.url)
        self.redis = redis_conn
        runtime.configure(self.settings)
        self.app = create_app(self.settings)
        self.bot_server = ServerThread(self.app).__enter__()
        self.line.webhook_url = self.bot_server.url + "/callback"
        self.users: dict[str, str] = {}

    def close(self):
        self.bot_server.__exit__(None, None, None)
        self.line_server.stop()
        runtime.client().close()

    # -- running the service ---------------------------------------------
    def work(self) -> None:
        """Hand stored events to the queue (the dispatcher's job) and run
        every queued job in a real RQ worker, until the queue is empty."""
        dispatch_once()
        ThreadWorker([get_queue(self.redis)], connection=self.redis).work(burst=True, logging_level="WARNING")

    def sweep(self) -> dict:
        return run_sweep()

    def tick(self) -> dict:
        """One scheduler tick followed by the workers."""
        counts = self.sweep()
        self.work()
        return counts

    def advance(self, seconds: float) -> None:
        clock.advance(int(seconds))

    # -- people and groups ----------------------------------------------
    def user(self, name: str) -> str:
        if name not in self.users:
            self.users[name] = self.line.add_user(name)
        return self.users[name]

    def group(self, *names: str, invite: bool = True, name: str = "みどり町内会") -> str:
        group_id = self.line.create_group(name)
        for person in names:
            self.line.add_member(group_id, self.user(person))
        if invite:
            self.line.invite_bot(group_id)
            self.work()
        return group_id

    def say(self, group_id: str, name: str, text: str, work: bool = True) -> None:
        self.line.send_text(group_id, self.user(name), text)
        if work:
            self.work()

    def tap(self, group_id: str, name: str, label: str, message: dict | None = None, work: bool = True):
        """Tap the button labelled ``label`` in ``message`` (default: the
        newest bot message that has one)."""
        if message is None:
            message = next(
                item["message"]
                for item in reversed(self.bot_items(group_id))
                if any(a["label"] == label for a in postback_actions(item["message"]))
            )
        action = next(a for a in postback_actions(message) if a["label"] == label)
        self.line.tap_postback(group_id, self.user(name), action["data"], action.get("displayText"))
        if work:
            self.work()

    def join(self, group_id: str, *names: str) -> None:
        for person in names:
            self.tap(group_id, person, "参加する")

    def lead(self, group_id: str, name: str = HANAKO) -> None:
        self.say(group_id, name, "/リーダー")

    # -- what the group sees ---------------------------------------------
    def bot_items(self, group_id: str) -> list[dict]:
        return [item for item in self.line.timeline(group_id) if item["sender"] == "bot"]

    def bot_texts(self, group_id: str) -> list[str]:
        return [" ".join(texts_of(item["message"])) for item in self.bot_items(group_id)]

    def last_text(self, group_id: str) -> str:
        return self.bot_texts(group_id)[-1]

    def pushes(self) -> list[dict]:
        return [r for r in self.line.requests_log() if r["path"] == "/v2/bot/message/push"]

    def prompts(self, group_id: str) -> list[dict]:
        """The safety-check prompts the group has seen (messages with an OK button)."""
        return [
            item
            for item in self.bot_items(group_id)
            if any(a["label"].startswith("OK") for a in postback_actions(item["message"]))
        ]

    def prompt_message(self, group_id: str) -> dict:
        return next(
            item["message"]
            for item in reversed(self.bot_items(group_id))
            if any(a["label"].startswith("OK") for a in postback_actions(item["message"]))
        )


def dump(items) -> str:
    return json.dumps(items, ensure_ascii=False, indent=1)
