"""Keyboard-wedge scanners: bursts vs. typing, and the ЙЦУКЕН layout undone."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from drivers.keyboard_wedge import KeyboardWedge, Typed, to_latin_layout
from drivers.scan_events import Scanned

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def feed_all(wedge: KeyboardWedge, keys: list[str], start: float, step: float) -> list[object]:
    out: list[object] = []
    for index, key in enumerate(keys):
        out += wedge.feed(key, start + index * step)
    return out


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    wedge = KeyboardWedge(wall_clock=lambda: NOW)
    events = feed_all(wedge, [*"4601234567893", "enter"], 10.0, 0.012)
    assert events == [Scanned("4601234567893", None, "keyboard", NOW)]


def test_slow_typing_is_released_as_typed_text() -> None:
    wedge = KeyboardWedge()
    events = feed_all(wedge, [*"1234", "enter"], 10.0, 0.150)
    assert "".join(e.text for e in events if isinstance(e, Typed)) == "1234\n"
    assert not any(isinstance(e, Scanned) for e in events)


def test_a_held_key_is_released_by_poll() -> None:
    wedge = KeyboardWedge(max_gap_ms=50)
    assert wedge.feed("7", 1.0) == []
    assert wedge.poll(1.02) == []
    assert wedge.poll(1.2) == [Typed("7")]


def test_short_fast_input_is_not_a_scan() -> None:
    wedge = KeyboardWedge(min_length=4)
    events = feed_all(wedge, ["1", "2", "enter"], 0.0, 0.01)
    assert events == [Typed("12"), Typed("\n")]


def test_cyrillic_layout_is_mapped_back_to_latin() -> None:
    # "QR-ABC.x" scanned while the Russian layout is active arrives as "ЙК-ФИС/ч".
    wedge = KeyboardWedge(wall_clock=lambda: NOW)
    events = feed_all(wedge, [*"]Й1ЙК-ФИС.ч", "enter"], 0.0, 0.01)
    assert events == [Scanned("QR-ABC/x", "]Q1", "keyboard", NOW)]
    assert to_latin_layout("ФІЇЄ") == 'AS}"'
    assert to_latin_layout("v1.2") == "v1.2"  # no Cyrillic: untouched


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=4, max_size=60))
def test_any_latin_code_survives_a_russian_layout(code: str) -> None:
    to_russian = {latin: cyr for cyr, latin in _pairs()}
    typed = "".join(to_russian.get(ch, ch) for ch in code)
    wedge = KeyboardWedge(wall_clock=lambda: NOW)
    events = feed_all(wedge, [*typed, "enter"], 0.0, 0.005)
    assert events == [Scanned(code, None, "keyboard", NOW)]


def _pairs() -> list[tuple[str, str]]:
    from loyalty.layouts import _LOWER_RU, _LOWER_US, _UPPER_RU, _UPPER_US

    return list(zip(_LOWER_RU + _UPPER_RU, _LOWER_US + _UPPER_US, strict=True))


def test_a_scan_under_the_kazakh_layout_arrives_as_digits() -> None:
    # A card number 2990000000019 typed by the scanner with the Kazakh layout active: the
    # number row gives ә for 2, қ for 0, ұ for 9 and '"' for 1.
    typed = 'әұұққққққққ"ұ'
    wedge = KeyboardWedge(wall_clock=lambda: NOW)
    events = feed_all(wedge, [*typed, "enter"], 0.0, 0.005)
    assert events == [Scanned("2990000000019", None, "keyboard", NOW)]
