"""/団体 (a group's leader, or a watched person, links to an organisation by
its code), /設定 名前 団体にも | 団体に見せない, and the optional /年代, /性別.
The fast harness: handlers on SQLite, no transport."""

from __future__ import annotations

import pytest

from domain.demographics import Unreadable, parse_age_band, parse_sex
from models import CodeAttempt, Group, Organisation, Person, Watch, naive
from tests.support import HANAKO, ICHIRO

CODE = "ABCD2345"
OTHER = "WXYZ6789"


def organisation(bot, name: str = "みどり市社会福祉協議会", slug: str = "midori", code: str = CODE):
    return Organisation.create(
        name=name, slug=slug, kind="council", created_at=naive(bot.now), link_code=code
    )


def group_row() -> Group:
    return Group.get()


def person(name: str) -> Person:
    return Person.get(Person.display_name == name)


# -- /団体 in a group --------------------------------------------------------------
def test_it_links_a_group_by_its_leaders_code_and_shows_counts_only(bot):
    org = organisation(bot)
    group = bot.setup()
    told = bot.say(group, HANAKO, f"/団体 {CODE}")
    assert "「みどり市社会福祉協議会」とつなぎました" in told and "お名前は見えません" in told
    assert "/設定 名前 団体にも" in told
    assert group_row().organisation_id == org.id and not group_row().names_shared
    assert "すでに「みどり市社会福祉協議会」とつながっています" in bot.say(group, HANAKO, f"/団体 {CODE}")
    assert "とつながっています" in bot.say(group, HANAKO, "/団体")


def test_it_forgives_how_the_code_is_typed(bot):
    org = organisation(bot)
    group = bot.setup()
    bot.say(group, HANAKO, "／団体　ａｂｃｄ－２３４５")
    assert group_row().organisation_id == org.id


def test_it_refuses_a_member_politely_and_changes_nothing(bot):
    organisation(bot)
    group = bot.setup()
    told = bot.say(group, ICHIRO, f"/団体 {CODE}")
    assert "リーダー（佐藤花子さん）の方だけが使えます" in told
    assert group_row().organisation_id is None
    assert "の方だけが使えます" in bot.say(group, ICHIRO, "/団体 解除")


def test_it_answers_a_wrong_code_kindly_and_changes_nothing(bot):
    organisation(bot)
    group = bot.setup()
    told = bot.say(group, HANAKO, "/団体 NOPE2345")
    assert "見つかりませんでした。何も変えていません" in told
    assert group_row().organisation_id is None
    assert CodeAttempt.select().count() == 1


def test_it_stops_reading_codes_after_five_wrong_ones(bot):
    organisation(bot)
    group = bot.setup()
    for n in range(5):
        assert "見つかりませんでした" in bot.say(group, HANAKO, f"/団体 WRONG{n:03d}")
    told = bot.say(group, HANAKO, f"/団体 {CODE}")  # even the right one, for now
    assert "しばらくコードを受け付けません" in told and group_row().organisation_id is None
    bot.advance(24 * 3600 + 1)
    bot.say(group, HANAKO, f"/団体 {CODE}")
    assert group_row().organisation_id is not None


def test_it_unlinks_and_takes_the_names_back(bot):
    organisation(bot)
    group = bot.setup()
    bot.say(group, HANAKO, f"/団体 {CODE}")
    bot.say(group, HANAKO, "/設定 名前 団体にも")
    assert group_row().names_shared
    told = bot.say(group, HANAKO, "/団体 解除")
    assert "「みどり市社会福祉協議会」とのつながりをやめました" in told
    assert group_row().organisation_id is None and not group_row().names_shared
    assert "どの団体ともつながっていません" in bot.say(group, HANAKO, "/団体 解除")


def test_it_shares_names_only_with_the_organisation_linked_and_asks_again_for_another(bot):
    organisation(bot)
    other = organisation(bot, "北区自治会連合会", "kita", OTHER)
    group = bot.setup()
    told = bot.say(group, HANAKO, "/設定 名前 団体にも")
    assert "まだどの団体ともつながっていません" in told and not group_row().names_shared
    bot.say(group, HANAKO, f"/団体 {CODE}")
    assert "お名前も見えるようにしました" in bot.say(group, HANAKO, "/設定 名前 団体にも")
    assert group_row().names_shared
    assert "お名前を見せないようにしました" in bot.say(group, HANAKO, "/設定 名前 団体に見せない")
    assert not group_row().names_shared
    bot.say(group, HANAKO, "/設定 名前 団体にも")
    told = bot.say(group, HANAKO, f"/団体 {OTHER}")  # another organisation: consent is asked again
    assert (
        "「北区自治会連合会」とつなぎました" in told
        and "「みどり市社会福祉協議会」とのつながりはやめました" in told
    )
    assert group_row().organisation_id == other.id and not group_row().names_shared
    assert "の方だけが使えます" in bot.say(group, ICHIRO, "/設定 名前 団体にも")
    assert not group_row().names_shared


def test_the_help_lists_the_new_commands(bot):
    group = bot.setup()
    leader_help = bot.say(group, HANAKO, "/ヘルプ")
    assert "/団体 連携コード" in leader_help and "/年代 70代" in leader_help and "/性別 女性" in leader_help
    member_help = bot.say(group, ICHIRO, "/ヘルプ")
    assert "/団体" not in member_help and "/年代 70代" in member_help


# -- /団体 in the one-to-one chat ------------------------------------------------------
def test_a_watched_person_links_their_own_watch_and_unlinks_it(bot):
    org = organisation(bot)
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    assert "まだどの団体ともつながっていません" in bot.say_one_to_one(HANAKO, "/団体")
    told = bot.say_one_to_one(HANAKO, f"/団体 {CODE}")
    assert "あなたの見守りを「みどり市社会福祉協議会」とつなぎました" in told and "お名前を見て" in told
    assert Watch.get().organisation_id == org.id
    assert "見つかりませんでした。何も変えていません" in bot.say_one_to_one(HANAKO, "/団体 NOPE9999")
    assert Watch.get().organisation_id == org.id  # a wrong code changes nothing
    assert "つながりをやめました" in bot.say_one_to_one(HANAKO, "/団体 解除")
    assert Watch.get().organisation_id is None
    assert "/団体 連携コード" in bot.say_one_to_one(HANAKO, "/ヘルプ")


# -- /年代, /性別 ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed, band",
    [
        ("70代", "70"),
        ("70", "70"),
        ("７０代", "70"),
        ("七十代", "70"),
        ("73歳", "70"),
        ("90代以上", "90"),
        ("102", "90"),
        ("10代", "10"),
    ],
)
def test_it_reads_the_age_band_forgivingly(typed, band):
    assert parse_age_band(typed) == band


@pytest.mark.parametrize("typed", ["5", "若い", "", "200"])
def test_it_does_not_guess_an_age_band(typed):
    with pytest.raises(Unreadable):
        parse_age_band(typed)


@pytest.mark.parametrize(
    "typed, sex", [("女性", "female"), ("男", "male"), ("その他", "other"), ("答えない", "undisclosed")]
)
def test_it_reads_the_sex_words(typed, sex):
    assert parse_sex(typed) == sex


def test_a_member_declares_and_removes_their_age_band_and_sex(bot):
    group = bot.setup()
    told = bot.say(group, ICHIRO, "/年代 ７０代")
    assert "登録しました" in told and "70代" not in told  # the group reads the reply: not repeated
    told = bot.say(group, ICHIRO, "/性別 女性")
    assert "登録しました" in told and "女性" not in told and "1対1のトーク" in told
    assert (person(ICHIRO).age_band, person(ICHIRO).sex) == ("70", "female")
    told = bot.say(group, ICHIRO, "/年代 わかい")
    assert "例：/年代 70代" in told and "いまの登録" not in told  # not said in the group
    assert "いまの登録：70代" in bot.say_one_to_one(ICHIRO, "/年代")
    assert person(ICHIRO).age_band == "70"  # unreadable: unchanged
    assert "年代の登録を消しました" in bot.say(group, ICHIRO, "/年代 消す")
    assert "性別の登録を消しました" in bot.say(group, ICHIRO, "/性別 消す")
    assert (person(ICHIRO).age_band, person(ICHIRO).sex) == (None, None)
    assert "年代は登録されていません" in bot.say(group, ICHIRO, "/年代 消す")


def test_a_person_declares_them_in_the_one_to_one_chat_too(bot):
    bot.follow(HANAKO)
    assert "「80代」で登録しました" in bot.say_one_to_one(HANAKO, "/年代 80")
    assert "「答えない」で登録しました" in bot.say_one_to_one(HANAKO, "/性別 答えない")
    assert (person(HANAKO).age_band, person(HANAKO).sex) == ("80", "undisclosed")


def test_quitting_forgets_them(bot):
    group = bot.setup()
    bot.say(group, ICHIRO, "/年代 60代")
    bot.say(group, ICHIRO, "/性別 男性")
    ichiro = person(ICHIRO)
    bot.say(group, ICHIRO, "/退会")
    ichiro = Person.get_by_id(ichiro.id)
    assert (ichiro.age_band, ichiro.sex) == (None, None)


def test_erasing_everything_forgets_them(bot):
    from domain import postback as codec

    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/年代 70代")
    bot.say_one_to_one(HANAKO, "/性別 女性")
    hanako = person(HANAKO)
    bot.say_one_to_one(HANAKO, "/退会")
    bot.tap_one_to_one(HANAKO, codec.ConfirmErase())
    hanako = Person.get_by_id(hanako.id)
    assert (hanako.age_band, hanako.sex) == (None, None)
