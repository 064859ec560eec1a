"""What groups read from the organisation that runs Tsunagari for them."""

from __future__ import annotations

from messages.flex import TEXT_LIMIT, text, utf16_len
from messages.i18n import _


def org_notice_heading(org_name: str) -> str:
    return _("【{org}からのお知らせ】\n").format(org=org_name)


def org_notice(org_name: str, body: str) -> list[dict]:
    """A notice an organisation sends to its groups (flask notice send).
    The operator's text is sent as written."""
    return [text(org_notice_heading(org_name) + body)]


def org_notice_room(org_name: str) -> int:
    return TEXT_LIMIT - utf16_len(org_notice_heading(org_name))
