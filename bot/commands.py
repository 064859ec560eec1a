"""Group commands, dispatched through a table.

Each entry says who may use it, how it is written and what it does.  A
handler runs inside the event's transaction (see bot/context.py) and
answers by reply.  Bad input gets a kind explanation and changes nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot import messages, quake_commands
from bot.context import EventContext
from domain import schedule as schedules
from domain.commands import Command
from jobs.rounds import current_round, open_round_now, round_tally
from jobs.usage import month_usage
from models import Group, Member, Person, naive, utc

NAME_LIMIT = 20


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str  # as typed, e.g. "/設定 毎日 9:00"
    summary: str  # one line for /ヘルプ
    handler: Callable[[EventContext, Command], None]
    leader_only: bool = False


def _reply(ctx: EventContext, body: str, purpose: str = "command") -> None:
    ctx.reply([messages.text(body)], purpose)


def _leaders(group: Group) -> list[str]:
    return [
        m.name
        for m in Member.select(Member, Person)
        .join(Person)
        .where((Member.group == group) & Member.active & Member.is_leader)
        .order_by(Member.registered_at)
    ]


def _register(ctx: EventContext, nickname: str | None = None):
    from bot.events import register  # events imports this module

    return register(ctx, nickname)


def _local(ctx: EventContext, moment) -> str:
    return messages.format_local(utc(moment).astimezone(ctx.settings.tz))


# -- member commands -----------------------------------------------------------
def cmd_help(ctx: EventContext, command: Command) -> None:
    lines = ["【つながりの使い方】", "確認のお知らせが来たら、OKを押すだけです。", ""]
    lines += [f"{spec.usage}\n　{spec.summary}" for spec in COMMANDS.values() if not spec.leader_only]
    if ctx.is_leader:
        lines += ["", "【リーダーの方】"]
        lines += [f"{spec.usage}\n　{spec.summary}" for spec in COMMANDS.values() if spec.leader_only]
    elif not _leaders(ctx.group):
        lines += ["", "まとめ役の方は「/リーダー」と送るとリーダーになれます。"]
    _reply(ctx, "\n".join(lines), "help")


def cmd_name(ctx: EventContext, command: Command) -> None:
    name = command.arg.strip().removesuffix("さん").strip()
    if not name:
        _reply(ctx, "お名前を続けて送ってください。\n例：/名前 山田花子")
        return
    if len(name) > NAME_LIMIT or any(unicodedata.category(c).startswith("C") for c in name):
        _reply(ctx, f"お名前は{NAME_LIMIT}文字までで送ってください。\n例：/名前 山田花子")
        return
    member, _ = _register(ctx, nickname=name)
    _reply(ctx, f"これから「{member.name}さん」とお呼びします。")


def cmd_quit(ctx: EventContext, command: Command) -> None:
    if ctx.member is None or not ctx.member.active:
        _reply(ctx, "まだ参加されていません。")
        return
    Member.update(active=False, is_leader=False, left_at=naive(ctx.now)).where(
        Member.id == ctx.member.id
    ).execute()
    _reply(ctx, f"{ctx.member.name}さんの参加をやめました。また参加するときは「参加する」を押してください。")


def cmd_leader(ctx: EventContext, command: Command) -> None:
    leaders = _leaders(ctx.group)
    if not command.arg:
        if ctx.is_leader:
            _reply(ctx, "すでにリーダーです。")
        elif leaders:
            _reply(
                ctx,
                f"リーダーは{'、'.join(n + 'さん' for n in leaders)}です。"
                "リーダーの方から「/リーダー お名前」で指名してもらえます。",
            )
        else:
            member, _ = _register(ctx)
            Member.update(is_leader=True).where(Member.id == member.id).execute()
            _reply(
                ctx,
                f"{member.name}さんがリーダーになりました。\n"
                "確認の時間を決めてください。例：/設定 毎日 9:00\n"
                "使い方は「/ヘルプ」で見られます。",
            )
        return
    if not ctx.is_leader:
        refuse(ctx, COMMANDS["leader"])
        return
    wanted = command.arg.removesuffix("さん").strip().lstrip("@")
    candidates = [
        m
        for m in Member.select(Member, Person).join(Person).where((Member.group == ctx.group) & Member.active)
        if wanted in (m.nickname, m.person.display_name)
    ]
    if not candidates:
        _reply(ctx, f"「{wanted}」さんが見つかりません。参加済みの方だけ指名できます。")
    elif len(candidates) > 1:
        _reply(ctx, f"「{wanted}」さんが複数います。/名前 で呼び名を変えてから指名してください。")
    elif candidates[0].is_leader:
        _reply(ctx, f"{candidates[0].name}さんはすでにリーダーです。")
    else:
        Member.update(is_leader=True).where(Member.id == candidates[0].id).execute()
        _reply(ctx, f"{candidates[0].name}さんをリーダーにしました。")


def cmd_status(ctx: EventContext, command: Command) -> None:
    group = ctx.group
    lines = ["【いまの状況】"]
    if group.schedule:
        when = schedules.Schedule.from_spec(group.schedule).describe()
        lines.append(f"確認の予定：{when}" + ("（停止中）" if group.paused else ""))
        if group.next_round_at and not group.paused:
            lines.append(f"次の確認：{_local(ctx, group.next_round_at)}")
    else:
        lines.append("確認の予定：まだ決まっていません")
    lines.append(quake_commands.status_line(group))
    round_ = current_round(group)
    if round_ is not None:
        result = round_tally(round_)
        help_count = f"・助けが必要 {len(result.need_help)}人" if result.need_help else ""
        lines.append(
            f"いまの確認：OK {len(result.answered)}人{help_count}・まだ {len(result.unanswered)}人"
            f"（{_local(ctx, round_.summary_due_at)}にまとめます）"
        )
    members = Member.select().where((Member.group == group) & Member.active).count()
    lines.append(f"参加している方：{members}人")
    used = month_usage(ctx.now, ctx.settings.tz)
    lines.append(f"今月のメッセージ数（このボット全体）：{used}通（無料プランは月200通まで）")
    _reply(ctx, "\n".join(lines), "status")


# -- leader commands --------------------------------------------------------------
def cmd_schedule(ctx: EventContext, command: Command) -> None:
    today = ctx.now.astimezone(ctx.settings.tz).date()
    try:
        parsed = schedules.parse_schedule(command.arg, today)
    except schedules.ScheduleError:
        _reply(
            ctx,
            "確認の時間がわかりませんでした。次のように送ってください。\n" + "\n".join(schedules.EXAMPLES),
        )
        return
    next_at = parsed.next_after(ctx.now, ctx.settings.tz)
    Group.update(schedule=parsed.to_spec(), paused=False, next_round_at=naive(next_at)).where(
        Group.id == ctx.group.id
    ).execute()
    _reply(ctx, f"確認の予定を「{parsed.describe()}」にしました。\n次の確認は{_local(ctx, next_at)}です。")


def cmd_check(ctx: EventContext, command: Command) -> None:
    open_round = current_round(ctx.group)
    if open_round is not None:
        _reply(ctx, f"いま確認中です。{_local(ctx, open_round.summary_due_at)}にまとめます。")
        return
    # The prompt rides on the reply to the leader's command: free, and it
    # is pushed only if the reply token has run out.
    open_round_now(
        ctx.group,
        "manual",
        ctx.now,
        ctx.settings.checkin_summary_delay,
        announce=lambda prompt, round_: ctx.reply(prompt, "prompt", fallback_push=True),
    )


def cmd_pause(ctx: EventContext, command: Command) -> None:
    if ctx.group.paused:
        _reply(ctx, "すでに停止しています。再開するときは「/再開」と送ってください。")
        return
    Group.update(paused=True).where(Group.id == ctx.group.id).execute()
    _reply(ctx, "定期の確認を停止しました。再開するときは「/再開」と送ってください。")


def cmd_resume(ctx: EventContext, command: Command) -> None:
    group = ctx.group
    if not group.schedule:
        _reply(ctx, "まだ確認の予定がありません。\n例：/設定 毎日 9:00")
        return
    if not group.paused:
        _reply(ctx, "定期の確認は動いています。")
        return
    next_at = schedules.Schedule.from_spec(group.schedule).next_after(ctx.now, ctx.settings.tz)
    Group.update(paused=False, next_round_at=naive(next_at)).where(Group.id == group.id).execute()
    _reply(ctx, f"定期の確認を再開しました。次の確認は{_local(ctx, next_at)}です。")


def cmd_notice(ctx: EventContext, command: Command) -> None:
    body = command.raw_arg
    if not body:
        _reply(ctx, "お知らせの本文を続けて送ってください。\n例：/お知らせ 明日は防災訓練です")
        return
    if messages.utf16_len(body) > messages.NOTICE_LIMIT:
        _reply(
            ctx,
            f"お知らせが長すぎます（LINEでは1通{messages.NOTICE_LIMIT}文字ほどまでです）。"
            "いくつかに分けて送ってください。",
        )
        return
    # A reply reaches the whole group just like a push, and is free.
    ctx.reply(messages.notice(body), "notice", fallback_push=True)


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("help", "/ヘルプ", "使い方を表示します", cmd_help),
        CommandSpec("name", "/名前 山田花子", "呼び名を登録します", cmd_name),
        CommandSpec("quit", "/退会", "参加をやめます", cmd_quit),
        CommandSpec("status", "/状況", "いまの確認の様子を表示します", cmd_status),
        CommandSpec("leader", "/リーダー", "リーダーになります（指名は /リーダー お名前）", cmd_leader),
        CommandSpec("schedule", "/設定 毎日 9:00", "確認の時間を決めます", cmd_schedule, leader_only=True),
        CommandSpec("check", "/確認", "いますぐ確認します", cmd_check, leader_only=True),
        CommandSpec("pause", "/停止", "定期の確認を止めます", cmd_pause, leader_only=True),
        CommandSpec("resume", "/再開", "定期の確認を再開します", cmd_resume, leader_only=True),
        CommandSpec("notice", "/お知らせ 本文", "グループにお知らせします", cmd_notice, leader_only=True),
        CommandSpec(
            "area",
            "/地域 厚木市",
            "地震のときに無事を確認する地域を決めます（震度も書けます：/地域 厚木市 震度4）",
            quake_commands.cmd_area,
            leader_only=True,
        ),
        CommandSpec(
            "drill", "/訓練", "地震のときの確認を練習します", quake_commands.cmd_drill, leader_only=True
        ),
    )
}


def refuse(ctx: EventContext, spec: CommandSpec) -> None:
    leaders = _leaders(ctx.group)
    who = f"リーダー（{'、'.join(n + 'さん' for n in leaders)}）" if leaders else "リーダー"
    hint = "" if leaders else "\nまだリーダーがいません。まとめ役の方は「/リーダー」と送ってください。"
    _reply(ctx, f"「{spec.usage.split()[0]}」は{who}の方だけが使えます。ごめんなさい。{hint}", "refusal")


def run_command(ctx: EventContext, command: Command) -> None:
    """Dispatch ``command``: unknown -> help; leader-only from others -> a
    polite refusal.  Neither changes anything."""
    spec = COMMANDS.get(command.name or "")
    if spec is None:
        cmd_help(ctx, command)
        return
    if spec.leader_only and not ctx.is_leader:
        refuse(ctx, spec)
        return
    spec.handler(ctx, command)
