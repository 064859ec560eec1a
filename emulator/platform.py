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
- Rate limit: optional token bucket per endpoint (method + path template).

Webhooks are built as LINE builds them (webhook.yml, the SDK's sample body),
signed with HMAC-SHA256 of the raw body under the channel secret, and POSTed
synchronously with urllib3 (10 s timeout). Without ``webhook_url`` they are
only recorded (``delivered_events()``, ``webhook_log()``).
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
# than 20 minutes after the event happened (REF#send-reply-message-reply-token).
REDELIVERED_TOKEN_MAX_AGE_S = 20 * 60.0
RETRY_KEY_TTL_S = 24 * 3600.0
WEBHOOK_TIMEOUT_S = 10.0
JST_OFFSET_S = 9 * 3600

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

FAULT_KINDS = ("500", "500_after_delivery", "429", "timeout")
# Kinds that answer instead of processing vs. kinds applied after processing.
FAULTS_BEFORE = ("500", "429")
FAULTS_AFTER = ("500_after_delivery", "timeout")

# Message types LINE returns a quoteToken for in sentMessages (they can be quoted).
QUOTABLE_TYPES = ("text", "textV2", "sticker", "image", "video")

STATE_VERSION = 1
# Bounds on the in-memory logs, so a long demo run does not grow without end.
MAX_KEPT_EVENTS = 10_000
MAX_LOG_ENTRIES = 10_000


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
    ) -> None:
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.monthly_limit = monthly_limit
        self.rate_limit_per_second = rate_limit_per_second
        self.member_ids_api = member_ids_api
        self._clock = clock
        self._state_path = state_path
        self._lock = threading.RLock()
        self._ulids = ids.UlidGenerator(clock)
        self._http = urllib3.PoolManager(retries=False)

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

        if state_path and os.path.exists(state_path):
            self._load(state_path, keep_bot_user_id=bot_user_id is not None)
        else:
            self._save()

    # ------------------------------------------------------------------ #
    # Simulation / control
    # ------------------------------------------------------------------ #

    def create_group(self, name: str) -> str:
        """Create a group chat (without the bot); return its ``C…`` id."""
        with self._lock:
            group_id = ids.new_group_id()
            self._groups[group_id] = {
                "name": name,
                "members": [],
                "bot_in_group": False,
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

        ``group_id`` is a group id, or a user id for a 1:1 chat (pushes to a
        friend). Items: seq (increasing across all chats), at (epoch s),
        sender 'bot'|'user', user_id, display_name, via 'reply'|'push'|None,
        message (the LINE message object as sent, or
        ``{"type": "text", "text": ...}`` for users).
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
        """All users: user_id, display_name, friend."""
        with self._lock:
            return [
                {
                    "user_id": user_id,
                    "display_name": user["display_name"],
                    "friend": user.get("friend", False),
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
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and path.startswith(fault.path_prefix):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.path_prefix, fault.kind, 1, fault.delay)
            return None

    def log_request(self, entry: dict[str, Any]) -> None:
        """Record one API request (called by the HTTP layer once answered)."""
        with self._lock:
            self._requests.append({"at": self._clock(), **entry})

    # ------------------------------------------------------------------ #
    # Messaging API
    # ------------------------------------------------------------------ #

    def api_reply(self, body: Any, retry_key: str | None, request_id: str) -> ApiResult:
        """``POST /v2/bot/message/reply``: free; the token is single use, 60 s."""
        if retry_key is not None:
            return _error(400, MSG_RETRY_KEY_NOT_SUPPORTED)
        details = limits.validate_reply_request(body)
        if details:
            return ApiResult(400, limits.error_body(details))
        with self._lock:
            token = self._reply_tokens.get(body["replyToken"])
            if token is None or token.used or self._clock() >= token.expires_at:
                return _error(400, MSG_INVALID_REPLY_TOKEN)
            if not self._bot_can_see(token.chat_id):
                return _error(400, MSG_INVALID_REPLY_TOKEN)
            token.used = True
            sent = self._deliver_bot_messages(token.chat_id, body["messages"], via="reply")
            self._save()
            return ApiResult(200, {"sentMessages": sent})

    def api_push(self, body: Any, retry_key: str | None, request_id: str) -> ApiResult:
        """``POST /v2/bot/message/push``: costs messages; honours X-Line-Retry-Key."""
        if retry_key is not None and not ids.is_uuid(retry_key):
            return _error(400, MSG_RETRY_KEY_INVALID)
        with self._lock:
            now = self._clock()
            if retry_key is not None:
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
            details = limits.validate_push_request(body)
            if details:
                return ApiResult(400, limits.error_body(details))
            to = body["to"]
            if to in self._groups:
                group = self._groups[to]
                if not group["bot_in_group"]:
                    return _error(400, MSG_INVALID_TO)
                cost, delivered = len(group["members"]), True
            elif to in self._users:
                # Users who are not (or no longer) friends: LINE answers 200
                # but delivers nothing and counts nothing (REF#send-push-message).
                delivered = self._users[to].get("friend", False)
                cost = 1 if delivered else 0
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
                self._retry_keys[retry_key.lower()] = {
                    "accepted_at": now,
                    "request_id": request_id,
                    "sent_messages": sent,
                }
            self._save()
            return ApiResult(200, {"sentMessages": sent})

    def api_validate_messages(self, body: Any) -> ApiResult:
        """``POST /v2/bot/message/validate/{reply,push}``: 200 ``{}`` or 400."""
        details = limits.validate_messages_request(body)
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
        """``GET /v2/bot/profile/{userId}``: friends only, else 404."""
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
        """``GET /v2/bot/info``."""
        return ApiResult(
            200,
            {
                "userId": self.bot_user_id,
                "basicId": "@" + self.bot_user_id[1:9],
                "displayName": self.bot_display_name,
                "chatMode": "bot",
                "markAsReadMode": "auto",
            },
        )

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
        return user is not None and user.get("friend", False)

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
        if reply_chat is not None:
            token = ids.new_reply_token()
            self._reply_tokens[token] = _ReplyToken(reply_chat, now, now + REPLY_TOKEN_TTL_S)
            event["replyToken"] = token
        event["type"] = event_type
        event["mode"] = "active"
        event["timestamp"] = int(now * 1000)
        event["source"] = source
        event["webhookEventId"] = self._ulids.new()
        event["deliveryContext"] = {"isRedelivery": False}
        event.update(content)
        self._events[event["webhookEventId"]] = copy.deepcopy(event)
        self._prune(now)
        return event

    def _prune(self, now: float) -> None:
        """Forget reply tokens past any possible use, and the oldest events."""
        stale = [
            token
            for token, info in self._reply_tokens.items()
            if now - info.event_at > REDELIVERED_TOKEN_MAX_AGE_S
        ]
        for token in stale:
            del self._reply_tokens[token]
        while len(self._events) > MAX_KEPT_EVENTS:
            del self._events[next(iter(self._events))]

    def _invalidate_reply_tokens(self, chat_id: str) -> None:
        for token in self._reply_tokens.values():
            if token.chat_id == chat_id:
                token.used = True

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
        sent = []
        for message in messages:
            sent.append(self._sent_message(message))
            self._add_timeline(chat_id, "bot", copy.deepcopy(message), via=via)
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
        self._record(events, raw, signature, status, error)
        return status

    def _record(
        self,
        events: list[dict[str, Any]],
        raw: bytes,
        signature: str,
        status: int | None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            self._delivered.extend(copy.deepcopy(events))
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
