"""Phones normalise to E.164 through phonenumbers and are masked for display."""

from __future__ import annotations

import pytest

from loyalty.errors import InvalidPhone
from loyalty.phones import mask_phone, normalize_phone, phone_region


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("8 916 123-45-67", "RU", "+79161234567"),
        ("+7 916 1234567", "RU", "+79161234567"),
        ("8 (916) 123 45 67", "RU", "+79161234567"),
        ("050 123 4567", "UA", "+380501234567"),
        ("+380 50 123 4567", "RU", "+380501234567"),
        ("+7 701 123 45 67", "RU", "+77011234567"),
        ("8 701 123 45 67", "KZ", "+77011234567"),
    ],
)
def test_normalises_to_e164(text: str, region: str, e164: str) -> None:
    assert normalize_phone(text, region) == e164


def test_plus_seven_seven_hundred_is_kazakhstan() -> None:
    # +7 is shared; the 70x operator codes belong to Kazakhstan, whatever the till's region.
    assert phone_region(normalize_phone("+7 701 123 45 67", "RU")) == "KZ"
    assert phone_region(normalize_phone("8 916 123-45-67", "RU")) == "RU"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("12345", "too short"),
        ("8 916 123-45-67-89-00", "too long"),
        ("8 916 abc", "letters"),
        ("+7 000 000 00 00", "no operator"),
    ],
)
def test_invalid_numbers_are_rejected_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(text, "RU")
    assert words in caught.value.reason
    assert caught.value.reason.endswith(".")


def test_unsupported_region_is_rejected() -> None:
    with pytest.raises(InvalidPhone, match="region"):
        normalize_phone("8 916 123-45-67", "US")


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+79161234567", "+7 916 ***-**-67"),
        ("+77011234567", "+7 701 ***-**-67"),
        ("+380501234567", "+380 50 ***-**-67"),
    ],
)
def test_masking_keeps_country_operator_and_last_two(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_masking_never_leaks_a_value_it_cannot_parse() -> None:
    masked = mask_phone("garbage 9161234567")
    assert "916123" not in masked
    assert masked.endswith("67")
