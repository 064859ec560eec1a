"""「/地域」: a leader sets where the group is (and from which intensity it is
asked after a quake); names that fit several places come back as buttons."""

from __future__ import annotations

from models import Group
from tests.support import HANAKO, ICHIRO, postback_actions, setup_group


def group_row(group_id: str) -> Group:
    return Group.get(Group.line_group_id == group_id)


def buttons(world, group_id: str) -> list[dict]:
    return postback_actions(world.bot_items(group_id)[-1]["message"])


def test_it_sets_an_exact_area_from_its_name(world):
    group_id = setup_group(world)
    for typed, code, name in [
        ("横浜市港北区", "1410900", "神奈川県横浜市港北区"),
        ("厚木市", "1421200", "神奈川県厚木市"),
        ("熊本県益城町", "4344300", "熊本県益城町"),
    ]:
        world.say(group_id, HANAKO, f"/地域 {typed}")
        assert group_row(group_id).area_code == code
        reply = world.bot_items(group_id)[-1]
        assert reply["via"] == "reply"
        assert f"地域を「{name}」にしました" in world.last_text(group_id)
        assert "震度5弱以上" in world.last_text(group_id)  # the default threshold
    assert world.line.usage()["total"] == 0  # all by reply


def test_it_offers_candidates_as_buttons_and_only_a_leaders_tap_sets_one(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/地域 府中市")
    assert [b["label"] for b in buttons(world, group_id)] == ["東京都府中市", "広島県府中市"]
    assert "当てはまるものを押してください" in world.last_text(group_id)
    assert group_row(group_id).area_code is None  # never a guess

    world.tap(group_id, ICHIRO, "広島県府中市")
    assert "リーダー（佐藤花子さん）の方だけが使えます" in world.last_text(group_id)
    assert group_row(group_id).area_code is None

    world.tap(group_id, HANAKO, "広島県府中市")
    assert group_row(group_id).area_code == "3420800"
    assert "地域を「広島県府中市」にしました" in world.last_text(group_id)


def test_it_lists_at_most_ten_wards_of_a_designated_city_and_says_there_are_more(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/地域 横浜市")
    labels = [b["label"] for b in buttons(world, group_id)]
    assert len(labels) == 10 and labels[0] == "神奈川県横浜市鶴見区"
    assert all(len(label) <= 40 for label in labels)
    assert "全部で18件" in world.last_text(group_id)
    assert group_row(group_id).area_code is None


def test_it_says_kindly_when_it_knows_no_such_place(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/地域 つながり村")
    assert "「つながり村」という地域が見つかりませんでした" in world.last_text(group_id)
    assert "例：/地域 横浜市港北区" in world.last_text(group_id)
    assert buttons(world, group_id) == []
    assert group_row(group_id).area_code is None


def test_it_changes_the_threshold_with_or_without_the_area(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/地域 厚木市 震度4")
    group = group_row(group_id)
    assert (group.area_code, group.quake_threshold) == ("1421200", "4")
    assert "震度4以上" in world.last_text(group_id)

    world.say(group_id, HANAKO, "/地域 震度6弱")
    group = group_row(group_id)
    assert (group.area_code, group.quake_threshold) == ("1421200", "6-")
    assert "厚木市で震度6弱以上の地震があったときに" in world.last_text(group_id)

    world.say(group_id, HANAKO, "/地域 厚木市 震度3")  # too low: changes nothing
    assert group_row(group_id).quake_threshold == "6-"
    assert "震度4から震度7の間で" in world.last_text(group_id)


def test_it_carries_a_threshold_through_the_candidate_buttons(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/地域 伊達市 震度4")
    world.tap(group_id, HANAKO, "福島県伊達市")
    group = group_row(group_id)
    assert (group.area_code, group.quake_threshold) == ("0721300", "4")


def test_it_refuses_members_who_are_not_leaders_politely(world):
    group_id = setup_group(world)
    for command in ("/地域 厚木市", "/訓練"):
        world.say(group_id, ICHIRO, command)
        assert "の方だけが使えます。ごめんなさい。" in world.last_text(group_id)
    assert group_row(group_id).area_code is None
    assert world.prompts(group_id) == []


def test_it_shows_the_area_and_threshold_in_status(world):
    group_id = setup_group(world)
    world.say(group_id, ICHIRO, "/状況")
    assert "地震の確認：地域がまだ決まっていません" in world.last_text(group_id)
    world.say(group_id, HANAKO, "/地域 熊本県益城町 震度5強")
    world.say(group_id, ICHIRO, "/状況")
    assert "地震の確認：熊本県益城町で震度5強以上のとき" in world.last_text(group_id)


def test_it_explains_the_command_when_sent_alone_and_lists_it_in_help(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/地域")
    assert "例：/地域 横浜市港北区" in world.last_text(group_id)
    world.say(group_id, HANAKO, "/ヘルプ")
    help_text = world.last_text(group_id)
    assert "/地域 厚木市" in help_text and "/訓練" in help_text
    world.say(group_id, ICHIRO, "/ヘルプ")
    assert "/地域" not in world.last_text(group_id)  # leader commands are for leaders
