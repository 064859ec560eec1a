"""Choosing the language a chat reads (/言語 and the greeting's buttons).

The language names are written in their own language (日本語, やさしい日本語,
English) so that a reader finds theirs whatever the chat reads now; they are
the only words here that are not translated.
"""

from __future__ import annotations

from domain import postback as codec
from domain.languages import Language
from messages.flex import bubble, button, postback, text
from messages.i18n import _

# Each language by its own name: never translated (a reader must find theirs).
NAMES: dict[Language, str] = {
    Language.JA: "日本語",
    Language.JA_EASY: "やさしい日本語",
    Language.EN: "English",
}


def choose_action(language: Language) -> dict:
    return postback(NAMES[language], codec.ChooseLanguage(language), NAMES[language])


def choices() -> dict:
    """Three buttons: 日本語 / やさしい日本語 / English."""
    return bubble(
        _("ことばを選べます"),
        [_("メッセージのことばを選べます。グループではリーダーの方が選びます。")],
        [button(choose_action(language), style="secondary") for language in Language],
        _("ことばを選べます：「/言語 やさしい日本語」「/言語 English」「/言語 日本語」"),
    )


def language_set(language: Language, group: bool) -> list[dict]:
    """Said in the language just chosen."""
    if group:
        body = _("これからは、このグループには{language}でお送りします。").format(language=NAMES[language])
    else:
        body = _("これからは、{language}でお送りします。").format(language=NAMES[language])
    return [text(body)]


def language_usage() -> list[dict]:
    return [
        text(_("ことばを選んでください。例：/言語 やさしい日本語、/言語 English、/言語 日本語")),
        choices(),
    ]
