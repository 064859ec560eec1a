"""The postback codec: what the bot's buttons carry, built and read in one place.

A button's ``data`` (at most 300 characters, returned verbatim by LINE in the
postback event) is a query string: ``a=<action>`` plus the action's fields,
e.g. ``a=ok&r=12``.  ``encode`` turns a typed action into that string and
``decode`` turns any string back into a typed action, or ``None``.

``decode`` is total: whatever a forged or mangled postback carries (``r=²``,
a 5,000-character value, repeated keys, percent-garbage), it returns ``None``
rather than raising, and numbers are plain ASCII digits within range.

Versioning: buttons stay in a chat's history for years, so every format the
bot has ever sent must keep decoding.  The format without ``v`` is version 1.
A changed action gets ``v=2`` (and a new entry in ``_DECODERS``); the old
entry stays.  Pure: no Flask, no LINE, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from domain.kinds import RECORDED_OUTCOMES, AnswerKind, EscalationOutcome, FollowUpOutcome
from domain.languages import Language

MAX_DATA = 300  # LINE's limit on postback data
MAX_ID = 2**31 - 1  # the database's integer ids
_DIGITS = re.compile(r"[0-9]{1,10}")
_AREA_CODE = re.compile(r"[0-9]{7}")
_THRESHOLDS = frozenset({"4", "5-", "5+", "6-", "6+", "7"})
_CODE = re.compile(r"[0-9]{6}")
_HOUR = re.compile(r"[0-9]{1,2}")


@dataclass(frozen=True)
class Join:
    """参加する: register the tapper in the group."""


@dataclass(frozen=True)
class Answer:
    """OK or 助けが必要 for round ``round_id``."""

    kind: AnswerKind
    round_id: int


@dataclass(frozen=True)
class ChooseArea:
    """A leader picks one of the candidate areas /地域 offered."""

    code: str
    threshold: str | None = None


@dataclass(frozen=True)
class Claim:
    """「○○さんを確認します」: the tapper will check on follow-up ``follow_up_id``."""

    follow_up_id: int


@dataclass(frozen=True)
class RecordOutcome:
    """無事でした / 連絡がつかない / 助けが必要だった for follow-up ``follow_up_id``."""

    follow_up_id: int
    outcome: FollowUpOutcome


# -- 見守り (one-to-one) ------------------------------------------------------
@dataclass(frozen=True)
class StartWatch:
    """見守りをはじめる (the follow greeting): offers the times to choose from."""


@dataclass(frozen=True)
class ChooseWatchTime:
    """A time button: check every day at ``hour``:``minute``."""

    hour: int
    minute: int = 0


@dataclass(frozen=True)
class ResumeWatch:
    """見守りを再開する (offered when someone who had blocked the bot comes back)."""


@dataclass(frozen=True)
class WatchOk:
    """The watched person's OK to check ``check_id``."""

    check_id: int


@dataclass(frozen=True)
class BecomeContact:
    """連絡先になる: accept invitation ``invitation_id``.  The code travels
    with it, so a forged tap cannot skip the code."""

    invitation_id: int
    code: str


@dataclass(frozen=True)
class ClaimEscalation:
    """わたしが確認します: a contact takes escalation ``escalation_id``."""

    escalation_id: int


@dataclass(frozen=True)
class ReportOutcome:
    """What the contact who checked found."""

    escalation_id: int
    outcome: EscalationOutcome


@dataclass(frozen=True)
class EndContact:
    """End contact link ``contact_id`` (either side may)."""

    contact_id: int


@dataclass(frozen=True)
class ConfirmErase:
    """すべて削除する: /退会 in the one-to-one chat, confirmed."""


@dataclass(frozen=True)
class ChooseLanguage:
    """日本語 / やさしい日本語 / English: the language the chat reads (/言語)."""

    language: Language


Action = (
    Join
    | Answer
    | ChooseArea
    | Claim
    | RecordOutcome
    | StartWatch
    | ChooseWatchTime
    | ResumeWatch
    | WatchOk
    | BecomeContact
    | ClaimEscalation
    | ReportOutcome
    | EndContact
    | ConfirmErase
    | ChooseLanguage
)


def _id(value: str | None) -> int | None:
    if value is None or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def _fields(action: Action) -> dict[str, str]:
    if isinstance(action, Join):
        return {"a": "join"}
    if isinstance(action, Answer):
        return {"a": action.kind.value, "r": str(action.round_id)}
    if isinstance(action, ChooseArea):
        fields = {"a": "area", "c": action.code}
        if action.threshold is not None:
            fields["t"] = action.threshold
        return fields
    if isinstance(action, Claim):
        return {"a": "claim", "f": str(action.follow_up_id)}
    if isinstance(action, RecordOutcome):
        return {"a": "outcome", "f": str(action.follow_up_id), "o": action.outcome.value}
    if isinstance(action, StartWatch):
        return {"a": "ws"}
    if isinstance(action, ChooseWatchTime):
        return {"a": "wt", "h": str(action.hour), "m": str(action.minute)}
    if isinstance(action, ResumeWatch):
        return {"a": "wr"}
    if isinstance(action, WatchOk):
        return {"a": "wok", "c": str(action.check_id)}
    if isinstance(action, BecomeContact):
        return {"a": "bc", "i": str(action.invitation_id), "c": action.code}
    if isinstance(action, ClaimEscalation):
        return {"a": "ec", "e": str(action.escalation_id)}
    if isinstance(action, ReportOutcome):
        return {"a": "eo", "e": str(action.escalation_id), "o": action.outcome.value}
    if isinstance(action, EndContact):
        return {"a": "ce", "k": str(action.contact_id)}
    if isinstance(action, ConfirmErase):
        return {"a": "erase"}
    if isinstance(action, ChooseLanguage):
        return {"a": "lang", "l": action.language.value}
    raise TypeError(f"not a postback action: {action!r}")


def encode(action: Action) -> str:
    """The ``data`` string for a button.  Raises ValueError if it would not
    decode back to the same action (a bug in the caller, caught early)."""
    data = urlencode(_fields(action))
    if len(data) > MAX_DATA or decode(data) != action:
        raise ValueError(f"postback would not round-trip: {action!r}")
    return data


def _answer(kind: AnswerKind) -> Callable[[dict[str, str]], Action | None]:
    def decode_answer(fields: dict[str, str]) -> Action | None:
        round_id = _id(fields.get("r"))
        return Answer(kind, round_id) if round_id is not None else None

    return decode_answer


def _area(fields: dict[str, str]) -> Action | None:
    code, threshold = fields.get("c", ""), fields.get("t")
    if threshold is not None:
        # Buttons sent before this codec wrote 「5+」 unescaped, which a query
        # string reads as 「5 」: read it as the 5強 it was.
        threshold = threshold.replace(" ", "+")
    if not _AREA_CODE.fullmatch(code) or (threshold is not None and threshold not in _THRESHOLDS):
        return None
    return ChooseArea(code, threshold)


def _claim(fields: dict[str, str]) -> Action | None:
    follow_up_id = _id(fields.get("f"))
    return Claim(follow_up_id) if follow_up_id is not None else None


def _outcome(fields: dict[str, str]) -> Action | None:
    follow_up_id = _id(fields.get("f"))
    outcome = next((o for o in RECORDED_OUTCOMES if o.value == fields.get("o")), None)
    if follow_up_id is None or outcome is None:
        return None
    return RecordOutcome(follow_up_id, outcome)


def _watch_time(fields: dict[str, str]) -> Action | None:
    hour, minute = fields.get("h", ""), fields.get("m", "")
    if not (_HOUR.fullmatch(hour) and _HOUR.fullmatch(minute)):
        return None
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        return None
    return ChooseWatchTime(int(hour), int(minute))


def _with_id(key: str, build: Callable[[int], Action]) -> Callable[[dict[str, str]], Action | None]:
    def decode_with_id(fields: dict[str, str]) -> Action | None:
        number = _id(fields.get(key))
        return build(number) if number is not None else None

    return decode_with_id


def _become_contact(fields: dict[str, str]) -> Action | None:
    invitation_id, code = _id(fields.get("i")), fields.get("c", "")
    if invitation_id is None or not _CODE.fullmatch(code):
        return None
    return BecomeContact(invitation_id, code)


def _escalation_outcome(fields: dict[str, str]) -> Action | None:
    escalation_id = _id(fields.get("e"))
    try:
        outcome = EscalationOutcome(fields.get("o", ""))
    except ValueError:
        return None
    return ReportOutcome(escalation_id, outcome) if escalation_id is not None else None


def _language(fields: dict[str, str]) -> Action | None:
    try:
        return ChooseLanguage(Language(fields.get("l", "")))
    except ValueError:
        return None


# (action name, version) -> decoder.  Never remove an entry: old buttons live on.
_DECODERS: dict[tuple[str, str], Callable[[dict[str, str]], Action | None]] = {
    ("join", "1"): lambda fields: Join(),
    ("ok", "1"): _answer(AnswerKind.OK),
    ("help", "1"): _answer(AnswerKind.HELP),
    ("area", "1"): _area,
    ("claim", "1"): _claim,
    ("outcome", "1"): _outcome,
    ("ws", "1"): lambda fields: StartWatch(),
    ("wt", "1"): _watch_time,
    ("wr", "1"): lambda fields: ResumeWatch(),
    ("wok", "1"): _with_id("c", WatchOk),
    ("bc", "1"): _become_contact,
    ("ec", "1"): _with_id("e", ClaimEscalation),
    ("eo", "1"): _escalation_outcome,
    ("ce", "1"): _with_id("k", EndContact),
    ("erase", "1"): lambda fields: ConfirmErase(),
    ("lang", "1"): _language,
}


def decode(data: object) -> Action | None:
    """The typed action in a postback's ``data``, or None for anything that
    is not exactly something the bot sends."""
    if not isinstance(data, str) or not data or len(data) > MAX_DATA:
        return None
    try:
        pairs = parse_qsl(data, strict_parsing=True, max_num_fields=8, errors="strict")
    except (ValueError, UnicodeError):
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        return None  # a repeated key: not something we built
    decoder = _DECODERS.get((fields.get("a", ""), fields.get("v", "1")))
    return decoder(fields) if decoder is not None else None
