"""After a quake, end to end: the fake JMA feed publishes a telegram (a real
VXSE53 edited so 豊田市 felt 震度5強 just now), the bot polls it, and the
groups of that city — and only those — are asked once each whether they are
safe; answers, 助けが必要, the summary, 取消, aftershocks, the routine skip,
and the drill a leader runs with /訓練."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from zoneinfo import ZoneInfo

from domain.jma import JST
from models import Group, Round
from services import clock
from tests.fake_jma import TOYOTA, recent_telegram
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions

MINUTE = 61
HOUR = 3600
_names = count()


def quake_group(world, area: str, *, people=(HANAKO, ICHIRO, JIRO), name: str = "みどり町内会") -> str:
    group_id = world.group(*people, name=name)
    world.join(group_id, *people)
    world.lead(group_id, people[0])
    world.say(group_id, people[0], f"/地域 {area}")
    return group_id


def publish(world, fake_jma, shaking: str | None = "5+", *, ago: int = 120, **edits) -> object:
    """Publish a recent Aichi telegram with 豊田市 at ``shaking``, then let
    a minute pass and tick, so the bot polls it.  Returns the origin time."""
    origin = clock.now() - timedelta(seconds=ago)
    cities = {TOYOTA: shaking} if shaking else None
    body = recent_telegram(origin, city_max_int=cities, **edits)
    fake_jma.publish(f"2099{next(_names):010d}_0_VXSE53_010000.xml", body)
    world.advance(MINUTE)
    world.tick()
    return origin


def headline(origin, city: str = "豊田市", label: str = "震度5強") -> str:
    t = origin.astimezone(JST)
    return f"{t.month}月{t.day}日 {t.hour}時{t.minute}分ごろ、{city}で{label}の地震がありました。"


def emergency_prompts(world, group_id):
    return [p for p in world.prompts(group_id) if "助けが必要" in str(postback_actions(p["message"]))]


def test_it_asks_the_groups_of_the_shaken_city_and_only_them(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    toyota_paused = quake_group(world, "豊田市", people=(ICHIRO, JIRO), name="みどり第二")
    world.say(toyota_paused, ICHIRO, "/停止")  # pausing stops routine checks, not this
    tokai = quake_group(world, "東海市", name="東海の会")  # felt 震度3: below 5弱
    atsugi = quake_group(world, "厚木市", name="厚木の会")  # not in the telegram
    elsewhere = world.group(HANAKO, name="地域なし")  # no area set
    world.tick()
    pushes_before = len(world.pushes())

    origin = publish(world, fake_jma, "5+")
    for group_id in (toyota, toyota_paused):
        [prompt] = emergency_prompts(world, group_id)
        assert prompt["via"] == "push"
        text = " ".join(world.bot_texts(group_id)[-1:])
        assert f"{headline(origin)} 無事な方はOKを押してください。" in text
        assert [a["label"] for a in postback_actions(prompt["message"])] == ["OK（無事）", "助けが必要"]
    for group_id in (tokai, atsugi, elsewhere):
        assert world.prompts(group_id) == []
    assert len(world.pushes()) == pushes_before + 2  # one push per shaken group
    rounds = list(Round.select().where(Round.kind == "emergency"))
    assert sorted((r.event_id, r.intensity) for r in rounds) == [("20990101000000", "5+")] * 2

    # The same telegram listed again, or polled again, starts nothing more.
    world.advance(MINUTE)
    world.tick()
    assert [len(emergency_prompts(world, g)) for g in (toyota, toyota_paused)] == [1, 1]


def test_it_closes_an_open_routine_round_first_with_its_summary(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    world.say(toyota, HANAKO, "/設定 毎日 9:00")
    world.advance(24 * HOUR)
    world.tick()
    routine = Round.get(Round.kind == "routine")
    assert routine.status == "open"

    origin = publish(world, fake_jma, "5+")
    texts = world.bot_texts(toyota)
    assert "無事がまだ確認できていません" in texts[-3]  # the routine round's summary (and its buttons) ...
    assert headline(origin) in texts[-1]  # ... then the one prompt members answer
    assert Round.get_by_id(routine.id).status == "closed"
    assert Round.select().where(Round.status == "open").count() == 1


def test_it_hears_ok_and_help_and_sums_up_after_the_shorter_delay(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    publish(world, fake_jma, "6-")
    world.tap(toyota, ICHIRO, "OK（無事）")
    assert "鈴木一郎さん、ありがとうございます" in world.last_text(toyota)

    world.tap(toyota, JIRO, "助けが必要")
    alert, claim, next_steps = world.bot_items(toyota)[-3:]
    assert alert["via"] == claim["via"] == next_steps["via"] == "reply"
    assert "佐藤花子さんへ：田中次郎さんが「助けが必要」を押しました" in alert["message"]["text"]
    assert [a["label"] for a in postback_actions(claim["message"])] == ["田中次郎さんを確認します"]
    assert "リーダーの方にお伝えしました" in next_steps["message"]["text"]
    assert "119番" in next_steps["message"]["text"]
    world.say(toyota, HANAKO, "/状況")
    assert "助けが必要 1人" in world.last_text(toyota)

    world.advance(3 * HOUR - 2 * MINUTE)
    world.tick()
    assert Round.get(Round.kind == "emergency").status == "open"
    world.advance(2 * MINUTE)
    world.tick()
    summary = world.bot_items(toyota)[-2]
    assert summary["via"] == "push"
    # Who asked for help comes first, and is never counted as confirmed.
    assert summary["message"]["text"].startswith("助けが必要な方：田中次郎さん\n")
    assert "佐藤花子さんの無事がまだ確認できていません" in summary["message"]["text"]
    assert "参加3人：無事 1人・助けが必要 1人・まだ 1人" in summary["message"]["text"]


def test_it_corrects_a_round_when_jma_withdraws_the_report(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    tokai = quake_group(world, "東海市", name="東海の会")
    publish(world, fake_jma, "5+")
    tokai_before = world.bot_texts(tokai)

    publish(world, fake_jma, "5+", info_type="取消")
    correction = world.bot_items(toyota)[-1]
    assert correction["via"] == "push"
    assert correction["message"]["text"].startswith(
        "【訂正】先ほどお送りした地震のお知らせは、気象庁が取り消しました。"
    )
    assert "無事の確認はここで終わりにします" in correction["message"]["text"]
    assert Round.get(Round.kind == "emergency").status == "closed"
    assert world.bot_texts(tokai) == tokai_before  # it started nothing there

    world.advance(4 * HOUR)
    world.tick()
    assert world.bot_items(toyota)[-1] == correction  # no summary of a withdrawn quake


def test_it_follows_the_aftershock_rules(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    publish(world, fake_jma, "5+", event_id="20990101000000")
    assert len(emergency_prompts(world, toyota)) == 1

    # A later serial of the same event, stronger: still one round, but the
    # stronger shaking is what aftershocks are now compared with.
    publish(world, fake_jma, "6-", event_id="20990101000000", serial=2)
    assert len(emergency_prompts(world, toyota)) == 1
    assert Round.get(Round.kind == "emergency").intensity == "6-"

    publish(world, fake_jma, "5+", event_id="20990101010000")  # weaker aftershock within 6 h
    assert len(emergency_prompts(world, toyota)) == 1

    origin = publish(world, fake_jma, "6+", event_id="20990101020000")  # stronger: asked again
    prompts = emergency_prompts(world, toyota)
    assert len(prompts) == 2
    assert headline(origin, label="震度6強") in world.last_text(toyota)
    first, second = Round.select().where(Round.kind == "emergency").order_by(Round.id)
    assert (first.status, second.status) == ("closed", "open")  # one prompt open at a time

    world.advance(7 * HOUR)  # past the window: any event at the threshold asks again
    publish(world, fake_jma, "5-", event_id="20990101090000")
    assert len(emergency_prompts(world, toyota)) == 3


def test_it_skips_the_routine_round_within_twelve_hours_of_an_emergency(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    due = clock.now().astimezone(ZoneInfo("Asia/Tokyo")) + timedelta(hours=2)
    world.say(toyota, HANAKO, f"/設定 毎日 {due.hour}:{due.minute:02d}")
    publish(world, fake_jma, "5+")

    world.advance(3 * HOUR)  # the routine time passes 2 h after the emergency round
    world.tick()
    assert Round.select().where(Round.kind == "routine").count() == 0
    assert Group.get(Group.line_group_id == toyota).next_round_at is not None  # tomorrow's is kept

    world.advance(24 * HOUR)
    world.tick()
    assert Round.select().where(Round.kind == "routine").count() == 1


def test_it_ignores_jmas_own_drills(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    publish(world, fake_jma, "7", status="訓練")
    assert world.prompts(toyota) == []


def test_it_runs_a_drill_labelled_as_a_drill(quake_world, fake_jma):
    world = quake_world
    toyota = quake_group(world, "豊田市")
    world.say(toyota, HANAKO, "/訓練")
    prompt = world.bot_items(toyota)[-1]
    assert prompt["via"] == "reply"  # rides on the leader's command, free
    assert world.last_text(toyota).startswith("【訓練】無事を確認しています")
    ok, help_ = postback_actions(prompt["message"])
    assert (ok["displayText"], help_["displayText"]) == ("【訓練】OK（無事です）", "【訓練】助けが必要です")

    world.tap(toyota, JIRO, "助けが必要")
    alert, claim, next_steps = world.bot_texts(toyota)[-3:]
    assert alert.startswith("【訓練】佐藤花子さんへ") and next_steps.startswith("【訓練】")
    assert claim.startswith("【訓練】確認に行ける方は押してください")
    assert "119" not in next_steps  # nobody is told to call for help in a drill

    world.say(toyota, HANAKO, "/訓練")
    assert "いま確認中です" in world.last_text(toyota)
    world.advance(3 * HOUR)
    world.tick()
    summary = world.bot_texts(toyota)[-2]
    assert summary.startswith("【訓練】助けが必要な方：田中次郎さん")
    assert Round.get().kind == "drill" and Round.get().event_id is None
    assert world.line.usage()["total"] == 3  # only the summary was pushed
