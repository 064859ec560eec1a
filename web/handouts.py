"""The handouts' pictures of the screens, built from the bot's own messages.

Each step of a lesson gets a small chat: what the member does and what the
bot answers, made by the same builders (messages/) the bot sends, so a
handout never shows a screen the bot no longer draws.  The template
(templates/simulator/handout.html) draws them as the simulator does, in
print-friendly HTML rather than screenshots: they print sharp at any size
and need no image files kept up to date.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.followups import FollowUpView
from domain.kinds import FollowUpKind, FollowUpOutcome, RoundKind
from domain.quake import describe_quake
from domain.rounds import MemberView, Tally
from domain.schedule import parse_schedule
from domain.watch import INVITATION_LIFETIME
from messages import commands as say
from messages import contacts as contact_messages
from messages import followups as followup_messages
from messages import group as group_messages
from messages import quake as quake_messages
from messages import watch as watch_messages
from messages.flex import format_local
from web import quake_lesson

# The people in the pictures (the project's personas).
LEARNER, LEADER, NEIGHBOUR = "鈴木一郎", "佐藤花子", "田中次郎"
JST = quake_lesson.lesson_telegram().report_datetime.tzinfo
EXAMPLE_MORNING = datetime(2026, 6, 2, 9, 0, tzinfo=JST)
EXAMPLE_QUAKE = datetime(2026, 6, 2, 9, 41, tzinfo=JST)


def _bot(messages: list[dict]) -> list[dict]:
    return [{"sender": "bot", "message": m} for m in messages]


def _me(text: str) -> dict:
    return {"sender": "me", "message": {"type": "text", "text": text}}


def _other(name: str, text: str) -> dict:
    return {"sender": "other", "name": name, "message": {"type": "text", "text": text}}


def _tally(unanswered: list[str], answered: list[str], need_help: list[str] = ()) -> Tally:
    views = {name: MemberView(i, name, EXAMPLE_MORNING) for i, name in enumerate([*unanswered, *answered])}
    return Tally(
        ok=[views[n] for n in answered if n not in need_help],
        need_help=[views[n] for n in need_help],
        away=[],
        unanswered=[views[n] for n in unanswered],
    )


def _summary(unanswered: list[str], answered: list[str], need_help: list[str] = (), kind=RoundKind.ROUTINE):
    """The summary as the group reads it, with a 「○○さんを確認します」 button
    for each person not yet confirmed."""
    follow_ups = [
        FollowUpView(i, name, FollowUpKind.HELP if name in need_help else FollowUpKind.UNANSWERED)
        for i, name in enumerate([*need_help, *unanswered], start=1)
    ]
    return group_messages.summary(_tally(unanswered, answered, need_help), kind, follow_ups)


def _drill_prompt() -> list[dict]:
    telegram = quake_lesson.happening_at(quake_lesson.lesson_telegram(), EXAMPLE_QUAKE)
    headline = quake_messages.quake_headline(describe_quake(telegram, "0321300"))
    return group_messages.prompt(1, RoundKind.DRILL, headline)


def _schedule_reply() -> list[dict]:
    schedule = parse_schedule("毎日 9:00", EXAMPLE_MORNING.date())
    return say.schedule_set(schedule.describe(), format_local(EXAMPLE_MORNING))


# 近所の人を見に行く: 山田和子 has no LINE; she is on the group's 名簿.
OFFLINE = FollowUpView(1, "山田和子", FollowUpKind.OFFLINE)
EXAMPLE_CODE = "123456"
NEXT_MORNING = EXAMPLE_MORNING + timedelta(days=1)


def _visit_summary() -> list[dict]:
    return group_messages.summary(_tally([], [LEADER, LEARNER]), RoundKind.ROUTINE, [OFFLINE])


# (lesson, step) -> the little chat for it.  A step missing here has no picture.
SCREENS = {
    "join": lambda: [
        *_bot(group_messages.greeting()[:1]),
        _me("参加します"),
        *_bot(group_messages.registered(LEARNER, True)),
    ],
    "check": lambda: [_other(LEADER, "/確認"), *_bot(group_messages.prompt(1))],
    "ok": lambda: [
        *_bot(group_messages.prompt(1)),
        _me("OK"),
        *_bot(group_messages.answer_thanks(LEARNER)),
    ],
    "advance": lambda: _bot(_summary([NEIGHBOUR], [LEADER, LEARNER])),
    "read": lambda: _bot(_summary([NEIGHBOUR], [LEADER, LEARNER])),
    "quake": lambda: _bot(_drill_prompt()),
    "answer": lambda: [
        *_bot(_drill_prompt()),
        _me(group_messages.drill_label(RoundKind.DRILL) + "助けが必要です"),
        *_bot(group_messages.help_on_the_way(LEARNER, RoundKind.DRILL)),
    ],
    "advance-quake": lambda: _bot(_summary([NEIGHBOUR], [LEADER, LEARNER], [LEARNER], RoundKind.DRILL)),
    "leader": lambda: [_me("/リーダー"), *_bot(say.became_leader(LEARNER))],
    "schedule": lambda: [_me("/設定 毎日 9:00"), *_bot(_schedule_reply())],
    "status": lambda: [
        _me("/状況"),
        *_bot(
            say.status(
                [
                    say.status_schedule(
                        parse_schedule("毎日 9:00", EXAMPLE_MORNING.date()).describe(), False
                    ),
                    say.status_next(format_local(EXAMPLE_MORNING)),
                    say.status_members(3),
                ]
            )
        ),
    ],
    "morning": lambda: _bot(group_messages.prompt(1)),
    "visit-advance": lambda: _bot(_visit_summary()),
    "visit-claim": lambda: [
        _me(followup_messages.claim_label(OFFLINE)),
        *_bot(followup_messages.claimed(LEARNER, OFFLINE, RoundKind.ROUTINE)),
    ],
    "visit-outcome": lambda: [
        _me("山田和子さん（LINEなし）は無事でした"),
        *_bot(
            followup_messages.outcome_told(
                OFFLINE, FollowUpOutcome.SAFE, LEARNER, RoundKind.ROUTINE, [LEADER]
            )
        ),
    ],
    "watch-follow": lambda: _bot(watch_messages.greeting()),
    "watch-start": lambda: [
        _me("見守りをはじめる"),
        *_bot(watch_messages.choose_time()),
        _me("毎日 9:00"),
        *_bot(watch_messages.schedule_set("毎日 9:00", format_local(EXAMPLE_MORNING), 0)),
    ],
    "watch-invite": lambda: [
        _me("/連絡先"),
        *_bot(
            watch_messages.invitation(
                LEADER, EXAMPLE_CODE, None, format_local(EXAMPLE_MORNING + INVITATION_LIFETIME)
            )
        ),
    ],
    "watch-forward": lambda: [_me(EXAMPLE_CODE), *_bot(contact_messages.offer(LEADER, 1, EXAMPLE_CODE))],
    "watch-accept": lambda: [_me("連絡先になる"), *_bot(contact_messages.linked(LEADER))],
    "watch-check": lambda: _bot(watch_messages.check(1, LEADER)),
    "watch-ok": lambda: [
        *_bot(watch_messages.check(1, LEADER)),
        _me("OK"),
        *_bot(watch_messages.thanks(LEADER)),
    ],
    "watch-miss": lambda: _bot(watch_messages.check(2, LEADER)),
    "watch-resend": lambda: _bot(watch_messages.resend(2, LEADER, None)),
    "watch-escalate": lambda: _bot(
        # The second morning's check went unanswered; the last OK was the first morning's.
        contact_messages.escalation(LEADER, 1, format_local(NEXT_MORNING), format_local(EXAMPLE_MORNING))
    ),
    "watch-claim": lambda: [_me("わたしが確認します"), *_bot(contact_messages.claim_won(LEADER, 1))],
}
_SPECIAL = {
    ("quake", "advance"): "advance-quake",
    ("quake", "read"): "advance-quake",
    ("visit", "advance"): "visit-advance",
    ("visit", "claim"): "visit-claim",
    ("visit", "outcome"): "visit-outcome",
    **{
        ("watch", key): f"watch-{key}"
        for key in (
            "follow",
            "start",
            "invite",
            "forward",
            "accept",
            "check",
            "ok",
            "miss",
            "resend",
            "escalate",
            "claim",
        )
    },
}


def screens(lesson_key: str) -> dict[str, list[dict]]:
    """Step key -> the items of its picture, for one lesson."""
    from web.lessons import LESSONS

    pictures = {}
    for step in LESSONS[lesson_key].steps:
        name = _SPECIAL.get((lesson_key, step.key), step.key)
        if name in SCREENS:
            pictures[step.key] = SCREENS[name]()
    return pictures


def text_on(colour: str | None) -> str:
    """Black or white text on a button of ``colour``, whichever reads at
    WCAG AA (4.5:1), as the simulator's chat draws it."""
    if not colour or len(colour) != 7:
        return "#000"

    def channel(i: int) -> float:
        c = int(colour[i : i + 2], 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    return "#fff" if 1.05 / (luminance + 0.05) >= 4.5 else "#000"
