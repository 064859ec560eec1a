"""The statistics page: monthly numbers, charts with their tables, CSV."""

from __future__ import annotations

from flask import abort, g, render_template

from models import db
from services import audit, statistics
from web.console.blueprint import address, bp, now, settings
from web.console.charts import CHART_BY_KEY, CHARTS, data_uri, distribution_svg, svg
from web.console.pages import _csv_headers


def _table():
    return statistics.monthly(g.org.id, now(), settings().tz)


def _chart_series(table, chart):
    return [
        (statistics.METRIC_BY_KEY[key].label, statistics.series(table, key))
        for key in chart.metrics
        if statistics.METRIC_BY_KEY[key].source
    ]


@bp.route("/statistics")
def statistics_page():
    table = _table()
    charts = []
    for chart in CHARTS:
        series = _chart_series(table, chart)
        charts.append((chart, data_uri(svg(chart, table.months, series)), series))
    distributions = []
    for spec in statistics.DISTRIBUTIONS.values():
        rows = statistics.distribution(g.org.id, spec.key)
        total = sum(n for _, n in rows)
        distributions.append((spec, data_uri(distribution_svg(spec.title, rows)), rows, total))
    return render_template(
        "console/statistics.html",
        table=table,
        charts=charts,
        distributions=distributions,
        month_labels=[f"{m[:4]}年{int(m[5:])}月" for m in table.months],
    )


@bp.route("/statistics/<name>.csv")
def statistics_csv(name: str):
    if name in statistics.DISTRIBUTIONS:
        rows = statistics.distribution(g.org.id, name)
        header, rows = ["区分", "人数"], [[label, n] for label, n in rows]
        with db.atomic():
            audit.record(g.operator, "stats.export", now(), target=f"csv:{name}", address=address())
        return statistics.csv_bytes(header, rows), 200, _csv_headers(f"tsunagari-{name}.csv")
    table = _table()
    header = ["項目", "単位", *table.months]
    if name == "monthly":
        rows = [
            [metric.label, metric.unit, *(values if metric.source else ["未実装"] * len(values))]
            for metric, values in table.rows
        ]
    elif name in CHART_BY_KEY:
        chart = CHART_BY_KEY[name]
        rows = [
            [
                statistics.METRIC_BY_KEY[key].label,
                statistics.METRIC_BY_KEY[key].unit,
                *statistics.series(table, key),
            ]
            for key in chart.metrics
        ]
    else:
        abort(404)
    with db.atomic():
        audit.record(g.operator, "stats.export", now(), target=f"csv:{name}", address=address())
    return statistics.csv_bytes(header, rows), 200, _csv_headers(f"tsunagari-{name}.csv")
