"""見守り end to end, on both databases: the emulator's one-to-one chats ->
the webhook -> RQ -> LINE, with the emulator counting what each push costs.

follow -> start -> check -> resend -> escalate -> claim race -> outcome ->
late OK; the invitation's friend link from the bot's own info; blocking the
bot; /退会; and ``flask usage``."""

from __future__ import annotations

from datetime import timedelta

from peewee import fn

from domain.kinds import EscalationOutcome, EscalationState
from messages.flex import format_local
from models import Contact, Escalation, Invitation, Outbox, Person, Watch, WatchCheck
from services import clock
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions

HOUR = 3600


def to_nine(world) -> None:
    """Move the clock to just after the next 9:00 JST (the world runs on the
    real date) and run the scheduler's tick."""
    now = clock.now().astimezone(world.settings.tz)
    nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine <= now:
        nine += timedelta(days=1)
    world.advance((nine - now).total_seconds() + 1)
    world.tick()


def local_now(world) -> str:
    return format_local(clock.now().astimezone(world.settings.tz))


def user_pushes(world, name: str) -> list[dict]:
    return [r for r in world.pushes() if r["body"]["to"] == world.user(name)]


def test_the_whole_story(world):
    world.tick()  # the scheduler reads the bot's own account (its basic ID) at once
    world.follow(HANAKO)
    [greeting, _] = world.chat_items(HANAKO)
    assert greeting["via"] == "reply"
    assert world.line.usage()["total"] == 0  # greeted for free

    world.tap_one_to_one(HANAKO, "見守りをはじめる")
    world.tap_one_to_one(HANAKO, "毎日 9:00")
    assert "毎日 9:00 に確認をお送りします" in world.chat_texts(HANAKO)[-1]

    world.say_one_to_one(HANAKO, "/連絡先")
    invitation = world.chat_texts(HANAKO)[-1]
    basic_id = world.line.api_bot_info().body["basicId"]
    assert f"https://line.me/R/ti/p/%40{basic_id[1:]}" in invitation
    world.link_contact(HANAKO, ICHIRO)
    world.link_contact(HANAKO, JIRO)
    assert "連絡先になりました" in world.chat_texts(JIRO)[-1]
    assert (
        "田中次郎さんが、あなたの見守りの連絡先になってくださいました（連絡先 2人）"
        in world.chat_texts(HANAKO)[-1]
    )
    assert Contact.select().count() == 2

    to_nine(world)
    check = world.chat_items(HANAKO)[-1]
    assert check["via"] == "push" and "お変わりありませんか" in world.chat_texts(HANAKO)[-1]
    world.advance(3 * HOUR)
    world.tick()
    assert "もう一度お聞きします" in world.chat_texts(HANAKO)[-1]
    world.advance(9 * HOUR)
    world.tick()
    for contact in (ICHIRO, JIRO):
        told = world.chat_items(contact)[-1]
        assert told["via"] == "push" and "佐藤花子さんからお返事がありません" in world.chat_texts(contact)[-1]

    # Both contacts tap at once; the first event LINE delivers wins.
    world.tap_one_to_one(JIRO, "わたしが確認します", work=False)
    world.tap_one_to_one(ICHIRO, "わたしが確認します", work=False)
    world.work()
    escalation = Escalation.get()
    assert escalation.state == EscalationState.CLAIMED
    assert escalation.claimed_by_id == Person.get(Person.line_user_id == world.user(JIRO)).id
    jiro, ichiro = world.chat_texts(JIRO), world.chat_texts(ICHIRO)
    assert jiro[-1].startswith("佐藤花子さんの確認をお願いします")
    assert "佐藤花子さんの確認は、田中次郎さんが引き受けてくださいました" in " ".join(ichiro[-2:])
    assert "田中次郎さんが引き受けています" in " ".join(ichiro[-2:])

    world.tap_one_to_one(JIRO, "連絡がつかない")
    assert "田中次郎さんから：佐藤花子さんに連絡がつきません" in world.chat_texts(ICHIRO)[-1]

    world.advance(15 * 60)
    world.tap_one_to_one(HANAKO, "OK", message=check["message"])  # the morning's button, late
    assert "ご無事でよかったです" in world.chat_texts(HANAKO)[-1]
    for contact in (ICHIRO, JIRO):
        assert world.chat_texts(contact)[-1] == (
            f"佐藤花子さんから、{local_now(world)}にOKがありました。ご無事です。ご心配をおかけしました。"
        )
    assert Escalation.get().state == EscalationState.ANSWERED

    # Every push went to one person and cost one message; replies cost nothing.
    sent = Outbox.select().where((Outbox.kind == "push") & (Outbox.state == "sent"))
    assert all(row.recipient == "user" and row.cost == 1 for row in sent)
    assert world.line.usage()["total"] == sent.count() == len(world.pushes())
    # Two contacts joined, the check, the resend, two told, who has it, the
    # outcome, two told all is well.
    assert sent.count() == 2 + 1 + 1 + 2 + 1 + 1 + 2
    assert len(user_pushes(world, HANAKO)) == 4  # two contacts joined, the check, the resend


def test_outcomes_close_the_check(world):
    world.follow(HANAKO)
    world.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    world.link_contact(HANAKO, ICHIRO)
    to_nine(world)
    world.advance(12 * HOUR)
    world.tick()
    world.tap_one_to_one(ICHIRO, "わたしが確認します")
    [safe, _, emergency] = postback_actions(world.chat_items(ICHIRO)[-1]["message"])
    assert emergency["label"] == "救急・警察に連絡した"
    world.tap_one_to_one(ICHIRO, "無事でした")
    escalation = Escalation.get()
    assert escalation.state == EscalationState.RESOLVED and escalation.outcome == EscalationOutcome.SAFE
    assert WatchCheck.get_by_id(escalation.check_id).state == "resolved"
    assert "無事だったことを" in world.chat_texts(ICHIRO)[-1]


def test_blocking_the_bot_stops_the_watch_and_tells_the_contacts_once(world):
    world.follow(HANAKO)
    world.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    world.link_contact(HANAKO, ICHIRO)
    world.unfollow(HANAKO)
    assert Watch.get().state == "stopped" and not Person.get(Person.line_user_id == world.user(HANAKO)).friend
    assert "佐藤花子さんの見守りの確認が止まりました" in world.chat_texts(ICHIRO)[-1]
    pushes = len(world.pushes())
    world.advance(2 * 24 * HOUR)
    world.tick()
    assert len(world.pushes()) == pushes  # no checks to someone who blocked the bot
    world.follow(HANAKO)
    assert "おかえりなさい" in world.chat_texts(HANAKO)[-1]
    world.tap_one_to_one(HANAKO, "見守りを再開する")
    assert "再開しました" in world.chat_texts(HANAKO)[-1]
    assert world.chat_texts(ICHIRO)[-1] == "佐藤花子さんの見守りの確認が再開しました。"


def test_deleting_everything(world):
    world.follow(HANAKO)
    world.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    world.link_contact(HANAKO, ICHIRO)
    to_nine(world)
    world.say_one_to_one(HANAKO, "OK")
    world.say_one_to_one(HANAKO, "/退会")
    world.tap_one_to_one(HANAKO, "すべて消す")
    assert world.chat_texts(HANAKO)[-1].startswith(
        "見守りの記録をすべて消しました"
    )  # the reply still arrived
    assert world.chat_texts(ICHIRO)[-1].startswith("佐藤花子さんの見守りが終わりました")
    assert Watch.select().count() == 0 and Contact.select().count() == 0 and Invitation.select().count() == 0
    assert Person.select().where(Person.line_user_id == world.user(HANAKO)).count() == 0
    assert WatchCheck.select().where(WatchCheck.watch.is_null(False)).count() == 0
    assert WatchCheck.select().count() == 1  # answered once: kept, anonymous
    assert Outbox.select().where(Outbox.to == world.user(HANAKO)).count() == 0
    assert (
        Outbox.select(fn.SUM(Outbox.cost)).where(Outbox.state == "sent").scalar()
        == world.line.usage()["total"]
    )  # what it cost is still counted


def test_flask_usage_shows_the_month_and_what_watching_needs(world):
    world.line.monthly_limit = 200
    world.follow(HANAKO)
    world.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    world.link_contact(HANAKO, ICHIRO)
    result = world.app.test_cli_runner().invoke(args=["usage"])
    assert result.exit_code == 0, result.output
    assert "1 of 200 messages used (LINE's monthly limit), 199 left" in result.output
    assert "1 active watch(es)" in result.output
    assert (
        "may need up to 4 message(s) (1 check(s) and as many resends, 2 kept for escalations" in result.output
    )
