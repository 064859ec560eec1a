"""The message catalogue: every message fits LINE's limits, and every button
carries a postback the codec reads back as what the button means."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from linebot.v3.messaging import PushMessageRequest

from domain import postback as codec
from domain.areas import resolve_area
from domain.followups import FollowUpView
from domain.jma import Intensity
from domain.kinds import (
    AnswerKind,
    EscalationOutcome,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpState,
    RoundKind,
)
from domain.languages import Language
from domain.rounds import MemberView, OfflineView, tally
from emulator.limits import validate_messages
from messages import (
    commands,
    console_outcomes,
    contacts,
    followups,
    group,
    languages,
    one_to_one,
    operators,
    organisation,
    quake,
    watch,
)
from messages.followups import BUBBLES_PER_CAROUSEL, BUTTONS_PER_BUBBLE
from messages.i18n import LANGUAGE_CODES, SOURCE_LANGUAGE, using
from tests.support import postback_actions, texts_of

T0 = datetime(2026, 11, 30, tzinfo=UTC)
PEOPLE = [MemberView(i, name, T0) for i, name in enumerate(["佐藤花子", "鈴木一郎", "田中次郎"], start=1)]
ATSUGI = resolve_area("厚木市").area
LONGEST = "長" * 20  # the longest name /名前 and /名簿 accept
LONG_ORG = "社会福祉法人" + "長" * 187 + "社会福祉協議会"  # Organisation.name's 200 characters
# Every name a message below may carry (a label with one is clipped, not short).
NAMED = ("佐藤花子", "鈴木一郎", "田中次郎", "高橋ウメ", "山田太郎", "長", "府中", "やまだ")

# A large group: 480 registered (LINE's groups hold 500) with 20-character
# names, nobody answered, a 名簿 of 100: the summary must still fit, with as
# many buttons as LINE allows in one push.
CROWD = [
    MemberView(i, f"{LONGEST[:17]}{i:03d}", T0, date(2026, 12, 5) if i % 50 == 0 else None)
    for i in range(1, 481)
]
CROWD_OFFLINE = [OfflineView(i, f"{LONGEST[:17]}{i:03d}", T0) for i in range(1, 101)]
CROWD_TALLY = tally(CROWD, {i: "help" for i in range(1, 11)}, CROWD_OFFLINE, 500, date(2026, 11, 30))
CROWD_VIEWS = [
    FollowUpView(i, m.name, FollowUpKind.HELP if i <= 10 else FollowUpKind.UNANSWERED)
    for i, m in enumerate(CROWD_TALLY.need_help + CROWD_TALLY.unanswered, start=1)
] + [FollowUpView(1000 + o.offline_id, o.name, FollowUpKind.OFFLINE) for o in CROWD_OFFLINE]

HELPED = FollowUpView(11, "鈴木一郎", FollowUpKind.HELP, FollowUpState.CLAIMED, "佐藤花子")
SILENT = FollowUpView(12, "田中次郎", FollowUpKind.UNANSWERED)
UME = FollowUpView(13, "高橋ウメ", FollowUpKind.OFFLINE)
AWAY = MemberView(4, "山田太郎", T0, date(2026, 12, 5))
SMALL_TALLY = tally(
    [*PEOPLE, AWAY], {1: "ok", 2: "help"}, [OfflineView(1, "高橋ウメ", T0)], 6, date(2026, 11, 30)
)


def every_message() -> dict[str, list[dict]]:
    """Every builder, rendered in the current language (messages.i18n.using)."""
    return {
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
        "summary": group.summary(SMALL_TALLY, RoundKind.EMERGENCY, [HELPED, SILENT, UME]),
        "summary drill": group.summary(
            SMALL_TALLY, RoundKind.DRILL, [HELPED, SILENT, UME], "12月1日 9時00分", "12月2日 9時00分"
        ),
        "summary everyone": group.summary(tally(PEOPLE, {1: "ok", 2: "ok", 3: "ok"})),
        "summary crowd": group.summary(CROWD_TALLY, RoundKind.ROUTINE, CROWD_VIEWS),
        "summary counts only": group.counts_only_summary(
            SMALL_TALLY, RoundKind.ROUTINE, extra=[group.befriend_leaders(["佐藤花子"])]
        ),
        "summary names pending": group.summary(
            SMALL_TALLY,
            RoundKind.ROUTINE,
            [HELPED, SILENT, UME],
            extra=[group.names_to_leaders_pending(["佐藤花子"])],
        ),
        "summary for a leader": group.leader_summary(SMALL_TALLY, RoundKind.ROUTINE, [HELPED, SILENT, UME]),
        "summary crowd for a leader": group.leader_summary(CROWD_TALLY, RoundKind.ROUTINE, CROWD_VIEWS),
        "few registered": group.few_registered(1, 4),
        "join invitation": [group.join_invitation()],
        "help alert typed": group.help_alert("鈴木一郎", [], RoundKind.ROUTINE, typed=True)
        + followups.claim_buttons([SILENT], RoundKind.ROUTINE, 1)
        + group.help_on_the_way("鈴木一郎", RoundKind.ROUTINE),
        "help alert from someone unknown": group.help_alert(None, ["佐藤花子"], RoundKind.MANUAL)
        + group.help_on_the_way(None, RoundKind.MANUAL),
        "claimed": followups.claimed("佐藤花子", SILENT, RoundKind.ROUTINE),
        "claimed 名簿 long name": followups.claimed(
            LONGEST, FollowUpView(9, LONGEST, FollowUpKind.OFFLINE), "drill"
        ),
        "taken": followups.taken(SILENT, "佐藤花子"),
        "not yours": followups.not_yours(SILENT, "佐藤花子"),
        "already": followups.already(
            FollowUpView(
                12, "田中次郎", FollowUpKind.UNANSWERED, FollowUpState.DONE, outcome=FollowUpOutcome.SAFE
            ),
            "佐藤花子",
        ),
        "told safe": followups.outcome_told(
            SILENT, FollowUpOutcome.SAFE, "佐藤花子", RoundKind.ROUTINE, ["佐藤花子"]
        ),
        "told unreachable": followups.outcome_told(
            SILENT, FollowUpOutcome.UNREACHABLE, "鈴木一郎", "routine", []
        ),
        "told needed help": followups.outcome_told(
            UME, FollowUpOutcome.NEEDED_HELP, "鈴木一郎", "emergency", []
        ),
        "to leaders unreachable": followups.to_leaders(
            SILENT, FollowUpOutcome.UNREACHABLE, "鈴木一郎", "12月1日 10時05分", RoundKind.ROUTINE
        ),
        "to leaders needed help": followups.to_leaders(
            UME, FollowUpOutcome.NEEDED_HELP, "鈴木一郎", "12月1日 10時05分", RoundKind.DRILL
        ),
        "own ok": followups.own_ok("田中次郎", ["佐藤花子"], RoundKind.ROUTINE),
        "help kept": followups.help_kept("鈴木一郎"),
        "reminder to leaders": followups.reminder([SILENT, UME], RoundKind.ROUTINE, None),
        "reminder to the group": followups.reminder(CROWD_VIEWS, RoundKind.DRILL, ["佐藤花子", "鈴木一郎"]),
        "unwell": followups.unwell("田中次郎"),
        "not in group": followups.not_in_group(),
        "suggestion": commands.suggestion("schedule"),
        "names to leaders": commands.names_to_leaders_set(["佐藤花子"], followups.befriend_how()),
        "names to group": commands.names_to_group_set(),
        "names usage": commands.names_usage(),
        "roster": commands.roster([("佐藤花子", True), ("鈴木一郎", False)], ["高橋ウメ"], 2),
        "roster added": commands.roster_added("高橋ウメ"),
        "roster not found": commands.roster_not_found("高橋ウメ", [LONGEST] * 100),
        "roster usage": commands.roster_usage(),
        "away set": commands.away_set("鈴木一郎", 12, 5),
        "away ended": commands.away_ended("鈴木一郎"),
        "away usage": commands.away_usage(unreadable=True),
        "notice too long": commands.notice_too_long(4993, 1007, "駅前に集合してください。"),
        "status": commands.status(
            [
                commands.status_round(1, 1, 1, "12月1日 9時00分", away=1, offline=1, label="【訓練】"),
                commands.status_follow_ups(1, 1, 1),
                commands.status_members(3, 1),
                commands.status_not_joined(2),
                commands.status_names_to_leaders(),
            ]
        ),
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
        # 見守り: the watched person
        "watch greeting": watch.greeting(),
        "watch welcome back": watch.welcome_back("佐藤花子"),
        "watch choose time": watch.choose_time(),
        "watch schedule set": watch.schedule_set("毎日 9:00", "12月1日 9時00分", contacts=0),
        "watch schedule unknown": watch.schedule_unknown(),
        "watch settings": watch.settings(
            [
                watch.setting_schedule("毎週月水金 8:30", watch.state_label("paused")),
                watch.setting_next("12月1日 9時00分"),
                watch.setting_away(watch.day(date(2026, 12, 5))),
                watch.setting_contacts(["鈴木一郎", "田中次郎", "山田太郎"]),
                watch.setting_last_ok("11月30日 9時02分"),
                watch.setting_last_ok(None),
                watch.setting_messages(31),
                watch.setting_pause_hint(True),
                watch.setting_pause_hint(False),
                watch.setting_contacts([]),
            ]
        ),
        "watch paused": watch.paused(),
        "watch already paused": watch.already_paused(),
        "watch resumed": watch.resumed("12月1日 9時00分"),
        "watch not paused": watch.not_paused("12月1日 9時00分"),
        "watch check": watch.check(7, "佐藤花子"),
        "watch trial check": watch.trial_check(7, "佐藤花子"),
        "watch resend": watch.resend(7, "佐藤花子", "12月1日 21時00分"),
        "watch resend without contacts": watch.resend(7, "佐藤花子", None),
        "watch thanks": watch.thanks("佐藤花子"),
        "watch thanks late": watch.thanks_late("佐藤花子"),
        "watch thanks trial": watch.thanks_trial("佐藤花子"),
        "watch thanks unasked": watch.thanks_unasked("佐藤花子"),
        "watch hint": watch.hint(),
        "watch help": watch.help_text(),
        "watch contacts overview": watch.contacts_overview(["鈴木一郎"], ["山田太郎"], inviting=True),
        "watch contacts full": watch.contacts_overview(
            ["鈴木一郎", "田中次郎", "山田太郎"], [], inviting=False
        ),
        "watch invitation": watch.invitation(
            "佐藤花子", "012345", watch.friend_link("@123abcde"), "12月3日 9時00分"
        ),
        "watch invitation without link": watch.invitation("佐藤花子", "012345", None, "12月3日 9時00分"),
        "watch contact joined": watch.contact_joined("鈴木一郎", 2),
        "watch contact left": watch.contact_left("鈴木一郎"),
        "watch end choices": watch.end_choices(
            [
                (watch.end_label_contact("鈴木一郎"), codec.EndContact(1)),
                (watch.end_label_contact("田中次郎"), codec.EndContact(2)),
                (watch.end_label_contact("山田太郎"), codec.EndContact(3)),
                (watch.end_label_watching("やまだ　ひさしぶりのおばあちゃん"), codec.EndContact(4)),
            ]
        ),
        "watch nothing to end": watch.nothing_to_end(),
        "watch link ended": watch.link_ended("鈴木一郎"),
        "watch link gone": watch.link_already_gone(),
        "watch away set": watch.away_set("12月5日", "12月6日", shared=False),
        "watch away shared": watch.away_set("12月5日", "12月6日", shared=True),
        "watch away ended": watch.away_ended(),
        "watch not away": watch.not_away(),
        "watch away usage": watch.away_usage("12月5日"),
        "watch away unknown": watch.away_unknown("いつまでかがわかりません"),
        "watch status": watch.status(
            [
                watch.status_not_started(),
                watch.status_watching([watch.watching_entry("佐藤花子", watch.state_label("active"), None)]),
                watch.watching_entry("鈴木一郎", watch.state_label("stopped"), "11月30日 9時02分"),
            ]
        ),
        "watch name set": watch.name_set("佐藤花子"),
        "watch erase confirm": watch.erase_confirm(),
        "watch erased": watch.erased(),
        "watch nothing to erase": watch.nothing_to_erase(),
        # 見守り: contacts
        "contact offer": contacts.offer("佐藤花子", 12, "012345"),
        "contact linked": contacts.linked("佐藤花子"),
        "contact code unusable": contacts.code_unusable(),
        "contact code locked": contacts.code_locked(),
        "contact own code": contacts.own_code(),
        "contact already": contacts.already_contact("佐藤花子"),
        "contact full": contacts.contacts_full("佐藤花子"),
        "escalation": contacts.escalation("佐藤花子", 9, "12月1日 9時00分", "11月30日 9時02分"),
        "escalation never answered": contacts.escalation("佐藤花子", 9, "12月1日 9時00分", None),
        "escalation reminder": contacts.escalation("佐藤花子", 9, "12月1日 9時00分", None, reminder=True),
        "claim won": contacts.claim_won("佐藤花子", 9),
        "claim taken": contacts.claim_taken("佐藤花子", "鈴木一郎"),
        "claimed notice": contacts.claimed_notice("佐藤花子", "鈴木一郎"),
        "claim closed": contacts.claim_closed("佐藤花子"),
        **{
            f"outcome notice {o}": contacts.outcome_notice("佐藤花子", "鈴木一郎", o)
            for o in EscalationOutcome
        },
        **{f"outcome thanks {o}": contacts.outcome_thanks("佐藤花子", 9, o) for o in EscalationOutcome},
        "not claimer": contacts.not_claimer("佐藤花子"),
        "not a contact": contacts.not_a_contact(),
        "all clear": contacts.all_clear("佐藤花子", "12月1日 21時05分"),
        "watch stopped": contacts.watch_stopped("佐藤花子"),
        "watch deleted": contacts.watch_deleted("佐藤花子"),
        "watch resumed for contacts": contacts.watch_resumed("佐藤花子"),
        "absence shared": contacts.absence_shared("佐藤花子", "12月5日"),
        "contact ended": contacts.contact_ended("佐藤花子"),
        "org help outcome": console_outcomes.help_outcome("厚木市社会福祉協議会", "unreached"),
        "language choices": [languages.choices()],
        "language usage": languages.language_usage(),
        **{
            f"language set {language} {where}": languages.language_set(language, group=where == "group")
            for language in Language
            for where in ("group", "one-to-one")
        },
        # /団体, /設定 名前 団体にも, /年代, /性別 (messages/organisation.py), with an
        # organisation name as long as the model allows (200 characters).
        "org group usage": organisation.group_usage(),
        "org group status none": organisation.group_status(None, False),
        "org group status shared": organisation.group_status(LONG_ORG, True),
        "org group status counts": organisation.group_status(LONG_ORG, False),
        "org group linked": organisation.group_linked(LONG_ORG, LONG_ORG),
        "org group already": organisation.group_already_linked(LONG_ORG),
        "org group unlinked": organisation.group_unlinked(LONG_ORG),
        "org group not linked": organisation.group_not_linked(),
        "org code wrong": organisation.code_wrong(),
        "org code locked": organisation.code_locked(),
        "org names shared": organisation.names_shared_set(LONG_ORG),
        "org names shared unlinked": organisation.names_shared_set(None),
        "org names hidden": organisation.names_hidden_set(),
        "org watch usage": organisation.watch_usage(),
        "org watch status": organisation.watch_status(LONG_ORG),
        "org watch status none": organisation.watch_status(None),
        "org watch linked": organisation.watch_linked(LONG_ORG, LONG_ORG),
        "org watch already": organisation.watch_already_linked(LONG_ORG),
        "org watch unlinked": organisation.watch_unlinked(LONG_ORG),
        "org watch not linked": organisation.watch_not_linked(),
        **{f"age set {band}": organisation.age_set(band) for band in organisation.AGE_LABELS},
        "age usage": organisation.age_usage("90"),
        "declared in group": organisation.declared_in_group(),
        "age removed": organisation.age_removed(True),
        "age not set": organisation.age_removed(False),
        **{f"sex set {sex}": organisation.sex_set(sex) for sex in organisation.SEX_LABELS},
        "sex usage": organisation.sex_usage(None),
        "sex removed": organisation.sex_removed(True),
        **{
            f"follow-up outcome {o}": organisation.follow_up_outcome(LONG_ORG, o)
            for o in ("reached", "visited", "emergency", "unreached")
        },
        **{
            f"watch outcome {o}": organisation.watch_outcome(LONG_ORG, LONGEST, o)
            for o in ("reached", "visited", "emergency", "unreached")
        },
    }


EVERY_MESSAGE = every_message()  # in 日本語, the source text
IN_EVERY_LANGUAGE: dict[str, dict[str, list[dict]]] = {}
for _language in LANGUAGE_CODES:
    with using(_language):
        IN_EVERY_LANGUAGE[_language] = every_message()
EVERY_CASE = [(language, name) for language in LANGUAGE_CODES for name in sorted(EVERY_MESSAGE)]
# A button label without a person's name in it: short enough for a phone in every language.
SHORT_LABEL = 20


@pytest.mark.parametrize(("language", "name"), EVERY_CASE)
def test_every_message_fits_lines_limits(language, name):
    assert validate_messages(IN_EVERY_LANGUAGE[language][name]) == []


@pytest.mark.parametrize(("language", "name"), EVERY_CASE)
def test_every_message_is_one_the_sdk_accepts(language, name):
    # line-bot-sdk's models are generated from LINE's OpenAPI spec.
    PushMessageRequest.from_dict({"to": "U" + "0" * 32, "messages": IN_EVERY_LANGUAGE[language][name]})


@pytest.mark.parametrize(("language", "name"), EVERY_CASE)
def test_every_message_keeps_fixed_labels_short(language, name):
    """A label that names nobody is at most 20 characters, English ones
    included (LINE's limits themselves, altText among them, are checked
    above by emulator.limits)."""
    for message in IN_EVERY_LANGUAGE[language][name]:
        for action in postback_actions(message):
            if not any(person in action["label"] for person in NAMED):
                assert len(action["label"]) <= SHORT_LABEL, action["label"]


@pytest.mark.parametrize("language", [code for code in LANGUAGE_CODES if code != SOURCE_LANGUAGE])
def test_every_language_is_really_translated(language):
    """The catalogue is found and used: the greeting is not the Japanese one,
    and the buttons carry the same postbacks in every language."""
    translated = IN_EVERY_LANGUAGE[language]
    assert texts_of(translated["greeting"][0]) != texts_of(EVERY_MESSAGE["greeting"][0])
    for name, messages in EVERY_MESSAGE.items():
        assert [a["data"] for m in messages for a in postback_actions(m)] == [
            a["data"] for m in translated[name] for a in postback_actions(m)
        ], name


def test_a_long_list_keeps_every_name_and_as_many_buttons_as_fit():
    [body, *buttons] = EVERY_MESSAGE["summary crowd"]
    assert body["text"].startswith("助けが必要な方：")
    assert "ほか" in body["text"]  # 571 names do not fit one text: the rest are counted
    assert "参加480人：無事 0人・助けが必要 10人・まだ 461人・お休み 9人／LINEなしの方 100人" in body["text"]
    assert "（ボタンは288人分です。ほかの方も、お声がけをお願いします）" in body["text"]
    claims = [
        a
        for message in buttons
        for a in postback_actions(message)
        if isinstance(codec.decode(a["data"]), codec.Claim)
    ]
    assert len(claims) == 3 * BUBBLES_PER_CAROUSEL * BUTTONS_PER_BUBBLE
    assert claims[0]["label"].endswith("を確認します") and codec.decode(claims[0]["data"]) == codec.Claim(1)
    assert buttons[-1]["contents"]["type"] == "bubble"  # the 参加する invitation: 20 have not joined


def test_the_follow_up_buttons_mean_what_they_say():
    [claim] = postback_actions(followups.claim_buttons([SILENT], RoundKind.ROUTINE)[0])
    assert claim["label"] == "田中次郎さんを確認します" and codec.decode(claim["data"]) == codec.Claim(12)
    outcomes = postback_actions(EVERY_MESSAGE["claimed"][0])
    assert [(o["label"], codec.decode(o["data"])) for o in outcomes] == [
        ("無事でした", codec.RecordOutcome(12, FollowUpOutcome.SAFE)),
        ("連絡がつかない", codec.RecordOutcome(12, FollowUpOutcome.UNREACHABLE)),
        ("助けが必要だった", codec.RecordOutcome(12, FollowUpOutcome.NEEDED_HELP)),
    ]
    [ume] = postback_actions(followups.claim_buttons([UME], RoundKind.ROUTINE)[0])
    assert ume["label"] == "高橋ウメさん（LINEなし）を確認します"


@pytest.mark.parametrize(("language", "name"), EVERY_CASE)
def test_every_button_carries_a_postback_the_codec_reads(language, name):
    for message in IN_EVERY_LANGUAGE[language][name]:
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


def test_the_watch_buttons_mean_what_they_say():
    [ok] = postback_actions(watch.check(7, "佐藤花子")[0])
    assert codec.decode(ok["data"]) == codec.WatchOk(7)
    [start] = postback_actions(watch.greeting()[0])
    assert codec.decode(start["data"]) == codec.StartWatch()
    times = [codec.decode(b["data"]) for b in postback_actions(watch.choose_time()[0])]
    assert times == [
        codec.ChooseWatchTime(7),
        codec.ChooseWatchTime(9),
        codec.ChooseWatchTime(12),
        codec.ChooseWatchTime(19),
    ]
    [become] = postback_actions(contacts.offer("佐藤花子", 12, "012345")[0])
    assert codec.decode(become["data"]) == codec.BecomeContact(12, "012345")
    [claim] = postback_actions(contacts.escalation("佐藤花子", 9, "12月1日 9時00分", None)[0])
    assert claim["label"] == "わたしが確認します" and codec.decode(claim["data"]) == codec.ClaimEscalation(9)
    outcomes = postback_actions(contacts.claim_won("佐藤花子", 9)[0])
    assert [b["label"] for b in outcomes] == ["無事でした", "連絡がつかない", "救急・警察に連絡した"]
    assert [codec.decode(b["data"]) for b in outcomes] == [
        codec.ReportOutcome(9, o) for o in EscalationOutcome
    ]


def test_every_message_about_someone_names_them():
    """A contact in a group, or of several people, is never left guessing."""
    about = {
        k: v
        for k, v in EVERY_MESSAGE.items()
        if k.startswith(("escalation", "claim", "outcome", "all clear"))
        # the one about a neighbour on the 名簿 names them, by a long name of its own
        and k != "claimed 名簿 long name"
    }
    about |= {
        k: EVERY_MESSAGE[k] for k in ("watch stopped", "watch deleted", "absence shared", "contact ended")
    }
    for name, messages in about.items():
        assert any("佐藤花子" in t for m in messages for t in texts_of(m)), name
