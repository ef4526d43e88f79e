"""Phone numbers: normalise what a cashier types to E.164, and mask it for display.

Normalisation goes through the ``phonenumbers`` library (libphonenumber's metadata), never
hand-written rules: '+7' is shared by Russia and Kazakhstan, and only the metadata knows that
'+7 701 …' is a Kazakh mobile. The region passed in (from ``[till] region``) only decides how a
number typed without '+' is read; the country is always derived from the number itself.

Raises :class:`~loyalty.errors.InvalidPhone` with a one-sentence ``reason``.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from loyalty.errors import InvalidPhone

SUPPORTED_REGIONS = frozenset({"RU", "UA", "KZ"})
"""Regions a till can be configured for (``[till] region``)."""

_PHONE_CHARACTERS = frozenset("+0123456789 -().")
_SEPARATORS = str.maketrans("", "", "+ -().")
_LONGEST_NATIONAL = 17
"""The most digits a national number has (libphonenumber's limit)."""

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "the country code is unknown",
    ValidationResult.TOO_SHORT: "it is too short",
    ValidationResult.TOO_LONG: "it is too long",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


def looks_like_phone(text: str) -> bool:
    """True when ``text`` holds only characters people type in phone numbers, with 5+ digits."""
    stripped = text.strip()
    digits = sum(ch.isdigit() for ch in stripped)
    return bool(stripped) and set(stripped) <= _PHONE_CHARACTERS and digits >= 5


def normalize_phone(text: str, region: str) -> str:
    """``text`` as an E.164 string, reading national formats as ``region`` does.

    '8 916 123-45-67' with RU → '+79161234567'; '050 123 4567' with UA → '+380501234567';
    '+7 701 123 45 67' with any region → '+77011234567' (a Kazakh number).

    Raises InvalidPhone when ``text`` is empty, is not a number, has the wrong length, or is not
    a number any operator could have issued.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPhone("The phone number is empty.")
    if region.upper() not in SUPPORTED_REGIONS:
        raise InvalidPhone(f"The phone region {region!r} is not supported; use one of RU, UA, KZ.")
    if not set(stripped) <= _PHONE_CHARACTERS:
        raise InvalidPhone(f"{stripped!r} is not a phone number: it has letters or symbols.")
    quick = _plainly_typed(stripped, region.upper())
    if quick is not None:
        return quick
    return _parsed(stripped, region.upper())


def _plainly_typed(stripped: str, region: str) -> str | None:
    """The E.164 form of a valid number typed plainly — '+', the country code and the national
    number, or the region's national prefix (or none) and the national number, with any of
    ' -().' between the digits — or None: then :func:`_parsed` decides, with its reasons.

    Why: the whole parse was half of an identify on the till's offline path (30 us of 57),
    for what is nearly always a number typed in one of these two shapes; this takes about
    10 us, most of it the library's validity check (``offline_identify_1m``: ratio 5.2-6.2
    before, 3.4-3.5 after). Nothing here is a hand-written rule: the country codes and the
    national prefix come from the library's metadata, and whether the number is valid is the
    library's ``is_valid_number`` on the number this reads. It answers only for a valid number,
    and then the same E.164 text as :func:`_parsed` (tests/test_loyalty_phones.py compares the
    two on generated texts of every shape); anything else goes the whole way."""
    plus = stripped[0] == "+"
    digits = stripped.translate(_SEPARATORS)
    if not digits.isdigit() or "+" in stripped[1:]:
        return None
    if plus:
        if digits[0] == "0":
            return None  # no country code starts with 0
        for length in (1, 2, 3):  # country codes are prefix-free: the first one known is it
            if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                country, national = int(digits[:length]), digits[length:]
                break
        else:
            return None
    else:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        prefix = None if metadata is None else metadata.national_prefix_for_parsing
        if metadata is None or not prefix or not prefix.isdigit():
            return None  # a prefix given as a pattern (other regions): the library reads it
        if metadata.national_prefix_transform_rule is not None:
            return None
        country = int(metadata.country_code or 0)
        national = digits[len(prefix) :] if digits.startswith(prefix) else digits
    if not national or national[0] == "0" or len(national) > _LONGEST_NATIONAL:
        return None  # a leading zero is kept apart by the library (italian_leading_zero)
    number = phonenumbers.PhoneNumber(country_code=country, national_number=int(national))
    if not phonenumbers.is_valid_number(number):
        return None
    return f"+{country}{national}"


def _parsed(stripped: str, region: str) -> str:
    """``stripped`` read by ``phonenumbers.parse`` as ``region`` does, as E.164. Raises
    InvalidPhone with the reason."""
    try:
        number = phonenumbers.parse(stripped, region)
    except NumberParseException:
        raise InvalidPhone(f"{stripped!r} is not a phone number.") from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _POSSIBLE_REASONS:
        raise InvalidPhone(f"{stripped!r} is not a phone number: {_POSSIBLE_REASONS[possible]}.")
    if not phonenumbers.is_valid_number(number):
        why = _length_problem(number) or "no operator issues such numbers"
        raise InvalidPhone(f"{stripped!r} is not a valid phone number: {why}.")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _length_problem(number: phonenumbers.PhoneNumber) -> str:
    # libphonenumber's "possible" lengths include rare service numbers (14 digits in RU), so
    # judge the length against the mobile and fixed-line lengths people actually have.
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return ""
    lengths = [
        length
        for desc in (metadata.mobile, metadata.fixed_line)
        if desc is not None
        for length in (desc.possible_length or ())
    ]
    digits = len(phonenumbers.national_significant_number(number))
    if lengths and digits > max(lengths):
        return "it is too long"
    if lengths and digits < min(lengths):
        return "it is too short"
    return ""


def phone_region(e164: str) -> str | None:
    """The ISO region of an E.164 number ('+77011234567' → 'KZ'), or None when unknown."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    return phonenumbers.region_code_for_number(number)


def mask_phone(e164: str) -> str:
    """``e164`` for screens, receipts and logs: country and operator code, then only the last two.

    '+79161234567' → '+7 916 ***-**-67'; '+380501234567' → '+380 50 ***-**-67'.
    Anything that does not parse is masked all but its last two digits, so a bad value never
    leaks in full.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return _mask_blindly(e164)
    national = phonenumbers.national_significant_number(number)
    ndc_length = phonenumbers.length_of_national_destination_code(number)
    if ndc_length <= 0 or len(national) - ndc_length < 4:
        return _mask_blindly(e164)
    operator, subscriber = national[:ndc_length], national[ndc_length:]
    hidden = len(subscriber) - 2
    # Group the hidden digits as the number is spoken in RU/UA/KZ: ***-**-67.
    stars = "***-**" if hidden == 5 else "*" * hidden
    return f"+{number.country_code} {operator} {stars}-{subscriber[-2:]}"


def _mask_blindly(text: str) -> str:
    digits = [ch for ch in text if ch.isdigit()]
    return "*" * max(3, len(digits) - 2) + "".join(digits[-2:])
