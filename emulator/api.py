"""``create_emulator_app(platform)``: the HTTP face of the emulated LINE Platform.

Two groups of routes:

- ``/v2/bot/...``: the Messaging API endpoints the bot uses, with LINE's
  status codes, bodies and headers (messaging-api.yml). Every one of them
  goes through the same pipeline, in LINE's order of concerns:

  1. ``Authorization: Bearer <token>`` else 401;
  2. the per-endpoint rate limit (method + path template) else 429, nothing done;
  3. injected "before" faults (500, 429): answer without processing;
  4. malformed JSON body -> 400; ``X-Line-Retry-Key`` where unsupported -> 400;
  5. the ``LinePlatform.api_*`` method;
  6. injected "after" faults on success (500 after delivery, slow answer);
  7. ``x-line-request-id`` on every answer, and a ``requests_log`` entry.

- ``/_sim/...``: JSON control endpoints for the simulated users' "phones"
  (the simulator page calls them with fetch()) and for tests. No bearer
  token. Unknown ids answer 404 ``{"error": ...}``, bad input 400.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from emulator import ids
from emulator.platform import (
    FAULTS_AFTER,
    FAULTS_BEFORE,
    MSG_AUTH_FAILED,
    MSG_INTERNAL_ERROR,
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


def create_emulator_app(platform: LinePlatform, *, cors_origin: str | None = None) -> Flask:
    """Build the Flask app serving ``platform``.

    ``cors_origin``: when set (e.g. the bot's origin, or "*"), ``/_sim/``
    answers carry ``Access-Control-Allow-Origin`` so a simulator page served
    from another origin can fetch() them. The LINE API routes never do.
    """
    app = Flask("emulator")

    # ------------------------------------------------------------------ #
    # Messaging API pipeline
    # ------------------------------------------------------------------ #

    def api_route(rule: str, methods: list[str], *, json_body: bool = False):
        """Register ``handler(body, retry_key, request_id, **url_args) -> ApiResult``."""

        def decorator(handler: Callable[..., ApiResult]):
            def view(**url_args: str) -> Response:
                request_id = ids.new_request_id()
                retry_key = request.headers.get(RETRY_KEY_HEADER)
                raw = request.get_data(cache=True)
                logged_body = _parse_json_or_none(raw) if json_body else None
                result = _run(handler, rule, json_body, raw, retry_key, request_id, url_args)
                headers = {"x-line-request-id": request_id, **result.headers}
                platform.log_request(
                    {
                        "method": request.method,
                        "path": request.path,
                        "status": result.status,
                        "body": logged_body,
                        "retry_key": retry_key,
                        "request_id": request_id,
                    }
                )
                return _json_response(result.status, result.body if result.body is not None else {}, headers)

            view.__name__ = handler.__name__
            app.add_url_rule(rule, view_func=view, methods=methods)
            return handler

        return decorator

    def _run(
        handler: Callable[..., ApiResult],
        rule: str,
        json_body: bool,
        raw: bytes,
        retry_key: str | None,
        request_id: str,
        url_args: dict[str, str],
    ) -> ApiResult:
        if not platform.is_authorized(request.headers.get("Authorization")):
            return ApiResult(401, {"message": MSG_AUTH_FAILED})
        if not platform.take_rate_token(f"{request.method} {rule}"):
            return ApiResult(429, {"message": MSG_RATE_LIMIT})
        fault = platform.take_fault(request.path, FAULTS_BEFORE)
        if fault is not None:
            if fault.kind == "429":
                return ApiResult(429, {"message": MSG_RATE_LIMIT})
            return ApiResult(500, {"message": MSG_INTERNAL_ERROR})
        body = None
        if json_body:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return ApiResult(
                    400,
                    {
                        "message": "The request body has 1 error(s)",
                        "details": [{"message": "The request body is not valid JSON"}],
                    },
                )
        if retry_key is not None and request.path not in RETRY_KEY_ENDPOINTS:
            return ApiResult(400, {"message": MSG_RETRY_KEY_NOT_SUPPORTED})
        result = handler(body, retry_key, request_id, **url_args)
        if 200 <= result.status < 300:
            fault = platform.take_fault(request.path, FAULTS_AFTER)
            if fault is not None and fault.kind == "500_after_delivery":
                return ApiResult(500, {"message": MSG_INTERNAL_ERROR})
            if fault is not None and fault.kind == "timeout":
                # Real time on purpose: the client's socket timeout is real.
                time.sleep(fault.delay)
        return result

    @api_route("/v2/bot/message/reply", ["POST"], json_body=True)
    def reply(body, retry_key, request_id):
        return platform.api_reply(body, retry_key, request_id)

    @api_route("/v2/bot/message/push", ["POST"], json_body=True)
    def push(body, retry_key, request_id):
        return platform.api_push(body, retry_key, request_id)

    @api_route("/v2/bot/message/validate/reply", ["POST"], json_body=True)
    def validate_reply(body, retry_key, request_id):
        return platform.api_validate_messages(body)

    @api_route("/v2/bot/message/validate/push", ["POST"], json_body=True)
    def validate_push(body, retry_key, request_id):
        return platform.api_validate_messages(body)

    @api_route("/v2/bot/message/quota", ["GET"])
    def quota(body, retry_key, request_id):
        return platform.api_quota()

    @api_route("/v2/bot/message/quota/consumption", ["GET"])
    def quota_consumption(body, retry_key, request_id):
        return platform.api_quota_consumption()

    @api_route("/v2/bot/group/<group_id>/summary", ["GET"])
    def group_summary(body, retry_key, request_id, group_id):
        return platform.api_group_summary(group_id)

    @api_route("/v2/bot/group/<group_id>/members/count", ["GET"])
    def group_member_count(body, retry_key, request_id, group_id):
        return platform.api_group_member_count(group_id)

    @api_route("/v2/bot/group/<group_id>/member/<user_id>", ["GET"])
    def group_member_profile(body, retry_key, request_id, group_id, user_id):
        return platform.api_group_member_profile(group_id, user_id)

    @api_route("/v2/bot/group/<group_id>/members/ids", ["GET"])
    def group_member_ids(body, retry_key, request_id, group_id):
        return platform.api_group_member_ids(group_id, request.args.get("start"))

    @api_route("/v2/bot/group/<group_id>/leave", ["POST"])
    def leave_group(body, retry_key, request_id, group_id):
        return platform.api_leave_group(group_id)

    @api_route("/v2/bot/profile/<user_id>", ["GET"])
    def profile(body, retry_key, request_id, user_id):
        return platform.api_profile(user_id)

    @api_route("/v2/bot/info", ["GET"])
    def bot_info(body, retry_key, request_id):
        return platform.api_bot_info()

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
            display_text = body.get("display_text")
            if display_text is not None and not isinstance(display_text, str):
                raise ValueError("display_text must be a string")
            return platform.tap_postback(group_id, user_id, data, display_text)

        return sim_call(tap)

    @app.get("/_sim/groups/<group_id>/timeline")
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


def _parse_json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
