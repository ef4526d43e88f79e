"""The program snapshot round-trips through JSON and rejects bad data with the field's name."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from loyalty.errors import ProgramError
from loyalty.program import Program, demo_program


def demo_dict() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(demo_program().to_dict()))
    return data


def test_demo_program_round_trips_through_json() -> None:
    program = demo_program()
    assert Program.from_dict(demo_dict()) == program


def test_demo_program_is_what_product_md_describes() -> None:
    program = demo_program()
    assert program.currency == "RUB"
    assert program.tier_for(Decimal("0")).rate_percent == 3
    assert program.tier_for(Decimal("15000")).rate_percent == 5
    assert program.tier_for(Decimal("50000")).rate_percent == 7
    assert program.birthday is not None and program.birthday.rate_percent == 14
    assert (program.birthday.days_before, program.birthday.days_after) == (2, 0)
    assert program.exclusions.categories == ("tobacco",)
    assert program.spend.max_percent_of_check == 30
    assert (program.activation_delay_days, program.expiry_days) == (14, 365)
    assert program.spend.code_threshold == 500
    assert program.next_tier(Decimal("20000")) == program.tiers[1]
    assert program.next_tier(Decimal("60000")) is None


def test_defaults_fill_in_missing_optional_sections() -> None:
    program = Program.from_dict({"version": 3, "currency": "KZT", "base_rate_percent": "2"})
    assert program.tiers == () and program.birthday is None and program.expiry_days is None


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("currency",), "USD", "program.currency: 'USD' is not one of RUB, UAH, KZT"),
        (("base_rate_percent",), 3.0, "program.base_rate_percent: 3.0 must be a decimal string"),
        (("base_rate_percent",), "150", "not a percentage"),
        (("spend", "max_percent_of_check"), "abc", "program.spend.max_percent_of_check"),
        (("rounding",), "up", "'up' is not one of down, half_up"),
        (("tiers", 1, "min_lifetime_spend"), "100", "tiers[1].min_lifetime_spend"),
        (("promotions", 0, "ends_on"), "2026-12-31", "before starts_on"),
        (("promotions", 0, "starts_on"), "1 January", "not a date"),
        (("qr_public_key",), "xyz", "qr_public_key"),
        (("spend", "max_pionts"), "5", "unknown keys: max_pionts"),
        (("version",), "1", "must be a whole number"),
    ],
)
def test_bad_fields_are_named(path: tuple[Any, ...], value: Any, words: str) -> None:
    data = demo_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ProgramError) as caught:
        Program.from_dict(data)
    assert words in caught.value.reason


def test_missing_required_field_and_wrong_shape() -> None:
    with pytest.raises(ProgramError, match=r"program\.currency is missing"):
        Program.from_dict({"version": 1, "base_rate_percent": "3"})
    with pytest.raises(ProgramError, match="must be an object"):
        Program.from_dict([])  # type: ignore[arg-type]
