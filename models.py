"""The database schema: the truth of the service.

Redis only carries job ids; everything that matters is a row here.  Times are
stored as naive UTC datetimes (peewee's DateTimeField on SQLite and
PostgreSQL alike); ``utc()`` turns them back into aware ones.

A Group belongs to an Organisation (municipality, 社会福祉協議会,
自治会連合会); a Person is one LINE user and may be a Member of several groups
and also watched one-to-one (a Watch of their own, with its checks, contacts
and escalations), so nothing here assumes a person lives in one group.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from peewee import (
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    OperationalError,
    SqliteDatabase,
    TextField,
)
from playhouse.db_url import connect

from domain.kinds import (
    AnswerKind,
    CheckKind,
    CheckState,
    EscalationState,
    FollowUpState,
    NamesAudience,
    OutboxState,
    RecipientKind,
    RoundKind,
    RoundStatus,
    WatchState,
)
from domain.names import clean_name

db = DatabaseProxy()
T = TypeVar("T")

SQLITE_PRAGMAS = {
    # WAL lets the web process insert events while a worker writes; a busy
    # timeout makes concurrent writers wait instead of failing.
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -32000,
}


def utc(value: datetime | None) -> datetime | None:
    """Stored naive-UTC datetime -> aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def naive(value: datetime) -> datetime:
    """Aware datetime -> the naive UTC form we store."""
    return value.astimezone(UTC).replace(tzinfo=None)


def new_retry_key() -> str:
    return str(uuid.uuid4())


class BaseModel(Model):
    class Meta:
        database = db


class Organisation(BaseModel):
    """A municipality, 社会福祉協議会 or 自治会連合会 that groups belong to."""

    name = CharField(max_length=200)
    kind = CharField(max_length=40, default="association")
    slug = CharField(max_length=80, unique=True)
    created_at = DateTimeField()
    # What a group's leader types (/団体 CODE) to link the group to this
    # organisation: consent comes from the LINE side, never from an operator.
    link_code = CharField(max_length=16, null=True, unique=True)
    # When the sweep last claimed the nightly refresh of this organisation's
    # statistics (a conditional UPDATE, so two sweeps never both run it).
    stats_refreshed_at = DateTimeField(null=True)


class Group(BaseModel):
    """A LINE group the bot is (or was) in."""

    line_group_id = CharField(max_length=64, unique=True)
    organisation = ForeignKeyField(Organisation, null=True, backref="groups", on_delete="SET NULL")
    active = BooleanField(default=True)  # False once the bot is removed
    joined_at = DateTimeField()
    left_at = DateTimeField(null=True)
    # LINE's member count (bot excluded): what one push to the group costs.
    member_count = IntegerField(null=True)
    # Canonical schedule text (domain.schedule.Schedule.to_spec()), or NULL.
    schedule = CharField(max_length=80, null=True)
    paused = BooleanField(default=False)
    # The next routine round, UTC; the sweep claims it with compare-and-set.
    next_round_at = DateTimeField(null=True, index=True)
    # Where the group is (JMA 市町村等 code) and the quake threshold.
    area_code = CharField(max_length=7, null=True, index=True)
    quake_threshold = CharField(max_length=4, default="5-")
    # Who reads the names in a summary (domain.kinds.NamesAudience):
    # /設定 名前 リーダーだけ sends them to each leader one-to-one.
    names_to = CharField(max_length=8, default=NamesAudience.GROUP)
    # The leader agreed (/設定 名前 団体にも) that the organisation's operators
    # may see members' names; without it the console shows counts only.
    names_shared = BooleanField(default=False)
    # The language the group reads (messages.i18n.LANGUAGES: "ja_easy", "en");
    # NULL: 日本語.  Set by a leader with /言語.
    language = CharField(max_length=16, null=True)


class Person(BaseModel):
    """One LINE user.  Only what the service needs: the ID and a name, whether
    they are the bot's friend (LINE lets the bot push to friends only), and
    until when they said they are away (/お休み)."""

    line_user_id = CharField(max_length=64, unique=True)
    display_name = CharField(max_length=100, default="")
    created_at = DateTimeField()
    # Set by follow (added the bot as a friend, or unblocked it) and unfollow
    # (blocked it); a person we only know from a group is not a friend.
    friend = BooleanField(default=False)
    friend_changed_at = DateTimeField(null=True)
    # The last day (in BOT_TIMEZONE) of an absence; NULL: not away.
    away_until = DateField(null=True)
    # When display_name was last read from LINE: it is read again at most
    # daily, and only when the bot needs it (registering).
    name_fetched_at = DateTimeField(null=True)
    # Optional, self-declared (/年代 70代, /性別 女性), never required;
    # domain.demographics names the values.  Cleared by /年代 消す, /退会
    # and erase.  The console counts them only for linked groups and watches.
    age_band = CharField(max_length=4, null=True)
    sex = CharField(max_length=12, null=True)
    # The language the person reads one-to-one (their 見守り, a contact's
    # escalations, a leader's summaries); NULL: 日本語.  Set with /言語.
    language = CharField(max_length=16, null=True)


class Member(BaseModel):
    """A person registered in a group (tapped 参加する).  Rows are kept when
    they leave (active=False) so that past rounds still read correctly."""

    group = ForeignKeyField(Group, backref="members", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="memberships", on_delete="CASCADE")
    nickname = CharField(max_length=40, null=True)  # set with /名前
    is_leader = BooleanField(default=False)
    active = BooleanField(default=True)
    registered_at = DateTimeField()
    left_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("group", "person"), True),)

    @property
    def name(self) -> str:
        """The name to show ("" when there is none: messages say 「メンバー」)."""
        return clean_name(self.nickname or self.person.display_name)


class Round(BaseModel):
    """One safety check in one group: opened, answered, summarised once."""

    group = ForeignKeyField(Group, backref="rounds", on_delete="CASCADE")
    kind = CharField(max_length=16, default=RoundKind.ROUTINE)  # domain.kinds.RoundKind
    status = CharField(max_length=10, default=RoundStatus.OPEN, index=True)  # RoundStatus
    opened_at = DateTimeField()
    summary_due_at = DateTimeField(index=True)
    closed_at = DateTimeField(null=True)
    # For emergency rounds: the JMA EventID and the intensity that started it.
    event_id = CharField(max_length=40, null=True, index=True)
    intensity = CharField(max_length=4, null=True)
    title = TextField(null=True)
    # A routine occurrence that came due while this round was open: it was
    # not opened (members were being asked already) and the summary says so.
    skipped_routine_at = DateTimeField(null=True)

    class Meta:
        # At most one round per group per JMA event, whoever handles which
        # telegram of it (NULLs, i.e. every other round, never collide).
        # (group, opened_at): a group's rounds in a period (the console's
        # statistics read one month of an organisation's rounds).
        indexes = ((("group", "event_id"), True), (("group", "opened_at"), False))


class Answer(BaseModel):
    """A member's answer to a round: ok, or help (助けが必要)."""

    round = ForeignKeyField(Round, backref="answers", on_delete="CASCADE")
    member = ForeignKeyField(Member, backref="answers", on_delete="CASCADE")
    kind = CharField(max_length=8, default=AnswerKind.OK)  # domain.kinds.AnswerKind
    answered_at = DateTimeField()

    class Meta:
        indexes = ((("round", "member"), True),)


class OfflineMember(BaseModel):
    """Someone in a group's roll call who is not on LINE (/名簿 追加 高橋ウメ).

    They cannot answer, so every summary lists them (「高橋ウメさん（LINEなし）」)
    until a neighbour who phoned or visited confirms them through the
    follow-up loop.  Rows are kept after /名簿 削除 (active=False)."""

    group = ForeignKeyField(Group, backref="offline_members", on_delete="CASCADE")
    name = CharField(max_length=40)
    active = BooleanField(default=True)
    added_at = DateTimeField()
    added_by = ForeignKeyField(Member, null=True, backref="offline_added", on_delete="SET NULL")
    removed_at = DateTimeField(null=True)


class FollowUp(BaseModel):
    """Someone a summary asks neighbours to check on, and what came of it.

    One per person per round.  ``kind`` (domain.kinds.FollowUpKind) says why:
    unanswered, asked for help, or on the 名簿 without LINE.  ``state``
    (FollowUpState) is open -> claimed -> done, with escalated after
    連絡がつかない; ``outcome`` (FollowUpOutcome) says how it ended.  Who and
    when are kept for each step (claimed_*, outcome_*, unreachable_at).  When
    a newer summary asks about the same person again, the older live
    follow-up is done with outcome superseded and ``superseded_by`` points at
    the new one (its claim carries over).  The operator console reads these
    rows; docs/architecture.md describes every field."""

    round = ForeignKeyField(Round, backref="follow_ups", on_delete="CASCADE")
    group = ForeignKeyField(Group, backref="follow_ups", on_delete="CASCADE")
    member = ForeignKeyField(Member, null=True, backref="follow_ups", on_delete="CASCADE")
    offline_member = ForeignKeyField(OfflineMember, null=True, backref="follow_ups", on_delete="CASCADE")
    name = CharField(max_length=60)  # as the summary named them
    kind = CharField(max_length=12)  # domain.kinds.FollowUpKind
    state = CharField(max_length=10, default=FollowUpState.OPEN, index=True)  # FollowUpState
    # Where the names went (NamesAudience): the group, or the leaders only.
    shown_to = CharField(max_length=8, default=NamesAudience.GROUP)
    created_at = DateTimeField()
    # Raised once more to the leaders if nobody has claimed it by then.
    remind_at = DateTimeField(null=True, index=True)
    reminded_at = DateTimeField(null=True)
    claimed_by = ForeignKeyField(Member, null=True, backref="claimed_follow_ups", on_delete="SET NULL")
    claimed_at = DateTimeField(null=True)
    outcome = CharField(max_length=12, null=True)  # domain.kinds.FollowUpOutcome
    outcome_by = ForeignKeyField(Member, null=True, backref="recorded_follow_ups", on_delete="SET NULL")
    outcome_at = DateTimeField(null=True)
    unreachable_at = DateTimeField(null=True)  # when 連絡がつかない was recorded, if ever
    superseded_by = ForeignKeyField("self", null=True, backref="supersedes", on_delete="SET NULL")

    class Meta:
        # One per person per round (NULLs never collide).
        indexes = ((("round", "member"), True), (("round", "offline_member"), True))


# -- 見守り: one person's own daily check in their one-to-one chat ----------------
class Watch(BaseModel):
    """A person's 見守り: when they are checked and how the last check went.

    A row exists once the person starts (or invites a contact); it checks
    nobody until a schedule is chosen.  ``next_check_at`` is the deadline the
    sweep claims with compare-and-set, as ``Group.next_round_at``."""

    person = ForeignKeyField(Person, unique=True, backref="watches", on_delete="CASCADE")
    # An organisation the person linked their 見守り to (by its code), so
    # its operators may help when no contact answers; NULL: none.
    organisation = ForeignKeyField(Organisation, null=True, backref="watches", on_delete="SET NULL")
    # The name contacts read (/名前 in the one-to-one chat); else the LINE name.
    name = CharField(max_length=40, null=True)
    schedule = CharField(max_length=80, null=True)  # domain.schedule.Schedule.to_spec()
    state = CharField(max_length=10, default=WatchState.ACTIVE, index=True)  # domain.kinds.WatchState
    next_check_at = DateTimeField(null=True, index=True)
    last_ok_at = DateTimeField(null=True)  # the person's last OK, for the contacts
    created_at = DateTimeField()
    stopped_at = DateTimeField(null=True)


class WatchCheck(BaseModel):
    """One check of a watch: sent, maybe sent again, answered or escalated.

    The deadlines are cleared as the sweep claims them (compare-and-set), so
    each step happens once.  ``watch`` becomes NULL when the person deletes
    everything (/退会): the row stays, anonymous, for the statistics."""

    watch = ForeignKeyField(Watch, null=True, backref="checks", on_delete="SET NULL")
    kind = CharField(max_length=10, default=CheckKind.ROUTINE)  # domain.kinds.CheckKind
    state = CharField(max_length=10, default=CheckState.OPEN, index=True)  # domain.kinds.CheckState
    opened_at = DateTimeField()
    resend_due_at = DateTimeField(null=True, index=True)
    escalate_due_at = DateTimeField(null=True, index=True)
    resent_at = DateTimeField(null=True)
    answered_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)


class Contact(BaseModel):
    """Someone who agreed to be told when ``watch``'s person does not answer.

    Made only by the contact's own tap on 「連絡先になる」 after sending the
    person's code (``consented_at``).  ``slot`` (1..MAX_CONTACTS) is unique
    per watch, so the database itself keeps a watch at three contacts even
    when two people accept at the same moment."""

    watch = ForeignKeyField(Watch, backref="contacts", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="contact_links", on_delete="CASCADE")
    slot = IntegerField()
    consented_at = DateTimeField()

    class Meta:
        indexes = ((("watch", "person"), True), (("watch", "slot"), True))


class Invitation(BaseModel):
    """A 6-digit code the person forwards to someone they ask to be their
    contact: valid INVITATION_LIFETIME, used once.  Codes are unique among
    the rows kept; the sweep deletes expired ones."""

    watch = ForeignKeyField(Watch, backref="invitations", on_delete="CASCADE")
    code = CharField(max_length=6, unique=True)
    created_at = DateTimeField()
    expires_at = DateTimeField(index=True)
    used_at = DateTimeField(null=True)


class CodeAttempt(BaseModel):
    """A wrong code sent by ``person``: counted to rate-limit guessing."""

    person = ForeignKeyField(Person, backref="code_attempts", on_delete="CASCADE")
    at = DateTimeField(index=True)


class Escalation(BaseModel):
    """The contacts of a watch told that a check went unanswered.

    One per check (a unique index: never doubled).  ``followup_due_at`` is
    its own deadline: if nobody has said 「わたしが確認します」 by then, the
    sweep tells the contacts again.  The first tap wins (compare-and-set on
    ``state``); the contact who took it reports the outcome."""

    check = ForeignKeyField(WatchCheck, unique=True, backref="escalations", on_delete="CASCADE")
    watch = ForeignKeyField(Watch, null=True, backref="escalations", on_delete="SET NULL")
    state = CharField(max_length=12, default=EscalationState.OPEN, index=True)  # EscalationState
    opened_at = DateTimeField()
    contacts_told = IntegerField(default=0)
    followup_due_at = DateTimeField(null=True, index=True)
    reminded_at = DateTimeField(null=True)
    claimed_by = ForeignKeyField(Person, null=True, backref="claimed_escalations", on_delete="SET NULL")
    claimed_at = DateTimeField(null=True)
    outcome = CharField(max_length=12, null=True)  # domain.kinds.EscalationOutcome
    outcome_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)


class LineAccount(BaseModel):
    """What the bot knows of its own LINE account, read from LINE by a job
    (never inside a transaction) about once an hour: its basic ID (for the
    friend link in invitations) and the month's message limit; and the last
    warning to the operator that the month's messages run short."""

    basic_id = CharField(max_length=40, null=True)
    quota_limit = IntegerField(null=True)  # LINE's monthly limit; NULL: none set or not known
    refreshed_at = DateTimeField(null=True)  # claimed by the sweep (compare-and-set)
    budget_warning = TextField(null=True)
    budget_warned_at = DateTimeField(null=True)


class WebhookEvent(BaseModel):
    """Every webhook event, stored before the webhook answers 200.

    ``payload`` is the event's JSON as LINE sent it; it is cleared once the
    event is processed (we keep only what the service needs)."""

    webhook_event_id = CharField(max_length=64, unique=True)
    event_type = CharField(max_length=32)
    payload = TextField()
    received_at = DateTimeField()
    # Whose events must be handled in the order LINE sent them (the sender's
    # user id, else the chat's id): the dispatcher hands out only the oldest
    # unprocessed event of each key.  0 is urgent (助けが必要), 1 the rest.
    order_key = CharField(max_length=64, null=True)
    priority = IntegerField(default=1)
    # Set when a job for it was put on the queue (and which job); once this
    # is stale the dispatcher asks Redis whether the job still exists, and
    # enqueues the event again only if it does not.
    enqueued_at = DateTimeField(null=True)
    job_id = CharField(max_length=64, null=True)
    processed_at = DateTimeField(null=True, index=True)
    attempts = IntegerField(default=0)
    error = TextField(null=True)


# The dispatcher's "oldest unprocessed event of this key" test, over the few
# unprocessed rows only (a partial index, on SQLite and PostgreSQL alike).
WebhookEvent.add_index(
    WebhookEvent.index(WebhookEvent.order_key, WebhookEvent.id, where=WebhookEvent.processed_at.is_null())
)
# The dispatcher's two questions, each pass (jobs/dispatch.py): what may be
# handed out now, in order, and which leases ran out.  On PostgreSQL every
# event row is updated three or four times, and until vacuum catches up the
# dead versions stayed in the index on processed_at: under a storm each pass
# read tens of thousands of index entries (5 ms of the server's CPU, up to 50
# passes a second).  These hold one entry per event and are read in order,
# so PostgreSQL marks the dead entries as it passes them.
WebhookEvent.add_index(
    WebhookEvent.index(
        WebhookEvent.priority,
        WebhookEvent.id,
        where=WebhookEvent.processed_at.is_null() & WebhookEvent.enqueued_at.is_null(),
    )
)
WebhookEvent.add_index(
    WebhookEvent.index(WebhookEvent.enqueued_at, where=WebhookEvent.processed_at.is_null())
)


class Outbox(BaseModel):
    """A message to send to LINE, written in the same transaction as the
    state change that causes it.

    A push carries its own X-Line-Retry-Key from the moment it is written, so
    every attempt (after a 500, a timeout or a crash) reuses it and LINE
    answers 409 instead of sending twice.  A reply carries its reply token,
    which LINE accepts once; either way a retry cannot double-send."""

    kind = CharField(max_length=8)  # domain.kinds.OutboxKind: push|reply
    purpose = CharField(max_length=24)  # domain.kinds.Purpose
    # Whom it goes to (domain.kinds.RecipientKind): a group, or one person in
    # their one-to-one chat; the kind decides what a push costs.
    recipient = CharField(max_length=8, default=RecipientKind.GROUP)
    group = ForeignKeyField(Group, null=True, backref="outbox", on_delete="CASCADE")
    person = ForeignKeyField(Person, null=True, backref="outbox", on_delete="CASCADE")
    round = ForeignKeyField(Round, null=True, backref="outbox", on_delete="SET NULL")
    to = CharField(max_length=64, null=True)  # the LINE group or user id
    reply_token = CharField(max_length=256, null=True)
    messages = TextField()  # JSON list of LINE message objects
    retry_key = CharField(max_length=36, null=True, unique=True)
    # domain.kinds.OutboxState: pending -> sending -> sent | failed | expired | cancelled
    state = CharField(max_length=10, default=OutboxState.PENDING, index=True)
    created_at = DateTimeField()
    not_before = DateTimeField(index=True)
    expires_at = DateTimeField()
    enqueued_at = DateTimeField(null=True)
    job_id = CharField(max_length=64, null=True)  # the delivery job it was enqueued in
    claimed_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    sent_at = DateTimeField(null=True, index=True)
    cost = IntegerField(default=0)  # LINE messages counted for this send
    last_status = IntegerField(null=True)
    last_error = TextField(null=True)
    # A reply that matters (a prompt, a notice) is pushed instead when its
    # reply token no longer works.
    fallback_push = BooleanField(default=False)
    # Idempotency for operator sends (e.g. one notice to many groups).
    dedup_key = CharField(max_length=120, null=True, unique=True)
    # The 見守り a message is about (to the person or to a contact), so that
    # /退会 can blank what was said about them.
    watch = ForeignKeyField(Watch, null=True, backref="outbox", on_delete="SET NULL")


class JmaFeedState(BaseModel):
    """One JMA Atom feed we poll: when it was last polled (the once-a-minute
    claim), the lease that keeps a second poll from starting while one runs,
    and the Last-Modified it answered, for If-Modified-Since."""

    feed_url = CharField(max_length=500, unique=True)
    polled_at = DateTimeField(null=True)
    last_modified = CharField(max_length=64, null=True)
    last_status = IntegerField(null=True)
    last_error = TextField(null=True)
    # The poll in flight holds the feed until poll_lease_until (the sweep
    # claims it for the job it enqueues, the job takes it as poll_holder);
    # a poller that died frees it when the time passes.
    poll_lease_until = DateTimeField(null=True)
    poll_holder = CharField(max_length=36, null=True)
    # The entries the last full feed listed but could not be used, and why.
    last_skipped = TextField(null=True)


class JmaTelegram(BaseModel):
    """One telegram listed in JMA's feed, keyed by the entry id.

    The row exists before the telegram is fetched, so it is fetched once
    (JMA blocks clients that download again): state new -> fetching ->
    fetched -> handled, or refused (hostile or not ours to fetch) or failed.
    Once fetched it keeps the parsed fields the trigger rules need, not the
    body."""

    entry_id = CharField(max_length=255, unique=True)
    link = TextField()
    type_code = CharField(max_length=8, null=True)
    entry_updated = DateTimeField()
    state = CharField(max_length=10, default="new", index=True)
    created_at = DateTimeField()
    claimed_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    fetched_at = DateTimeField(null=True)
    handled_at = DateTimeField(null=True)
    error = TextField(null=True)
    # Parsed (domain.jma.Telegram); cities is JSON {code: [intensity, name, unreceived]}.
    kind = CharField(max_length=40, null=True)
    status = CharField(max_length=4, null=True)
    info_type = CharField(max_length=4, null=True)
    event_id = CharField(max_length=40, null=True, index=True)
    serial = IntegerField(null=True)
    report_datetime = DateTimeField(null=True)
    origin_time = DateTimeField(null=True)
    hypocenter_name = CharField(max_length=100, null=True)
    magnitude = FloatField(null=True)
    max_intensity = CharField(max_length=4, null=True)
    cities = TextField(null=True)


class DemoClock(BaseModel):
    """How far the demo clock has been moved forward (demo mode only)."""

    offset_seconds = IntegerField(default=0)


class DemoGroup(BaseModel):
    """A simulated LINE group's own clock and lesson (the simulator, demo
    mode only; web/group_clock.py and web/lessons.py).

    ``offset_seconds``: how far this group's clock is ahead of real time.
    Its stored times were moved back by as much, so the sweep, which reads
    the real clock, finds its deadlines due and no other group's.
    ``marks``: JSON of what the lesson's learners said they did
    (「読みました」), which the bot does not record."""

    line_group_id = CharField(max_length=64, unique=True)
    offset_seconds = IntegerField(default=0)
    lesson = CharField(max_length=40, null=True)
    teacher_user_id = CharField(max_length=64, null=True)
    marks = TextField(default="{}")
    created_at = DateTimeField()


class Operator(BaseModel):
    """A person who uses the web console for one organisation.

    ``role`` is admin (also manages the organisation's operators) or staff.
    ``password_hash`` is argon2id (services.operators); it is NULL until the
    operator sets a password through their one-time sign-up link, whose
    token is stored only as a sha256 hash.  ``session_token`` is what the
    session cookie names: changing it (new password, deactivation) ends
    every session of this operator at once."""

    organisation = ForeignKeyField(Organisation, backref="operators", on_delete="CASCADE")
    email = CharField(max_length=254, unique=True)  # lower-cased
    name = CharField(max_length=100, default="")
    role = CharField(max_length=10, default="staff")  # admin|staff
    password_hash = CharField(max_length=200, null=True)
    session_token = CharField(max_length=64, unique=True)
    active = BooleanField(default=True)
    signup_token_hash = CharField(max_length=64, null=True, unique=True)
    signup_expires_at = DateTimeField(null=True)
    created_at = DateTimeField()
    last_login_at = DateTimeField(null=True)


class LoginAttempt(BaseModel):
    """A failed console login, by account and by address.  The rate limit
    counts these in the database, which every web worker sees."""

    email = CharField(max_length=254, index=True)
    address = CharField(max_length=64, index=True)
    at = DateTimeField(index=True)


class AuditEvent(BaseModel):
    """One operator action: who, what, when.  ``detail`` holds ids and
    counts, never what residents wrote."""

    organisation = ForeignKeyField(Organisation, backref="audit_events", on_delete="CASCADE")
    operator = ForeignKeyField(Operator, null=True, backref="audit_events", on_delete="SET NULL")
    operator_email = CharField(max_length=254, default="")  # kept if the operator is deleted
    action = CharField(max_length=40)
    target = CharField(max_length=80, default="")
    detail = TextField(default="")
    address = CharField(max_length=64, default="")
    at = DateTimeField()

    class Meta:
        indexes = ((("organisation", "at"), False),)


class QueueItem(BaseModel):
    """A person who needs a human: one row per need, whatever its source.

    ``source_kind`` names the source (services.console_queue.SOURCES) and
    ``source_id`` its row (for "help": the Answer id); the pair is unique, so
    a source inserts with ON CONFLICT DO NOTHING and a need is queued once.
    state open -> claimed -> done; every change is a compare-and-set, so two
    operators never both hold one item."""

    organisation = ForeignKeyField(Organisation, backref="queue_items", on_delete="CASCADE")
    group = ForeignKeyField(Group, null=True, backref="queue_items", on_delete="SET NULL")
    person = ForeignKeyField(Person, null=True, backref="queue_items", on_delete="SET NULL")
    source_kind = CharField(max_length=24)
    source_id = IntegerField()
    raised_at = DateTimeField()  # when the need arose (queue order: oldest first)
    state = CharField(max_length=10, default="open")  # open|claimed|done
    claimed_by = ForeignKeyField(Operator, null=True, backref="claimed_items", on_delete="SET NULL")
    claimed_at = DateTimeField(null=True)
    outcome = CharField(max_length=16, null=True)  # reached|visited|emergency|unreached
    note = TextField(default="")
    done_at = DateTimeField(null=True)
    created_at = DateTimeField()

    class Meta:
        indexes = (
            (("source_kind", "source_id"), True),
            (("organisation", "state", "raised_at"), False),
        )


class NoticeRecord(BaseModel):
    """A notice sent from the console (the outbox rows are jobs.notices'
    ``notice:{digest}:{group}``); lets the console list and follow them."""

    organisation = ForeignKeyField(Organisation, backref="notices", on_delete="CASCADE")
    digest = CharField(max_length=64, unique=True)
    text = TextField()
    areas = CharField(max_length=400, default="")  # space-separated JMA codes
    groups = IntegerField(default=0)
    cost = IntegerField(default=0)
    operator = ForeignKeyField(Operator, null=True, backref="notices", on_delete="SET NULL")
    created_at = DateTimeField()


class StatMonth(BaseModel):
    """A monthly statistic of an organisation, as computed by the SQL
    aggregates in services.statistics.  Months that are over are computed
    once; the current month is recomputed when ``computed_at`` is stale."""

    organisation = ForeignKeyField(Organisation, backref="stat_months", on_delete="CASCADE")
    month = CharField(max_length=7)  # YYYY-MM, local time
    metric = CharField(max_length=40)
    value = FloatField(null=True)  # NULL: nothing to measure that month
    computed_at = DateTimeField()
    final = BooleanField(default=False)

    class Meta:
        indexes = ((("organisation", "month", "metric"), True),)


ALL_MODELS = [
    Organisation,
    Group,
    Person,
    Member,
    Round,
    Answer,
    OfflineMember,
    FollowUp,
    Watch,
    WatchCheck,
    Contact,
    Invitation,
    CodeAttempt,
    Escalation,
    LineAccount,
    WebhookEvent,
    Outbox,
    JmaFeedState,
    JmaTelegram,
    DemoClock,
    DemoGroup,
    Operator,
    LoginAttempt,
    AuditEvent,
    QueueItem,
    NoticeRecord,
    StatMonth,
]


def init_db(url: str):
    """Open the database named by ``url`` and bind the models to it.  Binding
    the same URL again keeps the database already bound (one per process)."""
    if getattr(db.obj, "tsunagari_url", None) == url:
        return db.obj
    if url.startswith("sqlite:"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(f"SQLite 3.35 or newer is needed (this Python has {sqlite3.sqlite_version})")
        # RETURNING lets the sweep claim many rows in one statement and know
        # exactly which ones it won (as on PostgreSQL).
        # BEGIN IMMEDIATE: a transaction takes SQLite's write lock when it
        # starts, so two workers' transactions wait their turn (busy_timeout)
        # instead of one failing when it tries to write after reading.
        database = connect(
            url, pragmas=SQLITE_PRAGMAS, check_same_thread=False, returning_clause=True, lock_type="IMMEDIATE"
        )
    else:
        database = connect(url)
    database.tsunagari_url = url
    db.initialize(database)
    return database


@contextmanager
def connected():
    """Use the thread's connection, opening it if needed and closing it
    afterwards only if we opened it (peewee's connection_context closes
    unconditionally, which would break a caller's open transaction)."""
    opened = db.is_closed()
    if opened:
        db.connect()
    try:
        yield
    finally:
        if opened and not db.is_closed():
            db.close()


def drop_connection() -> None:
    """Forget this thread's connection whatever state it is in (a job that
    failed, or was stopped by its timeout, may have left a transaction
    open), closing it; the next use opens a fresh one.  For processes that
    keep a connection between units of work."""
    database = db.obj
    state = getattr(database, "_state", None)
    if state is None or state.closed:
        return
    conn = state.conn
    state.reset()
    with suppress(Exception):  # a broken connection may refuse even this
        conn.close()  # an open transaction is rolled back by the server


# How long a write waits for SQLite's lock when it tries again itself every
# _WRITE_FIRST_NAP (write_first) rather than through SQLite's busy handler.
WRITE_FIRST_PATIENCE = 10.0
_WRITE_FIRST_NAP = 0.002


def write_first(write: Callable[[], T], patience: float = WRITE_FIRST_PATIENCE) -> T:
    """Run ``write`` (one statement, or a transaction it opens itself); on
    SQLite, wait for the write lock by trying again every 2 ms, for up to
    ``patience`` seconds, instead of in SQLite's busy handler.

    Why: the busy handler naps longer and longer between tries (100 ms at a
    time after the first few), so a writer that must not wait — the webhook,
    which LINE wants answered within 2 s — lost the lock again and again to
    the workers, whose short transactions come and go between its naps (a
    tap storm on SQLite kept webhooks waiting 2.3–4 s at p99).  Trying every
    2 ms takes the lock in the first gap.  On PostgreSQL, whose
    writers do not share one lock, ``write`` simply runs."""
    database = db.obj
    if not isinstance(database, SqliteDatabase):
        return write()
    deadline = time.monotonic() + patience
    database.execute_sql("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                return write()
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(_WRITE_FIRST_NAP)
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")


# Rows per INSERT statement in insert_rows: well under SQLite's 32,766
# bound parameters for the widest table (Outbox, 20 columns).
INSERT_ROWS_CHUNK = 500


def insert_rows(
    model: type[Model],
    rows: list[dict],
    *,
    ignore_conflicts: bool = False,
    returning: tuple = (),
) -> list[tuple]:
    """Insert ``rows`` as ``model.insert_many(rows)`` would (keys are field
    names, foreign keys by field name or column name; a field missing from
    the rows takes its default as in peewee, or the database's), in statements of
    INSERT_ROWS_CHUNK rows, with the SQL text put together here rather than by
    peewee's query compiler, which visits every value of every row: writing a
    quake's 10,000 rounds and prompts spent half its CPU there.
    ``ignore_conflicts`` skips rows that break a unique index (ON CONFLICT DO
    NOTHING, SQLite 3.24+ and PostgreSQL).  Returns the ``returning`` fields'
    values of the rows inserted, as tuples, in no promised order.  Every row
    must have the same keys."""
    if not rows:
        return []
    meta = model._meta
    keys = list(rows[0])
    fields = [meta.fields.get(key) or meta.columns[key] for key in keys]
    given = {field.name for field in fields}  # by name: a Field's == builds SQL
    default_of = {field.name: default for field, default in meta.defaults.items()}
    missing = [field for field in meta.sorted_fields if field.name not in given and field.name in default_of]
    defaults = [default_of[field.name] for field in missing]
    convert = [field.db_value for field in fields]
    database = meta.database
    opening, closing = database.quote  # the identifier quotes, '""' here

    def quote(name: str) -> str:
        return f"{opening}{name}{closing}"

    columns = ", ".join(quote(field.column_name) for field in [*fields, *missing])
    one_row = "(" + ", ".join([database.param] * (len(fields) + len(missing))) + ")"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        tail += " RETURNING " + ", ".join(quote(field.column_name) for field in returning)
    found: list[tuple] = []
    for start in range(0, len(rows), INSERT_ROWS_CHUNK):
        chunk = rows[start : start + INSERT_ROWS_CHUNK]
        params: list = []
        for row in chunk:
            if len(row) != len(keys):
                raise ValueError("insert_rows: every row must have the same keys")
            params.extend(db_value(row[key]) for key, db_value in zip(keys, convert, strict=True))
            params.extend(
                field.db_value(default() if callable(default) else default)
                for field, default in zip(missing, defaults, strict=True)
            )
        sql = f"INSERT INTO {quote(meta.table_name)} ({columns}) VALUES {', '.join([one_row] * len(chunk))}{tail}"
        cursor = database.execute_sql(sql, params)
        if returning:
            found.extend(tuple(row) for row in cursor.fetchall())
    return found


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_schema() -> list[str]:
    """Create or migrate the schema: apply the migrations in migrations/
    that this database has not had yet (peewee's runner records them in
    ``schema_migration``).  Safe to run any number of times; returns the
    names applied now.  To change the schema, edit models.py and run
    ``python -m playhouse.migrations <DATABASE_URL> generate models:ALL_MODELS NAME``."""
    from playhouse.migrations import Runner

    with connected():
        return Runner(db.obj, str(MIGRATIONS_DIR)).up() or []
