"""After the summary, end to end on both databases: someone goes to the
door.  Claims (and their race), outcomes told once, the reminder to leaders,
連絡がつかない to the leaders at once, a late OK from the person themselves,
names for the leaders only, the 名簿 without LINE, absences across midnight
JST, and counts that add up."""

from __future__ import annotations

import threading
from datetime import timedelta

from domain import postback as codec
from domain.followups import Verdict
from domain.kinds import FollowUpKind, FollowUpOutcome, FollowUpState, NamesAudience
from models import FollowUp, Member, Outbox, Person, db
from services import clock, followups
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions, setup_group, texts_of

HOUR = 3600
CLAIM_JIRO = "田中次郎さんを確認します"


def summary_of(world, group_id) -> str:
    """The newest summary's text."""
    return next(
        text
        for text in reversed(world.bot_texts(group_id))
        if any(words in text for words in ("確認できていません", "確認できました", "確認のまとめ"))
    )


def direct_texts(world, name) -> list[str]:
    """What the bot sent to ``name``'s one-to-one chat."""
    return [" ".join(texts_of(item["message"])) for item in world.line.timeline(world.user(name))]


def labels(item) -> list[str]:
    return [a["label"] for a in postback_actions(item["message"])]


def befriend(world, name) -> None:
    world.line.follow(world.user(name))
    world.work()


def summary_with_jiro_silent(world, group_id) -> None:
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, HANAKO, "OK")
    world.tap(group_id, ICHIRO, "OK")
    world.advance(23 * HOUR)
    world.tick()


def test_a_neighbour_claims_a_follow_up_and_the_outcome_is_told_once(world):
    group_id = setup_group(world)
    summary_with_jiro_silent(world, group_id)
    assert summary_of(world, group_id).endswith("確認に行ける方は、下のボタンを押してください。")

    world.tap(group_id, ICHIRO, CLAIM_JIRO)
    claimed = world.bot_items(group_id)[-1]
    assert claimed["via"] == "reply"
    assert "鈴木一郎さんが田中次郎さんを確認します" in world.last_text(group_id)
    assert labels(claimed) == ["無事でした", "連絡がつかない", "助けが必要だった"]

    world.tap(group_id, HANAKO, CLAIM_JIRO)  # a second claim: told who has it
    assert (
        world.last_text(group_id)
        == "田中次郎さんは、鈴木一郎さんが確認に向かっています。ありがとうございます。"
    )

    world.tap(group_id, ICHIRO, "無事でした")
    assert (
        world.last_text(group_id)
        == "鈴木一郎さんが田中次郎さんの無事を確認しました。ありがとうございました。"
    )
    world.tap(group_id, ICHIRO, "無事でした", message=claimed["message"])
    assert "記録済みです（無事でした）" in world.last_text(group_id)

    follow_up = FollowUp.get()
    ichiro = Member.get(Member.person == Person.get(Person.display_name == ICHIRO))
    assert (follow_up.kind, follow_up.state, follow_up.outcome) == ("unanswered", "done", "safe")
    assert follow_up.claimed_by_id == follow_up.outcome_by_id == ichiro.id
    assert follow_up.claimed_at is not None and follow_up.outcome_at >= follow_up.claimed_at
    assert world.line.usage()["total"] == 3  # only the summary was pushed; the rest are replies


def test_only_the_first_of_two_simultaneous_claims_wins(world):
    group_id = setup_group(world)
    summary_with_jiro_silent(world, group_id)
    follow_up = FollowUp.get()
    claimers = [Member.get(Member.person == Person.get(Person.display_name == n)) for n in (HANAKO, ICHIRO)]
    barrier = threading.Barrier(2)
    verdicts = []

    def tap(member):
        with db.connection_context():
            barrier.wait()
            with db.atomic():
                verdicts.append(followups.claim(follow_up, member, clock.now())[0])

    threads = [threading.Thread(target=tap, args=(m,)) for m in claimers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(verdicts) == sorted([Verdict.DONE, Verdict.TAKEN])
    assert FollowUp.get().claimed_by_id in {m.id for m in claimers}


def test_it_raises_an_unclaimed_follow_up_once_to_the_leaders(world):
    group_id = setup_group(world)
    befriend(world, HANAKO)
    greeting = len(world.line.timeline(world.user(HANAKO)))  # what a new friend is told
    summary_with_jiro_silent(world, group_id)
    group_texts, usage = len(world.bot_items(group_id)), world.line.usage()["total"]

    world.advance(3 * HOUR - 60)
    world.tick()
    assert direct_texts(world, HANAKO)[greeting:] == []  # not yet
    world.advance(61)
    world.tick()
    [reminder, buttons] = world.line.timeline(world.user(HANAKO))[greeting:]
    assert reminder["via"] == "push"
    assert "まだどなたも確認に向かっていない方がいます：田中次郎さん" in reminder["message"]["text"]
    assert labels(buttons) == [CLAIM_JIRO]
    assert len(world.bot_items(group_id)) == group_texts  # the group is not asked again
    assert world.line.usage()["total"] == usage + 1  # one message to one leader

    world.advance(6 * HOUR)
    world.tick()
    assert len(world.line.timeline(world.user(HANAKO))) == greeting + 2  # once
    assert FollowUp.get().reminded_at is not None


def test_with_no_leader_to_reach_the_reminder_goes_to_the_group(world):
    group_id = setup_group(world)
    summary_with_jiro_silent(world, group_id)
    world.advance(3 * HOUR)
    world.tick()
    text = world.bot_texts(group_id)[-2]
    assert text.startswith(
        "【確認のお願い】佐藤花子さんへ：まだどなたも確認に向かっていない方がいます：田中次郎さん"
    )
    assert labels(world.bot_items(group_id)[-1]) == [CLAIM_JIRO]


def test_unreachable_tells_the_leaders_at_once_and_a_late_ok_closes_it(world):
    group_id = setup_group(world)
    befriend(world, HANAKO)
    summary_with_jiro_silent(world, group_id)
    world.tap(group_id, ICHIRO, CLAIM_JIRO)
    world.tap(group_id, ICHIRO, "連絡がつかない")
    assert world.last_text(group_id) == (
        "鈴木一郎さんより：田中次郎さんに連絡がつきませんでした。佐藤花子さんにお知らせしました。"
    )
    alert = world.line.timeline(world.user(HANAKO))[-1]
    assert alert["via"] == "push" and "田中次郎さんに連絡がつきません" in " ".join(texts_of(alert["message"]))
    assert labels(alert) == ["無事でした", "助けが必要だった"]
    follow_up = FollowUp.get()
    assert follow_up.state == "escalated" and follow_up.unreachable_at is not None

    world.say(group_id, JIRO, "すみません、元気です")  # the person themselves, late
    reply = world.last_text(group_id)
    assert "田中次郎さんご本人から連絡がありました。田中次郎さんの確認はこれで終わりです。" in reply
    assert "鈴木一郎さん、ありがとうございました。" in reply
    follow_up = FollowUp.get()
    assert (follow_up.state, follow_up.outcome) == (
        "done",
        "self-ok",
    ) and follow_up.unreachable_at is not None


def test_a_late_ok_on_the_old_prompt_closes_the_follow_up(world):
    group_id = setup_group(world)
    summary_with_jiro_silent(world, group_id)
    world.tap(group_id, JIRO, "OK", world.prompt_message(group_id))
    assert "田中次郎さんご本人から連絡がありました" in world.last_text(group_id)
    assert FollowUp.get().outcome == FollowUpOutcome.SELF_OK


def test_a_claim_carries_over_to_the_next_summary(world):
    group_id = setup_group(world)
    summary_with_jiro_silent(world, group_id)
    world.tap(group_id, ICHIRO, CLAIM_JIRO)
    claimed = world.bot_items(group_id)[-1]
    summary_with_jiro_silent(world, group_id)  # the next day: still silent
    assert "田中次郎さん（鈴木一郎さんが確認中）の無事がまだ確認できていません" in summary_of(world, group_id)
    first, second = FollowUp.select().order_by(FollowUp.id)
    assert (first.outcome, first.superseded_by_id) == ("superseded", second.id)
    assert (second.state, second.claimed_by_id) == ("claimed", first.claimed_by_id)
    world.tap(group_id, ICHIRO, "無事でした", message=claimed["message"])  # yesterday's buttons still work
    assert FollowUp.get_by_id(second.id).outcome == FollowUpOutcome.SAFE


def test_names_go_to_the_leaders_only_when_the_group_wants_that(world):
    group_id = setup_group(world)
    befriend(world, HANAKO)
    world.say(group_id, HANAKO, "/設定 名前 リーダーだけ")
    summary_with_jiro_silent(world, group_id)
    group_summary = summary_of(world, group_id)
    assert group_summary.startswith(
        "確認のまとめです。まだ確認できていない方には、リーダーの方からお声がけします。"
    )
    assert "参加3人：無事 2人・まだ 1人" in group_summary
    assert not any(JIRO in text for text in world.bot_texts(group_id)[-2:])
    private, buttons = world.line.timeline(world.user(HANAKO))[-2:]
    assert private["via"] == "push" and private["message"]["text"].startswith(
        "【確認のまとめ】お名前はリーダーの方だけにお送りしています。"
    )
    assert "田中次郎さんの無事がまだ確認できていません" in private["message"]["text"]
    assert labels(buttons) == [CLAIM_JIRO]
    assert world.line.usage()["total"] == 3 + 1  # the group's counts, and one leader
    assert FollowUp.get().shown_to == NamesAudience.LEADERS


def test_names_are_never_lost_while_no_leader_can_receive_them(world):
    group_id = setup_group(world)  # 佐藤花子 has not added the bot as a friend
    world.say(group_id, HANAKO, "/設定 名前 リーダーだけ")
    reply = world.last_text(group_id)
    assert "佐藤花子さんはまだ「つながり」と友だちになっていません" in reply
    summary_with_jiro_silent(world, group_id)
    summary = summary_of(world, group_id)
    assert summary.startswith("田中次郎さんの無事がまだ確認できていません")
    assert "佐藤花子さんがまだ「つながり」と友だちになっていないため、グループにお送りしています" in summary
    assert labels(world.bot_items(group_id)[-1]) == [CLAIM_JIRO]
    assert FollowUp.get().shown_to == NamesAudience.GROUP


def test_people_without_line_are_in_every_summary_until_a_neighbour_confirms_them(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/名簿 追加 高橋ウメ")
    for _ in ("the first day", "the next"):
        world.say(group_id, HANAKO, "/確認")
        for name in (HANAKO, ICHIRO, JIRO):
            world.tap(group_id, name, "OK")
        world.advance(23 * HOUR)
        world.tick()
        summary = summary_of(world, group_id)
        assert summary.startswith("高橋ウメさん（LINEなし）の無事がまだ確認できていません")
        assert "参加3人：無事 3人・まだ 0人／LINEなしの方 1人" in summary
        world.tap(group_id, ICHIRO, "高橋ウメさん（LINEなし）を確認します")
        world.tap(group_id, ICHIRO, "無事でした")
        assert "鈴木一郎さんが高橋ウメさん（LINEなし）の無事を確認しました" in world.last_text(group_id)
        world.advance(HOUR)
    done = list(FollowUp.select().order_by(FollowUp.id))
    assert [(f.kind, f.outcome, f.offline_member.name) for f in done] == [("offline", "safe", "高橋ウメ")] * 2


def _to_jst(world, hour: int, minute: int, second: int) -> None:
    """Move the demo clock to the next hour:minute:second JST."""
    now = clock.now().astimezone(world.settings.tz)
    target = now.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    world.advance((target - now).total_seconds())


def test_an_absence_ends_at_midnight_jst_and_counts_add_up(world):
    before = world.group(HANAKO, ICHIRO, JIRO, "山田太郎", name="まえの会")
    after = world.group(HANAKO, ICHIRO, JIRO, "山田太郎", name="あとの会")
    for group_id in (before, after):
        world.join(group_id, HANAKO, ICHIRO, JIRO)
        world.lead(group_id)
    _to_jst(world, 12, 0, 0)
    last_day = clock.now().astimezone(world.settings.tz).date()
    world.say(before, ICHIRO, f"/お休み {last_day.month}月{last_day.day}日まで")
    assert f"{last_day.month}月{last_day.day}日までお休みですね" in world.last_text(before)

    _to_jst(world, 23, 59, 30)  # the last day of the absence
    world.say(before, HANAKO, "/確認")
    world.advance(60)  # 0:00:30 the next day: the absence has ended
    world.say(after, HANAKO, "/確認")
    for group_id in (before, after):
        world.tap(group_id, HANAKO, "OK")
        world.say(group_id, JIRO, "助けて")
    world.advance(23 * HOUR)
    world.tick()

    asked_while_away = summary_of(world, before)
    assert asked_while_away.startswith("助けが必要な方：田中次郎さん\nほかの方の無事は確認できました。")
    assert f"お休み中：鈴木一郎さん（{last_day.month}月{last_day.day}日まで）" in asked_while_away
    assert "参加3人：無事 1人・助けが必要 1人・まだ 0人・お休み 1人" in asked_while_away
    assert "まだ「参加する」を押していない方が1人います" in asked_while_away  # 山田太郎: 4 in LINE, 3 joined

    asked_after = summary_of(world, after)
    assert asked_after.startswith(
        "助けが必要な方：田中次郎さん\n鈴木一郎さんの無事がまだ確認できていません。"
    )
    assert "参加3人：無事 1人・助けが必要 1人・まだ 1人" in asked_after and "お休み" not in asked_after
    # The 参加する invitation rides in the same push as the summary.
    assert labels(world.bot_items(after)[-1]) == ["参加する"]
    kinds = sorted((f.group.line_group_id == after, f.kind) for f in FollowUp.select())
    assert kinds == [(False, FollowUpKind.HELP), (True, FollowUpKind.HELP), (True, FollowUpKind.UNANSWERED)]


# -- a leader's one-to-one chat (the fast harness: the emulator has no 1:1 taps yet) ------
def test_a_leader_claims_and_records_from_their_one_to_one_chat(bot):
    group = bot.setup()
    bot.event("follow", None, HANAKO)  # 佐藤花子 adds the bot as a friend
    bot.say(group, HANAKO, "/設定 名前 リーダーだけ")
    bot.say(group, HANAKO, "/確認")
    bot.say(group, HANAKO, "OK")
    bot.say(group, ICHIRO, "OK")
    bot.advance(23 * HOUR)
    bot.sweep()
    follow_up = FollowUp.get()
    private = Outbox.get(Outbox.purpose == "leader-summary")
    assert (
        private.recipient == "user"
        and private.person.display_name == HANAKO
        and CLAIM_JIRO in private.messages
    )

    assert "佐藤花子さんが田中次郎さんを確認します" in bot.tap_direct(HANAKO, codec.Claim(follow_up.id))
    pushes = Outbox.select().where(Outbox.kind == "push").count()
    told = bot.tap_direct(HANAKO, codec.RecordOutcome(follow_up.id, FollowUpOutcome.SAFE))
    assert told == "佐藤花子さんが田中次郎さんの無事を確認しました。ありがとうございました。"
    assert Outbox.select().where(Outbox.kind == "push").count() == pushes  # the group never hears the name
    assert FollowUp.get().state == FollowUpState.DONE

    # Someone who is not in the group cannot act on its follow-ups.
    bot.event("follow", None, "山田太郎")
    assert "参加していないため" in bot.tap_direct("山田太郎", codec.Claim(follow_up.id))
