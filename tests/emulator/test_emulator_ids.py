"""ULIDs and LINE-shaped ids; LINE's ways of counting characters."""

from __future__ import annotations

import re

from emulator import ids
from emulator.limits import grapheme_length, utf16_length


def test_it_makes_unique_26_char_crockford_ulids(clock):
    generator = ids.UlidGenerator(clock)
    made = [generator.new() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert all(ids.ULID_RE.match(u) for u in made)
    assert all(len(u) == 26 for u in made)
    # Crockford base32 never uses I, L, O or U.
    assert not any(set(u) & set("ILOU") for u in made)


def test_it_orders_ulids_by_time_even_when_the_clock_stands_still(clock):
    generator = ids.UlidGenerator(clock)
    same_ms = [generator.new() for _ in range(50)]
    clock.advance(0.001)
    later = generator.new()
    assert same_ms == sorted(same_ms)
    assert later > same_ms[-1]


def test_it_encodes_the_clock_in_the_ulid_timestamp(clock):
    generator = ids.UlidGenerator(clock)
    assert ids.ulid_timestamp_ms(generator.new()) == int(clock.now * 1000)
    assert ids.encode_ulid(0, 0) == "0" * 26
    assert ids.encode_ulid((1 << 48) - 1, (1 << 80) - 1) == "7" + "Z" * 25


def test_it_makes_line_shaped_user_and_group_ids():
    assert re.fullmatch(r"U[0-9a-f]{32}", ids.new_user_id())
    assert re.fullmatch(r"C[0-9a-f]{32}", ids.new_group_id())
    assert re.fullmatch(r"[0-9a-f]{32}", ids.new_reply_token())
    assert ids.is_uuid("123e4567-e89b-12d3-a456-426614174000")
    assert not ids.is_uuid("123e4567e89b12d3a456426614174000")
    assert not ids.is_uuid("not-a-uuid")


def test_it_counts_text_in_utf16_code_units():
    assert utf16_length("abc") == 3
    assert utf16_length("安否") == 2
    assert utf16_length("😀") == 2  # outside the BMP: a surrogate pair


def test_it_counts_labels_in_grapheme_clusters():
    assert grapheme_length("OK") == 2
    assert grapheme_length("が") == 1
    assert grapheme_length("か\u3099") == 1  # decomposed: base + combining mark
    assert grapheme_length("👍🏽") == 1  # skin-tone modifier
    assert grapheme_length("👨\u200d👩\u200d👧\u200d👦") == 1  # ZWJ family
    assert grapheme_length("🇯🇵🇺🇸") == 2  # two flags = two regional-indicator pairs
    assert grapheme_length("❤\ufe0f") == 1  # variation selector
