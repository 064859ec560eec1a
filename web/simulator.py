"""The simulator: LINE groups in the browser, for ``make run`` and ``make class``.

Registered by ``app.create_local_app`` only (emulator mode), on the bot's
own app.  The page plays the members' phones through the emulator's public
methods, so what it shows is exactly what the bot sent to "LINE".

- ``GET /``: the start page: the lessons, a free group, the groups so far;
- ``POST /simulator/lessons/<lesson>``: start a lesson in a fresh group;
- ``POST /simulator/groups`` and ``…/<id>/members``: plain HTML forms;
- ``GET /simulator/groups/<id>``: one group (404 for an unknown id);
- ``GET /simulator/groups/<id>/state``: its clock, lesson progress and the
  month's messages, as JSON (the page polls it);
- ``POST …/<id>/clock`` (3h, 23h, next morning: web/group_clock.py,
  DEMO_CLOCK only), ``…/<id>/reset`` (「最初から」), ``…/<id>/quake`` (the
  lesson's drill quake), ``…/<id>/read`` (「読みました」);
- ``/simulator/chats/<chat>/timeline|text|postback``: a chat pane's reads
  and a member's taps.  A chat is a group, or one user's one-to-one chat
  with the bot (its id is the user's id, as the emulator keys it), where
  only that user acts; the one-to-one pages are web/people.py;
- ``GET /simulator/lessons/<lesson>/handout``: the printable handout.

In class mode (web/classroom.py) the same chat endpoints serve the
students' phones, each acting only as itself, in its class's chat only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from emulator.platform import LinePlatform
from jobs.tasks import run_sweep
from messages import i18n
from models import DemoGroup, Group
from services import clock
from web import group_clock, lessons, quake_lesson
from web.group_clock import seconds_until_morning  # noqa: F401  (re-exported for tests and callers)

bp = Blueprint("simulator", __name__)


@bp.record_once
def _install_gettext(state) -> None:
    """The simulator's templates write their words as {{ _("…") }}, from the
    bot's own catalogue (messages/locale): a group's page speaks its language."""
    env = state.app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, lambda one, many, n: i18n.gettext(one if n == 1 else many))


# The html lang of a page in each language the bot writes.
PAGE_LANG = {"ja": "ja", "ja_easy": "ja", "en": "en"}


def group_language(group_id: str) -> str | None:
    """The language the bot writes to this group in (/言語), None for 日本語."""
    return Group.select(Group.language).where(Group.line_group_id == group_id).scalar()


NAME_LIMIT = 20  # LINE display names are at most 20 characters
MEMBER_LIMIT = 30  # plenty for a class; keeps one form post small
GROUP_NAME_LIMIT = 50
TEXT_LIMIT = 5000  # LINE's text message limit
WEEKDAYS = "月火水木金土日"


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
    """How far a clock is ahead, e.g. ``1日と23時間``; "" when not moved."""
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


def platform() -> LinePlatform:
    return current_app.extensions["line_emulator"]


def settings():
    return current_app.extensions["tsunagari.settings"]


def bot_groups() -> list[dict]:
    """The emulator's groups the bot is in (a reset lesson's old group is not)."""
    return [g for g in platform().groups() if g["bot_in_group"]]


def find_group(group_id: str) -> dict | None:
    return next((g for g in bot_groups() if g["group_id"] == group_id), None)


def clock_status(group_id: str | None) -> dict:
    tz = settings().tz
    moment = group_clock.now(group_id) if group_id else clock.now()
    ahead = group_clock.offset(group_id) if group_id else timedelta(0)
    return {
        "now": moment.isoformat(),
        "label": format_moment(moment, tz),
        "ahead": format_offset(ahead),
        "demo_clock": settings().demo_clock,
    }


def usage_status() -> dict:
    usage = platform().usage()
    return {"usage": usage, "plans": plan_rows(usage["total"])}


def learners_of(group_id: str) -> list[dict]:
    """The group's members who are learners (everyone but a class's teacher)."""
    record = group_clock.record(group_id)
    teacher = record.teacher_user_id if record else None
    return [m for m in platform().members(group_id) if m["user_id"] != teacher]


def lesson_of(group_id: str) -> lessons.Lesson | None:
    record = group_clock.record(group_id)
    return lessons.LESSONS.get(record.lesson) if record and record.lesson else None


def lesson_progress(group_id: str) -> lessons.Progress | None:
    lesson = lesson_of(group_id)
    if lesson is None:
        return None
    return lessons.progress(lesson, lessons.facts(platform(), group_id), learners_of(group_id))


def group_state(group_id: str) -> dict:
    progress = lesson_progress(group_id)
    return {
        "group": group_id,
        "clock": clock_status(group_id),
        "lesson": progress.as_json() if progress else None,
        **usage_status(),
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


def user_named(name: str) -> str:
    """The simulated user called ``name``, created on first use: on this
    page a name is a person, so 佐藤花子 in two groups is the same user."""
    for user in platform().users():
        if user["display_name"] == name:
            return user["user_id"]
    return platform().add_user(name)


def bad_name(name: str) -> str | None:
    if len(name) > NAME_LIMIT:
        return f"「{name[:NAME_LIMIT]}…」は長すぎます。名前は{NAME_LIMIT}文字までです。"
    if any(ord(c) < 32 for c in name):
        return "名前に使えない文字が入っています。"
    return None


def one_to_one_lessons() -> list[dict]:
    """One-to-one lessons under way (the people have not blocked the bot):
    user_id, display_name, lesson; newest first."""
    users = {u["user_id"]: u for u in platform().users() if not u["blocked"]}
    rows = (
        DemoGroup.select(DemoGroup.line_group_id, DemoGroup.lesson)
        .where(DemoGroup.lesson.is_null(False) & DemoGroup.line_group_id.startswith("U"))
        .order_by(DemoGroup.id.desc())
        .tuples()
    )
    return [
        {"user_id": user_id, "display_name": users[user_id]["display_name"], "lesson": lesson}
        for user_id, lesson in rows
        if user_id in users and lesson in lessons.LESSONS
    ]


def _start_page(error: str | None = None, status: int = 200):
    html = render_template(
        "simulator/start.html",
        groups=bot_groups(),
        records={g["group_id"]: group_clock.record(g["group_id"]) for g in bot_groups()},
        one_to_one=one_to_one_lessons(),
        lessons=lessons.LESSONS,
        error=error,
        name_limit=NAME_LIMIT,
    )
    return html, status


def _group_page(group_id: str, error: str | None = None, status: int = 200):
    group = find_group(group_id)
    if group is None:
        return render_template("simulator/not_found.html", groups=bot_groups()), 404
    members = platform().members(group_id)
    acting = request.args.get("as")
    lesson = lesson_of(group_id)
    language = group_language(group_id)
    with i18n.using(language):
        html = _render_group(group, members, acting, lesson, error, PAGE_LANG.get(language or "ja", "ja"))
    return html, status


def _render_group(
    group: dict, members: list, acting: str | None, lesson, error: str | None, page_lang: str
) -> str:
    group_id = group["group_id"]
    return render_template(
        "simulator/group.html",
        page_lang=page_lang,
        groups=bot_groups(),
        group=group,
        members=members,
        acting=acting if any(m["user_id"] == acting for m in members) else None,
        lesson=lesson,
        state=group_state(group_id),
        clock_steps=group_clock.STEPS,
        error=error,
        name_limit=NAME_LIMIT,
    )


@bp.get("/")
def index():
    # Old links (/?group=C…) still open their group; an unknown one says so.
    if request.args.get("group"):
        return redirect(url_for("simulator.group_page", group_id=request.args["group"]), code=303)
    return _start_page()


@bp.get("/simulator/groups/<group_id>")
def group_page(group_id: str):
    return _group_page(group_id)


@bp.post("/simulator/lessons/<key>")
def start_lesson(key: str):
    """Start a lesson for one screen: a fresh group of the three personas."""
    lesson = lessons.LESSONS.get(key)
    if lesson is None:
        abort(404)
    if lesson.one_to_one:  # in one-to-one chats: web/people.py
        return redirect(url_for("people.start_lesson", key=key), code=307)
    members = [user_named(name) for name in lessons.PERSONAS]
    group_id = lessons.start(platform(), lesson, lesson_group_name(key), members)
    return redirect(url_for("simulator.group_page", group_id=group_id, **{"as": members[0]}), code=303)


def lesson_texts() -> dict:
    """The lessons' words (templates/simulator/lesson_texts.html)."""
    return get_template_attribute("simulator/lesson_texts.html", "lessons")


def lesson_group_name(key: str) -> str:
    return lesson_texts()[key]["group_name"]


@bp.post("/simulator/groups")
def create_group():
    """Form: ``name``, ``members`` (one a line).  Creates the group with its
    members and then invites the bot, as people do on LINE, so the bot
    greets the whole group once."""
    group_name = (request.form.get("name") or "").strip() or "みどり町内会"
    names = _names(request.form.get("members", ""))
    problems = [p for p in map(bad_name, names) if p]
    if len(group_name) > GROUP_NAME_LIMIT:
        problems.insert(0, f"グループ名は{GROUP_NAME_LIMIT}文字までです。")
    if len(names) > MEMBER_LIMIT:
        problems.append(f"メンバーは{MEMBER_LIMIT}人までにしてください。")
    if problems:
        return _start_page(error=problems[0], status=400)
    group_id = platform().create_group(group_name)
    user_ids = [user_named(name) for name in names]
    for user_id in user_ids:
        platform().add_member(group_id, user_id)
    group_clock.ensure(group_id)
    platform().invite_bot(group_id)
    acting = {"as": user_ids[0]} if user_ids else {}
    return redirect(url_for("simulator.group_page", group_id=group_id, **acting), code=303)


@bp.post("/simulator/groups/<group_id>/members")
def add_member(group_id: str):
    """Form: ``name``.  The new member joins (the bot welcomes them) and
    becomes the person the page acts as."""
    if find_group(group_id) is None:
        return render_template("simulator/not_found.html", groups=bot_groups()), 404
    name = (request.form.get("name") or "").strip()
    members = platform().members(group_id)
    problem = bad_name(name) if name else "追加する人の名前を入れてください。"
    if problem is None and any(m["display_name"] == name for m in members):
        problem = f"{name}さんはすでにこのグループにいます。"
    if problem is None and len(members) >= MEMBER_LIMIT:
        problem = f"メンバーは{MEMBER_LIMIT}人までにしてください。"
    if problem:
        return _group_page(group_id, error=problem, status=400)
    user_id = user_named(name)
    platform().add_member(group_id, user_id)
    return redirect(url_for("simulator.group_page", group_id=group_id, **{"as": user_id}), code=303)


@bp.get("/simulator/groups/<group_id>/state")
def state(group_id: str):
    # Any group the emulator knows, the bot's or not: a page still open on a
    # lesson just started again (the bot left it) reads it once more as it
    # moves to the new one.
    if all(g["group_id"] != group_id for g in platform().groups()):
        return jsonify(error="not-found"), 404
    return jsonify(group_state(group_id))


@bp.get("/simulator/status")
def status():
    """The bot's own clock and the month's messages (no group)."""
    return jsonify({"clock": clock_status(None), **usage_status()})


def advance_group(group_id: str, step: str):
    """Move one group's clock (JSON answer); shared with class mode."""
    if not settings().demo_clock:
        return jsonify(error="時計を進められるのはデモモード（DEMO_CLOCK=1）だけです。"), 403
    if find_group(group_id) is None:
        return jsonify(error="そのグループは見つかりません。"), 404
    if step not in group_clock.STEPS:
        return jsonify(error=f"advance must be one of {', '.join(group_clock.STEPS)}"), 400
    seconds = group_clock.advance(group_id, step, settings().tz, run_sweep)
    return jsonify({**group_state(group_id), "advanced": seconds, "step": step})


@bp.post("/simulator/groups/<group_id>/clock")
def move_clock(group_id: str):
    """JSON ``{"advance": "3h" | "23h" | "next-morning"}``: move this group's
    clock and sweep once.  403 unless DEMO_CLOCK."""
    body = request.get_json(silent=True)
    step = body.get("advance") if isinstance(body, dict) else None
    return advance_group(group_id, step)


def restart_group(group_id: str, teacher: str | None = None) -> str:
    """「最初から」: the same people, the same lesson, a fresh group; the bot
    leaves the old one.  Returns the new group's id."""
    group = find_group(group_id)
    members = [m["user_id"] for m in platform().members(group_id)]
    lesson = lesson_of(group_id)
    record = group_clock.record(group_id)
    teacher = teacher or (record.teacher_user_id if record else None)
    if lesson is not None:
        if teacher in members:  # the teacher types the setup commands
            members.remove(teacher)
            members.insert(0, teacher)
        new_id = lessons.start(platform(), lesson, group["name"], members, teacher=teacher)
    else:
        new_id = platform().create_group(group["name"])
        for user_id in members:
            platform().add_member(new_id, user_id)
        group_clock.ensure(new_id)
        platform().invite_bot(new_id)
    lessons.leave(platform(), group_id)
    return new_id


@bp.post("/simulator/groups/<group_id>/reset")
def reset(group_id: str):
    if find_group(group_id) is None:
        return render_template("simulator/not_found.html", groups=bot_groups()), 404
    new_id = restart_group(group_id)
    acting = request.form.get("as")
    extra = {"as": acting} if acting else {}
    return redirect(url_for("simulator.group_page", group_id=new_id, **extra), code=303)


def quake_in(group_id: str):
    """Start the lesson's drill quake (JSON answer); shared with class mode."""
    if find_group(group_id) is None:
        return jsonify(error="そのグループは見つかりません。"), 404
    try:
        round_id = quake_lesson.start_drill(group_id, group_clock.now(group_id), settings())
    except quake_lesson.NotReady:
        return jsonify(error="not-ready"), 409
    run_sweep()  # the prompt is a push: send it now, not at the next tick
    return jsonify({**group_state(group_id), "round": round_id})


@bp.post("/simulator/groups/<group_id>/quake")
def quake(group_id: str):
    return quake_in(group_id)


def read_summary(group_id: str, user_id: str):
    member_ids = {m["user_id"] for m in platform().members(group_id)}
    if user_id not in member_ids:
        return jsonify(error="not-a-member"), 400
    found = lessons.facts(platform(), group_id)
    if found.round is None or not found.summary_sent:
        return jsonify(error="no-summary"), 409
    lessons.mark_read(group_id, user_id, found.round.id)
    return jsonify(group_state(group_id))


@bp.post("/simulator/groups/<group_id>/read")
def read(group_id: str):
    """JSON ``{"user_id": …}``: that member read the summary (a lesson step)."""
    if find_group(group_id) is None:
        return jsonify(error="そのグループは見つかりません。"), 404
    body = request.get_json(silent=True)
    return read_summary(group_id, body.get("user_id") if isinstance(body, dict) else None)


# -- chat panes: a group's (or, later, a one-to-one) timeline and taps ------------
def chat_guard(chat_id: str, body: dict | None) -> tuple[str | None, object]:
    """Who acts in ``chat_id``: (user_id, None), or (None, an error answer).
    Class mode replaces this for students (web/classroom.py)."""
    guard = current_app.extensions.get("tsunagari.chat_guard")
    if guard is not None:
        return guard(chat_id, body)
    return (body or {}).get("user_id"), None


@bp.get("/simulator/chats/<chat_id>/timeline")
def chat_timeline(chat_id: str):
    _, problem = chat_guard(chat_id, None)
    if problem is not None:
        return problem
    try:
        after = max(0, int(request.args.get("after", "0")))
    except ValueError:
        after = 0
    return jsonify(items=platform().timeline(chat_id, after))


def _acting(chat_id: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, None, (jsonify(error="JSON body expected"), 400)
    user_id, problem = chat_guard(chat_id, body)
    if problem is not None:
        return None, None, problem
    if not isinstance(user_id, str) or not user_id:
        return None, None, (jsonify(error="user_id is required"), 400)
    return user_id, body, None


def _emulator_call(fn):
    try:
        return jsonify(fn())
    except KeyError:
        return jsonify(error="not-found"), 404
    except (PermissionError, ValueError) as exc:
        return jsonify(error=type(exc).__name__), 403


@bp.post("/simulator/chats/<chat_id>/text")
def chat_text(chat_id: str):
    user_id, body, problem = _acting(chat_id)
    if problem is not None:
        return problem
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > TEXT_LIMIT:
        return jsonify(error="text must be 1 to 5000 characters"), 400
    if not group_clock.is_group(chat_id):
        if user_id != chat_id:
            return jsonify(error="not-your-chat"), 403
        return _emulator_call(lambda: platform().one_to_one_text(user_id, text))
    return _emulator_call(lambda: platform().send_text(chat_id, user_id, text))


@bp.post("/simulator/chats/<chat_id>/postback")
def chat_postback(chat_id: str):
    user_id, body, problem = _acting(chat_id)
    if problem is not None:
        return problem
    data, display = body.get("data"), body.get("display_text")
    if not isinstance(data, str) or not data or len(data) > 300:
        return jsonify(error="data is required"), 400
    if display is not None and (not isinstance(display, str) or len(display) > 300):
        return jsonify(error="display_text must be a short string"), 400
    if not group_clock.is_group(chat_id):
        if user_id != chat_id:
            return jsonify(error="not-your-chat"), 403
        return _emulator_call(lambda: platform().one_to_one_postback(user_id, data, display))
    return _emulator_call(lambda: platform().tap_postback(chat_id, user_id, data, display))


# -- handouts ------------------------------------------------------------------------
@bp.get("/simulator/lessons/<key>/handout")
def handout(key: str):
    from web import handouts

    lesson = lessons.LESSONS.get(key)
    if lesson is None:
        abort(404)
    return render_template(
        "simulator/handout.html", lesson=lesson, screens=handouts.screens(key), text_on=handouts.text_on
    )
