"""Who may do what: one rule for commands and buttons alike.

A command or a postback declares the role it needs; ``allowed`` is the only
place that decides, and ``refuse`` the only polite refusal.  A refusal
changes nothing.
"""

from __future__ import annotations

from enum import IntEnum

from bot.context import EventContext
from domain.kinds import Purpose
from messages import commands as command_messages
from services import membership


class Role(IntEnum):
    """Ordered: a leader may do whatever a member may."""

    ANYONE = 0
    LEADER = 2


def allowed(ctx: EventContext, role: Role) -> bool:
    return role is Role.ANYONE or (role is Role.LEADER and ctx.is_leader)


def refuse(ctx: EventContext, command_name: str) -> None:
    """Say kindly who may use ``command_name`` (and how to become a leader
    when the group has none)."""
    leaders = membership.leader_names(ctx.group) if ctx.group is not None else []
    ctx.reply(command_messages.refusal(command_name, leaders), Purpose.REFUSAL)
