"""What a person reads in their one-to-one chat with the bot."""

from __future__ import annotations

from messages.flex import text
from messages.i18n import _


def groups_only() -> list[dict]:
    return [
        text(
            _(
                "「つながり」はLINEグループで使う見守りボットです。"
                "グループに招待して、みなさんで無事を確かめ合ってください。"
            )
        )
    ]
