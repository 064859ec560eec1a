"""What members of a group read: greetings, the safety check, thanks,
help alerts and the summary.

Plain, kind Japanese for members who are new to smartphones.  This is care,
not 監視: the wording asks, thanks and reassures.
"""

from __future__ import annotations

from domain import postback as codec
from domain.kinds import AnswerKind, RoundKind
from domain.rounds import Tally
from messages.flex import RED, bubble, button, names, postback, shown, text, utf16_len
from messages.flex import TEXT_LIMIT as _TEXT_LIMIT
from messages.i18n import _

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


def answer_thanks(name: str) -> list[dict]:
    return [text(_("{name}さん、ありがとうございます。確認しました。").format(name=shown(name)))]


def help_on_the_way(name: str, kind: str) -> list[dict]:
    """What happens next, for the member who asked for help.  It promises
    only what the bot does (leaders are told), never that someone will come."""
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


def help_alert(name: str, leader_names: list[str], kind: str) -> list[dict]:
    to = names(leader_names) if leader_names else _("リーダーの方")
    return [
        text(
            drill_label(kind)
            + _("{to}へ：{name}さんが「助けが必要」を押しました。お声がけか、ご連絡をお願いします。").format(
                to=to, name=shown(name)
            )
        )
    ]


def round_closed() -> list[dict]:
    return [text(_("この確認は締め切られました。次の確認でOKを押してください。"))]


def summary(tally: Tally, kind: str = RoundKind.ROUTINE) -> list[dict]:
    """The one message after the delay: who has not answered, kindly."""
    label = drill_label(kind)
    if tally.everyone_answered:
        body = label + _("全員の無事が確認できました。ご協力ありがとうございます。")
    else:
        body = label + _("{names}の無事がまだ確認できていません。お声がけをお願いします。").format(
            names=names([m.name for m in tally.unanswered])
        )
        if tally.answered:
            body += "\n" + _("（{count}人の方は確認できました）").format(count=len(tally.answered))
    if tally.need_help:
        body += "\n" + _("助けが必要な方：") + names([m.name for m in tally.need_help])
    return [text(body)]


NOTICE_PREFIX = "【お知らせ】\n"


def notice(body: str) -> list[dict]:
    """A leader's /お知らせ, as the group reads it."""
    return [text(_(NOTICE_PREFIX) + body)]


def notice_room() -> int:
    """How long a leader's notice may be, in LINE's units."""
    return _TEXT_LIMIT - utf16_len(_(NOTICE_PREFIX))
