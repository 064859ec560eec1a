"""Monthly statistics of an organisation, computed by SQL aggregates.

Each metric is one entry in METRICS: a label, a unit, and ``compute(org_id,
months)`` — one aggregate query that answers every requested month at once
(rows are put in months by a CASE over the month boundaries, which are exact
in any time zone and the same SQL on SQLite and PostgreSQL).  A source that
does not exist yet (follow-ups, 見守り, escalations, self-declared 年代/性別)
has ``compute=None``: the page says it is not available, never a made-up 0.
Connecting one later is writing its query and putting it in the entry.

Results are kept in ``StatMonth``: a month that is over (FINAL_AFTER past
its end, when every round opened in it has been summarised) is computed
once and kept; the current month is recomputed when older than FRESH.  So
the page reads a few hundred rows, whatever the number of groups.

Definitions (what a council report needs to state):
- members: distinct people registered in one of the organisation's groups
  at the end of the month, in a group the bot was still in (a person in two
  groups counts once).
- groups: the organisation's groups the bot was in at the end of the month.
- rounds / emergency_rounds: checks opened in the month (all kinds / 地震
  and 訓練).
- expected, answered, answer_rate: over the month's rounds, the members
  registered when the round opened, and how many of them answered.
- unanswered_after_summary: of those, not answered when the round closed.
- median_answer_minutes: median time from a round's opening to an answer
  (to the 6 seconds, the page shows tenths of a minute).
- help_requests: 助けが必要 answers in the month's rounds.
- queue_*: queue items closed in the month, by outcome (operators' calls
  and visits).
- messages_used: LINE messages the organisation's groups cost that month.
- watches: 見守り linked to the organisation (by the person's /団体 CODE),
  with a schedule, not stopped at the end of the month (linking has no
  history: a watch counts in every month if it is linked now).
- followups_claimed / followup_*: 声かけ of the organisation's groups
  claimed in the month, and outcomes recorded in the month.
- escalations: 見守り checks escalated to the contacts in the month.
- DISTRIBUTIONS (年代, 性別): not monthly; today's registrants.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from peewee import PostgresqlDatabase

from domain.kinds import WatchState
from messages import organisation as organisation_messages
from models import StatMonth, db, naive, utc

MONTHS_SHOWN = 12
FINAL_AFTER = timedelta(days=3)
FRESH = timedelta(minutes=5)


@dataclass(frozen=True)
class Month:
    label: str  # YYYY-MM, local
    start: datetime  # naive UTC
    end: datetime  # naive UTC, exclusive


def months_until(now: datetime, tz: ZoneInfo, count: int = MONTHS_SHOWN) -> list[Month]:
    """The ``count`` months ending with the current one, oldest first."""
    local = now.astimezone(tz)
    year, month = local.year, local.month
    keys = []
    for _ in range(count):
        keys.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()

    def start(y: int, m: int) -> datetime:
        return naive(datetime(y, m, 1, tzinfo=tz))

    return [
        Month(f"{y:04d}-{m:02d}", start(y, m), start(y, m + 1) if m < 12 else start(y + 1, 1))
        for y, m in keys
    ]


# -- SQL helpers ------------------------------------------------------------
def _postgres() -> bool:
    return isinstance(db.obj, PostgresqlDatabase)


def _run(sql: str, params: list) -> list[tuple]:
    if _postgres():
        sql = sql.replace("?", "%s")
    return list(db.execute_sql(sql, params).fetchall())


def _bucket(column: str, months: list[Month]) -> tuple[str, list]:
    """CASE WHEN column < end0 THEN 0 WHEN column < end1 THEN 1 ... END (the
    WHERE clause keeps column within the months)."""
    whens = " ".join(f"WHEN {column} < ? THEN {i}" for i in range(len(months)))
    return f"CASE {whens} END", [m.end for m in months]


def _range(column: str, months: list[Month]) -> tuple[str, list]:
    return f"{column} >= ? AND {column} < ?", [months[0].start, months[-1].end]


def _seconds_between(later: str, earlier: str) -> str:
    if _postgres():
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _by_bucket(rows: list[tuple], months: list[Month], column: int = 1) -> dict[str, float | None]:
    found = {m.label: 0.0 for m in months}
    for row in rows:
        if row[0] is not None:
            found[months[int(row[0])].label] = float(row[column] or 0)
    return found


# -- the metrics --------------------------------------------------------------
def _at_month_ends(counted: str, from_sql: str, spans: tuple[tuple[str, str], ...]):
    """COUNT(DISTINCT counted) of rows whose every (start, end) span covers
    the end of the month: started before it and not ended by then."""

    def compute(org_id: int, months: list[Month]) -> dict[str, float | None]:
        cover = " AND ".join(f"{start} < ? AND ({end} IS NULL OR {end} >= ?)" for start, end in spans)
        columns = ", ".join(f"COUNT(DISTINCT CASE WHEN {cover} THEN {counted} END)" for _ in months)
        params: list = []
        for m in months:
            params += [m.end, m.end] * len(spans)
        row = _run(f"SELECT {columns} FROM {from_sql}", [*params, org_id])[0]
        return {m.label: float(row[i] or 0) for i, m in enumerate(months)}

    return compute


# A member counts while registered in a group the bot is still in.
_members = _at_month_ends(
    "m.person_id",
    'member m JOIN "group" g ON g.id = m.group_id WHERE g.organisation_id = ?',
    (("m.registered_at", "m.left_at"), ("g.joined_at", "g.left_at")),
)
_groups = _at_month_ends("g.id", '"group" g WHERE g.organisation_id = ?', (("g.joined_at", "g.left_at"),))


def _rounds(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    bucket, bparams = _bucket("r.opened_at", months)
    where, wparams = _range("r.opened_at", months)
    rows = _run(
        f"""SELECT {bucket} AS b, COUNT(*),
                   SUM(CASE WHEN r.kind IN ('emergency', 'drill') THEN 1 ELSE 0 END)
            FROM round r JOIN "group" g ON g.id = r.group_id
            WHERE g.organisation_id = ? AND {where} GROUP BY b""",
        [*bparams, org_id, *wparams],
    )
    return {"rounds": _by_bucket(rows, months, 1), "emergency_rounds": _by_bucket(rows, months, 2)}


def _answers(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    """Expected answers, answers and unanswered-after-summary, in one pass
    over (round x member registered when it opened) with its answer."""
    bucket, bparams = _bucket("r.opened_at", months)
    where, wparams = _range("r.opened_at", months)
    rows = _run(
        f"""SELECT {bucket} AS b, COUNT(m.id), COUNT(a.id),
                   SUM(CASE WHEN r.status = 'closed' AND a.id IS NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN a.kind = 'help' THEN 1 ELSE 0 END)
            FROM round r
            JOIN "group" g ON g.id = r.group_id
            JOIN member m ON m.group_id = r.group_id AND m.registered_at <= r.opened_at
                             AND (m.left_at IS NULL OR m.left_at > r.opened_at)
            LEFT JOIN answer a ON a.round_id = r.id AND a.member_id = m.id
            WHERE g.organisation_id = ? AND {where} GROUP BY b""",
        [*bparams, org_id, *wparams],
    )
    expected = _by_bucket(rows, months, 1)
    answered = _by_bucket(rows, months, 2)
    rate = {
        label: (round(answered[label] * 100.0 / expected[label], 1) if expected[label] else None)
        for label in expected
    }
    return {
        "expected": expected,
        "answered": answered,
        "answer_rate": rate,
        "unanswered_after_summary": _by_bucket(rows, months, 3),
    }


def _help_requests(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    """Every 助けが必要, also from someone who registered after the round opened."""
    bucket, bparams = _bucket("r.opened_at", months)
    where, wparams = _range("r.opened_at", months)
    rows = _run(
        f"""SELECT {bucket} AS b, COUNT(*)
            FROM answer a JOIN round r ON r.id = a.round_id JOIN "group" g ON g.id = r.group_id
            WHERE g.organisation_id = ? AND a.kind = 'help' AND {where} GROUP BY b""",
        [*bparams, org_id, *wparams],
    )
    return {"help_requests": _by_bucket(rows, months)}


# The median is read from a histogram of answer times in MEDIAN_STEP steps:
# a GROUP BY instead of sorting every answer (SQLite has no percentile), and
# exact at the precision the page shows (0.1 minute).
MEDIAN_STEP = 6  # seconds


def _median_answer(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    bucket, bparams = _bucket("r.opened_at", months)
    where, wparams = _range("r.opened_at", months)
    seconds = _seconds_between("a.answered_at", "r.opened_at")
    # Whole seconds first (julianday arithmetic is a hair off), then integer division.
    step = f"CAST(ROUND({seconds}) AS INTEGER) / {MEDIAN_STEP}"
    rows = _run(
        f"""SELECT {bucket} AS b, {step} AS s, COUNT(*)
            FROM answer a JOIN round r ON r.id = a.round_id JOIN "group" g ON g.id = r.group_id
            WHERE g.organisation_id = ? AND {where} GROUP BY b, s""",
        [*bparams, org_id, *wparams],
    )
    histograms: dict[int, list[tuple[int, int]]] = {}
    for b, step_, n in rows:
        if b is not None:
            histograms.setdefault(int(b), []).append((int(step_), int(n)))
    found: dict[str, float | None] = {m.label: None for m in months}
    for b, histogram in histograms.items():
        histogram.sort()
        total = sum(n for _, n in histogram)
        middle = [(total + 1) // 2, (total + 2) // 2]  # 1-based ranks; equal when total is odd
        values, seen = [], 0
        for value, n in histogram:
            seen += n
            while middle and middle[0] <= seen:
                values.append(value)
                middle.pop(0)
        found[months[b].label] = round(sum(values) / len(values) * MEDIAN_STEP / 60.0, 1)
    return {"median_answer_minutes": found}


def _queue(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    from services.console_queue import OUTCOMES

    bucket, bparams = _bucket("q.done_at", months)
    where, wparams = _range("q.done_at", months)
    rows = _run(
        f"""SELECT {bucket} AS b, q.outcome, COUNT(*) FROM queueitem q
            WHERE q.organisation_id = ? AND q.state = 'done' AND {where} GROUP BY b, q.outcome""",
        [*bparams, org_id, *wparams],
    )
    found = {f"queue_{o}": {m.label: 0.0 for m in months} for o in OUTCOMES}
    for b, outcome, n in rows:
        if b is not None and f"queue_{outcome}" in found:
            found[f"queue_{outcome}"][months[int(b)].label] = float(n)
    return found


# 見守り registered: the organisation's watches (linked by the person's own
# /団体 CODE) that had a schedule and were not stopped at the end of the month.
_watches = _at_month_ends(
    "w.id",
    "watch w WHERE w.organisation_id = ? AND w.schedule IS NOT NULL",
    (("w.created_at", "w.stopped_at"),),
)


def _count_by(column: str, from_where: str, org_id: int, months: list[Month]) -> dict[str, float | None]:
    """COUNT(*) of rows whose ``column`` falls in each month."""
    bucket, bparams = _bucket(column, months)
    where, wparams = _range(column, months)
    rows = _run(
        f"SELECT {bucket} AS b, COUNT(*) FROM {from_where} AND {where} GROUP BY b",
        [*bparams, org_id, *wparams],
    )
    return _by_bucket(rows, months)


def _follow_ups(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    """Follow-ups (声かけ) of the organisation's groups: claimed in the month
    (「確認します」), and outcomes recorded in the month.  連絡がつかない is
    counted when it was reported (``unreachable_at``), even if the person
    was found later; 無事でした and 助けが必要だった by their final outcome."""
    base = 'followup f JOIN "group" g ON g.id = f.group_id WHERE g.organisation_id = ?'
    return {
        "followups_claimed": _count_by("f.claimed_at", base, org_id, months),
        "followup_safe": _count_by("f.outcome_at", base + " AND f.outcome = 'safe'", org_id, months),
        "followup_unreached": _count_by("f.unreachable_at", base, org_id, months),
        "followup_needed_help": _count_by(
            "f.outcome_at", base + " AND f.outcome = 'needed-help'", org_id, months
        ),
    }


def _escalations(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    """見守り checks unanswered so the contacts were told, of watches linked
    to the organisation (an erased watch's escalations belong to nobody)."""
    base = "escalation e JOIN watch w ON w.id = e.watch_id WHERE w.organisation_id = ?"
    return {"escalations": _count_by("e.opened_at", base, org_id, months)}


def _messages(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    bucket, bparams = _bucket("o.sent_at", months)
    where, wparams = _range("o.sent_at", months)
    rows = _run(
        f"""SELECT {bucket} AS b, SUM(o.cost) FROM outbox o JOIN "group" g ON g.id = o.group_id
            WHERE g.organisation_id = ? AND o.state = 'sent' AND {where} GROUP BY b""",
        [*bparams, org_id, *wparams],
    )
    return {"messages_used": _by_bucket(rows, months)}


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    source: str  # the query that fills it (a key of QUERIES), or "" if none exists yet
    missing: str = ""  # what is missing, for the page


# One query fills several metrics; each query runs once per refresh.
Query = Callable[[int, list[Month]], dict[str, dict[str, float | None]]]
QUERIES: dict[str, Query] = {
    "members": lambda org, months: {"members": _members(org, months)},
    "groups": lambda org, months: {"groups": _groups(org, months)},
    "rounds": _rounds,
    "answers": _answers,
    "help": _help_requests,
    "median": _median_answer,
    "queue": _queue,
    "messages": _messages,
    "watches": lambda org, months: {"watches": _watches(org, months)},
    "followups": _follow_ups,
    "escalations": _escalations,
}

METRICS: list[Metric] = [
    Metric("members", "登録している方", "人", "members"),
    Metric("watches", "見守り（1対1）の登録", "人", "watches"),
    Metric("groups", "参加しているグループ", "グループ", "groups"),
    Metric("rounds", "安否確認を送った回数", "回", "rounds"),
    Metric("emergency_rounds", "うち地震・訓練", "回", "rounds"),
    Metric("expected", "回答をお願いした延べ人数", "人", "answers"),
    Metric("answered", "回答した延べ人数", "人", "answers"),
    Metric("answer_rate", "回答率", "%", "answers"),
    Metric("median_answer_minutes", "回答までの時間（中央値）", "分", "median"),
    Metric("unanswered_after_summary", "まとめの時点で未回答", "人", "answers"),
    Metric("help_requests", "助けが必要", "件", "help"),
    Metric("followups_claimed", "声かけの引き受け", "件", "followups"),
    Metric("followup_safe", "声かけの結果：無事でした", "件", "followups"),
    Metric("followup_unreached", "声かけの結果：連絡がつかない", "件", "followups"),
    Metric("followup_needed_help", "声かけの結果：助けが必要だった", "件", "followups"),
    Metric("escalations", "見守りの連絡先への連絡", "件", "escalations"),
    Metric("queue_reached", "職員の対応：電話でつながった", "件", "queue"),
    Metric("queue_unreached", "職員の対応：つながらない", "件", "queue"),
    Metric("queue_visited", "職員の対応：訪問した", "件", "queue"),
    Metric("queue_emergency", "職員の対応：救急・警察", "件", "queue"),
    Metric("messages_used", "使ったメッセージ数", "通", "messages"),
]
METRIC_BY_KEY = {m.key: m for m in METRICS}

# Self-declared 年代 and 性別 (/年代 70代, /性別 女性): the distribution of the
# people registered now in the organisation's groups (the bot still there)
# or watched by a 見守り linked to it, each person once.  Nobody is asked;
# 「申告なし」 counts those who said nothing (答えない is a choice, kept apart).
NOT_DECLARED = "申告なし"


@dataclass(frozen=True)
class Distribution:
    key: str
    title: str
    column: str  # on person
    values: tuple[tuple[str, str], ...]  # (stored value, label), in order


DISTRIBUTIONS: dict[str, Distribution] = {
    "age_band": Distribution(
        "age_band", "年代（任意の自己申告）", "age_band", tuple(organisation_messages.AGE_LABELS.items())
    ),
    "sex": Distribution(
        "sex", "性別（任意の自己申告）", "sex", tuple(organisation_messages.SEX_LABELS.items())
    ),
}


def _registrants(org_id: int) -> tuple[str, list]:
    return (
        """SELECT m.person_id FROM member m JOIN "group" g ON g.id = m.group_id
           WHERE g.organisation_id = ? AND m.active = ? AND g.active = ?
           UNION
           SELECT w.person_id FROM watch w
           WHERE w.organisation_id = ? AND w.state <> ? AND w.schedule IS NOT NULL""",
        [org_id, True, True, org_id, WatchState.STOPPED],
    )


def distribution(org_id: int, key: str) -> list[tuple[str, int]]:
    """(label, people) for every value of the distribution, 申告なし last."""
    spec = DISTRIBUTIONS[key]
    people, params = _registrants(org_id)
    rows = _run(
        f"SELECT p.{spec.column}, COUNT(*) FROM person p WHERE p.id IN ({people}) GROUP BY p.{spec.column}",
        params,
    )
    counted = {value: int(n) for value, n in rows}
    known = [(label, counted.pop(value, 0)) for value, label in spec.values]
    # Anything not a known value (none is written) counts as not declared.
    return [*known, (NOT_DECLARED, sum(counted.values()))]


def _compute(org_id: int, months: list[Month]) -> dict[str, dict[str, float | None]]:
    values: dict[str, dict[str, float | None]] = {}
    for query in QUERIES.values():
        values.update(query(org_id, months))
    return values


def refresh(org_id: int, now: datetime, tz: ZoneInfo, count: int = MONTHS_SHOWN, force: bool = False) -> int:
    """Compute the months that are missing, not final, or stale; returns how
    many months were computed."""
    months = months_until(now, tz, count)
    labels = [m.label for m in months]
    kept = {
        month: (final, utc(computed))
        for month, final, computed in StatMonth.select(
            StatMonth.month, StatMonth.final, StatMonth.computed_at
        )
        .where((StatMonth.organisation == org_id) & StatMonth.month.in_(labels))
        .distinct()
        .tuples()
    }
    stale = [
        i
        for i, m in enumerate(months)
        if force or m.label not in kept or (not kept[m.label][0] and now - kept[m.label][1] > FRESH)
    ]
    if not stale:
        return 0
    # From the first month that needs it to the current one: the buckets
    # must be contiguous (a row is put in the first month whose end is after
    # it), and it is one range scan.
    wanted = months[stale[0] :]
    began = time.monotonic()
    values = _compute(org_id, wanted)
    # Fresh from when the numbers were ready, not from when they were asked for.
    computed_at = naive(now + timedelta(seconds=time.monotonic() - began))
    rows = []
    for m in wanted:
        final = now >= utc(m.end) + FINAL_AFTER
        for metric in METRICS:
            if metric.source:
                rows.append(
                    {
                        "organisation": org_id,
                        "month": m.label,
                        "metric": metric.key,
                        "value": values[metric.key].get(m.label),
                        "computed_at": computed_at,
                        "final": final,
                    }
                )
    with db.atomic():
        StatMonth.delete().where(
            (StatMonth.organisation == org_id) & StatMonth.month.in_([m.label for m in wanted])
        ).execute()
        StatMonth.insert_many(rows).execute()
    return len(wanted)


@dataclass(frozen=True)
class Table:
    months: list[str]
    rows: list[tuple[Metric, list[float | None]]]  # values None where not available
    computed_at: datetime | None


def monthly(org_id: int, now: datetime, tz: ZoneInfo, count: int = MONTHS_SHOWN) -> Table:
    """The monthly table (refreshing what needs it first)."""
    refresh(org_id, now, tz, count)
    labels = [m.label for m in months_until(now, tz, count)]
    stored: dict[tuple[str, str], float | None] = {}
    newest = None
    for month, metric, value, computed in (
        StatMonth.select(StatMonth.month, StatMonth.metric, StatMonth.value, StatMonth.computed_at)
        .where((StatMonth.organisation == org_id) & StatMonth.month.in_(labels))
        .tuples()
    ):
        stored[(metric, month)] = value
        computed = utc(computed)
        newest = computed if newest is None or computed > newest else newest
    rows = [(metric, [stored.get((metric.key, label)) for label in labels]) for metric in METRICS]
    return Table(labels, rows, newest)


def series(table: Table, key: str) -> list[float | None]:
    for metric, values in table.rows:
        if metric.key == key:
            return values
    raise KeyError(key)


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """UTF-8 with a BOM, so Excel opens Japanese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
