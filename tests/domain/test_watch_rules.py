"""見守り rules, pure: /見守り's words, codes, deadlines, the money rule, and
the buttons' postbacks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain import postback as codec
from domain.kinds import AnswerKind, EscalationOutcome
from domain.schedule import ScheduleError
from domain.watch import (
    INVITATION_LIFETIME,
    WRONG_CODE_LIMIT,
    WatchCommand,
    affordable,
    check_deadlines,
    code_locked,
    escalation_reserve,
    every_day_at,
    invitation_expiry,
    is_end_word,
    new_code,
    parse_watch_argument,
    read_code,
    split_share,
)

MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    "arg, command",
    [
        ("", WatchCommand.SHOW),
        ("  ", WatchCommand.SHOW),
        ("停止", WatchCommand.PAUSE),
        ("とめる", WatchCommand.PAUSE),
        ("pause", WatchCommand.PAUSE),
        ("再開", WatchCommand.RESUME),
        ("RESUME", WatchCommand.RESUME),
    ],
)
def test_it_reads_what_watch_asks_for(arg, command):
    assert parse_watch_argument(arg, MONDAY).command is command


@pytest.mark.parametrize(
    "arg, spec",
    [
        ("毎日 9:00", "every 1 2026-11-30 09:00"),
        ("毎日　９：００", "every 1 2026-11-30 09:00"),
        ("2日ごと 10:00", "every 2 2026-11-30 10:00"),
        ("3日ごと 8:00", "every 3 2026-11-30 08:00"),
        ("毎週月水金 9:00", "weekly 024 09:00"),
        ("daily 7:30", "every 1 2026-11-30 07:30"),
        ("9:00", "every 1 2026-11-30 09:00"),  # a time alone means every day, as for groups
    ],
)
def test_it_reads_the_same_schedule_words_as_groups(arg, spec):
    request = parse_watch_argument(arg, MONDAY)
    assert request.command is WatchCommand.SCHEDULE and request.schedule.to_spec() == spec


@pytest.mark.parametrize("arg", ["あした", "毎日", "毎日 25:00"])
def test_it_refuses_what_is_not_a_schedule(arg):
    with pytest.raises(ScheduleError):
        parse_watch_argument(arg, MONDAY)


def test_a_time_button_means_every_day_at_that_time():
    schedule = every_day_at(19, 0, MONDAY)
    assert schedule.kind == "every" and schedule.interval_days == 1 and schedule.at == time(19, 0)


@pytest.mark.parametrize(
    "text, code",
    [
        ("123456", "123456"),
        ("０１２３４５", "012345"),
        ("123 456", "123456"),
        ("123-456", "123456"),
        (" 123456 ", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("１２３４５６７", None),
        ("٣٤٥٦٧٨", None),  # other scripts' digits are not our codes
        ("", None),
        ("OK", None),
    ],
)
def test_it_reads_a_code_as_a_contact_may_send_it(text, code):
    assert read_code(text) == code


def test_new_codes_are_six_digits_and_vary():
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 190


def test_an_invitation_lives_72_hours():
    created = datetime(2026, 11, 30, tzinfo=UTC)
    assert invitation_expiry(created) - created == INVITATION_LIFETIME == timedelta(hours=72)


def test_it_locks_a_sender_after_the_limit_of_wrong_codes():
    assert not code_locked(WRONG_CODE_LIMIT - 1)
    assert code_locked(WRONG_CODE_LIMIT)


@pytest.mark.parametrize(
    "arg, rest, shared",
    [
        ("3日", "3日", False),
        ("12月5日まで 連絡先にも知らせる", "12月5日まで", True),
        ("3日 知らせる", "3日", True),
        ("3日連絡先に伝える", "3日", True),
        ("おわり", "おわり", False),
    ],
)
def test_the_person_chooses_whether_contacts_hear_of_an_absence(arg, rest, shared):
    assert split_share(arg) == (rest, shared)


@pytest.mark.parametrize("arg, end", [("解除", True), ("やめる", True), ("", False), ("一覧", False)])
def test_it_reads_the_end_of_a_contact_link(arg, end):
    assert is_end_word(arg) is end


def test_both_deadlines_count_from_the_first_check():
    opened = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    due = check_deadlines(opened, 3 * 3600, 12 * 3600)
    assert due.resend_at == opened + timedelta(hours=3)
    assert due.escalate_at == opened + timedelta(hours=12)
    with pytest.raises(ValueError):
        check_deadlines(opened, 3 * 3600, 3 * 3600)


@pytest.mark.parametrize(
    "remaining, wanted, reserve, allowed",
    [(100, 10, 20, 10), (25, 10, 20, 5), (20, 10, 20, 0), (5, 10, 20, 0), (0, 0, 0, 0)],
)
def test_escalations_go_first(remaining, wanted, reserve, allowed):
    assert affordable(remaining, wanted, reserve) == allowed


def test_the_reserve_keeps_two_messages_per_contact():
    assert escalation_reserve(3) == 6


WATCH_ACTIONS = [
    codec.StartWatch(),
    codec.ChooseWatchTime(9, 0),
    codec.ChooseWatchTime(23, 59),
    codec.ResumeWatch(),
    codec.WatchOk(12),
    codec.BecomeContact(3, "012345"),
    codec.ClaimEscalation(2**31 - 1),
    *[codec.ReportOutcome(5, outcome) for outcome in EscalationOutcome],
    codec.EndContact(8),
    codec.ConfirmErase(),
]


@pytest.mark.parametrize("action", WATCH_ACTIONS, ids=repr)
def test_every_watch_button_round_trips(action):
    assert codec.decode(codec.encode(action)) == action


@pytest.mark.parametrize(
    "data",
    [
        "a=wt&h=24&m=0",
        "a=wt&h=9&m=60",
        "a=wt&h=9",
        "a=wok&c=0",
        "a=wok&c=²",
        "a=bc&i=3&c=12345",
        "a=bc&i=3&c=1234567",
        "a=bc&c=012345",
        "a=eo&e=5&o=fine",
        "a=eo&o=safe",
        "a=ec&e=99999999999",
        "a=ce&k=3&k=4",
        "a=wok&c=1&c=2",
    ],
)
def test_it_refuses_forged_watch_buttons(data):
    assert codec.decode(data) is None


def test_the_group_answer_buttons_still_read_as_they_did():
    assert codec.decode("a=ok&r=12") == codec.Answer(AnswerKind.OK, 12)
