"""Lessons: what a learner does, step by step, and how far each one got.

A lesson is a row of ``LESSONS``: how its group is set up and its steps.
A step is done for a learner (``each``) or once for the group; whether it is
done is read from what the bot recorded (registered members, leaders,
rounds, answers, the schedule) and from the chat itself (commands typed),
never from the page, so several phones in one class agree.  Adding a lesson
(the follow-up loop, 見守り) is a row here, its words in
templates/simulator/lesson_texts.html and, if it needs a new kind of fact, a
line in ``facts``.

Every lesson runs in a group of its own, made fresh when it starts and
again on 「最初から」: a reset never rewinds anything, it leaves the old
group (the bot is removed from it, so nothing of it fires any more).

A one-to-one lesson (``one_to_one``: ひとりの見守り) runs in the one-to-one
chats of fresh people instead: the watched person (whose chat keys the
lesson and its clock) and their contact (``partners``).  Its reset makes
fresh people again, and the old ones block the bot (their watch stops).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from domain.commands import parse_command
from domain.kinds import Purpose, RoundKind, RoundStatus
from emulator.platform import LinePlatform
from models import (
    Answer,
    Contact,
    DemoGroup,
    Escalation,
    FollowUp,
    Group,
    Invitation,
    Member,
    Outbox,
    Person,
    Round,
    WatchCheck,
    db,
)
from web import group_clock


@dataclass
class Facts:
    """What one group's lesson progress is read from."""

    registered: set[str] = field(default_factory=set)  # LINE user ids
    leaders: set[str] = field(default_factory=set)
    round: Round | None = None  # the newest round
    answers: dict[str, str] = field(default_factory=dict)  # user id -> ok|help, for that round
    summary_sent: bool = False  # that round's summary reached LINE
    schedule: str | None = None
    area_code: str | None = None
    said: dict[str, set[str]] = field(default_factory=dict)  # command name -> user ids
    marks: dict[str, list[str]] = field(default_factory=dict)
    # The follow-up loop (近所の人を見に行く): someone said they would go, and
    # what they found was recorded.
    claimed: bool = False
    outcome: bool = False
    # 見守り (a one-to-one lesson): the watched person's chat and their contacts'.
    greeted: bool = False  # the person added the bot as a friend and was greeted
    watch_schedule: str | None = None
    invited: bool = False  # an invitation code was made (/連絡先)
    forwarded: bool = False  # a contact sent a code in their own chat
    contacts: int = 0
    checks: int = 0  # checks sent
    answered: int = 0  # checks answered OK
    resent: bool = False  # a check was sent again
    escalated: bool = False  # the contacts were told
    escalation_claimed: bool = False  # a contact said 「わたしが確認します」

    def round_kind(self) -> str | None:
        return self.round.kind if self.round else None

    def read(self, user_id: str) -> bool:
        return self.round is not None and user_id in self.marks.get(f"read:{self.round.id}", [])


Done = Callable[[Facts, str], bool]


@dataclass(frozen=True)
class Step:
    """One step.  ``action`` says what the page points at (a button of the
    chat, a command for the input, a clock step, the quake or 読みました)."""

    key: str
    done: Done
    action: str
    each: bool = True


def _said(command: str) -> Done:
    return lambda facts, user: user in facts.said.get(command, set())


def _round_of(*kinds: RoundKind) -> Done:
    return lambda facts, user: facts.round is not None and facts.round.kind in kinds


def _closed(facts: Facts, user: str) -> bool:
    return facts.round is not None and facts.round.status == RoundStatus.CLOSED and facts.summary_sent


JOIN = Step("join", lambda f, u: u in f.registered, "tap:join")
OK = Step("ok", lambda f, u: u in f.answers, "tap:ok")
READ = Step("read", lambda f, u: f.read(u), "read")


@dataclass(frozen=True)
class Lesson:
    key: str
    steps: tuple[Step, ...]
    # What the lesson's first member (the teacher, or 佐藤花子 alone at one
    # screen) types while the group is made, so the lesson starts where it
    # should: a leader is there, the area is set.
    setup_commands: tuple[str, ...] = ()
    # The bot's group must exist with its area before the step can run.
    needs_area: bool = False
    # Runs in one-to-one chats (start_one_to_one), not in a group.
    one_to_one: bool = False


def _ok_given(facts: Facts, user: str) -> bool:
    return facts.answered > 0


def _second_check(facts: Facts, user: str) -> bool:
    return facts.checks >= 2


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in (
        Lesson(
            "basics",
            (
                JOIN,
                Step("check", _round_of(RoundKind.MANUAL, RoundKind.ROUTINE), "say:/確認", each=False),
                OK,
                Step("advance", _closed, "advance:23h", each=False),
                READ,
            ),
            setup_commands=("/リーダー",),
        ),
        Lesson(
            "quake",
            (
                JOIN,
                Step("quake", _round_of(RoundKind.DRILL), "quake", each=False),
                Step("answer", lambda f, u: u in f.answers, "tap:ok,help"),
                Step("advance", _closed, "advance:3h", each=False),
                READ,
            ),
            setup_commands=("/リーダー", "/地域 二戸市 震度4"),
            needs_area=True,
        ),
        Lesson(
            "leader",
            (
                JOIN,
                Step("leader", lambda f, u: bool(f.leaders), "say:/リーダー", each=False),
                Step("schedule", lambda f, u: bool(f.schedule), "say:/設定 毎日 9:00", each=False),
                Step("status", _said("status"), "say:/状況"),
                Step("morning", _round_of(RoundKind.ROUTINE), "advance:next-morning", each=False),
                OK,
            ),
        ),
        Lesson(
            # 近所の人を見に行く: the summary names who did not answer (山田和子
            # has no LINE: she is on the group's 名簿), someone says they will
            # go, and what they found is recorded.
            "visit",
            (
                JOIN,
                Step("check", _round_of(RoundKind.MANUAL, RoundKind.ROUTINE), "say:/確認", each=False),
                OK,
                Step("advance", _closed, "advance:23h", each=False),
                Step("claim", lambda f, u: f.claimed, "tap:claim", each=False),
                Step("outcome", lambda f, u: f.outcome, "tap:outcome", each=False),
            ),
            setup_commands=("/リーダー", "/名簿 追加 山田和子"),
        ),
        Lesson(
            # ひとりの見守り, in one-to-one chats: 佐藤花子 is watched, 鈴木一郎 is
            # her contact.  Every step is the pair's: one screen shows both.
            "watch",
            (
                Step("follow", lambda f, u: f.greeted, "follow", each=False),
                Step("start", lambda f, u: bool(f.watch_schedule), "tap:ws,wt", each=False),
                Step("invite", lambda f, u: f.invited, "say:/連絡先", each=False),
                Step("forward", lambda f, u: f.forwarded, "forward", each=False),
                Step("accept", lambda f, u: f.contacts > 0, "tap:bc", each=False),
                Step("check", lambda f, u: f.checks > 0, "advance:next-morning", each=False),
                Step("ok", _ok_given, "tap:wok", each=False),
                Step("miss", _second_check, "advance:next-morning", each=False),
                Step("resend", lambda f, u: f.resent, "advance:3h", each=False),
                Step("escalate", lambda f, u: f.escalated, "advance:12h", each=False),
                Step("claim", lambda f, u: f.escalation_claimed, "tap:ec", each=False),
            ),
            one_to_one=True,
        ),
    )
}

# Who plays the members when one person runs a lesson at one screen.
PERSONAS = ("佐藤花子", "鈴木一郎", "田中次郎")
# A one-to-one lesson's people: the watched person, then their contact.
WATCH_PERSONAS = ("佐藤花子", "鈴木一郎")


def facts(platform: LinePlatform, line_group_id: str) -> Facts:
    """Everything the lesson steps read, for one group (a few queries), or
    for a one-to-one lesson keyed by the watched person's chat."""
    found = Facts()
    record = group_clock.record(line_group_id)
    if record is not None:
        found.marks = json.loads(record.marks or "{}")
    if not group_clock.is_group(line_group_id):
        return _watch_facts(platform, line_group_id, found)
    for item in platform.timeline(line_group_id):
        message = item.get("message") or {}
        if item.get("sender") == "user" and message.get("type") == "text":
            command = parse_command(message.get("text", ""))
            if command is not None and command.name:
                found.said.setdefault(command.name, set()).add(item.get("user_id"))
    group = Group.get_or_none(Group.line_group_id == line_group_id)
    if group is None:
        return found
    found.schedule, found.area_code = group.schedule, group.area_code
    for user_id, leader in (
        Member.select(Person.line_user_id, Member.is_leader)
        .join(Person)
        .where((Member.group == group) & Member.active)
        .tuples()
    ):
        found.registered.add(user_id)
        if leader:
            found.leaders.add(user_id)
    found.round = (
        Round.select().where(Round.group == group).order_by(Round.opened_at.desc(), Round.id.desc()).first()
    )
    if found.round is not None:
        found.answers = dict(
            Answer.select(Person.line_user_id, Answer.kind)
            .join(Member)
            .join(Person)
            .where(Answer.round == found.round)
            .tuples()
        )
        found.summary_sent = (
            Outbox.select()
            .where(
                (Outbox.round == found.round) & (Outbox.purpose == Purpose.SUMMARY) & (Outbox.state == "sent")
            )
            .exists()
        )
    follow_ups = FollowUp.select().where(FollowUp.group == group)
    found.claimed = follow_ups.where(FollowUp.claimed_by.is_null(False)).exists()
    found.outcome = follow_ups.where(FollowUp.outcome_at.is_null(False)).exists()
    return found


def partners(line_user_id: str) -> list[str]:
    """The contacts a one-to-one lesson was started with (user ids)."""
    record = group_clock.record(line_user_id)
    return json.loads(record.marks or "{}").get("partners", []) if record else []


def _watch_facts(platform: LinePlatform, line_user_id: str, found: Facts) -> Facts:
    found.greeted = any(item["sender"] == "bot" for item in platform.timeline(line_user_id))
    for partner in partners(line_user_id):
        with contextlib.suppress(KeyError):
            if any(item["sender"] == "user" for item in platform.timeline(partner)):
                found.forwarded = True
    watch = group_clock.watch_of(line_user_id)
    if watch is None:
        return found
    found.watch_schedule = watch.schedule
    found.invited = Invitation.select().where(Invitation.watch == watch.id).exists()
    found.contacts = Contact.select().where(Contact.watch == watch.id).count()
    checks = WatchCheck.select().where(WatchCheck.watch == watch.id)
    found.checks = checks.count()
    found.answered = checks.where(WatchCheck.answered_at.is_null(False)).count()
    found.resent = checks.where(WatchCheck.resent_at.is_null(False)).exists()
    escalations = Escalation.select().where(Escalation.watch == watch.id)
    found.escalated = escalations.where(Escalation.contacts_told > 0).exists()
    found.escalation_claimed = escalations.where(Escalation.claimed_by.is_null(False)).exists()
    return found


@dataclass(frozen=True)
class Progress:
    """A lesson's state: each learner's current step (None: finished) and
    the group's (the first step someone still has to do)."""

    lesson: str
    learners: list[dict]  # user_id, display_name, current (step key or None), done (keys)
    current: str | None

    def as_json(self) -> dict:
        return {"lesson": self.lesson, "learners": self.learners, "current": self.current}


def progress(lesson: Lesson, found: Facts, learners: list[dict]) -> Progress:
    """Each learner walks the steps in order; a step done once for the group
    is done for everyone.  A learner's step that the group has moved past (an
    OK not given before the summary came) is left behind, not waited for:
    the learner goes on with the class."""
    keys = [step.key for step in lesson.steps]
    passed = {  # steps with a group step after them that is done
        step.key
        for i, step in enumerate(lesson.steps)
        if any(not later.each and later.done(found, "") for later in lesson.steps[i + 1 :])
    }
    rows = []
    for learner in learners:
        user = learner["user_id"]
        done = [step.key for step in lesson.steps if step.done(found, user)]
        current = next((k for k in keys if k not in done and k not in passed), None)
        rows.append({**learner, "current": current, "done": done})
    currents = [row["current"] for row in rows if row["current"] is not None]
    group_current = min(currents, key=keys.index) if currents else (None if rows else keys[0])
    return Progress(lesson.key, rows, group_current)


def mark_read(line_group_id: str, user_id: str, round_id: int) -> None:
    """A learner pressed 「読みました」 under the round's summary."""
    with db.atomic():
        record = group_clock.ensure(line_group_id)
        marks = json.loads(record.marks or "{}")
        readers = marks.setdefault(f"read:{round_id}", [])
        if user_id not in readers:
            readers.append(user_id)
        DemoGroup.update(marks=json.dumps(marks)).where(DemoGroup.id == record.id).execute()


def start(
    platform: LinePlatform,
    lesson: Lesson,
    name: str,
    members: list[str],
    teacher: str | None = None,
) -> str:
    """Make the lesson's group: the members (user ids; the first types the
    setup commands, so they are the leader), the bot invited.  Returns the
    new group's id.  ``teacher``: the user id of a teacher who is in the
    group but is not a learner (class mode)."""
    group_id = platform.create_group(name)
    for user_id in members:
        platform.add_member(group_id, user_id)
    group_clock.ensure(group_id, lesson=lesson.key, teacher_user_id=teacher)
    invited = platform.invite_bot(group_id)
    if invited.get("status") == 200:
        _wait_for_greeting(platform, group_id)
    if members:
        for command in lesson.setup_commands:
            platform.send_text(group_id, members[0], command)
    return group_id


def start_one_to_one(platform: LinePlatform, lesson: Lesson) -> str:
    """Make a one-to-one lesson's people, fresh (their chats empty, nothing
    of theirs in the bot): the watched person and their contact.  Nobody
    adds the bot yet: that is the lesson's first step.  Returns the watched
    person's user id, which keys the lesson (its page and its clock)."""
    person, *others = [platform.add_user(name) for name in WATCH_PERSONAS]
    group_clock.ensure(person, lesson=lesson.key, marks=json.dumps({"partners": others}))
    return person


def leave_one_to_one(platform: LinePlatform, line_user_id: str) -> None:
    """An old one-to-one lesson's people block the bot (whether they had
    added it or not): their watch stops, nothing of it fires any more, and
    the start page no longer lists the lesson."""
    for user_id in (line_user_id, *partners(line_user_id)):
        with contextlib.suppress(KeyError, ValueError):
            if any(u["user_id"] == user_id and not u["blocked"] for u in platform.users()):
                platform.unfollow(user_id)


def _wait_for_greeting(platform: LinePlatform, group_id: str, timeout: float = 3.0) -> None:
    """Let the bot greet first, so the setup commands read in the chat as
    typed after it (the bot answers within a second; a busy one is not
    waited for longer than ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(item["sender"] == "bot" for item in platform.timeline(group_id)):
            return
        time.sleep(0.05)


def leave(platform: LinePlatform, line_group_id: str) -> None:
    """Take the bot out of an old lesson group: nothing of it fires again."""
    with contextlib.suppress(KeyError):
        platform.remove_bot(line_group_id)
