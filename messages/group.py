"""What members of a group read: greetings, the safety check, thanks,
help alerts and the summary.

Plain, kind Japanese for members who are new to smartphones.  This is care,
not 監視: the wording asks, thanks and reassures.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from domain import postback as codec
from domain.followups import FollowUpView
from domain.kinds import AnswerKind, FollowUpKind, RoundKind
from domain.rounds import Tally
from messages import followups, languages
from messages.flex import RED, bubble, button, clip, names, postback, shown, text, utf16_len
from messages.flex import TEXT_LIMIT as _TEXT_LIMIT
from messages.i18n import _, current_language, using

DRILL_LABEL_TEXT = "【訓練】"


def drill_label(kind: str) -> str:
    return _(DRILL_LABEL_TEXT) if kind == RoundKind.DRILL else ""


def join_action() -> dict:
    return postback(_("参加する"), codec.Join(), _("参加します"))


def greeting() -> list[dict]:
    """The bot was invited into a group."""
    return [
        bubble(
            _("こんにちは。「つながり」です"),
            [
                _("決まった時間に「無事ですか？」とお聞きします。"),
                _("OKのボタンを押すだけで、グループのみなさんと無事を確かめ合えます。"),
                _("住所や電話番号などは必要ありません。"),
                _(
                    "参加すると、LINEの表示名と、OKを押したかどうかだけを記録します。"
                    "「/退会」と送ると、いつでもやめられて、お名前も消えます。"
                ),
                _("参加する方は、下のボタンを押してください。"),
            ],
            [button(join_action())],
            _("つながりです。参加する方は「参加する」を押してください。"),
        ),
        text(_("まとめ役の方は「/リーダー」と送ってください。使い方は「/ヘルプ」で見られます。")),
        languages.choices(),
    ]


def welcome() -> list[dict]:
    """Someone joined a group the bot is in."""
    return [
        bubble(
            _("ようこそ"),
            [
                _("このグループでは「つながり」で、おたがいの無事を確かめ合っています。"),
                _("参加する方は、下のボタンを押してください。"),
            ],
            [button(join_action())],
            _("ようこそ。参加する方は「参加する」を押してください。"),
        )
    ]


def registered(name: str, named: bool) -> list[dict]:
    body = _("{name}さん、参加ありがとうございます。\n確認のお知らせが来たら、OKを押してください。").format(
        name=shown(name)
    )
    if not named:
        body += "\n" + _("お名前が取得できませんでした。「/名前 山田花子」のように送ると登録できます。")
    return [text(body)]


def already_registered(name: str) -> list[dict]:
    return [text(_("{name}さんは参加済みです。ありがとうございます。").format(name=shown(name)))]


def please_join() -> list[dict]:
    """An unregistered member answered: their OK would not be counted."""
    return [
        bubble(
            _("まだ参加されていません"),
            [_("OKを数えるには、先に「参加する」を押してください。")],
            [button(join_action())],
            _("先に「参加する」を押してください。"),
        )
    ]


def prompt(round_id: int, kind: str = RoundKind.ROUTINE, headline: str | None = None) -> list[dict]:
    """The safety check: one big OK button (and 助けが必要 in emergencies).

    displayText makes each tap visible in the group, as if the member had
    typed it, so everyone sees who has answered."""
    label = drill_label(kind)
    ok = codec.Answer(AnswerKind.OK, round_id)
    if RoundKind(kind).is_emergency_style:
        title = label + _("無事を確認しています")
        lines = [headline or _("地震がありました。"), _("無事な方はOKを押してください。")]
        buttons = [
            button(postback(_("OK（無事）"), ok, label + _("OK（無事です）"))),
            button(
                postback(
                    _("助けが必要"), codec.Answer(AnswerKind.HELP, round_id), label + _("助けが必要です")
                ),
                color=RED,
            ),
        ]
    else:
        title = _("無事ですか？")
        lines = [_("お変わりなければ、OKを押してください。")]
        buttons = [button(postback(_("OK"), ok, _("OK")))]
    alt = label + _("つながりの確認です。") + lines[-1]
    return [bubble(title, lines, buttons, alt)]


def prompt_json(kind: str, headline: str | None = None) -> Callable[[int], str]:
    """``prompt(round_id, kind, headline)`` as the outbox stores it (JSON),
    for any round id, built once: a quake's thousands of prompts differ only
    in the round id their buttons carry, and building each one (the codec
    checks every button's data) was a fifth of the CPU of writing them.
    The template is built with the largest round id the codec takes, so
    every real id fits LINE's limits wherever the template does."""
    marker = f"r={codec.MAX_ID}"
    if marker not in (headline or ""):
        parts = json.dumps(prompt(codec.MAX_ID, kind, headline), ensure_ascii=False).split(marker)
        return lambda round_id: f"r={round_id}".join(parts)
    # The headline quotes the marker (only the buttons may hold it): build each.
    language = current_language()

    def build(round_id: int) -> str:
        with using(language):
            return json.dumps(prompt(round_id, kind, headline), ensure_ascii=False)

    return build


def answer_thanks(name: str) -> list[dict]:
    return [text(_("{name}さん、ありがとうございます。確認しました。").format(name=shown(name)))]


def help_on_the_way(name: str | None, kind: str) -> list[dict]:
    """What happens next, for the member who asked for help.  It promises
    only what the bot does (leaders are told), never that someone will come."""
    if name is None:
        return [
            text(
                _(
                    "知らせてくださってありがとうございます。グループのみなさんにお伝えしました。"
                    "けがや急病など急ぐときは、119番（救急）に電話してください。"
                )
            )
        ]
    if kind == RoundKind.DRILL:
        return [
            text(
                drill_label(kind)
                + _(
                    "{name}さん、押してくださってありがとうございます。"
                    "本番では、このボタンでリーダーの方にすぐお伝えします。"
                    "本当に困ったときも、遠慮なく押してください。"
                ).format(name=shown(name))
            )
        ]
    return [
        text(
            _(
                "{name}さん、知らせてくださってありがとうございます。"
                "リーダーの方にお伝えしました。連絡があるまで、できるだけ安全な場所にいてください。"
                "けがや急病など急ぐときは、119番（救急）に電話してください。"
            ).format(name=shown(name))
        )
    ]


def help_alert(name: str | None, leader_names: list[str], kind: str, typed: bool = False) -> list[dict]:
    """Someone asked for help: the whole group (leaders by name) reads it.
    ``name`` is None for someone the bot does not know (not registered, and
    LINE gave no name)."""
    to = names(leader_names) if leader_names else _("リーダーの方")
    if name is None:
        said = _("グループの方から「助けて」と届きました。")
    elif typed:
        said = _("{name}さんから「助けて」と届きました。").format(name=shown(name))
    else:
        said = _("{name}さんが「助けが必要」を押しました。").format(name=shown(name))
    return [
        text(drill_label(kind) + _("{to}へ：").format(to=to) + said + _("お声がけか、ご連絡をお願いします。"))
    ]


def round_closed() -> list[dict]:
    return [text(_("この確認は締め切られました。次の確認でOKを押してください。"))]


def _names_within(people: list[str], room: int) -> str:
    """「Aさん、Bさん」 cut to ``room`` characters with 「ほかN人」."""
    joined = _("、").join(people)
    if utf16_len(joined) <= room:
        return joined
    shown: list[str] = []
    for index, who in enumerate(people):
        rest = len(people) - index
        candidate = _("、").join([*shown, who]) + _("、ほか{count}人").format(count=rest - 1)
        if utf16_len(candidate) > room:
            return _("、").join(shown) + _("、ほか{count}人").format(count=rest)
        shown.append(who)
    return joined


def breakdown(tally: Tally) -> str:
    """「参加5人：無事 2人・助けが必要 1人・まだ 1人・お休み 1人」: the counts,
    which always add up to the registered (and the 名簿 beside them)."""
    parts = [_("無事 {count}人").format(count=len(tally.ok))]
    if tally.need_help:
        parts.append(_("助けが必要 {count}人").format(count=len(tally.need_help)))
    parts.append(_("まだ {count}人").format(count=len(tally.unanswered)))
    if tally.away:
        parts.append(_("お休み {count}人").format(count=len(tally.away)))
    line = _("参加{count}人：").format(count=tally.registered) + _("・").join(parts)
    if tally.offline:
        line += _("／LINEなしの方 {count}人").format(count=len(tally.offline))
    return line


def not_joined_line(count: int) -> str:
    return _(
        "このグループには、まだ「参加する」を押していない方が{count}人います。押すと、確認の数に入ります。"
    ).format(count=count)


def skipped_line(when: str) -> str:
    return _("（{when}の定期の確認は、この確認と重なったため、お休みしました）").format(when=when)


def upcoming_skip_line(when: str) -> str:
    return _("（地震のあとの確認をしたので、{when}の定期の確認はお休みします）").format(when=when)


def summary_text(
    tally: Tally,
    kind: str,
    follow_ups: list[FollowUpView],
    skipped_routine: str | None = None,
    upcoming_skip: str | None = None,
    extra: list[str] | None = None,
) -> str:
    """The summary's words: who asked for help first, then who has not been
    confirmed (the 名簿 marked （LINEなし）), then the counts."""
    label = drill_label(kind)
    helped = [followups.person_with_state(v) for v in follow_ups if v.kind == FollowUpKind.HELP]
    waiting = [followups.person_with_state(v) for v in follow_ups if v.kind != FollowUpKind.HELP]
    room = _TEXT_LIMIT // 3
    lines = []
    if helped:
        lines.append(label + _("助けが必要な方：") + _names_within(helped, room))
    if waiting:
        lines.append(
            ("" if helped else label)
            + _("{names}の無事がまだ確認できていません。お声がけをお願いします。").format(
                names=_names_within(waiting, room)
            )
        )
    elif helped:
        lines.append(_("ほかの方の無事は確認できました。ご協力ありがとうございます。"))
    elif tally.away:
        lines.append(
            label + _("お休み中の方のほかは、全員の無事が確認できました。ご協力ありがとうございます。")
        )
    else:
        lines.append(label + _("全員の無事が確認できました。ご協力ありがとうございます。"))
    detailed = bool(tally.need_help or tally.away or tally.offline)
    if (helped or waiting) and tally.ok and not detailed:
        lines.append(_("（{count}人の方は確認できました）").format(count=len(tally.ok)))
    if tally.away:
        away = [
            _("{name}さん（{month}月{day}日まで）").format(
                name=m.name, month=m.away_until.month, day=m.away_until.day
            )
            for m in tally.away
        ]
        lines.append(_("お休み中：") + _names_within(away, room // 2))
    if detailed:
        lines.append(breakdown(tally))
    if skipped_routine:
        lines.append(skipped_line(skipped_routine))
    if upcoming_skip:
        lines.append(upcoming_skip_line(upcoming_skip))
    if tally.not_joined:
        lines.append(not_joined_line(tally.not_joined))
    lines.extend(extra or [])
    claimable = sum(1 for v in follow_ups if v.claimable)
    if claimable:
        capacity = followups.BUTTONS_PER_BUBBLE * followups.BUBBLES_PER_CAROUSEL * SUMMARY_BUTTON_MESSAGES
        if claimable > capacity:
            lines.append(followups.not_all_buttons(capacity))
        lines.append(_("確認に行ける方は、下のボタンを押してください。"))
    return "\n".join(lines)


# The summary is at most 5 messages: its text, up to 3 of claim buttons and
# the 参加する invitation.
SUMMARY_BUTTON_MESSAGES = 3


def summary(
    tally: Tally,
    kind: str = RoundKind.ROUTINE,
    follow_ups: list[FollowUpView] | None = None,
    skipped_routine: str | None = None,
    upcoming_skip: str | None = None,
    extra: list[str] | None = None,
) -> list[dict]:
    """The one message after the delay: who asked for help, who has not been
    confirmed, each with a 「○○さんを確認します」 button, and the counts."""
    follow_ups = follow_ups or []
    body = summary_text(tally, kind, follow_ups, skipped_routine, upcoming_skip, extra)
    messages = [text(body)]
    messages += followups.claim_buttons(follow_ups, kind, SUMMARY_BUTTON_MESSAGES)
    if tally.not_joined:
        messages.append(join_invitation())
    return messages


def counts_only_summary(
    tally: Tally,
    kind: str,
    skipped_routine: str | None = None,
    upcoming_skip: str | None = None,
    extra: list[str] | None = None,
) -> list[dict]:
    """The group's summary when the names go to the leaders only (/設定 名前
    リーダーだけ): the counts, and that the leaders will check on people."""
    label = drill_label(kind)
    if tally.everyone_confirmed:
        lines = [label + _("全員の無事が確認できました。ご協力ありがとうございます。")]
    else:
        lines = [label + _("確認のまとめです。まだ確認できていない方には、リーダーの方からお声がけします。")]
    lines.append(breakdown(tally))
    if skipped_routine:
        lines.append(skipped_line(skipped_routine))
    if upcoming_skip:
        lines.append(upcoming_skip_line(upcoming_skip))
    if tally.not_joined:
        lines.append(not_joined_line(tally.not_joined))
    lines.extend(extra or [])
    messages = [text("\n".join(lines))]
    if tally.not_joined:
        messages.append(join_invitation())
    return messages


def leader_summary(
    tally: Tally,
    kind: str,
    follow_ups: list[FollowUpView],
    skipped_routine: str | None = None,
) -> list[dict]:
    """The names of a summary, for a leader one-to-one."""
    head = drill_label(kind) + _("【確認のまとめ】お名前はリーダーの方だけにお送りしています。")
    body = summary_text(tally, kind, follow_ups, skipped_routine)
    return [text(clip(head + "\n" + body, _TEXT_LIMIT)), *followups.claim_buttons(follow_ups, kind, 4)]


def names_to_leaders_pending(leader_names: list[str]) -> str:
    """Names are meant for the leaders only, but none can receive them yet."""
    return (
        _(
            "お名前はリーダーの方だけにお送りする設定ですが、{leaders}がまだ「つながり」と友だちになっていないため、"
            "グループにお送りしています。"
        ).format(leaders=names(leader_names) if leader_names else _("リーダーの方"))
        + followups.befriend_how()
    )


def befriend_leaders(leader_names: list[str]) -> str:
    """Some leaders get the names; these ones could, once they are friends."""
    return (
        _("{leaders}へ：「つながり」と友だちになると、お名前が届きます。").format(leaders=names(leader_names))
        + followups.befriend_how()
    )


def join_invitation() -> dict:
    return bubble(
        _("まだ参加していない方へ"),
        [_("「参加する」を押すと、確認の数に入ります。お名前や住所は必要ありません。")],
        [button(join_action())],
        _("まだ参加していない方は「参加する」を押してください。"),
    )


def few_registered(registered: int, member_count: int) -> list[dict]:
    """A leader's /確認 when fewer than half of the group have joined."""
    return [
        bubble(
            _("参加している方は{member_count}人中{registered}人です").format(
                member_count=member_count, registered=registered
            ),
            [
                _("「参加する」を押していない方には、この確認が数えられません。"),
                _("みなさんに「参加する」を押してもらいましょう。確認は、このまま始めます。"),
            ],
            [button(join_action())],
            _("参加している方は{member_count}人中{registered}人です。").format(
                member_count=member_count, registered=registered
            ),
        )
    ]


NOTICE_PREFIX = "【お知らせ】\n"


def notice(body: str) -> list[dict]:
    """A leader's /お知らせ, as the group reads it."""
    return [text(_(NOTICE_PREFIX) + body)]


def notice_room() -> int:
    """How long a leader's notice may be, in LINE's units."""
    return _TEXT_LIMIT - utf16_len(_(NOTICE_PREFIX))
