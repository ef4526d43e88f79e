"""Make receipt text printable: what thermal printers cannot show becomes what they can.

Babel puts NO-BREAK SPACE (U+00A0) and NARROW NO-BREAK SPACE (U+202F) in numbers, and
python-escpos would switch to CP437 just to print U+00A0 as 0xFF; printers have no glyphs for
the currency signs ₽ ₴ ₸. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Final

from drivers.receipt_texts import currency_word
from loyalty.receipt import ReceiptLanguage

_SPACES: Final = {
    "\u00a0": " ",  # NO-BREAK SPACE
    "\u202f": " ",  # NARROW NO-BREAK SPACE (babel's group separator in several locales)
    "\u2007": " ",  # FIGURE SPACE
    "\u2009": " ",  # THIN SPACE
    "\u200b": "",  # ZERO WIDTH SPACE
    "\u00ad": "",  # SOFT HYPHEN
    "\t": " ",
}
_PUNCTUATION: Final = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",  # EN DASH
    "\u2014": "-",  # EM DASH
    "\u2212": "-",  # MINUS SIGN
    "\u2026": "...",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2116": "N",  # NUMERO SIGN is missing from CP437-family pages; handled per page below
}
_SIGNS: Final = {"\u20bd": "RUB", "\u20b4": "UAH", "\u20b8": "KZT"}


def normalise_text(text: str, language: ReceiptLanguage) -> str:
    """``text`` with odd spaces, dashes and currency signs replaced by printable characters.

    ``№`` is kept: CP866, CP1125, CP1251 and RK1048 all have it. Control characters other than
    newline are dropped so a name from the server cannot inject printer commands.
    """
    out: list[str] = []
    for char in text:
        if char in _SPACES:
            out.append(_SPACES[char])
        elif char in _SIGNS:
            out.append(currency_word(language, _SIGNS[char]))
        elif char == "\u2116":
            out.append(char)
        elif char in _PUNCTUATION:
            out.append(_PUNCTUATION[char])
        elif char == "\n" or (
            ord(char) >= 0x20 and ord(char) != 0x7F and not 0x80 <= ord(char) < 0xA0
        ):
            out.append(char)
    return "".join(out)
