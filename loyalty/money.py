"""Money and points as ``Decimal``: never floats, always quantised on purpose.

Money is in currency units with two places (``Decimal("1000.00")``). One point is worth one
currency unit, so points are ``Decimal`` too, with two places at most; a program chooses whether
points are whole or hundredths and whether earn rounds down or half-up (:func:`round_points`).

Raises: :class:`TypeError` for floats (a programming error), :class:`~loyalty.errors.InvalidAmount`
for malformed, non-finite or (where forbidden) negative values.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from loyalty.errors import InvalidAmount

CENT = Decimal("0.01")
"""The smallest unit of money and of points: one hundredth."""

ZERO = Decimal("0.00")
"""Zero with two places, the neutral amount."""

ONE = Decimal("1")
HUNDRED = Decimal("100")


class Rounding(StrEnum):
    """How earned points are rounded on each line."""

    DOWN = "down"
    """Towards zero: the customer never gets a fraction more than earned."""
    HALF_UP = "half_up"
    """Commercial rounding: .5 and above rounds up."""


class Precision(StrEnum):
    """How finely points are counted."""

    WHOLE = "whole"
    """Points are whole numbers."""
    HUNDREDTHS = "hundredths"
    """Points carry two places, like money."""

    @property
    def quantum(self) -> Decimal:
        """The step of this precision: ``1`` or ``0.01``."""
        return ONE if self is Precision.WHOLE else CENT


def to_decimal(value: str | int | Decimal, what: str = "amount") -> Decimal:
    """``value`` as a finite ``Decimal``, not quantised.

    Raises TypeError for floats and other types; InvalidAmount for malformed or infinite values.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(
            f"{what} must be str, int or Decimal, not {type(value).__name__}"
            " (floats lose cents; pass a string)"
        )
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidAmount(f"The {what} {value!r} is not a number.") from None
    if not result.is_finite():
        raise InvalidAmount(f"The {what} {value!r} is not a finite number.")
    return result


def money(value: str | int | Decimal) -> Decimal:
    """``value`` as money with two places (half-up), e.g. ``money("12.5") == Decimal("12.50")``.

    Raises TypeError for floats; InvalidAmount for malformed values.
    """
    return quantize_money(to_decimal(value, "amount"))


def points(value: str | int | Decimal) -> Decimal:
    """``value`` as points with two places (half-up); the program's precision is applied later.

    Raises TypeError for floats; InvalidAmount for malformed values.
    """
    return quantize_money(to_decimal(value, "points"))


def quantize_money(value: Decimal) -> Decimal:
    """``value`` rounded half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quantize_down(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    """``value`` rounded towards zero to ``quantum``, returned with two places."""
    return value.quantize(quantum, rounding=ROUND_DOWN).quantize(CENT)


def round_points(value: Decimal, rounding: Rounding, precision: Precision) -> Decimal:
    """``value`` rounded as the program says, always returned with two places.

    >>> round_points(Decimal("29.99"), Rounding.DOWN, Precision.WHOLE)
    Decimal('29.00')
    >>> round_points(Decimal("29.505"), Rounding.HALF_UP, Precision.HUNDREDTHS)
    Decimal('29.51')
    """
    mode = ROUND_DOWN if rounding is Rounding.DOWN else ROUND_HALF_UP
    return value.quantize(precision.quantum, rounding=mode).quantize(CENT)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``amount``, exact (not quantised)."""
    return amount * percent / HUNDRED


def non_negative(value: Decimal, what: str) -> Decimal:
    """``value`` unchanged; raises InvalidAmount when it is below zero."""
    if value < 0:
        raise InvalidAmount(f"The {what} must not be negative, got {value}.")
    return value
