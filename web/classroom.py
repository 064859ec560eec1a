"""Class mode (``make class``): the simulator as a スマホ教室.

The instructor runs ``make class`` on the laptop at the projector; the
students open the simulator on their own phones over the room's network (a
QR code on the projector, with the class PIN in it), type or pick their name,
and become members of one simulated LINE group.  The projector shows that
group, the lesson's next step and every student's progress.

Who is who:

- the **teacher** is whoever uses the machine itself (a loopback address):
  the projector page, the lessons, the clock, 最初から; in the chat the
  teacher is the member 「まとめ役」, the lesson's leader;
- a **student** is a phone that joined with the PIN: it holds a signed
  session cookie naming its one simulated LINE user, and can only read its
  class's chat and act as itself there.

Only the emulator is ever served this way: ``enable`` refuses an app that is
not in emulator mode, and app.run_local refuses class mode when LINE
credentials are set.  Requests from the network reach the join page, a
student's own pages and chat, the static files and /healthz, nothing else:
not the emulator's API (whose demo token and secret are public), not the
bot's webhook, not the simulator's other pages.  A wrong PIN is counted per
address and for everyone: after ``WRONG_PIN_LIMIT`` from one address (or
``WRONG_PIN_LIMIT_ALL`` from all) within ``WRONG_PIN_WINDOW`` seconds,
joining waits until the window has passed.
"""

from __future__ import annotations

import hmac
import io
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from ipaddress import ip_address

import segno
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from web import lessons
from web import simulator as sim

bp = Blueprint("classroom", __name__, url_prefix="/class")

PIN_DIGITS = 4
WRONG_PIN_LIMIT = 5
WRONG_PIN_LIMIT_ALL = 30
WRONG_PIN_WINDOW = 60.0
# The teacher's member name in the chat, in the bot's own words for a leader.
TEACHER_NAME = "まとめ役"
ROSTER_LIMIT = 40

# What a phone on the room's network may reach (path prefixes).
STUDENT_PATHS = (
    "/class/join",
    "/class/phone",
    "/class/state",
    "/class/read",
    "/simulator/chats/",
    "/static/",
)
STUDENT_EXACT = ("/healthz",)


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def is_local(address: str | None) -> bool:
    try:
        return ip_address(address or "").is_loopback
    except ValueError:
        return False


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, as its own name
    resolves (no packet is sent anywhere)."""
    found = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        try:
            for info in socket.getaddrinfo(name, None, socket.AF_INET):
                found.add(info[4][0])
        except OSError:
            continue
    return sorted(a for a in found if not ip_address(a).is_loopback)


@dataclass
class Classroom:
    """One class while ``make class`` runs (a restart starts a new class
    with a new PIN; the groups and their chats stay)."""

    pin: str
    join_base: str  # e.g. http://192.168.1.20:8000, what the phones open
    epoch: str = field(default_factory=lambda: secrets.token_hex(8))
    group_id: str | None = None
    teacher_user_id: str | None = None
    roster: list[str] = field(default_factory=list)
    students: dict[str, str] = field(default_factory=dict)  # user id -> name
    _wrong: dict[str, deque] = field(default_factory=dict)
    _wrong_all: deque = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def join_url(self) -> str:
        return f"{self.join_base.rstrip('/')}/class/join?pin={self.pin}"

    def locked(self, address: str, now: float) -> bool:
        with self._lock:
            for times in (self._wrong.get(address, deque()), self._wrong_all):
                while times and now - times[0] > WRONG_PIN_WINDOW:
                    times.popleft()
            return (
                len(self._wrong.get(address, ())) >= WRONG_PIN_LIMIT
                or len(self._wrong_all) >= WRONG_PIN_LIMIT_ALL
            )

    def check_pin(self, address: str, pin: str, now: float) -> bool:
        """True for the right PIN; a wrong one is counted against ``address``."""
        if hmac.compare_digest(pin.encode(), self.pin.encode()):
            return True
        with self._lock:
            self._wrong.setdefault(address, deque()).append(now)
            self._wrong_all.append(now)
        return False


def classroom() -> Classroom:
    return current_app.extensions["tsunagari.classroom"]


def student_id() -> str | None:
    """The simulated user this phone joined as, if it joined this class."""
    room = classroom()
    if session.get("class") != room.epoch:
        return None
    user_id = session.get("user_id")
    return user_id if user_id in room.students else None


def teacher() -> bool:
    return is_local(request.remote_addr)


def _chat_guard(chat_id: str, body: dict | None):
    """Class mode's rule for the chat endpoints (web/simulator.py)."""
    if teacher():
        return (body or {}).get("user_id"), None
    user_id = student_id()
    if user_id is None:
        return None, (jsonify(error="join-first"), 403)
    if chat_id in (classroom().group_id, user_id):  # the class's group, or the student's own 1:1 chat
        return user_id, None
    # Reading a group the student was in (the lesson before 最初から) is
    # harmless, and the page moves to the new group at its next look.
    if body is None and any(m["user_id"] == user_id for m in _members_or_none(chat_id)):
        return user_id, None
    return None, (jsonify(error="not-your-chat"), 403)


def _members_or_none(chat_id: str) -> list[dict]:
    try:
        return sim.platform().members(chat_id)
    except KeyError:
        return []


class LanGuard:
    """WSGI middleware: a request from the network reaches only what a
    student needs; everything else answers 403 before Flask or the emulator
    sees it."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if is_local(environ.get("REMOTE_ADDR")) or path in STUDENT_EXACT or path.startswith(STUDENT_PATHS):
            return self.app(environ, start_response)
        # A page a phone should not open leads to the join page (its words are
        # in the templates); anything else is refused outright.
        page = environ.get("REQUEST_METHOD") in ("GET", "HEAD") and not path.startswith(
            ("/line-api", "/callback")
        )
        if page:
            start_response("303 See Other", [("Location", "/class/join"), ("Content-Length", "0")])
            return [b""]
        start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"forbidden"]


def enable(app: Flask, join_base: str, pin: str | None = None) -> Classroom:
    """Turn ``app`` (create_local_app's) into a class: the blueprint, a
    fresh session key, the chat guard and the network guard."""
    settings = app.extensions["tsunagari.settings"]
    if not settings.emulator or "line_emulator" not in app.extensions:
        raise ValueError("class mode serves the LINE emulator only (no LINE credentials)")
    room = Classroom(pin=pin or new_pin(), join_base=join_base)
    app.extensions["tsunagari.classroom"] = room
    app.extensions["tsunagari.chat_guard"] = _chat_guard
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    app.register_blueprint(bp)
    app.wsgi_app = LanGuard(app.wsgi_app)
    return room


# -- the teacher ------------------------------------------------------------------
def _teacher_only():
    if not teacher():
        abort(403)


def _teacher_user() -> str:
    room = classroom()
    if room.teacher_user_id is None:
        room.teacher_user_id = sim.user_named(TEACHER_NAME)
    return room.teacher_user_id


@bp.get("")
def projector():
    if not teacher():
        return redirect(url_for("classroom.join"), code=303)
    room = classroom()
    group = sim.find_group(room.group_id) if room.group_id else None
    return render_template(
        "classroom/projector.html",
        room=room,
        group=group,
        members=sim.platform().members(room.group_id) if group else [],
        lesson=sim.lesson_of(room.group_id) if group else None,
        lessons=lessons.LESSONS,
        state=sim.group_state(room.group_id) if group else None,
        teacher_user_id=_teacher_user(),
        students=sorted(room.students.values()),
    )


@bp.get("/qr.svg")
def qr():
    _teacher_only()
    out = io.BytesIO()
    segno.make(classroom().join_url, error="m").save(
        out, kind="svg", scale=8, border=2, dark="#000", light="#fff"
    )
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.post("/lessons/<key>")
def start_lesson(key: str):
    """Start (or start again) a lesson for the whole class: a fresh group of
    the teacher and every student who joined."""
    _teacher_only()
    lesson = lessons.LESSONS.get(key)
    if lesson is None or lesson.one_to_one:  # a one-to-one lesson is for one screen
        abort(404)
    room = classroom()
    old = room.group_id
    members = [_teacher_user(), *room.students]
    room.group_id = lessons.start(
        sim.platform(), lesson, sim.lesson_group_name(key), members, teacher=room.teacher_user_id
    )
    if old and old != room.group_id:
        lessons.leave(sim.platform(), old)
    return redirect(url_for("classroom.projector"), code=303)


@bp.post("/reset")
def reset():
    _teacher_only()
    room = classroom()
    if room.group_id and sim.find_group(room.group_id):
        room.group_id = sim.restart_group(room.group_id, teacher=_teacher_user())
    return redirect(url_for("classroom.projector"), code=303)


@bp.post("/roster")
def roster():
    """The names the join page offers to pick (one a line)."""
    _teacher_only()
    names = [n for n in sim._names(request.form.get("names", "")) if not sim.bad_name(n)]
    classroom().roster = names[:ROSTER_LIMIT]
    return redirect(url_for("classroom.projector"), code=303)


@bp.post("/clock")
def clock():
    _teacher_only()
    body = request.get_json(silent=True)
    room = classroom()
    if not room.group_id:
        return jsonify(error="no-lesson"), 409
    return sim.advance_group(room.group_id, body.get("advance") if isinstance(body, dict) else None)


@bp.post("/quake")
def quake():
    _teacher_only()
    room = classroom()
    if not room.group_id:
        return jsonify(error="no-lesson"), 409
    return sim.quake_in(room.group_id)


# -- the students -----------------------------------------------------------------
def _join_page(error: str | None = None, status: int = 200, name: str = "", pin: str = ""):
    room = classroom()
    taken = set(room.students.values())
    choices = [n for n in room.roster if n not in taken]
    html = render_template(
        "classroom/join.html", error=error, choices=choices, name=name, pin=pin, name_limit=sim.NAME_LIMIT
    )
    return html, status


@bp.get("/join")
def join():
    if student_id():
        return redirect(url_for("classroom.phone"), code=303)
    return _join_page(pin=request.args.get("pin", "")[:PIN_DIGITS])


@bp.post("/join")
def join_class():
    """Form: ``pin`` and ``name`` (typed, or ``picked`` from the roster)."""
    room = classroom()
    address = request.remote_addr or "?"
    now = time.monotonic()
    name = (request.form.get("picked") or request.form.get("name") or "").strip()
    pin = (request.form.get("pin") or "").strip()
    # The words for each refusal are in templates/classroom/join.html.
    if room.locked(address, now):
        return _join_page("wait", 429, name)
    if not room.check_pin(address, pin, now):
        return _join_page("wrong-pin", 403, name)
    if not name:
        return _join_page("no-name", 400, name, pin)
    if len(name) > sim.NAME_LIMIT or sim.bad_name(name):
        return _join_page("bad-name", 400, name, pin)
    if name == TEACHER_NAME:
        return _join_page("teacher-name", 400, name, pin)
    user_id = sim.user_named(name)
    room.students[user_id] = name
    in_group = room.group_id and sim.find_group(room.group_id)
    if in_group and all(m["user_id"] != user_id for m in sim.platform().members(room.group_id)):
        sim.platform().add_member(room.group_id, user_id)  # the bot welcomes them
    session.clear()
    session["class"], session["user_id"] = room.epoch, user_id
    session.permanent = False
    return redirect(url_for("classroom.phone"), code=303)


@bp.get("/phone")
def phone():
    user_id = student_id()
    if user_id is None:
        return redirect(url_for("classroom.join"), code=303)
    room = classroom()
    group = sim.find_group(room.group_id) if room.group_id else None
    return render_template(
        "classroom/phone.html",
        me={"user_id": user_id, "name": room.students[user_id]},
        group=group,
        members=sim.platform().members(room.group_id) if group else [],
        lesson=sim.lesson_of(room.group_id) if group else None,
    )


@bp.get("/state")
def state():
    """The class as the projector and the phones poll it."""
    user_id = student_id()
    if user_id is None and not teacher():
        return jsonify(error="join-first"), 403
    room = classroom()
    body = {"group": room.group_id, "me": user_id, "students": len(room.students)}
    if room.group_id and sim.find_group(room.group_id):
        body.update(sim.group_state(room.group_id))
    return jsonify(body)


@bp.post("/read")
def read():
    user_id = student_id()
    room = classroom()
    if teacher() and user_id is None:
        return jsonify(error="students-only"), 403
    if user_id is None:
        return jsonify(error="join-first"), 403
    if not room.group_id:
        return jsonify(error="no-lesson"), 409
    return sim.read_summary(room.group_id, user_id)
