"""``LinePlatform``: the state and rules of the emulated LINE Platform.

Plain Python, no Flask: ``emulator.api`` is only an HTTP adapter around the
``api_*`` methods here. All state sits behind one re-entrant lock. The lock is
never held while a webhook is being POSTed, because a bot usually calls the
API (reply, profile...) while it is still handling that webhook.

Two kinds of methods:

- Simulation/control methods (``create_group``, ``send_text``...) are what
  the users' phones and the tests do. They return plain dicts and ids.
- ``api_*`` methods implement the Messaging API endpoints the bot calls. They
  return an ``ApiResult`` (status, JSON body, extra headers) with LINE's
  status codes and bodies (messaging-api.yml).

Rules enforced (see docs in the method docstrings for the details):

- Reply tokens: single use, valid for 60 s by the injected clock, only for
  the chat the event came from. Replies are free.
- Push: ``X-Line-Retry-Key`` must be a UUID; a key accepted in the last 24 h
  answers 409 with ``x-line-accepted-request-id`` and the original
  ``sentMessages``; after 24 h the same key is a new request. A group push
  costs one message per member (the bot excluded), a user push costs 1. With
  ``monthly_limit``, a push that would exceed it answers 429 and sends
  nothing. The month is the calendar month in Japan time (UTC+9).
- Groups: the bot can only push to, read, or leave groups it is in.
- One-to-one chats: a user can message the bot (text, sticker) and tap
  postbacks in their 1:1 chat unless they blocked it. A push to a user is
  delivered (cost 1) to a friend, or to a user who messaged the bot 1:1 in
  the last 7 days; a user who blocked the bot gets nothing and nothing is
  counted (200); anyone else is refused (400).
- Rate limit: optional token bucket per endpoint (method + path template).
- Latency: optional; every Messaging API answer is held back that long
  (real seconds, outside the lock, so concurrent calls overlap).

Webhooks are built as LINE builds them (webhook.yml, the SDK's sample body),
signed with HMAC-SHA256 of the raw body under the channel secret, and POSTed
synchronously with urllib3 (10 s timeout). Without ``webhook_url`` they are
only recorded (``delivered_events()``, ``webhook_log()``).

Introspection for tests and benchmarks: ``reply_token_log()`` (when each
reply token's event was POSTed, and when a reply with it was accepted or
why it was refused) and ``push_log()`` (every push answer: when, retry key,
status, 409 duplicates). Every log is bounded (the ``MAX_*`` constants).

Per-request work under the lock is O(1) (amortised) unless ``state_path``
is set, in which case every change rewrites the state file (the demo).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3

from emulator import ids, limits

REPLY_TOKEN_TTL_S = 60.0
# A redelivered event's reply token works for another minute, but never more
# than 20 minutes after the event happened (https://developers.line.biz/en/reference/messaging-api/#send-reply-message-reply-token).
REDELIVERED_TOKEN_MAX_AGE_S = 20 * 60.0
RETRY_KEY_TTL_S = 24 * 3600.0
WEBHOOK_TIMEOUT_S = 10.0
JST_OFFSET_S = 9 * 3600
# A user who is not a friend can still be pushed to for 7 days after they
# last messaged the bot in their 1:1 chat (https://developers.line.biz/en/reference/messaging-api/#send-push-message).
ONE_TO_ONE_PUSH_WINDOW_S = 7 * 24 * 3600.0

MSG_AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
MSG_RATE_LIMIT = "The API rate limit has been exceeded. Try again later."
MSG_MONTHLY_LIMIT = "You have reached your monthly limit."
MSG_INVALID_REPLY_TOKEN = "Invalid reply token"
MSG_RETRY_KEY_ACCEPTED = "The retry key is already accepted"
MSG_MEMBER_IDS_FORBIDDEN = "Access to this API is not available for your account"
# The strings below are not documented by LINE; they follow LINE's style.
MSG_INVALID_TO = "The property, 'to', in the request body is invalid (line: -, column: -)"
MSG_RETRY_KEY_NOT_SUPPORTED = "The X-Line-Retry-Key header is not supported by this API"
MSG_RETRY_KEY_INVALID = "The value of the X-Line-Retry-Key header is invalid. Specify a UUID"
MSG_NOT_FOUND = "Not found"
MSG_INTERNAL_ERROR = "Internal Server Error"
# UNCONFIRMED: LINE documents that a push may target only friends, groups
# the bot is in and users who messaged it 1:1 within 7 days, but not what it
# answers otherwise. 400 with this message is what developers report seeing
# for user ids the channel cannot reach; the emulator chooses it.
MSG_PUSH_NOT_ALLOWED = "Failed to send messages"

FAULT_KINDS = ("500", "500_after_delivery", "429", "timeout")
# Kinds that answer instead of processing vs. kinds applied after processing.
FAULTS_BEFORE = ("500", "429")
FAULTS_AFTER = ("500_after_delivery", "timeout")

# Message types LINE returns a quoteToken for in sentMessages (they can be quoted).
QUOTABLE_TYPES = ("text", "textV2", "sticker", "image", "video")

# webhook.yml StickerMessageContent.stickerResourceType.
STICKER_RESOURCE_TYPES = (
    "STATIC",
    "ANIMATION",
    "SOUND",
    "ANIMATION_SOUND",
    "POPUP",
    "POPUP_SOUND",
    "CUSTOM",
    "MESSAGE",
    "NAME_TEXT",
    "PER_STICKER_TEXT",
)

STATE_VERSION = 1
# Bounds on the in-memory logs, so a long demo run does not grow without end.
MAX_KEPT_EVENTS = 10_000
MAX_LOG_ENTRIES = 10_000
# Introspection logs: big enough for a benchmark's whole run.
MAX_REPLY_TOKEN_LOG = 50_000
MAX_PUSH_LOG = 100_000
MAX_REFUSALS_KEPT = 5


@dataclass
class ApiResult:
    """One API answer: HTTP status, JSON body (None = empty ``{}``), headers."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """An injected failure for requests whose path starts with ``path_prefix``."""

    path_prefix: str
    kind: str
    times: int
    delay: float = 0.0


@dataclass
class _ReplyToken:
    chat_id: str
    event_at: float
    expires_at: float
    used: bool = False
    # Introspection (reply_token_log): the event carrying the token, its
    # delivery to the webhook, and what became of the replies using it.
    event_id: str = ""
    event_type: str = ""
    invalidated: bool = False  # the bot left the chat / the user blocked it
    posted_at: float | None = None  # first POST of the event to the webhook
    deliveries: int = 0
    webhook_status: int | None = None  # the bot's answer to the last POST
    answered_at: float | None = None  # ...and when it came
    accepted_at: float | None = None  # the reply that was sent
    refusals: list[dict[str, Any]] = field(default_factory=list)  # first MAX_REFUSALS_KEPT
    refused: int = 0

    def record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "chat_id": self.chat_id,
            "event_at": self.event_at,
            "posted_at": self.posted_at,
            "deliveries": self.deliveries,
            "webhook_status": self.webhook_status,
            "answered_at": self.answered_at,
            "accepted_at": self.accepted_at,
            "refused": self.refused,
            "refusals": [dict(r) for r in self.refusals],
        }


class _TokenBucket:
    """Token bucket refilled at ``rate`` tokens/s, holding at most max(1, rate)."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class LinePlatform:
    """The emulated LINE Platform: groups, users, the bot, webhooks and the API.

    Args:
        channel_secret: signs webhook bodies (``X-Line-Signature``).
        access_token: the only bearer token the API accepts.
        webhook_url: where webhooks are POSTed; None = record only.
        bot_user_id: the bot's user ID (``destination``); random if None.
        clock: epoch seconds; drives token expiry, retry keys, timestamps,
            ULIDs, usage months and rate limiting. Inject one in tests.
        state_path: JSON file persisting groups, users, memberships, timeline,
            usage and accepted retry keys across restarts (atomic writes).
        monthly_limit: free-message allowance per month; None = unlimited.
        rate_limit_per_second: per-endpoint token bucket; None = unlimited.
        member_ids_api: True = a verified/premium account, which may call
            ``GET /v2/bot/group/{id}/members/ids`` (others get 403).
        latency: real seconds every Messaging API answer is held back
            (the HTTP layer sleeps outside the lock, so calls overlap); the
            request itself is processed when it arrives. Settable later as
            ``platform.latency``.
    """

    bot_display_name = "Tsunagari"

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        webhook_url: str | None = None,
        bot_user_id: str | None = None,
        clock: Callable[[], float] = time.time,
        state_path: str | None = None,
        monthly_limit: int | None = None,
        rate_limit_per_second: float | None = None,
        member_ids_api: bool = False,
        latency: float = 0.0,
    ) -> None:
        if latency < 0:
            raise ValueError("latency must not be negative")
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.monthly_limit = monthly_limit
        self.rate_limit_per_second = rate_limit_per_second
        self.member_ids_api = member_ids_api
        self.latency = latency
        self._clock = clock
        self._state_path = state_path
        self._lock = threading.RLock()
        self._ulids = ids.UlidGenerator(clock)
        # Webhooks go out from many threads at once (a tap storm): keep
        # enough connections instead of discarding them with a warning.
        self._http = urllib3.PoolManager(retries=False, maxsize=64)

        # Persisted state.
        self.bot_user_id = bot_user_id or ids.new_user_id()
        self._groups: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._timeline: dict[str, list[dict[str, Any]]] = {}
        self._seq = 0
        self._message_id = 500_000_000_000_000_000
        self._usage: dict[str, Any] = {"month": self._month(), "total": 0}
        self._retry_keys: dict[str, dict[str, Any]] = {}

        # Volatile state.
        self._reply_tokens: dict[str, _ReplyToken] = {}
        self._events: dict[str, dict[str, Any]] = {}
        self._delivered: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_ENTRIES)
        self._webhook_log: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_ENTRIES)
        self._requests: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_ENTRIES)
        self._faults: list[Fault] = []
        self._buckets: dict[str, _TokenBucket] = {}
        self._async_deliveries: list[threading.Thread] = []
        # Introspection: both in insertion order, oldest dropped first.
        self._token_log: dict[str, _ReplyToken] = {}
        self._push_log: deque[dict[str, Any]] = deque(maxlen=MAX_PUSH_LOG)
        self._push_seq = 0

        if state_path and os.path.exists(state_path):
            self._load(state_path, keep_bot_user_id=bot_user_id is not None)
        else:
            self._save()

    # ------------------------------------------------------------------ #
    # Simulation / control
    # ------------------------------------------------------------------ #

    def create_group(self, name: str, *, members: list[str] | tuple[str, ...] = (), bot: bool = False) -> str:
        """Create a group chat; return its ``C…`` id.

        By default it is empty and without the bot. ``members`` (user ids)
        and ``bot=True`` create a group that already existed that way, for
        seeding a large world quickly: no webhook is sent, as nothing
        happened now. Raises KeyError for an unknown user.
        """
        with self._lock:
            for user_id in members:
                self._user(user_id)
            if len(set(members)) != len(members):
                raise ValueError("a user can be a member of a group only once")
            group_id = ids.new_group_id()
            self._groups[group_id] = {
                "name": name,
                "members": list(members),
                "bot_in_group": bot,
                "created_at": self._clock(),
            }
            self._save()
            return group_id

    def add_user(self, display_name: str, *, friend: bool = False) -> str:
        """Create a LINE user; return their ``U…`` id.

        ``friend=True`` means the user has added the bot as a friend, which
        ``GET /v2/bot/profile/{userId}`` and 1:1 pushes require (see
        ``follow``). Group members need not be friends.
        """
        with self._lock:
            user_id = ids.new_user_id()
            self._users[user_id] = {"display_name": display_name, "friend": friend}
            self._save()
            return user_id

    def add_member(self, group_id: str, user_id: str) -> dict[str, Any]:
        """A user joins a group. memberJoined webhook if the bot is in it.

        Returns ``{"event": dict | None, "status": int | None}``.
        Raises KeyError for an unknown group/user, ValueError if already a member.
        """
        with self._lock:
            group = self._group(group_id)
            self._user(user_id)
            if user_id in group["members"]:
                raise ValueError("user is already a member of the group")
            group["members"].append(user_id)
            event = None
            if group["bot_in_group"]:
                event = self._new_event(
                    "memberJoined",
                    self._group_source(group_id),
                    reply_chat=group_id,
                    joined={"members": [{"type": "user", "userId": user_id}]},
                )
            self._save()
        return self._send_event(event)

    def remove_member(self, group_id: str, user_id: str) -> dict[str, Any]:
        """A user leaves a group. memberLeft webhook (no reply token) if the bot is in it."""
        with self._lock:
            group = self._group(group_id)
            if user_id not in group["members"]:
                raise KeyError(f"user {user_id} is not a member of group {group_id}")
            group["members"].remove(user_id)
            event = None
            if group["bot_in_group"]:
                event = self._new_event(
                    "memberLeft",
                    self._group_source(group_id),
                    left={"members": [{"type": "user", "userId": user_id}]},
                )
            self._save()
        return self._send_event(event)

    def invite_bot(self, group_id: str) -> dict[str, Any]:
        """A member invites the bot: it joins and gets a join webhook (with replyToken).

        Inviting a bot that is already in the group does nothing (event None).
        """
        with self._lock:
            group = self._group(group_id)
            if group["bot_in_group"]:
                return {"event": None, "status": None}
            group["bot_in_group"] = True
            event = self._new_event("join", self._group_source(group_id), reply_chat=group_id)
            self._save()
        return self._send_event(event)

    def remove_bot(self, group_id: str) -> dict[str, Any]:
        """A member removes the bot: leave webhook (no reply token)."""
        with self._lock:
            group = self._group(group_id)
            if not group["bot_in_group"]:
                return {"event": None, "status": None}
            group["bot_in_group"] = False
            self._invalidate_reply_tokens(group_id)
            event = self._new_event("leave", self._group_source(group_id))
            self._save()
        return self._send_event(event)

    def follow(self, user_id: str) -> dict[str, Any]:
        """The user adds the bot as a friend (or unblocks it): follow webhook."""
        with self._lock:
            user = self._user(user_id)
            unblocked = user.get("blocked", False)
            user["friend"] = True
            user["blocked"] = False
            event = self._new_event(
                "follow",
                {"type": "user", "userId": user_id},
                reply_chat=user_id,
                follow={"isUnblocked": unblocked},
            )
            self._save()
        return self._send_event(event)

    def unfollow(self, user_id: str) -> dict[str, Any]:
        """The user blocks the bot: unfollow webhook (no reply token)."""
        with self._lock:
            user = self._user(user_id)
            user["friend"] = False
            user["blocked"] = True
            self._invalidate_reply_tokens(user_id)
            event = self._new_event("unfollow", {"type": "user", "userId": user_id})
            self._save()
        return self._send_event(event)

    def send_text(self, group_id: str, user_id: str, text: str) -> dict[str, Any]:
        """A member sends a text message to the group.

        The message appears in the timeline; if the bot is in the group it
        gets a message webhook (source carries userId, with replyToken).
        Returns ``{"seq": timeline seq, "event": dict | None, "status": int | None}``.
        """
        with self._lock:
            group = self._group(group_id)
            self._require_member(group, group_id, user_id)
            message_id = self._next_message_id()
            seq = self._add_timeline(group_id, "user", {"type": "text", "text": text}, user_id=user_id)
            event = None
            if group["bot_in_group"]:
                event = self._new_event(
                    "message",
                    self._group_source(group_id, user_id),
                    reply_chat=group_id,
                    message={
                        "id": message_id,
                        "type": "text",
                        "text": text,
                        "quoteToken": ids.new_quote_token(),
                    },
                )
            self._save()
        return {"seq": seq, **self._send_event(event)}

    def tap_postback(
        self,
        group_id: str,
        user_id: str,
        data: str,
        display_text: str | None = None,
    ) -> dict[str, Any]:
        """A member taps a postback button in the group.

        If ``display_text`` is given it is shown in the chat as that user's
        message (as LINE shows ``displayText``); LINE sends no message event
        for it, only the postback event (with userId and replyToken).
        Returns ``{"seq": int | None, "event": dict | None, "status": int | None}``.
        """
        with self._lock:
            group = self._group(group_id)
            self._require_member(group, group_id, user_id)
            seq = None
            if display_text is not None:
                seq = self._add_timeline(
                    group_id, "user", {"type": "text", "text": display_text}, user_id=user_id
                )
            event = None
            if group["bot_in_group"]:
                event = self._new_event(
                    "postback",
                    self._group_source(group_id, user_id),
                    reply_chat=group_id,
                    postback={"data": data},
                )
            self._save()
        return {"seq": seq, **self._send_event(event)}

    def send_sticker(
        self,
        group_id: str,
        user_id: str,
        package_id: str,
        sticker_id: str,
        resource_type: str = "STATIC",
    ) -> dict[str, Any]:
        """A member sends a sticker to the group (like ``send_text``).

        The webhook's message is LINE's sticker content: ``packageId``,
        ``stickerId``, ``stickerResourceType`` (webhook.yml's enum) and a
        ``quoteToken``. Returns ``{"seq", "event", "status"}``.
        """
        sticker = _sticker(package_id, sticker_id, resource_type)
        with self._lock:
            group = self._group(group_id)
            self._require_member(group, group_id, user_id)
            seq = self._add_timeline(group_id, "user", dict(sticker), user_id=user_id)
            event = None
            if group["bot_in_group"]:
                event = self._new_event(
                    "message",
                    self._group_source(group_id, user_id),
                    reply_chat=group_id,
                    message=self._message_content(sticker),
                )
            self._save()
        return {"seq": seq, **self._send_event(event)}

    # --- one-to-one chats (the chat id is the user id) ------------------

    def one_to_one_text(self, user_id: str, text: str) -> dict[str, Any]:
        """The user sends a text message in their 1:1 chat with the bot.

        Webhook: a message event with source ``{type: user, userId}`` and a
        reply token. A user who is not a friend can do this too (and may
        then be pushed to for 7 days); one who blocked the bot cannot
        (ValueError). Returns ``{"seq", "event", "status"}``.
        """
        if not isinstance(text, str) or text == "":
            raise ValueError("text must be a non-empty string")
        return self._one_to_one_message(user_id, {"type": "text", "text": text})

    def one_to_one_sticker(
        self, user_id: str, package_id: str, sticker_id: str, resource_type: str = "STATIC"
    ) -> dict[str, Any]:
        """The user sends a sticker in their 1:1 chat (see ``one_to_one_text``)."""
        return self._one_to_one_message(user_id, _sticker(package_id, sticker_id, resource_type))

    def one_to_one_postback(self, user_id: str, data: str, display_text: str | None = None) -> dict[str, Any]:
        """The user taps a postback button in their 1:1 chat.

        ``display_text`` is shown in the chat as the user's message (no
        message event for it). A tap is not a message: it does not open the
        7-day push window. Returns ``{"seq", "event", "status"}``.
        """
        with self._lock:
            self._require_unblocked(user_id)
            seq = None
            if display_text is not None:
                seq = self._add_timeline(
                    user_id, "user", {"type": "text", "text": display_text}, user_id=user_id
                )
            event = self._new_event(
                "postback", _user_source(user_id), reply_chat=user_id, postback={"data": data}
            )
            self._save()
        return {"seq": seq, **self._send_event(event)}

    def tap_many(
        self,
        taps: list[dict[str, Any]],
        *,
        rate: float | None = None,
        concurrency: int = 16,
    ) -> dict[str, Any]:
        """Many users tap postback buttons: a crowd of phones at once.

        Each tap is ``{"user_id", "data"}`` plus ``"group_id"`` (omit it for
        a 1:1 chat) and optionally ``"display_text"``; each becomes its own
        webhook, POSTed from ``concurrency`` threads. ``rate`` (taps per
        second) paces them: tap i is sent ``i / rate`` s after the start;
        None sends them as fast as the threads go. Invalid taps are
        checked before any is sent (KeyError / ValueError).

        Returns ``{"started_at", "finished_at", "results": [{"event_id",
        "status", "sent_at"} in the order given]}`` (platform clock).
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be greater than zero")
        with self._lock:
            for tap in taps:
                if not isinstance(tap, dict) or not isinstance(tap.get("data"), str):
                    raise ValueError("every tap needs a user_id and a data string")
                if tap.get("group_id") is None:
                    self._require_unblocked(tap.get("user_id", ""))
                else:
                    self._require_member(self._group(tap["group_id"]), tap["group_id"], tap.get("user_id"))
        results: list[dict[str, Any] | None] = [None] * len(taps)
        cursor = iter(range(len(taps)))
        cursor_lock = threading.Lock()
        started = time.monotonic()
        started_at = self._clock()

        def run() -> None:
            while True:
                with cursor_lock:
                    index = next(cursor, None)
                if index is None:
                    return
                if rate is not None:
                    time.sleep(max(0.0, started + index / rate - time.monotonic()))
                tap = taps[index]
                sent_at = self._clock()
                try:
                    if tap.get("group_id") is None:
                        outcome = self.one_to_one_postback(
                            tap["user_id"], tap["data"], tap.get("display_text")
                        )
                    else:
                        outcome = self.tap_postback(
                            tap["group_id"], tap["user_id"], tap["data"], tap.get("display_text")
                        )
                except (KeyError, ValueError) as exc:  # the world changed since the check
                    results[index] = {"event_id": None, "status": None, "sent_at": sent_at, "error": str(exc)}
                    continue
                event = outcome["event"] or {}
                results[index] = {
                    "event_id": event.get("webhookEventId"),
                    "status": outcome["status"],
                    "sent_at": sent_at,
                }

        threads = [
            threading.Thread(target=run, name=f"emulator-tap-{n}", daemon=True)
            for n in range(min(concurrency, max(1, len(taps))))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {"started_at": started_at, "finished_at": self._clock(), "results": results}

    def verify_webhook(self) -> dict[str, Any]:
        """Send ``{"events": []}`` like the console's "Verify" button; return status."""
        return {"event": None, "status": self._deliver([])}

    def redeliver(self, webhook_event_id: str) -> dict[str, Any]:
        """Re-send a past event unchanged except ``deliveryContext.isRedelivery=true``.

        Same ``webhookEventId``, ``timestamp`` and ``replyToken``. An unused
        reply token becomes valid for another 60 s, but not beyond 20 minutes
        after the event. (LINE only redelivers events the bot failed to
        receive; the emulator lets a test redeliver any event.)
        """
        with self._lock:
            if webhook_event_id not in self._events:
                raise KeyError(f"unknown webhookEventId {webhook_event_id}")
            event = copy.deepcopy(self._events[webhook_event_id])
            event["deliveryContext"] = {"isRedelivery": True}
            token = self._reply_tokens.get(event.get("replyToken", ""))
            if token is not None and not token.used:
                now = self._clock()
                token.expires_at = min(now + REPLY_TOKEN_TTL_S, token.event_at + REDELIVERED_TOKEN_MAX_AGE_S)
        return {"event": event, "status": self._deliver([event])}

    def timeline(self, group_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
        """Messages shown in a chat, oldest first, with seq > ``after_seq``.

        ``group_id`` is a group id, or a user id for their 1:1 chat with the
        bot. Items: seq (increasing across all chats), at (epoch s),
        sender 'bot'|'user', user_id, display_name, via 'reply'|'push'|None,
        message (the LINE message object as sent, or for users
        ``{"type": "text", "text": ...}`` or ``{"type": "sticker",
        "packageId", "stickerId", "stickerResourceType"}``).
        """
        with self._lock:
            items = self._timeline.get(group_id, [])
            return [copy.deepcopy(item) for item in items if item["seq"] > after_seq]

    def groups(self) -> list[dict[str, Any]]:
        """All groups: group_id, name, bot_in_group, member_count."""
        with self._lock:
            return [
                {
                    "group_id": group_id,
                    "name": group["name"],
                    "bot_in_group": group["bot_in_group"],
                    "member_count": len(group["members"]),
                }
                for group_id, group in self._groups.items()
            ]

    def users(self) -> list[dict[str, Any]]:
        """All users: user_id, display_name, friend, blocked."""
        with self._lock:
            return [
                {
                    "user_id": user_id,
                    "display_name": user["display_name"],
                    "friend": user.get("friend", False),
                    "blocked": user.get("blocked", False),
                }
                for user_id, user in self._users.items()
            ]

    def members(self, group_id: str) -> list[dict[str, Any]]:
        """A group's members (the bot excluded): user_id, display_name."""
        with self._lock:
            group = self._group(group_id)
            return [
                {"user_id": uid, "display_name": self._users[uid]["display_name"]} for uid in group["members"]
            ]

    def usage(self) -> dict[str, Any]:
        """Messages counted this month: ``{"month": "YYYY-MM", "total": n}``."""
        with self._lock:
            self._roll_month()
            return dict(self._usage)

    def requests_log(self) -> list[dict[str, Any]]:
        """Every API request received: at, method, path, status, body, retry_key, request_id."""
        with self._lock:
            return copy.deepcopy(list(self._requests))

    def delivered_events(self) -> list[dict[str, Any]]:
        """Every webhook event sent (or recorded without webhook_url), in order."""
        with self._lock:
            return copy.deepcopy(list(self._delivered))

    def webhook_log(self) -> list[dict[str, Any]]:
        """Every webhook request: body (str, exactly as signed), signature, status, error."""
        with self._lock:
            return copy.deepcopy(list(self._webhook_log))

    def reply_token_log(self) -> list[dict[str, Any]]:
        """Every reply token issued (the newest MAX_REPLY_TOKEN_LOG), oldest first.

        Each: event_id, event_type, chat_id, event_at (when the event
        happened), posted_at (first POST of the event to the webhook; None
        when there is no webhook URL), deliveries (POSTs, redeliveries
        included), webhook_status and answered_at (the bot's answer to the
        last POST), accepted_at (when a reply using the token was accepted,
        or None), refused (replies refused) and refusals (the first
        MAX_REFUSALS_KEPT: ``{"at", "reason"}`` with reason "expired",
        "used" (already used) or "invalidated" (the bot left the chat, the
        user blocked it)). Times are the platform clock's.
        """
        with self._lock:
            return [info.record() for info in self._token_log.values()]

    def push_log(self) -> list[dict[str, Any]]:
        """Every push request answered (the newest MAX_PUSH_LOG), oldest first.

        Each: seq, at (when it was processed: accepted, refused or found a
        duplicate; the answer leaves ``latency`` later), to, retry_key,
        status (200 accepted, 409 duplicate retry key, 400, 401, 429, 500),
        duplicate (status 409), request_id. Platform clock.
        """
        with self._lock:
            return [dict(entry) for entry in self._push_log]

    def inject_fault(self, path_prefix: str, kind: str, times: int = 1, delay: float = 0.0) -> None:
        """Make the next ``times`` API requests under ``path_prefix`` fail.

        Kinds:
          - "500": nothing is processed; answer 500.
          - "500_after_delivery": processed normally (message delivered, cost
            counted, retry key accepted), then answer 500.
          - "429": nothing is processed; answer 429 with the rate-limit body.
          - "timeout": processed normally, then the answer is held for
            ``delay`` real seconds, so a client with a shorter timeout gives
            up although the message was delivered.
        "After" faults only fire on requests that succeed.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(Fault(path_prefix, kind, times, delay))

    def clear_faults(self) -> None:
        """Remove every pending injected fault."""
        with self._lock:
            self._faults.clear()

    def wait_for_webhooks(self, timeout: float = 5.0) -> None:
        """Wait until webhooks sent in the background (after API calls) are done."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [t for t in self._async_deliveries if t.is_alive()]
                self._async_deliveries = pending
            if not pending:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("background webhook delivery did not finish")
            pending[0].join(remaining)

    # ------------------------------------------------------------------ #
    # HTTP pipeline helpers (used by emulator.api)
    # ------------------------------------------------------------------ #

    def is_authorized(self, authorization: str | None) -> bool:
        """True when the Authorization header carries this channel's token."""
        expected = f"Bearer {self.access_token}"
        return authorization is not None and hmac.compare_digest(authorization.encode(), expected.encode())

    def take_rate_token(self, endpoint: str) -> bool:
        """Spend one request from the endpoint's bucket; False = over the rate limit."""
        if self.rate_limit_per_second is None:
            return True
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(endpoint)
            if bucket is None:
                bucket = self._buckets[endpoint] = _TokenBucket(self.rate_limit_per_second, now)
            return bucket.take(now)

    def take_fault(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        """Consume and return the first pending fault of one of ``kinds`` for ``path``."""
        if not self._faults:  # the usual case: not worth the lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and path.startswith(fault.path_prefix):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.path_prefix, fault.kind, 1, fault.delay)
            return None

    def log_request(self, entry: dict[str, Any]) -> None:
        """Record one API request (called by the HTTP layer once processed,
        before the latency hold); pushes also go to ``push_log()``."""
        with self._lock:
            now = self._clock()
            self._requests.append({"at": now, **entry})
            if entry.get("path") == "/v2/bot/message/push":
                body = entry.get("body")
                self._push_seq += 1
                self._push_log.append(
                    {
                        "seq": self._push_seq,
                        "at": now,
                        "to": body.get("to") if isinstance(body, dict) else None,
                        "retry_key": entry.get("retry_key"),
                        "status": entry.get("status"),
                        "duplicate": entry.get("status") == 409,
                        "request_id": entry.get("request_id"),
                    }
                )

    # ------------------------------------------------------------------ #
    # Messaging API
    # ------------------------------------------------------------------ #

    def api_reply(
        self, body: Any, retry_key: str | None, request_id: str, body_size: int | None = None
    ) -> ApiResult:
        """``POST /v2/bot/message/reply``: free; the token is single use, 60 s."""
        if retry_key is not None:
            return _error(400, MSG_RETRY_KEY_NOT_SUPPORTED)
        details = limits.validate_reply_request(body, body_size)
        if details:
            return ApiResult(400, limits.error_body(details))
        with self._lock:
            now = self._clock()
            token = self._reply_tokens.get(body["replyToken"])
            if token is None:
                return _error(400, MSG_INVALID_REPLY_TOKEN)
            reason = None
            if token.invalidated:
                reason = "invalidated"
            elif token.used:
                reason = "used"
            elif now >= token.expires_at:
                reason = "expired"
            elif not self._bot_can_see(token.chat_id):
                reason = "invalidated"
            if reason is not None:
                token.refused += 1
                if len(token.refusals) < MAX_REFUSALS_KEPT:
                    token.refusals.append({"at": now, "reason": reason})
                return _error(400, MSG_INVALID_REPLY_TOKEN)
            token.used = True
            token.accepted_at = now
            sent = self._deliver_bot_messages(token.chat_id, body["messages"], via="reply")
            self._save()
            return ApiResult(200, {"sentMessages": sent})

    def api_push(
        self, body: Any, retry_key: str | None, request_id: str, body_size: int | None = None
    ) -> ApiResult:
        """``POST /v2/bot/message/push``: costs messages; honours X-Line-Retry-Key.

        Takes ownership of ``body`` (the delivered messages are kept as
        they are, not copied): the HTTP layer parses a fresh one per request.
        ``body_size``: the raw body's length, which spares re-measuring Flex
        sizes (``limits``).
        """
        if retry_key is not None and not ids.is_uuid(retry_key):
            return _error(400, MSG_RETRY_KEY_INVALID)
        # Validation needs no state: done before taking the lock. A reused
        # retry key still answers 409 whatever the body (checked first below).
        details = limits.validate_push_request(body, body_size)
        with self._lock:
            now = self._clock()
            if retry_key is not None:
                self._forget_old_retry_keys(now)
                accepted = self._retry_keys.get(retry_key.lower())
                if accepted is not None and now - accepted["accepted_at"] < RETRY_KEY_TTL_S:
                    return ApiResult(
                        409,
                        {
                            "message": MSG_RETRY_KEY_ACCEPTED,
                            "sentMessages": copy.deepcopy(accepted["sent_messages"]),
                        },
                        {"x-line-accepted-request-id": accepted["request_id"]},
                    )
            if details:
                return ApiResult(400, limits.error_body(details))
            to = body["to"]
            if to in self._groups:
                group = self._groups[to]
                if not group["bot_in_group"]:
                    return _error(400, MSG_INVALID_TO)
                cost, delivered = len(group["members"]), True
            elif to in self._users:
                user = self._users[to]
                if user.get("blocked", False):
                    # LINE answers 200 to a user who blocked the bot but
                    # delivers and counts nothing (https://developers.line.biz/en/reference/messaging-api/#send-push-message).
                    cost, delivered = 0, False
                elif user.get("friend", False) or self._messaged_recently(user, now):
                    cost, delivered = 1, True
                else:
                    return _error(400, MSG_PUSH_NOT_ALLOWED)
            else:
                return _error(400, MSG_INVALID_TO)
            self._roll_month()
            if self.monthly_limit is not None and self._usage["total"] + cost > self.monthly_limit:
                return _error(429, MSG_MONTHLY_LIMIT)
            if delivered:
                sent = self._deliver_bot_messages(to, body["messages"], via="push")
            else:
                sent = [self._sent_message(m) for m in body["messages"]]
            self._usage["total"] += cost
            if retry_key is not None:
                # Re-inserted at the end: the dict stays in acceptance order.
                self._retry_keys.pop(retry_key.lower(), None)
                self._retry_keys[retry_key.lower()] = {
                    "accepted_at": now,
                    "request_id": request_id,
                    "sent_messages": sent,
                }
            self._save()
            return ApiResult(200, {"sentMessages": sent})

    def api_validate_messages(self, body: Any, body_size: int | None = None) -> ApiResult:
        """``POST /v2/bot/message/validate/{reply,push}``: 200 ``{}`` or 400."""
        details = limits.validate_messages_request(body, body_size)
        if details:
            return ApiResult(400, limits.error_body(details))
        return ApiResult(200, {})

    def api_group_summary(self, group_id: str) -> ApiResult:
        """``GET /v2/bot/group/{groupId}/summary``: 404 unless the bot is in it."""
        with self._lock:
            group = self._groups.get(group_id)
            if group is None or not group["bot_in_group"]:
                return _error(404, MSG_NOT_FOUND)
            return ApiResult(200, {"groupId": group_id, "groupName": group["name"]})

    def api_group_member_count(self, group_id: str) -> ApiResult:
        """``GET /v2/bot/group/{groupId}/members/count``: members, bot excluded."""
        with self._lock:
            group = self._groups.get(group_id)
            if group is None or not group["bot_in_group"]:
                return _error(404, MSG_NOT_FOUND)
            return ApiResult(200, {"count": len(group["members"])})

    def api_group_member_profile(self, group_id: str, user_id: str) -> ApiResult:
        """``GET /v2/bot/group/{groupId}/member/{userId}``: friend or not; 404 if not a member."""
        with self._lock:
            group = self._groups.get(group_id)
            if group is None or not group["bot_in_group"] or user_id not in group["members"]:
                return _error(404, MSG_NOT_FOUND)
            user = self._users[user_id]
            return ApiResult(200, {"displayName": user["display_name"], "userId": user_id})

    def api_group_member_ids(self, group_id: str, start: str | None) -> ApiResult:
        """``GET /v2/bot/group/{groupId}/members/ids``: verified/premium accounts only.

        Pages of up to 100 ids; ``next`` is an opaque continuation token.
        """
        if not self.member_ids_api:
            return _error(403, MSG_MEMBER_IDS_FORBIDDEN)
        with self._lock:
            group = self._groups.get(group_id)
            if group is None or not group["bot_in_group"]:
                return _error(404, MSG_NOT_FOUND)
            offset = 0
            if start:
                try:
                    offset = int(base64.urlsafe_b64decode(start.encode()).decode())
                except ValueError:
                    return ApiResult(
                        400,
                        {
                            "message": "The request has 1 error(s)",
                            "details": [{"message": "Invalid value", "property": "start"}],
                        },
                    )
            page = group["members"][offset : offset + 100]
            result: dict[str, Any] = {"memberIds": list(page)}
            if offset + 100 < len(group["members"]):
                result["next"] = base64.urlsafe_b64encode(str(offset + 100).encode()).decode()
            return ApiResult(200, result)

    def api_profile(self, user_id: str) -> ApiResult:
        """``GET /v2/bot/profile/{userId}``: friends only, else 404.

        (https://developers.line.biz/en/reference/messaging-api/#get-profile also serves non-friends who messaged the bot and
        did not block it; the emulator is stricter on purpose, so that a bot
        tested here never relies on that.)
        """
        with self._lock:
            user = self._users.get(user_id)
            if user is None or not user.get("friend", False):
                return _error(404, MSG_NOT_FOUND)
            return ApiResult(200, {"displayName": user["display_name"], "userId": user_id})

    def api_leave_group(self, group_id: str) -> ApiResult:
        """``POST /v2/bot/group/{groupId}/leave``: the bot leaves; 404 if not in it.

        LINE's leave event is documented as sent "when a user removes your
        LINE Official Account from a group chat or when your LINE Official
        Account leaves a group chat" (webhook.yml LeaveEvent), so a leave
        webhook follows. It is sent in the background, as LINE sends webhooks
        asynchronously, so a bot calling this inside its webhook handler does
        not deadlock; ``wait_for_webhooks()`` waits for it.
        """
        with self._lock:
            group = self._groups.get(group_id)
            if group is None or not group["bot_in_group"]:
                return _error(404, MSG_NOT_FOUND)
            group["bot_in_group"] = False
            self._invalidate_reply_tokens(group_id)
            event = self._new_event("leave", self._group_source(group_id))
            self._save()
            if self.webhook_url is None:
                self._deliver([event])  # records only; no HTTP
            else:
                thread = threading.Thread(
                    target=self._deliver, args=([event],), name="emulator-webhook", daemon=True
                )
                self._async_deliveries.append(thread)
                thread.start()
            return ApiResult(200, {})

    def api_quota(self) -> ApiResult:
        """``GET /v2/bot/message/quota``: ``{"type":"none"}`` or limited with value."""
        if self.monthly_limit is None:
            return ApiResult(200, {"type": "none"})
        return ApiResult(200, {"type": "limited", "value": self.monthly_limit})

    def api_quota_consumption(self) -> ApiResult:
        """``GET /v2/bot/message/quota/consumption``: ``{"totalUsage": n}`` this month."""
        with self._lock:
            self._roll_month()
            return ApiResult(200, {"totalUsage": self._usage["total"]})

    def api_bot_info(self) -> ApiResult:
        """``GET /v2/bot/info``: the bot's user id, basic id and name."""
        return ApiResult(
            200,
            {
                "userId": self.bot_user_id,
                "basicId": self.basic_id,
                "displayName": self.bot_display_name,
                "chatMode": "bot",
                "markAsReadMode": "auto",
            },
        )

    @property
    def basic_id(self) -> str:
        """The bot's LINE ID as LINE shows it: ``@`` + 3 digits + 5 letters
        (e.g. ``@123abcde``), derived from the bot's user id, so it stays
        the same across restarts (the user id is persisted)."""
        digest = hashlib.sha256(self.bot_user_id.encode("ascii")).digest()
        digits = "".join(str(b % 10) for b in digest[:3])
        letters = "".join(chr(ord("a") + b % 26) for b in digest[3:8])
        return f"@{digits}{letters}"

    # ------------------------------------------------------------------ #
    # Internals (call with the lock held unless noted)
    # ------------------------------------------------------------------ #

    def _group(self, group_id: str) -> dict[str, Any]:
        try:
            return self._groups[group_id]
        except KeyError:
            raise KeyError(f"unknown group {group_id}") from None

    def _user(self, user_id: str) -> dict[str, Any]:
        try:
            return self._users[user_id]
        except KeyError:
            raise KeyError(f"unknown user {user_id}") from None

    def _require_member(self, group: dict[str, Any], group_id: str, user_id: str) -> None:
        self._user(user_id)
        if user_id not in group["members"]:
            raise ValueError(f"user {user_id} is not a member of group {group_id}")

    def _bot_can_see(self, chat_id: str) -> bool:
        if chat_id in self._groups:
            return self._groups[chat_id]["bot_in_group"]
        user = self._users.get(chat_id)
        return user is not None and not user.get("blocked", False)

    def _require_unblocked(self, user_id: str) -> dict[str, Any]:
        user = self._user(user_id)
        if user.get("blocked", False):
            raise ValueError(f"user {user_id} has blocked the bot (follow unblocks it)")
        return user

    def _messaged_recently(self, user: dict[str, Any], now: float) -> bool:
        last = user.get("last_message_at")
        return last is not None and now - last < ONE_TO_ONE_PUSH_WINDOW_S

    def _one_to_one_message(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._require_unblocked(user_id)
            user["last_message_at"] = self._clock()
            seq = self._add_timeline(user_id, "user", dict(message), user_id=user_id)
            event = self._new_event(
                "message", _user_source(user_id), reply_chat=user_id, message=self._message_content(message)
            )
            self._save()
        return {"seq": seq, **self._send_event(event)}

    def _message_content(self, message: dict[str, Any]) -> dict[str, Any]:
        """A user's message as a webhook's ``message``: id first, then the
        content, then a quoteToken (text and stickers can be quoted)."""
        return {"id": self._next_message_id(), **message, "quoteToken": ids.new_quote_token()}

    def _forget_old_retry_keys(self, now: float) -> None:
        # Keys are kept in acceptance order: drop expired ones from the front.
        while self._retry_keys:
            key, accepted = next(iter(self._retry_keys.items()))
            if now - accepted["accepted_at"] < RETRY_KEY_TTL_S:
                return
            del self._retry_keys[key]

    def _group_source(self, group_id: str, user_id: str | None = None) -> dict[str, str]:
        # LINE puts userId in a group source only on message (and, here,
        # postback) events; join/leave/memberJoined/memberLeft carry groupId.
        source = {"type": "group", "groupId": group_id}
        if user_id is not None:
            source["userId"] = user_id
        return source

    def _new_event(
        self,
        event_type: str,
        source: dict[str, str],
        *,
        reply_chat: str | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """Build a webhook event as LINE does; issue a reply token if reply_chat.

        Field order follows LINE's own sample bodies (JSON order carries no
        meaning, but the raw body then reads like LINE's).
        """
        now = self._clock()
        event: dict[str, Any] = {}
        event_id = self._ulids.new()
        if reply_chat is not None:
            token = ids.new_reply_token()
            info = _ReplyToken(
                reply_chat, now, now + REPLY_TOKEN_TTL_S, event_id=event_id, event_type=event_type
            )
            self._reply_tokens[token] = info
            self._token_log[token] = info
            event["replyToken"] = token
        event["type"] = event_type
        event["mode"] = "active"
        event["timestamp"] = int(now * 1000)
        event["source"] = source
        event["webhookEventId"] = event_id
        event["deliveryContext"] = {"isRedelivery": False}
        event.update(content)
        self._events[event_id] = copy.deepcopy(event)
        self._prune(now)
        return event

    def _prune(self, now: float) -> None:
        """Forget reply tokens past any possible use, and the oldest events
        and token records. Tokens are kept in issue order, so this looks at
        the front only: O(1) per event, however many tokens are alive."""
        while self._reply_tokens:
            token, info = next(iter(self._reply_tokens.items()))
            if now - info.event_at <= REDELIVERED_TOKEN_MAX_AGE_S:
                break
            del self._reply_tokens[token]
        while len(self._events) > MAX_KEPT_EVENTS:
            del self._events[next(iter(self._events))]
        while len(self._token_log) > MAX_REPLY_TOKEN_LOG:
            del self._token_log[next(iter(self._token_log))]

    def _invalidate_reply_tokens(self, chat_id: str) -> None:
        for token in self._reply_tokens.values():
            if token.chat_id == chat_id:
                token.used = True
                token.invalidated = True

    def _next_message_id(self) -> str:
        self._message_id += 1
        return str(self._message_id)

    def _sent_message(self, message: dict[str, Any]) -> dict[str, str]:
        sent = {"id": self._next_message_id()}
        if message.get("type") in QUOTABLE_TYPES:
            sent["quoteToken"] = ids.new_quote_token()
        return sent

    def _deliver_bot_messages(
        self, chat_id: str, messages: list[dict[str, Any]], *, via: str
    ) -> list[dict[str, str]]:
        # The messages belong to the request (api_* take ownership of the
        # body) and nothing mutates them: kept without a deep copy, which
        # was the biggest cost of a push under the lock. timeline() copies.
        sent = []
        for message in messages:
            sent.append(self._sent_message(message))
            self._add_timeline(chat_id, "bot", message, via=via)
        return sent

    def _add_timeline(
        self,
        chat_id: str,
        sender: str,
        message: dict[str, Any],
        *,
        user_id: str | None = None,
        via: str | None = None,
    ) -> int:
        self._seq += 1
        if sender == "bot":
            display_name = message.get("sender", {}).get("name") or self.bot_display_name
        else:
            display_name = self._users[user_id]["display_name"]
        self._timeline.setdefault(chat_id, []).append(
            {
                "seq": self._seq,
                "at": self._clock(),
                "sender": sender,
                "user_id": user_id,
                "display_name": display_name,
                "via": via,
                "message": message,
            }
        )
        return self._seq

    def _month(self) -> str:
        # LINE's plans are Japanese; count calendar months in JST (UTC+9).
        return time.strftime("%Y-%m", time.gmtime(self._clock() + JST_OFFSET_S))

    def _roll_month(self) -> None:
        month = self._month()
        if self._usage["month"] != month:
            self._usage = {"month": month, "total": 0}

    # --- webhook delivery (never with the lock held) ---------------------

    def _send_event(self, event: dict[str, Any] | None) -> dict[str, Any]:
        if event is None:
            return {"event": None, "status": None}
        return {"event": copy.deepcopy(event), "status": self._deliver([event])}

    def sign(self, body: bytes) -> str:
        """``X-Line-Signature`` for a raw body: Base64(HMAC-SHA256(secret, body))."""
        digest = hmac.new(self.channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def _deliver(self, events: list[dict[str, Any]]) -> int | None:
        """Serialise once, sign, POST; record and return the HTTP status."""
        raw = json.dumps(
            {"destination": self.bot_user_id, "events": events},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        signature = self.sign(raw)
        if self.webhook_url is None:
            self._record(events, raw, signature, None)
            return None
        status: int | None = None
        error: str | None = None
        posted_at = self._clock()
        try:
            response = self._http.request(
                "POST",
                self.webhook_url,
                body=raw,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "X-Line-Signature": signature,
                    "User-Agent": "LineBotWebhook/2.0",
                },
                timeout=urllib3.Timeout(total=WEBHOOK_TIMEOUT_S),
                redirect=False,
            )
            status = response.status
        except urllib3.exceptions.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(events, raw, signature, status, error, posted_at)
        return status

    def _record(
        self,
        events: list[dict[str, Any]],
        raw: bytes,
        signature: str,
        status: int | None,
        error: str | None = None,
        posted_at: float | None = None,
    ) -> None:
        with self._lock:
            answered_at = self._clock()
            for event in events:
                info = self._token_log.get(event.get("replyToken", ""))
                if info is not None:
                    info.deliveries += 1
                    if info.posted_at is None:
                        info.posted_at = posted_at
                    info.webhook_status = status
                    info.answered_at = answered_at if posted_at is not None else None
            # A copy of exactly what was sent (cheaper than a deep copy).
            self._delivered.extend(json.loads(raw)["events"])
            self._webhook_log.append(
                {
                    "at": self._clock(),
                    "url": self.webhook_url,
                    "body": raw.decode("utf-8"),
                    "signature": signature,
                    "status": status,
                    "error": error,
                    "event_ids": [e["webhookEventId"] for e in events],
                }
            )

    # --- persistence ------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "bot_user_id": self.bot_user_id,
            "groups": self._groups,
            "users": self._users,
            "timeline": self._timeline,
            "seq": self._seq,
            "message_id": self._message_id,
            "usage": self._usage,
            "retry_keys": self._retry_keys,
        }

    def _save(self) -> None:
        """Write the state file atomically (temp file + os.replace); no-op in memory."""
        if not self._state_path:
            return
        now = self._clock()
        # Keys older than 24 h are new requests again: no need to keep them.
        self._retry_keys = {
            k: v for k, v in self._retry_keys.items() if now - v["accepted_at"] < RETRY_KEY_TTL_S
        }
        directory = os.path.dirname(os.path.abspath(self._state_path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(prefix=".emulator-state-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._state(), fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_path, self._state_path)
        except BaseException:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
            raise

    def _load(self, path: str, *, keep_bot_user_id: bool) -> None:
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported emulator state version in {path}")
        if not keep_bot_user_id:
            self.bot_user_id = state["bot_user_id"]
        self._groups = state["groups"]
        self._users = state["users"]
        self._timeline = state["timeline"]
        self._seq = state["seq"]
        self._message_id = state["message_id"]
        self._usage = state["usage"]
        self._retry_keys = state["retry_keys"]


def _error(status: int, message: str) -> ApiResult:
    return ApiResult(status, {"message": message})


def _user_source(user_id: str) -> dict[str, str]:
    return {"type": "user", "userId": user_id}


def _sticker(package_id: str, sticker_id: str, resource_type: str) -> dict[str, str]:
    """A sticker as a user sends it (webhook.yml StickerMessageContent)."""
    for name, value in (("package_id", package_id), ("sticker_id", sticker_id)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    if resource_type not in STICKER_RESOURCE_TYPES:
        raise ValueError(f"resource_type must be one of {', '.join(STICKER_RESOURCE_TYPES)}")
    return {
        "type": "sticker",
        "packageId": package_id,
        "stickerId": sticker_id,
        "stickerResourceType": resource_type,
    }
