"""Reading text back through a Cyrillic keyboard layout: one table for drivers and classifier."""

from __future__ import annotations

from loyalty.identifiers import IdKind, classify
from loyalty.layouts import kazakh_digits, to_latin_layout


def test_russian_and_ukrainian_letters_go_back_to_their_keys() -> None:
    assert to_latin_layout("ЫЗКШТП") == "SPRING"
    assert to_latin_layout("ФІЇЄ") == 'AS}"'


def test_latin_and_decimals_are_untouched() -> None:
    assert to_latin_layout("v1.2") == "v1.2"
    assert to_latin_layout("1.5") == "1.5"
    assert kazakh_digits("1.5") is None


def test_kazakh_number_row_reads_back_as_digits() -> None:
    # 1→'"', 2→ә, 3→і, 4→ң, 5→ғ, 6→',', 7→'.', 8→ү, 9→ұ, 0→қ
    assert kazakh_digits('"әіңғ,.үұқ') == "1234567890"
    assert to_latin_layout("ұұәі") == "9923"  # Kazakh і is 3 here, not Ukrainian і (s)


def test_classifier_uses_the_same_table() -> None:
    assert classify("ЫЗКШТП-2026", "RU").kind == IdKind.COUPON
    assert classify("ЫЗКШТП-2026", "RU").value == "SPRING2026"
