"""What the bot answers to /団体 (linking a group or a 見守り to the
municipality or 社会福祉協議会 by its code, by consent), /設定 名前 団体にも |
団体に見せない, and the optional self-declared /年代 and /性別."""

from __future__ import annotations

from messages.flex import text
from messages.i18n import N_, _

# How each value reads (domain.demographics keys).  N_: translated when shown.
AGE_LABELS: dict[str, str] = {
    "10": N_("10代"),
    "20": N_("20代"),
    "30": N_("30代"),
    "40": N_("40代"),
    "50": N_("50代"),
    "60": N_("60代"),
    "70": N_("70代"),
    "80": N_("80代"),
    "90": N_("90代以上"),
}
SEX_LABELS: dict[str, str] = {
    "female": N_("女性"),
    "male": N_("男性"),
    "other": N_("その他"),
    "undisclosed": N_("答えない"),
}


def age_label(key: str) -> str:
    return _(AGE_LABELS[key])


def sex_label(key: str) -> str:
    return _(SEX_LABELS[key])


# -- /団体 in a group ---------------------------------------------------------------
def group_usage() -> list[dict]:
    return [
        text(
            _(
                "市役所や社会福祉協議会などの団体とこのグループをつなぐときは、"
                "団体の担当者から受け取った連携コードを続けて送ってください。\n"
                "例：/団体 ABCD2345\n"
                "つなぐと、団体の担当者は確認の人数（答えた方・助けが必要な方・まだの方）を見て、"
                "連絡がつかない方に電話などで手を貸せるようになります。\n"
                "やめるときは「/団体 解除」です。"
            )
        )
    ]


def group_status(org_name: str | None, names_shared: bool) -> list[dict]:
    if org_name is None:
        return [text(_("このグループは、まだどの団体ともつながっていません。")), *group_usage()]
    shared = (
        _("団体の担当者には、メンバーのお名前も見えています（やめるときは「/設定 名前 団体に見せない」）。")
        if names_shared
        else _("団体の担当者には人数だけが見えています（お名前は見えません）。")
    )
    return [
        text(
            _("このグループは「{org}」とつながっています。").format(org=org_name)
            + "\n"
            + shared
            + "\n"
            + _("つながりをやめるときは「/団体 解除」と送ってください。")
        )
    ]


def group_linked(org_name: str, previous: str | None) -> list[dict]:
    body = _("このグループを「{org}」とつなぎました。").format(org=org_name)
    if previous:
        body += "\n" + _("「{old}」とのつながりはやめました。").format(old=previous)
    body += "\n" + _(
        "団体の担当者は、確認の人数（答えた方・助けが必要な方・まだの方）を見て、"
        "助けが必要な方や連絡がつかない方に電話などで手を貸します。お名前は見えません。\n"
        "お名前も伝えてよいときは「/設定 名前 団体にも」と送ってください。\n"
        "やめるときは「/団体 解除」です。"
    )
    return [text(body)]


def group_already_linked(org_name: str) -> list[dict]:
    return [text(_("このグループはすでに「{org}」とつながっています。").format(org=org_name))]


def group_unlinked(org_name: str) -> list[dict]:
    return [
        text(
            _(
                "「{org}」とのつながりをやめました。団体の担当者には、これからの確認の様子は見えません"
                "（お名前の共有もやめました）。"
            ).format(org=org_name)
        )
    ]


def group_not_linked() -> list[dict]:
    return [text(_("このグループは、どの団体ともつながっていません。"))]


def code_wrong() -> list[dict]:
    return [
        text(
            _(
                "その連携コードの団体は見つかりませんでした。何も変えていません。\n"
                "団体の担当者に、コードをもう一度確かめてください（英字と数字の8文字です）。"
            )
        )
    ]


def code_locked() -> list[dict]:
    return [
        text(
            _(
                "違うコードが続いたため、しばらくコードを受け付けません。何も変えていません。"
                "時間をおいて、団体の担当者に確かめたコードを送ってください。"
            )
        )
    ]


# -- /設定 名前 団体にも | 団体に見せない ----------------------------------------------------
def names_shared_set(org_name: str | None) -> list[dict]:
    if org_name is None:
        return [
            text(
                _(
                    "このグループは、まだどの団体ともつながっていません。お名前を伝えてよいことは覚えておき、"
                    "「/団体 連携コード」でつないだ団体の担当者にだけお名前が見えるようにします。"
                )
            )
        ]
    return [
        text(
            _(
                "「{org}」の担当者に、メンバーのお名前も見えるようにしました。"
                "助けが必要な方や連絡がつかない方に、担当者がお名前で連絡できます。\n"
                "やめるときは「/設定 名前 団体に見せない」です。"
            ).format(org=org_name)
        )
    ]


def names_hidden_set() -> list[dict]:
    return [text(_("団体の担当者には、お名前を見せないようにしました（人数だけが見えます）。"))]


# -- /団体 in the one-to-one chat (見守り) ----------------------------------------------
def watch_usage() -> list[dict]:
    return [
        text(
            _(
                "見守りを市役所や社会福祉協議会などの団体とつなぐときは、団体から受け取った連携コードを続けて送ってください。\n"
                "例：/団体 ABCD2345\n"
                "つなぐと、確認に答えがなく連絡先の方もだれも確認できないとき、団体の担当者があなたのお名前を見て、"
                "電話などで確認します。やめるときは「/団体 解除」です。"
            )
        )
    ]


def watch_status(org_name: str | None) -> list[dict]:
    if org_name is None:
        return [text(_("あなたの見守りは、まだどの団体ともつながっていません。")), *watch_usage()]
    return [
        text(
            _(
                "あなたの見守りは「{org}」とつながっています。連絡先の方がだれも確認できないとき、"
                "担当者がお名前を見て連絡します。やめるときは「/団体 解除」と送ってください。"
            ).format(org=org_name)
        )
    ]


def watch_linked(org_name: str, previous: str | None) -> list[dict]:
    body = _("あなたの見守りを「{org}」とつなぎました。").format(org=org_name)
    if previous:
        body += "\n" + _("「{old}」とのつながりはやめました。").format(old=previous)
    body += "\n" + _(
        "確認に答えがなく、連絡先の方もだれも確認できないとき、団体の担当者があなたのお名前を見て、"
        "電話などで確認します。やめるときは「/団体 解除」です。"
    )
    return [text(body)]


def watch_already_linked(org_name: str) -> list[dict]:
    return [text(_("あなたの見守りはすでに「{org}」とつながっています。").format(org=org_name))]


def watch_unlinked(org_name: str) -> list[dict]:
    return [
        text(
            _(
                "「{org}」とのつながりをやめました。団体の担当者には、あなたのお名前は見えなくなります。"
            ).format(org=org_name)
        )
    ]


def watch_not_linked() -> list[dict]:
    return [text(_("あなたの見守りは、どの団体ともつながっていません。"))]


# -- /年代, /性別 --------------------------------------------------------------------
def age_usage(current: str | None) -> list[dict]:
    body = _(
        "年代は、答えたいときだけ登録できます（団体の統計に人数として使います。お名前と一緒に見せることはありません）。\n"
        "例：/年代 70代（10代〜90代以上）\n"
        "消すときは「/年代 消す」です。"
    )
    if current:
        body = _("いまの登録：{label}").format(label=age_label(current)) + "\n" + body
    return [text(body)]


def age_set(key: str) -> list[dict]:
    return [
        text(
            _("年代を「{label}」で登録しました。消すときは「/年代 消す」と送ってください。").format(
                label=age_label(key)
            )
        )
    ]


def declared_in_group() -> list[dict]:
    """/年代 or /性別 typed in a group: not repeated there (the group reads
    the reply), and the one-to-one chat offered for next time."""
    return [
        text(
            _(
                "登録しました。グループのみなさんにも見えるため、ここでは内容をくり返しません。"
                "次からは、つながりとの1対1のトークで送ることもできます。消すときは「/年代 消す」「/性別 消す」です。"
            )
        )
    ]


def age_removed(had: bool) -> list[dict]:
    if not had:
        return [text(_("年代は登録されていません。"))]
    return [text(_("年代の登録を消しました。"))]


def sex_usage(current: str | None) -> list[dict]:
    body = _(
        "性別は、答えたいときだけ登録できます（団体の統計に人数として使います。お名前と一緒に見せることはありません）。\n"
        "例：/性別 女性（女性・男性・その他・答えない）\n"
        "消すときは「/性別 消す」です。"
    )
    if current:
        body = _("いまの登録：{label}").format(label=sex_label(current)) + "\n" + body
    return [text(body)]


def sex_set(key: str) -> list[dict]:
    return [
        text(
            _("性別を「{label}」で登録しました。消すときは「/性別 消す」と送ってください。").format(
                label=sex_label(key)
            )
        )
    ]


def sex_removed(had: bool) -> list[dict]:
    if not had:
        return [text(_("性別は登録されていません。"))]
    return [text(_("性別の登録を消しました。"))]


# -- what an operator found (services.console_queue) ------------------------------------
_FOLLOW_UP_OUTCOMES = {
    "reached": N_("{org}の担当者が、確認が取れていなかった方と電話でお話ししました。"),
    "visited": N_("{org}の担当者が、確認が取れていなかった方のところへ伺いました。"),
    "emergency": N_("{org}の担当者が、確認が取れていなかった方のために救急・警察へ連絡しました。"),
    "unreached": N_(
        "{org}の担当者が、確認が取れていなかった方に連絡しましたが、つながりませんでした。"
        "お近くの方は、様子を見に行っていただけると助かります。"
    ),
}
_WATCH_OUTCOMES = {
    "reached": N_("{org}の担当者が、{name}さんと電話でお話ししました。"),
    "visited": N_("{org}の担当者が、{name}さんのところへ伺いました。"),
    "emergency": N_("{org}の担当者が、{name}さんのために救急・警察へ連絡しました。"),
    "unreached": N_(
        "{org}の担当者が、{name}さんに連絡しましたが、つながりませんでした。"
        "様子を見に行ける方は、お願いできると助かります。"
    ),
}


def follow_up_outcome(org_name: str, outcome: str) -> list[dict]:
    """To a group whose follow-up an operator of its organisation took over."""
    return [
        text(_(_FOLLOW_UP_OUTCOMES[outcome]).format(org=org_name) + "\n" + _("ご協力ありがとうございます。"))
    ]


def watch_outcome(org_name: str, name: str, outcome: str) -> list[dict]:
    """To the contacts of a watched person an operator checked on."""
    return [text(_(_WATCH_OUTCOMES[outcome]).format(org=org_name, name=name))]
