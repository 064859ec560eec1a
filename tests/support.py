"""What the tests share: the personas, two harnesses, and readers of LINE
message objects.

- ``World`` (end to end): the bot is the real Flask app served over HTTP;
  the emulator is the project's fake LINE Platform reached by the real
  line-bot-sdk; jobs run in real RQ workers on a real Redis.  Every
  postback the bot sent in a world must decode with the codec (checked when
  the world closes).
- ``Bot`` (fast): the bot's event handlers called directly, in the
  transaction a job would open, on a SQLite database — no HTTP, no Redis,
  no LINE.  For commands and rules that need no transport.

Personas (named as healthchecks names alice/bob/charlie): 佐藤花子 is the
leader, 鈴木一郎 and 田中次郎 are members.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

from app import create_app
from bot.context import EventContext
from bot.events import handle
from domain import postback as codec
from emulator import EmulatorServer, LinePlatform
from jobs import runtime
from jobs.embedded import ThreadWorker
from jobs.queue import all_queues
from jobs.scheduler import dispatch_once
from jobs.tasks import run_sweep
from models import Group, Invitation, Member, Outbox, Person, Round, db
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
        undecodable = [
            action["data"]
            for entry in self.line.requests_log()
            if entry["path"] in ("/v2/bot/message/push", "/v2/bot/message/reply")
            for message in (entry.get("body") or {}).get("messages", [])
            for action in postback_actions(message)
            if codec.decode(action["data"]) is None
        ]
        assert not undecodable, f"the bot sent postbacks the codec cannot read: {undecodable}"

    # -- running the service ---------------------------------------------
    def work(self) -> None:
        """Hand stored events to the queue (the dispatcher's job) and run
        every queued job in a real RQ worker, until the queue is empty."""
        dispatch_once()
        ThreadWorker(all_queues(self.redis), connection=self.redis).work(burst=True, logging_level="WARNING")

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

    # -- one-to-one chats ---------------------------------------------------
    def follow(self, name: str, work: bool = True) -> None:
        self.line.follow(self.user(name))
        if work:
            self.work()

    def unfollow(self, name: str, work: bool = True) -> None:
        self.line.unfollow(self.user(name))
        if work:
            self.work()

    def say_one_to_one(self, name: str, text: str, work: bool = True) -> None:
        self.line.one_to_one_text(self.user(name), text)
        if work:
            self.work()

    def tap_one_to_one(self, name: str, label: str, message: dict | None = None, work: bool = True):
        """Tap the button labelled ``label`` in ``name``'s chat with the bot
        (default: in the newest bot message that has one)."""
        if message is None:
            message = next(
                item["message"]
                for item in reversed(self.chat_items(name))
                if any(a["label"] == label for a in postback_actions(item["message"]))
            )
        action = next(a for a in postback_actions(message) if a["label"] == label)
        self.line.one_to_one_postback(self.user(name), action["data"], action.get("displayText"))
        if work:
            self.work()

    def link_contact(self, person: str, contact: str) -> None:
        """``contact`` becomes ``person``'s 見守り contact the way people do
        it: /連絡先, the forwarded code sent in, 「連絡先になる」."""
        self.say_one_to_one(person, "/連絡先")
        code = invitation_code(self.chat_texts(person)[-1])
        self.follow(contact)
        self.say_one_to_one(contact, code)
        self.tap_one_to_one(contact, "連絡先になる")

    def chat_items(self, name: str) -> list[dict]:
        """What the bot said in ``name``'s one-to-one chat."""
        return [item for item in self.line.timeline(self.user(name)) if item["sender"] == "bot"]

    def chat_texts(self, name: str) -> list[str]:
        return [" ".join(texts_of(item["message"])) for item in self.chat_items(name)]

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


def invitation_code(text: str) -> str:
    """The 6-digit code in an invitation the bot wrote."""
    import re

    found = re.search(r"番号 ([0-9]{6}) を送って|number ([0-9]{6}) in the chat", text)  # 日本語 or English
    return found.group(1) or found.group(2)


def dump(items) -> str:
    return json.dumps(items, ensure_ascii=False, indent=1)


def setup_group(world: World, schedule: str | None = None) -> str:
    """みどり町内会 with everyone registered and 佐藤花子 as its leader."""
    group_id = world.group(HANAKO, ICHIRO, JIRO)
    world.join(group_id, HANAKO, ICHIRO, JIRO)
    world.lead(group_id, HANAKO)
    if schedule:
        world.say(group_id, HANAKO, f"/設定 {schedule}")
    return group_id


def group_state():
    """Everything a command could change, to prove that bad input changed nothing."""
    group = Group.get()
    return (
        group.schedule,
        group.paused,
        group.next_round_at,
        Round.select().count(),
        [(m.nickname, m.is_leader, m.active) for m in Member.select().order_by(Member.id)],
        Outbox.select().where(Outbox.kind == "push").count(),
    )


# -- the fast harness ------------------------------------------------------------------
class Bot:
    """The bot's event handlers without transport.

    ``say``/``tap`` build the webhook event LINE would send, run it through
    ``bot.events.handle`` inside one transaction (as the job does) and
    return the texts the bot queued in answer.  The LINE reads a job does
    first (display names, member counts) come from ``names`` and the
    group's membership here.  ``now`` moves only when a test moves it."""

    GROUP = "C" + "0" * 31 + "1"

    def __init__(self, settings, now: datetime):
        self.settings = settings
        self.now = now
        self.users: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self.last: list[dict] = []

    def user(self, name: str) -> str:
        if name not in self.users:
            self.users[name] = f"U{len(self.users) + 1:032x}"
        return self.users[name]

    def event(self, kind: str, group: str | None, name: str | None = None, **fields) -> list[dict]:
        """Handle one event; returns the messages the bot queued for it.
        ``group`` None: the event comes from ``name``'s one-to-one chat."""
        if group is None:
            source = {"type": "user", "userId": self.user(name)}
        else:
            source = {"type": "group", "groupId": group}
        if name is not None:
            source["userId"] = self.user(name)
        members = len(self.members.get(group, [])) if group is not None else None
        ctx = self._handle(kind, source, name, members, **fields)
        return [m for row in ctx.queued for m in json.loads(row.messages)]

    def _handle(self, kind: str, source: dict, profile_name, member_count, reply: bool = True, **fields):
        event = {
            "type": kind,
            "mode": "active",
            "timestamp": int(self.now.timestamp() * 1000),
            "source": source,
            "webhookEventId": f"01TEST{next(self._ids):020d}",
            "deliveryContext": {"isRedelivery": False},
            **({"replyToken": f"token-{next(self._ids)}"} if reply else {}),
            **fields,
        }
        ctx = EventContext(event=event, now=self.now, received_at=self.now, settings=self.settings)
        ctx.profile_name = profile_name
        ctx.member_count = member_count
        with db.atomic():
            handle(ctx)
        self.queued = list(ctx.queued)
        self.last = [m for row in ctx.queued for m in json.loads(row.messages)]
        return ctx

    # -- one-to-one chats -------------------------------------------------------
    def direct(self, kind: str, name: str, reply: bool = True, **fields) -> list[dict]:
        """Handle one event in ``name``'s one-to-one chat; returns the
        replies.  As the job does, LINE's profile is read for a follow only."""
        source = {"type": "user", "userId": self.user(name)}
        ctx = self._handle(kind, source, name if kind == "follow" else None, None, reply, **fields)
        self.last = [m for row in ctx.queued if row.kind == "reply" for m in json.loads(row.messages)]
        return self.last

    def follow(self, name: str) -> str:
        return " ".join(t for m in self.direct("follow", name) for t in texts_of(m))

    def unfollow(self, name: str) -> None:
        self.direct("unfollow", name, reply=False)

    def say_one_to_one(self, name: str, text: str) -> str:
        messages = self.direct("message", name, message={"id": "1", "type": "text", "text": text})
        return " ".join(t for m in messages for t in texts_of(m))

    def tap_one_to_one(self, name: str, action: codec.Action) -> str:
        messages = self.direct("postback", name, postback={"data": codec.encode(action)})
        return " ".join(t for m in messages for t in texts_of(m))

    def link_contact(self, person: str, contact: str) -> None:
        """``contact`` becomes ``person``'s 見守り contact (see World.link_contact)."""
        code = invitation_code(self.say_one_to_one(person, "/連絡先"))
        self.follow(contact)
        self.say_one_to_one(contact, code)
        invitation = Invitation.get(Invitation.code == code)
        self.tap_one_to_one(contact, codec.BecomeContact(invitation.id, code))

    def pushes_to(self, name: str, purpose: str | None = None) -> list[str]:
        """The texts of every push queued to ``name`` (oldest first)."""
        rows = (
            Outbox.select()
            .join(Person, on=(Outbox.person == Person.id))
            .where((Outbox.kind == "push") & (Person.line_user_id == self.user(name)))
            .order_by(Outbox.id)
        )
        return [
            " ".join(t for m in json.loads(row.messages) for t in texts_of(m))
            for row in rows
            if purpose is None or row.purpose == purpose
        ]

    def group(self, *names: str, group: str = GROUP) -> str:
        self.members[group] = list(names)
        self.event("join", group)
        return group

    def say(self, group: str, name: str, text: str) -> str:
        messages = self.event("message", group, name, message={"id": "1", "type": "text", "text": text})
        return " ".join(t for m in messages for t in texts_of(m))

    def tap(self, group: str, name: str, action: codec.Action) -> str:
        messages = self.event("postback", group, name, postback={"data": codec.encode(action)})
        return " ".join(t for m in messages for t in texts_of(m))

    def sticker(self, group: str, name: str) -> str:
        """Send a LINE sticker, as LINE's webhook carries it."""
        sticker = {"id": "2", "type": "sticker", "packageId": "446", "stickerId": "1988"}
        messages = self.event("message", group, name, message=sticker)
        return " ".join(t for m in messages for t in texts_of(m))

    def tap_direct(self, name: str, action: codec.Action) -> str:
        """Tap a button in ``name``'s one-to-one chat with the bot."""
        messages = self.event("postback", None, name, postback={"data": codec.encode(action)})
        return " ".join(t for m in messages for t in texts_of(m))

    def join(self, group: str, *names: str) -> None:
        for name in names:
            self.tap(group, name, codec.Join())

    def setup(self, schedule: str | None = None) -> str:
        """みどり町内会 with everyone registered and 佐藤花子 as its leader."""
        group = self.group(HANAKO, ICHIRO, JIRO)
        self.join(group, HANAKO, ICHIRO, JIRO)
        self.say(group, HANAKO, "/リーダー")
        if schedule:
            self.say(group, HANAKO, f"/設定 {schedule}")
        return group

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sweep(self) -> None:
        """Close due rounds, open due ones, raise due follow-ups and move
        every 見守り deadline, as the sweep does (the paced jobs go to an
        in-process fakeredis that nobody works: the pushes stay in the
        outbox)."""
        import fakeredis

        from jobs.sweep import (
            close_due_rounds,
            escalate_due_watch_checks,
            open_due_rounds,
            open_due_watch_checks,
            remind_due_follow_ups,
            remind_unclaimed_escalations,
            resend_due_watch_checks,
        )

        close_due_rounds(self.now, self.settings)
        open_due_rounds(self.now, self.settings)
        remind_due_follow_ups(self.now, self.settings)
        conn = fakeredis.FakeRedis()
        escalate_due_watch_checks(self.now, self.settings, conn)
        remind_unclaimed_escalations(self.now, self.settings, conn)
        resend_due_watch_checks(self.now, self.settings, conn)
        open_due_watch_checks(self.now, self.settings, conn)
