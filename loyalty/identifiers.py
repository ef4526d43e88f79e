"""Tell what a scanned or typed string is: phone, member QR, card, claim, barcode, coupon.

Formats recognised (checked in this order, on the text with surrounding spaces removed):

- **member_qr**: digits only, starting '99', longer than 20 digits (see :mod:`loyalty.qrtoken`);
  only the shape is checked here, the signature is checked by ``verify_token``.
- **claim**: the claim code printed on a check made without a customer: 19 digits starting
  '98', GS1 check digit (see :mod:`loyalty.claims`).
- **card**: a loyalty card is an EAN-13 whose first digits are ``card_prefix`` (default '299',
  inside GS1's 20–29 in-store range, clear of the 20–28 prefixes scales use for weighed goods);
  the check digit must be right. ``value`` is the 13 digits.
- **coupon**: either a GS1 coupon EAN-13 (prefix '99', check digit verified), or a typed code of
  4–20 letters A–Z and digits with at least one of each, hyphens and spaces ignored, any case:
  'spring-2026' → 'SPRING2026'. Text garbled by a Cyrillic ЙЦУКЕН layout ('ЫЗКШТП-2026') is
  mapped back key for key before matching.
- **product_barcode**: EAN-8, UPC-A (12) or EAN-13 with a correct check digit; ``value`` is the
  digits as scanned.
- **phone**: anything else made of digits, spaces, '+', '-', '(', ')' that
  :func:`~loyalty.phones.normalize_phone` accepts; ``value`` is E.164.
- **unknown**: everything else, with ``reason`` saying why (e.g. a wrong check digit).

A 12-digit string with a valid UPC-A check digit is a barcode even if it could be a phone typed
without '+'; people type phones with '+', '8' or '0' in front.

Digits are NOT layout-proof under the standard Kazakh layout: its number row types
'"' ә і ң ғ , . ү ұ қ for 1–0. A string of digits and those characters, with at least one of the
letters, is mapped back to digits. Scanners should still be set to a US layout or to keypad
(Alt-code) emulation; a digits-only QR token survives the Russian and Ukrainian layouts as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from loyalty.claims import CLAIM_LENGTH, CLAIM_PREFIX
from loyalty.errors import InvalidPhone
from loyalty.gs1 import ean_check_digit, has_valid_check_digit
from loyalty.layouts import kazakh_digits, to_latin_layout
from loyalty.phones import looks_like_phone, normalize_phone
from loyalty.qrtoken import looks_like_token

DEFAULT_CARD_PREFIX = "299"
"""EAN-13 prefix of the store's own loyalty cards."""

COUPON_EAN_PREFIX = "99"
"""GS1 prefix for coupons printed as EAN-13."""

_COUPON_RE = re.compile(r"^(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{4,20}$")


class IdKind(StrEnum):
    """What an identifier is."""

    PHONE = "phone"
    MEMBER_QR = "member_qr"
    CARD = "card"
    CLAIM = "claim"
    PRODUCT_BARCODE = "product_barcode"
    COUPON = "coupon"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Identified:
    """The result of :func:`classify`."""

    kind: IdKind
    """What the text is."""
    value: str
    """The normalised value: E.164 for phones, digits for codes, upper-case for coupons."""
    reason: str = ""
    """Why the text is unknown; empty otherwise."""
    symbology: str = ""
    """'EAN-8', 'EAN-13' or 'UPC-A' for barcodes, cards and coupon barcodes; empty otherwise."""


def classify(text: str, region: str, card_prefix: str = DEFAULT_CARD_PREFIX) -> Identified:
    """What ``text`` identifies, normalised, or unknown with a reason. Never raises."""
    stripped = _strip_aim_id(text.strip())
    if not stripped:
        return _unknown("", "Nothing was entered.")
    digits = _kazakh_digits(stripped)
    ungrouped = digits.replace(" ", "")  # claim codes are printed in groups of four
    if len(ungrouped) == CLAIM_LENGTH and ungrouped.isdigit() and ungrouped.isascii():
        digits = ungrouped
    if digits.isdigit() and digits.isascii():
        return _classify_digits(digits, region, card_prefix)
    if looks_like_phone(stripped):
        return _classify_phone(stripped, region)
    coupon = _coupon_code(stripped)
    if coupon is not None:
        return Identified(IdKind.COUPON, coupon)
    return _unknown(stripped, "This is not a phone, card, member QR, barcode or coupon code.")


def _classify_digits(digits: str, region: str, card_prefix: str) -> Identified:
    if looks_like_token(digits):
        return Identified(IdKind.MEMBER_QR, digits)
    if len(digits) == CLAIM_LENGTH and digits.startswith(CLAIM_PREFIX):
        if has_valid_check_digit(digits):
            return Identified(IdKind.CLAIM, digits)
        return _unknown(digits, "The claim code's check digit is wrong; it was mistyped.")
    symbology = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}.get(len(digits))
    if symbology is not None and has_valid_check_digit(digits):
        if symbology == "EAN-13" and digits.startswith(card_prefix):
            return Identified(IdKind.CARD, digits, symbology=symbology)
        if symbology == "EAN-13" and digits.startswith(COUPON_EAN_PREFIX):
            return Identified(IdKind.COUPON, digits, symbology=symbology)
        return Identified(IdKind.PRODUCT_BARCODE, digits, symbology=symbology)
    if symbology == "EAN-13" or symbology == "EAN-8":
        expected = ean_check_digit(digits[:-1])
        return _unknown(
            digits,
            f"The {symbology} check digit is {digits[-1]} but should be {expected};"
            " the code was misread or mistyped.",
        )
    phone = _classify_phone(digits, region)
    if phone.kind is IdKind.PHONE or symbology is None:
        return phone
    return _unknown(digits, "The UPC-A check digit is wrong and this is not a phone number.")


def _classify_phone(text: str, region: str) -> Identified:
    try:
        return Identified(IdKind.PHONE, normalize_phone(text, region))
    except InvalidPhone as error:
        return _unknown(text, error.reason)


def _coupon_code(text: str) -> str | None:
    code = re.sub(r"[\s-]", "", to_latin_layout(text)).upper()
    return code if _COUPON_RE.match(code) else None


def _kazakh_digits(text: str) -> str:
    digits = kazakh_digits(text)
    return text if digits is None else digits


def _strip_aim_id(text: str) -> str:
    # Scanners set to transmit AIM symbology identifiers prefix ']' + letter + digit (']E0').
    if len(text) > 3 and text[0] == "]" and text[1].isalpha() and text[2].isalnum():
        return text[3:]
    return text


def _unknown(value: str, reason: str) -> Identified:
    return Identified(IdKind.UNKNOWN, value, reason=reason)
