"""Phones normalise to E.164 through phonenumbers and are masked for display."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.errors import InvalidPhone
from loyalty.phones import (
    SUPPORTED_REGIONS,
    _parsed,
    _plainly_typed,
    mask_phone,
    normalize_phone,
    phone_region,
)


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


# The plainly typed shortcut (loyalty.phones._plainly_typed) against the whole parse: texts of
# every shape a cashier or a scanner gives, around real operators' numbers (the library's own
# examples with their last digits changed) and around any digits at all.
_SHAPES = ("+{cc}{sep}{nsn}", "{prefix}{sep}{nsn}", "{nsn}", "{cc}{sep}{nsn}", "+{prefix}{nsn}")


@st.composite
def _typed_numbers(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(sorted(SUPPORTED_REGIONS)))
    home = draw(st.sampled_from(["RU", "UA", "KZ", "BY", "DE", "US", "IT"]))
    example = draw(st.sampled_from([t for t in _EXAMPLE_TYPES if _example(home, t)]))
    base = _example(home, example)
    assert base is not None
    nsn = phonenumbers.national_significant_number(base)
    nsn = draw(
        st.one_of(
            st.just(nsn),
            st.builds(
                lambda tail: nsn[: len(nsn) - len(tail)] + tail, st.text("0123456789", max_size=4)
            ),
            st.text("0123456789", min_size=1, max_size=14),
        )
    )
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(home)
    assert metadata is not None
    shape = draw(st.sampled_from(_SHAPES))
    text = shape.format(
        cc=base.country_code,
        prefix=metadata.national_prefix or "",
        sep=draw(st.sampled_from(["", " ", "-", " (", ") "])),
        nsn=nsn,
    )
    spaced = "".join(ch + draw(st.sampled_from(["", "", " ", "-", "."])) for ch in text)
    return draw(st.sampled_from([text, spaced])), region


_EXAMPLE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
)


def _example(region: str, kind: int) -> phonenumbers.PhoneNumber | None:
    return phonenumbers.example_number_for_type(region, kind)


@settings(max_examples=3000, deadline=None)
@given(_typed_numbers())
def test_the_plainly_typed_shortcut_answers_as_the_whole_parse_does(
    typed: tuple[str, str],
) -> None:
    text, region = typed
    quick = _plainly_typed(text.strip(), region)
    try:
        parsed: str | None = _parsed(text.strip(), region)
    except InvalidPhone:
        parsed = None
    if quick is not None:
        assert quick == parsed, (text, region)


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("8 916 123-45-67", "RU"),
        ("+7 (916) 123 45 67", "KZ"),
        ("050 123 4567", "UA"),
        ("+380 50 123 45 67", "RU"),
        ("8 701 123 45 67", "KZ"),
        ("9161234567", "RU"),
    ],
)
def test_the_common_shapes_take_the_shortcut(text: str, region: str) -> None:
    assert _plainly_typed(text, region) == normalize_phone(text, region)


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("79161234567", "RU"),  # the country code without '+': the library reads it
        ("+7 000 000 00 00", "RU"),  # not valid: the whole parse gives the reason
        ("8 916 123-45-67-89", "RU"),
        ("+999 123", "RU"),  # no such country code
        ("7+9161234567", "RU"),
    ],
)
def test_other_shapes_go_the_whole_way(text: str, region: str) -> None:
    assert _plainly_typed(text, region) is None
