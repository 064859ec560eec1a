"""The simulator's one-to-one chats: a person's own chat with the bot (見守り).

Registered with the simulator (emulator mode only).  A page shows one
person's chat with the bot and, beside it, the chats of the people it was
opened with (a watched person and their contact, so an instructor shows
both at once; stacked on a phone).  Each pane acts only as its own person,
through the same chat endpoints as a group (web/simulator.py), which call
the emulator's one-to-one methods for a user's chat.

- ``GET /simulator/people/<user>?with=<user>``: the page;
- ``POST /simulator/one-to-one/<lesson>``: the start page's form for a
  one-to-one lesson: fresh people, their page;
- ``GET …/<user>/state``: the chat's clock, the lesson's progress, the
  month's messages (JSON, polled);
- ``POST …/<user>/follow``: the person adds the bot as a friend;
- ``POST …/<user>/forward``: the person's newest invitation code is passed
  to their contact, who adds the bot and sends it (what people do by hand);
- ``POST …/<user>/clock``: the watched person's own clock (3h, 12h, next
  morning: web/group_clock.py's WATCH_STEPS), DEMO_CLOCK only;
- ``POST …/<user>/reset``: 「最初から」 with fresh people.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from jobs.tasks import run_sweep
from models import Invitation
from web import group_clock, lessons
from web.simulator import bot_groups, clock_status, platform, settings, usage_status

bp = Blueprint("people", __name__)

PANES = 3  # a person and up to two others on one page


def find_user(user_id: str) -> dict | None:
    return next((u for u in platform().users() if u["user_id"] == user_id), None)


def lesson_of(user_id: str) -> lessons.Lesson | None:
    record = group_clock.record(user_id)
    return lessons.LESSONS.get(record.lesson) if record and record.lesson else None


def people_of(user_id: str) -> list[dict]:
    """The page's people: the person, then their lesson's partners (or the
    ``with`` ones), each as the emulator knows them."""
    wanted = [user_id, *lessons.partners(user_id), *request.args.getlist("with")]
    people = []
    for wanted_id in wanted:
        user = find_user(wanted_id)
        if user is not None and all(p["user_id"] != wanted_id for p in people):
            people.append(user)
    return people[:PANES]


def person_state(user_id: str) -> dict:
    lesson = lesson_of(user_id)
    progress = None
    if lesson is not None:
        learners = [
            {"user_id": u, "display_name": (find_user(u) or {}).get("display_name", "")}
            for u in (user_id, *lessons.partners(user_id))
        ]
        progress = lessons.progress(lesson, lessons.facts(platform(), user_id), learners)
    return {
        "chat": user_id,
        "clock": clock_status(user_id),
        "friends": {u["user_id"]: u["friend"] for u in platform().users()},
        "lesson": progress.as_json() if progress else None,
        **usage_status(),
    }


def _not_found():
    return render_template("simulator/not_found.html", groups=bot_groups()), 404


@bp.get("/simulator/people/<user_id>")
def person_page(user_id: str):
    if find_user(user_id) is None:
        return _not_found()
    lesson = lesson_of(user_id)
    people = people_of(user_id)
    shown = {p["user_id"] for p in people}
    return render_template(
        "simulator/person.html",
        groups=bot_groups(),
        person=find_user(user_id),
        people=people,
        # Outside a lesson, anyone else may be put beside (the watched person and their contact).
        others=[]
        if lesson
        else [u for u in platform().users() if u["user_id"] not in shown and not u["blocked"]],
        lesson=lesson,
        state=person_state(user_id),
        clock_steps=group_clock.WATCH_STEPS,
    )


@bp.post("/simulator/one-to-one/<key>")
def start_lesson(key: str):
    """Start a one-to-one lesson: fresh people, their page."""
    lesson = lessons.LESSONS.get(key)
    if lesson is None or not lesson.one_to_one:
        return _not_found()
    user_id = lessons.start_one_to_one(platform(), lesson)
    return redirect(url_for("people.person_page", user_id=user_id), code=303)


@bp.get("/simulator/people/<user_id>/state")
def state(user_id: str):
    if find_user(user_id) is None:
        return jsonify(error="not-found"), 404
    return jsonify(person_state(user_id))


@bp.post("/simulator/people/<user_id>/follow")
def follow(user_id: str):
    """JSON ``{"user_id": …}`` (one of the page's people; default the page's
    person): they add the bot as a friend (the bot greets them)."""
    body = request.get_json(silent=True)
    who = body.get("user_id") if isinstance(body, dict) and body.get("user_id") else user_id
    if find_user(user_id) is None or find_user(who) is None:
        return jsonify(error="not-found"), 404
    platform().follow(who)
    return jsonify(person_state(user_id))


@bp.post("/simulator/people/<user_id>/forward")
def forward(user_id: str):
    """The person forwards their newest invitation code to their (first)
    contact, who adds the bot and sends it in their own chat."""
    watch = group_clock.watch_of(user_id)
    contact = next(iter(lessons.partners(user_id)), None)
    invitation = (
        Invitation.select()
        .where((Invitation.watch == watch.id) & Invitation.used_at.is_null())
        .order_by(Invitation.id.desc())
        .first()
        if watch is not None
        else None
    )
    if invitation is None or contact is None:
        return jsonify(error="no-code"), 409
    if not (find_user(contact) or {}).get("friend"):
        platform().follow(contact)
    platform().one_to_one_text(contact, invitation.code)
    return jsonify(person_state(user_id))


@bp.post("/simulator/people/<user_id>/clock")
def move_clock(user_id: str):
    """JSON ``{"advance": "3h" | "12h" | "next-morning"}``: move the
    person's own clock and sweep once.  403 unless DEMO_CLOCK."""
    if not settings().demo_clock:
        return jsonify(error="時計を進められるのはデモモード（DEMO_CLOCK=1）だけです。"), 403
    if find_user(user_id) is None:
        return jsonify(error="その人は見つかりません。"), 404
    body = request.get_json(silent=True)
    step = body.get("advance") if isinstance(body, dict) else None
    if step not in group_clock.WATCH_STEPS:
        return jsonify(error=f"advance must be one of {', '.join(group_clock.WATCH_STEPS)}"), 400
    seconds = group_clock.advance(user_id, step, settings().tz, run_sweep)
    return jsonify({**person_state(user_id), "advanced": seconds, "step": step})


@bp.post("/simulator/people/<user_id>/reset")
def reset(user_id: str):
    """「最初から」: fresh people for the same lesson; the old ones block the bot."""
    lesson = lesson_of(user_id)
    if find_user(user_id) is None or lesson is None:
        return _not_found()
    new_id = lessons.start_one_to_one(platform(), lesson)
    lessons.leave_one_to_one(platform(), user_id)
    return redirect(url_for("people.person_page", user_id=new_id), code=303)
