"""The GS1 mod-10 check digit shared by EAN-8, UPC-A, EAN-13, loyalty cards and claim codes."""

from __future__ import annotations


def ean_check_digit(digits: str) -> str:
    """The GS1 check digit for ``digits`` (the code without its last digit).

    Works for EAN-8 (7 digits in), UPC-A (11) and EAN-13 (12): weights 3,1,3,… from the right.
    Raises ValueError when ``digits`` is not all digits.
    """
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"{digits!r} is not a string of digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def has_valid_check_digit(code: str) -> bool:
    """True when the last digit of ``code`` is the GS1 check digit of the rest."""
    return len(code) >= 2 and code.isdigit() and ean_check_digit(code[:-1]) == code[-1]
