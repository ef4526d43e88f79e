"""Undo a Cyrillic keyboard layout on text a keyboard-wedge scanner typed.

A wedge scanner sends key codes, and the active layout decides the characters: under ЙЦУКЕН
(Russian, Ukrainian) its Latin letters arrive as Cyrillic (Q→Й, W→Ц …) while digits survive;
under the standard Kazakh layout even the number row changes (1→'"', 2→ә, 3→і, 4→ң, 5→ғ,
6→',', 7→'.', 8→ү, 9→ұ, 0→қ). :func:`to_latin_layout` reads either back as the scanner meant it.
The drivers (wedge burst detector) and the identifier classifier share this one table.
"""

from __future__ import annotations

from typing import Final

_LOWER_RU: Final = "йцукенгшщзхъфывапролджэячсмитьбюё"
_LOWER_US: Final = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_UPPER_RU: Final = "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_UPPER_US: Final = 'QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>~'
# Ukrainian letters on the keys where Russian has ы, ъ, э (and ґ where ё is).
_UK_EXTRA: Final = {"і": "s", "І": "S", "ї": "]", "Ї": "}", "є": "'", "Є": '"', "ґ": "`", "Ґ": "~"}
# Punctuation of the ЙЦУКЕН layout: "." and "," sit on "/" and Shift+"/"; Shift+digits differ.
_PUNCTUATION: Final = {".": "/", ",": "?", '"': "@", "№": "#", ";": "$", ":": "^", "?": "&"}

CYRILLIC_TO_LATIN: Final = {
    **dict(zip(_LOWER_RU, _LOWER_US, strict=True)),
    **dict(zip(_UPPER_RU, _UPPER_US, strict=True)),
    **_UK_EXTRA,
}
"""Cyrillic letter → the Latin character of the same key on a US layout."""

KAZAKH_LETTER_DIGITS: Final = {"ә": "2", "і": "3", "ң": "4", "ғ": "5", "ү": "8", "ұ": "9", "қ": "0"}
"""The letters the Kazakh layout puts on the number row, and the digit of each key."""
_KAZAKH_DIGIT_ROW: Final = {**KAZAKH_LETTER_DIGITS, '"': "1", ",": "6", ".": "7"}


def kazakh_digits(text: str) -> str | None:
    """The digits a Kazakh-layout number row typed as ``text``, or None if it is not that.

    Only a string made of digits and number-row characters, with at least one of the row's
    letters, qualifies: "1.5" stays a decimal, but "99әі" is "9923".
    """
    if any(ch in KAZAKH_LETTER_DIGITS for ch in text) and all(
        ch.isdigit() or ch in _KAZAKH_DIGIT_ROW for ch in text
    ):
        return "".join(_KAZAKH_DIGIT_ROW.get(ch, ch) for ch in text)
    return None


def to_latin_layout(text: str) -> str:
    """``text`` as the scanner meant it, if a Kazakh or ЙЦУКЕН layout changed it.

    A Kazakh number row is read back as digits first (its і would otherwise be Ukrainian і).
    Text without Cyrillic letters is returned unchanged (digits are layout-proof under
    ЙЦУКЕН, and a Latin "." must stay "."); with any, punctuation is mapped back as well.
    """
    digits = kazakh_digits(text)
    if digits is not None:
        return digits
    if not any(ch in CYRILLIC_TO_LATIN for ch in text):
        return text
    return "".join(CYRILLIC_TO_LATIN.get(ch, _PUNCTUATION.get(ch, ch)) for ch in text)
