"""What the watched person reads in their one-to-one chat with the bot: the
greeting, choosing a time, the check and its resend, thanks, invitations for
contacts, absence, status, and deleting everything.

Most people who live alone are not elderly, but some are; the wording is
plain and kind, and it is care, never 監視.  Times arrive already formatted
in the reader's zone (messages.flex.format_local).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from domain import postback as codec
from domain.watch import EXAMPLES, MAX_CONTACTS, PRESET_TIMES
from messages.flex import RED, bubble, button, names, postback, text
from messages.i18n import N_, _
from messages.one_to_one import groups_only

# name -> (how it is typed, one line for /ヘルプ).  N_: translated when shown.
USAGE: dict[str, tuple[str, str]] = {
    "watch": (N_("/見守り 毎日 9:00"), N_("確認の時間を決めます（2日ごと・毎週月水金 などもできます）")),
    "watch-show": (N_("/見守り"), N_("いまの設定を見ます（止めるときは /見守り 停止、再開は /見守り 再開）")),
    "check": (N_("/確認"), N_("ためしに確認を受け取ります")),
    "contacts": (N_("/連絡先"), N_("連絡先の方へのお願いを作ります・連絡先を見ます")),
    "contacts-end": (N_("/連絡先 解除"), N_("連絡先のつながりをやめます")),
    "away": (N_("/お休み 12月5日まで"), N_("旅行や入院のあいだ、確認をお休みします（/お休み 3日 も）")),
    "name": (N_("/名前 山田花子"), N_("連絡先の方に伝わるお名前を決めます")),
    "status": (N_("/状況"), N_("いまの様子を見ます")),
    "organisation": (
        N_("/団体 連携コード"),
        N_("見守りを市役所・社会福祉協議会などの団体とつなぎます（/団体 解除 でやめます）"),
    ),
    "age": (N_("/年代 70代"), N_("年代を登録します（任意。団体の統計に人数だけ使います。/年代 消す）")),
    "sex": (N_("/性別 女性"), N_("性別を登録します（任意。/性別 消す）")),
    "quit": (N_("/退会"), N_("見守りをやめて、記録をすべて消します")),
    "language": (N_("/言語 English"), N_("ことばを選びます（日本語・やさしい日本語・English）")),
}


UNNAMED = N_("ご利用者")


def person_name(name: str | None) -> str:
    """The name a message uses for someone whose name we do not know."""
    return name or _(UNNAMED)


def day(value: date) -> str:
    """「12月5日」"""
    return _("{month}月{day}日").format(month=value.month, day=value.day)


def day_after(value: date) -> str:
    return day(value + timedelta(days=1))


def _usage_lines(keys) -> list[str]:
    return [f"{_(USAGE[k][0])}\n　{_(USAGE[k][1])}" for k in keys]


def ok_button(check_id: int) -> dict:
    return button(postback(_("OK"), codec.WatchOk(check_id), _("OK")))


def start_button() -> dict:
    return button(postback(_("見守りをはじめる"), codec.StartWatch(), _("見守りをはじめる")))


# -- greeting and choosing a time ------------------------------------------------
def greeting() -> list[dict]:
    """Added as a friend: what 見守り is, and how to start."""
    return [
        bubble(
            _("こんにちは。「つながり」です"),
            [
                _("決まった時間に「お変わりありませんか？」とお送りします。OKを押すだけです。"),
                _(
                    "お返事がないときは、あなたがお願いした方（ご家族、ご友人、地域の方など）に"
                    "お知らせします。"
                ),
                _("住所や電話番号は必要ありません。料金もかかりません。"),
            ],
            [start_button()],
            _("つながりです。見守りをはじめるには「見守りをはじめる」を押してください。"),
        ),
        text(
            _("見守りの連絡先をお願いされた方は、届いた6けたの番号をこのトークに送ってください。")
            + "\n\n"
            + groups_only()[0]["text"]
        ),
    ]


def welcome_back(name: str) -> list[dict]:
    """Someone whose watch stopped when they blocked the bot adds it again."""
    return [
        bubble(
            _("おかえりなさい、{name}さん").format(name=name),
            [
                _("見守りの確認は止まっています。"),
                _("再開するときは、下のボタンを押してください。"),
            ],
            [button(postback(_("見守りを再開する"), codec.ResumeWatch(), _("見守りを再開する")))],
            _("見守りを再開するときは「見守りを再開する」を押してください。"),
        )
    ]


def choose_time() -> list[dict]:
    """The times offered as buttons, and how to write any other."""
    buttons = [
        button(
            postback(
                _("毎日 {hour}:{minute:02d}").format(hour=h, minute=m),
                codec.ChooseWatchTime(h, m),
                _("毎日 {hour}:{minute:02d} にします").format(hour=h, minute=m),
            ),
            style="secondary",
        )
        for h, m in PRESET_TIMES
    ]
    return [
        bubble(
            _("何時に確認しましょうか？"),
            [
                _("毎日その時間に「お変わりありませんか？」とお送りします。"),
                _("ほかの時間や、2日ごと・曜日を決めるときは、次のように送ってください。"),
                "\n".join(EXAMPLES),
            ],
            buttons,
            _("確認の時間を選んでください。例：/見守り 毎日 9:00"),
        )
    ]


def schedule_set(schedule: str, next_at: str, contacts: int) -> list[dict]:
    body = _("{schedule} に確認をお送りします。次は {next_at} です。").format(
        schedule=schedule, next_at=next_at
    )
    body += "\n" + _("ためしに受け取るときは「/確認」と送ってください。")
    if contacts == 0:
        body += "\n\n" + _(
            "まだ連絡先の方がいません。お返事がないときにお知らせする方をお願いするには「/連絡先」と送ってください。"
        )
    return [text(body)]


def schedule_unknown() -> list[dict]:
    return [text(_("時間がわかりませんでした。次のように送ってください。") + "\n" + "\n".join(EXAMPLES))]


def settings(lines: list[str]) -> list[dict]:
    return [text("\n".join([_("【見守りの設定】"), *lines]))]


def setting_schedule(schedule: str, state_label: str) -> str:
    return _("確認：{schedule}（{state}）").format(schedule=schedule, state=state_label)


STATE_LABELS = {
    "active": N_("見守り中"),
    "paused": N_("停止中"),
    "stopped": N_("止まっています"),
}


def state_label(state: str) -> str:
    return _(STATE_LABELS[state])


def setting_next(next_at: str) -> str:
    return _("次の確認：{next_at}").format(next_at=next_at)


def setting_away(until: str) -> str:
    return _("お休み：{until}まで").format(until=until)


def setting_contacts(contact_names: list[str]) -> str:
    if not contact_names:
        return _("連絡先：まだいません（/連絡先 でお願いできます）")
    return _("連絡先：{count}人（{names}）").format(count=len(contact_names), names=names(contact_names))


def setting_last_ok(last_ok: str | None) -> str:
    return _("最後のOK：{at}").format(at=last_ok) if last_ok else _("最後のOK：まだありません")


def setting_messages(count: int) -> str:
    return _("今月この見守りで送ったメッセージ：{count}通").format(count=count)


def setting_pause_hint(paused: bool) -> str:
    return _("再開するときは「/見守り 再開」") if paused else _("止めるときは「/見守り 停止」")


def paused() -> list[dict]:
    return [text(_("見守りの確認を止めました。再開するときは「/見守り 再開」と送ってください。"))]


def already_paused() -> list[dict]:
    return [text(_("見守りの確認はいま止まっています。再開するときは「/見守り 再開」と送ってください。"))]


def resumed(next_at: str) -> list[dict]:
    return [text(_("見守りの確認を再開しました。次は {next_at} です。").format(next_at=next_at))]


def not_paused(next_at: str) -> list[dict]:
    return [text(_("見守りの確認は続いています。次は {next_at} です。").format(next_at=next_at))]


def no_schedule_yet() -> list[dict]:
    return choose_time()


# -- the check ------------------------------------------------------------------
def check(check_id: int, name: str) -> list[dict]:
    """The check at the person's time: one big OK button."""
    return [
        bubble(
            _("{name}さん、お変わりありませんか？").format(name=name),
            [_("いつもの見守りの確認です。お変わりなければ、OKを押してください。")],
            [ok_button(check_id)],
            _("つながりの見守りです。お変わりなければOKを押してください。"),
        )
    ]


def trial_check(check_id: int, name: str) -> list[dict]:
    """/確認: the same check, labelled as a try."""
    return [
        bubble(
            _("【おためし】{name}さん、お変わりありませんか？").format(name=name),
            [
                _("決まった時間に、このような確認が届きます。"),
                _("OKを押してみてください。おためしなので、連絡先の方にはお知らせしません。"),
            ],
            [ok_button(check_id)],
            _("【おためし】つながりの見守りです。OKを押してみてください。"),
        )
    ]


def resend(check_id: int, name: str, escalate_at: str | None) -> list[dict]:
    """The same check once more, worded differently: no answer yet."""
    lines = [_("先ほどの確認に、まだOKがありません。お変わりなければ、OKを押してください。")]
    if escalate_at:
        lines.append(_("{at}ごろまでにOKがないときは、連絡先の方にお知らせします。").format(at=escalate_at))
    return [
        bubble(
            _("{name}さん、もう一度お聞きします").format(name=name),
            lines,
            [ok_button(check_id)],
            _("つながりの見守りです。もう一度お聞きします。OKを押してください。"),
        )
    ]


def thanks(name: str) -> list[dict]:
    return [text(_("{name}さん、ありがとうございます。確認しました。").format(name=name))]


def thanks_late(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さん、ありがとうございます。ご無事でよかったです。"
                "連絡先の方にも、OKがあったことをお知らせしました。"
            ).format(name=name)
        )
    ]


def thanks_trial(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さん、ありがとうございます。決まった時間の確認にも、このようにOKを押してください。"
            ).format(name=name)
        )
    ]


def thanks_unasked(name: str) -> list[dict]:
    """An OK with no check waiting: heard, and nothing else to do."""
    return [
        text(_("{name}さん、ありがとうございます。いまお答えいただく確認はありません。").format(name=name))
    ]


def hint() -> list[dict]:
    """Anything else typed in the chat: where to find the commands."""
    return [text(_("使い方は「/ヘルプ」と送ると見られます。"))]


def help_text() -> list[dict]:
    lines = [_("【見守りの使い方】"), _("確認が届いたら、OKを押すだけです。"), ""]
    lines += _usage_lines(USAGE)
    return [text("\n".join(lines))]


# -- contacts, from the watched person's side --------------------------------------
def friend_link(basic_id: str) -> str:
    """The link that adds the bot as a friend (LINE's 友だち追加 URL)."""
    return "https://line.me/R/ti/p/" + quote(basic_id, safe="")


def contacts_overview(contact_names: list[str], watching: list[str], inviting: bool) -> list[dict]:
    """/連絡先: who the person's contacts are (and whom they are a contact
    for); with an invitation to forward when there is room for another."""
    if contact_names:
        lines = [
            _("あなたの連絡先：{names}（{count}人）").format(
                names=names(contact_names), count=len(contact_names)
            )
        ]
    else:
        lines = [_("まだ連絡先の方がいません。")]
    if watching:
        lines.append(_("あなたが連絡先になっている方：{names}").format(names=names(watching)))
    if inviting:
        lines += [
            "",
            _(
                "連絡先になってほしい方に、次のメッセージを転送してください"
                "（メッセージを長押しして「転送」を選びます）。"
            ),
            _("その方が番号を送って「連絡先になる」を押すと、あなたにもお知らせが届きます。"),
        ]
    elif len(contact_names) >= MAX_CONTACTS:
        lines.append(_("連絡先は{limit}人までです。").format(limit=MAX_CONTACTS))
    lines.append(_("やめるときは「/連絡先 解除」と送ってください。"))
    return [text("\n".join(lines))]


def invitation(name: str, code: str, link: str | None, expires_at: str) -> list[dict]:
    """The message the person forwards: it speaks to the contact-to-be."""
    if link:
        step1 = _("1. このリンクから「つながり」を友だち追加してください\n{link}").format(link=link)
    else:
        step1 = _("1. 「つながり」を友だち追加してください（方法は{name}さんにお聞きください）").format(
            name=name
        )
    body = "\n".join(
        [
            _("{name}さんから、見守りの連絡先のお願いです。").format(name=name),
            "",
            _(
                "「つながり」は、{name}さんに決まった時間に確認をお送りし、"
                "お返事がないときに連絡先の方へお知らせするLINEの見守りです。"
            ).format(name=name),
            "",
            _("引き受けてくださる場合は："),
            step1,
            _("2. トークに番号 {code} を送ってください").format(code=code),
            _("（{expires_at}まで有効・1回かぎり）").format(expires_at=expires_at),
        ]
    )
    return [text(body)]


def contact_joined(contact: str, count: int) -> list[dict]:
    return [
        text(
            _("{contact}さんが、あなたの見守りの連絡先になってくださいました（連絡先 {count}人）。").format(
                contact=contact, count=count
            )
        )
    ]


def contact_left(contact: str) -> list[dict]:
    """A contact ended the link (or left LINE's friend list, or the service)."""
    return [
        text(
            _(
                "{contact}さんは、あなたの見守りの連絡先ではなくなりました。"
                "ほかの方にお願いするときは「/連絡先」と送ってください。"
            ).format(contact=contact)
        )
    ]


def end_choices(choices: list[tuple[str, codec.EndContact]]) -> list[dict]:
    """/連絡先 解除: one button per link the sender is part of."""
    return [
        bubble(
            _("どのつながりをやめますか？"),
            [_("やめると、相手の方にもお知らせします。")],
            [button(postback(label, action), style="secondary") for label, action in choices],
            _("やめるつながりを選んでください。"),
        )
    ]


def end_label_contact(contact: str) -> str:
    return _("{name}さん（あなたの連絡先）").format(name=contact)


def end_label_watching(person: str) -> str:
    return _("{name}さんの連絡先をやめる").format(name=person)


def nothing_to_end() -> list[dict]:
    return [text(_("やめられる連絡先のつながりはありません。"))]


def link_ended(other: str) -> list[dict]:
    return [
        text(
            _("{name}さんとの見守りのつながりをやめました。相手の方にもお知らせしました。").format(name=other)
        )
    ]


def link_already_gone() -> list[dict]:
    return [text(_("このつながりは、すでに終わっています。"))]


# -- absence ----------------------------------------------------------------------
def away_set(until: str, back: str, shared: bool) -> list[dict]:
    body = _(
        "{until}までお休みにしました。そのあいだは確認をお送りしません。{back}から、また確認をお送りします。"
    ).format(until=until, back=back)
    if shared:
        body += "\n" + _("連絡先の方にも、お休みのことをお知らせしました。")
    else:
        body += "\n" + _(
            "連絡先の方にはお知らせしていません。伝えたいときは「/お休み 3日 連絡先にも知らせる」のように送ってください。"
        )
    body += "\n" + _("早く戻ったときは「/お休み おわり」と送ってください。")
    return [text(body)]


def away_ended() -> list[dict]:
    return [text(_("お休みを終わりにしました。次の確認から、またお送りします。"))]


def not_away() -> list[dict]:
    return [text(_("いまはお休みになっていません。"))]


def away_usage(current_until: str | None) -> list[dict]:
    lines = []
    if current_until:
        lines.append(_("いまは{until}までお休みです。").format(until=current_until))
    lines += [
        _("お休みするときは、次のように送ってください。"),
        _("/お休み 12月5日まで"),
        _("/お休み 3日"),
        _("（早く戻ったときは /お休み おわり）"),
    ]
    return [text("\n".join(lines))]


def away_unknown(reason: str) -> list[dict]:
    return [text(_("{reason}。例：/お休み 12月5日まで、/お休み 3日").format(reason=reason))]


# -- status, name, help ---------------------------------------------------------------
def status(lines: list[str]) -> list[dict]:
    return [text("\n".join([_("【見守りの状況】"), *lines]))]


def status_not_started() -> str:
    return _("見守りはまだはじまっていません。「/見守り 毎日 9:00」のように送るとはじまります。")


def status_watching(entries: list[str]) -> str:
    return "\n".join([_("あなたが連絡先になっている方："), *entries])


def watching_entry(name: str, state_text: str, last_ok: str | None) -> str:
    last = _("最後のOK {at}").format(at=last_ok) if last_ok else _("OKはまだありません")
    return _("・{name}さん（{state}、{last}）").format(name=name, state=state_text, last=last)


def name_set(name: str) -> list[dict]:
    return [text(_("連絡先の方には「{name}さん」とお伝えします。").format(name=name))]


# -- leaving ----------------------------------------------------------------------------
def erase_confirm() -> list[dict]:
    return [
        bubble(
            _("見守りの記録をすべて消しますか？"),
            [
                _(
                    "見守りの設定、連絡先のつながり、お名前を消します。これまでのOKの記録は、だれのものかわからない形にします。"
                ),
                _(
                    "連絡先の方には、見守りが終わったことをお知らせします。グループに参加している場合は、その参加もやめます。"
                ),
                _("消したものは元に戻せません。"),
            ],
            [button(postback(_("すべて消す"), codec.ConfirmErase(), _("すべて消します")), color=RED)],
            _("見守りの記録をすべて消すときは「すべて消す」を押してください。"),
        )
    ]


def erased() -> list[dict]:
    return [
        text(
            _(
                "見守りの記録をすべて消しました。これまでありがとうございました。"
                "またいつでも「/見守り 毎日 9:00」のように送ると、はじめられます。"
            )
        )
    ]


def nothing_to_erase() -> list[dict]:
    return [text(_("消す記録はありません。"))]
