"""A watched person's own clock in the simulator (web/group_clock.py's
WATCH_SHIFTS), end to end: the real bot, the emulator, RQ and the sweep.
One person's 3h / 12h / next-morning steps bring their check, its resend
and their contact's escalation, and nobody else's; /状況 in a simulated
group tells the group's own time."""

from __future__ import annotations

from datetime import timedelta

from jobs.tasks import run_sweep
from models import Escalation, Group, Watch, WatchCheck, utc
from tests.support import HANAKO, ICHIRO, JIRO, setup_group
from web import group_clock

RESEND = "もう一度お聞きします"
TOLD = "さんからお返事がありません"
CHECK = "さん、お変わりありませんか？"


def advance(world, chat_id: str, step: str) -> int:
    def sweep():
        counts = run_sweep()
        world.work()
        return counts

    return group_clock.advance(chat_id, step, world.settings.tz, sweep)


def start_watch(world, person: str, contact: str) -> str:
    world.follow(person)
    world.tap_one_to_one(person, "見守りをはじめる")
    world.tap_one_to_one(person, "毎日 9:00")
    world.link_contact(person, contact)
    return world.user(person)


def checks_of(user_id: str) -> list[WatchCheck]:
    return list(
        WatchCheck.select().where(WatchCheck.watch == group_clock.watch_of(user_id)).order_by(WatchCheck.id)
    )


def test_it_resends_and_tells_the_contact_in_one_persons_chat_only(world):
    tz = world.settings.tz
    world.tick()
    ours = start_watch(world, HANAKO, ICHIRO)
    theirs = start_watch(world, JIRO, ICHIRO)
    theirs_next = utc(Watch.get(Watch.person == group_clock.watch_of(theirs).person).next_check_at)

    advance(world, ours, "next-morning")
    assert CHECK in world.chat_texts(HANAKO)[-1]
    local = group_clock.now(ours).astimezone(tz)
    assert (local.hour, local.minute) == (9, 0)
    # The next check is tomorrow at 9:00 in the person's own time.
    following = (utc(group_clock.watch_of(ours).next_check_at) + group_clock.offset(ours)).astimezone(tz)
    assert (following.date() - local.date(), following.hour) == (timedelta(days=1), 9)

    advance(world, ours, "3h")
    resend = world.chat_texts(HANAKO)[-1]
    assert RESEND in resend
    # The times it tells are the person's: the contacts hear at 21:00 (9:00 + 12h).
    assert "21時00分ごろまでにOKがないときは" in resend
    assert not any(TOLD in text for text in world.chat_texts(ICHIRO))

    advance(world, ours, "12h")
    told = world.chat_texts(ICHIRO)[-1]
    assert f"佐藤花子{TOLD}" in told and "9時00分の見守りの確認に" in told
    [escalation] = Escalation.select()
    assert escalation.watch_id == group_clock.watch_of(ours).id

    # 田中次郎's watch did not move: no check, no resend, nothing to his contact.
    assert checks_of(theirs) == []
    assert not any(CHECK in text or RESEND in text for text in world.chat_texts(JIRO))
    assert not any(f"田中次郎{TOLD}" in text for text in world.chat_texts(ICHIRO))
    assert group_clock.offset(theirs) == timedelta(0)
    assert utc(group_clock.watch_of(theirs).next_check_at) == theirs_next


def test_it_does_not_resend_before_three_hours_nor_tell_before_twelve(world):
    world.tick()
    ours = start_watch(world, HANAKO, ICHIRO)
    advance(world, ours, "next-morning")
    [check] = checks_of(ours)
    # Its deadlines moved with the person's clock and are still ahead.
    opened = utc(check.opened_at)
    assert utc(check.resend_due_at) - opened == timedelta(hours=3)
    assert utc(check.escalate_due_at) - opened == timedelta(hours=12)

    world.tick()
    assert not any(RESEND in text for text in world.chat_texts(HANAKO))
    advance(world, ours, "3h")
    advance(world, ours, "3h")  # six hours after the check: resent once, nobody told yet
    assert sum(RESEND in text for text in world.chat_texts(HANAKO)) == 1
    assert Escalation.select().count() == 0
    # The person answers: nothing reaches the contact, however far the clock goes.
    world.tap_one_to_one(HANAKO, "OK")
    advance(world, ours, "12h")
    assert Escalation.select().count() == 0
    assert not any(TOLD in text for text in world.chat_texts(ICHIRO))


def test_it_tells_the_status_in_the_groups_own_time(world):
    tz = world.settings.tz
    group_id = setup_group(world, "毎日 9:00")
    advance(world, group_id, "next-morning")
    advance(world, group_id, "3h")  # 12:00 in the group: the next check is tomorrow 9:00 there

    world.say(group_id, HANAKO, "/状況")

    group = Group.get(Group.line_group_id == group_id)
    due = (utc(group.next_round_at) + group_clock.offset(group_id)).astimezone(tz)
    assert (due.hour, due.minute) == (9, 0)
    status = world.last_text(group_id)
    assert f"{due.month}月{due.day}日" in status and "9:00" in status
    # The same group set again: the next check it names is on its own clock.
    world.say(group_id, HANAKO, "/設定 毎日 15:00")
    reply = world.last_text(group_id)
    today = group_clock.now(group_id).astimezone(tz)
    assert f"{today.month}月{today.day}日" in reply and "15:00" in reply
