"""Claim codes: the points of a check made without a customer, collected later by whoever
shows the receipt at a till while identified.

A claim code is 19 digits: ``98``, 16 digits derived from the check's id, and a GS1 check
digit. Digits only, so no keyboard layout can garble a scan of it; derived from the check id,
so a retried or replayed request names the same code; the check digit catches a mistyped code
before it reaches the server. Phone numbers have at most 15 digits and member QR tokens start
``99``, so a claim code is never mistaken for either.
"""

from __future__ import annotations

import hashlib

from loyalty.gs1 import ean_check_digit

CLAIM_PREFIX = "98"
"""First digits of every claim code."""

CLAIM_LENGTH = 19
"""Digits in a claim code, check digit included."""

CLAIM_PATTERN = r"^98\d{17}$"
"""The shape of a claim code, for wire models."""


def claim_code(check_id: str) -> str:
    """The claim code of the check ``check_id`` (the same id always gives the same code)."""
    digest = hashlib.sha256(f"till-claim:{check_id}".encode()).digest()
    body = CLAIM_PREFIX + f"{int.from_bytes(digest[:8], 'big') % 10**16:016d}"
    return body + ean_check_digit(body)


def format_claim(code: str) -> str:
    """``code`` in groups of four for reading aloud or typing: ``9812 3456 7890 1234 567``."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))
