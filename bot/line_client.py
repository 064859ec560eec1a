"""A thin wrapper round linebot.v3's MessagingApi.

Contract: every call has a timeout (the SDK sets none), urllib3's own
retries are off (we retry from the outbox, with the same retry key), and
sends never raise for LINE's answers: they return a ``SendResult`` saying
whether the message went out, may be retried, or failed for good — the
healthchecks "transport with a permanent-error flag" shape.

One client per process, shared by every thread: its urllib3 pool keeps up
to ``pool_size`` connections to LINE alive, so concurrent sends overlap
LINE's latency instead of queueing behind each other or reconnecting.

Sends go through the SDK's ``ApiClient`` (its host, bearer token, headers
and error mapping) with the message body as plain JSON: building the SDK's
pydantic request models costs about 1.8 ms of CPU per push, which at the
2,000 pushes a second an earthquake needs would be more than this machine
has.  The models still check every message before it is sent — once per
distinct message shape (the same text with other numbers in it, such as the
round id in a button), remembered in ``_validated``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
)

log = logging.getLogger(__name__)

MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."
_NUMBERS = re.compile(r"[0-9]+")
_VALIDATED_SHAPES = 512


@dataclass(frozen=True)
class SendResult:
    """What happened to one send.

    ``sent``: LINE accepted it now or earlier (409 on a retry key).
    ``retry``: nothing (or possibly something, on a timeout) was sent and
    trying again with the same retry key is safe.  Otherwise the failure is
    permanent; ``status`` and ``error`` say why (never the message text)."""

    sent: bool
    retry: bool = False
    status: int | None = None
    error: str | None = None
    quota_exhausted: bool = False


def _error_message(body: str | None) -> str:
    try:
        return str(json.loads(body or "{}").get("message", ""))[:200]
    except (ValueError, AttributeError):
        return ""


class LineClient:
    """Talks to LINE (or the emulator) at ``base_url``."""

    def __init__(self, access_token: str, base_url: str, timeout: float = 10.0, pool_size: int | None = None):
        config = Configuration(host=base_url, access_token=access_token)
        config.retries = False  # urllib3's retries would bypass our backoff
        if pool_size:
            # One kept-alive connection per sending thread (the SDK's default
            # is 5 per CPU); more threads than connections would reconnect.
            config.connection_pool_maxsize = pool_size
        self._client = ApiClient(config)
        self._api = MessagingApi(self._client)
        # (connect, read): a dead host fails fast, a slow LINE gets longer.
        self._timeout = (min(3.0, timeout), timeout)
        self._validated: OrderedDict[str, bool] = OrderedDict()
        self._validated_lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    # -- sends ------------------------------------------------------------
    def push(self, to: str, messages: list[dict], retry_key: str) -> SendResult:
        body = {"to": to, "messages": messages}
        refused = self._refused(PushMessageRequest, body)
        if refused:
            return refused
        return self._send("/v2/bot/message/push", body, {"X-Line-Retry-Key": retry_key})

    def reply(self, reply_token: str, messages: list[dict]) -> SendResult:
        body = {"replyToken": reply_token, "messages": messages}
        refused = self._refused(ReplyMessageRequest, body)
        if refused:
            return refused
        return self._send("/v2/bot/message/reply", body, {})

    def _refused(self, model, body: dict) -> SendResult | None:
        """A permanent failure if the SDK's own models (pydantic) refuse the
        body; each message shape is checked once (see the module docstring)."""
        shape = model.__name__ + _NUMBERS.sub("0", json.dumps(body["messages"], ensure_ascii=False))
        with self._validated_lock:
            if shape in self._validated:
                self._validated.move_to_end(shape)
                return None
        try:
            model.from_dict(body)
        except ValueError as exc:
            return SendResult(sent=False, status=None, error=f"invalid message: {type(exc).__name__}")
        with self._validated_lock:
            self._validated[shape] = True
            if len(self._validated) > _VALIDATED_SHAPES:
                self._validated.popitem(last=False)
        return None

    def _send(self, path: str, body: dict, headers: dict[str, str]) -> SendResult:
        try:
            response = self._client.call_api(
                path,
                "POST",
                header_params={"Accept": "application/json", "Content-Type": "application/json", **headers},
                body=body,
                auth_settings=["Bearer"],
                response_types_map={},
                _request_timeout=self._timeout,
            )
        except ApiException as exc:
            return classify_error(exc.status, exc.body)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Timeouts and connection errors: the message may or may not have
            # gone out; the retry key makes a second attempt safe.
            return SendResult(sent=False, retry=True, status=None, error=type(exc).__name__)
        return SendResult(sent=True, status=response.status_code)

    # -- reads (best effort; None when LINE will not tell us) --------------
    def group_member_count(self, group_id: str) -> int | None:
        try:
            return self._api.get_group_member_count(group_id, _request_timeout=self._timeout).count
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("member count for a group failed: %s", type(exc).__name__)
            return None

    def group_member_name(self, group_id: str, user_id: str) -> str | None:
        """The member's LINE display name, or None (not consented, left, ...)."""
        try:
            profile = self._api.get_group_member_profile(group_id, user_id, _request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("member profile lookup failed: %s", type(exc).__name__)
            return None
        return profile.display_name

    def user_name(self, user_id: str) -> str | None:
        """A friend's LINE display name, or None (not a friend, blocked, ...)."""
        try:
            profile = self._api.get_profile(user_id, _request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("profile lookup failed: %s", type(exc).__name__)
            return None
        return profile.display_name

    def bot_basic_id(self) -> str | None:
        """The bot's basic ID (``@123abcde``, for its friend link), or None."""
        try:
            info = self._api.get_bot_info(_request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("bot info lookup failed: %s", type(exc).__name__)
            return None
        return info.basic_id

    def message_quota(self) -> tuple[str, int | None] | None:
        """LINE's monthly message limit: ("limited", n), ("none", None) when
        LINE sets none, or None when LINE will not tell us."""
        try:
            quota = self._api.get_message_quota(_request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError, OSError):
            return None
        kind = getattr(quota.type, "value", quota.type)
        return (kind, quota.value if kind == "limited" else None)


def classify_error(status: int, body: str | None) -> SendResult:
    """Map LINE's error answer to a SendResult.

    LINE's rules: https://developers.line.biz/en/reference/messaging-api/#status-codes
    and https://developers.line.biz/en/docs/messaging-api/retrying-api-request/"""
    message = _error_message(body)
    if status == 409:
        # "The retry key is already accepted": it was sent before.
        return SendResult(sent=True, status=409)
    if status == 429:
        # Nothing was sent.  The monthly limit will not clear by retrying soon.
        quota = message == MONTHLY_LIMIT_MESSAGE
        return SendResult(sent=False, retry=True, status=429, error=message, quota_exhausted=quota)
    if status == 0 or status >= 500:
        return SendResult(sent=False, retry=True, status=status, error=message or "server error")
    return SendResult(sent=False, retry=False, status=status, error=message or f"HTTP {status}")
