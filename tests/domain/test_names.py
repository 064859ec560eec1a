"""Names are echoed back to groups: only what a reader should see."""

from __future__ import annotations

import pytest

from domain.names import MAX_NAME, clean_name, is_clean


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("佐藤花子", "佐藤花子"),
        ("  佐藤　花子 ", "佐藤　花子"),  # a full-width space is a space people use in names
        ("佐藤\u202e子花", "佐藤子花"),  # right-to-left override
        ("鈴\u200b木\u200d一郎\ufeff", "鈴木一郎"),  # zero-width characters
        ("田中\nリーダーより：全員無事", "田中 リーダーより：全員無事"),  # a fake second line
        ("ab\x00c\x07d", "abcd"),  # NUL and BEL
        ("あ" * 500, "あ" * MAX_NAME),
        ("\ud800太郎", "太郎"),  # a lone surrogate
        ("🙂 Yuki", "🙂 Yuki"),
        ("", ""),
        (None, ""),
    ],
)
def test_it_keeps_what_a_reader_should_see(raw, shown):
    assert clean_name(raw) == shown


def test_it_tells_a_clean_name_from_one_that_is_not():
    assert is_clean("佐藤花子") and not is_clean("佐藤\u202e花子")
