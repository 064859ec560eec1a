"""Which language a message is written in, and the translation of one text.

Every word a user reads is written in the catalogue modules of this package
as ``_("…")`` (or ``N_("…")`` in a table, translated where it is shown), with
named ``{placeholders}`` filled by ``.format()`` after translation, so that a
gettext catalogue can translate it whole.  The language is chosen per message
by its reader's setting, with ``using(language)`` around the builder call;
builders themselves take no language argument.

Japanese is the source language: with no catalogue for a language the text
is shown as written.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Generic, TypeVar

from domain.languages import Language

SOURCE_LANGUAGE = Language.JA.value
# Every language the bot writes in (a catalogue each but the source's).
LANGUAGE_CODES: tuple[str, ...] = tuple(language.value for language in Language)
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: ContextVar[str] = ContextVar("language", default=SOURCE_LANGUAGE)
T = TypeVar("T")


def catalogue_path(language: str, suffix: str = ".po") -> Path:
    """Where a language's catalogue is: the .po translators edit, or the
    .mo ``make catalogues`` compiles from it."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"messages{suffix}"


@lru_cache(maxsize=8)
def _translations(language: str) -> _gettext.NullTranslations:
    if language == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    po, mo = catalogue_path(language), catalogue_path(language, ".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        # Not compiled (a deploy that skipped make), or compiled before the
        # last edit: compile the .po in memory rather than speak stale words.
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as source:
            catalogue = read_po(source)
        compiled = BytesIO()
        write_mo(compiled, catalogue)
        compiled.seek(0)
        return _gettext.GNUTranslations(compiled)
    return _gettext.translation("messages", LOCALE_DIR, languages=[language], fallback=True)


def current_language() -> str:
    return _current.get()


@contextmanager
def using(language: str | None) -> Iterator[None]:
    """Build messages in ``language`` (None: the source language) inside the block."""
    token = _current.set(language or SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def built_in(language: str | None, build: Callable[..., list[dict]], *args, **kwargs) -> list[dict]:
    """``build(*args, **kwargs)`` in ``language`` (a reader's stored column)."""
    with using(language):
        return build(*args, **kwargs)


class ByLanguage(Generic[T]):
    """One build per language for a mass-send: the same messages (or, for
    prompts, the template they are filled from) are built once for every
    reader of a language (quake rounds, routine rounds, notices)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def __call__(self, language: str | None) -> T:
        key = language or SOURCE_LANGUAGE
        if key not in self._built:
            with using(key):
                self._built[key] = self._build()
        return self._built[key]


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return _translations(_current.get()).gettext(message)


def N_(message: str) -> str:
    """Mark a text for the catalogue without translating it yet (tables)."""
    return message


_ = gettext
