"""The message catalogue: every message fits LINE's limits, and every button
carries a postback the codec reads back as what the button means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import postback as codec
from domain.areas import resolve_area
from domain.jma import Intensity
from domain.kinds import AnswerKind, RoundKind
from domain.rounds import MemberView, tally
from emulator.limits import validate_messages
from messages import commands, group, one_to_one, operators, quake
from tests.support import postback_actions

T0 = datetime(2026, 11, 30, tzinfo=UTC)
PEOPLE = [MemberView(i, name, T0) for i, name in enumerate(["佐藤花子", "鈴木一郎", "田中次郎"], start=1)]
ATSUGI = resolve_area("厚木市").area

EVERY_MESSAGE = {
    "greeting": group.greeting(),
    "welcome": group.welcome(),
    "registered": group.registered("鈴木一郎", named=False),
    "please_join": group.please_join(),
    "prompt routine": group.prompt(7),
    "prompt manual": group.prompt(7, RoundKind.MANUAL),
    "prompt emergency": group.prompt(7, RoundKind.EMERGENCY, "厚木市で震度5強の地震がありました。"),
    "prompt drill": group.prompt(7, RoundKind.DRILL, quake.drill_headline()),
    "help alert": group.help_alert("鈴木一郎", ["佐藤花子"], RoundKind.EMERGENCY)
    + group.help_on_the_way("鈴木一郎", RoundKind.EMERGENCY),
    "summary": group.summary(tally(PEOPLE, {1: "ok", 2: "help"}), RoundKind.EMERGENCY),
    "summary everyone": group.summary(tally(PEOPLE, {1: "ok", 2: "ok", 3: "ok"})),
    "notice": group.notice("明日は防災訓練です"),
    "help text": commands.help_text(list(commands.USAGE), list(commands.USAGE), no_leader_yet=False),
    "refusal": commands.refusal("schedule", ["佐藤花子"]),
    "area candidates": quake.area_candidates(
        "府中", resolve_area("府中").candidates, 3, Intensity.FIVE_UPPER
    ),
    "area set": quake.area_set(ATSUGI, Intensity.FIVE_LOWER),
    "withdrawn": quake.quake_withdrawn(True),
    "org notice": operators.org_notice("厚木市社会福祉協議会", "本日15時から避難所を開設しています。"),
    "one to one": one_to_one.groups_only(),
}


@pytest.mark.parametrize("name", sorted(EVERY_MESSAGE))
def test_every_message_fits_lines_limits(name):
    assert validate_messages(EVERY_MESSAGE[name]) == []


@pytest.mark.parametrize("name", sorted(EVERY_MESSAGE))
def test_every_button_carries_a_postback_the_codec_reads(name):
    for message in EVERY_MESSAGE[name]:
        for action in postback_actions(message):
            assert codec.decode(action["data"]) is not None, action["data"]


def test_the_prompt_buttons_mean_what_they_say():
    [ok, help_] = postback_actions(group.prompt(7, RoundKind.EMERGENCY)[0])
    assert codec.decode(ok["data"]) == codec.Answer(AnswerKind.OK, 7)
    assert codec.decode(help_["data"]) == codec.Answer(AnswerKind.HELP, 7)
    [join] = postback_actions(group.greeting()[0])
    assert codec.decode(join["data"]) == codec.Join()


def test_the_area_buttons_keep_a_5_upper_threshold():
    buttons = postback_actions(EVERY_MESSAGE["area candidates"][0])
    assert buttons and all(codec.decode(b["data"]).threshold == "5+" for b in buttons)
