"""What the follow-up loop says: the 「○○さんを確認します」 buttons under a
summary, the claim and its outcome buttons, the outcome told back, the
reminder and the alerts that go to leaders one-to-one.

Members read these in the group; leaders also read them in their one-to-one
chat with the bot.  Kind, plain words: someone is going to the door, thank
you; never blame for silence.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain import postback as codec
from domain.followups import FollowUpView
from domain.kinds import FollowUpKind, FollowUpOutcome, FollowUpState, RoundKind
from messages.flex import ALT_TEXT_LIMIT, GREEN, RED, bubble, button, clip, names, postback, shown, text
from messages.i18n import N_, _

DRILL_LABEL = N_("【訓練】")
# A phone shows about eight big buttons without scrolling; a carousel holds
# twelve bubbles (LINE's limit), so one message offers 96 people.
BUTTONS_PER_BUBBLE = 8
BUBBLES_PER_CAROUSEL = 12
GREY = "#5B5B5B"

OUTCOME_LABELS = {
    FollowUpOutcome.SAFE: N_("無事でした"),
    FollowUpOutcome.UNREACHABLE: N_("連絡がつかない"),
    FollowUpOutcome.NEEDED_HELP: N_("助けが必要だった"),
    FollowUpOutcome.SELF_OK: N_("ご本人から連絡がありました"),
    FollowUpOutcome.SUPERSEDED: N_("新しい確認に引き継ぎました"),
    FollowUpOutcome.WITHDRAWN: N_("グループや名簿から外れました"),
}


def label_of(kind: str) -> str:
    return _(DRILL_LABEL) if kind == RoundKind.DRILL else ""


def person(view: FollowUpView) -> str:
    """「田中次郎さん」, or 「高橋ウメさん（LINEなし）」 for the 名簿."""
    if view.offline:
        return _("{name}さん（LINEなし）").format(name=view.name)
    return _("{name}さん").format(name=view.name)


def person_with_state(view: FollowUpView) -> str:
    """How a summary lists someone: with who is going, if anyone."""
    if view.state == FollowUpState.CLAIMED and view.claimed_by:
        return _("{person}（{by}さんが確認中）").format(person=person(view), by=view.claimed_by)
    if view.state == FollowUpState.ESCALATED:
        return _("{person}（連絡がつきません）").format(person=person(view))
    if view.state == FollowUpState.DONE and view.outcome in OUTCOME_LABELS:
        return _("{person}（{outcome}）").format(person=person(view), outcome=_(OUTCOME_LABELS[view.outcome]))
    return person(view)


def claim_label(view: FollowUpView) -> str:
    return _("{person}を確認します").format(person=person(view))


def _claim_button(view: FollowUpView, kind: str) -> dict:
    label = claim_label(view)
    color = RED if view.kind == FollowUpKind.HELP else GREEN
    return button(postback(label, codec.Claim(view.follow_up_id), label_of(kind) + label), color=color)


def claim_buttons(views: Sequence[FollowUpView], kind: str, max_messages: int = 3) -> list[dict]:
    """One button per person nobody has claimed yet, 8 to a bubble, 12
    bubbles to a carousel, at most ``max_messages`` messages.  Returns the
    messages and never more people than fit (the summary's text names
    everyone)."""
    open_views = [v for v in views if v.claimable]
    if not open_views:
        return []
    per_message = BUTTONS_PER_BUBBLE * BUBBLES_PER_CAROUSEL
    shown = open_views[: per_message * max_messages]
    messages = []
    for start in range(0, len(shown), per_message):
        chunk = shown[start : start + per_message]
        bubbles = []
        for offset in range(0, len(chunk), BUTTONS_PER_BUBBLE):
            first = start == 0 and offset == 0
            title = label_of(kind) + (_("確認に行ける方は押してください") if first else _("つづき"))
            lines = [_("押した方のお名前をお知らせします。")] if first else []
            buttons = [_claim_button(v, kind) for v in chunk[offset : offset + BUTTONS_PER_BUBBLE]]
            bubbles.append(bubble(title, lines, buttons, "")["contents"])
        alt = clip(
            label_of(kind) + _("確認に行ける方は押してください：") + names([v.name for v in chunk]),
            ALT_TEXT_LIMIT,
        )
        if len(bubbles) == 1:
            messages.append({"type": "flex", "altText": alt, "contents": bubbles[0]})
        else:
            messages.append(
                {"type": "flex", "altText": alt, "contents": {"type": "carousel", "contents": bubbles}}
            )
    return messages


def not_all_buttons(shown: int) -> str:
    return _("（ボタンは{count}人分です。ほかの方も、お声がけをお願いします）").format(count=shown)


def outcome_buttons(view: FollowUpView, kind: str, choices=None) -> list[dict]:
    """The three outcomes (or ``choices``), as big buttons."""
    label = label_of(kind)
    choices = choices or (FollowUpOutcome.SAFE, FollowUpOutcome.UNREACHABLE, FollowUpOutcome.NEEDED_HELP)
    said = {
        FollowUpOutcome.SAFE: _("{person}は無事でした"),
        FollowUpOutcome.UNREACHABLE: _("{person}に連絡がつきません"),
        FollowUpOutcome.NEEDED_HELP: _("{person}は助けが必要でした"),
    }
    colors = {
        FollowUpOutcome.SAFE: GREEN,
        FollowUpOutcome.UNREACHABLE: GREY,
        FollowUpOutcome.NEEDED_HELP: RED,
    }
    return [
        button(
            postback(
                _(OUTCOME_LABELS[outcome]),
                codec.RecordOutcome(view.follow_up_id, outcome),
                label + said[outcome].format(person=person(view)),
            ),
            color=colors[outcome],
        )
        for outcome in choices
    ]


def claimed(claimer: str, view: FollowUpView, kind: str) -> list[dict]:
    """「佐藤花子さんが鈴木一郎さんを確認します」, with the outcome buttons."""
    title = label_of(kind) + _("{claimer}さんが{person}を確認します").format(
        claimer=claimer, person=person(view)
    )
    return [
        bubble(
            title,
            [_("ありがとうございます。確かめたら、下のボタンで知らせてください。")],
            outcome_buttons(view, kind),
            title,
        )
    ]


def taken(view: FollowUpView, claimer: str | None) -> list[dict]:
    if claimer:
        body = _("{person}は、{claimer}さんが確認に向かっています。ありがとうございます。").format(
            person=person(view), claimer=claimer
        )
    else:
        body = _("{person}は、ほかの方が確認に向かっています。ありがとうございます。").format(
            person=person(view)
        )
    return [text(body)]


def not_yours(view: FollowUpView, claimer: str | None) -> list[dict]:
    who = _("{claimer}さん").format(claimer=claimer) if claimer else _("確認に向かった方")
    return [
        text(
            _("{person}は{who}が確認しています。結果は{who}か、リーダーの方が押してください。").format(
                person=person(view), who=who
            )
        )
    ]


def already(view: FollowUpView, by: str | None) -> list[dict]:
    outcome = _(OUTCOME_LABELS[view.outcome]) if view.outcome in OUTCOME_LABELS else ""
    if by:
        body = _("{person}の確認は、{by}さんが記録済みです（{outcome}）。").format(
            person=person(view), by=by, outcome=outcome
        )
    else:
        body = _("{person}の確認は記録済みです（{outcome}）。").format(person=person(view), outcome=outcome)
    return [text(body)]


def outcome_told(
    view: FollowUpView, outcome: FollowUpOutcome, by: str, kind: str, leaders: list[str]
) -> list[dict]:
    """The outcome, told once to whoever saw the names."""
    label = label_of(kind)
    to = names(leaders) if leaders else _("リーダーの方")
    if outcome == FollowUpOutcome.SAFE:
        body = _("{by}さんが{person}の無事を確認しました。ありがとうございました。").format(
            by=by, person=person(view)
        )
    elif outcome == FollowUpOutcome.UNREACHABLE:
        body = _("{by}さんより：{person}に連絡がつきませんでした。{to}にお知らせしました。").format(
            by=by, person=person(view), to=to
        )
    else:
        body = _("{by}さんより：{person}は助けが必要でした。{to}へ：ご連絡やお手伝いをお願いします。").format(
            by=by, person=person(view), to=to
        )
        if kind != RoundKind.DRILL:
            body += _("急ぐときは119番に電話してください。")
    return [text(label + body)]


def to_leaders(view: FollowUpView, outcome: FollowUpOutcome, by: str, when: str, kind: str) -> list[dict]:
    """For each leader one-to-one, at once: 連絡がつかない (with the buttons to
    record what comes next) or 助けが必要だった."""
    label = label_of(kind)
    if outcome == FollowUpOutcome.UNREACHABLE:
        title = label + _("{person}に連絡がつきません").format(person=person(view))
        lines = [
            _("{by}さんが確かめに行きましたが、連絡がつきませんでした（{when}）。").format(by=by, when=when),
            _("ご家族や民生委員の方への連絡をご検討ください。わかったら、下のボタンで知らせてください。"),
        ]
        choices = (FollowUpOutcome.SAFE, FollowUpOutcome.NEEDED_HELP)
        return [bubble(title, lines, outcome_buttons(view, kind, choices), title)]
    return [
        text(
            label
            + _(
                "{by}さんより：{person}は助けが必要でした（{when}）。ご連絡やお手伝いをお願いします。"
            ).format(by=by, person=person(view), when=when)
        )
    ]


def own_ok(name: str, claimers: list[str], kind: str) -> list[dict]:
    """A late OK from the person themselves ended their follow-up."""
    body = label_of(kind) + _(
        "{name}さんご本人から連絡がありました。{name}さんの確認はこれで終わりです。"
    ).format(name=shown(name))
    if claimers:
        body += _("{claimers}、ありがとうございました。").format(claimers=names(claimers))
    return [text(body)]


def help_kept(name: str) -> list[dict]:
    """An OK from someone who asked for help: heard, but not taken as the end."""
    return [
        text(
            _(
                "{name}さん、OKを受け取りました。「助けが必要」とうかがっていたので、"
                "念のため、どなたかが確かめるまでそのままにしています。"
            ).format(name=shown(name))
        )
    ]


def reminder(views: Sequence[FollowUpView], kind: str, leaders: list[str] | None) -> list[dict]:
    """Follow-ups nobody has claimed, raised once more.  ``leaders``: the
    names to address in the group (None: it goes to each leader one-to-one)."""
    people = _("、").join(person(v) for v in views)
    body = label_of(kind) + _("【確認のお願い】")
    if leaders is not None:
        body += _("{to}へ：").format(to=names(leaders) if leaders else _("リーダーの方"))
    body += _("まだどなたも確認に向かっていない方がいます：{people}").format(people=people)
    body += "\n" + _("お声がけできる方を決めて、ボタンを押してください。")
    return [text(clip(body, 4900)), *claim_buttons(views, kind, max_messages=3)]


def unwell(name: str) -> list[dict]:
    """A short message saying they are not fine: asked, never counted."""
    return [
        text(
            _(
                "{name}さん、大丈夫ですか。助けが必要なときは「助けて」と送ってください。リーダーの方にお伝えします。"
            ).format(name=shown(name))
        )
    ]


def not_in_group() -> list[dict]:
    """A button from a group the tapper is no longer registered in."""
    return [text(_("このグループに参加していないため、記録できませんでした。"))]


def befriend_how() -> str:
    return _(
        "友だち追加のしかた：トーク画面の右上「≡」→「メンバー」→「つながり」を押して、「追加」を押してください。"
    )
