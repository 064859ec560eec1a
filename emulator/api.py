"""``create_emulator_app(platform)``: the HTTP face of the emulated LINE Platform.

Two groups of routes:

- ``/v2/bot/...``: the Messaging API endpoints the bot uses (``ROUTES``),
  with LINE's status codes, bodies and headers (messaging-api.yml). Every
  one of them goes through ``answer_api()``, which needs no web framework
  (``emulator.server`` calls it directly: the bot's calls are the hot path),
  in LINE's order of concerns:

  1. ``Authorization: Bearer <token>`` else 401;
  2. the per-endpoint rate limit (method + path template) else 429, nothing done;
  3. injected "before" faults (500, 429): answer without processing;
  4. malformed JSON body -> 400; ``X-Line-Retry-Key`` where unsupported -> 400;
  5. the ``LinePlatform.api_*`` method;
  6. injected "after" faults on success (500 after delivery, slow answer);
  7. ``x-line-request-id`` on every answer, and a ``requests_log`` entry;
  8. ``platform.latency``: the answer is held back that long (a real sleep,
     outside the platform's lock, so concurrent calls each wait ~latency).

- ``/_sim/...``: JSON control endpoints for the simulated users' "phones"
  (the simulator page calls them with fetch()) and for tests. No bearer
  token. Unknown ids answer 404 ``{"error": ...}``, bad input 400. Group
  chats under ``/_sim/groups/<id>/``, 1:1 chats under ``/_sim/users/<id>/``,
  a crowd of taps at ``/_sim/taps``, introspection at ``/_sim/reply-tokens``
  and ``/_sim/pushes``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from emulator import ids
from emulator.platform import (
    FAULTS_AFTER,
    FAULTS_BEFORE,
    MSG_AUTH_FAILED,
    MSG_INTERNAL_ERROR,
    MSG_NOT_FOUND,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_NOT_SUPPORTED,
    ApiResult,
    LinePlatform,
)

RETRY_KEY_HEADER = "X-Line-Retry-Key"
# LINE accepts X-Line-Retry-Key only on these endpoints (DOCS/retrying-api-request).
RETRY_KEY_ENDPOINTS = (
    "/v2/bot/message/push",
    "/v2/bot/message/multicast",
    "/v2/bot/message/narrowcast",
    "/v2/bot/message/broadcast",
)


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@dataclass
class ApiAnswer:
    """One Messaging API answer as bytes: what any HTTP server writes."""

    status: int
    body: bytes  # compact UTF-8 JSON
    headers: dict[str, str]  # x-line-request-id and the result's own


@dataclass
class _Call:
    body: Any
    retry_key: str | None
    request_id: str
    args: dict[str, str]
    start: str | None
    body_size: int


@dataclass
class _Route:
    method: str
    rule: str  # LINE's path template; also the rate-limit bucket's name
    json_body: bool
    handler: Callable[[LinePlatform, _Call], ApiResult]
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", self.rule) + "$")


# The endpoints the bot uses, as a table: (method, path template, JSON body?, handler).
ROUTES = [
    _Route(
        "POST",
        "/v2/bot/message/reply",
        True,
        lambda p, c: p.api_reply(c.body, c.retry_key, c.request_id, c.body_size),
    ),
    _Route(
        "POST",
        "/v2/bot/message/push",
        True,
        lambda p, c: p.api_push(c.body, c.retry_key, c.request_id, c.body_size),
    ),
    _Route(
        "POST",
        "/v2/bot/message/validate/reply",
        True,
        lambda p, c: p.api_validate_messages(c.body, c.body_size),
    ),
    _Route(
        "POST",
        "/v2/bot/message/validate/push",
        True,
        lambda p, c: p.api_validate_messages(c.body, c.body_size),
    ),
    _Route("GET", "/v2/bot/message/quota", False, lambda p, c: p.api_quota()),
    _Route("GET", "/v2/bot/message/quota/consumption", False, lambda p, c: p.api_quota_consumption()),
    _Route("GET", "/v2/bot/group/<group_id>/summary", False, lambda p, c: p.api_group_summary(**c.args)),
    _Route(
        "GET",
        "/v2/bot/group/<group_id>/members/count",
        False,
        lambda p, c: p.api_group_member_count(**c.args),
    ),
    _Route(
        "GET",
        "/v2/bot/group/<group_id>/member/<user_id>",
        False,
        lambda p, c: p.api_group_member_profile(**c.args),
    ),
    _Route(
        "GET",
        "/v2/bot/group/<group_id>/members/ids",
        False,
        lambda p, c: p.api_group_member_ids(c.args["group_id"], c.start),
    ),
    _Route("POST", "/v2/bot/group/<group_id>/leave", False, lambda p, c: p.api_leave_group(**c.args)),
    _Route("GET", "/v2/bot/profile/<user_id>", False, lambda p, c: p.api_profile(**c.args)),
    _Route("GET", "/v2/bot/info", False, lambda p, c: p.api_bot_info()),
]


def _find_route(method: str, path: str) -> tuple[_Route | None, dict[str, str], bool]:
    """(route, url args, whether the path exists with another method)."""
    other_method = False
    for route in ROUTES:
        match = route.pattern.match(path)
        if match is not None:
            if route.method == method:
                return route, match.groupdict(), False
            other_method = True
    return None, {}, other_method


def answer_api(
    platform: LinePlatform,
    method: str,
    path: str,
    start: str | None,
    authorization: str | None,
    retry_key: str | None,
    raw: bytes,
) -> ApiAnswer:
    """Answer one Messaging API request (``path`` without its query string;
    ``start`` is the ``?start=`` of the member-ids paging). No HTTP framework
    involved, so that the server can call it directly (see
    ``emulator.server``) as well as through Flask; the caller holds the
    answer back for ``platform.latency`` seconds. Never raises for bad input.
    """
    request_id = ids.new_request_id()
    route, args, other_method = _find_route(method, path)
    if route is None:
        status, message = (405, "Method Not Allowed") if other_method else (404, MSG_NOT_FOUND)
        return ApiAnswer(status, _dumps({"message": message}), {"x-line-request-id": request_id})
    # Parsed once: the same object is logged and handed to the handler
    # (which keeps it; nothing mutates it).
    body = _parse_json_or_none(raw) if route.json_body else None
    call = _Call(body, retry_key, request_id, args, start, len(raw))
    result = _run(platform, route, path, authorization, call)
    platform.log_request(
        {
            "method": method,
            "path": path,
            "status": result.status,
            "body": body if body is not _INVALID_JSON else None,
            "retry_key": retry_key,
            "request_id": request_id,
        }
    )
    headers = {"x-line-request-id": request_id, **result.headers}
    return ApiAnswer(result.status, _dumps(result.body if result.body is not None else {}), headers)


def answer_api_after_latency(platform: LinePlatform, *args: Any) -> ApiAnswer:
    """``answer_api``, then hold the answer for ``platform.latency`` seconds:
    a real sleep, outside the platform's lock, so concurrent calls overlap."""
    answer = answer_api(platform, *args)
    if platform.latency > 0:
        time.sleep(platform.latency)
    return answer


def _run(
    platform: LinePlatform, route: _Route, path: str, authorization: str | None, call: _Call
) -> ApiResult:
    if not platform.is_authorized(authorization):
        return ApiResult(401, {"message": MSG_AUTH_FAILED})
    if not platform.take_rate_token(f"{route.method} {route.rule}"):
        return ApiResult(429, {"message": MSG_RATE_LIMIT})
    fault = platform.take_fault(path, FAULTS_BEFORE)
    if fault is not None:
        if fault.kind == "429":
            return ApiResult(429, {"message": MSG_RATE_LIMIT})
        return ApiResult(500, {"message": MSG_INTERNAL_ERROR})
    if route.json_body and call.body is _INVALID_JSON:
        return ApiResult(
            400,
            {
                "message": "The request body has 1 error(s)",
                "details": [{"message": "The request body is not valid JSON"}],
            },
        )
    if call.retry_key is not None and path not in RETRY_KEY_ENDPOINTS:
        return ApiResult(400, {"message": MSG_RETRY_KEY_NOT_SUPPORTED})
    result = route.handler(platform, call)
    if 200 <= result.status < 300:
        fault = platform.take_fault(path, FAULTS_AFTER)
        if fault is not None and fault.kind == "500_after_delivery":
            return ApiResult(500, {"message": MSG_INTERNAL_ERROR})
        if fault is not None and fault.kind == "timeout":
            # Real time on purpose: the client's socket timeout is real.
            time.sleep(fault.delay)
    return result


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def create_emulator_app(platform: LinePlatform, *, cors_origin: str | None = None) -> Flask:
    """Build the Flask app serving ``platform``.

    ``cors_origin``: when set (e.g. the bot's origin, or "*"), ``/_sim/``
    answers carry ``Access-Control-Allow-Origin`` so a simulator page served
    from another origin can fetch() them. The LINE API routes never do.
    """
    app = Flask("emulator")

    # ------------------------------------------------------------------ #
    # Messaging API: every method, every /v2/ path, through answer_api()
    # ------------------------------------------------------------------ #

    @app.route("/v2/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def messaging_api(rest: str) -> Response:
        answer = answer_api_after_latency(
            platform,
            request.method,
            request.path,
            request.args.get("start"),
            request.headers.get("Authorization"),
            request.headers.get(RETRY_KEY_HEADER),
            request.get_data(cache=True),
        )
        response = Response(answer.body, status=answer.status, mimetype="application/json")
        for name, value in answer.headers.items():
            response.headers[name] = value
        return response

    # ------------------------------------------------------------------ #
    # Simulator control (/_sim/)
    # ------------------------------------------------------------------ #

    def sim_body() -> dict[str, Any]:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}

    def sim_call(fn: Callable[[], Any], status: int = 200) -> Response:
        try:
            return _json_response(status, fn())
        except KeyError as exc:
            return _json_response(404, {"error": str(exc.args[0]) if exc.args else "not found"})
        except (ValueError, TypeError) as exc:
            return _json_response(400, {"error": str(exc)})

    def required(body: dict[str, Any], *names: str) -> list[Any]:
        missing = [name for name in names if not isinstance(body.get(name), str)]
        if missing:
            raise ValueError(f"missing string field(s): {', '.join(missing)}")
        return [body[name] for name in names]

    def optional_string(body: dict[str, Any], name: str) -> str | None:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        return value

    @app.get("/_sim/groups")
    def sim_groups():
        return sim_call(lambda: {"groups": platform.groups()})

    @app.post("/_sim/groups")
    def sim_create_group():
        body = sim_body()
        return sim_call(lambda: {"group_id": platform.create_group(*required(body, "name"))}, 201)

    @app.get("/_sim/users")
    def sim_users():
        return sim_call(lambda: {"users": platform.users()})

    @app.post("/_sim/users")
    def sim_create_user():
        body = sim_body()

        def create():
            (name,) = required(body, "display_name")
            return {"user_id": platform.add_user(name, friend=bool(body.get("friend", False)))}

        return sim_call(create, 201)

    @app.post("/_sim/users/<user_id>/follow")
    def sim_follow(user_id):
        return sim_call(lambda: platform.follow(user_id))

    @app.post("/_sim/users/<user_id>/unfollow")
    def sim_unfollow(user_id):
        return sim_call(lambda: platform.unfollow(user_id))

    @app.get("/_sim/groups/<group_id>/members")
    def sim_members(group_id):
        return sim_call(lambda: {"members": platform.members(group_id)})

    @app.post("/_sim/groups/<group_id>/members")
    def sim_add_member(group_id):
        body = sim_body()
        return sim_call(lambda: platform.add_member(group_id, *required(body, "user_id")))

    @app.delete("/_sim/groups/<group_id>/members/<user_id>")
    def sim_remove_member(group_id, user_id):
        return sim_call(lambda: platform.remove_member(group_id, user_id))

    @app.post("/_sim/groups/<group_id>/bot")
    def sim_invite_bot(group_id):
        return sim_call(lambda: platform.invite_bot(group_id))

    @app.delete("/_sim/groups/<group_id>/bot")
    def sim_remove_bot(group_id):
        return sim_call(lambda: platform.remove_bot(group_id))

    @app.post("/_sim/groups/<group_id>/text")
    def sim_send_text(group_id):
        body = sim_body()
        return sim_call(lambda: platform.send_text(group_id, *required(body, "user_id", "text")))

    @app.post("/_sim/groups/<group_id>/postback")
    def sim_postback(group_id):
        body = sim_body()

        def tap():
            user_id, data = required(body, "user_id", "data")
            return platform.tap_postback(group_id, user_id, data, optional_string(body, "display_text"))

        return sim_call(tap)

    @app.post("/_sim/groups/<group_id>/sticker")
    def sim_sticker(group_id):
        body = sim_body()

        def send():
            user_id, package_id, sticker_id = required(body, "user_id", "package_id", "sticker_id")
            return platform.send_sticker(
                group_id, user_id, package_id, sticker_id, body.get("resource_type", "STATIC")
            )

        return sim_call(send)

    # --- one-to-one chats -------------------------------------------------

    @app.post("/_sim/users/<user_id>/text")
    def sim_one_to_one_text(user_id):
        body = sim_body()
        return sim_call(lambda: platform.one_to_one_text(user_id, *required(body, "text")))

    @app.post("/_sim/users/<user_id>/sticker")
    def sim_one_to_one_sticker(user_id):
        body = sim_body()

        def send():
            package_id, sticker_id = required(body, "package_id", "sticker_id")
            return platform.one_to_one_sticker(
                user_id, package_id, sticker_id, body.get("resource_type", "STATIC")
            )

        return sim_call(send)

    @app.post("/_sim/users/<user_id>/postback")
    def sim_one_to_one_postback(user_id):
        body = sim_body()

        def tap():
            (data,) = required(body, "data")
            return platform.one_to_one_postback(user_id, data, optional_string(body, "display_text"))

        return sim_call(tap)

    @app.post("/_sim/taps")
    def sim_taps():
        body = sim_body()

        def tap_many():
            taps = body.get("taps")
            if not isinstance(taps, list):
                raise ValueError("taps must be a list of {group_id?, user_id, data}")
            rate = body.get("rate")
            return platform.tap_many(
                taps,
                rate=None if rate is None else float(rate),
                concurrency=int(body.get("concurrency", 16)),
            )

        return sim_call(tap_many)

    # --- introspection ----------------------------------------------------

    @app.get("/_sim/reply-tokens")
    def sim_reply_tokens():
        return sim_call(lambda: {"tokens": platform.reply_token_log()})

    @app.get("/_sim/pushes")
    def sim_pushes():
        def read():
            after = int(request.args.get("after", "0"))
            return {"pushes": [p for p in platform.push_log() if p["seq"] > after]}

        return sim_call(read)

    @app.get("/_sim/groups/<group_id>/timeline")
    @app.get("/_sim/users/<group_id>/timeline")
    @app.get("/_sim/chats/<group_id>/timeline")
    def sim_timeline(group_id):
        def read():
            after = int(request.args.get("after", "0"))
            return {"items": platform.timeline(group_id, after)}

        return sim_call(read)

    @app.get("/_sim/usage")
    def sim_usage():
        return sim_call(platform.usage)

    @app.post("/_sim/events/<event_id>/redeliver")
    def sim_redeliver(event_id):
        return sim_call(lambda: platform.redeliver(event_id))

    @app.post("/_sim/faults")
    def sim_fault():
        body = sim_body()

        def inject():
            path_prefix, kind = required(body, "path_prefix", "kind")
            platform.inject_fault(
                path_prefix,
                kind,
                int(body.get("times", 1)),
                float(body.get("delay", 0.0)),
            )
            return {"ok": True}

        return sim_call(inject, 201)

    @app.delete("/_sim/faults")
    def sim_clear_faults():
        def clear():
            platform.clear_faults()
            return {"ok": True}

        return sim_call(clear)

    @app.after_request
    def sim_cors(response: Response) -> Response:
        if cors_origin and request.path.startswith("/_sim/"):
            response.headers["Access-Control-Allow-Origin"] = cors_origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    # ------------------------------------------------------------------ #
    # Errors: JSON like LINE, never Flask's HTML pages
    # ------------------------------------------------------------------ #

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if request.path.startswith("/_sim/"):
            return _json_response(exc.code or 500, {"error": exc.description})
        message = "Not found" if exc.code == 404 else (exc.name or "Error")
        return _json_response(
            exc.code or 500, {"message": message}, {"x-line-request-id": ids.new_request_id()}
        )

    return app


# Marks a body that is not JSON (None is valid JSON: ``null``).
_INVALID_JSON: Any = object()


def _parse_json_or_none(raw: bytes) -> Any:
    """The parsed body, or ``_INVALID_JSON``."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _INVALID_JSON
