"""What a 見守り contact reads: becoming one, being told that someone did
not answer, who is checking, what was found, and when it is over.

A contact may be in a group too, or a contact for several people, so every
message names the person it is about.  A contact learns only that person's
name, whether their 見守り is running, and the outcome of checks about them:
never their groups, their absence (unless the person chose to say), or who
their other contacts are — except who has taken a check, which the others
need to know.
"""

from __future__ import annotations

from domain import postback as codec
from domain.kinds import EscalationOutcome
from domain.watch import MAX_CONTACTS, WRONG_CODE_WINDOW
from messages.flex import GREEN, RED, bubble, button, postback, text
from messages.i18n import N_, _

CLAIM_LABEL = N_("わたしが確認します")
OUTCOME_LABELS = {
    EscalationOutcome.SAFE: N_("無事でした"),
    EscalationOutcome.UNREACHABLE: N_("連絡がつかない"),
    EscalationOutcome.EMERGENCY: N_("救急・警察に連絡した"),
}


def claim_button(escalation_id: int) -> dict:
    return button(postback(_(CLAIM_LABEL), codec.ClaimEscalation(escalation_id), _(CLAIM_LABEL)))


def outcome_buttons(escalation_id: int) -> list[dict]:
    return [
        button(
            postback(_(label), codec.ReportOutcome(escalation_id, outcome), _(label)),
            color=RED if outcome is EscalationOutcome.EMERGENCY else GREEN,
            style="primary" if outcome is not EscalationOutcome.UNREACHABLE else "secondary",
        )
        for outcome, label in OUTCOME_LABELS.items()
    ]


# -- becoming a contact ----------------------------------------------------------
def offer(name: str, invitation_id: int, code: str) -> list[dict]:
    """A valid code: whose contact they would become, and the button."""
    return [
        bubble(
            _("{name}さんの見守りの連絡先になりますか？").format(name=name),
            [
                _("{name}さんが決まった時間の確認にお返事しないとき、このトークでお知らせします。").format(
                    name=name
                ),
                _("お知らせが届いたら、お電話や訪問で様子を確かめていただけるとたすかります。"),
                _("お伝えするのは、{name}さんのお名前と見守りの様子だけです。いつでもやめられます。").format(
                    name=name
                ),
            ],
            [
                button(
                    postback(
                        _("連絡先になる"), codec.BecomeContact(invitation_id, code), _("連絡先になります")
                    )
                )
            ],
            _("{name}さんの見守りの連絡先になるときは「連絡先になる」を押してください。").format(name=name),
        )
    ]


def linked(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さんの見守りの連絡先になりました。ありがとうございます。"
                "お返事がないときは、このトークでお知らせします。"
                "やめるときは「/連絡先 解除」と送ってください。"
            ).format(name=name)
        )
    ]


def code_unusable() -> list[dict]:
    return [
        text(
            _(
                "この番号は使えません。番号は72時間有効で、1回しか使えません。"
                "お願いした方に、新しい番号をもらってください。"
            )
        )
    ]


def code_locked() -> list[dict]:
    hours = int(WRONG_CODE_WINDOW.total_seconds() // 3600)
    return [
        text(
            _(
                "番号のまちがいが続いたため、しばらく受け付けられません。{hours}時間ほどたってから、もう一度送ってください。"
            ).format(hours=hours)
        )
    ]


def own_code() -> list[dict]:
    return [
        text(
            _(
                "これはあなたの番号です。連絡先になってほしい方に、"
                "「/連絡先」で届いたメッセージを転送してください。"
            )
        )
    ]


def already_contact(name: str) -> list[dict]:
    return [text(_("あなたはすでに{name}さんの見守りの連絡先です。").format(name=name))]


def contacts_full(name: str) -> list[dict]:
    return [
        text(
            _("{name}さんの連絡先は、すでに{limit}人います。ありがとうございました。").format(
                name=name, limit=MAX_CONTACTS
            )
        )
    ]


# -- when a check goes unanswered -------------------------------------------------------
def escalation(
    name: str, escalation_id: int, checked_at: str, last_ok: str | None, reminder: bool = False
) -> list[dict]:
    """Told by push to every contact: who, which check, when they last
    answered, what to do, and the button to take it."""
    title = _("{name}さんからお返事がありません").format(name=name)
    if reminder:
        title = _("【もう一度お知らせします】") + title
    last = (
        _("最後にOKがあったのは {at} です。").format(at=last_ok)
        if last_ok
        else _("{name}さんから、まだ一度もOKをいただいていません。").format(name=name)
    )
    lines = [
        _("{at}の見守りの確認に、もう一度お送りしてもOKがありません。").format(at=checked_at),
        last,
    ]
    if reminder:
        lines.append(_("まだどなたも確認を引き受けていません。"))
    lines += [
        _("お電話や訪問で、様子を確かめていただけますか。"),
        _(
            "倒れている、呼びかけに応えないなど命にかかわるときは、すぐに119番へ。"
            "家に入れず中の様子がわからないときは、警察（110番）に安否の確認を頼めます。"
        ),
        _("確かめる方は「わたしが確認します」を押してください。ほかの連絡先の方にもお伝えします。"),
    ]
    return [bubble(title, lines, [claim_button(escalation_id)], title + " " + lines[0])]


def claim_won(name: str, escalation_id: int) -> list[dict]:
    """The contact who tapped first: what to press once they know."""
    return [
        bubble(
            _("{name}さんの確認をお願いします").format(name=name),
            [
                _("ありがとうございます。ほかの連絡先の方には、あなたが確認することをお伝えしました。"),
                _("様子がわかったら、下から選んでください。"),
            ],
            outcome_buttons(escalation_id),
            _("{name}さんの様子がわかったら、結果を選んでください。").format(name=name),
        )
    ]


def claim_taken(name: str, claimer: str) -> list[dict]:
    return [
        text(_("{name}さんの確認は、{claimer}さんが引き受けています。").format(name=name, claimer=claimer))
    ]


def claimed_notice(name: str, claimer: str) -> list[dict]:
    """The other contacts: someone has it."""
    return [
        text(
            _(
                "{name}さんの確認は、{claimer}さんが引き受けてくださいました。結果がわかったらお知らせします。"
            ).format(name=name, claimer=claimer)
        )
    ]


def claim_closed(name: str) -> list[dict]:
    return [text(_("{name}さんのこの確認は、すでに終わっています。ありがとうございます。").format(name=name))]


OUTCOME_NOTICES = {
    EscalationOutcome.SAFE: N_("{claimer}さんから：{name}さんは無事でした。ご協力ありがとうございました。"),
    EscalationOutcome.UNREACHABLE: N_(
        "{claimer}さんから：{name}さんに連絡がつきません。お心当たりがあれば、ご連絡や訪問をお願いします。"
        "命にかかわるおそれがあるときは、119番や警察（110番）に相談してください。"
    ),
    EscalationOutcome.EMERGENCY: N_("{claimer}さんから：{name}さんのことで、救急・警察に連絡しました。"),
}


def outcome_notice(name: str, claimer: str, outcome: EscalationOutcome) -> list[dict]:
    return [text(_(OUTCOME_NOTICES[outcome]).format(name=name, claimer=claimer))]


OUTCOME_THANKS = {
    EscalationOutcome.SAFE: N_(
        "ありがとうございます。{name}さんが無事だったことを、ほかの連絡先の方にもお伝えしました。"
    ),
    EscalationOutcome.UNREACHABLE: N_(
        "ありがとうございます。ほかの連絡先の方にもお伝えしました。"
        "命にかかわるおそれがあるときは、119番や警察（110番）に相談してください。"
        "様子がわかったら、もう一度ボタンで教えてください。"
    ),
    EscalationOutcome.EMERGENCY: N_(
        "ありがとうございます。ほかの連絡先の方にもお伝えしました。{name}さんのご無事をお祈りしています。"
    ),
}


def outcome_thanks(name: str, escalation_id: int, outcome: EscalationOutcome) -> list[dict]:
    body = _(OUTCOME_THANKS[outcome]).format(name=name)
    if outcome.is_final:
        return [text(body)]
    return [
        bubble(
            _("{name}さんの確認").format(name=name),
            [body],
            outcome_buttons(escalation_id),
            body,
        )
    ]


def not_claimer(name: str) -> list[dict]:
    return [text(_("{name}さんの確認の結果は、引き受けた方が選びます。").format(name=name))]


def not_a_contact() -> list[dict]:
    return [text(_("このお知らせの連絡先ではないため、受け付けられません。"))]


# -- the person answered, or the watch changed ------------------------------------------------
def all_clear(name: str, at: str) -> list[dict]:
    """A late OK: nobody worries longer than needed."""
    return [
        text(
            _("{name}さんから、{at}にOKがありました。ご無事です。ご心配をおかけしました。").format(
                name=name, at=at
            )
        )
    ]


def watch_stopped(name: str) -> list[dict]:
    """The person blocked the bot (unfollow): told once, kindly."""
    return [
        text(
            _(
                "{name}さんの見守りの確認が止まりました。"
                "{name}さんが「つながり」の友だち登録をやめたためです。"
                "ご心配なときは、ご本人に声をかけてみてください。"
            ).format(name=name)
        )
    ]


def watch_deleted(name: str) -> list[dict]:
    return [
        text(
            _(
                "{name}さんの見守りが終わりました。{name}さんが見守りをやめ、記録を消されたためです。"
                "これまでありがとうございました。"
            ).format(name=name)
        )
    ]


def watch_resumed(name: str) -> list[dict]:
    return [text(_("{name}さんの見守りの確認が再開しました。").format(name=name))]


def absence_shared(name: str, until: str) -> list[dict]:
    return [text(_("{name}さんから：{until}まで見守りの確認をお休みします。").format(name=name, until=until))]


def contact_ended(name: str) -> list[dict]:
    """The person ended the link (or the contact did: said from either side)."""
    return [
        text(
            _("{name}さんの見守りの連絡先のつながりが終わりました。ありがとうございました。").format(
                name=name
            )
        )
    ]
