"""The simulator page: a LINE group chat in the browser, for ``make run``.

Registered by ``app.create_local_app`` only (emulator mode), on the bot's
own app.  The page plays the members' phones: it reads and writes
the emulator through its JSON ``/line-api/_sim/`` endpoints, so what the
page shows is exactly what the bot sent to "LINE".  This blueprint adds:

- ``GET /``: the page (server-rendered; static/simulator/ does the rest);
- ``POST /simulator/groups`` and ``POST /simulator/groups/<id>/members``:
  plain HTML forms (create a group with its members and invite the bot;
  add a member), answered with a redirect back to the page;
- ``GET /simulator/status``: the bot's clock and the month's message count
  measured against LINE's plans, as JSON;
- ``POST /simulator/clock``: move the bot's demo clock (DEMO_CLOCK only,
  else 403) and run one sweep, so a summary due by then is sent at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from emulator.platform import LinePlatform
from jobs.tasks import run_sweep
from services import clock

# Where the emulated LINE Platform is mounted on the local app (app.py).
API_PREFIX = "/line-api"

bp = Blueprint("simulator", __name__)

NAME_LIMIT = 20  # LINE display names are at most 20 characters
MEMBER_LIMIT = 30  # plenty for a class; keeps one form post small
GROUP_NAME_LIMIT = 50
MORNING = time(9, 0)
WEEKDAYS = "月火水木金土日"
CLOCK_STEPS = {"23h": "23時間進める", "next-morning": "翌朝へ"}


@dataclass(frozen=True)
class Plan:
    """One of LINE's monthly plans for official accounts (2023-06 prices).

    ``extra_yen``: price of a message beyond ``included``; None = the plan
    cannot send more that month."""

    name: str
    included: int
    monthly_yen: int
    extra_yen: int | None = None


PLANS = (
    Plan("コミュニケーションプラン", 200, 0),
    Plan("ライトプラン", 5_000, 5_000),
    Plan("スタンダードプラン", 30_000, 15_000, extra_yen=3),
)


def plan_rows(total: int) -> list[dict]:
    """How ``total`` messages this month fare on each plan.

    Each row: name, terms (what the plan gives), fits (bool) and verdict
    (one plain sentence)."""
    rows = []
    for plan in PLANS:
        price = "無料" if plan.monthly_yen == 0 else f"{plan.monthly_yen:,}円"
        terms = f"月{plan.included:,}通まで・{price}"
        if plan.extra_yen is not None:
            terms += f"（超えたら1通 約{plan.extra_yen}円）"
        fits = total <= plan.included
        if fits:
            verdict = f"収まります（あと{plan.included - total:,}通）"
        elif plan.extra_yen is None:
            verdict = f"超えています（{plan.included:,}通を超えると送れません）"
        else:
            extra = (total - plan.included) * plan.extra_yen
            verdict = f"超えています（合計 約{plan.monthly_yen + extra:,}円）"
        rows.append({"name": plan.name, "terms": terms, "fits": fits, "verdict": verdict})
    return rows


def format_moment(moment: datetime, tz: ZoneInfo) -> str:
    """``6月2日（火） 9:05`` in ``tz``."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}） {local.hour}:{local.minute:02d}"


def format_offset(offset: timedelta) -> str:
    """How far the demo clock is ahead, e.g. ``1日と23時間``; "" when not moved."""
    minutes = int(offset.total_seconds() // 60)
    if minutes <= 0:
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}日"] if days else []
    if hours:
        parts.append(f"{hours}時間")
    if minutes:
        parts.append(f"{minutes}分")
    return "と".join(parts)


def seconds_until_morning(now: datetime, tz: ZoneInfo) -> int:
    """Whole seconds (> 0) from ``now`` until the next 9:00 in ``tz``,
    rounded up so that a round scheduled for 9:00 is due afterwards."""
    local = now.astimezone(tz)
    day = local.date() if local.time() < MORNING else local.date() + timedelta(days=1)
    target = datetime.combine(day, MORNING, tzinfo=tz)
    # In UTC: subtracting two times of the same zone ignores a DST change between them.
    return max(1, math.ceil((target.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))


def _platform() -> LinePlatform:
    return current_app.extensions["line_emulator"]


def _settings():
    return current_app.extensions["tsunagari.settings"]


def _status() -> dict:
    settings = _settings()
    usage = _platform().usage()
    return {
        "clock": {
            "now": clock.now().isoformat(),
            "label": format_moment(clock.now(), settings.tz),
            "ahead": format_offset(clock.offset()),
            "demo_clock": settings.demo_clock,
        },
        "usage": usage,
        "plans": plan_rows(usage["total"]),
    }


def _names(text: str) -> list[str]:
    """Member names from the form: one a line (、 and commas also separate);
    blanks dropped, duplicates kept once, order kept."""
    names = []
    for part in re.split(r"[\n\r、,，]+", text or ""):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def _user_named(platform: LinePlatform, name: str) -> str:
    """The simulated user called ``name``, created on first use: on this
    page a name is a person, so 佐藤花子 in two groups is the same user."""
    for user in platform.users():
        if user["display_name"] == name:
            return user["user_id"]
    return platform.add_user(name)


def _bad_name(name: str) -> str | None:
    if len(name) > NAME_LIMIT:
        return f"「{name[:NAME_LIMIT]}…」は長すぎます。名前は{NAME_LIMIT}文字までです。"
    return None


def _page(group_id: str | None = None, error: str | None = None, status: int = 200):
    platform = _platform()
    groups = [g for g in platform.groups() if g["bot_in_group"]]
    ids = [g["group_id"] for g in groups]
    if group_id not in ids:
        group_id = ids[-1] if ids else None  # the newest group
    group = next((g for g in groups if g["group_id"] == group_id), None)
    members = platform.members(group_id) if group else []
    acting = request.args.get("as")
    html = render_template(
        "simulator/index.html",
        groups=groups,
        group=group,
        members=members,
        acting=acting if any(m["user_id"] == acting for m in members) else None,
        status=_status(),
        clock_steps=CLOCK_STEPS,
        api_base=API_PREFIX,
        error=error,
        name_limit=NAME_LIMIT,
    )
    return html, status


@bp.get("/")
def index():
    return _page(request.args.get("group"))


@bp.post("/simulator/groups")
def create_group():
    """Form: ``name``, ``members`` (one a line).  Creates the group with its
    members and then invites the bot, as people do on LINE, so the bot
    greets the whole group once."""
    platform = _platform()
    group_name = (request.form.get("name") or "").strip() or "みどり町内会"
    names = _names(request.form.get("members", ""))
    problems = [p for p in map(_bad_name, names) if p]
    if len(group_name) > GROUP_NAME_LIMIT:
        problems.insert(0, f"グループ名は{GROUP_NAME_LIMIT}文字までです。")
    if len(names) > MEMBER_LIMIT:
        problems.append(f"メンバーは{MEMBER_LIMIT}人までにしてください。")
    if problems:
        return _page(request.args.get("group"), error=problems[0], status=400)
    group_id = platform.create_group(group_name)
    user_ids = [_user_named(platform, name) for name in names]
    for user_id in user_ids:
        platform.add_member(group_id, user_id)
    platform.invite_bot(group_id)
    acting = {"as": user_ids[0]} if user_ids else {}
    return redirect(url_for("simulator.index", group=group_id, **acting), code=303)


@bp.post("/simulator/groups/<group_id>/members")
def add_member(group_id: str):
    """Form: ``name``.  The new member joins (the bot welcomes them) and
    becomes the person the page acts as."""
    platform = _platform()
    name = (request.form.get("name") or "").strip()
    try:
        members = platform.members(group_id)
    except KeyError:
        return _page(error="そのグループは見つかりません。", status=404)
    problem = _bad_name(name) if name else "追加する人の名前を入れてください。"
    if problem is None and any(m["display_name"] == name for m in members):
        problem = f"{name}さんはすでにこのグループにいます。"
    if problem:
        return _page(group_id, error=problem, status=400)
    user_id = _user_named(platform, name)
    platform.add_member(group_id, user_id)
    return redirect(url_for("simulator.index", group=group_id, **{"as": user_id}), code=303)


@bp.get("/simulator/status")
def status():
    return jsonify(_status())


@bp.post("/simulator/clock")
def move_clock():
    """JSON ``{"advance": "23h" | "next-morning"}``: move the bot's clock,
    then sweep once so whatever fell due (a summary, a scheduled check) is
    sent now rather than at the next tick.  403 unless DEMO_CLOCK."""
    settings = _settings()
    if not settings.demo_clock:
        return jsonify(error="時計を進められるのはデモモード（DEMO_CLOCK=1）だけです。"), 403
    body = request.get_json(silent=True) or {}
    step = body.get("advance") if isinstance(body, dict) else None
    if step == "23h":
        seconds = 23 * 3600
    elif step == "next-morning":
        seconds = seconds_until_morning(clock.now(), settings.tz)
    else:
        return jsonify(error='advance must be "23h" or "next-morning"'), 400
    try:
        clock.advance(seconds)
    except PermissionError as exc:
        return jsonify(error=str(exc)), 403
    swept = run_sweep()
    return jsonify({**_status(), "advanced": seconds, "label": CLOCK_STEPS[step], "sweep": swept})
