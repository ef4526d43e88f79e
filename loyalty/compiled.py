"""A program's rules in integer form, worked out once per snapshot for the check calculation.

The calculation (:mod:`loyalty.check`, :mod:`loyalty.earn`) runs on integer minor units:
money and points in hundredths, and every rate, multiplier and extra rate as an integer at one
scale shared by the whole program, so a line's earn is one integer sum and one integer division.
Amounts that may carry any number of places (per-unit points, thresholds, spend limits) are kept
as exact fractions (``Decimal.as_integer_ratio``). Nothing is rounded before the rules say so,
so results are those of plain Decimal arithmetic wherever that is exact, i.e. within the default
context's 28 significant digits, far past anything the wire carries
(``tests/test_loyalty_exact.py`` compares, value by value and digit by digit).

:attr:`loyalty.program.Program.compiled` builds this once per (frozen) snapshot and keeps it.
Promotions are split by kind here, in program order, so a check looks only at the kinds it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from loyalty.money import Precision, Rounding
from loyalty.program_parts import Promotion, PromotionKind

if TYPE_CHECKING:
    from loyalty.program import Program

Ratio = tuple[int, int]
"""An exact fraction: numerator, and a denominator above zero."""


def places(value: Decimal) -> int:
    """How many decimal places ``value`` is written with (0 for whole numbers)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def scaled(value: Decimal, scale: int) -> int:
    """``value`` × ``scale`` as an integer; raises ValueError if that is not exact."""
    numerator, denominator = value.as_integer_ratio()
    whole, rest = divmod(numerator * scale, denominator)
    if rest:
        raise ValueError(f"{value} is not a whole number of 1/{scale}")
    return whole


def cents_down(value: Ratio) -> int:
    """A fraction of a currency unit as whole hundredths, rounded down (towards minus infinity;
    the same as towards zero for the non-negative amounts this is used on)."""
    return value[0] * 100 // value[1]


@dataclass(frozen=True, slots=True)
class CompiledPromotion:
    """One promotion in integer form."""

    promo: Promotion
    everywhere: bool
    """No category or sku named: it applies to every line."""
    categories: frozenset[str]
    skus: frozenset[str]
    multiplier: int
    """× :attr:`CompiledProgram.multiplier_scale`."""
    extra_rate: int
    """Extra rate in percent × :attr:`CompiledProgram.rate_scale`."""
    per_unit: Ratio
    """Points per unit (per piece, or per kilogram of weighed goods)."""
    threshold: Ratio
    bonus: int
    """A check bonus in hundredths of a point, rounded down to the program's precision."""

    def targets(self, category: str, sku: str) -> bool:
        """True when a line of this category and sku is in the promotion's scope."""
        return self.everywhere or category in self.categories or sku in self.skus


@dataclass(frozen=True, slots=True)
class CompiledProgram:
    """The integer form of one program snapshot."""

    base_scale: int
    """10 ** the most places of any base rate (the program's, a tier's, the birthday's) or
    extra rate."""
    multiplier_scale: int
    """10 ** the most places of any multiplier."""
    rate_scale: int
    """``base_scale`` × ``multiplier_scale``: a base rate times a multiplier, and extra rates."""
    multipliers: tuple[CompiledPromotion, ...]
    line_bonuses: tuple[CompiledPromotion, ...]
    """Category and product bonuses, in program order."""
    check_bonuses: tuple[CompiledPromotion, ...]
    reasons: dict[str, str]
    """What each promotion does, in words (:func:`loyalty.rules.promotion_reason`), by id."""
    step: int
    """The program's precision in hundredths of a point: 100 (whole points) or 1."""
    half_up: bool
    """Earn rounds half-up (else down)."""
    max_percent_per_line: Ratio
    max_percent_of_check: Ratio
    min_paid_in_money: Ratio
    min_points: Ratio
    max_points: Ratio | None
    code_threshold: Ratio | None
    spend_excluded: frozenset[str]
    """Categories points cannot pay for."""
    earn_excluded: frozenset[str]
    """Categories that earn nothing."""


def compile_program(program: Program) -> CompiledProgram:
    """``program`` in integer form (see the module docstring)."""
    from loyalty.rules import promotion_reason  # rules reads the program module: no cycle

    rates = [program.base_rate_percent, *(t.rate_percent for t in program.tiers)]
    if program.birthday is not None:
        rates.append(program.birthday.rate_percent)
    rates += [p.extra_rate_percent for p in program.promotions]
    base_scale = 10 ** max(places(r) for r in rates)
    multiplier_scale = 10 ** max(
        [
            0,
            *(
                places(p.multiplier)
                for p in program.promotions
                if p.kind is PromotionKind.MULTIPLIER
            ),
        ]
    )
    rate_scale = base_scale * multiplier_scale
    step = 100 if program.precision is Precision.WHOLE else 1

    def compiled(p: Promotion) -> CompiledPromotion:
        return CompiledPromotion(
            promo=p,
            everywhere=not p.categories and not p.skus,
            categories=frozenset(p.categories),
            skus=frozenset(p.skus),
            multiplier=scaled(p.multiplier, multiplier_scale)
            if p.kind is PromotionKind.MULTIPLIER
            else multiplier_scale,
            extra_rate=scaled(p.extra_rate_percent, rate_scale),
            per_unit=p.points_per_unit.as_integer_ratio(),
            threshold=p.threshold.as_integer_ratio(),
            bonus=cents_down(p.bonus_points.as_integer_ratio()) // step * step,
        )

    promos = [compiled(p) for p in program.promotions]
    spend = program.spend
    return CompiledProgram(
        base_scale=base_scale,
        multiplier_scale=multiplier_scale,
        rate_scale=rate_scale,
        multipliers=tuple(c for c in promos if c.promo.kind is PromotionKind.MULTIPLIER),
        line_bonuses=tuple(
            c
            for c in promos
            if c.promo.kind in (PromotionKind.CATEGORY_BONUS, PromotionKind.PRODUCT_BONUS)
        ),
        check_bonuses=tuple(c for c in promos if c.promo.kind is PromotionKind.CHECK_BONUS),
        reasons={p.promo_id: promotion_reason(p, program.currency) for p in program.promotions},
        step=step,
        half_up=program.rounding is Rounding.HALF_UP,
        max_percent_per_line=spend.max_percent_per_line.as_integer_ratio(),
        max_percent_of_check=spend.max_percent_of_check.as_integer_ratio(),
        min_paid_in_money=spend.min_paid_in_money.as_integer_ratio(),
        min_points=spend.min_points.as_integer_ratio(),
        max_points=None if spend.max_points is None else spend.max_points.as_integer_ratio(),
        code_threshold=None
        if spend.code_threshold is None
        else spend.code_threshold.as_integer_ratio(),
        spend_excluded=frozenset(spend.excluded_categories),
        earn_excluded=frozenset(program.exclusions.categories),
    )
