"""What a group reads when an operator of its organisation has handled a
助けが必要 (services.console_queue).  Kind and short; never the operator's
note, and no name: the group already knows who asked."""

from __future__ import annotations

from messages.flex import text
from messages.i18n import N_, _

_OUTCOME_TEXT = {
    "reached": N_("{org}の担当者が、助けが必要とお知らせくださった方と電話でお話ししました。"),
    "visited": N_("{org}の担当者が、助けが必要とお知らせくださった方のところへ伺いました。"),
    "emergency": N_("{org}の担当者が、助けが必要とお知らせくださった方のために救急・警察へ連絡しました。"),
    "unreached": N_(
        "{org}の担当者が、助けが必要とお知らせくださった方に連絡しましたが、つながりませんでした。"
        "お近くの方は、様子を見に行っていただけると助かります。"
    ),
}


def help_outcome(org_name: str, outcome: str) -> list[dict]:
    body = _(_OUTCOME_TEXT[outcome]).format(org=org_name) + "\n" + _("ご協力ありがとうございます。")
    return [text(body)]
