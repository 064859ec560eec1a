"""Class mode's rules through Flask's test client (web/classroom.py): only
the emulator, the PIN and its rate limit, what a phone on the network may
reach, a student acting only as itself, the QR code."""

from __future__ import annotations

import io

import pytest
import segno

import app as app_module
from app import create_local_app
from config import Settings
from models import create_schema
from web import classroom

BASE = "http://127.0.0.1:9"  # nothing listens: the bot's side is not needed here
PIN = "2468"
PHONE = {"REMOTE_ADDR": "192.168.1.23"}
OTHER_PHONE = {"REMOTE_ADDR": "192.168.1.24"}


@pytest.fixture
def app(tmp_path, database_url):
    settings = Settings(
        emulator=True,
        demo_clock=True,
        redis_url=None,
        database_url=database_url,
        line_api_base_url=BASE + "/line-api",
        line_timeout=1.0,
    )
    local = create_local_app(settings, BASE, state_path=tmp_path / "line-emulator.json")
    create_schema()
    classroom.enable(local, "http://192.168.1.10:8000", pin=PIN)
    return local


def phone(app, address=PHONE):
    """A test client that comes from a phone's address on the room's network."""
    client = app.test_client()
    client.environ_base.update(address)
    return client


def join(client, name="山田一子", pin=PIN):
    return client.post("/class/join", data={"pin": pin, "name": name})


def test_it_refuses_class_mode_with_line_credentials(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "a-real-secret")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "a-real-token")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-key-" + "0" * 32)  # a real deployment has one
    with pytest.raises(SystemExit, match="refused when\\s+LINE credentials are set"):
        app_module.run_local(port=1, classroom=True)


def test_it_serves_the_emulator_only(tmp_path):
    real = Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", emulator=False)
    plain = app_module.create_app(real)
    with pytest.raises(ValueError, match="emulator"):
        classroom.enable(plain, "http://192.168.1.10:8000")


def test_it_lets_a_phone_reach_only_what_a_student_needs(app):
    room = app.extensions["tsunagari.classroom"]
    teacher = app.test_client()
    teacher.post("/class/lessons/basics")
    stranger = phone(app)
    assert stranger.get("/class/join").status_code == 200
    assert stranger.get("/healthz").status_code == 200
    assert stranger.get("/static/simulator/chat.js").status_code == 200
    assert stranger.get("/").status_code == 303
    for path in ("/class", "/class/qr.svg", f"/simulator/groups/{room.group_id}", "/simulator/status"):
        assert stranger.get(path).status_code in (303, 403), path
    assert stranger.get("/line-api/_sim/groups").status_code == 403
    assert stranger.get("/line-api/v2/bot/info").status_code == 403
    assert stranger.post("/callback", data="{}").status_code == 403
    assert stranger.post("/class/lessons/quake").status_code == 403
    assert stranger.post("/class/clock", json={"advance": "23h"}).status_code == 403
    assert stranger.get(f"/simulator/chats/{room.group_id}/timeline").status_code == 403
    assert stranger.get("/class/state").status_code == 403
    # The teacher's machine reaches everything.
    assert teacher.get("/class").status_code == 200
    assert teacher.get("/line-api/_sim/groups").status_code == 200


def test_it_joins_a_student_into_the_class_group(app):
    room = app.extensions["tsunagari.classroom"]
    platform = app.extensions["line_emulator"]
    app.test_client().post("/class/lessons/basics")
    student = phone(app)
    response = join(student)
    assert response.status_code == 303 and response.headers["Location"] == "/class/phone"
    names = [m["display_name"] for m in platform.members(room.group_id)]
    assert names == ["まとめ役", "山田一子"]
    html = student.get("/class/phone").get_data(as_text=True)
    assert "山田一子さんのスマホ" in html and "れんしゅう町内会" in html
    state = student.get("/class/state").get_json()
    assert state["group"] == room.group_id and room.students[state["me"]] == "山田一子"
    assert [learner["display_name"] for learner in state["lesson"]["learners"]] == ["山田一子"]


def test_it_lets_a_student_act_only_as_themselves(app):
    room = app.extensions["tsunagari.classroom"]
    platform = app.extensions["line_emulator"]
    app.test_client().post("/class/lessons/basics")
    student, other = phone(app), phone(app, OTHER_PHONE)
    join(student, "山田一子")
    join(other, "木村二郎")
    kimura = next(m["user_id"] for m in platform.members(room.group_id) if m["display_name"] == "木村二郎")
    # Whatever user a phone names, it speaks as its own person.
    sent = student.post(
        f"/simulator/chats/{room.group_id}/text", json={"user_id": kimura, "text": "こんにちは"}
    )
    assert sent.status_code == 200
    last = platform.timeline(room.group_id)[-1]
    assert last["display_name"] == "山田一子" and last["message"]["text"] == "こんにちは"
    # Only in the class's chat.
    elsewhere = platform.create_group("となりの会")
    assert student.get(f"/simulator/chats/{elsewhere}/timeline").status_code == 403
    assert student.post(f"/simulator/chats/{elsewhere}/text", json={"text": "x"}).status_code == 403


def test_it_refuses_a_wrong_pin_and_slows_down_guessing(app):
    room = app.extensions["tsunagari.classroom"]
    guesser = phone(app)
    wrong = join(guesser, pin="0000")
    assert wrong.status_code == 403 and "番号がちがいます" in wrong.get_data(as_text=True)
    for _ in range(classroom.WRONG_PIN_LIMIT - 1):
        join(guesser, pin="1111")
    locked = join(guesser)  # the right PIN, too late
    assert locked.status_code == 429 and "1分ほど待って" in locked.get_data(as_text=True)
    assert room.students == {}
    # Another phone in the room is not held up by one guesser.
    assert join(phone(app, OTHER_PHONE), "木村二郎").status_code == 303


def test_it_counts_every_address_towards_a_limit_for_all(app):
    room = app.extensions["tsunagari.classroom"]
    for n in range(classroom.WRONG_PIN_LIMIT_ALL):
        join(phone(app, {"REMOTE_ADDR": f"10.0.{n // 200}.{n % 200 + 1}"}), pin="0000")
    assert join(phone(app, {"REMOTE_ADDR": "10.9.9.9"})).status_code == 429
    assert room.students == {}


def test_it_checks_the_name(app):
    student = phone(app)
    assert "お名前を入れてください" in join(student, "").get_data(as_text=True)
    assert "長すぎます" in join(student, "あ" * 21).get_data(as_text=True)
    assert join(student, classroom.TEACHER_NAME).status_code == 400


def test_it_forgets_students_of_an_earlier_class(app):
    student = phone(app)
    join(student)
    assert student.get("/class/state").status_code == 200
    app.extensions["tsunagari.classroom"].epoch = "a-new-class"  # as after a restart
    assert student.get("/class/state").status_code == 403
    assert student.get("/class/phone").status_code == 303


def test_it_offers_the_roster_names_to_pick(app):
    teacher = app.test_client()
    teacher.post("/class/roster", data={"names": "山田一子\n木村二郎\n\n" + "あ" * 30})
    html = phone(app).get("/class/join?pin=2468").get_data(as_text=True)
    assert 'value="山田一子"' in html and 'value="木村二郎"' in html and "あああ" not in html
    assert 'value="2468"' in html  # from the QR code's URL
    join(phone(app), "山田一子")
    assert 'value="山田一子"' not in phone(app, OTHER_PHONE).get("/class/join").get_data(as_text=True)


def test_it_draws_the_qr_code_of_the_join_url(app):
    room = app.extensions["tsunagari.classroom"]
    assert room.join_url == "http://192.168.1.10:8000/class/join?pin=2468"
    served = app.test_client().get("/class/qr.svg")
    assert served.mimetype == "image/svg+xml"
    expected = io.BytesIO()
    segno.make(room.join_url, error="m").save(
        expected, kind="svg", scale=8, border=2, dark="#000", light="#fff"
    )
    assert served.data == expected.getvalue()


def test_it_makes_four_digit_pins():
    pins = {classroom.new_pin() for _ in range(50)}
    assert all(len(pin) == 4 and pin.isdigit() for pin in pins) and len(pins) > 10
