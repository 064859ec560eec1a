"""The earthquake lesson's quake: a real JMA telegram, as a drill, in one
simulated group.

The telegram in data/jma-lesson/ (a copy of one the tests use; the app
never reads tests/) is parsed by the live feed's parser and decided by the
same rules (domain.quake.decide) against the group's real state; its
headline is the one members read in a real quake.  Three things differ from
services/quake.start_emergencies, on purpose:

- the round is a DRILL, so every message carries 【訓練】 (a class must never
  mistake it for a real quake, nor count it as one: drills do not skip the
  routine check or shorten the aftershock rule);
- only the lesson's group is asked (a real telegram reaches every group in
  its 市町村; a lesson must not reach the class next door);
- the quake happens "now": its times are moved to the group's clock, as a
  drill scenario would say 「いま地震がありました」.  Place and intensity are
  JMA's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from domain.jma import Intensity, Telegram, parse_telegram
from domain.kinds import RoundKind
from domain.quake import Action, GroupQuakeState, decide, describe_quake
from messages import quake as quake_messages
from messages.i18n import using
from models import Group, db
from services import clock
from services.groups import threshold as group_threshold
from services.rounds import close_round, open_round_ids, open_round_now

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "jma-lesson"
TELEGRAM_FILE = DATA_DIR / "20210219091451_0_VXSE53_010000.xml"
# Where the lesson's group is, and from which intensity it is asked: the
# telegram reported 震度4 in 二戸市.
AREA_NAME = "二戸市"
THRESHOLD = Intensity.FOUR
# The quake is felt a minute before the bot's message arrives.
FELT_BEFORE = timedelta(minutes=1)


def lesson_telegram() -> Telegram:
    return parse_telegram(TELEGRAM_FILE.read_bytes())


def happening_at(telegram: Telegram, moment: datetime) -> Telegram:
    """The telegram as if the quake had happened at ``moment``."""
    return replace(telegram, origin_time=moment, report_datetime=moment + FELT_BEFORE)


class NotReady(Exception):
    """The group is not set up for the lesson's quake (no bot, no area)."""


def start_drill(line_group_id: str, group_now: datetime, settings) -> int:
    """Open the drill round in the group, prompt pushed as in a real quake.
    ``group_now``: the group's own time (web/group_clock.py).  Returns the
    round id.  NotReady when the group cannot be asked."""
    group = Group.get_or_none((Group.line_group_id == line_group_id) & Group.active)
    if group is None or not group.area_code:
        raise NotReady(line_group_id)
    real_now = clock.now()
    base = lesson_telegram()
    # Stored times are in the bot's clock; what members read, in the group's.
    telegram = happening_at(base, real_now - FELT_BEFORE)
    state = GroupQuakeState(group.area_code, group_threshold(group), None)
    decision = decide(telegram, state, real_now)
    if decision.action is not Action.START:
        raise NotReady(decision.reason.value)
    with using(group.language):  # the group reads it in its language
        headline = quake_messages.quake_headline(
            describe_quake(happening_at(base, group_now - FELT_BEFORE), group.area_code)
        )
    with db.atomic():
        for round_id in open_round_ids(group):
            close_round(round_id, real_now)
        opened = open_round_now(
            group,
            RoundKind.DRILL,
            real_now,
            settings.emergency_summary_delay,
            headline=headline,
            intensity=decision.intensity.value,
        )
    return opened.id
