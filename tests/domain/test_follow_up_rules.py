"""The follow-up loop's pure rules: claims, outcomes, the buttons' data, and
a roll call whose counts always add up."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain import postback as codec
from domain.followups import Verdict, claim_verdict, ends_by_own_ok, outcome_verdict, state_after
from domain.kinds import FollowUpKind, FollowUpOutcome, FollowUpState
from domain.rounds import MemberView, OfflineView, mostly_unregistered, tally

OPEN, CLAIMED, ESCALATED, DONE = (
    FollowUpState.OPEN,
    FollowUpState.CLAIMED,
    FollowUpState.ESCALATED,
    FollowUpState.DONE,
)
SAFE, UNREACHABLE, NEEDED_HELP = (
    FollowUpOutcome.SAFE,
    FollowUpOutcome.UNREACHABLE,
    FollowUpOutcome.NEEDED_HELP,
)


@pytest.mark.parametrize(
    "state, is_the_person, verdict",
    [
        (OPEN, False, Verdict.DONE),  # the first claim wins
        (CLAIMED, False, Verdict.TAKEN),  # the second is told who has it
        (ESCALATED, False, Verdict.TAKEN),
        (DONE, False, Verdict.ALREADY),
        (OPEN, True, Verdict.SELF),  # 田中次郎 taps 「田中次郎さんを確認します」: he is fine
        (CLAIMED, True, Verdict.SELF),
        (DONE, True, Verdict.ALREADY),
    ],
)
def test_it_lets_the_first_claim_win(state, is_the_person, verdict):
    assert claim_verdict(state, is_the_person) is verdict


@pytest.mark.parametrize(
    "state, outcome, is_claimer, is_leader, verdict",
    [
        (CLAIMED, SAFE, True, False, Verdict.DONE),
        (CLAIMED, UNREACHABLE, True, False, Verdict.DONE),
        (CLAIMED, NEEDED_HELP, False, True, Verdict.DONE),  # a leader may record for anyone
        (CLAIMED, SAFE, False, False, Verdict.NOT_YOURS),
        (OPEN, SAFE, False, True, Verdict.DONE),  # a leader who phoned, without claiming
        (OPEN, SAFE, False, False, Verdict.NOT_YOURS),
        (ESCALATED, SAFE, True, False, Verdict.DONE),  # found, after 連絡がつかない
        (ESCALATED, UNREACHABLE, True, False, Verdict.ALREADY),  # told once
        (DONE, SAFE, True, True, Verdict.ALREADY),
        (DONE, NEEDED_HELP, True, True, Verdict.ALREADY),
    ],
)
def test_it_records_an_outcome_once_by_the_claimer_or_a_leader(
    state, outcome, is_claimer, is_leader, verdict
):
    assert outcome_verdict(state, outcome, is_claimer, is_leader) is verdict


def test_only_unreachable_leaves_a_follow_up_live():
    assert state_after(UNREACHABLE) is ESCALATED
    assert state_after(SAFE) is state_after(NEEDED_HELP) is DONE


def test_a_late_ok_ends_silence_but_not_a_call_for_help():
    assert ends_by_own_ok(FollowUpKind.UNANSWERED)
    assert not ends_by_own_ok(FollowUpKind.HELP) and not ends_by_own_ok(FollowUpKind.OFFLINE)


@pytest.mark.parametrize(
    "action",
    [codec.Claim(12), codec.RecordOutcome(12, SAFE), codec.RecordOutcome(2**31 - 1, UNREACHABLE)],
)
def test_the_follow_up_buttons_round_trip(action):
    assert codec.decode(codec.encode(action)) == action


@pytest.mark.parametrize(
    "data",
    [
        "a=claim",
        "a=claim&f=0",
        "a=claim&f=-3",
        "a=claim&f=²",
        "a=claim&f=99999999999",
        "a=outcome&f=12",
        "a=outcome&f=12&o=self-ok",  # only the three buttons' outcomes are ever sent
        "a=outcome&f=12&o=superseded",
        "a=outcome&f=12&o=SAFE",
        "a=outcome&f=12&o=safe&o=safe",
    ],
)
def test_it_reads_no_forged_follow_up_button(data):
    assert codec.decode(data) is None


T0 = datetime(2026, 11, 30, tzinfo=UTC)
MONDAY = date(2026, 11, 30)


def test_a_roll_call_adds_up_and_puts_help_apart_from_the_confirmed():
    members = [
        MemberView(1, "佐藤花子", T0),
        MemberView(2, "鈴木一郎", T0),
        MemberView(3, "田中次郎", T0),
        MemberView(4, "山田太郎", T0, away_until=date(2026, 12, 5)),
        MemberView(5, "小林さくら", T0, away_until=date(2026, 12, 5)),
    ]
    answers = {1: "ok", 2: "help", 5: "ok"}  # someone away who answers is fine
    result = tally(members, answers, [OfflineView(1, "高橋ウメ", T0)], member_count=7, day=MONDAY)
    assert [m.name for m in result.ok] == ["佐藤花子", "小林さくら"]
    assert [m.name for m in result.need_help] == ["鈴木一郎"]  # never among the confirmed
    assert [m.name for m in result.away] == ["山田太郎"]
    assert [m.name for m in result.unanswered] == ["田中次郎"]
    assert (
        len(result.ok) + len(result.need_help) + len(result.away) + len(result.unanswered)
        == result.registered
        == 5
    )
    assert result.roll == 6 and result.not_joined == 2 and result.unconfirmed == 3
    assert not result.everyone_confirmed


def test_an_absence_ends_with_its_last_day():
    member = MemberView(1, "山田太郎", T0, away_until=date(2026, 12, 5))
    assert tally([member], {}, day=date(2026, 12, 5)).away == [member]
    assert tally([member], {}, day=date(2026, 12, 6)).unanswered == [member]


@pytest.mark.parametrize(
    "registered, member_count, few",
    [(1, 4, True), (2, 4, False), (3, 7, True), (0, None, False), (0, 0, False)],
)
def test_it_notices_when_most_of_the_group_has_not_joined(registered, member_count, few):
    assert mostly_unregistered(registered, member_count) is few
