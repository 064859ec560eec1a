"""The follow-up loop's rules: who may claim a follow-up, who may record its
outcome, and what each step does to its state.  Pure.

    open ──claim──▶ claimed ──無事でした / 助けが必要だった──▶ done
      │                │
      │                └──連絡がつかない──▶ escalated ──無事でした / 助けが必要だった──▶ done
      └──(a leader records an outcome without claiming first: as above)

- The first claim wins; a second is told who has it.
- The claimer or a leader records the outcome; anyone else is told who is
  going.  An outcome is recorded once: tapping it again changes nothing.
  連絡がつかない is not an end: the leaders are told at once, and the
  outcome that follows (found safe, or needed help) ends it.
- The person themselves saying OK ends an *unanswered* follow-up (they were
  only silent).  Someone who asked for help is not ended by their own OK: a
  neighbour or a leader confirms them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.kinds import FollowUpKind, FollowUpOutcome, FollowUpState


@dataclass(frozen=True)
class FollowUpView:
    """One person a summary or reminder asks about, as messages show them."""

    follow_up_id: int
    name: str
    kind: FollowUpKind
    state: FollowUpState = FollowUpState.OPEN
    claimed_by: str | None = None  # the claimer's name
    outcome: FollowUpOutcome | None = None

    @property
    def offline(self) -> bool:
        return self.kind == FollowUpKind.OFFLINE

    @property
    def claimable(self) -> bool:
        return self.state == FollowUpState.OPEN


class Verdict(StrEnum):
    """What a claim or an outcome tap does."""

    DONE = "done"  # the change is made
    TAKEN = "taken"  # someone else claimed it first
    NOT_YOURS = "not-yours"  # only the claimer or a leader records the outcome
    ALREADY = "already"  # this outcome (or an end) was recorded before
    SELF = "self"  # the person tapped their own name: they are fine


def claim_verdict(state: FollowUpState, is_the_person: bool) -> Verdict:
    """A tap on 「○○さんを確認します」."""
    if state == FollowUpState.DONE:
        return Verdict.ALREADY
    if is_the_person:
        return Verdict.SELF
    if state == FollowUpState.OPEN:
        return Verdict.DONE
    return Verdict.TAKEN


def outcome_verdict(
    state: FollowUpState, outcome: FollowUpOutcome, is_claimer: bool, is_leader: bool
) -> Verdict:
    """A tap on 無事でした / 連絡がつかない / 助けが必要だった."""
    if state == FollowUpState.DONE:
        return Verdict.ALREADY
    if state == FollowUpState.ESCALATED and outcome == FollowUpOutcome.UNREACHABLE:
        return Verdict.ALREADY
    if state == FollowUpState.OPEN:
        # Nobody claimed it: a leader may record directly (they phoned).
        return Verdict.DONE if is_leader else Verdict.NOT_YOURS
    return Verdict.DONE if is_claimer or is_leader else Verdict.NOT_YOURS


def state_after(outcome: FollowUpOutcome) -> FollowUpState:
    """連絡がつかない leaves the follow-up live (escalated); anything else ends it."""
    return FollowUpState.ESCALATED if outcome == FollowUpOutcome.UNREACHABLE else FollowUpState.DONE


def ends_by_own_ok(kind: FollowUpKind) -> bool:
    """Whether the person's own late OK ends a follow-up of this kind."""
    return kind == FollowUpKind.UNANSWERED
