"""The simulator's routes through Flask's test client: the pages and their
labels, the forms, lessons, each group's clock, the chat panes, the plans,
and state across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from app import create_local_app
from config import Settings
from models import connected, create_schema
from web import group_clock
from web.lessons import LESSONS, PERSONAS, WATCH_PERSONAS
from web.simulator import format_offset, plan_rows, seconds_until_morning

GROUP_LESSONS = [key for key, lesson in LESSONS.items() if not lesson.one_to_one]

# Nothing listens here: webhooks to the bot fail fast and are only recorded,
# which is all these tests need (the browser tests run the real loop).
BASE = "http://127.0.0.1:9"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def make_app(tmp_path, database_url):
    # The simulator normally runs on SQLite, but nothing in it may depend on
    # that: these tests run on both backends like every database test.
    def make(**changes):
        settings = Settings(
            emulator=True,
            demo_clock=True,
            redis_url=None,
            database_url=database_url,
            line_api_base_url=BASE + "/line-api",
            line_timeout=1.0,
        ).with_(**changes)
        app = create_local_app(settings, BASE, state_path=tmp_path / "line-emulator.json")
        create_schema()
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def create_group(client, members="佐藤花子\n鈴木一郎\n田中次郎", name="みどり町内会"):
    response = client.post("/simulator/groups", data={"name": name, "members": members})
    assert response.status_code == 303
    return response.headers["Location"]


class Controls(HTMLParser):
    """Collects form controls and the labels that name them."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.button: dict | None = None
        self.summary: dict | None = None
        self.html_lang = None
        self.viewport = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "meta" and a.get("name") == "viewport":
            self.viewport = a.get("content")
        elif tag == "label":
            self.open_labels += 1
            if "for" in a:
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a, "in_label": self.open_labels > 0})
        elif tag in ("button", "summary"):
            control = {"tag": tag, **a, "text": ""}
            self.controls.append(control)
            self.button = control

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1
        elif tag in ("button", "summary"):
            self.button = None

    def handle_data(self, data):
        if self.button is not None:
            self.button["text"] += data.strip()

    def unlabelled(self) -> list[dict]:
        return [
            c
            for c in self.controls
            if not (
                c.get("aria-label") or c.get("text") or c.get("in_label") or c.get("id") in self.label_for
            )
        ]


def parse(html: str) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser


def test_it_serves_a_japanese_start_page_for_phones(client):
    response = client.get("/")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.html_lang == "ja"
    assert page.viewport.startswith("width=device-width")
    html = response.get_data(as_text=True)
    assert "練習をえらぶ" in html and "グループを作る" in html
    for key, lesson in LESSONS.items():
        where = "one-to-one" if lesson.one_to_one else "lessons"
        assert f'action="/simulator/{where}/{key}"' in html
    assert page.unlabelled() == []


def test_it_labels_every_control_of_a_group_page(client):
    html = client.get(create_group(client)).get_data(as_text=True)
    page = parse(html)
    assert page.unlabelled() == []
    tags = [c["tag"] for c in page.controls]
    assert tags.count("input") >= 5  # three people, the message box, a new member...
    assert "<legend>いま操作している人</legend>" in html
    assert html.count('type="radio" name="actor"') == 3
    assert 'src="/static/simulator/chat.js"' in html and "cdn" not in html.lower()


def test_it_counts_the_group_the_same_everywhere(client):
    """The header and the group lists both count the bot, as LINE's header does."""
    first = create_group(client, name="みどり町内会")
    html = client.get(create_group(client, name="あおば会")).get_data(as_text=True)
    assert 'あおば会<span class="count">（4）</span>' in html
    assert "みどり町内会（4）" in html
    assert "（3人" not in html
    assert first != create_group(client)


def test_it_creates_a_group_with_its_members_then_invites_the_bot(app, client):
    location = create_group(client, members="佐藤花子、鈴木一郎\n\n佐藤花子\n田中次郎")
    platform = app.extensions["line_emulator"]
    [group] = platform.groups()
    assert group["bot_in_group"] and group["name"] == "みどり町内会"
    assert [m["display_name"] for m in platform.members(group["group_id"])] == [
        "佐藤花子",
        "鈴木一郎",
        "田中次郎",
    ]
    # One join event, after the members: the bot greets the whole group once.
    assert [e["type"] for e in platform.delivered_events()] == ["join"]
    hanako = platform.members(group["group_id"])[0]["user_id"]
    assert location == f"/simulator/groups/{group['group_id']}?as={hanako}"
    assert f'value="{hanako}" data-name="佐藤花子" checked' in client.get(location).get_data(as_text=True)


def test_it_opens_the_start_page_and_says_when_a_group_is_unknown(app, client):
    create_group(client)
    start = client.get("/").get_data(as_text=True)
    assert "つながりを試してみましょう" in start and "みどり町内会" in start  # listed, not opened
    old_link = client.get("/?group=Cnope")
    assert old_link.status_code == 303 and old_link.headers["Location"] == "/simulator/groups/Cnope"
    unknown = client.get("/simulator/groups/Cnope")
    assert unknown.status_code == 404
    assert "そのグループは見つかりません" in unknown.get_data(as_text=True)
    assert client.get("/simulator/groups/Cnope/state").status_code == 404
    assert client.post("/simulator/groups/Cnope/clock", json={"advance": "3h"}).status_code == 404


def test_it_adds_a_member_and_refuses_bad_names(app, client):
    create_group(client, members="佐藤花子")
    platform = app.extensions["line_emulator"]
    group_id = platform.groups()[0]["group_id"]
    response = client.post(f"/simulator/groups/{group_id}/members", data={"name": " 山田一子 "})
    assert response.status_code == 303
    assert [m["display_name"] for m in platform.members(group_id)] == ["佐藤花子", "山田一子"]
    assert platform.delivered_events()[-1]["type"] == "memberJoined"

    again = client.post(f"/simulator/groups/{group_id}/members", data={"name": "山田一子"})
    assert again.status_code == 400 and "すでにこのグループにいます" in again.get_data(as_text=True)
    long = client.post(f"/simulator/groups/{group_id}/members", data={"name": "あ" * 21})
    assert long.status_code == 400 and "20文字まで" in long.get_data(as_text=True)
    assert client.post("/simulator/groups/Cnope/members", data={"name": "誰か"}).status_code == 404
    assert len(platform.members(group_id)) == 2


def test_it_is_the_same_person_in_two_groups(app, client):
    create_group(client, members="佐藤花子", name="みどり町内会")
    create_group(client, members="佐藤花子", name="あおば会")
    platform = app.extensions["line_emulator"]
    assert [u["display_name"] for u in platform.users()] == ["佐藤花子"]
    assert [g["name"] for g in platform.groups()] == ["みどり町内会", "あおば会"]


def group_of(location: str) -> str:
    return location.split("/")[3].split("?")[0]


@pytest.mark.parametrize("key", GROUP_LESSONS)
def test_it_starts_each_lesson_in_a_fresh_group(app, client, key):
    platform = app.extensions["line_emulator"]
    first = group_of(client.post(f"/simulator/lessons/{key}").headers["Location"])
    second = group_of(client.post(f"/simulator/lessons/{key}").headers["Location"])
    assert first != second
    assert [m["display_name"] for m in platform.members(second)] == list(PERSONAS)
    state = client.get(f"/simulator/groups/{second}/state").get_json()
    assert state["lesson"]["lesson"] == key and state["lesson"]["current"] == "join"
    assert [learner["display_name"] for learner in state["lesson"]["learners"]] == list(PERSONAS)
    html = client.get(f"/simulator/groups/{second}").get_data(as_text=True)
    assert 'id="lesson-steps"' in html and 'id="next-bar"' in html
    assert client.get(f"/simulator/lessons/{key}/handout").status_code == 200


def test_it_starts_again_in_a_fresh_group_and_leaves_the_old_one(app, client):
    platform = app.extensions["line_emulator"]
    old = group_of(client.post("/simulator/lessons/basics").headers["Location"])
    response = client.post(f"/simulator/groups/{old}/reset", data={"as": ""})
    assert response.status_code == 303
    new = group_of(response.headers["Location"])
    assert new != old
    assert [g["group_id"] for g in platform.groups() if g["bot_in_group"]] == [new]
    assert platform.members(new) == platform.members(old)
    with connected():
        assert group_clock.record(new).lesson == "basics"
    assert client.get(f"/simulator/groups/{old}").status_code == 404


def test_it_refuses_the_clock_without_demo_clock(make_app):
    app = make_app(demo_clock=False)
    client = app.test_client()
    group_id = group_of(create_group(client))
    response = client.post(f"/simulator/groups/{group_id}/clock", json={"advance": "23h"})
    assert response.status_code == 403
    assert "DEMO_CLOCK" in response.get_json()["error"]
    html = client.get(f"/simulator/groups/{group_id}").get_data(as_text=True)
    assert 'data-advance="23h"' not in html and "DEMO_CLOCK=1" in html


def test_it_moves_one_groups_clock(client):
    ours, theirs = group_of(create_group(client)), group_of(create_group(client))
    before = client.get(f"/simulator/groups/{ours}/state").get_json()
    assert before["clock"]["ahead"] == "" and before["clock"]["demo_clock"] is True

    response = client.post(f"/simulator/groups/{ours}/clock", json={"advance": "23h"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["advanced"] == 23 * 3600 and body["step"] == "23h"
    assert body["clock"]["ahead"] == "23時間"
    three = client.post(f"/simulator/groups/{ours}/clock", json={"advance": "3h"}).get_json()
    assert three["clock"]["ahead"] == "1日と2時間"
    morning = client.post(f"/simulator/groups/{ours}/clock", json={"advance": "next-morning"}).get_json()
    local = datetime.fromisoformat(morning["clock"]["now"]).astimezone(TOKYO)
    assert (local.hour, local.minute) == (9, 0)
    # The bot's own clock and the other group's did not move.
    assert client.get(f"/simulator/groups/{theirs}/state").get_json()["clock"]["ahead"] == ""
    assert client.get("/simulator/status").get_json()["clock"]["ahead"] == ""
    assert client.post(f"/simulator/groups/{ours}/clock", json={"advance": "-5h"}).status_code == 400
    assert (
        client.post(f"/simulator/groups/{ours}/clock", data={"advance": "23h"}).status_code == 400
    )  # JSON only


def test_it_checks_what_a_chat_pane_sends(app, client):
    platform = app.extensions["line_emulator"]
    group_id = group_of(create_group(client))
    hanako = platform.members(group_id)[0]["user_id"]
    ok = client.post(f"/simulator/chats/{group_id}/text", json={"user_id": hanako, "text": "こんにちは"})
    assert ok.status_code == 200
    timeline = client.get(f"/simulator/chats/{group_id}/timeline?after=0").get_json()["items"]
    assert timeline[-1]["message"]["text"] == "こんにちは"
    assert (
        client.post(f"/simulator/chats/{group_id}/text", json={"user_id": hanako, "text": ""}).status_code
        == 400
    )
    assert client.post(f"/simulator/chats/{group_id}/text", data="x").status_code == 400
    assert client.post(f"/simulator/chats/{group_id}/text", json={"text": "x"}).status_code == 400
    stranger = platform.add_user("山田一子")
    assert (
        client.post(f"/simulator/chats/{group_id}/text", json={"user_id": stranger, "text": "x"}).status_code
        == 403
    )
    assert (
        client.post("/simulator/chats/Cnope/postback", json={"user_id": hanako, "data": "a=join"}).status_code
        == 404
    )
    assert client.get(f"/simulator/chats/{group_id}/timeline?after=zz").status_code == 200


def test_it_needs_a_summary_before_reading_it(app, client):
    platform = app.extensions["line_emulator"]
    group_id = group_of(client.post("/simulator/lessons/basics").headers["Location"])
    hanako = platform.members(group_id)[0]["user_id"]
    assert client.post(f"/simulator/groups/{group_id}/read", json={"user_id": hanako}).status_code == 409
    assert client.post(f"/simulator/groups/{group_id}/read", json={"user_id": "Unobody"}).status_code == 400
    assert client.post(f"/simulator/groups/{group_id}/quake").status_code == 409  # no bot here, no area


def test_it_keeps_the_emulator_state_across_restarts(make_app):
    first = make_app()
    location = create_group(first.test_client())
    platform = first.extensions["line_emulator"]
    [group] = platform.groups()
    hanako = platform.members(group["group_id"])[0]["user_id"]
    platform.send_text(group["group_id"], hanako, "こんにちは")

    second = make_app()  # as after Ctrl-C and `make run` again
    restored = second.extensions["line_emulator"]
    assert restored is not platform
    assert restored.groups() == platform.groups()
    assert restored.members(group["group_id"]) == platform.members(group["group_id"])
    assert [i["message"] for i in restored.timeline(group["group_id"])] == [
        i["message"] for i in platform.timeline(group["group_id"])
    ]
    html = second.test_client().get(location).get_data(as_text=True)
    assert "みどり町内会" in html and "佐藤花子" in html


def test_it_mounts_the_emulator_and_keeps_healthz(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    assert client.get("/line-api/_sim/groups").get_json() == {"groups": []}
    assert client.get("/static/simulator/chat.js").status_code == 200
    # The LINE API itself still wants the bot's token.
    assert client.get("/line-api/v2/bot/info").status_code == 401
    assert client.get("/static/simulator/simulator.css").status_code == 200


def test_it_is_only_for_the_emulator(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", emulator=False)
    with pytest.raises(ValueError, match="emulator"):
        create_local_app(settings, BASE)


@pytest.mark.parametrize(
    "total, verdicts",
    [
        (0, [True, True, True]),
        (200, [True, True, True]),
        (201, [False, True, True]),
        (31_000, [False, False, False]),
    ],
)
def test_it_measures_the_month_against_line_plans(total, verdicts):
    rows = plan_rows(total)
    assert [r["name"] for r in rows] == ["コミュニケーションプラン", "ライトプラン", "スタンダードプラン"]
    assert [r["fits"] for r in rows] == verdicts


def test_it_prices_messages_beyond_the_standard_plan():
    free, light, standard = plan_rows(31_000)
    assert free["verdict"] == "超えています（200通を超えると送れません）"
    assert standard["verdict"] == "超えています（合計 約18,000円）"  # 15,000 + 1,000 x 3
    assert plan_rows(150)[0]["verdict"] == "収まります（あと50通）"


@pytest.mark.parametrize(
    "local, hours",
    [
        ((8, 0), 1),
        ((9, 0), 24),
        ((23, 30), 9.5),
        ((0, 0), 9),
    ],
)
def test_it_finds_the_next_morning(local, hours):
    now = datetime(2026, 6, 1, *local, tzinfo=TOKYO).astimezone(UTC)
    assert seconds_until_morning(now, TOKYO) == hours * 3600


def test_it_finds_the_next_morning_across_a_clock_change():
    new_york = ZoneInfo("America/New_York")
    # 2026-03-08: clocks go forward at 2:00, so that night is 23 hours long.
    now = datetime(2026, 3, 7, 9, 0, tzinfo=new_york)
    assert seconds_until_morning(now, new_york) == 23 * 3600


def test_it_says_how_far_the_clock_is_ahead():
    from datetime import timedelta

    assert format_offset(timedelta(0)) == ""
    assert format_offset(timedelta(hours=23)) == "23時間"
    assert format_offset(timedelta(days=1, hours=23, minutes=5)) == "1日と23時間と5分"


def test_it_prints_each_lesson_with_the_bots_own_screens(client):
    quake = client.get("/simulator/lessons/quake/handout").get_data(as_text=True)
    assert "@page" not in quake and "handout.css" in quake  # A4 print rules live in the stylesheet
    assert "【訓練】無事を確認しています" in quake and "二戸市で震度4の地震がありました。" in quake
    assert "出典：気象庁" in quake
    basics = client.get("/simulator/lessons/basics/handout").get_data(as_text=True)
    assert basics.count('class="h-step"') == len(LESSONS["basics"].steps)
    assert "無事ですか？" in basics and "田中次郎さんの無事がまだ確認できていません" in basics
    assert client.get("/simulator/lessons/nothing/handout").status_code == 404


def person_of(location: str) -> str:
    return location.split("/")[3].split("?")[0]


def test_it_starts_the_one_to_one_lesson_with_fresh_people(app, client):
    platform = app.extensions["line_emulator"]
    # The group lessons' form posts here too: it is sent on to the one-to-one page.
    moved = client.post("/simulator/lessons/watch")
    assert moved.status_code == 307 and moved.headers["Location"].endswith("/simulator/one-to-one/watch")
    first = person_of(client.post("/simulator/one-to-one/watch").headers["Location"])
    second = person_of(client.post("/simulator/one-to-one/watch").headers["Location"])
    assert first != second and first.startswith("U")
    state = client.get(f"/simulator/people/{second}/state").get_json()
    assert state["lesson"]["lesson"] == "watch" and state["lesson"]["current"] == "follow"
    assert [learner["display_name"] for learner in state["lesson"]["learners"]] == list(WATCH_PERSONAS)
    assert state["clock"]["ahead"] == ""
    html = client.get(f"/simulator/people/{second}").get_data(as_text=True)
    assert html.count('class="chat"') == 2 and 'id="lesson-steps"' in html
    # (The next step's button is hidden and gets its words from lesson.js.)
    assert [c for c in parse(html).unlabelled() if c.get("id") != "next-do"] == []
    assert client.get("/simulator/lessons/watch/handout").status_code == 200
    # A group lesson's form for a one-to-one lesson is refused in class mode's sense too.
    assert client.post("/simulator/one-to-one/basics").status_code == 404
    assert client.get("/simulator/people/Unobody").status_code == 404
    assert client.get("/simulator/people/Unobody/state").status_code == 404
    assert {u["user_id"] for u in platform.users()} >= {first, second}
    # The start page lists both; 「最初から」 on the first makes fresh people and the old ones block the bot.
    start = client.get("/").get_data(as_text=True)
    assert f"/simulator/people/{first}" in start and f"/simulator/people/{second}" in start
    third = person_of(client.post(f"/simulator/people/{first}/reset").headers["Location"])
    assert third not in (first, second)
    blocked = {u["user_id"] for u in platform.users() if u["blocked"]}
    assert first in blocked and second not in blocked
    start = client.get("/").get_data(as_text=True)
    assert f"/simulator/people/{first}" not in start and f"/simulator/people/{third}" in start


def test_it_lets_only_the_person_act_in_their_one_to_one_chat(app, client):
    person = person_of(client.post("/simulator/one-to-one/watch").headers["Location"])
    contact = client.get(f"/simulator/people/{person}/state").get_json()["lesson"]["learners"][1]["user_id"]
    as_other = client.post(f"/simulator/chats/{person}/text", json={"user_id": contact, "text": "こんにちは"})
    assert as_other.status_code == 403
    tap = client.post(f"/simulator/chats/{person}/postback", json={"user_id": contact, "data": "a=ws"})
    assert tap.status_code == 403
    own = client.post(f"/simulator/chats/{person}/text", json={"user_id": person, "text": "こんにちは"})
    assert own.status_code == 200
    platform = app.extensions["line_emulator"]
    assert [i["message"]["text"] for i in platform.timeline(person) if i["sender"] == "user"] == [
        "こんにちは"
    ]


def test_it_moves_a_persons_clock_by_the_watch_steps_only(make_app):
    client = make_app().test_client()
    person = person_of(client.post("/simulator/one-to-one/watch").headers["Location"])
    assert client.post(f"/simulator/people/{person}/clock", json={"advance": "23h"}).status_code == 400
    moved = client.post(f"/simulator/people/{person}/clock", json={"advance": "12h"})
    assert moved.status_code == 200 and moved.get_json()["advanced"] == 12 * 3600
    assert moved.get_json()["clock"]["ahead"] == "12時間"
    assert group_clock.offset(person).total_seconds() == 12 * 3600
    # No code yet: nothing to forward.
    assert client.post(f"/simulator/people/{person}/forward").status_code == 409
    frozen = make_app(demo_clock=False).test_client()
    assert frozen.post(f"/simulator/people/{person}/clock", json={"advance": "3h"}).status_code == 403
