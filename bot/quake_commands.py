"""Leader commands for earthquakes: 「/地域」 (where the group is, and from
which intensity it is asked), its candidate buttons, and 「/訓練」 (a drill
of the emergency round).

Handlers follow bot/commands.py's contract: they run inside the event's
transaction, answer by reply, and change nothing on bad input.  The area is
only ever set from an exact name or from a leader's tap on a candidate
button, never from a guess.  Who may use them is decided by the tables that
dispatch here (bot/commands.py, bot/postbacks.py).
"""

from __future__ import annotations

from bot.context import EventContext
from domain import postback as codec
from domain.areas import area_by_code, parse_threshold, resolve_area, split_threshold
from domain.commands import Command
from domain.jma import Intensity
from domain.kinds import Purpose, RoundKind
from messages import commands as say
from messages import quake as quake_messages
from messages.flex import format_local
from models import Group, utc
from services import clock, groups, rounds

# Smaller shaking is common (震度3 somewhere most days): an emergency round
# for it would cost a push and teach members to ignore the prompt.
LOWEST_THRESHOLD = Intensity.FOUR


def status_line(group: Group) -> str:
    """The line /状況 shows about earthquakes."""
    return quake_messages.area_line(groups.area(group), groups.threshold(group))


def cmd_area(ctx: EventContext, command: Command) -> None:
    """/地域 [name] [震度N]: set the area (exact name only), the threshold, or
    both; without an argument, say what is set and how to write it."""
    group = ctx.group
    current, threshold_now = groups.area(group), groups.threshold(group)
    if not command.arg:
        ctx.reply(quake_messages.area_usage(current, threshold_now))
        return
    only_threshold = parse_threshold(command.arg)
    area_text, threshold = ("", only_threshold) if only_threshold else split_threshold(command.arg)
    if threshold is not None and threshold < LOWEST_THRESHOLD:
        ctx.reply(quake_messages.threshold_too_low(LOWEST_THRESHOLD))
        return
    if not area_text:
        groups.set_area(group, None, threshold)
        ctx.reply(quake_messages.threshold_set(threshold, current))
        return
    match = resolve_area(area_text)
    if match.is_exact:
        groups.set_area(group, match.area, threshold)
        ctx.reply(quake_messages.area_set(match.area, threshold or threshold_now))
    elif match.candidates:
        ctx.reply(quake_messages.area_candidates(area_text, match.candidates, match.total, threshold))
    else:
        ctx.reply(quake_messages.area_unknown(area_text))


def on_area_chosen(ctx: EventContext, choice: codec.ChooseArea) -> None:
    """A leader tapped one of /地域's candidate buttons."""
    area = area_by_code(choice.code)
    # Only codes the resolver itself would give for the area's own name: a
    # designated city's own row or a retired ward never reaches a telegram.
    if area is None or resolve_area(area.name).area != area:
        ctx.reply(quake_messages.area_unknown(choice.code))
        return
    try:
        threshold = Intensity(choice.threshold) if choice.threshold else None
    except ValueError:
        threshold = None
    if threshold is not None and threshold < LOWEST_THRESHOLD:
        threshold = None
    groups.set_area(ctx.group, area, threshold)
    ctx.reply(quake_messages.area_set(area, threshold or groups.threshold(ctx.group)))


def cmd_drill(ctx: EventContext, command: Command) -> None:
    """/訓練: the emergency round as a drill, every message labelled 【訓練】.
    Like /確認, the prompt rides on the (free) reply to the leader.

    A leader may run it at any time: beside a routine check or a /確認 still
    open (an OK counts in both; help in a drill stays practice).  Only a
    real emergency round, or a drill already running, makes it wait."""
    busy = next(
        (r for r in rounds.open_rounds(ctx.group) if RoundKind(r.kind).is_emergency_style),
        None,
    )
    if busy is not None:
        due = utc(busy.summary_due_at) + clock.chat_offset(ctx.group.line_group_id)  # the group's own clock
        ctx.reply(say.drill_waits(format_local(due.astimezone(ctx.settings.tz))))
        return
    rounds.open_round_now(
        ctx.group,
        RoundKind.DRILL,
        ctx.now,
        ctx.settings.emergency_summary_delay,
        headline=quake_messages.drill_headline(),
        announce=lambda prompt, round_: ctx.reply(prompt, Purpose.PROMPT, fallback_push=True),
    )
