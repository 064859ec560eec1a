"""What a group reads about earthquakes: where the group is, the emergency
headline, the drill, and JMA's withdrawal of a report."""

from __future__ import annotations

from domain import postback as codec
from domain.areas import Area
from domain.jma import Intensity
from messages.flex import FLEX_LABEL_LIMIT, bubble, button, clip, postback, text
from messages.i18n import N_, _

# JMA's intensity names (domain.jma.Intensity.label), translated where shown.
INTENSITY_NAMES = (
    N_("震度1"),
    N_("震度2"),
    N_("震度3"),
    N_("震度4"),
    N_("震度5弱"),
    N_("震度5強"),
    N_("震度6弱"),
    N_("震度6強"),
    N_("震度7"),
)
_AT_LEAST = "以上"


def intensity_name(label: str) -> str:
    """「震度5強」 (or 「震度5弱以上」, a city whose reading has not come in) in
    the reader's language."""
    if label.endswith(_AT_LEAST) and label != _AT_LEAST:
        return _("{intensity}以上").format(intensity=_(label.removesuffix(_AT_LEAST)))
    return _(label)


def area_examples() -> str:
    return _("例：/地域 横浜市港北区\n例：/地域 厚木市 震度4")


def drill_headline() -> str:
    return _("これは訓練です。大きな地震があったつもりで、ボタンを押してみてください。")


def quake_headline(facts: dict) -> str:
    """「11月28日 9時41分ごろ、厚木市で震度5強の地震がありました。」 from
    ``domain.quake.describe_quake``.  Minutes are not zero-padded: 9時5分
    is how the time is said."""
    return _("{month}月{day}日 {hour}時{minute}分ごろ、{city}で{intensity}の地震がありました。").format(
        month=facts["month"],
        day=facts["day"],
        hour=facts["hour"],
        minute=facts["minute"],
        city=facts["city_name"],
        intensity=intensity_name(facts["intensity_label"]),
    )


def area_line(area: Area | None, threshold: Intensity) -> str:
    """The /状況 line about where the group is."""
    if area is None:
        return _("地震の確認：地域がまだ決まっていません（例：/地域 厚木市）")
    return _("地震の確認：{area}で{threshold}以上のとき").format(
        area=area.name, threshold=intensity_name(threshold.label)
    )


def area_set(area: Area, threshold: Intensity) -> list[dict]:
    return [
        text(
            _(
                "地域を「{name}」にしました。\n"
                "{label}で{threshold}以上の地震があったときは、すぐに無事を確認するお知らせを送ります。"
            ).format(name=area.name, label=area.label, threshold=intensity_name(threshold.label))
        )
    ]


def threshold_set(threshold: Intensity, area: Area | None) -> list[dict]:
    where = _("{label}で").format(label=area.label) if area else ""
    body = where + _("{threshold}以上の地震があったときに、無事を確認します。").format(
        threshold=intensity_name(threshold.label)
    )
    if area is None:
        body += "\n" + _("地域がまだ決まっていません。") + area_examples().split("\n")[0]
    return [text(body)]


def threshold_too_low(lowest: Intensity) -> list[dict]:
    return [
        text(
            _(
                "小さな揺れはよくあるため、{lowest}から震度7の間で決めてください。\n例：/地域 厚木市 震度4"
            ).format(lowest=intensity_name(lowest.label))
        )
    ]


def area_usage(current: Area | None, threshold: Intensity) -> list[dict]:
    now = (
        _("いまの地域は「{name}」（{threshold}以上）です。\n").format(
            name=current.name, threshold=intensity_name(threshold.label)
        )
        if current
        else ""
    )
    return [
        text(
            now
            + _("地震のときに無事を確認する地域を、市区町村の名前で送ってください。")
            + "\n"
            + area_examples()
            + "\n"
            + _("（震度を書かないときは震度5弱以上です）")
        )
    ]


def area_unknown(typed: str) -> list[dict]:
    return [
        text(
            _("「{typed}」という地域が見つかりませんでした。市区町村の名前で送ってください。").format(
                typed=clip(typed, 100)
            )
            + "\n"
            + area_examples()
        )
    ]


def area_candidates(
    typed: str, candidates: tuple[Area, ...], total: int, threshold: Intensity | None
) -> list[dict]:
    """One button per candidate (a Flex bubble: up to 10, labels up to 40);
    a leader's tap sets the area.  Nothing is chosen for them."""
    level = threshold.value if threshold is not None else None
    buttons = [
        button(
            postback(
                area.name[:FLEX_LABEL_LIMIT],
                codec.ChooseArea(area.code, level),
                _("地域は{name}です").format(name=area.name),
            ),
            style="secondary",
            color=None,
        )
        for area in candidates
    ]
    lines = [_("当てはまるものを押してください（リーダーの方だけが選べます）。")]
    if total > len(candidates):
        lines.append(
            _(
                "ほかにも候補があります（全部で{total}件）。見つからないときは、"
                "県や市の名前から送ってください。例：/地域 横浜市港北区"
            ).format(total=total)
        )
    shown = clip(typed, 40)
    return [
        bubble(
            _("「{typed}」はどこですか？").format(typed=shown),
            lines,
            buttons,
            _("「{typed}」の候補から選んでください。").format(typed=shown),
        )
    ]


def quake_withdrawn(round_was_open: bool) -> list[dict]:
    """JMA withdrew (取消) the report that started the group's round."""
    body = _("【訂正】先ほどお送りした地震のお知らせは、気象庁が取り消しました。")
    if round_was_open:
        body += _("無事の確認はここで終わりにします。")
    body += _("ボタンを押してくださった方、ありがとうございました。")
    return [text(body)]
