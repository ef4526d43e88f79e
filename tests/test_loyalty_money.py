"""Money and points are Decimals with two places; floats are refused; rounding is explicit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.errors import InvalidAmount, LoyaltyError
from loyalty.money import Precision, Rounding, money, points, round_points


def test_money_quantises_to_cents() -> None:
    assert money("12.5") == Decimal("12.50")
    assert str(money(1000)) == "1000.00"
    assert money(Decimal("0.005")) == Decimal("0.01")  # half-up


def test_money_refuses_floats_and_bools() -> None:
    with pytest.raises(TypeError):
        money(12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        points(True)


@pytest.mark.parametrize("bad", ["", "abc", "NaN", "Infinity", "1,5"])
def test_money_rejects_malformed_text_with_a_sentence(bad: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        money(bad)
    assert isinstance(caught.value, LoyaltyError)
    assert caught.value.reason.endswith(".")


@pytest.mark.parametrize(
    ("value", "rounding", "precision", "expected"),
    [
        ("29.99", Rounding.DOWN, Precision.WHOLE, "29.00"),
        ("29.50", Rounding.HALF_UP, Precision.WHOLE, "30.00"),
        ("29.49", Rounding.HALF_UP, Precision.WHOLE, "29.00"),
        ("9.9999", Rounding.HALF_UP, Precision.HUNDREDTHS, "10.00"),
        ("9.9999", Rounding.DOWN, Precision.HUNDREDTHS, "9.99"),
        ("0.005", Rounding.HALF_UP, Precision.HUNDREDTHS, "0.01"),
    ],
)
def test_round_points(value: str, rounding: Rounding, precision: Precision, expected: str) -> None:
    result = round_points(Decimal(value), rounding, precision)
    assert result == Decimal(expected)
    assert str(result) == expected  # always two places
