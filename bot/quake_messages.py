"""Messages for earthquakes: where the group is, the emergency headline, the
drill, and JMA's withdrawal of a report.

Pure builders, in the same kind, plain Japanese as bot/messages.py (whose
bubble and button pieces they reuse): the bot asks and reassures, it never
watches over people.
"""

from __future__ import annotations

from bot.messages import bubble, button, postback, text
from domain.areas import Area
from domain.jma import Intensity

AREA_EXAMPLES = "例：/地域 横浜市港北区\n例：/地域 厚木市 震度4"

DRILL_HEADLINE = "これは訓練です。大きな地震があったつもりで、ボタンを押してみてください。"


def quake_headline(facts: dict) -> str:
    """「11月28日 9時41分ごろ、厚木市で震度5強の地震がありました。」 from
    ``domain.quake.describe_quake``.  Minutes are not zero-padded: 9時5分
    is how the time is said."""
    return (
        f"{facts['month']}月{facts['day']}日 {facts['hour']}時{facts['minute']}分ごろ、"
        f"{facts['city_name']}で{facts['intensity_label']}の地震がありました。"
    )


def area_line(area: Area | None, threshold: Intensity) -> str:
    """The /状況 line about where the group is."""
    if area is None:
        return "地震の確認：地域がまだ決まっていません（例：/地域 厚木市）"
    return f"地震の確認：{area.name}で{threshold.label}以上のとき"


def area_set(area: Area, threshold: Intensity) -> list[dict]:
    return [
        text(
            f"地域を「{area.name}」にしました。\n"
            f"{area.label}で{threshold.label}以上の地震があったときは、"
            "すぐに無事を確認するお知らせを送ります。"
        )
    ]


def threshold_set(threshold: Intensity, area: Area | None) -> list[dict]:
    where = f"{area.label}で" if area else ""
    body = f"{where}{threshold.label}以上の地震があったときに、無事を確認します。"
    if area is None:
        body += "\n地域がまだ決まっていません。" + AREA_EXAMPLES.split("\n")[0]
    return [text(body)]


def threshold_too_low(lowest: Intensity) -> list[dict]:
    return [
        text(
            f"小さな揺れはよくあるため、{lowest.label}から震度7の間で決めてください。\n例：/地域 厚木市 震度4"
        )
    ]


def area_usage(current: Area | None, threshold: Intensity) -> list[dict]:
    now = f"いまの地域は「{current.name}」（{threshold.label}以上）です。\n" if current else ""
    return [
        text(
            f"{now}地震のときに無事を確認する地域を、市区町村の名前で送ってください。\n"
            f"{AREA_EXAMPLES}\n（震度を書かないときは震度5弱以上です）"
        )
    ]


def area_unknown(typed: str) -> list[dict]:
    return [
        text(
            f"「{typed}」という地域が見つかりませんでした。市区町村の名前で送ってください。\n{AREA_EXAMPLES}"
        )
    ]


def area_candidates(
    typed: str, candidates: tuple[Area, ...], total: int, threshold: Intensity | None
) -> list[dict]:
    """One button per candidate (a Flex bubble: up to 10, labels up to 40);
    a leader's tap sets the area.  Nothing is chosen for them."""
    suffix = f"&t={threshold.value}" if threshold is not None else ""
    buttons = [
        button(
            postback(area.name[:40], f"a=area&c={area.code}{suffix}", f"地域は{area.name}です"),
            style="secondary",
            color=None,
        )
        for area in candidates
    ]
    lines = ["当てはまるものを押してください（リーダーの方だけが選べます）。"]
    if total > len(candidates):
        lines.append(
            f"ほかにも候補があります（全部で{total}件）。見つからないときは、"
            "県や市の名前から送ってください。例：/地域 横浜市港北区"
        )
    return [bubble(f"「{typed}」はどこですか？", lines, buttons, f"「{typed}」の候補から選んでください。")]


def quake_withdrawn(round_was_open: bool) -> list[dict]:
    """JMA withdrew (取消) the report that started the group's round."""
    body = "【訂正】先ほどお送りした地震のお知らせは、気象庁が取り消しました。"
    if round_was_open:
        body += "無事の確認はここで終わりにします。"
    body += "ボタンを押してくださった方、ありがとうございました。"
    return [text(body)]
