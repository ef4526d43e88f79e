"""Earn: what each line of a check earns, and the promotions that added to it.

Rules 2 of :mod:`loyalty.check` (spend is allocated first; the lines' spends come in here): a
line earns on its amount less the part paid with points (so points never earn points), none on
discounted lines or excluded categories. Rate = the tier or birthday rate times the largest
multiplier running, plus extra rates; plus points per unit. Each line is rounded as configured,
and a check bonus is split over earning lines in whole steps, so the total is exactly the sum
of the lines: rounding never creates a point.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from loyalty.allocate import allocate
from loyalty.calculation import AppliedPromotion, LineResult
from loyalty.line import Line
from loyalty.money import HUNDRED, ZERO, quantize_down, round_points
from loyalty.program import Program, Promotion, PromotionKind
from loyalty.rules import promotion_reason


def earn_lines(
    program: Program,
    lines: Sequence[Line],
    amounts: list[Decimal],
    caps: list[Decimal],
    spends: list[Decimal],
    base_rate: Decimal,
    promos: list[Promotion],
    earning: bool,
) -> tuple[list[LineResult], list[AppliedPromotion]]:
    """Each line's earn and the promotions that added to it.

    A line earns on its amount less the part paid with points (when the program says so) at
    ``base_rate`` times the largest multiplier running, plus extra rates and points per unit;
    each line is rounded as configured, then check bonuses are split over the earning lines.
    ``earning`` False (a blocked account) earns nothing."""
    excl = program.exclusions
    line_promos: list[list[str]] = [[] for _ in lines]
    promo_points: dict[str, Decimal] = {p.promo_id: ZERO for p in promos}
    promo_lines: dict[str, list[int]] = {p.promo_id: [] for p in promos}
    bases: list[Decimal] = []
    rates: list[Decimal] = []
    earns: list[Decimal] = []
    reasons: list[str] = []
    for i, line in enumerate(lines):
        reason = _exclusion(program, line, earning)
        base = ZERO if reason else amounts[i] - (spends[i] if excl.points_paid_part else ZERO)
        rate, raw = base_rate, ZERO
        if not reason:
            multiplier, best = Decimal(1), None
            for promo in promos:
                if (
                    promo.kind is PromotionKind.MULTIPLIER
                    and promo.targets(line.category, line.sku)
                    and promo.multiplier > multiplier
                ):
                    multiplier, best = promo.multiplier, promo
            rate = base_rate * multiplier
            if best is not None:
                extra = base * base_rate * (multiplier - 1) / HUNDRED
                _credit(best, i, extra, line_promos, promo_points, promo_lines)
            raw = base * rate / HUNDRED
            for promo in promos:
                if promo.kind in (PromotionKind.CATEGORY_BONUS, PromotionKind.PRODUCT_BONUS) and (
                    promo.targets(line.category, line.sku)
                ):
                    extra = base * promo.extra_rate_percent / HUNDRED
                    extra += promo.points_per_unit * line.quantity
                    rate += promo.extra_rate_percent
                    raw += extra
                    _credit(promo, i, extra, line_promos, promo_points, promo_lines)
        bases.append(base)
        rates.append(rate)
        earns.append(round_points(raw, program.rounding, program.precision))
        reasons.append(reason)
    _check_bonuses(program, promos, bases, earns, line_promos, promo_points)
    results = [
        LineResult(
            index=i,
            sku=line.sku,
            name=line.name,
            category=line.category,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            discounted=line.is_discounted,
            amount=amounts[i],
            spend_cap=caps[i],
            spend=spends[i],
            earn_base=bases[i],
            rate_percent=rates[i],
            earn=earns[i],
            excluded_reason=reasons[i],
            promo_ids=tuple(line_promos[i]),
        )
        for i, line in enumerate(lines)
    ]
    applied = [
        AppliedPromotion(
            promo_id=p.promo_id,
            name=p.name,
            kind=p.kind,
            reason=promotion_reason(p, program.currency),
            lines=tuple(promo_lines[p.promo_id]),
            points=quantize_down(promo_points[p.promo_id]),
        )
        for p in promos
        if promo_points[p.promo_id] > 0
    ]
    return results, applied


def _exclusion(program: Program, line: Line, earning: bool) -> str:
    if not earning:
        return "The account is blocked."
    if line.category in program.exclusions.categories:
        return f"The category {line.category!r} earns no points."
    if line.is_discounted and program.exclusions.discounted_lines:
        return "Discounted lines earn no points."
    return ""


def _credit(
    promo: Promotion,
    index: int,
    points: Decimal,
    line_promos: list[list[str]],
    promo_points: dict[str, Decimal],
    promo_lines: dict[str, list[int]],
) -> None:
    if points <= 0:
        return
    line_promos[index].append(promo.promo_id)
    promo_points[promo.promo_id] += points
    promo_lines[promo.promo_id].append(index)


def _check_bonuses(
    program: Program,
    promos: list[Promotion],
    bases: list[Decimal],
    earns: list[Decimal],
    line_promos: list[list[str]],
    promo_points: dict[str, Decimal],
) -> None:
    eligible = sum(bases, ZERO)
    quantum = program.precision.quantum
    for promo in promos:
        if promo.kind is not PromotionKind.CHECK_BONUS or eligible <= 0:
            continue
        if eligible < promo.threshold:
            continue
        bonus = promo.bonus_points.quantize(quantum, rounding=ROUND_DOWN)
        if bonus <= 0:
            continue
        # Split over the earning lines so a partial return takes back its share.
        for i, share in enumerate(allocate(bonus, bases, quantum)):
            if share > 0:
                earns[i] += share
                line_promos[i].append(promo.promo_id)
        promo_points[promo.promo_id] += bonus
