"""A clock per simulated group (web/group_clock.py) and the lesson's drill
quake (web/quake_lesson.py), end to end: the real bot, the emulator, RQ and
the sweep, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.kinds import RoundKind, RoundStatus
from jobs.tasks import run_sweep
from models import DemoGroup, Group, Round, utc
from services import clock
from tests.support import HANAKO, ICHIRO, JIRO, setup_group
from web import group_clock, quake_lesson

SUMMARY = "の無事がまだ確認できていません"


def summary_of(world, group_id: str) -> str:
    """The newest summary's words (its claim buttons follow in a message of their own)."""
    return next(t for t in reversed(world.bot_texts(group_id)) if "お声がけをお願いします" in t)


def round_of(group_id: str) -> Round:
    group = Group.get(Group.line_group_id == group_id)
    return Round.select().where(Round.group == group).order_by(Round.id.desc()).get()


def advance(world, group_id: str, step: str) -> int:
    def sweep():
        counts = run_sweep()
        world.work()
        return counts

    return group_clock.advance(group_id, step, world.settings.tz, sweep)


def test_it_moves_one_groups_clock_and_fires_only_its_summary(world):
    ours, theirs = setup_group(world), setup_group(world)
    for group_id in (ours, theirs):
        world.say(group_id, HANAKO, "/確認")
        world.tap(group_id, ICHIRO, "OK")
    before = round_of(ours)

    assert advance(world, ours, "23h") == 23 * 3600

    summary = summary_of(world, ours)
    assert SUMMARY in summary and "田中次郎さん" in summary
    assert round_of(ours).status == RoundStatus.CLOSED
    # The other class's round is untouched: still open, due in 23 real hours.
    assert round_of(theirs).status == RoundStatus.OPEN
    assert not any(SUMMARY in text for text in world.bot_texts(theirs))
    assert group_clock.offset(theirs) == timedelta(0)
    # Our group's history moved with it: its round opened 23 hours ago, in its time.
    moved = round_of(ours)
    assert utc(before.opened_at) - utc(moved.opened_at) == timedelta(hours=23)
    assert group_clock.offset(ours) == timedelta(hours=23)
    ahead = group_clock.now(ours) - clock.now()
    assert timedelta(hours=23) - timedelta(seconds=1) < ahead <= timedelta(hours=23)


def test_it_brings_the_scheduled_check_on_the_groups_own_morning(world):
    tz = world.settings.tz
    ours, theirs = setup_group(world, "毎日 9:00"), setup_group(world, "毎日 9:00")
    # To this morning's (or tomorrow's) 9:00 first, whatever the real time of
    # day: a 3h step from 6:00-9:00 would open the day's round late, and its
    # summary would still be due when the next morning's check comes.
    advance(world, ours, "next-morning")
    advance(world, ours, "3h")  # an offset that is not whole days
    prompts = len(world.prompts(ours))

    advance(world, ours, "next-morning")

    assert len(world.prompts(ours)) == prompts + 1
    local = group_clock.now(ours).astimezone(tz)
    assert (local.hour, local.minute) == (9, 0)
    # The next check is tomorrow at 9:00 in the group's time, not the bot's.
    group = Group.get(Group.line_group_id == ours)
    following = (utc(group.next_round_at) + group_clock.offset(ours)).astimezone(tz)
    assert (following.date() - local.date(), following.hour, following.minute) == (timedelta(days=1), 9, 0)
    assert world.prompts(theirs) == []


def test_it_starts_the_drill_quake_in_its_group_only(world):
    ours, theirs = setup_group(world), setup_group(world)
    for group_id in (ours, theirs):
        world.say(group_id, HANAKO, f"/地域 {quake_lesson.AREA_NAME} 震度4")

    round_id = quake_lesson.start_drill(ours, group_clock.now(ours), world.settings)
    run_sweep()
    world.work()

    drill = Round.get_by_id(round_id)
    assert drill.kind == RoundKind.DRILL and drill.event_id is None
    prompt = " ".join(world.bot_texts(ours)[-1:])
    assert prompt.startswith("【訓練】無事を確認しています")
    assert "二戸市で震度4の地震がありました。" in prompt
    assert Round.select().join(Group).where(Group.line_group_id == theirs).count() == 0

    world.tap(ours, ICHIRO, "助けが必要")
    assert any(
        "【訓練】佐藤花子さんへ：鈴木一郎さんが「助けが必要」を押しました" in text
        for text in world.bot_texts(ours)
    )
    advance(world, ours, "3h")
    summary = summary_of(world, ours)
    assert summary.startswith("【訓練】") and "助けが必要な方：鈴木一郎さん" in summary
    assert f"{JIRO}さん" in summary


def test_it_asks_for_an_area_before_the_drill_quake(world):
    group_id = setup_group(world)
    with pytest.raises(quake_lesson.NotReady):
        quake_lesson.start_drill(group_id, group_clock.now(group_id), world.settings)
    assert Round.select().count() == 0


def test_it_reads_the_real_telegram_from_the_apps_own_data():
    telegram = quake_lesson.lesson_telegram()
    assert quake_lesson.TELEGRAM_FILE.parent.name == "jma-lesson"
    assert telegram.is_real and telegram.type_code == "VXSE53"
    assert telegram.cities["0321300"] == quake_lesson.THRESHOLD  # 二戸市, 震度4
    assert (quake_lesson.DATA_DIR / "README.md").read_text().count("CC BY 4.0") == 1


def test_it_hands_the_old_global_offset_to_each_group(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    due = utc(round_of(group_id).summary_due_at)
    clock.advance(5 * 3600)  # what older simulators did to the bot's one clock
    seen_before = group_clock.now(group_id)

    assert group_clock.retire_global_offset() == 5 * 3600

    assert clock.offset() == timedelta(0)
    assert group_clock.offset(group_id) == timedelta(hours=5)
    assert utc(round_of(group_id).summary_due_at) == due - timedelta(hours=5)
    # The group's time goes on where it was.
    assert abs((group_clock.now(group_id) - seen_before).total_seconds()) < 5
    assert group_clock.retire_global_offset() == 0


def test_it_only_moves_forward():
    with pytest.raises(ValueError):
        group_clock.shift("Cwhatever", 0)


def test_it_creates_the_record_once(world):
    group_id = setup_group(world)
    group_clock.ensure(group_id, lesson="basics")
    group_clock.ensure(group_id)
    assert DemoGroup.select().where(DemoGroup.line_group_id == group_id).count() == 1
    assert group_clock.record(group_id).lesson == "basics"
