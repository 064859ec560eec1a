"""Languages: every word a user reads is in the catalogue, and every
catalogue translates every word with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from messages.i18n import LANGUAGE_CODES, LOCALE_DIR, SOURCE_LANGUAGE, catalogue_path

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "messages"
TRANSLATED = [code for code in LANGUAGE_CODES if code != SOURCE_LANGUAGE]

# Japanese (kana, kanji, full-width forms and Japanese punctuation) or a
# phrase of two English words: text someone reads, not a LINE JSON key.
# (U+3000, the ideographic space that indents a usage line, is layout.)
_WORDS = re.compile(r"[\u3001-\u30ff\u3400-\u9fff\uff00-\uffef]|[A-Za-z]{2,} [A-Za-z]{2,}")

# Literals that are words but are deliberately not passed to _() where they
# are written, each with its reason.
ALLOWED = {
    # Passed to _() where used (group.drill_label, group.notice): the name
    # is kept for tests and for the length arithmetic.
    ("group.py", "【訓練】"),
    ("group.py", "【お知らせ】\n"),
    # Each language by its own name: a reader must find theirs whatever the
    # chat reads now.
    ("languages.py", "日本語"),
    ("languages.py", "やさしい日本語"),
    # Joined to a translated intensity name; a suffix of domain.jma's label.
    ("quake.py", "以上"),
}


def _marked(tree: ast.AST) -> set[int]:
    """ids of the string constants that are the argument of _() or N_()."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_"):
            for argument in node.args:
                for child in ast.walk(argument):
                    if isinstance(child, ast.Constant):
                        inside.add(id(child))
    return inside


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _unmarked_words(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _marked(tree) | _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        if _WORDS.search(node.value) and (path.name, node.value) not in ALLOWED:
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


def test_it_leaves_no_user_facing_word_outside_the_catalogue():
    """An AST scan of every builder module: each literal with words in it is
    an argument of _()/N_(), a docstring, or on the short allowlist."""
    modules = sorted(MESSAGES.glob("*.py"))
    assert len(modules) >= 12
    left = [line for path in modules for line in _unmarked_words(path)]
    assert left == []


def test_it_finds_words_outside_the_catalogue(tmp_path):
    """The scan above is not vacuous: it catches a bare word and an f-string."""
    module = tmp_path / "sample.py"
    module.write_text(
        'from messages.i18n import _\nA = _("ようこそ")\nB = "こんにちは"\nC = f"{A}さん"\nD = "Hello there"\n',
        encoding="utf-8",
    )
    assert sorted(line.split(": ", 1)[1] for line in _unmarked_words(module)) == [
        "'Hello there'",
        "'こんにちは'",
        "'さん'",
    ]


def _source_texts() -> set[str]:
    """Every msgid the code has today (what `make messages` extracts)."""
    method_map = [("messages/**.py", "python"), ("templates/simulator/**.html", "jinja2")]
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords={"_": None, "N_": None, "gettext": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


_PLACEHOLDER = re.compile(r"\{(\w+)[^{}]*\}")
# format_local passes a 12-hour clock as well (messages/flex.py): a
# translation may use it instead of the 24-hour {hour}.
CLOCK = "{month}月{day}日 {hour}時{minute:02d}分"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name} | set(
        _PLACEHOLDER.findall(text)
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_it_translates_every_text_with_the_same_placeholders(language):
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po)
    translated = {m.id: m.string for m in catalogue if m.id}
    assert not [m.id for m in catalogue if m.fuzzy and m.id], "fuzzy entries are not shown: review them"
    missing = sorted(_source_texts() - set(translated))
    assert missing == [], f"run make messages and translate: {missing[:5]}"
    for msgid, msgstr in translated.items():
        assert msgstr, f"{language}: untranslated {msgid!r}"
        wanted = _placeholders(msgid)
        if msgid == CLOCK:
            assert _placeholders(msgstr) <= wanted | {"period", "hour12"}, msgstr
        else:
            assert _placeholders(msgstr) == wanted, f"{language}: {msgid!r} -> {msgstr!r}"
        assert msgstr.count("\n") <= msgid.count("\n") + 1, msgid


def test_it_has_a_catalogue_for_every_language_and_no_stray_one():
    assert sorted(p.name for p in LOCALE_DIR.iterdir() if p.is_dir()) == sorted(TRANSLATED)
