"""Reading a round's roll call: the registered members (with their absence),
the 名簿 without LINE, the answers, the leaders — each in one query for any
number of groups or rounds, so the sweep's batches stay a fixed number of
queries (no N+1).  The rules are domain/rounds.py's ``tally``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from domain.kinds import RecipientKind
from domain.names import clean_name
from domain.rounds import MemberView, OfflineView, Tally, tally
from models import Answer, Group, Member, OfflineMember, Person, Round, utc
from services.outbox import Recipient


def round_day(round_: Round, tz: ZoneInfo) -> date:
    """The day (in the bot's time zone) a round asked its question: an
    absence covering that day makes a silent member お休み中."""
    return utc(round_.opened_at).astimezone(tz).date()


def member_views(group_ids: list[int]) -> dict[int, list[MemberView]]:
    """Active registered members of each group, in one query."""
    views: dict[int, list[MemberView]] = defaultdict(list)
    rows = (
        Member.select(
            Member.id,
            Member.group,
            Member.nickname,
            Member.registered_at,
            Person.display_name,
            Person.away_until,
        )
        .join(Person)
        .where(Member.group.in_(group_ids) & Member.active)
        .tuples()
    )
    for member_id, group_id, nickname, registered_at, display_name, away_until in rows:
        views[group_id].append(
            MemberView(member_id, clean_name(nickname or display_name), utc(registered_at), away_until)
        )
    return views


def offline_views(group_ids: list[int]) -> dict[int, list[OfflineView]]:
    """Each group's 名簿 without LINE, in one query."""
    views: dict[int, list[OfflineView]] = defaultdict(list)
    rows = (
        OfflineMember.select(
            OfflineMember.id, OfflineMember.group, OfflineMember.name, OfflineMember.added_at
        )
        .where(OfflineMember.group.in_(group_ids) & OfflineMember.active)
        .tuples()
    )
    for offline_id, group_id, name, added_at in rows:
        views[group_id].append(OfflineView(offline_id, name, utc(added_at)))
    return views


def answers_of(round_ids: list[int]) -> dict[int, dict[int, str]]:
    found: dict[int, dict[int, str]] = defaultdict(dict)
    rows = Answer.select(Answer.round, Answer.member, Answer.kind).where(Answer.round.in_(round_ids)).tuples()
    for round_id, member_id, kind in rows:
        found[round_id][member_id] = kind
    return found


def round_tally(round_: Round, tz: ZoneInfo, group: Group | None = None) -> Tally:
    """The roll call of one round as it stands now."""
    group = group or Group.get_by_id(round_.group_id)
    return tally(
        member_views([group.id])[group.id],
        answers_of([round_.id])[round_.id],
        offline_views([group.id])[group.id],
        group.member_count,
        round_day(round_, tz),
    )


@dataclass(frozen=True)
class LeaderView:
    """A leader, and whether the bot may push to them one-to-one."""

    member_id: int
    name: str
    person_id: int
    line_user_id: str
    friend: bool
    language: str | None = None  # what they read one-to-one (Person.language)

    @property
    def recipient(self) -> Recipient:
        """Their one-to-one chat, for a push (costs one message)."""
        return Recipient(RecipientKind.USER, self.line_user_id, person_id=self.person_id)


def leaders_of(group_ids: list[int]) -> dict[int, list[LeaderView]]:
    """Each group's active leaders (oldest first), in one query."""
    found: dict[int, list[LeaderView]] = defaultdict(list)
    rows = (
        Member.select(
            Member.id,
            Member.group,
            Member.nickname,
            Person.display_name,
            Person.id,
            Person.line_user_id,
            Person.friend,
            Person.language,
        )
        .join(Person)
        .where(Member.group.in_(group_ids) & Member.active & Member.is_leader)
        .order_by(Member.registered_at, Member.id)
        .tuples()
    )
    for member_id, group_id, nickname, display_name, person_id, line_user_id, friend, language in rows:
        found[group_id].append(
            LeaderView(
                member_id,
                clean_name(nickname or display_name),
                person_id,
                line_user_id,
                bool(friend),
                language,
            )
        )
    return found
