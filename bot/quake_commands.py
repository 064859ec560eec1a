"""Leader commands for earthquakes: 「/地域」 (where the group is, and from
which intensity it is asked) and 「/訓練」 (a drill of the emergency round).

Handlers follow bot/commands.py's contract: they run inside the event's
transaction, answer by reply, and change nothing on bad input.  The area is
only ever set from an exact name or from a leader's tap on a candidate
button, never from a guess.
"""

from __future__ import annotations

from bot import messages, quake_messages
from bot.context import EventContext
from domain.areas import Area, area_by_code, parse_threshold, resolve_area, split_threshold
from domain.commands import Command
from domain.jma import Intensity
from domain.quake import DEFAULT_THRESHOLD
from jobs.rounds import current_round, open_round_now
from models import Group, utc

# Smaller shaking is common (震度3 somewhere most days): an emergency round
# for it would cost a push and teach members to ignore the prompt.
LOWEST_THRESHOLD = Intensity.FOUR


def group_threshold(group: Group) -> Intensity:
    """The group's stored threshold, or the default if it is unreadable."""
    try:
        return Intensity(group.quake_threshold or DEFAULT_THRESHOLD.value)
    except ValueError:
        return DEFAULT_THRESHOLD


def group_area(group: Group) -> Area | None:
    return area_by_code(group.area_code) if group.area_code else None


def status_line(group: Group) -> str:
    """The line /状況 shows about earthquakes."""
    return quake_messages.area_line(group_area(group), group_threshold(group))


def _save(group: Group, area: Area | None, threshold: Intensity | None) -> None:
    fields = {}
    if area is not None:
        fields["area_code"] = area.code
    if threshold is not None:
        fields["quake_threshold"] = threshold.value
    Group.update(**fields).where(Group.id == group.id).execute()


def cmd_area(ctx: EventContext, command: Command) -> None:
    """/地域 [name] [震度N]: set the area (exact name only), the threshold, or
    both; without an argument, say what is set and how to write it."""
    group = ctx.group
    current, threshold_now = group_area(group), group_threshold(group)
    if not command.arg:
        ctx.reply(quake_messages.area_usage(current, threshold_now), "command")
        return
    only_threshold = parse_threshold(command.arg)
    area_text, threshold = ("", only_threshold) if only_threshold else split_threshold(command.arg)
    if threshold is not None and threshold < LOWEST_THRESHOLD:
        ctx.reply(quake_messages.threshold_too_low(LOWEST_THRESHOLD), "command")
        return
    if not area_text:
        _save(group, None, threshold)
        ctx.reply(quake_messages.threshold_set(threshold, current), "command")
        return
    match = resolve_area(area_text)
    if match.is_exact:
        _save(group, match.area, threshold)
        ctx.reply(quake_messages.area_set(match.area, threshold or threshold_now), "command")
    elif match.candidates:
        ctx.reply(
            quake_messages.area_candidates(area_text, match.candidates, match.total, threshold), "command"
        )
    else:
        ctx.reply(quake_messages.area_unknown(area_text), "command")


def on_area_postback(ctx: EventContext, data: dict[str, str]) -> None:
    """A tap on a candidate button (a=area&c=CODE[&t=5-]).  Only a leader's
    tap counts; anyone else gets the table's polite refusal."""
    from bot.commands import COMMANDS, refuse  # commands imports this module

    if not ctx.is_leader:
        refuse(ctx, COMMANDS["area"])
        return
    area = area_by_code(data.get("c", ""))
    # Only codes the resolver itself would give for the area's own name: a
    # designated city's own row or a retired ward never reaches a telegram.
    if area is None or resolve_area(area.name).area != area:
        ctx.reply(quake_messages.area_unknown(data.get("c", "")), "command")
        return
    try:
        threshold = Intensity(data["t"]) if "t" in data else None
    except ValueError:
        threshold = None
    if threshold is not None and threshold < LOWEST_THRESHOLD:
        threshold = None
    _save(ctx.group, area, threshold)
    ctx.reply(quake_messages.area_set(area, threshold or group_threshold(ctx.group)), "command")


def cmd_drill(ctx: EventContext, command: Command) -> None:
    """/訓練: the emergency round as a drill, every message labelled 【訓練】.
    Like /確認, the prompt rides on the (free) reply to the leader."""
    open_round = current_round(ctx.group)
    if open_round is not None:
        when = messages.format_local(utc(open_round.summary_due_at).astimezone(ctx.settings.tz))
        ctx.reply([messages.text(f"いま確認中です。{when}にまとめます。訓練はそのあとでお願いします。")])
        return
    open_round_now(
        ctx.group,
        "drill",
        ctx.now,
        ctx.settings.emergency_summary_delay,
        headline=quake_messages.DRILL_HEADLINE,
        announce=lambda prompt, round_: ctx.reply(prompt, "prompt", fallback_push=True),
    )
