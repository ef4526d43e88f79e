"""The check rules in plain Decimal arithmetic: ``loyalty.check``, ``loyalty.earn`` and
``loyalty.allocate`` as they were before the core moved to integer minor units, kept verbatim
(only ``calculate`` renamed) so property tests can compare the fast core with them, result for
result, byte for byte; and the record and fingerprint of a Calculation as the dict forms gave
them (``reference_record``, ``reference_fingerprint``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from loyalty.calculation import AppliedPromotion, Calculation, LineResult, RejectedCoupon
from loyalty.errors import CheckError
from loyalty.line import Line
from loyalty.member import MemberState, MemberView
from loyalty.money import CENT, HUNDRED, ZERO, percent_of, quantize_down, round_points, to_decimal
from loyalty.program import Program, Promotion, PromotionKind
from loyalty.rules import member_rate, normalize_coupon, promotion_reason, running_promotions

MAX_LINES = 1000


def allocate(total: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """``total`` split over ``weights`` in steps of ``quantum``, summing to ``total`` exactly.

    Largest-remainder method: every share is rounded down to ``quantum``, then the leftover steps
    go one each to the shares with the largest dropped fractions (the lower index on a tie).
    A share never exceeds its exact proportion rounded up to the next step, so when the weights
    are caps in whole steps and ``total`` does not exceed their sum, no share exceeds its cap.
    Zero weights get zero. Raises ValueError when ``total`` is not a whole number of steps, is
    negative, or is positive while every weight is zero.
    """
    steps = total / quantum
    if total < 0 or steps != steps.to_integral_value():
        raise ValueError(f"cannot allocate {total} in steps of {quantum}")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        if total != 0:
            raise ValueError(f"cannot allocate {total} over zero weights")
        return [Decimal(0).quantize(CENT) for _ in weights]
    whole_steps = int(steps)
    # Integer arithmetic throughout: Decimal division would round in the 28th digit and could
    # push a share across a step boundary.
    places = max(0, *(-int(w.as_tuple().exponent) for w in weights))
    scaled = [int(w.scaleb(places)) for w in weights]
    scaled_sum = sum(scaled)
    floors = [whole_steps * w // scaled_sum for w in scaled]
    dropped = [whole_steps * w % scaled_sum for w in scaled]
    leftover = whole_steps - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-dropped[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [(quantum * n).quantize(CENT) for n in floors]


def reference_calculate(
    program: Program,
    lines: Sequence[Line],
    member: MemberView | None,
    requested_spend: Decimal,
    coupons: Sequence[str],
    now: datetime,
) -> Calculation:
    """Spend allocation and earn for a check; ``member`` None previews a non-member's check.

    Raises CheckError for no lines, too many lines, a naive ``now`` or a negative request.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise CheckError("The check time must carry a timezone.")
    if not lines:
        raise CheckError("The check has no lines.")
    if len(lines) > MAX_LINES:
        raise CheckError(f"The check has more than {MAX_LINES} lines.")
    requested = to_decimal(requested_spend, "requested spend")
    if requested < 0:
        raise CheckError("The points requested must not be negative.")
    day = now.date()
    rate = member_rate(program, member, day)
    promos, rejected = running_promotions(program, member, day, coupons)
    notes: list[str] = []
    amounts = [line.amount for line in lines]
    total = sum(amounts, ZERO)

    caps = _line_caps(program, lines, amounts)
    spendable = _spendable_max(program, member, total, caps, notes)
    spend = _applied_spend(program, requested, spendable, notes)
    spends = allocate(spend, caps) if spend > 0 else [ZERO for _ in lines]

    earning = member is None or member.state.can_earn
    if not earning:
        notes.append("This account is blocked: it neither earns nor spends points.")
    results, applied = earn_lines(
        program, lines, amounts, caps, spends, rate.percent, promos, earning
    )
    earn_total = sum((r.earn for r in results), ZERO)
    code_required = (
        program.spend.code_threshold is not None and spend > program.spend.code_threshold
    )
    return Calculation(
        program_version=program.version,
        currency=program.currency,
        member_id=None if member is None else member.member_id,
        computed_at=now,
        lines=tuple(results),
        requested_spend=requested,
        available_points=ZERO if member is None else member.available_points,
        total_amount=total,
        earn_total=earn_total,
        spend_applied=spend,
        spendable_max=spendable,
        pay_in_money=total - spend,
        tier=rate.tier.name,
        rate_percent=rate.percent,
        birthday=rate.birthday,
        rounding=program.rounding,
        precision=program.precision,
        code_required=code_required,
        promotions=tuple(applied),
        coupons=tuple(sorted({normalize_coupon(c) for c in coupons})),
        rejected_coupons=tuple(RejectedCoupon(c, why) for c, why in rejected.items()),
        notes=tuple(notes),
        customer_message=_customer_message(program, member, earn_total, spend, earning),
    )


def _line_caps(program: Program, lines: Sequence[Line], amounts: list[Decimal]) -> list[Decimal]:
    rules = program.spend
    return [
        ZERO
        if line.category in rules.excluded_categories or not line.payable_with_points
        else quantize_down(percent_of(amount, rules.max_percent_per_line))
        for line, amount in zip(lines, amounts, strict=True)
    ]


def _spendable_max(
    program: Program,
    member: MemberView | None,
    total: Decimal,
    caps: list[Decimal],
    notes: list[str],
) -> Decimal:
    rules = program.spend
    if member is None:
        return ZERO
    if not member.state.can_spend:
        if member.state is MemberState.EARN_ONLY:
            notes.append("This member may earn but not spend points yet.")
        return ZERO
    limits = [
        quantize_down(percent_of(total, rules.max_percent_of_check)),
        sum(caps, ZERO),
        max(ZERO, total - rules.min_paid_in_money),
        max(ZERO, member.available_points),
    ]
    if rules.max_points is not None:
        limits.append(rules.max_points)
    spendable = quantize_down(min(limits), program.precision.quantum)
    if spendable <= 0 or spendable < rules.min_points:
        if member.available_points > 0 and spendable <= 0:
            notes.append("Points cannot pay for this check.")
        elif member.available_points > 0:
            least = format_points(rules.min_points, program)
            notes.append(f"Points can pay for this check only from {least} points.")
        return ZERO
    return spendable


def _applied_spend(
    program: Program, requested: Decimal, spendable: Decimal, notes: list[str]
) -> Decimal:
    if requested <= 0:
        return ZERO
    if requested > spendable:
        notes.append(
            f"{format_points(requested, program)} points were asked for; at most"
            f" {format_points(spendable, program)} can pay this check."
        )
    spend = quantize_down(min(requested, spendable), program.precision.quantum)
    if spend < program.spend.min_points:
        notes.append(
            f"At least {format_points(program.spend.min_points, program)} points must be spent"
            " at a time."
        )
        return ZERO
    return spend


def _customer_message(
    program: Program, member: MemberView | None, earn: Decimal, spend: Decimal, earning: bool
) -> str:
    earn_text = format_points(earn, program)
    if member is None:
        return f"Join the program and get {earn_text} points for this check."
    if not earning:
        return "Points are not available for this account."
    if spend > 0:
        return (
            f"You pay {format_points(spend, program)} with points and will get {earn_text} points."
        )
    return f"You will get {earn_text} points."


def format_points(value: Decimal, program: Program) -> str:
    """Points as a customer reads them: '15' for whole points, '15.50' for hundredths."""
    return str(value.quantize(program.precision.quantum, rounding=ROUND_DOWN))


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


def reference_fingerprint(calc: Calculation) -> str:
    """The fingerprint as the canonical dict, dumped as sorted compact ASCII JSON, hashed."""
    canonical = json.dumps(
        _canonical(calc), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def reference_record(calc: Calculation) -> dict[str, Any]:
    return {
        "program_version": calc.program_version,
        "currency": calc.currency,
        "member_id": calc.member_id,
        "computed_at": calc.computed_at.isoformat(),
        "lines": [
            {
                "index": ln.index,
                "sku": ln.sku,
                "name": ln.name,
                "category": ln.category,
                "quantity": format(ln.quantity, "f"),
                "unit_price": format(ln.unit_price, "f"),
                "discount": format(ln.discount, "f"),
                "discounted": ln.discounted,
                "amount": format(ln.amount, "f"),
                "spend_cap": format(ln.spend_cap, "f"),
                "spend": format(ln.spend, "f"),
                "earn_base": format(ln.earn_base, "f"),
                "rate_percent": format(ln.rate_percent, "f"),
                "earn": format(ln.earn, "f"),
                "excluded_reason": ln.excluded_reason,
                "promo_ids": list(ln.promo_ids),
            }
            for ln in calc.lines
        ],
        "requested_spend": format(calc.requested_spend, "f"),
        "available_points": format(calc.available_points, "f"),
        "total_amount": format(calc.total_amount, "f"),
        "earn_total": format(calc.earn_total, "f"),
        "spend_applied": format(calc.spend_applied, "f"),
        "spendable_max": format(calc.spendable_max, "f"),
        "pay_in_money": format(calc.pay_in_money, "f"),
        "tier": calc.tier,
        "rate_percent": format(calc.rate_percent, "f"),
        "birthday": calc.birthday,
        "rounding": calc.rounding.value,
        "precision": calc.precision.value,
        "code_required": calc.code_required,
        "promotions": [
            {
                "promo_id": p.promo_id,
                "name": p.name,
                "kind": p.kind.value,
                "reason": p.reason,
                "lines": list(p.lines),
                "points": format(p.points, "f"),
            }
            for p in calc.promotions
        ],
        "coupons": list(calc.coupons),
        "rejected_coupons": [{"code": c.code, "reason": c.reason} for c in calc.rejected_coupons],
        "notes": list(calc.notes),
        "customer_message": calc.customer_message,
    }


def _canonical(calc: Calculation) -> dict[str, Any]:
    """What the fingerprint hashes: the numbers, what they depend on, Decimals normalised."""
    return {
        "program_version": calc.program_version,
        "currency": calc.currency,
        "member_id": calc.member_id,
        "lines": [
            {
                "index": ln.index,
                "sku": ln.sku,
                "category": ln.category,
                "quantity": format(ln.quantity.normalize(), "f"),
                "unit_price": format(ln.unit_price.normalize(), "f"),
                "discount": format(ln.discount.normalize(), "f"),
                "discounted": ln.discounted,
                "amount": format(ln.amount.normalize(), "f"),
                "spend_cap": format(ln.spend_cap.normalize(), "f"),
                "spend": format(ln.spend.normalize(), "f"),
                "earn_base": format(ln.earn_base.normalize(), "f"),
                "rate_percent": format(ln.rate_percent.normalize(), "f"),
                "earn": format(ln.earn.normalize(), "f"),
                "promo_ids": list(ln.promo_ids),
            }
            for ln in calc.lines
        ],
        "requested_spend": format(calc.requested_spend.normalize(), "f"),
        "available_points": format(calc.available_points.normalize(), "f"),
        "total_amount": format(calc.total_amount.normalize(), "f"),
        "earn_total": format(calc.earn_total.normalize(), "f"),
        "spend_applied": format(calc.spend_applied.normalize(), "f"),
        "spendable_max": format(calc.spendable_max.normalize(), "f"),
        "pay_in_money": format(calc.pay_in_money.normalize(), "f"),
        "tier": calc.tier,
        "rate_percent": format(calc.rate_percent.normalize(), "f"),
        "birthday": calc.birthday,
        "rounding": calc.rounding.value,
        "precision": calc.precision.value,
        "code_required": calc.code_required,
        "promotions": [p.promo_id for p in calc.promotions],
        "coupons": list(calc.coupons),
    }
