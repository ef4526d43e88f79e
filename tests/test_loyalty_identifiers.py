"""The classifier tells phones, member QR, cards, barcodes and coupons apart, or says why not."""

from __future__ import annotations

import pytest

from loyalty.gs1 import ean_check_digit
from loyalty.identifiers import DEFAULT_CARD_PREFIX, IdKind, classify


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("400638133393", "1"),  # EAN-13 4006381333931
        ("9638507", "4"),  # EAN-8 96385074
        ("03600029145", "2"),  # UPC-A 036000291452
        # Our card 2990000000019; weights 3,1,3,… from the right: 1·3 + 9·1 + 9·3 + 2·1 = 41 → 9.
        ("299000000001", "9"),
    ],
)
def test_ean_check_digit(digits: str, check: str) -> None:
    assert ean_check_digit(digits) == check


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("8 916 123-45-67", IdKind.PHONE, "+79161234567"),
        ("+7 701 123 45 67", IdKind.PHONE, "+77011234567"),
        ("89161234567", IdKind.PHONE, "+79161234567"),
        ("4006381333931", IdKind.PRODUCT_BARCODE, "4006381333931"),
        ("96385074", IdKind.PRODUCT_BARCODE, "96385074"),
        ("036000291452", IdKind.PRODUCT_BARCODE, "036000291452"),
        ("]E04006381333931", IdKind.PRODUCT_BARCODE, "4006381333931"),
        ("2990000000019", IdKind.CARD, "2990000000019"),
        ("9912345678909", IdKind.COUPON, "9912345678909"),
        ("spring-2026", IdKind.COUPON, "SPRING2026"),
        ("BDAY15", IdKind.COUPON, "BDAY15"),
        # SPRING-2026 typed by a wedge scanner under the Russian ЙЦУКЕН layout.
        ("ЫЗКШТП-2026", IdKind.COUPON, "SPRING2026"),
    ],
)
def test_classifies(text: str, kind: IdKind, value: str) -> None:
    result = classify(text, "RU")
    assert (result.kind, result.value, result.reason) == (kind, value, "")


def test_ukrainian_phone_with_ua_region() -> None:
    assert classify("050 123 4567", "UA").value == "+380501234567"


def test_ean13_with_a_wrong_check_digit_is_unknown_with_the_reason() -> None:
    result = classify("4006381333932", "RU")
    assert result.kind is IdKind.UNKNOWN
    assert "check digit is 2 but should be 1" in result.reason


def test_card_with_wrong_check_digit_is_not_a_card() -> None:
    result = classify("2990000000018", "RU")
    assert result.kind is IdKind.UNKNOWN
    assert "check digit" in result.reason


def test_card_prefix_is_configurable() -> None:
    code = "277000000001" + ean_check_digit("277000000001")
    assert classify(code, "RU").kind is IdKind.PRODUCT_BARCODE
    assert classify(code, "RU", card_prefix="277").kind is IdKind.CARD
    assert DEFAULT_CARD_PREFIX == "299"


def test_kazakh_layout_digit_row_is_read_back_as_digits() -> None:
    # 4006381333931 typed under the Kazakh layout: 4→ң, 0→қ, 6→',', 3→і, 8→ү, 1→'"', 9→ұ.
    assert classify('ңққ,іү"іііұі"', "KZ").value == "4006381333931"
    assert classify("1,5", "KZ").kind is not IdKind.PRODUCT_BARCODE  # no letter: left alone


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Nothing"),
        ("   ", "Nothing"),
        ("12345", "too short"),
        ("hello", "not a phone, card"),
        ("!!!", "not a phone, card"),
    ],
)
def test_unknown_says_why(text: str, words: str) -> None:
    result = classify(text, "RU")
    assert result.kind is IdKind.UNKNOWN
    assert words in result.reason


def test_claim_codes_are_recognised_scanned_or_typed_in_groups() -> None:
    from loyalty.claims import claim_code, format_claim

    code = claim_code("3f9a0c1e-check")
    assert code == claim_code("3f9a0c1e-check") and code != claim_code("another-check")
    assert len(code) == 19 and code.startswith("98")
    assert classify(code, "RU") == classify(format_claim(code), "RU")
    assert classify(code, "RU").kind is IdKind.CLAIM and classify(code, "RU").value == code
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    found = classify(wrong, "RU")
    assert found.kind is IdKind.UNKNOWN and "check digit" in found.reason
