"""Earn: what each line of a check earns, and the promotions that added to it.

Rules 2 of :mod:`loyalty.check` (spend is allocated first; the lines' spends come in here): a
line earns on its amount less the part paid with points (so points never earn points), none on
discounted lines or excluded categories. Rate = the tier or birthday rate times the largest
multiplier running, plus extra rates; plus points per unit. Each line is rounded as configured,
and a check bonus is split over earning lines in whole steps, so the total is exactly the sum
of the lines: rounding never creates a point.

The arithmetic is in integers (:mod:`loyalty.compiled`): amounts in hundredths, rates at the
program's rate scale, so a line's earn before rounding is the exact fraction
``numerator / denominator`` of a point, rounded once, as the Decimal rules round it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from math import lcm
from typing import Any

from loyalty.allocate import split
from loyalty.calculation import AppliedPromotion, LineResult, trusted
from loyalty.compiled import CompiledProgram, CompiledPromotion
from loyalty.line import Line
from loyalty.money import CENT, ZERO
from loyalty.program import Program, Promotion


def earn_lines(
    program: Program,
    lines: Sequence[Line],
    amounts: list[int],
    caps: list[int],
    spends: list[int],
    base_rate: Decimal,
    promos: list[Promotion],
    earning: bool,
) -> tuple[list[LineResult], list[AppliedPromotion], int]:
    """Each line's earn, the promotions that added to it and the earn total (hundredths).

    ``amounts``, ``caps`` and ``spends`` are the lines' in hundredths. A line earns on its
    amount less the part paid with points (when the program says so) at ``base_rate`` (one of
    the program's rates) times the largest multiplier running, plus extra rates and points per
    unit; each line is rounded as configured, then check bonuses are split over the earning
    lines. ``earning`` False (a blocked account) earns nothing."""
    c = program.compiled
    running = {p.promo_id for p in promos}
    multipliers = [p for p in c.multipliers if p.promo.promo_id in running]
    bonuses = [p for p in c.line_bonuses if p.promo.promo_id in running]
    paid_part_earns = not program.exclusions.points_paid_part
    no_discounted = program.exclusions.discounted_lines
    earn_excluded = c.earn_excluded
    step, half_up = c.step, c.half_up
    base = _scaled_rate(base_rate, c)
    no_multiplier = c.multiplier_scale
    # A line's earn before rounding is numerator / (10 000 × rate scale) points while only
    # rates and amounts are involved (hundredths × percent × scale).
    unit = 10_000 * c.rate_scale
    rates_with = {p.promo.promo_id: base_rate * p.promo.multiplier for p in multipliers}
    credits: dict[str, tuple[int, int]] = {p.promo_id: (0, 1) for p in promos}
    promo_lines: dict[str, list[int]] = {p.promo_id: [] for p in promos}
    fields: list[dict[str, Any]] = []
    bases: list[int] = []
    earns: list[int] = []
    line_promos: list[list[str]] = []
    for i, line in enumerate(lines):
        touched: list[str] = []
        line_promos.append(touched)
        category, sku = line.category, line.sku
        discounted = line.discounted or line.discount > 0
        amount = amounts[i]
        amount_value = minor(amount)
        cap = caps[i]
        spend = spends[i]
        record = {
            "index": i,
            "sku": sku,
            "name": line.name,
            "category": category,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount": line.discount,
            "discounted": discounted,
            "amount": amount_value,
            "spend_cap": amount_value if cap == amount else minor(cap),
            "spend": minor(spend),
            "earn_base": ZERO,
            "rate_percent": base_rate,
            "earn": ZERO,
            "excluded_reason": "",
            "promo_ids": (),
        }
        fields.append(record)
        if not earning:
            reason = "The account is blocked."
        elif category in earn_excluded:
            reason = f"The category {category!r} earns no points."
        elif no_discounted and discounted:
            reason = "Discounted lines earn no points."
        else:
            reason = ""
        if reason:
            bases.append(0)
            earns.append(0)
            record["excluded_reason"] = reason
            continue
        earn_base = amount if paid_part_earns else amount - spend
        rate = base_rate
        best: CompiledPromotion | None = None
        factor = no_multiplier
        for promo in multipliers:
            if promo.multiplier > factor and (
                promo.everywhere or category in promo.categories or sku in promo.skus
            ):
                factor, best = promo.multiplier, promo
        numerator, denominator = earn_base * base * factor, unit
        if best is not None:
            rate = rates_with[best.promo.promo_id]
            extra = earn_base * base * (factor - no_multiplier)
            _credit(best, i, extra, unit, touched, credits, promo_lines)
        for promo in bonuses:
            if not (promo.everywhere or category in promo.categories or sku in promo.skus):
                continue
            rate += promo.promo.extra_rate_percent
            extra, extra_denominator = earn_base * promo.extra_rate, unit
            if promo.per_unit[0]:
                extra, extra_denominator = _plus(
                    extra, unit, *_times(promo.per_unit, line.quantity.as_integer_ratio())
                )
            numerator, denominator = _plus(numerator, denominator, extra, extra_denominator)
            _credit(promo, i, extra, extra_denominator, touched, credits, promo_lines)
        bases.append(earn_base)
        divisor = denominator * step
        scaled = numerator * 100
        rounded = (2 * scaled + divisor) // (2 * divisor) if half_up else scaled // divisor
        earns.append(rounded * step)
        record["earn_base"] = amount_value if earn_base == amount else minor(earn_base)
        record["rate_percent"] = rate
    _check_bonuses(c, running, bases, earns, line_promos, credits)
    records = []
    for record, earn, touched in zip(fields, earns, line_promos, strict=True):
        # The two fields check bonuses may still change.
        record["earn"] = minor(earn)
        record["promo_ids"] = tuple(touched)
        records.append(trusted(LineResult, record))
    applied = [
        AppliedPromotion(
            promo_id=p.promo_id,
            name=p.name,
            kind=p.kind,
            reason=c.reasons[p.promo_id],
            lines=tuple(promo_lines[p.promo_id]),
            points=minor(credits[p.promo_id][0] * 100 // credits[p.promo_id][1]),
        )
        for p in promos
        if credits[p.promo_id][0] > 0
    ]
    return records, applied, sum(earns)


def minor(hundredths: int) -> Decimal:
    """Hundredths as a Decimal with two places, as the Decimal rules write money and points."""
    return Decimal(hundredths) * CENT if hundredths else ZERO


def _scaled_rate(rate: Decimal, c: CompiledProgram) -> int:
    numerator, denominator = rate.as_integer_ratio()
    whole, rest = divmod(numerator * c.base_scale, denominator)
    if rest:  # a rate the program does not hold: the caller broke the contract
        raise ValueError(f"the rate {rate} is not one of the program's")
    return whole


def _times(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] * b[0], a[1] * b[1]


def _plus(numerator: int, denominator: int, other: int, other_denominator: int) -> tuple[int, int]:
    """The sum of two fractions, over the least common denominator."""
    if denominator == other_denominator:
        return numerator + other, denominator
    common = lcm(denominator, other_denominator)
    return (
        numerator * (common // denominator) + other * (common // other_denominator),
        common,
    )


def _credit(
    promo: CompiledPromotion,
    index: int,
    numerator: int,
    denominator: int,
    touched: list[str],
    credits: dict[str, tuple[int, int]],
    promo_lines: dict[str, list[int]],
) -> None:
    if numerator <= 0:
        return
    promo_id = promo.promo.promo_id
    touched.append(promo_id)
    credits[promo_id] = _plus(*credits[promo_id], numerator, denominator)
    promo_lines[promo_id].append(index)


def _check_bonuses(
    c: CompiledProgram,
    running: set[str],
    bases: list[int],
    earns: list[int],
    line_promos: list[list[str]],
    credits: dict[str, tuple[int, int]],
) -> None:
    eligible = sum(bases)
    if eligible <= 0:
        return
    for promo in c.check_bonuses:
        promo_id = promo.promo.promo_id
        if promo_id not in running:
            continue
        threshold = promo.threshold
        if eligible * threshold[1] < threshold[0] * 100 or promo.bonus <= 0:
            continue
        # Split over the earning lines so a partial return takes back its share.
        for i, share in enumerate(split(promo.bonus // c.step, bases)):
            if share > 0:
                earns[i] += share * c.step
                line_promos[i].append(promo_id)
        credits[promo_id] = (promo.bonus, 100)  # nothing else credits a check bonus
