"""Server-rendered SVG charts (pygal), as data: URIs for <img>.

No script and nothing fetched: pygal's tooltip script is turned off
(``js=[]``).  An SVG shown through <img> is a picture, so each chart has
alternative text and the page puts its numbers in a table beside it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pygal
from pygal.style import Style

# Colours distinguishable with the common colour-vision deficiencies
# (Okabe-Ito), dark enough for text contrast on white.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f1f1f",
    foreground_strong="#1f1f1f",
    foreground_subtle="#5c5c5c",
    colors=("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"),
    font_family='"Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif',
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=15,
    title_font_size=18,
    value_font_size=13,
)


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    kind: str  # bar | line | stacked
    metrics: tuple[str, ...]
    unit: str


CHARTS = (
    ChartSpec("members", "登録している方とグループ", "line", ("members", "groups"), "人・グループ"),
    ChartSpec("rounds", "安否確認を送った回数", "bar", ("rounds", "emergency_rounds"), "回"),
    ChartSpec("answers", "回答率", "line", ("answer_rate",), "%"),
    ChartSpec("speed", "回答までの時間（中央値）", "line", ("median_answer_minutes",), "分"),
    ChartSpec(
        "help",
        "助けが必要と職員の対応",
        "bar",
        ("help_requests", "queue_reached", "queue_unreached", "queue_visited", "queue_emergency"),
        "件",
    ),
    ChartSpec(
        "followups",
        "声かけと見守りの連絡",
        "bar",
        ("followups_claimed", "followup_safe", "followup_unreached", "followup_needed_help", "escalations"),
        "件",
    ),
    ChartSpec("messages", "使ったメッセージ数", "bar", ("messages_used",), "通"),
)
CHART_BY_KEY = {c.key: c for c in CHARTS}
_KINDS = {"bar": pygal.Bar, "line": pygal.Line, "stacked": pygal.StackedBar}
# What every chart of the console shares: no scripts (the SVGs are shown as
# images), full labels, guides and the zero line, and the words for no data.
_COMMON = dict(
    js=[],
    disable_xml_declaration=True,
    style=STYLE,
    width=800,
    x_label_rotation=0,
    truncate_label=-1,
    print_values=False,
    show_y_guides=True,
    include_x_axis=True,
    margin=16,
    no_data_text="データがありません",
)


def svg(spec: ChartSpec, months: list[str], series: list[tuple[str, list[float | None]]]) -> str:
    chart = _KINDS[spec.kind](
        **_COMMON,
        height=420,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        margin_bottom=48,  # room for CJK legend lines, which pygal measures as Latin
        y_title=spec.unit,
    )
    chart.x_labels = [m[2:].replace("-", "/") for m in months]  # 25/11
    for label, values in series:
        chart.add(label, values)
    return chart.render(is_unicode=True)


def distribution_svg(title: str, rows: list[tuple[str, int]]) -> str:
    """One bar per category (年代, 性別): people."""
    chart = pygal.Bar(**_COMMON, height=360, show_legend=False, y_title="人")
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [n for _, n in rows])
    return chart.render(is_unicode=True)


def data_uri(svg_text: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text.encode("utf-8")).decode("ascii")
